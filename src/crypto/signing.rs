//! Software signing keys. Notary's CLI makes only P-256 ECDSA keys (`tuf/utils/x509.go`
//! GenerateKey), and those are the keys a ceremony creates by default; RSA keys (`rsapss`) can
//! be generated for signers whose tooling needs them, or loaded from existing key files, as
//! `notary key import` takes them.

use std::fmt;

use der::asn1::{AnyRef, ContextSpecific, ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, SliceReader};
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pss::BlindedSigningKey;
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use signature::{RandomizedSigner, SignatureEncoding};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::bare::{BareKey, MAX_RSA_BITS, MIN_RSA_BITS};
use super::{CryptoError, KeyType, PublicKey};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The largest RSA key `generate_rsa` makes. Bigger keys are legal to load, but generating
/// one takes many minutes on a small offline machine and every signature gets slower.
pub const MAX_GENERATED_RSA_BITS: usize = 8192;

/// Notary's RSASSA-PSS salt length: `rsa.PSSSaltLengthEqualsHash` with SHA-256.
const PSS_SALT_LEN: usize = 32;

/// The DER of a P-256 SubjectPublicKeyInfo up to the point: SEQUENCE, the algorithm
/// (`id-ecPublicKey`, `prime256v1`) and the BIT STRING header. The 65-byte uncompressed point
/// follows. This is what Go's `x509.MarshalPKIXPublicKey` writes for every P-256 key.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A private key held in memory. The secret is zeroized on drop (by `ecdsa::SigningKey` and
/// `rsa::RsaPrivateKey`), and `Debug` shows only the key ID.
pub struct SigningKey {
    inner: Inner,
}

enum Inner {
    P256(p256::ecdsa::SigningKey),
    /// The public key is kept as Go encodes it, so that `public_key` cannot fail.
    Rsa {
        key: Box<BlindedSigningKey<Sha256>>,
        spki: Vec<u8>,
    },
}

impl SigningKey {
    /// A new random P-256 key from the operating system's generator.
    pub fn generate_p256() -> SigningKey {
        let inner = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        SigningKey { inner: Inner::P256(inner) }
    }

    /// A new random RSA key of `bits` bits (2048 to [`MAX_GENERATED_RSA_BITS`]), public
    /// exponent 65537, from the operating system's generator. Slow: seconds for 4096 bits.
    pub fn generate_rsa(bits: usize) -> Result<SigningKey, CryptoError> {
        check_rsa_generate_bits(bits)?;

        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits)
            .map_err(|e| CryptoError::Signing(format!("RSA key generation failed: {e}")))?;
        SigningKey::from_rsa(key)
    }

    /// Reads a plaintext PKCS#8 key: ECDSA P-256, or RSA of 2048 bits or more.
    ///
    /// Notary writes ECDSA keys as PKCS#8 version 1 without the optional public key, and RSA
    /// keys without the NULL algorithm parameter (WIRE.md §8.3), which strict parsers refuse,
    /// so the outer structure is read here with either version, any trailing optional fields
    /// and any parameters; the SEC1 or PKCS#1 key inside is checked as usual.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, CryptoError> {
        let (algorithm, inner) = read_private_key_info(der)
            .map_err(|e| CryptoError::BadPrivateKey(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;

        if algorithm.oid == OID_RSA_ENCRYPTION {
            return SigningKey::from_pkcs1_der(inner);
        }
        if algorithm.oid != OID_EC_PUBLIC_KEY {
            let keytype = algorithm_name(algorithm.oid, None);
            return Err(CryptoError::UnsupportedPrivateKey { keytype });
        }
        let curve = algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        SigningKey::from_sec1_der(inner, curve)
    }

    /// Reads a SEC1 ECPrivateKey (`EC PRIVATE KEY`). The curve is the one named inside the key
    /// or, failing that, `curve` (from PKCS#8, or OpenSSL's separate `EC PARAMETERS` block).
    pub(crate) fn from_sec1_der(
        der: &[u8],
        curve: Option<ObjectIdentifier>,
    ) -> Result<SigningKey, CryptoError> {
        let sec1 = sec1::EcPrivateKey::from_der(der)
            .map_err(|_| CryptoError::BadPrivateKey("the SEC1 ECPrivateKey is not valid".into()))?;
        let named = sec1.parameters.and_then(|p| p.named_curve());

        let curve = match (named, curve) {
            (Some(a), Some(b)) if a != b => {
                let msg = "the key names a curve other than its PKCS#8 or EC PARAMETERS wrapper";
                return Err(CryptoError::BadPrivateKey(msg.into()));
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => {
                return Err(CryptoError::BadPrivateKey("the EC private key names no curve".into()))
            }
        };
        if curve != OID_P256 {
            let keytype = algorithm_name(OID_EC_PUBLIC_KEY, Some(curve));
            return Err(CryptoError::UnsupportedPrivateKey { keytype });
        }

        let secret = p256::SecretKey::from_slice(sec1.private_key).map_err(|_| {
            CryptoError::BadPrivateKey("the P-256 private scalar is not valid".into())
        })?;
        Ok(SigningKey { inner: Inner::P256(secret.into()) })
    }

    /// Reads a PKCS#1 RSAPrivateKey (`RSA PRIVATE KEY`, or inside PKCS#8). Keys under 2048
    /// bits are refused as Notary refuses them.
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<SigningKey, CryptoError> {
        let key = rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|_| {
            CryptoError::BadPrivateKey("the PKCS#1 RSAPrivateKey is not valid".into())
        })?;

        let bits = key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(CryptoError::RsaTooShort { bits });
        }
        if bits > MAX_RSA_BITS {
            let keytype = format!("RSA {bits}-bit (over {MAX_RSA_BITS} bits)");
            return Err(CryptoError::UnsupportedPrivateKey { keytype });
        }
        SigningKey::from_rsa(key)
    }

    /// Wraps a checked RSA key for PSS signing, keeping its public key as Go encodes it.
    fn from_rsa(key: rsa::RsaPrivateKey) -> Result<SigningKey, CryptoError> {
        let spki = BareKey::Rsa(key.to_public_key()).to_spki_der()?;
        let key = Box::new(BlindedSigningKey::new_with_salt_len(key, PSS_SALT_LEN));
        Ok(SigningKey { inner: Inner::Rsa { key, spki } })
    }

    /// The key as standard PKCS#8 (version 0; for P-256 with curve parameters and public key
    /// inside the SEC1 structure), in memory that is wiped on drop.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let doc = match &self.inner {
            Inner::P256(key) => key.to_pkcs8_der(),
            Inner::Rsa { key, .. } => key.to_pkcs8_der(),
        };
        let doc = doc.expect("a valid key always encodes as PKCS#8");
        Zeroizing::new(doc.as_bytes().to_vec())
    }

    /// The bare `ecdsa` or `rsa` public key, its DER as Go writes it.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            Inner::P256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let mut der = P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(point.as_bytes());
                PublicKey::new(KeyType::Ecdsa, der)
            }
            Inner::Rsa { spki, .. } => PublicKey::new(KeyType::Rsa, spki.clone()),
        }
    }

    /// The signature method these keys produce in metadata: `ecdsa` or `rsapss`.
    pub fn method(&self) -> &'static str {
        match self.inner {
            Inner::P256(_) => "ecdsa",
            Inner::Rsa { .. } => "rsapss",
        }
    }

    /// Signs `msg` as Notary does. ECDSA: over SHA-256(msg), written as raw `r||s`, 64 bytes,
    /// with deterministic nonces (RFC 6979). RSA: RSASSA-PSS with SHA-256, MGF1-SHA-256 and a
    /// 32-byte random salt, as long as the modulus.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::P256(key) => Ok(sign_p256(key, msg)?.to_bytes().to_vec()),
            Inner::Rsa { key, .. } => {
                let sig = key
                    .try_sign_with_rng(&mut rand_core::OsRng, msg)
                    .map_err(|_| CryptoError::Signing("RSASSA-PSS signing failed".into()))?;
                Ok(sig.to_vec())
            }
        }
    }

    /// The ECDSA signature in DER, as X.509 certificates carry it. Certificates are made only
    /// with P-256 keys (Notary's template is `ecdsa-with-SHA256`).
    pub(crate) fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::P256(key) => Ok(sign_p256(key, msg)?.to_der().as_bytes().to_vec()),
            Inner::Rsa { .. } => Err(CryptoError::Signing(
                "certificates are made only with ECDSA P-256 keys, not RSA".into(),
            )),
        }
    }
}

/// Refuses RSA sizes `generate_rsa` does not make, before any slow work starts.
pub fn check_rsa_generate_bits(bits: usize) -> Result<(), CryptoError> {
    if (MIN_RSA_BITS..=MAX_GENERATED_RSA_BITS).contains(&bits) {
        return Ok(());
    }
    Err(CryptoError::RsaGenerateSize { bits, min: MIN_RSA_BITS, max: MAX_GENERATED_RSA_BITS })
}

fn sign_p256(
    key: &p256::ecdsa::SigningKey,
    msg: &[u8],
) -> Result<p256::ecdsa::Signature, CryptoError> {
    signature::Signer::try_sign(key, msg)
        .map_err(|_| CryptoError::Signing("ECDSA P-256 signing failed".into()))
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("key_id", &self.public_key().id().as_str()).finish()
    }
}

/// PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING,
/// [0] attributes OPTIONAL, [1] publicKey OPTIONAL } with version 0 or 1 and no rule tying
/// the version to the public key field.
pub(crate) fn read_private_key_info(
    der: &[u8],
) -> der::Result<(AlgorithmIdentifierRef<'_>, &[u8])> {
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

/// `ECDSA P-384`, `Ed25519`, ...: the key type named in errors about keys that cannot sign.
fn algorithm_name(oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> String {
    let curve = curve.map(|c| c.to_string());
    match (oid.to_string().as_str(), curve.as_deref()) {
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => "ECDSA P-384".into(),
        ("1.2.840.10045.2.1", Some("1.3.132.0.35")) => "ECDSA P-521".into(),
        ("1.2.840.10045.2.1", Some("1.3.132.0.10")) => "ECDSA secp256k1".into(),
        ("1.2.840.10045.2.1", Some(other)) => format!("ECDSA on curve OID {other}"),
        ("1.2.840.10045.2.1", None) => "ECDSA with explicit curve parameters".into(),
        ("1.3.101.112", _) => "Ed25519 (RFC 8410)".into(),
        ("1.3.6.1.4.1.11591.15.1", _) => "Ed25519 (Notary's encoding)".into(),
        ("1.3.101.113", _) => "Ed448".into(),
        ("1.2.840.10040.4.1", _) => "DSA".into(),
        (other, _) => format!("algorithm OID {other}"),
    }
}
