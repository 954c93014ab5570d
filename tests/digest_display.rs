//! `bundle inspect` shows the bundle digest in forms people compare across the gap: groups of
//! hex digits, PGP words, and a QR code on stdout or in a PNG or SVG file. The words are
//! read back to bytes and the QR codes are decoded (with `rqrr`, an independent decoder)
//! back to the digest; refused `--qr-out` files leave the home, the bundle and the directory
//! as they were.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use airlock::fingerprint::pgp_words::{EVEN_WORDS, ODD_WORDS};
use serde_json::Value;
use support::offline::new_gun_pull_bundle;
use support::{airlock, import, snapshot_tree};

/// A home that imported a pull bundle written with `bundle::write`, and that bundle.
struct Fixture {
    dir: tempfile::TempDir,
    home: PathBuf,
    bundle: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let bundle = new_gun_pull_bundle(dir.path());
    let home = dir.path().join("home");
    let out = import(&home, &bundle, &[]);
    assert!(out.status.success(), "import: {}", stderr(&out));
    Fixture { dir, home, bundle }
}

impl Fixture {
    fn inspect(&self, extra: &[&str]) -> Output {
        let mut args = vec!["bundle", "inspect", self.bundle.to_str().unwrap()];
        args.extend_from_slice(extra);
        airlock(&self.home, &args)
    }

    /// The digest as `bundle inspect --json` reports it, with the groups and words.
    fn json(&self) -> Value {
        let out = self.inspect(&["--json"]);
        assert!(out.status.success(), "inspect --json: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// Reads PGP words back to bytes: an even-position word must come from the two-syllable
/// list, an odd one from the three-syllable list.
fn bytes_of_words(words: &[String]) -> Vec<u8> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let list = if i.is_multiple_of(2) { &EVEN_WORDS } else { &ODD_WORDS };
            let at = list.iter().position(|x| x == w);
            let at = at.unwrap_or_else(|| panic!("word {i} ({w}) is not in its list"));
            u8::try_from(at).unwrap()
        })
        .collect()
}

/// Decodes the one QR code in a greyscale picture.
fn decode(width: usize, height: usize, pixel: impl FnMut(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    let (_, content) = grids[0].decode().unwrap();
    content
}

fn decode_png(path: &Path) -> String {
    let image = image::open(path).unwrap().to_luma8();
    let (w, h) = (image.width() as usize, image.height() as usize);
    decode(w, h, |x, y| image.get_pixel(x as u32, y as u32).0[0])
}

/// Rasterises the SVG airlock writes (a white square and one path of `M x y h w v h H x V y`
/// rectangles) and decodes it.
fn decode_svg(path: &Path) -> String {
    let svg = fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "not SVG: {svg}");
    let size: usize = between(&svg, r#"width=""#, r#"""#).parse().unwrap();
    let mut pixels = vec![255u8; size * size];
    for rect in between(&svg, r#" d=""#, r#"""#).split('M').skip(1) {
        let n: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let [left, top, w, h, ..] = n[..] else { panic!("rectangle {rect:?}") };
        for y in top..top + h {
            pixels[y * size + left..y * size + left + w].fill(0);
        }
    }
    decode(size, size, |x, y| pixels[y * size + x])
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap() + start.len();
    let len = text[from..].find(end).unwrap();
    &text[from..from + len]
}

/// Reads the half-block QR code in `bundle inspect --qr`'s output (a block is light, a blank
/// dark: the code is drawn for a light-on-dark terminal) and decodes it.
fn decode_terminal(text: &str) -> String {
    let blocks = |l: &&str| !l.is_empty() && l.chars().all(|c| " ▀▄█".contains(c));
    let lines: Vec<Vec<char>> = text.lines().filter(blocks).map(|l| l.chars().collect()).collect();
    assert!(lines.len() > 10, "no QR code in:\n{text}");
    let columns = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == columns), "ragged QR code");

    // 4 pixels a module, a white margin around, light = 255
    const SCALE: usize = 4;
    let (width, height) = ((columns + 8) * SCALE, (lines.len() * 2 + 8) * SCALE);
    decode(width, height, |x, y| {
        let (col, row) = ((x / SCALE).wrapping_sub(4), (y / SCALE).wrapping_sub(4));
        let Some(cell) = lines.get(row / 2).and_then(|l| l.get(col)) else { return 255 };
        let light = matches!((cell, row % 2), ('█', _) | ('▀', 0) | ('▄', 1));
        if light {
            255
        } else {
            0
        }
    })
}

#[test]
fn groups_and_words_spell_the_digest() {
    let f = fixture();
    let json = f.json();
    let digest = json["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);

    let groups = strings(&json["digest_groups"]);
    assert_eq!(groups.len(), 16);
    assert!(groups.iter().all(|g| g.len() == 4), "{groups:?}");
    assert_eq!(groups.concat(), digest);

    let words = strings(&json["digest_words"]);
    assert_eq!(words.len(), 32);
    assert_eq!(bytes_of_words(&words), hex::decode(digest).unwrap());

    // The text output shows the same, in lines short enough for a console.
    let out = f.inspect(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let after = |label: &str| -> Vec<String> {
        let start = text.find(label).unwrap_or_else(|| panic!("no {label} in:\n{text}"));
        let mut rows = Vec::new();
        for (i, line) in text[start..].lines().enumerate() {
            if i > 0 && !line.starts_with("          ") {
                break;
            }
            rows.extend(line[10..].split(' ').map(str::to_string));
        }
        rows
    };
    assert!(text.contains(&format!("digest:   {digest}\n")), "{text}");
    assert_eq!(after("groups:   "), groups);
    assert_eq!(after("words:    "), words);
    assert!(text.lines().all(|l| l.starts_with("  ") || l.chars().count() <= 80), "{text}");
}

#[test]
fn qr_files_decode_to_the_digest() {
    let f = fixture();
    let digest = f.json()["digest"].as_str().unwrap().to_string();

    for name in ["digest.png", "digest.svg"] {
        let path = f.out(name);
        let out = f.inspect(&["--qr-out", path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stdout(&out).contains(&digest), "the usual output still goes to stdout");
        assert!(stderr(&out).contains(name), "{}", stderr(&out));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{name}");
    }
    assert_eq!(&fs::read(f.out("digest.png")).unwrap()[..4], b"\x89PNG");
    assert_eq!(decode_png(&f.out("digest.png")), digest);
    assert_eq!(decode_svg(&f.out("digest.svg")), digest);

    // --json and --qr-out together: the file, and the JSON on stdout.
    let path = f.out("json.png");
    let out = f.inspect(&["--json", "--qr-out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["digest"], digest.as_str());
    assert_eq!(decode_png(&path), digest);
}

#[test]
fn terminal_qr_decodes_to_the_digest() {
    let f = fixture();
    let digest = f.json()["digest"].as_str().unwrap().to_string();

    let out = f.inspect(&["--qr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("digest:   {digest}\n")), "{text}");
    assert_eq!(decode_terminal(&text), digest);
    assert!(!stderr(&out).contains('█'), "the QR code is data: stdout only");
}

#[test]
fn refused_qr_requests_change_nothing() {
    let f = fixture();
    let home_before = snapshot_tree(&f.home);
    let bundle_before = fs::read(&f.bundle).unwrap();
    let dir_before = listing(f.dir.path());

    // An extension that is neither .png nor .svg: a usage error, no file.
    for name in ["digest.jpg", "digest", "digest.png.txt"] {
        let path = f.out(name);
        let out = f.inspect(&["--qr-out", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(".png or *.svg"), "{name}: {}", stderr(&out));
        assert!(!path.exists(), "{name} was written");
    }

    // An existing file is not overwritten, whatever its format.
    let taken = f.out("taken.png");
    fs::write(&taken, b"someone else's picture").unwrap();
    let dir_with_taken = listing(f.dir.path());
    let out = f.inspect(&["--qr-out", taken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(fs::read(&taken).unwrap(), b"someone else's picture");
    assert_eq!(listing(f.dir.path()), dir_with_taken, "a temporary file was left");
    fs::remove_file(&taken).unwrap();

    // A missing directory: an I/O error naming the file.
    let nowhere = f.out("missing/digest.svg");
    let out = f.inspect(&["--qr-out", nowhere.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing/digest.svg"), "{}", stderr(&out));

    // --qr would mix the code into the JSON on stdout.
    let out = f.inspect(&["--json", "--qr"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--qr-out"), "{}", stderr(&out));

    // A bundle that fails its checks: refused (exit 1), and no QR code of it is written.
    let damaged = f.out("damaged.tar.zst");
    let mut bytes = bundle_before.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&damaged, &bytes).unwrap();
    let path = f.out("damaged.png");
    let args = ["bundle", "inspect", damaged.to_str().unwrap(), "--qr-out", path.to_str().unwrap()];
    let out = airlock(&f.home, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!path.exists(), "a QR code of a refused bundle was written");
    fs::remove_file(&damaged).unwrap();

    assert_eq!(snapshot_tree(&f.home), home_before, "the home changed");
    assert_eq!(fs::read(&f.bundle).unwrap(), bundle_before, "the bundle changed");
    assert_eq!(listing(f.dir.path()), dir_before, "files were left behind");
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
