//! Staged changes and how they turn a repository's metadata into its next version.
//!
//! Commands such as `signer add` only record a [`Change`]; `export` applies all of a GUN's
//! changes to its newest local metadata and signs the result. Changes are pure data, so the
//! pending list can be shown (`airlock status`), stored in the home and audited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::{KeyId, KeyType, PublicKey};
use crate::tuf::gotime::{ROOT_LIFETIME_DAYS, TARGETS_LIFETIME_DAYS};
use crate::tuf::metadata::{Common, DelegatedRole, Delegations, RoleKeys, Root, Targets};
use crate::tuf::{GoTime, RoleName};

/// A public key as stored in a change: key type and base64 of `keyval.public`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyJson {
    pub keytype: String,
    pub public: String,
}

impl KeyJson {
    pub fn from_key(key: &PublicKey) -> KeyJson {
        KeyJson { keytype: key.keytype().as_str().to_string(), public: key.public_b64() }
    }

    pub fn to_key(&self) -> Result<PublicKey, ChangeError> {
        let bad = |_| ChangeError::BadKey(self.keytype.clone());
        let keytype = KeyType::parse(&self.keytype).map_err(bad)?;
        PublicKey::from_b64(keytype, &self.public).map_err(bad)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// A new repository: root v1 listing a new root certificate and targets key, and the
    /// server's timestamp and snapshot keys (server-managed snapshot, as docker does).
    Init {
        root_certificate: KeyJson,
        targets_key: KeyJson,
        timestamp_key: KeyJson,
        snapshot_key: KeyJson,
    },
    /// Add keys to a delegation of `targets`, creating it (threshold 1) if missing; `paths`
    /// are added to the role's paths.
    AddKeys { role: String, keys: Vec<KeyJson>, paths: Vec<String> },
    /// Remove keys (by the ID targets.json lists them under) from a delegation. Keys no role
    /// uses any more leave `delegations.keys`, as Notary does.
    RemoveKeys { role: String, key_ids: Vec<String> },
    /// Remove a delegation role.
    RemoveRole { role: String },
    /// Replace the keys a base role lists in root (`notary key rotate`). Old root
    /// certificates stay in `root.keys`, as Notary leaves them; other old keys leave it when
    /// no role lists them any more. Changing the targets keys re-signs targets with them.
    SetRoleKeys {
        role: String,
        keys: Vec<KeyJson>,
        /// A new threshold; `None` keeps the role's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threshold: Option<i64>,
    },
    /// Re-sign a role unchanged: version + 1, new expiry (`notary witness`). `trust_content`
    /// records that the operator vouched for content no known key had signed.
    Witness {
        role: String,
        #[serde(default)]
        trust_content: bool,
    },
}

impl Change {
    /// One line for `airlock status`.
    pub fn describe(&self) -> String {
        match self {
            Change::Init { .. } => "initialise the repository (new root and targets keys)".into(),
            Change::AddKeys { role, keys, .. } => {
                let ids: Vec<String> = keys
                    .iter()
                    .map(|k| k.to_key().ok().and_then(|k| k.canonical_id().ok()))
                    .map(|id| id.map_or("?".into(), |id| id.as_str()[..12].to_string()))
                    .collect();
                format!("add key(s) {} to {role}", ids.join(", "))
            }
            Change::RemoveKeys { role, key_ids } => {
                let ids: Vec<&str> = key_ids.iter().map(|id| &id[..12.min(id.len())]).collect();
                format!("remove key(s) {} from {role}", ids.join(", "))
            }
            Change::RemoveRole { role } => format!("remove the role {role}"),
            Change::SetRoleKeys { role, keys, .. } => {
                let ids: Vec<String> = keys
                    .iter()
                    .map(|k| k.to_key().map(|k| k.id().as_str()[..12].to_string()))
                    .map(|id| id.unwrap_or_else(|_| "?".into()))
                    .collect();
                format!("rotate the {role} key(s) to {}", ids.join(", "))
            }
            Change::Witness { role, .. } => format!("witness {role} (re-sign it unchanged)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("a staged key of type {0:?} is damaged; discard the pending changes and stage again")]
    BadKey(String),
    #[error(
        "the repository has no root yet and no staged change initialises it; stage one with \
         `airlock init GUN` or `airlock signer add NAME GUN --key FILE`"
    )]
    NoRoot,
    #[error("the repository is already initialised")]
    AlreadyInitialised,
    #[error("{0}: only delegations directly under targets can be changed here")]
    NestedRole(String),
    #[error("{0} is not a valid role name")]
    BadRole(String),
    #[error("{role} would need {threshold} signatures from {keys} key(s); no one could sign it")]
    Threshold { role: String, threshold: i64, keys: usize },
    #[error("{0} cannot be left without keys")]
    NoKeys(String),
    #[error("{role} has no such delegation in targets")]
    NoSuchRole { role: String },
    #[error("{role} does not hold key {key_id}")]
    KeyNotInRole { role: String, key_id: String },
}

/// The next version of a repository's root and targets, unsigned.
#[derive(Clone, Debug)]
pub struct Draft {
    pub root: Root,
    pub root_changed: bool,
    pub targets: Targets,
    pub targets_changed: bool,
    /// Delegation roles to re-sign unchanged.
    pub witnessed: Vec<RoleName>,
}

/// Applies `changes` to the newest local root and targets (`None` for a new repository).
pub fn apply(
    root: Option<Root>,
    targets: Option<Targets>,
    changes: &[Change],
    now: OffsetDateTime,
) -> Result<Draft, ChangeError> {
    let published: Vec<KeyId> = root.iter().flat_map(|r| r.keys.keys().cloned()).collect();
    let mut root = root;
    let mut targets = targets;
    let (mut root_changed, mut targets_changed) = (false, false);
    let mut witnessed = Vec::new();

    for change in changes {
        match change {
            Change::Init { root_certificate, targets_key, timestamp_key, snapshot_key } => {
                if root.is_some() {
                    return Err(ChangeError::AlreadyInitialised);
                }
                let keys = [root_certificate, targets_key, snapshot_key, timestamp_key];
                root = Some(new_root(keys, now)?);
                targets = Some(new_targets(now));
                (root_changed, targets_changed) = (true, true);
            }
            Change::AddKeys { role, keys, paths } => {
                let t = targets.as_mut().ok_or(ChangeError::NoRoot)?;
                add_keys(t, role, keys, paths)?;
                targets_changed = true;
            }
            Change::RemoveKeys { role, key_ids } => {
                let t = targets.as_mut().ok_or(ChangeError::NoRoot)?;
                remove_keys(t, role, key_ids)?;
                targets_changed = true;
            }
            Change::RemoveRole { role } => {
                let t = targets.as_mut().ok_or(ChangeError::NoRoot)?;
                remove_role(t, role)?;
                targets_changed = true;
            }
            Change::SetRoleKeys { role, keys, threshold } => {
                let r = root.as_mut().ok_or(ChangeError::NoRoot)?;
                set_role_keys(r, role, keys, *threshold, &published)?;
                root_changed = true;
                targets_changed |= role == "targets";
            }
            Change::Witness { role, .. } if role == "root" => root_changed = true,
            // A snapshot signed offline is re-signed by every export anyway.
            Change::Witness { role, .. } if role == "snapshot" => {}
            Change::Witness { role, .. } if role == "targets" => targets_changed = true,
            Change::Witness { role, .. } => {
                let name = RoleName::parse(role).map_err(|_| ChangeError::BadRole(role.clone()))?;
                if !witnessed.contains(&name) {
                    witnessed.push(name);
                }
            }
        }
    }

    let root = root.ok_or(ChangeError::NoRoot)?;
    let targets = targets.ok_or(ChangeError::NoRoot)?;
    Ok(Draft { root, root_changed, targets, targets_changed, witnessed })
}

/// Root v1 as `notary init` makes it: one key per base role, threshold 1 (WIRE.md §5.2).
fn new_root(keys: [&KeyJson; 4], now: OffsetDateTime) -> Result<Root, ChangeError> {
    let mut root_keys = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for (name, key) in ["root", "targets", "snapshot", "timestamp"].into_iter().zip(keys) {
        let key = key.to_key()?;
        let id = key.id();
        roles.insert(name.to_string(), RoleKeys { keyids: Some(vec![id.clone()]), threshold: 1 });
        root_keys.insert(id, key);
    }
    let expires = GoTime::days_after(now, ROOT_LIFETIME_DAYS);
    Ok(Root {
        common: Common { version: 1, expires },
        consistent_snapshot: false,
        keys: root_keys,
        roles,
    })
}

/// Lists `keys` as the only keys of a base role. Published root certificates no role lists
/// stay in `keys` (Notary keeps them after `key rotate root`); any other key no role lists
/// goes. `published` are the keys of the root the changes start from.
fn set_role_keys(
    root: &mut Root,
    role: &str,
    keys: &[KeyJson],
    threshold: Option<i64>,
    published: &[KeyId],
) -> Result<(), ChangeError> {
    if !["root", "targets", "snapshot", "timestamp"].contains(&role) {
        return Err(ChangeError::BadRole(role.to_string()));
    }
    if keys.is_empty() {
        return Err(ChangeError::NoKeys(role.to_string()));
    }
    let keys: Vec<PublicKey> = keys.iter().map(KeyJson::to_key).collect::<Result<_, _>>()?;
    let entry =
        root.roles.entry(role.to_string()).or_insert(RoleKeys { keyids: None, threshold: 1 });
    let old = entry.keyids.replace(keys.iter().map(PublicKey::id).collect()).unwrap_or_default();
    entry.threshold = threshold.unwrap_or(entry.threshold);
    if entry.threshold < 1 || entry.threshold > keys.len() as i64 {
        let (threshold, keys) = (entry.threshold, keys.len());
        return Err(ChangeError::Threshold { role: role.to_string(), threshold, keys });
    }
    for key in keys {
        root.keys.insert(key.id(), key);
    }

    let used: Vec<KeyId> =
        root.roles.values().flat_map(|r| r.keyids.iter().flatten().cloned()).collect();
    for id in old {
        // A root certificate stays once published: clients still know it. One staged and
        // replaced before any export was never seen, and goes.
        let keep = role == "root" && published.contains(&id);
        if !keep && !used.contains(&id) {
            root.keys.remove(&id);
        }
    }
    Ok(())
}

/// An empty targets role; `export` gives it version 1.
fn new_targets(now: OffsetDateTime) -> Targets {
    let expires = GoTime::days_after(now, TARGETS_LIFETIME_DAYS);
    Targets {
        common: Common { version: 0, expires },
        targets: BTreeMap::new(),
        delegations: Delegations::empty(),
    }
}

/// Adds keys to a delegation, as `notary delegation add` / `docker trust signer add` do:
/// keys are listed once, existing keys stay, a new role gets threshold 1.
fn add_keys(
    targets: &mut Targets,
    role: &str,
    keys: &[KeyJson],
    paths: &[String],
) -> Result<(), ChangeError> {
    let name = RoleName::parse(role).map_err(|_| ChangeError::BadRole(role.to_string()))?;
    if name.depth() != 1 {
        return Err(ChangeError::NestedRole(role.to_string()));
    }
    let keys: Vec<PublicKey> = keys.iter().map(KeyJson::to_key).collect::<Result<_, _>>()?;
    let d = &mut targets.delegations;

    let key_map = d.keys.get_or_insert_with(BTreeMap::new);
    for key in &keys {
        key_map.insert(key.id(), key.clone());
    }

    let roles = d.roles.get_or_insert_with(Vec::new);
    let entry = match roles.iter().position(|r| r.name == name) {
        Some(i) => &mut roles[i],
        None => {
            let paths = paths.to_vec();
            roles.push(DelegatedRole { name, keyids: None, paths, threshold: 1 });
            roles.last_mut().expect("just pushed")
        }
    };
    let ids = entry.keyids.get_or_insert_with(Vec::new);
    for key in &keys {
        if !ids.contains(&key.id()) {
            ids.push(key.id());
        }
    }
    for path in paths {
        if !entry.paths.contains(path) {
            entry.paths.push(path.clone());
        }
    }
    Ok(())
}

fn delegation_name(role: &str) -> Result<RoleName, ChangeError> {
    let name = RoleName::parse(role).map_err(|_| ChangeError::BadRole(role.to_string()))?;
    if name.depth() != 1 {
        return Err(ChangeError::NestedRole(role.to_string()));
    }
    Ok(name)
}

/// Removes keys from a role. A role left without keys gets `keyids: null`, as Notary writes
/// it (WIRE.md §5.3).
fn remove_keys(targets: &mut Targets, role: &str, key_ids: &[String]) -> Result<(), ChangeError> {
    let name = delegation_name(role)?;
    let no_role = || ChangeError::NoSuchRole { role: role.to_string() };
    let roles = targets.delegations.roles.as_mut().ok_or_else(no_role)?;
    let entry = roles.iter_mut().find(|r| r.name == name).ok_or_else(no_role)?;

    let held = entry.keyids.get_or_insert_with(Vec::new);
    for id in key_ids {
        let Some(i) = held.iter().position(|k| k.as_str() == id) else {
            return Err(ChangeError::KeyNotInRole { role: role.to_string(), key_id: id.clone() });
        };
        held.remove(i);
    }
    if held.is_empty() {
        entry.keyids = None;
    }
    drop_unused_keys(&mut targets.delegations);
    Ok(())
}

fn remove_role(targets: &mut Targets, role: &str) -> Result<(), ChangeError> {
    let name = delegation_name(role)?;
    let no_role = || ChangeError::NoSuchRole { role: role.to_string() };
    let roles = targets.delegations.roles.as_mut().ok_or_else(no_role)?;
    let before = roles.len();
    roles.retain(|r| r.name != name);
    if roles.len() == before {
        return Err(no_role());
    }
    drop_unused_keys(&mut targets.delegations);
    Ok(())
}

/// Keys that no role lists leave `delegations.keys` (`tuf/tuf.go` purges them the same way).
fn drop_unused_keys(d: &mut Delegations) {
    let used: Vec<KeyId> =
        d.roles.iter().flatten().flat_map(|r| r.keyids.iter().flatten().cloned()).collect();
    if let Some(keys) = d.keys.as_mut() {
        keys.retain(|id, _| used.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 00:00 UTC);

    fn key() -> KeyJson {
        KeyJson::from_key(&SigningKey::generate_p256().public_key())
    }

    fn init() -> Change {
        Change::Init {
            root_certificate: key(),
            targets_key: key(),
            timestamp_key: key(),
            snapshot_key: key(),
        }
    }

    fn add(role: &str, keys: &[&KeyJson]) -> Change {
        let keys = keys.iter().map(|k| (*k).clone()).collect();
        Change::AddKeys { role: role.into(), keys, paths: vec![String::new()] }
    }

    fn id(k: &KeyJson) -> String {
        k.to_key().unwrap().id().to_string()
    }

    #[test]
    fn removing_the_last_key_writes_null_and_drops_unused_keys() {
        let (a, b) = (key(), key());
        let changes = vec![
            init(),
            add("targets/a", &[&a]),
            add("targets/releases", &[&a, &b]),
            Change::RemoveKeys { role: "targets/releases".into(), key_ids: vec![id(&a), id(&b)] },
        ];
        let d = apply(None, None, &changes, NOW).unwrap().targets.delegations;
        let releases = d.role(&RoleName::releases()).unwrap();
        assert_eq!(releases.keyids, None, "Notary writes null for a role without keys");
        let keys = d.keys.unwrap();
        assert!(keys.contains_key(&a.to_key().unwrap().id()), "a is still used by targets/a");
        assert!(!keys.contains_key(&b.to_key().unwrap().id()), "b is used by no role");
    }

    #[test]
    fn removing_a_role_and_refusals() {
        let a = key();
        let base = vec![init(), add("targets/a", &[&a])];

        let mut changes = base.clone();
        changes.push(Change::RemoveRole { role: "targets/a".into() });
        let d = apply(None, None, &changes, NOW).unwrap().targets.delegations;
        assert!(d.roles.unwrap().is_empty());
        assert!(d.keys.unwrap().is_empty());

        let mut changes = base.clone();
        changes.push(Change::RemoveKeys { role: "targets/a".into(), key_ids: vec![id(&key())] });
        let err = apply(None, None, &changes, NOW).unwrap_err();
        assert!(matches!(err, ChangeError::KeyNotInRole { .. }), "{err}");

        let mut changes = base;
        changes.push(Change::RemoveRole { role: "targets/b".into() });
        assert!(matches!(apply(None, None, &changes, NOW), Err(ChangeError::NoSuchRole { .. })));
    }

    #[test]
    fn adding_keeps_existing_keys_and_order() {
        let (a, b) = (key(), key());
        let changes =
            vec![init(), add("targets/releases", &[&a]), add("targets/releases", &[&b, &a])];
        let draft = apply(None, None, &changes, NOW).unwrap();
        let releases = draft.targets.delegations.role(&RoleName::releases()).unwrap().clone();
        let ids: Vec<String> = releases.keyids.unwrap().iter().map(|k| k.to_string()).collect();
        assert_eq!(ids, [id(&a), id(&b)]);
        assert_eq!(releases.paths, [""]);
        assert!(draft.root_changed && draft.targets_changed);
        assert!(matches!(
            apply(None, None, &[init(), init()], NOW),
            Err(ChangeError::AlreadyInitialised)
        ));
    }
}
