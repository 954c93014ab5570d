//! Key types, key IDs and public keys as they appear in Notary metadata (WIRE.md §2).

use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::bare::BareKey;
use super::cert::{leaf_of, ParsedCert};
use super::CryptoError;

/// The `keytype` of a Notary key object (`tuf/data/types.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// DER SubjectPublicKeyInfo of an ECDSA key.
    Ecdsa,
    /// DER SubjectPublicKeyInfo of an RSA key.
    Rsa,
    /// The raw 32-byte public key.
    Ed25519,
    /// The PEM text of an ECDSA certificate chain, leaf first.
    EcdsaX509,
    /// The PEM text of an RSA certificate chain, leaf first.
    RsaX509,
}

impl KeyType {
    /// The name written in `keytype`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Ecdsa => "ecdsa",
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaX509 => "ecdsa-x509",
            KeyType::RsaX509 => "rsa-x509",
        }
    }

    /// Parses a `keytype`. Notary compares these exactly, so no case folding.
    pub fn parse(s: &str) -> Result<KeyType, CryptoError> {
        match s {
            "ecdsa" => Ok(KeyType::Ecdsa),
            "rsa" => Ok(KeyType::Rsa),
            "ed25519" => Ok(KeyType::Ed25519),
            "ecdsa-x509" => Ok(KeyType::EcdsaX509),
            "rsa-x509" => Ok(KeyType::RsaX509),
            other => Err(CryptoError::UnknownKeyType(other.to_string())),
        }
    }

    /// Whether `public` holds certificates.
    pub fn is_x509(self) -> bool {
        matches!(self, KeyType::EcdsaX509 | KeyType::RsaX509)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for KeyType {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::parse(s)
    }
}

/// A key ID: the lowercase hex SHA-256 of the key object's canonical JSON (WIRE.md §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The number of characters docker shows in its tables.
    pub const SHORT_LEN: usize = 12;

    /// Parses a key ID: exactly 64 lowercase hex digits. Notary compares IDs as strings, so
    /// uppercase hex would name a different (non-existent) key and is refused.
    pub fn parse(s: &str) -> Result<KeyId, CryptoError> {
        let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if s.len() == 64 && s.bytes().all(is_hex) {
            Ok(KeyId(s.to_string()))
        } else {
            Err(CryptoError::BadKeyId(s.to_string()))
        }
    }

    /// The ID of the SHA-256 digest `digest`.
    pub(crate) fn from_digest(digest: &[u8]) -> KeyId {
        KeyId(hex::encode(digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as `docker trust inspect` prints them.
    pub fn short(&self) -> &str {
        self.prefix(Self::SHORT_LEN)
    }

    /// The first `n` characters (all 64 if `n` is larger).
    pub fn prefix(&self, n: usize) -> &str {
        &self.0[..n.min(self.0.len())]
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for KeyId {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyId::parse(s)
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A public key as Notary stores it: a key type and the base64-decoded `keyval.public`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PublicKey {
    keytype: KeyType,
    public: Vec<u8>,
}

impl PublicKey {
    /// Wraps bytes as they are; nothing is checked until the key is used.
    pub fn new(keytype: KeyType, public: Vec<u8>) -> PublicKey {
        PublicKey { keytype, public }
    }

    /// From the base64 `keyval.public` of a key object.
    pub fn from_b64(keytype: KeyType, public: &str) -> Result<PublicKey, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(public)
            .map_err(|_| CryptoError::BadBase64 { what: "keyval.public" })?;
        Ok(PublicKey::new(keytype, bytes))
    }

    pub fn keytype(&self) -> KeyType {
        self.keytype
    }

    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    /// `keyval.public`: standard padded base64 (WIRE.md §2.1).
    pub fn public_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.public)
    }

    /// The TUF key ID: SHA-256 of `{"keytype":T,"keyval":{"private":null,"public":B64}}`.
    ///
    /// This is the canonical JSON of the key object (`tuf/data/keys.go`, TUFKey.ID). Neither
    /// the key type nor standard base64 ever needs escaping, so the bytes are written directly.
    pub fn id(&self) -> KeyId {
        let json = format!(
            r#"{{"keytype":"{}","keyval":{{"private":null,"public":"{}"}}}}"#,
            self.keytype,
            self.public_b64()
        );
        KeyId::from_digest(&Sha256::digest(json.as_bytes()))
    }

    /// The ID Notary's key files and listings use (WIRE.md §2.3): for an x509 key, the ID of
    /// the bare key made from the leaf certificate's public key; otherwise [`PublicKey::id`].
    pub fn canonical_id(&self) -> Result<KeyId, CryptoError> {
        Ok(self.bare()?.id())
    }

    /// The bare `ecdsa` / `rsa` key of an x509 key's leaf certificate, re-encoded as Go's
    /// `x509.MarshalPKIXPublicKey` writes it (`tuf/utils/x509.go`, X509PublicKeyID). Other
    /// key types are returned unchanged.
    pub fn bare(&self) -> Result<PublicKey, CryptoError> {
        if !self.keytype.is_x509() {
            return Ok(self.clone());
        }

        let key = self.leaf_key()?;
        let keytype = if matches!(key, BareKey::Rsa(_)) { KeyType::Rsa } else { KeyType::Ecdsa };
        Ok(PublicKey::new(keytype, key.to_spki_der()?))
    }

    /// The `PUBLIC KEY` PEM of a bare key (an x509 key's leaf key), as `openssl pkey -pubout`
    /// writes it: what `key generate` hands to signers and what `signer add` reads back.
    pub fn to_public_pem(&self) -> Result<String, CryptoError> {
        let bare = self.bare()?;
        if bare.keytype == KeyType::Ed25519 {
            return Err(CryptoError::NotCertificate { keytype: bare.keytype });
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bare.public);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        Ok(pem)
    }

    /// Checks that the key content is a usable key of its declared type: a valid Ed25519
    /// point, a Go-canonical SPKI, or a readable certificate. Used on keys that arrive from
    /// the server before they are copied into a root.
    pub fn check(&self) -> Result<(), CryptoError> {
        if self.keytype != KeyType::Ed25519 {
            return self.leaf_key().map(|_| ());
        }
        let bytes: [u8; 32] = self.public.as_slice().try_into().map_err(|_| {
            CryptoError::UnsupportedKey(format!(
                "an ed25519 key is 32 bytes, this one {}",
                self.public.len()
            ))
        })?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(|_| ())
            .map_err(|_| CryptoError::UnsupportedKey("not a valid ed25519 point".into()))
    }

    /// A short human description: `ecdsa P-256`, `rsa 2048`, `ed25519`,
    /// `ecdsa-x509 P-256 CN=example.com/app`.
    pub fn describe(&self) -> String {
        match self.keytype {
            KeyType::Ed25519 => "ed25519".to_string(),
            KeyType::Ecdsa | KeyType::Rsa => match BareKey::from_spki_der(&self.public) {
                Ok(key) => key.describe(),
                Err(_) => format!("{} (unreadable key)", self.keytype),
            },
            KeyType::EcdsaX509 | KeyType::RsaX509 => match self.leaf() {
                Ok(cert) => {
                    let curve = cert.key.describe();
                    let size = curve.split_once(' ').map_or("", |(_, size)| size);
                    format!("{} {} CN={}", self.keytype, size, cert.common_name)
                }
                Err(_) => format!("{} (unreadable certificate)", self.keytype),
            },
        }
    }

    /// The leaf certificate of an x509 key: the first CERTIFICATE block, as Notary's
    /// verifiers and `LoadCertFromPEM` take it.
    pub(crate) fn leaf(&self) -> Result<ParsedCert, CryptoError> {
        if !self.keytype.is_x509() {
            return Err(CryptoError::NotCertificate { keytype: self.keytype });
        }
        leaf_of(&self.public)
    }

    /// The parsed ECDSA / RSA key behind an `ecdsa`, `rsa` or x509 key, checked against the
    /// declared key type.
    pub(crate) fn leaf_key(&self) -> Result<BareKey, CryptoError> {
        let key = match self.keytype {
            KeyType::Ed25519 => {
                let why = "an ed25519 key has no SubjectPublicKeyInfo".to_string();
                return Err(CryptoError::UnsupportedKey(why));
            }
            KeyType::Ecdsa | KeyType::Rsa => self.strict_spki()?,
            KeyType::EcdsaX509 | KeyType::RsaX509 => self.leaf()?.key,
        };

        let expected = match self.keytype {
            KeyType::Ecdsa | KeyType::EcdsaX509 => "ecdsa",
            _ => "rsa",
        };
        if key.family() != expected {
            return Err(CryptoError::CertKeyMismatch {
                keytype: self.keytype,
                found: key.family(),
            });
        }
        Ok(key)
    }

    /// Parses a bare key's DER and insists it is already in the one form Go's x509 parser
    /// accepts (RSA with NULL parameters, a named curve, an uncompressed point), so nothing
    /// verifies here that Notary would refuse to parse.
    fn strict_spki(&self) -> Result<BareKey, CryptoError> {
        let key = BareKey::from_spki_der(&self.public)?;
        if key.to_spki_der()? != self.public {
            return Err(CryptoError::MalformedKey {
                keytype: self.keytype.as_str(),
                reason: "the DER is not in the form Go writes and reads".into(),
            });
        }
        Ok(key)
    }
}
