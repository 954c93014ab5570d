//! Size limits, and the meter that enforces them while a bundle is decompressed.
//!
//! A bundle is a few kilobytes of compressed input that could expand without bound, so the
//! reader never trusts declared sizes alone: every byte that comes out of the decompressor is
//! counted against the total and against the bytes that went in, and the stream fails the
//! moment either limit is crossed.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::BundleError;

const MIB: u64 = 1024 * 1024;

/// Output allowed before the compression ratio is checked: small bundles are mostly tar
/// padding, which compresses far better than any real metadata.
const RATIO_GRACE: u64 = MIB;

/// Limits on what a bundle may hold. The defaults are far above any real Notary repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest metadata file (targets, delegations, root, snapshot, root history).
    pub max_entry: u64,
    /// Largest `timestamp.json` and server key file.
    pub max_timestamp_entry: u64,
    /// Largest decompressed stream, tar headers and padding included.
    pub max_total: u64,
    /// Most entries the manifest may list.
    pub max_entries: usize,
    /// Largest ratio of decompressed bytes to compressed bytes read so far, after the first MiB.
    pub max_ratio: u64,
    /// Largest `manifest.json`.
    pub max_manifest: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry: 100 * MIB,
            max_timestamp_entry: MIB,
            max_total: 1024 * MIB,
            max_entries: 100_000,
            max_ratio: 200,
            max_manifest: 16 * MIB,
        }
    }
}

/// Which stream limit was crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trip {
    Total,
    Ratio,
}

/// Shared counters for the compressed and decompressed sides of one stream.
///
/// The two counting readers sit at different depths of the reader stack (under and over the
/// zstd decoder), so they share this through an `Rc`. When a limit trips, the reader returns
/// an I/O error, which the tar crate wraps; the trip recorded here is what turns it back into
/// a precise [`BundleError`].
#[derive(Debug)]
pub(crate) struct Meter {
    compressed: Cell<u64>,
    decompressed: Cell<u64>,
    tripped: Cell<Option<Trip>>,
    max_total: u64,
    max_ratio: u64,
}

impl Meter {
    pub(crate) fn new(limits: &Limits) -> Rc<Meter> {
        Rc::new(Meter {
            compressed: Cell::new(0),
            decompressed: Cell::new(0),
            tripped: Cell::new(None),
            max_total: limits.max_total,
            max_ratio: limits.max_ratio,
        })
    }

    /// Turns an I/O error from the stream into the error to report, naming where it happened.
    pub(crate) fn error(&self, at: impl Into<String>, source: io::Error) -> BundleError {
        let at = at.into();
        match self.tripped.get() {
            Some(Trip::Total) => BundleError::TooLarge { at, limit: self.max_total },
            Some(Trip::Ratio) => BundleError::CompressionRatio {
                at,
                compressed: self.compressed.get(),
                decompressed: self.decompressed.get(),
                limit: self.max_ratio,
            },
            None => BundleError::Corrupt { at, source },
        }
    }

    /// Decompressed bytes the tar reader has pulled so far.
    pub(crate) fn decompressed(&self) -> u64 {
        self.decompressed.get()
    }

    fn add_compressed(&self, n: usize) {
        self.compressed.set(self.compressed.get().saturating_add(n as u64));
    }

    fn add_decompressed(&self, n: usize) -> io::Result<()> {
        let total = self.decompressed.get().saturating_add(n as u64);
        self.decompressed.set(total);

        if total > self.max_total {
            return self.trip(Trip::Total);
        }
        let allowed = self.compressed.get().saturating_mul(self.max_ratio);
        if total > RATIO_GRACE && total > allowed {
            return self.trip(Trip::Ratio);
        }
        Ok(())
    }

    fn trip(&self, trip: Trip) -> io::Result<()> {
        self.tripped.set(Some(trip));
        Err(io::Error::other("bundle size limit exceeded"))
    }

    fn check(&self) -> io::Result<()> {
        match self.tripped.get() {
            Some(_) => Err(io::Error::other("bundle size limit exceeded")),
            None => Ok(()),
        }
    }
}

/// Counts bytes read from the bundle file, below the decompressor.
pub(crate) struct CountCompressed<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R> CountCompressed<R> {
    pub(crate) fn new(inner: R, meter: Rc<Meter>) -> Self {
        CountCompressed { inner, meter }
    }
}

impl<R: Read> Read for CountCompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add_compressed(n);
        Ok(n)
    }
}

/// Counts bytes coming out of the decompressor and fails once a limit is crossed. After a
/// trip every further read fails too, so no caller can skip past it.
pub(crate) struct CountDecompressed<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R> CountDecompressed<R> {
    pub(crate) fn new(inner: R, meter: Rc<Meter>) -> Self {
        CountDecompressed { inner, meter }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for CountDecompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.meter.check()?;
        let n = self.inner.read(buf)?;
        self.meter.add_decompressed(n)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_total: u64, max_ratio: u64) -> Limits {
        Limits { max_total, max_ratio, ..Limits::default() }
    }

    #[test]
    fn total_trips_and_stays_tripped() {
        let meter = Meter::new(&limits(10, 200));
        let mut r = CountDecompressed::new(&[0u8; 20][..], meter.clone());
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 8);
        assert!(r.read(&mut buf).is_err());
        assert!(r.read(&mut buf).is_err());
        let err = meter.error("x", io::Error::other("wrapped"));
        assert!(matches!(err, BundleError::TooLarge { limit: 10, .. }));
    }

    #[test]
    fn ratio_is_checked_after_the_grace() {
        let meter = Meter::new(&limits(u64::MAX, 2));
        meter.add_compressed(10);
        assert!(meter.add_decompressed(RATIO_GRACE as usize).is_ok());
        assert!(meter.add_decompressed(1).is_err());
        let err = meter.error("x", io::Error::other("wrapped"));
        assert!(matches!(err, BundleError::CompressionRatio { compressed: 10, limit: 2, .. }));
    }

    #[test]
    fn untripped_errors_are_corruption() {
        let meter = Meter::new(&Limits::default());
        let err = meter.error("x", io::Error::other("bad frame"));
        assert!(matches!(err, BundleError::Corrupt { .. }));
    }
}
