//! `airlock inspect` against the real docker CLI 28.2.2.
//!
//! The seed transcripts saved the raw metadata the server served at four moments
//! (`tests/vectors/inspect/<stage>/`, copied from the peer harness) together with what
//! `docker trust inspect` printed at those moments (`transcripts/*.stdout`). Each stage is
//! verified as an import would verify it, put in a home, and inspected: the output must be
//! docker's stdout byte for byte. Moments with no saved metadata (parts C, E and F) are
//! rebuilt from a stage's files with the repository's own key IDs (`transcripts/ids.env`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use airlock::change::Change;
use airlock::crypto::KeyId;
use airlock::home::{Bytes, Home, RepoState};
use airlock::ops::inspect::{self, Head, Inspection};
use airlock::tuf::metadata::{self, FileMeta, Root, Targets};
use airlock::tuf::verify::{self, Options, RepoFiles};
use airlock::tuf::{Gun, RoleName};
use time::macros::datetime;

const GUN: &str = "registry.example.com/admin/demo";
const REVOKE_GUN: &str = "registry.example.com/admin/demo-revoke";

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/inspect")
}

/// Docker's stdout for a transcript step.
fn docker_stdout(step: &str) -> String {
    let path = vectors().join("transcripts").join(format!("{step}.stdout"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// An ID from `ids.env`.
fn id(name: &str) -> KeyId {
    let env = fs::read_to_string(vectors().join("transcripts/ids.env")).unwrap();
    let line = env.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap();
    KeyId::parse(line).unwrap()
}

/// A stage's files by role name: `root.json` is `root`, `targets/jeff.json` `targets/jeff`.
fn stage_files(stage: &str) -> BTreeMap<RoleName, Vec<u8>> {
    let dir = vectors().join(stage);
    let mut files = BTreeMap::new();
    for (sub, prefix) in [(dir.clone(), ""), (dir.join("targets"), "targets/")] {
        let Ok(entries) = fs::read_dir(&sub) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let Some(stem) = path.file_name().unwrap().to_str().unwrap().strip_suffix(".json")
            else {
                continue;
            };
            let role = RoleName::parse(&format!("{prefix}{stem}")).unwrap();
            files.insert(role, fs::read(&path).unwrap());
        }
    }
    files
}

/// The state an import of the stage leaves: every file trusted, failed delegations marked.
fn imported_state(stage: &str, gun: &str) -> RepoState {
    let gun = Gun::parse(gun).unwrap();
    let files = stage_files(stage);
    let history = BTreeMap::new();
    let repo_files = RepoFiles { metadata: &files, root_history: &history };
    // A moment after the transcripts were recorded, before the timestamps expire.
    let opts =
        Options { now: datetime!(2026-12-04 00:00 UTC), allow_expired: false, pinned_root: None };
    let verified = verify::verify_repo(&gun, &repo_files, None, &opts).unwrap();

    let mut state = RepoState::new(&gun);
    for (role, bytes) in files {
        state.trusted.insert(role.to_string(), Bytes(bytes));
    }
    for invalid in verified.invalid {
        state.invalid_roles.insert(invalid.role.to_string(), invalid.reason);
    }
    state
}

/// Docker's JSON for one inspection.
fn json_of(inspection: &Inspection) -> String {
    String::from_utf8(inspect::render_json(std::slice::from_ref(inspection))).unwrap()
}

/// Inspects a stage as the CLI does, returning (JSON, pretty, warnings).
fn inspect_stage(stage: &str, reference: &str) -> (String, String, Vec<String>) {
    let (gun, tag) = inspect::parse_ref(reference).unwrap();
    let state = imported_state(stage, gun.as_str());
    let head = inspect::head(&state, reference).unwrap();
    let inspected = inspect::inspect(reference, tag.as_deref(), &head);
    let json = json_of(&inspected.inspection);
    (json, inspect::render_pretty(&inspected.inspection), inspected.warnings)
}

#[test]
fn unsigned_repository_after_two_signer_adds() {
    let (json, pretty, warnings) = inspect_stage("1-after-signer-add", GUN);
    assert_eq!(pretty, docker_stdout("07-docker-trust-inspect-pretty-unsigned"));
    assert_eq!(json, docker_stdout("08-docker-trust-inspect-json-unsigned"));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn signed_tags_with_signers_in_walk_order() {
    let (json, pretty, warnings) = inspect_stage("2-after-signed-tags", GUN);
    assert_eq!(pretty, docker_stdout("13-docker-trust-inspect-pretty-signed"));
    assert_eq!(json, docker_stdout("14-docker-trust-inspect-json-signed"));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_tag_in_the_reference_limits_the_signed_tags() {
    let (_, pretty, _) = inspect_stage("2-after-signed-tags", &format!("{GUN}:v1"));
    assert_eq!(pretty, docker_stdout("15-docker-trust-inspect-pretty-tag-v1"));
    let (_, pretty, _) = inspect_stage("2-after-signed-tags", &format!("{GUN}:nope"));
    assert_eq!(pretty, docker_stdout("16-docker-trust-inspect-pretty-tag-missing"));
}

#[test]
fn after_a_key_removal_and_witness() {
    let (_, pretty, _) = inspect_stage("3-after-remove-and-witness", GUN);
    assert_eq!(pretty, docker_stdout("24-docker-trust-inspect-pretty-after-witness"));
}

#[test]
fn an_invalid_releases_role_contributes_no_tags_and_warns() {
    let (_, pretty, warnings) = inspect_stage("B-after-remove-before-witness", REVOKE_GUN);
    assert_eq!(pretty, docker_stdout("42-B-admin-inspect-pretty-after-remove"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("targets/releases"), "{warnings:?}");
}

/// Stage 1's head with another repository's root and targets key IDs.
fn head_with_ids(root_id: &str, targets_id: &str) -> Head {
    let state = imported_state("1-after-signer-add", GUN);
    let mut head = inspect::head(&state, GUN).unwrap();
    let ids = [("root", id(root_id)), ("targets", id(targets_id))];
    for (role, key) in ids {
        head.root.roles.get_mut(role).unwrap().keyids = Some(vec![key]);
    }
    head
}

/// Keeps only the delegations named in `keep`.
fn keep_delegations(targets: &mut Targets, keep: &[&str]) {
    let roles = targets.delegations.roles.as_mut().unwrap();
    roles.retain(|r| keep.contains(&r.name.as_str()));
}

#[test]
fn a_single_signer_on_a_loopback_reference() {
    // Part E: `signer add jeff` only, inspected as 127.0.0.1:4463/admin/demo.
    let mut head = head_with_ids("E_ROOT_ID", "E_TARGETS_ID");
    keep_delegations(&mut head.targets, &["targets/jeff", "targets/releases"]);
    let reference = "127.0.0.1:4463/admin/demo";
    let inspection = inspect::inspect(reference, None, &head).inspection;

    let json = json_of(&inspection);
    assert_eq!(json, docker_stdout("62-E-noca-inspect-json-loopback-ref"));
    assert_eq!(
        inspect::render_pretty(&inspection),
        docker_stdout("63-E-noca-inspect-pretty-loopback-ref")
    );
}

#[test]
fn releases_alone_shows_no_signer_table() {
    // Part C after the last signer was removed: releases has no keys and does not verify.
    let mut head = head_with_ids("C_ROOT_ID", "C_TARGETS_ID");
    keep_delegations(&mut head.targets, &["targets/releases"]);
    head.targets.delegations.roles.as_mut().unwrap()[0].keyids = Some(Vec::new());
    let reference = "registry.example.com/admin/demo-signer-remove";
    let inspection = inspect::inspect(reference, None, &head).inspection;

    assert_eq!(inspect::render_pretty(&inspection), docker_stdout("56-C-inspect-pretty-after-y"));
}

#[test]
fn tags_signed_only_into_targets_are_the_repo_admins() {
    // Part F: `notary addhash` into targets, no delegations at all.
    let mut head = head_with_ids("F_ROOT_ID", "F_TARGETS_ID");
    keep_delegations(&mut head.targets, &[]);
    for (tag, digest) in [("latest", "SHA_V1"), ("v2", "SHA_V2")] {
        let hash = hex::decode(id(digest).as_str()).unwrap();
        let meta = FileMeta { length: 3, hashes: [("sha256".into(), hash)].into(), custom: None };
        head.targets.targets.insert(tag.into(), meta);
    }
    let reference = "registry.example.com/admin/demo-admin-only";
    let inspection = inspect::inspect(reference, None, &head).inspection;

    let json = json_of(&inspection);
    assert_eq!(json, docker_stdout("71-F-inspect-json"));
    assert_eq!(inspect::render_pretty(&inspection), docker_stdout("72-F-inspect-pretty"));
}

#[test]
fn pending_changes_are_not_shown() {
    let mut state = imported_state("2-after-signed-tags", GUN);
    let paths = vec![String::new()];
    state.pending.push(Change::AddKeys { role: "targets/dana".into(), keys: vec![], paths });
    let head = inspect::head(&state, GUN).unwrap();
    let inspection = inspect::inspect(GUN, None, &head).inspection;

    let pretty = inspect::render_pretty(&inspection);
    assert_eq!(pretty, docker_stdout("13-docker-trust-inspect-pretty-signed"));
}

#[test]
fn an_unconfirmed_export_is_the_head() {
    let mut state = imported_state("1-after-signer-add", GUN);
    let signed = inspect::head(&state, GUN).unwrap();

    // An export's targets replaces the trusted one in the head.
    let stage2 = stage_files("2-after-signed-tags");
    let exported: BTreeMap<String, Bytes> =
        stage2.iter().map(|(r, b)| (r.to_string(), Bytes(b.clone()))).collect();
    state.exported = Some(airlock::home::Exported {
        bundle_digest: "x".into(),
        at: "now".into(),
        files: exported,
    });
    let head = inspect::head(&state, GUN).unwrap();
    assert!(signed.delegations.is_empty());
    assert_eq!(head.delegations.len(), 3);
    let root: Root = metadata::parse(&stage2[&RoleName::root()], "root").unwrap().signed;
    assert_eq!(head.root, root);
}

/// Writes a home holding one stage and returns its directory.
fn home_with(dir: &Path, stage: &str, gun: &str) -> PathBuf {
    let path = dir.join("home");
    let home = Home::open(&path).unwrap();
    home.save_repo(&imported_state(stage, gun)).unwrap();
    path
}

fn airlock(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
    cmd.arg("--home").arg(home).args(args).env_remove("AIRLOCK_HOME");
    cmd.output().unwrap()
}

#[test]
fn cli_prints_docker_json_and_pretty() {
    let dir = tempfile::tempdir().unwrap();
    let home = home_with(dir.path(), "2-after-signed-tags", GUN);

    let out = airlock(&home, &["inspect", GUN]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        docker_stdout("14-docker-trust-inspect-json-signed")
    );

    let out = airlock(&home, &["inspect", "--pretty", &format!("{GUN}:v1")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        docker_stdout("15-docker-trust-inspect-pretty-tag-v1")
    );
}

#[test]
fn cli_warns_about_invalid_roles_and_refuses_unknown_guns() {
    let dir = tempfile::tempdir().unwrap();
    let home = home_with(dir.path(), "B-after-remove-before-witness", REVOKE_GUN);

    let out = airlock(&home, &["inspect", "--pretty", REVOKE_GUN]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("warning") && stderr.contains("targets/releases"), "{stderr}");

    // JSON still prints the GUNs that work, then fails with exit 1 like docker.
    let out = airlock(&home, &["inspect", "example.com/other", REVOKE_GUN]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no signatures or cannot access example.com/other"), "{stderr}");
}
