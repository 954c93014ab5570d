//! Errors of the key store.
//!
//! Messages name the key ID, class and path involved and say what to do next. They never carry
//! a passphrase or key bytes: the variants only hold names, paths and library error texts that
//! are known not to quote their input.

use std::io;
use std::path::PathBuf;

use super::KeyClass;

/// Everything that can go wrong in the key store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// A key ID given by the caller is not 64 lowercase hex digits.
    #[error("invalid key ID {key_id:?}: a key ID is 64 lowercase hexadecimal digits")]
    InvalidKeyId { key_id: String },

    /// A record given to `add` is unusable.
    #[error("cannot store key {key_id}: {reason}")]
    InvalidRecord { key_id: String, reason: &'static str },

    /// `add` was asked to store a key ID that the store already holds.
    #[error("key {key_id} is already in the key store; nothing to do")]
    DuplicateKey { key_id: String },

    /// The store holds no record for this key ID.
    #[error("key {key_id} is not in the key store at {}", dir.display())]
    KeyNotFound { key_id: String, dir: PathBuf },

    /// A record exists but its encrypted private key file does not.
    #[error(
        "the private key file of key {key_id} is missing ({}); restore the key store from a \
         backup",
        path.display()
    )]
    KeyFileMissing { key_id: String, path: PathBuf },

    /// No key of this class was ever stored, so there is nothing to unlock.
    #[error("the {class} key store in {} holds no keys yet", dir.display())]
    NoIdentity { class: KeyClass, dir: PathBuf },

    /// The passphrase did not decrypt the class identity.
    #[error(
        "wrong passphrase for the {class} key store; type it again, or correct {} (or {}) if \
         the passphrase comes from the environment",
        class.env_var(), class.legacy_env_var()
    )]
    WrongPassphrase { class: KeyClass },

    /// No passphrase source is available: no environment variable and no terminal.
    #[error(
        "no passphrase for the {class} key store: stdin is not a terminal and {} is not set; \
         set {} (or {}) for non-interactive use",
        class.env_var(), class.env_var(), class.legacy_env_var()
    )]
    PassphraseUnavailable { class: KeyClass },

    /// A passphrase environment variable is set but unusable.
    #[error("{var} is set but {reason}; set it to the {class} key store passphrase or unset it")]
    BadPassphraseEnv { class: KeyClass, var: &'static str, reason: &'static str },

    /// An empty passphrase was typed.
    #[error("an empty passphrase is not accepted for the {class} key store")]
    EmptyPassphrase { class: KeyClass },

    /// The two entries of a new passphrase differ.
    #[error("the passphrases for the {class} key store did not match; try again")]
    PassphraseMismatch { class: KeyClass },

    /// Reading the passphrase from the terminal failed.
    #[error("could not read the {class} key store passphrase from the terminal: {source}")]
    Terminal { class: KeyClass, source: io::Error },

    /// `AIRLOCK_SCRYPT_WORK_FACTOR` or an explicit work factor is out of range.
    #[error(
        "invalid scrypt work factor {value:?}: expected a whole number from {} to {}",
        super::MIN_WORK_FACTOR,
        super::MAX_WORK_FACTOR
    )]
    InvalidWorkFactor { value: String },

    /// An encrypted file asks for more scrypt work than this tool accepts.
    #[error(
        "{} asks for scrypt work factor {required}, above the accepted maximum; it was not \
         written by airlock or was tampered with",
        path.display()
    )]
    ExcessiveWork { path: PathBuf, required: u8 },

    /// The class identity no longer matches its public recipient.
    #[error(
        "the {class} identity in {} does not match its public recipient {}; the key store was \
         modified outside airlock, restore it from a backup",
        age.display(),
        public.display()
    )]
    IdentityMismatch { class: KeyClass, age: PathBuf, public: PathBuf },

    /// A key file is not encrypted to its class identity.
    #[error(
        "{} is not encrypted to the {class} store identity; the identity was replaced or the \
         file comes from another key store",
        path.display()
    )]
    NotForIdentity { class: KeyClass, path: PathBuf },

    /// A file of the store is unreadable as what it should be.
    #[error(
        "{} is damaged or is not an airlock key store file ({reason}); restore it from a backup",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },

    /// age refused to encrypt.
    #[error("could not encrypt {}: {reason}", path.display())]
    Encrypt { path: PathBuf, reason: String },

    /// A file system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },
}

impl KeyStoreError {
    /// Builds a [`KeyStoreError::Io`]; `action` reads as "could not {action} {path}".
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        KeyStoreError::Io { action, path: path.into(), source }
    }

    /// Builds a [`KeyStoreError::Corrupt`].
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        KeyStoreError::Corrupt { path: path.into(), reason: reason.into() }
    }
}

impl KeyStoreError {
    /// True when a passphrase could not be had at all (no terminal, no variable): the command
    /// could not run, as opposed to a passphrase or file being wrong.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, KeyStoreError::PassphraseUnavailable { .. } | KeyStoreError::Terminal { .. })
    }
}
