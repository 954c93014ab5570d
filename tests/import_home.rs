//! How `import` and `import --dry-run` treat the home they are given, beyond the bundle:
//! a dry run writes nothing to a home that exists, a home that is not one is refused, and a
//! damaged state stops an import instead of weakening its checks.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use support::cases::*;
use support::*;

/// `import --dry-run` writes nothing to a home that exists either: no lock file made, no
/// leftover temporary cleared, and its JSON says it was a dry run. A `--home` that is not a
/// directory is refused as import refuses it.
#[test]
fn dry_run_leaves_an_existing_home_alone() {
    let fx = Fixture::new();
    let (dir, h) = trusted_copy(&fx);
    let _ = fs::remove_file(h.join("lock"));
    fs::write(h.join("repos/.airlock-tmp-left-over"), b"half").unwrap();
    let bundle = dir.path().join("pull.bundle");
    write_bundle(&bundle, &[&fx.update().build()]);

    let listing = |h: &Path| {
        let mut names: Vec<_> = walkdir(h);
        names.sort();
        names
    };
    let (before, tree) = (listing(&h), snapshot_tree(&h));
    let out = airlock(&h, &["--json", "import", bundle.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], true, "{report}");
    assert_eq!(listing(&h), before, "a dry run made or removed files");
    assert_eq!(snapshot_tree(&h), tree);

    let out = airlock(&h, &["--json", "import", bundle.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], false, "{report}");

    // A --home that is a file, and a home whose repos is one, are refused by both.
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let odd = dir.path().join("odd-home");
    fs::create_dir(&odd).unwrap();
    fs::write(odd.join("repos"), b"x").unwrap();
    for home in [&file, &odd] {
        for extra in [&["--dry-run"][..], &[]] {
            let out = import(home, &bundle, extra);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{home:?} {extra:?}: {stderr}");
            assert!(stderr.contains("cannot use home"), "{home:?} {extra:?}: {stderr}");
        }
    }
}

/// A state whose trusted file has no readable version has lost its rollback baseline: import
/// (and its dry run) stop and say so, instead of importing without it.
#[test]
fn a_trusted_file_without_a_version_stops_import() {
    let fx = Fixture::new();
    let (dir, h) = trusted_copy(&fx);
    let state_path = fs::read_dir(h.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let mut state: serde_json::Value =
        serde_json::from_slice(&fs::read(&state_path).unwrap()).unwrap();
    let damaged = base64::engine::general_purpose::STANDARD.encode(br#"{"signed":{}}"#);
    state["trusted"]["targets"] = serde_json::Value::String(damaged);
    fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    let bundle = dir.path().join("pull.bundle");
    write_bundle(&bundle, &[&fx.update().build()]);

    let tree = snapshot_tree(&h);
    for extra in [&["--dry-run"][..], &[]] {
        let out = import(&h, &bundle, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(stderr.contains("trusted targets has no readable version"), "{stderr}");
        assert_eq!(snapshot_tree(&h), tree, "{extra:?}");
    }
}

/// A copy of a home that trusts `fx.trusted()`, in a temporary directory of its own.
fn trusted_copy(fx: &Fixture) -> (tempfile::TempDir, PathBuf) {
    let template = trusted_home(fx);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    copy_tree(&template.path().join("home"), &home);
    (dir, home)
}

/// Every path under `dir`, the lock and temporaries included.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        }
        out.push(path);
    }
    out
}
