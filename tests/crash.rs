//! Crash safety and concurrency of the home, with the real binary.
//!
//! `AIRLOCK_TEST_CRASH_AT=N` aborts the process at its Nth write point (after a temporary
//! file is flushed, and after it is renamed into place). Every write point of `import`,
//! `signer add` (which initialises a repository), `export` and `key generate` is hit in turn;
//! after each crash the home must hold the state before the command or after it, never a
//! mix, and the command must then work.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock::bundle::{self, BundleContents, BundleKind, RepoFiles};
use airlock::crypto::SigningKey;
use airlock::tuf::{Gun, RoleName};
use base64::Engine;
use time::OffsetDateTime;

const GUN: &str = "example.com/crash/app";

fn airlock(home: &Path, args: &[&str], crash_at: Option<usize>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.arg("--home").arg(home).args(args);
    cmd.env("AIRLOCK_SCRYPT_WORK_FACTOR", "10");
    for (var, value) in [("ROOT", "r"), ("TARGETS", "t"), ("DELEGATION", "d")] {
        cmd.env(format!("AIRLOCK_{var}_PASSPHRASE"), value);
    }
    match crash_at {
        Some(n) => cmd.env("AIRLOCK_TEST_CRASH_AT", n.to_string()),
        None => cmd.env_remove("AIRLOCK_TEST_CRASH_AT"),
    };
    cmd.output().expect("airlock runs")
}

fn ok(home: &Path, args: &[&str]) {
    let out = airlock(home, args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A home's files (but the lock) with their bytes.
type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Every file of a home but the lock, with its bytes.
fn snapshot(home: &Path) -> Files {
    let mut files = BTreeMap::new();
    walk(home, home, &mut files);
    files
}

fn walk(base: &Path, dir: &Path, files: &mut Files) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(base, &path, files);
        } else if path.file_name().unwrap() != "lock" {
            files.insert(path.strip_prefix(base).unwrap().to_path_buf(), fs::read(&path).unwrap());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

fn pull_bundle(dir: &Path) -> PathBuf {
    let public = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]).verifying_key().to_bytes();
    let public = base64::engine::general_purpose::STANDARD.encode(public);
    let json =
        format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{public}","private":null}}}}"#);
    let mut repo = RepoFiles::new(Gun::parse(GUN).unwrap(), true);
    for role in ["timestamp", "snapshot"] {
        repo.server_keys.insert(RoleName::parse(role).unwrap(), json.clone().into_bytes());
    }
    let created = OffsetDateTime::now_utc();
    let contents = BundleContents {
        kind: BundleKind::Pull,
        created,
        answers: None,
        repos: vec![repo],
        audit: None,
    };
    let path = dir.join("pull.bundle");
    bundle::write(&path, &contents).unwrap();
    path
}

/// Crashes `args` at every write point on a copy of `before`, then checks the home and that
/// `recover` (the command again, or its next step) works. Returns how many points there were.
fn crash_everywhere(
    work: &Path,
    before: &Path,
    args: &[&str],
    check: &dyn Fn(&Path, &Files),
) -> usize {
    let original = snapshot(before);
    for n in 1..100 {
        let home = work.join(format!("crash-{}-{n}", args[0]));
        copy_dir(before, &home);
        let out = airlock(&home, args, Some(n));
        if out.status.success() {
            assert!(n > 1, "{args:?} has no write point");
            return n - 1;
        }
        assert_eq!(out.status.code(), None, "{args:?} at {n} failed instead of crashing");
        check(&home, &original);
        fs::remove_dir_all(&home).unwrap();
    }
    panic!("{args:?} did not finish within 100 write points");
}

/// State files are whole: each parses (status works) and is either the old one or a new one.
fn states_whole(home: &Path) {
    let out = airlock(home, &["--json", "status"], None);
    assert!(out.status.success(), "status after a crash: {}", String::from_utf8_lossy(&out.stderr));
    let leftovers = snapshot(home)
        .into_keys()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".airlock-tmp-"));
    assert_eq!(leftovers.count(), 0, "status did not clear a crashed writer's temporary files");
}

fn repo_state(files: &Files) -> Option<&Vec<u8>> {
    files.iter().find(|(p, _)| p.starts_with("repos")).map(|(_, b)| b)
}

#[test]
fn every_write_point_leaves_old_or_new_state() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let pull = pull_bundle(work);
    let pull = pull.to_str().unwrap();
    let jeff = work.join("jeff.pub");
    fs::write(&jeff, SigningKey::generate_p256().public_key().to_public_pem().unwrap()).unwrap();
    let jeff = jeff.to_str().unwrap();

    // import into an empty home: the state file is there whole, or not at all
    let empty = work.join("empty");
    fs::create_dir_all(&empty).unwrap();
    let points = crash_everywhere(work, &empty, &["import", pull], &|home, _| {
        let files = snapshot(home);
        if let Some(state) = repo_state(&files) {
            serde_json::from_slice::<serde_json::Value>(state).expect("whole state file");
        }
        states_whole(home);
        ok(home, &["import", pull]);
    });
    assert!(points >= 2, "import: {points} write points");

    // signer add, initialising: pending has both changes and the init, or nothing
    let imported = work.join("imported");
    copy_dir(&empty, &imported);
    ok(&imported, &["import", pull]);
    let add = ["signer", "add", "jeff", GUN, "--key", jeff];
    let points = crash_everywhere(work, &imported, &add, &|home, before| {
        states_whole(home);
        let state = snapshot(home);
        let state = repo_state(&state).unwrap();
        if state != repo_state(before).unwrap() {
            let v: serde_json::Value = serde_json::from_slice(state).unwrap();
            assert_eq!(v["pending"].as_array().unwrap().len(), 3, "a partial change list");
        }
        ok(home, &add);
        ok(home, &["export", GUN, "-o", home.join("r.bundle").to_str().unwrap()]);
    });
    assert!(points >= 10, "signer add: {points} write points");

    // export: the bundle and the recorded export, or neither recorded
    let staged = work.join("staged");
    copy_dir(&imported, &staged);
    ok(&staged, &add);
    let out_path = work.join("response.bundle");
    let export = ["export", GUN, "-o", out_path.to_str().unwrap()];
    let points = crash_everywhere(work, &staged, &export, &|home, _| {
        states_whole(home);
        let _ = fs::remove_file(&out_path);
        let again = home.join("again.bundle");
        let status = airlock(home, &["--json", "status", GUN], None);
        let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        if v[0]["pending"].as_array().unwrap().is_empty() {
            assert!(v[0]["exported_unconfirmed"].is_string(), "pending cleared without export");
        } else {
            ok(home, &["export", GUN, "-o", again.to_str().unwrap()]);
        }
    });
    assert!(points >= 4, "export: {points} write points");

    // key generate: a key without its public file is harmless; never a file without a key
    let keys_dir = work.join("pub");
    fs::create_dir_all(&keys_dir).unwrap();
    let generate = ["key", "generate", "ben", "--dir", keys_dir.to_str().unwrap()];
    let points = crash_everywhere(work, &staged, &generate, &|home, _| {
        states_whole(home);
        let pub_file = keys_dir.join("ben.pub");
        if pub_file.exists() {
            let listed = airlock(home, &["--json", "key", "list"], None);
            let text = fs::read_to_string(&pub_file).unwrap();
            let key = airlock::crypto::parse_public_pem(text.as_bytes()).unwrap();
            let id = key.canonical_id().unwrap().to_string();
            assert!(String::from_utf8_lossy(&listed.stdout).contains(&id), "pub file without key");
            fs::remove_file(&pub_file).unwrap();
        } else {
            ok(home, &generate);
            fs::remove_file(&pub_file).unwrap();
        }
    });
    assert!(points >= 2, "key generate: {points} write points");
}

#[test]
fn concurrent_commands_on_one_home_all_land() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let pull = pull_bundle(work.path());
    ok(&home, &["import", pull.to_str().unwrap()]);
    let key = work.path().join("k.pub");
    fs::write(&key, SigningKey::generate_p256().public_key().to_public_pem().unwrap()).unwrap();
    ok(&home, &["signer", "add", "first", GUN, "--key", key.to_str().unwrap()]);

    let names = ["a1", "b2", "c3", "d4", "e5", "f6"];
    let handles: Vec<_> = names
        .iter()
        .map(|name| {
            let (home, key) = (home.clone(), key.clone());
            let name = name.to_string();
            std::thread::spawn(move || {
                airlock(&home, &["signer", "add", &name, GUN, "--key", key.to_str().unwrap()], None)
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let out = airlock(&home, &["--json", "delegation", "list", GUN], None);
    let roles: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let roles: Vec<&str> =
        roles.as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap()).collect();
    for name in names {
        assert!(roles.contains(&format!("targets/{name}").as_str()), "{name} lost: {roles:?}");
    }
}
