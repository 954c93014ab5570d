//! `airlock key ...`: the key store's keys: generate, load, rotate, list and remove.

use std::io;

use time::OffsetDateTime;

use super::output::table;
use super::progress::Spinner;
use super::record;
use super::run::{
    confirm, keystore, open_existing_home, open_home, print_json, stdout_err, tell_staged,
};
use super::{Cli, KeyCommand, KeyTypeArg};
use crate::home::Home;
use crate::keystore::{EnvOrTerminal, KeyStore};
use crate::ops::keys::KeySpec;
use crate::ops::{self, OpsError};
use crate::tuf::Gun;

/// Runs one `key` subcommand.
pub fn run(cli: &Cli, command: &KeyCommand, now: OffsetDateTime) -> Result<(), OpsError> {
    match command {
        KeyCommand::Generate { name, key_type, bits, dir, root } => {
            let spec = key_spec(*key_type, *bits)?;
            let root = root.as_deref().map(Gun::parse).transpose()?;
            let home = open_home(cli)?;
            let store = keystore(&home)?;
            let mut spinner = Spinner::default();
            let p = &mut EnvOrTerminal;
            let made = match &root {
                Some(gun) => ops::keys::generate_root(&store, name, gun, dir, now, p)?,
                None => ops::keys::generate(&store, name, spec, dir, now, p, &mut spinner)?,
            };
            record::note_keys([made.key_id.clone()]);
            eprintln!(
                "Generated {} key {} for {}; public key in {}",
                made.keytype,
                made.key_id,
                made.name,
                made.public_key_file.display()
            );
            if cli.json {
                return print_json(&made);
            }
            super::output::line(format_args!("{}", made.key_id))?;
            Ok(())
        }
        KeyCommand::Load { file, name } => {
            let home = open_home(cli)?;
            let store = keystore(&home)?;
            let mut ask = || ops::keys::import_passphrase(file);
            let loaded =
                ops::keys::load(&store, file, name.as_deref(), now, &mut ask, &mut EnvOrTerminal)?;
            record::note_keys([loaded.key_id.clone()]);
            let gun = loaded.gun.as_deref().map(|g| format!(" for {g}")).unwrap_or_default();
            eprintln!("Loaded {} key {}{gun}", loaded.role, loaded.key_id);
            if cli.json {
                return print_json(&loaded);
            }
            super::output::line(format_args!("{}", loaded.key_id))?;
            Ok(())
        }
        KeyCommand::Rotate { gun, role, key, server_managed } => {
            let rotation = ops::rotate::Rotation::parse(role, key.clone(), *server_managed)?;
            let home = open_existing_home(cli)?;
            let store = keystore(&home)?;
            let gun = Gun::parse(gun)?;
            let rotated =
                ops::rotate::rotate(&home, &store, &gun, &rotation, now, &mut EnvOrTerminal)?;
            record::note_keys([rotated.canonical_id.clone(), rotated.key_id.clone()]);
            record::note_keys(rotated.replaced.iter().cloned());
            eprintln!(
                "{gun}: staged: {role} key {} replaces {}",
                rotated.key_id,
                rotated.replaced.join(", ")
            );
            tell_staged(std::slice::from_ref(&rotated.staged));
            if cli.json {
                return print_json(&rotated);
            }
            super::output::line(format_args!("{}", rotated.key_id))?;
            Ok(())
        }
        KeyCommand::List => {
            let home = open_existing_home(cli)?;
            key_list(cli, &keystore(&home)?)
        }
        KeyCommand::Remove { key_id, yes, force } => {
            let home = open_existing_home(cli)?;
            key_remove(cli, &home, &keystore(&home)?, key_id, *yes, *force)
        }
    }
}

fn key_spec(key_type: KeyTypeArg, bits: Option<usize>) -> Result<KeySpec, OpsError> {
    match (key_type, bits) {
        (KeyTypeArg::Ecdsa, None) => Ok(KeySpec::EcdsaP256),
        (KeyTypeArg::Ecdsa, Some(_)) => Err(OpsError::Usage(
            "--bits is for RSA keys (--type rsa); ECDSA keys are always P-256".into(),
        )),
        (KeyTypeArg::Rsa, bits) => {
            Ok(KeySpec::Rsa { bits: bits.unwrap_or(KeySpec::DEFAULT_RSA_BITS) })
        }
    }
}

/// `key remove`: finds the key and its uses, asks (naming the uses), then removes. With
/// --yes nobody sees the uses, so a key in use also needs --force.
fn key_remove(
    cli: &Cli,
    home: &Home,
    store: &KeyStore,
    key_id: &str,
    yes: bool,
    force: bool,
) -> Result<(), OpsError> {
    let removal = ops::keys::plan_remove(home, store, key_id)?;
    let gun = removal.gun.as_deref().map(|g| format!(" for {g}")).unwrap_or_default();
    let mut question = format!("Remove the {} key {}{gun}?", removal.role, removal.key_id);
    if !removal.used_by.is_empty() {
        let uses: Vec<String> = removal.used_by.iter().map(ToString::to_string).collect();
        question = format!(
            "{question} It is STILL USED by {}; this home can then no longer sign for them.",
            uses.join(", ")
        );
    }

    // Confirming at the terminal, with the uses in the question, is consent enough.
    let allow_in_use = if yes {
        force
    } else if confirm(&question)? {
        true
    } else {
        return Err(OpsError::Usage("not confirmed; nothing changed".into()));
    };
    ops::keys::remove(store, &removal, allow_in_use)?;
    super::record::note_keys([removal.key_id.clone()]);

    eprintln!("Removed the {} key {}{gun} from the key store", removal.role, removal.key_id);
    if cli.json {
        return print_json(&removal);
    }
    super::output::line(format_args!("{}", removal.key_id))?;
    Ok(())
}

fn key_list(cli: &Cli, store: &KeyStore) -> Result<(), OpsError> {
    let records = store.list()?;
    if cli.json {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                serde_json::json!({"role": r.role, "gun": r.gun, "key_id": r.key_id,
                "keytype": r.keytype, "location": store.dir().display().to_string()})
            })
            .collect();
        return print_json(&rows);
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let gun = r.gun.clone().unwrap_or_default();
            vec![r.role.clone(), gun, r.key_id.clone(), store.dir().display().to_string()]
        })
        .collect();
    if rows.is_empty() {
        eprintln!("No signing keys found.");
        return Ok(());
    }
    table(&mut io::stdout().lock(), &["ROLE", "GUN", "KEY ID", "LOCATION"], &rows)
        .map_err(stdout_err)
}
