//! The multipart body of Notary's atomic update, byte for byte as the Go client writes it
//! (`storage/httpstore.go`, NewMultiPartMetaRequest).

use rand_core::{OsRng, RngCore};

use crate::tuf::RoleName;

/// A multipart/form-data body and the Content-Type header that goes with it.
pub(crate) struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Builds the update body: one part per role, `name="files"`, `filename="<role>"`,
/// `Content-Type: application/octet-stream`, the file bytes unchanged.
pub(crate) fn encode(files: &[(RoleName, Vec<u8>)]) -> Multipart {
    let boundary = boundary_for(files);

    let mut body = Vec::with_capacity(files.iter().map(|(_, f)| f.len() + 200).sum());
    for (i, (role, bytes)) in files.iter().enumerate() {
        // Go writes CRLF before every delimiter except the first.
        if i > 0 {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = format!(
            "Content-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\n",
            role.as_str()
        );
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(bytes);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

    Multipart { content_type: format!("multipart/form-data; boundary={boundary}"), body }
}

/// A random 60-hex-digit boundary, like Go's `multipart.Writer`. Drawn again in the
/// (astronomically unlikely) case that a file contains it, so a part can never end early.
fn boundary_for(files: &[(RoleName, Vec<u8>)]) -> String {
    loop {
        let mut raw = [0u8; 30];
        OsRng.fill_bytes(&mut raw);
        let boundary = hex::encode(raw);
        let needle = boundary.as_bytes();
        let clash = files.iter().any(|(_, f)| f.windows(needle.len()).any(|w| w == needle));
        if !clash {
            return boundary;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layout() {
        let files =
            vec![(RoleName::root(), b"{\"r\":1}".to_vec()), (RoleName::releases(), b"{}".to_vec())];
        let m = encode(&files);
        let b = m.content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        assert_eq!(b.len(), 60);
        assert!(b.bytes().all(|c| c.is_ascii_hexdigit()));

        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"root\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{{\"r\":1}}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"files\"; \
             filename=\"targets/releases\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{{}}\r\n--{b}--\r\n"
        );
        assert_eq!(String::from_utf8(m.body).unwrap(), expected);
    }

    #[test]
    fn boundaries_differ() {
        let files = vec![(RoleName::targets(), b"x".to_vec())];
        assert_ne!(encode(&files).content_type, encode(&files).content_type);
    }
}
