//! `airlock audit verify|show|report`.

use std::io::{self, Write};
use std::path::Path;

use super::output::table;
use super::run::{home_dir, print_json};
use super::{AuditCommand, Cli, ReportFormat};
use crate::audit::{log, report, Entry, Log, SignedHead};
use crate::bundle::{self, Limits};
use crate::ops::OpsError;

pub fn run(cli: &Cli, command: &AuditCommand) -> Result<(), OpsError> {
    match command {
        AuditCommand::Verify { file: Some(file) } => verify_file(cli, file),
        AuditCommand::Verify { file: None } => {
            let summary = verify_home(&home_dir(cli)?)?;
            eprintln!("audit log verified: {summary}");
            if cli.json {
                return print_json(&serde_json::json!({"verified": true, "summary": summary}));
            }
            Ok(())
        }
        AuditCommand::Show { since, gun } => {
            check_since(since.as_deref())?;
            let entries = Log::in_home(&home_dir(cli)?).entries().map_err(audit_err)?;
            let selected = report::select(&entries, since.as_deref(), gun.as_deref());
            if cli.json {
                return print_json(&selected);
            }
            let header = ["SEQ", "TIME (UTC)", "OPERATOR", "COMMAND", "GUNS", "OUTCOME"];
            let rows = report::table_rows(&selected);
            table(&mut io::stdout().lock(), &header, &rows).map_err(stdout_err)
        }
        AuditCommand::Report { format, since, gun, output } => {
            check_since(since.as_deref())?;
            let home = home_dir(cli)?;
            let verified = match verify_home(&home) {
                Ok(summary) => format!("verified ({summary})"),
                Err(e) => format!("DOES NOT VERIFY: {e}"),
            };
            let entries = Log::in_home(&home).lines().map_err(audit_err)?;
            let parsed: Vec<Entry> =
                entries.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
            let selected = report::select(&parsed, since.as_deref(), gun.as_deref());
            let text = match format {
                ReportFormat::Md => report::markdown(&selected, &verified),
                ReportFormat::Html => report::html(&selected, &verified),
            };
            match output {
                Some(path) => crate::fsutil::write_new_atomic(path, text.as_bytes(), 0o644)
                    .map_err(|source| OpsError::Io { path: path.clone(), source }),
                None => io::stdout().lock().write_all(text.as_bytes()).map_err(stdout_err),
            }
        }
    }
}

/// The home's log against its signed heads; a one-line summary, or the first problem.
fn verify_home(home: &Path) -> Result<String, OpsError> {
    let (entries, heads) =
        crate::audit::check_home(home).map_err(|why| bad(Log::in_home(home).path(), &why))?;
    let torn = Log::in_home(home).torn().map_err(audit_err)?;
    let signed = heads.last().map_or(0, SignedHead::last_seq);
    let mut summary = format!(
        "{} entries, {} signed heads, signed up to entry {signed}",
        entries.len(),
        heads.len()
    );
    if torn {
        summary.push_str("; a last line cut short by an interrupted write is left out");
    }
    Ok(summary)
}

/// A response bundle's ceremony record, or a copy of a log file (chain only). The bundle's
/// metadata is checked against its manifest but not verified as TUF metadata: that is what
/// import and push do.
fn verify_file(cli: &Cli, path: &Path) -> Result<(), OpsError> {
    let summary = match read_record(path)? {
        Some((kind, audit)) => {
            let why = match kind {
                bundle::BundleKind::Pull => {
                    "is a pull bundle, which carries no ceremony record; audit verify takes \
                     a response bundle"
                }
                bundle::BundleKind::Response => "carries no ceremony record",
            };
            let why = format!("{} {why}", path.display());
            let audit = audit.ok_or(OpsError::WrongBundle(why))?;
            verify_bundle_record(path, &audit.log, &audit.head)?
        }
        None => {
            let lines = Log::at(path).lines().map_err(audit_err)?;
            let entries = log::check_chain(&lines, None).map_err(|p| bad(path, &p.to_string()))?;
            if entries.is_empty() {
                return Err(bad(path, "holds no log entries: not an audit log or a bundle"));
            }
            format!(
                "{} entries chain from the start (no signed heads in a bare log)",
                entries.len()
            )
        }
    };
    eprintln!("{}: ceremony record verified: {summary}", path.display());
    if cli.json {
        return print_json(&serde_json::json!({"verified": true, "summary": summary}));
    }
    Ok(())
}

/// A bundle's kind and ceremony record.
type Record = (bundle::BundleKind, Option<bundle::AuditFiles>);

/// The record of the bundle at `path`, read streaming; `None` when the file is not a bundle
/// at all (no zstd frame), so it may be a copy of a log.
fn read_record(path: &Path) -> Result<Option<Record>, OpsError> {
    let mut magic = [0u8; 4];
    let io_err = |source| OpsError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let n = std::io::Read::read(&mut file, &mut magic).map_err(io_err)?;
    if magic[..n] != [0x28, 0xb5, 0x2f, 0xfd] {
        return Ok(None); // not the zstd frame magic
    }

    let read = bundle::read_each(path, &Limits::default(), |_, _| Ok::<(), OpsError>(()));
    let header = read.map_err(OpsError::halted(path))?;
    Ok(Some((header.kind, header.audit)))
}

fn verify_bundle_record(
    path: &Path,
    log_bytes: &[u8],
    head_bytes: &[u8],
) -> Result<String, OpsError> {
    let head: SignedHead = serde_json::from_slice(head_bytes)
        .map_err(|e| bad(path, &format!("audit/head.json is not a signed head: {e}")))?;
    let key = head.verify(None).map_err(|why| bad(path, &format!("audit/head.json: {why}")))?;
    let text =
        std::str::from_utf8(log_bytes).map_err(|_| bad(path, "audit/log.jsonl is not UTF-8"))?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let after = match lines.first().map(|l| serde_json::from_str::<Entry>(l)) {
        Some(Ok(first)) => Some((first.seq.saturating_sub(1), first.prev)),
        _ => None,
    };
    let after_ref = after.as_ref().map(|(s, p)| (*s, p.as_str()));
    let entries = log::check_chain(&lines, after_ref).map_err(|p| bad(path, &p.to_string()))?;
    log::check_heads(&entries, std::slice::from_ref(&head))
        .map_err(|p| bad(path, &p.to_string()))?;
    if entries.len() != head.body.hashes.len() {
        let why = format!(
            "audit/log.jsonl has {} entries, the signed head covers {}",
            entries.len(),
            head.body.hashes.len()
        );
        return Err(bad(path, &why));
    }
    Ok(format!(
        "{} entries under a head signed by audit key {} at {}",
        entries.len(),
        key.id(),
        head.body.time
    ))
}

/// `--since` must be an RFC 3339 time, or nothing would silently match.
fn check_since(since: Option<&str>) -> Result<(), OpsError> {
    let Some(text) = since else { return Ok(()) };
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &format).map(|_| ()).map_err(|_| {
        OpsError::Usage(format!(
            "--since {text:?} is not an RFC 3339 time; write e.g. 2026-12-01T00:00:00Z"
        ))
    })
}

fn bad(path: &Path, why: &str) -> OpsError {
    OpsError::AuditBroken(format!("{}: {why}", path.display()))
}

fn audit_err(e: crate::audit::AuditError) -> OpsError {
    OpsError::AuditBroken(e.to_string())
}

fn stdout_err(source: io::Error) -> OpsError {
    OpsError::Io { path: "<stdout>".into(), source }
}
