//! `signer rotate` through the library, on a repository whose `targets/jeff` needs two of
//! jeff's keys: a rotation that would leave fewer keys than the threshold is refused before
//! anything is staged; one that keeps enough replaces the keys and re-signs releases.

mod support;

use std::rc::Rc;

use airlock::bundle::{self, Limits};
use airlock::change::Change;
use airlock::crypto::{PublicKey, SigningKey};
use airlock::home::Home;
use airlock::keystore::KeyStore;
use airlock::ops;
use airlock::tuf::metadata::{self, DelegatedRole, Targets};
use airlock::tuf::{Gun, RoleName};
use support::offline::passphrases;
use support::Fixture;
use time::OffsetDateTime;

struct Repo {
    dir: tempfile::TempDir,
    home: Home,
    store: KeyStore,
    gun: Gun,
    jeff: [PublicKey; 2],
    releases: PublicKey,
}

/// targets/jeff with jeff's two keys and threshold 2; targets/releases with the fixture's
/// releases key (held by the home) and jeff's keys, threshold 1.
fn repo() -> Repo {
    let fixture = Fixture::new();
    let jeff = [SigningKey::generate_p256().public_key(), SigningKey::generate_p256().public_key()];
    let mut spec = fixture.spec();
    let keys = jeff.clone();
    spec.tweak_targets = Some(Rc::new(move |t| {
        let d = &mut t.delegations;
        let ids: Vec<_> = keys.iter().map(PublicKey::id).collect();
        for key in &keys {
            d.keys.as_mut().unwrap().insert(key.id(), key.clone());
        }
        let roles = d.roles.as_mut().unwrap();
        roles[0].keyids.as_mut().unwrap().extend(ids.clone());
        let name = RoleName::parse("targets/jeff").unwrap();
        roles.insert(
            0,
            DelegatedRole { name, keyids: Some(ids), paths: vec![String::new()], threshold: 2 },
        );
    }));

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("pull.bundle");
    support::write_bundle(&bundle, &[&spec.build()]);
    let home = Home::open(&dir.path().join("home")).unwrap();
    let store = KeyStore::with_work_factor(&home.keystore_dir(), 10).unwrap();
    let now = OffsetDateTime::now_utc();
    let opts = ops::import::ImportOptions {
        now,
        allow_expired: false,
        pinned_root: None,
        tally: &ops::progress::NoTally,
    };
    ops::import::import(&home, &bundle, &opts).unwrap();
    let gun = Gun::parse(support::GUN).unwrap();
    let mut p = passphrases();
    ops::keys::store_key(&store, &fixture.releases, "ben", None, now, &mut p).unwrap();
    ops::keys::store_key(&store, &fixture.targets, "targets", Some(&gun), now, &mut p).unwrap();
    Repo { dir, home, store, gun, jeff, releases: fixture.releases.public_key() }
}

fn rotate(r: &Repo, keys: &[PublicKey]) -> Result<Vec<ops::signer::SignerRotated>, ops::OpsError> {
    let now = OffsetDateTime::now_utc();
    ops::signer::rotate(&r.home, &r.store, "jeff", std::slice::from_ref(&r.gun), keys, now)
}

#[test]
fn a_rotation_below_the_threshold_is_refused_and_stages_nothing() {
    let r = repo();
    let one = SigningKey::generate_p256().public_key();
    let err = rotate(&r, &[one]).unwrap_err().to_string();
    assert!(err.contains("targets/jeff would have 1 key(s) for a threshold of 2"), "{err}");
    assert!(r.home.require_repo(&r.gun).unwrap().pending.is_empty());

    let err = rotate(&r, std::slice::from_ref(&r.jeff[0])).unwrap_err().to_string();
    assert!(err.contains("already signs for targets/jeff"), "{err}");
}

#[test]
fn a_rotation_keeping_the_threshold_replaces_the_keys_and_witnesses_releases() {
    let r = repo();
    let new = [SigningKey::generate_p256().public_key(), SigningKey::generate_p256().public_key()];
    let report = rotate(&r, &new).unwrap().remove(0);
    assert_eq!(report.roles, ["targets/jeff", "targets/releases"]);
    assert_eq!(report.witnessed, ["targets/releases"], "{report:?}");
    assert!(report.warnings.is_empty(), "{report:?}");

    let state = r.home.require_repo(&r.gun).unwrap();
    let witness =
        |c: &Change| matches!(c, Change::Witness { role, .. } if role == "targets/releases");
    assert!(state.pending.iter().any(witness));
    let draft = ops::repo::draft(&state, OffsetDateTime::now_utc()).unwrap().targets;
    for role in ["targets/jeff", "targets/releases"] {
        let ids = draft.delegations.role(&RoleName::parse(role).unwrap()).unwrap().keyids.clone();
        let ids = ids.unwrap();
        assert!(new.iter().all(|k| ids.contains(&k.id())), "{role} lacks a new key");
        assert!(r.jeff.iter().all(|k| !ids.contains(&k.id())), "{role} kept an old key");
    }

    // and the export signs releases with the key that stays
    let out = r.dir.path().join("response.bundle");
    let guns = std::slice::from_ref(&r.gun);
    let now = OffsetDateTime::now_utc();
    let exported = ops::export::export(
        &r.home,
        &r.store,
        guns,
        &out,
        &ops::export::ExportOptions::new(now, &Default::default()),
        &mut passphrases(),
    )
    .unwrap();
    let roles = &exported.guns[0].roles;
    assert_eq!(roles["targets"], 2);
    assert_eq!(roles["targets/releases"], 2, "releases re-signed once");
    let read = bundle::read(&out, &Limits::default()).unwrap();
    let releases = &read.contents.repos[0].metadata[&RoleName::releases()];
    let releases = metadata::parse::<Targets>(releases, "targets/releases").unwrap();
    assert_eq!(releases.signatures.len(), 1);
    assert_eq!(
        releases.signatures[0].keyid,
        r.releases.id().as_str(),
        "signed by the key that stays"
    );
}
