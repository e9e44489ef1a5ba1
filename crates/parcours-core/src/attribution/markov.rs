//! The Markov chain of paths (order 1 to 3) and its absorption probabilities, solved
//! exactly as a linear system: no simulation. See `docs/semantics.md` ("Markov chain").

use std::collections::HashMap;

use serde::Serialize;

use super::pathset::MergedPath;
use crate::frame::FxBuild;

/// Above this many live states the system is solved by Gauss-Seidel sweeps instead of
/// Gaussian elimination.
const DENSE_LIMIT: usize = 200;
/// Gauss-Seidel stops when no unknown moves by more than this in a sweep.
const TOLERANCE: f64 = 1e-14;
const MAX_SWEEPS: usize = 100_000;

/// An absorbing chain: `(start)` → transient states → `(conversion)` | `(null)`.
#[derive(Debug, Clone)]
pub struct Chain {
    pub order: usize,
    /// The touches of each transient state: the last `order` touches (fewer for a path
    /// shorter than the order).
    pub states: Vec<Vec<u32>>,
    /// Probability of entering each state from `(start)`.
    start: Vec<(u32, f64)>,
    /// Transitions between transient states, per state.
    rows: Vec<Vec<(u32, f64)>>,
    /// Probability of converting from each state.
    conv: Vec<f64>,
    /// Probability of ending without conversion from each state.
    null: Vec<f64>,
    /// Mean value of a conversion from each state.
    value: Vec<f64>,
}

/// How a system was solved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Solve {
    /// `elimination` (exact up to rounding) or `gauss_seidel` (to `residual`).
    pub method: &'static str,
    /// The largest change in the last sweep (0 for elimination).
    pub residual: f64,
}

/// The probability of reaching `(conversion)` from `(start)` and the expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Absorption {
    pub conversion: f64,
    pub value: f64,
    pub solve: Solve,
}

impl Chain {
    /// Builds the chain from merged paths `(touches, conversions, value, nulls)`; each
    /// path weighs `conversions + nulls`. At order 1 a repeated touch (A → A) is no
    /// transition, as in ChannelAttribution; at higher orders the windows keep repeats.
    pub fn build(paths: &[MergedPath], order: usize) -> Chain {
        assert!((1..=3).contains(&order), "order 1 to 3");
        let mut index: HashMap<Vec<u32>, u32, FxBuild> = HashMap::default();
        let mut states: Vec<Vec<u32>> = Vec::new();
        let mut start: HashMap<u32, f64, FxBuild> = HashMap::default();
        let mut edges: HashMap<(u32, u32), f64, FxBuild> = HashMap::default();
        let mut out_weight: Vec<f64> = Vec::new();
        let mut conv: Vec<f64> = Vec::new();
        let mut null: Vec<f64> = Vec::new();
        let mut value: Vec<f64> = Vec::new();
        let mut seq: Vec<u32> = Vec::new();
        for (touches, c, v, n) in paths {
            let w = c + n;
            if touches.is_empty() || w <= 0.0 {
                continue;
            }
            seq.clear();
            seq.extend_from_slice(touches);
            if order == 1 {
                seq.dedup();
            }
            let windows: Vec<&[u32]> = if seq.len() <= order {
                vec![&seq[..]]
            } else {
                seq.windows(order).collect()
            };
            let mut prev: Option<u32> = None;
            for win in windows {
                let id = *index.entry(win.to_vec()).or_insert_with(|| {
                    states.push(win.to_vec());
                    out_weight.push(0.0);
                    conv.push(0.0);
                    null.push(0.0);
                    value.push(0.0);
                    (states.len() - 1) as u32
                });
                match prev {
                    None => *start.entry(id).or_default() += w,
                    Some(p) => {
                        *edges.entry((p, id)).or_default() += w;
                        out_weight[p as usize] += w;
                    }
                }
                prev = Some(id);
            }
            let last = prev.expect("a non-empty path has a state") as usize;
            conv[last] += c;
            null[last] += n;
            value[last] += v;
            out_weight[last] += w;
        }
        let starts: f64 = start.values().sum();
        let mut start: Vec<(u32, f64)> = start.into_iter().map(|(s, w)| (s, w / starts)).collect();
        start.sort_by_key(|&(s, _)| s);
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); states.len()];
        for ((from, to), w) in edges {
            rows[from as usize].push((to, w / out_weight[from as usize]));
        }
        rows.iter_mut().for_each(|r| r.sort_by_key(|&(to, _)| to));
        for s in 0..states.len() {
            value[s] = if conv[s] > 0.0 {
                value[s] / conv[s]
            } else {
                0.0
            };
            conv[s] /= out_weight[s];
            null[s] /= out_weight[s];
        }
        Chain {
            order,
            states,
            start,
            rows,
            conv,
            null,
            value,
        }
    }

    /// Absorption with only the `alive` states: entering a dead state ends the journey
    /// without conversion (the removal of a touch kills every state holding it).
    pub fn absorb(&self, alive: &[bool]) -> Absorption {
        let live: Vec<u32> = (0..self.states.len() as u32)
            .filter(|&s| alive[s as usize])
            .collect();
        let (x, solve) = if live.len() <= DENSE_LIMIT {
            self.eliminate(&live)
        } else {
            self.gauss_seidel(alive)
        };
        let (mut conversion, mut value) = (0.0, 0.0);
        for &(s, p) in &self.start {
            if alive[s as usize] {
                conversion += p * x[s as usize].0;
                value += p * x[s as usize].1;
            }
        }
        Absorption {
            conversion,
            value,
            solve,
        }
    }

    /// `(I - Q) x = r` over the live states by Gaussian elimination with partial
    /// pivoting; two right-hand sides: conversion and value.
    fn eliminate(&self, live: &[u32]) -> (Vec<(f64, f64)>, Solve) {
        let n = live.len();
        let mut pos = vec![usize::MAX; self.states.len()];
        for (i, &s) in live.iter().enumerate() {
            pos[s as usize] = i;
        }
        let w = n + 2;
        let mut a = vec![0.0f64; n * w];
        for (i, &s) in live.iter().enumerate() {
            let row = &mut a[i * w..(i + 1) * w];
            row[i] = 1.0;
            for &(to, p) in &self.rows[s as usize] {
                let j = pos[to as usize];
                if j != usize::MAX {
                    row[j] -= p;
                }
            }
            row[n] = self.conv[s as usize];
            row[n + 1] = self.conv[s as usize] * self.value[s as usize];
        }
        for k in 0..n {
            let pivot = (k..n)
                .max_by(|&i, &j| a[i * w + k].abs().total_cmp(&a[j * w + k].abs()))
                .expect("k < n");
            if pivot != k {
                for c in 0..w {
                    a.swap(k * w + c, pivot * w + c);
                }
            }
            let d = a[k * w + k];
            if d.abs() < 1e-300 {
                // A closed class with no way out: its states never absorb.
                continue;
            }
            for i in 0..n {
                if i == k {
                    continue;
                }
                let f = a[i * w + k] / d;
                if f == 0.0 {
                    continue;
                }
                for c in k..w {
                    a[i * w + c] -= f * a[k * w + c];
                }
            }
        }
        let mut x = vec![(0.0, 0.0); self.states.len()];
        for (i, &s) in live.iter().enumerate() {
            let d = a[i * w + i];
            if d.abs() >= 1e-300 {
                x[s as usize] = (a[i * w + n] / d, a[i * w + n + 1] / d);
            }
        }
        (
            x,
            Solve {
                method: "elimination",
                residual: 0.0,
            },
        )
    }

    fn gauss_seidel(&self, alive: &[bool]) -> (Vec<(f64, f64)>, Solve) {
        let n = self.states.len();
        let mut x = vec![(0.0f64, 0.0f64); n];
        let mut residual = f64::INFINITY;
        for _ in 0..MAX_SWEEPS {
            residual = 0.0f64;
            for s in 0..n {
                if !alive[s] {
                    continue;
                }
                let (mut c, mut v) = (self.conv[s], self.conv[s] * self.value[s]);
                let mut stay = 0.0;
                for &(to, p) in &self.rows[s] {
                    let t = to as usize;
                    if t == s {
                        stay += p;
                    } else if alive[t] {
                        c += p * x[t].0;
                        v += p * x[t].1;
                    }
                }
                let d = 1.0 - stay;
                let next = if d > 0.0 { (c / d, v / d) } else { (0.0, 0.0) };
                residual = residual
                    .max((next.0 - x[s].0).abs())
                    .max((next.1 - x[s].1).abs() / (1.0 + next.1.abs()));
                x[s] = next;
            }
            if residual < TOLERANCE {
                break;
            }
        }
        (
            x,
            Solve {
                method: "gauss_seidel",
                residual,
            },
        )
    }

    /// Every transition with its probability, `(start)` first, state labels from
    /// `label`.
    pub fn transitions(&self, label: impl Fn(&[u32]) -> String) -> Vec<Transition> {
        let names: Vec<String> = self.states.iter().map(|s| label(s)).collect();
        let mut out = Vec::new();
        for &(s, p) in &self.start {
            out.push(Transition {
                from: "(start)".into(),
                to: names[s as usize].clone(),
                probability: p,
            });
        }
        for (s, row) in self.rows.iter().enumerate() {
            for &(to, p) in row {
                out.push(Transition {
                    from: names[s].clone(),
                    to: names[to as usize].clone(),
                    probability: p,
                });
            }
            for (to, p) in [("(conversion)", self.conv[s]), ("(null)", self.null[s])] {
                if p > 0.0 {
                    out.push(Transition {
                        from: names[s].clone(),
                        to: to.into(),
                        probability: p,
                    });
                }
            }
        }
        out
    }
}

/// One edge of the transition matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub probability: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-solved chain of `docs/semantics.md`: paths a>b>c (1 conversion, 1 null),
    /// a>a>b (2), c (2 nulls), b>c>b (1, 1).
    fn example() -> Chain {
        let paths = vec![
            (vec![0, 1, 2], 1.0, 10.0, 1.0),
            (vec![0, 0, 1], 2.0, 4.0, 0.0),
            (vec![2], 0.0, 0.0, 2.0),
            (vec![1, 2, 1], 1.0, 3.0, 1.0),
        ];
        Chain::build(&paths, 1)
    }

    #[test]
    fn absorption_matches_the_hand_solution() {
        let chain = example();
        let all = vec![true; chain.states.len()];
        let full = chain.absorb(&all);
        // x_b = 0.55, x_c = 0.35; P = 0.5 x_a + 0.25 x_c + 0.25 x_b = 0.5.
        assert!((full.conversion - 0.5).abs() < 1e-12, "{full:?}");
        for (touch, expected) in [(0, 0.225), (1, 0.25 / 6.0), (2, 0.28125)] {
            let alive: Vec<bool> = chain.states.iter().map(|s| !s.contains(&touch)).collect();
            let p = chain.absorb(&alive).conversion;
            assert!((p - expected).abs() < 1e-12, "touch {touch}: {p}");
        }
    }

    #[test]
    fn gauss_seidel_agrees_with_elimination() {
        let chain = example();
        let all = vec![true; chain.states.len()];
        let live: Vec<u32> = (0..chain.states.len() as u32).collect();
        let (exact, _) = chain.eliminate(&live);
        let (iter, solve) = chain.gauss_seidel(&all);
        assert!(solve.residual < TOLERANCE);
        for (a, b) in exact.iter().zip(&iter) {
            assert!((a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-10);
        }
    }

    #[test]
    fn higher_orders_slide_windows_and_keep_repeats() {
        let paths = vec![(vec![0, 0, 1], 1.0, 0.0, 0.0), (vec![2], 0.0, 0.0, 1.0)];
        let chain = Chain::build(&paths, 2);
        assert_eq!(chain.states, vec![vec![0, 0], vec![0, 1], vec![2]]);
        let t = chain.transitions(|s| format!("{s:?}"));
        assert!(t.iter().any(|t| t.from == "[0, 0]" && t.to == "[0, 1]"));
    }
}
