//! `airlock import`: verify a pull bundle and make it this home's trusted state.
//!
//! The bundle is read one GUN at a time, so memory follows the largest repository rather
//! than the bundle. Each GUN's new state is written to a temporary file as soon as it is
//! verified, and all of them replace the old states only once the whole bundle has passed:
//! a bundle with one bad repository, wherever it is, changes nothing at all.

use std::collections::BTreeMap;
use std::path::Path;

use time::OffsetDateTime;

use crate::bundle::{self, BundleHeader, BundleKind, Limits, RepoFiles};
use crate::crypto::{KeyId, PublicKey};
use crate::home::{Bytes, Home, RepoState};
use crate::ops::progress::Tally;
use crate::ops::OpsError;
use crate::tuf::cjson;
use crate::tuf::metadata::{self, Ctx, Root};
use crate::tuf::verify::{self, Options, Previous, VerifiedRepo, VerifyError};
use crate::tuf::Gun;

pub struct ImportOptions<'a> {
    pub now: OffsetDateTime,
    pub allow_expired: bool,
    pub pinned_root: Option<&'a str>,
    /// Told as each repository is verified.
    pub tally: &'a dyn Tally,
}

/// What an import did for one GUN, for the report.
#[derive(Debug, serde::Serialize)]
pub struct GunReport {
    pub gun: String,
    /// The server had no trust data: the GUN awaits initialisation.
    pub new: bool,
    /// Set when the root was accepted on first use: its keys' TUF and canonical IDs.
    pub trusted_on_first_use: Option<Vec<RootKeyIds>>,
    pub versions: BTreeMap<String, i64>,
    /// Delegations that failed verification, with why.
    pub invalid_roles: BTreeMap<String, String>,
    /// True when the server now holds what this home exported earlier.
    pub export_confirmed: bool,
    /// The last export (bundle digest) was never applied: the server holds another file
    /// for this role at the exported version.
    pub superseded_export: Option<(String, String)>,
    /// A response this home exported to initialise the repository, which the server never
    /// accepted (it still has no trust data): its digest. The repository starts over.
    pub discarded_export: Option<String>,
    /// The head role versions of the state written (`RepoState::head_versions`), for the
    /// record; not part of the report printed.
    #[serde(skip)]
    pub head_versions: BTreeMap<String, i64>,
}

#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub bundle_digest: String,
    /// Whether this was `import --dry-run`: verified only, nothing changed.
    pub dry_run: bool,
    pub guns: Vec<GunReport>,
}

pub fn import(home: &Home, path: &Path, opts: &ImportOptions) -> Result<ImportReport, OpsError> {
    // One repository at a time: each is verified and its new state written beside the old
    // one, and nothing replaces anything until the whole bundle has passed.
    let mut staged = Vec::new();
    let report = verify_bundle(Some(home), path, opts, |state| {
        staged.push(home.stage_repo(&state)?);
        Ok(())
    })?;
    home.commit_repos(staged)?;
    Ok(report)
}

/// `import --dry-run`: verifies the bundle at `path` against what `home` trusts (against
/// nothing, without a home) exactly as [`import()`] does, and writes nothing.
pub fn check(
    home: Option<&Home>,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, OpsError> {
    let report = verify_bundle(home, path, opts, |_| Ok(()))?;
    Ok(ImportReport { dry_run: true, ..report })
}

/// Streams the bundle, verifying each GUN against its previous state and handing the state
/// it would have after import to `keep`.
fn verify_bundle(
    home: Option<&Home>,
    path: &Path,
    opts: &ImportOptions,
    mut keep: impl FnMut(RepoState) -> Result<(), OpsError>,
) -> Result<ImportReport, OpsError> {
    if let Some(pin) = opts.pinned_root {
        KeyId::parse(pin).map_err(|_| {
            OpsError::Usage(format!("--root-keyid {pin:?} is not a key ID (64 lower-case hex)"))
        })?;
    }
    let mut reports = Vec::new();
    let header = bundle::read_each(path, &Limits::default(), |header, repo| {
        require_pull(header, path)?;
        let previous = match home {
            Some(home) => home.repo(&repo.gun)?,
            None => None,
        };
        let (state, report) = verify_one(&repo, previous, &header.digest, opts)?;
        keep(state)?;
        reports.push(report);
        opts.tally.advance(reports.len(), header.guns.len());
        Ok(())
    })
    .map_err(OpsError::halted(path))?;
    require_pull(&header, path)?;

    let order = bundle::gun_order(&header.guns);
    reports.sort_by_key(|report| order.get(report.gun.as_str()).copied());
    Ok(ImportReport { bundle_digest: header.digest, dry_run: false, guns: reports })
}

fn require_pull(header: &BundleHeader, path: &Path) -> Result<(), OpsError> {
    if header.kind == BundleKind::Pull {
        return Ok(());
    }
    Err(OpsError::WrongBundle(format!(
        "{} is a response bundle; import takes pull bundles (responses go to `airlock push`)",
        path.display()
    )))
}

fn verify_one(
    repo: &RepoFiles,
    previous: Option<RepoState>,
    digest: &str,
    opts: &ImportOptions,
) -> Result<(RepoState, GunReport), OpsError> {
    let gun = &repo.gun;
    check_server_keys(gun, repo).map_err(|e| match e {
        OpsError::Metadata(source) => {
            OpsError::Verify(VerifyError::Metadata { gun: gun.clone(), source })
        }
        other => other,
    })?;

    let mut report = GunReport {
        gun: gun.to_string(),
        new: repo.new,
        trusted_on_first_use: None,
        versions: BTreeMap::new(),
        invalid_roles: BTreeMap::new(),
        export_confirmed: false,
        superseded_export: None,
        discarded_export: None,
        head_versions: BTreeMap::new(),
    };

    let verified = match repo.new {
        true => None,
        false => Some(verify_files(repo, previous.as_ref(), opts)?),
    };
    let mut state = previous.unwrap_or_else(|| RepoState::new(gun));
    if repo.new {
        report.discarded_export = discard_unaccepted_export(&mut state);
        if let Some(root) = state.trusted.get("root") {
            let version = metadata::parse::<Root>(&root.0, "root")?.signed.common.version;
            let why = format!(
                "the server has no trust data, but this home trusts root version {version}; \
                 the server was reset or is not the one you expect. If the repository was \
                 deleted on purpose, run `airlock forget {gun}` and import again"
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
    }
    if let Some(verified) = verified {
        record_verified(&mut state, verified, &repo.root_history, &mut report);
    }

    state.new = repo.new;
    state.pull_digest = digest.to_string();
    state.imported_at = crate::ops::keys::rfc3339(opts.now);
    state.server_keys =
        repo.server_keys.iter().map(|(r, b)| (r.to_string(), Bytes(b.clone()))).collect();
    keep_rotated_server_keys(&mut state, repo)?;
    report.head_versions = state.head_versions_knowing(&report.versions);
    Ok((state, report))
}

/// New server keys from this bundle, or from an earlier one while root does not list them
/// yet: a pull without `--rotate-server-key` between rotating and pushing loses nothing.
fn keep_rotated_server_keys(state: &mut RepoState, repo: &RepoFiles) -> Result<(), OpsError> {
    for (role, bytes) in &repo.rotated_server_keys {
        state.rotated_server_keys.insert(role.to_string(), Bytes(bytes.clone()));
    }
    let root = match state.trusted.get("root") {
        Some(bytes) => metadata::parse::<Root>(&bytes.0, "root")?.signed,
        None => return Ok(()),
    };
    let mut kept = BTreeMap::new();
    for (role, bytes) in std::mem::take(&mut state.rotated_server_keys) {
        let key = parse_server_key(&bytes.0, &role)?;
        let ids = root.roles.get(&role).and_then(|r| r.keyids.clone()).unwrap_or_default();
        if !ids.contains(&key.id()) {
            kept.insert(role, bytes);
        }
    }
    state.rotated_server_keys = kept;
    Ok(())
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
        (Some(root), Some(state)) => Some(Previous {
            root,
            roles: trusted_versions(state)?,
            delegation_keys: known_delegation_keys(state)?,
        }),
        _ => None,
    };
    let files = verify::RepoFiles { metadata: &repo.metadata, root_history: &repo.root_history };
    let options =
        Options { now: opts.now, allow_expired: opts.allow_expired, pinned_root: opts.pinned_root };
    Ok(verify::verify_repo(&repo.gun, &files, prev.as_ref(), &options)?)
}

/// Every delegation key the trusted (or exported) targets lists.
fn known_delegation_keys(state: &RepoState) -> Result<BTreeMap<KeyId, PublicKey>, OpsError> {
    let mut keys = BTreeMap::new();
    let heads = [state.trusted.get("targets").map(|b| b.0.as_slice()), state.head("targets")];
    for bytes in heads.into_iter().flatten() {
        let targets = metadata::parse::<metadata::Targets>(bytes, "targets")?;
        keys.extend(targets.signed.delegations.keys.unwrap_or_default());
    }
    Ok(keys)
}

/// Version and bytes of each role this home trusts: the baseline of the rollback checks. The
/// files were verified when they were imported, so only their version is read, without
/// building them (a large `targets/releases` would cost a whole tree); a file without a
/// readable version means a damaged state, which stops the import rather than lose the
/// baseline.
fn trusted_versions(state: &RepoState) -> Result<BTreeMap<String, (i64, &[u8])>, OpsError> {
    let mut out = BTreeMap::new();
    for (role, bytes) in &state.trusted {
        let Some(version) = metadata::signed_version(&bytes.0) else {
            let gun = state.gun();
            let why = format!(
                "this home's state is damaged: its trusted {role} has no readable version; \
                 restore the state from a backup, or `airlock forget {gun}` and import again"
            );
            return Err(OpsError::Refused { gun, why });
        };
        out.insert(role.clone(), (version, bytes.0.as_slice()));
    }
    Ok(out)
}

/// Makes the verified files the home's trusted ones. They are moved, not copied: a large
/// `targets/releases` would otherwise be held twice.
fn record_verified(
    state: &mut RepoState,
    v: VerifiedRepo,
    root_history: &BTreeMap<u64, Vec<u8>>,
    report: &mut GunReport,
) {
    report.invalid_roles =
        v.invalid.iter().map(|i| (i.role.to_string(), i.reason.clone())).collect();
    let unverified = unverified_roles(state, &v);
    if v.trust_on_first_use {
        report.trusted_on_first_use = Some(root_key_ids(&v.root.signed));
    }

    let mut trusted = BTreeMap::new();
    let mut put = |role: &str, version: i64, bytes: Vec<u8>| {
        trusted.insert(role.to_string(), Bytes(bytes));
        report.versions.insert(role.to_string(), version);
    };
    put("root", v.root.signed.common.version, v.root.into_bytes());
    put("targets", v.targets.signed.common.version, v.targets.into_bytes());
    put("snapshot", v.snapshot.signed.common.version, v.snapshot.into_bytes());
    put("timestamp", v.timestamp.signed.common.version, v.timestamp.into_bytes());
    for (role, file) in v.delegations {
        put(role.as_str(), file.signed.common.version, file.into_bytes());
    }
    for (role, bytes) in v.invalid_files {
        trusted.insert(role.to_string(), Bytes(bytes));
    }
    match export_status(state, &trusted, root_history, report) {
        ExportStatus::Confirmed => {
            report.export_confirmed = true;
            state.exported = None;
        }
        ExportStatus::Superseded(role) => {
            let digest = state.exported.take().map(|e| e.bundle_digest).unwrap_or_default();
            report.superseded_export = Some((digest, role));
        }
        ExportStatus::Pending => {}
    }
    state.trusted = trusted;
    state.invalid_roles = report.invalid_roles.clone();
    state.unverified_roles = unverified;
}

/// Invalid delegations whose content no known key approved. A file this home already held,
/// unchanged, keeps the standing it had: once approved (say, before its signer was removed)
/// stays approved however many imports later.
fn unverified_roles(previous: &RepoState, v: &VerifiedRepo) -> Vec<String> {
    let approved_before = |role: &str, bytes: &[u8]| {
        let held = previous.trusted.get(role).is_some_and(|b| b.0 == bytes);
        held && !previous.unverified_roles.iter().any(|r| r == role)
    };
    v.invalid
        .iter()
        .filter(|i| !i.signed_by_known_key)
        .filter(|i| !approved_before(i.role.as_str(), &v.invalid_files[&i.role]))
        .map(|i| i.role.to_string())
        .collect()
}

/// Where this home's last export stands on the server.
enum ExportStatus {
    /// Every exported file is there (or the server moved past it).
    Confirmed,
    /// Not yet pushed, or not all of it.
    Pending,
    /// The server holds another file at an exported role's version: this export was never
    /// applied (another one won, say another custodian's root). Names the role.
    Superseded(String),
}

/// Compares the last export with what the server now holds. At the same version the signed
/// content must be equal (a root may carry more signatures than were exported: other
/// custodians signed it); above it, the root history still shows the exported version, and
/// other roles are taken as applied, since the server keeps only their newest file.
fn export_status(
    state: &RepoState,
    server: &BTreeMap<String, Bytes>,
    root_history: &BTreeMap<u64, Vec<u8>>,
    report: &GunReport,
) -> ExportStatus {
    let Some(exported) = &state.exported else { return ExportStatus::Pending };
    let signed_part = |bytes: &[u8]| {
        let doc = cjson::parse(bytes).ok()?;
        Some(cjson::canonical(doc.get("signed")?))
    };
    let mut pending = false;
    for (role, ours) in &exported.files {
        let ours_signed = signed_part(&ours.0);
        let version = ours_signed.as_ref().and_then(|_| metadata::signed_version(&ours.0));
        let (Some(version), Some(have)) = (version, report.versions.get(role)) else {
            pending = true;
            continue;
        };
        let theirs = match (*have).cmp(&version) {
            std::cmp::Ordering::Less => {
                pending = true;
                continue;
            }
            std::cmp::Ordering::Equal => server.get(role).map(|b| b.0.as_slice()),
            std::cmp::Ordering::Greater if role == "root" => {
                u64::try_from(version).ok().and_then(|v| root_history.get(&v)).map(Vec::as_slice)
            }
            std::cmp::Ordering::Greater => continue,
        };
        if theirs.is_some_and(|t| signed_part(t) != ours_signed) {
            return ExportStatus::Superseded(role.clone());
        }
    }
    if pending {
        ExportStatus::Pending
    } else {
        ExportStatus::Confirmed
    }
}

/// A repository this home initialised but whose response the server never accepted: the
/// server keys of that root are stale (each pull of a new GUN makes new ones), so the export
/// and anything staged on it are dropped and the repository is initialised afresh.
fn discard_unaccepted_export(state: &mut RepoState) -> Option<String> {
    let exported = state.exported.take_if(|e| e.files.contains_key("root"))?;
    state.pending.clear();
    Some(exported.bundle_digest)
}

/// A root key's two IDs (WIRE.md §2.3): the certificate's, which `docker trust inspect`
/// shows, and the bare key's, which `notary key list` shows.
#[derive(Debug, serde::Serialize)]
pub struct RootKeyIds {
    pub key_id: String,
    pub canonical_id: Option<String>,
}

fn root_key_ids(root: &Root) -> Vec<RootKeyIds> {
    let ids = root.roles.get("root").and_then(|r| r.keyids.clone()).unwrap_or_default();
    let describe = |id: &KeyId| RootKeyIds {
        key_id: id.to_string(),
        canonical_id: root
            .keys
            .get(id)
            .and_then(|k| PublicKey::canonical_id(k).ok())
            .map(|c| c.to_string()),
    };
    ids.iter().map(describe).collect()
}

/// Server keys must be usable keys (a new root copies them unchanged), and for an existing
/// repository the ones root lists for that role.
fn check_server_keys(gun: &Gun, repo: &RepoFiles) -> Result<(), OpsError> {
    let root = match repo.metadata.get(&crate::tuf::RoleName::root()) {
        Some(bytes) => Some(metadata::parse::<Root>(bytes, "root")?.signed),
        None => None,
    };
    for (role, bytes) in &repo.server_keys {
        let key = parse_server_key(bytes, role.as_str())?;
        key.check().map_err(|e| OpsError::Refused {
            gun: gun.clone(),
            why: format!("the server's {role} key is not usable: {e}; pull again"),
        })?;
        let listed = root.as_ref().map(|r| {
            let ids = r.roles.get(role.as_str()).and_then(|k| k.keyids.clone());
            ids.unwrap_or_default().contains(&key.id())
        });
        if listed == Some(false) {
            let why = format!(
                "the server's {role} key {} is not the one root lists for {role}; the bundle \
                 does not describe one consistent repository, pull again",
                key.id()
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
    }
    for (role, bytes) in &repo.rotated_server_keys {
        let key = parse_server_key(bytes, role.as_str())?;
        let current = repo.server_keys.get(role).map(|b| parse_server_key(b, role.as_str()));
        if key.check().is_err() || matches!(current, Some(Ok(c)) if c == key) {
            let why = format!(
                "the server's new {role} key is not usable or is the current one; pull again \
                 with --rotate-server-key {role}"
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
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
