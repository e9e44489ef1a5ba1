//! Lifecycle: where each actor stands in a journey at a given time, for how long, and
//! who is stalled. The rules are in `docs/semantics.md` ("Lifecycle").
//!
//! It reads the outcomes of a run with `counting = "attempts"` (successive attempts), so
//! an actor's current journey is their latest attempt.

use serde::Serialize;

use super::definition::JourneyDef;
use super::engine::Outcomes;
use super::report::Bucket;
use crate::frame::Frame;
use crate::stats::quantile;
use crate::time::{format_rfc3339, Micros, MICROS_PER_SECOND};

/// Where an actor's latest attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Still within its window (or without one), not at the last stage.
    InProgress,
    /// Reached the last stage.
    Converted,
    /// Its window closed before the last stage.
    Expired,
}

#[derive(Debug, Clone, Default)]
pub struct LifecycleOptions {
    pub as_of: Micros,
    /// Stalled after this long in a stage; by default each stage's p90 time to the next.
    pub stall_after: Option<Micros>,
    /// Distribution at the end of each period, from the first entry to `as_of`.
    pub period: Option<Bucket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LifecycleReport {
    pub as_of: String,
    pub actors: u64,
    pub converted: u64,
    pub expired: u64,
    pub stages: Vec<StageNow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub over_time: Vec<DistributionAt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageNow {
    pub name: String,
    /// Actors in progress whose furthest stage is this one.
    pub in_stage: u64,
    pub stalled: u64,
    /// The threshold used, in seconds (`None`: nobody ever moved on from this stage, so
    /// there is no p90 to compare with).
    pub stall_threshold_s: Option<f64>,
    pub median_time_in_stage_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DistributionAt {
    /// The end of the period (exclusive), RFC 3339.
    pub at: String,
    pub in_stage: Vec<u64>,
    pub converted: u64,
    pub expired: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActorLifecycle {
    pub actor: String,
    pub state: State,
    /// The furthest stage of the latest attempt (`None`: entered, no stage complete).
    pub stage: Option<String>,
    pub entered_at: String,
    /// When each stage was reached, `None` when not.
    pub stages: Vec<Option<String>>,
    pub time_in_stage_s: Option<f64>,
    pub stalled: bool,
}

/// The latest attempt of each actor among those entered before `at`.
fn latest_before(out: &Outcomes, at: Micros) -> Vec<usize> {
    let mut latest: Vec<usize> = Vec::new();
    for k in 0..out.len() {
        if out.entry_ts[k] >= at {
            continue;
        }
        match latest.last() {
            Some(&prev) if out.actor[prev] == out.actor[k] => {
                *latest.last_mut().expect("non-empty") = k;
            }
            _ => latest.push(k),
        }
    }
    latest
}

/// The furthest stage attempt `k` had reached by `at`.
fn stage_at(out: &Outcomes, k: usize, at: Micros) -> Option<usize> {
    (0..out.stages)
        .rev()
        .find(|&s| out.stage_time(k, s).is_some_and(|t| t < at))
}

fn state_at(def: &JourneyDef, out: &Outcomes, k: usize, at: Micros) -> State {
    let last = out.stages - 1;
    if out.stage_time(k, last).is_some_and(|t| t < at) {
        return State::Converted;
    }
    match def.window {
        Some(w) if out.entry_ts[k].saturating_add(w.micros()) < at => State::Expired,
        _ => State::InProgress,
    }
}

/// Per stage, the p90 time from reaching it to reaching the next stage, over every
/// attempt that did move on.
fn stall_thresholds(out: &Outcomes) -> Vec<Option<Micros>> {
    (0..out.stages)
        .map(|s| {
            let mut d: Vec<Micros> = (0..out.len())
                .filter_map(|k| {
                    let t = out.stage_time(k, s)?;
                    let next = (s + 1..out.stages).find_map(|n| out.stage_time(k, n))?;
                    Some(next - t)
                })
                .collect();
            if d.is_empty() {
                return None;
            }
            d.sort_unstable();
            Some(quantile(&d, 0.9) as Micros)
        })
        .collect()
}

fn secs(us: Micros) -> f64 {
    us as f64 / MICROS_PER_SECOND as f64
}

/// The lifecycle report, and every actor's line.
pub fn lifecycle(
    def: &JourneyDef,
    frame: &Frame,
    out: &Outcomes,
    options: &LifecycleOptions,
) -> (LifecycleReport, Vec<ActorLifecycle>) {
    let as_of = options.as_of;
    let thresholds: Vec<Option<Micros>> = match options.stall_after {
        Some(t) => vec![Some(t); out.stages],
        None => stall_thresholds(out),
    };
    let mut stages: Vec<StageNow> = def
        .stages
        .iter()
        .zip(&thresholds)
        .map(|(s, t)| StageNow {
            name: s.name.clone(),
            in_stage: 0,
            stalled: 0,
            stall_threshold_s: t.map(secs),
            median_time_in_stage_s: None,
        })
        .collect();
    let mut time_in: Vec<Vec<Micros>> = vec![Vec::new(); out.stages];
    let (mut converted, mut expired) = (0, 0);
    let mut actors = Vec::new();
    let latest = latest_before(out, as_of.saturating_add(1));
    for &k in &latest {
        let state = state_at(def, out, k, as_of.saturating_add(1));
        let stage = stage_at(out, k, as_of.saturating_add(1));
        let mut in_stage_for = None;
        let mut stalled = false;
        match state {
            State::Converted => converted += 1,
            State::Expired => expired += 1,
            State::InProgress => {
                if let Some(s) = stage {
                    let t = as_of - out.stage_time(k, s).expect("reached");
                    in_stage_for = Some(t);
                    stalled = s + 1 < out.stages && thresholds[s].is_some_and(|th| t > th);
                    stages[s].in_stage += 1;
                    stages[s].stalled += stalled as u64;
                    time_in[s].push(t);
                }
            }
        }
        actors.push(ActorLifecycle {
            actor: frame.actor_key(out.actor[k] as usize).to_string(),
            state,
            stage: stage.map(|s| def.stages[s].name.clone()),
            entered_at: format_rfc3339(out.entry_ts[k]),
            stages: (0..out.stages)
                .map(|s| out.stage_time(k, s).map(format_rfc3339))
                .collect(),
            time_in_stage_s: in_stage_for.map(secs),
            stalled,
        });
    }
    for (s, mut d) in time_in.into_iter().enumerate() {
        if !d.is_empty() {
            d.sort_unstable();
            stages[s].median_time_in_stage_s = Some(secs(quantile(&d, 0.5) as Micros));
        }
    }
    actors.sort_by(|a, b| a.actor.cmp(&b.actor));
    let over_time = options
        .period
        .map(|p| distribution_over_time(def, out, p, as_of))
        .unwrap_or_default();
    let report = LifecycleReport {
        as_of: format_rfc3339(as_of),
        actors: latest.len() as u64,
        converted,
        expired,
        stages,
        over_time,
    };
    (report, actors)
}

/// The start of the period after the one holding `ts`.
fn next_period(p: Bucket, ts: Micros) -> Micros {
    p.start(p.index(ts) + 1)
}

fn distribution_over_time(
    def: &JourneyDef,
    out: &Outcomes,
    period: Bucket,
    as_of: Micros,
) -> Vec<DistributionAt> {
    let Some(&first) = out.entry_ts.iter().min() else {
        return Vec::new();
    };
    let row = |at: Micros, end: Micros| {
        let mut in_stage = vec![0u64; out.stages];
        let (mut converted, mut expired) = (0, 0);
        for k in latest_before(out, end) {
            match state_at(def, out, k, end) {
                State::Converted => converted += 1,
                State::Expired => expired += 1,
                State::InProgress => {
                    if let Some(s) = stage_at(out, k, end) {
                        in_stage[s] += 1;
                    }
                }
            }
        }
        DistributionAt {
            at: format_rfc3339(at),
            in_stage,
            converted,
            expired,
        }
    };
    // Period ends are exclusive bounds; `as_of` itself is included.
    let mut rows = Vec::new();
    let mut at = next_period(period, first);
    while at < as_of {
        rows.push(row(at, at));
        at = next_period(period, at);
    }
    rows.push(row(as_of, as_of.saturating_add(1)));
    rows
}
