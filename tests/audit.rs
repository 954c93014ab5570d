//! The audit log, driven through the binary: every changing command is recorded (failures
//! too), exports sign the chain head and carry the record, and `audit verify` names the first
//! bad entry of an edited, removed, reordered, or truncated-and-rewritten log.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// Runs the binary with every passphrase set, as a named operator.
fn run(home: &Path, args: &[&str]) -> Output {
    let env = [
        ("AIRLOCK_ROOT_PASSPHRASE", "root-pass"),
        ("AIRLOCK_TARGETS_PASSPHRASE", "targets-pass"),
        ("AIRLOCK_DELEGATION_PASSPHRASE", "deleg-pass"),
        ("AIRLOCK_OPERATOR", "alice"),
    ];
    support::airlock_with(home, args, &env)
}

fn ok(home: &Path, args: &[&str]) -> Output {
    let out = run(home, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn log_path(home: &Path) -> PathBuf {
    home.join("audit/log.jsonl")
}

fn entries(home: &Path) -> Vec<Value> {
    let text = fs::read_to_string(log_path(home)).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A home with a ceremony behind it: import, key generate, signer add, a refused command,
/// export (signed head over entries 1-5), then one more change (entry 6, unsigned yet).
struct Ceremony {
    dir: tempfile::TempDir,
    home: PathBuf,
    response: PathBuf,
}

fn ceremony() -> Ceremony {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let pull = support::offline::new_gun_pull_bundle(dir.path());
    let gun = support::offline::GUN;
    let keys = dir.path().to_str().unwrap();
    ok(&home, &["import", pull.to_str().unwrap()]);
    ok(&home, &["key", "generate", "ben", "--dir", keys]);
    let ben = dir.path().join("ben.pub");
    ok(&home, &["signer", "add", "ben", gun, "--key", ben.to_str().unwrap()]);
    let refused = run(&home, &["signer", "add", "x", gun, "--key", "/nonexistent.pub"]);
    assert!(!refused.status.success());
    let response = dir.path().join("response.bundle");
    ok(&home, &["export", gun, "-o", response.to_str().unwrap()]);
    ok(&home, &["key", "generate", "carl", "--dir", keys]);
    Ceremony { dir, home, response }
}

fn verify(home: &Path) -> (bool, String) {
    let out = run(home, &["audit", "verify"]);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A copy of the ceremony's home with the log's lines rewritten by `edit`.
fn tampered(c: &Ceremony, name: &str, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
    let copy = c.dir.path().join(name);
    support::copy_tree(&c.home, &copy);
    let text = fs::read_to_string(log_path(&copy)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    fs::write(log_path(&copy), lines.join("\n") + "\n").unwrap();
    copy
}

#[test]
fn every_changing_command_is_recorded_with_its_outcome() {
    let c = ceremony();
    let log = entries(&c.home);
    let commands: Vec<&str> = log.iter().map(|e| e["command"].as_str().unwrap()).collect();
    assert_eq!(
        commands,
        ["import", "key generate", "signer add", "signer add", "export", "key generate"]
    );
    let outcomes: Vec<&str> = log.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ok", "ok", "ok", "failed", "ok", "ok"]);
    assert!(log.iter().all(|e| e["operator"] == "alice"));
    assert!(log[3]["message"].as_str().unwrap().contains("nonexistent.pub"));

    // What import noted of the state it wrote is what the next command reads back from it.
    assert!(log[0]["input_bundle"].is_string());
    assert_eq!(log[0]["versions_after"], log[2]["versions_before"]);
    assert!(log[0]["versions_after"][support::offline::GUN].is_object());

    let export = &log[4];
    assert_eq!(export["guns"][0], support::offline::GUN);
    assert_eq!(export["versions_after"][support::offline::GUN]["root"], 1);
    assert!(export["versions_before"][support::offline::GUN].get("root").is_none());
    let digest = export["output_bundle"].as_str().unwrap();
    let inspect = ok(&c.home, &["--json", "bundle", "inspect", c.response.to_str().unwrap()]);
    let inspected: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspected["digest"], digest);
    assert!(!export["key_ids"].as_array().unwrap().is_empty(), "the signing keys are named");

    // read-only commands leave no entry; no passphrase reaches the log
    ok(&c.home, &["status"]);
    ok(&c.home, &["key", "list"]);
    assert_eq!(entries(&c.home).len(), 6);
    let text = fs::read_to_string(log_path(&c.home)).unwrap();
    for secret in ["root-pass", "targets-pass", "deleg-pass"] {
        assert!(!text.contains(secret));
    }
}

#[test]
fn an_intact_log_and_the_bundle_record_verify() {
    let c = ceremony();
    let (good, msg) = verify(&c.home);
    assert!(good, "{msg}");
    assert!(msg.contains("6 entries, 1 signed heads, signed up to entry 4"), "{msg}");

    let out = run(&c.home, &["audit", "verify", c.response.to_str().unwrap()]);
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{msg}");
    assert!(msg.contains("4 entries under a head signed"), "{msg}");
    assert!(msg.contains("ceremony record verified"), "{msg}");

    // a pull bundle has no record: the wrong kind of bundle, said so
    let pull = support::offline::new_gun_pull_bundle(c.dir.path());
    let out = run(&c.home, &["audit", "verify", pull.to_str().unwrap()]);
    let msg = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(msg.contains("is a pull bundle, which carries no ceremony record"), "{msg}");

    let report = ok(&c.home, &["audit", "report", "--format", "md"]);
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(md.contains("Audit log: verified") && md.contains("alice"), "{md}");
    assert!(md.contains(support::offline::GUN) && md.contains("root new -> v1"), "{md}");
    let html = ok(&c.home, &["audit", "report", "--format", "html"]);
    assert!(String::from_utf8_lossy(&html.stdout).starts_with("<!doctype html>"));
}

#[test]
fn an_edited_entry_is_named() {
    let c = ceremony();
    let home = tampered(&c, "edited", |l| l[1] = l[1].replace("\"alice\"", "\"mallory\""));
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 2 (line 2): its content does not match its hash"), "{msg}");
}

#[test]
fn a_removed_entry_is_named() {
    let c = ceremony();
    let home = tampered(&c, "removed", |l| {
        l.remove(2);
    });
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 3 (line 3): entry 3 is missing"), "{msg}");
}

#[test]
fn reordered_entries_are_named() {
    let c = ceremony();
    let home = tampered(&c, "reordered", |l| l.swap(1, 2));
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 2 (line 2): found entry 3 where entry 2 belongs"), "{msg}");
}

#[test]
fn a_log_truncated_and_written_on_fails_at_the_first_rewritten_entry() {
    let c = ceremony();
    // back to entry 2, then new history: the chain itself is whole again
    let home = tampered(&c, "rewritten", |l| l.truncate(2));
    let keys = c.dir.path().join("rewritten-keys");
    fs::create_dir(&keys).unwrap();
    ok(&home, &["key", "generate", "eve", "--dir", keys.to_str().unwrap()]);
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 3 (line 3): differs from the entry the export"), "{msg}");

    // and a log cut short of its signed head
    let home = tampered(&c, "truncated", |l| l.truncate(3));
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 4: is missing, but the export"), "{msg}");

    // the next export refuses to sign over a damaged log
    let carl = c.dir.path().join("carl.pub");
    let gun = support::offline::GUN;
    ok(&home, &["signer", "add", "carl", gun, "--key", carl.to_str().unwrap()]);
    let never = c.dir.path().join("never.bundle");
    let out = run(&home, &["export", gun, "-o", never.to_str().unwrap()]);
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        msg.contains("does not match its signed heads") && msg.contains("audit verify"),
        "{msg}"
    );
    assert!(!never.exists());
}

#[test]
fn a_removed_head_or_audit_key_is_seen() {
    let c = ceremony();
    let home = tampered(&c, "headless", |_| {});
    fs::write(home.join("audit/heads.jsonl"), "").unwrap();
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("entry 5: the export signed a head up to entry 4"), "{msg}");

    let home = tampered(&c, "keyless", |_| {});
    fs::remove_file(home.join("audit/key.json")).unwrap();
    let (good, msg) = verify(&home);
    assert!(!good);
    assert!(msg.contains("audit/key.json"), "{msg}");
}

#[test]
fn a_torn_last_line_is_left_out_and_a_damaged_log_stops_changes_before_they_happen() {
    let c = ceremony();
    let keys = c.dir.path().join("more-keys");
    fs::create_dir(&keys).unwrap();
    let keys = keys.to_str().unwrap();

    // an append cut short by a crash: ignored, then dropped by the next append
    let torn = tampered(&c, "torn", |_| {});
    let mut log = fs::OpenOptions::new().append(true).open(log_path(&torn)).unwrap();
    std::io::Write::write_all(&mut log, b"{\"seq\":7,\"time\":\"20").unwrap();
    let (good, msg) = verify(&torn);
    assert!(good && msg.contains("cut short"), "{msg}");
    ok(&torn, &["key", "generate", "dora", "--dir", keys]);
    assert_eq!(entries(&torn).len(), 7);
    assert!(verify(&torn).0);

    // a damaged entry: the next changing command refuses before doing anything
    let damaged = tampered(&c, "damaged", |l| l[2] = l[2].replace("\"ok\"", "\"failed\""));
    let listed = |home: &Path| ok(home, &["key", "list"]).stdout;
    let before = listed(&damaged);
    let out = run(&damaged, &["key", "generate", "erin", "--dir", keys]);
    let msg = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(msg.contains("Nothing was done"), "{msg}");
    assert_eq!(listed(&damaged), before, "a key was made while the log was damaged");
    assert!(!Path::new(keys).join("erin.pub").exists());

    // a file to verify that is not there is an error, not an empty success
    let out = run(&c.home, &["audit", "verify", "/nonexistent/log.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}
