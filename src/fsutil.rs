//! Crash-safe file writes.
//!
//! Everything airlock writes to a home or as a bundle goes through [`write_atomic`]: the bytes
//! go to a temporary file in the same directory, are flushed to disk, and the file is renamed
//! over the target, then the directory itself is flushed. A crash leaves the old file or the
//! new one, never a mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// File mode for secrets and for everything in a home.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Directory mode in a home.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Atomically replaces `path` with `bytes`, created with `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, mode, |f| f.write_all(bytes))
}

/// Atomically replaces `path` with what `fill` writes, created with `mode`. Used for outputs
/// that are produced by streaming, such as bundles.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    stage(path, mode, fill)?.put_in_place(Replace::Yes)
}

/// Atomically creates `path` with `bytes`, failing if it exists: for outputs that must never
/// overwrite, such as public key files handed to other people.
pub fn write_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_new_atomic_with(path, mode, |f| f.write_all(bytes))
}

/// Atomically creates `path` with what `fill` writes, failing with `AlreadyExists` if the
/// path exists by the time it is renamed into place.
pub fn write_new_atomic_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    stage(path, mode, fill)?.put_in_place(Replace::No)
}

/// A file written and flushed to disk under a temporary name, not yet in place: the first
/// half of every atomic write, and on its own for changes that must wait until a whole input
/// has passed, such as an import read one repository at a time. Dropped without being put
/// in place, it leaves nothing behind. It holds no open file, so any number can wait.
pub struct Staged {
    tmp: tempfile::TempPath,
    target: std::path::PathBuf,
}

/// Whether putting a staged file in place may replace a file already there.
#[derive(Clone, Copy)]
enum Replace {
    Yes,
    No,
}

impl Staged {
    /// Renames the file into place, then flushes its directory.
    fn put_in_place(self, replace: Replace) -> io::Result<()> {
        let dir = parent_dir(&self.target).to_path_buf();
        self.rename(replace)?;
        sync_dir(&dir)
    }

    fn rename(self, replace: Replace) -> io::Result<()> {
        let renamed = match replace {
            Replace::Yes => self.tmp.persist(&self.target),
            Replace::No => self.tmp.persist_noclobber(&self.target),
        };
        renamed.map_err(|e| e.error)?;
        crash_point();
        Ok(())
    }
}

/// Writes what `fill` writes to a flushed temporary file beside `path`, created with `mode`.
pub fn stage(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<Staged> {
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(parent_dir(path))?;

    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    crash_point();
    Ok(Staged { tmp: tmp.into_temp_path(), target: path.to_path_buf() })
}

/// Renames every staged file into place, then flushes each directory once. Each file ends up
/// old or new, never a mix; a crash or error part way can leave some files new and the
/// others old, as separate atomic writes would.
pub fn commit_all(staged: Vec<Staged>) -> io::Result<()> {
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    for file in staged {
        let dir = parent_dir(&file.target).to_path_buf();
        file.rename(Replace::Yes)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.iter().try_for_each(|dir| sync_dir(dir))
}

/// An empty temporary file on the same disk as `path`, without a name: scratch space for an
/// output, such as a bundle's spool, that nothing has to clean up, even after a kill.
pub fn temporary_beside(path: &Path) -> io::Result<File> {
    tempfile::tempfile_in(parent_dir(path))
}

/// Prefix of the temporary files [`write_atomic`] makes; a crash can leave one behind, and
/// [`remove_stale_temporaries`] clears them.
pub const TEMP_PREFIX: &str = ".airlock-tmp-";

/// The test-only switch for crash-injection tests: with `AIRLOCK_TEST_CRASH_AT=N` the process
/// aborts at its Nth write point (after a temporary file is flushed, and after it is renamed
/// into place), as if killed there. Unset, it costs one environment lookup per write.
fn crash_point() {
    static POINTS: AtomicUsize = AtomicUsize::new(0);
    let Some(at) =
        std::env::var("AIRLOCK_TEST_CRASH_AT").ok().and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    if POINTS.fetch_add(1, Ordering::SeqCst) + 1 == at {
        std::process::abort();
    }
}

/// Removes temporary files a crashed writer left in `dir`. Only call it while holding the
/// home's lock, so no other writer is using them.
pub fn remove_stale_temporaries(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Which file `path` is now (device and inode), to tell later whether it is still the file
/// this process wrote; `None` when there is none.
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Creates `path` and missing parents with mode 0700 (parents that exist keep their mode).
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(PRIVATE_DIR_MODE).create(path)
}

/// Flushes a directory's entries, so a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes a file and flushes its directory; a missing file is not an error.
pub fn remove_file_durable(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_dir(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file left behind");
    }

    #[test]
    fn failed_fill_leaves_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old", 0o600).unwrap();
        let err = write_atomic_with(&path, 0o600, |_| Err(io::Error::other("boom")));
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
