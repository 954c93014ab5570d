//! Hostile pull bundles against the real `airlock import` binary (issue 4, acceptance part 1).
//!
//! Each case starts from a valid bundle (`Fixture::update`: the next pull after what the home
//! trusts) and applies one mutation. Where the mutation is "valid signatures, one rule
//! broken", the repository is re-signed consistently with airlock's own library, so the case
//! reaches the rule it is about; where it is a bundle-layer mutation meant to get past the
//! digest check, the manifest is recomputed. Every case asserts the exit code, a distinctive
//! part of stderr, and that the home's files are byte-for-byte unchanged.

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;

use support::cases::*;
use support::*;
use tar::EntryType;
use time::Duration;

#[test]
fn controls_valid_bundles_are_accepted() {
    let fx = Fixture::new();
    let template = trusted_home(&fx);
    let template = template.path().join("home");

    let accept = |name: &str, make: Make, args: &[&str], home: Option<&Path>| {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("home");
        if let Some(t) = home {
            copy_tree(t, &h);
        }
        let bundle = dir.path().join("pull.bundle");
        make(&fx, &bundle);
        // A dry run accepts it too, and changes nothing (not even creating the home).
        let before = h.exists().then(|| snapshot_tree(&h));
        let log_before = fs::read(h.join("audit/log.jsonl")).ok();
        let dry = import(&h, &bundle, &[args, &["--dry-run"]].concat());
        let dry_err = String::from_utf8_lossy(&dry.stderr);
        assert!(dry.status.success(), "{name}: dry run refused: {dry_err}");
        assert!(dry_err.contains("dry run: nothing changed"), "{name}: {dry_err}");
        // It says what import would do, never that it trusts or discards anything itself.
        assert!(!dry_err.contains(", trusting root key"), "{name}: {dry_err}");
        if home.is_none() && !args.contains(&"--root-keyid") {
            assert!(dry_err.contains("would trust root key"), "{name}: {dry_err}");
        }
        assert_eq!(before, h.exists().then(|| snapshot_tree(&h)), "{name}: dry run wrote");
        let log_after = fs::read(h.join("audit/log.jsonl")).ok();
        assert_eq!(log_before, log_after, "{name}: dry run recorded");
        let out = import(&h, &bundle, args);
        assert!(out.status.success(), "{name}: refused: {}", String::from_utf8_lossy(&out.stderr));
        snapshot_tree(&h)
    };

    let before = snapshot_tree(&template);
    let after = accept("update (airlock writer)", spec(|fx| fx.update()), &[], Some(&template));
    assert_ne!(before, after, "a valid update changes the home");
    accept("update (crafted writer)", raw(|_, _| {}), &[], Some(&template));
    accept("the trusted bundle again", spec(|fx| fx.trusted()), &[], Some(&template));
    accept("a fresh repository on an empty home", spec(|fx| fx.spec()), &[], None);
    let pin = fx.root.id().to_string();
    accept(
        "pinned root key (certificate ID), first sight",
        spec(|fx| fx.spec()),
        &["--root-keyid", &pin],
        None,
    );
    let canonical = fx.root.key.public_key().id().to_string();
    accept(
        "pinned root key (canonical ID), first sight",
        spec(|fx| fx.spec()),
        &["--root-keyid", &canonical],
        None,
    );

    accept(
        "two GUNs: the update and a new repository",
        repos(|fx| vec![fx.update().build(), other_spec(fx).build()]),
        &[],
        Some(&template),
    );
    // a proper root rotation to a new key (signed by the old and the new): what the root
    // certificate cases below break one rule of
    accept(
        "root rotation",
        spec(|fx| {
            let mut s = fx.update();
            let new = RootKey::new(GUN, fx.now - Duration::hours(1));
            s.root_version = 3;
            s.root_keys = vec![new.clone()];
            s.root_signers = vec![fx.root.clone(), new];
            s
        }),
        &[],
        Some(&template),
    );
    // a two-step rotation with the intermediate root in the history
    accept(
        "root version 4 with version 3 in the history",
        spec(|fx| {
            let mut s = fx.update();
            s.root_version = 4;
            s.history = vec![1, 2, 3];
            s
        }),
        &[],
        Some(&template),
    );
}

// ---------------------------------------------------------------------------------------------
// The bundle layer

fn bundle_cases() -> Vec<Case> {
    let targets = path_of("targets");
    let t = targets.clone();
    let rename = move |name: &'static str| -> Make {
        let t = t.clone();
        raw(move |_, r| {
            let i = r.find(&t);
            r.entries[i].name = name.as_bytes().to_vec();
        })
    };
    let t = targets.clone();
    let retype = move |kind: EntryType| -> Make {
        let t = t.clone();
        raw(move |_, r| {
            let i = r.find(&t);
            r.entries[i].kind = kind;
            if matches!(kind, EntryType::Symlink | EntryType::Link) {
                r.entries[i].link_name = Some(b"/etc/passwd".to_vec());
            }
            if kind != EntryType::Regular {
                r.entries[i].data.clear();
            }
        })
    };

    vec![
        // paths
        case(
            "path: absolute",
            1,
            "it is absolute",
            rename("/repos/example.com/team/app/metadata/targets.json"),
        ),
        case(
            "path: '..' segment",
            1,
            "it has a '..' segment",
            rename("repos/example.com/team/app/metadata/../metadata/targets.json"),
        ),
        case(
            "path: '.' segment",
            1,
            "it has a '.' segment",
            rename("repos/example.com/team/app/metadata/./targets.json"),
        ),
        case(
            "path: empty segment",
            1,
            "it has an empty segment",
            rename("repos/example.com/team/app/metadata//targets.json"),
        ),
        case(
            "path: backslash",
            1,
            "it contains a backslash",
            rename("repos/example.com/team/app/metadata\\targets.json"),
        ),
        case(
            "path: control character",
            1,
            "it contains a control character",
            rename("repos/example.com/team/app/metadata/targets\n.json"),
        ),
        case(
            "path: not UTF-8",
            1,
            "it is not UTF-8",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let n = r.entries[i].name.len();
                r.entries[i].name[n - 7] = 0xff;
            }),
        ),
        // entry types
        case("type: symbolic link", 1, "is a symbolic link", retype(EntryType::Symlink)),
        case("type: hard link", 1, "is a hard link", retype(EntryType::Link)),
        case("type: character device", 1, "is a character device", retype(EntryType::Char)),
        case("type: block device", 1, "is a block device", retype(EntryType::Block)),
        case("type: FIFO", 1, "is a FIFO", retype(EntryType::Fifo)),
        case("type: contiguous file", 1, "is a contiguous file", retype(EntryType::Continuous)),
        case(
            "type: directory entry",
            1,
            "is a directory",
            raw(|_, r| {
                let mut dir = RawEntry::file("repos/", b"");
                dir.kind = EntryType::Directory;
                r.entries.insert(0, dir);
            }),
        ),
        case(
            "type: PAX extended header",
            1,
            "PAX extended header",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let record = b"30 path=repos/evil/targets.json\n";
                let mut pax = RawEntry::file("././@PaxHeader", record);
                pax.kind = EntryType::XHeader;
                r.entries.insert(i, pax);
            }),
        ),
        case(
            "type: GNU long name that does not extend the header name",
            1,
            "a GNU long name that does not extend",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let mut long = path_of("targets").into_bytes();
                long.push(0);
                let mut l = RawEntry::file("././@LongLink", &long);
                l.kind = EntryType::GNULongName;
                r.entries[i].name = b"evil.json".to_vec();
                r.entries.insert(i, l);
            }),
        ),
        // entries against the manifest
        case(
            "entry: duplicate",
            1,
            "appears twice in the archive",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let dup = r.entries[i].clone();
                r.entries.insert(i + 1, dup);
            }),
        ),
        case(
            "entry: second manifest.json",
            1,
            "\"manifest.json\" appears twice",
            raw(|_, r| {
                let m = RawEntry::file("manifest.json", &r.manifest_bytes());
                r.entries.push(m);
            }),
        ),
        case(
            "entry: in the archive, not in the manifest",
            1,
            "is in the archive but not in the manifest",
            raw(|_, r| {
                let extra = format!("repos/{GUN}/metadata/targets/zzz.json");
                r.entries.push(RawEntry::file(&extra, b"{}"));
            }),
        ),
        case(
            "entry: unknown path outside repos/<GUN>/ (listed)",
            1,
            "is not under repos/<GUN>/ for any GUN",
            raw(|_, r| {
                r.entries.insert(0, RawEntry::file("notes.txt", b"hello"));
                r.relist();
            }),
        ),
        case(
            "entry: unknown file kind under the GUN (listed)",
            1,
            "is not a valid file for GUN example.com/team/app",
            raw(|_, r| {
                let p = format!("repos/{GUN}/server-keys/root.json");
                let i = r.entries.iter().position(|e| e.name > p.as_bytes().to_vec()).unwrap();
                r.entries.insert(i, RawEntry::file(&p, b"{}"));
                r.relist();
            }),
        ),
        case(
            "entry: path that belongs to two GUNs",
            1,
            "could belong to more than one GUN",
            raw(|_, r| {
                let inner = format!("{GUN}/metadata/targets");
                let guns = r.manifest["guns"].as_array_mut().unwrap();
                guns.push(serde_json::json!({"gun": inner, "new": true}));
                let p = format!("repos/{inner}/metadata/root.json");
                r.entries.push(RawEntry::file(&p, b"{}"));
                r.entries.sort_by(|a, b| a.name.cmp(&b.name));
                r.relist();
            }),
        ),
        case(
            "entry: manifest not first",
            1,
            "is \"repos/example.com/team/app/metadata/history/1.root.json\", not manifest.json",
            raw(|_, r| r.manifest_index = 1),
        ),
        case(
            "entry: missing (targets.json removed)",
            1,
            "metadata/targets.json\" is listed in the manifest but is missing from the archive",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                r.entries.remove(i);
            }),
        ),
        case(
            "entry: last one missing",
            1,
            "timestamp.json\" is listed in the manifest but is missing from the archive;",
            raw(|_, r| {
                r.entries.pop();
            }),
        ),
        case(
            "entry: out of manifest order",
            1,
            "out of order",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                r.entries.swap(i, i + 1);
            }),
        ),
        case(
            "entry: digest mismatch",
            1,
            "metadata/targets.json\" has sha256",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let b = &mut r.entries[i].data;
                let at = b.len() / 2;
                b[at] ^= 0x20;
            }),
        ),
        case(
            "entry: length mismatch (manifest says one byte more)",
            1,
            "the manifest says",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                let p = String::from_utf8(r.entries[i].name.clone()).unwrap();
                for e in r.manifest["entries"].as_array_mut().unwrap() {
                    if e["path"] == p.as_str() {
                        let n = e["length"].as_u64().unwrap();
                        e["length"] = (n + 1).into();
                    }
                }
            }),
        ),
        case(
            "entry: manifest sha256 not lowercase hex",
            1,
            "not 64 lowercase hex digits",
            raw(|_, r| {
                let e = &mut r.manifest["entries"][0];
                let upper = e["sha256"].as_str().unwrap().to_uppercase();
                e["sha256"] = upper.into();
            }),
        ),
        case(
            "entry: manifest entries unsorted",
            1,
            "entries must be sorted by path",
            raw(|_, r| {
                let entries = r.manifest["entries"].as_array_mut().unwrap();
                entries.swap(0, 1);
            }),
        ),
        // the end of the archive and of the frame
        case(
            "end: garbage after the end-of-archive marker",
            1,
            "continues after the end-of-archive marker",
            raw(|_, r| r.after_archive = b"garbage".to_vec()),
        ),
        case(
            "end: a second archive after the end-of-archive marker",
            1,
            "continues after the end-of-archive marker",
            raw(|_, r| r.after_archive = r.tar()),
        ),
        case(
            "end: no end-of-archive marker",
            1,
            "end-of-archive",
            raw(|_, r| r.end_marker = false),
        ),
        case(
            "end: garbage after the zstd frame",
            1,
            "continues after the zstd frame",
            raw(|_, r| r.after_frame = b"garbage".to_vec()),
        ),
        case(
            "end: a second zstd frame",
            1,
            "continues after the zstd frame",
            raw(|_, r| r.after_frame = zstd_frame(&r.tar())),
        ),
        case(
            "end: a skippable zstd frame after the frame",
            1,
            "continues after the zstd frame",
            raw(|_, r| {
                let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0];
                skippable.extend_from_slice(b"evil");
                r.after_frame = skippable;
            }),
        ),
        case(
            "end: archive cut inside the last entry",
            1,
            "timestamp.json",
            bytes(|fx| {
                let repo = fx.update().build();
                let r = RawBundle::from_repos(&[&repo]);
                let mut r2 = r.clone();
                r2.end_marker = false;
                let mut tar = r2.tar();
                let cut = tar.len() - 512 + 10; // 10 bytes into the last block of data
                tar.truncate(cut.min(tar.len() - 100));
                zstd_frame(&tar)
            }),
        ),
        // limits
        case(
            "limit: 2 MiB timestamp.json",
            1,
            "timestamp.json is 2097152 bytes, more than the limit of 1048576",
            raw(|_, r| {
                let i = r.find(&path_of("timestamp"));
                let mut big = r.entries[i].data.clone();
                big.resize(2 * 1024 * 1024, b' ');
                r.entries[i].data = big;
                r.relist();
            }),
        ),
        case(
            "limit: 2 MiB server key",
            1,
            "more than the limit of 1048576",
            raw(|_, r| {
                let p = format!("repos/{GUN}/server-keys/timestamp.json");
                let i = r.find(&p);
                let mut big = r.entries[i].data.clone();
                big.resize(2 * 1024 * 1024, b' ');
                r.entries[i].data = big;
                r.relist();
            }),
        ),
        case(
            "limit: manifest.json header claims 17 MiB",
            1,
            "manifest.json is 17825792 bytes, more than the limit of 16777216",
            bytes(|fx| {
                let repo = fx.update().build();
                let r = RawBundle::from_repos(&[&repo]);
                let mut tar = r.tar();
                // the manifest is the first header: rewrite its size field and checksum
                let mut h = tar::Header::new_old();
                h.as_mut_bytes().copy_from_slice(&tar[..512]);
                h.set_size(17 * 1024 * 1024);
                h.set_cksum();
                tar[..512].copy_from_slice(h.as_bytes());
                zstd_frame(&tar)
            }),
        ),
        case(
            "limit: decompression bomb (64 MiB of zeros, properly listed)",
            1,
            "looks like a decompression bomb",
            raw(|_, r| {
                let i = r.find(&path_of("targets"));
                r.entries[i].data = vec![0u8; 64 * 1024 * 1024];
                r.relist();
            }),
        ),
        // the container
        case(
            "zstd: garbage",
            1,
            "is not a valid zstd-compressed tar stream",
            bytes(|_| (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ),
        case(
            "zstd: truncated frame",
            1,
            "is not a valid zstd-compressed tar stream",
            bytes(|fx| {
                let repo = fx.update().build();
                let mut b = RawBundle::from_repos(&[&repo]).to_bytes();
                b.truncate(b.len() / 2);
                b
            }),
        ),
        case(
            "zstd: an uncompressed tar",
            1,
            "is not a valid zstd-compressed tar stream",
            bytes(|fx| RawBundle::from_repos(&[&fx.update().build()]).tar()),
        ),
        case("zstd: empty file", 1, "is not a valid zstd-compressed tar stream", bytes(|_| vec![])),
        case(
            "zstd: window larger than 16 MiB",
            1,
            "is not a valid zstd-compressed tar stream",
            bytes(|fx| {
                let tar = RawBundle::from_repos(&[&fx.update().build()]).tar();
                let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
                enc.window_log(27).unwrap();
                enc.long_distance_matching(true).unwrap();
                enc.write_all(&tar).unwrap();
                enc.finish().unwrap()
            }),
        ),
        case("tar: empty archive", 1, "has no manifest.json", bytes(|_| zstd_frame(&[0u8; 1024]))),
        // the manifest
        case(
            "manifest: kind response",
            1,
            "response bundle",
            raw(|_, r| {
                r.manifest["kind"] = "response".into();
                r.manifest["answers"] = "a".repeat(64).into();
            }),
        ),
        case(
            "manifest: unknown kind",
            1,
            "manifest kind \"push\" is unknown",
            raw(|_, r| r.manifest["kind"] = "push".into()),
        ),
        case(
            "manifest: format_version 2",
            1,
            "bundle format_version 2 is not supported",
            raw(|_, r| r.manifest["format_version"] = 2.into()),
        ),
        case(
            "manifest: not an airlock bundle",
            1,
            "this is not an airlock bundle",
            raw(|_, r| r.manifest["format"] = "other-bundle".into()),
        ),
        case(
            "manifest: invalid GUN",
            1,
            "manifest lists an invalid GUN",
            raw(|_, r| r.manifest["guns"][0]["gun"] = "example.com/../app".into()),
        ),
        case(
            "manifest: GUN listed twice",
            1,
            "manifest lists GUN example.com/team/app twice",
            raw(|_, r| {
                let g = r.manifest["guns"][0].clone();
                r.manifest["guns"].as_array_mut().unwrap().push(g);
            }),
        ),
        case(
            "manifest: unknown field",
            1,
            "unknown field `signature`",
            raw(|_, r| r.manifest["signature"] = "trust me".into()),
        ),
        case(
            "manifest: duplicate key",
            1,
            "duplicate field `kind`",
            raw(|_, r| {
                let text = String::from_utf8(r.manifest_bytes()).unwrap();
                let kind = "\"kind\": \"pull\",";
                let dup = text.replacen(kind, &format!("{kind}\n  {kind}"), 1);
                assert_ne!(dup, text);
                r.manifest_bytes = Some(dup.into_bytes());
            }),
        ),
        case(
            "manifest: not JSON",
            1,
            "manifest.json is not valid",
            raw(|_, r| r.manifest_bytes = Some(b"{\"format\": \"airlock-bundle\",".to_vec())),
        ),
    ]
}

#[test]
fn bundle_layer() {
    let fx = Fixture::new();
    let template = trusted_home(&fx);
    run(&fx, Some(&template.path().join("home")), bundle_cases());
}

// ---------------------------------------------------------------------------------------------

#[test]
fn first_import_leaves_no_home() {
    let fx = Fixture::new();
    let cases = vec![
        case(
            "first: root signature",
            1,
            "app: root: valid signatures from 0 key(s) do not meet the threshold of 1",
            spec(|fx| Spec { corrupt_sig: vec!["root"], ..fx.spec() }),
        ),
        Case {
            args: vec!["--root-keyid".into(), "cd".repeat(32)],
            ..case(
                "first: pinned root key mismatch",
                1,
                "the root is not signed by the pinned root key cdcd",
                spec(|fx| fx.spec()),
            )
        },
        Case {
            args: vec!["--root-keyid".into(), "not-a-key-id".into()],
            ..case(
                "first: --root-keyid not a key ID (usage)",
                2,
                "--root-keyid \"not-a-key-id\" is not a key ID",
                spec(|fx| fx.spec()),
            )
        },
        case(
            "first: root certificate CN of another GUN",
            1,
            "does not match GUN \"example.com/team/app\"",
            spec(|fx| {
                let other = RootKey::new("example.com/team/other", fx.now - Duration::hours(1));
                Spec { root_keys: vec![other.clone()], root_signers: vec![other], ..fx.spec() }
            }),
        ),
        case(
            "first: expired timestamp",
            1,
            "timestamp expired at",
            spec(|fx| Spec { timestamp_expires: fx.now - Duration::days(1), ..fx.spec() }),
        ),
        case(
            "first: digest mismatch",
            1,
            "has sha256",
            raw(|_, r| {
                let i = r.find(&path_of("root"));
                let n = r.entries[i].data.len();
                r.entries[i].data[n - 3] ^= 1;
            }),
        ),
        case(
            "first: garbage file",
            1,
            "is not a valid zstd-compressed tar stream",
            bytes(|_| b"not a bundle at all".to_vec()),
        ),
        case(
            "first: missing bundle file (could not run)",
            2,
            "cannot open bundle",
            Box::new(|_, path| {
                let _ = fs::remove_file(path);
            }),
        ),
    ];
    run(&fx, None, cases);
}

/// A delegation nobody known signed is kept (Notary's client rule) but its content is never
/// re-signed as approved: `witness` refuses it unless the operator vouches for it.
#[test]
fn witness_refuses_content_nobody_signed() {
    let fx = Fixture::new();
    let dir = trusted_home(&fx);
    let home = dir.path().join("home");

    let bundle = dir.path().join("planted.bundle");
    let mut s = fx.update();
    s.releases_version = 3;
    s.releases_files.push(("evil".into(), b"evil".to_vec()));
    s.corrupt_sig = vec![RELEASES];
    write_bundle(&bundle, &[&s.build()]);
    let out = import(&home, &bundle, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("targets/releases is not valid"), "{stderr}");

    let out = airlock(&home, &["witness", GUN, RELEASES]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("never approved"), "{stderr}");

    let out = airlock(&home, &["witness", GUN, RELEASES, "--trust-content"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
