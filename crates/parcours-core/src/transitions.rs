//! The transition graph: which touch directly follows which, how often, for how many
//! actors, and how long it takes. The rules are in `docs/semantics.md` ("Transitions").

use std::collections::HashMap;

use serde::Serialize;

use crate::frame::{is_bookkeeping, Frame, FxBuild};
use crate::time::{Micros, MICROS_PER_SECOND};

/// What a node of the graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeBy {
    Name,
    Touchpoint,
    Channel,
}

impl NodeBy {
    pub fn parse(text: &str) -> Result<NodeBy, String> {
        match text {
            "name" | "event" => Ok(NodeBy::Name),
            "touchpoint" => Ok(NodeBy::Touchpoint),
            "channel" => Ok(NodeBy::Channel),
            _ => Err(format!(
                "unknown node `{text}` (expected name, touchpoint or channel)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TransitionOptions {
    pub by: NodeBy,
    /// Skip a step to the same node (A → A).
    pub collapse_repeats: bool,
    /// Only transitions whose first event is at or after / before these times.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    /// Edges listed, the most frequent first.
    pub top: usize,
}

impl Default for TransitionOptions {
    fn default() -> TransitionOptions {
        TransitionOptions {
            by: NodeBy::Name,
            collapse_repeats: true,
            from: None,
            to: None,
            top: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionGraph {
    pub by: NodeBy,
    pub transitions: u64,
    /// Distinct edges in the data (the list below keeps the `top` most frequent).
    pub edges_total: u64,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub transitions: u64,
    pub actors: u64,
    /// Share of the transitions leaving `from` that go to `to`.
    pub share_of_from: f64,
    pub median_s: f64,
}

#[derive(Default)]
struct EdgeTally {
    transitions: u64,
    actors: u64,
    last_actor: Option<u32>,
    gaps: Vec<Micros>,
}

impl NodeBy {
    /// The node of frame row `i`.
    pub fn node(self, frame: &Frame, i: usize) -> u32 {
        match self {
            NodeBy::Name => frame.name()[i],
            NodeBy::Touchpoint => frame.touchpoint()[i],
            NodeBy::Channel => frame.channel()[i] as u32,
        }
    }

    /// The name of node `id`.
    pub fn label(self, frame: &Frame, id: u32) -> String {
        self.dict(frame).name(id).to_string()
    }

    /// The id of the node named `name`, if any.
    pub fn id(self, frame: &Frame, name: &str) -> Option<u32> {
        self.dict(frame).get(name)
    }

    /// How many nodes there are.
    pub fn count(self, frame: &Frame) -> usize {
        self.dict(frame).len()
    }

    fn dict(self, frame: &Frame) -> &crate::frame::Dict {
        match self {
            NodeBy::Name => frame.names(),
            NodeBy::Touchpoint => frame.touchpoints(),
            NodeBy::Channel => frame.channels(),
        }
    }
}

/// Edge tallies, compact, in the order edges were first met; found through a dense table
/// of edge numbers when the nodes are few (event names, channels: 4 bytes per pair of
/// nodes rather than a whole tally, so the table stays in cache), through a map otherwise
/// (touchpoints).
struct Tallies {
    nodes: usize,
    index: EdgeIndex,
    edges: Vec<((u32, u32), EdgeTally)>,
}

enum EdgeIndex {
    Dense(Vec<u32>),
    Sparse(HashMap<(u32, u32), u32, FxBuild>),
}

impl Tallies {
    fn new(nodes: usize) -> Tallies {
        let index = if nodes <= 1024 {
            EdgeIndex::Dense(vec![u32::MAX; nodes * nodes])
        } else {
            EdgeIndex::Sparse(HashMap::default())
        };
        Tallies {
            nodes,
            index,
            edges: Vec::new(),
        }
    }

    fn get(&mut self, from: u32, to: u32) -> &mut EdgeTally {
        let next = self.edges.len() as u32;
        let slot = match &mut self.index {
            EdgeIndex::Dense(cells) => &mut cells[from as usize * self.nodes + to as usize],
            EdgeIndex::Sparse(map) => map.entry((from, to)).or_insert(u32::MAX),
        };
        if *slot == u32::MAX {
            *slot = next;
            self.edges.push(((from, to), EdgeTally::default()));
        }
        &mut self.edges[*slot as usize].1
    }

    /// Adds the tallies of other actors.
    fn absorb(&mut self, other: Tallies) {
        for ((from, to), e) in other.into_edges() {
            let mine = self.get(from, to);
            mine.transitions += e.transitions;
            mine.actors += e.actors;
            mine.gaps.extend(e.gaps);
        }
    }

    fn into_edges(self) -> Vec<((u32, u32), EdgeTally)> {
        self.edges
    }
}

fn tally(
    frame: &Frame,
    options: &TransitionOptions,
    nodes: usize,
    actors: std::ops::Range<usize>,
) -> (Tallies, u64) {
    let ts = frame.ts();
    let kinds = frame.kind();
    let mut tallies = Tallies::new(nodes);
    let mut total = 0u64;
    for a in actors {
        let mut prev: Option<usize> = None;
        for i in frame.actor_range(a) {
            if is_bookkeeping(kinds[i]) {
                continue;
            }
            let Some(p) = prev else {
                prev = Some(i);
                continue;
            };
            let (from, to) = (options.by.node(frame, p), options.by.node(frame, i));
            if options.collapse_repeats && from == to {
                // A run of one node is one visit: the next transition leaves its last event.
                prev = Some(i);
                continue;
            }
            prev = Some(i);
            let t = ts[p];
            if options.from.is_some_and(|f| t < f) || options.to.is_some_and(|e| t >= e) {
                continue;
            }
            let e = tallies.get(from, to);
            e.transitions += 1;
            if e.last_actor != Some(a as u32) {
                e.actors += 1;
                e.last_actor = Some(a as u32);
            }
            e.gaps.push(ts[i] - t);
            total += 1;
        }
    }
    (tallies, total)
}

/// The median by selection (linear interpolation between the two middle values).
pub(crate) fn median(values: &mut [Micros]) -> f64 {
    let n = values.len();
    let hi = n / 2;
    let (_, &mut upper, _) = values.select_nth_unstable(hi);
    if n % 2 == 1 {
        return upper as f64;
    }
    let lower = *values[..hi].iter().max().expect("n >= 2");
    (lower as f64 + upper as f64) / 2.0
}

/// The directly-follows graph of every actor's events (identify, group and alias
/// messages skipped), actors tallied in parallel.
pub fn transition_graph(frame: &Frame, options: &TransitionOptions) -> TransitionGraph {
    let nodes = options.by.count(frame);
    let parts = crate::frame::par_actors(frame, 0, None, |actors| {
        tally(frame, options, nodes, actors)
    });
    let mut total = 0u64;
    let mut tallies: Option<Tallies> = None;
    for (part, n) in parts {
        total += n;
        match &mut tallies {
            None => tallies = Some(part),
            // Parts hold different actors: counts of actors add up.
            Some(t) => t.absorb(part),
        }
    }
    let tallies = tallies.unwrap_or_else(|| Tallies::new(nodes));
    let edges = tallies.into_edges();
    let mut leaving: HashMap<u32, u64, FxBuild> = HashMap::default();
    for ((from, _), e) in &edges {
        *leaving.entry(*from).or_default() += e.transitions;
    }
    let edges_total = edges.len() as u64;
    let mut list: Vec<Edge> = edges
        .into_iter()
        .map(|((from, to), mut e)| Edge {
            from: options.by.label(frame, from),
            to: options.by.label(frame, to),
            transitions: e.transitions,
            actors: e.actors,
            share_of_from: e.transitions as f64 / leaving[&from] as f64,
            median_s: median(&mut e.gaps) / MICROS_PER_SECOND as f64,
        })
        .collect();
    list.sort_by(|a, b| {
        b.transitions
            .cmp(&a.transitions)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    list.truncate(options.top);
    TransitionGraph {
        by: options.by,
        transitions: total,
        edges_total,
        edges: list,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_interpolates_between_the_middle_values() {
        assert_eq!(median(&mut [5, 1, 3]), 3.0);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2.5);
        assert_eq!(median(&mut [7]), 7.0);
    }
}
