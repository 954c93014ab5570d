//! X.509 certificates as Notary reads them: the facts it checks, and its checks on root and
//! delegation certificates (WIRE.md §4.2, §4.3; `tuf/utils/x509.go` ValidateCertificate,
//! `trustpinning/certs.go`).

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tag, Tagged};
use time::OffsetDateTime;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::Certificate;

use super::bare::BareKey;
use super::pem::{encode_go, parse_blocks};
use super::{CryptoError, PublicKey};

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// The signature algorithms Go maps to SHA1WithRSA, DSAWithSHA1 and ECDSAWithSHA1, which
/// Notary refuses. Other weak algorithms (MD5) are not refused by Notary and so not here.
const SHA1_SIGNATURES: [&str; 4] = [
    "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
    "1.3.14.3.2.29",        // sha1WithRSAEncryption (OIW), also SHA1WithRSA in Go
    "1.2.840.10040.4.3",    // dsa-with-SHA1
    "1.2.840.10045.4.1",    // ecdsa-with-SHA1
];

/// What a certificate says about itself, for display and for decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's common name (the last CN attribute, as Go reads it).
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// OpenSSL's name for the signature algorithm, e.g. `ecdsa-with-SHA256`, or the OID.
    pub signature_algorithm: String,
    /// Whether BasicConstraints says CA:TRUE.
    pub is_ca: bool,
    /// The subject key, as [`PublicKey::describe`] words it: `ecdsa P-256`, `rsa 2048`.
    pub key: String,
}

/// A parsed certificate with the fields Notary looks at.
#[derive(Clone, Debug)]
pub(crate) struct ParsedCert {
    pub der: Vec<u8>,
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub signature: ObjectIdentifier,
    pub is_ca: bool,
    pub key: BareKey,
}

impl ParsedCert {
    /// Parses a DER certificate whose key Notary can use (ECDSA or RSA).
    pub(crate) fn from_der(der: &[u8]) -> Result<ParsedCert, CryptoError> {
        let cert =
            Certificate::from_der(der).map_err(|e| malformed(format!("not DER X.509: {e}")))?;
        let tbs = &cert.tbs_certificate;

        // Go's x509.ParseCertificate refuses a certificate whose two algorithm fields differ.
        if tbs.signature != cert.signature_algorithm {
            return Err(malformed("the inner and outer signature algorithms differ".into()));
        }

        let spki = tbs.subject_public_key_info.to_der().map_err(|e| malformed(e.to_string()))?;
        Ok(ParsedCert {
            der: der.to_vec(),
            common_name: common_name(&tbs.subject)?,
            not_before: to_offset(tbs.validity.not_before)?,
            not_after: to_offset(tbs.validity.not_after)?,
            signature: cert.signature_algorithm.oid,
            is_ca: is_ca(&cert)?,
            key: BareKey::from_spki_der(&spki)?,
        })
    }

    pub(crate) fn info(&self) -> CertInfo {
        CertInfo {
            common_name: self.common_name.clone(),
            not_before: self.not_before,
            not_after: self.not_after,
            signature_algorithm: algorithm_name(&self.signature),
            is_ca: self.is_ca,
            key: self.key.describe(),
        }
    }

    /// Notary's `ValidateCertificate(cert, checkExpiry)`: a sane validity window, no SHA-1,
    /// RSA of at least 2048 bits and, when `now` is given, not expired and starting no more
    /// than one day in the future.
    pub(crate) fn validate(&self, now: Option<OffsetDateTime>) -> Result<(), CryptoError> {
        let cn = || self.common_name.clone();
        if self.not_before > self.not_after {
            return Err(CryptoError::CertValidityInverted { cn: cn() });
        }

        if SHA1_SIGNATURES.contains(&self.signature.to_string().as_str()) {
            let algorithm = algorithm_name(&self.signature);
            return Err(CryptoError::Sha1Certificate { cn: cn(), algorithm });
        }

        self.key.check_size()?;

        let Some(now) = now else { return Ok(()) };
        if now > self.not_after {
            return Err(CryptoError::CertExpired { cn: cn(), not_after: rfc3339(self.not_after) });
        }
        if self.not_before > now + time::Duration::days(1) {
            let not_before = rfc3339(self.not_before);
            return Err(CryptoError::CertNotYetValid { cn: cn(), not_before });
        }
        Ok(())
    }
}

/// Reads one certificate, PEM (the first CERTIFICATE block) or DER, and says what it holds.
pub fn certificate_info(pem_or_der: &[u8]) -> Result<CertInfo, CryptoError> {
    let is_pem = pem_or_der.windows(10).any(|w| w == b"-----BEGIN");
    let cert = if is_pem { leaf_of(pem_or_der)? } else { ParsedCert::from_der(pem_or_der)? };
    Ok(cert.info())
}

/// Notary's checks on a root key (WIRE.md §4.2), which the server applies on upload and
/// clients on download:
/// * the key is `ecdsa-x509` or `rsa-x509`;
/// * the chain is exactly one non-CA leaf, first, then CA intermediates;
/// * the leaf's CN equals the GUN, or is a prefix ending in `*`;
/// * leaf and intermediates pass `ValidateCertificate` with expiry at `now` (Notary drops a
///   failing intermediate, which changes the chain's key ID, so that is refused here);
/// * `public` is the Go-style PEM of that chain, since Notary recomputes the key ID from a
///   re-encoded PEM (pitfall 8).
pub fn check_root_certificate(
    key: &PublicKey,
    gun: &str,
    now: OffsetDateTime,
) -> Result<CertInfo, CryptoError> {
    if !key.keytype().is_x509() {
        return Err(CryptoError::NotCertificate { keytype: key.keytype() });
    }
    let chain = chain_of(key.public_bytes())?;
    let leaf = root_leaf(&chain)?;
    key.leaf_key()?;

    if !cn_matches_gun(&leaf.common_name, gun) {
        let (cn, gun) = (leaf.common_name.clone(), gun.to_string());
        return Err(CryptoError::CnMismatch { cn, gun });
    }
    leaf.validate(Some(now))?;
    for int in &chain[1..] {
        int.validate(Some(now)).map_err(|e| CryptoError::IntermediateRejected {
            cn: int.common_name.clone(),
            reason: e.to_string(),
        })?;
    }

    let go_pem: String = chain.iter().map(|c| encode_go("CERTIFICATE", &c.der)).collect();
    if go_pem.as_bytes() != key.public_bytes() {
        return Err(CryptoError::NotGoPem);
    }
    Ok(leaf.info())
}

/// Notary's checks on a delegation certificate (WIRE.md §4.3): `ValidateCertificate` on the
/// first certificate, with expiry only when `check_expiry` is set.
///
/// `notary delegation add` checks expiry; reading metadata does not (`tuf/tuf.go`, pitfall
/// 14), so pass `false` when verifying. There is no CN, key-usage or CA check: a self-signed
/// CA certificate was accepted as a delegation key by notary.
pub fn check_delegation_certificate(
    key: &PublicKey,
    now: OffsetDateTime,
    check_expiry: bool,
) -> Result<CertInfo, CryptoError> {
    let leaf = key.leaf()?;
    key.leaf_key()?;
    leaf.validate(check_expiry.then_some(now))?;
    Ok(leaf.info())
}

/// Notary's `matchCNToGun`: a CN ending in `*` matches every GUN that starts with the CN
/// without its trailing stars; any other CN must equal the GUN.
pub fn cn_matches_gun(cn: &str, gun: &str) -> bool {
    match cn.strip_suffix('*') {
        Some(_) => gun.starts_with(cn.trim_end_matches('*')),
        None => cn == gun,
    }
}

/// The first CERTIFICATE block of a PEM text, parsed.
pub(crate) fn leaf_of(pem: &[u8]) -> Result<ParsedCert, CryptoError> {
    let blocks = parse_blocks(pem)?;
    let first = blocks.iter().find(|b| b.label == "CERTIFICATE");
    let block = first.ok_or_else(|| malformed("no CERTIFICATE block in the PEM".into()))?;
    ParsedCert::from_der(&block.der)
}

/// Every block of a PEM certificate bundle, which must all be certificates (Notary's
/// `LoadCertBundleFromPEM`).
pub(crate) fn chain_of(pem: &[u8]) -> Result<Vec<ParsedCert>, CryptoError> {
    let blocks = parse_blocks(pem)?;
    if blocks.is_empty() {
        return Err(malformed("no CERTIFICATE block in the PEM".into()));
    }

    let parse = |b: &super::pem::PemBlock| match b.label.as_str() {
        "CERTIFICATE" => ParsedCert::from_der(&b.der),
        other => Err(malformed(format!("a {other:?} block in a certificate bundle"))),
    };
    blocks.iter().map(parse).collect()
}

/// The single non-CA certificate of a root chain, which must come first.
fn root_leaf(chain: &[ParsedCert]) -> Result<&ParsedCert, CryptoError> {
    let leaves: Vec<&ParsedCert> = chain.iter().filter(|c| !c.is_ca).collect();
    match (leaves.as_slice(), chain) {
        ([], [only]) => Err(CryptoError::LeafIsCa { cn: only.common_name.clone() }),
        ([], _) => Err(CryptoError::NoLeaf),
        ([leaf], [first, ..]) if first.is_ca => {
            Err(CryptoError::LeafNotFirst { cn: leaf.common_name.clone() })
        }
        ([leaf], _) => Ok(leaf),
        (many, _) => Err(CryptoError::AmbiguousLeaf { count: many.len() }),
    }
}

/// The subject CN as Go's `pkix.Name` reads it: the last CN attribute in the name.
fn common_name(name: &x509_cert::name::Name) -> Result<String, CryptoError> {
    let mut cns = name.0.iter().flat_map(|rdn| rdn.0.iter()).filter(|a| a.oid == OID_COMMON_NAME);
    match cns.next_back() {
        Some(atv) => directory_string(&atv.value),
        None => Ok(String::new()),
    }
}

/// Decodes the string types Go's certificate parser accepts in names.
fn directory_string(value: &der::Any) -> Result<String, CryptoError> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::TeletexString => String::from_utf8(bytes.to_vec())
            .map_err(|_| malformed("the common name is not valid text".into())),
        Tag::BmpString => bmp_string(bytes),
        other => Err(malformed(format!("the common name has the unsupported type {other}"))),
    }
}

fn bmp_string(bytes: &[u8]) -> Result<String, CryptoError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(malformed("the common name is an odd-length BMPString".into()));
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| malformed("the common name is not valid UTF-16".into()))
}

/// CA:TRUE in BasicConstraints (Go's `IsCA`).
fn is_ca(cert: &Certificate) -> Result<bool, CryptoError> {
    let bc = cert
        .tbs_certificate
        .get::<BasicConstraints>()
        .map_err(|e| malformed(format!("bad BasicConstraints extension: {e}")))?;
    Ok(bc.is_some_and(|(_, bc)| bc.ca))
}

fn to_offset(t: x509_cert::time::Time) -> Result<OffsetDateTime, CryptoError> {
    let secs = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| malformed("a validity date is out of range".into()))?;
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| malformed("a validity date is out of range".into()))
}

/// OpenSSL's names for the signature algorithms one meets in Notary certificates.
fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let dotted = oid.to_string();
    let name = match dotted.as_str() {
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "1.3.101.112" => "ED25519",
        _ => return dotted,
    };
    name.to_string()
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn malformed(reason: String) -> CryptoError {
    CryptoError::MalformedCertificate(reason)
}
