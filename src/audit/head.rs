//! Signed chain heads: the home's audit key vouches for the hashes of the entries since the
//! previous head. Kept in `<home>/audit/heads.jsonl` and carried in each response bundle.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::log::Entry;
use super::AuditError;
use crate::crypto::{self, KeyType, PublicKey, SigningKey};
use crate::fsutil;

/// What a head says: the entries `first_seq ..= first_seq + hashes.len() - 1` had these
/// hashes when the home exported at `time`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadBody {
    pub first_seq: u64,
    pub hashes: Vec<String>,
    pub time: String,
    /// The audit key's ID. (The digest of the bundle a head travels in is recorded in the
    /// export's own log entry: a bundle cannot name its own digest.)
    pub key_id: String,
    /// The audit key's public part (base64 SPKI, ECDSA P-256), so a bundle can be checked
    /// alone; compare `key_id` with the home's.
    pub public: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHead {
    pub body: HeadBody,
    /// Base64 raw r||s ECDSA P-256 signature over the body's JSON.
    pub sig: String,
}

/// The message a head's signature covers.
fn message(body: &HeadBody) -> Vec<u8> {
    let mut msg = b"airlock audit head v1\n".to_vec();
    msg.extend(serde_json::to_vec(body).expect("heads serialise"));
    msg
}

impl SignedHead {
    /// The sequence number of the newest entry it covers (`first_seq - 1` when empty).
    pub fn last_seq(&self) -> u64 {
        (self.body.first_seq + self.body.hashes.len() as u64).saturating_sub(1)
    }

    /// Checks the signature with the key the head names, which must be `expected_key_id`
    /// when given (the home's audit key).
    pub fn verify(&self, expected_key_id: Option<&str>) -> Result<PublicKey, String> {
        let public = B64.decode(&self.body.public).map_err(|e| format!("bad public key: {e}"))?;
        let key = PublicKey::new(KeyType::Ecdsa, public);
        if key.id().as_str() != self.body.key_id {
            return Err("its key ID does not match its public key".into());
        }
        if expected_key_id.is_some_and(|id| id != self.body.key_id) {
            return Err(format!("it is signed by key {}, not this home's audit key", key.id()));
        }
        let sig = B64.decode(&self.sig).map_err(|e| format!("bad signature encoding: {e}"))?;
        crypto::verify(&key, "ecdsa", &message(&self.body), &sig)
            .map_err(|_| "its signature does not verify".to_string())?;
        Ok(key)
    }
}

/// The home's audit key: the private part lives in the key store (role `audit`, under the
/// delegation passphrase); the public part in `<home>/audit/key.json`.
pub struct AuditKey {
    pub key_id: String,
}

/// `<home>/audit/key.json`, the audit key's public part.
pub fn key_path(home: &Path) -> PathBuf {
    home.join("audit").join("key.json")
}

/// The home's audit key ID, if it has one yet.
pub fn home_key_id(home: &Path) -> Result<Option<String>, AuditError> {
    let path = key_path(home);
    match fs::read(&path) {
        Ok(bytes) => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                AuditError::Parse { path: path.clone(), line: 1, why: e.to_string() }
            })?;
            let id = value.get("key_id").and_then(|v| v.as_str()).map(str::to_string);
            id.map(Some).ok_or_else(|| AuditError::Key(format!("{}: no key_id", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuditError::Io { path, source }),
    }
}

/// Records a new audit key's public part.
pub fn write_key(home: &Path, key: &PublicKey) -> Result<(), AuditError> {
    let path = key_path(home);
    let io_err = |source| AuditError::Io { path: path.clone(), source };
    fsutil::create_private_dir(path.parent().expect("in a directory")).map_err(io_err)?;
    let json = serde_json::json!({"key_id": key.id().as_str(), "public": key.public_b64()});
    fsutil::write_atomic(&path, json.to_string().as_bytes(), fsutil::PRIVATE_FILE_MODE)
        .map_err(io_err)
}

/// Signs a head over `entries` (those since the previous head) with `key`.
pub fn sign(
    entries: &[Entry],
    after_seq: u64,
    key: &SigningKey,
    now: OffsetDateTime,
) -> SignedHead {
    let public = key.public_key();
    let body = HeadBody {
        first_seq: entries.first().map_or(after_seq + 1, |e| e.seq),
        hashes: entries.iter().map(|e| e.hash.clone()).collect(),
        time: crate::ops::keys::rfc3339(now),
        key_id: public.id().to_string(),
        public: public.public_b64(),
    };
    let sig = key.sign(&message(&body)).expect("P-256 signing does not fail");
    SignedHead { body, sig: B64.encode(sig) }
}

/// `<home>/audit/heads.jsonl`.
pub fn heads_path(home: &Path) -> PathBuf {
    home.join("audit").join("heads.jsonl")
}

/// Every head the home signed, oldest first.
pub fn read_heads(path: &Path) -> Result<Vec<SignedHead>, AuditError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(AuditError::Io { path: path.to_path_buf(), source }),
    };
    let parse = |(i, line): (usize, &str)| {
        serde_json::from_str(line).map_err(|e| AuditError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            why: format!("not a signed head: {e}"),
        })
    };
    text.lines().enumerate().map(parse).collect()
}

/// Appends a head to `<home>/audit/heads.jsonl`, synced.
pub fn append_head(home: &Path, head: &SignedHead) -> Result<(), AuditError> {
    let path = heads_path(home);
    let io_err = |source| AuditError::Io { path: path.clone(), source };
    let mut line = serde_json::to_vec(head).expect("heads serialise");
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(fsutil::PRIVATE_FILE_MODE)
        .open(&path)
        .map_err(io_err)?;
    file.write_all(&line).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}
