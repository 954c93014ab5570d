//! A digest as a QR code: in the terminal, or as a PNG or SVG file.
//!
//! The code holds the hex digest and nothing else, so any scanner app shows the same 64
//! digits the other machine prints, with no format of ours to trust or parse.

use std::path::Path;

use qrcode::render::{unicode, Canvas, Pixel};
use qrcode::types::Color;
use qrcode::{EcLevel, QrCode};

use super::FingerprintError;

/// Pixels a module measures in a PNG or SVG: a 64-digit code is then 360 pixels square
/// (37 modules and a quiet zone of 4 on each side), comfortable on screen and paper.
const MODULE_PIXELS: u32 = 8;

/// The file formats a QR code can be written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrFormat {
    Png,
    Svg,
}

impl QrFormat {
    /// The format a file name asks for: `.png` or `.svg`, in any case; `None` otherwise.
    pub fn for_path(path: &Path) -> Option<QrFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "png" => Some(QrFormat::Png),
            "svg" => Some(QrFormat::Svg),
            _ => None,
        }
    }
}

/// An encoded QR code, ready to render.
#[derive(Clone)]
pub struct Qr {
    code: QrCode,
}

impl std::fmt::Debug for Qr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr").field("modules", &self.code.width()).finish_non_exhaustive()
    }
}

impl Qr {
    /// Encodes `text` at error correction level M (15% of the code may be damaged or
    /// misread), which a phone reading a screen or a print manages easily.
    pub fn encode(text: &str) -> Result<Qr, FingerprintError> {
        let code = QrCode::with_error_correction_level(text, EcLevel::M)?;
        Ok(Qr { code })
    }

    /// The code in Unicode half blocks (two modules a character cell, so it keeps its
    /// square shape in a terminal), one line per text row, without a final newline.
    ///
    /// Light modules and the quiet zone are drawn as blocks and dark modules left blank,
    /// which reads correctly in a light-on-dark terminal, the usual console of an offline
    /// machine. On a dark-on-light terminal the code appears inverted; write a file with
    /// `--qr-out` there instead.
    pub fn terminal(&self) -> String {
        self.code
            .render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .build()
    }

    /// The code as an SVG document: black modules on a white square with its quiet zone.
    pub fn svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color>()
            .module_dimensions(MODULE_PIXELS, MODULE_PIXELS)
            .build()
    }

    /// The code as an 8-bit greyscale PNG: black modules on white, with its quiet zone.
    pub fn png(&self) -> Result<Vec<u8>, FingerprintError> {
        let bitmap =
            self.code.render::<Grey>().module_dimensions(MODULE_PIXELS, MODULE_PIXELS).build();

        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, bitmap.width, bitmap.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&bitmap.pixels)?;
        writer.finish()?;
        Ok(out)
    }

    /// The file bytes for `format`.
    pub fn file_bytes(&self, format: QrFormat) -> Result<Vec<u8>, FingerprintError> {
        match format {
            QrFormat::Png => self.png(),
            QrFormat::Svg => Ok(self.svg().into_bytes()),
        }
    }
}

/// A greyscale pixel, for the `qrcode` renderer to draw a [`Bitmap`] with (it does the
/// scaling and the quiet zone; this only stores the result).
#[derive(Clone, Copy, Debug)]
struct Grey(u8);

impl Pixel for Grey {
    type Image = Bitmap;
    type Canvas = Bitmap;

    fn default_color(color: Color) -> Grey {
        Grey(color.select(0, 255))
    }
}

/// Row-major 8-bit greyscale pixels.
struct Bitmap {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    dark: u8,
}

impl Canvas for Bitmap {
    type Pixel = Grey;
    type Image = Bitmap;

    fn new(width: u32, height: u32, dark: Grey, light: Grey) -> Bitmap {
        let size = width as usize * height as usize;
        Bitmap { width, height, pixels: vec![light.0; size], dark: dark.0 }
    }

    fn draw_dark_pixel(&mut self, x: u32, y: u32) {
        let at = y as usize * self.width as usize + x as usize;
        if let Some(pixel) = self.pixels.get_mut(at) {
            *pixel = self.dark;
        }
    }

    fn into_image(self) -> Bitmap {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(QrFormat::for_path(Path::new("d/x.png")), Some(QrFormat::Png));
        assert_eq!(QrFormat::for_path(Path::new("x.SVG")), Some(QrFormat::Svg));
        for refused in ["x.jpg", "x", "png", "x.png.txt", ".png"] {
            assert_eq!(QrFormat::for_path(Path::new(refused)), None, "{refused}");
        }
    }

    #[test]
    fn terminal_code_is_half_blocks_framed_by_the_quiet_zone() {
        let text = Qr::encode(DIGEST).unwrap().terminal();
        let lines: Vec<&str> = text.lines().collect();
        // 37 modules and 4 quiet modules each side: 45 columns, 45 rows in 23 lines
        assert_eq!(lines.len(), 23);
        for line in &lines {
            assert_eq!(line.chars().count(), 45);
            assert!(line.chars().all(|c| " \u{2580}\u{2584}\u{2588}".contains(c)), "{line}");
        }
        assert!(lines[0].chars().all(|c| c == '\u{2588}'), "the quiet zone is light");
    }

    #[test]
    fn png_is_a_greyscale_image_of_the_code() {
        let png = Qr::encode(DIGEST).unwrap().png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (360, 360));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
    }

    #[test]
    fn svg_is_a_document_of_the_code_size() {
        let svg = Qr::encode(DIGEST).unwrap().svg();
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains(r#"viewBox="0 0 360 360""#), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
    }
}
