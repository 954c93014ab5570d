//! The Notary dialect of TUF: names, canonical JSON, Go time, metadata and verification.

pub mod names;

pub use names::{Gun, NameError, RoleName};
