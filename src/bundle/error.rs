//! Why a bundle could not be written or was refused.
//!
//! A refused bundle is never partly used, so every variant names the entry and the rule that
//! failed and says what to do next. Most of them mean the bundle was damaged or tampered
//! with on its way, and the only fix is to make it again.

use std::io;
use std::path::PathBuf;

use super::layout::PathRule;
use super::BundleKind;
use crate::tuf::NameError;

/// The advice for a bundle that cannot be trusted.
const REDO: &str = "do not use this bundle; make it again on the machine that created it";

/// Everything that can go wrong writing or reading a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    // Files and streams.
    #[error("cannot open bundle {}: {source}", .path.display())]
    Open { path: PathBuf, source: io::Error },

    #[error("cannot write bundle {}: {source}; check the directory and space", .path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("bundle is not a valid zstd-compressed tar stream ({at}): {source}; {REDO}")]
    Corrupt { at: String, source: io::Error },

    #[error("bundle data continues after {what}; {REDO}")]
    TrailingData { what: &'static str },

    #[error("bundle archive ends without the end-of-archive marker after its last entry; {REDO}")]
    NoEndMarker,

    // Limits.
    #[error("bundle expands to more than {limit} bytes (at {at}); {REDO}, or raise the limit")]
    TooLarge { at: String, limit: u64 },

    #[error(
        "bundle expands {decompressed} bytes from {compressed} compressed bytes, more than \
         {limit}:1 (at {at}); this looks like a decompression bomb: {REDO}"
    )]
    CompressionRatio { at: String, compressed: u64, decompressed: u64, limit: u64 },

    #[error("manifest lists {count} entries, more than the limit of {limit}; {REDO}")]
    TooManyEntries { count: usize, limit: usize },

    #[error("manifest entries add up to {total} bytes, more than the limit of {limit}; {REDO}")]
    ManifestTotalTooLarge { total: u64, limit: u64 },

    #[error("entry {path} is {length} bytes, more than the limit of {limit} for it; {REDO}")]
    EntryTooLarge { path: String, length: u64, limit: u64 },

    #[error("manifest.json is {length} bytes, more than the limit of {limit}; {REDO}")]
    ManifestTooLarge { length: u64, limit: u64 },

    // Archive structure.
    #[error("bundle archive is empty: it has no manifest.json; {REDO}")]
    MissingManifest,

    #[error("the first bundle entry is {found:?}, not manifest.json; {REDO}")]
    ManifestNotFirst { found: String },

    #[error("entry {path:?} is a {kind}, but bundles hold only regular files; {REDO}")]
    NotRegularFile { path: String, kind: String },

    #[error("entry {path:?} uses {what}, which bundles do not allow; {REDO}")]
    ExtensionHeader { path: String, what: &'static str },

    #[error("entry path {path:?} is not allowed: {rule}; {REDO}")]
    UnsafePath { path: String, rule: PathRule },

    #[error("entry {path:?} appears twice in the archive; {REDO}")]
    DuplicateEntry { path: String },

    #[error("entry {path:?} is in the archive but not in the manifest; {REDO}")]
    UnlistedEntry { path: String },

    #[error("entry {path:?} is listed in the manifest but {}; {REDO}", missing_detail(.found))]
    MissingEntry { path: String, found: Option<String> },

    #[error("entry {path:?} is {actual} bytes, the manifest says {expected}; {REDO}")]
    LengthMismatch { path: String, expected: u64, actual: u64 },

    #[error("entry {path:?} ends after {actual} of its {expected} bytes; {REDO}")]
    Truncated { path: String, expected: u64, actual: u64 },

    #[error("entry {path:?} has sha256 {actual}, the manifest says {expected}; {REDO}")]
    DigestMismatch { path: String, expected: String, actual: String },

    // Manifest.
    #[error("manifest.json is not valid: {source}; {REDO}")]
    ManifestJson { source: serde_json::Error },

    #[error("manifest format is {found:?}, not \"airlock-bundle\": this is not an airlock bundle")]
    NotABundle { found: String },

    #[error(
        "bundle format_version {found} is not supported (this airlock reads version 1); \
         use the airlock release that wrote the bundle, or a newer one"
    )]
    UnsupportedVersion { found: u64 },

    #[error("manifest kind {found:?} is unknown (expected \"pull\" or \"response\"); {REDO}")]
    UnknownKind { found: String },

    #[error("manifest created time {found:?} is not valid: {why}; {REDO}")]
    BadCreated { found: String, why: &'static str },

    #[error("manifest tool {found:?} is not valid: {why}; {REDO}")]
    BadTool { found: String, why: &'static str },

    #[error("manifest lists an invalid GUN: {source}; {REDO}")]
    InvalidGun { source: NameError },

    #[error("manifest lists GUN {gun} twice; {REDO}")]
    DuplicateGun { gun: String },

    #[error("manifest lists no GUN; {REDO}")]
    NoGuns,

    #[error(
        "manifest \"answers\" {} is not valid for a {kind} bundle: {why}; {REDO}",
        .found.as_deref().map_or("null".to_string(), |f| format!("{f:?}"))
    )]
    BadAnswers { kind: BundleKind, found: Option<String>, why: &'static str },

    #[error("manifest entry {path:?} has sha256 {found:?}, not 64 lowercase hex digits; {REDO}")]
    BadSha256 { path: String, found: String },

    #[error(
        "manifest entry {path:?} comes after {previous:?}: entries must be sorted by path and \
         listed once; {REDO}"
    )]
    UnsortedEntries { path: String, previous: String },

    #[error("entry {path:?} is not under repos/<GUN>/ for any GUN the manifest lists; {REDO}")]
    UnknownEntry { path: String },

    #[error("entry {path:?} is not a valid file for GUN {gun}: {why}; {REDO}")]
    BadEntryPath { path: String, gun: String, why: String },

    /// The caller of a streaming read stopped it; its own error says why. Never reaches
    /// callers: `read_each` reports the caller's error instead.
    #[error("reading the bundle was stopped before its end")]
    Stopped,

    /// A bundle read again (by push, or export checking what it wrote) is not the one that
    /// was verified or written moments before.
    #[error(
        "the bundle changed on disk while airlock was using it (its digest is now {found}); \
         make sure nothing else writes to it, and run the command again"
    )]
    Changed { found: String },

    #[error("entry {path:?} could belong to more than one GUN ({}); {REDO}", .guns.join(", "))]
    AmbiguousPath { path: String, guns: Vec<String> },
}

fn missing_detail(found: &Option<String>) -> String {
    match found {
        Some(other) => {
            format!("is missing from the archive or out of order ({other:?} came first)")
        }
        None => "is missing from the archive".to_string(),
    }
}
