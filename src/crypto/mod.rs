//! Temporary stand-in until the real crypto module lands.
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{0}")]
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyType {
    Ecdsa,
    Rsa,
    Ed25519,
    EcdsaX509,
    RsaX509,
}

impl KeyType {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyType::Ecdsa => "ecdsa",
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaX509 => "ecdsa-x509",
            KeyType::RsaX509 => "rsa-x509",
        }
    }
    pub fn parse(s: &str) -> Result<KeyType, CryptoError> {
        Ok(match s {
            "ecdsa" => KeyType::Ecdsa,
            "rsa" => KeyType::Rsa,
            "ed25519" => KeyType::Ed25519,
            "ecdsa-x509" => KeyType::EcdsaX509,
            "rsa-x509" => KeyType::RsaX509,
            _ => return Err(CryptoError::Other(format!("unknown key type {s}"))),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);
impl KeyId {
    pub fn parse(s: &str) -> Result<KeyId, CryptoError> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(KeyId(s.into()))
        } else {
            Err(CryptoError::Other(format!("bad key id {s}")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    keytype: KeyType,
    public: Vec<u8>,
}
impl PublicKey {
    pub fn new(keytype: KeyType, public: Vec<u8>) -> Self {
        PublicKey { keytype, public }
    }
    pub fn from_b64(keytype: KeyType, s: &str) -> Result<Self, CryptoError> {
        let public = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| CryptoError::Other(e.to_string()))?;
        Ok(PublicKey { keytype, public })
    }
    pub fn keytype(&self) -> KeyType {
        self.keytype
    }
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }
    pub fn public_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.public)
    }
    pub fn id(&self) -> KeyId {
        let json = format!(
            r#"{{"keytype":"{}","keyval":{{"private":null,"public":"{}"}}}}"#,
            self.keytype.as_str(),
            self.public_b64()
        );
        KeyId(hex::encode(Sha256::digest(json.as_bytes())))
    }
    pub fn canonical_id(&self) -> Result<KeyId, CryptoError> {
        Ok(self.id())
    }
}

pub fn verify(
    _key: &PublicKey,
    _method: &str,
    _msg: &[u8],
    _sig: &[u8],
) -> Result<(), CryptoError> {
    Err(CryptoError::Other("stand-in".into()))
}
