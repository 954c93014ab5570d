//! Hostile pull bundles at the metadata layer (the TUF attacks) against the real `airlock
//! import` binary: every case has valid bundle framing and breaks one verification rule, with
//! the repository re-signed consistently so the case reaches that rule. See
//! `tests/hostile_bundles.rs` for the bundle layer and `tests/support/` for the fixture.

mod support;

use std::rc::Rc;

use airlock::crypto::{KeyType, PublicKey, SigningKey};
use airlock::tuf::metadata::{Root, Snapshot, Timestamp};
use support::cases::*;
use support::*;
use time::Duration;

// The metadata layer

fn other_key_json() -> Vec<u8> {
    server_key_json(&SigningKey::generate_p256().public_key())
}

fn metadata_cases() -> Vec<Case> {
    vec![
        // signatures and thresholds
        case(
            "signature: timestamp",
            1,
            "app: timestamp: valid signatures from 0 key(s) do not meet the threshold of 1",
            spec(|fx| Spec { corrupt_sig: vec!["timestamp"], ..fx.update() }),
        ),
        case(
            "signature: snapshot",
            1,
            "snapshot: valid signatures from 0 key(s)",
            spec(|fx| Spec { corrupt_sig: vec!["snapshot"], ..fx.update() }),
        ),
        case(
            "signature: targets",
            1,
            "app: targets: valid signatures from 0 key(s)",
            spec(|fx| Spec { corrupt_sig: vec!["targets"], ..fx.update() }),
        ),
        case(
            "signature: root version 3",
            1,
            "root version 3 does not follow the trusted root version 2",
            spec(|fx| Spec { corrupt_sig: vec!["root"], root_version: 3, ..fx.update() }),
        ),
        case(
            "signature: timestamp signed by the snapshot key under the timestamp key's ID",
            1,
            "timestamp: valid signatures from 0 key(s)",
            spec(|fx| Spec { timestamp_signer: Some(fx.snapshot.clone()), ..fx.update() }),
        ),
        case(
            "signature: timestamp with no signatures",
            1,
            "timestamp: valid signatures from 0 key(s)",
            spec(|fx| {
                let mut s = fx.update();
                s.bytes_hook = hook(|role, b| {
                    if role == "timestamp" {
                        let at = b.windows(15).position(|w| w == b",\"signatures\":[").unwrap();
                        b.truncate(at);
                        b.extend_from_slice(b",\"signatures\":[]}");
                    }
                });
                s
            }),
        ),
        case(
            "threshold: targets needs 2, has 1",
            1,
            "targets: valid signatures from 1 key(s) do not meet the threshold of 2",
            spec(|fx| Spec { targets_threshold: 2, root_version: 3, ..fx.update() }),
        ),
        case(
            "threshold: root version 3 needs 2 root keys, has 1",
            1,
            "root: valid signatures from 1 key(s) do not meet the threshold of 2",
            spec(|fx| Spec { root_threshold: 2, root_version: 3, ..fx.update() }),
        ),
        case(
            "key ID: timestamp key ID does not match its content",
            1,
            "does not match its key content",
            spec(|fx| {
                let snapshot = fx.snapshot.public_key();
                let mut s = fx.update();
                s.root_version = 3;
                s.tweak_root = Some(Rc::new(move |r: &mut Root| {
                    let id = r.roles["timestamp"].keyids.as_ref().unwrap()[0].clone();
                    r.keys.insert(id, snapshot.clone());
                }));
                s
            }),
        ),
        // types and shapes
        case(
            "type: timestamp says Snapshot",
            1,
            "timestamp: \"_type\" is \"Snapshot\", expected \"Timestamp\"",
            with_hook("timestamp", b"\"_type\":\"Timestamp\"", b"\"_type\":\"Snapshot\""),
        ),
        case(
            "type: targets says Root",
            1,
            "targets: \"_type\" is \"Root\", expected \"Targets\"",
            with_hook("targets", b"\"_type\":\"Targets\"", b"\"_type\":\"Root\""),
        ),
        case(
            "type: root says Targets",
            1,
            "root: \"_type\" is \"Targets\", expected \"Root\"",
            with_hook("root", b"\"_type\":\"Root\"", b"\"_type\":\"Targets\""),
        ),
        case(
            "shape: unexpected top-level field",
            1,
            "timestamp: unexpected top-level field \"x\"",
            with_hook("timestamp", b"{\"signed\":", b"{\"x\":1,\"signed\":"),
        ),
        case(
            "shape: root lists a key with a private part",
            1,
            "a key in metadata carries a private part",
            with_hook("root", b"\"private\":null", b"\"private\":\"AAAA\""),
        ),
        case(
            "shape: root without a snapshot role",
            1,
            "root lists no \"snapshot\" role",
            spec(|fx| {
                let mut s = fx.update();
                s.root_version = 3;
                s.tweak_root = Some(Rc::new(|r: &mut Root| {
                    r.roles.remove("snapshot");
                }));
                s
            }),
        ),
        case(
            "shape: targets version 0",
            1,
            "targets: version 0 is below 1",
            with_hook("targets", b"\"version\":3", b"\"version\":0"),
        ),
        // expiry
        case(
            "expired: timestamp",
            1,
            "example.com/team/app: timestamp expired at",
            spec(|fx| Spec { timestamp_expires: fx.now - Duration::days(1), ..fx.update() }),
        ),
        case(
            "expired: snapshot",
            1,
            "example.com/team/app: snapshot expired at",
            spec(|fx| Spec { snapshot_expires: fx.now - Duration::days(1), ..fx.update() }),
        ),
        case(
            "expired: targets",
            1,
            "example.com/team/app: targets expired at",
            spec(|fx| Spec { targets_expires: fx.now - Duration::days(1), ..fx.update() }),
        ),
        case(
            "expired: root version 3",
            1,
            "example.com/team/app: root expired at",
            spec(|fx| Spec {
                root_expires: fx.now - Duration::days(1),
                root_version: 3,
                ..fx.update()
            }),
        ),
        // rollback against the trusted import (every trusted version is 2)
        case(
            "rollback: timestamp",
            1,
            "timestamp version 1 is lower than version 2 this home already trusts (rollback)",
            spec(|fx| Spec { timestamp_version: 1, ..fx.update() }),
        ),
        case(
            "rollback: snapshot",
            1,
            "snapshot version 1 is lower than version 2 this home already trusts",
            spec(|fx| Spec { snapshot_version: 1, ..fx.update() }),
        ),
        case(
            "rollback: targets",
            1,
            "app: targets version 1 is lower than version 2 this home already trusts",
            spec(|fx| Spec { targets_version: 1, ..fx.update() }),
        ),
        case(
            "rollback: targets/releases",
            1,
            "targets/releases version 1 is lower than version 2 this home already trusts",
            spec(|fx| Spec { releases_version: 1, ..fx.update() }),
        ),
        case(
            "rollback: root",
            1,
            "root version 1 is lower than version 2 this home already trusts",
            spec(|fx| Spec { root_version: 1, history: vec![], ..fx.update() }),
        ),
        // same version, other bytes
        case(
            "same version changed: timestamp",
            1,
            "timestamp version 2 differs from the version 2 this home trusts",
            spec(|fx| {
                let t = fx.trusted();
                Spec { timestamp_expires: t.timestamp_expires - Duration::hours(1), ..t }
            }),
        ),
        case(
            "same version changed: snapshot",
            1,
            "snapshot version 2 differs from the version 2 this home trusts",
            spec(|fx| {
                let t = fx.trusted();
                Spec {
                    timestamp_version: 3,
                    snapshot_expires: t.snapshot_expires - Duration::hours(1),
                    ..t
                }
            }),
        ),
        case(
            "same version changed: targets",
            1,
            "app: targets version 2 differs from the version 2 this home trusts",
            spec(|fx| {
                let mut t = fx.trusted();
                t.timestamp_version = 3;
                t.snapshot_version = 3;
                t.targets_files.push(("evil".into(), b"evil".to_vec()));
                t
            }),
        ),
        case(
            "same version changed: targets/releases",
            1,
            "targets/releases version 2 differs from the version 2 this home trusts",
            spec(|fx| {
                let mut s = fx.update();
                s.releases_version = 2;
                s.releases_files.push(("evil".into(), b"evil".to_vec()));
                s
            }),
        ),
        case(
            "same version changed: root",
            1,
            "the server's root version 2 is not the root this home trusts",
            spec(|fx| {
                let s = fx.update();
                Spec { root_expires: s.root_expires - Duration::hours(1), ..s }
            }),
        ),
        // hashes (mix-and-match: validly signed files from another state)
        case(
            "mix: targets of another length than snapshot lists",
            1,
            "targets does not match the length hash or length that snapshot lists for it",
            repo(|fx| {
                let mut a = fx.update().build();
                let mut other = fx.update();
                other.targets_files.push(("evil".into(), b"evil".to_vec()));
                a.metadata.insert("targets".into(), other.build().metadata["targets"].clone());
                a
            }),
        ),
        case(
            "mix: targets of the same length, other sha256",
            1,
            "app: targets does not match the sha256 hash or length that snapshot lists",
            repo(|fx| {
                let mut a = fx.update().build();
                let mut other = fx.update();
                other.targets_files[0].0 = "lateso".into();
                let b = other.build().metadata["targets"].clone();
                assert_eq!(b.len(), a.metadata["targets"].len());
                a.metadata.insert("targets".into(), b);
                a
            }),
        ),
        case(
            "mix: root version 3 where snapshot lists version 2",
            1,
            "app: root does not match the",
            repo(|fx| {
                let mut a = fx.update().build();
                let b = Spec { root_version: 3, ..fx.update() }.build();
                a.metadata.insert("root".into(), b.metadata["root"].clone());
                a
            }),
        ),
        case(
            "mix: targets/releases other than snapshot lists",
            1,
            "targets/releases does not match the",
            repo(|fx| {
                let mut a = fx.update().build();
                let mut other = fx.update();
                other.releases_files[0].1 = b"v1.1 evil manifest".to_vec();
                a.metadata.insert(RELEASES.into(), other.build().metadata[RELEASES].clone());
                a
            }),
        ),
        // Delegations are parsed while snapshot's digests are worked out, but a file that is
        // both unlisted content and unparseable is still refused for the hash first (step 3
        // before step 5), large or small.
        case(
            "mix: targets/releases replaced by bytes that do not parse",
            1,
            "targets/releases does not match the",
            repo(|fx| {
                let mut a = fx.update().build();
                a.metadata.insert(RELEASES.into(), b"{\"signed\":".to_vec());
                a
            }),
        ),
        case(
            "mix: targets/releases replaced by 2 MiB that do not parse",
            1,
            "targets/releases does not match the",
            repo(|fx| {
                let mut a = fx.update().build();
                // Incompressible, so that the bundle layer's bomb guard lets it through.
                let mut x = 0x9e37_79b9_7f4a_7c15_u64;
                let noise = (0..2 << 20).map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                });
                a.metadata.insert(RELEASES.into(), b"[".iter().copied().chain(noise).collect());
                a
            }),
        ),
        case(
            "mix: snapshot other than timestamp lists",
            1,
            "snapshot does not match the sha256 hash or length that timestamp lists",
            repo(|fx| {
                let mut a = fx.update().build();
                let s = fx.update();
                let other = Spec { snapshot_expires: s.snapshot_expires - Duration::hours(1), ..s };
                a.metadata.insert("snapshot".into(), other.build().metadata["snapshot"].clone());
                a
            }),
        ),
        case(
            "hash: timestamp lists snapshot without sha256",
            1,
            "snapshot does not match the sha256 hash or length that timestamp lists",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_timestamp = Some(Rc::new(|t: &mut Timestamp| {
                    t.meta.get_mut("snapshot").unwrap().hashes.remove("sha256");
                }));
                s
            }),
        ),
        case(
            "hash: timestamp lists a wrong sha512 for snapshot",
            1,
            "snapshot does not match the sha512 hash",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_timestamp = Some(Rc::new(|t: &mut Timestamp| {
                    let h = t.meta.get_mut("snapshot").unwrap().hashes.get_mut("sha512").unwrap();
                    h[0] ^= 1;
                }));
                s
            }),
        ),
        case(
            "listing: timestamp does not list snapshot",
            1,
            "snapshot is in the bundle but timestamp does not list it",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_timestamp = Some(Rc::new(|t: &mut Timestamp| t.meta.clear()));
                s
            }),
        ),
        case(
            "listing: delegation not listed in snapshot",
            1,
            "targets/releases is in the bundle but snapshot does not list it",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_snapshot = Some(Rc::new(|sn: &mut Snapshot| {
                    sn.meta.remove(RELEASES);
                }));
                s
            }),
        ),
        case(
            "listing: targets not listed in snapshot",
            1,
            "app: targets is in the bundle but snapshot does not list it",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_snapshot = Some(Rc::new(|sn: &mut Snapshot| {
                    sn.meta.remove("targets");
                }));
                s
            }),
        ),
        case(
            "listing: snapshot lists a delegation the bundle lacks",
            1,
            "targets/releases is missing from the bundle",
            repo(|fx| {
                let mut a = fx.update().build();
                a.metadata.remove(RELEASES);
                a
            }),
        ),
        case(
            "listing: snapshot lists a made-up delegation",
            1,
            "targets/ghost is missing from the bundle",
            spec(|fx| {
                let mut s = fx.update();
                s.tweak_snapshot = Some(Rc::new(|sn: &mut Snapshot| {
                    sn.meta.insert("targets/ghost".into(), file_meta(b"{}"));
                }));
                s
            }),
        ),
        case(
            "missing: timestamp",
            1,
            "app: timestamp is missing from the bundle",
            repo(|fx| {
                let mut a = fx.update().build();
                a.metadata.remove("timestamp");
                a
            }),
        ),
        case(
            "missing: root",
            1,
            "app: root is missing from the bundle",
            repo(|fx| {
                let mut a = fx.update().build();
                a.metadata.remove("root");
                a
            }),
        ),
        // the root chain and root certificates
        case(
            "root chain: version 3 signed only by a new key",
            1,
            "version 3 is not signed by the keys of root version 2",
            spec(|fx| {
                let new = RootKey::new(GUN, fx.now - Duration::hours(1));
                let root_keys = vec![new.clone()];
                Spec { root_version: 3, root_keys, root_signers: vec![new], ..fx.update() }
            }),
        ),
        case(
            "root chain: version 4 without version 3",
            1,
            "the bundle lacks root version 3",
            spec(|fx| Spec { root_version: 4, ..fx.update() }),
        ),
        case(
            "root chain: history version 3 is really version 4",
            1,
            "the file for version 3 says otherwise",
            repo(|fx| {
                let mut a = Spec { root_version: 4, ..fx.update() }.build();
                a.history.insert(3, a.metadata["root"].clone());
                a
            }),
        ),
        case(
            "root certificate: CN of another GUN",
            1,
            "CN \"example.com/team/other\" does not match GUN \"example.com/team/app\"",
            spec(|fx| {
                let new = RootKey::new("example.com/team/other", fx.now - Duration::hours(1));
                Spec {
                    root_version: 3,
                    root_keys: vec![new.clone()],
                    root_signers: vec![fx.root.clone(), new],
                    ..fx.update()
                }
            }),
        ),
        case(
            "root certificate: expired",
            1,
            "certificate \"example.com/team/app\" expired at",
            spec(|fx| {
                let new = RootKey::new(GUN, fx.now - Duration::days(3651));
                Spec {
                    root_version: 3,
                    root_keys: vec![new.clone()],
                    root_signers: vec![fx.root.clone(), new],
                    ..fx.update()
                }
            }),
        ),
        case(
            "root certificate: not yet valid",
            1,
            "certificate \"example.com/team/app\" is not valid before",
            spec(|fx| {
                let new = RootKey::new(GUN, fx.now + Duration::days(2));
                Spec {
                    root_version: 3,
                    root_keys: vec![new.clone()],
                    root_signers: vec![fx.root.clone(), new],
                    ..fx.update()
                }
            }),
        ),
        case(
            "root certificate: a bare ecdsa root key",
            1,
            "holds no certificate",
            spec(|fx| {
                // root version 3 lists the bare key behind the certificate, signed by both IDs
                let bare_pub = fx.root.key.public_key();
                let mut s = fx.update();
                s.root_version = 3;
                s.tweak_root = Some(Rc::new(move |r: &mut Root| {
                    let id = bare_pub.id();
                    r.keys.insert(id.clone(), bare_pub.clone());
                    r.roles.get_mut("root").unwrap().keyids.as_mut().unwrap().push(id);
                }));
                s
            }),
        ),
        // strict JSON (each re-hashed by snapshot and timestamp, so the parser is reached)
        case(
            "json: malformed (targets cut short)",
            1,
            "app: targets: invalid JSON",
            spec(|fx| {
                let mut s = fx.update();
                s.bytes_hook = hook(|role, b| {
                    if role == "targets" {
                        b.truncate(b.len() - 1);
                    }
                });
                s
            }),
        ),
        case(
            "json: duplicate key",
            1,
            "timestamp: invalid JSON at byte",
            with_hook("timestamp", b"{\"signed\":{", b"{\"signed\":{\"version\":3,"),
        ),
        case(
            "json: duplicate key (message names it)",
            1,
            "duplicate key \"version\"",
            with_hook("timestamp", b"{\"signed\":{", b"{\"signed\":{\"version\":3,"),
        ),
        case(
            "json: integer beyond 2^53",
            1,
            "integer 9007199254740993 is beyond 2^53",
            with_hook("targets", b"\"version\":3", b"\"version\":9007199254740993"),
        ),
        case(
            "json: float",
            1,
            "only integers are allowed in Notary metadata",
            with_hook("targets", b"\"version\":3", b"\"version\":3.0"),
        ),
        case(
            "json: exponent",
            1,
            "only integers are allowed in Notary metadata",
            with_hook("targets", b"\"version\":3", b"\"version\":3e0"),
        ),
        case(
            "json: control character in a delegation's target name",
            1,
            "targets/releases: a string holds a control character",
            with_hook(RELEASES, b"\"v1.1\":", b"\"v1\\u0001\":"),
        ),
        case(
            "json: raw DEL in a delegation's target custom data",
            1,
            "targets/releases: a string holds a control character",
            with_hook(
                RELEASES,
                b"\"v1.1\":{\"hashes\"",
                b"\"v1.1\":{\"custom\":\"x\x7f\",\"hashes\"",
            ),
        ),
        case(
            "json: raw DEL in a key of a target's custom data",
            1,
            "targets: a string holds a control character",
            with_hook(
                "targets",
                b"\"latest\":{\"hashes\"",
                b"\"latest\":{\"custom\":{\"\x7f\":1},\"hashes\"",
            ),
        ),
        case(
            "json: control character in a target name",
            1,
            "targets: a string holds a control character",
            with_hook("targets", b"\"latest\":", b"\"lat\\u001bst\":"),
        ),
        case(
            "json: invalid UTF-8 in a string",
            1,
            "string is not valid UTF-8",
            with_hook("targets", b"\"latest\":", b"\"lat\xffst\":"),
        ),
        case(
            "json: lone surrogate escape",
            1,
            "lone surrogate in \\u escape",
            with_hook("targets", b"\"latest\":", b"\"lat\\ud800st\":"),
        ),
        case(
            "json: not a JSON object",
            1,
            "timestamp: the file is not a JSON object",
            spec(|fx| {
                let mut s = fx.update();
                s.bytes_hook = hook(|role, b| {
                    if role == "timestamp" {
                        *b = b"[1,2,3]".to_vec();
                    }
                });
                s
            }),
        ),
        // server keys
        case(
            "server key: timestamp key not listed in root",
            1,
            "is not the one root lists for timestamp",
            spec(|fx| {
                let s = fx.update();
                let mut keys = s.clone().build().server_keys;
                keys.insert("timestamp".into(), other_key_json());
                Spec { server_keys: Some(keys), ..s }
            }),
        ),
        case(
            "server key: snapshot key not listed in root",
            1,
            "is not the one root lists for snapshot",
            spec(|fx| {
                let s = fx.update();
                let mut keys = s.clone().build().server_keys;
                keys.insert("snapshot".into(), other_key_json());
                Spec { server_keys: Some(keys), ..s }
            }),
        ),
        case(
            "server key: 3-byte ed25519",
            1,
            "the server's timestamp key is not usable",
            spec(|fx| {
                let s = fx.update();
                let mut keys = s.clone().build().server_keys;
                let bad = PublicKey::new(KeyType::Ed25519, vec![1, 2, 3]);
                keys.insert("timestamp".into(), server_key_json(&bad));
                Spec { server_keys: Some(keys), ..s }
            }),
        ),
        case(
            "server key: malformed JSON",
            1,
            "server timestamp key: invalid JSON",
            spec(|fx| {
                let s = fx.update();
                let mut keys = s.clone().build().server_keys;
                keys.insert("timestamp".into(), b"{\"keytype\":\"ecdsa\"".to_vec());
                Spec { server_keys: Some(keys), ..s }
            }),
        ),
        case(
            "server key: with a private part",
            1,
            "carries a private part",
            spec(|fx| {
                let s = fx.update();
                let mut keys = s.clone().build().server_keys;
                let mut k = keys["timestamp"].clone();
                replace_once(&mut k, b"\"private\":null", b"\"private\":\"AAAA\"");
                keys.insert("timestamp".into(), k);
                Spec { server_keys: Some(keys), ..s }
            }),
        ),
        // delegations that fail verification are kept as invalid (Notary's rule), but they
        // must not undo what this home trusts
        case(
            "rollback: targets/releases version 1 whose signature is also broken",
            1,
            "targets/releases version 1 is lower than version 2 this home already trusts",
            spec(|fx| Spec { releases_version: 1, corrupt_sig: vec![RELEASES], ..fx.update() }),
        ),
        case(
            "same version changed: targets/releases version 2, other content, signature broken",
            1,
            "targets/releases version 2 differs from the version 2 this home trusts",
            spec(|fx| {
                let mut s = fx.update();
                s.releases_version = 2;
                s.releases_files.push(("evil".into(), b"evil".to_vec()));
                s.corrupt_sig = vec![RELEASES];
                s
            }),
        ),
        // several GUNs: one bad GUN refuses the whole bundle, and the message names it
        case(
            "multi: valid update, plus a new GUN with a bad timestamp signature",
            1,
            "example.com/team/other: timestamp: valid signatures from 0 key(s)",
            repos(|fx| {
                let other = Spec { corrupt_sig: vec!["timestamp"], ..other_spec(fx) };
                vec![fx.update().build(), other.build()]
            }),
        ),
        case(
            "multi: valid update, plus a new GUN whose root is not of type Root",
            1,
            "example.com/team/other: root: \"_type\" is \"Targets\"",
            repos(|fx| {
                let mut other = other_spec(fx);
                other.bytes_hook = hook(|role, b| {
                    if role == "root" {
                        replace_once(b, b"\"_type\":\"Root\"", b"\"_type\":\"Targets\"")
                    }
                });
                vec![fx.update().build(), other.build()]
            }),
        ),
        case(
            "multi: a new GUN that is a rollback of nothing but replays the trusted GUN's files",
            1,
            "example.com/team/other",
            repos(|fx| {
                // the trusted GUN's own files presented under another GUN: its root
                // certificate's CN names the wrong GUN
                let mut other = fx.update().build();
                other.gun = OTHER.to_string();
                vec![fx.update().build(), other]
            }),
        ),
        // the GUN's status
        case(
            "gun: marked new although this home trusts it",
            1,
            "the server has no trust data, but this home trusts root version 2",
            repo(|fx| Repo { new: true, ..fx.update().build() }),
        ),
        // pins
        Case {
            args: vec!["--root-keyid".into(), "ab".repeat(32)],
            ..case(
                "pin: --root-keyid of another key",
                1,
                "the root is not signed by the pinned root key abab",
                spec(|fx| fx.update()),
            )
        },
    ]
}

#[test]
fn metadata_layer() {
    let fx = Fixture::new();
    let template = trusted_home(&fx);
    run(&fx, Some(&template.path().join("home")), metadata_cases());
}

// ---------------------------------------------------------------------------------------------
// First import on an empty home: nothing may be left behind
