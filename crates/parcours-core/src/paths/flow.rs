//! Flows: the nodes actors visit step by step after (or before) an anchor, with the rare
//! nodes of each step grouped as `other` — the data of a Sankey diagram.

use std::collections::HashMap;

use serde::Serialize;

use super::{visits, Visit, Walk, NO_ANCHOR};
use crate::frame::{par_actors, Frame, FxBuild};
use crate::time::{Micros, MICROS_PER_SECOND};
use crate::transitions::{median, NodeBy};

/// The most steps a flow follows.
pub const MAX_STEPS: usize = 20;
/// The node id of `other`.
const OTHER: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Forward,
    Backward,
}

#[derive(Debug, Clone)]
pub struct FlowOptions {
    pub walk: Walk,
    pub direction: Direction,
    /// Steps after (before) the anchor, 1 to 20.
    pub steps: usize,
    /// Nodes kept by name at each step; the others are `other`.
    pub top: usize,
}

impl Default for FlowOptions {
    fn default() -> FlowOptions {
        FlowOptions {
            walk: Walk::default(),
            direction: Direction::Forward,
            steps: 5,
            top: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub direction: Direction,
    pub by: NodeBy,
    /// Actors with an anchor.
    pub actors: u64,
    pub steps: usize,
    /// Per step (0 = the anchor), the most visited first, `other` last.
    pub nodes: Vec<FlowNode>,
    /// From step k to step k + 1 (backward: to the visit before), the most followed first.
    pub links: Vec<FlowLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowNode {
    pub step: usize,
    pub name: String,
    pub actors: u64,
    /// Actors whose path stops here.
    pub ended: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowLink {
    /// The step of the source; the target is at `step + 1`.
    pub step: usize,
    pub source: String,
    pub target: String,
    pub actors: u64,
    /// Median time between the two visits, in seconds.
    pub median_s: f64,
}

/// The visits of actor `a` from its anchor, in step order (at most `steps + 1`).
/// Writes into `path` the visits of actor `a` from its anchor, in step order (at most
/// `steps + 1`); `false` when the actor has no anchor. `buf` and `path` are reused from
/// actor to actor.
fn walk(
    frame: &Frame,
    options: &FlowOptions,
    anchor: u32,
    a: usize,
    buf: &mut Vec<Visit>,
    path: &mut Vec<Visit>,
) -> bool {
    path.clear();
    if anchor == NO_ANCHOR {
        return false;
    }
    visits(frame, &options.walk, a, buf);
    let row = anchor as usize;
    let Some(at) = buf.iter().position(|v| v.first <= row && row <= v.last) else {
        return false;
    };
    let n = options.steps + 1;
    match options.direction {
        Direction::Forward => path.extend(buf[at..].iter().take(n)),
        Direction::Backward => path.extend(buf[..=at].iter().rev().take(n)),
    }
    true
}

/// The flow of the actors with an anchor (`anchors[a]`, a frame row, or [`NO_ANCHOR`]).
pub fn flow(frame: &Frame, anchors: &[u32], options: &FlowOptions) -> Flow {
    let steps = options.steps.clamp(1, MAX_STEPS);
    let options = FlowOptions {
        steps,
        ..options.clone()
    };
    // Pass 1: actors per node and step, to keep the top nodes of each step.
    let counts = par_actors(frame, 0, None, |actors| {
        let mut counts: Vec<HashMap<u32, u64, FxBuild>> = vec![HashMap::default(); steps + 1];
        let (mut buf, mut path) = (Vec::new(), Vec::new());
        for a in actors {
            if walk(frame, &options, anchors[a], a, &mut buf, &mut path) {
                for (k, v) in path.iter().enumerate() {
                    *counts[k].entry(v.node).or_default() += 1;
                }
            }
        }
        counts
    });
    let mut per_step: Vec<HashMap<u32, u64, FxBuild>> = vec![HashMap::default(); steps + 1];
    for part in counts {
        for (k, m) in part.into_iter().enumerate() {
            for (node, n) in m {
                *per_step[k].entry(node).or_default() += n;
            }
        }
    }
    let kept: Vec<HashMap<u32, (), FxBuild>> = per_step
        .iter()
        .map(|m| {
            let mut v: Vec<(u32, u64)> = m.iter().map(|(&k, &n)| (k, n)).collect();
            v.sort_by(|a, b| {
                b.1.cmp(&a.1).then_with(|| {
                    options
                        .walk
                        .by
                        .label(frame, a.0)
                        .cmp(&options.walk.by.label(frame, b.0))
                })
            });
            v.into_iter()
                .take(options.top)
                .map(|(k, _)| (k, ()))
                .collect()
        })
        .collect();
    let group = |k: usize, node: u32| {
        if kept[k].contains_key(&node) {
            node
        } else {
            OTHER
        }
    };

    // Pass 2: nodes, ends and links with the grouping.
    type Links = HashMap<(usize, u32, u32), Vec<Micros>, FxBuild>;
    type Nodes = HashMap<(usize, u32), (u64, u64), FxBuild>;
    let parts = par_actors(frame, 0, None, |actors| {
        let mut nodes: Nodes = HashMap::default();
        let mut links: Links = HashMap::default();
        let mut actors_in = 0u64;
        let (mut buf, mut path) = (Vec::new(), Vec::new());
        let ts = frame.ts();
        for a in actors {
            if !walk(frame, &options, anchors[a], a, &mut buf, &mut path) {
                continue;
            }
            actors_in += 1;
            // A path shorter than the horizon ended at its last visit; one that reaches
            // the last step may go on beyond it.
            let ended_at = (path.len() <= steps).then(|| path.len() - 1);
            for (k, v) in path.iter().enumerate() {
                let e = nodes.entry((k, group(k, v.node))).or_default();
                e.0 += 1;
                if ended_at == Some(k) {
                    e.1 += 1;
                }
                if let Some(next) = path.get(k + 1) {
                    let gap = match options.direction {
                        Direction::Forward => ts[next.first] - ts[v.last],
                        Direction::Backward => ts[v.first] - ts[next.last],
                    };
                    links
                        .entry((k, group(k, v.node), group(k + 1, next.node)))
                        .or_default()
                        .push(gap);
                }
            }
        }
        (nodes, links, actors_in)
    });
    let mut nodes: Nodes = HashMap::default();
    let mut links: Links = HashMap::default();
    let mut actors = 0;
    for (n, l, c) in parts {
        actors += c;
        for (k, v) in n {
            let e = nodes.entry(k).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        for (k, v) in l {
            links.entry(k).or_default().extend(v);
        }
    }
    let name = |id: u32| {
        if id == OTHER {
            "other".to_string()
        } else {
            options.walk.by.label(frame, id)
        }
    };
    let mut node_list: Vec<(usize, u32, FlowNode)> = nodes
        .into_iter()
        .map(|((step, id), (n, ended))| {
            (
                step,
                id,
                FlowNode {
                    step,
                    name: name(id),
                    actors: n,
                    ended,
                },
            )
        })
        .collect();
    node_list.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| (a.1 == OTHER).cmp(&(b.1 == OTHER)))
            .then_with(|| b.2.actors.cmp(&a.2.actors))
            .then_with(|| a.2.name.cmp(&b.2.name))
    });
    let mut link_list: Vec<FlowLink> = links
        .into_iter()
        .map(|((step, s, t), mut gaps)| FlowLink {
            step,
            source: name(s),
            target: name(t),
            actors: gaps.len() as u64,
            median_s: median(&mut gaps) / MICROS_PER_SECOND as f64,
        })
        .collect();
    link_list.sort_by(|a, b| {
        a.step
            .cmp(&b.step)
            .then_with(|| b.actors.cmp(&a.actors))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.target.cmp(&b.target))
    });
    Flow {
        direction: options.direction,
        by: options.walk.by,
        actors,
        steps,
        nodes: node_list.into_iter().map(|(_, _, n)| n).collect(),
        links: link_list,
    }
}
