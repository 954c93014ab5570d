//! The one error type of the crypto module.
//!
//! Every message says what is wrong and, where there is one, what to do about it. No variant
//! carries key material: private keys never reach an error, and public data is reduced to a
//! name, a size or a reason.

use super::KeyType;

/// Why a key, a signature or a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("key ID {0:?} is not valid: a key ID is 64 lowercase hex digits (a SHA-256)")]
    BadKeyId(String),

    #[error("unknown key type {0:?}: Notary knows ecdsa, rsa, ed25519, ecdsa-x509 and rsa-x509")]
    UnknownKeyType(String),

    #[error("{what} is not valid standard base64 (RFC 4648 with '=' padding)")]
    BadBase64 { what: &'static str },

    #[error("the {keytype} public key is malformed: {reason}")]
    MalformedKey { keytype: &'static str, reason: String },

    #[error(
        "unsupported key algorithm: {0}; Notary accepts ECDSA on P-256, P-384 or P-521 and \
         RSA of 2048 bits or more"
    )]
    UnsupportedKey(String),

    #[error(
        "the RSA key has {bits} bits; Notary refuses RSA keys shorter than 2048 bits: \
         use a key of 2048 bits or more"
    )]
    RsaTooShort { bits: usize },

    #[error(
        "cannot generate a {bits}-bit RSA key: choose {min} to {max} bits ({min} is Notary's \
         minimum; larger keys take very long to generate and slow every signature)"
    )]
    RsaGenerateSize { bits: usize, min: usize, max: usize },

    #[error(
        "unknown signature method {0:?}: Notary verifies ecdsa, rsapss, rsapkcs1v15 and eddsa"
    )]
    UnknownMethod(String),

    #[error("a signature with method {method:?} cannot come from a {keytype} key")]
    MethodMismatch { method: String, keytype: KeyType },

    #[error(
        "{method} signature is {found} bytes, expected {expected}{hint}",
        hint = if *method == "ecdsa" { " (Notary's ECDSA signatures are raw r||s, not DER)" }
               else { "" }
    )]
    SignatureLength { method: &'static str, expected: usize, found: usize },

    #[error("the {method} signature does not verify with this key over these bytes")]
    BadSignature { method: &'static str },

    #[error("malformed PEM: {0}")]
    Pem(String),

    #[error(
        "no PUBLIC KEY or CERTIFICATE block in the input: give a PEM public key or certificate"
    )]
    NoPublicKeyPem,

    #[error(
        "the input holds a private key ({label} block) where a public key or certificate is \
         expected: give the public half only (e.g. `openssl pkey -pubout`)"
    )]
    PrivateKeyGiven { label: String },

    #[error(
        "PEM block type {label:?} is not supported here: give a PUBLIC KEY or CERTIFICATE block"
    )]
    UnsupportedPem { label: String },

    #[error("the input holds {count} PUBLIC KEY blocks: give one key per file")]
    SeveralPublicKeys { count: usize },

    #[error(
        "the input holds both PUBLIC KEY and CERTIFICATE blocks: give a file with only one kind"
    )]
    MixedPem,

    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),

    #[error(
        "the certificates hold {count} non-CA certificates, so the leaf is ambiguous: \
         give the leaf certificate, optionally followed by CA certificates"
    )]
    AmbiguousLeaf { count: usize },

    #[error("every certificate given is a CA: Notary needs one non-CA (leaf) certificate")]
    NoLeaf,

    #[error("the leaf certificate {cn:?} must come first in the chain, before any CA certificate")]
    LeafNotFirst { cn: String },

    #[error(
        "certificate {cn:?} is a CA certificate; Notary needs a non-CA (leaf) certificate here"
    )]
    LeafIsCa { cn: String },

    #[error("a {keytype} key holds no certificate; this needs an ecdsa-x509 or rsa-x509 key")]
    NotCertificate { keytype: KeyType },

    #[error("the {keytype} key holds an {found} public key, which does not fit its key type")]
    CertKeyMismatch { keytype: KeyType, found: &'static str },

    #[error(
        "root certificate CN {cn:?} does not match GUN {gun:?}: the CN must equal the GUN \
         or be a prefix ending in '*'"
    )]
    CnMismatch { cn: String, gun: String },

    #[error("certificate {cn:?} expired at {not_after}: make a new certificate (rotate the key)")]
    CertExpired { cn: String, not_after: String },

    #[error(
        "certificate {cn:?} is not valid before {not_before}, more than one day from now: \
         check the clock of the machine that made it, and of this one"
    )]
    CertNotYetValid { cn: String, not_before: String },

    #[error("certificate {cn:?} has a validity window that ends before it starts")]
    CertValidityInverted { cn: String },

    #[error(
        "certificate {cn:?} uses the SHA-1 signature algorithm {algorithm}, which Notary \
         refuses: reissue it with SHA-256"
    )]
    Sha1Certificate { cn: String, algorithm: String },

    #[error(
        "intermediate certificate {cn:?} would be dropped by Notary ({reason}), which changes \
         the key ID of the chain: remove it or replace it"
    )]
    IntermediateRejected { cn: String, reason: String },

    #[error(
        "the certificate PEM is not in Go's encoding (64-column base64, LF line ends, trailing \
         newline, leaf first): Notary re-encodes it and would compute another key ID"
    )]
    NotGoPem,

    #[error("private key is malformed or unsupported: {0}")]
    BadPrivateKey(String),

    #[error(
        "no private key in the input ({found}): give a PEM file with one PRIVATE KEY, \
         ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block"
    )]
    NoPrivateKeyPem { found: String },

    #[error("the input holds {count} private keys: give one key per file")]
    SeveralPrivateKeys { count: usize },

    #[error(
        "PEM block type {label:?} is not a private key format airlock reads: convert it to \
         PKCS#8 (`openssl pkcs8 -topk8`)"
    )]
    UnsupportedPrivatePem { label: String },

    #[error("the private key is encrypted: a passphrase is needed to load it")]
    PassphraseRequired,

    #[error(
        "the private key cannot be decrypted with this passphrase: the passphrase is wrong \
         (or the file is damaged)"
    )]
    WrongPassphrase,

    #[error(
        "{scheme} is not supported for encrypted keys: re-encrypt the key with PBES2, e.g. \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    UnsupportedEncryption { scheme: String },

    #[error(
        "{keytype} private keys cannot be loaded yet: airlock signs with ECDSA P-256 keys and \
         RSA keys of 2048 bits or more"
    )]
    UnsupportedPrivateKey { keytype: String },

    #[error("signing failed: {0}")]
    Signing(String),

    #[error("cannot build the certificate: {0}")]
    CertificateBuild(String),
}
