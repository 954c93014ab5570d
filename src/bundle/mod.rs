//! Bundles: the files that carry trust data across the air gap.
//!
//! A bundle is a zstd-compressed tar stream. Its first entry, `manifest.json`, lists every
//! other entry with its SHA-256 and length, so the SHA-256 of the manifest bytes (the *bundle
//! digest*) commits to the whole bundle. Operators compare that digest by eye on both sides of
//! the gap instead of trusting the media in between. `docs/bundle-format.md` defines the
//! format for other tools.
//!
//! The online machine may be compromised, so [`read()`] treats every bundle as hostile: it
//! streams the archive once, enforces [`Limits`] while decompressing, accepts only the entry
//! paths the format defines, and checks every byte against the manifest before returning
//! anything. [`write()`] produces the same bytes for the same contents, so a bundle can be
//! rebuilt and compared.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::tuf::{Gun, RoleName};

mod error;
mod layout;
mod limits;
mod manifest;
mod reader;
mod writer;

#[cfg(test)]
mod testutil;

pub use error::BundleError;
pub use layout::PathRule;
pub use limits::Limits;
pub use manifest::{GunInfo, Manifest, FORMAT, FORMAT_VERSION};
pub use reader::{inspect, read, read_each, read_each_again, read_header, BundleHeader, Halt};
pub use writer::{write, BundleWriter, BUNDLE_MODE};

/// Which way a bundle travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BundleKind {
    /// Online to offline: trust data pulled from a Notary server.
    Pull,
    /// Offline to online: metadata signed in the ceremony, to be pushed.
    Response,
}

impl BundleKind {
    /// The manifest spelling: `pull` or `response`.
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::Pull => "pull",
            BundleKind::Response => "response",
        }
    }
}

impl fmt::Display for BundleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The files of one repository in a bundle, as exact bytes: signatures cover these bytes, so
/// nothing here is ever parsed and re-serialized by the bundle layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFiles {
    pub gun: Gun,
    /// The server had no trust data for this GUN when the pull bundle was made.
    pub new: bool,
    /// Current metadata by role, delegations included.
    pub metadata: BTreeMap<RoleName, Vec<u8>>,
    /// Earlier root versions, to walk a root rotation chain.
    pub root_history: BTreeMap<u64, Vec<u8>>,
    /// The server's answers to `GET .../<role>.key` for timestamp and snapshot.
    pub server_keys: BTreeMap<RoleName, Vec<u8>>,
    /// New server keys made on request (`POST .../<role>.key`) that root does not list yet.
    pub rotated_server_keys: BTreeMap<RoleName, Vec<u8>>,
}

impl RepoFiles {
    /// An empty set of files for `gun`.
    pub fn new(gun: Gun, new: bool) -> RepoFiles {
        RepoFiles {
            gun,
            new,
            metadata: BTreeMap::new(),
            root_history: BTreeMap::new(),
            server_keys: BTreeMap::new(),
            rotated_server_keys: BTreeMap::new(),
        }
    }
}

/// Everything a bundle carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleContents {
    pub kind: BundleKind,
    /// Written in UTC; it is also the modification time of every tar entry.
    pub created: OffsetDateTime,
    /// For a response, the digest of the pull bundle it answers; `None` for a pull.
    pub answers: Option<String>,
    /// Repositories in manifest order.
    pub repos: Vec<RepoFiles>,
    /// The ceremony record a response carries (see `audit`); `None` for a pull.
    pub audit: Option<AuditFiles>,
}

/// The audit log entries since the previous export and the signed head over them, exact
/// bytes (JSON lines, and one JSON object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFiles {
    pub log: Vec<u8>,
    pub head: Vec<u8>,
}

/// A bundle that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub contents: BundleContents,
    /// The exact manifest bytes the digest is taken over.
    pub manifest_bytes: Vec<u8>,
    /// The bundle digest: lowercase hex SHA-256 of `manifest_bytes`.
    pub digest: String,
    /// The program that wrote the bundle, from the manifest.
    pub tool: String,
}

/// One entry of a bundle as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInfo {
    pub path: String,
    /// Lowercase hex SHA-256 of the entry's bytes.
    pub sha256: String,
    pub length: u64,
}

/// Each GUN's place in `guns`, for putting per-GUN results back in manifest order without a
/// scan per GUN (a bundle may list many thousands).
pub fn gun_order(guns: &[GunInfo]) -> std::collections::HashMap<&str, usize> {
    guns.iter().enumerate().map(|(i, g)| (g.gun.as_str(), i)).collect()
}

/// Lowercase hex SHA-256, the form of every digest in a bundle.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
