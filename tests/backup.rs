//! Paper backups of root keys (issue 6) through the library and the binary: a custodian's
//! root key split 3-of-5, restored into a fresh home from PNG pages, SVG pages and text forms;
//! and every refusal (too few shares, a damaged share, shares of two backups, a repeated
//! share, a wrong passphrase), each naming the share and writing nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock::backup::{self, BackupError, BackupOptions, BackupReport, FixedPassphrase};
use airlock::crypto::{self, PublicKey, SigningKey};
use airlock::home::Home;
use airlock::keystore::{FixedPassphrases, KeyClass, KeyStore, Unlocked};
use airlock::ops::{self, OpsError};
use airlock::tuf::Gun;
use time::OffsetDateTime;

const GUN: &str = "example.com/team/app";
const BACKUP_PASS: &str = "correct horse battery staple";
/// Cheapest accepted scrypt cost, for the key stores and so for the backups made from them.
const FAST: u8 = 10;

fn passphrases() -> FixedPassphrases {
    FixedPassphrases::new().with(KeyClass::Root, "root-pass")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A custodian's home with a root key for GUN, backed up 3-of-5 into `dir/pages`.
struct Fixture {
    dir: tempfile::TempDir,
    store: KeyStore,
    key_id: String,
    report: BackupReport,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::open(&dir.path().join("custodian")).unwrap();
    let store = KeyStore::with_work_factor(&home.keystore_dir(), FAST).unwrap();
    let gun = Gun::parse(GUN).unwrap();
    let made =
        ops::keys::generate_root(&store, "alice", &gun, dir.path(), now(), &mut passphrases())
            .unwrap();
    let report = make_backup(&store, &made.key_id, &dir.path().join("pages")).unwrap();
    Fixture { key_id: made.key_id, dir, store, report }
}

fn make_backup(store: &KeyStore, key: &str, out: &Path) -> Result<BackupReport, OpsError> {
    let opts = BackupOptions { key: key.into(), shares: 5, threshold: 3, out_dir: out.into() };
    let mut backup_pass = FixedPassphrase::new(BACKUP_PASS);
    backup::create(store, &opts, now(), &mut backup_pass, &mut passphrases())
}

impl Fixture {
    fn page(&self, index: usize, ext: &str) -> PathBuf {
        self.dir.path().join("pages").join(format!("share-{index}-of-5.{ext}"))
    }

    fn out_home(&self) -> PathBuf {
        self.dir.path().join("restored")
    }

    fn restore(&self, shares: &[PathBuf], pass: &str) -> Result<backup::Restored, OpsError> {
        let store_pass = FixedPassphrases::new().with(KeyClass::Root, "new-home-root-pass");
        let mut store_pass = store_pass;
        let mut backup_pass = FixedPassphrase::new(pass);
        let out = self.out_home();
        backup::restore(&out, shares, Some(FAST), now(), &mut backup_pass, &mut store_pass)
    }

    /// Restoring fails, says `what`, names `file`, and leaves no home behind.
    fn refused(&self, shares: &[PathBuf], file: Option<&Path>, what: &str) -> OpsError {
        let err = self.restore(shares, BACKUP_PASS).expect_err("the restore is refused");
        let msg = err.to_string();
        assert!(msg.contains(what), "{msg}");
        if let Some(file) = file {
            assert!(msg.contains(&file.display().to_string()), "names {}: {msg}", file.display());
        }
        assert!(err.is_refusal(), "exit 1, not 2: {msg}");
        assert!(!self.out_home().exists(), "nothing written for: {msg}");
        err
    }
}

/// The private key stored under `key_id`.
fn stored_key(store: &KeyStore, key_id: &str, class_pass: &str) -> SigningKey {
    let mut p = FixedPassphrases::new().with(KeyClass::Root, class_pass);
    let der = Unlocked::new(store).private_key(key_id, &mut p).unwrap();
    SigningKey::from_pkcs8_der(&der).unwrap()
}

#[test]
fn a_root_key_comes_back_from_three_png_pages_and_signs() {
    let f = fixture();
    let shares = [f.page(1, "png"), f.page(3, "png"), f.page(5, "png")];
    let restored = f.restore(&shares, BACKUP_PASS).unwrap();
    assert_eq!(restored.key_id, f.key_id);
    assert_eq!((restored.role.as_str(), restored.gun.as_deref()), ("root", Some(GUN)));
    assert_eq!(restored.shares, [1, 3, 5]);

    // The fresh home's store holds the same key, under its own passphrase.
    let store = KeyStore::open(&f.out_home().join("keystore")).unwrap();
    let record = store.get(&f.key_id).unwrap().expect("the key is stored");
    assert_eq!((record.role.as_str(), record.gun.as_deref()), ("root", Some(GUN)));
    let original = stored_key(&f.store, &f.key_id, "root-pass");
    let copy = stored_key(&store, &f.key_id, "new-home-root-pass");
    assert_eq!(copy.public_key(), original.public_key());

    // What the restored key signs, the original's public key verifies.
    let sig = copy.sign(b"root.json bytes").unwrap();
    crypto::verify(&original.public_key(), copy.method(), b"root.json bytes", &sig).unwrap();
    let public = PublicKey::from_b64(original.public_key().keytype(), &record.public).unwrap();
    assert_eq!(public, original.public_key());
}

#[test]
fn pages_are_private_files_named_by_share() {
    let f = fixture();
    let mut names: Vec<String> = fs::read_dir(f.dir.path().join("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (1..=5)
        .flat_map(|i| ["png", "svg", "txt"].map(|ext| format!("share-{i}-of-5.{ext}")))
        .collect();
    expected.sort();
    assert_eq!(names, expected);

    for name in &names {
        let mode = fs::metadata(f.dir.path().join("pages").join(name)).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600, "{name}");
    }
    assert_eq!(f.report.shares.len(), 5);
    assert_eq!((f.report.threshold, f.report.key_id.as_str()), (3, f.key_id.as_str()));

    // The page and the text name the share, the threshold, the key, its role and GUN.
    let txt = fs::read_to_string(f.page(2, "txt")).unwrap();
    let svg = fs::read_to_string(f.page(2, "svg")).unwrap();
    let checksum = &f.report.shares[1].checksum;
    for text in [&txt, &svg] {
        for needle in ["share 2 of 5", "Any 3 of the 5", &f.key_id, "root", GUN, checksum] {
            assert!(text.contains(needle), "{needle} missing");
        }
    }
    assert!(!txt.contains(BACKUP_PASS) && !svg.contains(BACKUP_PASS));
}

#[test]
fn text_forms_and_svg_pages_restore_too() {
    let f = fixture();
    let shares = [f.page(2, "txt"), f.page(4, "txt"), f.page(5, "txt")];
    assert_eq!(f.restore(&shares, BACKUP_PASS).unwrap().key_id, f.key_id);

    let f = fixture();
    let shares = [f.page(1, "svg"), f.page(2, "png"), f.page(3, "txt")];
    assert_eq!(f.restore(&shares, BACKUP_PASS).unwrap().key_id, f.key_id);
}

#[test]
fn a_typed_share_with_a_typo_is_named_by_file_and_line() {
    let f = fixture();
    let typed = f.dir.path().join("typed-share-2.txt");
    let text = fs::read_to_string(f.page(2, "txt")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let begin = lines.iter().position(|l| l == "-----BEGIN AIRLOCK SHARE-----").unwrap();
    let line = &mut lines[begin + 4];
    let pos = line.find("  ").unwrap() + 2;
    let typo = if &line[pos..=pos] == "Q" { "R" } else { "Q" };
    line.replace_range(pos..=pos, typo);
    fs::write(&typed, lines.join("\n")).unwrap();

    let shares = [f.page(1, "png"), typed.clone(), f.page(3, "png")];
    let err = f.refused(&shares, Some(&typed), "line 4 of the share does not match");
    assert!(matches!(err, OpsError::Backup(BackupError::Share { .. })), "{err:?}");
}

#[test]
fn a_share_missing_a_line_or_not_a_share_is_named() {
    let f = fixture();
    // The last line of the share lost (torn off the page): every line left checks.
    let text = fs::read_to_string(f.page(3, "txt")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let end = lines.iter().position(|l| *l == "-----END AIRLOCK SHARE-----").unwrap();
    lines.remove(end - 1);
    let torn = f.dir.path().join("torn.txt");
    fs::write(&torn, lines.join("\n")).unwrap();
    let shares = [f.page(1, "txt"), f.page(2, "txt"), torn.clone()];
    f.refused(&shares, Some(&torn), "is a part missing or extra?");

    let junk = f.dir.path().join("holiday.png");
    fs::write(&junk, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let shares = [f.page(1, "txt"), f.page(2, "txt"), junk.clone()];
    f.refused(&shares, Some(&junk), "PNG image could not be read");

    let notes = f.dir.path().join("notes.txt");
    fs::write(&notes, "the passphrase is with Bob").unwrap();
    let shares = [f.page(1, "txt"), notes.clone(), f.page(2, "txt")];
    f.refused(&shares, Some(&notes), "not an airlock backup share");
}

#[test]
fn fewer_than_k_shares_are_refused_naming_them() {
    let f = fixture();
    let shares = [f.page(1, "png"), f.page(4, "txt")];
    let err = f.refused(&shares, Some(&shares[1]), "2 share(s) given");
    let msg = err.to_string();
    assert!(msg.contains("needs 3 of its 5: add 1 more"), "{msg}");
    assert!(msg.contains(&shares[0].display().to_string()), "{msg}");
}

#[test]
fn shares_of_two_backups_do_not_mix() {
    let f = fixture();
    let other = f.dir.path().join("pages-again");
    make_backup(&f.store, &f.key_id, &other).unwrap();

    let stranger = other.join("share-2-of-5.png");
    let shares = [f.page(1, "png"), stranger.clone(), f.page(3, "png")];
    let err = f.refused(&shares, Some(&stranger), "belongs to another backup");
    assert!(err.to_string().contains(&f.page(1, "png").display().to_string()), "{err}");
}

#[test]
fn a_share_given_twice_counts_once_and_is_refused() {
    let f = fixture();
    let shares = [f.page(1, "png"), f.page(2, "png"), f.page(1, "txt")];
    let err = f.refused(&shares, Some(&f.page(1, "txt")), "share 1 of 5 is given twice");
    assert!(err.to_string().contains(&f.page(1, "png").display().to_string()), "{err}");
}

#[test]
fn a_wrong_backup_passphrase_stores_nothing() {
    let f = fixture();
    let shares = [f.page(1, "png"), f.page(2, "png"), f.page(3, "png")];
    let err = f.restore(&shares, "root-pass").err().unwrap();
    assert!(matches!(err, OpsError::Backup(BackupError::WrongPassphrase { .. })), "{err}");
    assert!(!f.out_home().exists());
}

#[test]
fn a_key_already_in_the_home_is_not_stored_twice() {
    let f = fixture();
    let shares = [f.page(1, "png"), f.page(2, "png"), f.page(3, "png")];
    f.restore(&shares, BACKUP_PASS).unwrap();
    let err = f.restore(&shares, BACKUP_PASS).err().unwrap();
    assert!(err.to_string().contains("already in the key store"), "{err}");
}

#[test]
fn share_counts_outside_two_to_255_are_refused_before_any_work() {
    for (n, k, what) in [
        (1, 1, "--shares 1: a backup has 2 to 255 shares"),
        (256, 2, "--shares 256"),
        (5, 1, "--threshold 1: choose 2 to the number of shares (5)"),
        (5, 6, "--threshold 6"),
        (5, 0, "--threshold 0"),
    ] {
        let err = backup::check_counts(n, k).unwrap_err();
        assert!(err.to_string().contains(what), "{n} {k}: {err}");
        assert!(!err.is_refusal(), "a usage error exits 2");
    }
    assert_eq!(backup::check_counts(255, 255).unwrap(), (255, 255));
    assert_eq!(backup::check_counts(2, 2).unwrap(), (2, 2));

    let f = fixture();
    let out = f.dir.path().join("never");
    let opts = BackupOptions { key: f.key_id.clone(), shares: 3, threshold: 4, out_dir: out };
    let mut pass = FixedPassphrase::new(BACKUP_PASS);
    let err = backup::create(&f.store, &opts, now(), &mut pass, &mut passphrases()).unwrap_err();
    assert!(err.to_string().contains("--threshold 4"), "{err}");
    assert!(!f.dir.path().join("never").exists());

    // A directory holding anything is refused, so two backups never share one.
    let err = make_backup(&f.store, &f.key_id, &f.dir.path().join("pages")).unwrap_err();
    assert!(err.to_string().contains("must not exist or be empty"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The binary: passphrases from the environment, exit codes, nothing secret printed

fn airlock(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("AIRLOCK_HOME")
        .env("AIRLOCK_SCRYPT_WORK_FACTOR", "10")
        .env("AIRLOCK_ROOT_PASSPHRASE", "cli-root-pass")
        .env("AIRLOCK_BACKUP_PASSPHRASE", "cli-backup-pass")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_cli_backs_up_and_restores_with_passphrases_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (home, pages) = (dir.path().join("home"), dir.path().join("pages"));
    let dir_arg = dir.path().to_str().unwrap();
    let out = airlock(&home, &["key", "generate", "carol", "--root", GUN, "--dir", dir_arg]);
    assert!(out.status.success(), "{}", text(&out));
    let key_id = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let pages_arg = pages.to_str().unwrap();
    let args = ["backup", &key_id[..12], "--shares", "3", "--threshold", "2", "--out", pages_arg];
    let out = airlock(&home, &args);
    assert!(out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("any 2 of these 3 shares"), "{all}");
    for secret in ["cli-root-pass", "cli-backup-pass"] {
        assert!(!all.contains(secret), "a passphrase was printed: {all}");
    }

    let restored = dir.path().join("restored");
    let share = |i: u32, ext: &str| pages.join(format!("share-{i}-of-3.{ext}"));
    let (one, three) = (share(1, "png"), share(3, "txt"));
    let only_one = ["restore", "--out-home", restored.to_str().unwrap(), one.to_str().unwrap()];
    let out = airlock(&home, &only_one);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("needs 2 of its 3"), "{}", text(&out));
    assert!(!restored.exists());

    let mut both = only_one.to_vec();
    both.push(three.to_str().unwrap());
    let out = airlock(&home, &both);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), key_id);
    assert!(!text(&out).contains("cli-backup-pass"));

    let out = airlock(&restored, &["key", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&key_id), "{}", text(&out));

    let bad = ["backup", &key_id, "--shares", "3", "--threshold", "1", "--out", "elsewhere"];
    let out = airlock(&home, &bad);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
