//! Reading a share from a file: a PNG image (its QR code), an SVG page (the text form printed
//! on it) or a text file (the text form, typed or as written). The kind is found from the
//! content, not the file name.

use std::fs::File;
use std::io::{Cursor, Read};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits};

use super::error::ShareDefect;
use super::share::Share;
use super::BackupError;

/// The largest share file read: a scan of a page at print resolution is a few MiB.
const MAX_FILE: u64 = 64 * 1024 * 1024;
/// The largest image side decoded, in pixels (a page at 1200 dpi is about 10,000).
const MAX_SIDE: u32 = 12_000;
/// The most memory the PNG decoder may take.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Reads the share in `path`.
pub fn read_share(path: &Path) -> Result<Share, BackupError> {
    let bytes = read_limited(path)?;
    let defect = |d| BackupError::share(path, d);

    if bytes.starts_with(PNG_SIGNATURE) {
        return from_png(&bytes).map_err(defect);
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        let why = "the file is neither a PNG image, an SVG page nor a text share";
        return Err(defect(ShareDefect::NotAShare(why)));
    };
    if text.contains("<svg") {
        return Share::from_text(&svg_text(text)).map_err(defect);
    }
    Share::from_text(text).map_err(defect)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, BackupError> {
    let file = File::open(path).map_err(|e| BackupError::io("open", path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BackupError::io("read", path, e))?;
    if bytes.len() as u64 > MAX_FILE {
        let why = "the file is larger than any share or page scan (64 MiB)";
        return Err(BackupError::share(path, ShareDefect::NotAShare(why)));
    }
    Ok(bytes)
}

/// Decodes the PNG and every QR code in it; exactly one must be a share.
fn from_png(bytes: &[u8]) -> Result<Share, ShareDefect> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);

    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| ShareDefect::Image(format!("the PNG image could not be read: {e}")))?
        .into_luma8();

    // rqrr has panicked on odd images in the past; an image is input, so a panic there is
    // turned into this share's error rather than ending the command.
    let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        let count = grids.len();
        let texts: Vec<String> =
            grids.iter().filter_map(|g| g.decode().ok()).map(|(_, text)| text).collect();
        (count, texts)
    }));
    let Ok((grids, texts)) = decoded else {
        return Err(ShareDefect::Image("the QR code reader failed on this image".into()));
    };

    let mut shares: Vec<Share> = Vec::new();
    let mut last_defect = None;
    for text in &texts {
        match Share::from_qr_text(text) {
            Ok(share) if !shares.contains(&share) => shares.push(share),
            Ok(_) => {}
            Err(defect) => last_defect = Some(defect),
        }
    }

    match (shares.len(), grids, texts.len()) {
        (1, ..) => Ok(shares.remove(0)),
        (0, 0, _) => Err(ShareDefect::Image("no QR code was found in the image".into())),
        (0, _, 0) => Err(ShareDefect::Image(
            "a QR code was found but could not be read: scan the page again, flat and sharp, \
             or type the text form"
                .into(),
        )),
        (0, ..) => Err(last_defect.unwrap_or(ShareDefect::NotAShare("no QR code holds a share"))),
        _ => Err(ShareDefect::Image("the image holds more than one share; scan one page".into())),
    }
}

/// The content of an SVG page's `<text>` elements, one a line, in document order.
fn svg_text(svg: &str) -> String {
    let mut out = String::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else { break };
        rest = &rest[open_end + 1..];
        let Some(close) = rest.find("</text>") else { break };
        out.push_str(&unescape(&strip_tags(&rest[..close])));
        out.push('\n');
        rest = &rest[close..];
    }
    out
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_text_reads_elements_in_order() {
        let svg = concat!(
            r#"<svg><text x="1">one &amp; two</text>"#,
            r#"<g><text y="2"><tspan>three</tspan></text></g></svg>"#
        );
        assert_eq!(svg_text(svg), "one & two\nthree\n");
        assert_eq!(svg_text("<text>unclosed"), "");
    }

    #[test]
    fn damaged_pngs_are_errors_not_panics() {
        let mut png = Vec::from(PNG_SIGNATURE);
        png.extend_from_slice(b"\0\0\0\rIHDR garbage");
        assert!(matches!(from_png(&png), Err(ShareDefect::Image(_))));
    }
}
