//! Dispatch: each command opens what it needs, calls one library operation and prints.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use time::OffsetDateTime;

use super::output::{json, table};
use super::record;
use super::{BundleCommand, Cli, Command, DelegationCommand, SignerCommand};
use crate::backup;
use crate::bundle::{self, Limits};
use crate::home::Home;
use crate::keystore::{EnvOrTerminal, KeyStore};
use crate::ops::{self, OpsError};
use crate::tuf::{Gun, RoleName};

/// Runs the CLI; the process exit code is 0, 1 (refused) or 2 (could not run).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let recorder = match home_dir(&cli).map(|home| super::record::start(&cli, home)) {
        Ok(Err(e)) => return fail(&cli, e),
        Ok(Ok(recorder)) => recorder,
        Err(_) => None,
    };
    let mut result = run(&cli);
    if let Some(recorder) = recorder {
        if let Err(e) = recorder.finish(&cli, &result) {
            let e = OpsError::Usage(format!("{e}; the command's work is done but unrecorded"));
            match &result {
                Ok(()) => result = Err(e),
                Err(_) => eprintln!("airlock: error: {e}"),
            }
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`, `| grep -q`) is not a failure.
        Err(OpsError::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => fail(&cli, e),
    }
}

/// Reports a failure on stderr (and stdout with `--json`) and gives its exit code.
fn fail(cli: &Cli, e: OpsError) -> ExitCode {
    let code = if e.is_refusal() { 1 } else { 2 };
    eprintln!("airlock: error: {e}");
    // Machines get the failure on stdout too, in the same envelope as data; unless the
    // command printed its data already (push's per-GUN results, expiry's calendar), which
    // then says what failed: stdout holds one JSON document either way.
    if cli.json && !JSON_PRINTED.load(Ordering::Relaxed) {
        let _ = json(&serde_json::json!({"error": e.to_string(), "exit_code": code}));
    }
    ExitCode::from(code)
}

/// Set once a command has printed its `--json` document.
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

fn run(cli: &Cli) -> Result<(), OpsError> {
    let now = OffsetDateTime::now_utc();
    match &cli.command {
        #[cfg(feature = "online")]
        Command::Pull(args) => super::online::pull(cli, args, now),
        #[cfg(feature = "online")]
        Command::Push(args) => super::online::push(cli, args),
        #[cfg(feature = "online")]
        Command::Delete(args) => super::online::delete(cli, args),
        #[cfg(not(feature = "online"))]
        Command::Pull { .. } | Command::Push { .. } | Command::Delete { .. } => {
            Err(OpsError::Usage(
                "this is the offline build of airlock: it has no network code. Run pull, push \
                 and delete with the online build on the networked machine"
                    .into(),
            ))
        }
        Command::Import(args) => super::exchange::import(cli, args, now),
        Command::Key(command) => super::keys::run(cli, command, now),
        Command::Signer(SignerCommand::Add { name, repos, keys }) => {
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let guns = guns_or_all(&home, repos, |_| Ok(true))?;
            let keys = ops::signer::read_keys(keys)?;
            for w in ops::signer::certificate_warnings(&keys, now) {
                eprintln!("warning: {w}");
            }
            let added =
                ops::signer::add(&home, &store, name, &guns, &keys, now, &mut EnvOrTerminal)?;
            for a in &added {
                record::note_keys(a.key_ids.iter().cloned());
                if a.initialised {
                    eprintln!(
                        "Initialising {}: new root and targets keys, server-managed snapshot",
                        a.gun
                    );
                }
                eprintln!(
                    "Staged signer {name} for {} ({}); run `airlock export` to sign",
                    a.gun,
                    a.roles.join(", ")
                );
            }
            if cli.json {
                return print_json(&added);
            }
            Ok(())
        }
        Command::Init { gun, root_certs, root_keys, threshold } => {
            if *root_keys == Some(0) {
                return Err(OpsError::Usage(
                    "--root-keys counts this home's root key too: give 1 or more".into(),
                ));
            }
            if root_keys.is_some_and(|n| n != root_certs.len() + 1) {
                return Err(OpsError::Usage(format!(
                    "--root-keys {} needs {} --root-cert file(s), one per other custodian \
                     (each makes theirs with `airlock key generate NAME --root GUN`); {} given",
                    root_keys.unwrap_or_default(),
                    root_keys.unwrap_or_default().saturating_sub(1),
                    root_certs.len()
                )));
            }
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let gun = Gun::parse(gun)?;
            let certs = ops::signer::read_root_certificates(root_certs)?;
            let p = &mut EnvOrTerminal;
            let done = ops::signer::init(&home, &store, &gun, &certs, *threshold, now, p)?;
            record::note_keys(done.root_keys.iter().cloned());
            eprintln!(
                "{gun}: staged: initialise with {} root key(s), threshold {}",
                done.root_keys.len(),
                done.root_threshold
            );
            eprintln!("Run `airlock export` to sign the staged changes.");
            if cli.json {
                return print_json(&done);
            }
            Ok(())
        }
        Command::Signer(SignerCommand::Rotate { name, repos, keys }) => {
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let guns = guns_or_all(&home, repos, has_signer(name, now))?;
            let keys = ops::signer::read_keys(keys)?;
            for w in ops::signer::certificate_warnings(&keys, now) {
                eprintln!("warning: {w}");
            }
            let rotated = ops::signer::rotate(&home, &store, name, &guns, &keys, now)?;
            for r in &rotated {
                record::note_keys(r.added.iter().chain(&r.removed).cloned());
            }
            for r in &rotated {
                eprintln!(
                    "{}: staged: signer {name} rotates to {} in {}; re-signing {}",
                    r.gun,
                    r.added.join(", "),
                    r.roles.join(", "),
                    if r.witnessed.is_empty() { "nothing".into() } else { r.witnessed.join(", ") }
                );
                for w in &r.warnings {
                    eprintln!("{}: warning: {w}", r.gun);
                }
            }
            eprintln!("Run `airlock export` to sign the staged changes.");
            if cli.json {
                return print_json(&rotated);
            }
            Ok(())
        }
        Command::Signer(SignerCommand::Remove { name, repos, yes }) => {
            let home = open_existing_home(cli)?;
            let guns = guns_or_all(&home, repos, has_signer(name, now))?;
            let mut ask = confirm_warnings(*yes);
            let staged =
                ops::delegation::remove_signer_everywhere(&home, &guns, name, now, &mut ask)?;
            print_staged(cli, &staged)
        }
        Command::Delegation(DelegationCommand::Add { gun, role, keys, paths, all_paths }) => {
            let home = open_existing_home(cli)?;
            let (gun, role) = (Gun::parse(gun)?, RoleName::parse(role)?);
            let keys = ops::signer::read_keys(keys)?;
            for w in ops::signer::certificate_warnings(&keys, now) {
                eprintln!("warning: {w}");
            }
            let paths = if *all_paths { vec![String::new()] } else { paths.clone() };
            if paths.is_empty() {
                eprintln!("warning: {role} gets no paths and can sign nothing; see --all-paths");
            }
            let mut yes = |_: &ops::delegation::Staged| Ok(true);
            let staged = ops::delegation::add(&home, &gun, &role, &keys, &paths, now, &mut yes)?;
            print_staged(cli, &[staged])
        }
        Command::Delegation(DelegationCommand::Remove { gun, role, key_ids, yes }) => {
            let home = open_existing_home(cli)?;
            let (gun, role) = (Gun::parse(gun)?, RoleName::parse(role)?);
            let whole_role = key_ids.is_empty();
            // Like `notary delegation remove`: a whole role needs confirming, keys only warn.
            let mut ask = |_: &ops::delegation::Staged| {
                if *yes || !whole_role {
                    return Ok(true);
                }
                confirm(&format!("Remove the role {role} and its keys from {gun}?"))
            };
            let staged = ops::delegation::remove(&home, &gun, &role, key_ids, now, &mut ask)?;
            print_staged(cli, &[staged])
        }
        Command::Witness { gun, roles, trust_content, all } => {
            let home = open_existing_home(cli)?;
            let (guns, roles) = if *all {
                let roles: Vec<String> = std::iter::once(gun).chain(roles).cloned().collect();
                let roles = parse_roles(&roles)?;
                let has = |s: &crate::home::RepoState| {
                    Ok(roles
                        .iter()
                        .all(|r| r.as_str() == "targets" || s.head(r.as_str()).is_some()))
                };
                let every = super::Repos { guns: Vec::new(), all: true };
                (guns_or_all(&home, &every, has)?, roles)
            } else {
                (vec![Gun::parse(gun)?], parse_roles(roles)?)
            };
            if *trust_content {
                eprintln!("airlock: WARNING: --trust-content: you vouch for the roles' content");
            }
            let mut staged = Vec::new();
            for gun in &guns {
                let mut yes = |_: &ops::delegation::Staged| Ok(true);
                let tc = *trust_content;
                staged.push(ops::delegation::witness(&home, gun, &roles, tc, now, &mut yes)?);
            }
            print_staged(cli, &staged)
        }
        Command::Delegation(DelegationCommand::List { gun }) => {
            let home = open_existing_home(cli)?;
            delegation_list(cli, &home, &Gun::parse(gun)?, now)
        }
        Command::Inspect { repos, pretty } => {
            if *pretty && cli.json {
                return Err(OpsError::Usage(
                    "--pretty prints docker's text layout and --json asks for JSON only; \
                     inspect without --pretty already prints docker's JSON"
                        .into(),
                ));
            }
            let home = open_existing_home(cli)?;
            let refs = match repos.all {
                true => home.guns()?.iter().map(Gun::to_string).collect(),
                false => repos.guns.clone(),
            };
            trust_inspect(&home, &refs, *pretty)
        }
        Command::Expiry { guns, within } => {
            let home = open_existing_home(cli)?;
            expiry(cli, &home, guns, *within, now)
        }
        Command::Renew { repos, within } => {
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let guns = guns_or_all(&home, repos, |_| Ok(true))?;
            let p = &mut EnvOrTerminal;
            let renewals = ops::renew::renew(&home, &store, &guns, *within, now, p)?;
            for r in &renewals {
                if r.renewed.is_empty() && r.not_renewed.is_empty() {
                    eprintln!(
                        "{}: nothing to renew within {within} days (beyond what is staged)",
                        r.gun
                    );
                }
                if !r.renewed.is_empty() {
                    eprintln!("{}: staged renewal of {}", r.gun, r.renewed.join(", "));
                }
                for n in &r.not_renewed {
                    eprintln!("{}: warning: due but not renewed here: {n}", r.gun);
                }
            }
            if renewals.iter().any(|r| !r.renewed.is_empty()) {
                eprintln!("Run `airlock export` to sign the staged changes.");
            }
            if cli.json {
                return print_json(&renewals);
            }
            Ok(())
        }
        Command::Status(args) => {
            let home = open_existing_home(cli)?;
            match &args.bundle {
                Some(bundle) => bundle_status(cli, &home, bundle),
                None => status(cli, &home, &args.guns),
            }
        }
        Command::Sign { bundle, output, yes } => {
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let mut confirm = |roots: &[ops::custody::RootInBundle]| {
                for r in roots {
                    let s = &r.signatures;
                    eprintln!("{}: root v{} ({})", s.gun, s.version, s.summary());
                    for line in &r.changes {
                        eprintln!("  {line}");
                    }
                }
                if *yes {
                    return Ok(true);
                }
                confirm("Add your signature to these roots?")
            };
            let p = &mut EnvOrTerminal;
            let report = ops::custody::sign(&home, &store, bundle, output, now, &mut confirm, p)?;
            for r in &report.roots {
                let state = if r.complete { "complete" } else { "still short" };
                eprintln!("{}: root v{} now has {} ({state})", r.gun, r.version, r.summary());
            }
            eprintln!("Wrote {} (digest {})", report.bundle, report.bundle_digest);
            if cli.json {
                return print_json(&report);
            }
            super::output::line(format_args!("{}", report.bundle_digest))?;
            Ok(())
        }
        Command::Export(args) => super::exchange::export(cli, args, now),
        Command::Bundle(BundleCommand::Inspect { bundle, qr, qr_out }) => {
            inspect(cli, bundle, *qr, qr_out.as_deref())
        }
        Command::Audit(command) => super::audit::run(cli, command),
        Command::Backup(args) => {
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let opts = backup::BackupOptions {
                key: args.key_id.clone(),
                shares: args.shares,
                threshold: args.threshold,
                out_dir: args.out.clone(),
            };
            let report =
                backup::create(&store, &opts, now, &mut backup::EnvOrTerminal, &mut EnvOrTerminal)?;
            record::note_keys([report.key_id.clone()]);
            print_backup(cli, &report)
        }
        Command::Restore { out_home, shares } => {
            let p = (&mut backup::EnvOrTerminal, &mut EnvOrTerminal);
            let restored = backup::restore(out_home, shares, None, now, p.0, p.1)?;
            let gun = restored.gun.as_deref().map(|g| format!(" for {g}")).unwrap_or_default();
            let used: Vec<String> = restored.shares.iter().map(u8::to_string).collect();
            eprintln!(
                "Restored the {} key {}{gun} from shares {} of backup {} into the key store \
                 of {}",
                restored.role,
                restored.key_id,
                used.join(", "),
                restored.backup_id,
                restored.home.display()
            );
            if cli.json {
                return print_json(&restored);
            }
            record::note_keys([restored.key_id.clone()]);
            super::output::line(format_args!("{}", restored.key_id))?;
            Ok(())
        }
        Command::Forget { gun, yes } => {
            let home = open_existing_home(cli)?;
            let gun = Gun::parse(gun)?;
            let state = home.require_repo(&gun)?;
            if !yes
                && !confirm(&format!(
                    "Forget {gun} and its {} pending change(s)?",
                    state.pending.len()
                ))?
            {
                return Err(OpsError::Usage("not confirmed; nothing changed".into()));
            }
            home.forget_repo(&gun)?;
            eprintln!("Forgot {gun}; its keys stay in the key store");
            Ok(())
        }
    }
}

/// What `backup` wrote and what to do with it, for people (stderr); the backup ID on stdout.
fn print_backup(cli: &Cli, report: &backup::BackupReport) -> Result<(), OpsError> {
    let gun = report.gun.as_deref().map(|g| format!(" for {g}")).unwrap_or_default();
    eprintln!(
        "Backed up the {} key {}{gun} as backup {}: any {} of these {} shares, with the backup \
         passphrase, restore it",
        report.role,
        report.key_id,
        report.backup_id,
        report.threshold,
        report.shares.len()
    );
    for s in &report.shares {
        eprintln!(
            "  share {}: {} (print), {}, {} (checksum {})",
            s.index,
            s.svg.display(),
            s.png.display(),
            s.txt.display(),
            s.checksum
        );
    }
    eprintln!(
        "Print each page, give each share holder one, keep the passphrase apart from the shares, \
         and delete the files when the pages are printed"
    );
    if cli.json {
        return print_json(report);
    }
    super::output::line(format_args!("{}", report.backup_id))?;
    Ok(())
}

/// A confirmation that asks only when a change leaves a role unusable.
fn confirm_warnings(yes: bool) -> impl FnMut(&ops::delegation::Staged) -> Result<bool, OpsError> {
    move |s| {
        if yes || s.warnings.is_empty() {
            return Ok(true);
        }
        confirm(&format!("{}: {}. Go on?", s.gun, s.warnings.join("; ")))
    }
}

fn print_staged(cli: &Cli, staged: &[ops::delegation::Staged]) -> Result<(), OpsError> {
    tell_staged(staged);
    if cli.json {
        return print_json(&staged);
    }
    Ok(())
}

/// What was staged and its warnings, for people (stderr).
pub(super) fn tell_staged(staged: &[ops::delegation::Staged]) {
    for s in staged {
        for c in &s.changes {
            eprintln!("{}: staged: {c}", s.gun);
        }
        for w in &s.warnings {
            eprintln!("{}: warning: {w}", s.gun);
        }
    }
    eprintln!("Run `airlock export` to sign the staged changes.");
}

/// What `--type` and `--bits` ask for; `--bits` only means something for RSA.
/// Asks a yes/no question on the terminal; without one, the answer is no (use --yes).
pub(super) fn confirm(question: &str) -> Result<bool, OpsError> {
    use std::io::IsTerminal;
    if !io::stdin().is_terminal() {
        return Err(OpsError::Usage(format!(
            "{question} Pass --yes to confirm without a terminal"
        )));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    io::stdin()
        .read_line(&mut answer)
        .map_err(|source| OpsError::Io { path: "<stdin>".into(), source })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub(super) fn home_dir(cli: &Cli) -> Result<PathBuf, OpsError> {
    if let Some(dir) = &cli.home {
        return Ok(dir.clone());
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| OpsError::Usage("set --home or AIRLOCK_HOME (HOME is not set)".into()))?;
    Ok(PathBuf::from(home).join(".airlock"))
}

/// Opens the home, creating it: for commands that bring something into it.
pub(super) fn open_home(cli: &Cli) -> Result<Home, OpsError> {
    Ok(Home::open(&home_dir(cli)?)?)
}

/// Opens a home that must exist already.
pub(super) fn open_existing_home(cli: &Cli) -> Result<Home, OpsError> {
    Ok(Home::open_existing(&home_dir(cli)?)?)
}

pub(super) fn keystore(home: &Home) -> Result<KeyStore, OpsError> {
    Ok(KeyStore::open(&home.keystore_dir())?)
}

/// The GUNs given, or with `--all` every GUN of the home that `applies` to; none is an error.
pub(super) fn guns_or_all(
    home: &Home,
    repos: &super::Repos,
    applies: impl Fn(&crate::home::RepoState) -> Result<bool, OpsError>,
) -> Result<Vec<Gun>, OpsError> {
    if !repos.all {
        return parse_guns(&repos.guns);
    }
    let mut out = Vec::new();
    for gun in home.guns()? {
        if applies(&home.require_repo(&gun)?)? {
            out.push(gun);
        }
    }
    if out.is_empty() {
        return Err(OpsError::Usage("--all: no repository in this home applies".into()));
    }
    eprintln!("--all: {} repositories", out.len());
    record::note_guns(out.iter().map(Gun::to_string));
    Ok(out)
}

/// Whether a repository delegates to signer `name` (pending changes applied).
fn has_signer(
    name: &str,
    now: OffsetDateTime,
) -> impl Fn(&crate::home::RepoState) -> Result<bool, OpsError> + '_ {
    move |state| {
        let role = RoleName::for_signer(name)?;
        if ops::repo::head_root(state)?.is_none() && state.pending.is_empty() {
            return Ok(false);
        }
        Ok(ops::repo::draft(state, now)?.targets.delegations.role(&role).is_some())
    }
}

fn parse_roles(roles: &[String]) -> Result<Vec<RoleName>, OpsError> {
    Ok(roles.iter().map(|r| RoleName::parse(r)).collect::<Result<_, _>>()?)
}

pub(super) fn parse_guns(guns: &[String]) -> Result<Vec<Gun>, OpsError> {
    let mut out: Vec<Gun> = Vec::with_capacity(guns.len());
    for g in guns {
        let gun = Gun::parse(g)?;
        if out.contains(&gun) {
            return Err(OpsError::Usage(format!("GUN {gun} is given twice")));
        }
        out.push(gun);
    }
    Ok(out)
}

pub(super) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), OpsError> {
    json(value).map_err(|source| OpsError::Io { path: "<stdout>".into(), source })?;
    JSON_PRINTED.store(true, Ordering::Relaxed);
    Ok(())
}

pub(super) fn stdout_err(source: io::Error) -> OpsError {
    OpsError::Io { path: "<stdout>".into(), source }
}

fn delegation_list(cli: &Cli, home: &Home, gun: &Gun, now: OffsetDateTime) -> Result<(), OpsError> {
    let state = home.require_repo(gun)?;
    if !state.pending.is_empty() {
        eprintln!(
            "{gun}: showing {} pending change(s) applied; not yet exported",
            state.pending.len()
        );
    }
    let listed = ops::repo::delegations(&state, now)?;
    if cli.json {
        return print_json(&listed);
    }
    if listed.is_empty() {
        super::output::line(format_args!("\nNo delegations present in this repository.\n"))?;
        return Ok(());
    }
    let mut rows = Vec::new();
    for d in listed {
        let (name, ids, threshold) = (d.role, d.key_ids, d.threshold);
        let show =
            |p: &String| if p.is_empty() { "\"\" <all paths>".to_string() } else { p.clone() };
        let mut paths: Vec<String> = d.paths.iter().map(show).collect();
        paths.sort(); // as notary shows them
        let lines = paths.len().max(ids.len()).max(1);
        for i in 0..lines {
            let first = i == 0;
            rows.push(vec![
                if first { name.clone() } else { String::new() },
                paths.get(i).cloned().unwrap_or_default(),
                ids.get(i).cloned().unwrap_or_default(),
                if first { threshold.to_string() } else { String::new() },
            ]);
        }
    }
    table(&mut io::stdout().lock(), &["ROLE", "PATHS", "KEY IDS", "THRESHOLD"], &rows)
        .map_err(stdout_err)
}

fn expiry(
    cli: &Cli,
    home: &Home,
    guns: &[String],
    within: i64,
    now: OffsetDateTime,
) -> Result<(), OpsError> {
    let guns = if guns.is_empty() { home.guns()? } else { parse_guns(guns)? };
    let states = guns.iter().map(|g| home.require_repo(g)).collect::<Result<Vec<_>, _>>()?;
    let calendar = ops::expiry::calendar(&states, within, now)?;
    if cli.json {
        print_json(&calendar)?;
    } else {
        let rows: Vec<Vec<String>> = calendar
            .iter()
            .map(|e| {
                let mark = if e.due { " (due)" } else { "" };
                vec![
                    e.gun.clone(),
                    e.what.clone(),
                    e.expires.clone(),
                    format!("{}{mark}", e.days_left),
                ]
            })
            .collect();
        let header = ["GUN", "ROLE", "EXPIRES", "DAYS LEFT"];
        table(&mut io::stdout().lock(), &header, &rows).map_err(stdout_err)?;
    }
    let due = calendar.iter().filter(|e| e.due).count();
    if due > 0 {
        return Err(OpsError::Due(format!("{due} item(s) expire within {within} days")));
    }
    Ok(())
}

/// `status --bundle`: collected and missing root signatures, per GUN and custodian key.
fn bundle_status(cli: &Cli, home: &Home, bundle: &Path) -> Result<(), OpsError> {
    let roots = ops::custody::bundle_status(home, bundle)?;
    if cli.json {
        return print_json(&roots);
    }
    let mut stdout = io::stdout().lock();
    for r in &roots {
        let s = &r.signatures;
        let state = if s.complete { "complete" } else { "NOT complete" };
        writeln!(stdout, "{} root v{}: {} ({state})", s.gun, s.version, s.summary())
            .map_err(stdout_err)?;
        let counts = [("root", Some(&s.new_root)), ("previous root", s.previous_root.as_ref())];
        for (what, count) in counts {
            let Some(count) = count else { continue };
            for id in &count.signed {
                writeln!(stdout, "  signed   {id}  ({what} key)").map_err(stdout_err)?;
            }
            for id in &count.missing {
                writeln!(stdout, "  missing  {id}  ({what} key)").map_err(stdout_err)?;
            }
        }
    }
    Ok(())
}

fn status(cli: &Cli, home: &Home, guns: &[String]) -> Result<(), OpsError> {
    let guns = if guns.is_empty() { home.guns()? } else { parse_guns(guns)? };
    let mut out = Vec::new();
    for gun in &guns {
        let state = home.require_repo(gun)?;
        let pending: Vec<String> = state.pending.iter().map(|c| c.describe()).collect();
        let exported = state.exported.as_ref().map(|e| e.bundle_digest.clone());
        out.push(serde_json::json!({"gun": gun.to_string(), "pending": pending,
            "exported_unconfirmed": exported, "invalid_roles": state.invalid_roles}));
    }
    if cli.json {
        return print_json(&out);
    }
    let mut stdout = io::stdout().lock();
    for (gun, entry) in guns.iter().zip(&out) {
        writeln!(stdout, "{gun}").map_err(stdout_err)?;
        let pending = entry["pending"].as_array().cloned().unwrap_or_default();
        if pending.is_empty() {
            writeln!(stdout, "  no pending changes").map_err(stdout_err)?;
        }
        for p in pending {
            writeln!(stdout, "  pending: {}", p.as_str().unwrap_or_default())
                .map_err(stdout_err)?;
        }
        if let Some(d) = entry["exported_unconfirmed"].as_str() {
            writeln!(stdout, "  exported in bundle {d}, not yet seen on the server")
                .map_err(stdout_err)?;
        }
    }
    Ok(())
}

/// `docker trust inspect` offline. Like docker, `--pretty` stops at the first reference that
/// fails, while JSON prints every one that works and then fails.
fn trust_inspect(home: &Home, refs: &[String], pretty: bool) -> Result<(), OpsError> {
    let mut stdout = io::stdout().lock();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (i, reference) in refs.iter().enumerate() {
        let inspection = match inspect_one(home, reference) {
            Ok(inspection) => inspection,
            Err(e) if pretty => return Err(e),
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if pretty {
            let separator = if i + 1 < refs.len() { "\n\n" } else { "" };
            let text = ops::inspect::render_pretty(&inspection);
            write!(stdout, "{text}{separator}").map_err(stdout_err)?;
        }
        found.push(inspection);
    }

    if !pretty {
        stdout.write_all(&ops::inspect::render_json(&found)).map_err(stdout_err)?;
    }
    let last = errors.pop();
    for e in errors {
        eprintln!("airlock: error: {e}");
    }
    last.map_or(Ok(()), Err)
}

/// One reference's inspection, with its warnings on stderr.
fn inspect_one(home: &Home, reference: &str) -> Result<ops::inspect::Inspection, OpsError> {
    let (gun, tag) = ops::inspect::parse_ref(reference)?;
    let state = home.repo(&gun)?.ok_or_else(|| OpsError::Refused {
        gun: gun.clone(),
        why: format!(
            "no signatures or cannot access {reference}: the GUN is not in this home; import \
             a pull bundle that carries it"
        ),
    })?;

    let head = ops::inspect::head(&state, reference)?;
    let inspected = ops::inspect::inspect(reference, tag.as_deref(), &head);
    for w in &inspected.warnings {
        eprintln!("airlock: warning: {gun}: {w}");
    }
    Ok(inspected.inspection)
}

/// `bundle inspect`: the manifest, the entries and the digest in every form people compare.
/// A `--qr-out` file is checked before the bundle is read and written after it passed.
fn inspect(cli: &Cli, path: &Path, qr: bool, qr_out: Option<&Path>) -> Result<(), OpsError> {
    if qr && cli.json {
        return Err(OpsError::Usage(
            "--qr prints the QR code on stdout, which --json keeps for JSON; write it to a \
             file with --qr-out FILE instead"
                .into(),
        ));
    }
    let qr_out = qr_out.map(ops::digest::QrOut::check).transpose()?;
    let (manifest, digest, entries) =
        bundle::inspect(path, &Limits::default()).map_err(OpsError::bundle(path))?;
    let fingerprint = ops::digest::fingerprint(path, &digest)?;
    let terminal_qr = qr.then(|| ops::digest::terminal_qr(&fingerprint)).transpose()?;
    if let Some(out) = &qr_out {
        out.write(&fingerprint)?;
        eprintln!("Wrote the digest's QR code to {}", out.path.display());
    }

    let created = ops::keys::rfc3339(manifest.created);
    if cli.json {
        let guns: Vec<_> = manifest
            .guns
            .iter()
            .map(|g| serde_json::json!({"gun": g.gun.as_str(), "new": g.new}))
            .collect();
        return print_json(&serde_json::json!({
            "digest": digest,
            "digest_groups": fingerprint.groups(),
            "digest_words": fingerprint.words(),
            "kind": manifest.kind.as_str(),
            "created": created,
            "tool": manifest.tool,
            "answers": manifest.answers,
            "guns": guns,
            "entries": entries,
        }));
    }
    let mut stdout = io::stdout().lock();
    let mut w = |line: String| writeln!(stdout, "{line}").map_err(stdout_err);
    w(format!("kind:     {}", manifest.kind))?;
    w(format!("created:  {created}"))?;
    w(format!("tool:     {}", manifest.tool))?;
    if let Some(answers) = &manifest.answers {
        w(format!("answers:  {answers}"))?;
    }
    for g in &manifest.guns {
        w(format!("gun:      {}{}", g.gun, if g.new { " (new)" } else { "" }))?;
    }
    for e in &entries {
        w(format!("  {}  {:>9}  {}", e.sha256, e.length, e.path))?;
    }
    w(format!("digest:   {digest}"))?;

    // Lines short enough for an 80-column console: 8 groups, or 4 words (2 groups' worth).
    let labels = |label: &'static str| std::iter::once(label).chain(std::iter::repeat(""));
    let groups = fingerprint.groups();
    for (label, row) in labels("groups:").zip(groups.chunks(8)) {
        w(format!("{label:<9} {}", row.join(" ")))?;
    }
    let words = fingerprint.words();
    for (label, row) in labels("words:").zip(words.chunks(4)) {
        w(format!("{label:<9} {}", row.join(" ")))?;
    }
    if let Some(code) = terminal_qr {
        w(String::new())?;
        w(code)?;
    }
    Ok(())
}
