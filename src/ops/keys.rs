//! Key generation, listing, and finding the private keys a role needs for signing.

use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::crypto::{CryptoError, KeyId, PublicKey, SigningKey};
use crate::fsutil;
use crate::keystore::{KeyClass, KeyRecord, KeyStore, PassphraseProvider, Unlocked};
use crate::ops::OpsError;
use crate::tuf::sign::Signer;
use crate::tuf::Gun;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// What `key generate` made.
#[derive(Debug, serde::Serialize)]
pub struct Generated {
    pub name: String,
    pub key_id: String,
    pub public_key_file: PathBuf,
}

/// `airlock key generate NAME --dir DIR`: a P-256 delegation key. The private part goes into
/// the key store, the public PEM to `DIR/NAME.pub`, which must not exist yet.
pub fn generate(
    store: &KeyStore,
    name: &str,
    dir: &Path,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Generated, OpsError> {
    crate::tuf::RoleName::for_signer(name)?;
    let pub_path = dir.join(format!("{name}.pub"));
    if pub_path.exists() {
        return Err(OpsError::Usage(format!(
            "{} already exists; choose another name or --dir",
            pub_path.display()
        )));
    }

    let key = SigningKey::generate_p256();
    let pem = key
        .public_key()
        .to_public_pem()
        .map_err(|source| OpsError::Key { path: pub_path.clone(), source })?;

    // The public file is claimed first, so a bad --dir stores no key; if storing the key
    // fails, the file goes again.
    let io_err = |source| OpsError::Io { path: pub_path.clone(), source };
    let mut file = fsutil::create_new(&pub_path, 0o644).map_err(io_err)?;
    let key_id = match store_key(store, &key, name, None, now, passphrases) {
        Ok(id) => id,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&pub_path);
            return Err(e);
        }
    };
    std::io::Write::write_all(&mut file, pem.as_bytes()).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;

    Ok(Generated { name: name.to_string(), key_id: key_id.to_string(), public_key_file: pub_path })
}

/// Puts a private key into the store under its canonical ID.
pub fn store_key(
    store: &KeyStore,
    key: &SigningKey,
    role: &str,
    gun: Option<&Gun>,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<KeyId, OpsError> {
    let public = key.public_key();
    let key_id = public.canonical_id()?;
    let record = KeyRecord {
        key_id: key_id.to_string(),
        role: role.to_string(),
        gun: gun.map(Gun::to_string),
        class: KeyClass::for_role(role),
        keytype: public.keytype().as_str().to_string(),
        public: public.public_b64(),
        created: rfc3339(now),
    };
    store.add(&record, &key.to_pkcs8_der(), passphrases)?;
    Ok(key_id)
}

/// A private key from the store, signing for a role that lists `listed` (for root keys the
/// certificate, whose TUF ID goes into the signature).
pub struct RoleKey {
    key: SigningKey,
    listed: PublicKey,
}

impl Signer for RoleKey {
    fn key_id(&self) -> String {
        self.listed.id().to_string()
    }

    fn method(&self) -> &'static str {
        self.key.method()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key.sign(msg)
    }
}

/// The private keys this store holds for any of `listed` (the keys a role lists).
pub fn role_keys(
    unlocked: &mut Unlocked,
    listed: &[PublicKey],
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Vec<RoleKey>, OpsError> {
    let mut out = Vec::new();
    for key in listed {
        let canonical = key.canonical_id()?;
        if unlocked.store().get(canonical.as_str())?.is_none() {
            continue;
        }
        let der = unlocked.private_key(canonical.as_str(), passphrases)?;
        let signing = SigningKey::from_pkcs8_der(&der)?;
        out.push(RoleKey { key: signing, listed: key.clone() });
    }
    Ok(out)
}

/// What `key load` stored.
#[derive(Debug, serde::Serialize)]
pub struct Loaded {
    pub key_id: String,
    pub role: String,
    pub gun: Option<String>,
}

/// `airlock key load FILE [--name NAME]`: a private key file from openssl, notary or docker
/// goes into the key store under the store's own passphrase. The role comes from `--name`
/// (a delegation signer) or from the file's `role:` header, as notary and docker write it;
/// targets and snapshot keys also need the `gun:` header.
pub fn load(
    store: &KeyStore,
    path: &Path,
    name: Option<&str>,
    now: OffsetDateTime,
    file_passphrase: &mut dyn FnMut() -> Result<secrecy::SecretString, OpsError>,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Loaded, OpsError> {
    let text = std::fs::read(path).map_err(|source| OpsError::Io { path: path.into(), source })?;
    let key_err = |source| OpsError::Key { path: path.to_path_buf(), source };
    let passphrase = if crate::crypto::is_encrypted_private_pem(&text) {
        Some(file_passphrase()?)
    } else {
        None
    };
    let loaded = crate::crypto::load_private_pem(&text, passphrase.as_ref()).map_err(key_err)?;

    let header = |key: &str| loaded.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let role = match (name, header("role")) {
        (Some(name), _) => {
            crate::tuf::RoleName::for_signer(name)?;
            name.to_string()
        }
        (None, Some(role)) => loadable_role(&role).map_err(|why| {
            OpsError::Usage(format!("{}: role header {role:?}: {why}", path.display()))
        })?,
        (None, None) => {
            let msg = format!("{}: the file names no role; give --name SIGNER", path.display());
            return Err(OpsError::Usage(msg));
        }
    };
    let gun = match header("gun") {
        Some(g) if matches!(role.as_str(), "targets" | "snapshot") => Some(Gun::parse(&g)?),
        _ => None,
    };
    if matches!(role.as_str(), "targets" | "snapshot") && gun.is_none() {
        let msg = format!("{}: a {role} key file needs a `gun:` header", path.display());
        return Err(OpsError::Usage(msg));
    }

    let key_id = store_key(store, &loaded.key, &role, gun.as_ref(), now, passphrases)?;
    Ok(Loaded { key_id: key_id.to_string(), role, gun: gun.map(|g| g.to_string()) })
}

/// The roles a loaded key may have: root, targets, snapshot, or a signer (`jeff`, or
/// `targets/jeff` as notary names delegation keys).
fn loadable_role(role: &str) -> Result<String, String> {
    if matches!(role, "root" | "targets" | "snapshot") {
        return Ok(role.to_string());
    }
    let name = role.strip_prefix("targets/").unwrap_or(role);
    match crate::tuf::RoleName::for_signer(name) {
        Ok(_) => Ok(name.to_string()),
        Err(e) => Err(format!("{e}; give --name SIGNER")),
    }
}

/// The passphrase of a key file being imported: `AIRLOCK_IMPORT_PASSPHRASE`, else the
/// terminal.
pub fn import_passphrase(path: &Path) -> Result<secrecy::SecretString, OpsError> {
    if let Ok(p) = std::env::var("AIRLOCK_IMPORT_PASSPHRASE") {
        return Ok(secrecy::SecretString::from(p));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let msg = format!(
            "{} is encrypted; set AIRLOCK_IMPORT_PASSPHRASE or run on a terminal",
            path.display()
        );
        return Err(OpsError::Usage(msg));
    }
    let prompt = format!("Enter passphrase for {}: ", path.display());
    let text = rpassword::prompt_password(prompt)
        .map_err(|source| OpsError::Io { path: path.to_path_buf(), source })?;
    Ok(secrecy::SecretString::from(text))
}
