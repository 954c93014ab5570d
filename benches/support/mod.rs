//! Generators shared by the benchmarks and `examples/fleet_releases.rs`: complete, valid
//! Notary repositories made with airlock's own library (keys, root certificate, every role
//! signed with `tuf::sign`), with a `targets/releases` of any size.
//!
//! The shapes follow what docker and notary write: one P-256 key per role, a server-managed
//! snapshot and timestamp, targets with a sha256 hash only.
#![allow(dead_code)]

use std::collections::BTreeMap;

use airlock::bundle::RepoFiles;
use airlock::crypto::{self, CryptoError, KeyId, PublicKey, SigningKey};
use airlock::tuf::metadata::{
    Common, DelegatedRole, Delegations, FileMeta, RoleKeys, RoleType, Root, Signed, Snapshot,
    Targets, Timestamp,
};
use airlock::tuf::sign::{self, Signer};
use airlock::tuf::{GoTime, Gun, RoleName};
use sha2::{Digest, Sha256, Sha512};
use time::{Duration, OffsetDateTime};

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

/// The keys of one repository.
pub struct RepoKeys {
    pub root: SigningKey,
    /// The root key's Notary certificate, the `ecdsa-x509` key root.json lists.
    pub root_cert: PublicKey,
    pub targets: SigningKey,
    pub snapshot: SigningKey,
    pub timestamp: SigningKey,
    pub releases: SigningKey,
}

impl RepoKeys {
    pub fn new(gun: &str, now: OffsetDateTime) -> RepoKeys {
        let root = SigningKey::generate_p256();
        let root_cert = crypto::root_certificate(&root, gun, now - Duration::hours(1)).unwrap();
        RepoKeys {
            root,
            root_cert,
            targets: SigningKey::generate_p256(),
            snapshot: SigningKey::generate_p256(),
            timestamp: SigningKey::generate_p256(),
            releases: SigningKey::generate_p256(),
        }
    }
}

/// `now` truncated to the second.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn common(version: i64, expires: OffsetDateTime) -> Common {
    Common { version, expires: GoTime::from_offset_date_time(expires) }
}

/// `length` and the sha256 hash of a target, as `docker trust sign` records them.
fn target_meta(i: usize) -> FileMeta {
    let digest = Sha256::digest(format!("image manifest {i}").as_bytes()).to_vec();
    let hashes = airlock::tuf::metadata::Hashes::from([("sha256".to_string(), digest)]);
    FileMeta { length: 1000 + (i % 9000) as i64, hashes, custom: None }
}

/// `length`, sha256 and sha512 of exact bytes, as snapshot and timestamp list files.
pub fn file_meta(bytes: &[u8]) -> FileMeta {
    let hashes = airlock::tuf::metadata::Hashes::from([
        ("sha256".to_string(), Sha256::digest(bytes).to_vec()),
        ("sha512".to_string(), Sha512::digest(bytes).to_vec()),
    ]);
    FileMeta { length: bytes.len() as i64, hashes, custom: None }
}

/// The name of target `i`: a release tag, unique for `i` below a million.
pub fn target_name(i: usize) -> String {
    format!("v{}.{}.{}-linux-amd64", i / 10000, i / 100 % 100, i % 100)
}

/// A `targets/releases` with `count` targets (about 110 bytes each in the file).
pub fn releases_role(count: usize, version: i64, expires: OffsetDateTime) -> Targets {
    let targets = (0..count).map(|i| (target_name(i), target_meta(i))).collect();
    Targets { common: common(version, expires), targets, delegations: Delegations::empty() }
}

/// Signs `content` with one key, as the key's own TUF ID.
pub fn sign_with<T: RoleType>(content: T, key: &SigningKey, role: &str) -> Signed<T> {
    sign::sign(content, &[&KeySigner::bare(key)], role).unwrap()
}

/// A server key file as `GET /v2/<gun>/_trust/tuf/<role>.key` returns it.
fn server_key_json(key: &PublicKey) -> Vec<u8> {
    format!(
        r#"{{"keytype":"{}","keyval":{{"public":"{}","private":null}}}}"#,
        key.keytype(),
        key.public_b64()
    )
    .into_bytes()
}

fn root_content(keys: &RepoKeys, expires: OffsetDateTime) -> Root {
    let mut listed = BTreeMap::new();
    listed.insert(keys.root_cert.id(), keys.root_cert.clone());
    let mut id_of = |k: &SigningKey| {
        let public = k.public_key();
        let id = public.id();
        listed.insert(id.clone(), public);
        id
    };
    let role = |id: KeyId| RoleKeys { keyids: Some(vec![id]), threshold: 1 };
    let roles = BTreeMap::from([
        ("root".to_string(), role(keys.root_cert.id())),
        ("targets".to_string(), role(id_of(&keys.targets))),
        ("snapshot".to_string(), role(id_of(&keys.snapshot))),
        ("timestamp".to_string(), role(id_of(&keys.timestamp))),
    ]);
    Root { common: common(1, expires), consistent_snapshot: false, keys: listed, roles }
}

fn targets_content(keys: &RepoKeys, expires: OffsetDateTime) -> Targets {
    let key = keys.releases.public_key();
    let id = key.id();
    let delegations = Delegations {
        keys: Some(BTreeMap::from([(id.clone(), key)])),
        roles: Some(vec![DelegatedRole {
            name: RoleName::releases(),
            keyids: Some(vec![id]),
            paths: vec![String::new()],
            threshold: 1,
        }]),
    };
    Targets { common: common(1, expires), targets: BTreeMap::new(), delegations }
}

/// Every file of a fresh repository (version 1, expiring in a year) whose
/// `targets/releases` holds `release_targets` targets, as a pull bundle carries it.
pub fn repo(gun: &str, keys: &RepoKeys, release_targets: usize, now: OffsetDateTime) -> RepoFiles {
    let year = now + Duration::days(365);
    let root_signer = KeySigner { key: &keys.root, id: keys.root_cert.id().to_string() };
    let root = sign::sign(root_content(keys, year), &[&root_signer], "root").unwrap();
    let targets = sign_with(targets_content(keys, year), &keys.targets, "targets");
    let releases =
        sign_with(releases_role(release_targets, 1, year), &keys.releases, "targets/releases");

    let mut metadata = BTreeMap::new();
    metadata.insert(RoleName::root(), root.into_bytes());
    metadata.insert(RoleName::targets(), targets.into_bytes());
    metadata.insert(RoleName::releases(), releases.into_bytes());
    let meta = metadata.iter().map(|(r, b)| (r.to_string(), file_meta(b))).collect();
    let snapshot =
        sign_with(Snapshot { common: common(1, year), meta }, &keys.snapshot, "snapshot");
    let meta = BTreeMap::from([("snapshot".to_string(), file_meta(snapshot.bytes()))]);
    let timestamp =
        sign_with(Timestamp { common: common(1, year), meta }, &keys.timestamp, "timestamp");
    metadata.insert(RoleName::snapshot(), snapshot.into_bytes());
    metadata.insert(RoleName::parse("timestamp").unwrap(), timestamp.into_bytes());

    let mut files = RepoFiles::new(Gun::parse(gun).unwrap(), false);
    files.metadata = metadata;
    for (role, key) in [("snapshot", &keys.snapshot), ("timestamp", &keys.timestamp)] {
        let json = server_key_json(&key.public_key());
        files.server_keys.insert(RoleName::parse(role).unwrap(), json);
    }
    files
}

/// `count` repositories `bench.example.com/fleet/app-NNNN`, each with its own keys and a
/// `targets/releases` of `release_targets` targets.
pub fn fleet(count: usize, release_targets: usize, now: OffsetDateTime) -> Vec<RepoFiles> {
    (0..count)
        .map(|i| {
            let gun = format!("bench.example.com/fleet/app-{i:04}");
            repo(&gun, &RepoKeys::new(&gun, now), release_targets, now)
        })
        .collect()
}
