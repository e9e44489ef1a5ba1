//! Paths: the sequences of nodes (event names, touchpoints or channels) actors take —
//! flows forward and backward from an anchor ([`flow`]), the step matrix ([`matrix`]),
//! variants and back-and-forth loops ([`variants`]), and the most frequent sequences
//! after a starting event. The rules are in `docs/semantics.md` ("Paths").

pub mod flow;
pub mod matrix;
pub mod variants;

use std::collections::HashMap;

use serde::Serialize;

use crate::frame::{is_bookkeeping, Frame, FxBuild};
use crate::time::Micros;
use crate::transitions::NodeBy;

/// One visit of an actor's node sequence: a node and the frame rows of its first and
/// last event (the same row unless repeats are collapsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub node: u32,
    pub first: usize,
    pub last: usize,
}

/// Which events a path reads: the node, collapsing, and a time range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Walk {
    pub by: NodeBy,
    pub collapse: bool,
    /// Events at or after this time.
    pub from: Option<Micros>,
    /// Events before this time.
    pub to: Option<Micros>,
}

impl Default for Walk {
    fn default() -> Walk {
        Walk {
            by: NodeBy::Name,
            collapse: true,
            from: None,
            to: None,
        }
    }
}

/// Writes actor `a`'s node sequence into `out` (cleared first): bookkeeping messages and
/// events outside the range skipped, a run of the same node one visit when collapsing.
pub fn visits(frame: &Frame, walk: &Walk, a: usize, out: &mut Vec<Visit>) {
    out.clear();
    let (kinds, ts) = (frame.kind(), frame.ts());
    let by = walk.by;
    for i in frame.actor_range(a) {
        if is_bookkeeping(kinds[i])
            || walk.from.is_some_and(|f| ts[i] < f)
            || walk.to.is_some_and(|t| ts[i] >= t)
        {
            continue;
        }
        let node = by.node(frame, i);
        match out.last_mut() {
            Some(v) if walk.collapse && v.node == node => v.last = i,
            _ => out.push(Visit {
                node,
                first: i,
                last: i,
            }),
        }
    }
}

/// Which occurrence of a matching event anchors a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    /// The n-th (1-based).
    Nth(usize),
    Last,
}

impl Occurrence {
    pub fn parse(text: &str) -> Result<Occurrence, String> {
        match text {
            "first" => Ok(Occurrence::Nth(1)),
            "last" => Ok(Occurrence::Last),
            n => match n.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Occurrence::Nth(k)),
                _ => Err(format!("`{text}`: expected first, last or a number from 1")),
            },
        }
    }
}

/// No anchor for this actor.
pub const NO_ANCHOR: u32 = u32::MAX;

/// Per actor, the frame row of the chosen occurrence of an event for which `matches`
/// holds (bookkeeping messages never match), or [`NO_ANCHOR`].
pub fn anchors(frame: &Frame, matches: impl Fn(usize) -> bool, occurrence: Occurrence) -> Vec<u32> {
    let kinds = frame.kind();
    (0..frame.actor_count())
        .map(|a| {
            let mut rows = frame
                .actor_range(a)
                .filter(|&i| !is_bookkeeping(kinds[i]) && matches(i));
            let row = match occurrence {
                Occurrence::Nth(n) => rows.nth(n - 1),
                Occurrence::Last => rows.last(),
            };
            row.map_or(NO_ANCHOR, |i| i as u32)
        })
        .collect()
}

/// How often one sequence of event names was followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathCount {
    pub events: Vec<String>,
    pub actors: u64,
}

/// Up to 8 name ids packed into one key.
type Key = [u32; 8];

/// For each actor, the first event for which `start(i)` holds, then the `length` events
/// that follow it (identify, group and alias messages skipped); actors with fewer
/// events after the start are left out. Returns the `top` most frequent sequences,
/// ties by the names in order. `length` is at most 8.
pub fn top_paths_after(
    frame: &Frame,
    start: &(dyn Fn(usize) -> bool + Sync),
    length: usize,
    top: usize,
    threads: usize,
) -> Vec<PathCount> {
    assert!((1..=8).contains(&length), "paths of 1 to 8 events");
    let actors = frame.actor_count();
    let threads = threads.max(1).min(actors.max(1));
    let chunk = actors.div_ceil(threads);
    let parts: Vec<HashMap<Key, u64, FxBuild>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let lo = (t * chunk).min(actors);
                let hi = ((t + 1) * chunk).min(actors);
                scope.spawn(move || count_paths(frame, start, length, lo..hi))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("paths worker panicked"))
            .collect()
    });
    let mut total: HashMap<Key, u64, FxBuild> = HashMap::default();
    for part in parts {
        for (k, n) in part {
            *total.entry(k).or_default() += n;
        }
    }
    let names = frame.names();
    let mut rows: Vec<PathCount> = total
        .into_iter()
        .map(|(key, actors)| PathCount {
            events: key[..length]
                .iter()
                .map(|&id| names.name(id).to_string())
                .collect(),
            actors,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.actors
            .cmp(&a.actors)
            .then_with(|| a.events.cmp(&b.events))
    });
    rows.truncate(top);
    rows
}

fn count_paths(
    frame: &Frame,
    start: &(dyn Fn(usize) -> bool + Sync),
    length: usize,
    actors: std::ops::Range<usize>,
) -> HashMap<Key, u64, FxBuild> {
    let (names, kinds) = (frame.name(), frame.kind());
    let mut counts: HashMap<Key, u64, FxBuild> = HashMap::default();
    for a in actors {
        let range = frame.actor_range(a);
        let Some(first) = range.clone().find(|&i| start(i)) else {
            continue;
        };
        let mut key = [u32::MAX; 8];
        let mut n = 0;
        for i in first + 1..range.end {
            if is_bookkeeping(kinds[i]) {
                continue;
            }
            key[n] = names[i];
            n += 1;
            if n == length {
                *counts.entry(key).or_default() += 1;
                break;
            }
        }
    }
    counts
}
