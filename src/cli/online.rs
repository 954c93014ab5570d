//! `pull` and `push`: the only commands that touch the network (feature `online`).

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::run::print_json;
use super::{Cli, PullArgs, PushArgs, ServerArgs};
use crate::bundle::{self, BundleContents, BundleKind, Limits};
use crate::online::{self, Client};
use crate::ops::OpsError;
use crate::tuf::{Gun, RoleName};

fn client(args: &ServerArgs) -> Result<Client, OpsError> {
    Client::new(&args.server, args.tlscacert.as_deref()).map_err(|e| OpsError::Usage(e.to_string()))
}

pub fn pull(cli: &Cli, args: &PullArgs, now: OffsetDateTime) -> Result<(), OpsError> {
    if args.output.exists() {
        let msg = format!("{} already exists; choose another -o file", args.output.display());
        return Err(OpsError::Usage(msg));
    }
    let guns = super::run::parse_guns(&args.guns)?;
    let client = client(&args.server)?;

    let mut repos = Vec::new();
    for gun in &guns {
        let pulled =
            online::pull_repo(&client, gun).map_err(|e| OpsError::Online(e.to_string()))?;
        let what = if pulled.new {
            "no trust data yet (new)".to_string()
        } else {
            format!("{} role file(s)", pulled.metadata.len())
        };
        eprintln!("Pulled {gun}: {what}");
        repos.push(pulled);
    }

    let contents = BundleContents { kind: BundleKind::Pull, created: now, answers: None, repos };
    let digest = bundle::write(&args.output, &contents).map_err(OpsError::bundle(&args.output))?;
    eprintln!("Wrote {} (digest {digest})", args.output.display());
    if cli.json {
        return print_json(&serde_json::json!({"bundle": args.output, "bundle_digest": digest}));
    }
    println!("{digest}");
    Ok(())
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

/// Whether the server already stores exactly these files: a retried push of an accepted
/// response is then harmless, not a conflict.
fn already_on_server(client: &Client, gun: &Gun, files: &[(RoleName, Vec<u8>)]) -> bool {
    files.iter().all(|(role, bytes)| {
        let digest = hex::encode(Sha256::digest(bytes));
        matches!(client.get_role_by_hash(gun, role, &digest), Ok(Some(stored)) if stored == *bytes)
    })
}

pub fn push(cli: &Cli, args: &PushArgs) -> Result<(), OpsError> {
    let bundle =
        bundle::read(&args.bundle, &Limits::default()).map_err(OpsError::bundle(&args.bundle))?;
    if bundle.contents.kind != BundleKind::Response {
        return Err(OpsError::Usage(format!(
            "{} is a pull bundle; push takes the response bundle that `airlock export` wrote",
            args.bundle.display()
        )));
    }
    let client = client(&args.server)?;

    let mut results = Vec::new();
    for repo in &bundle.contents.repos {
        let files: Vec<(RoleName, Vec<u8>)> =
            repo.metadata.iter().map(|(r, b)| (r.clone(), b.clone())).collect();
        let roles = files.iter().map(|(r, _)| r.to_string()).collect();
        let outcome = match client.publish(&repo.gun, &files) {
            Err(e) if e.is_version_conflict() && already_on_server(&client, &repo.gun, &files) => {
                eprintln!(
                    "Pushed {}: already on the server (an earlier push was accepted)",
                    repo.gun
                );
                Ok(())
            }
            Err(e) if e.is_version_conflict() => {
                eprintln!(
                    "Pushed {}: REFUSED: {e}\n  the server moved on since the pull: pull again, \
                     import, redo the changes and export a new response",
                    repo.gun
                );
                Err(e)
            }
            Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
                eprintln!("Pushed {}: REFUSED by the server: {e}", repo.gun);
                Err(e)
            }
            Err(e) => {
                eprintln!("Pushed {}: FAILED: {e}", repo.gun);
                Err(e)
            }
            Ok(()) => {
                eprintln!("Pushed {}: accepted", repo.gun);
                Ok(())
            }
        };
        let refused = outcome.as_ref().err().and_then(|e| e.status()).is_some_and(|s| s < 500);
        let error = outcome.err().map(|e| e.to_string());
        let gun = repo.gun.to_string();
        results.push(PushResult { gun, roles, ok: error.is_none(), refused, error });
    }

    if cli.json {
        print_json(&results)?;
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
