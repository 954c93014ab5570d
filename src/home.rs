//! The offline signer's home: trusted metadata and pending changes per GUN, the key store,
//! and the lock that keeps two airlock processes from interleaving writes.
//!
//! Layout (all 0700 directories, 0600 files):
//! ```text
//! <home>/lock                 held exclusively for the whole command
//! <home>/keystore/            see `keystore`
//! <home>/repos/<gun>.json     one file per GUN, percent-encoded name (Gun::to_dir_name)
//! ```
//! A GUN's whole state is one file, written atomically, so a crash leaves either the state
//! before a command or the state after it, never a mix of roles from two pulls.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::change::Change;
use crate::fsutil;
use crate::tuf::metadata::signed_version;
use crate::tuf::{Gun, RoleName};

/// State file format version.
const STATE_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("cannot use home {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "state file {path} is damaged ({why}); restore it from a backup or `airlock forget` the \
         GUN and import again"
    )]
    Corrupt { path: PathBuf, why: String },
    #[error(
        "{path} is not an airlock home; check --home / AIRLOCK_HOME, or start one with \
         `airlock import` or `airlock key generate`"
    )]
    NoHome { path: PathBuf },
    #[error("{gun} is not in this home; import a pull bundle that carries it first")]
    UnknownGun { gun: Gun },
}

/// Bytes stored as base64 in the state file.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        d.deserialize_str(Base64Visitor)
    }
}

/// Decodes a base64 string where the parser holds it, without a copy of it first: a large
/// role file's text is a third bigger than the file.
struct Base64Visitor;

impl serde::de::Visitor<'_> for Base64Visitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Bytes, E> {
        B64.decode(text).map(Bytes).map_err(E::custom)
    }
}

/// Everything this home knows about one GUN.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoState {
    pub format: u32,
    pub gun: String,
    /// The server had no trust data for the GUN when it was pulled.
    pub new: bool,
    /// Digest of the pull bundle the trusted state came from.
    pub pull_digest: String,
    pub imported_at: String,
    /// Role name -> exact file bytes, as verified on import.
    pub trusted: BTreeMap<String, Bytes>,
    /// `timestamp` / `snapshot` -> the server's key JSON, exact bytes.
    pub server_keys: BTreeMap<String, Bytes>,
    /// New server keys made at the operator's request (`pull --rotate-server-key`), which
    /// root does not list yet: `key rotate GUN ROLE --server-managed` puts them in root.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rotated_server_keys: BTreeMap<String, Bytes>,
    /// Delegations that did not verify on import, with the reason.
    pub invalid_roles: BTreeMap<String, String>,
    /// Invalid delegations that no key this home knows of ever signed: their content was
    /// never approved, so it is not witnessed without `--trust-content`.
    #[serde(default)]
    pub unverified_roles: Vec<String>,
    /// Changes staged by commands, signed by `export`.
    pub pending: Vec<Change>,
    /// The newest response exported for this GUN and not yet seen back on the server.
    pub exported: Option<Exported>,
}

/// A response this home signed: its files become the base for further changes until an
/// import shows the server has them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exported {
    pub bundle_digest: String,
    pub at: String,
    pub files: BTreeMap<String, Bytes>,
}

impl RepoState {
    pub fn new(gun: &Gun) -> RepoState {
        RepoState {
            format: STATE_FORMAT,
            gun: gun.to_string(),
            new: false,
            pull_digest: String::new(),
            imported_at: String::new(),
            trusted: BTreeMap::new(),
            server_keys: BTreeMap::new(),
            rotated_server_keys: BTreeMap::new(),
            invalid_roles: BTreeMap::new(),
            unverified_roles: Vec::new(),
            pending: Vec::new(),
            exported: None,
        }
    }

    pub fn gun(&self) -> Gun {
        Gun::parse(&self.gun).expect("state files hold validated GUNs")
    }

    /// The newest local bytes of a role: what this home exported last, else what it trusts.
    pub fn head(&self, role: &str) -> Option<&[u8]> {
        let exported = self.exported.as_ref().and_then(|e| e.files.get(role));
        exported.or_else(|| self.trusted.get(role)).map(|b| b.0.as_slice())
    }

    /// Every role in the local head.
    pub fn head_roles(&self) -> Vec<RoleName> {
        let mut names: Vec<&String> = self.trusted.keys().collect();
        if let Some(e) = &self.exported {
            names.extend(e.files.keys());
        }
        let mut roles: Vec<RoleName> =
            names.into_iter().filter_map(|n| RoleName::parse(n).ok()).collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// The version of each role's head file, for records (a file without one is left out).
    pub fn head_versions(&self) -> BTreeMap<String, i64> {
        self.head_versions_knowing(&BTreeMap::new())
    }

    /// [`head_versions()`](Self::head_versions), taking the version of a role whose head is
    /// its trusted file from `trusted` (the versions verification just read) instead of
    /// reading the file again: for a large `targets/releases` that read is most of the cost.
    pub fn head_versions_knowing(&self, trusted: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
        let exported =
            |role: &str| self.exported.as_ref().is_some_and(|e| e.files.contains_key(role));
        let known = |role: &str| trusted.get(role).filter(|_| !exported(role)).copied();
        let version = |role: &RoleName| {
            let role = role.as_str();
            known(role).or_else(|| self.head(role).and_then(signed_version))
        };
        let versions = self.head_roles().into_iter().filter_map(|r| Some((version(&r)?, r)));
        versions.map(|(v, role)| (role.to_string(), v)).collect()
    }
}

/// Removes a home a command created and left empty (the lock and an empty `repos`), after
/// the command failed; the home must be closed. Anything else in it stays, and so does it.
pub fn remove_empty_home(dir: &Path) {
    let _ = fs::remove_dir(dir.join("repos"));
    let _ = fs::remove_file(dir.join("lock"));
    let _ = fs::remove_dir(dir);
}

/// How a command holds the home's lock: readers share it, a writer has it alone.
#[derive(Clone, Copy)]
enum Access {
    Shared,
    Exclusive,
}

/// Takes the home's lock, saying so when it has to wait for another airlock process.
fn take_lock(lock: &File, dir: &Path, access: Access) -> io::Result<()> {
    let taken = match access {
        Access::Shared => FileExt::try_lock_shared(lock)?,
        Access::Exclusive => FileExt::try_lock_exclusive(lock)?,
    };
    if !taken {
        eprintln!("airlock: waiting for another airlock process using {}", dir.display());
        match access {
            Access::Shared => FileExt::lock_shared(lock)?,
            Access::Exclusive => FileExt::lock_exclusive(lock)?,
        }
    }
    Ok(())
}

/// An open, locked home.
pub struct Home {
    dir: PathBuf,
    /// Held for as long as the home is open; `None` only for a home opened to read that had
    /// no lock file (see [`Home::open_to_read`]).
    _lock: Option<File>,
}

impl Home {
    /// Opens an existing home, for commands that only read or change what is there: a
    /// mistyped `--home` is an error, not a new empty home.
    pub fn open_existing(dir: &Path) -> Result<Home, HomeError> {
        if !dir.join("repos").is_dir() {
            return Err(HomeError::NoHome { path: dir.to_path_buf() });
        }
        Home::open(dir)
    }

    /// Opens an existing home only to read it, writing nothing at all: no lock file is
    /// created and no leftover temporary is cleared (`import --dry-run`). It shares the lock
    /// with other readers and waits for a writer. `None` when `dir` holds no home yet. Nothing
    /// may be written through the home it returns: it holds no exclusive lock.
    pub fn open_to_read(dir: &Path) -> Result<Option<Home>, HomeError> {
        let io_err = |source| HomeError::Io { path: dir.to_path_buf(), source };
        // No home (or one that holds no repository yet) is verified against nothing, as the
        // first import is; anything unreadable is an error, as it is for import.
        for (path, what) in [(dir.to_path_buf(), "the home"), (dir.join("repos"), "repos")] {
            match fs::metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err(e)),
                Ok(meta) if !meta.is_dir() => {
                    let why = format!("{what} is not a directory");
                    return Err(io_err(io::Error::new(io::ErrorKind::NotADirectory, why)));
                }
                Ok(_) => {}
            }
        }

        let lock = match File::open(dir.join("lock")) {
            Ok(lock) => Some(lock),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(e)),
        };
        if let Some(lock) = &lock {
            take_lock(lock, dir, Access::Shared).map_err(io_err)?;
        }
        Ok(Some(Home { dir: dir.to_path_buf(), _lock: lock }))
    }

    /// Opens (creating if needed) the home at `dir` and takes its lock, waiting for another
    /// airlock process that holds it.
    pub fn open(dir: &Path) -> Result<Home, HomeError> {
        let io_err = |source| HomeError::Io { path: dir.to_path_buf(), source };
        fsutil::create_private_dir(&dir.join("repos")).map_err(io_err)?;

        let lock_path = dir.join("lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(fsutil::PRIVATE_FILE_MODE)
            .open(&lock_path)
            .map_err(io_err)?;
        take_lock(&lock, dir, Access::Exclusive).map_err(io_err)?;
        let home = Home { dir: dir.to_path_buf(), _lock: Some(lock) };
        home.remove_stale_temporaries().map_err(io_err)?;
        Ok(home)
    }

    /// Clears what a crashed command left half-written: temporary files are never part of
    /// the state, which only changes by rename.
    fn remove_stale_temporaries(&self) -> io::Result<()> {
        let keystore = self.keystore_dir();
        let dirs = [
            self.dir.join("repos"),
            self.dir.join("audit"),
            keystore.join("keys"),
            keystore.join("identities"),
        ];
        for dir in dirs {
            fsutil::remove_stale_temporaries(&dir)?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn keystore_dir(&self) -> PathBuf {
        self.dir.join("keystore")
    }

    fn repo_path(&self, gun: &Gun) -> PathBuf {
        self.dir.join("repos").join(format!("{}.json", gun.to_dir_name()))
    }

    pub fn repo(&self, gun: &Gun) -> Result<Option<RepoState>, HomeError> {
        let path = self.repo_path(gun);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(HomeError::Io { path, source }),
        };
        let state: RepoState = serde_json::from_slice(&bytes)
            .map_err(|e| HomeError::Corrupt { path: path.clone(), why: e.to_string() })?;
        if state.format != STATE_FORMAT || state.gun != gun.as_str() {
            let why = "format or GUN does not match the file name".to_string();
            return Err(HomeError::Corrupt { path, why });
        }
        Ok(Some(state))
    }

    pub fn require_repo(&self, gun: &Gun) -> Result<RepoState, HomeError> {
        self.repo(gun)?.ok_or_else(|| HomeError::UnknownGun { gun: gun.clone() })
    }

    pub fn save_repo(&self, state: &RepoState) -> Result<(), HomeError> {
        let path = self.repo_path(&state.gun());
        let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
        fsutil::write_atomic(&path, &bytes, fsutil::PRIVATE_FILE_MODE)
            .map_err(|source| HomeError::Io { path, source })
    }

    /// Writes `state` beside its file without replacing it yet; [`Home::commit_repos`] puts
    /// staged states in place once a whole import has passed.
    pub fn stage_repo(&self, state: &RepoState) -> Result<fsutil::Staged, HomeError> {
        let path = self.repo_path(&state.gun());
        let write = |file: &mut File| {
            let mut out = io::BufWriter::new(file);
            serde_json::to_writer_pretty(&mut out, state)?;
            io::Write::flush(&mut out)
        };
        fsutil::stage(&path, fsutil::PRIVATE_FILE_MODE, write)
            .map_err(|source| HomeError::Io { path, source })
    }

    /// Puts staged states in place.
    pub fn commit_repos(&self, staged: Vec<fsutil::Staged>) -> Result<(), HomeError> {
        let path = self.dir.join("repos");
        fsutil::commit_all(staged).map_err(|source| HomeError::Io { path, source })
    }

    pub fn forget_repo(&self, gun: &Gun) -> Result<(), HomeError> {
        let path = self.repo_path(gun);
        fsutil::remove_file_durable(&path).map_err(|source| HomeError::Io { path, source })
    }

    /// Every GUN in this home, sorted.
    pub fn guns(&self) -> Result<Vec<Gun>, HomeError> {
        let dir = self.dir.join("repos");
        let io_err = |source| HomeError::Io { path: dir.clone(), source };
        let mut guns = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err)? {
            let name = entry.map_err(io_err)?.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else { continue };
            let decoded = stem.replace("%2F", "/").replace("%25", "%");
            if let Ok(gun) = Gun::parse(&decoded) {
                guns.push(gun);
            }
        }
        guns.sort();
        Ok(guns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Role files round-trip through the state file exactly; anything but a base64 string is
    /// a damaged state, never a panic.
    #[test]
    fn bytes_are_base64_strings() {
        let bytes = Bytes((0..=255u8).chain(b"{\"signed\":1}".iter().copied()).collect());
        let text = serde_json::to_string(&bytes).unwrap();
        assert_eq!(serde_json::from_str::<Bytes>(&text).unwrap(), bytes);
        assert_eq!(serde_json::from_str::<Bytes>(r#""""#).unwrap(), Bytes(Vec::new()));
        // An escaped string is decoded too (the parser cannot lend it out as it stands).
        assert_eq!(serde_json::from_str::<Bytes>(r#""QUJ\u0044""#).unwrap().0, b"ABC");
        for bad in [r#""not base64!""#, "12", "null", "[1]", r#""QUJ""#] {
            assert!(serde_json::from_str::<Bytes>(bad).is_err(), "{bad}");
        }
    }
}
