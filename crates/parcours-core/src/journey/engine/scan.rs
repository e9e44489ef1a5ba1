//! The first pass over an actor's events: keep those that can matter to the journey.

use super::{Engine, Ev, RunOptions};
use crate::frame::{is_bookkeeping, prefetch};
use crate::journey::definition::Ordering;
use crate::journey::matcher::Matcher;

impl Engine<'_> {
    /// Collects the actor's events of interest (those that can take a step, trigger an
    /// exclusion or, in strict ordering, break a chain); returns false when none of them can
    /// open an attempt (the actor then counts nowhere and needs no more work).
    pub(super) fn collect(
        &self,
        a: usize,
        options: &RunOptions,
        evs: &mut Vec<Ev>,
        candidates: &mut Vec<u32>,
    ) -> bool {
        evs.clear();
        let f = self.frame;
        let range = f.actor_range(a);
        let names = &f.name()[range.clone()];
        let strict = self.ordering == Ordering::Strict;
        // Most events concern no step: keep the offsets of the others without a branch
        // per event (which the processor would mispredict), then look at those only.
        if candidates.len() < names.len() {
            candidates.resize(names.len(), 0);
        }
        prefetch(&f.ts()[range.clone()]);
        let mut n = 0;
        for (offset, &name) in names.iter().enumerate() {
            candidates[n] = offset as u32;
            n += (strict || self.interesting[name as usize]) as usize;
        }
        let mut may_enter = false;
        for &offset in &candidates[..n] {
            let i = range.start + offset as usize;
            let name = names[offset as usize] as usize;
            let mut steps = self.name_steps[name];
            let mut excl = self.name_excl[name];
            let behavioural = strict && !is_bookkeeping(f.kind()[i]);
            if steps | excl == 0 && !behavioural {
                continue;
            }
            if let Some(filter) = &options.event_filter {
                if !filter.matches(f, i) {
                    continue;
                }
            }
            steps = self.refine(steps, self.checked_steps, &self.matchers, i);
            if excl & self.checked_excl != 0 {
                let mut keep = 0;
                for (x, (m, _, _)) in self.excl.iter().enumerate() {
                    if excl & (1 << x) != 0 && m.matches(f, i) {
                        keep |= 1 << x;
                    }
                }
                excl = keep;
            }
            if steps | excl != 0 || behavioural {
                may_enter |= steps & self.entry_steps != 0;
                evs.push(Ev {
                    i: i as u32,
                    ts: f.ts()[i],
                    steps,
                    excl,
                    behavioural,
                });
            }
        }
        may_enter
    }

    pub(super) fn refine(&self, bits: u64, checked: u64, matchers: &[Matcher], i: usize) -> u64 {
        if bits & checked == 0 {
            return bits;
        }
        let mut keep = bits & !checked;
        let mut rest = bits & checked;
        while rest != 0 {
            let j = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if matchers[j].matches(self.frame, i) {
                keep |= 1 << j;
            }
        }
        keep
    }
}
