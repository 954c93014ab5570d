//! What a share becomes on paper: an SVG page to print, a PNG of its QR code, a text form.
//!
//! The SVG page (A4 wide, taller if a share needs more lines) shows the title, "share i of N",
//! the threshold, key ID, role, GUN, backup ID, the share's checksum, its QR code and its text
//! form, each text-form line as its own `<text>` element, which is how restore reads an SVG.
//! The PNG is the QR code alone with its quiet zone, for screens and for restore; there is no
//! font renderer here, so the labels are on the SVG page and in the text file.

use std::fmt::Write as _;

use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use qrcode::{Color, EcLevel, QrCode};

use super::share::Share;
use super::BackupError;

/// Pixels per QR module in the PNG.
const PNG_MODULE_PX: u32 = 8;
/// The quiet zone around a QR code, in modules (the standard's minimum).
const QUIET_MODULES: usize = 4;

/// What the page says about the key besides the share itself.
#[derive(Debug, Clone, Copy)]
pub struct PageInfo<'a> {
    pub role: &'a str,
    pub gun: Option<&'a str>,
    /// When the backup was made, RFC 3339.
    pub created: &'a str,
}

/// One share's three files.
pub struct Rendered {
    pub txt: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Renders a share's page, QR image and text form.
pub fn render(share: &Share, info: &PageInfo<'_>) -> Result<Rendered, BackupError> {
    let qr = qr_code(share)?;
    Ok(Rendered { txt: text_file(share, info), svg: svg_page(share, info, &qr), png: png(&qr)? })
}

/// The share's QR code: error correction level M (15% of the code may be lost), or L when a
/// large key does not fit at M.
fn qr_code(share: &Share) -> Result<QrCode, BackupError> {
    let text = share.to_qr_text();
    QrCode::with_error_correction_level(&text, EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(&text, EcLevel::L))
        .map_err(|_| BackupError::TooLarge { bytes: share.to_bytes().len() })
}

/// The lines describing the share, shared by the text file and the page.
fn fields(share: &Share, info: &PageInfo<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("Key ID", share.key_id_hex()),
        ("Role", info.role.to_string()),
        ("GUN", info.gun.unwrap_or("(none)").to_string()),
        ("Backup ID", share.backup_id_hex()),
        ("Share checksum", share.checksum()),
        ("Made", info.created.to_string()),
    ]
}

fn title(share: &Share) -> String {
    format!("airlock paper backup: share {} of {}", share.index, share.total)
}

fn rule(share: &Share) -> String {
    format!(
        "Any {} of the {} shares, with the backup passphrase, restore this key. Fewer shares \
         reveal nothing.",
        share.threshold, share.total
    )
}

fn restore_hint(share: &Share) -> String {
    format!(
        "Restore: airlock restore --out-home DIR SHARE... ({} different shares of this backup)",
        share.threshold
    )
}

/// `share-i-of-N.txt`: the description, then the text form.
fn text_file(share: &Share, info: &PageInfo<'_>) -> String {
    let mut out = format!("{}\n{}\n\n", title(share), rule(share));
    for (label, value) in fields(share, info) {
        let _ = writeln!(out, "{:<16}{value}", format!("{label}:"));
    }
    let _ = writeln!(
        out,
        "\nEach line of the share ends with a two-character check code, so restore names a \
         mistyped line.\n{}\n",
        restore_hint(share)
    );
    for line in share.text_lines() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The printable page, in millimetres.
fn svg_page(share: &Share, info: &PageInfo<'_>, qr: &QrCode) -> String {
    const WIDTH: f64 = 210.0;
    const MARGIN: f64 = 15.0;
    const QR_TOP: f64 = 70.0;
    const QR_SIZE: f64 = 80.0;
    const TEXT_TOP: f64 = QR_TOP + QR_SIZE + 8.0;
    const LINE_FONT: f64 = 3.3;
    const LINE_STEP: f64 = 4.0;

    let lines = share.text_lines();
    let end = TEXT_TOP + 6.0 + LINE_STEP * lines.len() as f64 + 4.0;
    // A4 (297 mm) unless a large key's share needs more lines.
    let height = (end + MARGIN).max(297.0);

    let mut svg = String::new();
    svg.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}mm" height="{height}mm" {}>"#,
        format_args!(r#"viewBox="0 0 {WIDTH} {height}""#)
    );
    svg.push_str(
        r##"<rect width="100%" height="100%" fill="#fff"/>
<g font-family="DejaVu Sans, Arial, sans-serif" fill="#000">
"##,
    );
    text(&mut svg, MARGIN, 24.0, 7.0, "font-weight=\"bold\"", &title(share));
    text(&mut svg, MARGIN, 32.0, 3.6, "", &rule(share));

    let mut y = 42.0;
    for (label, value) in fields(share, info) {
        text(&mut svg, MARGIN, y, 3.6, "font-weight=\"bold\"", label);
        // Long values (a long GUN) shrink to fit the line.
        let size = (150.0 / (value.len().max(1) as f64 * 0.6)).min(3.6);
        text(&mut svg, MARGIN + 38.0, y, size, MONO, &value);
        y += 5.0;
    }

    qr_path(&mut svg, qr, (WIDTH - QR_SIZE) / 2.0, QR_TOP, QR_SIZE);

    let hint = "If the QR code cannot be read, type these lines into a file and restore from it:";
    text(&mut svg, MARGIN, TEXT_TOP, 3.6, "", hint);
    let mut y = TEXT_TOP + 6.0;
    for line in &lines {
        // Spaces kept, so the check code stands apart from the groups as in the text file.
        text(&mut svg, MARGIN + 10.0, y, LINE_FONT, MONO_PRE, line);
        y += LINE_STEP;
    }
    text(&mut svg, MARGIN, y + 4.0, 3.2, "", &restore_hint(share));
    svg.push_str("</g>\n</svg>\n");
    svg
}

const MONO: &str = "font-family=\"DejaVu Sans Mono, Courier New, monospace\"";
const MONO_PRE: &str =
    "font-family=\"DejaVu Sans Mono, Courier New, monospace\" xml:space=\"preserve\"";

fn text(svg: &mut String, x: f64, y: f64, size: f64, attrs: &str, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size:.2}" {attrs}>{}</text>"#,
        escape(content)
    );
}

/// The QR code as one path, a rectangle per run of dark modules in a row, inside a white
/// square that includes the quiet zone.
fn qr_path(svg: &mut String, qr: &QrCode, x: f64, y: f64, size: f64) {
    let width = qr.width();
    let modules = width + 2 * QUIET_MODULES;
    let scale = size / modules as f64;
    let colors = qr.to_colors();

    let _ = write!(
        svg,
        r#"<g transform="translate({x:.3} {y:.3}) scale({scale:.5})" shape-rendering="crispEdges">"#
    );
    let _ = write!(svg, r##"<rect width="{modules}" height="{modules}" fill="#fff"/>"##);
    svg.push_str(r##"<path fill="#000" d=""##);
    for (row, cells) in colors.chunks(width).enumerate() {
        let mut col = 0;
        while col < width {
            if cells[col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < width && cells[col] == Color::Dark {
                col += 1;
            }
            let (px, py) = (start + QUIET_MODULES, row + QUIET_MODULES);
            let _ = write!(svg, "M{px} {py}h{}v1h-{}z", col - start, col - start);
        }
    }
    svg.push_str("\"/></g>\n");
}

/// The QR code as a greyscale PNG, quiet zone included.
fn png(qr: &QrCode) -> Result<Vec<u8>, BackupError> {
    let width = qr.width();
    let colors = qr.to_colors();
    let modules = (width + 2 * QUIET_MODULES) as u32;
    let side = modules * PNG_MODULE_PX;

    let quiet = QUIET_MODULES as u32;
    let image = GrayImage::from_fn(side, side, |px, py| {
        let (mx, my) = (px / PNG_MODULE_PX, py / PNG_MODULE_PX);
        let inside = (quiet..quiet + width as u32).contains(&mx)
            && (quiet..quiet + width as u32).contains(&my);
        let dark =
            inside && colors[(my - quiet) as usize * width + (mx - quiet) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    });

    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(image.as_raw(), side, side, ExtendedColorType::L8)
        .map_err(|e| BackupError::Render(e.to_string()))?;
    Ok(out)
}

/// Escapes text for XML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
