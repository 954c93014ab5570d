//! Shared fixtures for integration tests: a complete, valid, fresh Notary repository made with
//! airlock's own library (keys, root certificate, every role signed with `tuf::sign`), bundles
//! written with `bundle::write` or crafted entry by entry, and homes to import them into.
//!
//! Everything is parametric (`Spec`), so a test can make "valid signatures, one rule broken"
//! repositories: lower versions, expired roles, other keys, extra fields, changed bytes that are
//! still hashed consistently by snapshot and timestamp.
#![allow(dead_code)]

pub mod cases;
pub mod offline;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::rc::Rc;

use airlock::bundle::{self, BundleContents, BundleKind, RepoFiles};
use airlock::crypto::{self, CryptoError, KeyId, PublicKey, SigningKey};
use airlock::tuf::metadata::{
    self, Common, DelegatedRole, Delegations, FileMeta, RoleKeys, RoleType, Root, Signature,
    Snapshot, Targets, Timestamp,
};
use airlock::tuf::sign::{self, Signer};
use airlock::tuf::{GoTime, Gun, RoleName};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256, Sha512};
use tar::{EntryType, Header};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The GUN of the test repositories.
pub const GUN: &str = "example.com/team/app";

/// The delegation every test repository has.
pub const RELEASES: &str = "targets/releases";

// ---------------------------------------------------------------------------------------------
// Keys and signing

/// A root key with its Notary root certificate (the `ecdsa-x509` key root.json lists).
pub struct RootKey {
    pub key: SigningKey,
    pub cert: PublicKey,
}

impl RootKey {
    /// A new P-256 key with a certificate for `gun` valid from `not_before` for 3650 days.
    pub fn new(gun: &str, not_before: OffsetDateTime) -> Rc<RootKey> {
        let key = SigningKey::generate_p256();
        let cert = crypto::root_certificate(&key, gun, not_before).unwrap();
        Rc::new(RootKey { key, cert })
    }

    /// The TUF ID root.json lists and signatures carry: the certificate's.
    pub fn id(&self) -> KeyId {
        self.cert.id()
    }

    pub fn signer(&self) -> KeySigner<'_> {
        KeySigner { key: &self.key, id: self.id().to_string() }
    }
}

/// `tuf::sign::Signer` over a software key, signing as the key ID the role lists.
pub struct KeySigner<'a> {
    pub key: &'a SigningKey,
    pub id: String,
}

impl<'a> KeySigner<'a> {
    /// Signs as the bare key's own TUF ID.
    pub fn bare(key: &'a SigningKey) -> KeySigner<'a> {
        KeySigner { key, id: key.public_key().id().to_string() }
    }
}

impl Signer for KeySigner<'_> {
    fn key_id(&self) -> String {
        self.id.clone()
    }

    fn method(&self) -> &'static str {
        self.key.method()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key.sign(msg)
    }
}

/// A server key file as `GET /v2/<gun>/_trust/tuf/<role>.key` returns it (Go's stdlib field
/// order: keytype, keyval{public, private}).
pub fn server_key_json(key: &PublicKey) -> Vec<u8> {
    format!(
        r#"{{"keytype":"{}","keyval":{{"public":"{}","private":null}}}}"#,
        key.keytype(),
        key.public_b64()
    )
    .into_bytes()
}

/// `now` truncated to the second, so that builds made from the same spec are byte-identical.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Repository specification

/// Per-role hooks applied to the typed content before signing.
pub type Tweak<T> = Option<Rc<dyn Fn(&mut T)>>;

/// A change to a role's signed file bytes: `(role, bytes)`.
pub type BytesHook = Option<Rc<dyn Fn(&str, &mut Vec<u8>)>>;

/// Everything that decides a repository's bytes. Building the same spec twice gives the same
/// bytes (ECDSA signatures are deterministic, RFC 6979).
#[derive(Clone)]
pub struct Spec {
    pub gun: String,
    /// Root keys listed in root.json's root role.
    pub root_keys: Vec<Rc<RootKey>>,
    /// Root keys that sign root.json (for a rotation: the old and the new).
    pub root_signers: Vec<Rc<RootKey>>,
    pub root_threshold: i64,
    pub targets_key: Rc<SigningKey>,
    pub snapshot_key: Rc<SigningKey>,
    pub timestamp_key: Rc<SigningKey>,
    pub releases_key: Rc<SigningKey>,
    /// Signs the timestamp instead of `timestamp_key` (it is still the listed one).
    pub timestamp_signer: Option<Rc<SigningKey>>,
    pub targets_threshold: i64,

    pub root_version: i64,
    pub targets_version: i64,
    pub snapshot_version: i64,
    pub timestamp_version: i64,
    pub releases_version: i64,

    pub root_expires: OffsetDateTime,
    pub targets_expires: OffsetDateTime,
    pub snapshot_expires: OffsetDateTime,
    pub timestamp_expires: OffsetDateTime,
    pub releases_expires: OffsetDateTime,

    /// Target name -> content, for targets.json and targets/releases.
    pub targets_files: Vec<(String, Vec<u8>)>,
    pub releases_files: Vec<(String, Vec<u8>)>,

    /// Earlier root versions to carry in `metadata/history/` (same content, other version).
    pub history: Vec<i64>,

    pub tweak_root: Tweak<Root>,
    pub tweak_targets: Tweak<Targets>,
    pub tweak_releases: Tweak<Targets>,
    pub tweak_snapshot: Tweak<Snapshot>,
    pub tweak_timestamp: Tweak<Timestamp>,
    /// Applied to a role's signed file bytes before snapshot and timestamp hash them, so the
    /// change gets past the hash checks: `(role, bytes)`.
    pub bytes_hook: BytesHook,
    /// Roles whose first signature gets one bit flipped (after signing, before hashing).
    pub corrupt_sig: Vec<&'static str>,
    /// Replaces the server key files (role -> bytes); `None`: the listed keys.
    pub server_keys: Option<BTreeMap<String, Vec<u8>>>,
}

/// The keys and clock of one test run, and the specs made from them.
pub struct Fixture {
    pub now: OffsetDateTime,
    pub root: Rc<RootKey>,
    pub targets: Rc<SigningKey>,
    pub snapshot: Rc<SigningKey>,
    pub timestamp: Rc<SigningKey>,
    pub releases: Rc<SigningKey>,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let now = now();
        Fixture {
            now,
            root: RootKey::new(GUN, now - Duration::hours(1)),
            targets: Rc::new(SigningKey::generate_p256()),
            snapshot: Rc::new(SigningKey::generate_p256()),
            timestamp: Rc::new(SigningKey::generate_p256()),
            releases: Rc::new(SigningKey::generate_p256()),
        }
    }

    /// A fresh repository, every role version 1, expiring in a year.
    pub fn spec(&self) -> Spec {
        let year = self.now + Duration::days(365);
        Spec {
            gun: GUN.to_string(),
            root_keys: vec![self.root.clone()],
            root_signers: vec![self.root.clone()],
            root_threshold: 1,
            targets_key: self.targets.clone(),
            snapshot_key: self.snapshot.clone(),
            timestamp_key: self.timestamp.clone(),
            releases_key: self.releases.clone(),
            timestamp_signer: None,
            targets_threshold: 1,
            root_version: 1,
            targets_version: 1,
            snapshot_version: 1,
            timestamp_version: 1,
            releases_version: 1,
            root_expires: year,
            targets_expires: year,
            snapshot_expires: year,
            timestamp_expires: year,
            releases_expires: year,
            targets_files: vec![
                ("latest".to_string(), b"latest image manifest".to_vec()),
                ("v1.0".to_string(), b"v1.0 image manifest".to_vec()),
            ],
            releases_files: vec![("v1.1".to_string(), b"v1.1 image manifest".to_vec())],
            history: Vec::new(),
            tweak_root: None,
            tweak_targets: None,
            tweak_releases: None,
            tweak_snapshot: None,
            tweak_timestamp: None,
            bytes_hook: None,
            corrupt_sig: Vec::new(),
            server_keys: None,
        }
    }

    /// The state a home trusts in the hostile tests: root version 2 (with version 1 in the
    /// history), every other role version 2.
    pub fn trusted(&self) -> Spec {
        let mut s = self.spec();
        s.root_version = 2;
        s.history = vec![1];
        s.set_versions(2, 2, 2, 2);
        s
    }

    /// The next valid pull after [`Fixture::trusted`]: the same root, every other role
    /// version 3. Every hostile bundle is one mutation of this (or of a variant).
    pub fn update(&self) -> Spec {
        let mut s = self.trusted();
        s.set_versions(3, 3, 3, 3);
        s
    }
}

impl Spec {
    /// Sets timestamp, snapshot, targets and targets/releases versions.
    pub fn set_versions(&mut self, timestamp: i64, snapshot: i64, targets: i64, releases: i64) {
        self.timestamp_version = timestamp;
        self.snapshot_version = snapshot;
        self.targets_version = targets;
        self.releases_version = releases;
    }

    /// The typed root.json content of version `version`.
    pub fn root_content(&self, version: i64) -> Root {
        let mut keys = BTreeMap::new();
        for rk in &self.root_keys {
            keys.insert(rk.id(), rk.cert.clone());
        }
        let mut id_of = |k: &SigningKey| {
            let public = k.public_key();
            let id = public.id();
            keys.insert(id.clone(), public);
            id
        };
        let targets_id = id_of(&self.targets_key);
        let snapshot_id = id_of(&self.snapshot_key);
        let timestamp_id = id_of(&self.timestamp_key);

        let role = |ids: Vec<KeyId>, threshold| RoleKeys { keyids: Some(ids), threshold };
        let mut roles = BTreeMap::new();
        let root_ids = self.root_keys.iter().map(|k| k.id()).collect();
        roles.insert("root".to_string(), role(root_ids, self.root_threshold));
        roles.insert("targets".to_string(), role(vec![targets_id], self.targets_threshold));
        roles.insert("snapshot".to_string(), role(vec![snapshot_id], 1));
        roles.insert("timestamp".to_string(), role(vec![timestamp_id], 1));

        let mut root = Root {
            common: common(version, self.root_expires),
            consistent_snapshot: false,
            keys,
            roles,
        };
        if let Some(t) = &self.tweak_root {
            t(&mut root);
        }
        root
    }

    pub fn targets_content(&self) -> Targets {
        let key = self.releases_key.public_key();
        let id = key.id();
        let delegations = Delegations {
            keys: Some(BTreeMap::from([(id.clone(), key)])),
            roles: Some(vec![DelegatedRole {
                name: RoleName::parse(RELEASES).unwrap(),
                keyids: Some(vec![id]),
                paths: vec![String::new()],
                threshold: 1,
            }]),
        };
        let mut targets = Targets {
            common: common(self.targets_version, self.targets_expires),
            targets: target_map(&self.targets_files),
            delegations,
        };
        if let Some(t) = &self.tweak_targets {
            t(&mut targets);
        }
        targets
    }

    pub fn releases_content(&self) -> Targets {
        let mut releases = Targets {
            common: common(self.releases_version, self.releases_expires),
            targets: target_map(&self.releases_files),
            delegations: Delegations::empty(),
        };
        if let Some(t) = &self.tweak_releases {
            t(&mut releases);
        }
        releases
    }

    /// Signs a role, then applies `corrupt_sig` and `bytes_hook`.
    fn sign_role<T: RoleType>(&self, content: T, signers: &[&dyn Signer], role: &str) -> Vec<u8> {
        let signed = sign::sign(content, signers, role).unwrap();
        let mut bytes = if self.corrupt_sig.contains(&role) {
            let mut sigs: Vec<Signature> = signed.signatures.clone();
            sigs[0].sig[10] ^= 0x01;
            metadata::envelope(signed.canonical(), &sigs)
        } else {
            signed.into_bytes()
        };
        if let Some(hook) = &self.bytes_hook {
            hook(role, &mut bytes);
        }
        bytes
    }

    fn root_bytes(&self, version: i64) -> Vec<u8> {
        let signers: Vec<KeySigner> = self.root_signers.iter().map(|k| k.signer()).collect();
        let dyns: Vec<&dyn Signer> = signers.iter().map(|s| s as &dyn Signer).collect();
        self.sign_role(self.root_content(version), &dyns, "root")
    }

    /// Builds every file.
    pub fn build(&self) -> Repo {
        let mut metadata = BTreeMap::new();

        metadata.insert("root".to_string(), self.root_bytes(self.root_version));
        let targets_signer = KeySigner::bare(&self.targets_key);
        metadata.insert(
            "targets".to_string(),
            self.sign_role(self.targets_content(), &[&targets_signer], "targets"),
        );
        let releases_signer = KeySigner::bare(&self.releases_key);
        metadata.insert(
            RELEASES.to_string(),
            self.sign_role(self.releases_content(), &[&releases_signer], RELEASES),
        );

        let mut meta = BTreeMap::new();
        for (role, bytes) in &metadata {
            meta.insert(role.clone(), file_meta(bytes));
        }
        let mut snapshot =
            Snapshot { common: common(self.snapshot_version, self.snapshot_expires), meta };
        if let Some(t) = &self.tweak_snapshot {
            t(&mut snapshot);
        }
        let snapshot_signer = KeySigner::bare(&self.snapshot_key);
        let snapshot_bytes = self.sign_role(snapshot, &[&snapshot_signer], "snapshot");

        let meta = BTreeMap::from([("snapshot".to_string(), file_meta(&snapshot_bytes))]);
        let mut timestamp =
            Timestamp { common: common(self.timestamp_version, self.timestamp_expires), meta };
        if let Some(t) = &self.tweak_timestamp {
            t(&mut timestamp);
        }
        let listed = KeySigner::bare(&self.timestamp_key);
        let other;
        let ts_signer = match &self.timestamp_signer {
            Some(key) => {
                // a signature by another key, claiming the listed key's ID
                other = KeySigner { key, id: listed.id.clone() };
                &other
            }
            None => &listed,
        };
        let timestamp_bytes = self.sign_role(timestamp, &[ts_signer], "timestamp");

        metadata.insert("snapshot".to_string(), snapshot_bytes);
        metadata.insert("timestamp".to_string(), timestamp_bytes);

        let history = self.history.iter().map(|&v| (v as u64, self.root_bytes(v))).collect();
        let server_keys = self.server_keys.clone().unwrap_or_else(|| {
            BTreeMap::from([
                ("snapshot".to_string(), server_key_json(&self.snapshot_key.public_key())),
                ("timestamp".to_string(), server_key_json(&self.timestamp_key.public_key())),
            ])
        });
        Repo { gun: self.gun.clone(), new: false, metadata, history, server_keys }
    }
}

fn common(version: i64, expires: OffsetDateTime) -> Common {
    Common { version, expires: GoTime::from_offset_date_time(expires) }
}

/// `length` and `hashes` (sha256 and sha512) of exact bytes.
pub fn file_meta(bytes: &[u8]) -> FileMeta {
    let hashes = airlock::tuf::metadata::Hashes::from([
        ("sha256".to_string(), Sha256::digest(bytes).to_vec()),
        ("sha512".to_string(), Sha512::digest(bytes).to_vec()),
    ]);
    FileMeta { length: bytes.len() as i64, hashes, custom: None }
}

fn target_map(files: &[(String, Vec<u8>)]) -> BTreeMap<String, FileMeta> {
    files.iter().map(|(name, content)| (name.clone(), file_meta(content))).collect()
}

/// Replaces the first `from` in `bytes` with `to`; panics if it is absent (so a mutation
/// can never silently do nothing).
pub fn replace_once(bytes: &mut Vec<u8>, from: &[u8], to: &[u8]) {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(from)));
    bytes.splice(at..at + from.len(), to.iter().copied());
}

// ---------------------------------------------------------------------------------------------
// Repositories and bundles

/// The files of one GUN, by role name.
#[derive(Clone, Debug)]
pub struct Repo {
    pub gun: String,
    pub new: bool,
    pub metadata: BTreeMap<String, Vec<u8>>,
    pub history: BTreeMap<u64, Vec<u8>>,
    pub server_keys: BTreeMap<String, Vec<u8>>,
}

impl Repo {
    pub fn to_repo_files(&self) -> RepoFiles {
        let mut files = RepoFiles::new(Gun::parse(&self.gun).unwrap(), self.new);
        for (role, bytes) in &self.metadata {
            files.metadata.insert(RoleName::parse(role).unwrap(), bytes.clone());
        }
        files.root_history = self.history.clone();
        for (role, bytes) in &self.server_keys {
            files.server_keys.insert(RoleName::parse(role).unwrap(), bytes.clone());
        }
        files
    }

    /// Every file with its entry path, sorted by path (the manifest order).
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        let base = format!("repos/{}", self.gun);
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        for (role, bytes) in &self.metadata {
            out.push((format!("{base}/metadata/{role}.json"), bytes.clone()));
        }
        for (v, bytes) in &self.history {
            out.push((format!("{base}/metadata/history/{v}.root.json"), bytes.clone()));
        }
        for (role, bytes) in &self.server_keys {
            out.push((format!("{base}/server-keys/{role}.json"), bytes.clone()));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The entry path of a role's metadata.
    pub fn path_of(&self, role: &str) -> String {
        format!("repos/{}/metadata/{role}.json", self.gun)
    }
}

/// Writes a pull bundle of `repos` with airlock's own writer.
pub fn write_bundle(path: &Path, repos: &[&Repo]) {
    let contents = BundleContents {
        kind: BundleKind::Pull,
        created: OffsetDateTime::now_utc(),
        answers: None,
        repos: repos.iter().map(|r| r.to_repo_files()).collect(),
        audit: None,
    };
    bundle::write(path, &contents).unwrap();
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One tar entry of a crafted bundle.
#[derive(Clone, Debug)]
pub struct RawEntry {
    /// The header's name field, verbatim (at most 100 bytes).
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub data: Vec<u8>,
    /// The header's size field when it must differ from `data.len()`.
    pub size: Option<u64>,
    pub link_name: Option<Vec<u8>>,
}

impl RawEntry {
    pub fn file(name: &str, data: &[u8]) -> RawEntry {
        RawEntry {
            name: name.as_bytes().to_vec(),
            kind: EntryType::Regular,
            data: data.to_vec(),
            size: None,
            link_name: None,
        }
    }

    pub fn header(&self) -> Header {
        let mut header = Header::new_gnu();
        header.as_old_mut().name[..self.name.len()].copy_from_slice(&self.name);
        if let Some(link) = &self.link_name {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        }
        header.set_entry_type(self.kind);
        header.set_size(self.size.unwrap_or(self.data.len() as u64));
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        header
    }

    /// Header, data, padding to a whole block.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.header().as_bytes());
        out.extend_from_slice(&self.data);
        out.resize(out.len() + (512 - self.data.len() % 512) % 512, 0);
    }
}

/// A bundle built entry by entry, to break exactly one rule of the format.
#[derive(Clone, Debug)]
pub struct RawBundle {
    /// The manifest as JSON; serialized pretty with a final newline unless `manifest_bytes`.
    pub manifest: serde_json::Value,
    /// Exact manifest bytes, instead of serializing `manifest`.
    pub manifest_bytes: Option<Vec<u8>>,
    /// Every entry after the manifest, in archive order.
    pub entries: Vec<RawEntry>,
    /// Where the manifest goes among the entries (0: first).
    pub manifest_index: usize,
    /// Write the end-of-archive marker (two zero blocks).
    pub end_marker: bool,
    /// Bytes after the end-of-archive marker, inside the zstd frame.
    pub after_archive: Vec<u8>,
    /// Bytes after the zstd frame.
    pub after_frame: Vec<u8>,
}

impl RawBundle {
    /// The same bundle airlock's writer would make for `repos`, as parts.
    pub fn from_repos(repos: &[&Repo]) -> RawBundle {
        let mut entries = Vec::new();
        for repo in repos {
            for (path, data) in repo.entries() {
                entries.push(RawEntry::file(&path, &data));
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let guns: Vec<serde_json::Value> =
            repos.iter().map(|r| serde_json::json!({"gun": r.gun, "new": r.new})).collect();
        let created = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let mut raw = RawBundle {
            manifest: serde_json::json!({
                "format": "airlock-bundle",
                "format_version": 1,
                "kind": "pull",
                "created": created.format(&Rfc3339).unwrap(),
                "tool": "airlock test",
                "guns": guns,
                "answers": null,
                "entries": [],
            }),
            manifest_bytes: None,
            entries,
            manifest_index: 0,
            end_marker: true,
            after_archive: Vec::new(),
            after_frame: Vec::new(),
        };
        raw.relist();
        raw
    }

    /// Lists every regular entry in the manifest with its real digest and length, sorted.
    pub fn relist(&mut self) {
        let mut listed: Vec<serde_json::Value> = Vec::new();
        let mut regular: Vec<&RawEntry> =
            self.entries.iter().filter(|e| e.kind == EntryType::Regular).collect();
        regular.sort_by(|a, b| a.name.cmp(&b.name));
        regular.dedup_by(|a, b| a.name == b.name);
        for e in regular {
            listed.push(serde_json::json!({
                "path": String::from_utf8_lossy(&e.name),
                "sha256": sha256_hex(&e.data),
                "length": e.data.len(),
            }));
        }
        self.manifest["entries"] = serde_json::Value::Array(listed);
    }

    /// The index of the entry with this path.
    pub fn find(&self, path: &str) -> usize {
        self.entries
            .iter()
            .position(|e| e.name == path.as_bytes())
            .unwrap_or_else(|| panic!("no entry {path}"))
    }

    pub fn manifest_bytes(&self) -> Vec<u8> {
        self.manifest_bytes.clone().unwrap_or_else(|| {
            let mut bytes = serde_json::to_vec_pretty(&self.manifest).unwrap();
            bytes.push(b'\n');
            bytes
        })
    }

    /// The uncompressed tar stream.
    pub fn tar(&self) -> Vec<u8> {
        let manifest = RawEntry::file("manifest.json", &self.manifest_bytes());
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if i == self.manifest_index {
                manifest.write_to(&mut out);
            }
            e.write_to(&mut out);
        }
        if self.manifest_index >= self.entries.len() {
            manifest.write_to(&mut out);
        }
        if self.end_marker {
            out.extend_from_slice(&[0u8; 1024]);
        }
        out.extend_from_slice(&self.after_archive);
        out
    }

    /// The bundle file bytes: one zstd frame, then `after_frame`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = zstd_frame(&self.tar());
        out.extend_from_slice(&self.after_frame);
        out
    }

    pub fn write(&self, path: &Path) {
        fs::write(path, self.to_bytes()).unwrap();
    }
}

/// One zstd frame (level 3, with checksum), as airlock writes.
pub fn zstd_frame(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_checksum(true).unwrap();
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Running the binary and comparing homes

/// Runs the real `airlock` binary with `--home home` and the given arguments.
pub fn airlock(home: &Path, args: &[&str]) -> Output {
    airlock_with(home, args, &[])
}

/// [`airlock`] with more environment variables set.
pub fn airlock_with(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("AIRLOCK_HOME")
        .env("AIRLOCK_SCRYPT_WORK_FACTOR", "12")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// `airlock import bundle [extra...]`.
pub fn import(home: &Path, bundle: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", bundle.to_str().unwrap()];
    args.extend_from_slice(extra);
    airlock(home, &args)
}

/// Every file and directory under `dir` (except the top-level `lock`), relative path ->
/// sha256 of the content (`dir` for directories, `symlink -> target` for links).
pub fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            // The lock changes with every command, and the audit log records failures too
            // (by design: issue 6); everything else must stay as it was.
            if rel == Path::new("lock") || rel == Path::new("audit/log.jsonl") {
                continue;
            }
            if rel == Path::new("audit") && !path.join("key.json").exists() {
                walk(root, &path, out);
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, format!("symlink -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, format!("dir {:o}", meta.permissions().mode() & 0o7777));
                walk(root, &path, out);
            } else {
                let mode = meta.permissions().mode() & 0o7777;
                out.insert(rel, format!("{:o} {}", mode, sha256_hex(&fs::read(&path).unwrap())));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::metadata(from).unwrap().permissions()).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A base64 of `bytes`, standard with padding.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}
