//! airlock: offline key ceremonies for Docker Content Trust / Notary repositories.
#![forbid(unsafe_code)]

pub mod audit;
pub mod backup;
pub mod bundle;
pub mod change;
pub mod cli;
pub mod crypto;
pub mod fingerprint;
pub mod fsutil;
pub mod home;
pub mod keystore;
#[cfg(feature = "online")]
pub mod online;
pub mod ops;
pub mod tuf;
