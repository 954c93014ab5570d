//! Every role file Notary served in `tests/vectors/repos` parses, its canonical bytes match
//! the `.canonical()` file next to it, and re-serialising the typed content gives back the
//! exact file bytes (the byte-stability rule, WIRE.md §1.4).

use std::fs;
use std::path::{Path, PathBuf};

use airlock::tuf::cjson;
use airlock::tuf::metadata::{self, envelope, RoleType, Root, Snapshot, Targets, Timestamp};

fn role_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repos");
    walk(&base, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") && !is_side_file(&path) {
            out.push(path);
        }
    }
}

fn is_side_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_str().unwrap();
    name.ends_with(".sigcheck.json") || name == "key_ids.json"
}

fn type_of(bytes: &[u8]) -> String {
    let doc = cjson::parse(bytes).unwrap();
    doc.get("signed").unwrap().get("_type").unwrap().as_str().unwrap().to_string()
}

fn check<T: RoleType>(bytes: &[u8], path: &Path) -> bool {
    let parsed = metadata::parse::<T>(bytes, "test").unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let canonical_file = path.with_extension("canonical");
    if canonical_file.exists() {
        assert_eq!(parsed.canonical(), fs::read(&canonical_file).unwrap(), "{path:?}");
    }
    let rewritten = envelope(&cjson::canonical(&parsed.signed.to_value()), &parsed.signatures);
    rewritten == bytes
}

#[test]
fn every_vector_parses_and_reserialises_exactly() {
    let files = role_files();
    assert!(files.len() > 40, "vectors missing: {}", files.len());
    let mut unstable = Vec::new();
    for path in &files {
        let bytes = fs::read(path).unwrap();
        let stable = match type_of(&bytes).as_str() {
            "Root" => check::<Root>(&bytes, path),
            "Targets" => check::<Targets>(&bytes, path),
            "Snapshot" => check::<Snapshot>(&bytes, path),
            "Timestamp" => check::<Timestamp>(&bytes, path),
            other => panic!("{path:?}: unknown type {other}"),
        };
        if !stable {
            unstable.push(path.clone());
        }
    }
    assert!(unstable.is_empty(), "not byte-stable: {unstable:#?}");
}
