//! Software signing keys. Notary's CLI makes only P-256 ECDSA keys (`tuf/utils/x509.go`
//! GenerateKey), and those are the keys a ceremony creates.

use std::fmt;

use der::asn1::{AnyRef, ContextSpecific, ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, SliceReader};
use p256::pkcs8::EncodePrivateKey;
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::{CryptoError, KeyType, PublicKey};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The DER of a P-256 SubjectPublicKeyInfo up to the point: SEQUENCE, the algorithm
/// (`id-ecPublicKey`, `prime256v1`) and the BIT STRING header. The 65-byte uncompressed point
/// follows. This is what Go's `x509.MarshalPKIXPublicKey` writes for every P-256 key.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A private key held in memory. The scalar is zeroized on drop (by `ecdsa::SigningKey`), and
/// `Debug` shows only the key ID.
pub struct SigningKey {
    inner: p256::ecdsa::SigningKey,
}

impl SigningKey {
    /// A new random P-256 key from the operating system's generator.
    pub fn generate_p256() -> SigningKey {
        let inner = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        SigningKey { inner }
    }

    /// Reads a plaintext PKCS#8 P-256 key.
    ///
    /// Notary writes ECDSA keys as PKCS#8 version 1 without the optional public key (WIRE.md
    /// §8.3), which strict parsers refuse, so the outer structure is read here with either
    /// version and any trailing optional fields; the SEC1 key inside is checked as usual.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, CryptoError> {
        let (algorithm, sec1) = read_private_key_info(der)
            .map_err(|e| CryptoError::BadPrivateKey(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;
        check_p256(&algorithm)?;

        let secret = p256::SecretKey::from_sec1_der(sec1).map_err(|_| {
            CryptoError::BadPrivateKey("the SEC1 ECPrivateKey inside is not valid".into())
        })?;
        Ok(SigningKey { inner: secret.into() })
    }

    /// The key as standard PKCS#8 (version 0, with curve parameters and public key inside the
    /// SEC1 structure), in memory that is wiped on drop.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let doc = self.inner.to_pkcs8_der().expect("a valid P-256 key always encodes as PKCS#8");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// The bare `ecdsa` public key, its DER as Go writes it.
    pub fn public_key(&self) -> PublicKey {
        let point = self.inner.verifying_key().to_encoded_point(false);
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(point.as_bytes());
        PublicKey::new(KeyType::Ecdsa, der)
    }

    /// The signature method these keys produce in metadata.
    pub fn method(&self) -> &'static str {
        "ecdsa"
    }

    /// Signs `msg` as Notary does: ECDSA over SHA-256(msg), written as raw `r||s`, 64 bytes.
    /// Nonces are deterministic (RFC 6979).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.sign_p256(msg)?.to_bytes().to_vec())
    }

    /// The same signature in DER, as X.509 certificates carry it.
    pub(crate) fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.sign_p256(msg)?.to_der().as_bytes().to_vec())
    }

    fn sign_p256(&self, msg: &[u8]) -> Result<p256::ecdsa::Signature, CryptoError> {
        signature::Signer::try_sign(&self.inner, msg)
            .map_err(|_| CryptoError::Signing("ECDSA P-256 signing failed".into()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.public_key().id().as_str()).finish()
    }
}

/// PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING,
/// [0] attributes OPTIONAL, [1] publicKey OPTIONAL } with version 0 or 1 and no rule tying
/// the version to the public key field.
fn read_private_key_info(der: &[u8]) -> der::Result<(AlgorithmIdentifierRef<'_>, &[u8])> {
    let mut reader = SliceReader::new(der)?;
    let parsed = reader.sequence(|r| {
        let version = u8::decode(r)?;
        if version > 1 {
            return Err(der::Tag::Integer.value_error());
        }

        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let key = OctetStringRef::decode(r)?;
        while !r.is_finished() {
            r.decode::<ContextSpecific<AnyRef<'_>>>()?;
        }
        Ok((algorithm, key.as_bytes()))
    })?;
    reader.finish(parsed)
}

fn check_p256(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<(), CryptoError> {
    if algorithm.oid != OID_EC_PUBLIC_KEY {
        let msg =
            format!("only ECDSA P-256 keys can sign; this key's algorithm is {}", algorithm.oid);
        return Err(CryptoError::BadPrivateKey(msg));
    }

    let curve = algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if curve != Some(OID_P256) {
        return Err(CryptoError::BadPrivateKey("only ECDSA keys on P-256 can sign".into()));
    }
    Ok(())
}
