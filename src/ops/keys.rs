//! Key generation, loading and removal, and finding the private keys a role needs for
//! signing.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::{CryptoError, KeyId, PublicKey, SigningKey};
use crate::fsutil;
use crate::home::{Home, RepoState};
use crate::keystore::{KeyClass, KeyRecord, KeyStore, KeyStoreError, PassphraseProvider, Unlocked};
use crate::ops::{repo, OpsError};
use crate::tuf::metadata::{self, Targets};
use crate::tuf::sign::Signer;
use crate::tuf::Gun;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The kind of key `key generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// ECDSA P-256, the only kind Notary's own tools make.
    EcdsaP256,
    /// RSA (signing with `rsapss`), for signers whose tooling needs it.
    Rsa { bits: usize },
}

impl KeySpec {
    /// The RSA size when none is given: Notary's minimum, which every client accepts.
    pub const DEFAULT_RSA_BITS: usize = 2048;

    /// Refuses what cannot be made, before anything is asked or written.
    fn check(self) -> Result<(), OpsError> {
        match self {
            KeySpec::EcdsaP256 => Ok(()),
            KeySpec::Rsa { bits } => Ok(crate::crypto::check_rsa_generate_bits(bits)?),
        }
    }

    /// Makes the key; RSA is slow, so `progress` hears when it starts and ends.
    fn generate(self, progress: &mut dyn Progress) -> Result<SigningKey, OpsError> {
        let KeySpec::Rsa { bits } = self else {
            return Ok(SigningKey::generate_p256());
        };

        progress.start(&format!("Generating a {bits}-bit RSA key"));
        let key = SigningKey::generate_rsa(bits);
        progress.finish();
        Ok(key?)
    }
}

/// Told when a slow step starts and ends, so a front end can show that work goes on (the
/// library itself never writes to the terminal).
pub trait Progress {
    fn start(&mut self, what: &str);
    fn finish(&mut self);
}

/// No progress display: for scripts, tests and front ends without a terminal.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _what: &str) {}
    fn finish(&mut self) {}
}

/// What `key generate` made.
#[derive(Debug, serde::Serialize)]
pub struct Generated {
    pub name: String,
    pub key_id: String,
    /// `ecdsa` or `rsa`, as Notary names key types.
    pub keytype: String,
    pub public_key_file: PathBuf,
}

/// `airlock key generate NAME [--type ecdsa|rsa] [--bits N] --dir DIR`: a delegation key.
/// The private part goes into the key store, the public PEM to `DIR/NAME.pub`, which must
/// not exist yet.
pub fn generate(
    store: &KeyStore,
    name: &str,
    spec: KeySpec,
    dir: &Path,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
    progress: &mut dyn Progress,
) -> Result<Generated, OpsError> {
    crate::tuf::RoleName::for_signer(name)?;
    spec.check()?;
    let pub_path = dir.join(format!("{name}.pub"));
    if pub_path.exists() {
        return Err(OpsError::Usage(format!(
            "{} already exists; choose another name or --dir",
            pub_path.display()
        )));
    }

    // A first key of its class needs a new passphrase: ask before the slow generation, so
    // the operator is not prompted after waiting for an RSA key.
    let class = KeyClass::for_role(name);
    let new =
        if store.has_identity(class)? { None } else { Some(passphrases.new_passphrase(class)?) };
    let mut passphrases = AskedFirst { class, new, inner: passphrases };

    let key = spec.generate(progress)?;
    let public = key.public_key();
    let pem = public
        .to_public_pem()
        .map_err(|source| OpsError::Key { path: pub_path.clone(), source })?;

    // The directory is checked first, so a bad --dir stores no key. The public file is
    // written last, atomically and never over another file: a crash before it leaves an
    // unused key in the store, never a public file without its key.
    let io_err = |source| OpsError::Io { path: pub_path.clone(), source };
    if !dir.is_dir() {
        let missing =
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        return Err(OpsError::Io { path: dir.to_path_buf(), source: missing });
    }
    let key_id = store_key(store, &key, name, None, now, &mut passphrases)?;
    if let Err(e) = fsutil::write_new_atomic(&pub_path, pem.as_bytes(), 0o644) {
        let _ = store.remove(key_id.as_str());
        return Err(io_err(e));
    }

    Ok(Generated {
        name: name.to_string(),
        key_id: key_id.to_string(),
        keytype: public.keytype().as_str().to_string(),
        public_key_file: pub_path,
    })
}

/// `airlock key generate NAME --root GUN --dir DIR`: a root key for one custodian of a
/// k-of-n root. The key goes into the store; its root certificate (Notary's template, CN =
/// GUN) goes to `DIR/NAME.crt`, for the coordinator's `airlock init --root-cert`.
pub fn generate_root(
    store: &KeyStore,
    name: &str,
    gun: &Gun,
    dir: &Path,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Generated, OpsError> {
    crate::tuf::RoleName::for_signer(name)?;
    let path = dir.join(format!("{name}.crt"));
    if path.exists() {
        let msg = format!("{} already exists; choose another name or --dir", path.display());
        return Err(OpsError::Usage(msg));
    }
    if !dir.is_dir() {
        let missing =
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        return Err(OpsError::Io { path: dir.to_path_buf(), source: missing });
    }

    let key = SigningKey::generate_p256();
    let certificate = crate::crypto::root_certificate(&key, gun.as_str(), now)?;
    let key_id = store_key(store, &key, "root", Some(gun), now, passphrases)?;
    if let Err(source) = fsutil::write_new_atomic(&path, certificate.public_bytes(), 0o644) {
        let _ = store.remove(key_id.as_str());
        return Err(OpsError::Io { path, source });
    }
    Ok(Generated {
        name: name.to_string(),
        key_id: key_id.to_string(),
        keytype: certificate.keytype().as_str().to_string(),
        public_key_file: path,
    })
}

/// Hands out a new-identity passphrase asked before slow work; everything else goes to the
/// provider it wraps.
struct AskedFirst<'a> {
    class: KeyClass,
    new: Option<SecretString>,
    inner: &'a mut dyn PassphraseProvider,
}

impl PassphraseProvider for AskedFirst<'_> {
    fn existing(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        self.inner.existing(class)
    }

    fn new_passphrase(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        if class == self.class {
            if let Some(passphrase) = self.new.take() {
                return Ok(passphrase);
            }
        }
        self.inner.new_passphrase(class)
    }
}

/// Puts a private key into the store under its canonical ID.
pub fn store_key(
    store: &KeyStore,
    key: &SigningKey,
    role: &str,
    gun: Option<&Gun>,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<KeyId, OpsError> {
    let (key_id, record) = key_record(key, role, gun, now)?;
    store.add(&record, &key.to_pkcs8_der(), passphrases)?;
    Ok(key_id)
}

/// The key store's record of `key`, in the passphrase class that `role` implies.
pub fn key_record(
    key: &SigningKey,
    role: &str,
    gun: Option<&Gun>,
    now: OffsetDateTime,
) -> Result<(KeyId, KeyRecord), OpsError> {
    let public = key.public_key();
    let key_id = public.canonical_id()?;
    let record = KeyRecord {
        key_id: key_id.to_string(),
        role: role.to_string(),
        gun: gun.map(Gun::to_string),
        class: KeyClass::for_role(role),
        keytype: public.keytype().as_str().to_string(),
        public: public.public_b64(),
        created: rfc3339(now),
        shared_with: Vec::new(),
    };
    Ok((key_id, record))
}

/// A private key from the store, signing for a role that lists `listed` (for root keys the
/// certificate, whose TUF ID goes into the signature).
pub struct RoleKey {
    key: SigningKey,
    listed: PublicKey,
}

impl Signer for RoleKey {
    fn key_id(&self) -> String {
        self.listed.id().to_string()
    }

    fn method(&self) -> &'static str {
        self.key.method()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key.sign(msg)
    }
}

/// The private keys this store holds for any of `listed` (the keys a role lists).
pub fn role_keys(
    unlocked: &mut Unlocked,
    listed: &[PublicKey],
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<RoleKey>, OpsError> {
    let mut out = Vec::new();
    for key in listed {
        let canonical = key.canonical_id()?;
        if unlocked.store().get(canonical.as_str())?.is_none() {
            continue;
        }
        let der = unlocked.private_key(canonical.as_str(), passphrases)?;
        let signing = SigningKey::from_pkcs8_der(&der)?;
        out.push(RoleKey { key: signing, listed: key.clone() });
    }
    Ok(out)
}

/// What `key load` stored.
#[derive(Debug, serde::Serialize)]
pub struct Loaded {
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
}

/// `airlock key load FILE [--name NAME]`: a private key file from openssl, notary or docker
/// goes into the key store under the store's own passphrase. The role comes from `--name`
/// (a delegation signer) or from the file's `role:` header, as notary and docker write it;
/// targets and snapshot keys also need the `gun:` header.
pub fn load(
    store: &KeyStore,
    path: &Path,
    name: Option<&str>,
    now: OffsetDateTime,
    file_passphrase: &mut dyn FnMut() -> Result<secrecy::SecretString, OpsError>,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Loaded, OpsError> {
    let text = std::fs::read(path).map_err(|source| OpsError::Io { path: path.into(), source })?;
    let key_err = |source| OpsError::Key { path: path.to_path_buf(), source };
    let passphrase = if crate::crypto::is_encrypted_private_pem(&text) {
        Some(file_passphrase()?)
    } else {
        None
    };
    let loaded = crate::crypto::load_private_pem(&text, passphrase.as_ref()).map_err(key_err)?;

    let header = |key: &str| loaded.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let role = match (name, header("role")) {
        (Some(name), _) => {
            crate::tuf::RoleName::for_signer(name)?;
            name.to_string()
        }
        (None, Some(role)) => loadable_role(&role).map_err(|why| {
            OpsError::Usage(format!("{}: role header {role:?}: {why}", path.display()))
        })?,
        (None, None) => {
            let msg = format!("{}: the file names no role; give --name SIGNER", path.display());
            return Err(OpsError::Usage(msg));
        }
    };
    let gun = match header("gun") {
        Some(g) if matches!(role.as_str(), "targets" | "snapshot") => Some(Gun::parse(&g)?),
        _ => None,
    };
    if matches!(role.as_str(), "targets" | "snapshot") && gun.is_none() {
        let msg = format!("{}: a {role} key file needs a `gun:` header", path.display());
        return Err(OpsError::Usage(msg));
    }

    let key_id = store_key(store, &loaded.key, &role, gun.as_ref(), now, passphrases)?;
    Ok(Loaded { key_id: key_id.to_string(), role, gun: gun.map(|g| g.to_string()) })
}

/// The roles a loaded key may have: root, targets, snapshot, or a signer (`jeff`, or
/// `targets/jeff` as notary names delegation keys).
fn loadable_role(role: &str) -> Result<String, String> {
    if matches!(role, "root" | "targets" | "snapshot") {
        return Ok(role.to_string());
    }
    let name = role.strip_prefix("targets/").unwrap_or(role);
    match crate::tuf::RoleName::for_signer(name) {
        Ok(_) => Ok(name.to_string()),
        Err(e) => Err(format!("{e}; give --name SIGNER")),
    }
}

/// The passphrase of a key file being imported: `AIRLOCK_IMPORT_PASSPHRASE`, else the
/// terminal.
pub fn import_passphrase(path: &Path) -> Result<secrecy::SecretString, OpsError> {
    if let Ok(p) = std::env::var("AIRLOCK_IMPORT_PASSPHRASE") {
        return Ok(secrecy::SecretString::from(p));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let msg = format!(
            "{} is encrypted; set AIRLOCK_IMPORT_PASSPHRASE or run on a terminal",
            path.display()
        );
        return Err(OpsError::Usage(msg));
    }
    let prompt = format!("Enter passphrase for {}: ", path.display());
    let text = rpassword::prompt_password(prompt)
        .map_err(|source| OpsError::Io { path: path.to_path_buf(), source })?;
    Ok(secrecy::SecretString::from(text))
}

/// The shortest key ID prefix `key remove` takes: shorter ones match by accident too easily.
pub const MIN_KEY_ID_PREFIX: usize = 8;

/// A role of a GUN in this home that lists a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyUse {
    pub gun: String,
    pub role: String,
    /// Listed by a staged change rather than by the local head.
    pub pending: bool,
}

impl std::fmt::Display for KeyUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pending = if self.pending { " (pending change)" } else { "" };
        write!(f, "{} {}{pending}", self.gun, self.role)
    }
}

/// A key `key remove` is about to remove, and the roles that still use it.
#[derive(Debug, serde::Serialize)]
pub struct Removal {
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
    pub used_by: Vec<KeyUse>,
}

/// First step of `airlock key remove KEYID`: finds the key (full ID or a unique prefix of at
/// least [`MIN_KEY_ID_PREFIX`] hex digits) and every role in this home that uses it, so the
/// caller can ask before anything is removed.
pub fn plan_remove(home: &Home, store: &KeyStore, id: &str) -> Result<Removal, OpsError> {
    let record = find_key(store, id)?;
    let used_by = key_users(home, &record.key_id)?;
    Ok(Removal { key_id: record.key_id, role: record.role, gun: record.gun, used_by })
}

/// Second step: removes the key. A key still in use is refused unless `allow_in_use`, which
/// the caller sets once the operator has seen the uses and confirmed, or forced.
pub fn remove(store: &KeyStore, removal: &Removal, allow_in_use: bool) -> Result<(), OpsError> {
    if !removal.used_by.is_empty() && !allow_in_use {
        let used_by = removal.used_by.iter().map(ToString::to_string).collect();
        return Err(OpsError::KeyInUse { key_id: removal.key_id.clone(), used_by });
    }
    Ok(store.remove(&removal.key_id)?)
}

/// The store's record for a full key ID or a unique prefix of one.
pub(crate) fn find_key(store: &KeyStore, id: &str) -> Result<KeyRecord, OpsError> {
    let prefix = id.to_ascii_lowercase();
    if prefix.len() < MIN_KEY_ID_PREFIX || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(OpsError::Usage(format!(
            "{id:?} is not a key ID: give the ID `airlock key list` shows, or at least its \
             first {MIN_KEY_ID_PREFIX} hex digits"
        )));
    }

    let mut matches: Vec<KeyRecord> =
        store.list()?.into_iter().filter(|r| r.key_id.starts_with(&prefix)).collect();
    match matches.len() {
        0 => Err(OpsError::Usage(format!(
            "no key in {} has an ID starting with {prefix}; `airlock key list` shows the keys",
            store.dir().display()
        ))),
        1 => Ok(matches.remove(0)),
        _ => {
            let ids: Vec<String> =
                matches.iter().map(|r| format!("{} ({})", r.key_id, r.role)).collect();
            Err(OpsError::Usage(format!(
                "{prefix} is the start of several key IDs: {}; give more of the ID",
                ids.join(", ")
            )))
        }
    }
}

/// Every role of every GUN in this home that lists the key with canonical ID `key_id`: in
/// the head root (any base role), in the delegations of the head targets roles, or in a
/// staged change.
pub fn key_users(home: &Home, key_id: &str) -> Result<Vec<KeyUse>, OpsError> {
    let mut uses = Vec::new();
    for gun in home.guns()? {
        let state = home.require_repo(&gun)?;
        let mut found = |role: &str, pending: bool| {
            uses.push(KeyUse { gun: gun.to_string(), role: role.to_string(), pending });
        };

        for role in head_users(&state, key_id)? {
            found(&role, false);
        }
        for role in pending_users(&state, key_id) {
            found(&role, true);
        }
    }
    Ok(uses)
}

/// The roles of a GUN's local head that list the key.
fn head_users(state: &RepoState, key_id: &str) -> Result<Vec<String>, OpsError> {
    let mut roles = Vec::new();
    if let Some(root) = repo::head_root(state)? {
        for (role, listed) in &root.signed.roles {
            let ids = listed.keyids.as_deref().unwrap_or_default();
            if ids.iter().any(|id| root.signed.keys.get(id).is_some_and(|k| is_key(k, key_id))) {
                roles.push(role.clone());
            }
        }
    }

    let delegating = state.head_roles().into_iter().filter(|r| r.as_str().starts_with("targets"));
    for parent in delegating {
        let Some(bytes) = state.head(parent.as_str()) else { continue };
        let targets = metadata::parse::<Targets>(bytes, parent.as_str())?.signed;
        let keys = targets.delegations.keys.unwrap_or_default();
        for delegated in targets.delegations.roles.unwrap_or_default() {
            let ids = delegated.keyids.unwrap_or_default();
            if ids.iter().any(|id| keys.get(id).is_some_and(|k| is_key(k, key_id))) {
                roles.push(delegated.name.to_string());
            }
        }
    }
    Ok(roles)
}

/// The roles a GUN's staged changes give the key.
fn pending_users(state: &RepoState, key_id: &str) -> Vec<String> {
    let listed = |k: &KeyJson| k.to_key().is_ok_and(|k| is_key(&k, key_id));
    let mut roles = Vec::new();
    for change in &state.pending {
        match change {
            Change::Init { root_certificate, targets_key, .. } => {
                if listed(root_certificate) {
                    roles.push("root".to_string());
                }
                if listed(targets_key) {
                    roles.push("targets".to_string());
                }
            }
            Change::AddKeys { role, keys, .. } | Change::SetRoleKeys { role, keys, .. }
                if keys.iter().any(listed) =>
            {
                roles.push(role.clone());
            }
            Change::AddKeys { .. }
            | Change::RemoveKeys { .. }
            | Change::RemoveRole { .. }
            | Change::SetRoleKeys { .. }
            | Change::Witness { .. } => {}
        }
    }
    roles
}

/// Whether `key` (a certificate or bare key) is the key stored under `key_id`.
fn is_key(key: &PublicKey, key_id: &str) -> bool {
    key.canonical_id().is_ok_and(|id| id.as_str() == key_id)
}
