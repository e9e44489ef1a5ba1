//! Retention: cohort matrices (first-time or recurring, on or on-or-after), lifetime value
//! by cohort, the lifecycle of each period (new, returning, resurrecting, dormant), churn
//! and stickiness. The rules are in `docs/semantics.md` ("Retention").

use serde::Serialize;

use crate::frame::{is_bookkeeping, par_actors, Frame};
use crate::journey::{Bucket, NONE};
use crate::time::{format_rfc3339, Micros};

const MICROS_PER_DAY: i64 = 86_400_000_000;
#[derive(Debug, Clone)]
pub struct RetentionOptions {
    pub period: Bucket,
    /// Columns 0 … `periods`.
    pub periods: usize,
    /// Every period with a start event counts the actor in that period's cohort.
    pub recurring: bool,
    /// Retained at N when returning in any period at or after N.
    pub on_or_after: bool,
    /// Cohort start events (and lifecycle periods) at or after / before.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    /// The end of the observed data; the last event's time when `None`.
    pub as_of: Option<Micros>,
}

impl Default for RetentionOptions {
    fn default() -> RetentionOptions {
        RetentionOptions {
            period: Bucket::Week,
            periods: 8,
            recurring: false,
            on_or_after: false,
            from: None,
            to: None,
            as_of: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionReport {
    pub period: Bucket,
    pub periods: usize,
    pub recurring: bool,
    pub on_or_after: bool,
    /// The end of the observed data (RFC 3339).
    pub as_of: String,
    pub cohorts: Vec<Cohort>,
    /// Retained over cohort sizes at each N, over the cohorts where N is observed.
    pub overall: Vec<Option<f64>>,
    pub lifecycle: Vec<LifecyclePeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<Stickiness>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    /// The first day of the cohort's period.
    pub start: String,
    pub size: u64,
    /// Actors retained at N = 0 … periods (`null`: not observed yet).
    pub retained: Vec<Option<u64>>,
    pub rates: Vec<Option<f64>>,
    /// Cumulated value per actor of the cohort, periods 0 … N.
    pub value_per_actor: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecyclePeriod {
    pub start: String,
    pub active: u64,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    pub dormant: u64,
    /// Dormant over the actors active in the previous period.
    pub churn_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stickiness {
    /// `histogram[k - 1]`: (actor, period) pairs with k distinct active days.
    pub histogram: Vec<u64>,
    /// Mean over the days of the range of daily active / active in the day's period.
    pub daily_over_period: f64,
}

/// The options as an actor's tally needs them (periods as offsets from the first one).
struct Context {
    width: usize,
    recurring: bool,
    on_or_after: bool,
    /// The lifecycle's first and last periods.
    lo: i64,
    range_last: i64,
}

/// What one actor's walk carries from one of its periods to the next. Each period is
/// tallied when it closes: a first-time cohort (one per actor) counts the returns as they
/// come; recurring cohorts (any number) keep every period's start and return for the end
/// of the actor.
struct Carry {
    /// Recurring cohorts: (period, first start in range), (period, last return).
    starts: Vec<(i64, Micros)>,
    returns: Vec<(i64, Micros)>,
    /// (period, value) of the periods with a value, in order.
    values: Vec<(i64, f64)>,
    /// The first-time cohort's period and start, once met.
    cohort: Option<(i64, Micros)>,
    /// On or after: the last N the first-time cohort returned to.
    last_n: Option<usize>,
    /// The last period with a return (lifecycle).
    previous: Option<i64>,
}

impl Carry {
    fn new() -> Carry {
        Carry {
            starts: Vec::new(),
            returns: Vec::new(),
            values: Vec::new(),
            cohort: None,
            last_n: None,
            previous: None,
        }
    }

    fn reset(&mut self) {
        self.starts.clear();
        self.returns.clear();
        self.values.clear();
        self.cohort = None;
        self.last_n = None;
        self.previous = None;
    }

    /// The actor's period `p` ends: its first counted start, its last return and its value
    /// (`NONE`, `NONE`, 0 when it had none).
    #[inline]
    fn close(&mut self, part: &mut Part, cx: &Context, p: i64, start: Micros, ret: Micros, v: f64) {
        if v != 0.0 {
            self.values.push((p, v));
        }
        if cx.recurring {
            if start != NONE {
                self.starts.push((p, start));
            }
            if ret != NONE {
                self.returns.push((p, ret));
            }
        } else {
            if start != NONE {
                self.cohort = Some((p, start));
                part.size[p as usize] += 1;
            }
            if let (Some((c, c_start)), true) = (self.cohort, ret != NONE) {
                // A return N periods after the cohort's (in the cohort's own period, at or
                // after the start): one per period, so each N is counted once.
                let n = (p - c) as usize;
                if n > 0 || ret >= c_start {
                    if cx.on_or_after {
                        self.last_n = Some(n);
                    } else if n < cx.width {
                        part.retained[c as usize * cx.width + n] += 1;
                    }
                }
            }
        }
        if ret != NONE {
            // Lifecycle over the periods of the range: the periods with a return, in order.
            if p >= cx.lo && p <= cx.range_last {
                let l = &mut part.life[p as usize];
                l[0] += 1;
                match self.previous {
                    None => l[1] += 1,
                    Some(q) if q == p - 1 => l[2] += 1,
                    Some(_) => l[3] += 1,
                }
            }
            if let Some(q) = self.previous {
                if q + 1 != p && q + 1 >= cx.lo && q < cx.range_last {
                    part.life[q as usize + 1][4] += 1;
                }
            }
            self.previous = Some(p);
        }
    }

    /// The actor's last period is closed.
    fn finish(&mut self, part: &mut Part, cx: &Context) {
        if let Some(q) = self.previous {
            if q + 1 >= cx.lo && q < cx.range_last {
                part.life[q as usize + 1][4] += 1;
            }
        }
        if !cx.recurring {
            if let Some((c, _)) = self.cohort {
                part.cohort_end(c, self.last_n, &self.values, cx);
            }
            return;
        }
        for &(c, start_ts) in &self.starts {
            part.size[c as usize] += 1;
            // As for first-time cohorts, N periods after each cohort's.
            let mut last_n = None;
            for &(p, t) in self.returns.iter().skip_while(|r| r.0 < c) {
                let n = (p - c) as usize;
                if n >= cx.width && !cx.on_or_after {
                    break;
                }
                if n == 0 && t < start_ts {
                    continue;
                }
                last_n = Some(n);
                if !cx.on_or_after {
                    part.retained[c as usize * cx.width + n] += 1;
                }
            }
            part.cohort_end(c, last_n, &self.values, cx);
        }
    }
}

/// Tallies over dense period offsets (`period − first period`) and day offsets.
struct Part {
    /// Cohort sizes; retained and cumulated value at `offset * width + n`.
    size: Vec<u64>,
    retained: Vec<u64>,
    value: Vec<f64>,
    /// Per period: active, new, returning, resurrecting, dormant.
    life: Vec<[u64; 5]>,
    sticky: Vec<u64>,
    daily: Vec<u64>,
    period_active: Vec<u64>,
}

impl Part {
    fn new(periods: usize, width: usize, days: usize, sticky: usize) -> Part {
        Part {
            size: vec![0; periods],
            retained: vec![0; periods * width],
            value: vec![0.0; periods * width],
            life: vec![[0; 5]; periods],
            sticky: vec![0; sticky],
            daily: vec![0; days],
            period_active: vec![0; periods],
        }
    }

    /// Stickiness: an actor had `days` active days (in range) in the period at `offset`.
    fn count_days(&mut self, offset: i64, days: usize, sticky_days: usize) {
        if days > 0 {
            self.period_active[offset as usize] += 1;
            if sticky_days > 0 {
                self.sticky[(days - 1).min(sticky_days - 1)] += 1;
            }
        }
    }

    /// What one of an actor's cohorts (at period `c`) adds at the end of the actor: on or
    /// after, retained at every N up to the last one returned to; the value of periods
    /// `c ..= c + N`, cumulated (`values` in period order).
    fn cohort_end(&mut self, c: i64, last_n: Option<usize>, values: &[(i64, f64)], cx: &Context) {
        let row = c as usize * cx.width..(c as usize + 1) * cx.width;
        if let (true, Some(n)) = (cx.on_or_after, last_n) {
            self.retained[row.clone()][..(n + 1).min(cx.width)]
                .iter_mut()
                .for_each(|r| *r += 1);
        }
        if values.last().is_some_and(|v| v.0 >= c) {
            let mut k = values.partition_point(|v| v.0 < c);
            let mut cumulated = 0.0;
            for (n, slot) in self.value[row].iter_mut().enumerate() {
                while k < values.len() && values[k].0 == c + n as i64 {
                    cumulated += values[k].1;
                    k += 1;
                }
                *slot += cumulated;
            }
        }
    }

    fn add(&mut self, other: Part) {
        fn sum<T: std::ops::AddAssign + Copy>(a: &mut [T], b: &[T]) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += *y);
        }
        sum(&mut self.size, &other.size);
        sum(&mut self.retained, &other.retained);
        sum(&mut self.value, &other.value);
        for (a, b) in self.life.iter_mut().zip(&other.life) {
            sum(a, b);
        }
        sum(&mut self.sticky, &other.sticky);
        sum(&mut self.daily, &other.daily);
        sum(&mut self.period_active, &other.period_active);
    }
}

/// The retention of the kept actors: `is_start(i)` / `is_return(i)` say whether frame row
/// `i` is a start or a return (activity) event; `value`, a property column of the frame,
/// gives each event's value (its number; none when absent or not a number).
pub fn retention(
    frame: &Frame,
    is_start: impl Fn(usize) -> bool + Sync,
    is_return: impl Fn(usize) -> bool + Sync,
    value: Option<&[u32]>,
    keep: Option<&[bool]>,
    options: &RetentionOptions,
) -> RetentionReport {
    let bucket = options.period;
    let ts = frame.ts();
    let kinds = frame.kind();
    let (t_min, t_max) = frame.time_bounds().unwrap_or((0, 0));
    let as_of = options.as_of.unwrap_or(t_max);
    let last_period = bucket.index(as_of);
    let width = options.periods + 1;
    let (from, to) = (
        options.from.unwrap_or(Micros::MIN),
        options.to.unwrap_or(Micros::MAX),
    );
    let in_range = |t: Micros| t >= from && t < to;
    let recurring = options.recurring;
    // Dense offsets: every period of the data, one more for the dormant after the last.
    let p0 = bucket.index(t_min);
    let np = (bucket.index(t_max) - p0 + 2) as usize;
    let d0 = t_min.div_euclid(MICROS_PER_DAY);
    let nd = (t_max.div_euclid(MICROS_PER_DAY) - d0 + 1) as usize;
    let lo = options.from.map_or(i64::MIN, |f| bucket.index(f));
    let range_last = options
        .to
        .map(|t| bucket.index(t - 1))
        .unwrap_or(last_period)
        .min(last_period);
    // Each value id's number (NaN: none, as for id 0, "absent").
    let numbers = frame.values().numbers();
    let sticky_days = match bucket {
        Bucket::Day => 0,
        Bucket::Week => 7,
        Bucket::Month => 31,
    };
    let context = Context {
        width,
        recurring,
        on_or_after: options.on_or_after,
        lo: lo.saturating_sub(p0),
        range_last: range_last - p0,
    };
    let parts = par_actors(frame, 0, keep, |actors| {
        let mut part = Part::new(np, width, nd, sticky_days);
        let mut carry = Carry::new();
        for a in actors {
            if keep.is_some_and(|k| !k[a]) {
                continue;
            }
            carry.reset();
            let mut seen_start = false;
            // Events come in time order: the day and the period only change when their
            // end is passed. What a period holds (its first counted start, its last
            // return, its value) and what a day holds (a return in range, for
            // stickiness) stay in registers until then. Periods are offsets from `p0`.
            let (mut day, mut day_end, mut day_active) = (0, Micros::MIN, false);
            let (mut p, mut period_end, mut period_days) = (0, Micros::MIN, 0);
            let (mut p_start, mut p_return, mut p_value) = (NONE, NONE, 0.0);
            for i in frame.actor_range(a) {
                if is_bookkeeping(kinds[i]) {
                    continue;
                }
                let t = ts[i];
                if t >= day_end {
                    if day_active {
                        part.daily[(day - d0) as usize] += 1;
                        period_days += 1;
                        day_active = false;
                    }
                    day = t.div_euclid(MICROS_PER_DAY);
                    day_end = (day + 1) * MICROS_PER_DAY;
                    if t >= period_end {
                        // (Nothing to close before the actor's first period.)
                        if period_end != Micros::MIN {
                            carry.close(&mut part, &context, p, p_start, p_return, p_value);
                        }
                        part.count_days(p, period_days, sticky_days);
                        let absolute = bucket.index_of_day(day);
                        p = absolute - p0;
                        period_end = bucket.start(absolute + 1);
                        (p_start, p_return, p_value, period_days) = (NONE, NONE, 0.0, 0);
                    }
                }
                if is_start(i) {
                    // First-time cohorts take the first start ever (kept only when it is
                    // in range); recurring ones the first start in range of each period.
                    if recurring {
                        if p_start == NONE && in_range(t) {
                            p_start = t;
                        }
                    } else if !seen_start {
                        seen_start = true;
                        if in_range(t) {
                            p_start = t;
                        }
                    }
                }
                if is_return(i) {
                    // The last return of a period: a return at or after a start in the
                    // same period exists exactly when the last one is.
                    p_return = t;
                    day_active |= in_range(t);
                }
                // Most events have no value: a branch on the value id, where a sum of
                // selected numbers made each event wait for the previous one's addition.
                if let Some(column) = value {
                    let id = column[i];
                    if id != 0 {
                        let v = numbers[id as usize];
                        if !v.is_nan() {
                            p_value += v;
                        }
                    }
                }
            }
            if day_active {
                part.daily[(day - d0) as usize] += 1;
                period_days += 1;
            }
            carry.close(&mut part, &context, p, p_start, p_return, p_value);
            part.count_days(p, period_days, sticky_days);
            carry.finish(&mut part, &context);
        }
        part
    });
    let mut all = Part::new(np, width, nd, sticky_days);
    for p in parts {
        all.add(p);
    }

    let mut totals = vec![(0u64, 0u64); width];
    let cohorts: Vec<Cohort> = (0..np)
        .filter(|&at| all.size[at] > 0)
        .map(|at| {
            let c = p0 + at as i64;
            let size = all.size[at];
            let observed = |n: usize| c + n as i64 <= last_period;
            let retained: Vec<Option<u64>> = (0..width)
                .map(|n| observed(n).then(|| all.retained[at * width + n]))
                .collect();
            for (n, r) in retained.iter().enumerate() {
                if let Some(r) = r {
                    totals[n].0 += r;
                    totals[n].1 += size;
                }
            }
            Cohort {
                start: bucket.label_of(c),
                size,
                rates: retained
                    .iter()
                    .map(|r| r.map(|r| r as f64 / size as f64))
                    .collect(),
                retained,
                value_per_actor: (0..width)
                    .map(|n| observed(n).then(|| all.value[at * width + n] / size as f64))
                    .collect(),
            }
        })
        .collect();
    let overall = totals
        .iter()
        .map(|&(r, s)| (s > 0).then(|| r as f64 / s as f64))
        .collect();

    // Every period from the first to the last one with an entry, quiet ones included.
    let used = |at: &usize| all.life[*at].iter().any(|&x| x > 0);
    let first = (0..np).find(used);
    let last = (0..np).rev().find(used);
    let lifecycle = first
        .zip(last)
        .map_or(0..0, |(a, b)| a..b + 1)
        .map(|at| {
            let [active, new, returning, resurrecting, dormant] = all.life[at];
            let before = at.checked_sub(1).map_or(0, |b| all.life[b][0]);
            LifecyclePeriod {
                start: bucket.label_of(p0 + at as i64),
                active,
                new,
                returning,
                resurrecting,
                dormant,
                churn_rate: (before > 0).then(|| dormant as f64 / before as f64),
            }
        })
        .collect();
    let stickiness = (sticky_days > 0).then(|| {
        let ratios: Vec<f64> = all
            .daily
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .filter_map(|(d, &n)| {
                let p = bucket.index((d0 + d as i64) * MICROS_PER_DAY);
                let m = all.period_active[(p - p0) as usize];
                (m > 0).then(|| n as f64 / m as f64)
            })
            .collect();
        Stickiness {
            histogram: all.sticky.clone(),
            daily_over_period: if ratios.is_empty() {
                0.0
            } else {
                ratios.iter().sum::<f64>() / ratios.len() as f64
            },
        }
    });
    RetentionReport {
        period: bucket,
        periods: options.periods,
        recurring: options.recurring,
        on_or_after: options.on_or_after,
        as_of: format_rfc3339(as_of),
        cohorts,
        overall,
        lifecycle,
        stickiness,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_periods() {
        use crate::time::{civil_from_days, days_from_civil};
        let t = crate::time::parse_rfc3339("2026-03-04T10:00:00Z").unwrap(); // a Wednesday
        assert_eq!(Bucket::Day.label(t), "2026-03-04");
        assert_eq!(Bucket::Week.label(t), "2026-03-02");
        assert_eq!(Bucket::Month.label(t), "2026-03-01");
        let feb = crate::time::parse_rfc3339("2024-02-29T23:59:59Z").unwrap();
        assert_eq!(Bucket::Month.index(feb) + 1, Bucket::Month.index(t) - 24);
        for day in [-800_000i64, -1, 0, 59, 60, 365, 11_016, 20_000, 800_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}
