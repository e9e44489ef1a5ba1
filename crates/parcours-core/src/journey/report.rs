//! Reports built from an engine run: stage counts and rates, times between stages, the
//! touchpoints met before progress, breakdowns, the conversion trend and actor lists.
//! The definitions are in `docs/semantics.md` ("Funnel report").

use std::collections::HashMap;

use serde::Serialize;

use super::definition::{ActorKind, Counting, Entry, JourneyDef};
use super::engine::{Engine, Outcomes, RunOptions, NONE};
use crate::frame::{is_bookkeeping, Frame, FxBuild};
use crate::stats::{summarize, DurationSummary};
use crate::time::{format_rfc3339, Micros, MICROS_PER_DAY};

/// What to compute beyond the stage counts.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// How many touchpoints to list per stage (0: skip that analysis).
    pub top_touchpoints: usize,
    pub breakdown: Option<Breakdown>,
    pub trend: Option<Bucket>,
    /// Skip time summaries (counts only).
    pub counts_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakdownBy {
    Channel,
    Campaign,
    Touchpoint,
    Property(String),
    Trait(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    FirstTouch,
    LastTouch,
    /// 1-based, over the steps the attempt took.
    Step(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub by: BreakdownBy,
    pub attribution: Attribution,
}

impl Breakdown {
    /// Parses `channel`, `campaign`, `touchpoint`, `property:NAME`, `trait:NAME`, with an
    /// optional attribution suffix `@first`, `@last` or `@step:N`.
    pub fn parse(text: &str) -> Result<Breakdown, String> {
        let (by, at) = match text.split_once('@') {
            Some((b, a)) => (b, Some(a)),
            None => (text, None),
        };
        let by = match by.split_once(':') {
            None if by == "channel" => BreakdownBy::Channel,
            None if by == "campaign" => BreakdownBy::Campaign,
            None if by == "touchpoint" => BreakdownBy::Touchpoint,
            Some(("property", p)) if !p.is_empty() => BreakdownBy::Property(p.into()),
            Some(("trait", t)) if !t.is_empty() => BreakdownBy::Trait(t.into()),
            _ => return Err(format!("unknown breakdown `{by}` (expected channel, campaign, touchpoint, property:NAME or trait:NAME)")),
        };
        let attribution = match at {
            None | Some("first") => Attribution::FirstTouch,
            Some("last") => Attribution::LastTouch,
            Some(s) => match s.strip_prefix("step:").and_then(|n| n.parse().ok()) {
                Some(n) if n >= 1 => Attribution::Step(n),
                _ => {
                    return Err(format!(
                        "unknown attribution `@{s}` (expected @first, @last or @step:N)"
                    ))
                }
            },
        };
        Ok(Breakdown { by, attribution })
    }

    pub fn property(&self) -> Option<&str> {
        match &self.by {
            BreakdownBy::Property(p) => Some(p),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    pub fn parse(text: &str) -> Result<Bucket, String> {
        match text {
            "day" => Ok(Bucket::Day),
            "week" => Ok(Bucket::Week),
            "month" => Ok(Bucket::Month),
            _ => Err(format!(
                "unknown period `{text}` (expected day, week or month)"
            )),
        }
    }

    /// The index of the calendar period holding `ts` (UTC): days since 1970-01-01,
    /// Monday-based weeks, or months since year 0.
    #[inline]
    pub fn index(self, ts: Micros) -> i64 {
        self.index_of_day(ts.div_euclid(MICROS_PER_DAY))
    }

    /// The index of the period holding day `day` (days since 1970-01-01).
    #[inline]
    pub fn index_of_day(self, day: i64) -> i64 {
        match self {
            Bucket::Day => day,
            // 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
            Bucket::Week => (day + 3).div_euclid(7),
            Bucket::Month => {
                let (y, m, _) = crate::time::civil_from_days(day);
                y * 12 + (m as i64 - 1)
            }
        }
    }

    /// The first microsecond of period `index`.
    pub fn start(self, index: i64) -> Micros {
        let day = match self {
            Bucket::Day => index,
            Bucket::Week => index * 7 - 3,
            Bucket::Month => crate::time::days_from_civil(
                index.div_euclid(12),
                (index.rem_euclid(12) + 1) as u32,
                1,
            ),
        };
        day * MICROS_PER_DAY
    }

    /// The first day of period `index`, as `YYYY-MM-DD`.
    pub fn label_of(self, index: i64) -> String {
        format_rfc3339(self.start(index))[..10].to_string()
    }

    /// The start of the period holding `ts`, as `YYYY-MM-DD` (weeks start on Monday).
    pub fn label(self, ts: Micros) -> String {
        self.label_of(self.index(ts))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JourneyReport {
    pub journey: String,
    pub actor: ActorKind,
    pub counting: Counting,
    /// Actors (or attempts) counted: those that entered.
    pub entered: u64,
    /// Share of the start that reached the last stage.
    pub conversion_rate: f64,
    pub stages: Vec<StageReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<BreakdownReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<TrendReport>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub name: String,
    pub optional: bool,
    pub entered: u64,
    pub pct_of_start: f64,
    pub pct_of_previous: f64,
    pub dropped: i64,
    /// How many completed the stage through each branch (stages with several).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<BranchCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_from_previous: Option<DurationSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_from_start: Option<DurationSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_touchpoints: Vec<TouchpointRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchCount {
    pub name: String,
    pub entered: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouchpointRow {
    pub touchpoint: String,
    pub progressed: u64,
    pub dropped: u64,
    /// Share of actors with this touchpoint who progressed.
    pub progression_rate: f64,
    /// `progression_rate` ÷ the stage's overall progression rate.
    pub lift: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakdownReport {
    pub by: String,
    pub attribution: Attribution,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakdownRow {
    pub value: String,
    /// Entered per stage.
    pub entered: Vec<u64>,
    pub conversion_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_time_to_convert_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendReport {
    pub period: Bucket,
    pub rows: Vec<TrendRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendRow {
    pub start: String,
    pub entered: Vec<u64>,
    pub conversion_rate: f64,
}

/// Runs a journey and builds its report.
pub fn run_report(
    def: &JourneyDef,
    engine: &Engine,
    run: &RunOptions,
    options: &ReportOptions,
) -> JourneyReport {
    let outcomes = engine.run(run);
    build_report(def, engine.frame(), &outcomes, options)
}

/// The index of the closest earlier required stage, if any.
fn previous_required(def: &JourneyDef, k: usize) -> Option<usize> {
    (0..k).rev().find(|&s| !def.stages[s].optional)
}

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

pub fn build_report(
    def: &JourneyDef,
    frame: &Frame,
    out: &Outcomes,
    options: &ReportOptions,
) -> JourneyReport {
    let n_stages = def.stages.len();
    let mut entered = vec![0u64; n_stages];
    let mut branch_counts = vec![Vec::new(); n_stages];
    for (s, stage) in def.stages.iter().enumerate() {
        branch_counts[s] = vec![0u64; stage.branches.len().max(1)];
    }
    // One sweep over the flat arrays (they hold a million attempts on large workspaces);
    // branches are counted only where a stage has several.
    let branched: Vec<usize> = (0..n_stages)
        .filter(|&s| branch_counts[s].len() > 1)
        .collect();
    for (k, times) in out.stage_ts.chunks_exact(n_stages).enumerate() {
        for (s, &t) in times.iter().enumerate() {
            entered[s] += u64::from(t != NONE);
        }
        for &s in &branched {
            if let (Some(_), Some(b)) = (out.stage_time(k, s), out.branch(k, s)) {
                branch_counts[s][b] += 1;
            }
        }
    }
    for (s, counts) in branch_counts.iter_mut().enumerate() {
        if let [only] = counts.as_mut_slice() {
            *only = entered[s];
        }
    }
    let first_required = (0..n_stages)
        .find(|&s| !def.stages[s].optional)
        .expect("validated: one stage is required");
    let base = match def.entry {
        Entry::Closed => Start::Stage(first_required),
        Entry::Open => Start::Attempts,
    };
    let start = base.of(&entered, out.len() as u64);
    let last_required = (0..n_stages)
        .rev()
        .find(|&s| !def.stages[s].optional)
        .expect("validated: one stage is required");
    let mut stages = Vec::with_capacity(n_stages);
    for (s, stage) in def.stages.iter().enumerate() {
        let prev = previous_required(def, s);
        let prev_count = prev.map_or(start, |p| entered[p]);
        let (from_prev, from_start) = if options.counts_only {
            (None, None)
        } else {
            stage_times(out, s)
        };
        let top_touchpoints = match prev {
            Some(p) if options.top_touchpoints > 0 => {
                top_touchpoints(frame, out, p, s, options.top_touchpoints)
            }
            _ => Vec::new(),
        };
        let branches = if stage.branches.is_empty() {
            Vec::new()
        } else {
            stage
                .branches
                .iter()
                .zip(&branch_counts[s])
                .map(|(b, &c)| BranchCount {
                    name: b.name.clone(),
                    entered: c,
                })
                .collect()
        };
        stages.push(StageReport {
            name: stage.name.clone(),
            optional: stage.optional,
            entered: entered[s],
            pct_of_start: rate(entered[s], start),
            pct_of_previous: rate(entered[s], prev_count),
            dropped: prev_count as i64 - entered[s] as i64,
            branches,
            time_from_previous: from_prev,
            time_from_start: from_start,
            top_touchpoints,
        });
    }
    let mut warnings = Vec::new();
    if out.is_empty() {
        warnings.push(
            "no actor entered this journey: check the first stage's event names and the time range"
                .to_string(),
        );
    }
    JourneyReport {
        journey: def.name.clone(),
        actor: def.actor,
        counting: def.counting,
        entered: out.len() as u64,
        conversion_rate: rate(entered[last_required], start),
        stages,
        breakdown: options
            .breakdown
            .as_ref()
            .map(|b| breakdown(frame, out, b, base, last_required)),
        trend: options.trend.map(|p| trend(out, p, base, last_required)),
        warnings,
    }
}

/// Time from the previous stage reached by the same attempt, and from the entry.
fn stage_times(out: &Outcomes, s: usize) -> (Option<DurationSummary>, Option<DurationSummary>) {
    let mut from_prev = Vec::new();
    let mut from_start = Vec::new();
    for k in 0..out.len() {
        let Some(t) = out.stage_time(k, s) else {
            continue;
        };
        from_start.push(t - out.entry_ts[k]);
        if let Some(p) = (0..s).rev().find_map(|p| out.stage_time(k, p)) {
            from_prev.push(t - p);
        }
    }
    (summarize(&mut from_prev), summarize(&mut from_start))
}

/// Touchpoints met after stage `prev` by those who reached `prev`: up to stage `s` for
/// those who progressed, to the end of the attempt for the others.
fn top_touchpoints(
    frame: &Frame,
    out: &Outcomes,
    prev: usize,
    s: usize,
    limit: usize,
) -> Vec<TouchpointRow> {
    let mut counts: HashMap<u32, (u64, u64), FxBuild> = HashMap::default();
    let (mut progressed_total, mut dropped_total) = (0u64, 0u64);
    let mut seen = Vec::new();
    let (ts, kinds, tps) = (frame.ts(), frame.kind(), frame.touchpoint());
    for k in 0..out.len() {
        let Some(t_prev) = out.stage_time(k, prev) else {
            continue;
        };
        let reached = out.stage_time(k, s);
        let range = frame.actor_range(out.actor[k] as usize);
        let slice = &ts[range.clone()];
        let lo = range.start + slice.partition_point(|&t| t <= t_prev);
        let hi = match reached {
            Some(t) => range.start + slice.partition_point(|&x| x < t),
            None => range.start + slice.partition_point(|&x| x <= out.end[k]),
        };
        seen.clear();
        seen.extend(
            (lo..hi.max(lo))
                .filter(|&i| !is_bookkeeping(kinds[i]))
                .map(|i| tps[i]),
        );
        seen.sort_unstable();
        seen.dedup();
        if reached.is_some() {
            progressed_total += 1;
        } else {
            dropped_total += 1;
        }
        for &tp in &seen {
            let c = counts.entry(tp).or_default();
            if reached.is_some() {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
    let overall = rate(progressed_total, progressed_total + dropped_total);
    let mut rows: Vec<TouchpointRow> = counts
        .into_iter()
        .map(|(tp, (p, d))| {
            let r = rate(p, p + d);
            TouchpointRow {
                touchpoint: frame.touchpoints().name(tp).to_string(),
                progressed: p,
                dropped: d,
                progression_rate: r,
                lift: if overall > 0.0 { r / overall } else { 0.0 },
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.progressed
            .cmp(&a.progressed)
            .then_with(|| a.touchpoint.cmp(&b.touchpoint))
    });
    rows.truncate(limit);
    rows
}

/// The label of the breakdown value of attempt `k`.
fn breakdown_value(frame: &Frame, out: &Outcomes, k: usize, b: &Breakdown) -> String {
    if let BreakdownBy::Trait(t) = &b.by {
        let id = frame
            .actor_trait(t)
            .map_or(0, |col| col[out.actor[k] as usize]);
        return frame.values().label(id);
    }
    let steps = out.steps_of(k);
    let event = match b.attribution {
        Attribution::FirstTouch => steps.first(),
        Attribution::LastTouch => steps.last(),
        Attribution::Step(n) => steps.get(n - 1),
    };
    let Some(&i) = event else {
        return "(none)".into();
    };
    let i = i as usize;
    match &b.by {
        BreakdownBy::Channel => frame.channels().name(frame.channel()[i] as u32).to_string(),
        BreakdownBy::Campaign => match frame.campaign()[i] {
            0 => "(none)".into(),
            c => frame.campaigns().name(c).to_string(),
        },
        BreakdownBy::Touchpoint => frame.touchpoints().name(frame.touchpoint()[i]).to_string(),
        BreakdownBy::Property(p) => {
            let id = frame.property(p).map_or(0, |col| col[i]);
            frame.values().label(id)
        }
        BreakdownBy::Trait(_) => unreachable!("handled above"),
    }
}

/// What "the start" of a funnel counts: its first required stage (closed entry), or
/// every counted attempt (open entry, where attempts may enter at any stage).
#[derive(Debug, Clone, Copy)]
enum Start {
    Stage(usize),
    Attempts,
}

impl Start {
    fn of(self, entered: &[u64], attempts: u64) -> u64 {
        match self {
            Start::Stage(s) => entered[s],
            Start::Attempts => attempts,
        }
    }
}

/// Entered per stage and attempts of one group of attempts (a breakdown value, a
/// period).
#[derive(Debug, Clone)]
struct Counts {
    entered: Vec<u64>,
    attempts: u64,
}

impl Counts {
    fn new(stages: usize) -> Counts {
        Counts {
            entered: vec![0; stages],
            attempts: 0,
        }
    }

    fn add(&mut self, out: &Outcomes, k: usize) {
        self.attempts += 1;
        for (s, e) in self.entered.iter_mut().enumerate() {
            if out.stage_time(k, s).is_some() {
                *e += 1;
            }
        }
    }

    fn conversion(&self, start: Start, last: usize) -> f64 {
        rate(self.entered[last], start.of(&self.entered, self.attempts))
    }
}

fn breakdown(
    frame: &Frame,
    out: &Outcomes,
    b: &Breakdown,
    start: Start,
    last: usize,
) -> BreakdownReport {
    let mut groups: HashMap<String, (Counts, Vec<Micros>)> = HashMap::new();
    for k in 0..out.len() {
        let value = breakdown_value(frame, out, k, b);
        let (counts, times) = groups
            .entry(value)
            .or_insert_with(|| (Counts::new(out.stages), Vec::new()));
        counts.add(out, k);
        if let Some(t) = out.stage_time(k, last) {
            times.push(t - out.entry_ts[k]);
        }
    }
    let mut rows: Vec<BreakdownRow> = groups
        .into_iter()
        .map(|(value, (counts, mut times))| BreakdownRow {
            conversion_rate: counts.conversion(start, last),
            median_time_to_convert_s: summarize(&mut times).map(|s| s.median_s),
            value,
            entered: counts.entered,
        })
        .collect();
    rows.sort_by(|a, b| {
        let (ea, eb) = (a.entered.iter().max(), b.entered.iter().max());
        eb.cmp(&ea).then_with(|| a.value.cmp(&b.value))
    });
    let by = match &b.by {
        BreakdownBy::Channel => "channel".to_string(),
        BreakdownBy::Campaign => "campaign".to_string(),
        BreakdownBy::Touchpoint => "touchpoint".to_string(),
        BreakdownBy::Property(p) => format!("property:{p}"),
        BreakdownBy::Trait(t) => format!("trait:{t}"),
    };
    BreakdownReport {
        by,
        attribution: b.attribution,
        rows,
    }
}

fn trend(out: &Outcomes, period: Bucket, start: Start, last: usize) -> TrendReport {
    let mut buckets: std::collections::BTreeMap<String, Counts> = Default::default();
    for k in 0..out.len() {
        buckets
            .entry(period.label(out.entry_ts[k]))
            .or_insert_with(|| Counts::new(out.stages))
            .add(out, k);
    }
    let rows = buckets
        .into_iter()
        .map(|(label, counts)| TrendRow {
            conversion_rate: counts.conversion(start, last),
            start: label,
            entered: counts.entered,
        })
        .collect();
    TrendReport { period, rows }
}

/// Which actors to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorSelection {
    /// Reached stage K (0-based).
    Converted(usize),
    /// Reached stage K and not the next required stage.
    Dropped(usize),
}

impl ActorSelection {
    /// Parses `converted:K` or `dropped:K` with K 1-based or a stage name.
    pub fn parse(text: &str, def: &JourneyDef) -> Result<ActorSelection, String> {
        let (what, stage) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}`: expected converted:STAGE or dropped:STAGE"))?;
        let k = def.stage_ref(stage)?;
        match what {
            "converted" => Ok(ActorSelection::Converted(k)),
            "dropped" => Ok(ActorSelection::Dropped(k)),
            _ => Err(format!("`{what}`: expected converted or dropped")),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActorRow {
    pub actor: String,
    pub entered_at: String,
    /// Completion time of each stage, RFC 3339, empty when not reached.
    pub stages: Vec<Option<String>>,
}

/// The actors (attempts) matching a selection, ordered by actor id then entry time.
pub fn actor_list(
    def: &JourneyDef,
    frame: &Frame,
    out: &Outcomes,
    selection: ActorSelection,
) -> Vec<ActorRow> {
    let next_required = |k: usize| (k + 1..def.stages.len()).find(|&s| !def.stages[s].optional);
    let mut rows: Vec<ActorRow> = (0..out.len())
        .filter(|&k| match selection {
            ActorSelection::Converted(s) => out.stage_time(k, s).is_some(),
            ActorSelection::Dropped(s) => {
                out.stage_time(k, s).is_some()
                    && next_required(s).is_some_and(|n| out.stage_time(k, n).is_none())
            }
        })
        .map(|k| ActorRow {
            actor: frame.actor_key(out.actor[k] as usize).to_string(),
            entered_at: format_rfc3339(out.entry_ts[k]),
            stages: (0..def.stages.len())
                .map(|s| out.stage_time(k, s).map(format_rfc3339))
                .collect(),
        })
        .collect();
    rows.sort_by(|a, b| {
        a.actor
            .cmp(&b.actor)
            .then_with(|| a.entered_at.cmp(&b.entered_at))
    });
    rows
}
