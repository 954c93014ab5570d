//! Bare public keys: the SubjectPublicKeyInfo inside an `ecdsa` / `rsa` key object or inside a
//! certificate, parsed and re-encoded the way Go's `x509.MarshalPKIXPublicKey` writes it.
//!
//! The re-encoding matters because key IDs hash these bytes (WIRE.md §2.2, §2.3): Notary's
//! canonical ID re-marshals the certificate's key (`tuf/utils/x509.go`, X509PublicKeyID), so a
//! different but valid encoding of the same key would give a different ID.

use der::asn1::{AnyRef, BitString, ObjectIdentifier, UintRef};
use der::{Decode, Encode};
use rsa::traits::PublicKeyParts;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};

use super::CryptoError;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Notary's minimum RSA modulus (`notary.MinRSABitSize`).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus accepted. Go sets no limit; the `rsa` crate's default of 4096 would
/// refuse keys Notary takes, so allow up to 16384 bits.
pub(crate) const MAX_RSA_BITS: usize = 16384;

/// A parsed ECDSA or RSA public key.
#[derive(Clone)]
pub(crate) enum BareKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl BareKey {
    /// Parses a DER SubjectPublicKeyInfo as Go's `x509.ParsePKIXPublicKey` would for the key
    /// types Notary can use: ECDSA on a named NIST curve with an uncompressed point, or RSA.
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<BareKey, CryptoError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| malformed("public key", format!("not a DER SubjectPublicKeyInfo: {e}")))?;
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
            malformed("public key", "the key bit string has unused bits".to_string())
        })?;

        let oid = spki.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            parse_ec(spki.algorithm.parameters, bits)
        } else if oid == OID_RSA_ENCRYPTION {
            parse_rsa(spki.algorithm.parameters, bits)
        } else if oid == OID_ED25519 {
            Err(CryptoError::UnsupportedKey(
                "Ed25519 in a SubjectPublicKeyInfo (Notary takes ed25519 keys only as raw \
                 32-byte keys made by its server)"
                    .to_string(),
            ))
        } else {
            Err(CryptoError::UnsupportedKey(format!("algorithm OID {oid}")))
        }
    }

    /// The DER SubjectPublicKeyInfo as Go writes it: `id-ecPublicKey` with the named curve
    /// and an uncompressed point, or `rsaEncryption` with NULL parameters.
    pub(crate) fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        let (oid, params, key) = match self {
            BareKey::P256(k) => ec_parts(OID_P256, k.to_encoded_point(false).as_bytes())?,
            BareKey::P384(k) => ec_parts(OID_P384, k.to_encoded_point(false).as_bytes())?,
            BareKey::P521(k) => ec_parts(OID_P521, k.to_encoded_point(false).as_bytes())?,
            BareKey::Rsa(k) => (OID_RSA_ENCRYPTION, der::Any::null(), rsa_key_bits(k)?),
        };

        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned { oid, parameters: Some(params) },
            subject_public_key: BitString::from_bytes(&key).map_err(encoding)?,
        };
        spki.to_der().map_err(encoding)
    }

    /// `ecdsa` or `rsa`: the bare Notary key type for this key.
    pub(crate) fn family(&self) -> &'static str {
        match self {
            BareKey::Rsa(_) => "rsa",
            _ => "ecdsa",
        }
    }

    /// Human description: `ecdsa P-256`, `rsa 2048`.
    pub(crate) fn describe(&self) -> String {
        match self {
            BareKey::P256(_) => "ecdsa P-256".to_string(),
            BareKey::P384(_) => "ecdsa P-384".to_string(),
            BareKey::P521(_) => "ecdsa P-521".to_string(),
            BareKey::Rsa(k) => format!("rsa {}", k.n().bits()),
        }
    }

    /// Refuses RSA keys below Notary's minimum.
    pub(crate) fn check_size(&self) -> Result<(), CryptoError> {
        match self {
            BareKey::Rsa(k) if k.n().bits() < MIN_RSA_BITS => {
                Err(CryptoError::RsaTooShort { bits: k.n().bits() })
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Debug for BareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_ec(params: Option<AnyRef<'_>>, point: &[u8]) -> Result<BareKey, CryptoError> {
    let curve = params
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| malformed("ecdsa", "the curve is not given as a named curve".into()))?;

    // Go's x509 only takes uncompressed points (elliptic.Unmarshal), so refuse the rest too.
    if point.first() != Some(&0x04) {
        return Err(malformed("ecdsa", "the point is not in uncompressed form".into()));
    }

    let bad_point = |_| malformed("ecdsa", "the point is not on the curve".into());
    match curve {
        c if c == OID_P256 => {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map(BareKey::P256).map_err(bad_point)
        }
        c if c == OID_P384 => {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map(BareKey::P384).map_err(bad_point)
        }
        c if c == OID_P521 => {
            p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map(BareKey::P521).map_err(bad_point)
        }
        other => Err(CryptoError::UnsupportedKey(format!("ECDSA on the curve with OID {other}"))),
    }
}

/// Parses an RSA key. The parameters must be NULL or absent; the re-encoding writes NULL, as
/// Go does.
fn parse_rsa(params: Option<AnyRef<'_>>, bits: &[u8]) -> Result<BareKey, CryptoError> {
    if params.is_some_and(|p| !p.is_null()) {
        return Err(malformed("rsa", "the algorithm parameters are not NULL".into()));
    }

    let pkcs1 = rsa::pkcs1::RsaPublicKey::from_der(bits)
        .map_err(|e| malformed("rsa", format!("not a PKCS#1 RSAPublicKey: {e}")))?;
    let n = rsa::BigUint::from_bytes_be(pkcs1.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(pkcs1.public_exponent.as_bytes());

    rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
        .map(BareKey::Rsa)
        .map_err(|e| malformed("rsa", e.to_string()))
}

type SpkiParts = (ObjectIdentifier, der::Any, Vec<u8>);

fn ec_parts(curve: ObjectIdentifier, point: &[u8]) -> Result<SpkiParts, CryptoError> {
    let params = der::Any::encode_from(&curve).map_err(encoding)?;
    Ok((OID_EC_PUBLIC_KEY, params, point.to_vec()))
}

fn rsa_key_bits(key: &rsa::RsaPublicKey) -> Result<Vec<u8>, CryptoError> {
    let n = key.n().to_bytes_be();
    let e = key.e().to_bytes_be();
    let pkcs1 = rsa::pkcs1::RsaPublicKey {
        modulus: UintRef::new(&n).map_err(encoding)?,
        public_exponent: UintRef::new(&e).map_err(encoding)?,
    };
    pkcs1.to_der().map_err(encoding)
}

fn encoding(e: der::Error) -> CryptoError {
    CryptoError::MalformedKey { keytype: "public key", reason: format!("cannot encode: {e}") }
}

fn malformed(keytype: &'static str, reason: String) -> CryptoError {
    CryptoError::MalformedKey { keytype, reason }
}
