//! Notary's four role types and delegated targets roles, parsed from and written to the
//! exact bytes Notary uses.
//!
//! Every [`Signed`] keeps three things apart (WIRE.md §1, §9.1): the file bytes (what is
//! stored, uploaded and hashed), the canonical bytes (what signatures cover), and the typed
//! content. Writing goes typed -> [`cjson::Value`] -> canonical -> file form, which is
//! exactly what Go's struct encoding gives back, so what we publish survives a
//! server-generated snapshot (WIRE.md §1.4).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::crypto::{KeyId, KeyType, PublicKey};
use crate::tuf::cjson::{self, Value};
use crate::tuf::file_form;
use crate::tuf::{GoTime, RoleName};

/// Why bytes are not valid Notary metadata.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("{role}: {source}")]
    Json { role: String, source: cjson::JsonError },
    #[error("{role}: {what}")]
    Shape { role: String, what: String },
    #[error("{role}: \"_type\" is {found:?}, expected {expected:?}")]
    WrongType { role: String, found: String, expected: &'static str },
    #[error("{role}: a string holds a control character ({0:?}); Notary cannot publish it", .text)]
    ControlChar { role: String, text: String },
}

/// One entry of `signatures`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub keyid: String,
    /// Lowercased, as Go stores it; the file keeps whatever case it had.
    pub method: String,
    pub sig: Vec<u8>,
}

/// A role file: typed content plus the exact bytes it came from.
///
/// The file bytes and the canonical bytes are private so that they always belong together:
/// the canonical form is often a slice of the file itself.
#[derive(Clone, Debug)]
pub struct Signed<T> {
    pub signed: T,
    pub signatures: Vec<Signature>,
    canonical: Canonical,
    bytes: Vec<u8>,
}

/// Where a file's canonical bytes are.
#[derive(Clone, Debug)]
pub(crate) enum Canonical {
    /// A range of the file: its `signed` part, when Notary's encoder escaped nothing in it
    /// (the usual case, and the one worth not copying: a large `targets/releases`).
    Within(std::ops::Range<usize>),
    /// Built apart from the file.
    Owned(Vec<u8>),
}

impl<T> Signed<T> {
    /// `canonical` must be the canonical JSON of `signed`'s value and, as a range, lie
    /// within `bytes`; the parsers and the signer are the only makers.
    pub(crate) fn new(
        signed: T,
        signatures: Vec<Signature>,
        canonical: Canonical,
        bytes: Vec<u8>,
    ) -> Signed<T> {
        if let Canonical::Within(range) = &canonical {
            assert!(range.start <= range.end && range.end <= bytes.len(), "canonical range");
        }
        Signed { signed, signatures, canonical, bytes }
    }

    /// The bytes signatures cover: canonical JSON of the decoded `signed` value.
    pub fn canonical(&self) -> &[u8] {
        match &self.canonical {
            Canonical::Within(range) => &self.bytes[range.clone()],
            Canonical::Owned(bytes) => bytes,
        }
    }

    /// The exact file bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The exact file bytes, without copying them.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Fields every role has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Common {
    pub version: i64,
    pub expires: GoTime,
}

/// A role's keys and threshold in `root.roles`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    /// `None` is JSON `null`, which Notary writes once every key is removed.
    pub keyids: Option<Vec<KeyId>>,
    pub threshold: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub common: Common,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<KeyId, PublicKey>,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// `length`, `hashes` and optional `custom` of a target or a snapshot/timestamp entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMeta {
    pub length: i64,
    pub hashes: Hashes,
    pub custom: Option<Value>,
}

/// The `hashes` of a [`FileMeta`]: digest by algorithm name, kept sorted by name. A short list
/// rather than a map, because an entry has one or two and a large `targets/releases` has
/// 100,000 entries: a map node per entry would be most of the memory it takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(String, Vec<u8>)>);

type HashEntry = (String, Vec<u8>);

impl Hashes {
    pub fn get(&self, alg: &str) -> Option<&Vec<u8>> {
        self.find(alg).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, alg: &str) -> Option<&mut Vec<u8>> {
        self.find(alg).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains_key(&self, alg: &str) -> bool {
        self.find(alg).is_ok()
    }

    /// Sets the digest for `alg`, returning the one it replaces.
    pub fn insert(&mut self, alg: String, digest: Vec<u8>) -> Option<Vec<u8>> {
        match self.find(&alg) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, digest)),
            Err(i) => {
                self.0.insert(i, (alg, digest));
                None
            }
        }
    }

    pub fn remove(&mut self, alg: &str) -> Option<Vec<u8>> {
        self.find(alg).ok().map(|i| self.0.remove(i).1)
    }

    /// Algorithms and digests, sorted by algorithm.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.into_iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries already sorted by name, each name once (as a canonical object lists them).
    pub(crate) fn from_sorted(entries: Vec<HashEntry>) -> Hashes {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "unsorted hashes");
        Hashes(entries)
    }

    fn find(&self, alg: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(a, _)| a.as_str().cmp(alg))
    }
}

impl FromIterator<HashEntry> for Hashes {
    fn from_iter<I: IntoIterator<Item = HashEntry>>(iter: I) -> Hashes {
        let mut hashes = Hashes(Vec::new());
        for (alg, digest) in iter {
            hashes.insert(alg, digest);
        }
        hashes
    }
}

impl<const N: usize> From<[HashEntry; N]> for Hashes {
    fn from(entries: [HashEntry; N]) -> Hashes {
        entries.into_iter().collect()
    }
}

fn entry_refs((alg, digest): &HashEntry) -> (&String, &Vec<u8>) {
    (alg, digest)
}

impl<'a> IntoIterator for &'a Hashes {
    type Item = (&'a String, &'a Vec<u8>);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, HashEntry>, fn(&'a HashEntry) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(entry_refs)
    }
}

impl std::ops::Index<&str> for Hashes {
    type Output = Vec<u8>;

    /// Panics when `alg` is missing, like a map's index: for tests and checked callers.
    fn index(&self, alg: &str) -> &Vec<u8> {
        self.get(alg).unwrap_or_else(|| panic!("no {alg} hash"))
    }
}

/// One entry of `delegations.roles`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegatedRole {
    pub name: RoleName,
    pub keyids: Option<Vec<KeyId>>,
    /// Prefixes; `""` is every path. Empty is written by leaving the field out.
    pub paths: Vec<String>,
    pub threshold: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Delegations {
    /// `None` is JSON `null` (Go's re-encoding of a missing object).
    pub keys: Option<BTreeMap<KeyId, PublicKey>>,
    pub roles: Option<Vec<DelegatedRole>>,
}

/// `targets.json` or a delegated role such as `targets/releases`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    pub common: Common,
    pub targets: BTreeMap<String, FileMeta>,
    pub delegations: Delegations,
}

/// A targets role as verification needs it: everything but its `targets` entries, which are
/// checked exactly as [`Targets`] checks them and counted, not kept. For a `targets/releases`
/// of 100,000 targets, keeping them is most of the time and memory a parse takes, and
/// verifying a repository never looks at them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetsHead {
    pub common: Common,
    pub delegations: Delegations,
    pub target_count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub common: Common,
    pub meta: BTreeMap<String, FileMeta>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub common: Common,
    pub meta: BTreeMap<String, FileMeta>,
}

/// What a role file's `signed` part is read into: its `_type`, and how it is taken from the
/// generic value.
pub trait ReadRole: Sized {
    const TYPE: &'static str;
    /// The member of `signed` that maps names to [`FileMeta`] and can be large (a targets
    /// role's `targets`). [`file_form`] reads it itself and hands it over with
    /// [`ReadRole::set_file_map`], while `from_value` sees it empty.
    const FILE_MAP: Option<&'static str> = None;
    /// Whether the entries of that map are kept, or only checked and counted.
    const KEEPS_FILE_MAP: bool = true;

    fn from_value(v: &Value, ctx: &Ctx) -> Result<Self, MetadataError>;
    fn common(&self) -> &Common;

    /// Takes what was read of [`ReadRole::FILE_MAP`]; never called for a type without one.
    fn set_file_map(&mut self, _map: FileMapRead) {}
}

/// A role type that is written as well as read: its mapping to the generic value.
pub trait RoleType: ReadRole {
    fn to_value(&self) -> Value;
}

/// What [`file_form`] read of a role's [`RoleType::FILE_MAP`].
pub enum FileMapRead {
    /// Every entry, typed.
    Kept(BTreeMap<String, FileMeta>),
    /// How many entries there were, each checked as [`Targets`] checks it.
    Counted(usize),
}

/// Context for error messages: the role a file claims to be.
pub struct Ctx<'a>(pub &'a str);

impl Ctx<'_> {
    fn shape(&self, what: impl Into<String>) -> MetadataError {
        MetadataError::Shape { role: self.0.to_string(), what: what.into() }
    }

    fn field<'v>(&self, obj: &'v Value, name: &str) -> Result<&'v Value, MetadataError> {
        obj.get(name).ok_or_else(|| self.shape(format!("missing field \"{name}\"")))
    }

    fn string(&self, obj: &Value, name: &str) -> Result<String, MetadataError> {
        let v = self.field(obj, name)?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.shape(format!("\"{name}\" is not a string")))
    }

    fn int(&self, obj: &Value, name: &str) -> Result<i64, MetadataError> {
        let v = self.field(obj, name)?;
        v.as_i64().ok_or_else(|| self.shape(format!("\"{name}\" is not an integer")))
    }

    fn object<'v>(&self, v: &'v Value, name: &str) -> Result<&'v [(String, Value)], MetadataError> {
        v.as_object().ok_or_else(|| self.shape(format!("\"{name}\" is not an object")))
    }

    fn b64(&self, s: &str, name: &str) -> Result<Vec<u8>, MetadataError> {
        B64.decode(s).map_err(|_| self.shape(format!("\"{name}\" is not standard base64")))
    }
}

/// Parses a role file of type `T`, keeping its bytes.
///
/// A file as Notary writes it (its `signed` part in file form) is read in one pass without a
/// tree ([`file_form`]); every other file, and every file that pass turns down, is decoded
/// through the generic tree, which also decides every error message.
pub fn parse<T: ReadRole>(bytes: &[u8], role: &str) -> Result<Signed<T>, MetadataError> {
    match file_form::parse(bytes, role) {
        Some(signed) => Ok(signed),
        None => parse_tree(bytes, role),
    }
}

/// [`parse`] through the generic tree: Notary's own way (decode, then re-encode `signed`
/// canonically), for any JSON layout.
pub(crate) fn parse_tree<T: ReadRole>(
    bytes: &[u8],
    role: &str,
) -> Result<Signed<T>, MetadataError> {
    let ctx = Ctx(role);
    let json = |source| MetadataError::Json { role: role.to_string(), source };
    let doc = cjson::parse(bytes).map_err(json)?;

    let members = doc.as_object().ok_or_else(|| ctx.shape("the file is not a JSON object"))?;
    if let Some((k, _)) = members.iter().find(|(k, _)| k != "signed" && k != "signatures") {
        return Err(ctx.shape(format!("unexpected top-level field {k:?}")));
    }
    let signed_value = ctx.field(&doc, "signed")?;
    let (signed, signatures) = content(signed_value, doc.get("signatures"), role)?;
    let canonical = Canonical::Owned(cjson::canonical(signed_value));
    Ok(Signed::new(signed, signatures, canonical, bytes.to_vec()))
}

/// The typed content and the signatures of a file, from its decoded `signed` and
/// `signatures` members (the file's other checks are its reader's).
pub(crate) fn content<T: ReadRole>(
    signed: &Value,
    signatures: Option<&Value>,
    role: &str,
) -> Result<(T, Vec<Signature>), MetadataError> {
    let ctx = Ctx(role);
    if let Some(text) = signed.find_control_char() {
        return Err(MetadataError::ControlChar { role: role.to_string(), text: text.into() });
    }
    let signatures = signatures.ok_or_else(|| ctx.shape("missing field \"signatures\""))?;
    let signatures = parse_signatures(signatures, &ctx)?;

    check_type(signed, T::TYPE, &ctx)?;
    Ok((T::from_value(signed, &ctx)?, signatures))
}

/// Reads only `_type`, for telling which parser a file needs.
fn check_type(v: &Value, expected: &'static str, ctx: &Ctx) -> Result<(), MetadataError> {
    let found = ctx.string(v, "_type")?;
    if found != expected {
        return Err(MetadataError::WrongType { role: ctx.0.to_string(), found, expected });
    }
    Ok(())
}

fn parse_signatures(v: &Value, ctx: &Ctx) -> Result<Vec<Signature>, MetadataError> {
    let items = v.as_array().ok_or_else(|| ctx.shape("\"signatures\" is not an array"))?;
    items
        .iter()
        .map(|item| {
            let members = ctx.object(item, "signatures[]")?;
            if let Some((k, _)) =
                members.iter().find(|(k, _)| !["keyid", "method", "sig"].contains(&k.as_str()))
            {
                return Err(ctx.shape(format!("unexpected signature field {k:?}")));
            }
            let sig = ctx.b64(&ctx.string(item, "sig")?, "sig")?;
            let method = ctx.string(item, "method")?.to_ascii_lowercase();
            Ok(Signature { keyid: ctx.string(item, "keyid")?, method, sig })
        })
        .collect()
}

fn parse_common(v: &Value, ctx: &Ctx) -> Result<Common, MetadataError> {
    let version = ctx.int(v, "version")?;
    if version < 1 {
        return Err(ctx.shape(format!("version {version} is below 1")));
    }
    let text = ctx.string(v, "expires")?;
    let expires = GoTime::parse(&text).map_err(|e| ctx.shape(format!("\"expires\": {e}")))?;
    Ok(Common { version, expires })
}

fn parse_keys(v: &Value, ctx: &Ctx) -> Result<BTreeMap<KeyId, PublicKey>, MetadataError> {
    let mut keys = BTreeMap::new();
    for (id, key) in ctx.object(v, "keys")? {
        let id = KeyId::parse(id)
            .map_err(|_| ctx.shape(format!("key ID {id:?} is not 64 hex digits")))?;
        keys.insert(id, parse_key(key, ctx)?);
    }
    Ok(keys)
}

/// `{"keytype":T,"keyval":{"private":null,"public":B64}}`.
pub fn parse_key(v: &Value, ctx: &Ctx) -> Result<PublicKey, MetadataError> {
    let keytype = ctx.string(v, "keytype")?;
    let keytype =
        KeyType::parse(&keytype).map_err(|_| ctx.shape(format!("unknown keytype {keytype:?}")))?;
    let keyval = ctx.field(v, "keyval")?;
    if !matches!(keyval.get("private"), None | Some(Value::Null)) {
        return Err(ctx.shape("a key in metadata carries a private part"));
    }
    let public = ctx.b64(&ctx.string(keyval, "public")?, "public")?;
    Ok(PublicKey::new(keytype, public))
}

fn parse_keyids(v: &Value, ctx: &Ctx) -> Result<Option<Vec<KeyId>>, MetadataError> {
    let Some(v) = v.get("keyids") else {
        return Ok(None);
    };
    if *v == Value::Null {
        return Ok(None);
    }
    let items = v.as_array().ok_or_else(|| ctx.shape("\"keyids\" is not an array"))?;
    let ids = items.iter().map(|item| {
        let s = item.as_str().ok_or_else(|| ctx.shape("a key ID is not a string"))?;
        KeyId::parse(s).map_err(|_| ctx.shape(format!("key ID {s:?} is not 64 hex digits")))
    });
    ids.collect::<Result<_, _>>().map(Some)
}

fn parse_threshold(v: &Value, ctx: &Ctx) -> Result<i64, MetadataError> {
    let threshold = ctx.int(v, "threshold")?;
    if threshold < 1 {
        return Err(ctx.shape(format!("threshold {threshold} is below 1")));
    }
    Ok(threshold)
}

fn parse_file_meta(v: &Value, ctx: &Ctx) -> Result<FileMeta, MetadataError> {
    let length = ctx.int(v, "length")?;
    if length < 0 {
        return Err(ctx.shape("a negative length"));
    }
    let listed = ctx.object(ctx.field(v, "hashes")?, "hashes")?;
    let mut hashes = Hashes(Vec::with_capacity(listed.len()));
    for (alg, digest) in listed {
        let digest = digest.as_str().ok_or_else(|| ctx.shape("a hash is not a string"))?;
        hashes.insert(alg.clone(), ctx.b64(digest, "hashes")?);
    }
    let custom = v.get("custom").filter(|c| **c != Value::Null).cloned();
    Ok(FileMeta { length, hashes, custom })
}

fn parse_meta_map(v: &Value, ctx: &Ctx) -> Result<BTreeMap<String, FileMeta>, MetadataError> {
    let field = ctx.field(v, "meta")?;
    ctx.object(field, "meta")?
        .iter()
        .map(|(name, m)| Ok((name.clone(), parse_file_meta(m, ctx)?)))
        .collect()
}

impl ReadRole for Root {
    const TYPE: &'static str = "Root";

    fn from_value(v: &Value, ctx: &Ctx) -> Result<Root, MetadataError> {
        let consistent_snapshot = match v.get("consistent_snapshot") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ctx.shape("\"consistent_snapshot\" is not a boolean")),
        };
        let mut roles = BTreeMap::new();
        for (name, role) in ctx.object(ctx.field(v, "roles")?, "roles")? {
            let keys = RoleKeys {
                keyids: parse_keyids(role, ctx)?,
                threshold: parse_threshold(role, ctx)?,
            };
            roles.insert(name.clone(), keys);
        }
        for base in ["root", "targets", "snapshot", "timestamp"] {
            if !roles.contains_key(base) {
                return Err(ctx.shape(format!("root lists no \"{base}\" role")));
            }
        }
        let keys = parse_keys(ctx.field(v, "keys")?, ctx)?;
        Ok(Root { common: parse_common(v, ctx)?, consistent_snapshot, keys, roles })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

impl RoleType for Root {
    fn to_value(&self) -> Value {
        let roles = self.roles.iter().map(|(name, r)| (name.clone(), role_keys_value(r))).collect();
        let mut members = common_members(Self::TYPE, &self.common);
        members.push(("consistent_snapshot".into(), Value::Bool(self.consistent_snapshot)));
        members.push(("keys".into(), keys_value(&self.keys)));
        members.push(("roles".into(), Value::Object(roles)));
        Value::Object(members)
    }
}

impl ReadRole for Targets {
    const TYPE: &'static str = "Targets";
    const FILE_MAP: Option<&'static str> = Some("targets");

    fn from_value(v: &Value, ctx: &Ctx) -> Result<Targets, MetadataError> {
        // Collected rather than inserted one by one: the map is then built in one pass from
        // names that are already in order in a canonical file.
        let entries = ctx.object(ctx.field(v, "targets")?, "targets")?.iter();
        let targets = entries
            .map(|(name, meta)| Ok((name.clone(), parse_file_meta(meta, ctx)?)))
            .collect::<Result<BTreeMap<_, _>, MetadataError>>()?;
        let delegations = match v.get("delegations") {
            None | Some(Value::Null) => Delegations::default(),
            Some(d) => parse_delegations(d, ctx)?,
        };
        Ok(Targets { common: parse_common(v, ctx)?, targets, delegations })
    }

    fn common(&self) -> &Common {
        &self.common
    }

    fn set_file_map(&mut self, map: FileMapRead) {
        if let FileMapRead::Kept(map) = map {
            self.targets = map;
        }
    }
}

impl RoleType for Targets {
    fn to_value(&self) -> Value {
        let targets = self.targets.iter().map(|(n, m)| (n.clone(), file_meta_value(m))).collect();
        let mut members = common_members(Self::TYPE, &self.common);
        members.push(("delegations".into(), delegations_value(&self.delegations)));
        members.push(("targets".into(), Value::Object(targets)));
        Value::Object(members)
    }
}

impl ReadRole for TargetsHead {
    const TYPE: &'static str = "Targets";
    const FILE_MAP: Option<&'static str> = Some("targets");
    const KEEPS_FILE_MAP: bool = false;

    /// Through [`Targets`], so both accept exactly the same files.
    fn from_value(v: &Value, ctx: &Ctx) -> Result<TargetsHead, MetadataError> {
        let targets = Targets::from_value(v, ctx)?;
        let target_count = targets.targets.len();
        Ok(TargetsHead { common: targets.common, delegations: targets.delegations, target_count })
    }

    fn common(&self) -> &Common {
        &self.common
    }

    fn set_file_map(&mut self, map: FileMapRead) {
        self.target_count = match map {
            FileMapRead::Kept(map) => map.len(),
            FileMapRead::Counted(count) => count,
        };
    }
}

fn parse_delegations(v: &Value, ctx: &Ctx) -> Result<Delegations, MetadataError> {
    let keys = match v.get("keys") {
        None | Some(Value::Null) => None,
        Some(k) => Some(parse_keys(k, ctx)?),
    };
    let roles = match v.get("roles") {
        None | Some(Value::Null) => None,
        Some(r) => {
            let items = r.as_array().ok_or_else(|| ctx.shape("\"roles\" is not an array"))?;
            Some(items.iter().map(|r| parse_delegated_role(r, ctx)).collect::<Result<_, _>>()?)
        }
    };
    Ok(Delegations { keys, roles })
}

fn parse_delegated_role(v: &Value, ctx: &Ctx) -> Result<DelegatedRole, MetadataError> {
    let name = ctx.string(v, "name")?;
    let name = RoleName::parse(&name).map_err(|e| ctx.shape(e.to_string()))?;
    if !name.is_delegation() {
        return Err(ctx.shape(format!("{name} cannot be delegated to")));
    }
    let paths = match v.get("paths") {
        None | Some(Value::Null) => Vec::new(),
        Some(p) => {
            let items = p.as_array().ok_or_else(|| ctx.shape("\"paths\" is not an array"))?;
            let strings = items.iter().map(|s| s.as_str().map(str::to_string));
            strings.collect::<Option<_>>().ok_or_else(|| ctx.shape("a path is not a string"))?
        }
    };
    let keyids = parse_keyids(v, ctx)?;
    Ok(DelegatedRole { name, keyids, paths, threshold: parse_threshold(v, ctx)? })
}

/// Snapshot and timestamp have the same shape: common fields plus `meta`.
macro_rules! meta_role {
    ($type:ident, $name:literal) => {
        impl ReadRole for $type {
            const TYPE: &'static str = $name;

            fn from_value(v: &Value, ctx: &Ctx) -> Result<$type, MetadataError> {
                Ok($type { common: parse_common(v, ctx)?, meta: parse_meta_map(v, ctx)? })
            }

            fn common(&self) -> &Common {
                &self.common
            }
        }

        impl RoleType for $type {
            fn to_value(&self) -> Value {
                let mut members = common_members(Self::TYPE, &self.common);
                members.push(("meta".into(), meta_map_value(&self.meta)));
                Value::Object(members)
            }
        }
    };
}

meta_role!(Snapshot, "Snapshot");
meta_role!(Timestamp, "Timestamp");

fn common_members(type_name: &str, common: &Common) -> Vec<(String, Value)> {
    vec![
        ("_type".into(), Value::String(type_name.into())),
        ("expires".into(), Value::String(common.expires.to_string())),
        ("version".into(), Value::Int(common.version)),
    ]
}

/// A key object as it appears in `keys` (canonical order puts `private` first).
pub fn key_value(key: &PublicKey) -> Value {
    let keyval =
        vec![("private".into(), Value::Null), ("public".into(), Value::String(key.public_b64()))];
    Value::Object(vec![
        ("keytype".into(), Value::String(key.keytype().as_str().into())),
        ("keyval".into(), Value::Object(keyval)),
    ])
}

fn keys_value(keys: &BTreeMap<KeyId, PublicKey>) -> Value {
    Value::Object(keys.iter().map(|(id, k)| (id.as_str().to_string(), key_value(k))).collect())
}

fn keyids_value(ids: &Option<Vec<KeyId>>) -> Value {
    match ids {
        None => Value::Null,
        Some(ids) => Value::Array(ids.iter().map(|id| Value::String(id.as_str().into())).collect()),
    }
}

fn role_keys_value(r: &RoleKeys) -> Value {
    Value::Object(vec![
        ("keyids".into(), keyids_value(&r.keyids)),
        ("threshold".into(), Value::Int(r.threshold)),
    ])
}

fn file_meta_value(m: &FileMeta) -> Value {
    let hashes = m.hashes.iter().map(|(alg, d)| (alg.clone(), Value::String(B64.encode(d))));
    let mut members = Vec::new();
    if let Some(custom) = &m.custom {
        members.push(("custom".into(), custom.clone()));
    }
    members.push(("hashes".into(), Value::Object(hashes.collect())));
    members.push(("length".into(), Value::Int(m.length)));
    Value::Object(members)
}

fn meta_map_value(meta: &BTreeMap<String, FileMeta>) -> Value {
    Value::Object(meta.iter().map(|(n, m)| (n.clone(), file_meta_value(m))).collect())
}

fn delegated_role_value(r: &DelegatedRole) -> Value {
    let mut members = vec![
        ("keyids".into(), keyids_value(&r.keyids)),
        ("name".into(), Value::String(r.name.as_str().into())),
    ];
    // Go's `omitempty`: an empty list is left out, never written as [] (WIRE.md §9.4).
    if !r.paths.is_empty() {
        let paths = r.paths.iter().map(|p| Value::String(p.clone())).collect();
        members.push(("paths".into(), Value::Array(paths)));
    }
    members.push(("threshold".into(), Value::Int(r.threshold)));
    Value::Object(members)
}

fn delegations_value(d: &Delegations) -> Value {
    let keys = d.keys.as_ref().map_or(Value::Null, keys_value);
    let roles = match &d.roles {
        None => Value::Null,
        Some(roles) => Value::Array(roles.iter().map(delegated_role_value).collect()),
    };
    Value::Object(vec![("keys".into(), keys), ("roles".into(), roles)])
}

/// Assembles the file bytes Go writes: `{"signed":<file form>,"signatures":[…]}`, envelope in
/// struct order, signature fields keyid, method, sig, no whitespace, no trailing newline.
pub fn envelope(canonical: &[u8], signatures: &[Signature]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len() + 128 * signatures.len() + 32);
    out.extend_from_slice(b"{\"signed\":");
    out.extend_from_slice(&cjson::file_form(canonical));
    out.extend_from_slice(b",\"signatures\":[");
    for (i, s) in signatures.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let sig = B64.encode(&s.sig);
        let item = format!(r#"{{"keyid":"{}","method":"{}","sig":"{}"}}"#, s.keyid, s.method, sig);
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

impl Root {
    /// The keys this root lists for a base role, in its order (unknown IDs left out).
    pub fn listed_keys(&self, role: &str) -> Vec<PublicKey> {
        let ids = self.roles.get(role).and_then(|r| r.keyids.as_deref()).unwrap_or_default();
        ids.iter().filter_map(|id| self.keys.get(id).cloned()).collect()
    }
}

/// `signed.version` of a metadata file, read without checking anything else in it, and
/// without building the rest of it: reports and records call it on files of any size.
pub fn signed_version(bytes: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct File {
        signed: Versioned,
    }
    #[derive(serde::Deserialize)]
    struct Versioned {
        version: i64,
    }
    serde_json::from_slice::<File>(bytes).ok().map(|file| file.signed.version)
}

impl Delegations {
    /// An empty delegations object as Notary writes it for a new role: `{"keys":{},"roles":[]}`.
    pub fn empty() -> Delegations {
        Delegations { keys: Some(BTreeMap::new()), roles: Some(Vec::new()) }
    }

    pub fn role(&self, name: &RoleName) -> Option<&DelegatedRole> {
        self.roles.as_ref()?.iter().find(|r| &r.name == name)
    }

    pub fn key(&self, id: &KeyId) -> Option<&PublicKey> {
        self.keys.as_ref()?.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_stay_sorted_and_unique() {
        let d = |b: u8| vec![b; 4];
        let mut hashes = Hashes::from([("sha512".into(), d(2)), ("sha256".into(), d(1))]);
        assert_eq!(hashes.insert("md5".into(), d(3)), None);
        assert_eq!(hashes.insert("sha256".into(), d(4)), Some(d(1)));
        let algs: Vec<&String> = hashes.iter().map(|(alg, _)| alg).collect();
        assert_eq!(algs, ["md5", "sha256", "sha512"]);
        assert_eq!(hashes["sha256"], d(4));
        assert_eq!(hashes.remove("md5"), Some(d(3)));
        assert_eq!(hashes.len(), 2);
        assert!(!hashes.contains_key("md5") && hashes.get("nope").is_none());
        hashes.get_mut("sha512").unwrap()[0] = 9;
        assert_eq!(hashes.get("sha512").unwrap()[0], 9);
    }

    const TARGETS: &str = concat!(
        r#"{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[{"keyids":null,"n"#,
        r#"ame":"targets/a","threshold":1},{"keyids":[],"name":"targets/b","paths":[""],"th"#,
        r#"reshold":1}]},"expires":"2029-12-02T15:29:46.02513138Z","targets":{"\u003cx\u003"#,
        r#"e":{"custom":{"z":1,"a":"\u0026"},"hashes":{"sha256":"AAAA"},"length":3}},"versi"#,
        r#"on":2},"signatures":[{"keyid":"ab","method":"ecdsa","sig":"AAAA"}]}"#,
    );

    #[test]
    fn targets_round_trip_to_the_same_bytes() {
        let t = parse::<Targets>(TARGETS.as_bytes(), "targets").unwrap();
        let again = cjson::canonical(&t.signed.to_value());
        // custom is written sorted in the canonical form; the file's copy is unsorted.
        let expected = TARGETS.replace(r#"{"z":1,"a":"\u0026"}"#, r#"{"a":"\u0026","z":1}"#);
        assert_eq!(envelope(&again, &t.signatures), expected.as_bytes());
        assert_eq!(t.signed.delegations.roles.as_ref().unwrap()[0].keyids, None);
        assert_eq!(t.signed.delegations.roles.as_ref().unwrap()[1].keyids, Some(vec![]));
    }

    #[test]
    fn wrong_type_and_missing_fields_are_refused() {
        let root_as_targets = TARGETS.replace("\"Targets\"", "\"Root\"");
        assert!(matches!(
            parse::<Targets>(root_as_targets.as_bytes(), "targets"),
            Err(MetadataError::WrongType { .. })
        ));
        let no_version = TARGETS.replace(",\"version\":2", "");
        assert!(parse::<Targets>(no_version.as_bytes(), "targets").is_err());
        let extra = TARGETS.replacen("{\"signed\"", "{\"x\":1,\"signed\"", 1);
        assert!(parse::<Targets>(extra.as_bytes(), "targets").is_err());
        let ctrl = TARGETS.replace("\\u003cx\\u003e", "\\u0001");
        assert!(matches!(
            parse::<Targets>(ctrl.as_bytes(), "targets"),
            Err(MetadataError::ControlChar { .. })
        ));
    }
}
