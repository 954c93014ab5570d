//! The networked half of a ceremony: pull a GUN's signed metadata from notary-server before
//! the offline signing, and push the signed response afterwards (WIRE.md §6).
//!
//! Compiled only with the `online` feature, so the offline signer's binary holds no HTTP,
//! TLS or socket code at all.

mod client;
mod error;
mod multipart;
mod pull;

pub use client::{Client, MAX_FILE_BYTES, MAX_SMALL_BYTES};
pub use error::{OnlineError, ServerErrorEntry, ServerMessage};
pub use pull::{pull_repo, PulledRepo, MAX_ROOT_VERSION};
