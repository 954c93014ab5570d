//! One share of a backup: its bytes, checksum, QR content and text form.
//!
//! Bytes (format version 1), big-endian:
//!
//! ```text
//! "ALBK"  version=1  backup ID (16)  key ID (32)  K  N  i  length (2)  values (length)  check (4)
//! ```
//!
//! `check` is the first four bytes of SHA-256 of everything before it. The QR code holds the
//! bytes in base32 (RFC 4648, upper case, no padding), which QR's alphanumeric mode stores at
//! 5.5 bits a character. The text form is the same base32 in numbered lines of five-character
//! groups, each line ending with a two-character check code over its number and characters, so
//! a mistyped line is named:
//!
//! ```text
//! -----BEGIN AIRLOCK SHARE-----
//! 01  KBAUG AQAAA ... 7ZQ2M  XR
//! -----END AIRLOCK SHARE-----
//! ```
//!
//! Reading a typed share is lenient where paper is ambiguous: lower case is accepted, and
//! `0`, `1` and `8`, which base32 does not use, are read as `O`, `I` and `B`.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::ShareDefect;

const MAGIC: [u8; 4] = *b"ALBK";
const VERSION: u8 = 1;
/// Magic, version, backup ID, key ID, K, N, i, length.
const HEADER_LEN: usize = 4 + 1 + 16 + 32 + 3 + 2;
const CHECK_LEN: usize = 4;

/// The most values a share may hold: far above any key's backup, far below what could cost
/// memory.
pub const MAX_VALUES: usize = 16 * 1024;

/// The line that opens a share's text form.
pub const BEGIN: &str = "-----BEGIN AIRLOCK SHARE-----";
/// The line that closes it.
pub const END: &str = "-----END AIRLOCK SHARE-----";

const GROUP: usize = 5;
const GROUPS_PER_LINE: usize = 8;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// One share.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// The backup's random ID: every share of one backup has it.
    pub backup_id: [u8; 16],
    /// The key's canonical ID.
    pub key_id: [u8; 32],
    /// How many shares rebuild the backup (K).
    pub threshold: u8,
    /// How many shares the backup has (N).
    pub total: u8,
    /// This share's number, 1 to N; Shamir's `x`.
    pub index: u8,
    /// Shamir's values at `index`, one per byte of the encrypted backup.
    pub values: Zeroizing<Vec<u8>>,
}

impl Share {
    /// The backup ID as 32 lowercase hex digits.
    pub fn backup_id_hex(&self) -> String {
        hex::encode(self.backup_id)
    }

    /// The key ID as 64 lowercase hex digits.
    pub fn key_id_hex(&self) -> String {
        hex::encode(self.key_id)
    }

    /// The share's bytes, check included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.values.len() + CHECK_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.backup_id);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&[self.threshold, self.total, self.index]);
        // Values are at most MAX_VALUES long, which fits in two bytes.
        let len = u16::try_from(self.values.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.values);
        let check = check(&out);
        out.extend_from_slice(&check);
        out
    }

    /// The share's check, as printed on its page: `1A2B-3C4D`.
    pub fn checksum(&self) -> String {
        let bytes = self.to_bytes();
        let check = hex::encode_upper(&bytes[bytes.len() - CHECK_LEN..]);
        format!("{}-{}", &check[..4], &check[4..])
    }

    /// Reads a share's bytes, checking its layout and check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Share, ShareDefect> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(ShareDefect::NotAShare("it does not start as one"));
        }
        if bytes.len() < HEADER_LEN + CHECK_LEN {
            return Err(ShareDefect::Malformed("it is too short; is a part missing?".into()));
        }
        if bytes[4] != VERSION {
            return Err(ShareDefect::Version(bytes[4]));
        }

        let len = usize::from(u16::from_be_bytes([bytes[HEADER_LEN - 2], bytes[HEADER_LEN - 1]]));
        let expected = HEADER_LEN + len + CHECK_LEN;
        if bytes.len() != expected {
            return Err(ShareDefect::Malformed(format!(
                "it is {} bytes long where its header says {expected}; is a part missing or \
                 extra?",
                bytes.len()
            )));
        }
        let (body, given) = bytes.split_at(bytes.len() - CHECK_LEN);
        if check(body) != given {
            return Err(ShareDefect::Checksum);
        }

        let [threshold, total, index] = [body[53], body[54], body[55]];
        if threshold < 2 || threshold > total || index == 0 || index > total {
            return Err(ShareDefect::Malformed(format!(
                "it says share {index} of {total}, {threshold} needed, which no backup makes"
            )));
        }
        if len == 0 || len > MAX_VALUES {
            return Err(ShareDefect::Malformed(format!("it holds {len} values")));
        }

        let mut backup_id = [0; 16];
        backup_id.copy_from_slice(&body[5..21]);
        let mut key_id = [0; 32];
        key_id.copy_from_slice(&body[21..53]);
        let values = Zeroizing::new(body[HEADER_LEN..].to_vec());
        Ok(Share { backup_id, key_id, threshold, total, index, values })
    }

    /// What the QR code holds: the bytes in upper-case base32.
    pub fn to_qr_text(&self) -> String {
        BASE32_NOPAD.encode(&self.to_bytes())
    }

    /// Reads what a QR code holds.
    pub fn from_qr_text(text: &str) -> Result<Share, ShareDefect> {
        let normal = normalize(text.trim());
        let bytes = BASE32_NOPAD
            .decode(normal.as_bytes())
            .map_err(|_| ShareDefect::NotAShare("the QR code does not hold a share"))?;
        Share::from_bytes(&bytes)
    }

    /// The text form: the begin line, numbered lines with check codes, the end line.
    pub fn text_lines(&self) -> Vec<String> {
        let encoded = self.to_qr_text();
        let chunks: Vec<&[u8]> = encoded.as_bytes().chunks(GROUP * GROUPS_PER_LINE).collect();
        let width = chunks.len().to_string().len().max(2);

        let mut lines = vec![BEGIN.to_string()];
        for (i, chunk) in chunks.iter().enumerate() {
            let number = i + 1;
            // base32 output is ASCII, so every chunk boundary is a character boundary.
            let chars = String::from_utf8_lossy(chunk);
            let groups: Vec<&str> =
                chunk.chunks(GROUP).map(|g| std::str::from_utf8(g).unwrap_or_default()).collect();
            let code = line_code(number, &chars);
            lines.push(format!("{number:0width$}  {}  {code}", groups.join(" ")));
        }
        lines.push(END.to_string());
        lines
    }

    /// Reads the text form from any text holding one begin ... end block; other lines (a
    /// page's descriptions) are ignored.
    pub fn from_text(text: &str) -> Result<Share, ShareDefect> {
        let mut lines = text.lines().map(str::trim);
        if !lines.any(|l| l == BEGIN) {
            return Err(ShareDefect::NotAShare("no -----BEGIN AIRLOCK SHARE----- line"));
        }

        let mut encoded = String::new();
        let mut number = 0;
        let mut ended = false;
        for line in lines.by_ref() {
            if line == END {
                ended = true;
                break;
            }
            if line.is_empty() {
                continue;
            }
            number += 1;
            encoded.push_str(&read_line(number, line)?);
        }
        if !ended {
            return Err(ShareDefect::Malformed(
                "there is no -----END AIRLOCK SHARE----- line".into(),
            ));
        }
        if lines.any(|l| l == BEGIN) {
            return Err(ShareDefect::Malformed("the file holds more than one share".into()));
        }

        let bytes = BASE32_NOPAD.decode(encoded.as_bytes()).map_err(|_| {
            ShareDefect::Malformed("a group is missing or extra (the text does not decode)".into())
        })?;
        Share::from_bytes(&bytes)
    }
}

/// Shows which share this is, never its values.
impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("backup_id", &self.backup_id_hex())
            .field("key_id", &self.key_id_hex())
            .field("threshold", &self.threshold)
            .field("total", &self.total)
            .field("index", &self.index)
            .field("values", &format_args!("[{} bytes]", self.values.len()))
            .finish()
    }
}

/// One numbered line: `NN  GROUP GROUP ...  CC`; returns its characters.
fn read_line(number: usize, line: &str) -> Result<String, ShareDefect> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let [first, groups @ .., code] = tokens.as_slice() else {
        return Err(ShareDefect::Malformed(format!(
            "line {number} should be its number, groups of characters and a check code"
        )));
    };
    if groups.is_empty() {
        return Err(ShareDefect::Malformed(format!("line {number} holds no characters")));
    }
    match first.parse::<usize>() {
        Ok(n) if n == number => {}
        _ => {
            return Err(ShareDefect::Malformed(format!(
                "line {number} is numbered {first:?}: a line is missing, extra or out of order"
            )))
        }
    }

    let chars = normalize(&groups.concat());
    if !chars.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(ShareDefect::Line { line: number });
    }
    if line_code(number, &chars) != normalize(code) {
        return Err(ShareDefect::Line { line: number });
    }
    Ok(chars)
}

/// Two base32 characters (10 bits) of SHA-256 over the line's number and characters.
fn line_code(number: usize, chars: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"airlock share line ");
    hash.update(number.to_string().as_bytes());
    hash.update(b" ");
    hash.update(chars.as_bytes());
    let digest = hash.finalize();

    let bits = (usize::from(digest[0]) << 2) | (usize::from(digest[1]) >> 6);
    let code = [ALPHABET[bits >> 5], ALPHABET[bits & 31]];
    String::from_utf8_lossy(&code).into_owned()
}

/// Upper case, with the digits base32 does not use read as the letters they look like.
fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_ascii_uppercase() {
            '0' => 'O',
            '1' => 'I',
            '8' => 'B',
            c => c,
        })
        .collect()
}

fn check(body: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(body);
    [digest[0], digest[1], digest[2], digest[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Share {
        Share {
            backup_id: [7; 16],
            key_id: [0xab; 32],
            threshold: 3,
            total: 5,
            index: 2,
            values: Zeroizing::new((0..=255u8).cycle().take(600).collect()),
        }
    }

    #[test]
    fn bytes_qr_text_and_text_form_round_trip() {
        let s = share();
        assert_eq!(Share::from_bytes(&s.to_bytes()).unwrap(), s);
        assert_eq!(Share::from_qr_text(&s.to_qr_text()).unwrap(), s);
        let text = s.text_lines().join("\n");
        assert_eq!(Share::from_text(&text).unwrap(), s);
    }

    #[test]
    fn qr_text_uses_only_qr_alphanumeric_characters() {
        let qr = share().to_qr_text();
        assert!(qr.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    }

    #[test]
    fn typing_is_forgiven_where_paper_is_ambiguous() {
        let s = share();
        let text = s
            .text_lines()
            .join("\n")
            .to_lowercase()
            .replace("-----begin airlock share-----", BEGIN);
        let text = text.replace("-----end airlock share-----", END).replace('o', "0");
        assert_eq!(Share::from_text(&format!("header\n\n{text}\nfooter")).unwrap(), s);
    }

    #[test]
    fn a_mistyped_line_is_named() {
        let mut lines = share().text_lines();
        let line = &mut lines[3];
        let pos = line.find(' ').unwrap() + 3;
        let typo = if &line[pos..=pos] == "A" { "B" } else { "A" };
        line.replace_range(pos..=pos, typo);
        let err = Share::from_text(&lines.join("\n")).unwrap_err();
        assert_eq!(err, ShareDefect::Line { line: 3 }, "{err}");
    }

    #[test]
    fn missing_and_swapped_lines_are_named() {
        let lines = share().text_lines();
        let mut missing = lines.clone();
        missing.remove(2);
        let err = Share::from_text(&missing.join("\n")).unwrap_err();
        assert!(err.to_string().contains("line 2 is numbered \"03\""), "{err}");

        let mut last_gone = lines.clone();
        last_gone.remove(lines.len() - 2);
        let err = Share::from_text(&last_gone.join("\n")).unwrap_err();
        assert!(matches!(err, ShareDefect::Malformed(_)), "{err}");

        let mut swapped = lines;
        swapped.swap(1, 2);
        let err = Share::from_text(&swapped.join("\n")).unwrap_err();
        assert!(matches!(err, ShareDefect::Malformed(_)), "{err}");
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let mut bytes = share().to_bytes();
        bytes[100] ^= 0x10;
        assert_eq!(Share::from_bytes(&bytes).unwrap_err(), ShareDefect::Checksum);
    }

    #[test]
    fn impossible_counts_are_refused() {
        for (k, n, i) in [(1, 5, 1), (6, 5, 1), (3, 5, 0), (3, 5, 6)] {
            let mut s = share();
            (s.threshold, s.total, s.index) = (k, n, i);
            let err = Share::from_bytes(&s.to_bytes()).unwrap_err();
            assert!(matches!(err, ShareDefect::Malformed(_)), "{k} {n} {i}: {err}");
        }
    }

    #[test]
    fn other_input_is_not_a_share_and_never_panics() {
        for input in ["", "hello", BEGIN, "-----BEGIN AIRLOCK SHARE-----\n01 AAAAA QQ\n"] {
            assert!(Share::from_text(input).is_err(), "{input:?}");
        }
        for len in 0..80 {
            let mut bytes = vec![0u8; len];
            bytes[..len.min(4)].copy_from_slice(&MAGIC[..len.min(4)]);
            assert!(Share::from_bytes(&bytes).is_err());
        }
        assert!(Share::from_qr_text("https://example.com").is_err());
    }

    #[test]
    fn debug_shows_no_values() {
        let text = format!("{:?}", share());
        assert!(text.contains("[600 bytes]") && !text.contains("255"), "{text}");
    }
}
