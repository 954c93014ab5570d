//! Paper backups of keys: one stored private key, still encrypted, split into K-of-N Shamir
//! shares, each printed as a page.
//!
//! `airlock backup KEYID --shares N --threshold K --out DIR`:
//!
//! 1. The key is read from the key store (its class passphrase) and its ID checked.
//! 2. It is encrypted with age under a new backup passphrase (scrypt; the cost follows the key
//!    store's, so `AIRLOCK_SCRYPT_WORK_FACTOR` lowers both in tests), with a header naming the
//!    backup, the key, its role and GUN ([`sealed`]).
//! 3. That ciphertext is split into N shares, any K of which rebuild it ([`split`]).
//! 4. Each share gets a random backup ID, the key ID, K, N, its number and a checksum
//!    ([`share`]) and becomes `DIR/share-i-of-N.svg` (the page), `.png` (its QR code) and
//!    `.txt` (its text form) ([`page`]).
//!
//! So K share holders together still need the backup passphrase, and fewer than K learn
//! nothing about the key, not even its ciphertext.
//!
//! `airlock restore --out-home DIR SHARE...` reads the shares ([`scan`]), checks they are K or
//! more distinct shares of one backup, rebuilds the ciphertext, decrypts it with the backup
//! passphrase, checks that the key has the ID the shares name, and only then opens (or
//! creates) the home at DIR and stores the key under that store's own class passphrase.

mod error;
mod page;
mod passphrase;
mod scan;
mod sealed;
mod share;
mod split;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use time::OffsetDateTime;

use crate::crypto::SigningKey;
use crate::fsutil::{self, PRIVATE_FILE_MODE};
use crate::home::Home;
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::keys::{find_key, rfc3339, store_key};
use crate::ops::OpsError;
use crate::tuf::Gun;

pub use error::{BackupError, ShareDefect};
pub use passphrase::{EnvOrTerminal, FixedPassphrase, PassphraseSource, PASSPHRASE_ENV};
pub use share::Share;

/// The most shares a backup can have: Shamir over GF(256) has 255 points besides the secret.
pub const MAX_SHARES: u32 = 255;

/// What `backup` is asked to make.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The key: its full ID or a unique prefix of 8 or more hex digits.
    pub key: String,
    /// N: how many shares.
    pub shares: u32,
    /// K: how many shares rebuild the key.
    pub threshold: u32,
    /// Where the pages go; must not exist or be empty.
    pub out_dir: PathBuf,
}

/// What `backup` wrote.
#[derive(Debug, serde::Serialize)]
pub struct BackupReport {
    pub backup_id: String,
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
    pub threshold: u8,
    pub shares: Vec<ShareFiles>,
}

/// One share's files.
#[derive(Debug, serde::Serialize)]
pub struct ShareFiles {
    pub index: u8,
    pub checksum: String,
    pub svg: PathBuf,
    pub png: PathBuf,
    pub txt: PathBuf,
}

/// Checks `--shares` and `--threshold`: 2 <= K <= N <= 255.
pub fn check_counts(shares: u32, threshold: u32) -> Result<(u8, u8), BackupError> {
    let total =
        u8::try_from(shares).ok().filter(|n| *n >= 2).ok_or(BackupError::ShareCount(shares))?;
    match u8::try_from(threshold) {
        Ok(k) if (2..=total).contains(&k) => Ok((k, total)),
        _ => Err(BackupError::Threshold { threshold, shares }),
    }
}

/// `airlock backup`: splits a stored key into pages in `opts.out_dir`. Asks for the key's
/// class passphrase (`class_passphrases`), then for a new backup passphrase.
pub fn create(
    store: &KeyStore,
    opts: &BackupOptions,
    now: OffsetDateTime,
    backup_passphrase: &mut dyn PassphraseSource,
    class_passphrases: &mut dyn PassphraseProvider,
) -> Result<BackupReport, OpsError> {
    let (threshold, total) = check_counts(opts.shares, opts.threshold)?;
    let created_dir = check_out_dir(&opts.out_dir)?;
    let record = find_key(store, &opts.key)?;
    let work_factor = store.scrypt_work_factor()?;

    let der = Unlocked::new(store).private_key(&record.key_id, class_passphrases)?;
    let computed = SigningKey::from_pkcs8_der(&der)?.public_key().canonical_id()?;
    if computed.as_str() != record.key_id {
        let computed = computed.to_string();
        return Err(BackupError::StoredKeyMismatch { key_id: record.key_id, computed }.into());
    }

    let mut backup_id = [0u8; 16];
    OsRng.fill_bytes(&mut backup_id);
    let header = sealed::Header {
        backup_id: hex::encode(backup_id),
        key_id: record.key_id.clone(),
        role: record.role.clone(),
        gun: record.gun.clone(),
        keytype: record.keytype.clone(),
        created: rfc3339(now.replace_nanosecond(0).unwrap_or(now)),
    };
    let passphrase = backup_passphrase.new_passphrase()?;
    let ciphertext = sealed::seal(&header, &der, passphrase, work_factor)?;
    drop(der);

    let mut key_id = [0u8; 32];
    hex::decode_to_slice(&record.key_id, &mut key_id)
        .map_err(|_| OpsError::Usage(format!("key ID {} is not hex", record.key_id)))?;
    let info =
        page::PageInfo { role: &record.role, gun: record.gun.as_deref(), created: &header.created };

    // Everything is drawn before anything is written, so a key too large for a QR code
    // leaves no partial backup.
    let mut pages = Vec::with_capacity(usize::from(total));
    for (i, values) in split::split(&ciphertext, threshold, total).into_iter().enumerate() {
        let index = u8::try_from(i + 1).unwrap_or(u8::MAX);
        let share = Share { backup_id, key_id, threshold, total, index, values };
        let rendered = page::render(&share, &info)?;
        pages.push((share, rendered));
    }

    let files = write_pages(&opts.out_dir, created_dir, &pages)?;
    Ok(BackupReport {
        backup_id: header.backup_id,
        key_id: record.key_id,
        role: record.role,
        gun: record.gun,
        threshold,
        shares: files,
    })
}

/// Refuses an output directory that holds anything; returns whether it must be created.
fn check_out_dir(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(false),
            Some(_) => Err(BackupError::OutDirNotEmpty { path: dir.to_path_buf() }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Only the last component is made: a mistyped parent is an error, not a tree.
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            match parent {
                Some(p) if !p.is_dir() => {
                    let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
                    Err(BackupError::io("use", p, missing))
                }
                _ => Ok(true),
            }
        }
        Err(e) => Err(BackupError::io("read", dir, e)),
    }
}

/// Writes every share's files (0600, atomically, never over a file). On failure removes what
/// it wrote, and the directory if it made it.
fn write_pages(
    dir: &Path,
    create_dir: bool,
    pages: &[(Share, page::Rendered)],
) -> Result<Vec<ShareFiles>, BackupError> {
    if create_dir {
        fsutil::create_private_dir(dir).map_err(|e| BackupError::io("create", dir, e))?;
    }

    let mut written: Vec<PathBuf> = Vec::new();
    let result: Result<Vec<ShareFiles>, BackupError> = pages
        .iter()
        .map(|(share, rendered)| write_share(dir, share, rendered, &mut written))
        .collect();

    if result.is_err() {
        for path in &written {
            let _ = fsutil::remove_file_durable(path);
        }
        if create_dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Writes one share's three files, adding each written path to `written`.
fn write_share(
    dir: &Path,
    share: &Share,
    rendered: &page::Rendered,
    written: &mut Vec<PathBuf>,
) -> Result<ShareFiles, BackupError> {
    let name = format!("share-{}-of-{}", share.index, share.total);
    let path = |ext: &str| dir.join(format!("{name}.{ext}"));
    let outputs = [
        (path("svg"), rendered.svg.as_bytes()),
        (path("png"), rendered.png.as_slice()),
        (path("txt"), rendered.txt.as_bytes()),
    ];
    for (path, bytes) in &outputs {
        fsutil::write_new_atomic(path, bytes, PRIVATE_FILE_MODE)
            .map_err(|e| BackupError::io("write", path, e))?;
        written.push(path.clone());
    }
    let [(svg, _), (png, _), (txt, _)] = outputs;
    Ok(ShareFiles { index: share.index, checksum: share.checksum(), svg, png, txt })
}

/// A key rebuilt from shares, checked, not yet stored anywhere.
pub struct Recovered {
    pub key: SigningKey,
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
    pub backup_id: String,
    /// The share numbers used, in order.
    pub used: Vec<u8>,
    pub total: u8,
    pub threshold: u8,
}

/// Names the key, never its private part.
impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovered")
            .field("key_id", &self.key_id)
            .field("role", &self.role)
            .field("gun", &self.gun)
            .field("backup_id", &self.backup_id)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

/// Reads shares, rebuilds and decrypts the backup, and checks the key against the shares.
/// Writes nothing. Every share problem is found, naming its file, before the passphrase is
/// asked.
pub fn recover(
    paths: &[PathBuf],
    passphrase: &mut dyn PassphraseSource,
) -> Result<Recovered, OpsError> {
    let Some(first_path) = paths.first() else {
        return Err(OpsError::Usage("give the share files to restore from".into()));
    };

    let mut shares: BTreeMap<u8, (&PathBuf, Share)> = BTreeMap::new();
    let mut first: Option<Share> = None;
    for path in paths {
        let share = scan::read_share(path)?;
        let first = first.get_or_insert_with(|| share.clone());
        check_same_backup(first, first_path, &share, path)?;
        if let Some((other, _)) = shares.get(&share.index) {
            let (index, total) = (share.index, share.total);
            let (path, other) = (path.clone(), (*other).clone());
            return Err(BackupError::DuplicateShare { path, other, index, total }.into());
        }
        shares.insert(share.index, (path, share));
    }
    let Some(first) = first else {
        return Err(OpsError::Usage("give the share files to restore from".into()));
    };

    let backup_id = first.backup_id_hex();
    if shares.len() < usize::from(first.threshold) {
        return Err(BackupError::TooFewShares {
            have: shares.len(),
            need: usize::from(first.threshold),
            total: first.total,
            backup_id,
            paths: paths.to_vec(),
        }
        .into());
    }

    let points: Vec<(u8, &[u8])> =
        shares.values().map(|(_, s)| (s.index, s.values.as_slice())).collect();
    let Some(ciphertext) = split::combine(first.threshold, &points) else {
        let reason = "the shares do not combine".to_string();
        return Err(BackupError::Damaged { backup_id, reason }.into());
    };

    let opened = sealed::open(&ciphertext, passphrase.existing()?, &backup_id)?;
    let key_id = first.key_id_hex();
    let header = &opened.header;
    if header.backup_id != backup_id || header.key_id != key_id {
        let reason = format!(
            "inside is backup {} of key {}, the shares say backup {backup_id} of key {key_id}",
            header.backup_id, header.key_id
        );
        return Err(BackupError::Damaged { backup_id, reason }.into());
    }

    let key = SigningKey::from_pkcs8_der(&opened.der).map_err(|e| BackupError::Damaged {
        backup_id: backup_id.clone(),
        reason: e.to_string(),
    })?;
    let computed = key.public_key().canonical_id()?.to_string();
    if computed != key_id {
        return Err(BackupError::KeyIdMismatch { recorded: key_id, computed }.into());
    }

    Ok(Recovered {
        key,
        key_id,
        role: opened.header.role,
        gun: opened.header.gun,
        backup_id,
        used: shares.keys().copied().collect(),
        total: first.total,
        threshold: first.threshold,
    })
}

/// Refuses a share of another backup than the first one given.
fn check_same_backup(
    first: &Share,
    first_path: &Path,
    share: &Share,
    path: &Path,
) -> Result<(), BackupError> {
    let describe = |s: &Share| {
        format!(
            "backup {} of key {}, {} of {}, {} values",
            s.backup_id_hex(),
            s.key_id_hex(),
            s.threshold,
            s.total,
            s.values.len()
        )
    };
    let same = share.backup_id == first.backup_id
        && share.key_id == first.key_id
        && share.threshold == first.threshold
        && share.total == first.total
        && share.values.len() == first.values.len();
    if same {
        return Ok(());
    }
    Err(BackupError::OtherBackup {
        path: path.to_path_buf(),
        first: first_path.to_path_buf(),
        theirs: describe(share),
        ours: describe(first),
    })
}

/// What `restore` stored.
#[derive(Debug, serde::Serialize)]
pub struct Restored {
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
    pub backup_id: String,
    pub home: PathBuf,
    /// The share numbers used.
    pub shares: Vec<u8>,
}

/// `airlock restore`: [`recover`], then stores the key in the home at `out_home` (created if
/// needed; its key store's class passphrase comes from `class_passphrases`, a new one if the
/// class has no keys there yet). `work_factor` overrides the scrypt cost of a new class
/// identity, as [`KeyStore::with_work_factor`] does; `None` in the CLI.
pub fn restore(
    out_home: &Path,
    paths: &[PathBuf],
    work_factor: Option<u8>,
    now: OffsetDateTime,
    backup_passphrase: &mut dyn PassphraseSource,
    class_passphrases: &mut dyn PassphraseProvider,
) -> Result<Restored, OpsError> {
    let recovered = recover(paths, backup_passphrase)?;
    let gun = recovered.gun.as_deref().map(Gun::parse).transpose()?;

    let new_home = !out_home.exists();
    let empty = std::fs::read_dir(out_home).map(|mut d| d.next().is_none()).unwrap_or(true);
    if !new_home && !empty && !out_home.join("repos").is_dir() {
        return Err(OpsError::Usage(format!(
            "{} is neither an airlock home nor empty; give a home, or a new directory",
            out_home.display()
        )));
    }
    let home = Home::open(out_home)?;
    let stored =
        store_recovered(&home, &recovered, gun.as_ref(), work_factor, now, class_passphrases);
    if let Err(e) = stored {
        if new_home {
            drop(home);
            crate::home::remove_empty_home(out_home);
        }
        return Err(e);
    }

    Ok(Restored {
        key_id: recovered.key_id.clone(),
        role: recovered.role.clone(),
        gun: recovered.gun.clone(),
        backup_id: recovered.backup_id.clone(),
        home: out_home.to_path_buf(),
        shares: recovered.used.clone(),
    })
}

fn store_recovered(
    home: &Home,
    recovered: &Recovered,
    gun: Option<&Gun>,
    work_factor: Option<u8>,
    now: OffsetDateTime,
    class_passphrases: &mut dyn PassphraseProvider,
) -> Result<(), OpsError> {
    let store = match work_factor {
        Some(log_n) => KeyStore::with_work_factor(&home.keystore_dir(), log_n)?,
        None => KeyStore::open(&home.keystore_dir())?,
    };
    store_key(&store, &recovered.key, &recovered.role, gun, now, class_passphrases)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the text forms of a backup made by hand: `header` sealed with `der`, 2-of-2.
    fn forged(
        dir: &Path,
        header: &sealed::Header,
        der: &[u8],
        share_key_id: [u8; 32],
    ) -> Vec<PathBuf> {
        let ciphertext = sealed::seal(header, der, "pw".into(), Some(10)).unwrap();
        let mut backup_id = [0u8; 16];
        hex::decode_to_slice(&header.backup_id, &mut backup_id).unwrap();
        let mut paths = Vec::new();
        for (i, values) in split::split(&ciphertext, 2, 2).into_iter().enumerate() {
            let index = i as u8 + 1;
            let share =
                Share { backup_id, key_id: share_key_id, threshold: 2, total: 2, index, values };
            let path = dir.join(format!("share-{index}.txt"));
            std::fs::write(&path, share.text_lines().join("\n")).unwrap();
            paths.push(path);
        }
        paths
    }

    fn header_for(key: &SigningKey) -> (sealed::Header, [u8; 32]) {
        let key_id = key.public_key().canonical_id().unwrap().to_string();
        let mut raw = [0u8; 32];
        hex::decode_to_slice(&key_id, &mut raw).unwrap();
        let header = sealed::Header {
            backup_id: "11".repeat(16),
            key_id,
            role: "root".into(),
            gun: None,
            keytype: "ecdsa".into(),
            created: "2026-01-01T00:00:00Z".into(),
        };
        (header, raw)
    }

    #[test]
    fn a_backup_holding_another_key_than_it_names_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (named, inside) = (SigningKey::generate_p256(), SigningKey::generate_p256());
        let (header, key_id) = header_for(&named);
        let paths = forged(dir.path(), &header, &inside.to_pkcs8_der(), key_id);

        let err = recover(&paths, &mut FixedPassphrase::new("pw")).unwrap_err();
        assert!(matches!(err, OpsError::Backup(BackupError::KeyIdMismatch { .. })), "{err}");
    }

    #[test]
    fn shares_naming_another_key_than_the_backup_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate_p256();
        let (header, _) = header_for(&key);
        let paths = forged(dir.path(), &header, &key.to_pkcs8_der(), [0x22; 32]);

        let err = recover(&paths, &mut FixedPassphrase::new("pw")).unwrap_err();
        assert!(matches!(err, OpsError::Backup(BackupError::Damaged { .. })), "{err}");
        assert!(err.to_string().contains(&"22".repeat(32)), "{err}");
    }

    #[test]
    fn an_honest_forged_backup_recovers() {
        // The same construction with nothing wrong recovers, so the refusals above are the
        // checks' doing and not the construction's.
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate_p256();
        let (header, key_id) = header_for(&key);
        let paths = forged(dir.path(), &header, &key.to_pkcs8_der(), key_id);

        let recovered = recover(&paths, &mut FixedPassphrase::new("pw")).unwrap();
        assert_eq!(recovered.key.public_key(), key.public_key());
        assert!(!format!("{recovered:?}").contains("key:"), "Debug shows no key");
    }
}
