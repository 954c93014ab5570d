//! The Notary dialect of TUF: names, canonical JSON, Go time, metadata and verification.

pub mod cjson;
mod file_form;
pub mod gotime;
pub mod metadata;
pub mod names;
pub mod sign;
pub mod verify;

pub use gotime::GoTime;
pub use names::{Gun, NameError, RoleName};
