//! `airlock expiry`: when every role and certificate of the home's repositories expires, so
//! a scheduled job can warn before a repository stops working.

use time::{Duration, OffsetDateTime};

use crate::home::RepoState;
use crate::ops::OpsError;
use crate::tuf::cjson;
use crate::tuf::metadata::{self, Root};
use crate::tuf::GoTime;

/// One dated thing that expires.
#[derive(Debug, serde::Serialize)]
pub struct Expiry {
    pub gun: String,
    /// A role (`targets/releases`) or a certificate (`root certificate <key id>`).
    pub what: String,
    pub expires: String,
    /// Whole days from now; negative once expired.
    pub days_left: i64,
    /// Within the window asked for (or already expired).
    pub due: bool,
}

/// The longest warning window: a century, beyond any lifetime airlock signs.
pub const MAX_WINDOW_DAYS: i64 = 36_500;

/// `now` plus a `--within` window, which must be 0 to [`MAX_WINDOW_DAYS`] days.
pub fn window_end(now: OffsetDateTime, within_days: i64) -> Result<OffsetDateTime, OpsError> {
    if !(0..=MAX_WINDOW_DAYS).contains(&within_days) {
        return Err(OpsError::Usage(format!(
            "--within {within_days}: give a number of days from 0 to {MAX_WINDOW_DAYS}"
        )));
    }
    Ok(now + Duration::days(within_days))
}

/// Every role's and root certificate's expiry in the newest local metadata of `states`,
/// soonest first. `within` days marks what is due.
pub fn calendar(
    states: &[RepoState],
    within: i64,
    now: OffsetDateTime,
) -> Result<Vec<Expiry>, OpsError> {
    window_end(now, within)?;
    let mut out = Vec::new();
    for state in states {
        let delegated = delegated_roles(state)?;
        for role in state.head_roles() {
            let gone = role.is_delegation() && !delegated.contains(&role.to_string());
            if server_renews(state, role.as_str()) || gone {
                continue;
            }
            let Some(bytes) = state.head(role.as_str()) else { continue };
            if let Some(expires) = role_expiry(bytes) {
                out.push(entry(state, role.to_string(), expires.instant(), within, now));
            }
        }
        out.extend(certificate_expiries(state, within, now)?);
    }
    out.sort_by(|a, b| a.days_left.cmp(&b.days_left).then(a.gun.cmp(&b.gun)));
    Ok(out)
}

/// Delegations the newest targets still lists (a removed role's old file does not matter).
fn delegated_roles(state: &RepoState) -> Result<Vec<String>, OpsError> {
    let Some(bytes) = state.head("targets") else { return Ok(Vec::new()) };
    let targets = metadata::parse::<metadata::Targets>(bytes, "targets")?.signed;
    let roles = targets.delegations.roles.unwrap_or_default();
    Ok(roles.iter().map(|r| r.name.to_string()).collect())
}

/// The server re-signs the timestamp, and a snapshot whose key it holds, whenever they are
/// read after expiring: they are not the ceremony's to renew.
fn server_renews(state: &RepoState, role: &str) -> bool {
    role == "timestamp" || (role == "snapshot" && state.server_keys.contains_key("snapshot"))
}

/// A role file's `expires`, read without trusting anything else in it (it was verified on
/// import, or signed here).
pub(crate) fn role_expiry(bytes: &[u8]) -> Option<GoTime> {
    let doc = cjson::parse(bytes).ok()?;
    GoTime::parse(doc.get("signed")?.get("expires")?.as_str()?).ok()
}

/// The root certificates' NotAfter: a repository whose root certificate expires cannot be
/// read by any client, whatever root.json's own expiry says.
fn certificate_expiries(
    state: &RepoState,
    within: i64,
    now: OffsetDateTime,
) -> Result<Vec<Expiry>, OpsError> {
    let Some(bytes) = state.head("root") else { return Ok(Vec::new()) };
    let root = metadata::parse::<Root>(bytes, "root")?.signed;
    let ids = root.roles.get("root").and_then(|r| r.keyids.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for id in ids {
        let Some(key) = root.keys.get(&id) else { continue };
        let Ok(info) = crate::crypto::check_delegation_certificate(key, now, false) else {
            continue;
        };
        let what = format!("root certificate {}", id.short());
        out.push(entry(state, what, info.not_after, within, now));
    }
    Ok(out)
}

fn entry(
    state: &RepoState,
    what: String,
    expires: OffsetDateTime,
    within: i64,
    now: OffsetDateTime,
) -> Expiry {
    let left = expires - now;
    Expiry {
        gun: state.gun.clone(),
        what,
        expires: GoTime::from_offset_date_time(expires).to_string(),
        days_left: left.whole_days() - i64::from(left.is_negative() && left.whole_days() == 0),
        due: left < Duration::days(within),
    }
}
