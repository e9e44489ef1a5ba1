//! An upper bound on the furthest stage an actor's attempts can reach, computed in one
//! pass, so the greedy search can stop at the first attempt that reaches it.

use super::{group_end, Engine, Ev, RunOptions, Scratch, StageInfo, NONE};
use crate::journey::definition::{Entry, JourneyDef, Ordering, Ties};
use crate::time::Micros;

/// The required steps of a journey whose stages each have one branch, in order, for
/// [`Engine::dp_bound`].
#[derive(Debug, Clone)]
pub(super) struct Dp {
    /// Flat indices of the required steps.
    pub(super) steps: Vec<usize>,
    /// For each stage, the index in `steps` of its last required step.
    pub(super) stage_last: Vec<usize>,
}

impl Engine<'_> {
    /// How many timestamps hold an event that may open an attempt (counting stops at 2).
    pub(super) fn entry_groups(&self, evs: &[Ev], options: &RunOptions) -> usize {
        let mut n = 0;
        let mut last = NONE;
        for ev in evs {
            if ev.steps & self.entry_steps != 0
                && ev.ts != last
                && self.entry_allowed(ev.ts, options)
            {
                n += 1;
                last = ev.ts;
                if n > 1 {
                    break;
                }
            }
        }
        n
    }

    /// The entry time of the chain that a step-`j` event at `ts` extends: its own time for
    /// the first step (when an attempt may enter then), else the latest entry of a chain at
    /// step `j − 1` still inside the window; [`NONE`] when it extends none.
    #[inline]
    pub(super) fn chain_entry(
        &self,
        j: usize,
        ts: Micros,
        start: &[Micros],
        options: &RunOptions,
    ) -> Micros {
        if j == 0 {
            return if self.entry_allowed(ts, options) {
                ts
            } else {
                NONE
            };
        }
        let prev = start[j - 1];
        let window = self.window.unwrap_or(Micros::MAX);
        if prev != NONE && ts.saturating_sub(prev) <= window {
            prev
        } else {
            NONE
        }
    }

    /// The furthest stage any attempt could reach, by the one-pass method of ClickHouse's
    /// `windowFunnel` over the required steps: for each step, the latest entry time of a
    /// chain that took it so far. Exact for plain ordered journeys; an upper bound when
    /// limits, held properties, exclusions or strict ordering may stop chains earlier.
    pub(super) fn dp_bound(
        &self,
        dp: &Dp,
        evs: &[Ev],
        options: &RunOptions,
        scratch: &mut Scratch,
    ) -> i16 {
        let m = dp.steps.len();
        let (start, updates) = (&mut scratch.dp_start, &mut scratch.dp_updates);
        start.clear();
        start.resize(m, NONE);
        let allow = self.ties == Ties::Allow;
        let mut furthest: i64 = -1;
        let mut g = 0;
        while g < evs.len() {
            let end = group_end(evs, g);
            let ts = evs[g].ts;
            // Strict ties: every step of this timestamp extends the chains as they were
            // before it, so updates are gathered first. Allowed ties: applied at once,
            // until nothing changes.
            loop {
                updates.clear();
                for ev in &evs[g..end] {
                    if ev.steps == 0 {
                        continue;
                    }
                    for (j, &flat) in dp.steps.iter().enumerate() {
                        if ev.steps & (1 << flat) == 0 {
                            continue;
                        }
                        let candidate = self.chain_entry(j, ts, start, options);
                        if candidate > start[j] {
                            if allow {
                                start[j] = candidate;
                            }
                            updates.push((j, candidate));
                        }
                    }
                }
                for &(j, candidate) in updates.iter() {
                    start[j] = start[j].max(candidate);
                    furthest = furthest.max(j as i64);
                }
                if !allow || updates.is_empty() {
                    break;
                }
            }
            g = end;
        }
        dp.stage_last
            .iter()
            .rposition(|&last| furthest >= last as i64)
            .map_or(-1, |s| s as i16)
    }
}

/// The bound applies to closed, ordered or strict journeys whose stages are required and
/// have one branch each.
pub(super) fn dp_plan(def: &JourneyDef, stages: &[StageInfo]) -> Option<Dp> {
    if def.ordering == Ordering::Any
        || def.entry == Entry::Open
        || stages.iter().any(|s| s.optional || s.branches.len() != 1)
    {
        return None;
    }
    let mut steps = Vec::new();
    let mut stage_last = Vec::new();
    for stage in stages {
        let b = &stage.branches[0];
        for j in b.first..b.first + b.len {
            if b.required & (1 << j) != 0 {
                steps.push(j);
            }
        }
        stage_last.push(steps.len() - 1);
    }
    Some(Dp { steps, stage_last })
}
