//! The case runner shared by the hostile-bundle tests: a case is a name, a way to make the
//! bundle from the fixture, the exit code and a distinctive part of stderr it must produce,
//! run against a copy of a home so that the home can be compared byte for byte afterwards.

use std::path::Path;

use super::*;

/// How a case makes its bundle.
pub type Make = Box<dyn Fn(&Fixture, &Path)>;

pub struct Case {
    pub name: &'static str,
    pub make: Make,
    pub args: Vec<String>,
    pub code: i32,
    pub needle: String,
}

pub fn case(name: &'static str, code: i32, needle: &str, make: Make) -> Case {
    Case { name, make, args: Vec::new(), code, needle: needle.to_string() }
}

/// A repository made from a spec, written with airlock's own bundle writer.
pub fn spec(f: impl Fn(&Fixture) -> Spec + 'static) -> Make {
    Box::new(move |fx, path| write_bundle(path, &[&f(fx).build()]))
}

/// A repository changed after it was built (files swapped in or out), written by airlock.
pub fn repo(f: impl Fn(&Fixture) -> Repo + 'static) -> Make {
    Box::new(move |fx, path| write_bundle(path, &[&f(fx)]))
}

/// The update bundle as crafted parts, changed by `f`.
pub fn raw(f: impl Fn(&Fixture, &mut RawBundle) + 'static) -> Make {
    Box::new(move |fx, path| {
        let repo = fx.update().build();
        let mut r = RawBundle::from_repos(&[&repo]);
        f(fx, &mut r);
        r.write(path);
    })
}

/// Bundle file bytes made directly.
pub fn bytes(f: impl Fn(&Fixture) -> Vec<u8> + 'static) -> Make {
    Box::new(move |fx, path| fs::write(path, f(fx)).unwrap())
}

/// Several repositories in one bundle, written by airlock.
pub fn repos(f: impl Fn(&Fixture) -> Vec<Repo> + 'static) -> Make {
    Box::new(move |fx, path| {
        let repos = f(fx);
        write_bundle(path, &repos.iter().collect::<Vec<_>>());
    })
}

/// A second GUN, new to the home.
pub const OTHER: &str = "example.com/team/other";

/// A fresh, valid repository for [`OTHER`] (its own root key and certificate).
pub fn other_spec(fx: &Fixture) -> Spec {
    let key = RootKey::new(OTHER, fx.now - Duration::hours(1));
    Spec {
        gun: OTHER.to_string(),
        root_keys: vec![key.clone()],
        root_signers: vec![key],
        ..fx.spec()
    }
}

pub fn path_of(role: &str) -> String {
    format!("repos/{GUN}/metadata/{role}.json")
}

pub fn hook(f: impl Fn(&str, &mut Vec<u8>) + 'static) -> BytesHook {
    Some(Rc::new(f))
}

/// `fx.update()` with a byte replacement in one role's signed file (re-hashed by snapshot and
/// timestamp, so the parser sees it).
pub fn with_hook(role: &'static str, from: &'static [u8], to: &'static [u8]) -> Make {
    spec(move |fx| {
        let mut s = fx.update();
        s.bytes_hook = hook(move |r, b| {
            if r == role {
                replace_once(b, from, to)
            }
        });
        s
    })
}

// ---------------------------------------------------------------------------------------------
// Running cases

/// A temporary directory holding a home that trusts `fx.trusted()`, imported by the binary.
pub fn trusted_home(fx: &Fixture) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("trusted.bundle");
    write_bundle(&bundle, &[&fx.trusted().build()]);
    let home = dir.path().join("home");
    let out = import(&home, &bundle, &[]);
    assert!(
        out.status.success(),
        "the trusted bundle must import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs every case in a fresh copy of `template` (or, with `None`, on a home directory that
/// does not exist yet) and fails with the list of every case that went wrong.
pub fn run(fx: &Fixture, template: Option<&Path>, cases: Vec<Case>) {
    let mut failures = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "case name {} used twice", c.name);
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        if let Some(t) = template {
            copy_tree(t, &home);
        }
        let before = home.exists().then(|| snapshot_tree(&home));
        let bundle = dir.path().join("pull.bundle");
        (c.make)(fx, &bundle);

        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let mut wrong = Vec::new();
        // `import --dry-run` verifies exactly as import does: the same refusal, nothing written.
        let log_before = fs::read(home.join("audit/log.jsonl")).ok();
        let dry = import(&home, &bundle, &[args.as_slice(), &["--dry-run"]].concat());
        if dry.status.code() != Some(c.code) {
            wrong.push(format!(
                "--dry-run: exit code {:?}, expected {}",
                dry.status.code(),
                c.code
            ));
        }
        if !String::from_utf8_lossy(&dry.stderr).contains(&c.needle) {
            wrong.push(format!("--dry-run: stderr lacks {:?}", c.needle));
        }
        let log_after = fs::read(home.join("audit/log.jsonl")).ok();
        if before != home.exists().then(|| snapshot_tree(&home)) || log_before != log_after {
            wrong.push("--dry-run changed the home".to_string());
        }

        let out = import(&home, &bundle, &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();

        if code != Some(c.code) {
            wrong.push(format!("exit code {code:?}, expected {}", c.code));
        }
        if !stderr.contains(&c.needle) {
            wrong.push(format!("stderr lacks {:?}", c.needle));
        }
        match &before {
            Some(before) => {
                let after = snapshot_tree(&home);
                if &after != before {
                    wrong.push(format!("home changed: {}", diff(before, &after)));
                }
            }
            None => {
                if home.exists() {
                    let left: Vec<_> = snapshot_tree(&home).into_keys().collect();
                    wrong.push(format!("a home was left behind: {left:?}"));
                }
            }
        }
        if wrong.is_empty() {
            eprintln!("ok   {}: {}", c.name, stderr.trim());
        } else {
            eprintln!("FAIL {}: {}\n     stderr: {}", c.name, wrong.join("; "), stderr.trim());
            failures.push(format!("{}: {} (stderr: {})", c.name, wrong.join("; "), stderr.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

pub fn diff(
    before: &BTreeMap<std::path::PathBuf, String>,
    after: &BTreeMap<std::path::PathBuf, String>,
) -> String {
    let mut out = Vec::new();
    for (p, v) in after {
        match before.get(p) {
            None => out.push(format!("+{}", p.display())),
            Some(old) if old != v => out.push(format!("~{}", p.display())),
            _ => {}
        }
    }
    for p in before.keys() {
        if !after.contains_key(p) {
            out.push(format!("-{}", p.display()));
        }
    }
    out.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Controls: the unmutated bundles are accepted, so every refusal below is the mutation's doing
