//! The ceremony record: every command that changes a home or writes a bundle appends one
//! entry to a hash-chained, append-only JSON-lines log in the home (`<home>/audit/log.jsonl`).
//!
//! Chain: each entry carries its sequence number (1, 2, ...), the hash of the entry before it
//! (`prev`, 64 zeros for the first) and its own hash (`hash`: SHA-256 over the entry's JSON
//! without `hash`). An edited entry fails its own hash; a removed or reordered one breaks the
//! sequence and the `prev` link.
//!
//! A chain alone can be rewritten from any point on. So each `export` signs the chain head
//! with the home's audit key ([`head`]): the signed head lists the hashes of every entry since
//! the previous head, is kept in `<home>/audit/heads.jsonl`, and travels in the response
//! bundle with those entries. A log truncated and written on after a signed head then no
//! longer matches it, and `audit verify` names the first entry that differs.

pub mod head;
pub mod log;
pub mod report;

pub use head::{AuditKey, SignedHead};
pub use log::{Entry, Log, Outcome, Problem};

use std::path::Path;

/// A home's whole record, checked: the chain; every signed head by the home's audit key,
/// each following the one before; the entries matching the heads; and every export entry's
/// head present. Returns the entries and heads, or the first thing wrong.
pub fn check_home(home: &Path) -> Result<(Vec<Entry>, Vec<SignedHead>), String> {
    let log = Log::in_home(home);
    let lines = log.lines().map_err(|e| e.to_string())?;
    let entries = log::check_chain(&lines, None).map_err(|p| p.to_string())?;
    let heads = head::read_heads(&head::heads_path(home)).map_err(|e| e.to_string())?;
    let key_id = head::home_key_id(home).map_err(|e| e.to_string())?;
    if key_id.is_none() && !heads.is_empty() {
        return Err("audit/key.json (the audit key's public part) is missing, so the signed \
                    heads cannot be checked; restore it from the home's backup"
            .into());
    }

    let mut expected_first = 1;
    for (i, h) in heads.iter().enumerate() {
        h.verify(key_id.as_deref()).map_err(|why| format!("signed head {}: {why}", i + 1))?;
        if h.body.first_seq != expected_first {
            return Err(format!(
                "signed head {} starts at entry {}, not {expected_first}: a signed head was \
                 removed",
                i + 1,
                h.body.first_seq
            ));
        }
        expected_first = h.last_seq() + 1;
    }
    log::check_heads(&entries, &heads).map_err(|p| p.to_string())?;
    for e in entries.iter().filter(|e| e.outcome == Outcome::Ok) {
        if let Some(last) = e.audit_head {
            if !heads.iter().any(|h| h.last_seq() == last) {
                return Err(format!(
                    "entry {}: the export signed a head up to entry {last}, which is missing \
                     from audit/heads.jsonl: a signed head was removed",
                    e.seq
                ));
            }
        }
    }
    Ok((entries, heads))
}

/// Errors of the audit layer, with the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("audit log {path}, line {line}: {why}")]
    Parse { path: std::path::PathBuf, line: usize, why: String },
    #[error("audit key: {0}")]
    Key(String),
}
