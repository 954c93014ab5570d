//! `airlock signer add`: stage a signer's keys into `targets/releases` and `targets/<name>`,
//! like `docker trust signer add`, initialising a new repository first.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::{self, PublicKey, SigningKey};
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
