//! age encryption of the store's files.
//!
//! Two layers: a class identity (an X25519 secret) is sealed with the class passphrase through
//! age's scrypt recipient, and private keys are sealed to the identity's X25519 recipient. Only
//! the first layer pays for scrypt, which is what makes unlocking cost one derivation per
//! class however many keys follow.

use std::io::Read;
use std::iter;
use std::path::Path;
use std::str::FromStr;

use age::x25519;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{KeyClass, KeyStoreError, MAX_WORK_FACTOR};

/// Encrypts `plaintext` to class X25519 recipients, any one of which can open it; no
/// passphrase involved.
pub(super) fn seal_to_recipients(
    recipients: &[x25519::Recipient],
    plaintext: &[u8],
    path: &Path,
) -> Result<Vec<u8>, KeyStoreError> {
    let fail = |reason: String| KeyStoreError::Encrypt { path: path.to_path_buf(), reason };
    let recipients = recipients.iter().map(|r| r as &dyn age::Recipient);
    let encryptor = age::Encryptor::with_recipients(recipients).map_err(|e| fail(e.to_string()))?;

    let mut sealed = Vec::with_capacity(plaintext.len() + 512);
    let mut writer = encryptor.wrap_output(&mut sealed).map_err(|e| fail(e.to_string()))?;
    std::io::Write::write_all(&mut writer, plaintext).map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(sealed)
}

/// Encrypts a new class identity with its passphrase at scrypt cost `2^work_factor`, or age's
/// calibrated cost (about one second) when `work_factor` is `None`.
pub(super) fn seal_identity(
    identity: &x25519::Identity,
    passphrase: SecretString,
    work_factor: Option<u8>,
    path: &Path,
) -> Result<Vec<u8>, KeyStoreError> {
    let secret = identity.to_string();
    seal_with_passphrase(secret.expose_secret().as_bytes(), passphrase, work_factor)
        .map_err(|e| KeyStoreError::Encrypt { path: path.to_path_buf(), reason: e.to_string() })
}

/// Decrypts a class identity file with the passphrase: the one scrypt derivation of a class.
pub(super) fn open_identity(
    class: KeyClass,
    ciphertext: &[u8],
    passphrase: SecretString,
    path: &Path,
) -> Result<x25519::Identity, KeyStoreError> {
    let plaintext =
        open_with_passphrase(ciphertext, passphrase).map_err(|e| identity_error(class, path, e))?;
    parse_identity(&plaintext, path)
}

/// Encrypts `plaintext` with a passphrase through age's scrypt recipient, at cost
/// `2^work_factor`, or age's calibrated cost (about one second) when `work_factor` is `None`.
/// Also used for paper backups (`crate::backup`), so their cost follows the same knob.
pub(crate) fn seal_with_passphrase(
    plaintext: &[u8],
    passphrase: SecretString,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, age::EncryptError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase);
    if let Some(log_n) = work_factor {
        recipient.set_work_factor(log_n);
    }
    age::encrypt(&recipient, plaintext)
}

/// Decrypts what [`seal_with_passphrase`] made, into memory wiped on drop.
pub(crate) fn open_with_passphrase(
    ciphertext: &[u8],
    passphrase: SecretString,
) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    let mut scrypt = age::scrypt::Identity::new(passphrase);
    let result = decrypt(ciphertext, &scrypt);

    // age caps the work at four steps above this machine's one-second cost. A slow air-gapped
    // machine must still open what a fast one wrote, so retry once with the store's own cap.
    // The check happens before any scrypt work, so the retry costs nothing.
    if let Err(age::DecryptError::ExcessiveWork { required, .. }) = result {
        if required <= MAX_WORK_FACTOR {
            scrypt.set_max_work_factor(MAX_WORK_FACTOR);
            return decrypt(ciphertext, &scrypt);
        }
    }
    result
}

/// Decrypts a private key file with its unlocked class identity.
pub(super) fn open_key(
    class: KeyClass,
    identity: &x25519::Identity,
    ciphertext: &[u8],
    path: &Path,
) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
    match open_key_with_any(iter::once(identity), ciphertext, path)? {
        Some(plaintext) => Ok(plaintext),
        None => Err(KeyStoreError::NotForIdentity { class, path: path.to_path_buf() }),
    }
}

/// Decrypts a private key file with whichever of `identities` it was sealed to; `None` when
/// it was sealed to none of them.
pub(super) fn open_key_with_any<'a>(
    identities: impl Iterator<Item = &'a x25519::Identity>,
    ciphertext: &[u8],
    path: &Path,
) -> Result<Option<Zeroizing<Vec<u8>>>, KeyStoreError> {
    let identities = identities.map(|i| i as &dyn age::Identity);
    match decrypt_any(ciphertext, identities) {
        Ok(plaintext) => Ok(Some(plaintext)),
        Err(age::DecryptError::NoMatchingKeys) => Ok(None),
        Err(other) => Err(KeyStoreError::corrupt(path, other.to_string())),
    }
}

/// Parses a class's public recipient file.
pub(super) fn parse_recipient(text: &str, path: &Path) -> Result<x25519::Recipient, KeyStoreError> {
    x25519::Recipient::from_str(text.trim())
        .map_err(|_| KeyStoreError::corrupt(path, "not an age X25519 recipient"))
}

/// Decrypts into a buffer that is wiped on drop and never reallocated (a reallocation would
/// leave an unwiped copy behind): age's plaintext is always shorter than its ciphertext.
fn decrypt(
    ciphertext: &[u8],
    identity: &dyn age::Identity,
) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    decrypt_any(ciphertext, iter::once(identity))
}

fn decrypt_any<'a>(
    ciphertext: &[u8],
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    let decryptor = age::Decryptor::new_buffered(ciphertext)?;
    let mut reader = decryptor.decrypt(identities)?;

    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader.read_to_end(&mut plaintext)?;
    Ok(plaintext)
}

/// Maps age's errors on an identity file; a failed stanza decryption means a wrong passphrase.
fn identity_error(class: KeyClass, path: &Path, e: age::DecryptError) -> KeyStoreError {
    match e {
        age::DecryptError::DecryptionFailed => KeyStoreError::WrongPassphrase { class },
        age::DecryptError::ExcessiveWork { required, .. } => {
            KeyStoreError::ExcessiveWork { path: path.to_path_buf(), required }
        }
        age::DecryptError::NoMatchingKeys => {
            KeyStoreError::corrupt(path, "not encrypted with a passphrase")
        }
        other => KeyStoreError::corrupt(path, other.to_string()),
    }
}

/// Parses a decrypted identity; the error never quotes the text, which is a secret key.
fn parse_identity(plaintext: &[u8], path: &Path) -> Result<x25519::Identity, KeyStoreError> {
    let bad = || KeyStoreError::corrupt(path, "decrypted content is not an age X25519 identity");

    let text = std::str::from_utf8(plaintext).map_err(|_| bad())?;
    x25519::Identity::from_str(text.trim()).map_err(|_| bad())
}
