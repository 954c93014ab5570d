//! The Notary dialect of TUF: names, canonical JSON, Go time, metadata and verification.

pub mod cjson;
pub mod gotime;
pub mod metadata;
pub mod names;

pub use gotime::GoTime;
pub use names::{Gun, NameError, RoleName};
