//! Summaries of durations: mean, percentiles and a histogram with human-sized bins.

use serde::Serialize;

use crate::time::{Micros, MICROS_PER_SECOND};

const MINUTE: Micros = 60 * MICROS_PER_SECOND;
const HOUR: Micros = 60 * MINUTE;
const DAY: Micros = 24 * HOUR;

/// Lower bounds of the histogram bins; each bin runs to the next bound.
pub const BIN_BOUNDS: [(Micros, &str); 12] = [
    (0, "< 1 min"),
    (MINUTE, "1-5 min"),
    (5 * MINUTE, "5-15 min"),
    (15 * MINUTE, "15-60 min"),
    (HOUR, "1-6 h"),
    (6 * HOUR, "6-24 h"),
    (DAY, "1-3 d"),
    (3 * DAY, "3-7 d"),
    (7 * DAY, "7-14 d"),
    (14 * DAY, "14-30 d"),
    (30 * DAY, "30-90 d"),
    (90 * DAY, ">= 90 d"),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub label: &'static str,
    pub count: u64,
}

/// Durations in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DurationSummary {
    pub count: u64,
    pub mean_s: f64,
    pub median_s: f64,
    pub p90_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub histogram: Vec<Bin>,
}

/// Summarises durations (sorting them in place); `None` when there are none.
pub fn summarize(durations: &mut [Micros]) -> Option<DurationSummary> {
    if durations.is_empty() {
        return None;
    }
    durations.sort_unstable();
    let sum: i128 = durations.iter().map(|&d| d as i128).sum();
    let mut histogram: Vec<Bin> = BIN_BOUNDS
        .iter()
        .map(|(_, label)| Bin { label, count: 0 })
        .collect();
    for &d in durations.iter() {
        let bin = BIN_BOUNDS.partition_point(|(lo, _)| *lo <= d).max(1) - 1;
        histogram[bin].count += 1;
    }
    let secs = |us: f64| us / MICROS_PER_SECOND as f64;
    Some(DurationSummary {
        count: durations.len() as u64,
        mean_s: secs(sum as f64 / durations.len() as f64),
        median_s: secs(quantile(durations, 0.5)),
        p90_s: secs(quantile(durations, 0.9)),
        min_s: secs(durations[0] as f64),
        max_s: secs(durations[durations.len() - 1] as f64),
        histogram,
    })
}

/// The `q` quantile of sorted values, interpolating linearly between the closest ranks
/// (numpy's default, DuckDB's `quantile_cont`).
pub fn quantile(sorted: &[Micros], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] as f64 + (sorted[hi] as f64 - sorted[lo] as f64) * frac
}

/// A duration in seconds as a short human text: `45s`, `12.5 min`, `3.2 h`, `4.1 d`.
pub fn human(seconds: f64) -> String {
    let s = seconds.abs();
    if s < 60.0 {
        format!("{seconds:.0}s")
    } else if s < 3600.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [10, 20, 30, 40];
        assert_eq!(quantile(&v, 0.5), 25.0);
        assert_eq!(quantile(&v, 0.9), 37.0);
        assert_eq!(quantile(&[7], 0.9), 7.0);
    }

    #[test]
    fn bins_include_their_lower_bound() {
        let mut d = vec![0, MINUTE - 1, MINUTE, 90 * DAY];
        let s = summarize(&mut d).unwrap();
        assert_eq!(s.histogram[0].count, 2);
        assert_eq!(s.histogram[1].count, 1);
        assert_eq!(s.histogram[11].count, 1);
    }
}
