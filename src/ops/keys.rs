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
    let public = key.public_key();
    let key_id = store_key(store, &key, name, None, now, passphrases)?;

    let pem = public
        .to_public_pem()
        .map_err(|source| OpsError::Key { path: pub_path.clone(), source })?;
    let io_err = |source| OpsError::Io { path: pub_path.clone(), source };
    let mut file = fsutil::create_new(&pub_path, 0o644).map_err(io_err)?;
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
