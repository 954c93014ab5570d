//! `airlock key rotate GUN ROLE`: replace the key a base role lists in root, as
//! `notary key rotate` does. Every rotation changes root, so root is re-signed at the next
//! export: by the keys of the old root and of the new one (WIRE.md §4.1), one version step.
//!
//! * `root`: a new root key and certificate (or a stored key given by ID, which gets a new
//!   certificate; the same key again renews the certificate). Only the root keys this home
//!   holds are replaced, so a custodian of a k-of-n root rotates their own key.
//! * `targets`: a new targets key made here; targets is re-signed with it.
//! * `snapshot`: a new snapshot key made here, so airlock signs snapshots from then on; or,
//!   with `--server-managed`, the key the server made on `pull --rotate-server-key`.
//! * `timestamp`: only `--server-managed`; Notary's server always signs timestamps.

use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::{self, PublicKey, SigningKey};
use crate::home::{Home, RepoState};
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::delegation::{self, Staged};
use crate::ops::keys::{find_key, store_key};
use crate::ops::{import, repo, OpsError};
use crate::tuf::metadata::Root;
use crate::tuf::Gun;

/// What to rotate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// A new root key made here, or the stored root key with this ID (or unique prefix).
    Root { key: Option<String> },
    /// A new targets key made here.
    Targets,
    /// A new snapshot key made here: snapshots are signed offline from then on.
    SnapshotOffline,
    /// The new key the server made for `snapshot` or `timestamp`.
    ServerManaged { role: String },
}

impl Rotation {
    /// The rotation a command line asks for: `ROLE [--key ID] [--server-managed]`.
    pub fn parse(role: &str, key: Option<String>, server_managed: bool) -> Result<Self, OpsError> {
        let usage = |msg: &str| Err(OpsError::Usage(format!("key rotate {role}: {msg}")));
        if key.is_some() && role != "root" {
            return usage("--key is for root rotations");
        }
        match (role, server_managed) {
            ("root", false) => Ok(Rotation::Root { key }),
            ("targets", false) => Ok(Rotation::Targets),
            ("snapshot", false) => Ok(Rotation::SnapshotOffline),
            ("snapshot" | "timestamp", true) => {
                Ok(Rotation::ServerManaged { role: role.to_string() })
            }
            ("timestamp", false) => usage(
                "the Notary server always holds the timestamp key; give --server-managed after \
                 `airlock pull GUN --rotate-server-key timestamp`",
            ),
            ("root" | "targets", true) => {
                usage("only snapshot and timestamp keys can be on the server")
            }
            _ => usage("give root, targets, snapshot or timestamp"),
        }
    }

    fn role(&self) -> &str {
        match self {
            Rotation::Root { .. } => "root",
            Rotation::Targets => "targets",
            Rotation::SnapshotOffline => "snapshot",
            Rotation::ServerManaged { role } => role,
        }
    }
}

/// What `key rotate` staged.
#[derive(Debug, serde::Serialize)]
pub struct Rotated {
    pub gun: String,
    pub role: String,
    /// The ID root lists the new key under (for root, the certificate's).
    pub key_id: String,
    /// The key's own ID, under which the key store holds it (for keys made here).
    pub canonical_id: String,
    /// The IDs root no longer lists for the role.
    pub replaced: Vec<String>,
    pub staged: Staged,
}

pub fn rotate(
    home: &Home,
    store: &KeyStore,
    gun: &Gun,
    rotation: &Rotation,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Rotated, OpsError> {
    let state = home.require_repo(gun)?;
    let root = repo::draft(&state, now)?.root;
    let refuse = |why: String| OpsError::Refused { gun: gun.clone(), why };
    let held_root = held_keys(store, &root, "root")?;
    if held_root.is_empty() {
        return Err(refuse(
            "this home holds none of the root keys, and root must be re-signed by a current \
             root key; rotate on a machine that holds one"
                .into(),
        ));
    }

    // 1. the new key, checked against the role before anything is stored
    let role = rotation.role().to_string();
    let new = match rotation {
        Rotation::Root { key: None } => {
            let key = SigningKey::generate_p256();
            let public = crypto::root_certificate(&key, gun.as_str(), now)?;
            NewKey { public, private: Some(key) }
        }
        Rotation::Root { key: Some(id) } => stored_root_key(store, gun, id, now, passphrases)?,
        Rotation::Targets | Rotation::SnapshotOffline => {
            let key = SigningKey::generate_p256();
            NewKey { public: key.public_key(), private: Some(key) }
        }
        Rotation::ServerManaged { role } => {
            NewKey { public: rotated_server_key(&state, &root, role)?, private: None }
        }
    };
    let new_key = new.public.clone();

    // 2. the role's new key list: root replaces only the keys held here (a custodian's own)
    let listed = root.listed_keys(&role);
    let replaced: Vec<PublicKey> = if role == "root" { held_root } else { listed.clone() };
    let mut keys: Vec<PublicKey> =
        listed.iter().filter(|k| !replaced.contains(k)).cloned().collect();
    keys.push(new_key.clone());
    let change = Change::SetRoleKeys {
        role: role.clone(),
        keys: keys.iter().map(KeyJson::from_key).collect(),
        threshold: None,
    };

    // 3. the private key into the store, then the change into the home
    if let Some(key) = &new.private {
        store_key(store, key, &role, Some(gun), now, passphrases)?;
    }
    let mut yes = |_: &Staged| Ok(true);
    let staged = delegation::stage(home, gun, vec![change], now, &mut yes)?;
    Ok(Rotated {
        gun: gun.to_string(),
        role,
        key_id: new_key.id().to_string(),
        canonical_id: new_key.canonical_id()?.to_string(),
        replaced: replaced.iter().map(|k| k.id().to_string()).collect(),
        staged,
    })
}

/// The keys root lists for `role` whose private key this store holds.
pub(crate) fn held_keys(
    store: &KeyStore,
    root: &Root,
    role: &str,
) -> Result<Vec<PublicKey>, OpsError> {
    let mut held = Vec::new();
    for key in root.listed_keys(role) {
        if store.get(key.canonical_id()?.as_str())?.is_some() {
            held.push(key);
        }
    }
    Ok(held)
}

/// A key a rotation puts in root, and its private part when it was made here.
struct NewKey {
    /// What root lists: a certificate for root, the bare key for the other roles.
    public: PublicKey,
    private: Option<SigningKey>,
}

/// A new certificate for a root key already in the store.
fn stored_root_key(
    store: &KeyStore,
    gun: &Gun,
    key_id: &str,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<NewKey, OpsError> {
    let record = find_key(store, key_id)?;
    if record.role != "root" {
        return Err(OpsError::Usage(format!(
            "key {} is not a root key (it is stored for {}); a root rotation takes a root key \
             (`airlock key list`)",
            record.key_id, record.role
        )));
    }
    let der = Unlocked::new(store).private_key(&record.key_id, passphrases)?;
    let key = SigningKey::from_pkcs8_der(&der)?;
    let public = crypto::root_certificate(&key, gun.as_str(), now)?;
    Ok(NewKey { public, private: None })
}

/// The server's new key for `role`, which must not be the one root lists already.
fn rotated_server_key(state: &RepoState, root: &Root, role: &str) -> Result<PublicKey, OpsError> {
    let refuse = |why: String| OpsError::Refused { gun: state.gun(), why };
    let Some(bytes) = state.rotated_server_keys.get(role) else {
        return Err(refuse(format!(
            "the last pull brought no new server {role} key; on the online machine run \
             `airlock pull {} --rotate-server-key {role}`, then import that bundle here",
            state.gun
        )));
    };
    let key = import::parse_server_key(&bytes.0, role)?;
    if root.listed_keys(role).contains(&key) {
        return Err(refuse(format!("root already lists the server's {role} key {}", key.id())));
    }
    Ok(key)
}
