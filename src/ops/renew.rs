//! `airlock renew GUN... [--within DAYS]`: stage a re-sign of every role that expires within
//! the window and that this home can sign, so the next export gives each one version step
//! and a fresh expiry. A root certificate that expires within the window is replaced by a
//! new certificate for the same key (a root key rotation to itself).
//!
//! Roles this home cannot sign are reported, not staged: their signers must renew them.
//! Timestamps, and snapshots whose key the server holds, are renewed by the server.

use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::{self, PublicKey, SigningKey};
use crate::home::{Home, RepoState};
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::rotate::held_keys;
use crate::ops::{delegation, repo, OpsError};

use crate::tuf::Gun;

/// What `renew` found for one GUN.
#[derive(Debug, serde::Serialize)]
pub struct Renewal {
    pub gun: String,
    /// The roles staged for re-signing (and `root certificate <id>` for renewed certificates).
    pub renewed: Vec<String>,
    /// Due roles this home cannot sign, with who must.
    pub not_renewed: Vec<String>,
}

pub fn renew(
    home: &Home,
    store: &KeyStore,
    guns: &[Gun],
    within_days: i64,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<Renewal>, OpsError> {
    let due_by = crate::ops::expiry::window_end(now, within_days)?;

    // Every GUN is planned before any is saved, so one that fails stages nothing anywhere.
    let mut planned = Vec::new();
    for gun in guns {
        let state = home.require_repo(gun)?;
        planned.push(plan(store, state, due_by, now, passphrases)?);
    }
    let mut yes = |_: &delegation::Staged| Ok(true);
    let mut reports = Vec::new();
    for (state, changes, report) in planned {
        if !changes.is_empty() {
            delegation::stage(home, &state.gun(), changes, now, &mut yes)?;
        }
        reports.push(report);
    }
    Ok(reports)
}

type Plan = (RepoState, Vec<Change>, Renewal);

fn plan(
    store: &KeyStore,
    state: RepoState,
    due_by: OffsetDateTime,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Plan, OpsError> {
    let draft = repo::draft(&state, now)?;
    let root = &draft.root;
    let published = repo::head_root(&state)?.map(|r| r.signed);
    let mut report = Renewal { gun: state.gun.clone(), renewed: vec![], not_renewed: vec![] };
    let mut changes = Vec::new();
    let due = |role: &str| expires(&state, role).is_some_and(|t| t <= due_by);

    // 1. root, and the root certificates this home holds the keys of
    let held_root = held_keys(store, root, "root")?;
    // Only published certificates: one staged already (by an earlier renew) is not renewed
    // again, however wide the window.
    let published = published.map(|p| p.listed_keys("root")).unwrap_or_default();
    let candidates: Vec<PublicKey> =
        root.listed_keys("root").into_iter().filter(|c| published.contains(c)).collect();
    let certificates =
        renewed_certificates(store, &state, &candidates, &held_root, due_by, now, passphrases)?;
    let (renewed_certs, other_certs) = certificates;
    report.not_renewed.extend(other_certs);
    if !renewed_certs.is_empty() {
        let mut keys: Vec<PublicKey> = root.listed_keys("root");
        for (old, new) in &renewed_certs {
            keys.retain(|k| k != old);
            keys.push(new.clone());
            report.renewed.push(format!("root certificate {}", old.id().short()));
        }
        let keys = keys.iter().map(KeyJson::from_key).collect();
        changes.push(Change::SetRoleKeys { role: "root".into(), keys, threshold: None });
    } else if due("root") && !draft.root_changed {
        if held_root.is_empty() {
            report.not_renewed.push("root: this home holds no root key".into());
        } else {
            changes.push(witness("root"));
            report.renewed.push("root".into());
        }
    }

    // 2. targets and its delegations
    if due("targets") && !draft.targets_changed {
        if held_keys(store, root, "targets")?.is_empty() {
            report.not_renewed.push("targets: this home holds no targets key".into());
        } else {
            changes.push(witness("targets"));
            report.renewed.push("targets".into());
        }
    }
    let staged = |r: &crate::tuf::RoleName| draft.witnessed.contains(r);
    let due_roles = state.head_roles().into_iter().filter(|r| r.depth() == 1 && due(r.as_str()));
    for role in due_roles.filter(|r| !staged(r)) {
        let Some(entry) = draft.targets.delegations.role(&role) else { continue };
        let held = entry.keyids.iter().flatten().filter_map(|id| draft.targets.delegations.key(id));
        let mut count = 0;
        for key in held {
            count += i64::from(store.get(key.canonical_id()?.as_str())?.is_some());
        }
        if count >= entry.threshold.max(1) && !state.unverified_roles.contains(&role.to_string()) {
            changes.push(witness(role.as_str()));
            report.renewed.push(role.to_string());
        } else {
            report.not_renewed.push(format!("{role}: its signers must re-sign it"));
        }
    }

    // 3. a snapshot signed here is re-signed by every export; only when nothing else is
    // staged does it need a change of its own
    let offline_snapshot = !held_keys(store, root, "snapshot")?.is_empty();
    if offline_snapshot && due("snapshot") {
        if changes.is_empty() {
            changes.push(witness("snapshot"));
        }
        report.renewed.push("snapshot".into());
    }
    Ok((state, changes, report))
}

fn witness(role: &str) -> Change {
    Change::Witness { role: role.to_string(), trust_content: false }
}

/// A role's expiry in the local head.
fn expires(state: &RepoState, role: &str) -> Option<OffsetDateTime> {
    crate::ops::expiry::role_expiry(state.head(role)?).map(|t| t.instant())
}

/// New certificates for the held root keys whose certificate (among `candidates`) expires
/// by `due_by` (old, new), and notes about due certificates of keys this home does not hold.
#[allow(clippy::type_complexity)]
fn renewed_certificates(
    store: &KeyStore,
    state: &RepoState,
    candidates: &[PublicKey],
    held: &[PublicKey],
    due_by: OffsetDateTime,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<(Vec<(PublicKey, PublicKey)>, Vec<String>), OpsError> {
    let mut renewed = Vec::new();
    let mut others = Vec::new();
    let mut unlocked = Unlocked::new(store);
    for cert in candidates.iter().cloned() {
        let Ok(info) = crypto::check_delegation_certificate(&cert, now, false) else { continue };
        if info.not_after > due_by {
            continue;
        }
        if !held.contains(&cert) {
            let id = cert.id();
            others.push(format!("root certificate {}: its custodian must renew it", id.short()));
            continue;
        }
        let der = unlocked.private_key(cert.canonical_id()?.as_str(), passphrases)?;
        let key = SigningKey::from_pkcs8_der(&der)?;
        let new = crypto::root_certificate(&key, state.gun.as_str(), now)?;
        renewed.push((cert, new));
    }
    Ok((renewed, others))
}
