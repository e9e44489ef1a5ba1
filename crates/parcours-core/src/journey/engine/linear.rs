//! The plain funnel's one-pass path: most journeys people run are a line of required
//! steps, and for those the greedy attempt that enters first and the bound on the
//! furthest stage can be found in one walk over the actor's events, without gathering
//! them first.
//!
//! A journey is a plain funnel ([`Engine::linear`]) when it is closed, ordered (not
//! strict, not any order), counted by unique actors, with strict ties, every stage
//! required with one branch of required steps, no per-step limit, no exclusion and
//! nothing held constant. Its steps, flattened, are then one sequence `0 … n−1`, and the
//! greedy rule of `docs/semantics.md` reduces to: enter at the first event of step 0,
//! then take, in each later timestamp, the first event of the next step, while inside
//! the window. The bound is `dp_bound`'s, applied timestamp by timestamp. When the first
//! attempt reaches the bound it is the answer (the earliest attempt reaching the furthest
//! stage); otherwise the caller runs the general search, which gives the same result
//! for every journey. A property test (`the_plain_funnel_path_gives_the_general_answer`)
//! compares the reports with the exhaustive search's.

use super::{Engine, Outcomes, RunOptions, NONE};
use crate::time::Micros;

/// What the one-pass walk found for an actor.
pub(super) enum Linear {
    /// No event may open an attempt: the actor counts nowhere.
    NoEntry,
    /// The first attempt, in the [`Line`], is the actor's answer.
    Found,
    /// A later attempt may go further than the first: run the general search.
    Undecided,
}

/// The first attempt of a plain funnel: the time and frame row of each step taken, and
/// the bound's working memory.
#[derive(Default)]
pub(super) struct Line {
    taken: usize,
    step_ts: Vec<Micros>,
    rows: Vec<u32>,
    start: Vec<Micros>,
    candidates: Vec<u32>,
}

impl Engine<'_> {
    /// The first attempt of actor `a` and the bound on every attempt, in one walk (see the
    /// module docs); the attempt is left in `line`.
    pub(super) fn linear_first(&self, a: usize, options: &RunOptions, line: &mut Line) -> Linear {
        let f = self.frame;
        let range = f.actor_range(a);
        let names = &f.name()[range.clone()];
        let ts = &f.ts()[range.clone()];
        let n_steps = self.steps.len();
        // The steps the actor can take at all: up to the first whose names its summary
        // lacks. An attempt that took them all has gone as far as any attempt can.
        let summary = f.actor_names(a);
        let reachable = self
            .step_names
            .iter()
            .take_while(|&&bits| summary & bits != 0)
            .count();
        line.start.clear();
        line.start.resize(n_steps, NONE);
        line.step_ts.resize(n_steps, NONE);
        line.rows.resize(n_steps, 0);
        // The offsets of the events whose name some step takes, gathered without a branch
        // per event (which the processor would mispredict): most events take none.
        if line.candidates.len() < names.len() {
            line.candidates.resize(names.len(), 0);
        }
        let mut n = 0;
        for (k, &name) in names.iter().enumerate() {
            line.candidates[n] = k as u32;
            n += (self.name_steps[name as usize] != 0) as usize;
        }
        // The attempt's next step, and the end of its window (`NONE` before it enters).
        let (mut next, mut closes) = (0usize, NONE);
        let mut furthest: i64 = -1;
        // The timestamp being read, the steps its events match, and whether the attempt
        // took a step at it (one per timestamp: ties are strict).
        let (mut group_ts, mut group_bits, mut took) = (NONE, 0u64, false);
        for &k in &line.candidates[..n] {
            let k = k as usize;
            let bits = self.name_steps[names[k] as usize];
            let bits = self.refine(bits, self.checked_steps, &self.matchers, range.start + k);
            if bits == 0 {
                continue;
            }
            let t = ts[k];
            if t != group_ts {
                if group_bits != 0 {
                    furthest = furthest.max(self.linear_bound(
                        group_bits,
                        group_ts,
                        &mut line.start,
                        options,
                    ));
                }
                (group_ts, group_bits, took) = (t, 0, false);
            }
            group_bits |= bits;
            if took || bits & (1 << next) == 0 {
                continue;
            }
            if next == 0 {
                if !self.entry_allowed(t, options) {
                    continue;
                }
                closes = self.window.map_or(Micros::MAX, |w| t.saturating_add(w));
            } else if t > closes {
                continue;
            }
            line.step_ts[next] = t;
            line.rows[next] = (range.start + k) as u32;
            took = true;
            next += 1;
            if next == reachable {
                // Every step this actor can take is taken: no attempt goes further, and
                // this one is the first.
                line.taken = next;
                return Linear::Found;
            }
        }
        line.taken = next;
        if next == 0 {
            return Linear::NoEntry;
        }
        if group_bits != 0 {
            furthest =
                furthest.max(self.linear_bound(group_bits, group_ts, &mut line.start, options));
        }
        // The attempt reached the stage of its last step; the chains of the bound, the
        // stage of theirs. No later attempt goes further than the bound.
        let dp = self
            .dp
            .as_ref()
            .expect("a plain funnel has the bound's plan");
        let stage = |steps: i64| dp.stage_last.iter().rposition(|&s| (s as i64) < steps);
        if stage(next as i64) >= stage(furthest + 1) {
            Linear::Found
        } else {
            Linear::Undecided
        }
    }

    /// Records the first attempt found by [`Engine::linear_first`].
    pub(super) fn push_line(&self, actor: u32, line: &Line, out: &mut Outcomes) {
        let dp = self
            .dp
            .as_ref()
            .expect("a plain funnel has the bound's plan");
        let steps = &line.step_ts[..line.taken];
        let entry = steps[0];
        let end = if line.taken == self.steps.len() {
            steps[line.taken - 1]
        } else {
            self.window.map_or(Micros::MAX, |w| entry.saturating_add(w))
        };
        let mut reached = -1;
        out.actor.push(actor);
        out.entry_ts.push(entry);
        out.end.push(end);
        for (s, &last) in dp.stage_last.iter().enumerate() {
            if last < line.taken {
                reached = s as i16;
                out.stage_ts.push(steps[last]);
                out.stage_branch.push(0);
            } else {
                out.stage_ts.push(NONE);
                out.stage_branch.push(u8::MAX);
            }
        }
        out.reached.push(reached);
        out.steps.extend_from_slice(&line.rows[..line.taken]);
        out.steps_at.push(out.steps.len() as u32);
    }

    /// One timestamp's events, matching `bits`, extend the chains of the bound: for each
    /// step, the latest entry time of a chain that reached it. Steps are taken from the
    /// last to the first so that each extends the chains as they were before this
    /// timestamp (strict ties). Returns the furthest step a chain reached here (−1: none).
    #[inline]
    fn linear_bound(
        &self,
        bits: u64,
        ts: Micros,
        start: &mut [Micros],
        options: &RunOptions,
    ) -> i64 {
        let mut furthest = -1;
        let mut rest = bits;
        while rest != 0 {
            let j = 63 - rest.leading_zeros() as usize;
            rest &= !(1 << j);
            let candidate = self.chain_entry(j, ts, start, options);
            if candidate > start[j] {
                start[j] = candidate;
                furthest = furthest.max(j as i64);
            }
        }
        furthest
    }
}
