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
