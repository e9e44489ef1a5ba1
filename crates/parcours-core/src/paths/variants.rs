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

/// The `top` most frequent complete sequences of the kept actors.
pub fn variants(frame: &Frame, walk: &Walk, keep: Option<&[bool]>, top: usize) -> Variants {
    let by = walk.by;
    type Counts = HashMap<Box<[u32]>, (u64, usize), FxBuild>;
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut counts: Counts = HashMap::default();
        let mut buf = Vec::new();
        let mut key: Vec<u32> = Vec::new();
        let mut n = 0u64;
        for a in actors {
            if keep.is_some_and(|k| !k[a]) {
                continue;
            }
            visits(frame, walk, a, &mut buf);
            if buf.is_empty() {
                continue;
            }
            n += 1;
            key.clear();
            key.extend(buf.iter().take(MAX_VARIANT).map(|v| v.node));
            if buf.len() > MAX_VARIANT {
                key.push(u32::MAX);
            }
            match counts.get_mut(key.as_slice()) {
                Some(e) => e.0 += 1,
                None => {
                    counts.insert(key.as_slice().into(), (1, buf.len()));
                }
            }
        }
        (counts, n)
    });
    let mut counts: Counts = HashMap::default();
    let mut actors = 0;
    for (part, n) in parts {
        actors += n;
        for (k, (c, len)) in part {
            let e = counts.entry(k).or_insert((0, len));
            e.0 += c;
            e.1 = e.1.max(len);
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
    let mut list: Vec<(Box<[u32]>, u64, usize)> = counts
        .into_iter()
        .map(|(k, (c, len))| (k, c, len))
        .collect();
    // The most frequent first; ties by the sequence's names (compared without copies).
    let order = |a: &(Box<[u32]>, u64, usize), b: &(Box<[u32]>, u64, usize)| {
        b.1.cmp(&a.1).then_with(|| {
            a.0.iter()
                .map(|&id| label(id))
                .cmp(b.0.iter().map(|&id| label(id)))
        })
    };
    if list.len() > top && top > 0 {
        list.select_nth_unstable_by(top - 1, order);
    }
    list.truncate(top);
    list.sort_by(order);
    let names = |k: &[u32]| {
        k.iter()
            .map(|&id| label(id).to_string())
            .collect::<Vec<_>>()
    };
    Variants {
        actors,
        distinct,
        variants: list
            .into_iter()
            .map(|(k, c, len)| Variant {
                sequence: names(&k),
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

fn back_and_forth(buf: &[Visit], mut f: impl FnMut(u32, u32)) {
    for w in buf.windows(3) {
        if w[0].node == w[2].node && w[0].node != w[1].node {
            f(w[0].node, w[1].node);
        }
    }
}

/// The `top` back-and-forth pairs (A → B → A) by actors, among the kept actors (repeats
/// always collapsed: a loop is between visits).
pub fn loops(frame: &Frame, walk: &Walk, keep: Option<&[bool]>, top: usize) -> Loops {
    let walk = Walk {
        collapse: true,
        ..*walk
    };
    let by = walk.by;
    type Pairs = HashMap<(u32, u32), (u64, u64), FxBuild>;
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut pairs: Pairs = HashMap::default();
        let mut seen: Vec<(u32, u32)> = Vec::new();
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
            seen.clear();
            back_and_forth(&buf, |x, y| {
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
        (pairs, n, looping)
    });
    let mut pairs: Pairs = HashMap::default();
    let (mut actors, mut looping) = (0, 0);
    for (p, n, l) in parts {
        actors += n;
        looping += l;
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
    let both_parts = par_actors(frame, 0, keep, |actors| {
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
    });
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
