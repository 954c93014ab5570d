//! The log file: appending entries and checking the chain.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::head::SignedHead;
use super::AuditError;
use crate::fsutil;

/// What became of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The input was refused (exit 1).
    Refused,
    /// The command could not run (exit 2).
    Failed,
}

/// Role -> version, per GUN.
pub type Versions = BTreeMap<String, BTreeMap<String, i64>>;

/// One command, as recorded. Nothing secret goes in: passphrases never reach arguments, and
/// error texts never hold key material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    /// UTC, RFC 3339.
    pub time: String,
    pub operator: String,
    pub host: String,
    /// The subcommand, e.g. `signer add`.
    pub command: String,
    pub args: Vec<String>,
    pub guns: Vec<String>,
    /// Keys made, loaded, removed or signed with.
    pub key_ids: Vec<String>,
    pub input_bundle: Option<String>,
    pub output_bundle: Option<String>,
    pub versions_before: Versions,
    pub versions_after: Versions,
    pub outcome: Outcome,
    /// The error, or what a server answered.
    pub message: Option<String>,
    /// For an export: the last entry its signed head covers (so a removed head is seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<u64>,
    /// The previous entry's hash; 64 zeros for the first.
    pub prev: String,
    /// SHA-256 (hex) of this entry's JSON with `hash` left out.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// The hash of a log with no entries before the first.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Entry {
    /// The hash this entry must carry.
    pub fn compute_hash(&self) -> String {
        let unhashed = Entry { hash: String::new(), ..self.clone() };
        let json = serde_json::to_vec(&unhashed).expect("entries serialise");
        hex::encode(Sha256::digest(json))
    }
}

/// The first thing wrong with a log, naming the entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The sequence number of the first bad entry (or where it should be).
    pub seq: u64,
    /// The line of the file, when the entry is there.
    pub line: Option<usize>,
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "entry {} (line {line}): {}", self.seq, self.why),
            None => write!(f, "entry {}: {}", self.seq, self.why),
        }
    }
}

/// A home's log file.
pub struct Log {
    path: PathBuf,
}

impl Log {
    pub fn in_home(home: &Path) -> Log {
        Log { path: home.join("audit").join("log.jsonl") }
    }

    pub fn at(path: &Path) -> Log {
        Log { path: path.to_path_buf() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw lines, without their newlines; none when there is no log yet. A last line
    /// without its newline was cut short by an interrupted append: it is left out (and
    /// dropped by the next append), since it was never a whole entry.
    pub fn lines(&self) -> Result<Vec<String>, AuditError> {
        Ok(self.read()?.0)
    }

    /// Whether the log ends in a line cut short by an interrupted append.
    pub fn torn(&self) -> Result<bool, AuditError> {
        Ok(self.read()?.1)
    }

    fn read(&self) -> Result<(Vec<String>, bool), AuditError> {
        let mut text = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
            Err(source) => return Err(AuditError::Io { path: self.path.clone(), source }),
        };
        let torn = text.last().is_some_and(|b| *b != b'\n');
        if torn {
            let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            text.truncate(whole);
        }
        let text = String::from_utf8(text).map_err(|_| AuditError::Parse {
            path: self.path.clone(),
            line: 0,
            why: "not UTF-8".into(),
        })?;
        Ok((text.lines().map(str::to_string).collect(), torn))
    }

    /// Every entry, checked: the chain must hold (see [`check_chain`]).
    pub fn entries(&self) -> Result<Vec<Entry>, AuditError> {
        let lines = self.lines()?;
        check_chain(&lines, None).map_err(|p| AuditError::Parse {
            path: self.path.clone(),
            line: p.line.unwrap_or(0),
            why: p.to_string(),
        })
    }

    /// Appends `entry` with the next sequence number and the chain fields set, and syncs it
    /// to disk. A log that does not verify is not written on: the damage must be seen first.
    pub fn append(&self, mut entry: Entry) -> Result<Entry, AuditError> {
        let entries = self.entries()?;
        let last = entries.last();
        entry.seq = last.map_or(1, |e| e.seq + 1);
        entry.prev = last.map_or_else(|| GENESIS.to_string(), |e| e.hash.clone());
        entry.hash = String::new();
        entry.hash = entry.compute_hash();

        let io_err = |source| AuditError::Io { path: self.path.clone(), source };
        let dir = self.path.parent().expect("the log lives in a directory");
        fsutil::create_private_dir(dir).map_err(io_err)?;
        let mut line = serde_json::to_vec(&entry).expect("entries serialise");
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(fsutil::PRIVATE_FILE_MODE)
            .open(&self.path)
            .map_err(io_err)?;
        if self.torn()? {
            // What an interrupted append left: cut back to the last whole entry.
            let whole = self.whole_length()?;
            file.set_len(whole).map_err(io_err)?;
        }
        file.write_all(&line).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        Ok(entry)
    }

    /// The length of the file up to and including its last newline.
    fn whole_length(&self) -> Result<u64, AuditError> {
        let bytes = fs::read(&self.path)
            .map_err(|source| AuditError::Io { path: self.path.clone(), source })?;
        Ok(bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i as u64 + 1))
    }
}

/// Checks a run of log lines: each parses, carries its own hash, follows the sequence and
/// chains to the one before. `after` is the sequence number and hash of the entry the first
/// line follows; `None` for a whole log, whose first entry is 1 and chains to [`GENESIS`].
pub fn check_chain(lines: &[String], after: Option<(u64, &str)>) -> Result<Vec<Entry>, Problem> {
    let mut entries: Vec<Entry> = Vec::with_capacity(lines.len());
    let (mut want_seq, mut want_prev) = match after {
        Some((seq, hash)) => (seq + 1, hash.to_string()),
        None => (1, GENESIS.to_string()),
    };
    for (i, line) in lines.iter().enumerate() {
        let line_no = i + 1;
        let bad = |seq, why: String| Problem { seq, line: Some(line_no), why };
        let entry: Entry = serde_json::from_str(line)
            .map_err(|e| bad(want_seq, format!("not a log entry ({e}): edited or damaged")))?;
        if entry.hash != entry.compute_hash() {
            return Err(bad(entry.seq, "its content does not match its hash: edited".into()));
        }
        if entry.seq != want_seq {
            let later = lines[i + 1..].iter().filter_map(|l| serde_json::from_str::<Entry>(l).ok());
            let why = if entry.seq < want_seq || later.into_iter().any(|e| e.seq == want_seq) {
                format!("found entry {} where entry {want_seq} belongs: reordered", entry.seq)
            } else {
                format!("entry {want_seq} is missing (found entry {} here): removed", entry.seq)
            };
            return Err(bad(want_seq, why));
        }
        if entry.prev != want_prev {
            let why = format!(
                "does not chain to entry {}: an entry before it was removed or replaced",
                want_seq - 1
            );
            return Err(bad(want_seq, why));
        }
        (want_seq, want_prev) = (entry.seq + 1, entry.hash.clone());
        entries.push(entry);
    }
    Ok(entries)
}

/// Checks `entries` (a whole log) against the heads signed for it: each head's hashes must
/// be the entries' hashes at those sequence numbers. The first that differs is named; a log
/// that ends before a signed head was truncated.
pub fn check_heads(entries: &[Entry], heads: &[SignedHead]) -> Result<(), Problem> {
    let by_seq: BTreeMap<u64, &Entry> = entries.iter().map(|e| (e.seq, e)).collect();
    let mut mismatches = Vec::new();
    for head in heads {
        for (offset, hash) in head.body.hashes.iter().enumerate() {
            let seq = head.body.first_seq + offset as u64;
            match by_seq.get(&seq) {
                Some(e) if e.hash == *hash => {}
                Some(_) => mismatches.push(Problem {
                    seq,
                    line: Some(seq as usize),
                    why: format!(
                        "differs from the entry the export at {} signed: replaced after a \
                         truncation",
                        head.body.time
                    ),
                }),
                None => mismatches.push(Problem {
                    seq,
                    line: None,
                    why: format!(
                        "is missing, but the export at {} signed it: the log was truncated",
                        head.body.time
                    ),
                }),
            }
        }
    }
    match mismatches.into_iter().min_by_key(|p| p.seq) {
        Some(first) => Err(first),
        None => Ok(()),
    }
}
