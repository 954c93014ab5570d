use std::path::PathBuf;

use crate::backup::BackupError;
use crate::bundle::{BundleError, Halt};
use crate::change::ChangeError;
use crate::crypto::CryptoError;
use crate::home::HomeError;
use crate::keystore::KeyStoreError;
use crate::tuf::metadata::MetadataError;
use crate::tuf::sign::SignError;
use crate::tuf::verify::VerifyError;
use crate::tuf::{Gun, NameError};

/// Everything a command can fail with. `is_refusal` separates "the input was refused"
/// (exit 1) from "could not run" (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{}", bundle_message(.path, .source))]
    Bundle { path: PathBuf, source: BundleError },
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{path}: {source}")]
    Key { path: PathBuf, source: CryptoError },
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{gun}: {why}")]
    Refused { gun: Gun, why: String },
    #[error("{0}")]
    Usage(String),
    /// Something expires within the window asked for (`airlock expiry`): exit 1 for alerts.
    #[error("{0}")]
    Due(String),
    /// An audit log, signed head or bundle record that does not verify: the first thing
    /// wrong, naming the entry.
    #[error("audit record does not verify: {0}")]
    AuditBroken(String),
    /// A bundle of the wrong kind for the command: refused input.
    #[error("{0}")]
    WrongBundle(String),
    /// A key to be removed still signs for roles of this home.
    #[error(
        "key {key_id} is still used by {}; removing it leaves those roles without this \
         signing key here. Pass --force as well to remove it anyway",
        used_by.join(", ")
    )]
    KeyInUse { key_id: String, used_by: Vec<String> },
    /// The server could not be reached or answered with an error (the text names the URL,
    /// the status and the server's own message).
    #[error("{0}")]
    Online(String),
    /// The server refused what was sent.
    #[error("{0}")]
    Remote(String),
}

impl OpsError {
    /// True when airlock refused the input (bad bundle, failed verification, a rule), as
    /// opposed to being unable to run (I/O, usage).
    pub fn is_refusal(&self) -> bool {
        let io =
            |e: &BundleError| matches!(e, BundleError::Open { .. } | BundleError::Write { .. });
        match self {
            OpsError::Io { .. } | OpsError::Usage(_) | OpsError::Home(_) | OpsError::Online(_) => {
                false
            }
            OpsError::Bundle { source, .. } => !io(source),
            OpsError::KeyStore(e) => !e.is_unavailable(),
            OpsError::Backup(e) => e.is_refusal(),
            _ => true,
        }
    }

    /// Adds the bundle's path to a bundle error.
    pub fn bundle(path: &std::path::Path) -> impl FnOnce(BundleError) -> OpsError + '_ {
        move |source| OpsError::Bundle { path: path.to_path_buf(), source }
    }

    /// The error that stopped a [`read_each`](crate::bundle::read_each) of the bundle at
    /// `path`: the bundle's own, with its path, or the step's.
    pub fn halted(path: &std::path::Path) -> impl FnOnce(Halt<OpsError>) -> OpsError + '_ {
        move |halt| match halt {
            Halt::Bundle(source) => OpsError::Bundle { path: path.to_path_buf(), source },
            Halt::Step(e) => e,
        }
    }
}

/// A bundle error with the bundle's path, unless the error names it already.
fn bundle_message(path: &std::path::Path, e: &BundleError) -> String {
    match e {
        BundleError::Open { .. } | BundleError::Write { .. } => e.to_string(),
        _ => format!("{}: {e}", path.display()),
    }
}
