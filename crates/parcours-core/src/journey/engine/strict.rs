//! Strict ordering searched exactly: every way an attempt can take its steps, not only
//! the greedy one.
//!
//! In strict ordering a timestamp with a behavioural event that takes no step ends the
//! attempt. With optional steps (or an event that could take either of two steps) the
//! greedy rule can then lose: it takes the earliest step an event can take, and that
//! choice may leave the next event with nothing to take, where another choice would have
//! kept the chain going (`docs/semantics.md`, "Strict ordering is searched"). So for
//! strict journeys an attempt follows every choice at once, timestamp by timestamp: the
//! states alive after a timestamp are the distinct ways of having taken steps so far
//! (two ways that took the same steps at the same times are one state, which bounds the
//! search by the journey's steps rather than by the events). Of the ways that end, the
//! attempt keeps one that is not disqualified, then the one reaching the furthest stage,
//! then the greedy rule's preference (earliest steps first): when the greedy chain is
//! among the best, it is the one reported.

use super::{group_end, Attempt, Engine, Ev};
use crate::journey::definition::Ties;
use crate::time::Micros;

/// One way of taking the attempt's steps, with its rank in the greedy rule's order of
/// preference (the choice made at each timestamp, 0 being the greedy one).
struct Way {
    a: Attempt,
    rank: Vec<u16>,
}

impl Engine<'_> {
    /// Runs the strict attempt entering at group `g` with the given held values, searching
    /// every way of taking its steps; the way kept is left in `a`.
    pub(super) fn search_strict(&self, evs: &[Ev], g: usize, held: &[u32], a: &mut Attempt) {
        a.reset();
        a.held.extend_from_slice(held);
        let mut alive = vec![Way {
            a: a.clone(),
            rank: Vec::new(),
        }];
        let mut best: Option<Way> = None;
        let mut start = g;
        while start < evs.len() && !alive.is_empty() {
            let end = group_end(evs, start);
            let ts = evs[start].ts;
            let group = &evs[start..end];
            let mut next: Vec<Way> = Vec::new();
            for way in alive.drain(..) {
                if way.a.started {
                    if let Some(w) = self.window {
                        if ts > way.a.entry_ts.saturating_add(w) {
                            let mut done = way;
                            done.a.end = done.a.entry_ts.saturating_add(w);
                            keep_better(&mut best, done);
                            continue;
                        }
                    }
                }
                for (choice, s) in self.successors(group, ts, &way.a).into_iter().enumerate() {
                    if !s.started {
                        continue;
                    }
                    let mut rank = way.rank.clone();
                    rank.push(choice as u16);
                    let way = Way { a: s, rank };
                    if way.a.over {
                        keep_better(&mut best, way);
                    } else if !next.iter().any(|n| same_state(&n.a, &way.a)) {
                        // Ways are met in the order of preference: the first of equals
                        // stays.
                        next.push(way);
                    }
                }
            }
            alive = next;
            if best.is_none() && alive.is_empty() && start == g {
                // Nothing could enter at this timestamp.
                return;
            }
            start = end;
        }
        for mut way in alive {
            if let Some(w) = self.window {
                way.a.end = way.a.entry_ts.saturating_add(w);
            }
            keep_better(&mut best, way);
        }
        if let Some(way) = best {
            *a = way.a;
        }
    }

    /// The states `a` can be in after the events of one timestamp, in the greedy rule's
    /// order of preference: each way of taking steps there (the earliest step first), then
    /// taking none when that does not break the chain. Exclusions are applied to each.
    fn successors(&self, group: &[Ev], ts: Micros, a: &Attempt) -> Vec<Attempt> {
        let pending = self.pending_exclusions(group, ts, a);
        let mut out = Vec::new();
        let mut used = vec![false; group.len()];
        self.take_ways(group, ts, a, &mut used, &mut out);
        let breaks = a.started && ts > a.last_step_ts && group.iter().any(|e| e.behavioural);
        if a.started && (out.is_empty() || !breaks) {
            let mut s = a.clone();
            if breaks {
                s.over = true;
                s.end = ts;
            }
            out.push(s);
        }
        for s in &mut out {
            self.apply_exclusions(pending, ts, s);
        }
        out
    }

    /// Every non-empty way of taking steps with the unused events of one timestamp: one
    /// step with strict ties; with ties allowed, further steps after it (the longest ways
    /// first, as the greedy rule goes on while it can). Each step is taken by the first
    /// event (in the group's order) that can take it.
    fn take_ways(
        &self,
        group: &[Ev],
        ts: Micros,
        a: &Attempt,
        used: &mut [bool],
        out: &mut Vec<Attempt>,
    ) {
        let mut choices: Vec<(usize, usize)> = Vec::new();
        for (k, ev) in group.iter().enumerate() {
            if used[k] || ev.steps == 0 || !self.holds(a, ev.i) {
                continue;
            }
            let mut rest = ev.steps;
            while rest != 0 {
                let j = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                if self.can_take(j, ts, a) {
                    choices.push((j, k));
                }
            }
        }
        // Which of several events takes a step changes nothing but the row recorded: the
        // first in the group's order stands for all (as in the greedy rule), which keeps
        // the ways at a timestamp to orders of steps, not of events.
        choices.sort_unstable();
        choices.dedup_by_key(|c| c.0);
        for (j, k) in choices {
            let mut s = a.clone();
            self.take(j, group[k].i, ts, &mut s);
            if self.ties == Ties::Allow && !s.over {
                used[k] = true;
                self.take_ways(group, ts, &s, used, out);
                used[k] = false;
            }
            out.push(s);
        }
    }
}

/// Two alive ways that took the same steps at the same times go on alike.
fn same_state(x: &Attempt, y: &Attempt) -> bool {
    x.taken == y.taken && x.step_ts == y.step_ts && x.disqualified == y.disqualified
}

/// Keeps `way` if it beats the best so far: not disqualified first, then the furthest
/// stage, then the greedy rule's preference.
fn keep_better(best: &mut Option<Way>, way: Way) {
    let key = |w: &Way| (!w.a.disqualified, w.a.reached());
    let better = match best {
        None => true,
        Some(b) => key(&way) > key(b) || key(&way) == key(b) && way.rank < b.rank,
    };
    if better {
        *best = Some(way);
    }
}
