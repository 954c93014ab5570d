//! Reading bundles that may have been made by an attacker.
//!
//! The file is read once, as a stream: file -> byte counter -> zstd -> byte counter -> tar.
//! The manifest comes first and is checked completely, so every later entry is judged against
//! a known list of paths, lengths and digests before its data is read.
//!
//! [`read()`] returns nothing unless the whole bundle passes: a caller never sees half a
//! bundle. [`read_each()`] hands over one repository at a time, as soon as all of its files
//! were checked, so memory grows with the largest repository rather than with the bundle; its
//! caller must hold back anything lasting until the whole bundle has passed.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::rc::Rc;

use time::OffsetDateTime;

use tar::{Entries, Entry, EntryType};

use super::layout::{self, Located, Slot, MANIFEST_PATH};
use super::limits::{CountCompressed, CountDecompressed, Meter};
use super::manifest::{Checked, GunInfo, Manifest};
use super::{
    sha256_hex, AuditFiles, Bundle, BundleContents, BundleError, BundleKind, EntryInfo, Limits,
    RepoFiles,
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
    digest: String,
}

/// What the reader tells its caller as the stream goes: the checked manifest first, then each
/// file once its bytes matched the manifest. Breaking stops the reading.
trait Visitor {
    fn manifest(&mut self, _checked: &Checked, _bytes: &[u8], _digest: &str) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn file(&mut self, index: usize, place: &Located, data: Vec<u8>) -> ControlFlow<()>;
}

/// Reads and fully verifies the bundle at `path`.
pub fn read(path: &Path, limits: &Limits) -> Result<Bundle, BundleError> {
    let mut repos: Vec<RepoFiles> = Vec::new();
    let header = read_each(path, limits, |_, repo| {
        repos.push(repo);
        Ok::<(), BundleError>(())
    })
    .map_err(Halt::into_inner)?;

    // Back to manifest order, which `read_each` does not keep.
    let order = super::gun_order(&header.guns);
    repos.sort_by_key(|repo| order.get(repo.gun.as_str()).copied());
    Ok(Bundle {
        contents: BundleContents {
            kind: header.kind,
            created: header.created,
            answers: header.answers,
            repos,
            audit: header.audit,
        },
        tool: header.tool,
        manifest_bytes: header.manifest_bytes,
        digest: header.digest,
    })
}

/// Verifies the bundle at `path` as [`read()`] does, keeping only what describes it: the
/// manifest, the bundle digest, and the entries that were checked.
pub fn inspect(
    path: &Path,
    limits: &Limits,
) -> Result<(Manifest, String, Vec<EntryInfo>), BundleError> {
    struct Discard;
    impl Visitor for Discard {
        fn file(&mut self, _: usize, _: &Located, _: Vec<u8>) -> ControlFlow<()> {
            ControlFlow::Continue(())
        }
    }

    let verified = verify(path, limits, &mut Discard)?;
    let entries = verified.manifest.entries.clone();
    Ok((verified.manifest, verified.digest, entries))
}

/// A bundle's description, known once its manifest passed; after [`read_each()`] returns,
/// also its ceremony record.
#[derive(Clone, Debug)]
pub struct BundleHeader {
    pub kind: BundleKind,
    pub created: OffsetDateTime,
    pub answers: Option<String>,
    /// Repositories in manifest order.
    pub guns: Vec<GunInfo>,
    pub tool: String,
    pub manifest_bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `manifest_bytes`.
    pub digest: String,
    /// The ceremony record a response carries; `None` while reading and for a pull.
    pub audit: Option<AuditFiles>,
}

impl BundleHeader {
    fn of(checked: &Checked, bytes: &[u8], digest: &str) -> BundleHeader {
        let manifest = &checked.manifest;
        BundleHeader {
            kind: manifest.kind,
            created: manifest.created,
            answers: manifest.answers.clone(),
            guns: manifest.guns.clone(),
            tool: manifest.tool.clone(),
            manifest_bytes: bytes.to_vec(),
            digest: digest.to_string(),
            audit: None,
        }
    }
}

/// The description of the bundle at `path` from its manifest alone: the manifest is checked
/// as [`read_each()`] checks it, and no other file is read (so none is verified). For naming
/// a bundle in a record before the command reads it in full.
pub fn read_header(path: &Path, limits: &Limits) -> Result<BundleHeader, BundleError> {
    struct HeaderOnly(Option<BundleHeader>);
    impl Visitor for HeaderOnly {
        fn manifest(&mut self, checked: &Checked, bytes: &[u8], digest: &str) -> ControlFlow<()> {
            self.0 = Some(BundleHeader::of(checked, bytes, digest));
            ControlFlow::Break(())
        }

        fn file(&mut self, _: usize, _: &Located, _: Vec<u8>) -> ControlFlow<()> {
            ControlFlow::Break(())
        }
    }

    let mut visitor = HeaderOnly(None);
    match verify(path, limits, &mut visitor) {
        Ok(_) | Err(BundleError::Stopped) => visitor.0.ok_or(BundleError::MissingManifest),
        Err(e) => Err(e),
    }
}

/// Why [`read_each()`] stopped: the bundle was refused, or the caller's step failed.
#[derive(Debug)]
pub enum Halt<E> {
    Bundle(BundleError),
    Step(E),
}

impl<E> Halt<E> {
    /// The error, when both kinds are one type.
    pub fn into_inner(self) -> E
    where
        E: From<BundleError>,
    {
        match self {
            Halt::Bundle(e) => E::from(e),
            Halt::Step(e) => e,
        }
    }
}

/// Streams the bundle at `path` and hands each repository to `step` as soon as every one of
/// its files passed, in the order they complete (by path, not manifest order).
///
/// Returning means the whole bundle passed. An error from `step` stops the reading; a refusal
/// can come after some repositories were handed over, so `step` must keep what it does
/// provisional until this returns `Ok`.
pub fn read_each<E>(
    path: &Path,
    limits: &Limits,
    step: impl FnMut(&BundleHeader, RepoFiles) -> Result<(), E>,
) -> Result<BundleHeader, Halt<E>> {
    stream(path, limits, None, step)
}

/// [`read_each()`] of a bundle verified or written moments before, whose digest was
/// `digest`: refused with [`BundleError::Changed`] before anything is handed over if its
/// manifest is another now.
pub fn read_each_again<E>(
    path: &Path,
    limits: &Limits,
    digest: &str,
    step: impl FnMut(&BundleHeader, RepoFiles) -> Result<(), E>,
) -> Result<BundleHeader, Halt<E>> {
    stream(path, limits, Some(digest), step)
}

fn stream<E>(
    path: &Path,
    limits: &Limits,
    expected: Option<&str>,
    step: impl FnMut(&BundleHeader, RepoFiles) -> Result<(), E>,
) -> Result<BundleHeader, Halt<E>> {
    let mut grouper = Grouper {
        step,
        expected,
        header: None,
        last: Vec::new(),
        open: Vec::new(),
        audit: (None, None),
        failed: None,
        changed: None,
    };
    let outcome = verify(path, limits, &mut grouper);

    if let Some(e) = grouper.failed.take() {
        return Err(Halt::Step(e));
    }
    if let Some(found) = grouper.changed.take() {
        return Err(Halt::Bundle(BundleError::Changed { found }));
    }
    outcome.map_err(Halt::Bundle)?;
    let mut header = grouper.header.take().ok_or(Halt::Bundle(BundleError::MissingManifest))?;
    let (log, head) = std::mem::take(&mut grouper.audit);
    // One file without the other is kept as an empty part, which fails `audit verify`.
    header.audit = (log.is_some() || head.is_some())
        .then(|| AuditFiles { log: log.unwrap_or_default(), head: head.unwrap_or_default() });
    Ok(header)
}

/// Sorts files into repositories and hands each over when its last file arrives.
struct Grouper<'a, F, E> {
    step: F,
    /// The digest the manifest must have, for a bundle read again.
    expected: Option<&'a str>,
    header: Option<BundleHeader>,
    /// Per GUN, the index of its last entry; `None` for a GUN without files.
    last: Vec<Option<usize>>,
    /// Per GUN, its files so far; `None` once handed over.
    open: Vec<Option<RepoFiles>>,
    audit: (Option<Vec<u8>>, Option<Vec<u8>>),
    failed: Option<E>,
    /// The digest found instead of `expected`.
    changed: Option<String>,
}

impl<F, E> Grouper<'_, F, E>
where
    F: FnMut(&BundleHeader, RepoFiles) -> Result<(), E>,
{
    fn hand_over(&mut self, gun: usize) -> ControlFlow<()> {
        let (Some(header), Some(repo)) = (&self.header, self.open[gun].take()) else {
            return ControlFlow::Continue(());
        };
        match (self.step)(header, repo) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl<F, E> Visitor for Grouper<'_, F, E>
where
    F: FnMut(&BundleHeader, RepoFiles) -> Result<(), E>,
{
    fn manifest(&mut self, checked: &Checked, bytes: &[u8], digest: &str) -> ControlFlow<()> {
        if self.expected.is_some_and(|expected| expected != digest) {
            self.changed = Some(digest.to_string());
            return ControlFlow::Break(());
        }
        let manifest = &checked.manifest;
        self.last = vec![None; manifest.guns.len()];
        for (index, place) in checked.places.iter().enumerate() {
            if !matches!(place.slot, Slot::AuditLog | Slot::AuditHead) {
                self.last[place.gun] = Some(index);
            }
        }
        self.open =
            manifest.guns.iter().map(|g| Some(RepoFiles::new(g.gun.clone(), g.new))).collect();
        self.header = Some(BundleHeader::of(checked, bytes, digest));

        for gun in 0..self.last.len() {
            if self.last[gun].is_none() {
                self.hand_over(gun)?;
            }
        }
        ControlFlow::Continue(())
    }

    fn file(&mut self, index: usize, place: &Located, data: Vec<u8>) -> ControlFlow<()> {
        match place.slot {
            Slot::AuditLog => self.audit.0 = Some(data),
            Slot::AuditHead => self.audit.1 = Some(data),
            ref slot => {
                if let Some(Some(repo)) = self.open.get_mut(place.gun) {
                    repo.insert(slot.clone(), data);
                }
                if self.last.get(place.gun) == Some(&Some(index)) {
                    return self.hand_over(place.gun);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Streams the bundle once, checking everything, and tells `visitor` what passed.
fn verify(
    path: &Path,
    limits: &Limits,
    visitor: &mut dyn Visitor,
) -> Result<Verified, BundleError> {
    let open_err = |source| BundleError::Open { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(open_err)?;
    if file.metadata().map_err(open_err)?.is_dir() {
        return Err(open_err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory")));
    }
    let meter = Meter::new(limits);
    let mut archive = tar::Archive::new(open_stream(file, &meter)?);

    let (checked, digest) = read_archive(&mut archive, limits, &meter, visitor)?;

    check_end(archive.into_inner(), &meter)?;
    Ok(Verified { manifest: checked.manifest, digest })
}

/// Reads every entry: the manifest, then the files it lists; returns the checked manifest
/// and the bundle digest.
fn read_archive(
    archive: &mut tar::Archive<Stream>,
    limits: &Limits,
    meter: &Meter,
    visitor: &mut dyn Visitor,
) -> Result<(Checked, String), BundleError> {
    let mut entries = archive.entries().map_err(|e| meter.error("start of archive", e))?;

    let (checked, manifest_bytes, manifest_end) = read_manifest(&mut entries, limits, meter)?;
    let digest = sha256_hex(&manifest_bytes);
    if visitor.manifest(&checked, &manifest_bytes, &digest).is_break() {
        return Err(BundleError::Stopped);
    }
    let data_end = read_files(&mut entries, &checked, meter, visitor)?.unwrap_or(manifest_end);

    // The tar reader stops at a zero block or at the end of the stream alike; only the bytes
    // it pulled tell the two apart (bundle-format.md §2 requires the marker).
    if meter.decompressed() < data_end + BLOCK {
        return Err(BundleError::NoEndMarker);
    }
    Ok((checked, digest))
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
    visitor: &mut dyn Visitor,
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

        let place = checked.places.get(index);
        if place.is_some_and(|place| visitor.file(index, place, data).is_break()) {
            return Err(BundleError::Stopped);
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

#[cfg(test)]
mod tests;
