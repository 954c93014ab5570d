//! Errors of the online side.
//!
//! An operator reading one of these is usually on the networked half of a ceremony, far from
//! the person who runs the server, so every message names the request, the HTTP status and the
//! server's own words, and transport failures say what to check.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::tuf::NameError;

/// How many characters of a body that is not Notary's JSON error format are shown.
const RAW_BODY_SHOWN: usize = 500;

/// Everything that can go wrong while talking to a Notary server.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error("bad server URL {url:?}: {reason}")]
    BadServerUrl { url: String, reason: &'static str },

    #[error("{url}: https needs --tlscacert (the PEM file of the CA that signed the server)")]
    NeedsCa { url: String },

    #[error("CA file {}: {reason}", path.display())]
    BadCa { path: PathBuf, reason: String },

    #[error("{method} {url}: HTTP {status}: {server}")]
    Http { method: &'static str, url: String, status: u16, server: ServerMessage },

    #[error("{method} {url}: {detail}; {hint}")]
    Transport { method: &'static str, url: String, detail: String, hint: &'static str },

    #[error("{method} {url}: the response is larger than the limit of {limit} bytes")]
    TooLarge { method: &'static str, url: String, limit: u64 },

    #[error("GET {url}: sha256 of the response is {actual}, expected {expected}")]
    HashMismatch { url: String, expected: String, actual: String },

    #[error("{url}: {reason}")]
    BadMetadata { url: String, reason: String },

    #[error("{url}: snapshot lists a role whose name is not valid: {source}")]
    BadRoleName { url: String, source: NameError },

    #[error("{0}")]
    BadArgument(String),
}

impl OnlineError {
    /// True when the server refused an update because it already holds a newer (or the same)
    /// version of a role: someone else published in between, so pull again and re-sign.
    pub fn is_version_conflict(&self) -> bool {
        match self {
            OnlineError::Http { server, .. } => server.has_code("VERSION"),
            _ => false,
        }
    }

    /// The HTTP status the server answered with, if the failure was an HTTP error.
    pub fn status(&self) -> Option<u16> {
        match self {
            OnlineError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One entry of Notary's `{"errors":[…]}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerErrorEntry {
    /// Notary's error code, such as `INVALID_UPDATE` or `VERSION`.
    pub code: String,
    pub message: String,
    /// The `detail` flattened to text: `ErrBadTargets: <Msg>`, a plain string, or empty.
    pub detail: String,
}

/// What the server said in the body of an error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// The body was Notary's JSON error format.
    Notary(Vec<ServerErrorEntry>),
    /// Anything else, truncated and with control characters escaped so it is safe to print.
    Raw(String),
    Empty,
}

impl ServerMessage {
    /// Reads an error body: Notary's JSON format if it parses as such, raw text otherwise.
    pub fn from_body(body: &[u8]) -> ServerMessage {
        if body.iter().all(u8::is_ascii_whitespace) {
            return ServerMessage::Empty;
        }
        match parse_notary_errors(body) {
            Some(entries) => ServerMessage::Notary(entries),
            None => ServerMessage::Raw(escape_truncated(body, RAW_BODY_SHOWN)),
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        match self {
            ServerMessage::Notary(entries) => entries.iter().any(|e| e.code == code),
            _ => false,
        }
    }
}

impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerMessage::Empty => f.write_str("(empty body)"),
            ServerMessage::Raw(text) => write!(f, "server said: {text}"),
            ServerMessage::Notary(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{}: {}", e.code, e.message)?;
                    if !e.detail.is_empty() {
                        write!(f, " ({})", e.detail)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Parses `{"errors":[{"code":…,"message":…,"detail":…}]}`. None if the body has another
/// shape, so the caller falls back to showing it raw rather than losing it.
fn parse_notary_errors(body: &[u8]) -> Option<Vec<ServerErrorEntry>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let errors = value.get("errors")?.as_array()?;
    if errors.is_empty() {
        return None;
    }

    let mut entries = Vec::with_capacity(errors.len());
    for e in errors {
        let text = |key: &str| e.get(key).and_then(Value::as_str).map(safe_text);
        entries.push(ServerErrorEntry {
            code: text("code")?,
            message: text("message").unwrap_or_default(),
            detail: e.get("detail").map(detail_text).unwrap_or_default(),
        });
    }
    Some(entries)
}

/// Flattens Notary's `detail`, which is a string (`INVALID_ROLE`), `{}` (`VERSION`), or a
/// validation error `{"Name":"ErrBadTargets","Error":{"Msg":…}}` that may carry more fields
/// such as `Missing`.
fn detail_text(detail: &Value) -> String {
    match detail {
        Value::Null => String::new(),
        Value::String(s) => safe_text(s),
        Value::Object(map) if map.is_empty() => String::new(),
        Value::Object(map) => {
            let name = map.get("Name").and_then(Value::as_str);
            let error = map.get("Error").and_then(Value::as_object);
            match (name, error) {
                (Some(name), Some(error)) => validation_text(name, error),
                _ => escape_truncated(detail.to_string().as_bytes(), RAW_BODY_SHOWN),
            }
        }
        other => escape_truncated(other.to_string().as_bytes(), RAW_BODY_SHOWN),
    }
}

/// `Name: Msg`, followed by any other fields of the inner error, e.g. `(Missing: snapshot)`.
fn validation_text(name: &str, error: &serde_json::Map<String, Value>) -> String {
    let mut out = safe_text(name);
    if let Some(msg) = error.get("Msg").and_then(Value::as_str) {
        out.push_str(": ");
        out.push_str(&safe_text(msg));
    }

    let extras: Vec<String> = error
        .iter()
        .filter(|(k, _)| k.as_str() != "Msg")
        .map(|(k, v)| match v {
            Value::String(s) => format!("{}: {}", safe_text(k), safe_text(s)),
            other => format!("{}: {}", safe_text(k), safe_text(&other.to_string())),
        })
        .collect();
    if !extras.is_empty() {
        out.push_str(&format!(" ({})", extras.join(", ")));
    }
    out
}

/// Text from the server, bounded and with control characters escaped, so a hostile server
/// cannot flood or rewrite the operator's terminal.
fn safe_text(s: &str) -> String {
    escape_truncated(s.as_bytes(), RAW_BODY_SHOWN)
}

/// Lossy UTF-8, control characters escaped (`\n`, `\u{1b}`), cut after `max` characters.
pub(crate) fn escape_truncated(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push_str("… (truncated)");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(body: &str) -> String {
        ServerMessage::from_body(body.as_bytes()).to_string()
    }

    #[test]
    fn notary_bodies() {
        let bad_targets = concat!(
            r#"{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is "#,
            r#"invalid.","detail":{"Name":"ErrBadTargets","Error":{"Msg":"valid signatures "#,
            r#"did not meet threshold for targets"}}}]}"#
        );
        assert_eq!(
            shown(bad_targets),
            "INVALID_UPDATE: Update sent by the client is invalid. \
             (ErrBadTargets: valid signatures did not meet threshold for targets)"
        );

        let version = concat!(
            r#"{"errors":[{"code":"VERSION","message":"A newer version of metadata is "#,
            r#"already available.","detail":{}}]}"#
        );
        let msg = ServerMessage::from_body(version.as_bytes());
        assert!(msg.has_code("VERSION"));
        assert_eq!(msg.to_string(), "VERSION: A newer version of metadata is already available.");

        let role = concat!(
            r#"{"errors":[{"code":"INVALID_ROLE","message":"The role you are attempting to "#,
            r#"operate on is invalid.","detail":"foo"}]}"#
        );
        assert!(shown(role).ends_with("invalid. (foo)"));

        let hierarchy = concat!(
            r#"{"errors":[{"code":"INVALID_UPDATE","message":"m","detail":{"#,
            r#""Name":"ErrBadHierarchy","Error":{"Missing":"snapshot","Msg":"no snapshot"}}}]}"#
        );
        assert_eq!(
            shown(hierarchy),
            "INVALID_UPDATE: m (ErrBadHierarchy: no snapshot (Missing: snapshot))"
        );

        let no_detail =
            r#"{"errors":[{"code":"NO_FILENAME","message":"No file/role name provided."}]}"#;
        assert_eq!(shown(no_detail), "NO_FILENAME: No file/role name provided.");
    }

    #[test]
    fn other_bodies() {
        assert_eq!(shown(""), "(empty body)");
        assert_eq!(shown("oops\n\u{1b}[31m"), "server said: oops\\n\\u{1b}[31m");
        assert_eq!(shown(r#"{"errors":[]}"#), r#"server said: {"errors":[]}"#);

        let long = "x".repeat(2000);
        let text = shown(&long);
        assert!(text.len() < 600 && text.ends_with("(truncated)"));
    }

    #[test]
    fn version_conflict() {
        let err = OnlineError::Http {
            method: "POST",
            url: "http://127.0.0.1:1/v2/a/_trust/tuf/".into(),
            status: 400,
            server: ServerMessage::Notary(vec![ServerErrorEntry {
                code: "VERSION".into(),
                message: "newer".into(),
                detail: String::new(),
            }]),
        };
        assert!(err.is_version_conflict());
        assert_eq!(err.status(), Some(400));
        assert!(err.to_string().starts_with("POST http://127.0.0.1:1/v2/a/_trust/tuf/: HTTP 400"));
    }
}
