//! k-of-n root custody: a root change made by one custodian leaves their machine partially
//! signed; each other custodian verifies it against their own home, sees what it changes,
//! and adds their signature (`airlock sign`); `airlock status --bundle` counts who has
//! signed; `push` refuses a root below threshold.
//!
//! A root must meet its own threshold, and on a rotation also the previous root's, with the
//! previous root's keys (WIRE.md §4.2). Both counts are shown.

use std::path::Path;

use time::OffsetDateTime;

use crate::bundle::{self, BundleContents, BundleKind, Limits, RepoFiles};
use crate::crypto::{self, KeyId, PublicKey};
use crate::home::{Home, RepoState};
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::keys::role_keys;
use crate::ops::OpsError;
use crate::tuf::metadata::{self, envelope, Root, Signature, Signed};
use crate::tuf::sign::Signer;
use crate::tuf::verify::ServerState;
use crate::tuf::{Gun, RoleName};

/// Who signed a root, counted against one root role's keys.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Count {
    pub threshold: i64,
    /// Listed key IDs with a valid signature.
    pub signed: Vec<String>,
    /// Listed key IDs without one.
    pub missing: Vec<String>,
}

impl Count {
    pub fn met(&self) -> bool {
        self.signed.len() as i64 >= self.threshold
    }
}

/// A root's signatures: against its own keys, and against the previous root's on a change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RootSignatures {
    pub gun: String,
    pub version: i64,
    pub new_root: Count,
    /// `None` for a first root (version 1).
    pub previous_root: Option<Count>,
    pub complete: bool,
}

impl RootSignatures {
    /// A line for people: `2 of 2 new-root signatures; 1 of 2 previous-root signatures`.
    pub fn summary(&self) -> String {
        let count = |c: &Count, what: &str| {
            format!("{} of {} {what} signatures", c.signed.len(), c.threshold)
        };
        let mut text = count(&self.new_root, "root");
        if let Some(previous) = &self.previous_root {
            text.push_str(&format!("; {}", count(previous, "previous-root")));
        }
        text
    }
}

/// Counts the valid signatures on `root` by the keys its root role lists, and by the keys
/// `previous` lists.
pub fn root_signatures(gun: &Gun, root: &Signed<Root>, previous: Option<&Root>) -> RootSignatures {
    let new_root = count(root, &root.signed);
    let previous_root = previous.map(|p| count(root, p));
    let complete = new_root.met() && previous_root.as_ref().is_none_or(Count::met);
    RootSignatures {
        gun: gun.to_string(),
        version: root.signed.common.version,
        new_root,
        previous_root,
        complete,
    }
}

fn count(file: &Signed<Root>, by: &Root) -> Count {
    let role = by.roles.get("root");
    let ids = role.and_then(|r| r.keyids.clone()).unwrap_or_default();
    let (mut signed, mut missing) = (Vec::new(), Vec::new());
    for id in ids {
        let valid = by.keys.get(&id).is_some_and(|key| signed_by(file, key));
        if valid {
            signed.push(id.to_string())
        } else {
            missing.push(id.to_string())
        }
    }
    Count { threshold: role.map_or(1, |r| r.threshold), signed, missing }
}

fn signed_by(file: &Signed<Root>, key: &PublicKey) -> bool {
    let id = key.id();
    file.signatures.iter().any(|s| {
        s.keyid == id.as_str() && crypto::verify(key, &s.method, file.canonical(), &s.sig).is_ok()
    })
}

/// The root `root` follows in this home: none for version 1 of a repository the server does
/// not have yet, else the trusted root, which must be exactly one version older.
fn previous_root(state: &RepoState, version: i64) -> Result<Option<Root>, OpsError> {
    let refuse = |why: String| OpsError::Refused { gun: state.gun(), why };
    let trusted = match state.trusted.get("root") {
        Some(bytes) => Some(metadata::parse::<Root>(&bytes.0, "root")?.signed),
        None => None,
    };
    let have = trusted.as_ref().map_or(0, |r| r.common.version);
    if have + 1 != version {
        return Err(refuse(format!(
            "the bundle's root is version {version}, but this home trusts root version {have}; \
             import a fresh pull bundle first, so the change is checked against the server's \
             current root"
        )));
    }
    Ok(trusted)
}

/// One GUN's root in a response bundle, checked against this home.
#[derive(Debug, serde::Serialize)]
pub struct RootInBundle {
    pub signatures: RootSignatures,
    /// What the root changes, one line each.
    pub changes: Vec<String>,
}

/// Reads a response bundle and checks every root in it against this home: the version
/// follows the trusted root, and every signature it carries verifies with a key of the new
/// or the previous root (a bundle with a stray signature is refused, not trimmed).
pub fn roots_in_bundle(
    home: &Home,
    path: &Path,
) -> Result<(BundleContents, Vec<RootInBundle>), OpsError> {
    let bundle = bundle::read(path, &Limits::default()).map_err(OpsError::bundle(path))?;
    if bundle.contents.kind != BundleKind::Response {
        return Err(OpsError::WrongBundle(format!(
            "{} is a pull bundle; root signatures are collected on response bundles",
            path.display()
        )));
    }
    let mut roots = Vec::new();
    for repo in &bundle.contents.repos {
        let Some(bytes) = repo.metadata.get(&RoleName::root()) else { continue };
        let state = home.require_repo(&repo.gun)?;
        let root = metadata::parse::<Root>(bytes, "root")?;
        let previous = previous_root(&state, root.signed.common.version)?;
        check_signatures_known(&repo.gun, &root, previous.as_ref())?;
        check_other_files(&state, repo, bytes)?;
        let signatures = root_signatures(&repo.gun, &root, previous.as_ref());
        let changes = root_changes(previous.as_ref(), &root.signed);
        roots.push(RootInBundle { signatures, changes });
    }
    if roots.is_empty() {
        let msg =
            format!("{} carries no root: there is nothing for custodians to sign", path.display());
        return Err(OpsError::Usage(msg));
    }
    Ok((bundle.contents, roots))
}

/// The rest of the response must pass the checks `push` applies, against the new root: a
/// custodian signs a root, but also vouches for the bundle it travels in.
fn check_other_files(state: &RepoState, repo: &RepoFiles, root: &[u8]) -> Result<(), OpsError> {
    let others: std::collections::BTreeMap<RoleName, Vec<u8>> = repo
        .metadata
        .iter()
        .filter(|(role, _)| role.as_str() != RoleName::ROOT)
        .map(|(r, b)| (r.clone(), b.clone()))
        .collect();
    let trusted_targets = state.trusted.get("targets").map(|b| b.0.as_slice());
    if trusted_targets.is_none() && !others.contains_key(&RoleName::targets()) {
        let why = "the bundle initialises the repository without a targets file; the server \
                   would refuse it. Export it again"
            .to_string();
        return Err(OpsError::Refused { gun: repo.gun.clone(), why });
    }
    let server = ServerState { root: Some(root), targets: trusted_targets };
    let now = OffsetDateTime::now_utc();
    crate::tuf::verify::verify_upload(&repo.gun, &others, &server, now)?;
    Ok(())
}

fn check_signatures_known(
    gun: &Gun,
    root: &Signed<Root>,
    previous: Option<&Root>,
) -> Result<(), OpsError> {
    let keys: Vec<&PublicKey> = root
        .signed
        .keys
        .values()
        .chain(previous.into_iter().flat_map(|p| p.keys.values()))
        .collect();
    for s in &root.signatures {
        let ok = keys.iter().any(|k| {
            k.id().as_str() == s.keyid
                && crypto::verify(k, &s.method, root.canonical(), &s.sig).is_ok()
        });
        if !ok {
            let why = format!(
                "root carries a signature by {} that no key of the new or previous root \
                 verifies; the bundle was altered or is not for this repository",
                s.keyid
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
    }
    Ok(())
}

/// What a new root changes, for a custodian to read before signing.
pub fn root_changes(previous: Option<&Root>, root: &Root) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(previous) = previous else {
        lines.push(format!("a new repository's first root, expiring {}", root.common.expires));
        for (role, keys) in &root.roles {
            let ids = keys.keyids.iter().flatten().map(|id| id.short().to_string());
            let ids: Vec<String> = ids.collect();
            lines.push(format!("{role}: {} (threshold {})", ids.join(", "), keys.threshold));
        }
        return lines;
    };

    lines.push(format!(
        "root version {} -> {}, expiring {}",
        previous.common.version, root.common.version, root.common.expires
    ));
    let roles: std::collections::BTreeSet<&String> =
        previous.roles.keys().chain(root.roles.keys()).collect();
    for role in roles {
        let ids = |r: &Root| -> Vec<KeyId> {
            r.roles.get(role).and_then(|k| k.keyids.clone()).unwrap_or_default()
        };
        let (before, after) = (ids(previous), ids(root));
        for id in after.iter().filter(|id| !before.contains(id)) {
            lines.push(format!("{role}: adds key {}", describe(root.keys.get(id), id)));
        }
        for id in before.iter().filter(|id| !after.contains(id)) {
            lines.push(format!("{role}: removes key {}", describe(previous.keys.get(id), id)));
        }
        let threshold = |r: &Root| r.roles.get(role).map_or(0, |k| k.threshold);
        if threshold(previous) != threshold(root) {
            let (a, b) = (threshold(previous), threshold(root));
            lines.push(format!("{role}: threshold {a} -> {b}"));
        }
    }
    if lines.len() == 1 {
        lines.push("no key or threshold changes (re-signed)".into());
    }
    lines
}

fn describe(key: Option<&PublicKey>, id: &KeyId) -> String {
    let expires = key
        .filter(|k| k.keytype().is_x509())
        .and_then(|k| {
            crypto::check_delegation_certificate(k, OffsetDateTime::now_utc(), false).ok()
        })
        .map(|info| {
            format!(", certificate for {} until {}", info.common_name, info.not_after.date())
        });
    format!("{}{}", id.short(), expires.unwrap_or_default())
}

/// What `airlock sign` did.
#[derive(Debug, serde::Serialize)]
pub struct SignReport {
    pub bundle: String,
    pub bundle_digest: String,
    pub roots: Vec<RootSignatures>,
    /// Key IDs (as root lists them) this home signed with.
    pub signed_with: Vec<String>,
}

/// `airlock sign IN -o OUT`: adds this custodian's root signatures to every root in a
/// response bundle, after checking it against this home and asking `confirm` with what the
/// roots change. Nothing but the root files' signature lists changes.
pub fn sign(
    home: &Home,
    store: &KeyStore,
    input: &Path,
    output: &Path,
    now: OffsetDateTime,
    confirm: &mut dyn FnMut(&[RootInBundle]) -> Result<bool, OpsError>,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<SignReport, OpsError> {
    if output.exists() {
        let msg = format!("{} already exists; choose another -o file", output.display());
        return Err(OpsError::Usage(msg));
    }
    let (mut contents, roots) = roots_in_bundle(home, input)?;
    for repo in &contents.repos {
        if repo.metadata.contains_key(&RoleName::snapshot())
            && repo.metadata.contains_key(&RoleName::root())
        {
            let why = "the bundle carries a snapshot signed offline, which hashes root: adding \
                       a signature would break it. Sign roots with a server-managed snapshot, \
                       or have the snapshot key's holder export last"
                .to_string();
            return Err(OpsError::Refused { gun: repo.gun.clone(), why });
        }
    }
    for repo in &contents.repos {
        check_can_sign(home, store, repo)?;
    }
    if !confirm(&roots)? {
        return Err(OpsError::Usage("not confirmed; nothing written".into()));
    }

    let mut unlocked = Unlocked::new(store);
    let mut signed_with = Vec::new();
    let mut reports = Vec::new();
    for repo in &mut contents.repos {
        if let Some((bytes, ids, signatures)) =
            add_signatures(home, repo, &mut unlocked, passphrases)?
        {
            repo.metadata.insert(RoleName::root(), bytes);
            signed_with.extend(ids);
            reports.push(signatures);
        }
    }

    contents.created = now;
    let digest = bundle::write(output, &contents).map_err(OpsError::bundle(output))?;
    let bundle = output.display().to_string();
    Ok(SignReport { bundle, bundle_digest: digest, roots: reports, signed_with })
}

/// Refuses, before anything is shown or unlocked, a root this home holds no unsigned key of.
fn check_can_sign(home: &Home, store: &KeyStore, repo: &RepoFiles) -> Result<(), OpsError> {
    let Some(bytes) = repo.metadata.get(&RoleName::root()) else { return Ok(()) };
    let state = home.require_repo(&repo.gun)?;
    let root = metadata::parse::<Root>(bytes, "root")?;
    let previous = previous_root(&state, root.signed.common.version)?;
    for key in unsigned_keys(&root, previous.as_ref()) {
        if store.get(key.canonical_id()?.as_str())?.is_some() {
            return Ok(());
        }
    }
    Err(OpsError::Refused { gun: repo.gun.clone(), why: NO_KEY.into() })
}

const NO_KEY: &str = "this home holds no root key of this root that has not signed it already";

/// The root keys of the new and previous root that have not signed `root`.
fn unsigned_keys(root: &Signed<Root>, previous: Option<&Root>) -> Vec<PublicKey> {
    let mut listed: Vec<PublicKey> = root.signed.listed_keys("root");
    for key in previous.into_iter().flat_map(|p| p.listed_keys("root")) {
        if !listed.contains(&key) {
            listed.push(key);
        }
    }
    listed.retain(|k| !signed_by(root, k));
    listed
}

type Added = (Vec<u8>, Vec<String>, RootSignatures);

/// One GUN's root with this home's signatures added: the new bytes, the key IDs used, and
/// the new count. `None` when the bundle carries no root for the GUN.
fn add_signatures(
    home: &Home,
    repo: &RepoFiles,
    unlocked: &mut Unlocked,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Option<Added>, OpsError> {
    let Some(bytes) = repo.metadata.get(&RoleName::root()) else { return Ok(None) };
    let gun = &repo.gun;
    let refuse = |why: String| OpsError::Refused { gun: gun.clone(), why };
    let state = home.require_repo(gun)?;
    let root = metadata::parse::<Root>(bytes, "root")?;
    let previous = previous_root(&state, root.signed.common.version)?;

    let listed = unsigned_keys(&root, previous.as_ref());
    let signers = role_keys(unlocked, &listed, passphrases)?;
    if signers.is_empty() {
        return Err(refuse(NO_KEY.into()));
    }

    let mut signatures = root.signatures.clone();
    let mut ids = Vec::new();
    for signer in &signers {
        let sig = signer.sign(root.canonical())?;
        let method = signer.method().to_string();
        signatures.push(Signature { keyid: signer.key_id(), method, sig });
        ids.push(signer.key_id());
    }
    let new_bytes = envelope(root.canonical(), &signatures);
    if signed_part(bytes) != signed_part(&new_bytes) {
        return Err(refuse(
            "root is not in the byte form airlock writes, so a signature cannot be added \
             without changing it; re-export it with airlock"
                .into(),
        ));
    }

    let resigned = metadata::parse::<Root>(&new_bytes, "root")?;
    let count = root_signatures(gun, &resigned, previous.as_ref());
    Ok(Some((new_bytes, ids, count)))
}

/// A file's bytes before its signature list: what every signature covers, which adding one
/// must leave as it was.
fn signed_part(file: &[u8]) -> Option<&[u8]> {
    let marker = b",\"signatures\":[";
    let end = file.windows(marker.len()).rposition(|w| w == marker)?;
    Some(&file[..end])
}

/// Per GUN, the root counts of a bundle, for `status --bundle`.
pub fn bundle_status(home: &Home, path: &Path) -> Result<Vec<RootInBundle>, OpsError> {
    Ok(roots_in_bundle(home, path)?.1)
}
