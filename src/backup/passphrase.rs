//! Where the backup passphrase comes from.
//!
//! The backup passphrase is not a key store class passphrase: it protects one backup, and
//! share holders need it, with K shares, to use the key.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::BackupError;
use crate::keystore::{secret_from_env, secret_from_terminal, TerminalSecretError};

/// The environment variable holding the backup passphrase, for scripts.
pub const PASSPHRASE_ENV: &str = "AIRLOCK_BACKUP_PASSPHRASE";

/// Supplies the backup passphrase.
pub trait PassphraseSource {
    /// A passphrase for a backup being made; interactive sources confirm it, because a typo
    /// here makes the backup useless.
    fn new_passphrase(&mut self) -> Result<SecretString, BackupError>;

    /// The passphrase of a backup being restored.
    fn existing(&mut self) -> Result<SecretString, BackupError>;
}

/// The CLI's source: `AIRLOCK_BACKUP_PASSPHRASE`, else the terminal with echo off (prompts
/// on stderr).
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvOrTerminal;

impl PassphraseSource for EnvOrTerminal {
    fn new_passphrase(&mut self) -> Result<SecretString, BackupError> {
        if let Some(passphrase) = from_env()? {
            return Ok(passphrase);
        }

        let first = read_terminal("Enter a new passphrase for this backup: ")?;
        let second = read_terminal("Repeat the backup passphrase: ")?;
        if first.expose_secret() != second.expose_secret() {
            return Err(BackupError::PassphraseMismatch);
        }
        Ok(first)
    }

    fn existing(&mut self) -> Result<SecretString, BackupError> {
        match from_env()? {
            Some(passphrase) => Ok(passphrase),
            None => read_terminal("Enter the backup passphrase: "),
        }
    }
}

/// A fixed passphrase, for front ends that obtain it elsewhere and for tests.
pub struct FixedPassphrase(SecretString);

impl FixedPassphrase {
    pub fn new(passphrase: &str) -> Self {
        FixedPassphrase(SecretString::from(passphrase))
    }
}

impl PassphraseSource for FixedPassphrase {
    fn new_passphrase(&mut self) -> Result<SecretString, BackupError> {
        Ok(self.0.clone())
    }

    fn existing(&mut self) -> Result<SecretString, BackupError> {
        Ok(self.0.clone())
    }
}

/// Never shows the passphrase.
impl fmt::Debug for FixedPassphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedPassphrase(..)")
    }
}

fn from_env() -> Result<Option<SecretString>, BackupError> {
    secret_from_env(PASSPHRASE_ENV).map_err(BackupError::BadPassphraseEnv)
}

fn read_terminal(prompt: &str) -> Result<SecretString, BackupError> {
    secret_from_terminal(prompt).map_err(|e| match e {
        TerminalSecretError::NoTerminal => BackupError::PassphraseUnavailable,
        TerminalSecretError::Empty => BackupError::EmptyPassphrase,
        TerminalSecretError::Io(source) => BackupError::Terminal(source),
    })
}
