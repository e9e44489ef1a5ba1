//! The input of every attribution model: paths of touches, each ending in conversions
//! (with their value) or in nothing.

use std::collections::HashMap;

use crate::frame::FxBuild;

/// One touch of a path as it is pushed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathTouch {
    /// Index into [`PathSet::labels`].
    pub touch: u32,
    /// Seconds from this touch to the conversion (or to the path's last touch).
    pub age_s: f64,
    /// The touch came through the `direct` channel (for last non-direct).
    pub direct: bool,
    /// The touch is in effect at a milestone (for W-shaped).
    pub milestone: bool,
}

/// Paths stored flat: path `i` is `touch[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct PathSet {
    pub labels: Vec<String>,
    touch: Vec<u32>,
    age_s: Vec<f64>,
    direct: Vec<bool>,
    milestone: Vec<bool>,
    offsets: Vec<usize>,
    conversions: Vec<f64>,
    value: Vec<f64>,
    nulls: Vec<f64>,
}

/// A distinct sequence of touches with its conversions, value and nulls added up.
pub type MergedPath = (Vec<u32>, f64, f64, f64);

/// A borrowed path.
#[derive(Debug, Clone, Copy)]
pub struct PathView<'a> {
    pub touches: &'a [u32],
    pub age_s: &'a [f64],
    pub direct: &'a [bool],
    pub milestone: &'a [bool],
    pub conversions: f64,
    pub value: f64,
    pub nulls: f64,
}

impl PathSet {
    pub fn new(labels: Vec<String>) -> PathSet {
        PathSet {
            labels,
            offsets: vec![0],
            ..PathSet::default()
        }
    }

    /// Adds a path that ended in `conversions` conversions worth `value` and in `nulls`
    /// journeys without one (a row of ChannelAttribution's input has both).
    pub fn push(&mut self, touches: &[PathTouch], conversions: f64, value: f64, nulls: f64) {
        for t in touches {
            self.touch.push(t.touch);
            self.age_s.push(t.age_s);
            self.direct.push(t.direct);
            self.milestone.push(t.milestone);
        }
        self.offsets.push(self.touch.len());
        self.conversions.push(conversions);
        self.value.push(value);
        self.nulls.push(nulls);
    }

    pub fn len(&self) -> usize {
        self.conversions.len()
    }

    /// Adds the paths of `other` (numbered against the same labels) after these.
    pub fn append(&mut self, other: PathSet) {
        let base = self.touch.len();
        self.touch.extend(other.touch);
        self.age_s.extend(other.age_s);
        self.direct.extend(other.direct);
        self.milestone.extend(other.milestone);
        self.offsets
            .extend(other.offsets.iter().skip(1).map(|o| o + base));
        self.conversions.extend(other.conversions);
        self.value.extend(other.value);
        self.nulls.extend(other.nulls);
    }

    pub fn is_empty(&self) -> bool {
        self.conversions.is_empty()
    }

    pub fn path(&self, i: usize) -> PathView<'_> {
        let r = self.offsets[i]..self.offsets[i + 1];
        PathView {
            touches: &self.touch[r.clone()],
            age_s: &self.age_s[r.clone()],
            direct: &self.direct[r.clone()],
            milestone: &self.milestone[r],
            conversions: self.conversions[i],
            value: self.value[i],
            nulls: self.nulls[i],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = PathView<'_>> {
        (0..self.len()).map(|i| self.path(i))
    }

    /// Keeps only the labels some path uses, renumbered in label order, so that the
    /// players of the data-driven models are the touches that occur.
    pub fn compact(mut self) -> PathSet {
        let mut used = vec![false; self.labels.len()];
        for &t in &self.touch {
            used[t as usize] = true;
        }
        let mut order: Vec<u32> = (0..self.labels.len() as u32)
            .filter(|&t| used[t as usize])
            .collect();
        order.sort_by(|&a, &b| self.labels[a as usize].cmp(&self.labels[b as usize]));
        let mut remap = vec![u32::MAX; self.labels.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        for t in &mut self.touch {
            *t = remap[*t as usize];
        }
        self.labels = order
            .iter()
            .map(|&old| std::mem::take(&mut self.labels[old as usize]))
            .collect();
        self
    }

    /// Paths with the same touches merged (conversions, value and nulls added). Only the
    /// sequence survives: ages, direct and milestone flags are dropped, which the Markov
    /// chain does not read.
    pub fn merged_sequences(&self) -> Vec<MergedPath> {
        let mut at: HashMap<&[u32], usize, FxBuild> = HashMap::default();
        let mut out: Vec<MergedPath> = Vec::new();
        for p in self.iter() {
            let k = *at.entry(p.touches).or_insert_with(|| {
                out.push((p.touches.to_vec(), 0.0, 0.0, 0.0));
                out.len() - 1
            });
            out[k].1 += p.conversions;
            out[k].2 += p.value;
            out[k].3 += p.nulls;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(touch: u32) -> PathTouch {
        PathTouch {
            touch,
            age_s: 0.0,
            direct: false,
            milestone: false,
        }
    }

    #[test]
    fn compact_keeps_used_labels_in_order() {
        let mut s = PathSet::new(vec!["z".into(), "unused".into(), "a".into()]);
        s.push(&[t(0), t(2)], 1.0, 5.0, 0.0);
        s.push(&[t(2)], 0.0, 0.0, 1.0);
        let s = s.compact();
        assert_eq!(s.labels, ["a", "z"]);
        assert_eq!(s.path(0).touches, [1, 0]);
        assert_eq!(s.path(1).touches, [0]);
    }

    #[test]
    fn merged_sequences_add_up() {
        let mut s = PathSet::new(vec!["a".into(), "b".into()]);
        s.push(&[t(0), t(1)], 1.0, 5.0, 0.0);
        s.push(&[t(1)], 0.0, 0.0, 1.0);
        s.push(&[t(0), t(1)], 1.0, 2.0, 3.0);
        let m = s.merged_sequences();
        assert_eq!(
            m,
            vec![(vec![0, 1], 2.0, 7.0, 3.0), (vec![1], 0.0, 0.0, 1.0)]
        );
    }
}
