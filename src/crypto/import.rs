//! Public keys and certificates given as PEM files, as `notary delegation add` and
//! `docker trust signer add` take them (`tuf/utils/x509.go` ParsePEMPublicKey, WIRE.md §4.3).

use super::bare::BareKey;
use super::cert::ParsedCert;
use super::pem::{encode_go, parse_blocks, PemBlock};
use super::{CryptoError, KeyType, PublicKey};

/// Reads a public key or a certificate from PEM text.
///
/// * A `PUBLIC KEY` block gives a bare `ecdsa` (P-256, P-384, P-521) or `rsa` key, its DER
///   re-encoded as Go's `x509.MarshalPKIXPublicKey` writes it.
/// * `CERTIFICATE` blocks give an `ecdsa-x509` / `rsa-x509` key whose `public` is the Go-style
///   PEM of the leaf alone, as Notary's `CertToKey` makes it. With several certificates the
///   leaf is the only non-CA one.
///
/// Headers such as docker's `role: jeff` are ignored. Private keys, other block types, other
/// algorithms, RSA under 2048 bits and SHA-1 certificates are refused. Certificate dates are
/// not checked here: call [`super::check_delegation_certificate`] with the time, as
/// `notary delegation add` checks expiry.
pub fn parse_public_pem(text: &[u8]) -> Result<PublicKey, CryptoError> {
    let blocks = parse_blocks(text)?;
    if let Some(private) = blocks.iter().find(|b| b.label.contains("PRIVATE KEY")) {
        return Err(CryptoError::PrivateKeyGiven { label: private.label.clone() });
    }

    let with = |label: &str| blocks.iter().filter(|b| b.label == label).collect::<Vec<_>>();
    let (keys, certs) = (with("PUBLIC KEY"), with("CERTIFICATE"));
    match (keys.as_slice(), certs.as_slice()) {
        ([], []) => Err(match blocks.first() {
            Some(other) => CryptoError::UnsupportedPem { label: other.label.clone() },
            None => CryptoError::NoPublicKeyPem,
        }),
        ([key], []) => public_key_block(key),
        (keys, []) => Err(CryptoError::SeveralPublicKeys { count: keys.len() }),
        ([], certs) => certificate_blocks(certs),
        _ => Err(CryptoError::MixedPem),
    }
}

fn public_key_block(block: &PemBlock) -> Result<PublicKey, CryptoError> {
    let key = BareKey::from_spki_der(&block.der)?;
    key.check_size()?;

    let keytype = if matches!(key, BareKey::Rsa(_)) { KeyType::Rsa } else { KeyType::Ecdsa };
    Ok(PublicKey::new(keytype, key.to_spki_der()?))
}

fn certificate_blocks(blocks: &[&PemBlock]) -> Result<PublicKey, CryptoError> {
    let certs =
        blocks.iter().map(|b| ParsedCert::from_der(&b.der)).collect::<Result<Vec<_>, _>>()?;
    let leaf = pick_leaf(&certs)?;
    leaf.validate(None)?;

    let keytype = match leaf.key {
        BareKey::Rsa(_) => KeyType::RsaX509,
        _ => KeyType::EcdsaX509,
    };
    Ok(PublicKey::new(keytype, encode_go("CERTIFICATE", &leaf.der).into_bytes()))
}

/// A lone certificate is the leaf even if it is a CA (Notary took such a delegation
/// certificate); in a bundle the leaf is the single non-CA certificate.
fn pick_leaf(certs: &[ParsedCert]) -> Result<&ParsedCert, CryptoError> {
    if let [only] = certs {
        return Ok(only);
    }

    let leaves: Vec<&ParsedCert> = certs.iter().filter(|c| !c.is_ca).collect();
    match leaves.as_slice() {
        [] => Err(CryptoError::NoLeaf),
        [leaf] => Ok(leaf),
        many => Err(CryptoError::AmbiguousLeaf { count: many.len() }),
    }
}
