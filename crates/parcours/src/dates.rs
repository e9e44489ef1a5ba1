//! Reading the dates of exports: day or month first (told by the dates, or by the user),
//! a strftime format, a time zone for dates written without an offset. Shared by
//! `parcours import` and `parcours surveys import`.

use anyhow::{anyhow, bail};
use parcours_core::time::{parse_lenient, parse_rfc3339, Micros, TimeError};
use regex::Regex;
use std::sync::LazyLock;

/// A date with slashes, dots or dashes, day and month in either order, and maybe a time
/// (`03/04/2026 18:30`, `4.3.26 6:30 pm`).
static SLASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([ap]\.?m\.?)?)?$",
    )
    .expect("valid regex")
});

/// A time zone named after a time: `GMT`, `UTC+2`, `GMT-05:30`.
static GMT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*(?:GMT|UTC)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$").expect("valid regex")
});

/// An offset after a time: `10:00:00 +0200`, `10:00+02:00`.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[ap]\.?m\.?)?(\s*([+-])(\d{2}:?\d{2}))$",
    )
    .expect("valid regex")
});

/// An offset from UTC: `sign` and `1`, `01`, `0130` or `01:30`.
fn offset(sign: &str, rest: &str) -> Option<jiff::tz::Offset> {
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.as_str(), "0")
    } else {
        digits.split_at(digits.len() - 2)
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 18 || m > 59 {
        return None;
    }
    let seconds = (h * 3600 + m * 60) * if sign == "-" { -1 } else { 1 };
    jiff::tz::Offset::from_seconds(seconds).ok()
}

/// How the dates of a file are written: the options of both importers.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DateArgs {
    /// How dates and times are written, strftime style (e.g. "%d/%m/%Y %H:%M");
    /// default: RFC 3339 and the usual forms of exports, told apart by themselves.
    #[arg(long)]
    pub date_format: Option<String>,
    /// For dates like 03/04/2026: day first (dmy) or month first (mdy); default: told by
    /// the dates themselves, refused when they cannot tell.
    #[arg(long, value_parser = ["dmy", "mdy"])]
    pub date_order: Option<String>,
    /// The time zone of times written without an offset: an IANA name (Europe/Paris) or
    /// an offset (+01:00); default UTC.
    #[arg(long)]
    pub timezone: Option<String>,
}

impl DateArgs {
    /// The reader of these options (an unknown time zone is refused).
    pub fn reader(&self) -> anyhow::Result<DateReader> {
        DateReader::new(
            self.date_format.clone(),
            self.date_order.as_deref(),
            self.timezone.as_deref().unwrap_or("UTC"),
        )
    }
}

/// How dates without an offset are read.
#[derive(Debug, Clone)]
pub struct DateReader {
    format: Option<String>,
    /// Day first for `03/04/2026`; `None` until told.
    day_first: Option<bool>,
    zone: jiff::tz::TimeZone,
}

impl DateReader {
    pub fn new(
        format: Option<String>,
        order: Option<&str>,
        timezone: &str,
    ) -> anyhow::Result<DateReader> {
        let zone = match timezone.trim() {
            "UTC" | "utc" | "Z" => jiff::tz::TimeZone::UTC,
            t if t.starts_with(['+', '-']) => jiff::tz::TimeZone::fixed(
                offset(&t[..1], &t[1..])
                    .ok_or_else(|| anyhow!("--timezone {t:?}: not an offset like +01:00"))?,
            ),
            t => jiff::tz::TimeZone::get(t)
                .map_err(|e| anyhow!("--timezone {t:?}: not a known time zone ({e})"))?,
        };
        Ok(DateReader {
            format,
            day_first: order.map(|o| o == "dmy"),
            zone,
        })
    }

    /// The same reader for cells that name a day (the day of ad costs): read as that
    /// day, whatever the time zone of times.
    pub fn for_days(&self) -> DateReader {
        DateReader {
            zone: jiff::tz::TimeZone::UTC,
            ..self.clone()
        }
    }

    /// Whether the order of day and month is still to be learnt (neither told nor read
    /// from a format).
    pub fn learns_order(&self) -> bool {
        self.day_first.is_none() && self.format.is_none()
    }

    /// Learns the order of day and month from the dates themselves (a part above 12 is
    /// the day); refuses dates that mix both or cannot tell.
    pub fn learn_order<'a>(&mut self, cells: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
        if !self.learns_order() {
            return Ok(());
        }
        // The first date read each way, and the first that cannot tell.
        let (mut ambiguous, mut day_first, mut month_first) = (None, None, None);
        for cell in cells {
            let (date, _) = self.split_zone(cell.trim());
            if let Some(c) = SLASH.captures(date) {
                if c[1].len() == 4 {
                    continue; // year first: 2026/03/04 is always year, month, day
                }
                let (first, second) = (
                    c[1].parse::<u32>().unwrap_or(0) > 12,
                    c[2].parse::<u32>().unwrap_or(0) > 12,
                );
                // Both above 12 is no date at all: its row is refused when read.
                match (first, second) {
                    (true, false) => day_first = day_first.or(Some(cell)),
                    (false, true) => month_first = month_first.or(Some(cell)),
                    (false, false) => ambiguous = ambiguous.or(Some(cell)),
                    (true, true) => {}
                }
            }
        }
        self.day_first = match (ambiguous, day_first, month_first) {
            (_, Some(_), None) => Some(true),
            (_, None, Some(_)) => Some(false),
            (None, None, None) => None,
            (_, Some(d), Some(m)) => bail!("the dates put the day first in some rows ({d:?}) and the month first in others ({m:?}): give --date-format"),
            (Some(cell), None, None) => bail!("the dates (such as {cell:?}) do not tell whether the day or the month comes first: give --date-order dmy or mdy"),
        };
        Ok(())
    }

    /// A trailing `GMT+1` / `UTC`, or an offset after the time (`+0200`, `+02:00`),
    /// becomes a fixed offset.
    fn split_zone<'a>(&self, cell: &'a str) -> (&'a str, Option<jiff::tz::Offset>) {
        if let Some(m) = NUMERIC.captures(cell) {
            let (whole, sign) = (m.get(1).expect("group"), m.get(2).expect("group"));
            let at = offset(sign.as_str(), &m[3]);
            return (cell[..whole.start()].trim_end(), at);
        }
        let Some(m) = GMT.captures(cell) else {
            return (cell, None);
        };
        let whole = m.get(0).expect("match");
        let at = match (m.get(1), m.get(2)) {
            (Some(sign), Some(_)) => offset(sign.as_str(), &cell[sign.end()..whole.end()]),
            _ => Some(jiff::tz::Offset::UTC),
        };
        (cell[..whole.start()].trim_end(), at)
    }

    fn civil(&self, dt: jiff::civil::DateTime, offset: Option<jiff::tz::Offset>) -> Option<Micros> {
        let zone = offset.map_or_else(|| self.zone.clone(), jiff::tz::TimeZone::fixed);
        dt.to_zoned(zone)
            .ok()
            .map(|z| z.timestamp().as_microsecond())
    }

    /// The instant a date cell names.
    pub fn read(&self, cell: &str) -> Result<Micros, String> {
        let cell = cell.trim();
        let bad = || format!("{cell:?} is not a date this import can read (give --date-format)");
        if let Some(format) = &self.format {
            let tm = jiff::fmt::strtime::parse(format, cell)
                .map_err(|e| format!("{cell:?} does not match --date-format {format:?}: {e}"))?;
            if let Ok(ts) = tm.to_timestamp() {
                return Ok(ts.as_microsecond());
            }
            let dt = tm
                .to_datetime()
                .or_else(|_| {
                    tm.to_date()
                        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                })
                .map_err(|e| format!("{cell:?}: {e}"))?;
            return self.civil(dt, None).ok_or_else(bad);
        }
        match parse_rfc3339(cell) {
            Ok(m) => return Ok(m),
            Err(e @ TimeError::TooEarly(_)) => return Err(e.to_string()),
            Err(TimeError::Syntax(_) | TimeError::NoOffset(_)) => {}
        }
        let (rest, offset) = self.split_zone(cell);
        if let Ok(dt) = rest.parse::<jiff::civil::DateTime>() {
            return self.civil(dt, offset).ok_or_else(bad);
        }
        if let Ok(d) = rest.parse::<jiff::civil::Date>() {
            return self
                .civil(d.to_datetime(jiff::civil::Time::midnight()), offset)
                .ok_or_else(bad);
        }
        if let Some(c) = SLASH.captures(rest) {
            let n = |i: usize| {
                c.get(i)
                    .map_or(0, |m| m.as_str().parse::<i32>().unwrap_or(0))
            };
            let ((year, month, day), order) = if c[1].len() == 4 {
                ((n(1), n(2), n(3)), "year/month/day")
            } else {
                let year = if c[3].len() <= 2 { 2000 + n(3) } else { n(3) };
                match self.day_first {
                    Some(true) => ((year, n(2), n(1)), "day/month/year"),
                    Some(false) => ((year, n(1), n(2)), "month/day/year"),
                    None => return Err(format!("{cell:?}: give --date-order dmy or mdy")),
                }
            };
            let mut hour = n(4);
            if let Some(ampm) = c.get(7) {
                let pm = ampm.as_str().to_ascii_lowercase().starts_with('p');
                if hour == 12 {
                    hour = 0;
                }
                if pm {
                    hour += 12;
                }
            }
            // Said in the cell's own terms: which month or day, read in which order.
            let date = i16::try_from(year)
                .ok()
                .zip(i8::try_from(month).ok().zip(i8::try_from(day).ok()))
                .and_then(|(y, (m, d))| jiff::civil::Date::new(y, m, d).ok())
                .ok_or_else(|| match month {
                    1..=12 => format!(
                        "{cell:?}, read as {order}, is not a date: {year}-{month:02} has no day {day}"
                    ),
                    _ => format!("{cell:?}, read as {order}, is not a date: there is no month {month}"),
                })?;
            let (minute, second) = (n(5), n(6));
            let time = i8::try_from(hour)
                .ok()
                .zip(i8::try_from(minute).ok().zip(i8::try_from(second).ok()))
                .and_then(|(h, (m, s))| jiff::civil::Time::new(h, m, s, 0).ok())
                .ok_or_else(|| {
                    format!("{cell:?} is not a time of day: {hour}:{minute:02}:{second:02}")
                })?;
            return self.civil(date.to_datetime(time), offset).ok_or_else(bad);
        }
        parse_lenient(cell).map_err(|e| match e {
            TimeError::TooEarly(_) => e.to_string(),
            TimeError::Syntax(_) | TimeError::NoOffset(_) => bad(),
        })
    }
}

/// The delimiter of a CSV file: the one of comma, semicolon, tab and `|` that its header
/// line holds most of outside quotes (a comma when none is there: one column).
pub fn detect_delimiter(first_line: &str) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for b in first_line.bytes() {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b',' => counts[0] += 1,
            b';' => counts[1] += 1,
            b'\t' => counts[2] += 1,
            b'|' => counts[3] += 1,
            _ => {}
        }
    }
    let mut best = 0;
    for (i, n) in counts.iter().enumerate() {
        if *n > counts[best] {
            best = i;
        }
    }
    [b',', b';', b'\t', b'|'][best]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_told_by_the_header_line() {
        assert_eq!(detect_delimiter("a;b;c"), b';');
        assert_eq!(detect_delimiter("a\tb\tc,d"), b'\t');
        assert_eq!(detect_delimiter("date|user_id|event"), b'|');
        // Commas inside quotes are not delimiters.
        assert_eq!(detect_delimiter(r#""Montant, TTC";"Date, heure";x"#), b';');
        // One column, or a tie: a comma.
        assert_eq!(detect_delimiter("timestamp"), b',');
        assert_eq!(detect_delimiter("a,b;c"), b',');
    }

    #[test]
    fn impossible_dates_do_not_tell_the_order() {
        let mut r = DateReader::new(None, None, "UTC").unwrap();
        r.learn_order(["13/25/2026", "28/03/2026"].into_iter())
            .unwrap();
        assert_eq!(r.read("01/04/2026"), Ok(at("2026-04-01T00:00:00Z")));
        // Refused in the cell's own terms.
        assert_eq!(
            r.read("13/25/2026"),
            Err(
                "\"13/25/2026\", read as day/month/year, is not a date: there is no month 25"
                    .into()
            )
        );
        assert_eq!(
            r.read("31/04/2026"),
            Err(
                "\"31/04/2026\", read as day/month/year, is not a date: 2026-04 has no day 31"
                    .into()
            )
        );
        assert_eq!(
            r.read("30/04/2026 25:10"),
            Err("\"30/04/2026 25:10\" is not a time of day: 25:10:00".into())
        );
        let mut r = DateReader::new(None, None, "UTC").unwrap();
        let e = r
            .learn_order(["13/25/2026", "01/02/2026"].into_iter())
            .unwrap_err();
        assert!(e.to_string().contains("\"01/02/2026\""), "{e}");
        // A time before 1990 is told as such, not as an unreadable date.
        let e = r.read("1969-07-20T20:17:00Z").unwrap_err();
        assert!(e.contains("before 1990"), "{e}");
    }

    fn at(text: &str) -> Micros {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn dates_of_survey_tools_are_read() {
        let utc = DateReader::new(None, None, "UTC").unwrap();
        for (cell, expected) in [
            ("2026-03-02 10:00:00", "2026-03-02T10:00:00Z"),
            ("2026-03-02T10:00:00+01:00", "2026-03-02T09:00:00Z"),
            ("2026/03/02 10:15:32 PM GMT+1", "2026-03-02T21:15:32Z"),
            ("2026-03-15 10:12:44 UTC", "2026-03-15T10:12:44Z"),
            ("2026-03-15", "2026-03-15T00:00:00Z"),
            // Offsets after the time, as Shopify and Rails write them, or Python's str().
            ("2026-03-02 10:00:00 +0200", "2026-03-02T08:00:00Z"),
            ("2026-03-02 10:00:00-05:00", "2026-03-02T15:00:00Z"),
            ("2026-03-02 10:00 +01:00", "2026-03-02T09:00:00Z"),
            // Salesforce's API times.
            ("2026-03-02T10:00:00.000+0000", "2026-03-02T10:00:00Z"),
            ("2026-03-02T10:00:00.000-0800", "2026-03-02T18:00:00Z"),
        ] {
            assert_eq!(utc.read(cell), Ok(at(expected)), "{cell}");
        }
        // Day or month first is learnt from the dates, and 12 AM is midnight.
        let mut us = DateReader::new(None, None, "UTC").unwrap();
        us.learn_order(["03/15/2026 12:05:00 AM", "04/01/2026"].into_iter())
            .unwrap();
        assert_eq!(
            us.read("03/15/2026 12:05:00 AM"),
            Ok(at("2026-03-15T00:05:00Z"))
        );
        assert_eq!(us.read("04/01/2026"), Ok(at("2026-04-01T00:00:00Z")));
        let mut fr = DateReader::new(None, None, "Europe/Paris").unwrap();
        fr.learn_order(["15/03/2026 10:12", "02/04/26 09:05"].into_iter())
            .unwrap();
        // Paris is UTC+1 in March, UTC+2 from the end of March.
        assert_eq!(fr.read("15/03/2026 10:12"), Ok(at("2026-03-15T09:12:00Z")));
        assert_eq!(fr.read("02/04/26 09:05"), Ok(at("2026-04-02T07:05:00Z")));
        // Dates that cannot tell, or that disagree, are refused.
        let mut x = DateReader::new(None, None, "UTC").unwrap();
        let e = x.learn_order(["03/04/2026"].into_iter()).unwrap_err();
        assert!(e.to_string().contains("--date-order"), "{e}");
        let e = x
            .learn_order(["13/04/2026", "04/13/2026"].into_iter())
            .unwrap_err();
        assert!(e.to_string().contains("--date-format"), "{e}");
        // An explicit format, and an offset as time zone.
        let f = DateReader::new(Some("%d.%m.%Y %Hh%M".into()), None, "+02:00").unwrap();
        assert_eq!(f.read("02.04.2026 09h05"), Ok(at("2026-04-02T07:05:00Z")));
        assert!(f.read("2026-04-02").is_err());
        assert!(utc.read("yesterday").unwrap_err().contains("--date-format"));
        assert!(DateReader::new(None, None, "Mars/Olympus").is_err());
        assert!(DateReader::new(None, None, "+25:00").is_err());
    }
}
