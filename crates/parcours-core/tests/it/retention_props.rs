//! Invariants of retention on generated actors (proptest): no rate exceeds 100%,
//! on-or-after retention never rises with N and is at least the "on" retention, and each
//! period's active actors are new, returning or resurrecting; and the one-pass computation
//! gives what a plain reading of the rules of `docs/semantics.md` gives.

use std::collections::{BTreeMap, BTreeSet};

use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::journey::Bucket;
use parcours_core::retention::{retention, RetentionOptions, RetentionReport};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["start", "back", "other"];

const BASE: i64 = 1_767_571_200_000_000; // 2026-01-05T00:00:00Z, a Monday
const HOUR: i64 = 3_600_000_000;

/// The events' value, property `v`: the hour of each "other" event.
fn frame(rows: &[(u8, i64, usize)]) -> Frame {
    let mut b = FrameBuilder::new(vec!["v".into()]);
    for &(actor, hour, name) in rows {
        let value = if NAMES[name] == "other" {
            serde_json::json!(hour)
        } else {
            serde_json::Value::Null
        };
        b.push(&FrameRow {
            actor: &format!("p{actor}"),
            ts: BASE + hour * HOUR,
            kind: EventKind::Track,
            name: NAMES[name],
            channel: "web",
            campaign: None,
            touchpoint: NAMES[name],
            properties: &[value],
        });
    }
    b.finish()
}

/// The retention of a generated frame: "start" events start, "back" events return; with
/// `value`, property `v` gives each event's value.
fn report(f: &Frame, value: bool, options: &RetentionOptions) -> RetentionReport {
    let names = f.name();
    let (start, back) = (f.names().get("start"), f.names().get("back"));
    retention(
        f,
        |i| Some(names[i]) == start,
        |i| Some(names[i]) == back,
        if value { f.property("v") } else { None },
        None,
        options,
    )
}

proptest! {
    #[test]
    fn retention_stays_within_bounds(
        rows in prop::collection::vec((0u8..15, 0i64..2000, 0usize..3), 1..120),
        period in 0usize..3,
        periods in 0usize..6,
        recurring in any::<bool>(),
    ) {
        let f = frame(&rows);
        let period = [Bucket::Day, Bucket::Week, Bucket::Month][period];
        let run = |on_or_after| report(
            &f,
            false,
            &RetentionOptions { period, periods, recurring, on_or_after, ..RetentionOptions::default() },
        );
        let (on, after) = (run(false), run(true));
        for (c, d) in on.cohorts.iter().zip(&after.cohorts) {
            prop_assert_eq!(c.size, d.size);
            for r in c.rates.iter().chain(&d.rates).flatten() {
                prop_assert!((0.0..=1.0).contains(r));
            }
            for w in d.retained.windows(2) {
                if let (Some(a), Some(b)) = (w[0], w[1]) {
                    prop_assert!(b <= a);
                }
            }
            for (x, y) in c.retained.iter().zip(&d.retained) {
                if let (Some(x), Some(y)) = (x, y) {
                    prop_assert!(x <= y);
                }
            }
        }
        for r in on.overall.iter().flatten() {
            prop_assert!((0.0..=1.0).contains(r));
        }
        for l in &on.lifecycle {
            prop_assert_eq!(l.active, l.new + l.returning + l.resurrecting);
        }
    }
}

/// Cohorts (start, size, retained, value per actor), lifecycle rows (start, active, new,
/// returning, resurrecting, dormant) and the stickiness histogram, by the rules as written.
type Plain = (
    Vec<(String, u64, Vec<Option<u64>>, Vec<Option<f64>>)>,
    Vec<(String, [u64; 5])>,
    Option<Vec<u64>>,
);

/// Rows are (actor, hour, name); an event's value is its hour when its name is "other".
fn plain_retention(rows: &[(u8, i64, usize)], o: &RetentionOptions) -> Plain {
    let b = o.period;
    let ts = |hour: i64| BASE + hour * HOUR;
    let in_range = |t: i64| o.from.is_none_or(|f| t >= f) && o.to.is_none_or(|e| t < e);
    let as_of = rows.iter().map(|r| ts(r.1)).max().unwrap();
    let last = b.index(as_of);
    let mut by_actor: BTreeMap<u8, Vec<(i64, usize)>> = BTreeMap::new();
    for &(a, h, n) in rows {
        by_actor.entry(a).or_default().push((ts(h), n));
    }
    let width = o.periods + 1;
    let mut cohorts: BTreeMap<i64, (u64, Vec<u64>, Vec<f64>)> = BTreeMap::new();
    let mut life: BTreeMap<i64, [u64; 5]> = BTreeMap::new();
    let mut sticky = vec![0u64; if b == Bucket::Week { 7 } else { 31 }];
    let lo = o.from.map_or(i64::MIN, |f| b.index(f));
    let hi = o.to.map_or(last, |t| b.index(t - 1)).min(last);
    for events in by_actor.values_mut() {
        events.sort();
        let starts: Vec<i64> = events.iter().filter(|e| e.1 == 0).map(|e| e.0).collect();
        let returns: Vec<i64> = events.iter().filter(|e| e.1 == 1).map(|e| e.0).collect();
        // Cohorts: the first start ever (kept when in range), or every period's first
        // start in range.
        let mut mine: Vec<(i64, i64)> = Vec::new();
        if o.recurring {
            for &t in starts.iter().filter(|&&t| in_range(t)) {
                if mine.last().is_none_or(|m| m.0 != b.index(t)) {
                    mine.push((b.index(t), t));
                }
            }
        } else if let Some(&t) = starts.first().filter(|&&t| in_range(t)) {
            mine.push((b.index(t), t));
        }
        for (c, start) in mine {
            let entry = cohorts
                .entry(c)
                .or_insert_with(|| (0, vec![0; width], vec![0.0; width]));
            entry.0 += 1;
            let back = |r: i64| b.index(r) > c || (b.index(r) == c && r >= start);
            for n in 0..width {
                let p = c + n as i64;
                let hit = returns.iter().any(|&r| {
                    back(r)
                        && if o.on_or_after {
                            b.index(r) >= p
                        } else {
                            b.index(r) == p
                        }
                });
                entry.1[n] += u64::from(hit);
                entry.2[n] += events
                    .iter()
                    .filter(|e| e.1 == 2 && b.index(e.0) >= c && b.index(e.0) <= p)
                    .map(|e| ((e.0 - BASE) / HOUR) as f64)
                    .sum::<f64>();
            }
        }
        // Lifecycle: periods with a return, within the range's periods.
        let active: BTreeSet<i64> = returns.iter().map(|&r| b.index(r)).collect();
        let first = active.first().copied();
        let periods: BTreeSet<i64> = active.iter().flat_map(|&p| [p, p + 1]).collect();
        for p in periods.into_iter().filter(|&p| p >= lo && p <= hi) {
            let row = life.entry(p).or_default();
            if active.contains(&p) {
                row[0] += 1;
                if Some(p) == first {
                    row[1] += 1;
                } else if active.contains(&(p - 1)) {
                    row[2] += 1;
                } else {
                    row[3] += 1;
                }
            } else if active.contains(&(p - 1)) {
                row[4] += 1;
            }
        }
        // Stickiness: distinct active days in range per period.
        let mut days: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for &r in returns.iter().filter(|&&r| in_range(r)) {
            days.entry(b.index(r))
                .or_default()
                .insert(r.div_euclid(24 * HOUR));
        }
        let top = sticky.len() - 1;
        for d in days.values() {
            sticky[(d.len() - 1).min(top)] += 1;
        }
    }
    let cohorts = cohorts
        .into_iter()
        .map(|(c, (size, retained, value))| {
            let observed = |n: usize| c + n as i64 <= last;
            (
                b.label_of(c),
                size,
                (0..width)
                    .map(|n| observed(n).then_some(retained[n]))
                    .collect(),
                (0..width)
                    .map(|n| observed(n).then_some(value[n] / size as f64))
                    .collect(),
            )
        })
        .collect();
    // Quiet periods between the first and the last listed one are listed too.
    let listed: Vec<i64> = life.keys().copied().collect();
    let lifecycle = match (listed.first(), listed.last()) {
        (Some(&a), Some(&z)) => (a..=z)
            .map(|p| (b.label_of(p), life.get(&p).copied().unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    };
    (cohorts, lifecycle, (b != Bucket::Day).then_some(sticky))
}

proptest! {
    #[test]
    fn retention_follows_the_written_rules(
        rows in prop::collection::vec((0u8..8, 0i64..1500, 0usize..3), 1..80),
        period in 0usize..3,
        periods in 0usize..5,
        recurring in any::<bool>(),
        on_or_after in any::<bool>(),
        from in prop::option::of(0i64..600),
        span in prop::option::of(24i64..900),
    ) {
        let f = frame(&rows);
        let period = [Bucket::Day, Bucket::Week, Bucket::Month][period];
        let from_ts = from.map(|h| BASE + h * HOUR);
        let options = RetentionOptions {
            period,
            periods,
            recurring,
            on_or_after,
            from: from_ts,
            to: span.map(|s| from_ts.unwrap_or(BASE) + s * HOUR),
            as_of: None,
        };
        let got = report(&f, true, &options);
        let (cohorts, lifecycle, sticky) = plain_retention(&rows, &options);
        let got_cohorts: Vec<_> = got
            .cohorts
            .iter()
            .map(|c| (c.start.clone(), c.size, c.retained.clone(), c.value_per_actor.clone()))
            .collect();
        prop_assert_eq!(got_cohorts.len(), cohorts.len());
        for (g, w) in got_cohorts.iter().zip(&cohorts) {
            prop_assert_eq!((&g.0, g.1, &g.2), (&w.0, w.1, &w.2));
            for (a, b) in g.3.iter().zip(&w.3) {
                match (a, b) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b),
                    _ => prop_assert_eq!(a.is_some(), b.is_some()),
                }
            }
        }
        let got_life: Vec<_> = got
            .lifecycle
            .iter()
            .map(|l| (l.start.clone(), [l.active, l.new, l.returning, l.resurrecting, l.dormant]))
            .collect();
        prop_assert_eq!(got_life, lifecycle);
        prop_assert_eq!(got.stickiness.map(|s| s.histogram), sticky);
    }
}
