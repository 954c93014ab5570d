//! `airlock::bundle::read` on hostile files: it must return `Ok` or `Err`, never panic,
//! hang or allocate without bound.
//!
//! An input that starts with the zstd magic number is written to the bundle file as it is,
//! which fuzzes the zstd frame layer. Any other input is taken as the decompressed tar stream
//! and compressed first, so the tar, manifest and digest checks behind the decompressor get
//! fuzzed too (a raw mutation of a compressed file almost never reaches them).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use airlock::bundle::{self, Limits};
use libfuzzer_sys::fuzz_target;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// One scratch file per fuzzing process, rewritten for every input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("airlock-fuzz-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir.join("input.tar.zst")
    })
}

fuzz_target!(|data: &[u8]| {
    let file = if data.starts_with(&ZSTD_MAGIC) {
        data.to_vec()
    } else {
        zstd::bulk::compress(data, 1).expect("zstd compresses any input")
    };
    let path = scratch();
    std::fs::write(path, &file).expect("write the scratch bundle");

    let limits = Limits::default();
    if let Ok(b) = bundle::read(path, &limits) {
        // A bundle that reads must also inspect, to the same digest and entries.
        let (manifest, digest, entries) =
            bundle::inspect(path, &limits).expect("a bundle that reads also inspects");
        assert_eq!(digest, b.digest);
        assert_eq!(entries, manifest.entries);
        assert_eq!(manifest.kind, b.contents.kind);
    }
});
