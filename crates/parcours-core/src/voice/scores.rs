//! Survey scores exactly as the industry computes them, with their margin of error.
//!
//! - **NPS** (0–10): promoters 9–10, passives 7–8, detractors 0–6;
//!   NPS = %promoters − %detractors, −100…+100.
//! - **CSAT** (1–5): the share of 4 and 5, in percent.
//! - **CES** (1–7): the mean, and the share of 5–7 ("easy") in percent.
//! - **Rating** (any range, e.g. stars 1–5): the mean.
//!
//! The **margin of error** is the half-width of the 95% confidence interval by the normal
//! approximation (z = 1.96), the convention of survey reports ("NPS 42 ± 5"):
//! for a share `p` of `n` responses, `1.96·√(p(1−p)/n)`; for NPS, each response is +1, 0
//! or −1, whose variance is `p + d − (p − d)²` (`p`, `d` the promoter and detractor
//! shares), so the margin is `1.96·√((p + d − (p − d)²)/n)`, in points; for a mean,
//! `1.96·s/√n` with the sample standard deviation `s`. Below 30 responses the
//! approximation is rough and the summary says so (`small_sample`).

use serde::Serialize;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.96;
/// Below this many responses the normal approximation is flagged as rough.
pub const SMALL_SAMPLE: u64 = 30;

/// A running mean with its 95% margin (`1.96·s/√n`, none below two values): the
/// emotion of a group, the sentiment of a theme.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Moments {
    pub n: u64,
    sum: f64,
    sum_sq: f64,
}

impl Moments {
    pub fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.sum_sq += v * v;
    }

    /// The mean; 0 with no value.
    pub fn mean(&self) -> f64 {
        self.sum / self.n.max(1) as f64
    }

    pub fn margin(&self) -> Option<f64> {
        (self.n > 1).then(|| {
            let (n, mean) = (self.n as f64, self.mean());
            let var = ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
            Z95 * (var / n).sqrt()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scale {
    Nps,
    Csat,
    Ces,
    Rating { min: f64, max: f64 },
}

impl Scale {
    /// `nps`, `csat`, `ces`, or `rating:MIN-MAX` (`rating:1-5`).
    pub fn parse(text: &str) -> Result<Scale, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nps" => Ok(Scale::Nps),
            "csat" => Ok(Scale::Csat),
            "ces" => Ok(Scale::Ces),
            other => {
                let range = other.strip_prefix("rating:").ok_or_else(|| {
                    format!("`{text}`: expected nps, csat, ces or rating:MIN-MAX")
                })?;
                // The separator is the first `-` after the first character: MIN may be
                // negative (`rating:-2-2`).
                let (lo, hi) = range
                    .get(1..)
                    .and_then(|rest| rest.find('-'))
                    .map(|i| (&range[..=i], &range[i + 2..]))
                    .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                    .ok_or_else(|| format!("`{text}`: expected rating:MIN-MAX, e.g. rating:1-5"))?;
                if !(f64::is_finite(lo) && f64::is_finite(hi) && lo < hi) {
                    return Err(format!("`{text}`: MIN must be below MAX"));
                }
                Ok(Scale::Rating { min: lo, max: hi })
            }
        }
    }

    /// The scale of a survey called `id` when nothing else says: `nps`, `csat` and `ces`
    /// are themselves.
    pub fn of_survey(id: &str) -> Option<Scale> {
        match id.trim().to_ascii_lowercase().as_str() {
            "nps" => Some(Scale::Nps),
            "csat" => Some(Scale::Csat),
            "ces" => Some(Scale::Ces),
            _ => None,
        }
    }

    pub fn bounds(self) -> (f64, f64) {
        match self {
            Scale::Nps => (0.0, 10.0),
            Scale::Csat => (1.0, 5.0),
            Scale::Ces => (1.0, 7.0),
            Scale::Rating { min, max } => (min, max),
        }
    }

    /// Whether `x` is a valid answer: inside the bounds, and a whole number on the three
    /// standard scales.
    pub fn accepts(self, x: f64) -> bool {
        let (lo, hi) = self.bounds();
        x.is_finite()
            && x >= lo
            && x <= hi
            && (matches!(self, Scale::Rating { .. }) || x.fract() == 0.0)
    }

    /// Why `x` is not a valid answer, for error messages.
    pub fn check(self, x: f64) -> Result<(), String> {
        if self.accepts(x) {
            return Ok(());
        }
        let (lo, hi) = self.bounds();
        Err(match self {
            Scale::Rating { .. } => format!("{x} is outside the rating scale {lo}–{hi}"),
            _ => format!(
                "{x} is not a whole number from {lo} to {hi} ({})",
                self.name()
            ),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scale::Nps => "NPS",
            Scale::Csat => "CSAT",
            Scale::Ces => "CES",
            Scale::Rating { .. } => "rating",
        }
    }

    /// Where a score sits on −1…+1 (the bottom of the scale to its top), for emotion.
    pub fn position(self, x: f64) -> f64 {
        let (lo, hi) = self.bounds();
        (2.0 * (x - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0)
    }
}

/// Running counts of valid answers on one scale; merge tallies to combine groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub responses: u64,
    /// Answers that were not valid on the scale (left out of every figure).
    pub out_of_scale: u64,
    sum: f64,
    sum_sq: f64,
    /// Promoters (NPS), 4–5 (CSAT), 5–7 (CES).
    high: u64,
    /// Detractors (NPS).
    low: u64,
    /// Answers by whole value (rounded), for the distribution.
    counts: Vec<(i64, u64)>,
}

impl Tally {
    /// Adds an answer; false (and counted as out of scale) when the scale refuses it.
    pub fn add(&mut self, scale: Scale, x: f64) -> bool {
        if !scale.accepts(x) {
            self.out_of_scale += 1;
            return false;
        }
        self.responses += 1;
        self.sum += x;
        self.sum_sq += x * x;
        match scale {
            Scale::Nps => {
                self.high += u64::from(x >= 9.0);
                self.low += u64::from(x <= 6.0);
            }
            Scale::Csat => self.high += u64::from(x >= 4.0),
            Scale::Ces => self.high += u64::from(x >= 5.0),
            Scale::Rating { .. } => {}
        }
        let v = x.round() as i64;
        match self.counts.binary_search_by_key(&v, |c| c.0) {
            Ok(k) => self.counts[k].1 += 1,
            Err(k) => self.counts.insert(k, (v, 1)),
        }
        true
    }

    pub fn merge(&mut self, other: &Tally) {
        self.responses += other.responses;
        self.out_of_scale += other.out_of_scale;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.high += other.high;
        self.low += other.low;
        for &(v, c) in &other.counts {
            match self.counts.binary_search_by_key(&v, |x| x.0) {
                Ok(k) => self.counts[k].1 += c,
                Err(k) => self.counts.insert(k, (v, c)),
            }
        }
    }

    pub fn mean(&self) -> Option<f64> {
        (self.responses > 0).then(|| self.sum / self.responses as f64)
    }

    /// The headline figure: NPS, CSAT %, CES mean, or the rating's mean.
    pub fn score(&self, scale: Scale) -> Option<f64> {
        self.summary(scale).score
    }

    pub fn summary(&self, scale: Scale) -> Summary {
        let n = self.responses;
        let nf = n as f64;
        let share = |k: u64| if n == 0 { 0.0 } else { k as f64 / nf };
        let share_margin = |p: f64| Z95 * (p * (1.0 - p) / nf).sqrt();
        let mean = self.mean();
        let sd = (n > 1).then(|| {
            let m = self.sum / nf;
            ((self.sum_sq - nf * m * m).max(0.0) / (nf - 1.0)).sqrt()
        });
        let mean_margin = sd.map(|s| Z95 * s / nf.sqrt());
        let (score, margin, groups) = if n == 0 {
            (None, None, None)
        } else {
            match scale {
                Scale::Nps => {
                    let (p, d) = (share(self.high), share(self.low));
                    let var = p + d - (p - d) * (p - d);
                    (
                        Some(100.0 * (p - d)),
                        Some(100.0 * Z95 * (var.max(0.0) / nf).sqrt()),
                        Some(Groups {
                            high: 100.0 * p,
                            middle: Some(100.0 * share(n - self.high - self.low)),
                            low: Some(100.0 * d),
                            high_margin: 100.0 * share_margin(p),
                        }),
                    )
                }
                Scale::Csat => {
                    let p = share(self.high);
                    (
                        Some(100.0 * p),
                        Some(100.0 * share_margin(p)),
                        Some(Groups {
                            high: 100.0 * p,
                            middle: None,
                            low: None,
                            high_margin: 100.0 * share_margin(p),
                        }),
                    )
                }
                Scale::Ces => {
                    let p = share(self.high);
                    (
                        mean,
                        mean_margin,
                        Some(Groups {
                            high: 100.0 * p,
                            middle: None,
                            low: None,
                            high_margin: 100.0 * share_margin(p),
                        }),
                    )
                }
                Scale::Rating { .. } => (mean, mean_margin, None),
            }
        };
        let (lo, hi) = match scale {
            Scale::Nps => (-100.0, 100.0),
            Scale::Csat => (0.0, 100.0),
            other => other.bounds(),
        };
        Summary {
            responses: n,
            out_of_scale: self.out_of_scale,
            score,
            margin,
            low: score.zip(margin).map(|(s, m)| (s - m).max(lo)),
            high: score.zip(margin).map(|(s, m)| (s + m).min(hi)),
            mean,
            groups,
            distribution: self.counts.clone(),
            small_sample: n < SMALL_SAMPLE,
        }
    }
}

/// Shares of the scale's groups, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Groups {
    /// Promoters (NPS), satisfied 4–5 (CSAT), easy 5–7 (CES).
    pub high: f64,
    /// Passives (NPS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle: Option<f64>,
    /// Detractors (NPS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// The margin of error of `high`, in points.
    pub high_margin: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub responses: u64,
    pub out_of_scale: u64,
    /// NPS (−100…100), CSAT (%), CES mean (1–7), rating mean; none without responses.
    pub score: Option<f64>,
    /// Half-width of the 95% interval, in the score's unit; none without responses (and
    /// for a mean, with a single response).
    pub margin: Option<f64>,
    /// `score − margin` and `score + margin`, within the scale's range.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Mean answer.
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
    /// `(answer, responses)` by whole answer.
    pub distribution: Vec<(i64, u64)>,
    /// Fewer than 30 responses: the interval is rough.
    pub small_sample: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(scale: Scale, xs: &[f64]) -> Tally {
        let mut t = Tally::default();
        for &x in xs {
            t.add(scale, x);
        }
        t
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn nps_by_the_book() {
        // 5 promoters, 3 passives, 2 detractors of 10: NPS = 50 − 20 = 30.
        let s = tally(Scale::Nps, &[10., 9., 9., 10., 9., 8., 7., 7., 6., 0.]).summary(Scale::Nps);
        assert!(close(s.score.unwrap(), 30.0));
        // Variance of ±1/0 answers: 0.5 + 0.2 − 0.3² = 0.61; margin 1.96·√(0.61/10)·100.
        assert!(close(s.margin.unwrap(), 100.0 * 1.96 * (0.061f64).sqrt()));
        let g = s.groups.unwrap();
        assert!(
            close(g.high, 50.0) && close(g.middle.unwrap(), 30.0) && close(g.low.unwrap(), 20.0)
        );
        assert_eq!(s.distribution[0], (0, 1));
        assert!(s.small_sample);
    }

    #[test]
    fn all_passives_and_no_responses() {
        let s = tally(Scale::Nps, &[7., 8., 7., 8.]).summary(Scale::Nps);
        assert_eq!(s.score, Some(0.0));
        assert_eq!(s.margin, Some(0.0));
        let none = Tally::default().summary(Scale::Nps);
        assert_eq!((none.responses, none.score, none.margin), (0, None, None));
        assert_eq!(Tally::default().summary(Scale::Ces).mean, None);
    }

    #[test]
    fn extremes_stay_in_range() {
        let s = tally(Scale::Nps, &[0., 0., 10.]).summary(Scale::Nps);
        assert!(s.low.unwrap() >= -100.0 && s.high.unwrap() <= 100.0);
        let s = tally(Scale::Csat, &[5.; 40]).summary(Scale::Csat);
        assert_eq!(
            (s.score, s.margin, s.small_sample),
            (Some(100.0), Some(0.0), false)
        );
    }

    #[test]
    fn csat_and_ces() {
        // CSAT: 3 of 4 answered 4 or 5.
        let s = tally(Scale::Csat, &[5., 4., 4., 2.]).summary(Scale::Csat);
        assert!(close(s.score.unwrap(), 75.0));
        assert!(close(
            s.margin.unwrap(),
            100.0 * 1.96 * (0.75f64 * 0.25 / 4.0).sqrt()
        ));
        // CES: mean 4.5, sample sd of (7, 6, 3, 2) = √(17/3); share of 5–7 = 50%.
        let s = tally(Scale::Ces, &[7., 6., 3., 2.]).summary(Scale::Ces);
        assert!(close(s.score.unwrap(), 4.5));
        assert!(close(
            s.margin.unwrap(),
            1.96 * (17.0f64 / 3.0).sqrt() / 2.0
        ));
        assert!(close(s.groups.unwrap().high, 50.0));
    }

    #[test]
    fn out_of_scale_answers_are_counted_apart() {
        let mut t = Tally::default();
        assert!(!t.add(Scale::Nps, 11.0));
        assert!(!t.add(Scale::Csat, 0.0));
        assert!(!t.add(Scale::Nps, 7.5));
        assert!(!t.add(Scale::Nps, f64::NAN));
        assert!(t.add(Scale::Rating { min: 1.0, max: 5.0 }, 4.5));
        assert_eq!((t.responses, t.out_of_scale), (1, 4));
        assert_eq!(
            Scale::Nps.check(11.0).unwrap_err(),
            "11 is not a whole number from 0 to 10 (NPS)"
        );
        assert_eq!(
            Scale::Csat.check(0.0).unwrap_err(),
            "0 is not a whole number from 1 to 5 (CSAT)"
        );
    }

    #[test]
    fn merging_equals_adding() {
        let (a, b) = ([9., 3., 7.], [10., 0.]);
        let mut t = tally(Scale::Nps, &a);
        t.merge(&tally(Scale::Nps, &b));
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        assert_eq!(t, tally(Scale::Nps, &all));
    }

    #[test]
    fn scales_parse() {
        assert_eq!(Scale::parse("NPS"), Ok(Scale::Nps));
        assert_eq!(
            Scale::parse("rating:1-5"),
            Ok(Scale::Rating { min: 1.0, max: 5.0 })
        );
        assert!(Scale::parse("rating:5-1").is_err());
        assert_eq!(
            Scale::parse("rating:-2-2"),
            Ok(Scale::Rating {
                min: -2.0,
                max: 2.0
            })
        );
        assert_eq!(
            Scale::parse("rating:-5--1"),
            Ok(Scale::Rating {
                min: -5.0,
                max: -1.0
            })
        );
        assert!(Scale::parse("stars")
            .unwrap_err()
            .contains("rating:MIN-MAX"));
        assert!(close(Scale::Csat.position(5.0), 1.0));
        assert!(close(Scale::Nps.position(5.0), 0.0));
    }
}
