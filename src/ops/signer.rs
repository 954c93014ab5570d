//! `airlock signer add`: stage a signer's keys into `targets/releases` and `targets/<name>`,
//! like `docker trust signer add`, initialising a new repository first.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::{self, KeyId, PublicKey, SigningKey};
use crate::home::{Home, RepoState};
use crate::keystore::{KeyClass, KeyStore, PassphraseProvider};
use crate::ops::keys::store_key;
use crate::ops::{import, repo, OpsError};
use crate::tuf::{Gun, RoleName};

#[derive(Debug, serde::Serialize)]
pub struct SignerAdded {
    pub gun: String,
    pub initialised: bool,
    pub roles: Vec<String>,
    pub key_ids: Vec<String>,
}

/// Reads every key file first, so one bad file stages nothing anywhere.
pub fn read_keys(files: &[PathBuf]) -> Result<Vec<PublicKey>, OpsError> {
    if files.is_empty() {
        return Err(OpsError::Usage("give at least one --key FILE".into()));
    }
    files.iter().map(read_key).collect()
}

/// Warnings for certificates that expire within six months: they still work, but the signer
/// needs a new one soon.
pub fn certificate_warnings(keys: &[PublicKey], now: OffsetDateTime) -> Vec<String> {
    let soon = now + time::Duration::days(182);
    keys.iter()
        .filter(|k| k.keytype().is_x509())
        .filter_map(|k| crypto::check_delegation_certificate(k, now, false).ok())
        .filter(|info| info.not_after < soon)
        .map(|info| {
            let date = info.not_after.date();
            format!(
                "the certificate of {} expires on {date}, within six months; get the signer a new \
                 one and add it before then",
                info.common_name
            )
        })
        .collect()
}

/// Custodians' root certificate files (PEM), as `key generate --root` writes them.
pub fn read_root_certificates(files: &[PathBuf]) -> Result<Vec<PublicKey>, OpsError> {
    let mut out = Vec::new();
    for path in files {
        let text =
            std::fs::read(path).map_err(|source| OpsError::Io { path: path.clone(), source })?;
        let key = crypto::parse_public_pem(&text)
            .map_err(|source| OpsError::Key { path: path.clone(), source })?;
        if !key.keytype().is_x509() {
            return Err(OpsError::Usage(format!(
                "{}: a root key is listed as a certificate; give the .crt file `airlock key \
                 generate NAME --root GUN` wrote",
                path.display()
            )));
        }
        out.push(key);
    }
    Ok(out)
}

/// A signer's key file; a certificate is checked as Notary checks it when it is added
/// (expiry, SHA-1, RSA size; WIRE.md §4.3).
fn read_key(path: &PathBuf) -> Result<PublicKey, OpsError> {
    let text = std::fs::read(path).map_err(|source| OpsError::Io { path: path.clone(), source })?;
    let key_err = |source| OpsError::Key { path: path.clone(), source };
    let key = crypto::parse_public_pem(&text).map_err(key_err)?;
    if key.keytype().is_x509() {
        let now = OffsetDateTime::now_utc();
        crypto::check_delegation_certificate(&key, now, true).map_err(key_err)?;
    }
    Ok(key)
}

pub fn add(
    home: &Home,
    store: &KeyStore,
    name: &str,
    guns: &[Gun],
    keys: &[PublicKey],
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<SignerAdded>, OpsError> {
    let role = RoleName::for_signer(name)?;
    let mut states = Vec::new();
    for gun in guns {
        states.push(home.require_repo(gun)?);
    }

    // Every GUN is staged in memory first and saved only when all of them worked, so a GUN
    // that fails changes no other (keys made for an earlier GUN stay as unused keys).
    let mut staged = Vec::new();
    let mut reports = Vec::new();
    for mut state in states {
        let initialised = needs_init(&state)?;
        if initialised {
            let init = init_change(store, &state, now, passphrases)?;
            state.pending.push(init);
        }
        stage_signer(&mut state, &role, keys);
        repo::draft(&state, now)?;

        let key_ids = keys.iter().map(|k| k.canonical_id().map(|id| id.to_string()));
        reports.push(SignerAdded {
            gun: state.gun.clone(),
            initialised,
            roles: vec![role.to_string(), RoleName::releases().to_string()],
            key_ids: key_ids.collect::<Result<_, _>>()?,
        });
        staged.push(state);
    }
    for state in &staged {
        home.save_repo(state)?;
    }
    Ok(reports)
}

/// A repository with no root (new on the server) and no staged initialisation.
fn needs_init(state: &RepoState) -> Result<bool, OpsError> {
    let staged = state.pending.iter().any(|c| matches!(c, Change::Init { .. }));
    Ok(repo::head_root(state)?.is_none() && !staged)
}

/// The docker way (WIRE.md §7): `targets/<name>` first, then the same keys into
/// `targets/releases`, both with paths `[""]`.
fn stage_signer(state: &mut RepoState, role: &RoleName, keys: &[PublicKey]) {
    let keys: Vec<KeyJson> = keys.iter().map(KeyJson::from_key).collect();
    for role in [role.clone(), RoleName::releases()] {
        let paths = vec![String::new()];
        state.pending.push(Change::AddKeys { role: role.to_string(), keys: keys.clone(), paths });
    }
}

/// New root and targets keys, a root certificate with Notary's template, and the server's
/// timestamp and snapshot keys from the pull.
fn init_change(
    store: &KeyStore,
    state: &RepoState,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Change, OpsError> {
    let gun = state.gun();
    let server_key = |role: &str| -> Result<KeyJson, OpsError> {
        let Some(bytes) = state.server_keys.get(role) else {
            let why = format!(
                "the pull bundle has no server {role} key; pull the repository again with a \
                 server that manages the {role} key"
            );
            return Err(OpsError::Refused { gun: gun.clone(), why });
        };
        Ok(KeyJson::from_key(&import::parse_server_key(&bytes.0, role)?))
    };
    let timestamp_key = server_key("timestamp")?;
    let snapshot_key = server_key("snapshot")?;

    // Every passphrase first, so a missing one stores no key at all.
    store.ensure_identity(KeyClass::Root, passphrases)?;
    store.ensure_identity(KeyClass::Targets, passphrases)?;

    let root_key = SigningKey::generate_p256();
    let certificate = crypto::root_certificate(&root_key, gun.as_str(), now)?;
    store_key(store, &root_key, "root", Some(&gun), now, passphrases)?;

    let targets_key = SigningKey::generate_p256();
    store_key(store, &targets_key, "targets", Some(&gun), now, passphrases)?;

    Ok(Change::Init {
        root_certificate: KeyJson::from_key(&certificate),
        targets_key: KeyJson::from_key(&targets_key.public_key()),
        timestamp_key,
        snapshot_key,
    })
}

/// What `signer rotate` staged for one GUN.
#[derive(Debug, serde::Serialize)]
pub struct SignerRotated {
    pub gun: String,
    /// The roles whose keys changed: `targets/<name>`, and `targets/releases` when the signer
    /// was in it.
    pub roles: Vec<String>,
    /// TUF key IDs removed and added.
    pub removed: Vec<String>,
    pub added: Vec<String>,
    /// Roles re-signed unchanged so they stay valid without the old keys.
    pub witnessed: Vec<String>,
    /// Roles left invalid until the signer re-signs them with a new key.
    pub warnings: Vec<String>,
}

/// `signer rotate NAME GUN... --key FILE...`: the signer's old keys leave `targets/<name>`
/// and `targets/releases`, the new ones take their place, and `targets/releases` is
/// re-signed by a key that stays, all in one export. Every GUN is checked before any is
/// changed; a role that would fall below its threshold, or a releases file this home could
/// not re-sign, refuses the whole command.
pub fn rotate(
    home: &Home,
    store: &KeyStore,
    name: &str,
    guns: &[Gun],
    keys: &[PublicKey],
    now: OffsetDateTime,
) -> Result<Vec<SignerRotated>, OpsError> {
    let role = RoleName::for_signer(name)?;
    let mut planned = Vec::new();
    for gun in guns {
        let mut state = home.require_repo(gun)?;
        let report = plan_rotation(store, &mut state, &role, keys, now)?;
        planned.push((state, report));
    }
    for (state, _) in &planned {
        home.save_repo(state)?;
    }
    Ok(planned.into_iter().map(|(_, report)| report).collect())
}

/// Stages one GUN's signer rotation in `state` (not saved), after checking it.
fn plan_rotation(
    store: &KeyStore,
    state: &mut RepoState,
    role: &RoleName,
    keys: &[PublicKey],
    now: OffsetDateTime,
) -> Result<SignerRotated, OpsError> {
    let gun = state.gun();
    let refuse = |why: String| OpsError::Refused { gun: gun.clone(), why };
    let before = repo::draft(state, now)?.targets;
    let d = &before.delegations;
    let old: Vec<KeyId> = d.role(role).and_then(|r| r.keyids.clone()).unwrap_or_default();
    if d.role(role).is_none() || old.is_empty() {
        return Err(refuse(format!("{role} has no keys to rotate; add the signer instead")));
    }
    if let Some(k) = keys.iter().find(|k| old.contains(&k.id())) {
        return Err(refuse(format!("key {} already signs for {role}", k.id())));
    }

    // 1. the changes, in the docker order: add, re-sign releases, remove
    let releases = RoleName::releases();
    let in_releases: Vec<KeyId> = d.role(&releases).map_or(Vec::new(), |r| {
        r.keyids.iter().flatten().filter(|id| old.contains(id)).cloned().collect()
    });
    let mut roles = vec![role.clone()];
    if !in_releases.is_empty() {
        roles.push(releases.clone());
    }
    let new: Vec<KeyJson> = keys.iter().map(KeyJson::from_key).collect();
    let mut changes = Vec::new();
    for r in &roles {
        let add = Change::AddKeys { role: r.to_string(), keys: new.clone(), paths: Vec::new() };
        changes.push(add);
    }
    let mut witnessed = Vec::new();
    let mut warnings = Vec::new();
    for r in &roles {
        if state.head(r.as_str()).is_none() {
            continue;
        }
        if state.unverified_roles.iter().any(|u| u == r.as_str()) {
            return Err(refuse(crate::ops::delegation::unverified(r)));
        }
        if can_resign(store, &before, r, &old)? {
            changes.push(Change::Witness { role: r.to_string(), trust_content: false });
            witnessed.push(r.to_string());
        } else if r == &releases {
            return Err(refuse(format!(
                "this home holds no key of {releases} that stays after the rotation, so it \
                 cannot re-sign {releases}, which would be left invalid; load one with \
                 `airlock key load FILE --name SIGNER`"
            )));
        } else {
            warnings.push(format!("{r} stays invalid until the signer re-signs it"));
        }
    }
    let removed: Vec<String> = old.iter().map(ToString::to_string).collect();
    changes.push(Change::RemoveKeys { role: role.to_string(), key_ids: removed.clone() });
    if !in_releases.is_empty() {
        let ids = in_releases.iter().map(ToString::to_string).collect();
        changes.push(Change::RemoveKeys { role: releases.to_string(), key_ids: ids });
    }

    // 2. the result must leave every role usable
    state.pending.extend(changes);
    let after = repo::draft(state, now)?.targets;
    for r in &roles {
        let entry = after.delegations.role(r).ok_or_else(|| refuse(format!("{r} vanished")))?;
        let count = entry.keyids.as_ref().map_or(0, Vec::len) as i64;
        if count < entry.threshold {
            return Err(refuse(format!(
                "{r} would have {count} key(s) for a threshold of {}; nothing was staged",
                entry.threshold
            )));
        }
    }
    Ok(SignerRotated {
        gun: gun.to_string(),
        roles: roles.iter().map(ToString::to_string).collect(),
        removed,
        added: keys.iter().map(|k| k.id().to_string()).collect(),
        witnessed,
        warnings,
    })
}

/// Whether this store holds enough keys of `role` that are not being removed to meet its
/// threshold: the keys that can re-sign it once the old ones are gone.
fn can_resign(
    store: &KeyStore,
    targets: &crate::tuf::metadata::Targets,
    role: &RoleName,
    removed: &[KeyId],
) -> Result<bool, OpsError> {
    let d = &targets.delegations;
    let Some(entry) = d.role(role) else { return Ok(false) };
    let mut held = 0;
    for id in entry.keyids.iter().flatten().filter(|id| !removed.contains(id)) {
        let Some(key) = d.key(id) else { continue };
        if store.get(key.canonical_id()?.as_str())?.is_some() {
            held += 1;
        }
    }
    Ok(held >= entry.threshold.max(1))
}

/// What `airlock init` staged.
#[derive(Debug, serde::Serialize)]
pub struct Initialised {
    pub gun: String,
    /// The root certificates root v1 lists (TUF IDs), this home's first.
    pub root_keys: Vec<String>,
    pub root_threshold: i64,
}

/// `airlock init GUN [--root-cert FILE...] [--threshold K]`: stage a new repository whose
/// root lists this home's new root certificate and the custodians' certificates, any K of
/// which must sign each root (k-of-n). Without certificates it is `notary init`'s 1-of-1.
pub fn init(
    home: &Home,
    store: &KeyStore,
    gun: &Gun,
    custodians: &[PublicKey],
    threshold: Option<i64>,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Initialised, OpsError> {
    let mut state = home.require_repo(gun)?;
    let refuse = |why: String| OpsError::Refused { gun: gun.clone(), why };
    if !needs_init(&state)? {
        return Err(refuse(
            "the repository already has a root, or its initialisation is \
                           staged (`airlock status`)"
                .into(),
        ));
    }
    for cert in custodians {
        crypto::check_root_certificate(cert, gun.as_str(), now)
            .map_err(|e| refuse(format!("custodian certificate {}: {e}", cert.id())))?;
        if store.get(cert.canonical_id()?.as_str())?.is_some() {
            return Err(refuse(format!(
                "root certificate {} is for a key this home holds: a custodian's key must live \
                 in that custodian's own home, or k-of-n means nothing",
                cert.id()
            )));
        }
    }
    let total = custodians.len() as i64 + 1;
    let threshold = threshold.unwrap_or(1);
    if !(1..=total).contains(&threshold) {
        return Err(refuse(format!(
            "--threshold {threshold} cannot be met by {total} root key(s) (this home's and one \
             per --root-cert): give 1 to {total}, or a --root-cert per other custodian"
        )));
    }

    let mut keys: Vec<KeyJson> = Vec::new();
    for cert in custodians {
        let json = KeyJson::from_key(cert);
        if keys.contains(&json) {
            return Err(refuse(format!("root certificate {} is given twice", cert.id())));
        }
        keys.push(json);
    }

    let init = init_change(store, &state, now, passphrases)?;
    let Change::Init { root_certificate, .. } = &init else { unreachable!("an init change") };
    keys.insert(0, root_certificate.clone());
    let root_keys = keys.iter().map(|k| k.to_key().map(|k| k.id().to_string()));
    let root_keys = root_keys.collect::<Result<Vec<_>, _>>()?;
    state.pending.push(init);
    if keys.len() > 1 || threshold > 1 {
        let role = "root".to_string();
        state.pending.push(Change::SetRoleKeys { role, keys, threshold: Some(threshold) });
    }
    repo::draft(&state, now)?;
    home.save_repo(&state)?;
    Ok(Initialised { gun: gun.to_string(), root_keys, root_threshold: threshold })
}
