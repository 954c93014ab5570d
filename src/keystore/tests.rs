use super::*;
use std::os::unix::fs::PermissionsExt;

/// Cheapest accepted scrypt cost, so each identity costs about a millisecond.
const FAST: u8 = MIN_WORK_FACTOR;

fn key_id(n: u32) -> String {
    format!("{n:064x}")
}

fn record(n: u32, role: &str) -> KeyRecord {
    KeyRecord::new(&key_id(n), role, Some("example.com/app"), "ecdsa", "cHVibGlj")
}

/// The home's audit key, the one kind of key stored shared.
fn audit_record(n: u32) -> KeyRecord {
    KeyRecord::new(&key_id(n), SHARED_ROLE, None, "ecdsa", "cHVibGlj")
}

fn der(n: u32) -> Vec<u8> {
    format!("PRIVATE-KEY-MATERIAL-{n}").into_bytes()
}

fn all_classes() -> FixedPassphrases {
    FixedPassphrases::new()
        .with(KeyClass::Root, "root pass")
        .with(KeyClass::Targets, "targets pass")
        .with(KeyClass::Delegation, "delegation pass")
}

fn new_store() -> (tempfile::TempDir, KeyStore) {
    let tmp = tempfile::tempdir().unwrap();
    let store = KeyStore::with_work_factor(&tmp.path().join("private"), FAST).unwrap();
    (tmp, store)
}

#[test]
fn add_then_unlock_reads_back_the_bytes() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();

    let mut session = Unlocked::new(&store);
    let bytes = session.private_key(&key_id(1), &mut all_classes()).unwrap();
    assert_eq!(*bytes, der(1));
}

#[test]
fn one_passphrase_per_class_and_command() {
    let (_tmp, store) = new_store();
    let mut adding = all_classes();
    for n in 1..=3 {
        store.add(&record(n, "targets"), &der(n), &mut adding).unwrap();
    }
    store.add(&record(4, "root"), &der(4), &mut adding).unwrap();
    assert_eq!(adding.asked(KeyClass::Targets), 1, "only the identity creation asks");

    let mut signing = all_classes();
    let mut session = Unlocked::new(&store);
    for n in 1..=3 {
        let bytes = session.private_key(&key_id(n), &mut signing).unwrap();
        assert_eq!(*bytes, der(n));
    }
    assert_eq!(signing.asked(KeyClass::Targets), 1);
    assert_eq!(signing.asked(KeyClass::Root), 0, "root was never needed");
    assert!(session.is_unlocked(KeyClass::Targets));
}

#[test]
fn adding_needs_no_passphrase_once_the_identity_exists() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "jeff"), &der(1), &mut all_classes()).unwrap();

    let mut none = FixedPassphrases::new();
    store.add(&record(2, "jeff"), &der(2), &mut none).unwrap();
    assert_eq!(none.asked(KeyClass::Delegation), 0);
}

#[test]
fn session_add_keeps_the_new_identity_unlocked() {
    let (_tmp, store) = new_store();
    let mut p = all_classes();
    let mut session = Unlocked::new(&store);
    session.add(&record(1, "root"), &der(1), &mut p).unwrap();

    let bytes = session.private_key(&key_id(1), &mut p).unwrap();
    assert_eq!(*bytes, der(1));
    assert_eq!(p.asked(KeyClass::Root), 1);
}

#[test]
fn wrong_passphrase_is_its_own_error() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();

    let mut wrong = FixedPassphrases::new().with(KeyClass::Root, "not it");
    let err = Unlocked::new(&store).private_key(&key_id(1), &mut wrong).unwrap_err();
    assert!(matches!(err, KeyStoreError::WrongPassphrase { class: KeyClass::Root }));

    let message = err.to_string();
    assert!(message.starts_with("wrong passphrase for the root key store; "));
    assert!(!message.contains("not it") && !message.contains("root pass"));
}

#[test]
fn files_are_private() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    store.add(&record(2, "targets"), &der(2), &mut all_classes()).unwrap();

    let mut pending = vec![store.dir().to_path_buf()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert_eq!(files, 8, "two identities and two keys, two files each");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_hold_no_plaintext_secrets() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();

    let key_file = fs::read(store.key_path(&key_id(1))).unwrap();
    assert!(!contains(&key_file, &der(1)));
    assert!(key_file.starts_with(b"age-encryption.org/v1"));

    let (age_path, _) = store.identity_paths(KeyClass::Root);
    let identity_file = fs::read(age_path).unwrap();
    assert!(!contains(&identity_file, b"AGE-SECRET-KEY"));

    let record_file = fs::read(store.record_path(&key_id(1))).unwrap();
    assert!(!contains(&record_file, &der(1)));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn list_returns_records_and_skips_orphans() {
    let (_tmp, store) = new_store();
    assert!(store.list().unwrap().is_empty(), "an absent store is empty");
    let root = record(2, "root");
    let jeff = KeyRecord::new(&key_id(1), "jeff", None, "ed25519", "amVmZg==");
    store.add(&root, &der(2), &mut all_classes()).unwrap();
    store.add(&jeff, &der(1), &mut all_classes()).unwrap();

    // What a crash between the key file and its record leaves, and a stray temp file.
    let keys = store.dir().join(KEYS_DIR);
    fs::write(keys.join(format!("{}.age", key_id(3))), b"orphan").unwrap();
    fs::write(keys.join(".airlock-tmp-x"), b"tmp").unwrap();

    assert_eq!(store.list().unwrap(), vec![jeff.clone(), root]);
    assert_eq!(store.get(&key_id(1)).unwrap(), Some(jeff.clone()));
    assert_eq!(store.get(&key_id(3)).unwrap(), None);
    assert_eq!(jeff.class, KeyClass::Delegation);
}

#[test]
fn add_overwrites_an_orphan_key_file() {
    let (_tmp, store) = new_store();
    store.add(&record(9, "root"), &der(9), &mut all_classes()).unwrap();
    fs::write(store.key_path(&key_id(1)), b"left by a crash").unwrap();

    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    let bytes = Unlocked::new(&store).private_key(&key_id(1), &mut all_classes()).unwrap();
    assert_eq!(*bytes, der(1));
}

#[test]
fn remove_deletes_the_key() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    store.add(&record(2, "root"), &der(2), &mut all_classes()).unwrap();

    store.remove(&key_id(1)).unwrap();
    assert_eq!(store.get(&key_id(1)).unwrap(), None);
    assert!(!store.key_path(&key_id(1)).exists());
    assert_eq!(store.list().unwrap().len(), 1);

    let again = store.remove(&key_id(1)).unwrap_err();
    assert!(matches!(again, KeyStoreError::KeyNotFound { .. }));
    let read = Unlocked::new(&store).private_key(&key_id(1), &mut all_classes()).unwrap_err();
    assert!(matches!(read, KeyStoreError::KeyNotFound { .. }));
}

#[test]
fn invalid_key_ids_are_refused() {
    let (_tmp, store) = new_store();
    let bad = [
        String::new(),
        "../../etc/passwd".to_owned(),
        key_id(1).to_uppercase().replace('0', "A"),
        key_id(1)[1..].to_owned(),
        format!("{}0", key_id(1)),
        format!("{}/", &key_id(1)[1..]),
    ];

    for id in &bad {
        let mut rec = record(1, "root");
        rec.key_id = id.clone();
        let add = store.add(&rec, &der(1), &mut all_classes()).unwrap_err();
        assert!(matches!(add, KeyStoreError::InvalidKeyId { .. }), "{id:?}");
        assert!(matches!(store.get(id), Err(KeyStoreError::InvalidKeyId { .. })));
        assert!(matches!(store.remove(id), Err(KeyStoreError::InvalidKeyId { .. })));
    }
    assert!(!store.dir().exists(), "nothing was written");
}

#[test]
fn duplicate_key_is_refused() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();

    let err = store.add(&record(1, "root"), b"other", &mut all_classes()).unwrap_err();
    assert!(matches!(err, KeyStoreError::DuplicateKey { .. }));
    let bytes = Unlocked::new(&store).private_key(&key_id(1), &mut all_classes()).unwrap();
    assert_eq!(*bytes, der(1), "the original key is untouched");
}

#[test]
fn open_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("private");
    let store = KeyStore::open(&dir).unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(!store.has_identity(KeyClass::Root).unwrap());
    assert!(!dir.exists());
}

#[test]
fn unlocking_a_class_without_keys_says_so() {
    let (_tmp, store) = new_store();
    let err = Unlocked::new(&store).unlock(KeyClass::Targets, &mut all_classes()).unwrap_err();
    assert!(matches!(err, KeyStoreError::NoIdentity { class: KeyClass::Targets, .. }));
}

#[test]
fn identity_without_public_part_is_replaced() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    let (_, pub_path) = store.identity_paths(KeyClass::Root);
    store.remove(&key_id(1)).unwrap();
    fs::remove_file(pub_path).unwrap();

    // A crash between `.age` and `.pub`: the next add starts a new identity.
    let mut p = FixedPassphrases::new().with(KeyClass::Root, "second");
    store.add(&record(2, "root"), &der(2), &mut p).unwrap();
    let bytes = Unlocked::new(&store).private_key(&key_id(2), &mut p).unwrap();
    assert_eq!(*bytes, der(2));
}

#[test]
fn a_swapped_public_recipient_is_detected() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    let (_, pub_path) = store.identity_paths(KeyClass::Root);
    let stranger = x25519::Identity::generate().to_public().to_string();
    fs::write(pub_path, stranger).unwrap();

    let err = Unlocked::new(&store).private_key(&key_id(1), &mut all_classes()).unwrap_err();
    assert!(matches!(err, KeyStoreError::IdentityMismatch { .. }));
}

#[test]
fn a_damaged_record_is_corrupt_not_missing() {
    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    fs::write(store.record_path(&key_id(1)), b"{").unwrap();

    let err = store.get(&key_id(1)).unwrap_err();
    assert!(matches!(err, KeyStoreError::Corrupt { .. }));
}

#[test]
fn work_factor_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in [0, MIN_WORK_FACTOR - 1, MAX_WORK_FACTOR + 1] {
        let err = KeyStore::with_work_factor(tmp.path(), bad).unwrap_err();
        assert!(matches!(err, KeyStoreError::InvalidWorkFactor { .. }));
    }
}

#[test]
fn classes_follow_roles() {
    assert_eq!(KeyClass::for_role("root"), KeyClass::Root);
    assert_eq!(KeyClass::for_role("targets"), KeyClass::Targets);
    assert_eq!(KeyClass::for_role("snapshot"), KeyClass::Targets);
    assert_eq!(KeyClass::for_role("jeff"), KeyClass::Delegation);
    assert_eq!(KeyClass::for_role("targets/releases"), KeyClass::Delegation);
    assert_eq!(KeyClass::Targets.env_var(), "AIRLOCK_TARGETS_PASSPHRASE");
    assert_eq!(KeyClass::Delegation.legacy_env_var(), "NOTARY_DELEGATION_PASSPHRASE");
    assert_eq!(serde_json::to_string(&KeyClass::Root).unwrap(), "\"root\"");
}

#[test]
fn debug_output_hides_secrets() {
    let p = all_classes();
    assert!(!format!("{p:?}").contains("root pass"));

    let (_tmp, store) = new_store();
    store.add(&record(1, "root"), &der(1), &mut all_classes()).unwrap();
    let mut session = Unlocked::new(&store);
    session.unlock(KeyClass::Root, &mut all_classes()).unwrap();
    assert!(!format!("{session:?}").contains("AGE-SECRET-KEY"));
}

#[test]
fn a_shared_key_opens_with_whichever_class_is_unlocked() {
    let (_tmp, store) = new_store();
    let mut adding = all_classes();
    store.add(&record(1, "targets"), &der(1), &mut adding).unwrap();
    store.add(&record(2, "root"), &der(2), &mut adding).unwrap();
    store.add_shared(&audit_record(3), &der(3), &mut adding).unwrap();
    assert_eq!(store.get(&key_id(3)).unwrap().unwrap().class, KeyClass::Delegation);

    for class in [KeyClass::Targets, KeyClass::Root] {
        let mut asking = all_classes();
        let mut session = Unlocked::new(&store);
        session.unlock(class, &mut asking).unwrap();
        let bytes = session.shared_private_key(&key_id(3), &mut asking).unwrap();
        assert_eq!(*bytes, der(3));
        assert_eq!(asking.asked(KeyClass::Delegation), 0, "{class} opened it alone");
    }

    // An ordinary key still needs its own class, and is never shared.
    for _ in 0..2 {
        let mut asking = all_classes();
        let mut session = Unlocked::new(&store);
        session.unlock(KeyClass::Root, &mut asking).unwrap();
        assert_eq!(*session.shared_private_key(&key_id(1), &mut asking).unwrap(), der(1));
        assert_eq!(asking.asked(KeyClass::Targets), 1);
    }
    assert!(store.get(&key_id(1)).unwrap().unwrap().shared_with.is_empty());
    let refused = store.add_shared(&record(4, "targets"), &der(4), &mut all_classes());
    assert!(matches!(refused, Err(KeyStoreError::InvalidRecord { .. })));
}

#[test]
fn a_key_sealed_to_one_class_is_shared_after_its_first_use() {
    let (_tmp, store) = new_store();
    let mut adding = all_classes();
    store.add(&record(1, "targets"), &der(1), &mut adding).unwrap();
    store.add(&audit_record(2), &der(2), &mut adding).unwrap();

    let open_with_targets = || {
        let mut asking = all_classes();
        let mut session = Unlocked::new(&store);
        session.unlock(KeyClass::Targets, &mut asking).unwrap();
        assert_eq!(*session.shared_private_key(&key_id(2), &mut asking).unwrap(), der(2));
        asking.asked(KeyClass::Delegation)
    };
    assert_eq!(open_with_targets(), 1, "the first use unlocks the key's own class");
    assert_eq!(open_with_targets(), 0, "then the key is sealed to every class");

    let mode = fs::metadata(store.key_path(&key_id(2))).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_shared_key_follows_classes_made_after_it() {
    let (_tmp, store) = new_store();
    let mut adding = all_classes();
    store.add(&record(1, "targets"), &der(1), &mut adding).unwrap();
    let shared = KeyRecord { class: KeyClass::Targets, ..audit_record(2) };
    store.add_shared(&shared, &der(2), &mut adding).unwrap();
    assert_eq!(adding.asked(KeyClass::Delegation), 0, "no class was made for it");
    assert_eq!(store.get(&key_id(2)).unwrap().unwrap().shared_with, [KeyClass::Targets]);

    // root is made later; a session that opens the key with targets seals it to root too
    store.add(&record(3, "root"), &der(3), &mut adding).unwrap();
    let mut asking = all_classes();
    let mut session = Unlocked::new(&store);
    session.unlock(KeyClass::Targets, &mut asking).unwrap();
    assert_eq!(*session.shared_private_key(&key_id(2), &mut asking).unwrap(), der(2));
    let classes = store.get(&key_id(2)).unwrap().unwrap().shared_with;
    assert_eq!(classes, [KeyClass::Root, KeyClass::Targets]);

    let mut asking = all_classes();
    let mut session = Unlocked::new(&store);
    session.unlock(KeyClass::Root, &mut asking).unwrap();
    assert_eq!(*session.shared_private_key(&key_id(2), &mut asking).unwrap(), der(2));
    assert_eq!(asking.asked(KeyClass::Targets), 0, "root alone opens it now");
}
