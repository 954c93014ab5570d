//! Go's `time.Time` JSON form, as Notary writes `expires` (WIRE.md §5.1, §9.5).
//!
//! Go writes RFC 3339 with up to nine fraction digits, trailing zeros removed and the
//! fraction left out when zero, in the writer's own offset (`Z` for UTC). A file only
//! survives Go's struct round trip if we write exactly that, so the offset a file was
//! written with is kept.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// An instant with the offset it is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoTime(OffsetDateTime);

/// Notary's default lifetimes (`const.go`, WIRE.md §5.6).
pub const ROOT_LIFETIME_DAYS: i64 = 10 * 365;
pub const TARGETS_LIFETIME_DAYS: i64 = 3 * 365;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time")]
pub struct TimeError(pub String);

impl GoTime {
    pub fn parse(s: &str) -> Result<GoTime, TimeError> {
        let bad = || TimeError(s.to_string());
        // Go accepts only 'T' and an upper-case 'Z'; so do we, and no leap seconds.
        if s.len() < 20 || s.as_bytes()[10] != b'T' || s.ends_with('z') {
            return Err(bad());
        }
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad())?;
        if t.second() == 60 {
            return Err(bad());
        }
        Ok(GoTime(t))
    }

    pub fn from_offset_date_time(t: OffsetDateTime) -> GoTime {
        GoTime(t)
    }

    /// `now + days` in UTC, the expiry of a role signed now.
    pub fn days_after(now: OffsetDateTime, days: i64) -> GoTime {
        GoTime((now + Duration::days(days)).to_offset(UtcOffset::UTC))
    }

    pub fn instant(&self) -> OffsetDateTime {
        self.0
    }

    pub fn is_before(&self, other: OffsetDateTime) -> bool {
        self.0 < other
    }
}

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let offset = t.offset();
        if offset.is_utc() {
            return f.write_str("Z");
        }
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        GoTime::parse(s).unwrap().to_string()
    }

    #[test]
    fn writes_go_form() {
        for same in [
            "2036-11-30T15:29:46.499852763Z",
            "2029-12-02T15:29:46.02513138Z",
            "2026-12-17T15:32:16Z",
            "2036-12-01T00:34:12.82287936+09:00",
            "2030-01-01T00:00:00.5-05:30",
        ] {
            assert_eq!(round_trip(same), same);
        }
        assert_eq!(round_trip("2026-12-17T15:32:16.500000000Z"), "2026-12-17T15:32:16.5Z");
        assert_eq!(round_trip("2026-12-17T15:32:16+00:00"), "2026-12-17T15:32:16Z");
    }

    #[test]
    fn refuses_non_rfc3339() {
        for bad in ["2026-12-17 15:32:16Z", "2026-12-17T15:32:16z", "2026-12-17", "tomorrow", ""] {
            assert!(GoTime::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn offsets_compare_as_instants() {
        let a = GoTime::parse("2036-12-01T00:00:00+09:00").unwrap();
        let b = GoTime::parse("2036-11-30T15:00:00Z").unwrap();
        assert_eq!(a.instant(), b.instant());
    }
}
