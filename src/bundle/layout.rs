//! Where files live inside a bundle, and how an entry path maps back to a GUN and a role.
//!
//! GUNs contain `/`, so `repos/a/b/metadata/root.json` cannot be split on its own: the path is
//! matched against the GUNs the manifest lists. It must match exactly one GUN in exactly one
//! way, otherwise the bundle is refused, so no two readers can disagree about what a file is.

use std::fmt;

use super::BundleError;
use crate::tuf::{Gun, RoleName};

/// The path of the manifest, always the first entry.
pub(crate) const MANIFEST_PATH: &str = "manifest.json";

/// Every other entry lives under this directory.
const REPOS_PREFIX: &str = "repos/";

/// What a file in a bundle holds, relative to its GUN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Current metadata of a role: `metadata/<role>.json`.
    Metadata(RoleName),
    /// An earlier root, for walking a rotation chain: `metadata/history/<N>.root.json`.
    History(u64),
    /// The server's answer to `GET .../<role>.key`: `server-keys/<role>.json`.
    ServerKey(RoleName),
    /// A new server key, the answer to `POST .../<role>.key`: `server-keys/<role>.rotated.json`.
    RotatedServerKey(RoleName),
    /// The ceremony record a response carries, bundle-wide (`audit/log.jsonl`: the log
    /// entries since the previous export; `audit/head.json`: the signed head over them).
    AuditLog,
    AuditHead,
}

/// Where the bundle-wide audit files live.
const AUDIT_LOG_PATH: &str = "audit/log.jsonl";
const AUDIT_HEAD_PATH: &str = "audit/head.json";

/// A file's place in a bundle: the GUN (as an index into the manifest's list; 0 and unused
/// for the bundle-wide audit files) and the slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub gun: usize,
    pub slot: Slot,
}

impl Slot {
    /// The entry path of this slot for `gun`.
    pub(crate) fn path(&self, gun: &Gun) -> String {
        match self {
            Slot::Metadata(role) => format!("{REPOS_PREFIX}{gun}/metadata/{role}.json"),
            Slot::History(n) => format!("{REPOS_PREFIX}{gun}/metadata/history/{n}.root.json"),
            Slot::ServerKey(role) => format!("{REPOS_PREFIX}{gun}/server-keys/{role}.json"),
            Slot::RotatedServerKey(role) => {
                format!("{REPOS_PREFIX}{gun}/server-keys/{role}.rotated.json")
            }
            Slot::AuditLog => AUDIT_LOG_PATH.to_string(),
            Slot::AuditHead => AUDIT_HEAD_PATH.to_string(),
        }
    }

    /// Timestamp metadata and server keys are small by nature, so they get a tighter limit:
    /// they are read before anything else and a huge one is always an attack.
    pub(crate) fn is_small(&self) -> bool {
        match self {
            Slot::Metadata(role) => role.as_str() == RoleName::TIMESTAMP,
            // A head lists one hash per entry since the last export: not small.
            Slot::History(_) | Slot::AuditLog | Slot::AuditHead => false,
            Slot::ServerKey(_) | Slot::RotatedServerKey(_) => true,
        }
    }
}

/// A rule about the shape of entry paths, checked before a path is interpreted at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRule {
    NotUtf8,
    Empty,
    Absolute,
    Backslash,
    ControlCharacter,
    EmptySegment,
    DotSegment,
    DotDotSegment,
}

impl fmt::Display for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRule::NotUtf8 => "it is not UTF-8",
            PathRule::Empty => "it is empty",
            PathRule::Absolute => "it is absolute",
            PathRule::Backslash => "it contains a backslash",
            PathRule::ControlCharacter => "it contains a control character",
            PathRule::EmptySegment => "it has an empty segment ('//' or a trailing '/')",
            PathRule::DotSegment => "it has a '.' segment",
            PathRule::DotDotSegment => "it has a '..' segment",
        })
    }
}

/// Checks the shape of a path from a tar header or the manifest and returns it as text.
///
/// These rules are redundant with [`locate`], which accepts only a few exact forms, but they
/// come first so that the classic archive attacks get an error that names them.
pub(crate) fn check_shape(bytes: &[u8]) -> Result<&str, BundleError> {
    let refuse = |rule| {
        let path = String::from_utf8_lossy(bytes).into_owned();
        Err(BundleError::UnsafePath { path, rule })
    };

    let Ok(path) = std::str::from_utf8(bytes) else {
        return refuse(PathRule::NotUtf8);
    };
    if path.is_empty() {
        return refuse(PathRule::Empty);
    }
    if path.starts_with('/') {
        return refuse(PathRule::Absolute);
    }
    if path.contains('\\') {
        return refuse(PathRule::Backslash);
    }
    if path.chars().any(char::is_control) {
        return refuse(PathRule::ControlCharacter);
    }

    for segment in path.split('/') {
        match segment {
            "" => return refuse(PathRule::EmptySegment),
            "." => return refuse(PathRule::DotSegment),
            ".." => return refuse(PathRule::DotDotSegment),
            _ => {}
        }
    }
    Ok(path)
}

/// Maps an entry path to the one GUN in `guns` and the one slot it names.
pub(crate) fn locate(path: &str, guns: &[Gun]) -> Result<Located, BundleError> {
    let unknown = || BundleError::UnknownEntry { path: path.to_string() };
    match path {
        AUDIT_LOG_PATH => return Ok(Located { gun: 0, slot: Slot::AuditLog }),
        AUDIT_HEAD_PATH => return Ok(Located { gun: 0, slot: Slot::AuditHead }),
        _ => {}
    }
    let rest = path.strip_prefix(REPOS_PREFIX).ok_or_else(unknown)?;

    let mut matches = Vec::new();
    let mut nearest_miss: Option<(&Gun, String)> = None;
    for (index, gun) in guns.iter().enumerate() {
        let Some(tail) = rest.strip_prefix(gun.as_str()).and_then(|t| t.strip_prefix('/')) else {
            continue;
        };
        match parse_slot(tail) {
            Ok(slot) => matches.push(Located { gun: index, slot }),
            Err(why) => {
                let longer = nearest_miss
                    .as_ref()
                    .is_none_or(|(g, _)| gun.as_str().len() > g.as_str().len());
                if longer {
                    nearest_miss = Some((gun, why));
                }
            }
        }
    }

    match (matches.pop(), matches.is_empty()) {
        (Some(found), true) => Ok(found),
        (Some(found), false) => {
            matches.push(found);
            let guns = matches.iter().filter_map(|m| guns.get(m.gun)).map(Gun::to_string);
            Err(BundleError::AmbiguousPath { path: path.to_string(), guns: guns.collect() })
        }
        (None, _) => Err(match nearest_miss {
            Some((gun, why)) => {
                BundleError::BadEntryPath { path: path.to_string(), gun: gun.to_string(), why }
            }
            None => unknown(),
        }),
    }
}

/// Parses the part of a path after `repos/<gun>/`.
fn parse_slot(tail: &str) -> Result<Slot, String> {
    if let Some(name) = tail.strip_prefix("metadata/history/") {
        let version =
            name.strip_suffix(".root.json").ok_or("history files are named <version>.root.json")?;
        return parse_version(version).map(Slot::History);
    }

    if let Some(name) = tail.strip_prefix("metadata/") {
        let role = name.strip_suffix(".json").ok_or("metadata files end in .json")?;
        return RoleName::parse(role).map(Slot::Metadata).map_err(|e| e.to_string());
    }

    if let Some(name) = tail.strip_prefix("server-keys/") {
        let stem = name.strip_suffix(".json").ok_or("server key files end in .json")?;
        let (role, rotated) = match stem.strip_suffix(".rotated") {
            Some(role) => (role, true),
            None => (stem, false),
        };
        if role != RoleName::TIMESTAMP && role != RoleName::SNAPSHOT {
            return Err("server keys exist only for timestamp and snapshot".to_string());
        }
        let role = RoleName::parse(role).map_err(|e| e.to_string())?;
        return Ok(if rotated { Slot::RotatedServerKey(role) } else { Slot::ServerKey(role) });
    }

    Err("expected metadata/ or server-keys/ after the GUN".to_string())
}

/// Parses a root version as written in a history file name: a positive decimal number without
/// leading zeros, so each version has exactly one file name.
fn parse_version(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("root version {s:?} is not a decimal number"));
    }
    if s.starts_with('0') {
        return Err(format!("root version {s:?} is zero or has a leading zero"));
    }
    s.parse().map_err(|_| format!("root version {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guns(names: &[&str]) -> Vec<Gun> {
        names.iter().map(|n| Gun::parse(n).unwrap()).collect()
    }

    fn rule_of(path: &[u8]) -> PathRule {
        match check_shape(path) {
            Err(BundleError::UnsafePath { rule, .. }) => rule,
            other => panic!("{path:?}: {other:?}"),
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(
            check_shape(b"repos/a/metadata/root.json").unwrap(),
            "repos/a/metadata/root.json"
        );
        assert_eq!(rule_of(b"repos/\xff"), PathRule::NotUtf8);
        assert_eq!(rule_of(b""), PathRule::Empty);
        assert_eq!(rule_of(b"/etc/passwd"), PathRule::Absolute);
        assert_eq!(rule_of(b"repos\\a"), PathRule::Backslash);
        assert_eq!(rule_of(b"repos/a\nb"), PathRule::ControlCharacter);
        assert_eq!(rule_of(b"repos//a"), PathRule::EmptySegment);
        assert_eq!(rule_of(b"repos/a/"), PathRule::EmptySegment);
        assert_eq!(rule_of(b"./manifest.json"), PathRule::DotSegment);
        assert_eq!(rule_of(b"repos/../x"), PathRule::DotDotSegment);
    }

    #[test]
    fn locates_each_form() {
        let g = guns(&["example.com/team/app"]);
        let at = |p: &str| locate(p, &g).unwrap().slot;
        let role = |r: &str| RoleName::parse(r).unwrap();
        assert_eq!(
            at("repos/example.com/team/app/metadata/root.json"),
            Slot::Metadata(role("root"))
        );
        assert_eq!(
            at("repos/example.com/team/app/metadata/targets/a/b.json"),
            Slot::Metadata(role("targets/a/b"))
        );
        assert_eq!(
            at("repos/example.com/team/app/metadata/history/12.root.json"),
            Slot::History(12)
        );
        assert_eq!(
            at("repos/example.com/team/app/server-keys/snapshot.json"),
            Slot::ServerKey(role("snapshot"))
        );
        for slot in [
            Slot::Metadata(role("targets/x")),
            Slot::History(3),
            Slot::ServerKey(role("timestamp")),
        ] {
            assert_eq!(at(&slot.path(&g[0])), slot);
        }
    }

    #[test]
    fn refuses_bad_forms() {
        let g = guns(&["a/b"]);
        let bad = [
            "repos/a/b/metadata/Root.json",
            "repos/a/b/metadata/root.txt",
            "repos/a/b/metadata/history/0.root.json",
            "repos/a/b/metadata/history/01.root.json",
            "repos/a/b/metadata/history/x.root.json",
            "repos/a/b/metadata/history/99999999999999999999.root.json",
            "repos/a/b/metadata/history/3.targets.json",
            "repos/a/b/server-keys/root.json",
            "repos/a/b/other/root.json",
        ];
        for path in bad {
            assert!(matches!(locate(path, &g), Err(BundleError::BadEntryPath { .. })), "{path}");
        }
        for path in ["manifest.json", "repos/a/metadata/root.json", "other/a/b/metadata/root.json"]
        {
            assert!(matches!(locate(path, &g), Err(BundleError::UnknownEntry { .. })), "{path}");
        }
    }

    #[test]
    fn nested_guns_resolve_or_are_refused() {
        let g = guns(&["a", "a/metadata/targets"]);
        let found = locate("repos/a/metadata/targets/x/metadata/root.json", &g).unwrap();
        assert_eq!(found.gun, 0);

        let ambiguous = locate("repos/a/metadata/targets/metadata/root.json", &g);
        assert!(
            matches!(ambiguous, Err(BundleError::AmbiguousPath { guns, .. }) if guns.len() == 2)
        );
    }
}
