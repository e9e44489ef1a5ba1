//! Frictions along a journey: **drop-off** between two required stages and **long
//! dwell** on the way from one to the next, each against the stage's target when the
//! journey sets one (`target_conversion`, `target_time`), else against the journey's
//! own history (the latest matured entry cohort against the earlier ones). The rules are
//! in `docs/semantics.md` ("Frictions").

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{
    abnormally_above, abnormally_below, details, most_frequent, Ctx, Detail, Found, Measure,
    SLOW_SHARE,
};
use crate::journey::{Engine, JourneyDef, Outcomes, RunOptions};
use crate::stats::{human, quantile};
use crate::time::{Micros, MICROS_PER_SECOND};

/// The way from one required stage to the next.
struct Way<'d> {
    from: usize,
    to: usize,
    from_name: &'d str,
    to_name: &'d str,
    /// Attempts entered from this time on are not matured yet: they may still progress.
    matured_before: Micros,
}

/// One attempt on a way: its index in the outcomes, entry cohort, and the time taken to
/// progress (none: dropped).
#[derive(Clone, Copy)]
struct Step {
    k: usize,
    cohort: i64,
    took: Option<Micros>,
}

pub(super) fn journey_frictions(
    ctx: &Ctx,
    def: &JourneyDef,
    out: &mut Vec<Found>,
    warnings: &mut Vec<String>,
) {
    let frame = ctx.frame;
    let engine = match Engine::new(def, frame) {
        Ok(e) => e,
        Err(e) => {
            warnings.push(format!(
                "journey `{}`: property `{}` is not in the data; drop-off and dwell were not checked",
                def.name, e.0
            ));
            return;
        }
    };
    let f = &ctx.opts.feedback;
    let outcomes = engine.run(&RunOptions {
        from: f.from,
        to: f.to,
        actors: ctx.keep.map(<[bool]>::to_vec),
        ..RunOptions::default()
    });
    if outcomes.is_empty() {
        warnings.push(format!(
            "journey `{}`: nobody entered it in the period; drop-off and dwell were not checked",
            def.name
        ));
        return;
    }
    // The data end where the period does not: attempts are matured against it.
    let last_ts = frame.ts().iter().copied().max().unwrap_or(0);
    let end = f.to.map_or(last_ts + 1, |t| t.min(last_ts + 1));
    let required: Vec<usize> = (0..def.stages.len())
        .filter(|&s| !def.stages[s].optional)
        .collect();
    let last = *required.last().expect("validated: one stage is required");
    for w in required.windows(2) {
        let (from, to) = (w[0], w[1]);
        // How long an attempt may take to get to `to`: the journey's window, else the
        // 99th percentile of the time it took those who did (none when nobody did).
        let horizon = match def.window {
            Some(span) => span.micros(),
            None => {
                let mut took: Vec<Micros> = (0..outcomes.len())
                    .filter_map(|k| Some(outcomes.stage_time(k, to)? - outcomes.entry_ts[k]))
                    .collect();
                took.sort_unstable();
                // Nobody got there: there is nothing to wait for.
                if took.is_empty() {
                    0
                } else {
                    quantile(&took, 0.99) as Micros
                }
            }
        };
        let way = Way {
            from,
            to,
            from_name: &def.stages[from].name,
            to_name: &def.stages[to].name,
            matured_before: end.saturating_sub(horizon),
        };
        let steps: Vec<Step> = (0..outcomes.len())
            .filter_map(|k| {
                let t = outcomes.stage_time(k, from)?;
                Some(Step {
                    k,
                    cohort: ctx.opts.period.index(outcomes.entry_ts[k]),
                    took: outcomes.stage_time(k, to).map(|u| u - t),
                })
            })
            .collect();
        let value = value_of_reaching(ctx, &outcomes, to, last);
        let stage = &def.stages[to];
        match stage.target_conversion {
            Some(target) => drop_off_target(ctx, &way, &outcomes, &steps, target, value, out),
            None => drop_off_history(ctx, &way, &outcomes, &steps, value, out),
        }
        match stage.target_time {
            Some(target) => dwell_target(ctx, &way, &outcomes, &steps, target.micros(), out),
            None => dwell_history(ctx, &way, &outcomes, &steps, out),
        }
    }
}

/// What reaching stage `to` is worth: the revenue of the actors who went on to complete
/// the journey, per actor who reached `to`; else, without revenue in the data, the mean
/// order value × the share of them who completed.
fn value_of_reaching(ctx: &Ctx, o: &Outcomes, to: usize, last: usize) -> Option<(f64, String)> {
    let (mut reached, mut completed, mut revenue) = (0u64, 0u64, 0.0);
    let mut counted: HashSet<u32> = HashSet::new();
    for k in (0..o.len()).filter(|&k| o.stage_time(k, to).is_some()) {
        reached += 1;
        if o.stage_time(k, last).is_some() {
            completed += 1;
            // An actor's revenue once, however many of its attempts completed.
            if counted.insert(o.actor[k]) {
                revenue += ctx.revenue[o.actor[k] as usize];
            }
        }
    }
    if reached == 0 {
        return None;
    }
    if revenue > 0.0 {
        return Some((
            revenue / reached as f64,
            "revenue of those who completed the journey, per actor who reached the stage".into(),
        ));
    }
    let mov = ctx.mean_order_value()?;
    Some((
        mov * completed as f64 / reached as f64,
        "mean order value × share of those reaching the stage who completed the journey".into(),
    ))
}

/// The latest entry cohort whose attempts have all had the time to progress, and the
/// matured steps before it; `None` without both.
fn latest_and_before<'s>(
    way: &Way,
    o: &Outcomes,
    steps: &'s [Step],
) -> Option<(i64, Vec<&'s Step>, Vec<&'s Step>)> {
    let matured: Vec<&Step> = steps
        .iter()
        .filter(|s| o.entry_ts[s.k] < way.matured_before)
        .collect();
    let latest = matured.iter().map(|s| s.cohort).max()?;
    let (now, before): (Vec<&Step>, Vec<&Step>) =
        matured.into_iter().partition(|s| s.cohort == latest);
    (!before.is_empty()).then_some((latest, now, before))
}

fn progressed(steps: &[&Step]) -> f64 {
    steps.iter().filter(|s| s.took.is_some()).count() as f64
}

/// Progression per entry cohort, oldest first, as details.
fn cohort_rates(ctx: &Ctx, steps: &[&Step]) -> Vec<Detail> {
    let mut by: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for s in steps {
        let e = by.entry(s.cohort).or_default();
        e.0 += 1;
        e.1 += u64::from(s.took.is_some());
    }
    by.into_iter()
        .map(|(c, (n, x))| Detail {
            label: format!(
                "entered {}: {:.0}% progressed",
                ctx.opts.period.label_of(c),
                100.0 * x as f64 / n as f64
            ),
            count: n,
            share: x as f64 / n as f64,
            lift: None,
        })
        .collect()
}

/// Where those who dropped left: the last event of the session they were in when they
/// completed `from` (survey answers apart), and its touchpoint.
fn where_they_left(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    dropped: &[&Step],
) -> (Vec<(usize, usize)>, Vec<Detail>, String) {
    let ts = ctx.frame.ts();
    let mut cases = Vec::with_capacity(dropped.len());
    let mut labels: HashMap<String, u64> = HashMap::new();
    let mut touchpoints: HashMap<&str, u64> = HashMap::new();
    for s in dropped {
        let a = o.actor[s.k] as usize;
        let Some(at) = o.stage_row(s.k, way.from, ts) else {
            continue;
        };
        let at = at as usize;
        let in_attempt = ctx
            .rows(a)
            .filter(|&j| j > at)
            .take_while(|&j| ts[j] <= o.end[s.k]);
        let last = ctx.left_at(at, in_attempt);
        cases.push((a, at));
        *labels
            .entry(format!("last: {}", ctx.evidence_label(last)))
            .or_default() += 1;
        *touchpoints.entry(ctx.touchpoint(last)).or_default() += 1;
    }
    let n = cases.len() as u64;
    (cases, details(labels, n, 5), most_frequent(touchpoints))
}

fn revenue_of(excess: f64, value: &Option<(f64, String)>, what: &str) -> (Option<f64>, String) {
    match value {
        Some((v, how)) => (
            Some(excess * v),
            format!("{what} ({excess:.0}) × value of reaching the next stage: {how}"),
        ),
        None => (None, String::new()),
    }
}

/// A drop-off found between two stages, by either rule.
struct DropOff<'a> {
    title: String,
    /// The attempts compared: their drop-offs are the cases.
    attempts: &'a [&'a Step],
    /// The attempts whose entry cohorts' rates are shown.
    cohorts: &'a [&'a Step],
    share: f64,
    baseline: Option<f64>,
    target: Option<f64>,
    /// Progressions missing, and what they are missing against.
    excess: f64,
    against: &'static str,
}

/// The friction of a drop-off: where those who dropped left, the entry cohorts' rates,
/// and the value of the missing progressions.
fn push_drop_off(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    d: DropOff,
    value: &Option<(f64, String)>,
    out: &mut Vec<Found>,
) {
    let dropped: Vec<&Step> = d
        .attempts
        .iter()
        .copied()
        .filter(|s| s.took.is_none())
        .collect();
    let (cases, mut last, touchpoint) = where_they_left(ctx, way, o, &dropped);
    let (revenue_at_stake, method) = revenue_of(d.excess, value, d.against);
    let mut details = cohort_rates(ctx, d.cohorts);
    details.append(&mut last);
    out.push(Found {
        kind: "drop_off",
        title: d.title,
        stage: way.from_name.to_string(),
        touchpoint,
        cases,
        revenue_at_stake,
        method,
        measure: Measure {
            name: format!(
                "share progressing from {} to {}",
                way.from_name, way.to_name
            ),
            value: d.share,
            baseline: d.baseline,
            target: d.target,
            unit: "share",
        },
        details,
        quotes: Vec::new(),
    });
}

/// The share progressing against the stage's target, over the matured attempts.
fn drop_off_target(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    steps: &[Step],
    target: f64,
    value: Option<(f64, String)>,
    out: &mut Vec<Found>,
) {
    let matured: Vec<&Step> = steps
        .iter()
        .filter(|s| o.entry_ts[s.k] < way.matured_before)
        .collect();
    let n = matured.len() as f64;
    let p = progressed(&matured) / n.max(1.0);
    if matured.is_empty() || p >= target {
        return;
    }
    let title = format!(
        "{} → {}: {:.0}% of {} progress, target {:.0}%",
        way.from_name,
        way.to_name,
        100.0 * p,
        matured.len(),
        100.0 * target
    );
    let d = DropOff {
        title,
        attempts: &matured,
        cohorts: &matured,
        share: p,
        baseline: None,
        target: Some(target),
        excess: n * (target - p),
        against: "progressions missing to reach the target",
    };
    push_drop_off(ctx, way, o, d, &value, out);
}

/// The latest matured entry cohort progressing less than the earlier ones (two-proportion
/// z ≥ 3).
fn drop_off_history(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    steps: &[Step],
    value: Option<(f64, String)>,
    out: &mut Vec<Found>,
) {
    let Some((latest, now, before)) = latest_and_before(way, o, steps) else {
        return;
    };
    let (n1, x1) = (now.len() as f64, progressed(&now));
    let (n2, x2) = (before.len() as f64, progressed(&before));
    if !abnormally_below(x1, n1, x2, n2) {
        return;
    }
    let (p1, p2) = (x1 / n1, x2 / n2);
    let title = format!(
        "{} → {}: {:.0}% of those entering in {} progress, {:.0}% before",
        way.from_name,
        way.to_name,
        100.0 * p1,
        ctx.opts.period.label_of(latest),
        100.0 * p2
    );
    let all: Vec<&Step> = before.iter().chain(&now).copied().collect();
    let d = DropOff {
        title,
        attempts: &now,
        cohorts: &all,
        share: p1,
        baseline: Some(p2),
        target: None,
        excess: n1 * (p2 - p1),
        against: "drop-offs in excess of the earlier cohorts' rate",
    };
    push_drop_off(ctx, way, o, d, &value, out);
}

/// Progressions slower than the target: a friction from [`SLOW_SHARE`] of them up.
fn dwell_target(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    steps: &[Step],
    target: Micros,
    out: &mut Vec<Found>,
) {
    let went: Vec<&Step> = steps.iter().filter(|s| s.took.is_some()).collect();
    let (slow, fast): (Vec<&Step>, Vec<&Step>) = went
        .iter()
        .partition(|s| s.took.is_some_and(|t| t > target));
    if slow.is_empty() || (slow.len() as f64) < SLOW_SHARE * went.len() as f64 {
        return;
    }
    let target_s = (target / MICROS_PER_SECOND) as f64;
    let group = Group {
        went: &went,
        slow: &slow,
        others: &fast,
    };
    let what = format!("take longer than the target {}", human(target_s));
    dwell(ctx, way, o, group, what, (None, Some(target_s)), out);
}

/// The latest matured entry cohort taking longer than the earlier ones: more of it above
/// their third quartile (two-proportion z ≥ 3).
fn dwell_history(ctx: &Ctx, way: &Way, o: &Outcomes, steps: &[Step], out: &mut Vec<Found>) {
    let Some((latest, now, before)) = latest_and_before(way, o, steps) else {
        return;
    };
    let now: Vec<&Step> = now.into_iter().filter(|s| s.took.is_some()).collect();
    let earlier: Vec<&Step> = before.into_iter().filter(|s| s.took.is_some()).collect();
    let mut took: Vec<Micros> = earlier.iter().filter_map(|s| s.took).collect();
    if now.is_empty() || took.is_empty() {
        return;
    }
    took.sort_unstable();
    let q3 = quantile(&took, 0.75);
    let above = |t: Micros| t as f64 > q3;
    let slow: Vec<&Step> = now
        .iter()
        .copied()
        .filter(|s| s.took.is_some_and(above))
        .collect();
    let (x1, n1) = (slow.len() as f64, now.len() as f64);
    let x2 = took.iter().filter(|&&t| above(t)).count() as f64;
    let n2 = took.len() as f64;
    if !abnormally_above(x1, n1, x2, n2) {
        return;
    }
    let what = format!(
        "in {} take longer than {}, when {:.0}% did before",
        ctx.opts.period.label_of(latest),
        human(q3 / MICROS_PER_SECOND as f64),
        100.0 * x2 / n2
    );
    let group = Group {
        went: &now,
        slow: &slow,
        others: &earlier,
    };
    dwell(ctx, way, o, group, what, (Some(x2 / n2), None), out);
}

/// The progressions a long-dwell friction is about, the slow ones among them, and those
/// they are compared with (the faster ones, or the earlier cohorts').
struct Group<'g, 's> {
    went: &'g [&'s Step],
    slow: &'g [&'s Step],
    others: &'g [&'s Step],
}

/// A long-dwell friction: what the slow ones did on the way, against the others.
fn dwell(
    ctx: &Ctx,
    way: &Way,
    o: &Outcomes,
    group: Group,
    what: String,
    (baseline, target): (Option<f64>, Option<f64>),
    out: &mut Vec<Found>,
) {
    let went = group.went;
    let frame = ctx.frame;
    let ts = frame.ts();
    let mut durations: Vec<Micros> = went.iter().filter_map(|s| s.took).collect();
    durations.sort_unstable();
    let p90 = quantile(&durations, 0.9) / MICROS_PER_SECOND as f64;
    let median = quantile(&durations, 0.5) / MICROS_PER_SECOND as f64;
    // What happened on the way (events between the two stages) for the slow and for the
    // others: labels with their lift.
    let mut touchpoints: HashMap<&str, u64> = HashMap::new();
    let mut cases = Vec::new();
    // The labels of the events between the two stages, each progression counted once.
    let mut on_the_way = |steps: &[&Step], slow: bool| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        let mut n = 0u64;
        for s in steps {
            let a = o.actor[s.k] as usize;
            let (Some(i), Some(j)) = (o.stage_row(s.k, way.from, ts), o.stage_row(s.k, way.to, ts))
            else {
                continue;
            };
            let (i, j) = (i as usize, j as usize);
            n += 1;
            let between = ctx.rows(a).filter(|&r| r > i && r < j);
            let labels: HashSet<String> = between.map(|r| ctx.evidence_label(r)).collect();
            for l in labels {
                *counts.entry(l).or_default() += 1;
            }
            if slow {
                cases.push((a, i));
                for r in ctx.rows(a).filter(|&r| r > i && r < j) {
                    *touchpoints.entry(ctx.touchpoint(r)).or_default() += 1;
                }
            }
        }
        (counts, n)
    };
    let (in_slow, n_slow) = on_the_way(group.slow, true);
    let (in_fast, n_fast) = on_the_way(group.others, false);
    if cases.is_empty() {
        return;
    }
    let on_the_way = super::lifted("on the way", in_slow, n_slow, &in_fast, n_fast);
    let touchpoint = if touchpoints.is_empty() {
        "(none)".to_string()
    } else {
        most_frequent(touchpoints)
    };
    let share = cases.len() as f64 / went.len() as f64;
    out.push(Found {
        kind: "long_dwell",
        title: format!(
            "{} → {}: {:.0}% of {} progressions {what} (median {}, p90 {})",
            way.from_name,
            way.to_name,
            100.0 * share,
            went.len(),
            human(median),
            human(p90)
        ),
        stage: way.from_name.to_string(),
        touchpoint,
        cases,
        revenue_at_stake: None,
        method: String::new(),
        measure: match target {
            Some(t) => Measure {
                name: format!("p90 time from {} to {}", way.from_name, way.to_name),
                value: p90,
                baseline: None,
                target: Some(t),
                unit: "seconds",
            },
            None => Measure {
                name: format!(
                    "share of slow progressions from {} to {}",
                    way.from_name, way.to_name
                ),
                value: share,
                baseline,
                target: None,
                unit: "share",
            },
        },
        details: on_the_way,
        quotes: Vec::new(),
    });
}
