//! Private key files, as `docker trust key load` and `notary key import` take them.
//!
//! Notary writes `ENCRYPTED PRIVATE KEY` blocks (PBES2, PBKDF2-HMAC-SHA1, AES-256-CBC) with
//! headers such as `role: jeff` and `gun: ...` (WIRE.md §8.1, §8.2), and `notary key export`
//! adds `path: <key ID>`. Keys made with OpenSSL come as plain or encrypted PKCS#8 or as SEC1
//! `EC PRIVATE KEY`, often after an `EC PARAMETERS` block. Every encoding of one key loads to
//! the same [`SigningKey`], so to the same key ID.

use der::asn1::ObjectIdentifier;
use der::Decode;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::pbe::Encrypted;
use super::pem::{parse_blocks, PemBlock};
use super::signing::read_private_key_info;
use super::{CryptoError, SigningKey};

const PKCS8: &str = "PRIVATE KEY";
const ENCRYPTED_PKCS8: &str = "ENCRYPTED PRIVATE KEY";
const SEC1: &str = "EC PRIVATE KEY";
const PKCS1: &str = "RSA PRIVATE KEY";
const EC_PARAMETERS: &str = "EC PARAMETERS";

/// A private key read from a PEM file, with the headers of its block.
#[derive(Debug)]
pub struct LoadedKey {
    pub key: SigningKey,
    /// The block's `name: value` headers in file order, e.g. `role`, `gun`, `path`. They are
    /// hints from the tool that wrote the file, not checked against the key.
    pub headers: Vec<(String, String)>,
}

/// Reads the one private key in `text`, decrypting it with `passphrase` if it is encrypted.
///
/// Blocks other than the key (certificates, `EC PARAMETERS`) are ignored, except that
/// `EC PARAMETERS` names the curve of a SEC1 key that does not name its own. An encryption
/// scheme that cannot be read is reported before a missing passphrase, so a caller can try
/// with `None` first and ask for a passphrase only on [`CryptoError::PassphraseRequired`].
pub fn load_private_pem(
    text: &[u8],
    passphrase: Option<&SecretString>,
) -> Result<LoadedKey, CryptoError> {
    let blocks = Zeroizing::new(parse_blocks(text)?);
    let block = key_block(&blocks)?;
    refuse_legacy_encryption(block)?;

    let key = match block.label.as_str() {
        PKCS8 => SigningKey::from_pkcs8_der(&block.der)?,
        ENCRYPTED_PKCS8 => decrypt(&block.der, passphrase)?,
        SEC1 => SigningKey::from_sec1_der(&block.der, ec_parameters(&blocks)?)?,
        _ => SigningKey::from_pkcs1_der(&block.der)?,
    };
    Ok(LoadedKey { key, headers: block.headers.clone() })
}

/// Whether `text` holds an encrypted private key, so that the caller knows to ask for a
/// passphrase before calling [`load_private_pem`]. Unreadable PEM counts as not encrypted:
/// loading it reports the actual problem.
pub fn is_encrypted_private_pem(text: &[u8]) -> bool {
    let Ok(blocks) = parse_blocks(text).map(Zeroizing::new) else {
        return false;
    };
    blocks.iter().any(|b| b.label == ENCRYPTED_PKCS8 || legacy_encrypted(b))
}

/// The single private key block. Other `... PRIVATE KEY` labels (OpenSSH, DSA) are refused by
/// name rather than ignored.
fn key_block(blocks: &[PemBlock]) -> Result<&PemBlock, CryptoError> {
    let is_key = |b: &&PemBlock| b.label.ends_with("PRIVATE KEY");
    let keys: Vec<&PemBlock> = blocks.iter().filter(is_key).collect();

    match keys.as_slice() {
        [] => Err(CryptoError::NoPrivateKeyPem { found: describe_blocks(blocks) }),
        [key] if [PKCS8, ENCRYPTED_PKCS8, SEC1, PKCS1].contains(&key.label.as_str()) => Ok(key),
        [other] => Err(CryptoError::UnsupportedPrivatePem { label: other.label.clone() }),
        many => Err(CryptoError::SeveralPrivateKeys { count: many.len() }),
    }
}

/// `no PEM block`, or the labels found, e.g. `found CERTIFICATE`.
fn describe_blocks(blocks: &[PemBlock]) -> String {
    if blocks.is_empty() {
        return "no PEM block".into();
    }
    let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
    format!("found {}", labels.join(", "))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY`. A scheme that is not supported is reported first,
/// then a missing passphrase.
///
/// A wrong passphrase usually breaks the CBC padding; when by chance it does not, the
/// plaintext is not a PrivateKeyInfo, which is reported the same way.
fn decrypt(der: &[u8], passphrase: Option<&SecretString>) -> Result<SigningKey, CryptoError> {
    let encrypted = Encrypted::parse(der)?;
    let passphrase = passphrase.ok_or(CryptoError::PassphraseRequired)?;

    let plain = encrypted.decrypt(passphrase)?;
    if read_private_key_info(&plain).is_err() {
        return Err(CryptoError::WrongPassphrase);
    }
    SigningKey::from_pkcs8_der(&plain)
}

/// OpenSSL's traditional encryption (`Proc-Type: 4,ENCRYPTED` with `DEK-Info`) derives the
/// key with one MD5 round; it is refused with the cipher named.
fn refuse_legacy_encryption(block: &PemBlock) -> Result<(), CryptoError> {
    if !legacy_encrypted(block) {
        return Ok(());
    }

    let cipher =
        header(block, "DEK-Info").and_then(|v| v.split(',').next()).unwrap_or("unknown cipher");
    let scheme = format!("OpenSSL's legacy PEM encryption (Proc-Type: 4,ENCRYPTED, {cipher})");
    Err(CryptoError::UnsupportedEncryption { scheme })
}

fn legacy_encrypted(block: &PemBlock) -> bool {
    header(block, "Proc-Type").is_some_and(|v| v.contains("ENCRYPTED"))
}

fn header<'a>(block: &'a PemBlock, name: &str) -> Option<&'a str> {
    let found = block.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
    found.map(|(_, v)| v.as_str())
}

/// The named curve of an `EC PARAMETERS` block, if there is one. Explicit parameters (a
/// SEQUENCE instead of an OID) are refused: they would have to be matched against P-256.
fn ec_parameters(blocks: &[PemBlock]) -> Result<Option<ObjectIdentifier>, CryptoError> {
    let Some(block) = blocks.iter().find(|b| b.label == EC_PARAMETERS) else {
        return Ok(None);
    };

    ObjectIdentifier::from_der(&block.der).map(Some).map_err(|_| {
        let keytype = "ECDSA with explicit curve parameters".to_string();
        CryptoError::UnsupportedPrivateKey { keytype }
    })
}
