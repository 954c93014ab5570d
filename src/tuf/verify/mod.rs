//! Verification of a repository's metadata as pulled from a Notary server.
//!
//! The steps follow the TUF client workflow in Notary's order (`client/tufclient.go`,
//! `tuf/builder.go`), numbered in the code:
//! 1. root: chain from the trusted root (each root N+1 signed by root N's threshold and by
//!    its own) or, on first sight, trust on first use or a pinned key; root certificates
//!    checked as Notary checks them;
//! 2. timestamp, 3. snapshot, 4. targets: signatures against the keys root lists, expiry,
//!    and the hashes each role lists for the next one;
//! 5. delegations, shallowest first: signatures against the keys the parent lists. Like
//!    Notary's client, a delegation that fails is not fatal: it is reported and marked
//!    invalid, because that is a normal state after a signer's key is removed and before
//!    the role is witnessed.
//!
//! Versions are never allowed to go below what this home trusted before (rollback).

mod digests;

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::crypto::{self, CryptoError, KeyId, PublicKey};
use crate::tuf::metadata::{
    self, FileMeta, MetadataError, ReadRole, RoleKeys, Root, Signature, Signed, Snapshot,
    TargetsHead, Timestamp,
};
use crate::tuf::{Gun, RoleName};
use digests::{Digests, Sums};

/// A rule that a repository's metadata breaks. Every variant names the GUN and the role.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{gun}: {source}")]
    Metadata { gun: Gun, source: MetadataError },
    #[error("{gun}: {role} is missing from the bundle")]
    Missing { gun: Gun, role: String },
    #[error(
        "{gun}: {role}: valid signatures from {valid} key(s) do not meet the threshold of \
         {threshold}"
    )]
    Threshold { gun: Gun, role: String, valid: usize, threshold: i64 },
    #[error("{gun}: {role}: key ID {claimed} does not match its key content ({actual})")]
    KeyIdMismatch { gun: Gun, role: String, claimed: String, actual: String },
    #[error(
        "{gun}: {role} expired at {expires}; pull fresh metadata, or pass --allow-expired to \
         recover an expired repository"
    )]
    Expired { gun: Gun, role: String, expires: String },
    #[error(
        "{gun}: {role} version {found} is lower than version {trusted} this home already trusts \
         (rollback)"
    )]
    Rollback { gun: Gun, role: String, trusted: i64, found: i64 },
    #[error("{gun}: {role} version {version} differs from the version {version} this home trusts")]
    SameVersionChanged { gun: Gun, role: String, version: i64 },
    #[error(
        "{gun}: {role} does not match the {alg} hash or length that {listed_by} lists for it \
         (mix-and-match)"
    )]
    HashMismatch { gun: Gun, role: String, listed_by: &'static str, alg: String },
    #[error("{gun}: {role} is in the bundle but {listed_by} does not list it")]
    Unlisted { gun: Gun, role: String, listed_by: &'static str },
    #[error(
        "{gun}: root version {found} does not follow the trusted root version {trusted}: {why}"
    )]
    RootChain { gun: Gun, trusted: i64, found: i64, why: String },
    #[error("{gun}: root key {key_id}: {source}")]
    RootCertificate { gun: Gun, key_id: String, source: CryptoError },
    #[error(
        "{gun}: the server's root version {version} is not the root this home trusts: the \
         repository was replaced or the server is lying. Do not sign for it. If it was \
         re-created on purpose, verify the new root key with its owners, then `airlock forget \
         {gun}` and import again"
    )]
    RootReplaced { gun: Gun, version: i64 },
    #[error("{gun}: {role} would not be accepted: {reason}")]
    Delegation { gun: Gun, role: String, reason: String },
    #[error("{gun}: the root is not signed by the pinned root key {pinned}")]
    PinMismatch { gun: Gun, pinned: String },
}

/// A delegation that did not verify, kept with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRole {
    pub role: RoleName,
    pub reason: String,
    /// Whether some signature on it verifies with a key this repository delegated at some
    /// point this home knows of (its parent now, or the parent this home trusted before).
    /// A role left invalid by a removed signer is; a file nobody known signed is not, and
    /// its content must never be re-signed (witnessed) as if it had been approved.
    pub signed_by_known_key: bool,
}

/// The files of one GUN, as carried by a bundle.
pub struct RepoFiles<'a> {
    pub metadata: &'a BTreeMap<RoleName, Vec<u8>>,
    pub root_history: &'a BTreeMap<u64, Vec<u8>>,
}

impl<'a> RepoFiles<'a> {
    /// The files snapshot must list: every one but timestamp and snapshot.
    fn listed_by_snapshot(&self) -> impl Iterator<Item = (&'a RoleName, &'a Vec<u8>)> {
        let metadata = self.metadata;
        metadata.iter().filter(|(role, _)| !matches!(role.as_str(), "timestamp" | "snapshot"))
    }
}

/// What this home trusted before, to check for rollback and to chain roots from.
pub struct Previous<'a> {
    pub root: &'a Signed<Root>,
    /// Role name -> (version, file bytes).
    pub roles: BTreeMap<String, (i64, &'a [u8])>,
    /// Delegation keys the trusted targets listed: a delegation whose signer was removed
    /// since is still recognised as once approved.
    pub delegation_keys: BTreeMap<KeyId, PublicKey>,
}

pub struct Options<'a> {
    pub now: OffsetDateTime,
    pub allow_expired: bool,
    /// `--root-keyid`: on first sight, the root must be signed by this key (TUF or canonical ID).
    pub pinned_root: Option<&'a str>,
}

/// A repository whose metadata verified.
#[derive(Clone, Debug)]
pub struct VerifiedRepo {
    pub root: Signed<Root>,
    pub timestamp: Signed<Timestamp>,
    pub snapshot: Signed<Snapshot>,
    pub targets: Signed<TargetsHead>,
    /// Delegations that verified.
    pub delegations: BTreeMap<RoleName, Signed<TargetsHead>>,
    /// Delegations that did not, with why; their files are still kept.
    pub invalid: Vec<InvalidRole>,
    /// The raw files of invalid delegations (they stay part of the repository).
    pub invalid_files: BTreeMap<RoleName, Vec<u8>>,
    /// Whether the root was accepted on first use (no earlier root, no pin).
    pub trust_on_first_use: bool,
}

struct Verifier<'a> {
    gun: &'a Gun,
    opts: &'a Options<'a>,
}

/// Verifies every file of one GUN (steps 1-5 in the module doc).
pub fn verify_repo(
    gun: &Gun,
    files: &RepoFiles,
    previous: Option<&Previous>,
    opts: &Options,
) -> Result<VerifiedRepo, VerifyError> {
    std::thread::scope(|scope| verify_steps(gun, files, previous, opts, scope))
}

fn verify_steps<'s, 'f: 's>(
    gun: &Gun,
    files: &'f RepoFiles,
    previous: Option<&Previous>,
    opts: &Options,
    scope: &'s std::thread::Scope<'s, '_>,
) -> Result<VerifiedRepo, VerifyError> {
    let v = Verifier { gun, opts };
    // The large files' digests, which step 3 needs, are worked out on a second thread while
    // this one reads and checks the files in order.
    let digests = Digests::start(scope, files);

    // 1. root
    let (root, trust_on_first_use) = v.root(files, previous)?;

    // 2. timestamp, signed by the key root lists, pointing at the snapshot's bytes
    let timestamp: Signed<Timestamp> = v.parse_role(files, "timestamp")?;
    v.check_role(&root.signed, "timestamp", &timestamp)?;
    let snapshot_bytes = v.file(files, "snapshot")?;
    v.check_meta(&timestamp.signed.meta, "timestamp", "snapshot", snapshot_bytes, None)?;

    // 3. snapshot, listing root, targets and every delegation file. The delegations are
    // parsed first, while the digests are still being worked out; what parsing found wrong
    // is reported in step 5, as if they were parsed there.
    let snapshot: Signed<Snapshot> = v.parse_role(files, "snapshot")?;
    v.check_role(&root.signed, "snapshot", &snapshot)?;
    let parsed = v.parse_delegations(files);
    v.check_snapshot_lists(files, &snapshot.signed, &digests.finish())?;

    // 4. targets
    let targets: Signed<TargetsHead> = v.parse_role(files, "targets")?;
    v.check_role(&root.signed, "targets", &targets)?;

    // 5. delegations
    let known = previous.map(|p| p.delegation_keys.clone()).unwrap_or_default();
    let (delegations, invalid, invalid_files) = v.delegations(files, parsed, &targets, &known)?;

    let repo = VerifiedRepo {
        root,
        timestamp,
        snapshot,
        targets,
        delegations,
        invalid,
        invalid_files,
        trust_on_first_use,
    };
    if let Some(previous) = previous {
        v.check_rollback(&repo, previous)?;
    }
    Ok(repo)
}

/// What a server currently holds for a GUN, as far as an upload depends on it.
pub struct ServerState<'a> {
    pub root: Option<&'a [u8]>,
    pub targets: Option<&'a [u8]>,
}

/// Checks a response before it is pushed, with the rules import applies: every file parses
/// strictly; a new root is signed by its own keys (and by the server's current root, one
/// version up), with Notary's certificate checks; targets and delegations are signed by the
/// keys their parents list, with their thresholds, and not expired.
pub fn verify_upload(
    gun: &Gun,
    files: &BTreeMap<RoleName, Vec<u8>>,
    server: &ServerState,
    now: OffsetDateTime,
) -> Result<(), VerifyError> {
    let opts = Options { now, allow_expired: false, pinned_root: None };
    let v = Verifier { gun, opts: &opts };
    let parse_root = |b: &[u8]| v.parse_bytes::<Root>(b, "root");
    let current = server.root.map(parse_root).transpose()?;

    let root = match files.get(&RoleName::root()) {
        Some(bytes) => {
            let root = parse_root(bytes)?;
            v.check_self_signed(&root)?;
            if let Some(current) = &current {
                let history = BTreeMap::new();
                let chain = RepoFiles { metadata: files, root_history: &history };
                v.check_chain(current, &root, &chain)?;
            }
            v.check_root_certificates(&root.signed)?;
            v.check_expiry("root", &root.signed)?;
            root
        }
        None => current.ok_or_else(|| v.missing("root (neither uploaded nor on the server)"))?,
    };

    let targets = match (files.get(&RoleName::targets()), server.targets) {
        (Some(bytes), _) => {
            let targets: Signed<TargetsHead> = v.parse_bytes(bytes, "targets")?;
            v.check_role(&root.signed, "targets", &targets)?;
            Some(targets)
        }
        (None, Some(bytes)) => Some(v.parse_bytes(bytes, "targets")?),
        (None, None) => None,
    };

    for (role, bytes) in files.iter().filter(|(r, _)| r.is_delegation()) {
        let file: Signed<TargetsHead> = v.parse_bytes(bytes, role.as_str())?;
        let parent = if role.depth() == 1 { targets.as_ref() } else { None };
        v.check_delegation(role, &file, parent).map_err(|reason| VerifyError::Delegation {
            gun: gun.clone(),
            role: role.to_string(),
            reason,
        })?;
    }
    Ok(())
}

impl Verifier<'_> {
    fn file<'f>(&self, files: &'f RepoFiles, role: &str) -> Result<&'f [u8], VerifyError> {
        let name = RoleName::parse(role).map_err(|_| self.missing(role))?;
        files.metadata.get(&name).map(Vec::as_slice).ok_or_else(|| self.missing(role))
    }

    fn missing(&self, role: &str) -> VerifyError {
        VerifyError::Missing { gun: self.gun.clone(), role: role.to_string() }
    }

    fn parse_role<T: ReadRole>(
        &self,
        files: &RepoFiles,
        role: &str,
    ) -> Result<Signed<T>, VerifyError> {
        let bytes = self.file(files, role)?;
        self.parse_bytes(bytes, role)
    }

    fn parse_bytes<T: ReadRole>(&self, bytes: &[u8], role: &str) -> Result<Signed<T>, VerifyError> {
        metadata::parse(bytes, role)
            .map_err(|source| VerifyError::Metadata { gun: self.gun.clone(), source })
    }

    /// Step 1: the root chain, root certificates, and expiry of the newest root.
    fn root(
        &self,
        files: &RepoFiles,
        previous: Option<&Previous>,
    ) -> Result<(Signed<Root>, bool), VerifyError> {
        let current: Signed<Root> = self.parse_role(files, "root")?;
        match previous {
            None => self.check_self_signed(&current)?,
            Some(prev) => self.check_chain(prev.root, &current, files)?,
        }
        // A pin holds whenever it is given, not only on first sight.
        self.check_pin(&current)?;
        let first_use = previous.is_none() && self.opts.pinned_root.is_none();
        self.check_root_certificates(&current.signed)?;
        self.check_expiry("root", &current.signed)?;
        Ok((current, first_use))
    }

    fn check_self_signed(&self, root: &Signed<Root>) -> Result<(), VerifyError> {
        let role = self.role_keys(&root.signed, "root")?;
        self.check_threshold("root", root, &root.signed.keys, role)
    }

    fn check_pin(&self, root: &Signed<Root>) -> Result<(), VerifyError> {
        let Some(pinned) = self.opts.pinned_root else {
            return Ok(());
        };
        let signed_by_pin = root.signatures.iter().any(|s| {
            let key = KeyId::parse(&s.keyid).ok().and_then(|id| root.signed.keys.get(&id));
            let ids = key.map(|k| (k.id(), k.canonical_id().ok()));
            let matches = ids.is_some_and(|(id, canon)| {
                id.as_str() == pinned || canon.is_some_and(|c| c.as_str() == pinned)
            });
            matches && key.is_some_and(|k| verify_one(k, s, root.canonical()))
        });
        if !signed_by_pin {
            let pinned = pinned.to_string();
            return Err(VerifyError::PinMismatch { gun: self.gun.clone(), pinned });
        }
        Ok(())
    }

    /// Each root N+1 must be signed by the threshold of root N and by its own (WIRE.md §9.9).
    fn check_chain(
        &self,
        trusted: &Signed<Root>,
        current: &Signed<Root>,
        files: &RepoFiles,
    ) -> Result<(), VerifyError> {
        let (from, to) = (trusted.signed.common.version, current.signed.common.version);
        let chain_err = |why: String| VerifyError::RootChain {
            gun: self.gun.clone(),
            trusted: from,
            found: to,
            why,
        };
        if to < from {
            let (gun, role) = (self.gun.clone(), "root".to_string());
            return Err(VerifyError::Rollback { gun, role, trusted: from, found: to });
        }
        if to == from {
            if trusted.canonical() != current.canonical() {
                return Err(VerifyError::RootReplaced { gun: self.gun.clone(), version: to });
            }
            // The same root, perhaps with more signatures than this home saw (custodians of a
            // k-of-n root sign after it left here): it must meet its own threshold.
            return self.check_self_signed(current);
        }

        let mut prev = trusted.clone();
        for version in from + 1..=to {
            let next: Signed<Root> = if version == to {
                current.clone()
            } else {
                let bytes = files
                    .root_history
                    .get(&(version as u64))
                    .ok_or_else(|| chain_err(format!("the bundle lacks root version {version}")))?;
                self.parse_bytes(bytes, "root")?
            };
            if next.signed.common.version != version {
                return Err(chain_err(format!("the file for version {version} says otherwise")));
            }
            let prev_role = self.role_keys(&prev.signed, "root")?;
            self.check_threshold("root", &next, &prev.signed.keys, prev_role).map_err(|_| {
                chain_err(format!(
                    "version {version} is not signed by the keys of root version {}: no holder \
                     of the trusted root key approved it; do not sign for this repository",
                    version - 1
                ))
            })?;
            self.check_self_signed(&next)?;
            prev = next;
        }
        Ok(())
    }

    fn check_root_certificates(&self, root: &Root) -> Result<(), VerifyError> {
        let role = self.role_keys(root, "root")?;
        for id in role.keyids.iter().flatten() {
            let Some(key) = root.keys.get(id) else { continue };
            crypto::check_root_certificate(key, self.gun.as_str(), self.opts.now).map_err(
                |source| VerifyError::RootCertificate {
                    gun: self.gun.clone(),
                    key_id: id.to_string(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    fn role_keys<'r>(&self, root: &'r Root, role: &str) -> Result<&'r RoleKeys, VerifyError> {
        root.roles.get(role).ok_or_else(|| self.missing(&format!("root's {role} role")))
    }

    /// Signatures against the keys root lists for `role`, then expiry.
    fn check_role<T: ReadRole>(
        &self,
        root: &Root,
        role: &str,
        file: &Signed<T>,
    ) -> Result<(), VerifyError> {
        let keys = self.role_keys(root, role)?;
        self.check_threshold(role, file, &root.keys, keys)?;
        self.check_expiry(role, &file.signed)
    }

    fn check_expiry<T: ReadRole>(&self, role: &str, signed: &T) -> Result<(), VerifyError> {
        let expires = signed.common().expires;
        if expires.is_before(self.opts.now) && !self.opts.allow_expired {
            let (gun, role) = (self.gun.clone(), role.to_string());
            return Err(VerifyError::Expired { gun, role, expires: expires.to_string() });
        }
        Ok(())
    }

    /// Notary's rule (`tuf/signed/verify.go`): only signatures by the role's keys count, each
    /// key once, and a key's ID must be the hash of its content.
    fn check_threshold<T>(
        &self,
        role: &str,
        file: &Signed<T>,
        keys: &BTreeMap<KeyId, PublicKey>,
        role_keys: &RoleKeys,
    ) -> Result<(), VerifyError> {
        let allowed = role_keys.keyids.as_deref().unwrap_or_default();
        let mut valid: Vec<&KeyId> = Vec::new();
        for id in allowed {
            let Some(key) = keys.get(id) else { continue };
            if key.id() != *id {
                return Err(VerifyError::KeyIdMismatch {
                    gun: self.gun.clone(),
                    role: role.to_string(),
                    claimed: id.to_string(),
                    actual: key.id().to_string(),
                });
            }
            let signed = file.signatures.iter().filter(|s| s.keyid == id.as_str());
            if signed.into_iter().any(|s| verify_one(key, s, file.canonical()))
                && !valid.contains(&id)
            {
                valid.push(id);
            }
        }
        if (valid.len() as i64) < role_keys.threshold || file.signatures.is_empty() {
            return Err(VerifyError::Threshold {
                gun: self.gun.clone(),
                role: role.to_string(),
                valid: valid.len(),
                threshold: role_keys.threshold,
            });
        }
        Ok(())
    }

    /// `listed_by`'s entry for `role` must match `bytes` in length and in every hash it gives
    /// (sha256 required).
    fn check_meta(
        &self,
        meta: &BTreeMap<String, FileMeta>,
        listed_by: &'static str,
        role: &str,
        bytes: &[u8],
        known: Option<&Sums>,
    ) -> Result<(), VerifyError> {
        let mismatch = |alg: &str| VerifyError::HashMismatch {
            gun: self.gun.clone(),
            role: role.to_string(),
            listed_by,
            alg: alg.to_string(),
        };
        let entry = meta.get(role).ok_or_else(|| VerifyError::Unlisted {
            gun: self.gun.clone(),
            role: role.to_string(),
            listed_by,
        })?;
        if entry.length != bytes.len() as i64 {
            return Err(mismatch("length"));
        }
        if !entry.hashes.contains_key("sha256") {
            return Err(mismatch("sha256"));
        }
        let computed;
        let sums = match known {
            Some(sums) => sums,
            None => {
                computed = Sums::of(bytes, entry.hashes.contains_key("sha512"));
                &computed
            }
        };
        for (alg, expected) in &entry.hashes {
            let actual = match alg.as_str() {
                "sha256" => &sums.sha256,
                "sha512" => &sums.sha512,
                _ => continue,
            };
            if actual != expected {
                return Err(mismatch(alg));
            }
        }
        Ok(())
    }

    /// The snapshot must list root, targets and every delegation file, with matching hashes;
    /// every delegation it lists must be in the bundle.
    fn check_snapshot_lists(
        &self,
        files: &RepoFiles,
        snapshot: &Snapshot,
        digests: &[(&[u8], Sums)],
    ) -> Result<(), VerifyError> {
        for (role, bytes) in files.listed_by_snapshot() {
            let known = Digests::find(digests, bytes);
            self.check_meta(&snapshot.meta, "snapshot", role.as_str(), bytes, known)?;
        }
        for role in snapshot.meta.keys() {
            if RoleName::parse(role).is_err() || !files.metadata.keys().any(|r| r.as_str() == role)
            {
                return Err(self.missing(role));
            }
        }
        Ok(())
    }

    /// Every delegation file, parsed, shallowest first: the order step 5 checks them in.
    fn parse_delegations<'f>(&self, files: &RepoFiles<'f>) -> Vec<Parsed<'f>> {
        let mut roles: Vec<&RoleName> =
            files.metadata.keys().filter(|r| r.is_delegation()).collect();
        roles.sort_by_key(|r| (r.depth(), r.as_str().to_string()));
        roles
            .into_iter()
            .map(|role| (role, self.parse_bytes(&files.metadata[role], role.as_str())))
            .collect()
    }

    /// Step 5: each delegation against its parent, shallowest first.
    #[allow(clippy::type_complexity)]
    fn delegations(
        &self,
        files: &RepoFiles,
        parsed: Vec<Parsed>,
        targets: &Signed<TargetsHead>,
        known_keys: &BTreeMap<KeyId, PublicKey>,
    ) -> Result<
        (BTreeMap<RoleName, Signed<TargetsHead>>, Vec<InvalidRole>, BTreeMap<RoleName, Vec<u8>>),
        VerifyError,
    > {
        let mut valid: BTreeMap<RoleName, Signed<TargetsHead>> = BTreeMap::new();
        let mut invalid = Vec::new();
        let mut invalid_files = BTreeMap::new();
        for (role, file) in parsed {
            let bytes = &files.metadata[role];
            let file = file?;
            let parent = role.parent().expect("a delegation has a parent");
            let parent_file =
                if parent.as_str() == "targets" { Some(targets) } else { valid.get(&parent) };
            match self.check_delegation(role, &file, parent_file) {
                Ok(()) => {
                    valid.insert(role.clone(), file);
                }
                Err(reason) => {
                    let mut keys = known_keys.clone();
                    if let Some(current) =
                        parent_file.and_then(|p| p.signed.delegations.keys.clone())
                    {
                        keys.extend(current);
                    }
                    let signed_by_known_key = file.signatures.iter().any(|s| {
                        let key = KeyId::parse(&s.keyid).ok().and_then(|id| keys.get(&id));
                        key.is_some_and(|k| verify_one(k, s, file.canonical()))
                    });
                    invalid.push(InvalidRole { role: role.clone(), reason, signed_by_known_key });
                    invalid_files.insert(role.clone(), bytes.clone());
                }
            }
        }
        Ok((valid, invalid, invalid_files))
    }

    fn check_delegation(
        &self,
        role: &RoleName,
        file: &Signed<TargetsHead>,
        parent: Option<&Signed<TargetsHead>>,
    ) -> Result<(), String> {
        let parent = parent.ok_or("its parent role is missing or not valid")?;
        let delegations = &parent.signed.delegations;
        let entry = delegations.role(role).ok_or("its parent does not delegate to it")?;
        let keys = delegations.keys.clone().unwrap_or_default();
        let role_keys = RoleKeys { keyids: entry.keyids.clone(), threshold: entry.threshold };
        self.check_threshold(role.as_str(), file, &keys, &role_keys).map_err(|e| strip_gun(&e))?;
        self.check_expiry(role.as_str(), &file.signed).map_err(|e| strip_gun(&e))
    }

    /// No role may go below the version this home trusted, nor change without a new version.
    fn check_rollback(&self, repo: &VerifiedRepo, previous: &Previous) -> Result<(), VerifyError> {
        let mut current: Vec<(String, i64, &[u8])> = vec![
            ("timestamp".into(), repo.timestamp.signed.common.version, repo.timestamp.bytes()),
            ("snapshot".into(), repo.snapshot.signed.common.version, repo.snapshot.bytes()),
            ("targets".into(), repo.targets.signed.common.version, repo.targets.bytes()),
        ];
        for (role, file) in &repo.delegations {
            current.push((role.to_string(), file.signed.common.version, file.bytes()));
        }
        // Invalid delegations are kept as the repository's files, so they obey the same
        // rules: a broken signature must not carry an older or altered file past them.
        for (role, bytes) in &repo.invalid_files {
            let file: Signed<TargetsHead> = self.parse_bytes(bytes, role.as_str())?;
            current.push((role.to_string(), file.signed.common.version, bytes));
        }
        for (role, version, bytes) in current {
            let Some((trusted, trusted_bytes)) = previous.roles.get(&role) else { continue };
            let gun = self.gun.clone();
            if version < *trusted {
                return Err(VerifyError::Rollback { gun, role, trusted: *trusted, found: version });
            }
            if version == *trusted && bytes != *trusted_bytes {
                return Err(VerifyError::SameVersionChanged { gun, role, version });
            }
        }
        Ok(())
    }
}

fn verify_one(key: &PublicKey, sig: &Signature, canonical: &[u8]) -> bool {
    crypto::verify(key, &sig.method, canonical, &sig.sig).is_ok()
}

/// The message of an error without the leading "<gun>: " (the caller adds context).
fn strip_gun(e: &VerifyError) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((_, rest)) => rest.to_string(),
        None => text,
    }
}

/// A delegation file and what parsing it gave.
type Parsed<'f> = (&'f RoleName, Result<Signed<TargetsHead>, VerifyError>);
