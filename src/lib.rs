//! airlock: offline key ceremonies for Docker Content Trust / Notary repositories.
#![forbid(unsafe_code)]

pub mod crypto;
pub mod fsutil;
pub mod tuf;
