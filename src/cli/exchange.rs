//! `import` and `export`: the offline side of the bundle exchange, with their reports.

use time::OffsetDateTime;

use super::progress::Bar;
use super::record;
use super::run::{guns_or_all, home_dir, keystore, open_existing_home, open_home, print_json};
use super::{Cli, ExportArgs, ImportArgs};
use crate::home::Home;
use crate::keystore::EnvOrTerminal;
use crate::ops::lifetimes::Lifetimes;
use crate::ops::{self, OpsError};

/// `airlock import BUNDLE`: verifies a pull bundle into the home, which it creates if needed
/// (and removes again if the first import fails).
pub fn import(cli: &Cli, args: &ImportArgs, now: OffsetDateTime) -> Result<(), OpsError> {
    if args.dry_run {
        return check(cli, args, now);
    }
    let dir = home_dir(cli)?;
    let new_home = !dir.exists();
    let home = open_home(cli)?;
    let bar = Bar::new("importing", cli.json || cli.quiet);
    let report = ops::import::import(&home, &args.bundle, &import_options(args, now, &bar));
    drop(bar);
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            if new_home {
                // A failed first import leaves no empty home behind.
                drop(home);
                crate::home::remove_empty_home(&dir);
            }
            return Err(e);
        }
    };
    for g in &report.guns {
        super::record::note_versions(g.gun.clone(), g.head_versions.clone());
    }
    print_import(cli, &report)
}

/// `import --dry-run`: the verification of an import, against the home if there is one,
/// writing nothing.
fn check(cli: &Cli, args: &ImportArgs, now: OffsetDateTime) -> Result<(), OpsError> {
    let home = Home::open_to_read(&home_dir(cli)?)?;
    let bar = Bar::new("verifying", cli.json || cli.quiet);
    let report = ops::import::check(home.as_ref(), &args.bundle, &import_options(args, now, &bar));
    drop(bar);
    print_import(cli, &report?)
}

/// What import and its dry run verify with; says so when expired metadata is let through.
fn import_options<'a>(
    args: &'a ImportArgs,
    now: OffsetDateTime,
    bar: &'a Bar,
) -> ops::import::ImportOptions<'a> {
    if args.allow_expired {
        eprintln!("airlock: WARNING: --allow-expired: expired metadata is accepted");
    }
    ops::import::ImportOptions {
        now,
        allow_expired: args.allow_expired,
        pinned_root: args.root_keyid.as_deref(),
        tally: bar,
    }
}

fn print_import(cli: &Cli, report: &ops::import::ImportReport) -> Result<(), OpsError> {
    for g in &report.guns {
        // A dry run changes nothing: it says what an import would do.
        let (discarded, trusting) = match report.dry_run {
            true => ("an import would discard it", "would trust"),
            false => ("it is discarded", "trusting"),
        };
        if let Some(digest) = &g.discarded_export {
            eprintln!(
                "{}: WARNING: the server never accepted response {digest}, which initialised \
                 this repository; {discarded}. Stage the changes again (signer add) and \
                 export a new response",
                g.gun
            );
        }
        if g.new {
            eprintln!("{}: no trust data on the server yet; ready to be initialised", g.gun);
            continue;
        }
        if let Some(ids) = &g.trusted_on_first_use {
            let ids: Vec<String> = ids
                .iter()
                .map(|k| match &k.canonical_id {
                    Some(c) if *c != k.key_id => format!("{} (canonical {c})", k.key_id),
                    _ => k.key_id.clone(),
                })
                .collect();
            let ids = ids.join(", ");
            eprintln!("{}: first sight, {trusting} root key {ids} on first use", g.gun);
            eprintln!(
                "  compare it with the key ID your repository owners published, or \
                       import with --root-keyid to pin it"
            );
        }
        let versions: Vec<String> = g.versions.iter().map(|(r, v)| format!("{r} v{v}")).collect();
        eprintln!("{}: verified {}", g.gun, versions.join(", "));
        for (role, why) in &g.invalid_roles {
            eprintln!(
                "{}: warning: {role} is not valid ({why}); witness it to make it valid",
                g.gun
            );
        }
        if g.export_confirmed {
            eprintln!("{}: the server has the changes this home exported", g.gun);
        }
        if let Some((digest, role)) = &g.superseded_export {
            eprintln!(
                "{}: WARNING: the server holds a different {role} than response {digest} \
                 exported at that version: that response was never applied (another change \
                 won). Stage its changes again if they are still wanted",
                g.gun
            );
        }
    }
    if cli.json {
        return print_json(report);
    }
    match report.dry_run {
        true => eprintln!("Verified bundle {} (dry run: nothing changed)", report.bundle_digest),
        false => eprintln!("Imported bundle {}", report.bundle_digest),
    }
    Ok(())
}

/// `airlock export`: signs the pending changes of the given GUNs into a response bundle.
pub fn export(cli: &Cli, args: &ExportArgs, now: OffsetDateTime) -> Result<(), OpsError> {
    let home = open_existing_home(cli)?;
    let store = keystore(&home)?;
    let pending = |s: &crate::home::RepoState| Ok(!s.pending.is_empty());
    let guns = guns_or_all(&home, &args.repos, pending)?;
    let lifetimes = Lifetimes::parse(&args.expires)?;
    let (out, p) = (&args.output, &mut EnvOrTerminal);
    let bar = Bar::new("signing", cli.json || cli.quiet);
    let opts = ops::export::ExportOptions { now, lifetimes: &lifetimes, tally: &bar };
    let report = ops::export::export(&home, &store, &guns, out, &opts, p);
    drop(bar);
    let report = report?;
    for g in &report.guns {
        let roles: Vec<String> = g.roles.iter().map(|(r, v)| format!("{r} v{v}")).collect();
        eprintln!("Signed {}: {}", g.gun, roles.join(", "));
        if let Some(count) = g.root_signatures.as_ref().filter(|c| !c.complete) {
            eprintln!(
                "{}: root has {}: have the other custodians add theirs with \
                 `airlock sign BUNDLE -o BUNDLE` before the push",
                g.gun,
                count.summary()
            );
        }
    }
    record::note_audit_head(report.audit_head);
    for role in &report.unused_lifetimes {
        eprintln!("warning: --expires {role}=...: no {role} was signed; it was not used");
    }
    eprintln!("Wrote {} (digest {})", report.bundle, report.bundle_digest);
    if cli.json {
        return print_json(&report);
    }
    super::output::line(format_args!("{}", report.bundle_digest))?;
    Ok(())
}
