//! Rule-based models: each gives every touch of a converting path a weight, the weights
//! of a path summing to 1. The formulas are in `docs/semantics.md` ("Attribution").

use super::pathset::PathView;

/// Weights of the three positions: the first touch, the touches in the middle (shared
/// equally) and the last touch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Positions {
    pub first: f64,
    pub middle: f64,
    pub last: f64,
}

/// A rule-based model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    First,
    Last,
    LastNonDirect,
    Linear,
    /// Weight `2^(-age / half_life)`, normalised over the path.
    TimeDecay {
        half_life_s: f64,
    },
    Positions(Positions),
    /// 90% shared equally by the key touches (the first, each milestone's, the last), 10%
    /// by the others.
    WShaped,
}

/// Position-based (U-shaped), J-shaped and inverse J.
pub const POSITION_BASED: Positions = Positions {
    first: 0.4,
    middle: 0.2,
    last: 0.4,
};
pub const J_SHAPED: Positions = Positions {
    first: 0.2,
    middle: 0.2,
    last: 0.6,
};
pub const INVERSE_J: Positions = Positions {
    first: 0.6,
    middle: 0.2,
    last: 0.2,
};

impl Rule {
    /// Whether the weights depend on the sequence of touches alone (not on their ages,
    /// channels or milestones): paths with the same touches then get the same weights,
    /// and the model can run once per distinct sequence.
    pub fn sequence_only(self) -> bool {
        matches!(
            self,
            Rule::First | Rule::Last | Rule::Linear | Rule::Positions(_)
        )
    }
}

/// Writes the weights of `path` into `out` (cleared first). An empty path gets none.
pub fn weights(rule: Rule, path: &PathView<'_>, out: &mut Vec<f64>) {
    out.clear();
    let n = path.touches.len();
    if n == 0 {
        return;
    }
    out.resize(n, 0.0);
    match rule {
        Rule::First | Rule::Last | Rule::Linear | Rule::Positions(_) => sequence(rule, out),
        Rule::LastNonDirect => {
            // The last touch that did not come direct; a path of direct touches only
            // credits its last one (as Google Analytics does).
            let k = (0..n).rev().find(|&i| !path.direct[i]).unwrap_or(n - 1);
            out[k] = 1.0;
        }
        Rule::TimeDecay { half_life_s } => {
            for (w, &age) in out.iter_mut().zip(path.age_s) {
                *w = (-age.max(0.0) / half_life_s * std::f64::consts::LN_2).exp();
            }
            let sum: f64 = out.iter().sum();
            if sum > 0.0 && sum.is_finite() {
                out.iter_mut().for_each(|w| *w /= sum);
            } else {
                // Every weight underflowed (ages of many half-lives): share equally.
                out.fill(1.0 / n as f64);
            }
        }
        Rule::WShaped => w_shaped(path, out),
    }
}

/// The weights of a sequence-only rule over `out.len()` touches (`out` zeroed, not empty).
pub fn sequence(rule: Rule, out: &mut [f64]) {
    let n = out.len();
    match rule {
        Rule::First => out[0] = 1.0,
        Rule::Last => out[n - 1] = 1.0,
        Rule::Linear => out.fill(1.0 / n as f64),
        Rule::Positions(p) => positions(p, out),
        _ => unreachable!("{rule:?} reads more than the sequence"),
    }
}

fn positions(p: Positions, out: &mut [f64]) {
    let n = out.len();
    match n {
        1 => out[0] = 1.0,
        2 => {
            // No middle: the first and the last keep their ratio.
            let sum = p.first + p.last;
            out[0] = p.first / sum;
            out[1] = p.last / sum;
        }
        _ => {
            let middle = p.middle / (n - 2) as f64;
            out.fill(middle);
            out[0] = p.first;
            out[n - 1] = p.last;
        }
    }
}

fn w_shaped(path: &PathView<'_>, out: &mut [f64]) {
    let n = out.len();
    let key = |i: usize| i == 0 || i == n - 1 || path.milestone[i];
    let keys = (0..n).filter(|&i| key(i)).count();
    let others = n - keys;
    let (key_share, other_share) = if others == 0 { (1.0, 0.0) } else { (0.9, 0.1) };
    for (i, w) in out.iter_mut().enumerate() {
        *w = if key(i) {
            key_share / keys as f64
        } else {
            other_share / others as f64
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(
        touches: &'a [u32],
        age_s: &'a [f64],
        direct: &'a [bool],
        milestone: &'a [bool],
    ) -> PathView<'a> {
        PathView {
            touches,
            age_s,
            direct,
            milestone,
            conversions: 1.0,
            value: 0.0,
            nulls: 0.0,
        }
    }

    fn w(rule: Rule, n: usize, direct: &[bool], milestone: &[bool], ages: &[f64]) -> Vec<f64> {
        let touches: Vec<u32> = (0..n as u32).collect();
        let mut out = Vec::new();
        weights(rule, &view(&touches, ages, direct, milestone), &mut out);
        out
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn positions_by_path_length() {
        let f = [false; 5];
        close(
            &w(Rule::Positions(POSITION_BASED), 1, &f, &f, &[0.0]),
            &[1.0],
        );
        close(
            &w(Rule::Positions(POSITION_BASED), 2, &f, &f, &[0.0; 2]),
            &[0.5, 0.5],
        );
        close(
            &w(Rule::Positions(POSITION_BASED), 4, &f, &f, &[0.0; 4]),
            &[0.4, 0.1, 0.1, 0.4],
        );
        close(
            &w(Rule::Positions(J_SHAPED), 2, &f, &f, &[0.0; 2]),
            &[0.25, 0.75],
        );
        close(
            &w(Rule::Positions(INVERSE_J), 3, &f, &f, &[0.0; 3]),
            &[0.6, 0.2, 0.2],
        );
    }

    #[test]
    fn last_non_direct_skips_direct_touches() {
        let f = [false; 3];
        close(
            &w(Rule::LastNonDirect, 3, &[false, false, true], &f, &[0.0; 3]),
            &[0.0, 1.0, 0.0],
        );
        close(
            &w(Rule::LastNonDirect, 2, &[true, true], &f, &[0.0; 2]),
            &[0.0, 1.0],
        );
    }

    #[test]
    fn time_decay_halves_per_half_life() {
        let f = [false; 3];
        let day = 86_400.0;
        let got = w(
            Rule::TimeDecay { half_life_s: day },
            3,
            &f,
            &f,
            &[2.0 * day, day, 0.0],
        );
        close(&got, &[1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0]);
        // Ages of thousands of half-lives underflow to zero: shared equally.
        let got = w(Rule::TimeDecay { half_life_s: 1.0 }, 2, &f, &f, &[1e6, 1e6]);
        close(&got, &[0.5, 0.5]);
    }

    #[test]
    fn w_shaped_with_and_without_milestones() {
        let f = [false; 5];
        close(
            &w(
                Rule::WShaped,
                5,
                &f,
                &[false, false, true, false, false],
                &[0.0; 5],
            ),
            &[0.3, 0.05, 0.3, 0.05, 0.3],
        );
        // Without a milestone: the first and the last are the keys.
        close(
            &w(Rule::WShaped, 4, &f, &f, &[0.0; 4]),
            &[0.45, 0.05, 0.05, 0.45],
        );
        // Nothing but keys: they share everything.
        close(&w(Rule::WShaped, 2, &f, &f, &[0.0; 2]), &[0.5, 0.5]);
        close(&w(Rule::WShaped, 1, &f, &f, &[0.0]), &[1.0]);
    }
}
