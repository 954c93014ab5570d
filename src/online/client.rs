//! A blocking HTTP client for notary-server's `/v2/<gun>/_trust/tuf/` API (WIRE.md §6).
//!
//! It moves bytes and nothing else: what it fetches is verified offline later, so the only
//! checks here are the ones that keep a hostile or broken server from wasting memory or
//! handing over a file other than the one asked for.

use std::error::Error as _;
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::error::{OnlineError, ServerMessage};
use super::multipart;
use crate::tuf::{Gun, RoleName};

/// The largest metadata file read: root, targets, delegations, snapshot.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// The largest timestamp or public key file read; real ones are well under 1 KiB.
pub const MAX_SMALL_BYTES: u64 = 1024 * 1024;
/// How much of an error body is read; Notary's are a few hundred bytes.
const MAX_ERROR_BODY: u64 = 64 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to one notary-server. Cheap to share: requests reuse kept-alive connections.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    /// The server URL without a trailing slash, e.g. `https://notary.example.com:4443`.
    base: String,
}

impl Client {
    /// A client for `server` (`http://` or `https://`). With `tlscacert`, TLS trusts exactly
    /// the CAs in that PEM file; https without it is refused, because an air-gapped ceremony
    /// should name the CA it trusts rather than inherit whatever roots this machine has.
    pub fn new(server: &str, tlscacert: Option<&Path>) -> Result<Client, OnlineError> {
        let (base, https) = parse_server(server)?;

        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IO_TIMEOUT)
            .timeout_write(IO_TIMEOUT)
            .try_proxy_from_env(false)
            .redirects(0)
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")));

        match tlscacert {
            Some(path) => builder = builder.tls_config(Arc::new(tls_config(path)?)),
            None if https => return Err(OnlineError::NeedsCa { url: base }),
            None => {}
        }
        Ok(Client { agent: builder.build(), base })
    }

    /// The server URL this client talks to, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.base
    }

    /// The current version of a role (`<role>.json`), or None if the server has none.
    pub fn get_role(&self, gun: &Gun, role: &RoleName) -> Result<Option<Vec<u8>>, OnlineError> {
        let limit = limit_for(role);
        self.get(&self.url(gun, &format!("{role}.json")), limit)
    }

    /// The version of a role whose bytes hash to `sha256_hex` (`<role>.<hex>.json`), or None.
    /// The answer is checked against the hash, so a server cannot swap in another file.
    pub fn get_role_by_hash(
        &self,
        gun: &Gun,
        role: &RoleName,
        sha256_hex: &str,
    ) -> Result<Option<Vec<u8>>, OnlineError> {
        let hex = checked_sha256_hex(sha256_hex)?;
        let url = self.url(gun, &format!("{role}.{hex}.json"));

        let Some(bytes) = self.get(&url, limit_for(role))? else {
            return Ok(None);
        };
        check_sha256(&url, &bytes, &hex)?;
        Ok(Some(bytes))
    }

    /// Root at a given version (`<N>.root.json`), or None.
    pub fn get_root_version(
        &self,
        gun: &Gun,
        version: u64,
    ) -> Result<Option<Vec<u8>>, OnlineError> {
        self.get(&self.url(gun, &format!("{version}.root.json")), MAX_FILE_BYTES)
    }

    /// The public key the server holds for `role` (`<role>.key`), exactly as sent, or None
    /// when the server holds no key for it. For a GUN without a root every call makes a new
    /// key, so callers must fetch once and keep the bytes.
    pub fn get_server_key(
        &self,
        gun: &Gun,
        role: &RoleName,
    ) -> Result<Option<Vec<u8>>, OnlineError> {
        self.get(&self.url(gun, &format!("{role}.key")), MAX_SMALL_BYTES)
    }

    /// Asks the server to make a new key for `role` (`POST <role>.key`) and returns it. The
    /// repository does not change until a root listing the key is published.
    pub fn rotate_server_key(&self, gun: &Gun, role: &RoleName) -> Result<Vec<u8>, OnlineError> {
        let url = self.url(gun, &format!("{role}.key"));
        let response = self.agent.post(&url).send_bytes(&[]);
        let response = response.map_err(|err| request_error("POST", &url, err))?;
        if response.status() != 200 {
            return Err(unexpected_status("POST", &url, response));
        }
        read_limited("POST", &url, response, MAX_SMALL_BYTES)
    }

    /// Uploads signed files in one atomic update. The server answers 200 or rejects all.
    pub fn publish(&self, gun: &Gun, files: &[(RoleName, Vec<u8>)]) -> Result<(), OnlineError> {
        if files.is_empty() {
            return Err(OnlineError::BadArgument("publish: no files to upload".into()));
        }
        let url = self.url(gun, "");
        let form = multipart::encode(files);

        let result =
            self.agent.post(&url).set("Content-Type", &form.content_type).send_bytes(&form.body);
        self.expect_empty_ok("POST", &url, result)
    }

    /// Deletes all of the GUN's trust data on the server.
    pub fn delete(&self, gun: &Gun) -> Result<(), OnlineError> {
        let url = self.url(gun, "");
        let result = self.agent.delete(&url).call();
        self.expect_empty_ok("DELETE", &url, result)
    }

    fn url(&self, gun: &Gun, file: &str) -> String {
        format!("{}/v2/{}/_trust/tuf/{}", self.base, gun.as_str(), file)
    }

    /// GET with a size limit: 200 gives the body, 404 gives None, anything else an error.
    fn get(&self, url: &str, limit: u64) -> Result<Option<Vec<u8>>, OnlineError> {
        let response = match self.agent.get(url).call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, response)) => {
                // Drain it so the connection can be reused.
                read_limited("GET", url, response, MAX_ERROR_BODY).ok();
                return Ok(None);
            }
            Err(err) => return Err(request_error("GET", url, err)),
        };

        if response.status() != 200 {
            return Err(unexpected_status("GET", url, response));
        }
        read_limited("GET", url, response, limit).map(Some)
    }

    fn expect_empty_ok(
        &self,
        method: &'static str,
        url: &str,
        result: Result<ureq::Response, ureq::Error>,
    ) -> Result<(), OnlineError> {
        let response = result.map_err(|err| request_error(method, url, err))?;
        if response.status() != 200 {
            return Err(unexpected_status(method, url, response));
        }
        read_limited(method, url, response, MAX_ERROR_BODY)?;
        Ok(())
    }
}

/// Splits and checks the server URL. It must be http(s) with a host, and no query, fragment
/// or credentials, because paths are appended to it verbatim.
fn parse_server(server: &str) -> Result<(String, bool), OnlineError> {
    let bad = |reason| Err(OnlineError::BadServerUrl { url: server.to_string(), reason });
    let (https, rest) = if let Some(rest) = server.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = server.strip_prefix("http://") {
        (false, rest)
    } else {
        return bad("it must start with http:// or https://");
    };

    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return bad("it has no host");
    }
    if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it must not contain a query, fragment, credentials or whitespace");
    }
    Ok((server.trim_end_matches('/').to_string(), https))
}

/// A rustls config that trusts exactly the certificates in the PEM file at `path`.
fn tls_config(path: &Path) -> Result<rustls::ClientConfig, OnlineError> {
    let bad = |reason: String| OnlineError::BadCa { path: path.to_path_buf(), reason };
    let pem = fs::read(path).map_err(|e| bad(e.to_string()))?;

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("unusable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("no CERTIFICATE block found".into()));
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn limit_for(role: &RoleName) -> u64 {
    if role.as_str() == RoleName::TIMESTAMP {
        MAX_SMALL_BYTES
    } else {
        MAX_FILE_BYTES
    }
}

/// Lowercases and checks a sha256 hex digest before it goes into a URL.
fn checked_sha256_hex(hex: &str) -> Result<String, OnlineError> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(OnlineError::BadArgument(format!(
            "{hex:?} is not a sha256 digest (64 hex digits)"
        )));
    }
    Ok(hex.to_ascii_lowercase())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn check_sha256(url: &str, bytes: &[u8], expected_hex: &str) -> Result<(), OnlineError> {
    let actual = sha256_hex(bytes);
    if actual != expected_hex {
        return Err(OnlineError::HashMismatch {
            url: url.to_string(),
            expected: expected_hex.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Reads a body of at most `limit` bytes, refusing early when Content-Length is larger and
/// never buffering more than `limit + 1` bytes whatever the server sends.
fn read_limited(
    method: &'static str,
    url: &str,
    response: ureq::Response,
    limit: u64,
) -> Result<Vec<u8>, OnlineError> {
    let too_large = || OnlineError::TooLarge { method, url: url.to_string(), limit };
    let declared = response.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }

    let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
    response
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| io_error(method, url, &e))?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// An error for a status other than 200 and 404, with the server's own explanation.
fn unexpected_status(method: &'static str, url: &str, response: ureq::Response) -> OnlineError {
    let status = response.status();
    let server = match read_limited(method, url, response, MAX_ERROR_BODY) {
        Ok(body) => ServerMessage::from_body(&body),
        Err(err) => ServerMessage::Raw(format!("(could not read the body: {err})")),
    };
    OnlineError::Http { method, url: url.to_string(), status, server }
}

fn request_error(method: &'static str, url: &str, err: ureq::Error) -> OnlineError {
    match err {
        ureq::Error::Status(_, response) => unexpected_status(method, url, response),
        ureq::Error::Transport(t) => transport_error(method, url, &t),
    }
}

/// Describes a failure below HTTP and says what to check, telling TLS problems apart from
/// an unreachable server because the fixes differ.
fn transport_error(method: &'static str, url: &str, t: &ureq::Transport) -> OnlineError {
    let mut detail = t.kind().to_string();
    if let Some(message) = t.message() {
        detail.push_str(&format!(": {message}"));
    }
    let mut tls = false;
    let mut timed_out = false;
    let mut source = t.source();
    while let Some(err) = source {
        detail.push_str(&format!(": {err}"));
        if let Some(io) = err.downcast_ref::<io::Error>() {
            tls |= io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>());
            timed_out |= matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock);
        }
        tls |= err.is::<rustls::Error>();
        source = err.source();
    }

    let hint = if tls {
        "check that --tlscacert is the CA that signed the server's certificate and that the \
         certificate names this host"
    } else if timed_out {
        "the server did not answer in time; check the address and the network path"
    } else {
        match t.kind() {
            ureq::ErrorKind::Dns => "check the host name in the server URL",
            ureq::ErrorKind::ConnectionFailed => {
                "check that notary-server is running and listening at this address and port"
            }
            _ => "check the server URL and that notary-server is reachable",
        }
    };
    let detail = super::error::escape_truncated(detail.as_bytes(), 1000);
    OnlineError::Transport { method, url: url.to_string(), detail, hint }
}

fn io_error(method: &'static str, url: &str, err: &io::Error) -> OnlineError {
    OnlineError::Transport {
        method,
        url: url.to_string(),
        detail: format!("reading the response failed: {err}"),
        hint: "the connection broke or timed out; try again",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let (base, https) = parse_server("https://127.0.0.1:4443/").unwrap();
        assert_eq!((base.as_str(), https), ("https://127.0.0.1:4443", true));
        let (base, https) = parse_server("http://localhost:4450/prefix").unwrap();
        assert_eq!((base.as_str(), https), ("http://localhost:4450/prefix", false));
        for bad in ["127.0.0.1:4450", "ftp://x", "http://", "http:///x", "http://a?b", "http://u@h"]
        {
            assert!(parse_server(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn https_needs_ca() {
        let err = Client::new("https://127.0.0.1:1", None).err().unwrap();
        assert!(err.to_string().contains("https needs --tlscacert"), "{err}");
    }

    #[test]
    fn bad_ca_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "").unwrap();
        let err = Client::new("https://127.0.0.1:1", Some(&empty)).err().unwrap();
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");

        let missing = dir.path().join("missing.pem");
        assert!(Client::new("https://127.0.0.1:1", Some(&missing)).is_err());
    }

    #[test]
    fn hashes() {
        assert!(checked_sha256_hex("abc").is_err());
        assert!(checked_sha256_hex(&"g".repeat(64)).is_err());
        assert_eq!(checked_sha256_hex(&"A".repeat(64)).unwrap(), "a".repeat(64));
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(check_sha256("u", b"", empty).is_ok());
        assert!(check_sha256("u", b"x", empty).is_err());
    }
}
