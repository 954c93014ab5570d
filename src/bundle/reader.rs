//! Reading bundles that may have been made by an attacker.
//!
//! The file is read once, as a stream: file -> byte counter -> zstd -> byte counter -> tar.
//! The manifest comes first and is checked completely, so every later entry is judged against
//! a known list of paths, lengths and digests before its data is read. Nothing is returned
//! unless the whole bundle passes: a caller never sees half a bundle.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use tar::{Entries, Entry, EntryType};

use super::layout::{self, Located, Slot, MANIFEST_PATH};
use super::limits::{CountCompressed, CountDecompressed, Meter};
use super::manifest::{Checked, Manifest};
use super::{
    sha256_hex, AuditFiles, Bundle, BundleContents, BundleError, EntryInfo, Limits, RepoFiles,
};

/// Largest zstd window accepted (16 MiB). The decoder allocates the window up front, so a
/// hostile frame header could otherwise claim far more memory; levels 1 to 19 stay below it.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;

/// Memory reserved up front for an entry. Declared lengths are hostile, so larger entries
/// grow as their bytes actually arrive.
const PREALLOCATE_MAX: u64 = 1024 * 1024;

type Decoder = zstd::stream::read::Decoder<'static, BufReader<CountCompressed<File>>>;
type Stream = CountDecompressed<Decoder>;

/// What a fully verified bundle yields besides its files.
struct Verified {
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    digest: String,
}

/// Reads and fully verifies the bundle at `path`.
pub fn read(path: &Path, limits: &Limits) -> Result<Bundle, BundleError> {
    let mut files = Vec::new();
    let verified = verify(path, limits, &mut |place, data| files.push((place.clone(), data)))?;

    let contents = assemble(&verified.manifest, files);
    Ok(Bundle {
        contents,
        tool: verified.manifest.tool,
        manifest_bytes: verified.manifest_bytes,
        digest: verified.digest,
    })
}

/// Verifies the bundle at `path` as [`read()`] does, keeping only what describes it: the
/// manifest, the bundle digest, and the entries that were checked.
pub fn inspect(
    path: &Path,
    limits: &Limits,
) -> Result<(Manifest, String, Vec<EntryInfo>), BundleError> {
    let verified = verify(path, limits, &mut |_, _| {})?;
    let entries = verified.manifest.entries.clone();
    Ok((verified.manifest, verified.digest, entries))
}

/// Streams the bundle once, checking everything, and hands each verified file to `sink`.
fn verify(
    path: &Path,
    limits: &Limits,
    sink: &mut dyn FnMut(&Located, Vec<u8>),
) -> Result<Verified, BundleError> {
    let file = File::open(path)
        .map_err(|source| BundleError::Open { path: path.to_path_buf(), source })?;
    let meter = Meter::new(limits);
    let mut archive = tar::Archive::new(open_stream(file, &meter)?);

    let (checked, manifest_bytes) = read_archive(&mut archive, limits, &meter, sink)?;

    check_end(archive.into_inner(), &meter)?;
    let digest = sha256_hex(&manifest_bytes);
    Ok(Verified { manifest: checked.manifest, manifest_bytes, digest })
}

/// Reads every entry: the manifest, then the files it lists.
fn read_archive(
    archive: &mut tar::Archive<Stream>,
    limits: &Limits,
    meter: &Meter,
    sink: &mut dyn FnMut(&Located, Vec<u8>),
) -> Result<(Checked, Vec<u8>), BundleError> {
    let mut entries = archive.entries().map_err(|e| meter.error("start of archive", e))?;

    let (checked, manifest_bytes, manifest_end) = read_manifest(&mut entries, limits, meter)?;
    let data_end = read_files(&mut entries, &checked, meter, sink)?.unwrap_or(manifest_end);

    // The tar reader stops at a zero block or at the end of the stream alike; only the bytes
    // it pulled tell the two apart (bundle-format.md §2 requires the marker).
    if meter.decompressed() < data_end + BLOCK {
        return Err(BundleError::NoEndMarker);
    }
    Ok((checked, manifest_bytes))
}

/// A tar block.
const BLOCK: u64 = 512;

/// Where an entry's data ends, padded to whole blocks.
fn end_of(entry: &tar::Entry<'_, Stream>) -> u64 {
    entry.raw_file_position() + entry.size().div_ceil(BLOCK) * BLOCK
}

/// Builds the counted decompression stream over the file.
fn open_stream(file: File, meter: &Rc<Meter>) -> Result<Stream, BundleError> {
    let counted = CountCompressed::new(file, meter.clone());
    let decoder = Decoder::new(counted).map_err(|e| meter.error("start of stream", e))?;

    let mut decoder = decoder.single_frame();
    decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(|e| meter.error("start of stream", e))?;
    Ok(CountDecompressed::new(decoder, meter.clone()))
}

/// Reads the first entry, which must be the manifest, and checks it.
fn read_manifest(
    entries: &mut Entries<'_, Stream>,
    limits: &Limits,
    meter: &Meter,
) -> Result<(Checked, Vec<u8>, u64), BundleError> {
    let mut entry = match entries.next() {
        None => return Err(BundleError::MissingManifest),
        Some(entry) => entry.map_err(|e| meter.error("header of the first entry", e))?,
    };

    let path = entry_path(&mut entry)?;
    if path != MANIFEST_PATH {
        return Err(BundleError::ManifestNotFirst { found: path });
    }
    let length = entry.size();
    if length > limits.max_manifest {
        return Err(BundleError::ManifestTooLarge { length, limit: limits.max_manifest });
    }

    let end = end_of(&entry);
    let bytes = read_data(&mut entry, &path, length, meter)?;
    let checked = Manifest::parse(&bytes, limits)?;
    Ok((checked, bytes, end))
}

/// Reads every other entry, which must follow the manifest's list exactly and in order.
fn read_files(
    entries: &mut Entries<'_, Stream>,
    checked: &Checked,
    meter: &Meter,
    sink: &mut dyn FnMut(&Located, Vec<u8>),
) -> Result<Option<u64>, BundleError> {
    let expected = &checked.manifest.entries;
    let mut next = 0;
    let mut end = None;
    let mut previous = MANIFEST_PATH.to_string();

    for entry in entries.by_ref() {
        let at = || format!("header after {previous}");
        let mut entry = entry.map_err(|e| meter.error(at(), e))?;
        let path = entry_path(&mut entry)?;
        let index = position(expected, next, &path)?;
        let info = &expected[index];

        if entry.size() != info.length {
            let (expected, actual) = (info.length, entry.size());
            return Err(BundleError::LengthMismatch { path, expected, actual });
        }
        end = Some(end_of(&entry));
        let data = read_data(&mut entry, &path, info.length, meter)?;
        let actual = sha256_hex(&data);
        if actual != info.sha256 {
            let expected = info.sha256.clone();
            return Err(BundleError::DigestMismatch { path, expected, actual });
        }

        if let Some(place) = checked.places.get(index) {
            sink(place, data);
        }
        next += 1;
        previous = path;
    }

    match expected.get(next) {
        Some(missing) => Err(BundleError::MissingEntry { path: missing.path.clone(), found: None }),
        None => Ok(end),
    }
}

/// Finds an archive entry in the manifest, where it must be the `next` one.
fn position(expected: &[EntryInfo], next: usize, path: &str) -> Result<usize, BundleError> {
    if path == MANIFEST_PATH {
        return Err(BundleError::DuplicateEntry { path: path.to_string() });
    }
    let Ok(index) = expected.binary_search_by(|e| e.path.as_str().cmp(path)) else {
        return Err(BundleError::UnlistedEntry { path: path.to_string() });
    };

    if index < next {
        return Err(BundleError::DuplicateEntry { path: path.to_string() });
    }
    if index > next {
        let missing = expected[next].path.clone();
        return Err(BundleError::MissingEntry { path: missing, found: Some(path.to_string()) });
    }
    Ok(index)
}

/// Checks an entry's type and headers and returns its path, once it has a safe shape.
///
/// The tar crate applies GNU long names and PAX records on its own, so this is where their
/// effects are checked. PAX headers are refused outright: they can also change an entry's
/// size and owner, and tar readers disagree on details such as repeated records. A GNU long
/// name is accepted only if it extends the name in the header, so no reader that ignores it
/// sees a different file.
fn entry_path(entry: &mut Entry<'_, Stream>) -> Result<String, BundleError> {
    let lossy = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let refuse = |what| Err(BundleError::ExtensionHeader { path: lossy.clone(), what });

    let kind = entry.header().entry_type();
    if kind != EntryType::Regular {
        return Err(BundleError::NotRegularFile { path: lossy, kind: describe(kind) });
    }
    if entry.pax_extensions().map(|pax| pax.is_some()).unwrap_or(true) {
        return refuse("a PAX extended header");
    }
    if entry.link_name_bytes().is_some() {
        return refuse("a link name");
    }
    if !entry.path_bytes().starts_with(&entry.header().path_bytes()) {
        return refuse("a GNU long name that does not extend the name in its header");
    }

    let bytes = entry.path_bytes();
    layout::check_shape(&bytes).map(str::to_string)
}

/// Names a tar entry type for an error message.
fn describe(kind: EntryType) -> String {
    let name = match kind {
        EntryType::Symlink => "symbolic link",
        EntryType::Link => "hard link",
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Directory => "directory",
        EntryType::Fifo => "FIFO",
        EntryType::Continuous => "contiguous file",
        EntryType::GNUSparse => "GNU sparse file",
        EntryType::XGlobalHeader => "PAX global header",
        other => return format!("entry of type {:?}", char::from(other.as_byte())),
    };
    name.to_string()
}

/// Reads an entry's data, whose length has already been checked against a limit.
fn read_data(
    entry: &mut Entry<'_, Stream>,
    path: &str,
    length: u64,
    meter: &Meter,
) -> Result<Vec<u8>, BundleError> {
    let capacity = usize::try_from(length.min(PREALLOCATE_MAX)).unwrap_or(0);
    let mut data = Vec::with_capacity(capacity);
    entry.read_to_end(&mut data).map_err(|e| meter.error(path, e))?;

    let actual = data.len() as u64;
    if actual != length {
        let path = path.to_string();
        return Err(BundleError::Truncated { path, expected: length, actual });
    }
    Ok(data)
}

/// After the end-of-archive marker only zero padding may follow, and after the zstd frame
/// nothing at all: a second archive or a second frame could carry a different manifest for
/// some other reader to see.
fn check_end(mut stream: Stream, meter: &Meter) -> Result<(), BundleError> {
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).map_err(|e| meter.error("end of archive", e))?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(BundleError::TrailingData { what: "the end-of-archive marker" });
        }
    }

    let mut file = stream.into_inner().finish();
    let n = file.read(&mut buf[..1]).map_err(|e| meter.error("end of zstd frame", e))?;
    if n != 0 {
        return Err(BundleError::TrailingData { what: "the zstd frame" });
    }
    Ok(())
}

impl RepoFiles {
    /// Files one repository file where its slot says.
    fn insert(&mut self, slot: Slot, data: Vec<u8>) {
        match slot {
            Slot::Metadata(role) => self.metadata.insert(role, data),
            Slot::History(version) => self.root_history.insert(version, data),
            Slot::ServerKey(role) => self.server_keys.insert(role, data),
            Slot::RotatedServerKey(role) => self.rotated_server_keys.insert(role, data),
            Slot::AuditLog | Slot::AuditHead => None,
        };
    }
}

/// Sorts verified files into their repositories, in manifest order.
fn assemble(manifest: &Manifest, files: Vec<(Located, Vec<u8>)>) -> BundleContents {
    let mut repos: Vec<RepoFiles> =
        manifest.guns.iter().map(|g| RepoFiles::new(g.gun.clone(), g.new)).collect();

    let (mut audit_log, mut audit_head) = (None, None);
    for (place, data) in files {
        match place.slot {
            Slot::AuditLog => audit_log = Some(data),
            Slot::AuditHead => audit_head = Some(data),
            slot => {
                if let Some(repo) = repos.get_mut(place.gun) {
                    repo.insert(slot, data);
                }
            }
        }
    }

    // One file without the other is kept as an empty part, which fails `audit verify`.
    let audit = (audit_log.is_some() || audit_head.is_some()).then(|| AuditFiles {
        log: audit_log.unwrap_or_default(),
        head: audit_head.unwrap_or_default(),
    });
    BundleContents {
        kind: manifest.kind,
        created: manifest.created,
        answers: manifest.answers.clone(),
        repos,
        audit,
    }
}

#[cfg(test)]
mod tests;
