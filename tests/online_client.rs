//! The online client against a real notary-server on 127.0.0.1, started through
//! tests/harness/notary-server.sh. Repositories are populated with the real `notary` CLI.
#![cfg(feature = "online")]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use airlock::online::{pull_repo, Client, OnlineError, PulledRepo};
use airlock::tuf::{Gun, RoleName};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/harness/notary-server.sh");

/// A running notary-server. Dropping it stops the server, even when a test panics.
struct Server {
    url: String,
    ca: Option<PathBuf>,
    dir: PathBuf,
    tmp: tempfile::TempDir,
}

impl Server {
    fn start(tls: bool) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("server");
        let mut cmd = Command::new("bash");
        cmd.arg(HARNESS).arg("start").arg("--dir").arg(&dir);
        if tls {
            cmd.arg("--tls");
        }

        let out = cmd.stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "harness start failed: {stderr}");
        let vars = parse_exports(&String::from_utf8_lossy(&out.stdout));

        let ca = vars.get("NOTARY_CA").filter(|ca| !ca.is_empty()).map(PathBuf::from);
        Server { url: vars["NOTARY_URL"].clone(), ca, dir, tmp }
    }

    fn client(&self) -> Client {
        Client::new(&self.url, self.ca.as_deref()).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let status = Command::new("bash").arg(HARNESS).arg("stop").arg(&self.dir).status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("stopping the server in {} failed: {status:?}", self.dir.display());
        }
    }
}

/// Reads `export A=x B=y` lines. The harness quotes with printf %q; only an empty value is
/// quoted for the plain paths and URLs it prints.
fn parse_exports(stdout: &str) -> BTreeMap<String, String> {
    let line = stdout.lines().find(|l| l.starts_with("export ")).expect("no export line");
    line.split_whitespace()
        .skip(1)
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), if v == "''" { String::new() } else { v.to_string() }))
        .collect()
}

fn gun(s: &str) -> Gun {
    Gun::parse(s).unwrap()
}

fn role(s: &str) -> RoleName {
    RoleName::parse(s).unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

#[test]
fn new_gun_garbage_unknown_role_and_delete() {
    let server = Server::start(false);
    let client = server.client();
    let g = gun("example.com/airlock/new");

    let pulled = pull_repo(&client, &g, &[]).unwrap();
    assert!(pulled.new);
    assert!(pulled.metadata.is_empty() && pulled.root_history.is_empty());
    let names: Vec<&str> = pulled.server_keys.keys().map(RoleName::as_str).collect();
    assert_eq!(names, ["snapshot", "timestamp"]);
    for key in pulled.server_keys.values() {
        assert_eq!(json(key)["keytype"], "ed25519");
        assert!(json(key)["keyval"]["public"].is_string());
    }
    assert_ne!(pulled.server_keys[&role("timestamp")], pulled.server_keys[&role("snapshot")]);

    let err = client.publish(&g, &[(RoleName::targets(), b"garbage".to_vec())]).unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("MALFORMED_JSON"), "{err}");
    assert!(err.to_string().contains(&server.url), "{err}");
    assert!(!err.is_version_conflict());

    let targets = concat!(
        r#"{"signed":{"_type":"Targets","expires":"2030-01-01T00:00:00Z","version":1},"#,
        r#""signatures":[]}"#
    )
    .as_bytes();
    let err = client.publish(&g, &[(RoleName::targets(), targets.to_vec())]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("INVALID_UPDATE") && text.contains("ErrValidation"), "{text}");
    assert!(text.contains("no pre-existing root"), "{text}");

    assert_eq!(client.get_role(&g, &role("targets/nonexistent")).unwrap(), None);
    assert_eq!(client.get_role_by_hash(&g, &RoleName::root(), &"ab".repeat(32)).unwrap(), None);
    assert_eq!(client.get_root_version(&g, 1).unwrap(), None);
    assert_eq!(client.get_server_key(&g, &RoleName::root()).unwrap(), None);
    client.delete(&g).unwrap();
}

#[test]
fn tls_needs_the_right_ca() {
    let server = Server::start(true);
    let g = gun("example.com/airlock/tls");
    let ca = server.ca.clone().expect("the TLS server has a CA");

    let client = Client::new(&server.url, Some(&ca)).unwrap();
    let key = client.get_server_key(&g, &role("timestamp")).unwrap().unwrap();
    assert_eq!(json(&key)["keytype"], "ed25519");

    let err = Client::new(&server.url, None).err().unwrap();
    assert!(err.to_string().contains("https needs --tlscacert"), "{err}");

    let other_ca = make_other_ca(server.tmp.path());
    let client = Client::new(&server.url, Some(&other_ca)).unwrap();
    let err = client.get_server_key(&g, &role("timestamp")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, OnlineError::Transport { .. }), "{text}");
    assert!(text.contains(&server.url) && text.contains("--tlscacert"), "{text}");
}

/// A CA that did not sign the server's certificate.
fn make_other_ca(dir: &Path) -> PathBuf {
    let (key, crt) = (dir.join("other-ca.key"), dir.join("other-ca.crt"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        .args(["-nodes", "-days", "2", "-subj", "/CN=other CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    crt
}

#[test]
fn connection_refused_names_the_url() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new(&url, None).unwrap();

    let err = client.get_role(&gun("a/b"), &RoleName::root()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("{url}/v2/a/b/_trust/tuf/root.json")), "{text}");
    assert!(text.contains("notary-server is running"), "{text}");
}

/// The notary CLI with its own trust dir and passphrases, never prompting.
struct NotaryCli {
    server_url: String,
    home: PathBuf,
}

impl NotaryCli {
    fn run(&self, args: &[&str], stdin: &[u8]) {
        let mut child = Command::new("notary")
            .arg("-s")
            .arg(&self.server_url)
            .arg("-d")
            .arg(self.home.join("trust"))
            .args(args)
            .current_dir(&self.home)
            .env("HOME", &self.home)
            .env("NOTARY_ROOT_PASSPHRASE", "root-pass-1234")
            .env("NOTARY_TARGETS_PASSPHRASE", "repo-pass-5678")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "repo-pass-5678")
            .env("NOTARY_DELEGATION_PASSPHRASE", "deleg-pass-9012")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();

        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "notary {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A repository with a targets/releases delegation holding one target.
    fn populate(&self, gun: &str) {
        self.run(&["init", gun, "--publish"], b"");

        let key = self.home.join("releaser.key");
        let crt = self.home.join("releaser.crt");
        openssl(&["genrsa", "-out", key.to_str().unwrap(), "2048"]);
        openssl(
            &["req", "-new", "-x509", "-key", key.to_str().unwrap()]
                .into_iter()
                .chain(["-out", crt.to_str().unwrap(), "-days", "30", "-subj", "/CN=releaser"])
                .collect::<Vec<_>>(),
        );
        self.run(&["key", "import", key.to_str().unwrap(), "--role", "releaser"], b"");
        let crt = crt.to_str().unwrap();
        self.run(
            &["delegation", "add", gun, "targets/releases", crt, "--all-paths", "--publish"],
            b"",
        );

        let digest = hex::encode(Sha256::digest(b"manifest v1"));
        let addhash = ["addhash", gun, "v1", "1234", "--sha256", &digest];
        self.run(&[&addhash[..], &["-r", "targets/releases", "--publish"]].concat(), b"");
    }
}

fn openssl(args: &[&str]) {
    let status = Command::new("openssl").args(args).stderr(Stdio::null()).status().unwrap();
    assert!(status.success(), "openssl {args:?} failed");
}

/// Checks that the pulled set is consistent: snapshot by the timestamp's hash, every other role
/// by the snapshot's hash.
fn assert_consistent(pulled: &PulledRepo) {
    let md = &pulled.metadata;
    let timestamp = json(&md[&role("timestamp")]);
    let listed = &timestamp["signed"]["meta"]["snapshot"]["hashes"]["sha256"];
    assert_eq!(listed.as_str().unwrap(), sha256_b64(&md[&role("snapshot")]));

    let snapshot = json(&md[&role("snapshot")]);
    let meta = snapshot["signed"]["meta"].as_object().unwrap();
    for (name, entry) in meta {
        let listed = entry["hashes"]["sha256"].as_str().unwrap();
        assert_eq!(listed, sha256_b64(&md[&role(name)]), "{name}");
    }
    assert_eq!(meta.len() + 2, md.len());
}

#[test]
fn pull_publish_round_trip_and_root_history() {
    let server = Server::start(false);
    let client = server.client();
    let cli = NotaryCli { server_url: server.url.clone(), home: server.tmp.path().to_path_buf() };
    let name = "example.com/airlock/populated";
    let g = gun(name);
    cli.populate(name);

    let pulled = pull_repo(&client, &g, &[]).unwrap();
    assert!(!pulled.new);
    let roles: Vec<&str> = pulled.metadata.keys().map(RoleName::as_str).collect();
    assert_eq!(roles, ["root", "snapshot", "targets", "targets/releases", "timestamp"]);
    assert_consistent(&pulled);
    assert!(pulled.root_history.is_empty());
    assert_server_keys(&pulled, false);
    let releases = json(&pulled.metadata[&RoleName::releases()]);
    assert_eq!(releases["signed"]["targets"]["v1"]["length"], 1234);

    // Replaying the current targets and snapshot is refused as a version conflict.
    let replay = [RoleName::targets(), role("snapshot")].map(|r| {
        let bytes = pulled.metadata[&r].clone();
        (r, bytes)
    });
    let err = client.publish(&g, &replay).unwrap_err();
    assert!(err.is_version_conflict(), "{err}");
    assert!(err.to_string().contains("VERSION"), "{err}");

    // The same client-signed files, uploaded by our multipart encoder, recreate the repo.
    client.delete(&g).unwrap();
    assert!(pull_repo(&client, &g, &[]).unwrap().new);
    let upload: Vec<(RoleName, Vec<u8>)> = pulled
        .metadata
        .iter()
        .filter(|(r, _)| r.as_str() != "timestamp")
        .map(|(r, b)| (r.clone(), b.clone()))
        .collect();
    client.publish(&g, &upload).unwrap();
    let again = pull_repo(&client, &g, &[]).unwrap();
    for (r, bytes) in &upload {
        assert_eq!(&again.metadata[r], bytes, "{r} changed");
    }

    // A root rotation leaves version 1 in the history. The CLI's cache still holds the old
    // timestamp, newer than the recreated repo's, so it must start afresh from the server.
    std::fs::remove_dir_all(cli.home.join("trust/tuf")).unwrap();
    cli.run(&["key", "rotate", name, "root"], b"yes\n");
    let rotated = pull_repo(&client, &g, &[]).unwrap();
    assert_consistent(&rotated);
    assert_eq!(json(&rotated.metadata[&RoleName::root()])["signed"]["version"], 2);
    let history: Vec<u64> = rotated.root_history.keys().copied().collect();
    assert_eq!(history, [1]);
    assert_eq!(rotated.root_history[&1], pulled.metadata[&RoleName::root()]);
    assert_server_keys(&rotated, false);

    // Handing the snapshot key to the server makes pull report it.
    cli.run(&["key", "rotate", name, "snapshot", "-r"], b"yes\n");
    let server_snapshot = pull_repo(&client, &g, &[]).unwrap();
    assert_consistent(&server_snapshot);
    assert_eq!(server_snapshot.root_history.keys().copied().collect::<Vec<_>>(), [1, 2]);
    assert_server_keys(&server_snapshot, true);
}

/// The timestamp key, and the snapshot key if expected, are the ones the root lists.
fn assert_server_keys(pulled: &PulledRepo, server_snapshot: bool) {
    let root = json(&pulled.metadata[&RoleName::root()]);
    let names: Vec<&str> = pulled.server_keys.keys().map(RoleName::as_str).collect();
    let expected: &[&str] =
        if server_snapshot { &["snapshot", "timestamp"] } else { &["timestamp"] };
    assert_eq!(names, expected);

    for (r, key) in &pulled.server_keys {
        let key = json(key);
        let canonical = serde_json::json!({"keytype": key["keytype"], "keyval": {
            "private": null, "public": key["keyval"]["public"]}});
        let id = hex::encode(Sha256::digest(canonical.to_string()));
        let listed = root["signed"]["roles"][r.as_str()]["keyids"].as_array().unwrap();
        assert!(listed.iter().any(|k| k == &Value::String(id.clone())), "{r}: {id}");
    }
}

#[test]
fn harness_export_line() {
    let vars = parse_exports("export NOTARY_URL=http://127.0.0.1:1 NOTARY_CA=''\n");
    assert_eq!(vars["NOTARY_URL"], "http://127.0.0.1:1");
    assert_eq!(vars["NOTARY_CA"], "");
}
