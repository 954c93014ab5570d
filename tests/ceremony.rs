//! The offline ceremony through the library, without a server: a pull bundle for a new GUN
//! (server keys made here), import, signer add, export; then the response is checked the
//! way a Notary server would check it.

use std::collections::BTreeMap;

use airlock::bundle::{self, BundleKind, Limits};
use airlock::crypto::{self, SigningKey};
use airlock::keystore::{FixedPassphrases, KeyClass, KeyStoreError, PassphraseProvider};
use airlock::ops;
use airlock::tuf::cjson;
use airlock::tuf::metadata::{self, envelope, RoleType, Root, Targets};
use airlock::tuf::{Gun, RoleName};
use secrecy::SecretString;
use time::OffsetDateTime;

mod support;

use support::offline::{passphrases, server_key_bytes, setup, Setup};

#[test]
fn new_repository_ceremony_produces_what_notary_accepts() {
    let Setup { dir, home, store, now, gun, report } = setup();
    assert!(report.guns[0].new);

    // signer add with a key made elsewhere
    let jeff = SigningKey::generate_p256().public_key();
    let mut p = passphrases();
    let added = ops::signer::add(
        &home,
        &store,
        "jeff",
        std::slice::from_ref(&gun),
        std::slice::from_ref(&jeff),
        now,
        &mut p,
    )
    .unwrap();
    assert!(added[0].initialised);

    // export, in a command of its own: each passphrase asked once
    let mut p = passphrases();
    let out = dir.path().join("response.bundle");
    let exported = ops::export::export(
        &home,
        &store,
        std::slice::from_ref(&gun),
        &out,
        &ops::export::ExportOptions::new(now, &Default::default()),
        &mut p,
    )
    .unwrap();
    assert_eq!(exported.guns[0].roles, BTreeMap::from([("root".into(), 1), ("targets".into(), 1)]));
    assert_eq!(p.asked(KeyClass::Root), 1, "root passphrase asked more than once");
    assert_eq!(p.asked(KeyClass::Targets), 1, "targets passphrase asked more than once");

    // the response, checked as the server would
    let response = bundle::read(&out, &Limits::default()).unwrap();
    assert_eq!(response.contents.kind, BundleKind::Response);
    assert_eq!(response.contents.answers.as_deref(), Some(report.bundle_digest.as_str()));
    let files = &response.contents.repos[0].metadata;
    assert_eq!(files.keys().map(|r| r.as_str()).collect::<Vec<_>>(), ["root", "targets"]);
    let root = metadata::parse::<Root>(&files[&RoleName::root()], "root").unwrap();
    let targets = metadata::parse::<Targets>(&files[&RoleName::targets()], "targets").unwrap();
    check_root(&root, &gun, now);
    check_targets(&targets, &root.signed, &jeff);
    for (role, bytes) in files {
        assert_go_stable(role, bytes);
    }

    // the expiry calendar: Notary's lifetimes, the root certificate, nothing the server renews
    let state = home.require_repo(&gun).unwrap();
    let calendar = ops::expiry::calendar(std::slice::from_ref(&state), 90, now).unwrap();
    let what: Vec<&str> = calendar.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(what[..1], ["targets"], "soonest first: {what:?}");
    assert!(what.contains(&"root") && what.iter().any(|w| w.starts_with("root certificate")));
    assert!(calendar.iter().all(|e| !e.due && e.days_left >= 3 * 365 - 1), "{calendar:?}");
    let later = now + time::Duration::days(3 * 365 - 30);
    let due = ops::expiry::calendar(std::slice::from_ref(&state), 90, later).unwrap();
    assert!(due.iter().any(|e| e.what == "targets" && e.due));

    // nothing pending, the export is recorded
    assert!(state.pending.is_empty());
    assert_eq!(state.exported.unwrap().bundle_digest, exported.bundle_digest);
}

fn check_root(root: &metadata::Signed<Root>, gun: &Gun, now: OffsetDateTime) {
    let r = &root.signed;
    assert_eq!(r.common.version, 1);
    for role in ["root", "targets", "snapshot", "timestamp"] {
        assert_eq!(r.roles[role].threshold, 1);
        assert_eq!(r.roles[role].keyids.as_ref().unwrap().len(), 1, "{role}");
    }
    let root_key = &r.keys[&r.roles["root"].keyids.as_ref().unwrap()[0]];
    crypto::check_root_certificate(root_key, gun.as_str(), now).unwrap();
    let sig = &root.signatures[0];
    assert_eq!(sig.keyid, root_key.id().as_str(), "signature carries the certificate's TUF ID");
    crypto::verify(root_key, &sig.method, root.canonical(), &sig.sig).unwrap();
    let ts = &r.keys[&r.roles["timestamp"].keyids.as_ref().unwrap()[0]];
    assert_eq!(ts.public_bytes(), server_key_bytes(), "the server's key is listed unchanged");
}

fn check_targets(targets: &metadata::Signed<Targets>, root: &Root, jeff: &crypto::PublicKey) {
    assert_eq!(targets.signed.common.version, 1);
    let d = &targets.signed.delegations;
    let names: Vec<&str> = d.roles.as_ref().unwrap().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["targets/jeff", "targets/releases"], "docker's order");
    for role in d.roles.as_ref().unwrap() {
        assert_eq!(role.keyids.as_deref(), Some(&[jeff.id()][..]));
        assert_eq!(role.paths, [""]);
    }
    let key = &root.keys[&root.roles["targets"].keyids.as_ref().unwrap()[0]];
    let sig = &targets.signatures[0];
    crypto::verify(key, &sig.method, targets.canonical(), &sig.sig).unwrap();
}

/// Go's struct round trip gives the same bytes (WIRE.md §1.4), and the file is the envelope of
/// its canonical form.
fn assert_go_stable(role: &RoleName, bytes: &[u8]) {
    let rewritten = match role.as_str() {
        "root" => reencode::<Root>(bytes),
        _ => reencode::<Targets>(bytes),
    };
    assert_eq!(rewritten, bytes, "{role} is not byte-stable");
    assert!(!bytes.ends_with(b"\n"));
    assert!(cjson::parse(bytes).is_ok());
}

fn reencode<T: RoleType>(bytes: &[u8]) -> Vec<u8> {
    let parsed = metadata::parse::<T>(bytes, "x").unwrap();
    envelope(&cjson::canonical(&parsed.signed.to_value()), &parsed.signatures)
}

#[test]
fn wrong_passphrase_writes_nothing() {
    let Setup { dir, home, store, now, gun, .. } = setup();
    let jeff = SigningKey::generate_p256().public_key();
    ops::signer::add(
        &home,
        &store,
        "jeff",
        std::slice::from_ref(&gun),
        &[jeff],
        now,
        &mut passphrases(),
    )
    .unwrap();
    let before = home.require_repo(&gun).unwrap();

    let mut wrong =
        FixedPassphrases::new().with(KeyClass::Root, "nope").with(KeyClass::Targets, "nope");
    let out = dir.path().join("response.bundle");
    let err = ops::export::export(
        &home,
        &store,
        std::slice::from_ref(&gun),
        &out,
        &ops::export::ExportOptions::new(now, &Default::default()),
        &mut wrong,
    )
    .unwrap_err();
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert!(!out.exists());
    let after = home.require_repo(&gun).unwrap();
    assert_eq!(serde_json::to_string(&before).unwrap(), serde_json::to_string(&after).unwrap());
}

/// Writes a file at `out` when first asked for a passphrase, as another program might while
/// an export waits at its prompt.
struct Racing {
    inner: FixedPassphrases,
    out: std::path::PathBuf,
}

impl PassphraseProvider for Racing {
    fn existing(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        if !self.out.exists() {
            std::fs::write(&self.out, b"someone else's file").unwrap();
        }
        self.inner.existing(class)
    }

    fn new_passphrase(&mut self, class: KeyClass) -> Result<SecretString, KeyStoreError> {
        self.inner.new_passphrase(class)
    }
}

#[test]
fn a_failed_first_export_leaves_the_home_and_the_output_alone() {
    let Setup { dir, home, store, now, gun, .. } = setup();
    let jeff = SigningKey::generate_p256().public_key();
    let guns = std::slice::from_ref(&gun);
    ops::signer::add(&home, &store, "jeff", guns, &[jeff], now, &mut passphrases()).unwrap();
    let before = support::snapshot_tree(home.dir());

    let out = dir.path().join("response.bundle");
    let mut racing = Racing { inner: passphrases(), out: out.clone() };
    let lifetimes = Default::default();
    let opts = ops::export::ExportOptions::new(now, &lifetimes);
    let err = ops::export::export(&home, &store, guns, &out, &opts, &mut racing).unwrap_err();

    assert!(err.to_string().contains("a file appeared at this path"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"someone else's file");
    let after = support::snapshot_tree(home.dir());
    assert_eq!(after, before, "{}", support::cases::diff(&before, &after));
}
