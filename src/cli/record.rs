//! Records each command that changes a home or writes a bundle in the home's audit log:
//! who, where, what, which repositories and keys, bundle digests, role versions before and
//! after, and the outcome, failures included.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{Cli, Command, DelegationCommand, KeyCommand, SignerCommand};
use crate::audit::log::Versions;
use crate::audit::{AuditError, Entry, Log, Outcome};
use crate::bundle::{self, Limits};
use crate::home::Home;
use crate::ops::OpsError;
use crate::tuf::Gun;

thread_local! {
    /// What a command's dispatch learned that the arguments do not say (keys made, GUNs
    /// found in a bundle, a server's answer).
    static NOTE: RefCell<Note> = RefCell::new(Note::default());
}

#[derive(Default)]
struct Note {
    key_ids: Vec<String>,
    guns: Vec<String>,
    message: Option<String>,
    audit_head: Option<u64>,
    /// Head role versions of the states the command wrote, by GUN.
    versions: BTreeMap<String, BTreeMap<String, i64>>,
}

/// Adds key IDs to the current command's record.
pub fn note_keys<I: IntoIterator<Item = String>>(ids: I) {
    NOTE.with(|n| n.borrow_mut().key_ids.extend(ids));
}

/// Records the head role versions of a state the command wrote (`RepoState::head_versions`),
/// so the record need not read it back.
pub fn note_versions(gun: String, versions: BTreeMap<String, i64>) {
    NOTE.with(|n| n.borrow_mut().versions.insert(gun, versions));
}

/// Records the last log entry an export's signed head covers.
pub fn note_audit_head(last: u64) {
    NOTE.with(|n| n.borrow_mut().audit_head = Some(last));
}

/// Adds the GUNs a command found for itself (`--all`) to its record.
pub fn note_guns<I: IntoIterator<Item = String>>(guns: I) {
    NOTE.with(|n| n.borrow_mut().guns.extend(guns));
}

/// Adds a message (what a server answered) to the current command's record.
#[cfg(feature = "online")]
pub fn note_message(message: String) {
    NOTE.with(|n| n.borrow_mut().message = Some(message));
}

/// A command being recorded.
pub struct Recorder {
    home: PathBuf,
    /// The online commands keep their record in a home they create if needed.
    online: bool,
    command: &'static str,
    args: Vec<String>,
    guns: Vec<String>,
    /// The input bundle's digest, read once at the start.
    input_digest: Option<String>,
    output: Option<PathBuf>,
    before: Versions,
}

/// Starts recording `cli`'s command, reading the versions it may change; `None` for
/// commands that change nothing. A home whose log does not verify refuses every changing
/// command before it runs: a change must never go unrecorded.
pub fn start(cli: &Cli, home: PathBuf) -> Result<Option<Recorder>, OpsError> {
    let Some(subject) = subject(&cli.command) else { return Ok(None) };
    // A restore writes into the home it names, and is recorded there.
    let home = match &cli.command {
        Command::Restore { out_home, .. } => out_home.clone(),
        _ => home,
    };
    let mut guns = subject.guns;
    let input = subject.input.as_deref().and_then(summarize_input);
    let input_digest = input.map(|summary| {
        guns.extend(summary.guns);
        summary.digest
    });
    guns.sort();
    guns.dedup();
    let before = match Home::open_existing(&home) {
        Ok(open) => {
            Log::in_home(open.dir()).entries().map_err(|e| {
                OpsError::AuditBroken(format!(
                    "{e}. Nothing was done: a change must be recorded. `airlock audit verify` \
                     names the damage; restore the home's audit/ directory from its backup"
                ))
            })?;
            versions(&open, &guns, &mut BTreeMap::new())
        }
        Err(_) => Versions::new(),
    };
    Ok(Some(Recorder {
        home,
        online: subject.online,
        command: subject.name,
        args: std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect(),
        guns,
        input_digest,
        output: subject.output,
        before,
    }))
}

impl Recorder {
    /// Appends the entry. A home that does not exist (a mistyped `--home`, a failed first
    /// import) gets none, except on the online side, whose record starts with its first
    /// command.
    pub fn finish(self, cli: &Cli, result: &Result<(), OpsError>) -> Result<(), AuditError> {
        let recordable = self.home.join("repos").is_dir() || (self.online && result.is_ok());
        if !recordable {
            return Ok(());
        }
        let home = Home::open(&self.home).map_err(|e| AuditError::Key(e.to_string()))?;
        let mut note = NOTE.with(|n| std::mem::take(&mut *n.borrow_mut()));

        let output = self.output.as_deref().filter(|_| result.is_ok());
        let output = output.and_then(summarize_output);
        let mut guns = self.guns.clone();
        guns.extend(note.guns);
        let mut key_ids = note.key_ids;
        if let Some(output) = &output {
            guns.extend(output.guns.iter().cloned());
            key_ids.extend(output.key_ids.iter().cloned());
        }
        guns.sort();
        guns.dedup();
        key_ids.dedup();

        let with_note = |e: &OpsError| match &note.message {
            Some(answers) => format!("{e}; {answers}"),
            None => e.to_string(),
        };
        let (outcome, message) = match result {
            Ok(()) => (Outcome::Ok, note.message.clone()),
            Err(e) if e.is_refusal() => (Outcome::Refused, Some(with_note(e))),
            Err(e) => (Outcome::Failed, Some(with_note(e))),
        };
        let entry = Entry {
            seq: 0,
            time: crate::ops::keys::rfc3339(OffsetDateTime::now_utc()),
            operator: operator(cli),
            host: host_name(),
            command: self.command.to_string(),
            args: self.args,
            versions_after: versions(&home, &guns, &mut note.versions),
            guns,
            key_ids,
            input_bundle: self.input_digest,
            output_bundle: output.map(|summary| summary.digest),
            versions_before: self.before,
            outcome,
            message,
            audit_head: note.audit_head,
            prev: String::new(),
            hash: String::new(),
        };
        Log::in_home(home.dir()).append(entry)?;
        Ok(())
    }
}

/// What a command is about, for its record.
struct Subject {
    name: &'static str,
    online: bool,
    guns: Vec<String>,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
}

fn subject(command: &Command) -> Option<Subject> {
    let s = |name, guns: &[String], input: Option<&PathBuf>, output: Option<&PathBuf>| Subject {
        name,
        online: false,
        guns: guns.to_vec(),
        input: input.cloned(),
        output: output.cloned(),
    };
    let one = |g: &String| vec![g.clone()];
    Some(match command {
        #[cfg(feature = "online")]
        Command::Pull(a) => Subject { online: true, ..s("pull", &a.guns, None, Some(&a.output)) },
        #[cfg(feature = "online")]
        Command::Push(a) => Subject { online: true, ..s("push", &[], Some(&a.bundle), None) },
        #[cfg(feature = "online")]
        Command::Delete(a) => Subject { online: true, ..s("delete", &one(&a.gun), None, None) },
        Command::Import(a) if a.dry_run => return None,
        Command::Import(a) => s("import", &[], Some(&a.bundle), None),
        Command::Key(KeyCommand::Generate { .. }) => s("key generate", &[], None, None),
        Command::Key(KeyCommand::Load { .. }) => s("key load", &[], None, None),
        Command::Key(KeyCommand::Rotate { gun, .. }) => s("key rotate", &one(gun), None, None),
        Command::Key(KeyCommand::Remove { .. }) => s("key remove", &[], None, None),
        Command::Init { gun, .. } => s("init", &one(gun), None, None),
        Command::Signer(SignerCommand::Add { repos, .. }) => {
            s("signer add", &repos.guns, None, None)
        }
        Command::Signer(SignerCommand::Rotate { repos, .. }) => {
            s("signer rotate", &repos.guns, None, None)
        }
        Command::Signer(SignerCommand::Remove { repos, .. }) => {
            s("signer remove", &repos.guns, None, None)
        }
        Command::Delegation(DelegationCommand::Add { gun, .. }) => {
            s("delegation add", &one(gun), None, None)
        }
        Command::Delegation(DelegationCommand::Remove { gun, .. }) => {
            s("delegation remove", &one(gun), None, None)
        }
        Command::Witness { gun, all: false, .. } => s("witness", &one(gun), None, None),
        Command::Witness { all: true, .. } => s("witness", &[], None, None),
        Command::Renew { repos, .. } => s("renew", &repos.guns, None, None),
        Command::Export(a) => s("export", &a.repos.guns, None, Some(&a.output)),
        Command::Sign { bundle, output, .. } => s("sign", &[], Some(bundle), Some(output)),
        Command::Forget { gun, .. } => s("forget", &one(gun), None, None),
        Command::Backup(_) => s("backup", &[], None, None),
        Command::Restore { .. } => s("restore", &[], None, None),
        _ => return None,
    })
}

/// Role versions of the local head, per GUN this home has; the versions a command noted for
/// the states it wrote are taken as they are, instead of reading those states back.
fn versions(
    home: &Home,
    guns: &[String],
    noted: &mut BTreeMap<String, BTreeMap<String, i64>>,
) -> Versions {
    let mut out = BTreeMap::new();
    for gun in guns {
        if let Some(versions) = noted.remove(gun) {
            out.insert(gun.clone(), versions);
            continue;
        }
        let Ok(Some(state)) = Gun::parse(gun).map(|g| home.repo(&g).ok().flatten()) else {
            continue;
        };
        out.insert(gun.clone(), state.head_versions());
    }
    out
}

/// What the record says about a bundle.
struct BundleSummary {
    digest: String,
    guns: Vec<String>,
    /// The key IDs of every signature in its metadata, when asked for.
    key_ids: Vec<String>,
}

/// The input bundle's digest and GUNs, from its manifest alone (the command reads the rest);
/// `None` when even that is unreadable (the command itself says why).
fn summarize_input(path: &Path) -> Option<BundleSummary> {
    let header = bundle::read_header(path, &Limits::default()).ok()?;
    let guns = header.guns.iter().map(|g| g.gun.to_string()).collect();
    Some(BundleSummary { digest: header.digest, guns, key_ids: Vec::new() })
}

/// The written bundle's digest, GUNs and signature key IDs, read once, streaming; `None` when
/// it does not verify.
fn summarize_output(path: &Path) -> Option<BundleSummary> {
    let mut key_ids: Vec<String> = Vec::new();
    let header = bundle::read_each(path, &Limits::default(), |_, repo| {
        for bytes in repo.metadata.values() {
            for id in signature_key_ids(bytes) {
                if !key_ids.contains(&id) {
                    key_ids.push(id);
                }
            }
        }
        Ok::<(), OpsError>(())
    })
    .ok()?;
    let guns = header.guns.iter().map(|g| g.gun.to_string()).collect();
    Some(BundleSummary { digest: header.digest, guns, key_ids })
}

/// The key IDs of a metadata file's signatures, read without building the rest of it.
fn signature_key_ids(bytes: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct File {
        signatures: Vec<Signature>,
    }
    #[derive(serde::Deserialize)]
    struct Signature {
        keyid: String,
    }
    let file = serde_json::from_slice::<File>(bytes).ok();
    file.map(|f| f.signatures.into_iter().map(|s| s.keyid).collect()).unwrap_or_default()
}

/// `--operator`, else the login name.
fn operator(cli: &Cli) -> String {
    if let Some(name) = cli.operator.as_ref().filter(|n| !n.trim().is_empty()) {
        return name.clone();
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
