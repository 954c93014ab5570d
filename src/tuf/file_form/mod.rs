//! One pass through a role file that is already in Notary's file form, without the generic
//! tree.
//!
//! Notary writes `signed` as its canonical JSON with HTML escaping on (WIRE.md §1.1), so in
//! every file it wrote, the canonical bytes that signatures cover are the `signed` slice with
//! its `\u003c`-style escapes undone, and the largest part of a targets role, its `targets`
//! map, can be read straight into typed entries. Decoding such a file into a tree and
//! encoding it again (what [`metadata::parse_tree`] does, as Notary does) costs millions of
//! small allocations for a `targets/releases` of 100,000 targets.
//!
//! This reader takes a file only when it can prove the shortcut gives what the tree would:
//! no whitespace inside `signed`, object keys in strictly increasing byte order, no escape
//! but `\"`, `\\` and the five Go adds for HTML, integers in their one canonical spelling.
//! The small members of `signed` go through the tree parser and must come out as their own
//! bytes with those escapes undone. Anything else, including every malformed file, is turned
//! down (`None`) and the caller falls back to the tree, which decides what is wrong. So this
//! reader never takes what the tree refuses and never reports an error of its own; the tests
//! hold it to giving exactly the tree's result on every file it takes.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::tuf::cjson::{self, Value};
use crate::tuf::metadata::{self, Canonical, FileMapRead, FileMeta, Hashes, ReadRole, Signed};

/// `file_form`'s answer: `None` is "not taken", never an error.
type Taken<T> = Option<T>;

/// Reads `bytes` as a role file of type `T`, or turns it down (module doc).
pub(crate) fn parse<T: ReadRole>(bytes: &[u8], role: &str) -> Taken<Signed<T>> {
    let mut cursor = Cursor { input: bytes, pos: 0 };
    let envelope = cursor.envelope::<T>()?;

    let slice = &bytes[envelope.signed.clone()];
    let (mut signed, signatures) =
        metadata::content::<T>(&envelope.members, envelope.signatures.as_ref(), role).ok()?;
    if let Some(map) = envelope.file_map {
        signed.set_file_map(map);
    }
    let canonical = match canonical_of(slice) {
        Cow::Borrowed(_) => Canonical::Within(envelope.signed),
        Cow::Owned(unescaped) => Canonical::Owned(unescaped),
    };
    Some(Signed::new(signed, signatures, canonical, bytes.to_vec()))
}

/// What the envelope holds: `signed` as a tree whose large map is left empty, that map
/// typed, where `signed` is in the file, and `signatures` as a tree.
struct Envelope {
    members: Value,
    file_map: Option<FileMapRead>,
    signed: std::ops::Range<usize>,
    signatures: Option<Value>,
}

/// The `\u` escapes Go's encoder adds to canonical JSON (HTML escaping on), and the bytes
/// they stand for. With `\\` and `\"`, they are the only escapes this reader takes.
const UNICODE_ESCAPES: [(&[u8], &[u8]); 5] = [
    (br"\u003c", b"<"),
    (br"\u003e", b">"),
    (br"\u0026", b"&"),
    (br"\u2028", "\u{2028}".as_bytes()),
    (br"\u2029", "\u{2029}".as_bytes()),
];

/// The escape at the start of `rest`, if this reader takes it: its length and the bytes it
/// stands for.
fn escape(rest: &[u8]) -> Taken<(usize, &'static [u8])> {
    match rest.get(1)? {
        b'\\' => Some((2, b"\\")),
        b'"' => Some((2, b"\"")),
        _ => {
            let (escape, raw) = UNICODE_ESCAPES.iter().find(|(e, _)| rest.starts_with(e))?;
            Some((escape.len(), raw))
        }
    }
}

/// The canonical bytes of a `signed` slice this reader took: its `\u` escapes undone (`\\`
/// and `\"` are canonical escapes and stay as they are). Without a `\u` escape that is the
/// slice itself, borrowed: the usual case, and the one worth not copying.
fn canonical_of(slice: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let (mut copied, mut at) = (0, 0);
    while let Some(found) = slice.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let i = at + found;
        match escape(&slice[i..]) {
            Some((6, raw)) => {
                let out = out.get_or_insert_with(|| Vec::with_capacity(slice.len()));
                out.extend_from_slice(&slice[copied..i]);
                out.extend_from_slice(raw);
                copied = i + 6;
                at = copied;
            }
            // `\\` or `\"`; the second byte never starts an escape.
            _ => at = i + 2,
        }
    }
    match out {
        None => Cow::Borrowed(slice),
        Some(mut out) => {
            out.extend_from_slice(&slice[copied..]);
            Cow::Owned(out)
        }
    }
}

/// Bytes that end a plain run in a string: its delimiter and escapes, and what the tree
/// refuses in a string of `signed`: control characters (raw, or DEL).
const fn special_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
}

static SPECIAL: [bool; 256] = special_bytes();

/// Whether `text` decodes as the tree reader decodes a digest (standard base64, padded),
/// without keeping the result: digests of up to 96 bytes are decoded on the stack.
fn is_base64(text: &[u8]) -> bool {
    let mut buf = [0u8; 96];
    if text.len() <= 128 {
        return B64.decode_slice(text, &mut buf).is_ok();
    }
    B64.decode(text).is_ok()
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The top-level object: `signed` and `signatures`, in either order, whitespace allowed
    /// (only `signed` is signed); any other member is left to the tree to refuse.
    fn envelope<T: ReadRole>(&mut self) -> Taken<Envelope> {
        let mut signed = None;
        let mut signatures = None;
        self.skip_ws();
        self.eat(b'{').then_some(())?;
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.eat(b':').then_some(())?;
            self.skip_ws();
            match key.as_ref() {
                "signed" if signed.is_none() => {
                    let start = self.pos;
                    let (members, file_map) = self.signed::<T>()?;
                    signed = Some((members, file_map, start..self.pos));
                }
                "signatures" if signatures.is_none() => {
                    let (value, end) = cjson::parse_at(self.input, self.pos, 1).ok()?;
                    self.pos = end;
                    signatures = Some(value);
                }
                _ => return None,
            }
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            self.eat(b',').then_some(())?;
        }
        self.skip_ws();
        (self.pos == self.input.len()).then_some(())?;

        let (members, file_map, signed) = signed?;
        Some(Envelope { members, file_map, signed, signatures })
    }

    /// The `signed` object: its large map read by [`Cursor::file_map`], every other member
    /// as a tree that must re-encode to its own bytes.
    fn signed<T: ReadRole>(&mut self) -> Taken<(Value, Option<FileMapRead>)> {
        let mut members = Vec::new();
        let mut file_map = None;
        self.object(|cursor, key| {
            if Some(key.as_ref()) == T::FILE_MAP {
                file_map = Some(cursor.file_map(T::KEEPS_FILE_MAP)?);
                members.push((key.into_owned(), Value::Object(Vec::new())));
            } else {
                let value = cursor.small_value(2)?;
                members.push((key.into_owned(), value));
            }
            Some(())
        })?;
        Some((Value::Object(members), file_map))
    }

    /// An object without whitespace and with its keys in strictly increasing order, handing
    /// each member's key to `member`, which reads the value.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Taken<()>,
    ) -> Taken<()> {
        self.eat(b'{').then_some(())?;
        if self.eat(b'}') {
            return Some(());
        }
        let mut previous: Option<Cow<'a, str>> = None;
        loop {
            let key = self.string()?;
            let in_order = previous.as_ref().is_none_or(|p| p.as_bytes() < key.as_bytes());
            in_order.then_some(())?;
            self.eat(b':').then_some(())?;
            member(self, key.clone())?;
            previous = Some(key);
            if self.eat(b'}') {
                return Some(());
            }
            self.eat(b',').then_some(())?;
        }
    }

    /// A value small enough for the tree, taken only if its bytes with their `\u` escapes
    /// undone are its canonical bytes, and it holds no string the tree refuses in `signed`
    /// (a control character, DEL included). The second check is made here because the
    /// members of a file map never reach the tree's own check of `signed`.
    fn small_value(&mut self, depth: usize) -> Taken<Value> {
        let start = self.pos;
        let (value, end) = cjson::parse_at(self.input, start, depth).ok()?;
        self.pos = end;
        let same = *canonical_of(&self.input[start..end]) == *cjson::canonical(&value);
        (same && value.find_control_char().is_none()).then_some(value)
    }

    /// A map of names to file metadata (`targets`): read into typed entries when they are
    /// kept, else only checked (no entry is built) and counted.
    fn file_map(&mut self, keep: bool) -> Taken<FileMapRead> {
        let mut entries = Vec::new();
        let mut count = 0;
        self.object(|cursor, name| {
            let meta = cursor.file_meta(keep)?;
            if keep {
                entries.push((name.into_owned(), meta));
            }
            count += 1;
            Some(())
        })?;
        if !keep {
            return Some(FileMapRead::Counted(count));
        }
        // Already in order: the map is built in one pass.
        Some(FileMapRead::Kept(entries.into_iter().collect()))
    }

    /// `{"custom":...,"hashes":{...},"length":N}`, as `metadata` reads it from a tree; its
    /// parts are built only when `keep`.
    fn file_meta(&mut self, keep: bool) -> Taken<FileMeta> {
        let (mut length, mut hashes, mut custom) = (None, None, None);
        self.object(|cursor, key| {
            match key.as_ref() {
                "length" => length = Some(cursor.int().filter(|n| *n >= 0)?),
                "hashes" => hashes = Some(cursor.hashes(keep)?),
                "custom" => custom = Some(cursor.small_value(4)?).filter(|_| keep),
                // Ignored by the tree reader too, but still checked.
                _ => drop(cursor.small_value(4)?),
            }
            Some(())
        })?;
        let custom = custom.filter(|c| *c != Value::Null);
        Some(FileMeta { length: length?, hashes: hashes?, custom })
    }

    /// A `hashes` object: algorithm names to standard base64, decoded when `keep`.
    fn hashes(&mut self, keep: bool) -> Taken<Hashes> {
        let mut entries = Vec::new();
        self.object(|cursor, alg| {
            let digest = cursor.string()?;
            if keep {
                entries.push((alg.into_owned(), B64.decode(digest.as_bytes()).ok()?));
            } else {
                is_base64(digest.as_bytes()).then_some(())?;
            }
            Some(())
        })?;
        // In order and unique: `object` took strictly increasing names only.
        Some(Hashes::from_sorted(entries))
    }

    /// An integer in its canonical spelling (no `-0`, no leading zero), within what Go's
    /// float64 decoding keeps exact.
    fn int(&mut self) -> Taken<i64> {
        let start = self.pos;
        self.eat(b'-');
        let digits_at = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let digits = &self.input[digits_at..self.pos];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let text = std::str::from_utf8(&self.input[start..self.pos]).ok()?;
        let n: i64 = text.parse().ok()?;
        let canonical = (-cjson::MAX_SAFE_INT..=cjson::MAX_SAFE_INT).contains(&n) && text != "-0";
        canonical.then_some(n)
    }

    /// A string with no escape but those this reader takes, decoded: borrowed when it has
    /// none.
    fn string(&mut self) -> Taken<Cow<'a, str>> {
        self.eat(b'"').then_some(())?;
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let rest = &self.input[self.pos..];
            let run = rest.iter().position(|&b| SPECIAL[usize::from(b)])?;
            if let Some(out) = owned.as_mut() {
                out.extend_from_slice(&rest[..run]);
            }
            self.pos += run;
            let rest = &rest[run..];
            match rest[0] {
                b'"' => break,
                b'\\' => {
                    let (len, raw) = escape(rest)?;
                    let out = owned.get_or_insert_with(|| self.input[start..self.pos].to_vec());
                    out.extend_from_slice(raw);
                    self.pos += len;
                }
                _ => return None,
            }
        }
        let text = match owned {
            None => Cow::Borrowed(std::str::from_utf8(&self.input[start..self.pos]).ok()?),
            Some(out) => Cow::Owned(String::from_utf8(out).ok()?),
        };
        self.pos += 1;
        Some(text)
    }
}

#[cfg(test)]
mod tests;
