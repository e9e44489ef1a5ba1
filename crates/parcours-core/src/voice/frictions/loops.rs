//! Loops: going back and forth between two touchpoints (A → B → A or B → A → B) before
//! converting, when those who do it convert less than those who visit both touchpoints
//! without. The rule is in `docs/semantics.md` ("Frictions").

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{abnormally_below, most_frequent, Ctx, Detail, Found, Measure};
use crate::frame::{is_bookkeeping, par_actors, Frame};
use crate::paths::variants::back_and_forth;
use crate::paths::{visits, Visit, Walk};
use crate::time::Micros;
use crate::transitions::NodeBy;

/// Pairs checked, the most looped first: the rest are too rare to be abnormal.
const CANDIDATES: usize = 50;

/// What a walk needs, shareable between threads.
#[derive(Clone, Copy)]
struct Walker<'f> {
    frame: &'f Frame,
    conversion: u32,
    from: Option<Micros>,
    to: Option<Micros>,
}

impl Walker<'_> {
    /// Actor `a`'s touchpoint visits before its first conversion in the period, and
    /// whether it converted.
    fn walk(&self, a: usize, buf: &mut Vec<Visit>) -> bool {
        let frame = self.frame;
        let (names, ts, kinds) = (frame.name(), frame.ts(), frame.kind());
        let first = frame.actor_range(a).find(|&i| {
            names[i] == self.conversion
                && !is_bookkeeping(kinds[i])
                && self.from.is_none_or(|f| ts[i] >= f)
                && self.to.is_none_or(|t| ts[i] < t)
        });
        let walk = Walk {
            by: NodeBy::Touchpoint,
            collapse: true,
            from: self.from,
            to: first.map(|i| ts[i]).or(self.to),
        };
        visits(frame, &walk, a, buf);
        first.is_some()
    }
}

pub(super) fn loops(ctx: &Ctx, out: &mut Vec<Found>) {
    let frame = ctx.frame;
    let Some(conversion) = frame.names().get(&ctx.opts.conversion) else {
        return;
    };
    let keep = ctx.keep;
    let walker = Walker {
        frame,
        conversion,
        from: ctx.opts.feedback.from,
        to: ctx.opts.feedback.to,
    };
    // Unordered pair → each looping actor once: (actor, row of its first return,
    // converted); and the loops by direction.
    type Loopers = Vec<(usize, usize, bool)>;
    type Found1 = (HashMap<(u32, u32), Loopers>, HashMap<(u32, u32), u64>);
    let parts: Vec<Found1> = par_actors(frame, 0, keep, |actors| {
        let mut loopers: HashMap<(u32, u32), Loopers> = HashMap::new();
        let mut directions: HashMap<(u32, u32), u64> = HashMap::new();
        let mut buf = Vec::new();
        let mut seen: HashSet<(u32, u32)> = HashSet::new();
        for a in actors.filter(|&a| keep.is_none_or(|k| k[a])) {
            let converted = walker.walk(a, &mut buf);
            seen.clear();
            back_and_forth(&buf, |x, y, row| {
                let pair = (x.min(y), x.max(y));
                if seen.insert(pair) {
                    loopers.entry(pair).or_default().push((a, row, converted));
                    *directions.entry((x, y)).or_default() += 1;
                }
            });
        }
        (loopers, directions)
    });
    // Parts are in actor order, so each pair's loopers stay in actor order.
    let mut loopers: HashMap<(u32, u32), Loopers> = HashMap::new();
    let mut directions: HashMap<(u32, u32), u64> = HashMap::new();
    for (l, d) in parts {
        for (k, v) in l {
            loopers.entry(k).or_default().extend(v);
        }
        for (k, v) in d {
            *directions.entry(k).or_default() += v;
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
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut others = vec![(0u64, 0u64); index.len()];
        let mut nodes: Vec<u32> = Vec::new();
        let mut buf = Vec::new();
        for a in actors.filter(|&a| keep.is_none_or(|k| k[a])) {
            let converted = walker.walk(a, &mut buf);
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
        others
    });
    let mut others = vec![(0u64, 0u64); candidates.len()];
    for p in parts {
        for (o, q) in others.iter_mut().zip(p) {
            o.0 += q.0;
            o.1 += q.1;
        }
    }
    let mov = ctx.mean_order_value();
    for (((x, y), l), (n2, x2)) in candidates.into_iter().zip(others) {
        let n1 = l.len() as f64;
        let x1 = l.iter().filter(|c| c.2).count() as f64;
        let (n2, x2) = (n2 as f64, x2 as f64);
        if n2 < min as f64 || !abnormally_below(x1, n1, x2, n2) {
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
