//! The quick reader against the tree: on every file it takes, it must give exactly what
//! the tree gives (typed content, signatures, canonical bytes), and it must take the files
//! Notary writes, or it would be dead code that tests nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::tuf::metadata::{
    self, parse_tree, Common, DelegatedRole, Delegations, RoleType, Root, Signature, Snapshot,
    Targets, TargetsHead, Timestamp,
};
use crate::tuf::{GoTime, RoleName};

/// What each reader made of a file, comparable.
type Outcome<T> = (T, Vec<Signature>, Vec<u8>, Vec<u8>);

fn outcome<T>(s: Signed<T>) -> Outcome<T> {
    let (canonical, bytes) = (s.canonical().to_vec(), s.bytes().to_vec());
    (s.signed, s.signatures, canonical, bytes)
}

/// Checks the one rule: taken means the tree agrees. Returns whether the file was taken.
fn agrees<T: ReadRole + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> bool {
    let Some(quick) = parse::<T>(bytes, "role") else {
        return false;
    };
    let tree = parse_tree::<T>(bytes, "role").unwrap_or_else(|e| {
        panic!("taken but the tree refuses ({e}): {}", String::from_utf8_lossy(bytes))
    });
    assert_eq!(outcome(quick), outcome(tree), "{}", String::from_utf8_lossy(bytes));
    true
}

/// Whether any reader of any type takes the file; asserts agreement for each.
fn agrees_as_any(bytes: &[u8]) -> bool {
    let taken = [
        agrees::<Root>(bytes),
        agrees::<Targets>(bytes),
        agrees::<TargetsHead>(bytes),
        agrees::<Snapshot>(bytes),
        agrees::<Timestamp>(bytes),
    ];
    taken.iter().any(|t| *t)
}

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repos");
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(".json")
                && !path.to_string_lossy().ends_with(".sigcheck.json")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_file_notary_wrote_is_taken_and_agrees() {
    let files = vector_files();
    assert!(files.len() > 40, "vectors missing: {}", files.len());
    let mut taken = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let parses = [
            parse_tree::<Root>(&bytes, "r").is_ok(),
            parse_tree::<Targets>(&bytes, "r").is_ok(),
            parse_tree::<Snapshot>(&bytes, "r").is_ok(),
            parse_tree::<Timestamp>(&bytes, "r").is_ok(),
        ];
        let is_taken = agrees_as_any(&bytes);
        if parses.iter().any(|p| *p) && bytes.first() == Some(&b'{') && !bytes.contains(&b'\n') {
            assert!(is_taken, "not taken: {}", path.display());
        }
        taken += usize::from(is_taken);
    }
    assert!(taken > 40, "only {taken} of {} files taken", files.len());
}

/// A targets role with every kind of string Go escapes or keeps raw, `custom` values,
/// delegations and hashes, written the way airlock writes it (as Notary does).
fn tricky_targets() -> Vec<u8> {
    let names = [
        "plain",
        "html <b> & </b>",
        "quote \" and backslash \\ and \\u003c literally",
        "line\u{2028}para\u{2029}",
        "émoji 😀 and \u{e2}\u{82}\u{ac}",
        "\u{20ac} euro starts with 0xe2",
        "",
    ];
    let mut targets = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let hashes = Hashes::from([
            ("sha256".to_string(), vec![i as u8; 32]),
            ("sha512".to_string(), vec![0xff; 64]),
        ]);
        let custom = match i % 3 {
            0 => None,
            1 => Some(cjson::parse(br#"{"b":[1,-2,{"x":null}],"a":"<&>","c":true}"#).unwrap()),
            _ => Some(Value::String("\u{2029}".into())),
        };
        targets.insert(name.to_string(), FileMeta { length: i as i64 * 1000, hashes, custom });
    }
    let key = crate::crypto::PublicKey::new(crate::crypto::KeyType::Ecdsa, vec![4; 65]);
    let delegations = Delegations {
        keys: Some(BTreeMap::from([(key.id(), key.clone())])),
        roles: Some(vec![DelegatedRole {
            name: RoleName::releases(),
            keyids: Some(vec![key.id()]),
            paths: vec![String::new(), "a<b".into()],
            threshold: 1,
        }]),
    };
    let expires = GoTime::parse("2030-01-02T03:04:05.123456789-07:00").unwrap();
    let content = Targets { common: Common { version: 7, expires }, targets, delegations };
    let canonical = cjson::canonical(&content.to_value());
    let sig = Signature { keyid: key.id().to_string(), method: "ecdsa".into(), sig: vec![9; 64] };
    metadata::envelope(&canonical, &[sig])
}

#[test]
fn strings_go_escapes_are_undone_exactly() {
    let bytes = tricky_targets();
    assert!(agrees::<Targets>(&bytes), "{}", String::from_utf8_lossy(&bytes));
    assert!(agrees::<TargetsHead>(&bytes));
    let head = parse::<TargetsHead>(&bytes, "t").unwrap();
    assert_eq!(head.signed.target_count, 7);
    for escape in [&br"\u003c"[..], br"\u0026", br"\u2028", br"\u2029", br#"\""#, br"\\"] {
        assert!(bytes.windows(escape.len()).any(|w| w == escape), "no {escape:?} in the test");
    }
}

/// The canonical form is the file's own slice exactly when no `\u` escape has to be undone;
/// an escaped backslash before a `u` is not one.
#[test]
fn canonical_is_the_slice_only_without_unicode_escapes() {
    let cases: [(&[u8], bool); 7] = [
        (br#"{"a":"plain"}"#, false),
        (br#"{"a":"q\"b"}"#, false),
        (br#"{"a":"\\u003c"}"#, false),
        (br#"{"a":"\\\\"}"#, false),
        (br#"{"a":"\u003c"}"#, true),
        (br#"{"a":"\\\u0026"}"#, true),
        (br#"{"a":"x\u2029"}"#, true),
    ];
    for (slice, escaped) in cases {
        let text = String::from_utf8_lossy(slice);
        let canonical = canonical_of(slice);
        assert_eq!(matches!(canonical, Cow::Owned(_)), escaped, "{text}");
        assert_eq!(*canonical != *slice, escaped, "{text}");
    }
}

#[test]
fn other_layouts_go_through_the_tree() {
    let bytes = tricky_targets();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let tree: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let pretty = serde_json::to_vec_pretty(&tree).unwrap();
    let other_escape = text.replacen("plain", r"pl\u0061in", 1);
    for variant in [pretty, other_escape.into_bytes()] {
        assert!(parse::<Targets>(&variant, "t").is_none(), "{}", String::from_utf8_lossy(&variant));
        let parsed = metadata::parse::<Targets>(&variant, "t").unwrap();
        assert_eq!(parsed.canonical(), parse_tree::<Targets>(&variant, "t").unwrap().canonical());
    }

    // Canonical JSON without Go's HTML escaping (as other TUF tools write it) is taken too.
    let raw = text.replacen(r"html \u003cb", "html <b", 1).replace(r"\u2028", "\u{2028}");
    assert!(agrees::<Targets>(raw.as_bytes()));
}

/// The envelope around `signed`: layout is free, members are not.
#[test]
fn envelope_edge_cases_agree() {
    let signed = concat!(
        r#"{"_type":"Targets","delegations":{"keys":{},"roles":[]},"#,
        r#""expires":"2030-01-01T00:00:00Z","targets":{},"version":1}"#
    );
    let sigs = r#"[{"keyid":"ab","method":"ecdsa","sig":"AAAA"}]"#;
    let cases: &[(String, bool)] = &[
        (format!(r#"{{"signed":{signed},"signatures":{sigs}}}"#), true),
        (format!("\n {{ \"signatures\" : {sigs} ,\n\"signed\":{signed} }}\n"), true),
        (format!(r#"{{"signed":{signed},"signatures":{sigs},"signed":{signed}}}"#), false),
        (format!(r#"{{"signed":{signed},"signatures":{sigs},"signatures":[]}}"#), false),
        (format!(r#"{{"signed":{signed},"signatures":{sigs},"other":1}}"#), false),
        (format!(r#"{{"signed":{signed}}}"#), false),
        (format!(r#"{{"signatures":{sigs}}}"#), false),
        (format!(r#"{{"signed":{signed},"signatures":{sigs}}} x"#), false),
        (format!(r#"{{"signed":{signed},"signatures":{sigs}}}{{}}"#), false),
        (format!("\u{feff}{{\"signed\":{signed},\"signatures\":{sigs}}}"), false),
        (format!(r#"{{"signed":{signed},"signatures":[{{"keyid":"ab","sig":"AAAA"}}]}}"#), false),
        (format!(r#"{{"signed":{signed},"signatures":{sigs},}}"#), false),
        (format!(r#"{{"sig\u006eed":{signed},"signatures":{sigs}}}"#), false),
    ];
    for (file, taken) in cases {
        assert_eq!(agrees::<Targets>(file.as_bytes()), *taken, "{file}");
    }
}

/// Bytes that change meaning in JSON, file form or canonical order.
const INTERESTING: &[u8] = b" \t\n\"\\/<>&,:{}[]01-9.eEnultrfsabu\x00\x1f\x7f\xe2\x80\xa8\xc3\xff";

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Tokens that change meaning where a value, a key or a member starts.
const TOKENS: &[&str] = &[
    "-",
    "-0",
    "0",
    "00",
    "1.0",
    "1e3",
    "9007199254740993",
    "null",
    "true",
    "{}",
    "[]",
    "\"\"",
    r"\u0041",
    r"\u003c",
    r"\ud800",
    ",\"zz\":1",
    ",\"length\":1",
    "\"custom\":null,",
];

fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        let byte = INTERESTING[rng.below(INTERESTING.len())];
        match rng.below(7) {
            5 | 6 => {
                // A token right after a `:`, `,`, `{` or `"`, where it is most likely to parse.
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let after = out.iter().skip(at).position(|b| b":,{\"".contains(b));
                let to = after.map_or(out.len(), |p| at + p + 1);
                out.splice(to..to, token.iter().copied());
            }
            0 if at < out.len() => out[at] = byte,
            1 => out.insert(at, byte),
            2 if at < out.len() => drop(out.remove(at)),
            3 if at + 1 < out.len() => out.swap(at, at + 1),
            _ => {
                // Repeat a short run, as a duplicated key or entry would.
                let len = rng.below(40).min(out.len() - at.min(out.len()));
                let run = out[at..at + len].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, run);
            }
        }
    }
    out
}

#[test]
fn mutated_files_are_taken_only_when_the_tree_agrees() {
    let mut bases = vec![tricky_targets()];
    for path in vector_files().iter().filter(|p| !p.to_string_lossy().contains("sigcheck")) {
        let bytes = std::fs::read(path).unwrap();
        if bytes.len() < 4000 && agrees_as_any(&bytes) {
            bases.push(bytes);
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut tried, mut taken) = (0, 0);
    for base in &bases {
        for _ in 0..400 {
            let mutant = mutate(base, &mut rng);
            tried += 1;
            taken += usize::from(agrees_as_any(&mutant));
        }
    }
    // Many mutants stay valid (a changed digit, a moved space in the envelope), so a reader
    // that took nothing would be caught here.
    assert!(taken > tried / 50, "only {taken} of {tried} mutants taken");
}

/// A control character (raw DEL, NUL or US) put right after each quote of a file with custom
/// data, escapes and ignored members, so into every string it has: the reader must never
/// take what the tree refuses.
#[test]
fn control_characters_in_every_string_are_refused_as_the_tree_refuses_them() {
    let base = tricky_targets();
    let quotes: Vec<usize> = (0..base.len()).filter(|&i| base[i] == b'"').collect();
    assert!(quotes.len() > 50, "a file with strings to try");
    for (i, &at) in quotes.iter().enumerate() {
        let byte = b"\x7f\x00\x1f"[i % 3];
        let mut mutant = base.clone();
        mutant.insert(at + 1, byte);
        agrees_as_any(&mutant);
        let mut mutant = base.clone();
        mutant.insert(at, byte);
        agrees_as_any(&mutant);
    }
}

/// Hand-written `targets` entries around each rule the quick reader has to keep, in an
/// otherwise canonical file: each must be taken only where the tree agrees, and the ones
/// the tree accepts in canonical form must be taken.
#[test]
fn file_meta_edge_cases_agree() {
    let file = |entry: &str| {
        let head = r#"{"_type":"Targets","delegations":{"keys":{},"roles":[]},"#;
        let expires = r#""expires":"2030-01-01T00:00:00Z""#;
        let signed = format!(r#"{head}{expires},"targets":{entry},"version":1}}"#);
        format!(r#"{{"signed":{signed},"signatures":[]}}"#).into_bytes()
    };
    let digest = "\"sha256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"";
    let cases: &[(&str, bool)] = &[
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":1}}}}"#), true),
        (&format!(r#"{{"a":{{"custom":{{"x":[1]}},"hashes":{{{digest}}},"length":0}}}}"#), true),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":1,"zz":[null]}}}}"#), true),
        (r#"{"a":{"hashes":{},"length":1}}"#, true),
        (r#"{}"#, true),
        (&format!(r#"{{"a":{{"custom":null,"hashes":{{{digest}}},"length":1}}}}"#), true),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":-0}}}}"#), false),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":-1}}}}"#), false),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":9007199254740992}}}}"#), true),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":9007199254740993}}}}"#), false),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":1.0}}}}"#), false),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":"1"}}}}"#), false),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}}}}}}"#), false),
        (r#"{"a":{"length":1}}"#, false),
        (r#"{"a":{"hashes":{"sha256":"not base64"},"length":1}}"#, false),
        (r#"{"a":{"hashes":{"sha256":1},"length":1}}"#, false),
        (
            &format!(
                r#"{{"b":{{"hashes":{{}},"length":1}},"a":{{"hashes":{{{digest}}},"length":1}}}}"#
            ),
            false,
        ),
        (r#"{"a":{"hashes":{},"length":1},"a":{"hashes":{},"length":2}}"#, false),
        (r#"{"a":{"length":1,"hashes":{}}}"#, false),
        (r#"{"a\u007f":{"hashes":{},"length":1}}"#, false),
        ("{\"a\u{7f}\":{\"hashes\":{},\"length\":1}}", false),
        ("{\"a\u{80}\u{2028}<>&\":{\"hashes\":{},\"length\":1}}", true),
        (&format!(r#"{{"a":{{"hashes":{{{digest}}},"length":99999999999999999999}}}}"#), false),
        (r#"{"a":{"hashes":{},"length":1}"#, false),
        (r#"[]"#, false),
        (r#"null"#, false),
        // What the tree refuses anywhere in signed: a control character, raw DEL included,
        // in a custom value or key, or in a member the reader otherwise ignores.
        ("{\"a\":{\"custom\":\"x\u{7f}\",\"hashes\":{},\"length\":1}}", false),
        ("{\"a\":{\"custom\":{\"\u{7f}\":1},\"hashes\":{},\"length\":1}}", false),
        ("{\"a\":{\"custom\":[[\"\u{7f}\"]],\"hashes\":{},\"length\":1}}", false),
        ("{\"a\":{\"hashes\":{},\"length\":1,\"zz\":\"\u{7f}\"}}", false),
        (r#"{"a":{"custom":"x\u007f","hashes":{},"length":1}}"#, false),
        (r#"{"a":{"custom":"x\n","hashes":{},"length":1}}"#, false),
        ("{\"a\":{\"custom\":\"x\u{1}\",\"hashes\":{},\"length\":1}}", false),
        ("{\"a\":{\"custom\":\"\u{80}\u{2028}<>&~\",\"hashes\":{},\"length\":1}}", true),
    ];
    for (entry, taken) in cases {
        let bytes = file(entry);
        assert_eq!(agrees::<Targets>(&bytes), *taken, "{entry}");
        assert_eq!(agrees::<TargetsHead>(&bytes), *taken, "{entry} (entries counted)");
    }

    // The same in the file map of snapshot (and timestamp).
    let snapshot = |entry: &str| {
        let head = r#"{"_type":"Snapshot","expires":"2030-01-01T00:00:00Z","meta":"#;
        format!(r#"{{"signed":{head}{{"root":{entry}}},"version":1}},"signatures":[]}}"#)
    };
    for (entry, taken) in [
        ("{\"custom\":\"\u{7f}\",\"hashes\":{},\"length\":1}", false),
        ("{\"hashes\":{},\"length\":1,\"zz\":{\"k\":\"\u{7f}\"}}", false),
        (r#"{"custom":"~","hashes":{},"length":1}"#, true),
    ] {
        let bytes = snapshot(entry).into_bytes();
        assert_eq!(agrees::<Snapshot>(&bytes), taken, "{entry}");
        assert!(metadata::parse::<Snapshot>(&bytes, "snapshot").is_ok() == taken, "{entry}");
    }
}
