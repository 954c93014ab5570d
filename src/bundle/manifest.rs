//! The manifest: the first entry of every bundle and the thing its digest is taken over.
//!
//! Parsing happens in two steps. A lenient probe reads only `format` and `format_version`, so
//! a bundle from a newer airlock is refused as "unsupported version" rather than as a JSON
//! error about a field this version does not know. Then the strict parse refuses unknown
//! fields and checks every value, including that each entry path names exactly one file of
//! one listed GUN, before a single entry byte is read.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::layout::{self, Located};
use super::{BundleError, BundleKind, EntryInfo, Limits};
use crate::tuf::Gun;

/// The `format` value of every airlock bundle.
pub const FORMAT: &str = "airlock-bundle";
/// The format version this module reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// Longest `tool` string accepted; it is shown to operators, so it must stay short and plain.
const MAX_TOOL_LEN: usize = 128;

/// A checked manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub format_version: u64,
    pub kind: BundleKind,
    /// When the bundle was made, in UTC.
    pub created: OffsetDateTime,
    /// The program that made the bundle, such as `airlock 0.1.0`.
    pub tool: String,
    pub guns: Vec<GunInfo>,
    /// For a response, the digest of the pull bundle it answers.
    pub answers: Option<String>,
    /// Every entry after the manifest, sorted by path.
    pub entries: Vec<EntryInfo>,
}

/// A repository listed in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GunInfo {
    pub gun: Gun,
    /// The server had no trust data for this GUN when the pull bundle was made.
    pub new: bool,
}

/// A manifest together with where each of its entries belongs, in entry order.
#[derive(Debug)]
pub(crate) struct Checked {
    pub manifest: Manifest,
    pub places: Vec<Located>,
}

/// The JSON shape. Values stay strings here so each can be refused with its own error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: String,
    format_version: u64,
    kind: String,
    created: String,
    tool: String,
    guns: Vec<WireGun>,
    /// Required even when null: `deserialize_with` turns off serde's default for `Option`.
    #[serde(deserialize_with = "Option::deserialize")]
    answers: Option<String>,
    entries: Vec<EntryInfo>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGun {
    gun: String,
    new: bool,
}

/// Only the fields that say which format and version the rest is in.
#[derive(Deserialize)]
struct Probe {
    format: String,
    format_version: u64,
}

impl Manifest {
    /// Serializes the manifest as pretty JSON ending in a newline.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let wire = Wire {
            format: FORMAT.to_string(),
            format_version: self.format_version,
            kind: self.kind.as_str().to_string(),
            created: format_created(self.created)?,
            tool: self.tool.clone(),
            guns: self
                .guns
                .iter()
                .map(|g| WireGun { gun: g.gun.to_string(), new: g.new })
                .collect(),
            answers: self.answers.clone(),
            entries: self.entries.clone(),
        };

        let mut bytes = serde_json::to_vec_pretty(&wire)
            .map_err(|source| BundleError::ManifestJson { source })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses and checks manifest bytes from a bundle.
    pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Checked, BundleError> {
        let json_error = |source| BundleError::ManifestJson { source };
        let probe: Probe = serde_json::from_slice(bytes).map_err(json_error)?;
        if probe.format != FORMAT {
            return Err(BundleError::NotABundle { found: probe.format });
        }
        if probe.format_version != FORMAT_VERSION {
            return Err(BundleError::UnsupportedVersion { found: probe.format_version });
        }

        let wire: Wire = serde_json::from_slice(bytes).map_err(json_error)?;
        let kind = parse_kind(&wire.kind)?;
        let created = parse_created(&wire.created)?;
        check_tool(&wire.tool)?;
        let guns = parse_guns(wire.guns)?;
        check_answers(kind, wire.answers.as_deref())?;
        let places = check_entries(&wire.entries, &guns, limits)?;

        let manifest = Manifest {
            format_version: wire.format_version,
            kind,
            created,
            tool: wire.tool,
            guns,
            answers: wire.answers,
            entries: wire.entries,
        };
        Ok(Checked { manifest, places })
    }
}

/// Formats a time as RFC 3339 in UTC, keeping any fraction of a second.
pub(crate) fn format_created(created: OffsetDateTime) -> Result<String, BundleError> {
    let utc = created.to_offset(UtcOffset::UTC);
    utc.format(&Rfc3339).map_err(|_| BundleError::BadCreated {
        found: utc.to_string(),
        why: "it cannot be written as RFC 3339 (years 0000 to 9999)",
    })
}

fn parse_kind(s: &str) -> Result<BundleKind, BundleError> {
    match s {
        "pull" => Ok(BundleKind::Pull),
        "response" => Ok(BundleKind::Response),
        _ => Err(BundleError::UnknownKind { found: s.to_string() }),
    }
}

fn parse_created(s: &str) -> Result<OffsetDateTime, BundleError> {
    let bad = |why| BundleError::BadCreated { found: s.to_string(), why };
    let created = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad("it is not RFC 3339"))?;
    if !s.ends_with('Z') {
        return Err(bad("it must be in UTC, ending in 'Z'"));
    }
    Ok(created)
}

fn check_tool(tool: &str) -> Result<(), BundleError> {
    let bad = |why| Err(BundleError::BadTool { found: tool.to_string(), why });
    if tool.is_empty() || tool.len() > MAX_TOOL_LEN {
        return bad("it must be 1 to 128 characters long");
    }
    if !tool.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return bad("only printable ASCII is allowed");
    }
    Ok(())
}

fn parse_guns(wire: Vec<WireGun>) -> Result<Vec<GunInfo>, BundleError> {
    if wire.is_empty() {
        return Err(BundleError::NoGuns);
    }

    let mut guns: Vec<GunInfo> = Vec::with_capacity(wire.len());
    for entry in wire {
        let gun = Gun::parse(&entry.gun).map_err(|source| BundleError::InvalidGun { source })?;
        if guns.iter().any(|g| g.gun == gun) {
            return Err(BundleError::DuplicateGun { gun: entry.gun });
        }
        guns.push(GunInfo { gun, new: entry.new });
    }
    Ok(guns)
}

/// A pull bundle answers nothing; a response always answers exactly one pull bundle.
fn check_answers(kind: BundleKind, answers: Option<&str>) -> Result<(), BundleError> {
    let bad = |why| {
        let found = answers.map(str::to_string);
        Err(BundleError::BadAnswers { kind, found, why })
    };
    match (kind, answers) {
        (BundleKind::Pull, None) => Ok(()),
        (BundleKind::Pull, Some(_)) => bad("a pull bundle answers nothing, so it must be null"),
        (BundleKind::Response, None) => bad("a response must name the pull bundle it answers"),
        (BundleKind::Response, Some(d)) if is_sha256_hex(d) => Ok(()),
        (BundleKind::Response, Some(_)) => bad("it must be 64 lowercase hex digits"),
    }
}

/// Checks every entry and finds where it belongs, without reading any entry data.
fn check_entries(
    entries: &[EntryInfo],
    guns: &[GunInfo],
    limits: &Limits,
) -> Result<Vec<Located>, BundleError> {
    if entries.len() > limits.max_entries {
        return Err(BundleError::TooManyEntries {
            count: entries.len(),
            limit: limits.max_entries,
        });
    }

    let gun_names: Vec<Gun> = guns.iter().map(|g| g.gun.clone()).collect();
    let mut places = Vec::with_capacity(entries.len());
    let mut total: u64 = 0;
    let mut previous: Option<&str> = None;
    for entry in entries {
        let path = layout::check_shape(entry.path.as_bytes())?;
        if let Some(prev) = previous.filter(|prev| *prev >= path) {
            let previous = prev.to_string();
            return Err(BundleError::UnsortedEntries { path: path.to_string(), previous });
        }
        previous = Some(path);

        let place = layout::locate(path, &gun_names)?;
        if !is_sha256_hex(&entry.sha256) {
            let found = entry.sha256.clone();
            return Err(BundleError::BadSha256 { path: path.to_string(), found });
        }
        let limit =
            if place.slot.is_small() { limits.max_timestamp_entry } else { limits.max_entry };
        if entry.length > limit {
            let length = entry.length;
            return Err(BundleError::EntryTooLarge { path: path.to_string(), length, limit });
        }

        total = total.saturating_add(entry.length);
        places.push(place);
    }

    if total > limits.max_total {
        return Err(BundleError::ManifestTotalTooLarge { total, limit: limits.max_total });
    }
    Ok(places)
}

/// Whether `s` is a SHA-256 digest as bundles write it: 64 lowercase hex digits.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const REPO: &str = "repos/example.com/app/metadata";
    const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn valid() -> Value {
        json!({
            "format": "airlock-bundle",
            "format_version": 1,
            "kind": "pull",
            "created": "2024-05-01T12:00:00Z",
            "tool": "airlock 0.1.0",
            "guns": [{"gun": "example.com/app", "new": false}],
            "answers": null,
            "entries": [
                {"path": format!("{REPO}/root.json"), "sha256": DIGEST, "length": 3},
                {"path": format!("{REPO}/timestamp.json"), "sha256": DIGEST, "length": 4},
            ],
        })
    }

    fn parse(v: &Value) -> Result<Checked, BundleError> {
        Manifest::parse(&serde_json::to_vec(v).unwrap(), &Limits::default())
    }

    fn with(edit: impl FnOnce(&mut Value)) -> BundleError {
        let mut v = valid();
        edit(&mut v);
        parse(&v).unwrap_err()
    }

    #[test]
    fn valid_manifest_round_trips() {
        let checked = parse(&valid()).unwrap();
        assert_eq!(checked.places.len(), 2);
        let bytes = checked.manifest.to_bytes().unwrap();
        assert_eq!(Manifest::parse(&bytes, &Limits::default()).unwrap().manifest, checked.manifest);
    }

    #[test]
    fn created_is_written_in_utc() {
        use time::macros::datetime;
        let whole = format_created(datetime!(2024-05-01 14:00:00 +02:00)).unwrap();
        assert_eq!(whole, "2024-05-01T12:00:00Z");
        let fraction = format_created(datetime!(2024-05-01 12:00:00.25 UTC)).unwrap();
        assert_eq!(fraction, "2024-05-01T12:00:00.25Z");
    }

    #[test]
    fn refuses_duplicate_keys() {
        let json = serde_json::to_string(&valid()).unwrap();
        let twice = json.replacen("\"kind\":\"pull\"", "\"kind\":\"pull\",\"kind\":\"pull\"", 1);
        assert_ne!(json, twice);
        let err = Manifest::parse(twice.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(err, BundleError::ManifestJson { .. }));
    }

    #[test]
    fn refuses_format_and_version() {
        let err = with(|v| v["format"] = json!("other"));
        assert!(matches!(err, BundleError::NotABundle { .. }));
        let err = with(|v| {
            v["format_version"] = json!(2);
            v["audit"] = json!([]);
        });
        assert!(matches!(err, BundleError::UnsupportedVersion { found: 2 }));
    }

    #[test]
    fn refuses_unknown_and_missing_fields() {
        let err = with(|v| v["extra"] = json!(1));
        assert!(matches!(err, BundleError::ManifestJson { .. }));
        let err = with(|v| v["entries"][0]["mode"] = json!(420));
        assert!(matches!(err, BundleError::ManifestJson { .. }));
        let err = with(|v| v["guns"][0]["extra"] = json!(true));
        assert!(matches!(err, BundleError::ManifestJson { .. }));
        let err = with(|v| {
            v.as_object_mut().unwrap().remove("answers");
        });
        assert!(matches!(err, BundleError::ManifestJson { .. }));
    }

    #[test]
    fn refuses_bad_values() {
        assert!(matches!(with(|v| v["kind"] = json!("push")), BundleError::UnknownKind { .. }));
        let err = with(|v| v["created"] = json!("2024-05-01 12:00"));
        assert!(matches!(err, BundleError::BadCreated { .. }));
        let err = with(|v| v["created"] = json!("2024-05-01T14:00:00+02:00"));
        assert!(matches!(err, BundleError::BadCreated { .. }));
        let err = with(|v| v["tool"] = json!("airlock\u{1b}[2J"));
        assert!(matches!(err, BundleError::BadTool { .. }));
        let err = with(|v| v["guns"][0]["gun"] = json!("../etc"));
        assert!(matches!(err, BundleError::InvalidGun { .. }));
        let dup = json!({"gun": "example.com/app", "new": true});
        let err = with(|v| v["guns"].as_array_mut().unwrap().push(dup));
        assert!(matches!(err, BundleError::DuplicateGun { .. }));
        let err = with(|v| {
            v["guns"] = json!([]);
            v["entries"] = json!([]);
        });
        assert!(matches!(err, BundleError::NoGuns));
    }

    #[test]
    fn answers_depend_on_kind() {
        let err = with(|v| v["answers"] = json!(DIGEST));
        assert!(matches!(err, BundleError::BadAnswers { kind: BundleKind::Pull, .. }));
        let err = with(|v| v["kind"] = json!("response"));
        assert!(matches!(err, BundleError::BadAnswers { found: None, .. }));
        let err = with(|v| {
            v["kind"] = json!("response");
            v["answers"] = json!(DIGEST.to_uppercase().replace('0', "A"));
        });
        assert!(matches!(err, BundleError::BadAnswers { found: Some(_), .. }));
        let mut v = valid();
        v["kind"] = json!("response");
        v["answers"] = json!(DIGEST);
        assert_eq!(parse(&v).unwrap().manifest.answers.as_deref(), Some(DIGEST));
    }

    #[test]
    fn refuses_bad_entries() {
        let err = with(|v| v["entries"][0]["sha256"] = json!("ABC"));
        assert!(matches!(err, BundleError::BadSha256 { .. }));
        let err = with(|v| v["entries"][1] = v["entries"][0].clone());
        assert!(matches!(err, BundleError::UnsortedEntries { .. }));
        let err = with(|v| v["entries"].as_array_mut().unwrap().reverse());
        assert!(matches!(err, BundleError::UnsortedEntries { .. }));
        let err = with(|v| v["entries"][0]["path"] = json!("repos/example.com/app/../x.json"));
        assert!(matches!(err, BundleError::UnsafePath { .. }));
        let err = with(|v| v["entries"][0]["path"] = json!("manifest.json"));
        assert!(matches!(err, BundleError::UnknownEntry { .. }));
        let err = with(|v| v["entries"][1]["length"] = json!(1024 * 1024 + 1));
        assert!(matches!(err, BundleError::EntryTooLarge { limit: 1048576, .. }));
    }

    #[test]
    fn enforces_count_and_total() {
        let v = valid();
        let bytes = serde_json::to_vec(&v).unwrap();
        let few = Limits { max_entries: 1, ..Limits::default() };
        let err = Manifest::parse(&bytes, &few).unwrap_err();
        assert!(matches!(err, BundleError::TooManyEntries { count: 2, limit: 1 }));
        let small = Limits { max_total: 6, ..Limits::default() };
        let err = Manifest::parse(&bytes, &small).unwrap_err();
        assert!(matches!(err, BundleError::ManifestTotalTooLarge { total: 7, limit: 6 }));
    }
}
