//! JSON as Notary reads and writes it: a strict parser, docker/go canonical JSON (the bytes a
//! signature covers) and the file form (what is uploaded and hashed).
//!
//! Notary verifies a signature by decoding the `signed` bytes into a generic map and
//! re-encoding that with `MarshalCanonical` (WIRE.md §1.3). [`Value`] is that generic map,
//! and [`canonical`] is that encoder, so the bytes we verify and sign over are the bytes Go
//! computes. The parser is stricter than Go where Go would silently change data: invalid
//! UTF-8, lone surrogates, duplicate keys, fractions and integers beyond 2^53 are refused
//! instead of being turned into U+FFFD, the last duplicate or a rounded float.

use std::fmt;

/// Largest integer that survives Go's float64 decoding unchanged (2^53).
pub const MAX_SAFE_INT: i64 = 1 << 53;

/// Deepest nesting accepted; Notary metadata nests at most 6 levels, `custom` a little more.
const MAX_DEPTH: usize = 64;

/// A JSON value as decoded by Go into `interface{}`, with integers kept exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer in `-2^53..=2^53`; no other number is accepted.
    Int(i64),
    String(String),
    Array(Vec<Value>),
    /// Members in file order; keys are unique.
    Object(Vec<(String, Value)>),
}

/// Where and why a document is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {reason}")]
pub struct JsonError {
    pub offset: usize,
    pub reason: String,
}

impl Value {
    /// The member `key` of an object; `None` for other values or a missing key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The first string (object key or value) holding a control character (U+0000..U+001F or
    /// DEL). Go's envelope encoder cannot write them (WIRE.md §1.4), so such metadata can
    /// never be published or re-served intact.
    pub fn find_control_char(&self) -> Option<&str> {
        let bad = |s: &str| s.chars().any(|c| c.is_control() && (c as u32) < 0x80);
        match self {
            Value::String(s) if bad(s) => Some(s),
            Value::Array(items) => items.iter().find_map(Value::find_control_char),
            Value::Object(members) => members.iter().find_map(|(k, v)| {
                if bad(k) {
                    Some(k.as_str())
                } else {
                    v.find_control_char()
                }
            }),
            _ => None,
        }
    }
}

/// Up to this many members an object's keys are checked for duplicates by a scan; beyond,
/// by a set.
const SCAN_LIMIT: usize = 32;

/// How an object's keys are checked for duplicates. Canonical files list keys in order, so
/// while each key sorts after the one before, none can repeat and nothing is stored; after
/// the first key out of order, a scan of the members, or a set once there are many (a
/// targets map can hold 100,000 names, and a scan for each would be quadratic).
enum KeyCheck {
    Sorted,
    Scan,
    Set(std::collections::HashSet<String>),
}

impl KeyCheck {
    fn is_duplicate(&mut self, members: &[(String, Value)], key: &str) -> bool {
        match self {
            KeyCheck::Sorted if members.last().is_none_or(|(last, _)| last.as_str() < key) => false,
            KeyCheck::Sorted | KeyCheck::Scan if members.len() < SCAN_LIMIT => {
                *self = KeyCheck::Scan;
                members.iter().any(|(k, _)| k == key)
            }
            KeyCheck::Sorted | KeyCheck::Scan => {
                let mut seen: std::collections::HashSet<String> =
                    members.iter().map(|(k, _)| k.clone()).collect();
                let duplicate = !seen.insert(key.to_string());
                *self = KeyCheck::Set(seen);
                duplicate
            }
            KeyCheck::Set(seen) => !seen.insert(key.to_string()),
        }
    }
}

/// Parses one JSON document, strictly (RFC 8259 plus the refusals in the module doc).
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    let mut p = Parser { input, pos: 0 };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.error("unexpected data after the JSON value"));
    }
    Ok(value)
}

/// Parses the one JSON value that starts exactly at `pos`, `depth` levels inside an enclosing
/// document, and returns it with the offset just past it. For readers that walk a document
/// themselves and hand small parts to this parser (`tuf::file_form`).
pub(crate) fn parse_at(
    input: &[u8],
    pos: usize,
    depth: usize,
) -> Result<(Value, usize), JsonError> {
    let mut p = Parser { input, pos };
    let value = p.value(depth)?;
    Ok((value, p.pos))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> JsonError {
        JsonError { offset: self.pos, reason: reason.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() != Some(byte) {
            return Err(self.error(format!("expected '{}'", byte as char)));
        }
        self.pos += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting is deeper than 64 levels"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if !self.input[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.error("expected a JSON value"));
        }
        self.pos += word.len();
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.expect(b'{')?;
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut keys = KeyCheck::Sorted;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            let key_at = self.pos;
            let key = self.string()?;
            if keys.is_duplicate(&members, &key) {
                let reason = format!("duplicate key {key:?}");
                return Err(JsonError { offset: key_at, reason });
            }
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    /// Integers only: Go's canonical encoder refuses fractions, and a value written as `1.0`
    /// or `1e0` breaks Notary's struct decoding (WIRE.md §1.2, §9.3).
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits_at = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let digits = &self.input[digits_at..self.pos];
        if digits.is_empty() {
            return Err(self.error("expected digits"));
        }
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(JsonError { offset: start, reason: "number with a leading zero".into() });
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            let reason = "only integers are allowed in Notary metadata".into();
            return Err(JsonError { offset: start, reason });
        }
        let text = std::str::from_utf8(&self.input[start..self.pos]).unwrap_or("");
        match text.parse::<i64>() {
            Ok(n) if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&n) => Ok(Value::Int(n)),
            _ => {
                let reason = format!("integer {text} is beyond 2^53 and would lose precision");
                Err(JsonError { offset: start, reason })
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            // Copy the run of plain bytes at once; most strings are one run, so they are
            // allocated once at their exact size.
            let rest = &self.input[self.pos..];
            let plain = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let Some(plain) = plain else {
                self.pos = self.input.len();
                return Err(self.error("unterminated string"));
            };
            out.extend_from_slice(&rest[..plain]);
            self.pos += plain;
            match rest[plain] {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => self.escape(&mut out)?,
                _ => return Err(self.error("raw control character in a string")),
            }
        }
        String::from_utf8(out).map_err(|e| JsonError {
            offset: self.pos,
            reason: format!("string is not valid UTF-8 ({e})"),
        })
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        self.pos += 1;
        let Some(kind) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        let simple = match kind {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let c = self.unicode_escape()?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(self.error("invalid escape")),
        };
        out.push(simple);
        Ok(())
    }

    /// A `\u` escape of four hex digits, joining surrogate pairs. A lone surrogate is refused:
    /// Go would decode it to U+FFFD, silently changing what was signed.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.input[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("lone surrogate in \\u escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone surrogate in \\u escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in \\u escape")),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits =
            self.input.get(self.pos..self.pos + 4).ok_or_else(|| self.error("short \\u"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("invalid \\u escape"))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("invalid \\u escape"));
        }
        self.pos += 4;
        u32::from_str_radix(text, 16).map_err(|_| self.error("invalid \\u escape"))
    }
}

/// docker/go `MarshalCanonical` of a decoded value: keys sorted by bytes, no whitespace,
/// strings with only `"` and `\` escaped and every other byte raw (WIRE.md §1.2).
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_canonical_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<&(String, Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical_str(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_canonical_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &byte in s.as_bytes() {
        if byte == b'"' || byte == b'\\' {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b'"');
}

/// The file form of canonical bytes: what Go's `encoding/json` writes when it copies a
/// `RawMessage` into the envelope, HTML escaping on (WIRE.md §1.1). Only `<`, `>`, `&`,
/// U+2028 and U+2029 change.
pub fn file_form(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len() + 16);
    let mut i = 0;
    while i < canonical.len() {
        match canonical[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if canonical.get(i + 1) == Some(&0x80)
                && matches!(canonical.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                let last = if canonical[i + 2] == 0xA8 { b'8' } else { b'9' };
                out.extend_from_slice(b"\\u202");
                out.push(last);
                i += 3;
                continue;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

impl fmt::Display for Value {
    /// Canonical bytes, shown lossily; for messages and debugging only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&canonical(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(canonical(&parse(s.as_bytes()).unwrap())).unwrap()
    }

    #[test]
    fn sorts_keys_bytewise_and_drops_whitespace() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [true, null], "B": {} }"#),
            r#"{"B":{},"a":[true,null],"b":1}"#
        );
        assert_eq!(canon(r#"{"é":1,"z":2}"#), r#"{"z":2,"é":1}"#);
    }

    #[test]
    fn finds_a_duplicate_key_in_a_large_object_where_it_is() {
        // past the scan limit, the set takes over: a duplicate anywhere is still refused, at
        // the offset of its second occurrence, and a large object without one parses
        let keys: Vec<String> = (0..5000).map(|i| format!("\"t{i}\":{i}")).collect();
        let whole = format!("{{{}}}", keys.join(","));
        assert!(parse(whole.as_bytes()).is_ok());
        for dup in [1, SCAN_LIMIT - 1, SCAN_LIMIT, 4999] {
            let doc = format!("{{{},\"t{dup}\":0}}", keys.join(","));
            let err = parse(doc.as_bytes()).unwrap_err();
            assert_eq!(err.reason, format!("duplicate key \"t{dup}\""));
            assert_eq!(err.offset, whole.len() - 1 + 1);
        }
    }

    #[test]
    fn finds_duplicates_in_sorted_and_unsorted_runs() {
        // Keys in order need no record; once one is out of order, every earlier key counts.
        let sorted: Vec<String> = (0..100).map(|i| format!("\"k{i:03}\":0")).collect();
        for (extra, dup) in [("k050", true), ("k100", false), ("a", false), ("k000", true)] {
            for count in [3, SCAN_LIMIT - 1, SCAN_LIMIT + 1, 100] {
                let doc = format!("{{{},\"{extra}\":1}}", sorted[..count].join(","));
                let listed = (0..count).any(|i| format!("k{i:03}") == extra);
                assert_eq!(parse(doc.as_bytes()).is_err(), dup && listed, "{extra} of {count}");
            }
        }
        let unsorted = "{\"b\":1,\"a\":2,\"c\":3,\"a\":4}";
        assert_eq!(parse(unsorted.as_bytes()).unwrap_err().reason, "duplicate key \"a\"");
        assert!(parse(b"{\"b\":1,\"a\":2,\"c\":3,\"d\":4}").is_ok());
    }

    #[test]
    fn strings_with_escapes_and_runs_parse_whole() {
        let v = parse(br#"["plain","a\"b\\c\u00e9d\ud83d\ude00e",""]"#).unwrap();
        let items: Vec<&str> = v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        assert_eq!(items, ["plain", "a\"b\\c\u{e9}d\u{1f600}e", ""]);
        assert!(parse(b"\"open").is_err());
        assert!(parse(b"\"tab\there\"").is_err());
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        assert_eq!(canon(r#""a\"b\\c\/d\u00e9\t\u003c""#), "\"a\\\"b\\\\c/dé\t<\"");
        assert_eq!(canon(r#""\ud83d\ude00""#), "\"😀\"");
    }

    #[test]
    fn refuses_what_go_would_silently_change() {
        for bad in [
            &br#"{"a":1,"a":2}"#[..],
            br#""\ud800""#,
            br#""\udc00x""#,
            b"\"\xff\"",
            b"1.0",
            b"1e0",
            b"9007199254740993",
            b"-9007199254740993",
            b"01",
            b"\"a\tb\"",
            b"[1,]",
            b"{} x",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?} accepted", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse(b"9007199254740992").unwrap(), Value::Int(MAX_SAFE_INT));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        let ok = "[".repeat(60) + &"]".repeat(60);
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn file_form_escapes_html_and_line_separators() {
        let c = "{\"n\":\"<a>&b\u{2028}\u{2029}\u{2027}é\"}";
        let f = String::from_utf8(file_form(c.as_bytes())).unwrap();
        assert_eq!(f, "{\"n\":\"\\u003ca\\u003e\\u0026b\\u2028\\u2029\u{2027}é\"}");
    }

    #[test]
    fn control_characters_are_found() {
        assert!(parse(br#"{"a":["x\u0001"]}"#).unwrap().find_control_char().is_some());
        assert!(parse(br#"{"a\t":1}"#).unwrap().find_control_char().is_some());
        assert!(parse(br#"{"a":"\u00e9"}"#).unwrap().find_control_char().is_none());
    }
}
