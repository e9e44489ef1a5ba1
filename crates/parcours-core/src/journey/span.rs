//! Durations written the way analysts write them: `30d`, `12h`, `90m`, `45s`, `2w`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{Micros, MICROS_PER_SECOND};

/// A positive duration, kept in microseconds, written with one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub Micros);

const UNITS: [(char, Micros); 5] = [
    ('w', 7 * 86_400 * MICROS_PER_SECOND),
    ('d', 86_400 * MICROS_PER_SECOND),
    ('h', 3_600 * MICROS_PER_SECOND),
    ('m', 60 * MICROS_PER_SECOND),
    ('s', MICROS_PER_SECOND),
];

impl Span {
    pub fn micros(self) -> Micros {
        self.0
    }

    /// Parses `<integer><unit>` with unit `w`, `d`, `h`, `m` or `s`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a duration (expected e.g. 30d, 12h, 90m, 45s, 2w)");
        let unit = text.chars().last().ok_or_else(bad)?;
        let size = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, s)| *s)
            .ok_or_else(bad)?;
        let count: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        if count <= 0 {
            return Err(format!("`{text}` must be a positive duration"));
        }
        count.checked_mul(size).map(Span).ok_or_else(bad)
    }
}

impl fmt::Display for Span {
    /// The largest unit that divides the duration exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, size) in UNITS {
            if self.0 % size == 0 {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}s", self.0 / MICROS_PER_SECOND)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_with_the_largest_exact_unit() {
        assert_eq!(Span::parse("30d").unwrap().to_string(), "30d");
        assert_eq!(Span::parse("14d").unwrap().to_string(), "2w");
        assert_eq!(Span::parse("90m").unwrap().to_string(), "90m");
        assert_eq!(Span::parse("120m").unwrap().to_string(), "2h");
        assert!(Span::parse("0d").is_err());
        assert!(Span::parse("3 days").is_err());
        assert!(Span::parse("").is_err());
    }
}
