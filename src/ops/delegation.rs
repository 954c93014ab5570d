//! Delegation changes of the Docker delegation guide: `delegation add/remove`, `signer
//! remove`, `witness`. Each stages changes after checking that they apply, so a change that
//! cannot be made (a key the role does not hold, a role that does not exist) is refused now,
//! bumps no version and stages nothing.

use time::OffsetDateTime;

use crate::change::{Change, KeyJson};
use crate::crypto::PublicKey;
use crate::home::{Home, RepoState};
use crate::ops::{repo, OpsError};
use crate::tuf::metadata::{Delegations, Targets};
use crate::tuf::{Gun, RoleName};

/// What a staged delegation change means for the repository, for the operator.
#[derive(Debug, serde::Serialize)]
pub struct Staged {
    pub gun: String,
    pub changes: Vec<String>,
    /// Roles left with fewer keys than their threshold (unusable until keys are added).
    pub warnings: Vec<String>,
}

/// `delegation add GUN ROLE --key FILE... [--paths P...|--all-paths]`.
pub fn add(
    home: &Home,
    gun: &Gun,
    role: &RoleName,
    keys: &[PublicKey],
    paths: &[String],
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Staged, OpsError> {
    check_delegation(role)?;
    let keys = keys.iter().map(KeyJson::from_key).collect();
    let change = Change::AddKeys { role: role.to_string(), keys, paths: paths.to_vec() };
    stage(home, gun, vec![change], now, confirm)
}

/// `delegation remove GUN ROLE [KEYID...]`: the keys (either ID form) or, with none, the role.
pub fn remove(
    home: &Home,
    gun: &Gun,
    role: &RoleName,
    key_ids: &[String],
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Staged, OpsError> {
    check_delegation(role)?;
    let state = home.require_repo(gun)?;
    let targets = repo::draft(&state, now)?.targets;
    let change = if key_ids.is_empty() {
        Change::RemoveRole { role: role.to_string() }
    } else {
        let ids = key_ids.iter().map(|id| tuf_key_id(&targets.delegations, role, id));
        Change::RemoveKeys { role: role.to_string(), key_ids: ids.collect::<Result<_, _>>()? }
    };
    stage(home, gun, vec![change], now, confirm)
}

/// `signer remove NAME GUN`: NAME's keys leave `targets/releases`, and `targets/NAME` goes
/// (`docker trust signer remove`).
pub fn remove_signer(
    home: &Home,
    gun: &Gun,
    name: &str,
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Staged, OpsError> {
    let role = RoleName::for_signer(name)?;
    let state = home.require_repo(gun)?;
    let targets = repo::draft(&state, now)?.targets;
    let d = &targets.delegations;
    let signer = d.role(&role).ok_or_else(|| OpsError::Refused {
        gun: gun.clone(),
        why: format!("{name} is not a signer of this repository (no {role})"),
    })?;

    let in_releases = d.role(&RoleName::releases()).and_then(|r| r.keyids.clone());
    let ids: Vec<String> = signer
        .keyids
        .iter()
        .flatten()
        .filter(|id| in_releases.as_ref().is_some_and(|r| r.contains(id)))
        .map(|id| id.to_string())
        .collect();

    let mut changes = Vec::new();
    if !ids.is_empty() {
        changes.push(Change::RemoveKeys { role: RoleName::releases().to_string(), key_ids: ids });
    }
    changes.push(Change::RemoveRole { role: role.to_string() });
    stage(home, gun, changes, now, confirm)
}

/// `witness GUN ROLE...`: re-sign each role unchanged at the next export.
pub fn witness(
    home: &Home,
    gun: &Gun,
    roles: &[RoleName],
    trust_content: bool,
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Staged, OpsError> {
    let state = home.require_repo(gun)?;
    let targets = repo::draft(&state, now)?.targets;
    for role in roles {
        if role.as_str() == "targets" {
            continue;
        }
        check_delegation(role)?;
        if targets.delegations.role(role).is_none() || state.head(role.as_str()).is_none() {
            let why = format!("{role} has no signed file to witness");
            return Err(OpsError::Refused { gun: gun.clone(), why });
        }
        if state.unverified_roles.iter().any(|r| r == role.as_str()) && !trust_content {
            return Err(OpsError::Refused { gun: gun.clone(), why: unverified(role) });
        }
    }
    let witness = |r: &RoleName| Change::Witness { role: r.to_string(), trust_content };
    let changes = roles.iter().map(witness).collect();
    stage(home, gun, changes, now, confirm)
}

/// Why an unverified role is not witnessed.
pub fn unverified(role: &RoleName) -> String {
    format!(
        "{role} is not signed by any key this repository delegated to as far as this home \
         knows: its content was never approved. Check it with `airlock inspect`; witness it \
         only if you vouch for every target in it (--trust-content)"
    )
}

fn check_delegation(role: &RoleName) -> Result<(), OpsError> {
    if !role.is_delegation() || role.depth() != 1 {
        let msg =
            format!("{role}: give a delegation directly under targets, like targets/releases");
        return Err(OpsError::Usage(msg));
    }
    Ok(())
}

/// The ID a role lists a key under, from either form: the TUF ID in targets.json or the
/// canonical ID that `notary delegation list` shows (WIRE.md §2.3, §9.7).
fn tuf_key_id(d: &Delegations, role: &RoleName, given: &str) -> Result<String, OpsError> {
    let held = d.role(role).and_then(|r| r.keyids.clone()).unwrap_or_default();
    for id in &held {
        let canonical = d.key(id).and_then(|k| k.canonical_id().ok());
        if id.as_str() == given || canonical.is_some_and(|c| c.as_str() == given) {
            return Ok(id.to_string());
        }
    }
    let msg = format!("{role} does not hold key {given}; see `airlock delegation list --json`");
    Err(OpsError::Usage(msg))
}

/// Asked before a staged change is saved, with what it would mean; `false` stages nothing.
pub type Confirm<'a> = &'a mut dyn FnMut(&Staged) -> Result<bool, OpsError>;

/// `signer remove NAME GUN...`: every GUN is checked (and confirmed) before any is changed.
pub fn remove_signer_everywhere(
    home: &Home,
    guns: &[Gun],
    name: &str,
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Vec<Staged>, OpsError> {
    let mut dry = |_: &Staged| Ok(false);
    for gun in guns {
        match remove_signer(home, gun, name, now, &mut dry) {
            Err(OpsError::Usage(msg)) if msg == NOT_CONFIRMED => {}
            Err(e) => return Err(e),
            Ok(_) => unreachable!("a dry run saves nothing"),
        }
    }
    guns.iter().map(|gun| remove_signer(home, gun, name, now, &mut *confirm)).collect()
}

/// What a declined confirmation says.
const NOT_CONFIRMED: &str = "not confirmed; nothing changed";

/// Applies `changes` on top of what is pending, and stages them only if they apply and the
/// operator confirms.
pub(crate) fn stage(
    home: &Home,
    gun: &Gun,
    changes: Vec<Change>,
    now: OffsetDateTime,
    confirm: Confirm,
) -> Result<Staged, OpsError> {
    let mut state: RepoState = home.require_repo(gun)?;
    let described = changes.iter().map(Change::describe).collect();
    let before = below_threshold(&repo::draft(&state, now)?.targets);
    state.pending.extend(changes);

    let draft = repo::draft(&state, now)?;
    let mut warnings = below_threshold(&draft.targets);
    warnings.retain(|w| !before.contains(w));
    let staged = Staged { gun: gun.to_string(), changes: described, warnings };
    if !confirm(&staged)? {
        return Err(OpsError::Usage(NOT_CONFIRMED.into()));
    }
    home.save_repo(&state)?;
    Ok(staged)
}

/// Notary's warning when a delegation edit leaves a role unusable (`tuf/tuf.go`).
fn below_threshold(targets: &Targets) -> Vec<String> {
    let roles = targets.delegations.roles.iter().flatten();
    roles
        .filter(|r| (r.keyids.as_ref().map_or(0, Vec::len) as i64) < r.threshold)
        .map(|r| {
            format!(
                "role {} has fewer keys than its threshold of {}; it will not be usable until \
                 keys are added to it",
                r.name, r.threshold
            )
        })
        .collect()
}
