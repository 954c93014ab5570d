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
