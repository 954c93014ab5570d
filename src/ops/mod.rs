//! The commands' work, as library calls: each function is one step of a ceremony and is
//! what the CLI calls. They take an open [`Home`](crate::home::Home) and an explicit `now`,
//! so tests can drive them with another clock.

pub mod custody;
pub mod delegation;
pub mod digest;
pub mod expiry;
pub mod export;
pub mod import;
pub mod inspect;
pub mod keys;
pub mod lifetimes;
pub mod progress;
pub mod record;
pub mod renew;
pub mod repo;
pub mod rotate;
pub mod signer;

mod error;

pub use error::OpsError;
