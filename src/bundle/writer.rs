//! Writing bundles, deterministically.
//!
//! The same contents always give the same bytes (with the same zstd library): entries are
//! sorted, every tar header field is fixed or derived from the contents, and the manifest is
//! serialized from ordered data. Before anything is written, the manifest goes through the
//! same checks the reader applies, so airlock never writes a bundle it would refuse to read.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};
use time::OffsetDateTime;

use super::layout::{Slot, MANIFEST_PATH};
use super::manifest::{Manifest, FORMAT_VERSION};
use super::{
    sha256_hex, AuditFiles, BundleContents, BundleError, BundleKind, EntryInfo, GunInfo, Limits,
    RepoFiles,
};
use crate::fsutil::{self, write_atomic_with};
use crate::tuf::Gun;

/// File mode of bundles: they hold public trust data only.
pub const BUNDLE_MODE: u32 = 0o644;

/// Mode of every entry in the archive.
const ENTRY_MODE: u32 = 0o644;

/// zstd level: bundles are small, so speed matters more than the last few percent.
const ZSTD_LEVEL: i32 = 3;

/// Writes `contents` as a bundle at `path`, atomically, replacing any file there, and returns
/// the bundle digest.
pub fn write(path: &Path, contents: &BundleContents) -> Result<String, BundleError> {
    let mut writer = BundleWriter::create(path, contents.kind, contents.created)?;
    writer.replace = true;
    writer.answers(contents.answers.clone());
    for repo in &contents.repos {
        writer.add(repo)?;
    }
    writer.finish(contents.audit.as_ref())
}

/// Writes a bundle one repository at a time, so a caller can drop each repository's files
/// once they were added: memory grows with the largest repository, not with the bundle.
///
/// Added files go to a spool, an unnamed temporary file on the output's disk, hashed on the
/// way; [`finish`] writes the manifest and then copies the files from the spool in manifest
/// order. Nothing appears at the output path unless `finish` succeeds, and the spool leaves
/// nothing behind, even when the process is killed.
///
/// [`finish`]: BundleWriter::finish
pub struct BundleWriter {
    path: PathBuf,
    kind: BundleKind,
    created: OffsetDateTime,
    answers: Option<String>,
    guns: Vec<GunInfo>,
    /// The tar modification time of every entry, from `created`.
    mtime: u64,
    /// Every file so far with where its bytes are in the spool, in the order spooled until
    /// `finish` sorts them.
    files: Vec<Spooled>,
    spool: io::BufWriter<File>,
    /// Whether `finish` may replace an existing file at `path`.
    replace: bool,
}

struct Spooled {
    info: EntryInfo,
    offset: u64,
}

impl BundleWriter {
    /// Starts a bundle that will be written at `path`, which must not exist when it is
    /// finished: a file that appears there meanwhile is never replaced.
    pub fn create(
        path: &Path,
        kind: BundleKind,
        created: OffsetDateTime,
    ) -> Result<BundleWriter, BundleError> {
        let mtime = entry_mtime(created)?;
        let spool = fsutil::temporary_beside(path)
            .map_err(|source| BundleError::Write { path: path.to_path_buf(), source })?;
        Ok(BundleWriter {
            path: path.to_path_buf(),
            kind,
            created,
            answers: None,
            guns: Vec::new(),
            mtime,
            files: Vec::new(),
            spool: io::BufWriter::new(spool),
            replace: false,
        })
    }

    /// For a response, the digest of the pull bundle it answers.
    pub fn answers(&mut self, digest: Option<String>) {
        self.answers = digest;
    }

    /// Where the bundle will be written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds one repository's files.
    pub fn add(&mut self, repo: &RepoFiles) -> Result<(), BundleError> {
        self.guns.push(GunInfo { gun: repo.gun.clone(), new: repo.new });
        for (slot, bytes) in repo_files(repo) {
            self.spool_file(slot.path(&repo.gun), bytes)?;
        }
        Ok(())
    }

    /// Puts the repositories in the order of `guns` (any not named go last, in the order
    /// added): for callers that add them as they complete, out of order.
    pub fn order_guns(&mut self, guns: &[Gun]) {
        let order: std::collections::HashMap<&Gun, usize> =
            guns.iter().enumerate().map(|(i, g)| (g, i)).collect();
        self.guns.sort_by_key(|info| order.get(&info.gun).copied().unwrap_or(usize::MAX));
    }

    /// Writes the bundle, with `audit` filed under the first repository, and returns its
    /// digest.
    pub fn finish(mut self, audit: Option<&AuditFiles>) -> Result<String, BundleError> {
        if let (Some(audit), Some(first)) = (audit, self.guns.first()) {
            let gun = first.gun.clone();
            self.spool_file(Slot::AuditLog.path(&gun), &audit.log)?;
            self.spool_file(Slot::AuditHead.path(&gun), &audit.head)?;
        }
        self.files.sort_by(|a, b| a.info.path.cmp(&b.info.path));
        let manifest_bytes = self.build_manifest()?;
        let mtime = self.mtime;

        let write_err = |source| BundleError::Write { path: self.path.clone(), source };
        let mut spool = self.spool.into_inner().map_err(|e| write_err(e.into_error()))?;
        let fill =
            |file: &mut File| write_stream(file, mtime, &manifest_bytes, &self.files, &mut spool);
        let written = match self.replace {
            true => write_atomic_with(&self.path, BUNDLE_MODE, fill),
            false => fsutil::write_new_atomic_with(&self.path, BUNDLE_MODE, fill),
        };
        written.map_err(|e| write_err(appeared_meanwhile(e)))?;
        Ok(sha256_hex(&manifest_bytes))
    }

    fn spool_file(&mut self, path: String, bytes: &[u8]) -> Result<(), BundleError> {
        let write_err = |source| BundleError::Write { path: self.path.clone(), source };
        self.spool.write_all(bytes).map_err(write_err)?;
        let offset = self.files.last().map_or(0, |last| last.offset + last.info.length);
        let info = EntryInfo { path, sha256: sha256_hex(bytes), length: bytes.len() as u64 };
        self.files.push(Spooled { info, offset });
        Ok(())
    }

    /// Serializes the manifest and checks it as a reader with default limits would.
    fn build_manifest(&self) -> Result<Vec<u8>, BundleError> {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            kind: self.kind,
            created: self.created,
            tool: tool_name(),
            guns: self.guns.clone(),
            answers: self.answers.clone(),
            entries: self.files.iter().map(|f| f.info.clone()).collect(),
        };
        let bytes = manifest.to_bytes()?;

        Manifest::parse(&bytes, &Limits::default())?;
        Ok(bytes)
    }
}

/// Says why a new bundle could not be put in place when another file took its path.
fn appeared_meanwhile(e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::AlreadyExists {
        return e;
    }
    let why = "a file appeared at this path while the bundle was being made; it was left as it \
               is. Choose another -o file";
    io::Error::new(io::ErrorKind::AlreadyExists, why)
}

/// Every file of one repository with its slot.
fn repo_files(repo: &RepoFiles) -> impl Iterator<Item = (Slot, &[u8])> {
    let metadata = repo.metadata.iter().map(|(r, b)| (Slot::Metadata(r.clone()), b));
    let history = repo.root_history.iter().map(|(n, b)| (Slot::History(*n), b));
    let keys = repo.server_keys.iter().map(|(r, b)| (Slot::ServerKey(r.clone()), b));
    let rotated = repo.rotated_server_keys.iter();
    let rotated = rotated.map(|(r, b)| (Slot::RotatedServerKey(r.clone()), b));
    let all = metadata.chain(history).chain(keys).chain(rotated);
    all.map(|(slot, bytes)| (slot, bytes.as_slice()))
}

/// The `tool` value airlock writes.
fn tool_name() -> String {
    format!("airlock {}", env!("CARGO_PKG_VERSION"))
}

/// The tar modification time of every entry: `created`, in whole seconds since the epoch.
fn entry_mtime(created: OffsetDateTime) -> Result<u64, BundleError> {
    u64::try_from(created.unix_timestamp()).map_err(|_| BundleError::BadCreated {
        found: created.to_string(),
        why: "it is before 1970, which tar cannot record",
    })
}

/// Writes the compressed archive: the manifest, then the files in manifest order from the
/// spool, then the end-of-archive marker, all in one zstd frame.
fn write_stream(
    file: &mut File,
    mtime: u64,
    manifest_bytes: &[u8],
    files: &[Spooled],
    spool: &mut File,
) -> io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(&mut *file, ZSTD_LEVEL)?;
    encoder.include_checksum(true)?;

    let mut archive = tar::Builder::new(encoder);
    append(&mut archive, MANIFEST_PATH, manifest_bytes.len() as u64, manifest_bytes, mtime)?;
    for spooled in files {
        spool.seek(SeekFrom::Start(spooled.offset))?;
        let data = Exact { inner: io::BufReader::new(&mut *spool), left: spooled.info.length };
        append(&mut archive, &spooled.info.path, spooled.info.length, data, mtime)?;
    }

    let encoder = archive.into_inner()?;
    encoder.finish()?.flush()
}

/// Reads exactly `left` bytes: a spool that came up short (someone truncated it) is an error,
/// not an entry padded with whatever follows.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the spool file is short"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Appends one regular file. Paths longer than the 100-byte name field get a GNU long-name
/// entry (`././@LongLink`, type `L`) from the tar crate.
fn append<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    length: u64,
    data: impl Read,
    mtime: u64,
) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(length);
    header.set_mode(ENTRY_MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);

    archive.append_data(&mut header, path, data)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{sample, sample_response};
    use super::super::{read, RepoFiles};
    use super::*;
    use crate::tuf::{Gun, RoleName};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull.bundle");
        let contents = sample();

        let digest = write(&path, &contents).unwrap();
        let bundle = read(&path, &Limits::default()).unwrap();

        assert_eq!(bundle.contents, contents);
        assert_eq!(bundle.digest, digest);
        assert_eq!(sha256_hex(&bundle.manifest_bytes), digest);
        assert_eq!(bundle.tool, tool_name());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o022, BUNDLE_MODE & !0o022);
    }

    #[test]
    fn response_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("response.bundle");
        let contents = sample_response();
        write(&path, &contents).unwrap();
        assert_eq!(read(&path, &Limits::default()).unwrap().contents, contents);
    }

    #[test]
    fn writing_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let contents = sample();

        let digest_a = write(&a, &contents).unwrap();
        let digest_b = write(&b, &contents).unwrap();

        assert_eq!(digest_a, digest_b);
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    }

    #[test]
    fn entries_have_fixed_headers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let contents = sample();
        write(&path, &contents).unwrap();

        let tar = zstd::decode_all(fs::File::open(&path).unwrap()).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut paths = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.mtime().unwrap(), contents.created.unix_timestamp() as u64);
            assert_eq!(h.username_bytes(), Some(&b""[..]));
            assert_eq!(h.groupname_bytes(), Some(&b""[..]));
            paths.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
        }
        assert_eq!(paths[0], "manifest.json");
        let mut sorted = paths[1..].to_vec();
        sorted.sort();
        assert_eq!(paths[1..], sorted[..]);
        assert!(paths.iter().any(|p| p.len() > 100), "sample should need a GNU long name");
    }

    #[test]
    fn refuses_contents_it_could_not_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let role = |r: &str| RoleName::parse(r).unwrap();

        let mut contents = sample();
        contents.repos[0].server_keys.insert(role("root"), b"{}".to_vec());
        assert!(matches!(write(&path, &contents), Err(BundleError::BadEntryPath { .. })));

        let mut contents = sample();
        contents.repos[0].root_history.insert(0, b"{}".to_vec());
        assert!(matches!(write(&path, &contents), Err(BundleError::BadEntryPath { .. })));

        let mut contents = sample();
        contents.repos.push(contents.repos[0].clone());
        assert!(matches!(write(&path, &contents), Err(BundleError::DuplicateGun { .. })));

        let mut contents = sample();
        contents.answers = Some("f".repeat(64));
        assert!(matches!(write(&path, &contents), Err(BundleError::BadAnswers { .. })));

        let mut contents = sample();
        contents.created = OffsetDateTime::UNIX_EPOCH - time::Duration::seconds(1);
        assert!(matches!(write(&path, &contents), Err(BundleError::BadCreated { .. })));

        assert!(!path.exists(), "a refused bundle must not be written");
    }

    #[test]
    fn refuses_ambiguous_guns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let gun = |g: &str| Gun::parse(g).unwrap();
        let mut outer = RepoFiles::new(gun("a"), false);
        outer.metadata.insert(RoleName::root(), b"{}".to_vec());
        let mut inner = RepoFiles::new(gun("a/metadata/targets"), false);
        inner.metadata.insert(RoleName::root(), b"{}".to_vec());
        let mut contents = sample();
        contents.repos = vec![outer, inner];

        assert!(matches!(write(&path, &contents), Err(BundleError::AmbiguousPath { .. })));
    }

    /// Only the bundle is left in its directory, whether writing succeeded or not.
    fn leftovers(dir: &Path) -> Vec<String> {
        let names = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name());
        names.map(|n| n.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn streaming_writer_matches_write_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let (whole, streamed) = (dir.path().join("whole"), dir.path().join("streamed"));
        let mut contents = sample_response();
        let (log, head) = (b"{\"seq\":1}\n".to_vec(), b"{\"head\":1}".to_vec());
        contents.audit = Some(super::super::AuditFiles { log, head });
        let digest = write(&whole, &contents).unwrap();
        assert_eq!(read(&whole, &Limits::default()).unwrap().contents, contents);

        // Added out of order, then put back in manifest order.
        let mut writer = BundleWriter::create(&streamed, contents.kind, contents.created).unwrap();
        writer.answers(contents.answers.clone());
        for repo in contents.repos.iter().rev() {
            writer.add(repo).unwrap();
        }
        let order: Vec<Gun> = contents.repos.iter().map(|r| r.gun.clone()).collect();
        writer.order_guns(&order);
        assert_eq!(writer.finish(contents.audit.as_ref()).unwrap(), digest);
        assert_eq!(fs::read(&whole).unwrap(), fs::read(&streamed).unwrap());

        let mut names = leftovers(dir.path());
        names.sort();
        assert_eq!(names, ["streamed", "whole"]);
    }

    #[test]
    fn a_refused_bundle_leaves_no_spool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let mut contents = sample();
        contents.repos.push(contents.repos[0].clone());

        assert!(matches!(write(&path, &contents), Err(BundleError::DuplicateGun { .. })));
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_file_that_appears_meanwhile_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let contents = sample();
        let mut writer = BundleWriter::create(&path, contents.kind, contents.created).unwrap();
        writer.add(&contents.repos[0]).unwrap();
        fs::write(&path, b"someone else's").unwrap();

        let err = writer.finish(None).unwrap_err();
        assert!(matches!(err, BundleError::Write { ref source, .. }
            if source.kind() == io::ErrorKind::AlreadyExists));
        assert_eq!(fs::read(&path).unwrap(), b"someone else's");
        assert_eq!(leftovers(dir.path()), ["b"]);

        // `write` is for outputs that may be replaced, such as a bundle signed in place.
        write(&path, &contents).unwrap();
        assert_eq!(read(&path, &Limits::default()).unwrap().contents, contents);
    }
}
