//! The root certificate Notary makes for a root key (WIRE.md §4.1; `tuf/utils/x509.go`
//! NewCertificate, `cryptoservice/certificate.go`).
//!
//! The TBSCertificate is built field by field rather than with `x509-cert`'s builder, which
//! adds Subject and Authority Key Identifiers that Notary's certificates do not have.

use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Tag};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::{Duration, OffsetDateTime, UtcOffset};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use super::pem::encode_go;
use super::{CryptoError, KeyType, PublicKey, SigningKey};

/// Notary's root certificates last 10 x 365 days (`notary.Year * 10`), not calendar years.
pub const ROOT_CERT_DAYS: i64 = 3650;

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// KeyUsage digitalSignature + keyEncipherment: BIT STRING, 5 unused bits, `1010 0000`.
const KEY_USAGE_DER: [u8; 4] = [0x03, 0x02, 0x05, 0xa0];
/// ExtendedKeyUsage: SEQUENCE { id-kp-codeSigning (1.3.6.1.5.5.7.3.3) }.
const EXT_KEY_USAGE_DER: [u8; 12] =
    [0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// BasicConstraints CA:FALSE: an empty SEQUENCE, since FALSE is the DER default.
const BASIC_CONSTRAINTS_DER: [u8; 2] = [0x30, 0x00];

/// Makes the self-signed root certificate Notary would make for `key` and `gun`, valid from
/// `not_before` (truncated to the second) for 3650 days, and returns it as the `ecdsa-x509`
/// key that goes into root.json.
///
/// Subject and issuer are `CN=<gun>` alone; the serial is a random positive integer below
/// 2^128; the extensions are KeyUsage (critical), ExtendedKeyUsage codeSigning and
/// BasicConstraints CA:FALSE (critical), in Go's order.
pub fn root_certificate(
    key: &SigningKey,
    gun: &str,
    not_before: OffsetDateTime,
) -> Result<PublicKey, CryptoError> {
    let tbs = root_tbs(key, gun, not_before, random_serial()?)?;
    let tbs_der = tbs.to_der().map_err(build_error)?;

    let signature = key.sign_der(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_with_sha256(),
        signature: BitString::from_bytes(&signature).map_err(build_error)?,
    };

    let der = cert.to_der().map_err(build_error)?;
    Ok(PublicKey::new(KeyType::EcdsaX509, encode_go("CERTIFICATE", &der).into_bytes()))
}

/// The TBSCertificate of Notary's root certificate template.
pub(crate) fn root_tbs(
    key: &SigningKey,
    gun: &str,
    not_before: OffsetDateTime,
    serial: SerialNumber,
) -> Result<TbsCertificate, CryptoError> {
    let name = common_name(gun)?;
    let start = not_before
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| CryptoError::CertificateBuild("the start time cannot be truncated".into()))?;
    let end = start + Duration::days(ROOT_CERT_DAYS);

    let spki = SubjectPublicKeyInfoOwned::from_der(key.public_key().public_bytes())
        .map_err(build_error)?;
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: serial,
        signature: ecdsa_with_sha256(),
        issuer: name.clone(),
        validity: Validity { not_before: x509_time(start)?, not_after: x509_time(end)? },
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions()?),
    })
}

/// `CN=<gun>`, typed as Go's encoding/asn1 types an untagged string: PrintableString when
/// every character is in its set, UTF8String otherwise (so a GUN with `_` or `*` is UTF8).
fn common_name(gun: &str) -> Result<Name, CryptoError> {
    if gun.is_empty() {
        return Err(CryptoError::CertificateBuild("the GUN (the certificate CN) is empty".into()));
    }

    let tag = if gun.bytes().all(go_printable) { Tag::PrintableString } else { Tag::Utf8String };
    let value = der::Any::new(tag, gun.as_bytes()).map_err(build_error)?;
    let atv = AttributeTypeAndValue { oid: OID_COMMON_NAME, value };

    let rdn = SetOfVec::try_from(vec![atv]).map_err(build_error)?;
    Ok(RdnSequence(vec![RelativeDistinguishedName(rdn)]))
}

/// Go's `isPrintable` as the encoder calls it: no `*` and no `&`.
fn go_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// UTCTime before 2050 and GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5, and Go).
fn x509_time(t: OffsetDateTime) -> Result<Time, CryptoError> {
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| CryptoError::CertificateBuild("dates before 1970 are not supported".into()))?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(build_error)?;

    if t.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt).map_err(build_error)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn extensions() -> Result<Vec<Extension>, CryptoError> {
    let ext = |oid, critical, value: &[u8]| -> Result<Extension, CryptoError> {
        let extn_value = OctetString::new(value).map_err(build_error)?;
        Ok(Extension { extn_id: oid, critical, extn_value })
    };
    Ok(vec![
        ext(OID_KEY_USAGE, true, &KEY_USAGE_DER)?,
        ext(OID_EXT_KEY_USAGE, false, &EXT_KEY_USAGE_DER)?,
        ext(OID_BASIC_CONSTRAINTS, true, &BASIC_CONSTRAINTS_DER)?,
    ])
}

/// A random serial in [1, 2^128), as Go's `rand.Int(rand.Reader, 2^128)` (zero is redrawn).
fn random_serial() -> Result<SerialNumber, CryptoError> {
    use rand_core::RngCore;

    let mut bytes = [0u8; 16];
    loop {
        rand_core::OsRng.fill_bytes(&mut bytes);
        if bytes.iter().any(|&b| b != 0) {
            return SerialNumber::new(&bytes).map_err(build_error);
        }
    }
}

fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: OID_ECDSA_WITH_SHA256, parameters: None }
}

fn build_error(e: der::Error) -> CryptoError {
    CryptoError::CertificateBuild(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::pem::parse_blocks;

    const NOTARY_CERT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/keys/notary_generated_root_cert_repo1_v1.pem"
    ));
    const NOTARY_ROOT_KEY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/privkeys/notary_root_repo1_12da8df0.pkcs8.der"
    ));

    /// With notary's key, serial and start time, our TBSCertificate is notary's, byte for byte.
    #[test]
    fn tbs_matches_notary_generated_certificate() {
        let der = &parse_blocks(NOTARY_CERT).unwrap()[0].der;
        let notary = Certificate::from_der(der).unwrap();
        let key = SigningKey::from_pkcs8_der(NOTARY_ROOT_KEY).unwrap();

        let not_before = OffsetDateTime::from_unix_timestamp(
            notary.tbs_certificate.validity.not_before.to_unix_duration().as_secs() as i64,
        )
        .unwrap();
        let ours = root_tbs(
            &key,
            "example.com/test/repo1",
            not_before + Duration::milliseconds(789),
            notary.tbs_certificate.serial_number.clone(),
        )
        .unwrap();

        assert_eq!(ours.to_der().unwrap(), notary.tbs_certificate.to_der().unwrap());
    }

    #[test]
    fn string_type_follows_go() {
        let der_of = |gun: &str| common_name(gun).unwrap().to_der().unwrap();
        let printable = der_of("example.com/a-b:5000/x");
        let utf8 = der_of("example.com/my_repo");
        let star = der_of("example.com/*");

        // The name ends in `<tag> <len> <value>`.
        let tag = |der: &[u8], gun: &str| der[der.len() - gun.len() - 2];
        assert_eq!(tag(&printable, "example.com/a-b:5000/x"), 0x13);
        assert_eq!(tag(&utf8, "example.com/my_repo"), 0x0c);
        assert_eq!(tag(&star, "example.com/*"), 0x0c);
    }

    #[test]
    fn time_types_switch_in_2050() {
        let t = |y: i32| {
            let d = time::Date::from_calendar_date(y, time::Month::January, 1).unwrap();
            x509_time(d.midnight().assume_utc()).unwrap()
        };
        assert!(matches!(t(2049), Time::UtcTime(_)));
        assert!(matches!(t(2050), Time::GeneralTime(_)));
    }

    #[test]
    fn serials_are_positive_and_at_most_16_bytes() {
        for _ in 0..64 {
            let serial = random_serial().unwrap();
            let encoded = serial.to_der().unwrap();
            // INTEGER, length <= 17 (a leading 0x00 keeps it positive), no sign bit set.
            assert_eq!(encoded[0], 0x02);
            assert!(encoded[1] <= 17);
            assert_eq!(encoded[2] & 0x80, 0);
        }
    }
}
