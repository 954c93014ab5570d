//! Test fixtures: sample contents, and a builder for hostile archives that writes tar headers
//! byte by byte, so tests can produce what no well-behaved tar writer would.

use std::io::Write;

use serde_json::{json, Value};
use tar::{EntryType, Header};
use time::macros::datetime;

use super::{read, sha256_hex, Bundle, BundleContents, BundleError, BundleKind, Limits, RepoFiles};
use crate::tuf::{Gun, RoleName};

/// The GUN of hostile test bundles.
pub(crate) const GUN: &str = "example.com/app";

/// A path under [`GUN`].
pub(crate) fn repo_path(tail: &str) -> String {
    format!("repos/{GUN}/{tail}")
}

/// A pull bundle with every kind of file, a GUN long enough to need GNU long names, and a GUN
/// that is new.
pub(crate) fn sample() -> BundleContents {
    let role = |r: &str| RoleName::parse(r).unwrap();
    let gun = |g: &str| Gun::parse(g).unwrap();

    let mut app = RepoFiles::new(gun("example.com/team/app"), false);
    for name in ["root", "targets", "snapshot", "timestamp", "targets/releases", "targets/a/b"] {
        app.metadata.insert(role(name), format!("{{\"signed\":\"{name}\"}}").into_bytes());
    }
    app.root_history.insert(1, b"{\"v\":1}".to_vec());
    app.root_history.insert(2, b"{\"v\":2}".to_vec());
    app.server_keys.insert(role("timestamp"), b"{\"keytype\":\"ecdsa\"}".to_vec());
    app.server_keys.insert(role("snapshot"), b"{\"keytype\":\"ecdsa\"}\n".to_vec());

    let long = "registry.example.com:5000/some-organisation/a-rather-long-repository-name";
    let mut long = RepoFiles::new(gun(long), false);
    long.metadata.insert(role("targets/releases"), vec![0, 1, 2, 255]);
    long.metadata.insert(role("root"), Vec::new());

    BundleContents {
        kind: BundleKind::Pull,
        created: datetime!(2024-05-01 12:34:56.789 UTC),
        answers: None,
        repos: vec![app, long, RepoFiles::new(gun("example.com/team/new"), true)],
        audit: None,
    }
}

/// A response answering some pull bundle.
pub(crate) fn sample_response() -> BundleContents {
    let mut contents = sample();
    contents.kind = BundleKind::Response;
    contents.answers = Some(sha256_hex(b"a pull bundle"));
    contents
}

/// A valid manifest for a pull bundle of `files` under [`GUN`], as JSON to tamper with.
pub(crate) fn manifest_value(files: &[(&str, &[u8])]) -> Value {
    let entries: Vec<Value> = files
        .iter()
        .map(|(path, data)| json!({"path": path, "sha256": sha256_hex(data), "length": data.len()}))
        .collect();
    json!({
        "format": "airlock-bundle",
        "format_version": 1,
        "kind": "pull",
        "created": "2024-05-01T12:00:00Z",
        "tool": "airlock test",
        "guns": [{"gun": GUN, "new": false}],
        "answers": null,
        "entries": entries,
    })
}

/// A GNU header for a `kind` entry whose name field holds `name` verbatim (up to 100 bytes).
pub(crate) fn header(name: &[u8], kind: EntryType, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    header
}

/// One PAX extended header record.
pub(crate) fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

/// Builds tar streams entry by entry.
pub(crate) struct Craft {
    tar: Vec<u8>,
}

impl Craft {
    pub(crate) fn new() -> Craft {
        Craft { tar: Vec::new() }
    }

    /// Starts with a valid manifest of `files`, which the caller may or may not add.
    pub(crate) fn with_manifest(files: &[(&str, &[u8])]) -> Craft {
        Craft::new().manifest(&manifest_value(files))
    }

    pub(crate) fn manifest(self, value: &Value) -> Craft {
        let bytes = serde_json::to_vec_pretty(value).unwrap();
        self.file("manifest.json", &bytes)
    }

    pub(crate) fn file(self, path: &str, data: &[u8]) -> Craft {
        self.entry(path.as_bytes(), EntryType::Regular, data)
    }

    pub(crate) fn entry(self, name: &[u8], kind: EntryType, data: &[u8]) -> Craft {
        self.raw(header(name, kind, data.len() as u64), data)
    }

    /// Appends a header and data as they are, padding the data to a whole block.
    pub(crate) fn raw(mut self, header: Header, data: &[u8]) -> Craft {
        self.tar.extend_from_slice(header.as_bytes());
        self.tar.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.tar.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    /// Appends any bytes, for garbage.
    pub(crate) fn bytes(mut self, bytes: &[u8]) -> Craft {
        self.tar.extend_from_slice(bytes);
        self
    }

    /// The stream without an end-of-archive marker.
    pub(crate) fn unterminated(self) -> Vec<u8> {
        self.tar
    }

    /// The stream with its end-of-archive marker.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.end().unterminated()
    }

    pub(crate) fn end(self) -> Craft {
        self.bytes(&[0; 1024])
    }
}

/// Compresses `bytes` as one zstd frame.
pub(crate) fn zstd(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Reads a compressed bundle from a temporary file.
pub(crate) fn read_file_bytes(bundle: &[u8], limits: &Limits) -> Result<Bundle, BundleError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle");
    std::fs::write(&path, bundle).unwrap();
    read(&path, limits)
}

/// Compresses a tar stream and reads it with default limits.
pub(crate) fn read_tar(tar: &[u8]) -> Result<Bundle, BundleError> {
    read_file_bytes(&zstd(tar), &Limits::default())
}

/// Compresses a tar stream, reads it, and returns the error it must cause.
pub(crate) fn refuse(tar: &[u8]) -> BundleError {
    match read_tar(tar) {
        Ok(_) => panic!("hostile bundle accepted"),
        Err(err) => err,
    }
}
