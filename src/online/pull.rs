//! Pulling everything a ceremony needs about one GUN: a consistent set of metadata (all files
//! named by the hashes the timestamp and snapshot list), earlier roots, and server keys.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::client::{check_sha256, sha256_hex, Client};
use super::error::OnlineError;
use crate::tuf::{Gun, RoleName};

/// The highest root version whose history is fetched; far above any real repository.
pub const MAX_ROOT_VERSION: u64 = 10_000;

/// What the server holds for a GUN, as raw bytes, exactly the files a pull bundle carries.
/// Nothing here is verified yet. `server_keys` holds the timestamp key always, and the
/// snapshot key for a new GUN, or for an existing one only if the current root lists it (the
/// server holds the snapshot key).
pub type PulledRepo = crate::bundle::RepoFiles;

/// Pulls a GUN. For a new GUN only the server keys are fetched, once each, since every GET of
/// a key for a GUN without a root makes a new key. For an existing GUN the metadata set is
/// the one the current timestamp pins: files are fetched by the hashes it and the snapshot
/// list, so a publish racing with the pull cannot produce a mixed set.
///
/// `rotate` names server keys (timestamp, snapshot) to replace: the server makes a new key
/// for each, which the bundle carries beside the current one until a root lists it.
pub fn pull_repo(
    client: &Client,
    gun: &Gun,
    rotate: &[RoleName],
) -> Result<PulledRepo, OnlineError> {
    let root = RoleName::root();
    if client.get_role(gun, &root)?.is_none() {
        if let Some(role) = rotate.first() {
            let why = format!("{gun} has no trust data yet, so there is no {role} key to rotate");
            return Err(OnlineError::BadArgument(why));
        }
        return pull_new(client, gun);
    }

    let metadata = pull_metadata(client, gun)?;
    let current_root = metadata.get(&root).map(Vec::as_slice).unwrap_or_default();
    let version = signed_version(&role_url(client, gun, &root), current_root)?;
    let root_history = pull_root_history(client, gun, version)?;
    let server_keys = pull_server_keys(client, gun, Some(current_root))?;

    let mut rotated_server_keys = BTreeMap::new();
    let _one_at_a_time = KEY_MAKING.lock().unwrap_or_else(|e| e.into_inner());
    for role in rotate {
        rotated_server_keys.insert(role.clone(), client.rotate_server_key(gun, role)?);
    }
    Ok(PulledRepo {
        gun: gun.clone(),
        new: false,
        metadata,
        root_history,
        server_keys,
        rotated_server_keys,
    })
}

/// notary-server 0.7's local signer makes the keys of a new repository without a lock, and
/// two at once crash it (`concurrent map writes`): requests that make keys go one at a time,
/// however many GUNs are pulled at once.
static KEY_MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn pull_new(client: &Client, gun: &Gun) -> Result<PulledRepo, OnlineError> {
    Ok(PulledRepo {
        gun: gun.clone(),
        new: true,
        metadata: BTreeMap::new(),
        root_history: BTreeMap::new(),
        server_keys: pull_server_keys(client, gun, None)?,
        rotated_server_keys: BTreeMap::new(),
    })
}

/// timestamp.json, the snapshot it lists, then every role the snapshot lists, each by hash.
fn pull_metadata(client: &Client, gun: &Gun) -> Result<BTreeMap<RoleName, Vec<u8>>, OnlineError> {
    let timestamp_role = base_role(RoleName::TIMESTAMP);
    let snapshot_role = base_role(RoleName::SNAPSHOT);
    let timestamp_url = role_url(client, gun, &timestamp_role);
    let Some(timestamp) = client.get_role(gun, &timestamp_role)? else {
        return Err(OnlineError::BadMetadata {
            url: timestamp_url,
            reason: "the server has a root for this GUN but no timestamp".into(),
        });
    };

    let parsed = parse_json(&timestamp_url, &timestamp)?;
    let snapshot_hash = listed_sha256(&timestamp_url, &parsed, RoleName::SNAPSHOT)?;
    let snapshot = fetch_by_hash(client, gun, &snapshot_role, &snapshot_hash)?;
    let snapshot_url = role_url(client, gun, &snapshot_role);

    let parsed = parse_json(&snapshot_url, &snapshot)?;
    let mut metadata = BTreeMap::new();
    for role in snapshot_roles(&snapshot_url, &parsed)? {
        let hash = listed_sha256(&snapshot_url, &parsed, role.as_str())?;
        let bytes = fetch_by_hash(client, gun, &role, &hash)?;
        metadata.insert(role, bytes);
    }
    metadata.insert(snapshot_role, snapshot);
    metadata.insert(timestamp_role, timestamp);
    Ok(metadata)
}

/// The roles in snapshot `meta`: root, targets and the delegations. Names that are not valid
/// roles, and roles a snapshot must not list, are errors rather than being skipped.
fn snapshot_roles(url: &str, snapshot: &Value) -> Result<Vec<RoleName>, OnlineError> {
    let meta = snapshot.pointer("/signed/meta").and_then(Value::as_object).ok_or_else(|| {
        OnlineError::BadMetadata { url: url.to_string(), reason: "no signed.meta object".into() }
    })?;

    let mut roles = Vec::with_capacity(meta.len());
    for name in meta.keys() {
        let role = RoleName::parse(name)
            .map_err(|source| OnlineError::BadRoleName { url: url.to_string(), source })?;
        if matches!(role.as_str(), RoleName::SNAPSHOT | RoleName::TIMESTAMP) {
            return Err(OnlineError::BadMetadata {
                url: url.to_string(),
                reason: format!("snapshot meta lists {role}, which it must not"),
            });
        }
        roles.push(role);
    }

    for required in [RoleName::ROOT, RoleName::TARGETS] {
        if !meta.contains_key(required) {
            return Err(OnlineError::BadMetadata {
                url: url.to_string(),
                reason: format!("snapshot meta does not list {required}"),
            });
        }
    }
    Ok(roles)
}

/// `<role>.<hex>.json`, or `<role>.json` if the server keeps no file under that hash; either
/// way the bytes must hash to `hex`, so the set stays consistent.
fn fetch_by_hash(
    client: &Client,
    gun: &Gun,
    role: &RoleName,
    hex: &str,
) -> Result<Vec<u8>, OnlineError> {
    if let Some(bytes) = client.get_role_by_hash(gun, role, hex)? {
        return Ok(bytes);
    }

    let url = role_url(client, gun, role);
    let Some(bytes) = client.get_role(gun, role)? else {
        return Err(OnlineError::BadMetadata {
            url,
            reason: format!("the server has no {role} at all, yet it is listed with sha256 {hex}"),
        });
    };
    check_sha256(&url, &bytes, hex)?;
    Ok(bytes)
}

/// Roots 1 ..= version-1, each checked to carry the version it was fetched as.
fn pull_root_history(
    client: &Client,
    gun: &Gun,
    version: u64,
) -> Result<BTreeMap<u64, Vec<u8>>, OnlineError> {
    let mut history = BTreeMap::new();
    for n in 1..version {
        let url = format!("{}/v2/{gun}/_trust/tuf/{n}.root.json", client.server());
        let Some(bytes) = client.get_root_version(gun, n)? else {
            return Err(OnlineError::BadMetadata {
                url,
                reason: format!("root version {n} is missing; the current root is {version}"),
            });
        };
        let found = signed_version(&url, &bytes)?;
        if found != n {
            return Err(OnlineError::BadMetadata {
                url,
                reason: format!("expected root version {n}, got {found}"),
            });
        }
        history.insert(n, bytes);
    }
    Ok(history)
}

/// timestamp.key always, and snapshot.key if the server holds the snapshot key. notary-server
/// never answers 404 for snapshot.key: when the client holds the snapshot key it makes a new,
/// unused key on every GET. So for an existing repository the answer is kept only if the
/// current root lists it; otherwise the client holds the snapshot key. Each key is fetched
/// once, since for a GUN without a root every GET makes a new key.
fn pull_server_keys(
    client: &Client,
    gun: &Gun,
    root: Option<&[u8]>,
) -> Result<BTreeMap<RoleName, Vec<u8>>, OnlineError> {
    let _one_at_a_time = KEY_MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let mut keys = BTreeMap::new();
    let timestamp = base_role(RoleName::TIMESTAMP);
    let Some(key) = client.get_server_key(gun, &timestamp)? else {
        return Err(OnlineError::BadMetadata {
            url: key_url(client, gun, &timestamp),
            reason: "the server holds no timestamp key for this GUN".into(),
        });
    };
    keys.insert(timestamp, key);

    let snapshot = base_role(RoleName::SNAPSHOT);
    if let Some(key) = client.get_server_key(gun, &snapshot)? {
        let held = match root {
            None => true,
            Some(root) => root_lists_key(client, gun, root, &snapshot, &key)?,
        };
        if held {
            keys.insert(snapshot, key);
        }
    }
    Ok(keys)
}

/// Whether `root` lists the key (as `<role>.key` returns it) among the role's key IDs.
fn root_lists_key(
    client: &Client,
    gun: &Gun,
    root: &[u8],
    role: &RoleName,
    key: &[u8],
) -> Result<bool, OnlineError> {
    let id = key_id(&key_url(client, gun, role), key)?;
    let root_url = role_url(client, gun, &RoleName::root());
    let root = parse_json(&root_url, root)?;
    let ids = root.pointer(&format!("/signed/roles/{role}/keyids")).and_then(Value::as_array);
    let ids = ids.ok_or_else(|| OnlineError::BadMetadata {
        url: root_url,
        reason: format!("root has no key IDs for {role}"),
    })?;
    Ok(ids.iter().any(|listed| listed.as_str() == Some(id.as_str())))
}

/// Notary's key ID: the sha256 of the canonical `{"keytype":…,"keyval":{"private":null,
/// "public":…}}`. The server's reply has `private` last, so it is rebuilt in canonical order.
fn key_id(url: &str, key: &[u8]) -> Result<String, OnlineError> {
    let value = parse_json(url, key)?;
    let keytype = value.get("keytype").and_then(Value::as_str);
    let public = value.pointer("/keyval/public").and_then(Value::as_str);
    let (Some(keytype), Some(public)) = (keytype, public) else {
        return Err(OnlineError::BadMetadata {
            url: url.to_string(),
            reason: "not a public key object (keytype, keyval.public)".into(),
        });
    };

    let quote = |s: &str| Value::String(s.to_string()).to_string();
    let canonical = format!(
        "{{\"keytype\":{},\"keyval\":{{\"private\":null,\"public\":{}}}}}",
        quote(keytype),
        quote(public)
    );
    Ok(sha256_hex(canonical.as_bytes()))
}

/// The sha256 that `signed.meta.<role>.hashes.sha256` lists, as lowercase hex.
fn listed_sha256(url: &str, file: &Value, role: &str) -> Result<String, OnlineError> {
    let bad = |reason: String| OnlineError::BadMetadata { url: url.to_string(), reason };
    let meta = file.pointer("/signed/meta").and_then(|m| m.get(role));
    let encoded = meta
        .and_then(|m| m.pointer("/hashes/sha256"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("signed.meta lists no sha256 for {role}")))?;

    let digest = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| bad(format!("sha256 for {role} is not base64: {e}")))?;
    if digest.len() != 32 {
        return Err(bad(format!("sha256 for {role} has {} bytes, not 32", digest.len())));
    }
    Ok(hex::encode(digest))
}

/// `signed.version` of a metadata file, bounded so a hostile root cannot make the pull walk
/// an endless history.
fn signed_version(url: &str, file: &[u8]) -> Result<u64, OnlineError> {
    let bad = |reason: String| OnlineError::BadMetadata { url: url.to_string(), reason };
    let value = parse_json(url, file)?;
    let version = value
        .pointer("/signed/version")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("signed.version is missing or not a non-negative integer".into()))?;
    if version > MAX_ROOT_VERSION {
        return Err(bad(format!("version {version} is above the limit of {MAX_ROOT_VERSION}")));
    }
    Ok(version)
}

fn parse_json(url: &str, file: &[u8]) -> Result<Value, OnlineError> {
    serde_json::from_slice(file).map_err(|e| OnlineError::BadMetadata {
        url: url.to_string(),
        reason: format!("not JSON ({} bytes, sha256 {}): {e}", file.len(), sha256_hex(file)),
    })
}

fn key_url(client: &Client, gun: &Gun, role: &RoleName) -> String {
    format!("{}/v2/{gun}/_trust/tuf/{role}.key", client.server())
}

fn role_url(client: &Client, gun: &Gun, role: &RoleName) -> String {
    format!("{}/v2/{gun}/_trust/tuf/{role}.json", client.server())
}

/// One of the four base roles, from its constant name.
fn base_role(name: &'static str) -> RoleName {
    RoleName::parse(name).expect("base role names always parse")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hashes() {
        let ts = concat!(
            r#"{"signed":{"meta":{"snapshot":{"hashes":{"#,
            r#""sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},"length":0}},"version":1}}"#
        )
        .as_bytes();
        let ts = parse_json("u", ts).unwrap();
        let hex = listed_sha256("u", &ts, "snapshot").unwrap();
        assert_eq!(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(listed_sha256("u", &ts, "targets").is_err());
        let short = br#"{"signed":{"meta":{"snapshot":{"hashes":{"sha256":"AAAA"}}}}}"#;
        let short = parse_json("u", short).unwrap();
        assert!(listed_sha256("u", &short, "snapshot").is_err());
        assert!(parse_json("u", b"{").is_err());
    }

    #[test]
    fn key_ids() {
        // From WIRE.md §2.2; the server's field order must not matter.
        let key = concat!(
            r#"{"keytype":"ecdsa","keyval":{"public":"#,
            r#""MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENU7BmEIxLTGx"#,
            r#"rCP00/Z8qy/rfqSDYcvt/WhKW+hR8qZmGz2oeTDas1Nh8CJwGwhkelh6LmwSzOZCCawzbZhUfw==","#,
            r#""private":null}}"#
        );
        let id = "12da8df0193fe5dc262d1c38851f792e133f2fbcf422915a8e502f10846c0d97";
        assert_eq!(key_id("u", key.as_bytes()).unwrap(), id);
        assert!(key_id("u", br#"{"keytype":"ecdsa"}"#).is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(signed_version("u", br#"{"signed":{"version":3}}"#).unwrap(), 3);
        assert!(signed_version("u", br#"{"signed":{"version":-1}}"#).is_err());
        assert!(signed_version("u", br#"{"signed":{"version":1.5}}"#).is_err());
        assert!(signed_version("u", br#"{"signed":{"version":10001}}"#).is_err());
    }
}
