//! The offline signer's private key store.
//!
//! Private keys are opaque PKCS#8 DER bytes here; the store neither parses nor uses them. Layout
//! under the store directory (directories 0700, files 0600, all written atomically):
//!
//! ```text
//! identities/<class>.age   the class's age X25519 identity, encrypted with the class passphrase
//! identities/<class>.pub   its public recipient, plain text
//! keys/<keyid>.age         a private key, encrypted to its class's recipient
//! keys/<keyid>.json        the key's public record (no secrets)
//! ```
//!
//! Why two layers: age's passphrase encryption runs scrypt, about a second by design. Encrypting
//! every key with the passphrase would make a ceremony over 500 repositories cost 500 seconds.
//! Instead each class ([`KeyClass`]) has one identity: unlocking a class runs scrypt once and
//! every key of the class then decrypts with cheap X25519. Adding a key only needs the public
//! recipient, so it asks for no passphrase once the class identity exists.
//!
//! # Crash safety
//!
//! Every file is replaced atomically, so the only partial states are between files:
//!
//! - New identity: `.age` is written before `.pub`, and only `.pub` means "the identity
//!   exists". A crash in between leaves an `.age` that nothing was encrypted to; the next
//!   `add` creates a fresh identity over it.
//! - `add`: the key file is written before the record, and only a record makes a key exist.
//!   A crash in between leaves a key file without a record; `list` and `get` ignore it, `add`
//!   of the same ID overwrites it and `remove` deletes it.
//! - `remove`: the record goes first, then the key file, which leaves the same harmless
//!   orphan.
//!
//! Concurrent writers are the caller's business: commands that write hold the home's lock.
//!
//! # Scrypt cost
//!
//! `AIRLOCK_SCRYPT_WORK_FACTOR` (log2 of scrypt's N, 10 to 22) sets the cost used when a class
//! identity is *created*. It exists for test suites, which create many stores; real key stores
//! should keep age's default of about one second. Decryption reads the cost from the file.

mod error;
mod passphrase;
mod seal;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use age::x25519;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::fsutil::{self, PRIVATE_FILE_MODE};

pub use error::KeyStoreError;
pub(crate) use passphrase::{secret_from_env, secret_from_terminal, TerminalSecretError};
pub use passphrase::{EnvOrTerminal, FixedPassphrases, PassphraseProvider};
pub(crate) use seal::{open_with_passphrase, seal_with_passphrase};

/// Environment variable setting the scrypt cost of new class identities; for tests only.
pub const WORK_FACTOR_ENV: &str = "AIRLOCK_SCRYPT_WORK_FACTOR";
/// Lowest accepted scrypt work factor (log2 N) for new identities.
pub const MIN_WORK_FACTOR: u8 = 10;
/// Highest accepted scrypt work factor, for new identities and when decrypting (2^22 scrypt
/// needs 4 GiB of memory; more would be a denial of service on a small offline machine).
pub const MAX_WORK_FACTOR: u8 = 22;

const IDENTITIES_DIR: &str = "identities";
const KEYS_DIR: &str = "keys";

/// Which passphrase protects a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyClass {
    /// Root keys.
    Root,
    /// A repository's targets and snapshot keys.
    Targets,
    /// Delegation keys.
    Delegation,
}

impl KeyClass {
    /// All classes, in a stable order.
    pub const ALL: [KeyClass; 3] = [KeyClass::Root, KeyClass::Targets, KeyClass::Delegation];

    /// The class's name, as used in file names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyClass::Root => "root",
            KeyClass::Targets => "targets",
            KeyClass::Delegation => "delegation",
        }
    }

    /// The class protecting a key of `role`: every role other than root, targets and snapshot
    /// is a delegation.
    pub fn for_role(role: &str) -> KeyClass {
        match role {
            "root" => KeyClass::Root,
            "targets" | "snapshot" => KeyClass::Targets,
            _ => KeyClass::Delegation,
        }
    }

    /// The airlock environment variable holding the class passphrase.
    pub fn env_var(self) -> &'static str {
        match self {
            KeyClass::Root => "AIRLOCK_ROOT_PASSPHRASE",
            KeyClass::Targets => "AIRLOCK_TARGETS_PASSPHRASE",
            KeyClass::Delegation => "AIRLOCK_DELEGATION_PASSPHRASE",
        }
    }

    /// Notary's variable for the same passphrase, accepted when the airlock one is unset.
    pub fn legacy_env_var(self) -> &'static str {
        match self {
            KeyClass::Root => "NOTARY_ROOT_PASSPHRASE",
            KeyClass::Targets => "NOTARY_TARGETS_PASSPHRASE",
            KeyClass::Delegation => "NOTARY_DELEGATION_PASSPHRASE",
        }
    }
}

impl fmt::Display for KeyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public record stored next to each private key; holds nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The canonical key ID (64 lowercase hex digits), as computed by the caller.
    pub key_id: String,
    /// The role the key signs for: "root", "targets", "snapshot" or a delegation name.
    pub role: String,
    /// The repository, for keys that belong to one.
    pub gun: Option<String>,
    /// The passphrase class protecting the key.
    pub class: KeyClass,
    /// The key type as Notary names it, e.g. "ecdsa".
    pub keytype: String,
    /// The public key, base64, as the caller encodes it.
    pub public: String,
    /// When the key was stored, RFC 3339.
    pub created: String,
    /// For a key that any class may open (the home's audit key, see
    /// [`KeyStore::add_shared`]): every class it is sealed to. Empty for ordinary keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<KeyClass>,
}

/// The role of the one kind of key the store seals to every class: the home's audit key.
pub const SHARED_ROLE: &str = "audit";

impl KeyRecord {
    /// Whether this key may be sealed to every class ([`KeyStore::add_shared`]): only the
    /// home's audit key, never a key that signs metadata.
    pub fn is_shareable(&self) -> bool {
        self.role == SHARED_ROLE && self.gun.is_none()
    }

    /// A record created now, with the class that `role` implies.
    pub fn new(
        key_id: &str,
        role: &str,
        gun: Option<&str>,
        keytype: &str,
        public: &str,
    ) -> KeyRecord {
        KeyRecord {
            key_id: key_id.to_owned(),
            role: role.to_owned(),
            gun: gun.map(str::to_owned),
            class: KeyClass::for_role(role),
            keytype: keytype.to_owned(),
            public: public.to_owned(),
            created: now_rfc3339(),
            shared_with: Vec::new(),
        }
    }
}

/// Checks that a key ID is 64 lowercase hex digits, which also makes it a safe file name.
pub fn validate_key_id(key_id: &str) -> Result<(), KeyStoreError> {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if key_id.len() == 64 && key_id.bytes().all(hex) {
        Ok(())
    } else {
        Err(KeyStoreError::InvalidKeyId { key_id: key_id.to_owned() })
    }
}

/// An age-encrypted private key store in a directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
    work_factor: Option<u8>,
}

impl KeyStore {
    /// Opens the store in `dir`. Nothing is created until the first key is added, so read-only
    /// commands leave no trace.
    pub fn open(dir: &Path) -> Result<KeyStore, KeyStoreError> {
        match fs::metadata(dir) {
            Ok(meta) if !meta.is_dir() => Err(KeyStoreError::corrupt(dir, "not a directory")),
            Ok(_) => Ok(Self::at(dir, None)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::at(dir, None)),
            Err(e) => Err(KeyStoreError::io("read", dir, e)),
        }
    }

    /// Opens the store with an explicit scrypt cost for new class identities, overriding
    /// `AIRLOCK_SCRYPT_WORK_FACTOR`. For tests, which must not share state through the
    /// environment.
    pub fn with_work_factor(dir: &Path, log_n: u8) -> Result<KeyStore, KeyStoreError> {
        check_work_factor(log_n, || log_n.to_string())?;

        let mut store = Self::open(dir)?;
        store.work_factor = Some(log_n);
        Ok(store)
    }

    fn at(dir: &Path, work_factor: Option<u8>) -> KeyStore {
        KeyStore { dir: dir.to_path_buf(), work_factor }
    }

    /// The scrypt cost (log2 N) this store gives new class identities: the explicit one of
    /// [`Self::with_work_factor`], else `AIRLOCK_SCRYPT_WORK_FACTOR`, else `None` (age's
    /// calibrated default). Paper backups of the store's keys use the same cost.
    pub fn scrypt_work_factor(&self) -> Result<Option<u8>, KeyStoreError> {
        match self.work_factor {
            Some(log_n) => Ok(Some(log_n)),
            None => work_factor_from_env(),
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All keys, sorted by key ID. Key files without a record (left by a crash) are skipped.
    pub fn list(&self) -> Result<Vec<KeyRecord>, KeyStoreError> {
        let keys_dir = self.dir.join(KEYS_DIR);
        let entries = match fs::read_dir(&keys_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(KeyStoreError::io("read", keys_dir, e)),
        };

        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| KeyStoreError::io("read", &keys_dir, e))?;
            let name = entry.file_name();
            let Some(key_id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if validate_key_id(key_id).is_ok() {
                records.extend(self.get(key_id)?);
            }
        }

        records.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Ok(records)
    }

    /// The record of `key_id`, if the store holds that key.
    pub fn get(&self, key_id: &str) -> Result<Option<KeyRecord>, KeyStoreError> {
        validate_key_id(key_id)?;

        let path = self.record_path(key_id);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };

        let record: KeyRecord = serde_json::from_slice(&bytes)
            .map_err(|e| KeyStoreError::corrupt(&path, e.to_string()))?;
        if record.key_id != key_id {
            return Err(KeyStoreError::corrupt(&path, "the record names another key ID"));
        }
        Ok(Some(record))
    }

    /// Whether the class identity exists, i.e. whether adding a key of `class` will ask for an
    /// existing passphrase (when unlocking) rather than a new one.
    pub fn has_identity(&self, class: KeyClass) -> Result<bool, KeyStoreError> {
        Ok(self.read_recipient(class)?.is_some())
    }

    /// Stores a private key and its record. Creates the class identity on the class's first
    /// key, which asks for a new passphrase; otherwise needs no passphrase at all.
    pub fn add(
        &self,
        record: &KeyRecord,
        private_pkcs8_der: &[u8],
        p: &mut dyn PassphraseProvider,
    ) -> Result<(), KeyStoreError> {
        self.add_returning_identity(record, private_pkcs8_der, p).map(|_| ())
    }

    /// Creates the class identity if it does not exist yet (asking for a new passphrase), so a
    /// command that stores keys of several classes can get every passphrase before it stores
    /// anything.
    pub fn ensure_identity(
        &self,
        class: KeyClass,
        p: &mut dyn PassphraseProvider,
    ) -> Result<(), KeyStoreError> {
        if self.read_recipient(class)?.is_none() {
            self.create_identity(class, p)?;
        }
        Ok(())
    }

    /// Removes a key (its record, then its private key file).
    pub fn remove(&self, key_id: &str) -> Result<(), KeyStoreError> {
        validate_key_id(key_id)?;

        let record = self.record_path(key_id);
        let key = self.key_path(key_id);
        if !exists(&record)? && !exists(&key)? {
            return Err(self.not_found(key_id));
        }

        fsutil::remove_file_durable(&record)
            .map_err(|e| KeyStoreError::io("remove", &record, e))?;
        fsutil::remove_file_durable(&key).map_err(|e| KeyStoreError::io("remove", &key, e))
    }

    /// Stores a key; returns the class identity when this call created it, so an [`Unlocked`]
    /// session can keep it instead of asking for the passphrase it was just given.
    fn add_returning_identity(
        &self,
        record: &KeyRecord,
        der: &[u8],
        p: &mut dyn PassphraseProvider,
    ) -> Result<Option<x25519::Identity>, KeyStoreError> {
        check_new_record(record, der)?;
        if self.get(&record.key_id)?.is_some() {
            return Err(KeyStoreError::DuplicateKey { key_id: record.key_id.clone() });
        }

        let (recipient, created) = match self.read_recipient(record.class)? {
            Some(recipient) => (recipient, None),
            None => {
                let identity = self.create_identity(record.class, p)?;
                (identity.to_public(), Some(identity))
            }
        };

        self.write_key(record, der, &[recipient])?;
        Ok(created)
    }

    /// Stores a key that the passphrase of any class can open: sealed to its own class (made
    /// first if needed) and to every other class this store has. For the home's audit key,
    /// which every export needs: an export then pays scrypt only for the classes its signing
    /// keys need, not once more for the audit key.
    pub fn add_shared(
        &self,
        record: &KeyRecord,
        der: &[u8],
        p: &mut dyn PassphraseProvider,
    ) -> Result<(), KeyStoreError> {
        check_new_record(record, der)?;
        if !record.is_shareable() {
            let reason = "only the home's audit key is sealed to every class";
            return Err(KeyStoreError::InvalidRecord { key_id: record.key_id.clone(), reason });
        }
        if self.get(&record.key_id)?.is_some() {
            return Err(KeyStoreError::DuplicateKey { key_id: record.key_id.clone() });
        }
        self.ensure_identity(record.class, p)?;

        let (classes, recipients) = self.all_recipients()?;
        let record = KeyRecord { shared_with: classes, ..record.clone() };
        self.write_key(&record, der, &recipients)
    }

    /// Seals a shared key again when classes were made since it was sealed (or it was stored
    /// before keys were shared), so every class this store has now can open it.
    fn reseal_shared(&self, record: &KeyRecord, der: &[u8]) -> Result<(), KeyStoreError> {
        let (classes, recipients) = self.all_recipients()?;
        if classes == record.shared_with {
            return Ok(());
        }
        let record = KeyRecord { shared_with: classes, ..record.clone() };
        self.write_key(&record, der, &recipients)
    }

    /// Every class that has an identity, with its recipient.
    fn all_recipients(&self) -> Result<(Vec<KeyClass>, Vec<x25519::Recipient>), KeyStoreError> {
        let (mut classes, mut recipients) = (Vec::new(), Vec::new());
        for class in KeyClass::ALL {
            if let Some(recipient) = self.read_recipient(class)? {
                classes.push(class);
                recipients.push(recipient);
            }
        }
        Ok((classes, recipients))
    }

    /// Writes the key file, sealed to `recipients`, then the record that makes the key
    /// visible.
    fn write_key(
        &self,
        record: &KeyRecord,
        der: &[u8],
        recipients: &[x25519::Recipient],
    ) -> Result<(), KeyStoreError> {
        let keys_dir = self.dir.join(KEYS_DIR);
        fsutil::create_private_dir(&keys_dir)
            .map_err(|e| KeyStoreError::io("create", &keys_dir, e))?;

        let key_path = self.key_path(&record.key_id);
        let sealed = seal::seal_to_recipients(recipients, der, &key_path)?;
        write_private(&key_path, &sealed)?;

        let record_path = self.record_path(&record.key_id);
        let mut json = serde_json::to_vec_pretty(record)
            .map_err(|e| KeyStoreError::corrupt(&record_path, e.to_string()))?;
        json.push(b'\n');
        write_private(&record_path, &json)
    }

    /// Creates a class identity sealed with a new passphrase: `.age` first, `.pub` last.
    fn create_identity(
        &self,
        class: KeyClass,
        p: &mut dyn PassphraseProvider,
    ) -> Result<x25519::Identity, KeyStoreError> {
        let work_factor = self.scrypt_work_factor()?;
        let passphrase = p.new_passphrase(class)?;

        let dir = self.dir.join(IDENTITIES_DIR);
        fsutil::create_private_dir(&dir).map_err(|e| KeyStoreError::io("create", &dir, e))?;

        let identity = x25519::Identity::generate();
        let (age_path, pub_path) = self.identity_paths(class);
        let sealed = seal::seal_identity(&identity, passphrase, work_factor, &age_path)?;
        write_private(&age_path, &sealed)?;

        let public = format!("{}\n", identity.to_public());
        write_private(&pub_path, public.as_bytes())?;
        Ok(identity)
    }

    /// The class's public recipient, or `None` before the class's first key. Also checks that
    /// the sealed identity is there, so a key is never encrypted to an identity that is gone.
    fn read_recipient(&self, class: KeyClass) -> Result<Option<x25519::Recipient>, KeyStoreError> {
        let (age_path, pub_path) = self.identity_paths(class);
        let Some(bytes) = read_optional(&pub_path)? else {
            return Ok(None);
        };

        if !exists(&age_path)? {
            return Err(KeyStoreError::corrupt(
                &age_path,
                format!("missing, while {} exists", pub_path.display()),
            ));
        }

        let text = std::str::from_utf8(&bytes)
            .map_err(|_| KeyStoreError::corrupt(&pub_path, "not UTF-8 text"))?;
        seal::parse_recipient(text, &pub_path).map(Some)
    }

    /// Decrypts the class identity with a passphrase from `p`: the one scrypt of the class.
    fn unlock_identity(
        &self,
        class: KeyClass,
        p: &mut dyn PassphraseProvider,
    ) -> Result<x25519::Identity, KeyStoreError> {
        let Some(recipient) = self.read_recipient(class)? else {
            return Err(KeyStoreError::NoIdentity { class, dir: self.dir.clone() });
        };
        let (age_path, pub_path) = self.identity_paths(class);
        let sealed = fs::read(&age_path).map_err(|e| KeyStoreError::io("read", &age_path, e))?;

        let passphrase = p.existing(class)?;
        let identity = seal::open_identity(class, &sealed, passphrase, &age_path)?;

        if identity.to_public().to_string() != recipient.to_string() {
            return Err(KeyStoreError::IdentityMismatch { class, age: age_path, public: pub_path });
        }
        Ok(identity)
    }

    /// Decrypts one private key with its unlocked class identity.
    fn open_key(
        &self,
        record: &KeyRecord,
        identity: &x25519::Identity,
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let (path, sealed) = self.sealed_key(&record.key_id)?;
        seal::open_key(record.class, identity, &sealed, &path)
    }

    /// The record of `key_id`, which must be stored.
    fn require(&self, key_id: &str) -> Result<KeyRecord, KeyStoreError> {
        self.get(key_id)?.ok_or_else(|| self.not_found(key_id))
    }

    /// The sealed key file of `key_id`, with its path.
    fn sealed_key(&self, key_id: &str) -> Result<(PathBuf, Vec<u8>), KeyStoreError> {
        let path = self.key_path(key_id);
        match read_optional(&path)? {
            Some(sealed) => Ok((path, sealed)),
            None => Err(KeyStoreError::KeyFileMissing { key_id: key_id.to_owned(), path }),
        }
    }

    fn identity_paths(&self, class: KeyClass) -> (PathBuf, PathBuf) {
        let dir = self.dir.join(IDENTITIES_DIR);
        let age = dir.join(format!("{class}.age"));
        let public = dir.join(format!("{class}.pub"));
        (age, public)
    }

    fn key_path(&self, key_id: &str) -> PathBuf {
        self.dir.join(KEYS_DIR).join(format!("{key_id}.age"))
    }

    fn record_path(&self, key_id: &str) -> PathBuf {
        self.dir.join(KEYS_DIR).join(format!("{key_id}.json"))
    }

    fn not_found(&self, key_id: &str) -> KeyStoreError {
        KeyStoreError::KeyNotFound { key_id: key_id.to_owned(), dir: self.dir.clone() }
    }
}

/// A command's session with the store: each class identity is decrypted at most once and kept
/// for the session's lifetime, so a ceremony signing with many keys of a class asks for the
/// passphrase once and pays scrypt once.
pub struct Unlocked<'a> {
    store: &'a KeyStore,
    identities: HashMap<KeyClass, x25519::Identity>,
}

impl<'a> Unlocked<'a> {
    /// A session with nothing unlocked yet.
    pub fn new(store: &'a KeyStore) -> Self {
        Unlocked { store, identities: HashMap::new() }
    }

    /// Unlocks `class` now, so a command can ask for its passphrases before starting long
    /// work rather than in the middle of it. Does nothing if the class is already unlocked.
    pub fn unlock(
        &mut self,
        class: KeyClass,
        p: &mut dyn PassphraseProvider,
    ) -> Result<(), KeyStoreError> {
        self.identity(class, p).map(|_| ())
    }

    /// The store this session reads.
    pub fn store(&self) -> &'a KeyStore {
        self.store
    }

    /// Whether `class` is unlocked in this session.
    pub fn is_unlocked(&self, class: KeyClass) -> bool {
        self.identities.contains_key(&class)
    }

    /// The first class unlocked in this session, in [`KeyClass::ALL`]'s order.
    pub fn first_unlocked(&self) -> Option<KeyClass> {
        KeyClass::ALL.into_iter().find(|class| self.is_unlocked(*class))
    }

    /// The private key `key_id` as PKCS#8 DER, unlocking its class first if needed.
    pub fn private_key(
        &mut self,
        key_id: &str,
        p: &mut dyn PassphraseProvider,
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let store = self.store;
        let record = store.require(key_id)?;

        let identity = self.identity(record.class, p)?;
        store.open_key(&record, identity)
    }

    /// A key stored with [`KeyStore::add_shared`], opened with any class already unlocked in
    /// this session; only when none of them can open it is its own class unlocked. A key not
    /// yet sealed to every class the store has now is sealed again, so the next session can
    /// open it with any of them. Any other key is opened as [`Unlocked::private_key`] does:
    /// a record naming another key never gets that key shared.
    pub fn shared_private_key(
        &mut self,
        key_id: &str,
        p: &mut dyn PassphraseProvider,
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        let store = self.store;
        let record = store.require(key_id)?;
        if !record.is_shareable() {
            return self.private_key(key_id, p);
        }
        let (path, sealed) = store.sealed_key(key_id)?;
        let der = match seal::open_key_with_any(self.identities.values(), &sealed, &path)? {
            Some(der) => der,
            None => {
                let identity = self.identity(record.class, p)?;
                seal::open_key(record.class, identity, &sealed, &path)?
            }
        };
        store.reseal_shared(&record, &der)?;
        Ok(der)
    }

    /// Like [`KeyStore::add`]; a class identity created by the call stays unlocked, so the
    /// same command can use the new key without asking for the passphrase again.
    pub fn add(
        &mut self,
        record: &KeyRecord,
        private_pkcs8_der: &[u8],
        p: &mut dyn PassphraseProvider,
    ) -> Result<(), KeyStoreError> {
        let created = self.store.add_returning_identity(record, private_pkcs8_der, p)?;

        if let Some(identity) = created {
            self.identities.insert(record.class, identity);
        }
        Ok(())
    }

    fn identity(
        &mut self,
        class: KeyClass,
        p: &mut dyn PassphraseProvider,
    ) -> Result<&x25519::Identity, KeyStoreError> {
        match self.identities.entry(class) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let identity = self.store.unlock_identity(class, p)?;
                Ok(entry.insert(identity))
            }
        }
    }
}

/// Shows the store and which classes are unlocked, never the identities.
impl fmt::Debug for Unlocked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut unlocked: Vec<KeyClass> = self.identities.keys().copied().collect();
        unlocked.sort();
        f.debug_struct("Unlocked")
            .field("store", &self.store.dir)
            .field("unlocked", &unlocked)
            .finish()
    }
}

/// Rejects records the store could not serve back correctly.
fn check_new_record(record: &KeyRecord, der: &[u8]) -> Result<(), KeyStoreError> {
    validate_key_id(&record.key_id)?;

    let reason = if record.role.is_empty() {
        Some("the role is empty")
    } else if der.is_empty() {
        Some("the private key is empty")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(KeyStoreError::InvalidRecord { key_id: record.key_id.clone(), reason }),
        None => Ok(()),
    }
}

/// Reads `AIRLOCK_SCRYPT_WORK_FACTOR`; unset means age's calibrated default.
fn work_factor_from_env() -> Result<Option<u8>, KeyStoreError> {
    let Some(value) = std::env::var_os(WORK_FACTOR_ENV) else {
        return Ok(None);
    };

    let text = value.to_string_lossy().into_owned();
    let log_n = text
        .trim()
        .parse::<u8>()
        .map_err(|_| KeyStoreError::InvalidWorkFactor { value: text.clone() })?;
    check_work_factor(log_n, || text.clone())?;
    Ok(Some(log_n))
}

fn check_work_factor(log_n: u8, value: impl FnOnce() -> String) -> Result<(), KeyStoreError> {
    if (MIN_WORK_FACTOR..=MAX_WORK_FACTOR).contains(&log_n) {
        Ok(())
    } else {
        Err(KeyStoreError::InvalidWorkFactor { value: value() })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    fsutil::write_atomic(path, bytes, PRIVATE_FILE_MODE)
        .map_err(|e| KeyStoreError::io("write", path, e))
}

/// Reads a file that may legitimately be absent.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, KeyStoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyStoreError::io("read", path, e)),
    }
}

fn exists(path: &Path) -> Result<bool, KeyStoreError> {
    path.try_exists().map_err(|e| KeyStoreError::io("check", path, e))
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    // Formatting a UTC time as RFC 3339 only fails for years outside 0..=9999.
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests;
