//! With `--json`, stdout holds exactly one JSON document: the command's data, or the error
//! envelope when it failed before producing any. A command that printed its data and then
//! fails (expiry finding something due, push with a refused repository) adds nothing to
//! stdout; the exit code and stderr say it failed.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{airlock, import};

/// The one JSON document on stdout; fails the test on none, or on more than one.
fn one_document(out: &Output) -> Value {
    let mut docs = serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>();
    let first = docs.next().expect("a JSON document on stdout").expect("valid JSON");
    assert!(docs.next().is_none(), "more than one JSON document on stdout");
    first
}

fn example_home(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("home");
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/example-pull.tar.zst");
    let out = import(&home, &bundle, &["--allow-expired"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    home
}

#[test]
fn data_then_failure_is_still_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let home = example_home(dir.path());

    let out = airlock(&home, &["--json", "expiry", "--within", "36500"]);
    assert_eq!(out.status.code(), Some(1), "something expires within a century");
    let calendar = one_document(&out);
    assert!(calendar.get("error").is_none(), "the data, not the error: {calendar}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("expire within 36500 days"));
}

#[test]
fn a_failure_without_data_is_the_error_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tar.zst");
    let out = import(&dir.path().join("home"), &missing, &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = one_document(&out);
    assert_eq!(doc["exit_code"], 2);
    assert!(doc["error"].as_str().unwrap().contains("missing.tar.zst"), "{doc}");
}

/// `inspect --pretty` is text; asked for together with `--json` it is a usage error, in the
/// error envelope, never text on stdout.
#[test]
fn json_and_pretty_text_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let home = example_home(dir.path());

    let out = airlock(&home, &["--json", "inspect", "--pretty", "example.com/acme/web"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = one_document(&out);
    assert!(doc["error"].as_str().unwrap().contains("--pretty"), "{doc}");

    let out = airlock(&home, &["--json", "inspect", "example.com/acme/web"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(one_document(&out).is_array());
}
