//! Repository verification against real repositories served by notary-server
//! (`tests/vectors/repos`), and against single mutations of them.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use airlock::tuf::metadata::{self, Root};
use airlock::tuf::verify::{verify_repo, Options, Previous, RepoFiles, VerifyError};
use airlock::tuf::{Gun, RoleName};
use time::macros::datetime;
use time::OffsetDateTime;

/// Before every vector's timestamp expires (2026-12-17).
const NOW: OffsetDateTime = datetime!(2026-12-10 00:00 UTC);

struct Repo {
    gun: Gun,
    metadata: BTreeMap<RoleName, Vec<u8>>,
    history: BTreeMap<u64, Vec<u8>>,
}

fn load(dir: &str, gun: &str) -> Repo {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repos").join(dir);
    let mut metadata = BTreeMap::new();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let bytes = fs::read(base.join(format!("{role}.json"))).unwrap();
        metadata.insert(RoleName::parse(role).unwrap(), bytes);
    }
    if let Ok(entries) = fs::read_dir(base.join("targets")) {
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let Some(stem) = name.strip_suffix(".json") else { continue };
            if stem.ends_with(".sigcheck") {
                continue;
            }
            let role = RoleName::parse(&format!("targets/{stem}")).unwrap();
            metadata.insert(role, fs::read(&path).unwrap());
        }
    }
    let mut history = BTreeMap::new();
    for v in 1..10u64 {
        if let Ok(bytes) = fs::read(base.join(format!("{v}.root.json"))) {
            history.insert(v, bytes);
        }
    }
    // This capture's root.json was taken after the rotation (v3) while its snapshot lists
    // root v2: a real mix-and-match, which `a_mismatched_capture_is_refused` checks. The
    // consistent set uses the server's copy of root v2.
    if dir == "notary-cli-repo1-before-rotation" {
        let v2 = base.join("../notary-cli-repo1/2.root.json");
        metadata.insert(RoleName::root(), fs::read(v2).unwrap());
        history.insert(1, fs::read(base.join("../notary-cli-repo1/1.root.json")).unwrap());
    }
    Repo { gun: Gun::parse(gun).unwrap(), metadata, history }
}

#[test]
fn a_mismatched_capture_is_refused() {
    let mut repo = load("notary-cli-repo1-before-rotation", "example.com/test/repo1");
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/repos");
    let v3 = fs::read(base.join("notary-cli-repo1-before-rotation/root.json")).unwrap();
    repo.metadata.insert(RoleName::root(), v3);
    let err = verify(&repo, &opts()).unwrap_err();
    assert!(matches!(err, VerifyError::HashMismatch { ref role, .. } if role == "root"), "{err}");
}

fn opts() -> Options<'static> {
    Options { now: NOW, allow_expired: false, pinned_root: None }
}

fn verify(repo: &Repo, opts: &Options) -> Result<airlock::tuf::verify::VerifiedRepo, VerifyError> {
    let files = RepoFiles { metadata: &repo.metadata, root_history: &repo.history };
    verify_repo(&repo.gun, &files, None, opts)
}

const REPOS: &[(&str, &str)] = &[
    ("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo"),
    ("docker-trust-repo-final", "127.0.0.1:5000/test/dockerrepo"),
    ("notary-cli-repo1", "example.com/test/repo1"),
    ("notary-cli-repo1-before-rotation", "example.com/test/repo1"),
    ("notary-cli-repo3-rsa-bare", "example.com/test/repo3"),
    ("python-created-repo", "example.com/py/newrepo"),
];

#[test]
fn every_real_repository_verifies() {
    for (dir, gun) in REPOS {
        let repo = load(dir, gun);
        let v = verify(&repo, &opts()).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert!(v.trust_on_first_use, "{dir}");
        let invalid: Vec<&str> = v.invalid.iter().map(|i| i.role.as_str()).collect();
        let expected: &[&str] = match *dir {
            // keys removed from the parent role (`keyids: null`): unverifiable until witnessed
            "docker-trust-repo-final" => &["targets/releases"],
            "notary-cli-repo1" => &["targets/p384"],
            _ => &[],
        };
        assert_eq!(invalid, expected, "{dir}");
    }
}

#[test]
fn root_rotation_chains_from_the_trusted_root() {
    let before = load("notary-cli-repo1-before-rotation", "example.com/test/repo1");
    let after = load("notary-cli-repo1", "example.com/test/repo1");
    let trusted = verify(&before, &opts()).unwrap();
    let prev =
        Previous { root: &trusted.root, roles: BTreeMap::new(), delegation_keys: BTreeMap::new() };
    let files = RepoFiles { metadata: &after.metadata, root_history: &after.history };
    let v = verify_repo(&after.gun, &files, Some(&prev), &opts()).unwrap();
    assert_eq!(v.root.signed.common.version, 3);
    assert!(!v.trust_on_first_use);

    // the other way round is a rollback
    let newer = verify(&after, &opts()).unwrap();
    let prev =
        Previous { root: &newer.root, roles: BTreeMap::new(), delegation_keys: BTreeMap::new() };
    let files = RepoFiles { metadata: &before.metadata, root_history: &before.history };
    let err = verify_repo(&before.gun, &files, Some(&prev), &opts()).unwrap_err();
    assert!(matches!(err, VerifyError::Rollback { .. }), "{err}");
}

#[test]
fn a_missing_intermediate_root_breaks_the_chain() {
    let first = load("notary-cli-repo1", "example.com/test/repo1");
    let v1 = metadata::parse::<Root>(&first.history[&1], "root").unwrap();
    let mut after = load("notary-cli-repo1", "example.com/test/repo1");
    after.history.remove(&2);
    let prev = Previous { root: &v1, roles: BTreeMap::new(), delegation_keys: BTreeMap::new() };
    let files = RepoFiles { metadata: &after.metadata, root_history: &after.history };
    let err = verify_repo(&after.gun, &files, Some(&prev), &opts()).unwrap_err();
    assert!(matches!(err, VerifyError::RootChain { .. }), "{err}");
}

#[test]
fn versions_below_the_trusted_ones_are_rollbacks() {
    let repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    let v = verify(&repo, &opts()).unwrap();
    let higher = v.targets.signed.common.version + 1;
    let mut roles = BTreeMap::new();
    roles.insert("targets".to_string(), (higher, &b""[..]));
    let prev = Previous { root: &v.root, roles, delegation_keys: BTreeMap::new() };
    let files = RepoFiles { metadata: &repo.metadata, root_history: &repo.history };
    let err = verify_repo(&repo.gun, &files, Some(&prev), &opts()).unwrap_err();
    assert!(matches!(err, VerifyError::Rollback { ref role, .. } if role == "targets"), "{err}");
}

fn mutate(role: &str, f: impl Fn(&mut Vec<u8>)) -> Repo {
    let mut repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    f(repo.metadata.get_mut(&RoleName::parse(role).unwrap()).unwrap());
    repo
}

fn replace(bytes: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(from), "{from} not found");
    *bytes = text.replacen(from, to, 1).into_bytes();
}

#[test]
fn single_mutations_are_refused_with_the_right_rule() {
    // a changed byte in targets: its hash no longer matches the snapshot
    let repo = mutate("targets", |b| replace(b, "\"version\":", "\"version\": "));
    assert!(matches!(verify(&repo, &opts()), Err(VerifyError::HashMismatch { .. })));

    // a bad signature on the timestamp
    let repo = mutate("timestamp", |b| replace(b, "\"sig\":\"", "\"sig\":\"AAAA"));
    assert!(matches!(verify(&repo, &opts()),
            Err(VerifyError::Threshold { ref role, .. }) if role == "timestamp"));

    // a wrong _type
    let repo = mutate("timestamp", |b| replace(b, "\"Timestamp\"", "\"Snapshot\""));
    assert!(matches!(verify(&repo, &opts()), Err(VerifyError::Metadata { .. })));

    // duplicate JSON keys
    let repo = mutate("timestamp", |b| replace(b, "{\"signed\":{", "{\"signed\":{\"version\":1,"));
    assert!(matches!(verify(&repo, &opts()), Err(VerifyError::Metadata { .. })));

    // a role file missing
    let mut repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    repo.metadata.remove(&RoleName::parse("snapshot").unwrap());
    assert!(matches!(verify(&repo, &opts()), Err(VerifyError::Missing { .. })));

    // a delegation the snapshot does not list
    let mut repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    let extra = repo.metadata[&RoleName::releases()].clone();
    repo.metadata.insert(RoleName::parse("targets/extra").unwrap(), extra);
    assert!(matches!(verify(&repo, &opts()), Err(VerifyError::Unlisted { .. })));
}

#[test]
fn expiry_wrong_gun_and_pins() {
    let repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    let later = Options { now: datetime!(2027-01-01 00:00 UTC), ..opts() };
    assert!(matches!(verify(&repo, &later),
            Err(VerifyError::Expired { ref role, .. }) if role == "timestamp"));
    let allowed = Options { allow_expired: true, ..later };
    assert!(verify(&repo, &allowed).is_ok());

    let mut other = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    other.gun = Gun::parse("127.0.0.1:5000/test/other").unwrap();
    assert!(matches!(verify(&other, &opts()), Err(VerifyError::RootCertificate { .. })));

    let v = verify(&repo, &opts()).unwrap();
    let tuf_id = v.root.signed.roles["root"].keyids.as_ref().unwrap()[0].to_string();
    let canonical = v.root.signed.keys[&v.root.signed.roles["root"].keyids.as_ref().unwrap()[0]]
        .canonical_id()
        .unwrap()
        .to_string();
    for pin in [tuf_id.as_str(), canonical.as_str()] {
        let pinned = Options { pinned_root: Some(pin), ..opts() };
        let v = verify(&repo, &pinned).unwrap();
        assert!(!v.trust_on_first_use);
    }
    let wrong = Options { pinned_root: Some(&"0".repeat(64)), ..opts() };
    assert!(matches!(verify(&repo, &wrong), Err(VerifyError::PinMismatch { .. })));
}

#[test]
fn uploads_are_checked_like_imports() {
    use airlock::tuf::verify::{verify_upload, ServerState};
    let repo = load("docker-trust-repo", "127.0.0.1:5000/test/dockerrepo");
    let root = repo.metadata[&RoleName::root()].clone();
    let server = ServerState { root: Some(&root), targets: None };
    let now = OffsetDateTime::now_utc();

    let mut upload = BTreeMap::new();
    upload.insert(RoleName::targets(), repo.metadata[&RoleName::targets()].clone());
    upload.insert(RoleName::releases(), repo.metadata[&RoleName::releases()].clone());
    verify_upload(&repo.gun, &upload, &server, now).unwrap();

    let mut bad = upload.clone();
    replace(bad.get_mut(&RoleName::targets()).unwrap(), "\"sig\":\"", "\"sig\":\"AAAA");
    let err = verify_upload(&repo.gun, &bad, &server, now).unwrap_err();
    assert!(matches!(err, VerifyError::Threshold { ref role, .. } if role == "targets"), "{err}");

    let no_root = ServerState { root: None, targets: None };
    assert!(matches!(
        verify_upload(&repo.gun, &upload, &no_root, now),
        Err(VerifyError::Missing { .. })
    ));
}
