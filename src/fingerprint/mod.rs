//! Human-checkable forms of a bundle digest.
//!
//! The bundle digest is what proves that both sides of the air gap hold the same bundle
//! (`docs/security.md` §1.2), but only if people actually compare it, and 64 hex digits are
//! easy to skim and get wrong. So besides the plain hex, a digest is shown:
//!
//! - as 16 groups of 4 hex digits, to compare by eye a group at a time;
//! - as 32 words of the PGP word list ([`pgp_words`]), to read aloud from one machine to
//!   the other: a misheard or skipped word is noticed where a misheard digit is not;
//! - as a QR code of the hex digest ([`Qr`]), for a phone or scanner to compare.
//!
//! Everything here is a pure function of the digest: nothing is read or written.

pub mod pgp_words;
mod qr;

pub use qr::{Qr, QrFormat};

/// How many hex digits a group holds.
pub const GROUP_DIGITS: usize = 4;

/// A SHA-256 digest, kept as the lowercase hex that bundles and their manifests use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    hex: String,
    bytes: [u8; 32],
}

/// Why a digest cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// The text is not the form every bundle digest has.
    #[error("not a SHA-256 digest: expected 64 lowercase hex digits, got {length} characters")]
    NotSha256Hex { length: usize },
    /// The QR encoder refused the text (a digest always fits, so this is a bug).
    #[error("cannot encode the digest as a QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// The PNG encoder failed (it writes to memory, so this is a bug too).
    #[error("cannot encode the QR code as PNG: {0}")]
    Png(#[from] png::EncodingError),
}

impl Fingerprint {
    /// Parses a digest as bundles write it: exactly 64 lowercase hex digits. Other spellings
    /// are refused rather than normalised, so what is shown is what the manifest hashes to.
    pub fn parse(hex: &str) -> Result<Fingerprint, FingerprintError> {
        let refused = FingerprintError::NotSha256Hex { length: hex.chars().count() };
        let lowercase_hex = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex.len() != 64 || !lowercase_hex {
            return Err(refused);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).map_err(|_| refused)?;
        Ok(Fingerprint { hex: hex.to_string(), bytes })
    }

    /// The digest as 64 lowercase hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The digest as 16 groups of [`GROUP_DIGITS`] hex digits, in order.
    pub fn groups(&self) -> Vec<String> {
        let digits: Vec<char> = self.hex.chars().collect();
        digits.chunks(GROUP_DIGITS).map(|group| group.iter().collect()).collect()
    }

    /// The digest as 32 words of the PGP word list, one a byte, in order.
    pub fn words(&self) -> Vec<&'static str> {
        pgp_words::words(&self.bytes)
    }

    /// The digest as a QR code whose content is exactly [`Fingerprint::hex`].
    pub fn qr(&self) -> Result<Qr, FingerprintError> {
        Qr::encode(&self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of the empty string.
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn groups_spell_the_digest_four_digits_at_a_time() {
        let f = Fingerprint::parse(EMPTY).unwrap();
        let groups = f.groups();
        assert_eq!(groups.len(), 16);
        assert_eq!(groups[0], "e3b0");
        assert_eq!(groups[15], "b855");
        assert_eq!(groups.concat(), EMPTY);
    }

    #[test]
    fn words_alternate_between_the_lists() {
        let words = Fingerprint::parse(EMPTY).unwrap().words();
        assert_eq!(words.len(), 32);
        // e3 at position 0 (two syllables), b0 at position 1 (three), c4 at 2, 42 at 3
        assert_eq!(&words[..4], ["tissue", "phonetic", "snowslide", "December"]);
        // 55 at position 31
        assert_eq!(words[31], "equipment");
    }

    #[test]
    fn only_the_bundle_form_is_accepted() {
        let refused = [
            "",
            &EMPTY[..63],
            &format!("{EMPTY}0"),
            &EMPTY.to_uppercase(),
            &EMPTY.replace('e', "g"),
            &format!("{}é", &EMPTY[..62]),
        ];
        for text in refused {
            let err = Fingerprint::parse(text).unwrap_err();
            assert!(matches!(err, FingerprintError::NotSha256Hex { .. }), "{text:?}: {err}");
        }
    }
}
