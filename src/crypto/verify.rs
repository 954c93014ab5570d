//! Signature verification in Notary's methods (WIRE.md §3; `tuf/signed/verifiers.go`).
//!
//! The message is always the canonical bytes of the `signed` object; no method pre-hashes it
//! beyond what is written here, and none adds a domain prefix.

use sha2::{Digest, Sha256};
use signature::hazmat::PrehashVerifier;

use super::bare::{BareKey, MIN_RSA_BITS};
use super::{CryptoError, KeyType, PublicKey};

/// Checks that `sig` is a valid `method` signature by `key` over `msg`.
///
/// * `ecdsa`: SHA-256 on every curve, `sig` = raw `r||s`, each left-padded to the curve size
///   (64, 96 or 132 bytes). DER is refused, as Notary checks the length first.
/// * `rsapss`: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length exactly 32.
/// * `rsapkcs1v15`: RSASSA-PKCS1-v1_5 with SHA-256 (Notary verifies it, never writes it).
/// * `eddsa`: pure Ed25519.
///
/// The method is matched case-insensitively, since Notary lowercases it when parsing. RSA keys
/// under 2048 bits are refused. For x509 keys the leaf certificate's key is used.
pub fn verify(key: &PublicKey, method: &str, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let method = method.to_ascii_lowercase();
    let fits = match method.as_str() {
        "ecdsa" => matches!(key.keytype(), KeyType::Ecdsa | KeyType::EcdsaX509),
        "rsapss" | "rsapkcs1v15" => matches!(key.keytype(), KeyType::Rsa | KeyType::RsaX509),
        "eddsa" => key.keytype() == KeyType::Ed25519,
        _ => return Err(CryptoError::UnknownMethod(method)),
    };
    if !fits {
        return Err(CryptoError::MethodMismatch { method, keytype: key.keytype() });
    }

    match method.as_str() {
        "eddsa" => verify_ed25519(key.public_bytes(), msg, sig),
        "ecdsa" => verify_ecdsa(&key.leaf_key()?, msg, sig),
        "rsapss" => verify_rsa(&key.leaf_key()?, RsaPadding::Pss, msg, sig),
        _ => verify_rsa(&key.leaf_key()?, RsaPadding::Pkcs1v15, msg, sig),
    }
}

fn verify_ecdsa(key: &BareKey, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let size = match key {
        BareKey::P256(_) => 32,
        BareKey::P384(_) => 48,
        BareKey::P521(_) => 66,
        BareKey::Rsa(_) => return Err(CryptoError::UnsupportedKey("RSA for ecdsa".into())),
    };
    if sig.len() != 2 * size {
        let found = sig.len();
        return Err(CryptoError::SignatureLength { method: "ecdsa", expected: 2 * size, found });
    }

    // Go hashes with SHA-256 whatever the curve and reads the digest as an integer. Padding it
    // on the left to the field size gives the same integer, and every curve takes that length.
    let mut digest = vec![0u8; size];
    digest[size - 32..].copy_from_slice(&Sha256::digest(msg));

    let bad = |_| CryptoError::BadSignature { method: "ecdsa" };
    match key {
        BareKey::P256(k) => {
            let sig = p256::ecdsa::Signature::from_slice(sig).map_err(bad)?;
            k.verify_prehash(&digest, &sig).map_err(bad)
        }
        BareKey::P384(k) => {
            let sig = p384::ecdsa::Signature::from_slice(sig).map_err(bad)?;
            k.verify_prehash(&digest, &sig).map_err(bad)
        }
        BareKey::P521(k) => {
            let sig = p521::ecdsa::Signature::from_slice(sig).map_err(bad)?;
            k.verify_prehash(&digest, &sig).map_err(bad)
        }
        BareKey::Rsa(_) => Err(CryptoError::BadSignature { method: "ecdsa" }),
    }
}

#[derive(Clone, Copy)]
enum RsaPadding {
    Pss,
    Pkcs1v15,
}

fn verify_rsa(
    key: &BareKey,
    padding: RsaPadding,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    let BareKey::Rsa(key) = key else {
        return Err(CryptoError::UnsupportedKey("ECDSA for an RSA method".into()));
    };
    let bits = rsa::traits::PublicKeyParts::n(key).bits();
    if bits < MIN_RSA_BITS {
        return Err(CryptoError::RsaTooShort { bits });
    }

    let method = match padding {
        RsaPadding::Pss => "rsapss",
        RsaPadding::Pkcs1v15 => "rsapkcs1v15",
    };
    let size = rsa::traits::PublicKeyParts::size(key);
    if sig.len() != size {
        return Err(CryptoError::SignatureLength { method, expected: size, found: sig.len() });
    }

    let digest = Sha256::digest(msg);
    let result = match padding {
        RsaPadding::Pss => key.verify(rsa::Pss::new_with_salt::<Sha256>(32), &digest, sig),
        RsaPadding::Pkcs1v15 => key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, sig),
    };
    result.map_err(|_| CryptoError::BadSignature { method })
}

fn verify_ed25519(public: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    let public: &[u8; 32] = public.try_into().map_err(|_| CryptoError::MalformedKey {
        keytype: "ed25519",
        reason: format!("the key is {} bytes, expected 32", public.len()),
    })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(public).map_err(|_| {
        CryptoError::MalformedKey { keytype: "ed25519", reason: "not a curve point".into() }
    })?;

    let sig: &[u8; 64] = sig.try_into().map_err(|_| CryptoError::SignatureLength {
        method: "eddsa",
        expected: 64,
        found: sig.len(),
    })?;
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    // Cofactorless and without small-order checks, like Go's `ed25519.Verify`.
    signature::Verifier::verify(&key, msg, &sig)
        .map_err(|_| CryptoError::BadSignature { method: "eddsa" })
}
