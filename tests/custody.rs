//! k-of-n root custody through the library: custodians in separate homes make root keys, a
//! coordinator initialises a 2-of-3 root, the others verify and sign; and everything a
//! custodian must refuse. Also rotations staged offline (snapshot signed here).

mod support;

use std::path::{Path, PathBuf};

use airlock::bundle::{self, Limits};
use airlock::crypto::{self, PublicKey};
use airlock::home::Home;
use airlock::keystore::KeyStore;
use airlock::ops::{self, custody, OpsError};
use airlock::tuf::metadata::{self, envelope, Root, Snapshot};
use airlock::tuf::{Gun, RoleName};
use sha2::{Digest, Sha256, Sha512};
use support::offline::{home_in, passphrases, setup, Setup};
use time::OffsetDateTime;

/// A custodian's home beside the coordinator's, with a root key for the GUN; returns the
/// home, its store and the certificate.
fn custodian(dir: &Path, name: &str, gun: &Gun) -> (Home, KeyStore, PublicKey) {
    let (home, store, _) = home_in(dir, name);
    let now = OffsetDateTime::now_utc();
    let made = ops::keys::generate_root(&store, name, gun, dir, now, &mut passphrases()).unwrap();
    let cert = ops::signer::read_root_certificates(&[made.public_key_file]).unwrap();
    (home, store, cert.into_iter().next().unwrap())
}

fn export(home: &Home, store: &KeyStore, gun: &Gun, out: &Path) -> ops::export::ExportReport {
    let now = OffsetDateTime::now_utc();
    let guns = std::slice::from_ref(gun);
    let lifetimes = Default::default();
    let opts = ops::export::ExportOptions::new(now, &lifetimes);
    ops::export::export(home, store, guns, out, &opts, &mut passphrases()).unwrap()
}

fn sign(
    home: &Home,
    store: &KeyStore,
    input: &Path,
    output: &Path,
) -> Result<custody::SignReport, OpsError> {
    let now = OffsetDateTime::now_utc();
    let mut yes = |_: &[custody::RootInBundle]| Ok(true);
    custody::sign(home, store, input, output, now, &mut yes, &mut passphrases())
}

fn root_of(bundle: &Path) -> metadata::Signed<Root> {
    let read = bundle::read(bundle, &Limits::default()).unwrap();
    let bytes = &read.contents.repos[0].metadata[&RoleName::root()];
    metadata::parse::<Root>(bytes, "root").unwrap()
}

/// Coordinator A with custodians B and C, a 2-of-3 root staged and exported to `r1`.
struct Custody {
    s: Setup,
    b: (Home, KeyStore, PublicKey),
    c: (Home, KeyStore, PublicKey),
    r1: PathBuf,
}

fn custody() -> Custody {
    let s = setup();
    let b = custodian(s.dir.path(), "custodian-b", &s.gun);
    let c = custodian(s.dir.path(), "custodian-c", &s.gun);
    let certs = [b.2.clone(), c.2.clone()];
    let init =
        ops::signer::init(&s.home, &s.store, &s.gun, &certs, Some(2), s.now, &mut passphrases())
            .unwrap();
    assert_eq!((init.root_keys.len(), init.root_threshold), (3, 2));
    let r1 = s.dir.path().join("r1.bundle");
    let report = export(&s.home, &s.store, &s.gun, &r1);
    let count = report.guns[0].root_signatures.clone().expect("a root was signed");
    assert_eq!((count.new_root.signed.len(), count.new_root.missing.len()), (1, 2));
    assert!(!count.complete && count.previous_root.is_none());
    Custody { s, b, c, r1 }
}

#[test]
fn custodians_add_signatures_until_the_root_is_complete() {
    let Custody { s, b, c, r1 } = custody();
    let dir = s.dir.path();

    // B sees one signature and its own key missing
    let status = custody::bundle_status(&b.0, &r1).unwrap();
    let count = &status[0].signatures.new_root;
    assert!(count.missing.contains(&b.2.id().to_string()));
    assert!(status[0].changes[0].contains("first root"), "{:?}", status[0].changes);

    // B signs: complete, only the signature list changed
    let r2 = dir.join("r2.bundle");
    let report = sign(&b.0, &b.1, &r1, &r2).unwrap();
    assert_eq!(report.signed_with, [b.2.id().to_string()]);
    assert!(report.roots[0].complete);
    let (before, after) = (root_of(&r1), root_of(&r2));
    assert_eq!(before.canonical(), after.canonical());
    assert_eq!(after.signatures.len(), 2);
    assert_eq!(after.signatures[..1], before.signatures[..]);
    let targets = |p: &Path| {
        bundle::read(p, &Limits::default()).unwrap().contents.repos[0].metadata
            [&RoleName::targets()]
            .clone()
    };
    assert_eq!(targets(&r1), targets(&r2), "sign changes nothing but root");

    // B again: nothing left to sign; C still can
    let err = sign(&b.0, &b.1, &r2, &dir.join("r3.bundle")).unwrap_err();
    assert!(err.to_string().contains("has not signed it already"), "{err}");
    assert!(!dir.join("r3.bundle").exists());
    let report = sign(&c.0, &c.1, &r2, &dir.join("r4.bundle")).unwrap();
    assert_eq!(root_of(&dir.join("r4.bundle")).signatures.len(), 3);
    assert_eq!(report.roots[0].new_root.missing.len(), 0);
}

#[test]
fn a_declined_confirmation_writes_nothing() {
    let Custody { s, b, r1, .. } = custody();
    let out = s.dir.path().join("declined.bundle");
    let mut no = |roots: &[custody::RootInBundle]| {
        assert!(!roots[0].changes.is_empty(), "the changes are shown before asking");
        Ok(false)
    };
    let err = custody::sign(&b.0, &b.1, &r1, &out, s.now, &mut no, &mut passphrases());
    assert!(err.unwrap_err().to_string().contains("not confirmed"));
    assert!(!out.exists());
}

#[test]
fn a_root_with_a_forged_signature_is_refused() {
    let Custody { s, b, r1, .. } = custody();
    let mut read = bundle::read(&r1, &Limits::default()).unwrap();
    let root = root_of(&r1);
    let mut signatures = root.signatures.clone();
    signatures[0].sig[5] ^= 1;
    let forged = envelope(root.canonical(), &signatures);
    read.contents.repos[0].metadata.insert(RoleName::root(), forged);
    let tampered = s.dir.path().join("tampered.bundle");
    bundle::write(&tampered, &read.contents).unwrap();

    for err in [
        custody::bundle_status(&b.0, &tampered).unwrap_err(),
        sign(&b.0, &b.1, &tampered, &s.dir.path().join("out.bundle")).unwrap_err(),
    ] {
        assert!(err.to_string().contains("no key of the new or previous root verifies"), "{err}");
        assert!(err.is_refusal());
    }
    assert!(!s.dir.path().join("out.bundle").exists());
}

#[test]
fn a_bundle_with_a_bad_targets_file_is_not_signed() {
    let Custody { s, b, r1, .. } = custody();
    let mut read = bundle::read(&r1, &Limits::default()).unwrap();
    let repo = &mut read.contents.repos[0];
    let targets = repo.metadata[&RoleName::targets()].clone();
    let targets = metadata::parse::<metadata::Targets>(&targets, "targets").unwrap();
    let mut signatures = targets.signatures.clone();
    signatures[0].sig[7] ^= 1;
    repo.metadata.insert(RoleName::targets(), envelope(targets.canonical(), &signatures));
    let bad = s.dir.path().join("bad-targets.bundle");
    bundle::write(&bad, &read.contents).unwrap();
    let err = sign(&b.0, &b.1, &bad, &s.dir.path().join("out.bundle")).unwrap_err();
    assert!(err.to_string().contains("targets"), "{err}");

    // and one that initialises a repository without its targets file
    read.contents.repos[0].metadata.remove(&RoleName::targets());
    let missing = s.dir.path().join("no-targets.bundle");
    bundle::write(&missing, &read.contents).unwrap();
    let err = sign(&b.0, &b.1, &missing, &s.dir.path().join("out.bundle")).unwrap_err();
    assert!(err.to_string().contains("without a targets file"), "{err}");
    assert!(!s.dir.path().join("out.bundle").exists());
}

#[test]
fn a_root_that_does_not_follow_the_trusted_one_is_refused() {
    let Custody { s, b, .. } = custody();
    // A moves on to root v2 before anyone signed v1: B's home knows no v1
    let rotation = ops::rotate::Rotation::Root { key: None };
    ops::rotate::rotate(&s.home, &s.store, &s.gun, &rotation, s.now, &mut passphrases()).unwrap();
    let v2 = s.dir.path().join("v2.bundle");
    export(&s.home, &s.store, &s.gun, &v2);
    assert_eq!(root_of(&v2).signed.common.version, 2);

    let err = sign(&b.0, &b.1, &v2, &s.dir.path().join("out.bundle")).unwrap_err();
    assert!(err.to_string().contains("this home trusts root version 0"), "{err}");
    let pull = support::offline::new_gun_pull_bundle(s.dir.path());
    let err = sign(&b.0, &b.1, &pull, &s.dir.path().join("out.bundle")).unwrap_err();
    assert!(err.to_string().contains("pull bundle"), "{err}");
}

#[test]
fn init_refuses_bad_custodian_sets_and_stores_no_key() {
    let s = setup();
    let b = custodian(s.dir.path(), "custodian-b", &s.gun);
    let other_gun = Gun::parse("example.com/other/app").unwrap();
    let stranger = custodian(s.dir.path(), "stranger", &other_gun);
    let keys_before = s.store.list().unwrap().len();
    let init = |certs: &[PublicKey], threshold| {
        ops::signer::init(&s.home, &s.store, &s.gun, certs, threshold, s.now, &mut passphrases())
            .unwrap_err()
            .to_string()
    };

    assert!(init(std::slice::from_ref(&b.2), Some(3)).contains("cannot be met by 2 root key"));
    assert!(init(std::slice::from_ref(&b.2), Some(0)).contains("cannot be met by 2 root key"));
    assert!(init(&[b.2.clone(), b.2.clone()], Some(2)).contains("given twice"));
    let wrong = init(std::slice::from_ref(&stranger.2), Some(2));
    assert!(wrong.contains("custodian certificate"), "{wrong}");
    // a "custodian" whose key is in this very home would make k-of-n meaningless
    let made =
        ops::keys::generate_root(&s.store, "mine", &s.gun, s.dir.path(), s.now, &mut passphrases())
            .unwrap();
    let mine = ops::signer::read_root_certificates(&[made.public_key_file]).unwrap();
    let own = init(&mine, Some(2));
    assert!(own.contains("a key this home holds"), "{own}");
    let keys_before = keys_before + 1;
    assert_eq!(s.store.list().unwrap().len(), keys_before, "a refused init stored a key");
    assert!(s.home.require_repo(&s.gun).unwrap().pending.is_empty());

    // a bare public key is not a root certificate
    let pem = crypto::SigningKey::generate_p256().public_key().to_public_pem().unwrap();
    let path = s.dir.path().join("bare.pub");
    std::fs::write(&path, pem).unwrap();
    let err = ops::signer::read_root_certificates(&[path]).unwrap_err().to_string();
    assert!(err.contains("key generate NAME --root GUN"), "{err}");
}

#[test]
fn a_snapshot_key_held_here_signs_a_snapshot_of_the_exact_bytes() {
    let s = setup();
    let jeff = crypto::SigningKey::generate_p256().public_key();
    let guns = std::slice::from_ref(&s.gun);
    ops::signer::add(&s.home, &s.store, "jeff", guns, &[jeff], s.now, &mut passphrases()).unwrap();
    let rotation = ops::rotate::Rotation::SnapshotOffline;
    let rotated =
        ops::rotate::rotate(&s.home, &s.store, &s.gun, &rotation, s.now, &mut passphrases())
            .unwrap();
    let out = s.dir.path().join("response.bundle");
    let report = export(&s.home, &s.store, &s.gun, &out);
    let roles: Vec<&String> = report.guns[0].roles.keys().collect();
    assert_eq!(roles, ["root", "snapshot", "targets"]);

    let read = bundle::read(&out, &Limits::default()).unwrap();
    let files = &read.contents.repos[0].metadata;
    let snapshot = metadata::parse::<Snapshot>(&files[&RoleName::snapshot()], "snapshot").unwrap();
    assert_eq!(snapshot.signed.common.version, 1);
    assert_eq!(snapshot.signatures[0].keyid, rotated.key_id);
    for role in ["root", "targets"] {
        let bytes = &files[&RoleName::parse(role).unwrap()];
        let meta = &snapshot.signed.meta[role];
        assert_eq!(meta.length, bytes.len() as i64);
        assert_eq!(meta.hashes["sha256"], Sha256::digest(bytes).to_vec());
        assert_eq!(meta.hashes["sha512"], Sha512::digest(bytes).to_vec());
    }
    assert_eq!(snapshot.signed.meta.len(), 2, "no delegation file exists yet");
    let root = metadata::parse::<Root>(&files[&RoleName::root()], "root").unwrap().signed;
    let listed = &root.roles["snapshot"].keyids.as_ref().unwrap()[0];
    let key = &root.keys[listed];
    let sig = &snapshot.signatures[0];
    crypto::verify(key, &sig.method, snapshot.canonical(), &sig.sig).unwrap();
}

#[test]
fn rotations_that_cannot_work_are_refused_before_anything_changes() {
    let s = setup();
    let parse = |role, key: Option<&str>, server| {
        ops::rotate::Rotation::parse(role, key.map(str::to_string), server)
    };
    assert!(parse("timestamp", None, false).is_err());
    assert!(parse("targets", Some("abcd1234"), false).is_err());
    assert!(parse("root", None, true).is_err());
    assert!(parse("targets/releases", None, false).is_err());

    // no root key in this home yet: nothing can re-sign root
    let before = serde_json::to_string(&s.home.require_repo(&s.gun).unwrap()).unwrap();
    let rotation = ops::rotate::Rotation::Targets;
    let err = ops::rotate::rotate(&s.home, &s.store, &s.gun, &rotation, s.now, &mut passphrases());
    assert!(err.is_err());
    let after = serde_json::to_string(&s.home.require_repo(&s.gun).unwrap()).unwrap();
    assert_eq!(before, after);
    assert!(s.store.list().unwrap().is_empty(), "a refused rotation stored a key");
}
