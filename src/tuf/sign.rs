//! Signing a role: canonical bytes, signatures, Go's file form.

use crate::crypto::CryptoError;
use crate::tuf::cjson;
use crate::tuf::metadata::{envelope, Canonical, RoleType, Signature, Signed};

/// Something that signs canonical bytes for a role. Software keys now; hardware tokens
/// (PKCS#11) can implement it later without the metadata code changing.
pub trait Signer {
    /// The key ID the role lists, written as the signature's `keyid` (for a root key the
    /// certificate's TUF ID, not the bare key's, WIRE.md §2.3).
    fn key_id(&self) -> String;
    /// `ecdsa`, `rsapss` or `eddsa`.
    fn method(&self) -> &'static str;
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{role}: a string holds a control character ({text:?}); Notary cannot publish it")]
    ControlChar { role: String, text: String },
    #[error("{role}: signing with key {key_id} failed: {source}")]
    Crypto { role: String, key_id: String, source: CryptoError },
}

/// Signs `signed` with every signer and returns the file Notary would write.
pub fn sign<T: RoleType>(
    signed: T,
    signers: &[&dyn Signer],
    role: &str,
) -> Result<Signed<T>, SignError> {
    let value = signed.to_value();
    if let Some(text) = value.find_control_char() {
        let (role, text) = (role.to_string(), text.to_string());
        return Err(SignError::ControlChar { role, text });
    }
    let canonical = cjson::canonical(&value);

    let mut signatures = Vec::with_capacity(signers.len());
    for signer in signers {
        let sig = signer.sign(&canonical).map_err(|source| SignError::Crypto {
            role: role.to_string(),
            key_id: signer.key_id(),
            source,
        })?;
        let method = signer.method().to_string();
        signatures.push(Signature { keyid: signer.key_id(), method, sig });
    }

    let bytes = envelope(&canonical, &signatures);
    Ok(Signed::new(signed, signatures, Canonical::Owned(canonical), bytes))
}
