//! `pull`, `push` and `delete`: the only commands that touch the network (feature `online`).

use std::sync::Mutex;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::progress::{in_parallel, in_pipeline, Counter};
use super::run::print_json;
use super::{Cli, DeleteArgs, PullArgs, PushArgs, ServerArgs};
use crate::bundle::{self, BundleKind, BundleWriter, Limits};
use crate::online::{self, Client, OnlineError};
use crate::ops::custody;
use crate::ops::OpsError;
use crate::tuf::metadata::{self, Root};
use crate::tuf::verify::ServerState;
use crate::tuf::{Gun, RoleName};

fn client(args: &ServerArgs) -> Result<Client, OpsError> {
    Client::new(&args.server, args.tlscacert.as_deref()).map_err(|e| OpsError::Usage(e.to_string()))
}

pub fn pull(cli: &Cli, args: &PullArgs, now: OffsetDateTime) -> Result<(), OpsError> {
    crate::ops::export::check_output(&args.output)?;
    let guns = super::run::parse_guns(&args.guns)?;
    let client = client(&args.server)?;
    let rotate = rotate_roles(&args.rotate_server_key)?;
    if !rotate.is_empty() {
        // The server makes a new key on each request: every GUN is checked first, so one
        // that cannot be rotated leaves no stray key behind for another.
        for gun in &guns {
            let root = client.get_role(gun, &RoleName::root());
            if root.map_err(|e| OpsError::Online(e.to_string()))?.is_none() {
                return Err(OpsError::Usage(format!(
                    "{gun} has no trust data yet, so it has no server key to rotate; \
                     nothing was asked of the server"
                )));
            }
        }
    }

    // Each repository goes into the bundle as soon as it arrives, and is dropped.
    let bundle_err = OpsError::bundle(&args.output);
    let writer = BundleWriter::create(&args.output, BundleKind::Pull, now).map_err(bundle_err)?;
    let writer = Mutex::new(writer);
    let counter = Counter::new("pulled", guns.len(), cli.json || cli.quiet);
    let pulled = in_parallel(&guns, usize::from(args.jobs), |gun| {
        let pulled = pull_into(&client, gun, &rotate, &writer);
        let line = match &pulled {
            Ok(p) if p.new => format!("Pulled {gun}: no trust data yet (new)"),
            Ok(p) => format!("Pulled {gun}: {} role file(s)", p.roles),
            Err(e) => format!("Pulling {gun} FAILED: {e}"),
        };
        counter.say(&line);
        pulled
    });
    for (gun, pulled) in guns.iter().zip(pulled) {
        let pulled = pulled.map_err(|e| e.context(gun, &args.output))?;
        for role in pulled.rotated {
            eprintln!("{gun}: the server made a new {role} key; root lists it after `key rotate`");
        }
    }

    let mut writer = writer.into_inner().unwrap_or_else(|e| e.into_inner());
    writer.order_guns(&guns);
    let digest = writer.finish(None).map_err(OpsError::bundle(&args.output))?;
    eprintln!("Wrote {} (digest {digest})", args.output.display());
    if cli.json {
        return print_json(&serde_json::json!({"bundle": args.output, "bundle_digest": digest}));
    }
    super::output::line(format_args!("{digest}"))?;
    Ok(())
}

/// What [`pull_into`] tells about one repository.
struct Pulled {
    new: bool,
    roles: usize,
    /// Roles whose server key was rotated on request.
    rotated: Vec<RoleName>,
}

/// Why one repository did not make it into the bundle.
enum PullFailure {
    Online(OnlineError),
    Bundle(bundle::BundleError),
}

impl std::fmt::Display for PullFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PullFailure::Online(e) => e.fmt(f),
            PullFailure::Bundle(e) => e.fmt(f),
        }
    }
}

impl PullFailure {
    fn context(self, gun: &Gun, bundle: &std::path::Path) -> OpsError {
        match self {
            PullFailure::Online(e) => OpsError::Online(format!("{gun}: {e}")),
            PullFailure::Bundle(e) => OpsError::bundle(bundle)(e),
        }
    }
}

/// Pulls one repository and adds it to the bundle being written.
fn pull_into(
    client: &Client,
    gun: &Gun,
    rotate: &[RoleName],
    writer: &Mutex<BundleWriter>,
) -> Result<Pulled, PullFailure> {
    let repo = online::pull_repo(client, gun, rotate).map_err(PullFailure::Online)?;
    let summary = Pulled {
        new: repo.new,
        roles: repo.metadata.len(),
        rotated: repo.rotated_server_keys.keys().cloned().collect(),
    };

    let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
    writer.add(&repo).map_err(PullFailure::Bundle)?;
    Ok(summary)
}

/// The roles `--rotate-server-key` names: timestamp or snapshot, each once.
fn rotate_roles(names: &[String]) -> Result<Vec<RoleName>, OpsError> {
    let mut roles: Vec<RoleName> = Vec::new();
    for name in names {
        if name != RoleName::TIMESTAMP && name != RoleName::SNAPSHOT {
            let msg = format!(
                "--rotate-server-key {name}: the server holds only timestamp and snapshot keys"
            );
            return Err(OpsError::Usage(msg));
        }
        let role = RoleName::parse(name)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

#[derive(serde::Serialize)]
struct PushResult {
    gun: String,
    roles: Vec<String>,
    ok: bool,
    /// The server answered and refused (as opposed to not being reached).
    refused: bool,
    error: Option<String>,
}

/// The rules import applies, applied to what is about to be sent (against the server's
/// current root and targets for what the bundle does not carry).
fn check_upload(client: &Client, repo: &bundle::RepoFiles) -> Result<(), OpsError> {
    let online = |e: crate::online::OnlineError| OpsError::Online(e.to_string());
    let root = client.get_role(&repo.gun, &RoleName::root()).map_err(online)?;
    let targets = match repo.metadata.contains_key(&RoleName::targets()) {
        true => None,
        false => client.get_role(&repo.gun, &RoleName::targets()).map_err(online)?,
    };
    let server = ServerState { root: root.as_deref(), targets: targets.as_deref() };
    let now = OffsetDateTime::now_utc();
    check_root_signatures(repo, root.as_deref())?;
    crate::tuf::verify::verify_upload(&repo.gun, &repo.metadata, &server, now)?;
    Ok(())
}

/// A k-of-n root short of signatures is refused with what to do, before the general checks
/// would call it merely invalid.
fn check_root_signatures(repo: &bundle::RepoFiles, current: Option<&[u8]>) -> Result<(), OpsError> {
    let Some(bytes) = repo.metadata.get(&RoleName::root()) else { return Ok(()) };
    let (Ok(root), previous) = (
        metadata::parse::<Root>(bytes, "root"),
        current.map(|b| metadata::parse::<Root>(b, "root")).transpose(),
    ) else {
        return Ok(()); // the general checks name what is wrong
    };
    let Ok(previous) = previous else { return Ok(()) };
    let version = root.signed.common.version;
    if let Some(current) = previous.as_ref().filter(|p| p.signed.common.version >= version) {
        if current.canonical() != root.canonical() {
            let why = format!(
                "the server already has a different root version {}, so this bundle's root \
                 v{version} is stale (another change won). Nothing was sent: pull, import, \
                 stage the change again and export",
                current.signed.common.version
            );
            return Err(OpsError::Refused { gun: repo.gun.clone(), why });
        }
    }
    let previous = previous.map(|p| p.signed);
    let count = custody::root_signatures(&repo.gun, &root, previous.as_ref());
    if count.complete {
        return Ok(());
    }
    let why = format!(
        "root v{} has {}; nothing was sent. `airlock status --bundle FILE` shows whose \
         signatures are missing; each custodian adds theirs with `airlock sign FILE -o FILE`",
        count.version,
        count.summary()
    );
    Err(OpsError::Refused { gun: repo.gun.clone(), why })
}

/// Checks and uploads one repository: its result, and a line for people.
fn push_one(client: &Client, repo: bundle::RepoFiles) -> (PushResult, String) {
    let roles = repo.metadata.keys().map(|r| r.to_string()).collect();
    let gun = repo.gun.to_string();
    if let Err(e) = check_upload(client, &repo) {
        let line = format!("Not pushed {gun}: {e}");
        let error = Some(e.to_string());
        return (PushResult { gun, roles, ok: false, refused: e.is_refusal(), error }, line);
    }
    // Moved, not copied: a large targets/releases is held once.
    let files: Vec<(RoleName, Vec<u8>)> = repo.metadata.into_iter().collect();

    let (outcome, line) = match client.publish(&repo.gun, &files) {
        Err(e) if e.is_version_conflict() && already_on_server(client, &repo.gun, &files) => {
            (Ok(()), format!("Pushed {gun}: already on the server (an earlier push was accepted)"))
        }
        Err(e) if e.is_version_conflict() => {
            let line = format!(
                "Pushed {gun}: REFUSED: {e}\n  the server moved on since the pull: pull again, \
                 import, redo the changes and export a new response"
            );
            (Err(e), line)
        }
        Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
            let line = format!("Pushed {gun}: REFUSED by the server: {e}");
            (Err(e), line)
        }
        Err(e) => {
            let line = format!("Pushed {gun}: FAILED: {e}");
            (Err(e), line)
        }
        Ok(()) => (Ok(()), format!("Pushed {gun}: accepted")),
    };
    let refused = outcome.as_ref().err().and_then(|e| e.status()).is_some_and(|s| s < 500);
    let error = outcome.err().map(|e| e.to_string());
    (PushResult { gun, roles, ok: error.is_none(), refused, error }, line)
}

/// Whether the server already stores exactly these files: a retried push of an accepted
/// response is then harmless, not a conflict.
fn already_on_server(client: &Client, gun: &Gun, files: &[(RoleName, Vec<u8>)]) -> bool {
    files.iter().all(|(role, bytes)| {
        let digest = hex::encode(Sha256::digest(bytes));
        matches!(client.get_role_by_hash(gun, role, &digest), Ok(Some(stored)) if stored == *bytes)
    })
}

pub fn push(cli: &Cli, args: &PushArgs) -> Result<(), OpsError> {
    // The whole bundle is verified before anything is sent; then it is read again one
    // repository at a time, each checked against the manifest verified here.
    let path = &args.bundle;
    let (manifest, digest, _) =
        bundle::inspect(path, &Limits::default()).map_err(OpsError::bundle(path))?;
    if manifest.kind != BundleKind::Response {
        return Err(OpsError::WrongBundle(format!(
            "{} is a pull bundle; push takes the response bundle that `airlock export` wrote",
            path.display()
        )));
    }
    let client = client(&args.server)?;

    // A repository is sent only if it passes the rules import applies; one that does not,
    // or that the server refuses, is reported and the others go on. Pushing the same bundle
    // again sends what is missing (what the server already holds is recognised).
    let counter = Counter::new("pushed", manifest.guns.len(), cli.json || cli.quiet);
    let push_repo = |repo: bundle::RepoFiles| {
        let (result, line) = push_one(&client, repo);
        counter.say(&line);
        result
    };
    let each_repo = |send: &mut dyn FnMut(bundle::RepoFiles)| {
        bundle::read_each_again(path, &Limits::default(), &digest, |_, repo| {
            send(repo);
            Ok::<(), OpsError>(())
        })
    };
    let (read, mut results) = in_pipeline(usize::from(args.jobs), each_repo, push_repo);
    let order = bundle::gun_order(&manifest.guns);
    results.sort_by_key(|r| order.get(r.gun.as_str()).copied());

    let answers = results.iter().map(|r| match &r.error {
        None => format!("{}: accepted", r.gun),
        Some(e) => format!("{}: {e}", r.gun),
    });
    super::record::note_message(answers.collect::<Vec<_>>().join("; "));
    if cli.json {
        print_json(&results)?;
    }
    if let Err(halt) = read {
        // Only a bundle that changed on disk after it was verified gets here.
        let (done, total) = (results.len(), manifest.guns.len());
        eprintln!(
            "airlock: reading {} stopped after {done} of {total} repositories",
            path.display()
        );
        return Err(OpsError::halted(path)(halt));
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed == 0 {
        return Ok(());
    }
    let msg = format!(
        "{failed} of {} repositories were not accepted (see above); pushing the same bundle \
         again is harmless once the cause is fixed",
        results.len()
    );
    if results.iter().any(|r| r.refused) {
        return Err(OpsError::Remote(msg));
    }
    Err(OpsError::Online(msg))
}

/// `airlock delete GUN --server URL --remote`: deletes every piece of the GUN's trust data on
/// the server. `--remote` is required so that nobody deletes a server's data while meaning
/// to drop a home's (`airlock forget`).
pub fn delete(cli: &Cli, args: &DeleteArgs) -> Result<(), OpsError> {
    let gun = Gun::parse(&args.gun)?;
    if !args.remote {
        return Err(OpsError::Usage(format!(
            "delete removes {gun}'s trust data from the Notary server and needs --remote to \
             say so; to drop {gun} from this home only, run `airlock forget {gun}`"
        )));
    }
    let client = client(&args.server)?;

    let question = format!(
        "Delete ALL trust data of {gun} on {}? Clients then see no signed data for it until it \
         is initialised again; this cannot be undone.",
        client.server()
    );
    if !args.yes && !super::run::confirm(&question)? {
        return Err(OpsError::Usage("not confirmed; nothing changed".into()));
    }

    client.delete(&gun).map_err(|e| delete_error(&gun, &e))?;
    eprintln!(
        "Deleted {gun} on {}: the server accepted the deletion and holds no trust data for it \
         now. Homes that trust {gun} keep their copy until `airlock forget {gun}`",
        client.server()
    );
    if cli.json {
        let server = client.server();
        return print_json(
            &serde_json::json!({"gun": gun.as_str(), "server": server, "deleted": true}),
        );
    }
    Ok(())
}

/// A refusal (4xx: the server answered and said no) is exit 1; a server that could not be
/// reached or failed (5xx) is exit 2, as for push.
fn delete_error(gun: &Gun, e: &OnlineError) -> OpsError {
    match e.status() {
        Some(status) if status < 500 => {
            OpsError::Remote(format!("deleting {gun} was REFUSED by the server: {e}"))
        }
        _ => OpsError::Online(format!("deleting {gun} FAILED: {e}")),
    }
}
