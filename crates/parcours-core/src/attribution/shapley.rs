//! Shapley values of the touches in the game "conversions the first-order chain still
//! produces when only these touches exist". See `docs/semantics.md` ("Shapley").

use std::collections::HashMap;

use serde::Serialize;

use super::markov::Chain;
use crate::frame::FxBuild;

/// Up to this many players every coalition is evaluated; above, permutations are sampled.
pub const EXACT_LIMIT: usize = 15;
/// Above this many players the game is not played (each sample solves as many systems).
pub const PLAYER_LIMIT: usize = 100;
const _: () = assert!(PLAYER_LIMIT <= 128, "coalitions are kept as 128-bit masks");

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShapleyInfo {
    /// `exact` or `sampled`.
    pub method: &'static str,
    pub players: usize,
    /// Coalitions evaluated (exact) or permutations drawn (sampled).
    pub evaluations: u64,
    /// For `sampled`: the standard error of each player's share of conversions, in the
    /// order of the players.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub standard_error: Vec<f64>,
}

/// Each player's Shapley value as a share of the grand coalition's worth, for
/// conversions and for value (each summing to 1 when the chain converts at all).
pub struct Shares {
    pub conversion: Vec<f64>,
    pub value: Vec<f64>,
    pub info: ShapleyInfo,
}

/// A small deterministic generator (SplitMix64) for the permutation sample.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Shapley shares of `players` touches on a first-order `chain`.
pub fn shares(chain: &Chain, players: usize, permutations: usize) -> Result<Shares, String> {
    assert_eq!(
        chain.order, 1,
        "the game is played on the first-order chain"
    );
    if players > PLAYER_LIMIT {
        return Err(format!(
            "{players} distinct touches: Shapley values are computed for at most {PLAYER_LIMIT}; \
             attribute by channel or campaign, or filter the touches"
        ));
    }
    let owner: Vec<usize> = chain.states.iter().map(|s| s[0] as usize).collect();
    let worth = |coalition: &[bool]| {
        let alive: Vec<bool> = owner.iter().map(|&p| coalition[p]).collect();
        let a = chain.absorb(&alive);
        (a.conversion, a.value)
    };
    let grand = worth(&vec![true; players]);
    let (mut phi_c, mut phi_v) = (vec![0.0; players], vec![0.0; players]);
    let info;
    if players <= EXACT_LIMIT {
        let masks = 1usize << players;
        let mut v = vec![(0.0, 0.0); masks];
        let mut coalition = vec![false; players];
        for (mask, slot) in v.iter_mut().enumerate().skip(1) {
            for (p, c) in coalition.iter_mut().enumerate() {
                *c = mask >> p & 1 == 1;
            }
            *slot = worth(&coalition);
        }
        // weight[k] = k! (n-k-1)! / n!
        let n = players;
        let mut weight = vec![0.0f64; n.max(1)];
        for (k, w) in weight.iter_mut().enumerate() {
            let mut x = 1.0 / n as f64;
            // 1 / (n * C(n-1, k))
            let mut binom = 1.0f64;
            for j in 0..k {
                binom = binom * (n - 1 - j) as f64 / (j + 1) as f64;
            }
            x /= binom;
            *w = x;
        }
        for mask in 0..masks {
            let k = mask.count_ones() as usize;
            for p in 0..n {
                if mask >> p & 1 == 1 {
                    continue;
                }
                let with = v[mask | 1 << p];
                phi_c[p] += weight[k] * (with.0 - v[mask].0);
                phi_v[p] += weight[k] * (with.1 - v[mask].1);
            }
        }
        info = ShapleyInfo {
            method: "exact",
            players,
            evaluations: masks as u64,
            standard_error: Vec::new(),
        };
    } else {
        let mut rng = SplitMix(0x5EED);
        let mut order: Vec<usize> = (0..players).collect();
        let mut sq = vec![0.0f64; players];
        // Small and large coalitions recur across permutations: their worth is kept.
        let mut known: HashMap<u128, (f64, f64), FxBuild> = HashMap::default();
        for _ in 0..permutations {
            for i in (1..players).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let mut coalition = vec![false; players];
            let mut mask = 0u128;
            let mut before = (0.0, 0.0);
            for &p in &order {
                coalition[p] = true;
                mask |= 1 << p;
                let after = *known.entry(mask).or_insert_with(|| worth(&coalition));
                let d = after.0 - before.0;
                phi_c[p] += d;
                sq[p] += d * d;
                phi_v[p] += after.1 - before.1;
                before = after;
            }
        }
        let m = permutations.max(1) as f64;
        let standard_error = (0..players)
            .map(|p| {
                let mean = phi_c[p] / m;
                let var = (sq[p] / m - mean * mean).max(0.0) * m / (m - 1.0).max(1.0);
                if grand.0 > 0.0 {
                    (var / m).sqrt() / grand.0
                } else {
                    0.0
                }
            })
            .collect();
        phi_c.iter_mut().for_each(|x| *x /= m);
        phi_v.iter_mut().for_each(|x| *x /= m);
        info = ShapleyInfo {
            method: "sampled",
            players,
            evaluations: permutations as u64,
            standard_error,
        };
    }
    let norm = |phi: &mut Vec<f64>, total: f64| {
        if total > 0.0 {
            phi.iter_mut().for_each(|x| *x /= total);
        } else {
            phi.fill(0.0);
        }
    };
    norm(&mut phi_c, grand.0);
    norm(&mut phi_v, grand.1);
    Ok(Shares {
        conversion: phi_c,
        value: phi_v,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_players_split_by_hand() {
        // a alone converts 1 of 2; b alone 0 of 2; a>b converts 2 of 2.
        let paths = vec![
            (vec![0], 1.0, 1.0, 1.0),
            (vec![1], 0.0, 0.0, 2.0),
            (vec![0, 1], 2.0, 2.0, 0.0),
        ];
        let chain = Chain::build(&paths, 1);
        let s = shares(&chain, 2, 0).unwrap();
        // From start: a 4/6 then (a: conv 1/4, null 1/4, ->b 2/4), b 2/6 then
        // (b: conv 2/4, null 2/4). v(ab) = 4/6*(1/4 + 1/2*1/2) + 2/6*1/2 = 1/2.
        // v(a) = 4/6 * 1/4 = 1/6; v(b) = 2/6 * 1/2 = 1/6.
        // phi_a = 1/2 (1/6 - 0) + 1/2 (1/2 - 1/6) = 1/4 = phi_b; shares 1/2 each.
        assert!((s.conversion[0] - 0.5).abs() < 1e-12, "{:?}", s.conversion);
        assert!((s.conversion[1] - 0.5).abs() < 1e-12);
        assert_eq!(s.info.method, "exact");
        assert_eq!(s.info.evaluations, 4);
    }

    #[test]
    fn sampling_approaches_the_exact_values() {
        let paths: Vec<(Vec<u32>, f64, f64, f64)> = (0..6u32)
            .flat_map(|a| {
                (0..6u32).map(move |b| {
                    let conv = ((a * 7 + b * 3) % 5) as f64;
                    (vec![a, b], conv, conv * 2.0, 5.0 - conv)
                })
            })
            .collect();
        let chain = Chain::build(&paths, 1);
        let exact = shares(&chain, 6, 0).unwrap();
        // Force the sampler on the same game through a private path.
        let sampled = {
            let mut s = shares_sampled(&chain, 6, 4000);
            s.conversion
                .iter_mut()
                .for_each(|x| *x = (*x * 1e6).round() / 1e6);
            s
        };
        for p in 0..6 {
            let se = sampled.info.standard_error[p];
            assert!(
                (exact.conversion[p] - sampled.conversion[p]).abs() <= 5.0 * se + 1e-6,
                "player {p}: exact {} sampled {} (se {se})",
                exact.conversion[p],
                sampled.conversion[p]
            );
        }
    }

    /// The sampler on any number of players (tests only).
    fn shares_sampled(chain: &Chain, players: usize, permutations: usize) -> Shares {
        // Pad the players above the exact limit with touches that never occur: they
        // contribute nothing and leave the others' values unchanged.
        let padded = EXACT_LIMIT + 1;
        assert!(players < padded);
        let mut s = shares(chain, padded, permutations).unwrap();
        s.conversion.truncate(players);
        s.info.standard_error.truncate(players);
        s
    }
}
