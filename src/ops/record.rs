//! The audit side of `export`: the log entries since the previous export go into the
//! response bundle under a head signed with the home's audit key (made on first use).
//!
//! The audit key is sealed to every passphrase class of the key store, so whichever class an
//! export unlocks for its signing keys also opens it. Anyone who can sign this home's
//! metadata can vouch for its record; and the key's own class (delegation) would otherwise
//! cost every export a second scrypt derivation.

use time::OffsetDateTime;

use crate::audit::{head, AuditError, Log, SignedHead};
use crate::bundle::AuditFiles;
use crate::crypto::SigningKey;
use crate::home::Home;
use crate::keystore::{KeyStore, PassphraseProvider, Unlocked};
use crate::ops::keys::key_record;
use crate::ops::OpsError;

/// What an export's bundle carries of the record, and what to do with the home once the
/// bundle is written.
pub struct Prepared {
    /// The log entries since the previous export and the signed head over them.
    pub files: AuditFiles,
    /// The head to append once the bundle is written.
    pub head: SignedHead,
    /// The audit key, when this export made it: taken back if the export fails.
    made_key: Option<String>,
}

/// The audit files for a response bundle, and the head to record once it is written.
pub fn prepare(
    home: &Home,
    store: &KeyStore,
    unlocked: &mut Unlocked,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<Prepared, OpsError> {
    let dir = home.dir();
    let log = Log::in_home(dir);
    let (entries, heads) = crate::audit::check_home(dir).map_err(|why| {
        damaged(AuditError::Key(format!("the log does not match its signed heads: {why}")))
    })?;

    let after = heads.last().map_or(0, SignedHead::last_seq);
    let new: Vec<_> = entries.into_iter().filter(|e| e.seq > after).collect();
    let (key, made_key) = audit_key(home, store, unlocked, now, passphrases)?;
    let signed = head::sign(&new, after, &key, now);

    let lines = log.lines().map_err(damaged)?;
    let mut log_bytes = Vec::new();
    for line in lines.iter().skip(after as usize) {
        log_bytes.extend_from_slice(line.as_bytes());
        log_bytes.push(b'\n');
    }
    let head_bytes = serde_json::to_vec(&signed).expect("heads serialise");
    let files = AuditFiles { log: log_bytes, head: head_bytes };
    Ok(Prepared { files, head: signed, made_key })
}

/// Records a head once the bundle carrying it is written.
pub fn commit(home: &Home, prepared: &Prepared) -> Result<(), OpsError> {
    head::append_head(home.dir(), &prepared.head).map_err(damaged)
}

/// Whether the head `prepared` signed is in the home's heads: a failed [`commit`] may have
/// written it before failing (the flush), and then the export's bundle and key must stay.
pub fn is_recorded(home: &Home, prepared: &Prepared) -> bool {
    let heads = head::read_heads(&head::heads_path(home.dir()));
    heads.is_ok_and(|heads| heads.last() == Some(&prepared.head))
}

/// Takes back the audit key [`prepare`] made, when the export failed before its head was
/// recorded: a failed export leaves the home as it was. The key leaves the store only once
/// `audit/key.json` no longer names it, so the home never names a key it lacks.
pub fn undo(home: &Home, store: &KeyStore, prepared: &Prepared) {
    let Some(key_id) = &prepared.made_key else { return };
    let key_file = head::key_path(home.dir());
    if crate::fsutil::remove_file_durable(&key_file).is_err() {
        return;
    }
    // The audit directory too, if making the key made it (it is empty then).
    let _ = key_file.parent().map(std::fs::remove_dir);
    let _ = store.remove(key_id);
}

/// The home's audit key, made (and its public part recorded) on first use.
fn audit_key(
    home: &Home,
    store: &KeyStore,
    unlocked: &mut Unlocked,
    now: OffsetDateTime,
    passphrases: &mut dyn PassphraseProvider,
) -> Result<(SigningKey, Option<String>), OpsError> {
    if let Some(id) = head::home_key_id(home.dir()).map_err(damaged)? {
        if store.get(&id)?.is_none() {
            return Err(OpsError::Usage(format!(
                "the home's audit key {id} is not in the key store; restore the key store \
                 from its backup (the audit trail cannot be continued without it)"
            )));
        }
        let der = unlocked.shared_private_key(&id, passphrases)?;
        return Ok((SigningKey::from_pkcs8_der(&der)?, None));
    }
    if !head::read_heads(&head::heads_path(home.dir())).map_err(damaged)?.is_empty() {
        return Err(damaged(AuditError::Key(
            "audit/key.json is missing, but heads were signed: restore it from the home's \
             backup rather than start a new audit key"
                .into(),
        )));
    }
    // Any class's passphrase opens it, so it never costs a second scrypt; its own class is
    // one this export has unlocked already, so making it asks for no new passphrase
    // (delegation, as for any other role name, when nothing is unlocked).
    let key = SigningKey::generate_p256();
    let (key_id, mut record) = key_record(&key, crate::keystore::SHARED_ROLE, None, now)?;
    record.class = unlocked.first_unlocked().unwrap_or(record.class);
    store.add_shared(&record, &key.to_pkcs8_der(), passphrases)?;
    head::write_key(home.dir(), &key.public_key()).map_err(damaged)?;
    Ok((key, Some(key_id.to_string())))
}

fn damaged(e: AuditError) -> OpsError {
    OpsError::Usage(format!(
        "{e}; run `airlock audit verify` to see what is wrong. Nothing was exported"
    ))
}
