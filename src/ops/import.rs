//! `airlock import`: verify a pull bundle and make it this home's trusted state.
//!
//! Every GUN in the bundle is verified before anything is written, so a bundle with one bad
//! repository changes nothing at all.

use std::collections::BTreeMap;
use std::path::Path;

use time::OffsetDateTime;

use crate::bundle::{self, BundleKind, Limits, RepoFiles};
use crate::crypto::{KeyId, PublicKey};
use crate::home::{Bytes, Home, RepoState};
use crate::ops::OpsError;
use crate::tuf::cjson;
use crate::tuf::metadata::{self, Ctx, Root};
use crate::tuf::verify::{self, Options, Previous, VerifiedRepo};
use crate::tuf::Gun;

pub struct ImportOptions<'a> {
    pub now: OffsetDateTime,
    pub allow_expired: bool,
    pub pinned_root: Option<&'a str>,
}

/// What an import did for one GUN, for the report.
#[derive(Debug, serde::Serialize)]
pub struct GunReport {
    pub gun: String,
    /// The server had no trust data: the GUN awaits initialisation.
    pub new: bool,
    /// Set when the root was accepted on first use: its TUF and canonical key IDs.
    pub trusted_on_first_use: Option<Vec<String>>,
    pub versions: BTreeMap<String, i64>,
    /// Delegations that failed verification, with why.
    pub invalid_roles: BTreeMap<String, String>,
    /// True when the server now holds what this home exported earlier.
    pub export_confirmed: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub bundle_digest: String,
    pub guns: Vec<GunReport>,
}

pub fn import(home: &Home, path: &Path, opts: &ImportOptions) -> Result<ImportReport, OpsError> {
    let bundle = bundle::read(path, &Limits::default()).map_err(OpsError::bundle(path))?;
    if bundle.contents.kind != BundleKind::Pull {
        return Err(OpsError::Usage(format!(
            "{} is a response bundle; import takes pull bundles (responses go to `airlock push`)",
            path.display()
        )));
    }

    let mut staged = Vec::new();
    for repo in &bundle.contents.repos {
        let previous = home.repo(&repo.gun)?;
        staged.push(verify_one(repo, previous, &bundle.digest, opts)?);
    }

    let mut reports = Vec::new();
    for (state, report) in staged {
        home.save_repo(&state)?;
        reports.push(report);
    }
    Ok(ImportReport { bundle_digest: bundle.digest, guns: reports })
}

fn verify_one(
    repo: &RepoFiles,
    previous: Option<RepoState>,
    digest: &str,
    opts: &ImportOptions,
) -> Result<(RepoState, GunReport), OpsError> {
    let gun = &repo.gun;
    let mut state = previous.clone().unwrap_or_else(|| RepoState::new(gun));
    check_server_keys(gun, repo)?;

    let mut report = GunReport {
        gun: gun.to_string(),
        new: repo.new,
        trusted_on_first_use: None,
        versions: BTreeMap::new(),
        invalid_roles: BTreeMap::new(),
        export_confirmed: false,
    };

    if repo.new {
        if let Some(root) = state.trusted.get("root") {
            let version = metadata::parse::<Root>(&root.0, "root")?.signed.common.version;
            let why = format!(
                "the server has no trust data, but this home trusts root version {version}; \
                 the server was reset or is not the one you expect. If the repository was \
                 deleted on purpose, run `airlock forget {gun}` and import again"
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
    } else {
        let verified = verify_files(repo, previous.as_ref(), opts)?;
        record_verified(&mut state, &verified, &mut report);
    }

    state.new = repo.new;
    state.pull_digest = digest.to_string();
    state.imported_at = crate::ops::keys::rfc3339(opts.now);
    state.server_keys =
        repo.server_keys.iter().map(|(r, b)| (r.to_string(), Bytes(b.clone()))).collect();
    Ok((state, report))
}

fn verify_files(
    repo: &RepoFiles,
    previous: Option<&RepoState>,
    opts: &ImportOptions,
) -> Result<VerifiedRepo, OpsError> {
    // The root to chain from: the one this home trusts, or, for a repository this home
    // initialised, the root it exported (its own making, so no trust on first use).
    let exported_root = previous.and_then(|p| p.exported.as_ref()?.files.get("root"));
    let prev_root = match previous.and_then(|p| p.trusted.get("root")).or(exported_root) {
        Some(b) => Some(metadata::parse::<Root>(&b.0, "root")?),
        None => None,
    };
    let prev = match (&prev_root, previous) {
        (Some(root), Some(state)) => Some(Previous { root, roles: trusted_versions(state)? }),
        _ => None,
    };
    let files = verify::RepoFiles { metadata: &repo.metadata, root_history: &repo.root_history };
    let options =
        Options { now: opts.now, allow_expired: opts.allow_expired, pinned_root: opts.pinned_root };
    Ok(verify::verify_repo(&repo.gun, &files, prev.as_ref(), &options)?)
}

/// Version and bytes of each role this home trusts.
fn trusted_versions(state: &RepoState) -> Result<BTreeMap<String, (i64, &[u8])>, OpsError> {
    let mut out = BTreeMap::new();
    for (role, bytes) in &state.trusted {
        let doc = cjson::parse(&bytes.0).map_err(|source| {
            let role = role.clone();
            OpsError::Metadata(metadata::MetadataError::Json { role, source })
        })?;
        let version = doc.get("signed").and_then(|s| s.get("version")).and_then(|v| v.as_i64());
        if let Some(version) = version {
            out.insert(role.clone(), (version, bytes.0.as_slice()));
        }
    }
    Ok(out)
}

fn record_verified(state: &mut RepoState, v: &VerifiedRepo, report: &mut GunReport) {
    let mut trusted = BTreeMap::new();
    let mut put = |role: &str, bytes: &[u8], version: i64| {
        trusted.insert(role.to_string(), Bytes(bytes.to_vec()));
        report.versions.insert(role.to_string(), version);
    };
    put("root", &v.root.bytes, v.root.signed.common.version);
    put("targets", &v.targets.bytes, v.targets.signed.common.version);
    put("snapshot", &v.snapshot.bytes, v.snapshot.signed.common.version);
    put("timestamp", &v.timestamp.bytes, v.timestamp.signed.common.version);
    for (role, file) in &v.delegations {
        put(role.as_str(), &file.bytes, file.signed.common.version);
    }
    for (role, bytes) in &v.invalid_files {
        trusted.insert(role.to_string(), Bytes(bytes.clone()));
    }
    report.invalid_roles =
        v.invalid.iter().map(|i| (i.role.to_string(), i.reason.clone())).collect();

    if v.trust_on_first_use {
        report.trusted_on_first_use = Some(root_key_ids(&v.root.signed));
    }
    report.export_confirmed = export_confirmed(state, report);
    if report.export_confirmed {
        state.exported = None;
    }
    state.trusted = trusted;
    state.invalid_roles = report.invalid_roles.clone();
}

/// The server holds everything this home exported once each exported role's version is
/// reached.
fn export_confirmed(state: &RepoState, report: &GunReport) -> bool {
    let Some(exported) = &state.exported else { return false };
    exported.files.iter().all(|(role, bytes)| {
        let ours = cjson::parse(&bytes.0).ok();
        let version = ours.as_ref().and_then(|d| d.get("signed")?.get("version")?.as_i64());
        version.is_some_and(|v| report.versions.get(role).is_some_and(|have| *have >= v))
    })
}

fn root_key_ids(root: &Root) -> Vec<String> {
    let ids = root.roles.get("root").and_then(|r| r.keyids.clone()).unwrap_or_default();
    let describe = |id: &KeyId| match root.keys.get(id).map(PublicKey::canonical_id) {
        Some(Ok(canonical)) if canonical != *id => format!("{id} (canonical {canonical})"),
        _ => id.to_string(),
    };
    ids.iter().map(describe).collect()
}

/// Server keys must parse as key objects: a new root copies them unchanged.
fn check_server_keys(gun: &Gun, repo: &RepoFiles) -> Result<(), OpsError> {
    for (role, bytes) in &repo.server_keys {
        parse_server_key(bytes, role.as_str())?;
    }
    if repo.new && !repo.server_keys.keys().any(|r| r.as_str() == "timestamp") {
        let why = "the bundle records a new repository without the server's timestamp key; \
                   pull it again"
            .to_string();
        return Err(OpsError::Refused { gun: gun.clone(), why });
    }
    Ok(())
}

/// The JSON of `GET …/<role>.key` (stdlib field order, WIRE.md §2.1) as a key.
pub fn parse_server_key(bytes: &[u8], role: &str) -> Result<PublicKey, OpsError> {
    let what = format!("server {role} key");
    let json_err = |source| metadata::MetadataError::Json { role: what.clone(), source };
    let value = cjson::parse(bytes).map_err(json_err)?;
    Ok(metadata::parse_key(&value, &Ctx(&what))?)
}
