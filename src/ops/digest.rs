//! `bundle inspect`'s human-checkable digest: the bundle digest as a [`Fingerprint`], and its
//! QR code written to a file (`--qr-out`).

use std::io;
use std::path::{Path, PathBuf};

use super::OpsError;
use crate::fingerprint::{Fingerprint, FingerprintError, QrFormat};
use crate::fsutil;

/// Mode of a QR code file: public data, meant to be shown and copied.
const QR_FILE_MODE: u32 = 0o644;

/// The bundle digest `bundle::inspect` computed, in the forms people compare.
pub fn fingerprint(bundle: &Path, digest: &str) -> Result<Fingerprint, OpsError> {
    Fingerprint::parse(digest).map_err(|e| io_error(bundle, e))
}

/// The QR code of `fingerprint` for a terminal ([`Qr::terminal`](crate::fingerprint::Qr)).
pub fn terminal_qr(fingerprint: &Fingerprint) -> Result<String, OpsError> {
    let qr = fingerprint.qr().map_err(|e| io_error(Path::new("<stdout>"), e))?;
    Ok(qr.terminal())
}

/// A QR code file to write, checked before anything else is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrOut {
    pub path: PathBuf,
    pub format: QrFormat,
}

impl QrOut {
    /// Checks `--qr-out FILE`: the extension picks the format (`.png` or `.svg`), and an
    /// existing file (or link) is refused, so nothing is overwritten.
    pub fn check(path: &Path) -> Result<QrOut, OpsError> {
        let format = QrFormat::for_path(path).ok_or_else(|| {
            OpsError::Usage(format!(
                "--qr-out {}: the QR code is written as PNG or SVG; name the file *.png or *.svg",
                path.display()
            ))
        })?;
        if path.symlink_metadata().is_ok() {
            return Err(OpsError::Usage(format!(
                "{} already exists; choose another --qr-out file",
                path.display()
            )));
        }
        Ok(QrOut { path: path.to_path_buf(), format })
    }

    /// Writes the QR code of `fingerprint`: atomically, and never over a file that appeared
    /// since [`QrOut::check`].
    pub fn write(&self, fingerprint: &Fingerprint) -> Result<(), OpsError> {
        let bytes = fingerprint
            .qr()
            .and_then(|qr| qr.file_bytes(self.format))
            .map_err(|e| io_error(&self.path, e))?;
        fsutil::write_new_atomic(&self.path, &bytes, QR_FILE_MODE)
            .map_err(|source| OpsError::Io { path: self.path.clone(), source })
    }
}

/// A digest that cannot be shown, as an error about `path`. Bundle digests always can be, so
/// this reports a bug rather than bad input.
fn io_error(path: &Path, e: FingerprintError) -> OpsError {
    OpsError::Io { path: path.to_path_buf(), source: io::Error::new(io::ErrorKind::InvalidData, e) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn refuses_other_extensions_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = QrOut::check(&dir.path().join("qr.jpg")).unwrap_err();
        assert!(matches!(err, OpsError::Usage(_)), "{err}");

        let taken = dir.path().join("qr.png");
        std::fs::write(&taken, b"mine").unwrap();
        let err = QrOut::check(&taken).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&taken).unwrap(), b"mine");
    }

    #[test]
    fn a_file_that_appears_after_the_check_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qr.svg");
        let out = QrOut::check(&path).unwrap();
        std::fs::write(&path, b"mine").unwrap();

        let err = out.write(&Fingerprint::parse(DIGEST).unwrap()).unwrap_err();
        assert!(matches!(&err, OpsError::Io { path: p, .. } if *p == path), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"mine");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file left");
    }
}
