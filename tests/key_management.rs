//! Key generation (ECDSA and RSA) and removal through the library (issue 3). The end-to-end
//! script `tests/e2e/online_tls.sh` shows the same keys accepted by notary-server and the
//! real notary client.

use std::path::Path;

use airlock::change::{Change, KeyJson};
use airlock::crypto::{self, CryptoError, KeyType, SigningKey, MAX_GENERATED_RSA_BITS};
use airlock::home::{Home, RepoState};
use airlock::keystore::{FixedPassphrases, KeyClass, KeyRecord, KeyStore};
use airlock::ops::keys::{self, KeySpec, NoProgress, Progress};
use airlock::ops::OpsError;
use airlock::tuf::Gun;
use time::OffsetDateTime;

fn passphrases() -> FixedPassphrases {
    FixedPassphrases::new().with(KeyClass::Delegation, "deleg-pass")
}

fn open(dir: &Path) -> (Home, KeyStore) {
    let home = Home::open(&dir.join("home")).unwrap();
    let store = KeyStore::with_work_factor(&home.keystore_dir(), 10).unwrap();
    (home, store)
}

/// Records what a front end would be told.
#[derive(Default)]
struct Recorded(Vec<String>);

impl Progress for Recorded {
    fn start(&mut self, what: &str) {
        self.0.push(format!("start {what}"));
    }

    fn finish(&mut self) {
        self.0.push("finish".into());
    }
}

#[test]
fn rsa_keys_sign_with_rsapss_and_survive_pkcs8() {
    let key = SigningKey::generate_rsa(2048).unwrap();
    let public = key.public_key();
    assert_eq!(public.keytype(), KeyType::Rsa);
    assert_eq!(key.method(), "rsapss");

    let sig = key.sign(b"signed bytes").unwrap();
    assert_eq!(sig.len(), 256);
    crypto::verify(&public, "rsapss", b"signed bytes", &sig).unwrap();

    let again = SigningKey::from_pkcs8_der(&key.to_pkcs8_der()).unwrap();
    assert_eq!(again.public_key(), public);
}

#[test]
fn rsa_sizes_outside_the_range_are_refused_before_any_work() {
    for bits in [0, 1024, 2047, MAX_GENERATED_RSA_BITS + 1, usize::MAX] {
        let err = SigningKey::generate_rsa(bits).err().unwrap();
        assert!(matches!(err, CryptoError::RsaGenerateSize { .. }), "{bits}: {err}");
        assert!(err.to_string().contains("choose 2048 to 8192 bits"), "{err}");
    }
}

#[test]
fn generate_writes_a_public_pem_that_signer_add_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (_home, store) = open(dir.path());
    let now = OffsetDateTime::now_utc();

    let mut progress = Recorded::default();
    let spec = KeySpec::Rsa { bits: 2048 };
    let made =
        keys::generate(&store, "rosa", spec, dir.path(), now, &mut passphrases(), &mut progress)
            .unwrap();
    assert_eq!(progress.0, ["start Generating a 2048-bit RSA key", "finish"]);
    assert_eq!(made.keytype, "rsa");

    let pem = std::fs::read(&made.public_key_file).unwrap();
    let public = crypto::parse_public_pem(&pem).unwrap();
    assert_eq!(public.keytype(), KeyType::Rsa);
    assert_eq!(public.canonical_id().unwrap().as_str(), made.key_id);
    assert_eq!(store.get(&made.key_id).unwrap().unwrap().keytype, "rsa");

    let mut quiet = Recorded::default();
    let ecdsa = keys::generate(
        &store,
        "ben",
        KeySpec::EcdsaP256,
        dir.path(),
        now,
        &mut passphrases(),
        &mut quiet,
    )
    .unwrap();
    assert_eq!(ecdsa.keytype, "ecdsa");
    assert!(quiet.0.is_empty(), "a P-256 key is instant: no progress");
}

#[test]
fn a_refused_size_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_home, store) = open(dir.path());
    let spec = KeySpec::Rsa { bits: 1024 };
    let now = OffsetDateTime::now_utc();

    let mut p = passphrases();
    let err =
        keys::generate(&store, "rosa", spec, dir.path(), now, &mut p, &mut NoProgress).unwrap_err();
    assert!(matches!(err, OpsError::Crypto(CryptoError::RsaGenerateSize { bits: 1024, .. })));
    assert!(!dir.path().join("rosa.pub").exists());
    assert!(!store.dir().exists(), "no key store identity was created");
    assert_eq!(p.asked(KeyClass::Delegation), 0, "no passphrase was asked");
}

fn add_record(store: &KeyStore, key_id: &str, role: &str) {
    let record = KeyRecord::new(key_id, role, None, "ecdsa", "cHVibGlj");
    store.add(&record, b"private", &mut passphrases()).unwrap();
}

#[test]
fn remove_finds_keys_by_unique_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (home, store) = open(dir.path());
    let (a, b) = (format!("abcdef01{}", "0".repeat(56)), format!("abcdef01{}", "1".repeat(56)));
    add_record(&store, &a, "alice");
    add_record(&store, &b, "bob");

    let ambiguous = keys::plan_remove(&home, &store, "abcdef01").unwrap_err().to_string();
    assert!(ambiguous.contains(&a) && ambiguous.contains(&b), "{ambiguous}");
    assert!(ambiguous.contains("give more of the ID"), "{ambiguous}");
    let short = keys::plan_remove(&home, &store, "abcdef0").unwrap_err().to_string();
    assert!(short.contains("at least its first 8 hex digits"), "{short}");
    let unknown = keys::plan_remove(&home, &store, "0123456789").unwrap_err().to_string();
    assert!(unknown.contains("no key in"), "{unknown}");

    let removal = keys::plan_remove(&home, &store, "ABCDEF011").unwrap();
    assert_eq!((removal.key_id.as_str(), removal.role.as_str()), (b.as_str(), "bob"));
    assert!(removal.used_by.is_empty());
    keys::remove(&store, &removal, false).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(store.get(&a).unwrap().is_some());
}

#[test]
fn a_key_staged_in_a_pending_change_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (home, store) = open(dir.path());
    let key = SigningKey::generate_p256();
    let id =
        keys::store_key(&store, &key, "jeff", None, OffsetDateTime::now_utc(), &mut passphrases())
            .unwrap();

    let gun = Gun::parse("example.com/team/app").unwrap();
    let mut state = RepoState::new(&gun);
    let staged = KeyJson::from_key(&key.public_key());
    state.pending.push(Change::AddKeys {
        role: "targets/jeff".into(),
        keys: vec![staged],
        paths: vec![String::new()],
    });
    home.save_repo(&state).unwrap();

    let removal = keys::plan_remove(&home, &store, &id.as_str()[..8]).unwrap();
    assert_eq!(removal.used_by.len(), 1);
    assert_eq!(
        removal.used_by[0].to_string(),
        "example.com/team/app targets/jeff (pending change)"
    );

    let refused = keys::remove(&store, &removal, false).unwrap_err();
    assert!(matches!(refused, OpsError::KeyInUse { .. }));
    assert!(refused.is_refusal());
    assert!(refused.to_string().contains("--force"), "{refused}");
    assert!(store.get(id.as_str()).unwrap().is_some(), "the refused key stays");

    keys::remove(&store, &removal, true).unwrap();
    assert!(store.get(id.as_str()).unwrap().is_none());
}
