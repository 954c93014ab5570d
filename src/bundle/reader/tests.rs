use std::io::{self, Write};

use serde_json::json;
use tar::{EntryType, Header};

use super::super::testutil::{
    header, manifest_value, pax_record, read_file_bytes, read_tar, refuse, repo_path, sample, zstd,
    Craft, GUN,
};
use super::super::{write, PathRule};
use super::*;

const MIB: u64 = 1024 * 1024;

fn root() -> String {
    repo_path("metadata/root.json")
}

fn targets() -> String {
    repo_path("metadata/targets.json")
}

/// A manifest listing root.json with `data`, before any entry is added.
fn listing_root(data: &[u8]) -> Craft {
    Craft::with_manifest(&[(&root(), data)])
}

fn unsafe_rule(err: BundleError) -> PathRule {
    match err {
        BundleError::UnsafePath { rule, .. } => rule,
        other => panic!("expected UnsafePath, got {other:?}"),
    }
}

fn kind_of(err: BundleError) -> String {
    match err {
        BundleError::NotRegularFile { kind, .. } => kind,
        other => panic!("expected NotRegularFile, got {other:?}"),
    }
}

#[test]
fn crafted_bundle_reads() {
    let tar = listing_root(b"{}").file(&root(), b"{}").finish();
    let bundle = read_tar(&tar).unwrap();
    let repo = &bundle.contents.repos[0];
    assert_eq!(repo.gun.as_str(), GUN);
    assert_eq!(repo.metadata.get(&crate::tuf::RoleName::root()).unwrap(), b"{}");
}

#[test]
fn ustar_prefix_names_are_accepted() {
    let long = format!("{}/metadata/targets/releases.json", "a".repeat(60));
    let mut manifest = manifest_value(&[(&format!("repos/{long}"), b"{}")]);
    manifest["guns"][0]["gun"] = json!("a".repeat(60));
    let mut h = Header::new_ustar();
    h.set_path(format!("repos/{long}")).unwrap();
    h.set_size(2);
    h.set_cksum();

    let tar = Craft::new().manifest(&manifest).raw(h, b"{}").finish();
    assert!(read_tar(&tar).is_ok());
}

#[test]
fn inspect_reports_verified_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    let digest = write(&path, &sample()).unwrap();

    let (manifest, seen, entries) = inspect(&path, &Limits::default()).unwrap();
    assert_eq!(seen, digest);
    assert_eq!(entries, manifest.entries);
    assert_eq!(entries.len(), 12);
}

#[test]
fn refuses_symlink() {
    let mut h = header(root().as_bytes(), EntryType::Symlink, 0);
    h.set_link_name_literal("/etc/passwd").unwrap();
    h.set_cksum();
    let err = refuse(&listing_root(b"").raw(h, b"").finish());
    assert_eq!(kind_of(err), "symbolic link");
}

#[test]
fn refuses_hard_link() {
    let mut h = header(root().as_bytes(), EntryType::Link, 0);
    h.set_link_name_literal("manifest.json").unwrap();
    h.set_cksum();
    let err = refuse(&listing_root(b"").raw(h, b"").finish());
    assert_eq!(kind_of(err), "hard link");
}

#[test]
fn refuses_devices_fifos_and_directories() {
    let cases = [
        (EntryType::Char, "character device"),
        (EntryType::Block, "block device"),
        (EntryType::Fifo, "FIFO"),
        (EntryType::Directory, "directory"),
        (EntryType::Continuous, "contiguous file"),
    ];
    for (kind, name) in cases {
        let err = refuse(&listing_root(b"").entry(root().as_bytes(), kind, b"").finish());
        assert_eq!(kind_of(err), name);
    }
    let err = refuse(&Craft::new().entry(b"repos/", EntryType::Directory, b"").finish());
    assert_eq!(kind_of(err), "directory");
}

#[test]
fn refuses_pax_headers() {
    let global = pax_record("comment", "hello");
    let tar = listing_root(b"{}").entry(b"pax_global_header", EntryType::XGlobalHeader, &global);
    assert_eq!(kind_of(refuse(&tar.file(&root(), b"{}").finish())), "PAX global header");

    let local = pax_record("path", &root());
    let tar = listing_root(b"{}")
        .entry(b"PaxHeaders/x", EntryType::XHeader, &local)
        .file("innocent.json", b"{}")
        .finish();
    assert!(matches!(refuse(&tar), BundleError::ExtensionHeader { .. }));
}

#[test]
fn gnu_long_names_are_checked() {
    let evil = format!("repos/{GUN}/{}/../../../../etc/cron.d/x", "d".repeat(100));
    let mut name = evil.clone().into_bytes();
    name.push(0);
    let tar = listing_root(b"{}")
        .entry(b"././@LongLink", EntryType::GNULongName, &name)
        .file(&evil[..100], b"{}")
        .finish();
    assert_eq!(unsafe_rule(refuse(&tar)), PathRule::DotDotSegment);
}

#[test]
fn refuses_gnu_long_names_that_rename() {
    let long = repo_path(&format!("metadata/targets/{}.json", "x".repeat(100)));
    let mut name = long.clone().into_bytes();
    name.push(0);
    let files: [(&str, &[u8]); 1] = [(&long, b"{}")];

    let honest = Craft::with_manifest(&files)
        .entry(b"././@LongLink", EntryType::GNULongName, &name)
        .file(&long[..100], b"{}");
    assert!(read_tar(&honest.finish()).is_ok());

    let renaming = Craft::with_manifest(&files)
        .entry(b"././@LongLink", EntryType::GNULongName, &name)
        .file(&root(), b"{}");
    assert!(matches!(refuse(&renaming.finish()), BundleError::ExtensionHeader { .. }));
}

#[test]
fn refuses_gnu_long_link_on_a_file() {
    let tar = listing_root(b"{}")
        .entry(b"././@LongLink", EntryType::GNULongLink, b"/etc/passwd\0")
        .file(&root(), b"{}")
        .finish();
    assert!(matches!(refuse(&tar), BundleError::ExtensionHeader { what: "a link name", .. }));
}

#[test]
fn refuses_unsafe_paths() {
    let cases: [(&[u8], PathRule); 7] = [
        (b"/repos/example.com/app/metadata/root.json", PathRule::Absolute),
        (b"repos/example.com/app/../../../etc/passwd", PathRule::DotDotSegment),
        (b"repos/example.com/app/./metadata/root.json", PathRule::DotSegment),
        (b"repos/example.com//app/metadata/root.json", PathRule::EmptySegment),
        (b"repos\\example.com\\app\\metadata\\root.json", PathRule::Backslash),
        (b"repos/example.com/app/metadata/r\xf6\xf6t.json", PathRule::NotUtf8),
        (b"repos/example.com/app/metadata/root.json\x1b[2J", PathRule::ControlCharacter),
    ];
    for (name, rule) in cases {
        let tar = listing_root(b"{}").entry(name, EntryType::Regular, b"{}").finish();
        assert_eq!(unsafe_rule(refuse(&tar)), rule, "{}", String::from_utf8_lossy(name));
    }
}

#[test]
fn refuses_duplicate_entries() {
    let tar = listing_root(b"{}").file(&root(), b"{}").file(&root(), b"{}").finish();
    assert!(matches!(refuse(&tar), BundleError::DuplicateEntry { path } if path == root()));
}

#[test]
fn refuses_a_second_manifest() {
    let again = serde_json::to_vec(&manifest_value(&[])).unwrap();
    let tar = listing_root(b"{}").file(&root(), b"{}").file("manifest.json", &again).finish();
    let err = refuse(&tar);
    assert!(matches!(err, BundleError::DuplicateEntry { path } if path == "manifest.json"));
}

#[test]
fn refuses_unlisted_entries() {
    let tar = listing_root(b"{}").file(&root(), b"{}").file(&targets(), b"{}").finish();
    assert!(matches!(refuse(&tar), BundleError::UnlistedEntry { path } if path == targets()));
}

#[test]
fn refuses_missing_entries() {
    let files: [(&str, &[u8]); 2] = [(&root(), b"{}"), (&targets(), b"{}")];
    let tar = Craft::with_manifest(&files).file(&root(), b"{}").finish();
    let err = refuse(&tar);
    assert!(matches!(err, BundleError::MissingEntry { path, found: None } if path == targets()));

    let tar = Craft::with_manifest(&files).file(&targets(), b"{}").finish();
    let err = refuse(&tar);
    assert!(matches!(err, BundleError::MissingEntry { path, found: Some(_) } if path == root()));
}

#[test]
fn refuses_out_of_order_entries() {
    let files: [(&str, &[u8]); 2] = [(&root(), b"{}"), (&targets(), b"{}")];
    let tar = Craft::with_manifest(&files).file(&targets(), b"{}").file(&root(), b"{}");
    let err = refuse(&tar.finish());
    assert!(matches!(err, BundleError::MissingEntry { found: Some(f), .. } if f == targets()));
}

#[test]
fn refuses_manifest_not_first() {
    let tar =
        Craft::new().file(&root(), b"{}").manifest(&manifest_value(&[(&root(), b"{}")])).finish();
    assert!(matches!(refuse(&tar), BundleError::ManifestNotFirst { found } if found == root()));
}

#[test]
fn refuses_empty_archive() {
    assert!(matches!(refuse(&Craft::new().finish()), BundleError::MissingManifest));
    assert!(matches!(refuse(b""), BundleError::MissingManifest));
}

#[test]
fn refuses_digest_mismatch() {
    let tar = listing_root(b"{}").file(&root(), b"[]").finish();
    assert!(matches!(refuse(&tar), BundleError::DigestMismatch { path, .. } if path == root()));
}

#[test]
fn refuses_length_mismatch() {
    let tar = listing_root(b"{}").file(&root(), b"{ }").finish();
    let err = refuse(&tar);
    assert!(matches!(err, BundleError::LengthMismatch { expected: 2, actual: 3, .. }));
}

#[test]
fn refuses_truncated_entry() {
    let h = header(root().as_bytes(), EntryType::Regular, 600);
    let data = vec![b' '; 600];
    let tar = listing_root(&data).raw(h, &data[..100]).unterminated();
    let tar = &tar[..tar.len() - 412];
    let err = refuse(tar);
    assert!(matches!(err, BundleError::Truncated { expected: 600, actual: 100, .. }));
}

#[test]
fn refuses_manifest_problems_end_to_end() {
    let mut v = manifest_value(&[]);
    v["format_version"] = json!(2);
    let err = refuse(&Craft::new().manifest(&v).finish());
    assert!(matches!(err, BundleError::UnsupportedVersion { found: 2 }));

    let mut v = manifest_value(&[]);
    v["kind"] = json!("push");
    assert!(matches!(refuse(&Craft::new().manifest(&v).finish()), BundleError::UnknownKind { .. }));

    let mut v = manifest_value(&[]);
    v["format"] = json!("notary-bundle");
    assert!(matches!(refuse(&Craft::new().manifest(&v).finish()), BundleError::NotABundle { .. }));

    let mut v = manifest_value(&[]);
    v["guns"] = json!([{"gun": GUN, "new": false}, {"gun": GUN, "new": true}]);
    let err = refuse(&Craft::new().manifest(&v).finish());
    assert!(matches!(err, BundleError::DuplicateGun { .. }));

    let mut v = manifest_value(&[]);
    v["guns"][0]["gun"] = json!("example.com/../app");
    assert!(matches!(refuse(&Craft::new().manifest(&v).finish()), BundleError::InvalidGun { .. }));

    let tar = Craft::new().file("manifest.json", b"{\"format\": ").finish();
    assert!(matches!(refuse(&tar), BundleError::ManifestJson { .. }));
}

#[test]
fn refuses_paths_outside_the_layout() {
    let tails = [
        "metadata/Root.json",
        "metadata/history/01.root.json",
        "metadata/history/root.json",
        "server-keys/root.json",
        "audit/log.json",
    ];
    for tail in tails {
        let path = repo_path(tail);
        let err = refuse(&Craft::with_manifest(&[(&path, b"{}")]).file(&path, b"{}").finish());
        assert!(matches!(err, BundleError::BadEntryPath { .. }), "{tail}: {err:?}");
    }

    let other = "repos/example.com/other/metadata/root.json";
    let err = refuse(&Craft::with_manifest(&[(other, b"{}")]).file(other, b"{}").finish());
    assert!(matches!(err, BundleError::UnknownEntry { .. }));
}

#[test]
fn refuses_ambiguous_paths() {
    let path = "repos/a/metadata/targets/metadata/root.json";
    let mut v = manifest_value(&[(path, b"{}")]);
    v["guns"] = json!([{"gun": "a", "new": false}, {"gun": "a/metadata/targets", "new": false}]);
    let err = refuse(&Craft::new().manifest(&v).file(path, b"{}").finish());
    assert!(matches!(err, BundleError::AmbiguousPath { .. }));
}

#[test]
fn refuses_a_second_archive_after_the_end() {
    let again = serde_json::to_vec(&manifest_value(&[])).unwrap();
    let first = listing_root(b"{}").file(&root(), b"{}").end();
    let tar = first.file("manifest.json", &again).finish();
    assert!(matches!(refuse(&tar), BundleError::TrailingData { .. }));
}

#[test]
fn accepts_zero_padding_after_the_end() {
    let tar = listing_root(b"{}").file(&root(), b"{}").end().bytes(&[0; 9216]).unterminated();
    assert!(read_tar(&tar).is_ok());
}

#[test]
fn refuses_data_after_the_zstd_frame() {
    let tar = listing_root(b"{}").file(&root(), b"{}").finish();
    let mut bundle = zstd(&tar);
    bundle.extend_from_slice(b"garbage");
    let err = read_file_bytes(&bundle, &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::TrailingData { what: "the zstd frame" }));

    let mut bundle = zstd(&tar);
    bundle.extend_from_slice(&zstd(&tar));
    let err = read_file_bytes(&bundle, &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::TrailingData { what: "the zstd frame" }));
}

#[test]
fn refuses_streams_that_are_not_zstd_or_tar() {
    let tar = listing_root(b"{}").file(&root(), b"{}").finish();
    let err = read_file_bytes(&tar, &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::Corrupt { .. }));

    let bundle = zstd(&tar);
    let err = read_file_bytes(&bundle[..bundle.len() / 2], &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::Corrupt { .. }));

    let mut tar = tar;
    tar[0] ^= 1;
    assert!(matches!(refuse(&tar), BundleError::Corrupt { .. }));
}

#[test]
fn refuses_frames_that_need_a_huge_window() {
    let tar = listing_root(b"{}").file(&root(), b"{}").finish();
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.window_log(27).unwrap();
    encoder.write_all(&tar).unwrap();
    let bundle = encoder.finish().unwrap();

    let err = read_file_bytes(&bundle, &Limits::default()).unwrap_err();
    let BundleError::Corrupt { source, .. } = err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert!(source.to_string().contains("memory"), "{source}");
}

#[test]
fn refuses_entries_over_their_limit() {
    let path = repo_path("metadata/timestamp.json");
    let big = vec![b' '; 2 * MIB as usize];
    let err = refuse(&Craft::with_manifest(&[(&path, &big)]).file(&path, &big).finish());
    assert!(matches!(err, BundleError::EntryTooLarge { limit, .. } if limit == MIB));

    let tar = listing_root(b"{}").file(&root(), b"{}").finish();
    let limits = Limits { max_manifest: 100, ..Limits::default() };
    let err = read_file_bytes(&zstd(&tar), &limits).unwrap_err();
    assert!(matches!(err, BundleError::ManifestTooLarge { limit: 100, .. }));
}

#[test]
fn refuses_streams_over_the_total() {
    let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let tar = listing_root(&data).file(&root(), &data).finish();
    let limits = Limits { max_total: 700_000, ..Limits::default() };
    let err = read_file_bytes(&zstd(&tar), &limits).unwrap_err();
    assert!(matches!(err, BundleError::ManifestTotalTooLarge { .. }));

    let tar = listing_root(b"{}").file(&root(), b"{}").end().bytes(&[0; 800_000]);
    let limits = Limits { max_total: 700_000, max_ratio: u64::MAX, ..Limits::default() };
    let err = read_file_bytes(&zstd(&tar.unterminated()), &limits).unwrap_err();
    assert!(matches!(err, BundleError::TooLarge { limit: 700_000, .. }), "{err:?}");
}

/// Writes a bundle whose tar stream is `prefix`, then `zeros` zero bytes, then `suffix`,
/// compressing as it goes so the test never holds the expanded stream.
fn zero_bomb(prefix: &[u8], zeros: u64, suffix: &[u8]) -> Vec<u8> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.write_all(prefix).unwrap();
    io::copy(&mut io::repeat(0).take(zeros), &mut encoder).unwrap();
    encoder.write_all(suffix).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn refuses_a_decompression_bomb_in_an_entry_early() {
    let size = 60 * MIB;
    let mut v = manifest_value(&[(&root(), b"")]);
    v["entries"][0]["length"] = json!(size);
    let prefix = Craft::new()
        .manifest(&v)
        .bytes(header(root().as_bytes(), EntryType::Regular, size).as_bytes());
    let bundle = zero_bomb(&prefix.unterminated(), size, &[0; 1024]);

    let start = std::time::Instant::now();
    let err = read_file_bytes(&bundle, &Limits::default()).unwrap_err();
    let BundleError::CompressionRatio { at, decompressed, .. } = err else {
        panic!("expected CompressionRatio, got {err:?}");
    };
    assert_eq!(at, root());
    assert!(decompressed < 4 * MIB, "stopped only after {decompressed} bytes");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn refuses_a_decompression_bomb_after_the_end() {
    let tar = listing_root(b"{}").file(&root(), b"{}").end().unterminated();
    let bundle = zero_bomb(&tar, 200 * MIB, b"");

    let err = read_file_bytes(&bundle, &Limits::default()).unwrap_err();
    let BundleError::CompressionRatio { at, decompressed, .. } = err else {
        panic!("expected CompressionRatio, got {err:?}");
    };
    assert_eq!(at, "end of archive");
    assert!(decompressed < 4 * MIB, "stopped only after {decompressed} bytes");
}

#[test]
fn read_each_hands_over_every_repository_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    let contents = sample();
    let digest = write(&path, &contents).unwrap();

    let mut seen = Vec::new();
    let header = read_each(&path, &Limits::default(), |header, repo| {
        assert_eq!(header.digest, digest);
        seen.push(repo);
        Ok::<(), BundleError>(())
    })
    .unwrap();

    // The new repository has no files, so it comes right after the manifest.
    assert_eq!(seen[0].gun.as_str(), "example.com/team/new");
    seen.sort_by(|a, b| a.gun.cmp(&b.gun));
    let mut expected = contents.repos.clone();
    expected.sort_by(|a, b| a.gun.cmp(&b.gun));
    assert_eq!(seen, expected);
    assert_eq!(header.guns.len(), 3);
    assert_eq!(sha256_hex(&header.manifest_bytes), digest);
}

#[test]
fn read_each_stops_when_a_step_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    write(&path, &sample()).unwrap();

    let mut calls = 0;
    let result = read_each(&path, &Limits::default(), |_, _| {
        calls += 1;
        Err("no room")
    });
    assert!(matches!(result, Err(Halt::Step("no room"))));
    assert_eq!(calls, 1);
}

#[test]
fn read_each_refuses_a_bundle_that_fails_after_a_handover() {
    let other = "repos/example.com/zzz/metadata/root.json";
    let mut manifest = manifest_value(&[(&root(), b"{}"), (other, b"{}")]);
    manifest["guns"] =
        json!([{"gun": GUN, "new": false}, {"gun": "example.com/zzz", "new": false}]);
    let tar = Craft::new().manifest(&manifest).file(&root(), b"{}").file(other, b"[]").finish();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    std::fs::write(&path, zstd(&tar)).unwrap();

    let mut handed = Vec::new();
    let result = read_each(&path, &Limits::default(), |_, repo| {
        handed.push(repo.gun.to_string());
        Ok::<(), BundleError>(())
    });
    assert_eq!(handed, [GUN]);
    let err = result.unwrap_err().into_inner();
    assert!(matches!(err, BundleError::DigestMismatch { path, .. } if path == other));
}

#[test]
fn a_directory_is_not_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let err = read(dir.path(), &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("it is a directory"));
}

#[test]
fn a_bundle_read_again_must_have_the_same_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    let digest = write(&path, &sample()).unwrap();

    let mut handed = 0;
    let again = read_each_again(&path, &Limits::default(), &digest, |_, _| {
        handed += 1;
        Ok::<(), BundleError>(())
    });
    assert_eq!(again.unwrap().digest, digest);
    assert_eq!(handed, 3);

    let other = "0".repeat(64);
    let mut handed = 0;
    let changed = read_each_again(&path, &Limits::default(), &other, |_, _| {
        handed += 1;
        Ok::<(), BundleError>(())
    });
    let err = changed.unwrap_err().into_inner();
    assert!(matches!(err, BundleError::Changed { ref found } if *found == digest), "{err:?}");
    assert_eq!(handed, 0, "nothing is handed over from a changed bundle");
}

#[test]
fn a_header_is_read_from_the_manifest_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b");
    let digest = write(&path, &sample()).unwrap();
    let header = read_header(&path, &Limits::default()).unwrap();
    assert_eq!(header.digest, digest);
    assert_eq!(header.guns.len(), sample().repos.len());

    // A damaged file after the manifest is not read, so the header still names the bundle;
    // a bundle without a manifest has none.
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, zstd(&listing_root(b"{}").file(&root(), b"[]").finish())).unwrap();
    assert!(read_header(&damaged, &Limits::default()).is_ok());
    assert!(read_each(&damaged, &Limits::default(), |_, _| Ok::<(), ()>(())).is_err());
    let empty = dir.path().join("empty");
    std::fs::write(&empty, zstd(&Craft::new().finish())).unwrap();
    assert!(matches!(read_header(&empty, &Limits::default()), Err(BundleError::MissingManifest)));
}
