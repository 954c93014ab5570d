//! The SHA-256 and SHA-512 of the files snapshot lists, for step 3 of verification. A large
//! file's digests are worked out on a second thread while the first parses the delegations.

use sha2::{Digest, Sha256, Sha512};

use super::RepoFiles;

/// Files from this size on are hashed on a second thread.
const PARALLEL_HASH_FROM: usize = 1 << 20;

/// The digests snapshot may list for a file: SHA-256, and SHA-512 unless not asked for
/// (then empty).
pub(super) struct Sums {
    pub(super) sha256: Vec<u8>,
    pub(super) sha512: Vec<u8>,
}

impl Sums {
    pub(super) fn of(bytes: &[u8], sha512: bool) -> Sums {
        let sha512 = if sha512 { Sha512::digest(bytes).to_vec() } else { Vec::new() };
        Sums { sha256: Sha256::digest(bytes).to_vec(), sha512 }
    }
}

/// Both digests of each large file snapshot must list (every file but timestamp and snapshot),
/// worked out on a second thread. A `targets/releases` of 100,000 targets takes about as long
/// to hash as to parse, so the two overlap.
pub(super) struct Digests<'s, 'f> {
    thread: Option<std::thread::ScopedJoinHandle<'s, Hashed<'f>>>,
}

/// Files and their digests.
pub(super) type Hashed<'f> = Vec<(&'f [u8], Sums)>;

impl<'s, 'f: 's> Digests<'s, 'f> {
    pub(super) fn start(
        scope: &'s std::thread::Scope<'s, '_>,
        files: &RepoFiles<'f>,
    ) -> Digests<'s, 'f> {
        let large: Vec<&'f [u8]> = files
            .listed_by_snapshot()
            .map(|(_, bytes)| bytes.as_slice())
            .filter(|bytes| bytes.len() >= PARALLEL_HASH_FROM)
            .collect();
        if large.is_empty() {
            return Digests { thread: None };
        }
        let work = move || large.into_iter().map(|b| (b, Sums::of(b, true))).collect();
        // Without a second thread (none could be started), check_meta hashes as it goes.
        Digests { thread: std::thread::Builder::new().spawn_scoped(scope, work).ok() }
    }

    /// The digests, once the second thread is done (none if it failed: they are then
    /// computed where needed).
    pub(super) fn finish(self) -> Hashed<'f> {
        self.thread.and_then(|thread| thread.join().ok()).unwrap_or_default()
    }

    /// The digests of exactly these bytes (the same memory, not equal content).
    pub(super) fn find<'d>(digests: &'d [(&[u8], Sums)], bytes: &[u8]) -> Option<&'d Sums> {
        digests.iter().find(|(hashed, _)| std::ptr::eq(*hashed, bytes)).map(|(_, sums)| sums)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::tuf::RoleName;

    /// The second thread hashes exactly the large files other than timestamp and snapshot,
    /// and a lookup finds a file's digests only for its own bytes, never for equal ones.
    #[test]
    fn large_files_are_hashed_on_a_second_thread() {
        let lens = [0, 10, PARALLEL_HASH_FROM - 1, PARALLEL_HASH_FROM, 3 * PARALLEL_HASH_FROM];
        let content = |len: usize| (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        let mut metadata = BTreeMap::new();
        for (i, len) in lens.iter().enumerate() {
            metadata.insert(RoleName::parse(&format!("targets/r{i}")).unwrap(), content(*len));
        }
        metadata.insert(RoleName::parse("snapshot").unwrap(), content(PARALLEL_HASH_FROM));
        let history = BTreeMap::new();
        let files = RepoFiles { metadata: &metadata, root_history: &history };

        let digests = std::thread::scope(|scope| Digests::start(scope, &files).finish());
        for (role, bytes) in &metadata {
            let found = Digests::find(&digests, bytes);
            let large = bytes.len() >= PARALLEL_HASH_FROM && role.as_str() != "snapshot";
            assert_eq!(found.is_some(), large, "{role}");
            if let Some(sums) = found {
                assert_eq!(sums.sha256, Sha256::digest(bytes).to_vec(), "{role}");
                assert_eq!(sums.sha512, Sha512::digest(bytes).to_vec(), "{role}");
            }
            let copy = bytes.clone();
            assert!(Digests::find(&digests, &copy).is_none(), "{role}: found by content");
        }
        assert_eq!(Sums::of(b"x", false).sha512, Vec::<u8>::new());
    }
}
