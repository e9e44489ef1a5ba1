//! The step matrix: the share of actors whose k-th node is each node, step by step,
//! after retentioneering's. See `docs/semantics.md` ("Step matrix").

use std::collections::HashMap;

use serde::Serialize;

use super::{visits, Walk};
use crate::frame::{par_actors, Frame};

/// The row of actors with no node at a column.
pub const ENDED: &str = "ENDED";

#[derive(Debug, Clone)]
pub struct Center {
    /// The node the matrix is centred on.
    pub node: String,
    /// Which occurrence of it (1-based).
    pub occurrence: usize,
    /// Columns shown before it.
    pub left: usize,
}

#[derive(Debug, Clone)]
pub struct MatrixOptions {
    pub walk: Walk,
    /// Columns after the start (or after the centre).
    pub steps: usize,
    /// Rows whose largest share (absolute, for a difference) is below this are merged.
    pub threshold: f64,
    pub targets: Vec<String>,
    pub center: Option<Center>,
}

impl Default for MatrixOptions {
    fn default() -> MatrixOptions {
        MatrixOptions {
            walk: Walk::default(),
            steps: 10,
            threshold: 0.0,
            targets: Vec::new(),
            center: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMatrix {
    /// Column numbers: 1 … steps, or −left … steps when centred.
    pub columns: Vec<i64>,
    /// Actors in the matrix (for a difference: in segment A, then in segment B).
    pub actors: Vec<u64>,
    pub rows: Vec<MatrixRow>,
    pub targets: Vec<TargetRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixRow {
    pub name: String,
    pub shares: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRow {
    pub name: String,
    pub shares: Vec<f64>,
    /// Share of actors who reached the target at or before each column.
    pub cumulative: Vec<f64>,
}

/// Counts per node and column (dense: node × width), plus ENDED, and per target the
/// first column reached.
struct Tally {
    actors: u64,
    cells: Vec<u64>,
    ended: Vec<u64>,
    target_first: Vec<Vec<u64>>,
}

fn tally(frame: &Frame, keep: Option<&[bool]>, options: &MatrixOptions) -> Tally {
    let left = options.center.as_ref().map_or(0, |c| c.left);
    let width = left + options.steps + usize::from(options.center.is_some());
    let center = options
        .center
        .as_ref()
        .map(|c| (options.walk.by.id(frame, &c.node), c.occurrence));
    let targets: Vec<Option<u32>> = options
        .targets
        .iter()
        .map(|t| options.walk.by.id(frame, t))
        .collect();
    let nodes = options.walk.by.count(frame);
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut t = Tally {
            actors: 0,
            cells: vec![0; nodes * width],
            ended: vec![0; width],
            target_first: vec![vec![0; width]; targets.len()],
        };
        let mut buf = Vec::new();
        let mut first_seen = vec![usize::MAX; targets.len()];
        for a in actors {
            if keep.is_some_and(|k| !k[a]) {
                continue;
            }
            visits(frame, &options.walk, a, &mut buf);
            // Column c shows visit index `c + offset` (negative: before the path began).
            let offset: i64 = match center {
                None => 0,
                Some((None, _)) => continue,
                Some((Some(node), n)) => {
                    match buf
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.node == node)
                        .nth(n - 1)
                    {
                        Some((at, _)) => at as i64 - left as i64,
                        None => continue,
                    }
                }
            };
            t.actors += 1;
            first_seen.fill(usize::MAX);
            for c in 0..width {
                let at = c as i64 + offset;
                let node = (at >= 0)
                    .then(|| buf.get(at as usize))
                    .flatten()
                    .map(|v| v.node);
                match node {
                    None => t.ended[c] += 1,
                    Some(node) => {
                        t.cells[node as usize * width + c] += 1;
                        for (j, target) in targets.iter().enumerate() {
                            if *target == Some(node) && first_seen[j] == usize::MAX {
                                first_seen[j] = c;
                            }
                        }
                    }
                }
            }
            for (j, &c) in first_seen.iter().enumerate() {
                if c != usize::MAX {
                    t.target_first[j][c] += 1;
                }
            }
        }
        t
    });
    let mut all = Tally {
        actors: 0,
        cells: vec![0; nodes * width],
        ended: vec![0; width],
        target_first: vec![vec![0; width]; targets.len()],
    };
    for p in parts {
        all.actors += p.actors;
        all.cells.iter_mut().zip(p.cells).for_each(|(a, b)| *a += b);
        all.ended.iter_mut().zip(p.ended).for_each(|(a, b)| *a += b);
        for (mine, theirs) in all.target_first.iter_mut().zip(p.target_first) {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
    }
    all
}

fn shares(counts: &[u64], actors: u64) -> Vec<f64> {
    counts
        .iter()
        .map(|&n| {
            if actors > 0 {
                n as f64 / actors as f64
            } else {
                0.0
            }
        })
        .collect()
}

fn columns(options: &MatrixOptions) -> Vec<i64> {
    match &options.center {
        None => (1..=options.steps as i64).collect(),
        Some(c) => (-(c.left as i64)..=options.steps as i64).collect(),
    }
}

/// Rows by node name from a tally.
fn rows_of(frame: &Frame, options: &MatrixOptions, t: &Tally) -> HashMap<String, Vec<f64>> {
    let width = t.ended.len();
    let mut rows: HashMap<String, Vec<f64>> = t
        .cells
        .chunks(width.max(1))
        .enumerate()
        .filter(|(_, counts)| counts.iter().any(|&n| n > 0))
        .map(|(node, counts)| {
            (
                options.walk.by.label(frame, node as u32),
                shares(counts, t.actors),
            )
        })
        .collect();
    rows.insert(ENDED.into(), shares(&t.ended, t.actors));
    rows
}

fn targets_of(
    options: &MatrixOptions,
    rows: &HashMap<String, Vec<f64>>,
    t: &Tally,
) -> Vec<TargetRow> {
    let width = t.ended.len();
    options
        .targets
        .iter()
        .zip(&t.target_first)
        .map(|(name, first)| {
            let mut acc = 0;
            let cumulative = first
                .iter()
                .map(|&n| {
                    acc += n;
                    if t.actors > 0 {
                        acc as f64 / t.actors as f64
                    } else {
                        0.0
                    }
                })
                .collect();
            TargetRow {
                name: name.clone(),
                shares: rows.get(name).cloned().unwrap_or_else(|| vec![0.0; width]),
                cumulative,
            }
        })
        .collect()
}

/// Orders rows by their total share (absolute), ENDED last, and merges the rows below
/// the threshold (targets and ENDED excepted) into `THRESHOLDED_<n>`.
fn finish(
    options: &MatrixOptions,
    rows: HashMap<String, Vec<f64>>,
    width: usize,
) -> Vec<MatrixRow> {
    let mut kept = Vec::new();
    let mut merged = vec![0.0; width];
    let mut merged_n = 0;
    let mut ended = None;
    for (name, shares) in rows {
        if name == ENDED {
            ended = Some(MatrixRow { name, shares });
            continue;
        }
        let peak = shares.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        if peak < options.threshold && !options.targets.contains(&name) {
            merged.iter_mut().zip(&shares).for_each(|(a, b)| *a += b);
            merged_n += 1;
        } else {
            kept.push(MatrixRow { name, shares });
        }
    }
    let weight = |r: &MatrixRow| r.shares.iter().map(|s| s.abs()).sum::<f64>();
    kept.sort_by(|a, b| {
        weight(b)
            .total_cmp(&weight(a))
            .then_with(|| a.name.cmp(&b.name))
    });
    if merged_n > 0 {
        kept.push(MatrixRow {
            name: format!("THRESHOLDED_{merged_n}"),
            shares: merged,
        });
    }
    kept.extend(ended);
    kept
}

/// The step matrix of the kept actors (all when `keep` is `None`).
pub fn step_matrix(frame: &Frame, keep: Option<&[bool]>, options: &MatrixOptions) -> StepMatrix {
    let t = tally(frame, keep, options);
    let rows = rows_of(frame, options, &t);
    let targets = targets_of(options, &rows, &t);
    StepMatrix {
        columns: columns(options),
        actors: vec![t.actors],
        rows: finish(options, rows, t.ended.len()),
        targets,
    }
}

/// The step matrix of segment A minus that of segment B.
pub fn step_matrix_difference(
    frame: &Frame,
    a: &[bool],
    b: &[bool],
    options: &MatrixOptions,
) -> StepMatrix {
    let (ta, tb) = (
        tally(frame, Some(a), options),
        tally(frame, Some(b), options),
    );
    let width = ta.ended.len();
    let (ra, rb) = (rows_of(frame, options, &ta), rows_of(frame, options, &tb));
    let zero = vec![0.0; width];
    let mut rows: HashMap<String, Vec<f64>> = HashMap::new();
    for name in ra.keys().chain(rb.keys()) {
        let (x, y) = (ra.get(name).unwrap_or(&zero), rb.get(name).unwrap_or(&zero));
        rows.insert(name.clone(), x.iter().zip(y).map(|(p, q)| p - q).collect());
    }
    let (sa, sb) = (targets_of(options, &ra, &ta), targets_of(options, &rb, &tb));
    let targets = sa
        .into_iter()
        .zip(sb)
        .map(|(x, y)| TargetRow {
            name: x.name,
            shares: x.shares.iter().zip(&y.shares).map(|(p, q)| p - q).collect(),
            cumulative: x
                .cumulative
                .iter()
                .zip(&y.cumulative)
                .map(|(p, q)| p - q)
                .collect(),
        })
        .collect();
    StepMatrix {
        columns: columns(options),
        actors: vec![ta.actors, tb.actors],
        rows: finish(options, rows, width),
        targets,
    }
}
