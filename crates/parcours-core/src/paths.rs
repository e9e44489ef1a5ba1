//! Paths: the sequences of events actors take. Today, the most frequent sequences of
//! the events that follow a starting event; the full path explorer (forward, backward,
//! step matrix, Sankey) builds on it.

use std::collections::HashMap;

use serde::Serialize;

use crate::frame::{is_bookkeeping, Frame, FxBuild};

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
