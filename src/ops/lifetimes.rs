//! How long a role signed now stays valid: Notary's defaults (root 10 years, targets, snapshot
//! and delegations 3 years; WIRE.md §5.6) unless the operator sets `--expires`.
//!
//! A lifetime is given as `[ROLE=]N{d,w,y}`: `90d`, `12w`, `2y` (a year is 365 days, as in
//! Notary). Without a role it applies to every role signed; `ROLE` is `root`, `targets`,
//! `snapshot`, `delegations` (every delegation) or one delegation such as `targets/releases`.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::ops::OpsError;
use crate::tuf::gotime::{ROOT_LIFETIME_DAYS, TARGETS_LIFETIME_DAYS};
use crate::tuf::{GoTime, RoleName};

/// Longer than any certificate airlock makes; a typo such as `3650y` is refused.
const MAX_DAYS: i64 = 100 * 365;

/// Lifetimes in days, by role or role class.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifetimes {
    all: Option<i64>,
    by_role: BTreeMap<String, i64>,
}

impl Lifetimes {
    /// Parses `--expires` values; the same role (or the bare value) twice is refused.
    pub fn parse(values: &[String]) -> Result<Lifetimes, OpsError> {
        let twice = |what: &str| {
            OpsError::Usage(format!("--expires gives {what} twice; give each role once"))
        };
        let mut lifetimes = Lifetimes::default();
        for value in values {
            match value.split_once('=') {
                None if lifetimes.all.is_some() => return Err(twice("a lifetime for every role")),
                None => lifetimes.all = Some(parse_days(value)?),
                Some((role, days)) => {
                    check_role(role)?;
                    let days = parse_days(days)?;
                    if lifetimes.by_role.insert(role.to_string(), days).is_some() {
                        return Err(twice(role));
                    }
                }
            }
        }
        Ok(lifetimes)
    }

    /// The roles named in `--expires` that none of `signed` (the roles an export signed)
    /// is, so the operator learns that a lifetime was not used (a misspelt delegation, a
    /// snapshot the server signs, a root that did not change).
    pub fn unused(&self, signed: &[String]) -> Vec<String> {
        let delegation_signed = signed.iter().any(|r| r.starts_with("targets/"));
        self.by_role
            .keys()
            .filter(|role| match role.as_str() {
                "delegations" => !delegation_signed,
                role => !signed.iter().any(|s| s == role),
            })
            .cloned()
            .collect()
    }

    /// Days a role signed now stays valid.
    pub fn days(&self, role: &str) -> i64 {
        let class = match role {
            "root" | "targets" | "snapshot" => role,
            _ => "delegations",
        };
        let default = if role == "root" { ROOT_LIFETIME_DAYS } else { TARGETS_LIFETIME_DAYS };
        self.by_role
            .get(role)
            .or_else(|| self.by_role.get(class))
            .copied()
            .or(self.all)
            .unwrap_or(default)
    }

    /// The expiry of a role signed at `now`.
    pub fn expires(&self, role: &str, now: OffsetDateTime) -> GoTime {
        GoTime::days_after(now, self.days(role))
    }
}

fn check_role(role: &str) -> Result<(), OpsError> {
    let known = ["root", "targets", "snapshot", "delegations"].contains(&role)
        || RoleName::parse(role).is_ok_and(|r| r.depth() >= 1);
    if known {
        return Ok(());
    }
    Err(OpsError::Usage(format!(
        "--expires {role}=...: {role} is not a role; use root, targets, snapshot, delegations \
         or a delegation such as targets/releases"
    )))
}

fn parse_days(text: &str) -> Result<i64, OpsError> {
    let bad = || {
        OpsError::Usage(format!(
            "--expires {text:?} is not a lifetime; write a number and a unit, e.g. 90d, 12w or 2y"
        ))
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let days = match unit {
        "d" => number,
        "w" => number.checked_mul(7).ok_or_else(bad)?,
        "y" => number.checked_mul(365).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(OpsError::Usage(format!(
            "--expires {text}: a lifetime must be between 1 day and {} years",
            MAX_DAYS / 365
        )));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Lifetimes, OpsError> {
        Lifetimes::parse(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_are_notarys() {
        let l = parse(&[]).unwrap();
        assert_eq!(l.days("root"), 3650);
        assert_eq!(l.days("targets"), 1095);
        assert_eq!(l.days("snapshot"), 1095);
        assert_eq!(l.days("targets/releases"), 1095);
    }

    #[test]
    fn the_most_specific_value_wins() {
        let l = parse(&["30d", "delegations=2w", "targets/releases=1y", "root=5y"]).unwrap();
        assert_eq!(l.days("root"), 5 * 365);
        assert_eq!(l.days("targets"), 30);
        assert_eq!(l.days("snapshot"), 30);
        assert_eq!(l.days("targets/alice"), 14);
        assert_eq!(l.days("targets/releases"), 365);
    }

    #[test]
    fn a_role_twice_is_refused_and_unused_roles_are_named() {
        for twice in [&["targets=5d", "targets=6d"][..], &["5d", "6d"]] {
            assert!(parse(twice).unwrap_err().to_string().contains("twice"));
        }
        let l = parse(&["root=1y", "delegations=30d", "targets/release=9d"]).unwrap();
        let signed = ["targets".to_string(), "targets/releases".to_string()];
        assert_eq!(l.unused(&signed), ["root", "targets/release"]);
        assert_eq!(l.unused(&["targets".to_string()]), ["delegations", "root", "targets/release"]);
    }

    #[test]
    fn bad_lifetimes_are_refused() {
        for bad in ["", "d", "90", "0d", "-1d", "1.5y", "90 d", "101y", "99999999999999999999d"] {
            assert!(parse(&[bad]).is_err(), "{bad:?} was accepted");
        }
        for bad in ["timestamp=1d", "releases=1d", "targets/=1d", "=1d"] {
            assert!(parse(&[bad]).is_err(), "{bad:?} was accepted");
        }
    }
}
