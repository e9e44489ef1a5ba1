//! Paths from a frame: for every conversion, the touches of its actor inside the lookback
//! window since the previous conversion; for every actor whose last touches led to none,
//! a non-converting path. The rules are in `docs/semantics.md` ("Attribution paths").

use std::collections::HashMap;

use super::pathset::{PathSet, PathTouch};
use crate::frame::{is_bookkeeping, Frame, FxBuild, AHEAD};
use crate::time::{Micros, MICROS_PER_SECOND};

/// What a touch is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TouchBy {
    Channel,
    Campaign,
    Touchpoint,
    /// An event property (the frame must carry it).
    Property(String),
}

impl TouchBy {
    pub fn parse(text: &str) -> Result<TouchBy, String> {
        match text {
            "channel" => Ok(TouchBy::Channel),
            "campaign" => Ok(TouchBy::Campaign),
            "touchpoint" => Ok(TouchBy::Touchpoint),
            _ => match text.strip_prefix("property:") {
                Some(key) if !key.is_empty() => Ok(TouchBy::Property(key.to_string())),
                _ => Err(format!(
                    "unknown touch `{text}` (expected channel, campaign, touchpoint or property:KEY)"
                )),
            },
        }
    }

    /// The frame property this touch reads, if any.
    pub fn property(&self) -> Option<&str> {
        match self {
            TouchBy::Property(k) => Some(k),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub touch: TouchBy,
    /// Touches older than this before the conversion are left out.
    pub lookback: Micros,
    /// Conversions (and non-converting paths, by their last touch) at or after / before.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    /// A run of the same touch is one touch (at the time of its last event).
    pub collapse_repeats: bool,
    /// Keep the paths that led to no conversion (the Markov chain needs them).
    pub non_converting: bool,
    /// The property holding a conversion's value (`$revenue`, normalised at ingestion).
    pub value_property: Option<String>,
}

impl Default for ExtractOptions {
    fn default() -> ExtractOptions {
        ExtractOptions {
            touch: TouchBy::Channel,
            lookback: 30 * 86_400 * MICROS_PER_SECOND,
            from: None,
            to: None,
            collapse_repeats: true,
            non_converting: true,
            value_property: Some("$revenue".into()),
        }
    }
}

/// Non-converting paths counted by their touches.
type NullPaths = HashMap<Box<[u32]>, f64, FxBuild>;

struct Pending {
    touch: u32,
    ts: Micros,
    direct: bool,
    milestone: bool,
}

/// The paths of `frame`. `is_conversion(i)` and `is_milestone(i)` say whether frame row
/// `i` is a conversion or a milestone (for W-shaped); bookkeeping messages (identify,
/// group, alias) are never either.
pub fn extract(
    frame: &Frame,
    is_conversion: impl Fn(usize) -> bool + Sync,
    is_milestone: impl Fn(usize) -> bool + Sync,
    options: &ExtractOptions,
) -> Result<PathSet, String> {
    let missing = |k: &str| format!("the frame carries no property `{k}`");
    let column: &[u32] = match &options.touch {
        TouchBy::Touchpoint => frame.touchpoint(),
        TouchBy::Campaign => frame.campaign(),
        TouchBy::Channel => &[],
        TouchBy::Property(k) => frame.property(k).ok_or_else(|| missing(k))?,
    };
    let labels: Vec<String> = match &options.touch {
        TouchBy::Channel => frame
            .channels()
            .iter()
            .map(|(_, s)| s.to_string())
            .collect(),
        TouchBy::Campaign => frame
            .campaigns()
            .iter()
            .map(|(_, s)| s.to_string())
            .collect(),
        TouchBy::Touchpoint => frame
            .touchpoints()
            .iter()
            .map(|(_, s)| s.to_string())
            .collect(),
        TouchBy::Property(_) => (0..frame.values().len() as u32)
            .map(|id| frame.values().label(id))
            .collect(),
    };
    // Absent touches: an empty campaign or touchpoint, a property without a value.
    let absent: Vec<bool> = match &options.touch {
        TouchBy::Property(_) => (0..labels.len()).map(|id| id == 0).collect(),
        _ => labels.iter().map(|l| l.is_empty()).collect(),
    };
    let values = match &options.value_property {
        None => None,
        Some(k) => Some(frame.property(k).ok_or_else(|| missing(k))?),
    };
    let cut = Cut {
        frame,
        column,
        absent: &absent,
        values,
        direct: frame.channels().get("direct"),
        options,
    };
    let parts = crate::frame::par_actors(frame, 0, None, |actors| {
        cut.actors(actors, &is_conversion, &is_milestone)
    });
    let mut set = PathSet::new(labels);
    let mut nulls: NullPaths = HashMap::default();
    for (part, part_nulls) in parts {
        set.append(part);
        for (k, n) in part_nulls {
            *nulls.entry(k).or_default() += n;
        }
    }
    // In a fixed order, whatever the number of workers.
    let mut nulls: Vec<(Box<[u32]>, f64)> = nulls.into_iter().collect();
    nulls.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut path: Vec<PathTouch> = Vec::new();
    for (touches, n) in nulls {
        path.clear();
        path.extend(touches.iter().map(|&touch| PathTouch {
            touch,
            age_s: 0.0,
            direct: false,
            milestone: false,
        }));
        set.push(&path, 0.0, 0.0, n);
    }
    Ok(set.compact())
}

/// What every worker reads.
struct Cut<'a> {
    frame: &'a Frame,
    column: &'a [u32],
    absent: &'a [bool],
    /// The value property's column.
    values: Option<&'a [u32]>,
    direct: Option<u32>,
    options: &'a ExtractOptions,
}

impl Cut<'_> {
    fn actors(
        &self,
        actors: std::ops::Range<usize>,
        is_conversion: &(impl Fn(usize) -> bool + Sync),
        is_milestone: &(impl Fn(usize) -> bool + Sync),
    ) -> (PathSet, NullPaths) {
        let (frame, options) = (self.frame, self.options);
        let (ts, kinds, channels) = (frame.ts(), frame.kind(), frame.channel());
        let in_range =
            |t: Micros| options.from.is_none_or(|f| t >= f) && options.to.is_none_or(|e| t < e);
        let mut set = PathSet::new(Vec::new());
        let mut nulls: NullPaths = HashMap::default();
        let mut seq: Vec<u32> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut path: Vec<PathTouch> = Vec::new();
        let emit = |set: &mut PathSet,
                    path: &mut Vec<PathTouch>,
                    pending: &[Pending],
                    at: Micros,
                    conv: f64,
                    value: f64| {
            path.clear();
            let oldest = at.saturating_sub(options.lookback);
            for p in pending.iter().filter(|p| p.ts >= oldest) {
                path.push(PathTouch {
                    touch: p.touch,
                    age_s: (at - p.ts) as f64 / MICROS_PER_SECOND as f64,
                    direct: p.direct,
                    milestone: p.milestone,
                });
            }
            set.push(path, conv, value, 1.0 - conv);
        };
        let end = actors.end;
        for a in actors {
            pending.clear();
            // The value is read at conversions only, far apart in its column: the
            // column's entries of the actors a few places ahead are fetched meanwhile.
            if let (Some(col), true) = (self.values, a + AHEAD < end) {
                crate::frame::prefetch(&col[frame.actor_range(a + AHEAD)]);
            }
            for i in frame.actor_range(a) {
                if is_bookkeeping(kinds[i]) {
                    continue;
                }
                let touch = match options.touch {
                    TouchBy::Channel => channels[i] as u32,
                    _ => self.column[i],
                };
                if !self.absent[touch as usize] {
                    match pending.last_mut() {
                        Some(last) if options.collapse_repeats && last.touch == touch => {
                            last.ts = ts[i];
                        }
                        _ => pending.push(Pending {
                            touch,
                            ts: ts[i],
                            direct: self.direct == Some(channels[i] as u32),
                            milestone: false,
                        }),
                    }
                }
                if is_milestone(i) {
                    if let Some(last) = pending.last_mut() {
                        last.milestone = true;
                    }
                }
                if is_conversion(i) {
                    if in_range(ts[i]) {
                        let value = self
                            .values
                            .and_then(|col| frame.values().number(col[i]))
                            .unwrap_or(0.0);
                        emit(&mut set, &mut path, &pending, ts[i], 1.0, value);
                    }
                    pending.clear();
                }
            }
            // Non-converting paths only matter as sequences (the rule models skip
            // them): counted by sequence here rather than stored one by one.
            if options.non_converting {
                if let Some(last) = pending.last() {
                    if in_range(last.ts) {
                        let oldest = last.ts.saturating_sub(options.lookback);
                        seq.clear();
                        seq.extend(pending.iter().filter(|p| p.ts >= oldest).map(|p| p.touch));
                        match nulls.get_mut(seq.as_slice()) {
                            Some(n) => *n += 1.0,
                            None => {
                                nulls.insert(seq.as_slice().into(), 1.0);
                            }
                        }
                    }
                }
            }
        }
        (set, nulls)
    }
}

/// Frame rows where journey attempts completed `stage` (the conversions), and where they
/// completed each stage in `milestones` (for W-shaped): the last step of the attempt at
/// or before the stage's completion time.
pub fn stage_rows(
    frame: &Frame,
    outcomes: &crate::journey::Outcomes,
    stages: &[usize],
) -> Vec<Vec<bool>> {
    let ts = frame.ts();
    let mut rows = vec![vec![false; frame.len()]; stages.len()];
    for k in 0..outcomes.len() {
        for (mask, &stage) in rows.iter_mut().zip(stages) {
            if let Some(row) = outcomes.stage_row(k, stage, ts) {
                mask[row as usize] = true;
            }
        }
    }
    rows
}
