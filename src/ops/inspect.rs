//! `airlock inspect`: what `docker trust inspect` (JSON) and `docker trust inspect --pretty`
//! print for a repository, computed offline from this home's head metadata.
//!
//! The rules follow docker/cli 28.2.2 (`cli/command/trust/inspect*.go`, `common.go`) and
//! the Notary client calls behind them, so the output is byte for byte what docker prints
//! for the same signed metadata:
//! - roles are walked breadth first from `targets`, as Notary's `WalkTargets` does; a role
//!   that did not verify is left out together with everything below it;
//! - a tag is listed only when `targets` or `targets/releases` holds it; its signers are the
//!   other walked roles holding the same name and sha256, in walk order; with none, the
//!   signer is the repository admin;
//! - signers are every delegation a walked role lists except `targets/releases`, with
//!   canonical key IDs; administrative keys are root's and targets' IDs as root.json lists
//!   them.
//!
//! Pending changes are not shown: like docker, inspect shows what is signed.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::home::RepoState;
use crate::ops::{repo, OpsError};
use crate::tuf::metadata::{self, Root, Targets};
use crate::tuf::{cjson, Gun, RoleName};

/// The signer docker shows for a tag signed only by `targets` or `targets/releases`.
pub const REPO_ADMIN: &str = "Repo Admin";

/// Docker's tables: Go's tabwriter with minimum width 10 and padding 3.
const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

/// One repository as `docker trust inspect` shows it; serialises to docker's JSON fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inspection {
    /// The reference as typed (GUN, with `:TAG` if one was given).
    pub name: String,
    pub signed_tags: Vec<SignedTag>,
    /// Sorted by name, descending (docker's order).
    pub signers: Vec<Signer>,
    /// `Root`, then `Repository`.
    pub administrative_keys: Vec<Signer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignedTag {
    pub signed_tag: String,
    /// Hex of the target's sha256 hash.
    pub digest: String,
    /// Signer names in walk order, or just [`REPO_ADMIN`].
    pub signers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Signer {
    pub name: String,
    /// Left out when empty, as Go's `omitempty` does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Key>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    #[serde(rename = "ID")]
    pub id: String,
}

/// A GUN's signed head, ready to inspect.
#[derive(Clone, Debug)]
pub struct Head {
    pub root: Root,
    pub targets: Targets,
    /// The delegated roles that verified. A role that did not is absent, as Notary's client
    /// drops it after warning.
    pub delegations: BTreeMap<RoleName, Targets>,
    /// Roles left out because they did not verify, with the reason.
    pub skipped: Vec<(RoleName, String)>,
}

/// An inspection and what people should be told about it on stderr.
#[derive(Clone, Debug)]
pub struct Inspected {
    pub inspection: Inspection,
    pub warnings: Vec<String>,
}

/// Splits `GUN[:TAG]`: a `:` after the last `/` starts a tag, as in a docker reference.
pub fn parse_ref(reference: &str) -> Result<(Gun, Option<String>), OpsError> {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    let Some(colon) = reference[last_slash..].rfind(':').map(|i| i + last_slash) else {
        return Ok((Gun::parse(reference)?, None));
    };

    let tag = &reference[colon + 1..];
    if !is_docker_tag(tag) {
        return Err(OpsError::Usage(format!(
            "{reference:?}: tag {tag:?} is not a docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"
        )));
    }
    Ok((Gun::parse(&reference[..colon])?, Some(tag.to_string())))
}

/// Docker's tag grammar: `[\w][\w.-]{0,127}`.
fn is_docker_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    let first_ok = chars.next().is_some_and(word);
    first_ok && tag.len() <= 128 && chars.all(|c| word(c) || c == '.' || c == '-')
}

/// The head of a GUN's state: the newest local root, targets and delegations (what this
/// home exported last, else what it trusts). A delegation that failed verification on
/// import is skipped unless this home has since exported a new version of it.
pub fn head(state: &RepoState, reference: &str) -> Result<Head, OpsError> {
    let no_data = || OpsError::Refused {
        gun: state.gun(),
        why: format!(
            "no signatures or cannot access {reference}: this home holds no signed metadata \
             for it (the server had none when it was pulled)"
        ),
    };
    let root = repo::head_root(state)?.ok_or_else(no_data)?.signed;
    let targets = repo::head_targets(state)?.ok_or_else(no_data)?.signed;

    let mut delegations = BTreeMap::new();
    let mut skipped = Vec::new();
    for role in state.head_roles().into_iter().filter(RoleName::is_delegation) {
        if let Some(reason) = invalid_reason(state, &role) {
            skipped.push((role, reason.to_string()));
            continue;
        }
        let bytes = state.head(role.as_str()).expect("head_roles lists roles with bytes");
        delegations.insert(role.clone(), metadata::parse::<Targets>(bytes, role.as_str())?.signed);
    }
    Ok(Head { root, targets, delegations, skipped })
}

/// Why a role is not valid: it failed on import and no export of this home replaced it.
fn invalid_reason<'s>(state: &'s RepoState, role: &RoleName) -> Option<&'s str> {
    let exported = state.exported.as_ref().is_some_and(|e| e.files.contains_key(role.as_str()));
    if exported {
        return None;
    }
    state.invalid_roles.get(role.as_str()).map(String::as_str)
}

/// What docker shows for `reference`; `tag` limits the signed tags to that one name.
pub fn inspect(reference: &str, tag: Option<&str>, head: &Head) -> Inspected {
    let mut warnings: Vec<String> = head
        .skipped
        .iter()
        .map(|(role, why)| format!("skipping {role}, which did not verify on import: {why}"))
        .collect();

    let signed_tags = signed_tags(&walk(head, tag), tag);
    let signers = match signers(&walk(head, None)) {
        Ok(signers) => signers,
        Err(why) => {
            // Docker drops every signer when one delegation key cannot be translated.
            warnings.push(format!("no signers shown: {why}"));
            Vec::new()
        }
    };

    let inspection = Inspection {
        name: reference.to_string(),
        signed_tags,
        signers,
        administrative_keys: administrative_keys(&head.root),
    };
    Inspected { inspection, warnings }
}

/// A role reached by the walk, with the paths its parents allow it.
struct Visited<'h> {
    name: RoleName,
    file: &'h Targets,
}

/// The roles Notary's `WalkTargets` visits, breadth first from `targets`: a role is visited
/// when its metadata is present (and valid) and, with a tag, when its allowed paths cover
/// the tag; only visited roles lead on to their delegations.
fn walk<'h>(head: &'h Head, tag: Option<&str>) -> Vec<Visited<'h>> {
    let mut queue = VecDeque::from([(RoleName::targets(), vec![String::new()])]);
    let mut visited = Vec::new();

    while let Some((name, paths)) = queue.pop_front() {
        let file = if name.as_str() == RoleName::TARGETS {
            Some(&head.targets)
        } else {
            head.delegations.get(&name)
        };
        let Some(file) = file else { continue };
        if tag.is_some_and(|t| !paths.iter().any(|p| t.starts_with(p.as_str()))) {
            continue;
        }

        queue.extend(valid_children(&name, &paths, file));
        visited.push(Visited { name, file });
    }
    visited
}

/// The delegations of `file` that Notary walks into: direct children whose keys are all
/// listed, with their paths cut down to those inside the parent's.
fn valid_children(
    parent: &RoleName,
    parent_paths: &[String],
    file: &Targets,
) -> Vec<(RoleName, Vec<String>)> {
    let delegations = &file.delegations;
    let roles = delegations.roles.as_deref().unwrap_or_default();

    let mut children = Vec::new();
    for role in roles {
        let keys_known = role.keyids.iter().flatten().all(|id| delegations.key(id).is_some());
        if role.name.parent().as_ref() != Some(parent) || !keys_known {
            continue;
        }
        let inside = |p: &&String| parent_paths.iter().any(|pp| p.starts_with(pp.as_str()));
        let paths = role.paths.iter().filter(inside).cloned().collect();
        children.push((role.name.clone(), paths));
    }
    children
}

/// Whether a role's targets count as released: `targets` and `targets/releases`.
fn is_released(role: &RoleName) -> bool {
    role.as_str() == RoleName::TARGETS || *role == RoleName::releases()
}

/// The signer name of a delegation role: its name without `targets/`.
fn signer_name(role: &RoleName) -> &str {
    role.as_str().strip_prefix("targets/").unwrap_or(role.as_str())
}

/// The targets of a visited role, as (name, hex sha256), limited to `tag` if given.
fn tag_digests<'h>(role: &Visited<'h>, tag: Option<&'h str>) -> Vec<(&'h str, String)> {
    let targets = &role.file.targets;
    let hex_of =
        |meta: &metadata::FileMeta| meta.hashes.get("sha256").map(hex::encode).unwrap_or_default();
    targets
        .iter()
        .filter(|(name, _)| tag.is_none_or(|t| t == name.as_str()))
        .map(|(name, meta)| (name.as_str(), hex_of(meta)))
        .collect()
}

/// Released tags with their signers, in natural tag order.
fn signed_tags(visited: &[Visited], tag: Option<&str>) -> Vec<SignedTag> {
    let mut released: BTreeMap<(&str, String), Vec<String>> = BTreeMap::new();
    for role in visited.iter().filter(|r| is_released(&r.name)) {
        for key in tag_digests(role, tag) {
            released.entry(key).or_default();
        }
    }

    for role in visited.iter().filter(|r| !is_released(&r.name)) {
        for key in tag_digests(role, tag) {
            if let Some(signers) = released.get_mut(&key) {
                signers.push(signer_name(&role.name).to_string());
            }
        }
    }

    let mut rows: Vec<SignedTag> = released
        .into_iter()
        .map(|((name, digest), signers)| SignedTag {
            signed_tag: name.to_string(),
            digest,
            signers: if signers.is_empty() { vec![REPO_ADMIN.to_string()] } else { signers },
        })
        .collect();
    rows.sort_by(|a, b| natural_cmp(&a.signed_tag, &b.signed_tag).then(a.digest.cmp(&b.digest)));
    rows
}

/// Every delegation the walked roles list, except `targets/releases`, with canonical key IDs
/// in the order the role lists them; sorted by name, descending, as docker's JSON is.
fn signers(visited: &[Visited]) -> Result<Vec<Signer>, String> {
    let mut by_name: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    for role in visited {
        let delegations = &role.file.delegations;
        for entry in delegations.roles.iter().flatten() {
            let mut keys = Vec::new();
            for id in entry.keyids.iter().flatten() {
                let key =
                    delegations.key(id).ok_or(format!("{}: key {id} is not listed", entry.name))?;
                let canonical = key.canonical_id().map_err(|e| format!("{}: {e}", entry.name))?;
                keys.push(Key { id: canonical.to_string() });
            }
            if entry.name != RoleName::releases() {
                by_name.insert(signer_name(&entry.name).to_string(), keys);
            }
        }
    }
    Ok(by_name.into_iter().rev().map(|(name, keys)| Signer { name, keys }).collect())
}

/// Root's and targets' key IDs as root.json lists them (for root, the certificate's ID).
fn administrative_keys(root: &Root) -> Vec<Signer> {
    let keys_of = |role: &str| -> Vec<Key> {
        let ids = root.roles.get(role).and_then(|r| r.keyids.as_ref());
        ids.into_iter().flatten().map(|id| Key { id: id.to_string() }).collect()
    };
    vec![
        Signer { name: "Root".into(), keys: keys_of(RoleName::ROOT) },
        Signer { name: "Repository".into(), keys: keys_of(RoleName::TARGETS) },
    ]
}

/// Docker's JSON for a list of inspections: Go's `json.Marshal` indented by four spaces
/// (`json.Indent`), with a final newline.
pub fn render_json(inspections: &[Inspection]) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    inspections.serialize(&mut ser).expect("inspections serialise");

    // Go also escapes <, >, & and U+2028/9; they occur only inside strings here.
    let mut out = cjson::file_form(&out);
    out.push(b'\n');
    out
}

/// Docker's `--pretty` text for one inspection.
pub fn render_pretty(inspection: &Inspection) -> String {
    let reference = &inspection.name;
    let mut out = String::new();

    if inspection.signed_tags.is_empty() {
        out.push_str(&format!("\nNo signatures for {reference}\n\n"));
    } else {
        out.push_str(&format!("\nSignatures for {reference}\n\n"));
        out.push_str(&tabulate(&signature_rows(&inspection.signed_tags)));
    }

    if !inspection.signers.is_empty() {
        out.push_str(&format!("\nList of signers and their keys for {reference}\n\n"));
        out.push_str(&tabulate(&signer_rows(&inspection.signers)));
    }

    out.push_str(&format!("\nAdministrative keys for {reference}\n\n"));
    for (name, label) in [("Repository", "Repository Key"), ("Root", "Root Key")] {
        let admin = inspection.administrative_keys.iter().find(|s| s.name == name);
        let mut ids: Vec<&str> = admin.iter().flat_map(|s| &s.keys).map(|k| &*k.id).collect();
        ids.sort_unstable();
        out.push_str(&format!("  {label}:\t{}\n", ids.join(", ")));
    }
    out
}

/// `SIGNED TAG`, `DIGEST`, `SIGNERS` (sorted; an admin-only tag shows `(Repo Admin)`).
fn signature_rows(tags: &[SignedTag]) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["SIGNED TAG".into(), "DIGEST".into(), "SIGNERS".into()]];
    for t in tags {
        // Role names cannot hold a space, so only the admin placeholder is "Repo Admin".
        let signers = if t.signers == [REPO_ADMIN] {
            format!("({REPO_ADMIN})")
        } else {
            let mut names = t.signers.clone();
            names.sort_unstable();
            names.join(", ")
        };
        rows.push(vec![t.signed_tag.clone(), t.digest.clone(), signers]);
    }
    rows
}

/// `SIGNER`, `KEYS`: natural name order, sorted key IDs cut to 12 characters.
fn signer_rows(signers: &[Signer]) -> Vec<Vec<String>> {
    let mut sorted: Vec<&Signer> = signers.iter().collect();
    sorted.sort_by(|a, b| natural_cmp(&a.name, &b.name));

    let mut rows = vec![vec!["SIGNER".into(), "KEYS".into()]];
    for s in sorted {
        let mut ids: Vec<&str> = s.keys.iter().map(|k| k.id.as_str()).collect();
        ids.sort_unstable();
        let short: Vec<&str> = ids.iter().map(|id| &id[..id.len().min(12)]).collect();
        rows.push(vec![s.name.clone(), short.join(", ")]);
    }
    rows
}

/// Aligns rows as docker's tabwriter does: every cell but a line's last is padded to its
/// column's widest cell plus [`PADDING`], and to at least [`MIN_WIDTH`].
///
/// Widths count characters; docker's fork counts East Asian wide characters twice, which
/// only a tag name could hold.
fn tabulate(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(|r| r.len().saturating_sub(1)).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let cells = rows.iter().filter(|r| c + 1 < r.len()).map(|r| r[c].chars().count());
            cells.map(|w| w + PADDING).max().unwrap_or(0).max(MIN_WIDTH)
        })
        .collect();

    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// Natural order as docker sorts tags and signers (`sortorder.NaturalLess`): digit runs
/// compare by value, fewer leading zeros first; other bytes compare as bytes, and a digit
/// sorts before a non-digit.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // Everything before `i` is equal in both strings, so one index serves both.
    let mut i = 0;
    while i < a.len() && i < b.len() {
        let (digit_a, digit_b) = (a[i].is_ascii_digit(), b[i].is_ascii_digit());
        if digit_a != digit_b {
            return if digit_a { Ordering::Less } else { Ordering::Greater };
        }
        if !digit_a {
            if a[i] != b[i] {
                return a[i].cmp(&b[i]);
            }
            i += 1;
            continue;
        }

        let (zeros_end_a, zeros_end_b) =
            (run_end(a, i, |c| c == b'0'), run_end(b, i, |c| c == b'0'));
        let (end_a, end_b) = (
            run_end(a, zeros_end_a, |c| c.is_ascii_digit()),
            run_end(b, zeros_end_b, |c| c.is_ascii_digit()),
        );
        let (num_a, num_b) = (&a[zeros_end_a..end_a], &b[zeros_end_b..end_b]);
        let order = num_a
            .len()
            .cmp(&num_b.len())
            .then(num_a.cmp(num_b))
            .then(zeros_end_a.cmp(&zeros_end_b));
        if order != Ordering::Equal {
            return order;
        }
        i = end_a;
    }
    a.len().cmp(&b.len())
}

/// The index after the run of bytes matching `pred` that starts at `from`.
fn run_end(s: &[u8], from: usize, pred: impl Fn(u8) -> bool) -> usize {
    from + s[from..].iter().take_while(|&&c| pred(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_matches_sortorder() {
        let mut names = vec!["v10", "v2", "v02", "latest", "1.0", "v1", "a", "ab", "V1", "v1a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["1.0", "V1", "a", "ab", "latest", "v1", "v1a", "v2", "v02", "v10"]);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }

    #[test]
    fn tabulate_pads_like_docker() {
        let rows = vec![
            vec!["SIGNER".to_string(), "KEYS".to_string()],
            vec!["a-very-long-name".to_string(), "".to_string()],
        ];
        assert_eq!(tabulate(&rows), "SIGNER             KEYS\na-very-long-name   \n");
    }

    #[test]
    fn refs_split_at_a_tag_after_the_last_slash() {
        let (gun, tag) = parse_ref("127.0.0.1:5000/a/b:v1.2").unwrap();
        assert_eq!((gun.as_str(), tag.as_deref()), ("127.0.0.1:5000/a/b", Some("v1.2")));
        let (gun, tag) = parse_ref("127.0.0.1:5000/a/b").unwrap();
        assert_eq!((gun.as_str(), tag), ("127.0.0.1:5000/a/b", None));
        assert!(parse_ref("example.com/a:").is_err());
        assert!(parse_ref("example.com/a:-x").is_err());
    }

    #[test]
    fn json_escapes_html_like_go() {
        let inspection = Inspection {
            name: "r".into(),
            signed_tags: vec![],
            signers: vec![Signer { name: "a<b>&".into(), keys: vec![] }],
            administrative_keys: vec![],
        };
        let text = String::from_utf8(render_json(&[inspection])).unwrap();
        assert!(text.contains(r#""Name": "a\u003cb\u003e\u0026""#), "{text}");
        assert!(text.contains("\"SignedTags\": [],"), "{text}");
        assert!(!text.contains("\"Keys\""), "{text}");
    }
}
