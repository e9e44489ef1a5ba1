//! The outcomes of a run: every counted attempt in flat arrays.

use super::{Attempt, NONE};
use crate::time::Micros;

/// Every counted attempt, in flat arrays (one row per attempt, `stages` wide where
/// per-stage).
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    pub stages: usize,
    pub actor: Vec<u32>,
    pub entry_ts: Vec<Micros>,
    /// The furthest stage completed, or -1 when the attempt entered but completed none.
    pub reached: Vec<i16>,
    /// When the attempt ended: converted, disqualified, broken, or its window closed
    /// (`Micros::MAX` when it has no window and did not end).
    pub end: Vec<Micros>,
    /// Completion time of each stage, [`NONE`] when not reached.
    pub stage_ts: Vec<Micros>,
    /// The branch that completed each stage (`u8::MAX` when not reached).
    pub stage_branch: Vec<u8>,
    /// Frame indices of the steps taken, attempt `k` in `steps[steps_at[k]..steps_at[k+1]]`.
    pub steps: Vec<u32>,
    pub steps_at: Vec<u32>,
}

impl Outcomes {
    pub(super) fn new(stages: usize) -> Outcomes {
        Outcomes::with_capacity(stages, 0)
    }

    /// Room for `attempts` attempts without growing (the memory is only touched as it is
    /// filled).
    pub(super) fn with_capacity(stages: usize, attempts: usize) -> Outcomes {
        let mut steps_at = Vec::with_capacity(attempts + 1);
        steps_at.push(0);
        Outcomes {
            stages,
            actor: Vec::with_capacity(attempts),
            entry_ts: Vec::with_capacity(attempts),
            reached: Vec::with_capacity(attempts),
            end: Vec::with_capacity(attempts),
            stage_ts: Vec::with_capacity(attempts * stages),
            stage_branch: Vec::with_capacity(attempts * stages),
            steps: Vec::new(),
            steps_at,
        }
    }

    pub fn len(&self) -> usize {
        self.actor.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actor.is_empty()
    }

    pub fn stage_time(&self, k: usize, stage: usize) -> Option<Micros> {
        let t = self.stage_ts[k * self.stages + stage];
        (t != NONE).then_some(t)
    }

    pub fn branch(&self, k: usize, stage: usize) -> Option<usize> {
        let b = self.stage_branch[k * self.stages + stage];
        (b != u8::MAX).then_some(b as usize)
    }

    pub fn steps_of(&self, k: usize) -> &[u32] {
        &self.steps[self.steps_at[k] as usize..self.steps_at[k + 1] as usize]
    }

    /// The frame row that completed `stage` in attempt `k`: its last step at or before the
    /// stage's completion time (`ts` are the frame's times).
    pub fn stage_row(&self, k: usize, stage: usize, ts: &[Micros]) -> Option<u32> {
        let done = self.stage_time(k, stage)?;
        self.steps_of(k)
            .iter()
            .rev()
            .find(|&&i| ts[i as usize] <= done)
            .copied()
    }

    /// The parts one after the other, copying all but the first once (no growth on the
    /// way: on a million actors the copies of a growing array cost as much as a funnel).
    pub(super) fn concat(parts: Vec<Outcomes>, stages: usize) -> Outcomes {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            return Outcomes::new(stages);
        };
        let rest: Vec<Outcomes> = parts.collect();
        let (attempts, steps) = rest
            .iter()
            .fold((0, 0), |(a, s), p| (a + p.len(), s + p.steps.len()));
        all.actor.reserve_exact(attempts);
        all.entry_ts.reserve_exact(attempts);
        all.reached.reserve_exact(attempts);
        all.end.reserve_exact(attempts);
        all.stage_ts.reserve_exact(attempts * stages);
        all.stage_branch.reserve_exact(attempts * stages);
        all.steps.reserve_exact(steps);
        all.steps_at.reserve_exact(attempts);
        for p in rest {
            all.append(p);
        }
        all
    }

    fn append(&mut self, other: Outcomes) {
        let base = self.steps.len() as u32;
        self.actor.extend(other.actor);
        self.entry_ts.extend(other.entry_ts);
        self.reached.extend(other.reached);
        self.end.extend(other.end);
        self.stage_ts.extend(other.stage_ts);
        self.stage_branch.extend(other.stage_branch);
        self.steps.extend(other.steps);
        self.steps_at
            .extend(other.steps_at[1..].iter().map(|s| s + base));
    }

    pub(super) fn push(&mut self, actor: u32, a: &Attempt) {
        self.actor.push(actor);
        self.entry_ts.push(a.entry_ts);
        self.reached.push(a.reached());
        self.end.push(a.end);
        self.stage_ts.extend_from_slice(&a.stage_ts);
        self.stage_branch.extend_from_slice(&a.stage_branch);
        self.steps.extend_from_slice(&a.step_events);
        self.steps_at.push(self.steps.len() as u32);
    }
}
