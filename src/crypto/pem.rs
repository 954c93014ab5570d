//! PEM in Notary's dialect: reading blocks that may carry `key: value` headers, and writing
//! exactly what Go's `pem.Encode` writes.
//!
//! Docker and Notary put headers such as `role: jeff` inside PEM blocks (WIRE.md §8.1), which
//! most generic PEM parsers refuse, so this reader strips them itself.

use base64::Engine;
use zeroize::{Zeroize, Zeroizing};

use super::CryptoError;

/// One PEM block: its label (`CERTIFICATE`, `PUBLIC KEY`, ...), its headers and its bytes.
/// Private keys pass through here, so blocks can be wiped (`Zeroizing<Vec<PemBlock>>`).
#[derive(Clone, Debug, PartialEq, Eq, Zeroize)]
pub(crate) struct PemBlock {
    pub label: String,
    pub headers: Vec<(String, String)>,
    pub der: Vec<u8>,
}

/// Reads every PEM block in `text`, in order. Text outside blocks is ignored, as Go does.
///
/// A block without an END line or with a body that is not base64 is an error rather than
/// skipped, so a damaged file is reported instead of silently losing a key. The copies made on
/// the way (text, base64) are wiped.
pub(crate) fn parse_blocks(text: &[u8]) -> Result<Vec<PemBlock>, CryptoError> {
    let text = Zeroizing::new(String::from_utf8_lossy(text).into_owned());
    let mut lines = text.lines().map(str::trim_end);
    let mut blocks = Vec::new();

    while let Some(line) = lines.next() {
        if let Some(label) = marker(line, "BEGIN") {
            blocks.push(read_block(label, &mut lines)?);
        }
    }
    Ok(blocks)
}

/// The Go `pem.Encode` form: BEGIN line, base64 in 64-column lines, END line, each ending in
/// `\n`.
pub(crate) fn encode_go(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");

    // Base64 output is ASCII, so splitting at any byte offset is a char boundary.
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }

    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `-----BEGIN X-----` -> `X` for `kind` = "BEGIN" (or "END").
fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    let inner = line.strip_prefix("-----")?.strip_suffix("-----")?;
    inner.strip_prefix(kind)?.strip_prefix(' ')
}

fn read_block<'a>(
    label: &str,
    lines: &mut impl Iterator<Item = &'a str>,
) -> Result<PemBlock, CryptoError> {
    let mut headers = Vec::new();
    let mut body = Zeroizing::new(String::new());
    let mut in_headers = true;

    for line in lines {
        if let Some(end) = marker(line, "END") {
            if end != label {
                let msg = format!("block {label:?} ends with an END line for {end:?}");
                return Err(CryptoError::Pem(msg));
            }
            return Ok(PemBlock {
                label: label.to_string(),
                headers,
                der: decode_body(label, &body)?,
            });
        }

        // Headers (`role: jeff`) come first; base64 never holds ':'.
        match line.split_once(':') {
            Some((k, v)) if in_headers => headers.push((k.trim().into(), v.trim().into())),
            _ => {
                in_headers = false;
                body.push_str(line.trim());
            }
        }
    }

    Err(CryptoError::Pem(format!("block {label:?} has no END line")))
}

fn decode_body(label: &str, body: &str) -> Result<Vec<u8>, CryptoError> {
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| CryptoError::Pem(format!("block {label:?} is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_stripped() {
        let der = vec![1u8, 2, 3, 4, 5];
        let body = base64::engine::general_purpose::STANDARD.encode(&der);
        let text = format!(
            "junk\n-----BEGIN PUBLIC KEY-----\r\nrole: jeff\r\n\r\n{body}\r\n\
             -----END PUBLIC KEY-----\n"
        );

        let blocks = parse_blocks(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "PUBLIC KEY");
        assert_eq!(blocks[0].headers, vec![("role".to_string(), "jeff".to_string())]);
        assert_eq!(blocks[0].der, der);
    }

    #[test]
    fn go_encoding_wraps_at_64() {
        let pem = encode_go("CERTIFICATE", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        // 100 bytes are 136 base64 characters: 64 + 64 + 8.
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3].len(), 8);
        assert_eq!(lines[4], "-----END CERTIFICATE-----");
        assert!(pem.ends_with("-----\n"));
        assert_eq!(parse_blocks(pem.as_bytes()).unwrap()[0].der, vec![0u8; 100]);
    }

    #[test]
    fn unterminated_and_mismatched_blocks_fail() {
        assert!(parse_blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
        let text = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(parse_blocks(text).is_err());
        assert!(parse_blocks(b"-----BEGIN X-----\n!!!\n-----END X-----\n").is_err());
    }
}
