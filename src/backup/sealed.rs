//! The secret that is split: the private key encrypted under the backup passphrase.
//!
//! Plaintext, before age's passphrase (scrypt) encryption:
//!
//! ```text
//! airlock-key-backup/v1\n
//! {"backup_id":…,"key_id":…,"role":…,"gun":…,"keytype":…,"created":…}\n
//! <the key's PKCS#8 DER>
//! ```
//!
//! The header is authenticated with the key by age, so what restore reads from it (role,
//! GUN, and the IDs it checks against the shares) comes from whoever knew the passphrase.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::BackupError;
use crate::keystore::{open_with_passphrase, seal_with_passphrase};

const MAGIC: &[u8] = b"airlock-key-backup/v1\n";

/// What the encrypted backup says about its key. Holds nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The backup's random ID (32 hex digits), also in every share.
    pub backup_id: String,
    /// The key's canonical ID, also in every share.
    pub key_id: String,
    /// The role the key signs for, as the key store records it.
    pub role: String,
    /// The key's repository, for keys that belong to one.
    pub gun: Option<String>,
    /// The key type as Notary names it.
    pub keytype: String,
    /// When the backup was made, RFC 3339.
    pub created: String,
}

/// A decrypted backup: its header and the key's PKCS#8 DER (wiped on drop).
pub struct Opened {
    pub header: Header,
    pub der: Zeroizing<Vec<u8>>,
}

/// Encrypts the header and key under the passphrase, at scrypt cost `2^work_factor` (age's
/// calibrated cost when `None`).
pub fn seal(
    header: &Header,
    der: &[u8],
    passphrase: SecretString,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, BackupError> {
    let json = serde_json::to_vec(header).map_err(|e| BackupError::Encrypt(e.to_string()))?;

    // Sized up front, so the buffer holding the key never reallocates and leaves no copy.
    let mut plaintext =
        Zeroizing::new(Vec::with_capacity(MAGIC.len() + json.len() + 1 + der.len()));
    plaintext.extend_from_slice(MAGIC);
    plaintext.extend_from_slice(&json);
    plaintext.push(b'\n');
    plaintext.extend_from_slice(der);

    seal_with_passphrase(&plaintext, passphrase, work_factor)
        .map_err(|e| BackupError::Encrypt(e.to_string()))
}

/// Decrypts a combined backup. `backup_id` is the ID the shares carry, for messages.
pub fn open(
    ciphertext: &[u8],
    passphrase: SecretString,
    backup_id: &str,
) -> Result<Opened, BackupError> {
    let damaged = |reason: String| BackupError::Damaged { backup_id: backup_id.into(), reason };

    let plaintext = open_with_passphrase(ciphertext, passphrase).map_err(|e| match e {
        age::DecryptError::DecryptionFailed => {
            BackupError::WrongPassphrase { backup_id: backup_id.into() }
        }
        other => damaged(other.to_string()),
    })?;

    let Some(rest) = plaintext.strip_prefix(MAGIC) else {
        return Err(damaged("it does not start as an airlock key backup".into()));
    };
    let Some(end) = rest.iter().position(|b| *b == b'\n') else {
        return Err(damaged("its header has no end".into()));
    };
    let header: Header = serde_json::from_slice(&rest[..end])
        .map_err(|_| damaged("its header is not the expected JSON".into()))?;

    let der = Zeroizing::new(rest[end + 1..].to_vec());
    Ok(Opened { header, der })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            backup_id: "00".repeat(16),
            key_id: "ab".repeat(32),
            role: "root".into(),
            gun: Some("example.com/app".into()),
            keytype: "ecdsa".into(),
            created: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn seal_then_open_gives_back_header_and_key() {
        let sealed = seal(&header(), b"DER BYTES\n\x00", SecretString::from("pw"), Some(10));
        let opened = open(&sealed.unwrap(), SecretString::from("pw"), "id").unwrap();
        assert_eq!(opened.header, header());
        assert_eq!(opened.der.as_slice(), b"DER BYTES\n\x00");
    }

    #[test]
    fn a_wrong_passphrase_is_named_as_such() {
        let sealed = seal(&header(), b"DER", SecretString::from("pw"), Some(10)).unwrap();
        let err = open(&sealed, SecretString::from("other"), "id").err().unwrap();
        assert!(matches!(err, BackupError::WrongPassphrase { .. }), "{err}");
    }

    #[test]
    fn garbage_is_damage_not_a_wrong_passphrase() {
        let err = open(b"not age at all", SecretString::from("pw"), "id").err().unwrap();
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");
    }

    #[test]
    fn the_key_is_not_in_the_clear() {
        let sealed = seal(&header(), b"SECRET-DER-BYTES", SecretString::from("pw"), Some(10));
        let sealed = sealed.unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"SECRET-DER-BYTES"));
        assert!(!sealed.windows(4).any(|w| w == b"root"), "the header is encrypted too");
    }
}
