//! `airlock export`: sign every pending change of the given GUNs and write the response
//! bundle.
//!
//! Steps per GUN: 1. apply the pending changes to the local head; 2. give each changed role
//! exactly one version step and Notary's default expiry; 3. sign with the keys the current
//! root lists (a new root also with itself); 4. check the result verifies, and add it to the
//! bundle being written (then drop it: memory does not grow with the number of GUNs); then,
//! once every GUN is signed, 5. finish the bundle with the ceremony record and 6. record it
//! as exported in the home, from the bundle read back. A failure before the record's head is
//! kept leaves the home and the output path as they were.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256, Sha512};
use time::OffsetDateTime;

use crate::bundle::{self, BundleKind, BundleWriter, Limits, RepoFiles};
use crate::change::Change;
use crate::crypto::{self, KeyId, PublicKey};
use crate::fsutil::{self, Staged};
use crate::home::{Bytes, Exported, Home, RepoState};
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::custody::{self, RootSignatures};
use crate::ops::keys::{rfc3339, role_keys, RoleKey};
use crate::ops::lifetimes::Lifetimes;
use crate::ops::progress::{NoTally, Tally};
use crate::ops::{record, repo, OpsError};
use crate::tuf::metadata::{
    self, Common, FileMeta, Hashes, RoleType, Root, Signed, Snapshot, Targets,
};
use crate::tuf::sign::{sign, Signer};
use crate::tuf::{GoTime, Gun, RoleName};

#[derive(Debug, serde::Serialize)]
pub struct ExportReport {
    pub bundle: String,
    pub bundle_digest: String,
    pub guns: Vec<ExportedGun>,
    /// `--expires` roles that nothing signed in this export was.
    pub unused_lifetimes: Vec<String>,
    /// The last audit log entry the bundle's signed head covers.
    pub audit_head: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct ExportedGun {
    pub gun: String,
    /// Role -> new version.
    pub roles: BTreeMap<String, i64>,
    /// Who signed the new root, when there is one: a k-of-n root leaves here short of its
    /// threshold, for the other custodians to sign (`airlock sign`).
    pub root_signatures: Option<RootSignatures>,
}

/// How to sign an export.
pub struct ExportOptions<'a> {
    pub now: OffsetDateTime,
    /// `--expires`: how long each signed role stays valid.
    pub lifetimes: &'a Lifetimes,
    /// Told as each GUN is signed.
    pub tally: &'a dyn Tally,
}

impl<'a> ExportOptions<'a> {
    /// Options that show no progress.
    pub fn new(now: OffsetDateTime, lifetimes: &'a Lifetimes) -> ExportOptions<'a> {
        ExportOptions { now, lifetimes, tally: &NoTally }
    }
}

pub fn export(
    home: &Home,
    store: &KeyStore,
    guns: &[Gun],
    out: &Path,
    opts: &ExportOptions,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<ExportReport, OpsError> {
    check_output(out)?;
    let now = opts.now;
    let bundle_err = OpsError::bundle(out);
    let mut writer = BundleWriter::create(out, BundleKind::Response, now).map_err(bundle_err)?;
    let mut unlocked = Unlocked::new(store);
    let reports = sign_all(home, guns, &mut writer, &mut unlocked, opts, passphrases)?;

    // 5. the bundle, with the ceremony record since the previous export; 6. the home
    let record = record::prepare(home, store, &mut unlocked, now, passphrases)?;
    let digest = write_and_record(home, store, writer, &record, out, now)?;

    let bundle = out.display().to_string();
    let signed_roles: Vec<String> = reports.iter().flat_map(|g| g.roles.keys().cloned()).collect();
    let unused_lifetimes = opts.lifetimes.unused(&signed_roles);
    let audit_head = record.head.last_seq();
    Ok(ExportReport { bundle, bundle_digest: digest, guns: reports, unused_lifetimes, audit_head })
}

/// Steps 5 and 6 once every GUN is signed: writes the bundle, then records it in the home
/// from the bundle as written. Until the audit head is recorded, a failure takes back what
/// the export made (the bundle: one the home does not record as exported must not be
/// pushed; and an audit key made for it), so the home is as it was.
fn write_and_record(
    home: &Home,
    store: &KeyStore,
    writer: BundleWriter,
    record: &record::Prepared,
    out: &Path,
    now: OffsetDateTime,
) -> Result<String, OpsError> {
    let digest = match writer.finish(Some(&record.files)) {
        Ok(digest) => digest,
        Err(e) => {
            record::undo(home, store, record);
            return Err(OpsError::bundle(out)(e));
        }
    };
    let written = fsutil::file_identity(out);

    let staged = stage_exported(home, out, &digest, now).and_then(|staged| {
        record::commit(home, record)?;
        Ok(staged)
    });
    let staged = staged.inspect_err(|_| {
        if !record::is_recorded(home, record) {
            // Only the file this export wrote, not one that replaced it since.
            if written.is_some() && fsutil::file_identity(out) == written {
                let _ = fsutil::remove_file_durable(out);
            }
            record::undo(home, store, record);
        }
    })?;

    home.commit_repos(staged)?;
    Ok(digest)
}

/// `-o` must name a new file in an existing directory.
pub fn check_output(out: &Path) -> Result<(), OpsError> {
    if out.exists() {
        let msg = format!("{} already exists; choose another -o file", out.display());
        return Err(OpsError::Usage(msg));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        let msg = format!("{} is not a directory; -o must name a file in one", parent.display());
        return Err(OpsError::Usage(msg));
    }
    Ok(())
}

/// Steps 1-4 for every GUN, each added to the bundle as soon as it is signed and then
/// dropped, so memory does not grow with the number of GUNs.
fn sign_all(
    home: &Home,
    guns: &[Gun],
    writer: &mut BundleWriter,
    unlocked: &mut Unlocked,
    opts: &ExportOptions,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<ExportedGun>, OpsError> {
    let mut reports = Vec::new();
    for gun in guns {
        let state = home.require_repo(gun)?;
        let files = sign_gun(&state, unlocked, opts.now, opts.lifetimes, passphrases)?;
        let root_signatures = root_signatures(&state, &files)?;
        let roles = versions(&files);
        reports.push(ExportedGun { gun: state.gun.clone(), roles, root_signatures });
        if reports.len() == 1 {
            // The pull this response answers: the first GUN's (a response mixing GUNs from
            // several pulls names the first).
            writer.answers(Some(state.pull_digest.clone()));
        }
        writer.add(&response_files(&state, files)).map_err(OpsError::bundle(writer.path()))?;
        opts.tally.advance(reports.len(), guns.len());
    }
    Ok(reports)
}

/// Steps 1-4 for one GUN: the signed files to upload, by role.
fn sign_gun(
    state: &RepoState,
    unlocked: &mut Unlocked,
    now: OffsetDateTime,
    lifetimes: &Lifetimes,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<BTreeMap<RoleName, Vec<u8>>, OpsError> {
    let gun = state.gun();
    if state.pending.is_empty() {
        let why = "nothing to export: no pending changes (see `airlock status`)".to_string();
        return Err(OpsError::Refused { gun, why });
    }

    // 1. apply
    let head_root = repo::head_root(state)?;
    let head_targets = repo::head_targets(state)?;
    let mut draft = repo::draft(state, now)?;

    // 2. one version step, fresh expiry
    let mut files = BTreeMap::new();
    let root = if draft.root_changed {
        draft.root.common.version = next_version(head_root.as_ref());
        draft.root.common.expires = lifetimes.expires("root", now);
        let signers = root_signers(&draft.root, head_root.as_ref(), unlocked, passphrases)?;
        // 3. a new root is signed by the old root keys and its own
        let signed = sign(draft.root.clone(), &as_dyn(&signers), "root")?;
        files.insert(RoleName::root(), signed.bytes().to_vec());
        signed
    } else {
        head_root.clone().ok_or_else(|| OpsError::Refused {
            gun: gun.clone(),
            why: "the repository has no root".into(),
        })?
    };

    if draft.targets_changed {
        draft.targets.common.version = next_version(head_targets.as_ref());
        draft.targets.common.expires = lifetimes.expires("targets", now);
        let listed = root.signed.listed_keys("targets");
        let signers = role_keys(unlocked, &listed, passphrases)?;
        if signers.is_empty() {
            let why = "this home holds no private key for the targets role; load it with \
                       `airlock key load FILE` (notary keeps it in <trust dir>/private)"
                .to_string();
            return Err(OpsError::Refused { gun, why });
        }
        let signed = sign(draft.targets.clone(), &as_dyn(&signers), "targets")?;
        // 4. what we send must pass the checks we apply to what we receive
        check_own_signature(&gun, &root.signed, "targets", &signed)?;
        files.insert(RoleName::targets(), signed.into_bytes());
    }
    for role in &draft.witnessed {
        let vouched = state.pending.iter().any(
            |c| matches!(c, Change::Witness { role: r, trust_content: true } if r == role.as_str()),
        );
        if state.unverified_roles.iter().any(|r| r == role.as_str()) && !vouched {
            let why = crate::ops::delegation::unverified(role);
            return Err(OpsError::Refused { gun: state.gun(), why });
        }
        let expires = lifetimes.expires(role.as_str(), now);
        let bytes = witness(state, &draft.targets, role, unlocked, expires, passphrases)?;
        files.insert(role.clone(), bytes);
    }
    if let Some(bytes) = files.get(&RoleName::root()) {
        let parsed = crate::tuf::metadata::parse::<Root>(bytes, "root")?;
        check_own_signature(&gun, &parsed.signed, "root", &parsed)?;
    }

    // 5. a snapshot, unless the server makes it
    let snapshot_keys = snapshot_signers(state, &root.signed, unlocked, passphrases)?;
    if !snapshot_keys.is_empty() {
        let expires = lifetimes.expires("snapshot", now);
        let snapshot = snapshot(state, &draft.targets, &files, expires)?;
        let signed = sign(snapshot, &as_dyn(&snapshot_keys), "snapshot")?;
        check_own_signature(&gun, &root.signed, "snapshot", &signed)?;
        files.insert(RoleName::snapshot(), signed.into_bytes());
    }
    if files.is_empty() {
        let why = "the pending changes change no signed file; nothing to export".to_string();
        return Err(OpsError::Refused { gun, why });
    }
    Ok(files)
}

/// The snapshot of the repository as it will be once `files` are published: every role but
/// timestamp and snapshot, hashed over the exact bytes the server will hold (WIRE.md §5.4).
/// Delegations that their parent no longer delegates are left out, as Notary does.
fn snapshot(
    state: &RepoState,
    targets: &Targets,
    files: &BTreeMap<RoleName, Vec<u8>>,
    expires: GoTime,
) -> Result<Snapshot, OpsError> {
    let current =
        |role: &RoleName| files.get(role).map(Vec::as_slice).or_else(|| state.head(role.as_str()));
    let mut meta = BTreeMap::new();
    for role in state.head_roles().into_iter().chain(files.keys().cloned()) {
        let delegated = match role.parent() {
            None => matches!(role.as_str(), RoleName::ROOT | RoleName::TARGETS),
            Some(parent) if parent.as_str() == RoleName::TARGETS => {
                targets.delegations.role(&role).is_some()
            }
            Some(parent) => match current(&parent) {
                Some(bytes) => {
                    let parent = metadata::parse::<Targets>(bytes, parent.as_str())?.signed;
                    parent.delegations.role(&role).is_some()
                }
                None => false,
            },
        };
        if let (true, Some(bytes)) = (delegated, current(&role)) {
            meta.insert(role.to_string(), file_meta(bytes));
        }
    }

    let head = state.head(RoleName::SNAPSHOT);
    let version = match head {
        Some(bytes) => metadata::parse::<Snapshot>(bytes, "snapshot")?.signed.common.version + 1,
        None => 1,
    };
    Ok(Snapshot { common: Common { version, expires }, meta })
}

fn file_meta(bytes: &[u8]) -> FileMeta {
    let hashes = Hashes::from([
        ("sha256".to_string(), Sha256::digest(bytes).to_vec()),
        ("sha512".to_string(), Sha512::digest(bytes).to_vec()),
    ]);
    FileMeta { length: bytes.len() as i64, hashes, custom: None }
}

/// Re-signs a delegation unchanged: version + 1 and Notary's default expiry, with the keys
/// this home holds among those its parent now lists (`client/witness.go`).
fn witness(
    state: &RepoState,
    targets: &Targets,
    role: &RoleName,
    unlocked: &mut Unlocked,
    expires: GoTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<u8>, OpsError> {
    let refuse = |why: String| OpsError::Refused { gun: state.gun(), why };
    let bytes = state.head(role.as_str()).ok_or_else(|| {
        refuse(format!("{role} has no signed file yet: there is nothing to witness"))
    })?;
    let mut content = metadata::parse::<Targets>(bytes, role.as_str())?.signed;
    let d = &targets.delegations;
    let entry =
        d.role(role).ok_or_else(|| refuse(format!("targets no longer delegates {role}")))?;
    let listed: Vec<PublicKey> =
        entry.keyids.iter().flatten().filter_map(|id| d.key(id).cloned()).collect();

    let signers = role_keys(unlocked, &listed, passphrases)?;
    if signers.is_empty() {
        return Err(refuse(format!(
            "this home holds none of the keys {role} lists; load one with \
             `airlock key load FILE --name SIGNER`"
        )));
    }
    content.common.version += 1;
    content.common.expires = expires;
    let signed = sign(content, &as_dyn(&signers), role.as_str())?;

    let keys: BTreeMap<_, _> = listed.iter().map(|k| (k.id(), k.clone())).collect();
    let valid = signed.signatures.iter().filter(|s| {
        let key = KeyId::parse(&s.keyid).ok().and_then(|id| keys.get(&id));
        key.is_some_and(|k| crypto::verify(k, &s.method, signed.canonical(), &s.sig).is_ok())
    });
    if (valid.count() as i64) < entry.threshold {
        return Err(refuse(format!(
            "{role} needs {} signatures and this home holds fewer of its keys",
            entry.threshold
        )));
    }
    Ok(signed.into_bytes())
}

/// The signature count of a newly signed root, against the root it follows.
fn root_signatures(
    state: &RepoState,
    files: &BTreeMap<RoleName, Vec<u8>>,
) -> Result<Option<RootSignatures>, OpsError> {
    let Some(bytes) = files.get(&RoleName::root()) else { return Ok(None) };
    let root = metadata::parse::<Root>(bytes, "root")?;
    let previous = repo::head_root(state)?.map(|r| r.signed);
    Ok(Some(custody::root_signatures(&state.gun(), &root, previous.as_ref())))
}

fn next_version<T: RoleType>(head: Option<&Signed<T>>) -> i64 {
    head.map_or(1, |h| h.signed.common().version + 1)
}

fn as_dyn(keys: &[RoleKey]) -> Vec<&dyn Signer> {
    keys.iter().map(|k| k as &dyn Signer).collect()
}

/// Keys of the new root, plus those of the old root when it rotates.
fn root_signers(
    new_root: &Root,
    old_root: Option<&Signed<Root>>,
    unlocked: &mut Unlocked,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<RoleKey>, OpsError> {
    let mut listed = new_root.listed_keys("root");
    if let Some(old) = old_root {
        for key in old.signed.listed_keys("root") {
            if !listed.contains(&key) {
                listed.push(key);
            }
        }
    }
    let signers = role_keys(unlocked, &listed, passphrases)?;
    if signers.is_empty() {
        return Err(OpsError::Usage("this home holds no private key for the root role".into()));
    }
    Ok(signers)
}

/// Who signs the snapshot: the server, when root lists the key it holds (no keys are
/// returned), or this home, when it holds the key root lists. Anything else cannot publish.
fn snapshot_signers(
    state: &RepoState,
    root: &Root,
    unlocked: &mut Unlocked,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<RoleKey>, OpsError> {
    let listed = root.listed_keys("snapshot");
    let server_keys =
        [state.server_keys.get("snapshot"), state.rotated_server_keys.get("snapshot")];
    for bytes in server_keys.into_iter().flatten() {
        let key = crate::ops::import::parse_server_key(&bytes.0, "snapshot")?;
        if listed.contains(&key) {
            return Ok(Vec::new());
        }
    }

    let held = role_keys(unlocked, &listed, passphrases)?;
    if held.is_empty() {
        let why = "root lists a snapshot key that neither the server nor this home holds; load \
                   it with `airlock key load FILE`, or move the snapshot key to the server \
                   (`airlock pull GUN --rotate-server-key snapshot`, then \
                   `airlock key rotate GUN snapshot --server-managed`)"
            .to_string();
        return Err(OpsError::Refused { gun: state.gun(), why });
    }
    Ok(held)
}

fn check_own_signature<T>(
    gun: &Gun,
    root: &Root,
    role: &str,
    file: &Signed<T>,
) -> Result<(), OpsError> {
    let listed = root.listed_keys(role);
    let ok = file.signatures.iter().any(|s| {
        let key = listed.iter().find(|k| k.id().as_str() == s.keyid);
        key.is_some_and(|k| crypto::verify(k, &s.method, file.canonical(), &s.sig).is_ok())
    });
    if !ok {
        let why = format!("the {role} signature just made does not verify; nothing was written");
        return Err(OpsError::Refused { gun: gun.clone(), why });
    }
    Ok(())
}

fn response_files(state: &RepoState, files: BTreeMap<RoleName, Vec<u8>>) -> RepoFiles {
    RepoFiles {
        gun: state.gun(),
        new: false,
        metadata: files,
        root_history: BTreeMap::new(),
        server_keys: BTreeMap::new(),
        rotated_server_keys: BTreeMap::new(),
    }
}

fn versions(files: &BTreeMap<RoleName, Vec<u8>>) -> BTreeMap<String, i64> {
    let version = |b: &Vec<u8>| metadata::signed_version(b);
    files.iter().filter_map(|(r, b)| Some((r.to_string(), version(b)?))).collect()
}

/// Stages each GUN's state with what the bundle at `out` carries for it, as exported and no
/// longer pending. The bundle is read back one repository at a time, so what is recorded is
/// exactly what was written.
fn stage_exported(
    home: &Home,
    out: &Path,
    digest: &str,
    now: OffsetDateTime,
) -> Result<Vec<Staged>, OpsError> {
    let mut staged = Vec::new();
    bundle::read_each_again(out, &Limits::default(), digest, |_, repo| {
        let mut state = home.require_repo(&repo.gun)?;
        let files = repo.metadata.into_iter().map(|(r, b)| (r.to_string(), Bytes(b))).collect();
        let bundle_digest = digest.to_string();
        state.exported = Some(Exported { bundle_digest, at: rfc3339(now), files });
        state.pending.clear();
        staged.push(home.stage_repo(&state)?);
        Ok(())
    })
    .map_err(OpsError::halted(out))?;
    Ok(staged)
}
