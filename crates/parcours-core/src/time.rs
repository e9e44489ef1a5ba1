//! Timestamps: parsing the RFC 3339 strings clients send, and the clock-skew correction of
//! the Segment spec.
//!
//! Every time in parcours is an `i64` count of microseconds since the Unix epoch, UTC.
//! Microseconds keep the precision Python clients send while leaving ±292,000 years of
//! range. This module owns parsing and formatting; it never reads the clock: callers pass
//! `received_at` in.

use std::str::FromStr;

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// The earliest event time parcours accepts: 1990-01-01T00:00:00Z. Anything earlier is
/// almost always an unset client clock (the epoch) or a unit mistake.
pub const EARLIEST_EVENT: Micros = 631_152_000 * MICROS_PER_SECOND;

/// Why a timestamp string was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("`{0}` is not an RFC 3339 timestamp (expected e.g. 2024-05-01T10:00:00.123Z)")]
    Syntax(String),
    #[error("`{0}` has no UTC offset, so it names no instant: end it with `Z` if it is UTC, else with its offset (`+01:00`)")]
    NoOffset(String),
    #[error("`{0}` is before 1990-01-01, which parcours treats as an unset clock")]
    TooEarly(String),
}

/// Parses an RFC 3339 timestamp with an offset (`Z`, `+00:00`, `-05:00`) and 0 to 9
/// fractional digits. Digits beyond microseconds are truncated.
pub fn parse_rfc3339(text: &str) -> Result<Micros, TimeError> {
    let text = text.trim();
    let micros = match utc_fast(text.as_bytes()) {
        Some(micros) => micros,
        None => jiff::Timestamp::from_str(text)
            .map_err(|_| match jiff::civil::DateTime::from_str(text) {
                Ok(_) => TimeError::NoOffset(text.into()),
                Err(_) => TimeError::Syntax(text.into()),
            })?
            .as_microsecond(),
    };
    if micros < EARLIEST_EVENT {
        return Err(TimeError::TooEarly(text.into()));
    }
    Ok(micros)
}

/// The common spelling of a UTC time, `YYYY-MM-DDTHH:MM:SS[.f…]Z` (1 to 9 fractional
/// digits, years from 1970), read directly: what clients and exports send almost always,
/// and the import's hottest parse. Anything else (offsets, leap seconds, lower case…)
/// returns `None` and goes to jiff; a property test checks that both read the same.
fn utc_fast(b: &[u8]) -> Option<Micros> {
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        b.get(range)?.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    if b.len() < 20 || [b[4], b[7], b[10], b[13], b[16]] != *b"--T::" {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut micros = 0;
    let end = match b[19] {
        b'Z' => 19,
        b'.' => {
            let n = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&n) {
                return None;
            }
            let fraction = digits(20..20 + n.min(6))?;
            micros = fraction * 10i64.pow(6 - n.min(6) as u32);
            20 + n
        }
        _ => return None,
    };
    if b.get(end) != Some(&b'Z') || b.len() != end + 1 {
        return None;
    }
    if year < 1970 || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let (month, day_of_month) = (month as u32, u32::try_from(day).ok()?);
    let days = days_from_civil(year, month, day_of_month);
    // A day past its month's end (or zero) comes back as another date.
    if civil_from_days(days) != (year, month, day_of_month) {
        return None;
    }
    Some(days * MICROS_PER_DAY + (hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND + micros)
}

/// Parses the looser forms found in CSV exports: RFC 3339, a date and time without an
/// offset (read as UTC), a bare date (midnight UTC), or a Unix time in seconds or
/// milliseconds (told apart by magnitude).
pub fn parse_lenient(text: &str) -> Result<Micros, TimeError> {
    let t = text.trim();
    if let Ok(m) = parse_rfc3339(t) {
        return Ok(m);
    }
    let micros = if let Ok(n) = t.parse::<i64>() {
        // Below 10^11 it is seconds (until year 5138), else milliseconds.
        if n.abs() < 100_000_000_000 {
            n.checked_mul(MICROS_PER_SECOND)
        } else {
            n.checked_mul(1000)
        }
    } else if let Ok(dt) = jiff::civil::DateTime::from_str(t) {
        dt.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_microsecond())
    } else if let Ok(d) = jiff::civil::Date::from_str(t) {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_microsecond())
    } else {
        None
    };
    match micros {
        Some(m) if m < EARLIEST_EVENT => Err(TimeError::TooEarly(text.into())),
        Some(m) => Ok(m),
        None => Err(TimeError::Syntax(text.into())),
    }
}

/// Formats as RFC 3339 in UTC with microseconds, e.g. `2024-05-01T10:00:00.123456Z`.
pub fn format_rfc3339(micros: Micros) -> String {
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(ts) => format!("{ts:.6}"),
        Err(_) => micros.to_string(),
    }
}

/// Serde helpers for times shown as RFC 3339 text (`#[serde(serialize_with =
/// "rfc3339")]`): answers and reports write times as the events' are written, not as
/// the microseconds they are inside.
pub fn rfc3339<S: serde::Serializer>(t: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*t))
}

/// [`rfc3339`] for an optional time: `null` when unset.
pub fn rfc3339_or_null<S: serde::Serializer>(t: &Option<Micros>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

/// The event time of the Segment spec.
///
/// `client_time` is what the client says the event happened at (`originalTimestamp`, else
/// `timestamp`). When the client also says when it sent the message (`sent_at`), its clock
/// skew is removed: `received_at − (sent_at − client_time)`. The result never lands after
/// `received_at`: an event cannot happen after the server received it.
pub fn corrected_timestamp(
    client_time: Option<Micros>,
    sent_at: Option<Micros>,
    received_at: Micros,
) -> Micros {
    let t = match (client_time, sent_at) {
        (Some(c), Some(s)) => received_at.saturating_sub(s.saturating_sub(c)),
        (Some(c), None) => c,
        (None, _) => received_at,
    };
    t.min(received_at)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's method).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_jiff(text: &str) -> Option<Micros> {
        jiff::Timestamp::from_str(text)
            .ok()
            .map(|t| t.as_microsecond())
    }

    proptest! {
        /// Every time the fast path reads, jiff reads the same; and for well-formed UTC
        /// times from 1970 to 9999 it does read them.
        #[test]
        fn the_fast_utc_path_reads_what_jiff_reads(
            year in 1960i64..10_000, month in 0i64..14, day in 0i64..33,
            hour in 0i64..25, minute in 0i64..61, second in 0i64..62,
            fraction in proptest::option::of("[0-9]{0,10}"),
        ) {
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if let Some(f) = &fraction {
                text.push('.');
                text.push_str(f);
            }
            text.push('Z');
            let fast = utc_fast(text.as_bytes());
            if let Some(m) = fast {
                prop_assert_eq!(Some(m), by_jiff(&text), "{}", text);
            } else if year >= 1970 && by_jiff(&text).is_some() {
                // Only leap seconds are left to jiff among what it accepts.
                prop_assert_eq!(second, 60, "{}", text);
            }
        }

        /// Arbitrary bytes in the fast path's shape never read differently from jiff.
        #[test]
        fn near_misses_fall_back(text in "[0-9]{4}[-/][0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}[.,]?[0-9]{0,3}[Zz+]?") {
            if let Some(m) = utc_fast(text.as_bytes()) {
                prop_assert_eq!(Some(m), by_jiff(&text), "{}", text);
            }
        }
    }

    #[test]
    fn parses_zero_to_nine_fraction_digits_and_both_utc_spellings() {
        let base = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2024-05-01T10:00:00+00:00").unwrap(), base);
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00.1Z").unwrap(),
            base + 100_000
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00.123456Z").unwrap(),
            base + 123_456
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T10:00:00.123456789Z").unwrap(),
            base + 123_456
        );
        assert_eq!(parse_rfc3339("2024-05-01T12:00:00+02:00").unwrap(), base);
    }

    #[test]
    fn rejects_impossible_and_offsetless_times() {
        assert!(matches!(
            parse_rfc3339("2024-02-30T10:00:00Z"),
            Err(TimeError::Syntax(_))
        ));
        assert!(matches!(
            parse_rfc3339("2024-05-01T25:00:00Z"),
            Err(TimeError::Syntax(_))
        ));
        // A time without an offset is told so, with how to write one.
        for no_offset in [
            "2024-05-01T10:00:00",
            "2024-05-01T10:00:00.250",
            "2024-05-01 10:00",
        ] {
            let e = parse_rfc3339(no_offset).unwrap_err();
            assert_eq!(e, TimeError::NoOffset(no_offset.into()));
            assert!(e.to_string().contains("no UTC offset"), "{e}");
        }
        assert!(matches!(
            parse_rfc3339("yesterday"),
            Err(TimeError::Syntax(_))
        ));
        assert!(matches!(
            parse_rfc3339("1970-01-01T00:00:00Z"),
            Err(TimeError::TooEarly(_))
        ));
    }

    #[test]
    fn lenient_accepts_csv_forms() {
        let base = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(parse_lenient("2024-05-01 10:00:00").unwrap(), base);
        assert_eq!(parse_lenient("2024-05-01T10:00:00").unwrap(), base);
        assert_eq!(parse_lenient("1714557600").unwrap(), base);
        assert_eq!(parse_lenient("1714557600000").unwrap(), base);
        assert_eq!(
            parse_lenient("2024-05-01").unwrap(),
            base - 10 * 3600 * MICROS_PER_SECOND
        );
        assert!(parse_lenient("0").is_err());
    }

    #[test]
    fn skew_correction_follows_the_spec_and_clamps_to_received_at() {
        let r = 1_000_000_000;
        // Client clock 60 s fast: sent_at and original both 60 s ahead; event 5 s before send.
        assert_eq!(corrected_timestamp(Some(r + 55), Some(r + 60), r), r - 5);
        // No sent_at: trusted as is (historical import), but never after receipt.
        assert_eq!(corrected_timestamp(Some(r - 1000), None, r), r - 1000);
        assert_eq!(corrected_timestamp(Some(r + 1000), None, r), r);
        // Event "after" its send time: lands in the future, clamped.
        assert_eq!(corrected_timestamp(Some(r + 70), Some(r + 60), r), r);
        assert_eq!(corrected_timestamp(None, Some(r), r), r);
    }

    #[test]
    fn formats_round_trip() {
        let m = parse_rfc3339("2024-05-01T10:00:00.123456Z").unwrap();
        assert_eq!(format_rfc3339(m), "2024-05-01T10:00:00.123456Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(m)).unwrap(), m);
    }
}
