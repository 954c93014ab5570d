//! Reading a GUN's local head (newest local metadata) out of its state.

use time::OffsetDateTime;

use crate::change::{self, Draft};
use crate::home::RepoState;
use crate::ops::OpsError;
use crate::tuf::metadata::{self, Root, Signed, Targets};

/// The newest local root, if the repository has one.
pub fn head_root(state: &RepoState) -> Result<Option<Signed<Root>>, OpsError> {
    state.head("root").map(|b| metadata::parse::<Root>(b, "root")).transpose().map_err(Into::into)
}

/// The newest local targets, if the repository has one.
pub fn head_targets(state: &RepoState) -> Result<Option<Signed<Targets>>, OpsError> {
    let parse = |b| metadata::parse::<Targets>(b, "targets");
    state.head("targets").map(parse).transpose().map_err(Into::into)
}

/// The head with the pending changes applied: what `export` would sign.
pub fn draft(state: &RepoState, now: OffsetDateTime) -> Result<Draft, OpsError> {
    let root = head_root(state)?.map(|s| s.signed);
    let targets = head_targets(state)?.map(|s| s.signed);
    Ok(change::apply(root, targets, &state.pending, now)?)
}

/// One delegation as `delegation list` shows it.
#[derive(Debug, serde::Serialize)]
pub struct DelegationInfo {
    pub role: String,
    /// Path prefixes; `""` is every path.
    pub paths: Vec<String>,
    /// Canonical key IDs, the ones `notary delegation list` and `docker trust` show.
    pub key_ids: Vec<String>,
    /// The IDs as listed in targets.json (certificate IDs for x509 keys).
    pub tuf_key_ids: Vec<String>,
    pub threshold: i64,
}

/// The delegations of `targets`, pending changes applied; empty for a repository that has
/// neither a root nor pending changes.
pub fn delegations(
    state: &RepoState,
    now: OffsetDateTime,
) -> Result<Vec<DelegationInfo>, OpsError> {
    if head_root(state)?.is_none() && state.pending.is_empty() {
        return Ok(Vec::new());
    }
    let d = draft(state, now)?.targets.delegations;
    let keys = d.keys.unwrap_or_default();

    let mut out = Vec::new();
    for role in d.roles.unwrap_or_default() {
        let tuf_ids: Vec<_> = role.keyids.unwrap_or_default();
        let mut key_ids = Vec::new();
        for id in &tuf_ids {
            let canonical = keys.get(id).map(|k| k.canonical_id()).transpose()?;
            key_ids.push(canonical.unwrap_or_else(|| id.clone()).to_string());
        }
        out.push(DelegationInfo {
            role: role.name.to_string(),
            paths: role.paths,
            key_ids,
            tuf_key_ids: tuf_ids.iter().map(ToString::to_string).collect(),
            threshold: role.threshold,
        });
    }
    Ok(out)
}
