//! Writing bundles, deterministically.
//!
//! The same contents always give the same bytes (with the same zstd library): entries are
//! sorted, every tar header field is fixed or derived from the contents, and the manifest is
//! serialized from ordered data. Before anything is written, the manifest goes through the
//! same checks the reader applies, so airlock never writes a bundle it would refuse to read.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use tar::{EntryType, Header};
use time::OffsetDateTime;

use super::layout::{Slot, MANIFEST_PATH};
use super::manifest::{Manifest, FORMAT_VERSION};
use super::{sha256_hex, BundleContents, BundleError, EntryInfo, GunInfo, Limits};
use crate::fsutil::write_atomic_with;

/// File mode of bundles: they hold public trust data only.
pub const BUNDLE_MODE: u32 = 0o644;

/// Mode of every entry in the archive.
const ENTRY_MODE: u32 = 0o644;

/// zstd level: bundles are small, so speed matters more than the last few percent.
const ZSTD_LEVEL: i32 = 3;

/// Writes `contents` as a bundle at `path`, atomically, and returns the bundle digest.
pub fn write(path: &Path, contents: &BundleContents) -> Result<String, BundleError> {
    let files = collect_files(contents);
    let manifest_bytes = build_manifest(contents, &files)?;
    let mtime = entry_mtime(contents.created)?;

    write_atomic_with(path, BUNDLE_MODE, |file| write_stream(file, mtime, &manifest_bytes, &files))
        .map_err(|source| BundleError::Write { path: path.to_path_buf(), source })?;

    Ok(sha256_hex(&manifest_bytes))
}

/// Every file of every repository with its entry path, sorted by path.
fn collect_files(contents: &BundleContents) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    for repo in &contents.repos {
        let metadata = repo.metadata.iter().map(|(r, b)| (Slot::Metadata(r.clone()), b));
        let history = repo.root_history.iter().map(|(n, b)| (Slot::History(*n), b));
        let keys = repo.server_keys.iter().map(|(r, b)| (Slot::ServerKey(r.clone()), b));
        let rotated = repo.rotated_server_keys.iter();
        let rotated = rotated.map(|(r, b)| (Slot::RotatedServerKey(r.clone()), b));
        for (slot, bytes) in metadata.chain(history).chain(keys).chain(rotated) {
            files.push((slot.path(&repo.gun), bytes.as_slice()));
        }
    }
    if let (Some(audit), Some(first)) = (&contents.audit, contents.repos.first()) {
        files.push((Slot::AuditLog.path(&first.gun), audit.log.as_slice()));
        files.push((Slot::AuditHead.path(&first.gun), audit.head.as_slice()));
    }

    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Serializes the manifest and checks it as a reader with default limits would.
fn build_manifest(
    contents: &BundleContents,
    files: &[(String, &[u8])],
) -> Result<Vec<u8>, BundleError> {
    let entries = files.iter().map(|(path, bytes)| EntryInfo {
        path: path.clone(),
        sha256: sha256_hex(bytes),
        length: bytes.len() as u64,
    });
    let guns = contents.repos.iter().map(|r| GunInfo { gun: r.gun.clone(), new: r.new });

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: contents.kind,
        created: contents.created,
        tool: tool_name(),
        guns: guns.collect(),
        answers: contents.answers.clone(),
        entries: entries.collect(),
    };
    let bytes = manifest.to_bytes()?;

    Manifest::parse(&bytes, &Limits::default())?;
    Ok(bytes)
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

/// Writes the compressed archive: the manifest, then the files in manifest order, then the
/// end-of-archive marker, all in one zstd frame.
fn write_stream(
    file: &mut File,
    mtime: u64,
    manifest_bytes: &[u8],
    files: &[(String, &[u8])],
) -> io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(&mut *file, ZSTD_LEVEL)?;
    encoder.include_checksum(true)?;

    let mut archive = tar::Builder::new(encoder);
    append(&mut archive, MANIFEST_PATH, manifest_bytes, mtime)?;
    for (path, bytes) in files {
        append(&mut archive, path, bytes, mtime)?;
    }

    let encoder = archive.into_inner()?;
    encoder.finish()?.flush()
}

/// Appends one regular file. Paths longer than the 100-byte name field get a GNU long-name
/// entry (`././@LongLink`, type `L`) from the tar crate.
fn append<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    mtime: u64,
) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_size(bytes.len() as u64);
    header.set_mode(ENTRY_MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);

    archive.append_data(&mut header, path, bytes)
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
}
