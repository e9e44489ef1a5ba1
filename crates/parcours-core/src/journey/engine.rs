//! The journey state machine: one pass over each actor's events, in parallel over actors.
//!
//! [`Engine::new`] compiles a validated [`JourneyDef`] against a [`Frame`]: each step and
//! exclusion becomes a [`Matcher`], and a table from event-name id to the steps that name
//! can take, so most events are rejected by one look-up. [`Engine::run`] then walks each
//! actor's slice: it keeps the events that can matter, groups them by timestamp (events
//! at one timestamp are a set), and simulates attempts with the greedy rule of
//! `docs/semantics.md`. The outcome of every counted attempt lands in flat
//! [`Outcomes`] arrays that the report module aggregates.

use super::definition::{Counting, Entry, JourneyDef, Ordering, Ties};
use super::matcher::{Matcher, MissingProperty};
use crate::frame::{Frame, Prefetched};
use crate::time::Micros;

mod bound;
mod linear;
mod outcomes;
mod scan;
mod strict;

use bound::{dp_plan, Dp};
use linear::{Line, Linear};
pub use outcomes::Outcomes;

/// "No time": a stage not reached.
pub const NONE: Micros = Micros::MIN;

#[derive(Debug, Clone)]
struct StepInfo {
    stage: usize,
    branch: usize,
    /// Position in the branch.
    pos: usize,
    /// The smallest branch position from which this step can be taken (the steps in
    /// between are optional).
    reach_from: usize,
    within: Option<Micros>,
}

#[derive(Debug, Clone)]
struct BranchInfo {
    /// Flat index of the branch's first step.
    first: usize,
    len: usize,
    /// Bits of the required steps.
    required: u64,
    /// Position after the last required step: the branch is complete at this position.
    done_at: usize,
}

#[derive(Debug, Clone)]
struct StageInfo {
    optional: bool,
    branches: Vec<BranchInfo>,
}

/// Restrictions on a run that are not part of the journey.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Attempts must enter at or after this time.
    pub from: Option<Micros>,
    /// Attempts must enter before this time.
    pub to: Option<Micros>,
    /// Events that do not match are ignored altogether.
    pub event_filter: Option<Matcher>,
    /// Actors to keep (by actor index); all when `None`.
    pub actors: Option<Vec<bool>>,
    /// Worker threads; 0 means the machine's parallelism.
    pub threads: usize,
    /// Simulate every entry instead of stopping at the first attempt that reaches the
    /// furthest stage possible: the same result, slower. For tests and audits of the bound.
    pub exhaustive: bool,
}

/// A journey compiled against one frame.
pub struct Engine<'f> {
    frame: &'f Frame,
    ordering: Ordering,
    ties: Ties,
    entry: Entry,
    counting: Counting,
    window: Option<Micros>,
    steps: Vec<StepInfo>,
    matchers: Vec<Matcher>,
    /// Per name id: the steps whose name matches.
    name_steps: Vec<u64>,
    /// Steps that need more than the name checked.
    checked_steps: u64,
    stages: Vec<StageInfo>,
    /// For each stage index `c`, the furthest stage an attempt at `c` may jump to (the
    /// first required stage at or after `c`).
    reach_stage: Vec<usize>,
    excl: Vec<(Matcher, usize, usize)>,
    dp: Option<Dp>,
    /// Per name id: whether events of that name can take a step or exclude.
    interesting: Vec<bool>,
    /// The steps that may open an attempt.
    entry_steps: u64,
    /// The name summary bits of the names that can take those steps.
    entry_names: u32,
    name_excl: Vec<u64>,
    checked_excl: u64,
    hold: Vec<&'f [u32]>,
    /// A plain funnel: one line of required steps (see the `linear` module).
    linear: bool,
    /// Per step, the summary bits of the names that can take it.
    step_names: Vec<u32>,
}

/// Working memory of one worker, reused from actor to actor.
struct Scratch {
    attempt: Attempt,
    best: Attempt,
    used: Vec<bool>,
    dp_start: Vec<Micros>,
    dp_updates: Vec<(usize, Micros)>,
}

/// An event of interest of the actor being processed.
#[derive(Debug, Clone, Copy)]
struct Ev {
    i: u32,
    ts: Micros,
    steps: u64,
    excl: u64,
    behavioural: bool,
}

#[derive(Debug, Clone)]
struct Attempt {
    started: bool,
    entry_ts: Micros,
    held: Vec<u32>,
    cur: usize,
    taken: u64,
    step_ts: Vec<Micros>,
    stage_ts: Vec<Micros>,
    stage_branch: Vec<u8>,
    stage_done: u64,
    last_stage_ts: Micros,
    last_step_ts: Micros,
    step_events: Vec<u32>,
    end: Micros,
    over: bool,
    disqualified: bool,
}

impl Attempt {
    fn new(stages: usize, steps: usize) -> Attempt {
        Attempt {
            started: false,
            entry_ts: NONE,
            held: Vec::new(),
            cur: 0,
            taken: 0,
            step_ts: vec![NONE; steps],
            stage_ts: vec![NONE; stages],
            stage_branch: vec![u8::MAX; stages],
            stage_done: 0,
            last_stage_ts: NONE,
            last_step_ts: NONE,
            step_events: Vec::new(),
            end: Micros::MAX,
            over: false,
            disqualified: false,
        }
    }

    fn reset(&mut self) {
        self.started = false;
        self.entry_ts = NONE;
        self.held.clear();
        self.cur = 0;
        self.taken = 0;
        self.stage_ts.fill(NONE);
        self.stage_branch.fill(u8::MAX);
        self.stage_done = 0;
        self.last_stage_ts = NONE;
        self.last_step_ts = NONE;
        self.step_events.clear();
        self.end = Micros::MAX;
        self.over = false;
        self.disqualified = false;
    }

    fn reached(&self) -> i16 {
        self.stage_ts
            .iter()
            .rposition(|&t| t != NONE)
            .map_or(-1, |s| s as i16)
    }
}

impl<'f> Engine<'f> {
    /// Compiles a journey (already validated) against a frame.
    pub fn new(def: &JourneyDef, frame: &'f Frame) -> Result<Engine<'f>, MissingProperty> {
        let mut steps = Vec::new();
        let mut matchers = Vec::new();
        let mut stages = Vec::new();
        for (s, stage) in def.stages.iter().enumerate() {
            let mut branches = Vec::new();
            for (b, (_, branch_steps)) in JourneyDef::branches(stage).into_iter().enumerate() {
                let first = steps.len();
                let mut required = 0u64;
                let mut done_at = 0;
                let mut reach_from = 0;
                for (pos, step) in branch_steps.iter().enumerate() {
                    if !step.optional {
                        required |= 1 << (first + pos);
                        done_at = pos + 1;
                    }
                    steps.push(StepInfo {
                        stage: s,
                        branch: b,
                        pos,
                        reach_from,
                        within: step.within.map(|w| w.micros()),
                    });
                    if !step.optional {
                        reach_from = pos + 1;
                    }
                    matchers.push(Matcher::compile(
                        frame,
                        &step.event,
                        &step.channel,
                        &step.campaign,
                        &step.filters,
                    )?);
                }
                branches.push(BranchInfo {
                    first,
                    len: branch_steps.len(),
                    required,
                    done_at,
                });
            }
            stages.push(StageInfo {
                optional: stage.optional,
                branches,
            });
        }
        let reach_stage = (0..stages.len())
            .map(|c| {
                (c..stages.len())
                    .find(|&s| !stages[s].optional)
                    .unwrap_or(stages.len() - 1)
            })
            .collect();
        let (name_steps, checked_steps) = name_table(frame, &matchers);
        let mut excl = Vec::new();
        for ex in &def.exclusions {
            let m = Matcher::compile(frame, &ex.event, &ex.channel, &ex.campaign, &ex.filters)?;
            let after = ex
                .after
                .as_deref()
                .and_then(|n| def.stage_index(n))
                .unwrap_or(0);
            let before = ex
                .before
                .as_deref()
                .and_then(|n| def.stage_index(n))
                .unwrap_or(def.stages.len() - 1);
            excl.push((m, after, before));
        }
        let excl_matchers: Vec<Matcher> = excl.iter().map(|(m, _, _)| m.clone()).collect();
        let (name_excl, checked_excl) = name_table(frame, &excl_matchers);
        let mut hold = Vec::new();
        for p in &def.hold_constant {
            hold.push(
                frame
                    .property(p)
                    .ok_or_else(|| MissingProperty(p.clone()))?,
            );
        }
        let dp = dp_plan(def, &stages);
        let interesting = name_steps
            .iter()
            .zip(&name_excl)
            .map(|(s, x)| s | x != 0)
            .collect();
        let linear = dp
            .as_ref()
            .is_some_and(|dp| dp.steps.iter().copied().eq(0..steps.len()))
            && def.ordering == Ordering::Ordered
            && def.ties == Ties::Strict
            && def.counting == Counting::Unique
            && excl.is_empty()
            && hold.is_empty()
            && steps.iter().all(|s| s.within.is_none());
        let mut engine = Engine {
            linear,
            step_names: Vec::new(),
            dp,
            interesting,
            entry_steps: 0,
            entry_names: 0,
            frame,
            ordering: def.ordering,
            ties: def.ties,
            entry: def.entry,
            counting: def.counting,
            window: def.window.map(|w| w.micros()),
            steps,
            matchers,
            name_steps,
            checked_steps,
            stages,
            reach_stage,
            excl,
            name_excl,
            checked_excl,
            hold,
        };
        engine.entry_steps = (0..engine.steps.len())
            .filter(|&j| engine.entry_step_ok(j))
            .fold(0, |bits, j| bits | 1 << j);
        engine.entry_names = (0..engine.name_steps.len())
            .filter(|&n| engine.name_steps[n] & engine.entry_steps != 0)
            .fold(0, |bits, n| bits | engine.frame.name_bit(n as u32));
        engine.step_names = (0..engine.steps.len())
            .map(|j| {
                (0..engine.name_steps.len())
                    .filter(|&n| engine.name_steps[n] & (1 << j) != 0)
                    .fold(0, |bits, n| bits | engine.frame.name_bit(n as u32))
            })
            .collect();
        Ok(engine)
    }

    pub fn stage_count(&self) -> usize {
        self.stages.len()
    }

    pub fn frame(&self) -> &'f Frame {
        self.frame
    }

    /// Runs every actor and returns the counted attempts, in actor order.
    pub fn run(&self, options: &RunOptions) -> Outcomes {
        let parts = crate::frame::par_actors(
            self.frame,
            options.threads,
            options.actors.as_deref(),
            |actors| self.run_actors(actors, options),
        );
        Outcomes::concat(parts, self.stages.len())
    }

    fn run_actors(&self, actors: std::ops::Range<usize>, options: &RunOptions) -> Outcomes {
        // Counted by actor, an actor has at most one attempt.
        let attempts = match self.counting {
            Counting::Unique => actors.len(),
            Counting::Attempts => 0,
        };
        let mut out = Outcomes::with_capacity(self.stages.len(), attempts);
        let mut evs = Vec::new();
        let mut candidates = Vec::new();
        let mut scratch = Scratch {
            attempt: Attempt::new(self.stages.len(), self.steps.len()),
            best: Attempt::new(self.stages.len(), self.steps.len()),
            used: Vec::new(),
            dp_start: Vec::new(),
            dp_updates: Vec::new(),
        };
        let linear = self.linear && !options.exhaustive && options.event_filter.is_none();
        let mut line = Line::default();
        // Actors without an event whose name can open an attempt need no scan.
        let may_enter = |a: usize| {
            options.actors.as_ref().is_none_or(|keep| keep[a])
                && self.frame.actor_names(a) & self.entry_names != 0
        };
        for a in Prefetched::new(self.frame, actors, may_enter) {
            if linear {
                match self.linear_first(a, options, &mut line) {
                    Linear::NoEntry => continue,
                    Linear::Found => {
                        self.push_line(a as u32, &line, &mut out);
                        continue;
                    }
                    Linear::Undecided => {}
                }
            }
            if !self.collect(a, options, &mut evs, &mut candidates) {
                continue;
            }
            match self.counting {
                Counting::Unique => {
                    if self.best_attempt(&evs, options, &mut scratch) {
                        out.push(a as u32, &scratch.best);
                    }
                }
                Counting::Attempts => {
                    self.all_attempts(a as u32, &evs, options, &mut scratch, &mut out)
                }
            }
        }
        out
    }

    fn entry_allowed(&self, ts: Micros, options: &RunOptions) -> bool {
        options.from.is_none_or(|f| ts >= f) && options.to.is_none_or(|t| ts < t)
    }

    /// Unique counting: the attempt reaching the furthest stage, the earliest among
    /// equals. Returns false when no attempt counts.
    fn best_attempt(&self, evs: &[Ev], options: &RunOptions, scratch: &mut Scratch) -> bool {
        let mut found = false;
        // No attempt can go further than the bound: stop at the first that reaches it.
        // With a single timestamp where an attempt may start there is nothing to choose
        // from, and no bound to compute.
        let single_entry = self.hold.is_empty() && self.entry_groups(evs, options) <= 1;
        let bound = match &self.dp {
            _ if options.exhaustive => i16::MAX,
            _ if single_entry => i16::MIN,
            Some(dp) => self.dp_bound(dp, evs, options, scratch),
            None => self.stages.len() as i16 - 1,
        };
        let mut g = 0;
        while g < evs.len() {
            let end = group_end(evs, g);
            if self.entry_allowed(evs[g].ts, options) {
                let keys = if self.hold.is_empty() {
                    if self.group_may_enter(&evs[g..end]) {
                        vec![Vec::new()]
                    } else {
                        Vec::new()
                    }
                } else {
                    self.entry_keys(&evs[g..end])
                };
                for held in keys {
                    self.simulate(evs, g, &held, &mut scratch.attempt, &mut scratch.used);
                    let a = &scratch.attempt;
                    if a.started
                        && !a.disqualified
                        && (!found || a.reached() > scratch.best.reached())
                    {
                        std::mem::swap(&mut scratch.attempt, &mut scratch.best);
                        found = true;
                        if scratch.best.reached() >= bound {
                            return true;
                        }
                    }
                }
            }
            g = end;
        }
        found
    }

    /// Attempts counting: successive, non-overlapping attempts.
    fn all_attempts(
        &self,
        actor: u32,
        evs: &[Ev],
        options: &RunOptions,
        scratch: &mut Scratch,
        out: &mut Outcomes,
    ) {
        let (attempt, used) = (&mut scratch.attempt, &mut scratch.used);
        let mut g = 0;
        let mut after = NONE;
        while g < evs.len() {
            let end = group_end(evs, g);
            if evs[g].ts > after && self.entry_allowed(evs[g].ts, options) {
                let keys = self.entry_keys(&evs[g..end]);
                if let Some(held) = keys.into_iter().next() {
                    self.simulate(evs, g, &held, attempt, used);
                    if attempt.started {
                        if !attempt.disqualified {
                            out.push(actor, attempt);
                        }
                        after = attempt.end;
                        if after == Micros::MAX {
                            return;
                        }
                    }
                }
            }
            g = end;
        }
    }

    /// The distinct hold-constant values an attempt could start with in this group (one
    /// empty key when nothing is held and some event may enter).
    fn entry_keys(&self, group: &[Ev]) -> Vec<Vec<u32>> {
        let mut keys: Vec<Vec<u32>> = Vec::new();
        for ev in group {
            if !self.may_enter(ev.steps) {
                continue;
            }
            let key: Vec<u32> = self.hold.iter().map(|c| c[ev.i as usize]).collect();
            if key.contains(&0) {
                continue;
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    fn may_enter(&self, bits: u64) -> bool {
        bits & self.entry_steps != 0
    }

    /// Whether some event of the group may open an attempt (nothing held constant).
    fn group_may_enter(&self, group: &[Ev]) -> bool {
        group.iter().any(|ev| self.may_enter(ev.steps))
    }

    /// Whether step `j` may open an attempt (computed once, into `entry_steps`).
    fn entry_step_ok(&self, j: usize) -> bool {
        let st = &self.steps[j];
        match (self.ordering, self.entry) {
            (Ordering::Any, _) => true,
            (_, Entry::Open) => st.reach_from == 0,
            (_, Entry::Closed) => st.reach_from == 0 && st.stage <= self.reach_stage[0],
        }
    }

    /// Runs one attempt entering at group `g` with the given held values.
    fn simulate(&self, evs: &[Ev], g: usize, held: &[u32], a: &mut Attempt, used: &mut Vec<bool>) {
        if self.ordering == Ordering::Strict {
            return self.search_strict(evs, g, held, a);
        }
        a.reset();
        a.held.extend_from_slice(held);
        let mut start = g;
        while start < evs.len() && !a.over {
            let end = group_end(evs, start);
            let ts = evs[start].ts;
            if a.started {
                if let Some(w) = self.window {
                    if ts > a.entry_ts.saturating_add(w) {
                        a.end = a.entry_ts.saturating_add(w);
                        return;
                    }
                }
            }
            self.process_group(&evs[start..end], ts, a, used);
            if !a.started {
                return;
            }
            start = end;
        }
        if !a.over {
            if let Some(w) = self.window {
                a.end = a.entry_ts.saturating_add(w);
            }
        }
    }

    /// One timestamp of a greedy attempt (ordered or any order; strict ordering is
    /// searched, in the `strict` module).
    fn process_group(&self, group: &[Ev], ts: Micros, a: &mut Attempt, used: &mut Vec<bool>) {
        // Exclusions are judged against the state before this timestamp.
        let pending = self.pending_exclusions(group, ts, a);
        used.clear();
        used.resize(group.len(), false);
        loop {
            let mut pick: Option<(usize, usize)> = None;
            for (k, ev) in group.iter().enumerate() {
                if used[k] || ev.steps == 0 || !self.holds(a, ev.i) {
                    continue;
                }
                if let Some(j) = self.first_takeable(ev.steps, ts, a) {
                    // The earliest step among the events of this timestamp (see
                    // docs/semantics.md, "One event, one step").
                    if pick.is_none_or(|(_, pj)| j < pj) {
                        pick = Some((k, j));
                    }
                }
            }
            let Some((k, j)) = pick else { break };
            used[k] = true;
            self.take(j, group[k].i, ts, a);
            if a.over || self.ties == Ties::Strict {
                break;
            }
        }
        self.apply_exclusions(pending, ts, a);
    }

    /// The exclusions the events of one timestamp arm against `a` as it stood before it
    /// (none before the attempt starts).
    fn pending_exclusions(&self, group: &[Ev], ts: Micros, a: &Attempt) -> u64 {
        if !a.started {
            return 0;
        }
        let bits = group.iter().fold(0, |bits, ev| bits | ev.excl);
        self.armed_exclusions(bits, ts, a)
    }

    /// Disqualifies a started attempt, ending it at `ts`, when a `pending` exclusion's
    /// closing stage was not reached by the end of the timestamp.
    fn apply_exclusions(&self, pending: u64, ts: Micros, a: &mut Attempt) {
        if !a.started || a.disqualified {
            return;
        }
        for (x, (_, _, before)) in self.excl.iter().enumerate() {
            if pending & (1 << x) != 0 && a.stage_ts[*before] == NONE {
                a.disqualified = true;
                a.over = true;
                a.end = ts;
                return;
            }
        }
    }

    fn armed_exclusions(&self, bits: u64, ts: Micros, a: &Attempt) -> u64 {
        let mut armed = 0;
        let mut rest = bits;
        while rest != 0 {
            let x = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let (_, after, before) = self.excl[x];
            let t_after = a.stage_ts[after];
            if t_after != NONE && t_after < ts && a.stage_ts[before] == NONE {
                armed |= 1 << x;
            }
        }
        armed
    }

    fn holds(&self, a: &Attempt, i: u32) -> bool {
        self.hold
            .iter()
            .zip(&a.held)
            .all(|(col, &v)| col[i as usize] == v)
    }

    /// The first step (in definition order) among `bits` the attempt can take at `ts`.
    fn first_takeable(&self, bits: u64, ts: Micros, a: &Attempt) -> Option<usize> {
        let mut rest = bits;
        while rest != 0 {
            let j = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.can_take(j, ts, a) {
                return Some(j);
            }
        }
        None
    }

    /// Whether the attempt can take step `j` at `ts`: as its entry when it has not
    /// started, as its next step otherwise.
    fn can_take(&self, j: usize, ts: Micros, a: &Attempt) -> bool {
        if a.started {
            self.takeable(j, ts, a)
        } else {
            self.entry_steps & (1 << j) != 0
        }
    }

    fn takeable(&self, j: usize, ts: Micros, a: &Attempt) -> bool {
        let st = &self.steps[j];
        let prev = match self.ordering {
            Ordering::Any => {
                if a.taken & (1 << j) != 0 || a.stage_done & (1 << st.stage) != 0 {
                    return false;
                }
                a.last_step_ts
            }
            Ordering::Ordered | Ordering::Strict => {
                if st.stage < a.cur || st.stage > self.reach_stage[a.cur.min(self.stages.len() - 1)]
                {
                    return false;
                }
                let p = if st.stage == a.cur {
                    self.branch_pos(a, st.stage, st.branch)
                } else {
                    0
                };
                if st.reach_from > p || p > st.pos {
                    return false;
                }
                if p > 0 {
                    a.step_ts[j - st.pos + p - 1]
                } else {
                    a.last_stage_ts
                }
            }
        };
        if prev != NONE {
            let ok_tie = match self.ties {
                Ties::Strict => ts > prev,
                Ties::Allow => ts >= prev,
            };
            if !ok_tie || st.within.is_some_and(|w| ts - prev > w) {
                return false;
            }
        }
        true
    }

    fn branch_pos(&self, a: &Attempt, stage: usize, branch: usize) -> usize {
        let b = &self.stages[stage].branches[branch];
        let bits = (a.taken >> b.first) & low_bits(b.len);
        if bits == 0 {
            0
        } else {
            64 - bits.leading_zeros() as usize
        }
    }

    fn take(&self, j: usize, event: u32, ts: Micros, a: &mut Attempt) {
        let st = &self.steps[j];
        if !a.started {
            a.started = true;
            a.entry_ts = ts;
            if self.ordering != Ordering::Any {
                a.cur = st.stage;
            }
        }
        if self.ordering != Ordering::Any && st.stage > a.cur {
            a.cur = st.stage;
        }
        a.taken |= 1 << j;
        a.step_ts[j] = ts;
        a.last_step_ts = ts;
        a.step_events.push(event);
        let b = &self.stages[st.stage].branches[st.branch];
        let complete = match self.ordering {
            Ordering::Any => a.taken & b.required == b.required,
            _ => st.pos + 1 >= b.done_at,
        };
        if complete {
            self.complete_stage(st.stage, st.branch, ts, a);
        }
    }

    fn complete_stage(&self, stage: usize, branch: usize, ts: Micros, a: &mut Attempt) {
        a.stage_branch[stage] = branch as u8;
        a.stage_done |= 1 << stage;
        a.last_stage_ts = ts;
        match self.ordering {
            Ordering::Any => {
                // Stage k is reached when stages 0..=k are all complete.
                a.stage_ts.fill(NONE);
                let mut t = NONE;
                for s in 0..self.stages.len() {
                    if a.stage_done & (1 << s) == 0 {
                        break;
                    }
                    t = t.max(a.step_ts_of_stage(s, &self.stages[s]));
                    a.stage_ts[s] = t;
                }
                let required = self
                    .stages
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.optional)
                    .all(|(s, _)| a.stage_done & (1 << s) != 0);
                if a.stage_done.count_ones() as usize == self.stages.len()
                    || required && a.stage_ts[self.stages.len() - 1] != NONE
                {
                    a.over = true;
                    a.end = ts;
                }
            }
            _ => {
                a.stage_ts[stage] = ts;
                a.cur = stage + 1;
                if a.cur == self.stages.len() {
                    a.over = true;
                    a.end = ts;
                }
            }
        }
    }
}

impl Attempt {
    /// Completion time of a stage in any-order mode: the latest step of its completing
    /// branch.
    fn step_ts_of_stage(&self, s: usize, stage: &StageInfo) -> Micros {
        let b = &stage.branches[self.stage_branch[s] as usize];
        (b.first..b.first + b.len)
            .filter(|&j| b.required & (1 << j) != 0)
            .map(|j| self.step_ts[j])
            .max()
            .unwrap_or(NONE)
    }
}

fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn group_end(evs: &[Ev], g: usize) -> usize {
    let ts = evs[g].ts;
    let mut e = g + 1;
    while e < evs.len() && evs[e].ts == ts {
        e += 1;
    }
    e
}

/// Per name id, the bits of the matchers whose name matches; and the bits of the
/// matchers that need more checks.
fn name_table(frame: &Frame, matchers: &[Matcher]) -> (Vec<u64>, u64) {
    let mut table = vec![0u64; frame.names().len()];
    let mut checked = 0;
    for (j, m) in matchers.iter().enumerate() {
        for (id, slot) in table.iter_mut().enumerate() {
            if m.name_matches(id as u32) {
                *slot |= 1 << j;
            }
        }
        if m.has_conditions() {
            checked |= 1 << j;
        }
    }
    (table, checked)
}
