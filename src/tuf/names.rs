//! Names that cross trust boundaries: GUNs and role names.
//!
//! Both arrive from bundles made on a networked machine, so they are parsed into types that
//! can only hold safe values ("parse, don't validate"): a GUN or a role name that exists is
//! fit to be a path component, a map key and a line in a log.

use std::fmt;

/// The longest GUN accepted. Docker references are limited to 255 characters.
const MAX_GUN_LEN: usize = 255;

/// A Globally Unique Name: the repository a set of trust data belongs to, such as
/// `example.com/team/app` or `127.0.0.1:5000/test/repo`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gun(String);

/// Why a string is not a GUN or not a role name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("GUN {0:?} is not valid: {1}")]
    Gun(String, &'static str),
    #[error("role name {0:?} is not valid: {1}")]
    Role(String, &'static str),
}

impl Gun {
    /// Parses a GUN: 1 to 255 characters of `[A-Za-z0-9._:-]` in `/`-separated segments,
    /// none empty, `.` or `..`.
    pub fn parse(s: &str) -> Result<Gun, NameError> {
        let bad = |why| Err(NameError::Gun(s.to_string(), why));
        if s.is_empty() || s.len() > MAX_GUN_LEN {
            return bad("it must be 1 to 255 characters long");
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if !s.chars().all(|c| c == '/' || allowed(c)) {
            return bad("only letters, digits, '.', '_', ':', '-' and '/' are allowed");
        }
        if s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return bad("a path segment is empty, '.' or '..'");
        }
        Ok(Gun(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A single path component naming this GUN in the home: `/` and `%` are percent-encoded,
    /// so `a/b` and `a%2Fb` can never collide and no GUN can reach outside its directory.
    pub fn to_dir_name(&self) -> String {
        self.0.replace('%', "%25").replace('/', "%2F")
    }
}

impl fmt::Display for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest role name Notary accepts (`tuf/data/roles.go`).
const MAX_ROLE_LEN: usize = 255;

/// A TUF role: one of the four base roles or a delegation `targets/...`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    pub const ROOT: &'static str = "root";
    pub const TARGETS: &'static str = "targets";
    pub const SNAPSHOT: &'static str = "snapshot";
    pub const TIMESTAMP: &'static str = "timestamp";

    /// Parses a role name as Notary does: a base role, or `targets/` followed by segments of
    /// `[-a-z0-9_]`, already a clean path, under 256 characters.
    pub fn parse(s: &str) -> Result<RoleName, NameError> {
        let bad = |why| Err(NameError::Role(s.to_string(), why));
        if matches!(s, "root" | "targets" | "snapshot" | "timestamp") {
            return Ok(RoleName(s.to_string()));
        }
        let Some(rest) = s.strip_prefix("targets/") else {
            return bad("expected root, targets, snapshot, timestamp or targets/<name>");
        };
        if s.len() > MAX_ROLE_LEN {
            return bad("it is longer than 255 characters");
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c);
        if !rest.split('/').all(|seg| !seg.is_empty() && seg.chars().all(allowed)) {
            return bad("delegation segments must be non-empty and use only [-a-z0-9_]");
        }
        Ok(RoleName(s.to_string()))
    }

    /// The delegation role `targets/<name>` for a signer name, as `docker trust signer add`
    /// makes it.
    pub fn for_signer(name: &str) -> Result<RoleName, NameError> {
        let bad = |why| Err(NameError::Role(name.to_string(), why));
        if name.contains('/') {
            return bad("a signer name has no '/'");
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return bad("a signer name starts with a lower-case letter or a digit");
        }
        if matches!(name, "root" | "targets" | "snapshot" | "timestamp" | "releases") {
            return bad("that name is reserved for a Notary role");
        }
        RoleName::parse(&format!("targets/{name}"))
    }

    pub fn root() -> RoleName {
        RoleName(Self::ROOT.into())
    }

    pub fn targets() -> RoleName {
        RoleName(Self::TARGETS.into())
    }

    pub fn snapshot() -> RoleName {
        RoleName(Self::SNAPSHOT.into())
    }

    pub fn releases() -> RoleName {
        RoleName("targets/releases".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_delegation(&self) -> bool {
        self.0.starts_with("targets/")
    }

    /// The role that delegates to this one: `targets/a/b` -> `targets/a`, `targets/a` ->
    /// `targets`. Base roles have none.
    pub fn parent(&self) -> Option<RoleName> {
        let (parent, _) = self.0.rsplit_once('/')?;
        Some(RoleName(parent.to_string()))
    }

    /// Depth below `targets`: 0 for base roles, 1 for `targets/a`.
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guns() {
        for ok in ["example.com/team/app", "127.0.0.1:5000/test/x", "docker.io/a_b/c-d"] {
            assert_eq!(Gun::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "/a", "a/", "a//b", "a/../b", "./a", "a b", "a\\b", "a\u{1}", "é"] {
            assert!(Gun::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Gun::parse(&"a".repeat(256)).is_err());
        assert_eq!(Gun::parse("a/b").unwrap().to_dir_name(), "a%2Fb");
    }

    #[test]
    fn roles() {
        for ok in ["root", "targets", "targets/releases", "targets/a/b-c_1"] {
            assert_eq!(RoleName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "Root",
            "targets/",
            "targets/A",
            "targets//a",
            "targets/a/",
            "other",
            "targets/../x",
            "targets/a.b",
        ] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?} accepted");
        }
        let r = RoleName::parse("targets/a/b").unwrap();
        assert_eq!(r.parent().unwrap().as_str(), "targets/a");
        assert_eq!(RoleName::releases().parent().unwrap().as_str(), "targets");
        assert!(RoleName::root().parent().is_none());
        for bad in ["a/b", "-x", "_x", "releases", "root", "targets", "", "A"] {
            assert!(RoleName::for_signer(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(RoleName::for_signer("jeff-2").unwrap().as_str(), "targets/jeff-2");
    }
}
