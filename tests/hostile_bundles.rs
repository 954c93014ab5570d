//! Hostile pull bundles against the real `airlock import` binary (issue 4, acceptance part 1).
//!
//! Each case starts from a valid bundle (`Fixture::update`: the next pull after what the home
//! trusts) and applies one mutation. Where the mutation is "valid signatures, one rule
//! broken", the repository is re-signed consistently with airlock's own library, so the case
//! reaches the rule it is about; where it is a bundle-layer mutation meant to get past the
//! digest check, the manifest is recomputed. Every case asserts the exit code, a distinctive
//! part of stderr, and that the home's files are byte-for-byte unchanged.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

use airlock::crypto::{KeyType, PublicKey, SigningKey};
use airlock::tuf::metadata::{Root, Snapshot, Timestamp};
use support::*;
use tar::EntryType;
use time::Duration;

/// How a case makes its bundle.
type Make = Box<dyn Fn(&Fixture, &Path)>;

struct Case {
    name: &'static str,
    make: Make,
    args: Vec<String>,
    code: i32,
    needle: String,
}

fn case(name: &'static str, code: i32, needle: &str, make: Make) -> Case {
    Case { name, make, args: Vec::new(), code, needle: needle.to_string() }
}

/// A repository made from a spec, written with airlock's own bundle writer.
fn spec(f: impl Fn(&Fixture) -> Spec + 'static) -> Make {
    Box::new(move |fx, path| write_bundle(path, &[&f(fx).build()]))
}

/// A repository changed after it was built (files swapped in or out), written by airlock.
fn repo(f: impl Fn(&Fixture) -> Repo + 'static) -> Make {
    Box::new(move |fx, path| write_bundle(path, &[&f(fx)]))
}

/// The update bundle as crafted parts, changed by `f`.
fn raw(f: impl Fn(&Fixture, &mut RawBundle) + 'static) -> Make {
    Box::new(move |fx, path| {
        let repo = fx.update().build();
        let mut r = RawBundle::from_repos(&[&repo]);
        f(fx, &mut r);
        r.write(path);
    })
}

/// Bundle file bytes made directly.
fn bytes(f: impl Fn(&Fixture) -> Vec<u8> + 'static) -> Make {
    Box::new(move |fx, path| fs::write(path, f(fx)).unwrap())
}

/// Several repositories in one bundle, written by airlock.
fn repos(f: impl Fn(&Fixture) -> Vec<Repo> + 'static) -> Make {
    Box::new(move |fx, path| {
        let repos = f(fx);
        write_bundle(path, &repos.iter().collect::<Vec<_>>());
    })
}

/// A second GUN, new to the home.
const OTHER: &str = "example.com/team/other";

/// A fresh, valid repository for [`OTHER`] (its own root key and certificate).
fn other_spec(fx: &Fixture) -> Spec {
    let key = RootKey::new(OTHER, fx.now - Duration::hours(1));
    Spec {
        gun: OTHER.to_string(),
        root_keys: vec![key.clone()],
        root_signers: vec![key],
        ..fx.spec()
    }
}

fn path_of(role: &str) -> String {
    format!("repos/{GUN}/metadata/{role}.json")
}

fn hook(f: impl Fn(&str, &mut Vec<u8>) + 'static) -> BytesHook {
    Some(Rc::new(f))
}

/// `fx.update()` with a byte replacement in one role's signed file (re-hashed by snapshot and
/// timestamp, so the parser sees it).
fn with_hook(role: &'static str, from: &'static [u8], to: &'static [u8]) -> Make {
    spec(move |fx| {
        let mut s = fx.update();
        s.bytes_hook = hook(move |r, b| {
            if r == role {
                replace_once(b, from, to)
            }
        });
        s
    })
}

// ---------------------------------------------------------------------------------------------
// Running cases

/// A temporary directory holding a home that trusts `fx.trusted()`, imported by the binary.
fn trusted_home(fx: &Fixture) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("trusted.bundle");
    write_bundle(&bundle, &[&fx.trusted().build()]);
    let home = dir.path().join("home");
    let out = import(&home, &bundle, &[]);
    assert!(
        out.status.success(),
        "the trusted bundle must import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs every case in a fresh copy of `template` (or, with `None`, on a home directory that
/// does not exist yet) and fails with the list of every case that went wrong.
fn run(fx: &Fixture, template: Option<&Path>, cases: Vec<Case>) {
    let mut failures = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "case name {} used twice", c.name);
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        if let Some(t) = template {
            copy_tree(t, &home);
        }
        let before = home.exists().then(|| snapshot_tree(&home));
        let bundle = dir.path().join("pull.bundle");
        (c.make)(fx, &bundle);

        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let out = import(&home, &bundle, &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();

        let mut wrong = Vec::new();
        if code != Some(c.code) {
            wrong.push(format!("exit code {code:?}, expected {}", c.code));
        }
        if !stderr.contains(&c.needle) {
            wrong.push(format!("stderr lacks {:?}", c.needle));
        }
        match &before {
            Some(before) => {
                let after = snapshot_tree(&home);
                if &after != before {
                    wrong.push(format!("home changed: {}", diff(before, &after)));
                }
            }
            None => {
                if home.exists() {
                    let left: Vec<_> = snapshot_tree(&home).into_keys().collect();
                    wrong.push(format!("a home was left behind: {left:?}"));
                }
            }
        }
        if wrong.is_empty() {
            eprintln!("ok   {}: {}", c.name, stderr.trim());
        } else {
            eprintln!("FAIL {}: {}\n     stderr: {}", c.name, wrong.join("; "), stderr.trim());
            failures.push(format!("{}: {} (stderr: {})", c.name, wrong.join("; "), stderr.trim()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn diff(
    before: &BTreeMap<std::path::PathBuf, String>,
    after: &BTreeMap<std::path::PathBuf, String>,
) -> String {
    let mut out = Vec::new();
    for (p, v) in after {
        match before.get(p) {
            None => out.push(format!("+{}", p.display())),
            Some(old) if old != v => out.push(format!("~{}", p.display())),
            _ => {}
        }
    }
    for p in before.keys() {
        if !after.contains_key(p) {
            out.push(format!("-{}", p.display()));
        }
    }
    out.join(" ")
}

// ---------------------------------------------------------------------------------------------
// Controls: the unmutated bundles are accepted, so every refusal below is the mutation's doing

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
