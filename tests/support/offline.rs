//! A home that imported the pull bundle of a new GUN (server keys made here), for tests of
//! the offline ceremony through the library, without a server.

use std::path::{Path, PathBuf};

use airlock::bundle::{self, BundleContents, BundleKind, RepoFiles};
use airlock::home::Home;
use airlock::keystore::{FixedPassphrases, KeyClass, KeyStore};
use airlock::ops;
use airlock::tuf::{Gun, RoleName};
use base64::Engine;
use time::OffsetDateTime;

pub const GUN: &str = "example.com/team/app";

/// A valid ed25519 public key, as the server's local signer makes.
pub fn server_key_bytes() -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key().to_bytes()
}

/// The server's answer to `GET <role>.key`, in its stdlib field order (WIRE.md §2.1).
pub fn server_key_answer() -> Vec<u8> {
    let public = base64::engine::general_purpose::STANDARD.encode(server_key_bytes());
    format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{public}","private":null}}}}"#)
        .into_bytes()
}

/// A pull bundle of `GUN` as the server has no trust data for it yet.
pub fn new_gun_pull_bundle(dir: &Path) -> PathBuf {
    let mut repo = RepoFiles::new(Gun::parse(GUN).unwrap(), true);
    for role in ["timestamp", "snapshot"] {
        repo.server_keys.insert(RoleName::parse(role).unwrap(), server_key_answer());
    }
    let contents = BundleContents {
        kind: BundleKind::Pull,
        created: OffsetDateTime::now_utc(),
        answers: None,
        repos: vec![repo],
        audit: None,
    };
    let path = dir.join("pull.bundle");
    if !path.exists() {
        bundle::write(&path, &contents).unwrap();
    }
    path
}

pub fn passphrases() -> FixedPassphrases {
    FixedPassphrases::new()
        .with(KeyClass::Root, "root-pass")
        .with(KeyClass::Targets, "targets-pass")
        .with(KeyClass::Delegation, "deleg-pass")
}

/// A home (cheap scrypt) that imported a pull bundle of the new GUN.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub home: Home,
    pub store: KeyStore,
    pub now: OffsetDateTime,
    pub gun: Gun,
    pub report: ops::import::ImportReport,
}

pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (home, store, report) = home_in(dir.path(), "home");
    let now = OffsetDateTime::now_utc();
    Setup { dir, home, store, now, gun: Gun::parse(GUN).unwrap(), report }
}

/// Another home beside the first, `dir/<name>`, importing the same pull bundle (one
/// custodian's machine).
pub fn home_in(dir: &Path, name: &str) -> (Home, KeyStore, ops::import::ImportReport) {
    let home = Home::open(&dir.join(name)).unwrap();
    let store = KeyStore::with_work_factor(&home.keystore_dir(), 10).unwrap();
    let now = OffsetDateTime::now_utc();
    let opts = ops::import::ImportOptions {
        now,
        allow_expired: false,
        pinned_root: None,
        tally: &ops::progress::NoTally,
    };
    let report = ops::import::import(&home, &new_gun_pull_bundle(dir), &opts).unwrap();
    (home, store, report)
}
