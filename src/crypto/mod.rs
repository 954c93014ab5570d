//! Keys, key IDs, signatures and certificates, byte for byte as Notary v0.7 writes and
//! checks them.
//!
//! * [`PublicKey`], [`KeyType`], [`KeyId`]: key objects and their two IDs (WIRE.md §2).
//! * [`verify`]: the signature methods `ecdsa`, `rsapss`, `rsapkcs1v15` and `eddsa` (§3).
//! * [`SigningKey`]: P-256 (and loaded RSA) keys that sign as Notary does.
//! * [`load_private_pem`]: private key files, plain or encrypted, as `docker trust key load`
//!   and `notary key import` read them (§8).
//! * [`parse_public_pem`]: public keys and certificates from PEM files, as `notary delegation
//!   add` and `docker trust signer add` read them (§4.3).
//! * [`root_certificate`], [`check_root_certificate`], [`check_delegation_certificate`]:
//!   Notary's root certificate template and its certificate rules (§4.1, §4.2).

mod bare;
mod cert;
mod error;
mod import;
mod key;
mod pbe;
mod pem;
mod privkey;
mod rootcert;
mod signing;
mod verify;

pub use cert::{
    certificate_info, check_delegation_certificate, check_root_certificate, cn_matches_gun,
    CertInfo,
};
pub use error::CryptoError;
pub use import::parse_public_pem;
pub use key::{KeyId, KeyType, PublicKey};
pub use privkey::{is_encrypted_private_pem, load_private_pem, LoadedKey};
pub use rootcert::{root_certificate, ROOT_CERT_DAYS};
pub use signing::{check_rsa_generate_bits, SigningKey, MAX_GENERATED_RSA_BITS};
pub use verify::verify;
