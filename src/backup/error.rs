//! Errors of paper backups.
//!
//! Every error about a share names the share's file. No variant holds a passphrase, key
//! bytes or share data: only paths, IDs, counts and fixed reasons.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What is wrong with one share, found while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShareDefect {
    /// The file holds no airlock share at all.
    NotAShare(&'static str),
    /// A share of a format version this airlock does not read.
    Version(u8),
    /// The share's layout is broken (a line or group missing, a field out of range).
    Malformed(String),
    /// A line of the text form does not match its check code.
    Line { line: usize },
    /// The share's checksum does not match its content.
    Checksum,
    /// The PNG image could not be read as a share's QR code.
    Image(String),
}

impl fmt::Display for ShareDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareDefect::NotAShare(why) => write!(f, "not an airlock backup share: {why}"),
            ShareDefect::Version(v) => write!(
                f,
                "share format version {v} is not one this airlock reads; restore with the \
                 airlock that made the backup"
            ),
            ShareDefect::Malformed(why) => write!(f, "the share is damaged: {why}"),
            ShareDefect::Line { line } => write!(
                f,
                "line {line} of the share does not match its check code (the two characters at \
                 its end): it was mistyped or damaged; compare it with the paper"
            ),
            ShareDefect::Checksum => f.write_str(
                "the share's checksum does not match its content: it was mistyped or damaged",
            ),
            ShareDefect::Image(why) => write!(f, "{why}"),
        }
    }
}

/// Everything that can go wrong making or restoring a paper backup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// `--shares` out of range.
    #[error("--shares {0}: a backup has 2 to 255 shares")]
    ShareCount(u32),

    /// `--threshold` out of range.
    #[error(
        "--threshold {threshold}: choose 2 to the number of shares ({shares}); with 1, any \
         single share would restore the key"
    )]
    Threshold { threshold: u32, shares: u32 },

    /// The output directory holds something already.
    #[error(
        "{}: the output directory must not exist or be empty, so that shares of two backups \
         never mix; choose another --out",
        path.display()
    )]
    OutDirNotEmpty { path: PathBuf },

    /// One share file is unusable.
    #[error("{}: {defect}", path.display())]
    Share { path: PathBuf, defect: ShareDefect },

    /// Two files hold the same share number.
    #[error(
        "{}: share {index} of {total} is given twice (also {}); give different shares",
        path.display(),
        other.display()
    )]
    DuplicateShare { path: PathBuf, other: PathBuf, index: u8, total: u8 },

    /// A share belongs to another backup than the first one given.
    #[error(
        "{}: this share belongs to another backup ({theirs}) than {} ({ours}); give shares of \
         one backup only",
        path.display(),
        first.display()
    )]
    OtherBackup { path: PathBuf, first: PathBuf, theirs: String, ours: String },

    /// Fewer distinct shares than the threshold.
    #[error(
        "{have} share(s) given ({}), but backup {backup_id} needs {need} of its {total}: \
         add {} more",
        files(paths),
        need - have
    )]
    TooFewShares { have: usize, need: usize, total: u8, backup_id: String, paths: Vec<PathBuf> },

    /// The backup passphrase did not decrypt the combined backup.
    #[error(
        "wrong passphrase for backup {backup_id}; type it again, or correct \
         AIRLOCK_BACKUP_PASSPHRASE (a share altered in a way its checksum cannot show fails \
         the same way)"
    )]
    WrongPassphrase { backup_id: String },

    /// The shares combined into something that is not the backup they claim to be.
    #[error(
        "the shares of backup {backup_id} do not combine into a readable key backup \
         ({reason}); a share was altered"
    )]
    Damaged { backup_id: String, reason: String },

    /// The key in the backup is not the key the shares name.
    #[error(
        "the restored key's ID is {computed}, but the shares name {recorded}; the backup was \
         tampered with, nothing was stored"
    )]
    KeyIdMismatch { recorded: String, computed: String },

    /// The key in the store does not have the ID it is stored under.
    #[error("key {key_id} in the key store decrypts to key {computed}; nothing was backed up")]
    StoredKeyMismatch { key_id: String, computed: String },

    /// A share is too long for one QR code.
    #[error(
        "a share of this key is {bytes} bytes, more than one QR code holds (2,685); paper \
         backups take ECDSA keys and RSA keys of up to 3072 bits"
    )]
    TooLarge { bytes: usize },

    /// No backup passphrase: no terminal and no variable.
    #[error(
        "no backup passphrase: stdin is not a terminal and AIRLOCK_BACKUP_PASSPHRASE is not \
         set; set it for non-interactive use"
    )]
    PassphraseUnavailable,

    /// `AIRLOCK_BACKUP_PASSPHRASE` is set but unusable.
    #[error(
        "AIRLOCK_BACKUP_PASSPHRASE is set but {0}; set it to the backup passphrase or unset it"
    )]
    BadPassphraseEnv(&'static str),

    /// An empty backup passphrase was typed.
    #[error("an empty backup passphrase is not accepted")]
    EmptyPassphrase,

    /// The two entries of a new backup passphrase differ.
    #[error("the backup passphrases did not match; try again")]
    PassphraseMismatch,

    /// Reading the passphrase from the terminal failed.
    #[error("could not read the backup passphrase from the terminal: {0}")]
    Terminal(io::Error),

    /// A share's page could not be drawn.
    #[error("could not draw the share's QR image: {0}")]
    Render(String),

    /// age refused to encrypt.
    #[error("could not encrypt the backup: {0}")]
    Encrypt(String),

    /// A file system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },
}

impl BackupError {
    /// Builds a [`BackupError::Io`]; `action` reads as "could not {action} {path}".
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        BackupError::Io { action, path: path.to_path_buf(), source }
    }

    /// Builds a [`BackupError::Share`].
    pub(crate) fn share(path: &Path, defect: ShareDefect) -> Self {
        BackupError::Share { path: path.to_path_buf(), defect }
    }

    /// True when the input was refused (a share, a passphrase, a key), as opposed to the
    /// command being unable to run (usage, I/O, no terminal): exit 1 rather than 2.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            BackupError::ShareCount(_)
                | BackupError::Threshold { .. }
                | BackupError::OutDirNotEmpty { .. }
                | BackupError::PassphraseUnavailable
                | BackupError::Terminal(_)
                | BackupError::Io { .. }
        )
    }
}

fn files(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}
