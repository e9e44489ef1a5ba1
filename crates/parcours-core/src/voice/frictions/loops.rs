//! Loops: going back and forth between two touchpoints (A → B → A or B → A → B) before
//! converting, when those who do it convert less than those who visit both touchpoints
//! without. The rule is in `docs/semantics.md` ("Frictions").

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{most_frequent, z_above, Ctx, Detail, Found, Measure, Z_ABNORMAL};
use crate::paths::{visits, Visit, Walk};
use crate::transitions::NodeBy;

/// Pairs checked, the most looped first: the rest are too rare to be abnormal.
const CANDIDATES: usize = 50;

/// One actor's touchpoint visits before its first conversion, and whether it converted.
fn walk_actor(ctx: &Ctx, conversion: u32, a: usize, buf: &mut Vec<Visit>) -> bool {
    let frame = ctx.frame;
    let (names, ts) = (frame.name(), frame.ts());
    let first = ctx
        .rows(a)
        .find(|&i| names[i] == conversion && ctx.in_range(ts[i]));
    let f = &ctx.opts.feedback;
    let walk = Walk {
        by: NodeBy::Touchpoint,
        collapse: true,
        from: f.from,
        to: first.map(|i| ts[i]).or(f.to),
    };
    visits(frame, &walk, a, buf);
    first.is_some()
}

pub(super) fn loops(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let Some(conversion) = frame.names().get(&ctx.opts.conversion) else {
        return;
    };
    // Unordered pair → each looping actor once: (actor, row of its first return,
    // converted); and the loops by direction.
    type Loopers = Vec<(usize, usize, bool)>;
    let mut loopers: HashMap<(u32, u32), Loopers> = HashMap::new();
    let mut directions: HashMap<(u32, u32), u64> = HashMap::new();
    let mut buf = Vec::new();
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    for a in (0..frame.actor_count()).filter(|&a| ctx.kept(a)) {
        let converted = walk_actor(ctx, conversion, a, &mut buf);
        seen.clear();
        for w in buf.windows(3) {
            let (x, y) = (w[0].node, w[1].node);
            if w[2].node != x || x == y {
                continue;
            }
            let pair = (x.min(y), x.max(y));
            if seen.insert(pair) {
                loopers
                    .entry(pair)
                    .or_default()
                    .push((a, w[2].first, converted));
                *directions.entry((x, y)).or_default() += 1;
            }
        }
    }
    let min = ctx.opts.min_actors.max(1) as usize;
    let mut candidates: Vec<((u32, u32), Loopers)> = loopers
        .into_iter()
        .filter(|(_, l)| l.len() >= min)
        .collect();
    let label = |id: u32| frame.touchpoints().name(id).to_string();
    candidates.sort_by(|a, b| {
        b.1.len()
            .cmp(&a.1.len())
            .then_with(|| (label(a.0 .0), label(a.0 .1)).cmp(&(label(b.0 .0), label(b.0 .1))))
    });
    candidates.truncate(CANDIDATES);
    if candidates.is_empty() {
        return;
    }
    // Those who visited both touchpoints of a pair without looping between them: actors,
    // converted. Ordered, so that the pass is deterministic.
    let index: BTreeMap<(u32, u32), usize> = candidates
        .iter()
        .enumerate()
        .map(|(j, (p, _))| (*p, j))
        .collect();
    let looping: Vec<HashSet<usize>> = candidates
        .iter()
        .map(|(_, l)| l.iter().map(|&(a, _, _)| a).collect())
        .collect();
    let mut others = vec![(0u64, 0u64); candidates.len()];
    let mut nodes: Vec<u32> = Vec::new();
    for a in (0..frame.actor_count()).filter(|&a| ctx.kept(a)) {
        let converted = walk_actor(ctx, conversion, a, &mut buf);
        nodes.clear();
        nodes.extend(buf.iter().map(|v| v.node));
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.len() < 2 {
            continue;
        }
        for (&(x, y), &j) in &index {
            if nodes.binary_search(&x).is_ok()
                && nodes.binary_search(&y).is_ok()
                && !looping[j].contains(&a)
            {
                others[j].0 += 1;
                others[j].1 += u64::from(converted);
            }
        }
    }
    let mov = ctx.mean_order_value();
    for (((x, y), l), (n2, x2)) in candidates.into_iter().zip(others) {
        let n1 = l.len() as f64;
        let x1 = l.iter().filter(|c| c.2).count() as f64;
        let (n2, x2) = (n2 as f64, x2 as f64);
        if n2 < min as f64 || z_above(x2, n2, x1, n1).is_none_or(|z| z < Z_ABNORMAL) {
            continue;
        }
        let (p1, p2) = (x1 / n1, x2 / n2);
        // Named in alphabetical order, whichever came first.
        let (x, y) = if label(x) <= label(y) { (x, y) } else { (y, x) };
        let (a_label, b_label) = (label(x), label(y));
        let cases: Vec<(usize, usize)> =
            l.iter().filter(|c| !c.2).map(|&(a, i, _)| (a, i)).collect();
        let mut stages: HashMap<String, u64> = HashMap::new();
        for &(a, i) in &cases {
            *stages.entry(ctx.stage_at(a, i)).or_default() += 1;
        }
        let excess = n1 * (p2 - p1);
        let way = |from: u32, via: u32, from_l: &str, via_l: &str| {
            let count = directions.get(&(from, via)).copied().unwrap_or(0);
            Detail {
                label: format!("{from_l} → {via_l} → {from_l}"),
                count,
                share: count as f64 / n1,
                lift: None,
            }
        };
        let mut details = vec![way(x, y, &a_label, &b_label), way(y, x, &b_label, &a_label)];
        details.retain(|d| d.count > 0);
        details.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
        out.push(Found {
            kind: "loop",
            title: format!(
                "back and forth {a_label} ↔ {b_label}: {:.0}% of the {n1} who do it convert, {:.0}% of the {n2} who visit both without",
                100.0 * p1,
                100.0 * p2
            ),
            stage: most_frequent(stages),
            touchpoint: format!("{a_label} ↔ {b_label}"),
            cases,
            revenue_at_stake: mov.map(|v| excess * v),
            method: format!(
                "conversions missing among those who loop, at the rate of those who do not ({excess:.0}) × mean order value"
            ),
            measure: Measure {
                name: format!("conversion ({}) of those who loop", ctx.opts.conversion),
                value: p1,
                baseline: Some(p2),
                target: None,
                unit: "share",
            },
            details,
            quotes: Vec::new(),
        });
    }
}
