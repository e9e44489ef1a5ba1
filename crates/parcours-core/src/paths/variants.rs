//! Variants (complete node sequences) and back-and-forth loops. See `docs/semantics.md`
//! ("Variants", "Loops").

use std::collections::HashMap;

use serde::Serialize;

use super::{visits, Visit, Walk};
use crate::frame::{par_actors, Frame, FxBuild};

/// Sequences longer than this are cut and marked `…`.
pub const MAX_VARIANT: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub sequence: Vec<String>,
    pub actors: u64,
    pub share: f64,
    /// Visits in the full sequence (before any cut).
    pub length: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variants {
    pub actors: u64,
    pub distinct: u64,
    pub variants: Vec<Variant>,
}

/// SplitMix64's finaliser: a bijection on 64 bits with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 128-bit fingerprint of a sequence, two lanes with different seeds, each element
/// mixed in with full avalanche: two distinct sequences among a million share one with a
/// probability near 10⁻²⁶, so variants are counted by fingerprint without keeping the
/// sequences.
fn fingerprint(key: &[u32]) -> u128 {
    let (mut a, mut b) = (0x243F_6A88_85A3_08D3u64, 0x1319_8A2E_0370_7344u64);
    for &x in key {
        a = mix(a ^ u64::from(x));
        b = mix(b.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ u64::from(x).rotate_left(32));
    }
    a = mix(a ^ key.len() as u64);
    ((a as u128) << 64) | u128::from(b)
}

/// The `top` most frequent complete sequences of the kept actors.
pub fn variants(frame: &Frame, walk: &Walk, keep: Option<&[bool]>, top: usize) -> Variants {
    let by = walk.by;
    // Per fingerprint: actors, and one actor having the sequence (to read it back).
    type Counts = HashMap<u128, (u64, u32), FxBuild>;
    let key_of = |a: usize, buf: &mut Vec<Visit>, key: &mut Vec<u32>| {
        visits(frame, walk, a, buf);
        key.clear();
        key.extend(buf.iter().take(MAX_VARIANT).map(|v| v.node));
        if buf.len() > MAX_VARIANT {
            key.push(u32::MAX);
        }
    };
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut counts: Counts = HashMap::default();
        let mut buf = Vec::new();
        let mut key: Vec<u32> = Vec::new();
        let mut n = 0u64;
        for a in actors {
            if keep.is_some_and(|k| !k[a]) {
                continue;
            }
            key_of(a, &mut buf, &mut key);
            if key.is_empty() {
                continue;
            }
            n += 1;
            counts.entry(fingerprint(&key)).or_insert((0, a as u32)).0 += 1;
        }
        (counts, n)
    });
    let mut counts: Counts = HashMap::default();
    let mut actors = 0;
    for (part, n) in parts {
        actors += n;
        if counts.is_empty() {
            counts = part;
            continue;
        }
        for (k, (c, a)) in part {
            counts.entry(k).or_insert((0, a)).0 += c;
        }
    }
    let distinct = counts.len() as u64;
    let labels: Vec<String> = (0..by.count(frame) as u32)
        .map(|id| by.label(frame, id))
        .collect();
    let label = |id: u32| -> &str {
        if id == u32::MAX {
            "…"
        } else {
            &labels[id as usize]
        }
    };
    // The most frequent first; ties by the sequence's names. Only the entries that can
    // be in the top are read back.
    let mut list: Vec<(u64, u32)> = counts.into_values().collect();
    list.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    if let Some(&(cut, _)) = list.get(top.saturating_sub(1)) {
        let end = list.partition_point(|e| e.0 >= cut);
        list.truncate(end);
    }
    let (mut buf, mut key) = (Vec::new(), Vec::new());
    let mut rows: Vec<(Vec<u32>, u64, usize)> = list
        .into_iter()
        .map(|(c, a)| {
            key_of(a as usize, &mut buf, &mut key);
            (key.clone(), c, buf.len())
        })
        .collect();
    rows.sort_by(|a, b| {
        b.1.cmp(&a.1).then_with(|| {
            a.0.iter()
                .map(|&id| label(id))
                .cmp(b.0.iter().map(|&id| label(id)))
        })
    });
    rows.truncate(top);
    Variants {
        actors,
        distinct,
        variants: rows
            .into_iter()
            .map(|(k, c, len)| Variant {
                sequence: k.iter().map(|&id| label(id).to_string()).collect(),
                actors: c,
                share: if actors > 0 {
                    c as f64 / actors as f64
                } else {
                    0.0
                },
                length: len,
            })
            .collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loops {
    pub actors: u64,
    /// Actors with at least one back-and-forth.
    pub actors_looping: u64,
    pub pairs: Vec<LoopPair>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopPair {
    /// The node returned to.
    pub from: String,
    /// The node visited in between.
    pub via: String,
    pub occurrences: u64,
    pub actors: u64,
    /// Share of the actors who visited both nodes.
    pub share_of_both: f64,
}

/// Calls `f(a, b, row)` for each back-and-forth A → B → A among consecutive visits, with
/// the frame row of the return to A.
pub(crate) fn back_and_forth(buf: &[Visit], mut f: impl FnMut(u32, u32, usize)) {
    for w in buf.windows(3) {
        if w[0].node == w[2].node && w[0].node != w[1].node {
            f(w[0].node, w[1].node, w[2].first);
        }
    }
}

/// The `top` back-and-forth pairs (A → B → A) by actors, among the kept actors (repeats
/// always collapsed: a loop is between visits).
pub fn loops(frame: &Frame, walk: &Walk, keep: Option<&[bool]>, top: usize) -> Loops {
    loops_with(frame, walk, keep, top, walk.by.count(frame) <= 128)
}

/// `small`: count "visited both" from per-actor bit sets (at most 128 nodes) rather than
/// by walking every actor again.
fn loops_with(frame: &Frame, walk: &Walk, keep: Option<&[bool]>, top: usize, small: bool) -> Loops {
    let walk = Walk {
        collapse: true,
        ..*walk
    };
    let by = walk.by;
    type Pairs = HashMap<(u32, u32), (u64, u64), FxBuild>;
    // With few nodes, each actor's set of visited nodes is kept as a bit set, so that the
    // actors who visited both nodes of a pair are counted without a second walk.
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut pairs: Pairs = HashMap::default();
        let mut seen: Vec<(u32, u32)> = Vec::new();
        let mut sets: Vec<u128> = Vec::new();
        let mut buf = Vec::new();
        let (mut n, mut looping) = (0u64, 0u64);
        for a in actors {
            if keep.is_some_and(|k| !k[a]) {
                continue;
            }
            visits(frame, &walk, a, &mut buf);
            if buf.is_empty() {
                continue;
            }
            n += 1;
            if small {
                sets.push(buf.iter().fold(0u128, |m, v| m | 1 << v.node));
            }
            seen.clear();
            back_and_forth(&buf, |x, y, _| {
                pairs.entry((x, y)).or_default().0 += 1;
                seen.push((x, y));
            });
            seen.sort_unstable();
            seen.dedup();
            looping += u64::from(!seen.is_empty());
            for p in &seen {
                pairs.entry(*p).or_default().1 += 1;
            }
        }
        (pairs, n, looping, sets)
    });
    let mut pairs: Pairs = HashMap::default();
    let (mut actors, mut looping) = (0, 0);
    let mut sets: Vec<Vec<u128>> = Vec::new();
    for (p, n, l, s) in parts {
        actors += n;
        looping += l;
        sets.push(s);
        for (k, (o, a)) in p {
            let e = pairs.entry(k).or_default();
            e.0 += o;
            e.1 += a;
        }
    }
    let mut list: Vec<((u32, u32), (u64, u64))> = pairs.into_iter().collect();
    let label = |id: u32| by.label(frame, id);
    list.sort_by(|a, b| {
        b.1 .1
            .cmp(&a.1 .1)
            .then_with(|| b.1 .0.cmp(&a.1 .0))
            .then_with(|| (label(a.0 .0), label(a.0 .1)).cmp(&(label(b.0 .0), label(b.0 .1))))
    });
    list.truncate(top);
    // Actors who visited both nodes of each listed pair.
    let wanted: Vec<(u32, u32)> = list.iter().map(|(k, _)| *k).collect();
    let both_parts: Vec<Vec<u64>> = if small {
        sets.iter()
            .map(|part| {
                let masks: Vec<u128> = wanted.iter().map(|&(x, y)| 1 << x | 1 << y).collect();
                let mut both = vec![0u64; wanted.len()];
                for set in part {
                    for (b, m) in both.iter_mut().zip(&masks) {
                        *b += u64::from(set & m == *m);
                    }
                }
                both
            })
            .collect()
    } else {
        par_actors(frame, 0, keep, |actors| {
            let mut both = vec![0u64; wanted.len()];
            let mut buf = Vec::new();
            let mut nodes: Vec<u32> = Vec::new();
            for a in actors {
                if keep.is_some_and(|k| !k[a]) {
                    continue;
                }
                visits(frame, &walk, a, &mut buf);
                nodes.clear();
                nodes.extend(buf.iter().map(|v| v.node));
                nodes.sort_unstable();
                nodes.dedup();
                for (j, (x, y)) in wanted.iter().enumerate() {
                    if nodes.binary_search(x).is_ok() && nodes.binary_search(y).is_ok() {
                        both[j] += 1;
                    }
                }
            }
            both
        })
    };
    let mut both = vec![0u64; wanted.len()];
    for p in both_parts {
        both.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    Loops {
        actors,
        actors_looping: looping,
        pairs: list
            .into_iter()
            .zip(both)
            .map(|(((x, y), (occ, act)), b)| LoopPair {
                from: label(x),
                via: label(y),
                occurrences: occ,
                actors: act,
                share_of_both: if b > 0 { act as f64 / b as f64 } else { 0.0 },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::frame::{FrameBuilder, FrameRow};

    #[test]
    fn bit_sets_and_walks_count_the_same_loops() {
        let mut b = FrameBuilder::new(vec![]);
        let names = ["a", "b", "c", "d"];
        let mut x = 7u64;
        for i in 0..600i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b.push(&FrameRow {
                actor: &format!("p{}", (x >> 33) % 40),
                ts: i * 1_000_000,
                kind: EventKind::Track,
                name: names[((x >> 20) % 4) as usize],
                channel: "web",
                campaign: None,
                touchpoint: "t",
                properties: &[],
            });
        }
        let frame = b.finish();
        let walk = Walk::default();
        let sets = loops_with(&frame, &walk, None, 20, true);
        let walks = loops_with(&frame, &walk, None, 20, false);
        assert!(!sets.pairs.is_empty());
        assert_eq!(sets, walks);
    }
}
