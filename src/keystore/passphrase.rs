//! Where passphrases come from.
//!
//! The store never asks for a passphrase itself: it calls a [`PassphraseProvider`], so the CLI
//! can read the environment or the terminal while tests and other front ends supply their own.
//! A provider is asked at most once per class and command by [`super::Unlocked`].

use std::env;
use std::fmt;
use std::io::{self, IsTerminal};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{KeyClass, KeyStoreError};

/// Supplies the passphrase of a key class.
pub trait PassphraseProvider {
    /// The passphrase of a class whose store identity exists; asked once to unlock it.
    fn existing(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError>;

    /// A passphrase for a class identity that is being created; interactive providers confirm
    /// it, because a typo here locks the keys away for good.
    fn new_passphrase(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError>;
}

/// The CLI's provider: the class's environment variable first, then the terminal.
///
/// `AIRLOCK_<CLASS>_PASSPHRASE` wins over Notary's `NOTARY_<CLASS>_PASSPHRASE`, which is
/// accepted so existing ceremony scripts keep working. Without either, the passphrase is read
/// from the terminal with echo off, prompting on stderr so stdout stays clean for output.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvOrTerminal;

impl PassphraseProvider for EnvOrTerminal {
    fn existing(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        if let Some(passphrase) = from_env(class)? {
            return Ok(passphrase);
        }

        let prompt = format!("Enter passphrase for the {class} key store: ");
        read_terminal(class, &prompt)
    }

    fn new_passphrase(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        if let Some(passphrase) = from_env(class)? {
            return Ok(passphrase);
        }

        let first =
            read_terminal(class, &format!("Enter a new passphrase for the {class} key store: "))?;
        let second =
            read_terminal(class, &format!("Repeat the passphrase for the {class} key store: "))?;
        if first.expose_secret() != second.expose_secret() {
            return Err(KeyStoreError::PassphraseMismatch { class });
        }
        Ok(first)
    }
}

/// Reads the class's passphrase variables, the airlock name before the Notary one.
fn from_env(class: KeyClass) -> Result<Option<SecretString>, KeyStoreError> {
    for var in [class.env_var(), class.legacy_env_var()] {
        match secret_from_env(var) {
            Ok(None) => continue,
            Ok(Some(passphrase)) => return Ok(Some(passphrase)),
            Err(reason) => return Err(KeyStoreError::BadPassphraseEnv { class, var, reason }),
        }
    }
    Ok(None)
}

/// Prompts on stderr and reads one line from the terminal with echo off.
fn read_terminal(class: KeyClass, prompt: &str) -> Result<SecretString, KeyStoreError> {
    secret_from_terminal(prompt).map_err(|e| match e {
        TerminalSecretError::NoTerminal => KeyStoreError::PassphraseUnavailable { class },
        TerminalSecretError::Empty => KeyStoreError::EmptyPassphrase { class },
        TerminalSecretError::Io(source) => KeyStoreError::Terminal { class, source },
    })
}

/// A secret from the environment variable `var`: `None` when unset; the error says why a set
/// variable is unusable ("is empty", "is not valid UTF-8").
pub(crate) fn secret_from_env(var: &str) -> Result<Option<SecretString>, &'static str> {
    let Some(value) = env::var_os(var) else {
        return Ok(None);
    };

    // Zeroizing wipes the variable's copy once it is moved into the secret.
    let value = Zeroizing::new(value.into_string().map_err(|_| "is not valid UTF-8")?);
    if value.is_empty() {
        return Err("is empty");
    }
    Ok(Some(SecretString::from(value.as_str())))
}

/// Why [`secret_from_terminal`] read no secret.
#[derive(Debug)]
pub(crate) enum TerminalSecretError {
    /// stdin is not a terminal.
    NoTerminal,
    /// An empty line was typed.
    Empty,
    /// Reading the terminal failed.
    Io(io::Error),
}

/// Prompts on stderr and reads one line from the terminal with echo off.
pub(crate) fn secret_from_terminal(prompt: &str) -> Result<SecretString, TerminalSecretError> {
    if !io::stdin().is_terminal() {
        return Err(TerminalSecretError::NoTerminal);
    }

    // A progress bar may be on the line: start the prompt on a clean one.
    let prompt = match io::stderr().is_terminal() {
        true => format!("\r\x1b[2K{prompt}"),
        false => prompt.to_string(),
    };
    let config = rpassword::ConfigBuilder::new().output_writer(io::stderr()).build();
    let typed =
        rpassword::prompt_password_with_config(prompt, config).map_err(TerminalSecretError::Io)?;

    // Copy into the secret and wipe rpassword's string, so no plain copy outlives this call.
    let typed = Zeroizing::new(typed);
    if typed.is_empty() {
        return Err(TerminalSecretError::Empty);
    }
    Ok(SecretString::from(typed.as_str()))
}

/// A provider with fixed passphrases, for front ends that obtain them elsewhere and for tests.
///
/// It counts how often it was asked, which lets tests check that a command derives each
/// class's key once.
#[derive(Default)]
pub struct FixedPassphrases {
    passphrases: Vec<(KeyClass, SecretString)>,
    asked: Vec<KeyClass>,
}

impl FixedPassphrases {
    /// A provider without passphrases; add them with [`Self::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the passphrase of `class`, for both existing and new identities.
    pub fn with(mut self, class: KeyClass, passphrase: &str) -> Self {
        self.passphrases.retain(|(c, _)| *c != class);
        self.passphrases.push((class, SecretString::from(passphrase)));
        self
    }

    /// How many times the passphrase of `class` was asked for, existing or new.
    pub fn asked(&self, class: KeyClass) -> usize {
        self.asked.iter().filter(|c| **c == class).count()
    }

    fn lookup(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        self.asked.push(class);

        self.passphrases
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, p)| p.clone())
            .ok_or(KeyStoreError::PassphraseUnavailable { class })
    }
}

impl PassphraseProvider for FixedPassphrases {
    fn existing(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        self.lookup(class)
    }

    fn new_passphrase(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        self.lookup(class)
    }
}

/// Shows which classes have a passphrase, never the passphrases.
impl fmt::Debug for FixedPassphrases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let classes: Vec<KeyClass> = self.passphrases.iter().map(|(c, _)| *c).collect();
        f.debug_struct("FixedPassphrases")
            .field("classes", &classes)
            .field("asked", &self.asked)
            .finish()
    }
}
