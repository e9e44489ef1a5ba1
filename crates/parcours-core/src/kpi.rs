//! The KPI catalog: declarative measures of the events, attached to a stage, with a
//! target, computed over a range and as a series by period with the change from the
//! previous one. The rules are in `docs/semantics.md` ("KPI catalog").

use serde::{Deserialize, Serialize};

use crate::frame::{is_bookkeeping, kind_code, par_actors, Frame};
use crate::journey::{Bucket, Names, Span};
use crate::retention::{retention, RetentionOptions};
use crate::stats::quantile;
use crate::time::{Micros, MICROS_PER_SECOND};
use crate::voice::scores::{Scale, Tally};

/// A catalog file: `[[kpis]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(default)]
    pub kpis: Vec<KpiDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiDef {
    pub id: String,
    pub name: String,
    /// The journey stage the KPI tells about (awareness, consideration, …).
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `count`, `percent`, `ratio`, `currency`, `duration` (seconds) or `score`.
    #[serde(default = "default_unit")]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// `higher` (default) or `lower` is better.
    #[serde(default = "default_direction")]
    pub direction: String,
    pub measure: MeasureDef,
}

fn default_unit() -> String {
    "count".into()
}

fn default_direction() -> String {
    "higher".into()
}

/// A measure as written; [`KpiDef::compile`] checks it against its kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureDef {
    /// `count`, `unique`, `sum`, `ratio`, `conversion`, `duration`, `survey`, `retention`,
    /// `churn`; absent in the `from` / `to` selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Names>,
    /// Only events of this kind or kinds (`page`, `screen`, `track`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_kind: Option<Names>,
    /// Only events whose properties equal these values.
    #[serde(
        rename = "where",
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub filters: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<Box<MeasureDef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Box<MeasureDef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumulative: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Box<MeasureDef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Box<MeasureDef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complement: Option<bool>,
    /// `median` (default), `mean` or `p90`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// `nps`, `csat` or `ces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// For `ces`: report the share of 5–7 instead of the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_high: Option<bool>,
}

/// A definition that does not make sense, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct KpiError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> KpiError {
    KpiError {
        field: field.into(),
        message: message.into(),
    }
}

/// Events selected by name, kind and property values (tables over the frame's ids).
#[derive(Debug, Clone)]
struct Select {
    names: Vec<bool>,
    /// Accepted kind codes (all when empty).
    kinds: Vec<u8>,
    /// Per filtered property: its column index (none when the frame lacks it) and the
    /// accepted value ids.
    filters: Vec<(Option<usize>, Vec<bool>)>,
}

impl Select {
    fn matches(&self, frame: &Frame, i: usize) -> bool {
        self.names[frame.name()[i] as usize]
            && (self.kinds.is_empty() || self.kinds.contains(&frame.kind()[i]))
            && self
                .filters
                .iter()
                .all(|(col, ok)| col.is_some_and(|c| ok[frame.property_by_index(c)[i] as usize]))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Statistic {
    Median,
    Mean,
    P90,
}

/// A survey KPI: the scale, and for CES whether the share of 5–7 is wanted instead of
/// the mean.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SurveyScale {
    scale: Scale,
    share_high: bool,
}

#[derive(Debug, Clone)]
enum Measure {
    Count(Select),
    Unique(Select, u32),
    Sum(Select, String),
    Ratio(Box<Measure>, Box<Measure>, bool),
    Conversion(Select, Select, Micros, bool),
    Duration(Select, Select, Statistic),
    Survey(Select, String, SurveyScale),
    Retention(Select),
    Churn(Select),
}

impl MeasureDef {
    fn names(&self, path: &str) -> Result<Vec<String>, KpiError> {
        match &self.event {
            Some(Names::One(n)) => Ok(vec![n.clone()]),
            Some(Names::Many(v)) if !v.is_empty() => Ok(v.clone()),
            _ => Err(err(&format!("{path}.event"), "name the event(s)")),
        }
    }

    fn select(&self, frame: &Frame, path: &str) -> Result<Select, KpiError> {
        let mut names = vec![false; frame.names().len()];
        for n in self.names(path)? {
            if n == "*" {
                names.fill(true);
            } else if let Some(id) = frame.names().get(&n) {
                names[id as usize] = true;
            }
        }
        let mut kinds = Vec::new();
        for k in self.event_kind.as_ref().map_or(&[][..], |k| k.as_slice()) {
            kinds.push(kind_code(crate::event::EventKind::parse(k).ok_or_else(
                || err(&format!("{path}.event_kind"), format!("unknown kind `{k}`")),
            )?));
        }
        let mut filters = Vec::new();
        for (key, want) in &self.filters {
            // A number and the same number as text are the same value.
            let same = |v: &serde_json::Value| {
                v == want
                    || match (v, want) {
                        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
                            a.as_f64() == b.as_f64()
                        }
                        _ => false,
                    }
            };
            // A property the frame does not carry has no value: no event matches.
            let col = frame.property_keys().iter().position(|k| k == key);
            let ok = match col {
                Some(_) => frame.values().mask(same),
                None => Vec::new(),
            };
            filters.push((col, ok));
        }
        Ok(Select {
            names,
            kinds,
            filters,
        })
    }

    fn part(&self, frame: &Frame, path: &str, field: &str) -> Result<Box<MeasureDef>, KpiError> {
        let _ = frame;
        match field {
            "numerator" => self.numerator.clone(),
            "denominator" => self.denominator.clone(),
            "from" => self.from.clone(),
            _ => self.to.clone(),
        }
        .ok_or_else(|| err(&format!("{path}.{field}"), "missing"))
    }

    fn compile(&self, frame: &Frame, path: &str) -> Result<Measure, KpiError> {
        let kind = self.kind.as_deref().unwrap_or("");
        Ok(match kind {
            "count" => Measure::Count(self.select(frame, path)?),
            "unique" => Measure::Unique(self.select(frame, path)?, self.at_least.unwrap_or(1).max(1)),
            "sum" => Measure::Sum(
                self.select(frame, path)?,
                self.property
                    .clone()
                    .ok_or_else(|| err(&format!("{path}.property"), "name the property to add up"))?,
            ),
            "ratio" => {
                let num = self.part(frame, path, "numerator")?;
                let den = self.part(frame, path, "denominator")?;
                let parts = [(num, "numerator"), (den, "denominator")].map(|(p, f)| {
                    let sub = format!("{path}.{f}");
                    match p.kind.as_deref() {
                        Some("count" | "unique" | "sum") => p.compile(frame, &sub),
                        _ => Err(err(&format!("{sub}.kind"), "a ratio divides counts, uniques or sums")),
                    }
                });
                let [num, den] = parts;
                Measure::Ratio(Box::new(num?), Box::new(den?), self.cumulative.unwrap_or(false))
            }
            "conversion" => {
                let within = match &self.within {
                    Some(w) => Span::parse(w).map_err(|e| err(&format!("{path}.within"), e))?.micros(),
                    None => return Err(err(&format!("{path}.within"), "give the conversion window, e.g. \"7d\"")),
                };
                Measure::Conversion(
                    self.part(frame, path, "from")?.select(frame, &format!("{path}.from"))?,
                    self.part(frame, path, "to")?.select(frame, &format!("{path}.to"))?,
                    within,
                    self.complement.unwrap_or(false),
                )
            }
            "duration" => Measure::Duration(
                self.part(frame, path, "from")?.select(frame, &format!("{path}.from"))?,
                self.part(frame, path, "to")?.select(frame, &format!("{path}.to"))?,
                match self.statistic.as_deref().unwrap_or("median") {
                    "median" => Statistic::Median,
                    "mean" => Statistic::Mean,
                    "p90" => Statistic::P90,
                    other => {
                        return Err(err(&format!("{path}.statistic"), format!("`{other}`: expected median, mean or p90")))
                    }
                },
            ),
            "survey" => Measure::Survey(
                self.select(frame, path)?,
                self.property
                    .clone()
                    .ok_or_else(|| err(&format!("{path}.property"), "name the score property"))?,
                SurveyScale {
                    scale: self
                        .scale
                        .as_deref()
                        .map(Scale::parse)
                        .transpose()
                        .map_err(|e| err(&format!("{path}.scale"), e))?
                        .ok_or_else(|| {
                            err(&format!("{path}.scale"), "expected nps, csat, ces or rating:MIN-MAX")
                        })?,
                    share_high: self.share_high.unwrap_or(false),
                },
            ),
            "retention" => Measure::Retention(self.select(frame, path)?),
            "churn" => Measure::Churn(self.select(frame, path)?),
            other => {
                return Err(err(
                    &format!("{path}.kind"),
                    format!("`{other}`: expected count, unique, sum, ratio, conversion, duration, survey, retention or churn"),
                ))
            }
        })
    }

    /// Properties the measure reads.
    fn properties(&self, out: &mut Vec<String>) {
        out.extend(self.property.clone());
        out.extend(self.filters.keys().cloned());
        for p in [&self.numerator, &self.denominator, &self.from, &self.to]
            .into_iter()
            .flatten()
        {
            p.properties(out);
        }
    }
}

impl KpiDef {
    /// Checks the fields serde cannot (against no data: names need not exist).
    pub fn validate(&self) -> Result<(), KpiError> {
        if self.id.trim().is_empty() {
            return Err(err("id", "must not be empty"));
        }
        if !["count", "percent", "ratio", "currency", "duration", "score"]
            .contains(&self.unit.as_str())
        {
            return Err(err(
                "unit",
                format!(
                    "`{}`: expected count, percent, ratio, currency, duration or score",
                    self.unit
                ),
            ));
        }
        if !["higher", "lower"].contains(&self.direction.as_str()) {
            return Err(err(
                "direction",
                format!("`{}`: expected higher or lower", self.direction),
            ));
        }
        self.measure.compile(&Frame::empty(), "measure").map(|_| ())
    }

    /// The properties a frame must carry for this KPI.
    pub fn properties(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.measure.properties(&mut out);
        out.sort();
        out.dedup();
        out
    }
}

impl Catalog {
    pub fn from_toml(text: &str) -> Result<Catalog, KpiError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| err("toml", e.to_string().trim().to_string()))?;
        catalog.validate()?;
        Ok(catalog)
    }

    pub fn validate(&self) -> Result<(), KpiError> {
        let mut seen = std::collections::HashSet::new();
        for (i, k) in self.kpis.iter().enumerate() {
            k.validate()
                .map_err(|e| err(&format!("kpis[{i}].{}", e.field), e.message))?;
            if !seen.insert(k.id.clone()) {
                return Err(err(
                    &format!("kpis[{i}].id"),
                    format!("`{}` is defined twice", k.id),
                ));
            }
        }
        Ok(())
    }

    /// This catalog with `other`'s KPIs replacing those of the same id, and added.
    pub fn merged(mut self, other: Catalog) -> Catalog {
        for k in other.kpis {
            match self.kpis.iter_mut().find(|x| x.id == k.id) {
                Some(x) => *x = k,
                None => self.kpis.push(k),
            }
        }
        self
    }
}

#[derive(Debug, Clone)]
pub struct KpiOptions {
    pub period: Bucket,
    pub from: Option<Micros>,
    pub to: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiResult {
    pub id: String,
    pub name: String,
    pub stage: String,
    pub unit: String,
    pub direction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// Over the whole range (`null`: no data).
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_met: Option<bool>,
    /// Survey responses, and scores outside the scale left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responses: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_scale: Option<u64>,
    pub series: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub period: String,
    pub value: Option<f64>,
    /// value − previous value.
    pub change: Option<f64>,
    /// (value − previous) / |previous|.
    pub change_rate: Option<f64>,
}

/// Periods of the range: `[first, last]` indices.
struct Periods {
    bucket: Bucket,
    first: i64,
    count: usize,
    whole: bool,
    from: Option<Micros>,
    to: Option<Micros>,
}

impl Periods {
    /// The slot of time `t`: the period (or 0 for the whole range), `None` outside.
    fn slot(&self, t: Micros) -> Option<usize> {
        if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|e| t >= e) {
            return None;
        }
        if self.whole {
            return Some(0);
        }
        let k = self.bucket.index(t) - self.first;
        (k >= 0 && (k as usize) < self.count).then_some(k as usize)
    }
}

/// Per slot: a value and, for surveys, the responses and the scores out of scale.
type Slots = Vec<(Option<f64>, u64, u64)>;

fn number(frame: &Frame, col: &[u32], i: usize) -> Option<f64> {
    frame.values().number(col[i])
}

/// Raw tallies per slot of the additive measures (count, unique, sum), cumulative or not.
fn tally(
    frame: &Frame,
    m: &Measure,
    periods: &Periods,
    cumulative: bool,
) -> Result<Vec<f64>, KpiError> {
    let n = periods.count;
    let ts = frame.ts();
    let kinds = frame.kind();
    let col = match m {
        Measure::Sum(_, p) => Some(frame.property(p).ok_or_else(|| {
            err(
                "measure.property",
                format!("the frame carries no property `{p}`"),
            )
        })?),
        _ => None,
    };
    let parts = par_actors(frame, 0, None, |actors| {
        let mut out = vec![0.0f64; n];
        for a in actors {
            match m {
                Measure::Count(sel) | Measure::Sum(sel, _) => {
                    for i in frame.actor_range(a) {
                        if is_bookkeeping(kinds[i]) || !sel.matches(frame, i) {
                            continue;
                        }
                        if let Some(s) = periods.slot(ts[i]) {
                            out[s] += match col {
                                Some(c) => number(frame, c, i).unwrap_or(0.0),
                                None => 1.0,
                            };
                        }
                    }
                }
                Measure::Unique(sel, at_least) => {
                    // An actor's events come in time order, so their slots never go back:
                    // one running count per slot, closed when the slot changes. Cumulative:
                    // counted once, in the slot where the running total reaches the
                    // threshold.
                    let (mut slot, mut count, mut total) = (usize::MAX, 0u32, 0u32);
                    for i in frame.actor_range(a) {
                        if is_bookkeeping(kinds[i]) || !sel.matches(frame, i) {
                            continue;
                        }
                        let Some(s) = periods.slot(ts[i]) else {
                            continue;
                        };
                        if s != slot {
                            (slot, count) = (s, 0);
                        }
                        count += 1;
                        total += 1;
                        let reached = if cumulative { total } else { count };
                        if reached == *at_least {
                            out[s] += 1.0;
                        }
                    }
                }
                _ => unreachable!("tally of an additive measure"),
            }
        }
        out
    });
    let mut out = vec![0.0f64; n];
    for p in parts {
        out.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    if cumulative {
        let mut run = 0.0;
        for x in &mut out {
            run += *x;
            *x = run;
        }
    }
    Ok(out)
}

fn evaluate(frame: &Frame, m: &Measure, periods: &Periods) -> Result<Slots, KpiError> {
    let n = periods.count;
    let ts = frame.ts();
    let kinds = frame.kind();
    let plain = |v: Vec<f64>| v.into_iter().map(|x| (Some(x), 0, 0)).collect::<Slots>();
    Ok(match m {
        Measure::Count(_) | Measure::Unique(..) | Measure::Sum(..) => {
            plain(tally(frame, m, periods, false)?)
        }
        Measure::Ratio(num, den, cumulative) => {
            let (a, b) = (
                tally(frame, num, periods, *cumulative)?,
                tally(frame, den, periods, *cumulative)?,
            );
            a.iter()
                .zip(&b)
                .map(|(x, y)| ((*y != 0.0).then(|| x / y), 0, 0))
                .collect()
        }
        Measure::Conversion(from, to, within, complement) => {
            let parts = par_actors(frame, 0, None, |actors| {
                let (mut started, mut converted) = (vec![0u64; n], vec![0u64; n]);
                let mut tos: Vec<usize> = Vec::new();
                for a in actors {
                    tos.clear();
                    // Slots never go back within an actor: the first `from` of a slot is
                    // the first one after a slot change.
                    let mut last_slot = usize::MAX;
                    let range = frame.actor_range(a);
                    tos.extend(
                        range
                            .clone()
                            .filter(|&i| !is_bookkeeping(kinds[i]) && to.matches(frame, i)),
                    );
                    for i in range {
                        if is_bookkeeping(kinds[i]) || !from.matches(frame, i) {
                            continue;
                        }
                        let Some(s) = periods.slot(ts[i]) else {
                            continue;
                        };
                        if s == last_slot {
                            continue;
                        }
                        last_slot = s;
                        started[s] += 1;
                        let k = tos.partition_point(|&j| j <= i);
                        if tos.get(k).is_some_and(|&j| ts[j] - ts[i] <= *within) {
                            converted[s] += 1;
                        }
                    }
                }
                (started, converted)
            });
            let (mut started, mut converted) = (vec![0u64; n], vec![0u64; n]);
            for (s, c) in parts {
                started.iter_mut().zip(s).for_each(|(a, b)| *a += b);
                converted.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
            started
                .iter()
                .zip(&converted)
                .map(|(&s, &c)| {
                    let rate = (s > 0).then(|| c as f64 / s as f64);
                    (
                        if *complement {
                            rate.map(|r| 1.0 - r)
                        } else {
                            rate
                        },
                        0,
                        0,
                    )
                })
                .collect()
        }
        Measure::Duration(from, to, stat) => {
            let parts = par_actors(frame, 0, None, |actors| {
                let mut out: Vec<Vec<Micros>> = vec![Vec::new(); n];
                for a in actors {
                    let range = frame.actor_range(a);
                    let Some(start) = range
                        .clone()
                        .find(|&i| !is_bookkeeping(kinds[i]) && from.matches(frame, i))
                    else {
                        continue;
                    };
                    let Some(end) = (start + 1..range.end)
                        .find(|&i| !is_bookkeeping(kinds[i]) && to.matches(frame, i))
                    else {
                        continue;
                    };
                    if let Some(s) = periods.slot(ts[end]) {
                        out[s].push(ts[end] - ts[start]);
                    }
                }
                out
            });
            let mut all: Vec<Vec<Micros>> = vec![Vec::new(); n];
            for p in parts {
                for (a, b) in all.iter_mut().zip(p) {
                    a.extend(b);
                }
            }
            all.into_iter()
                .map(|mut d| {
                    if d.is_empty() {
                        return (None, 0, 0);
                    }
                    d.sort_unstable();
                    let v = match stat {
                        Statistic::Median => quantile(&d, 0.5),
                        Statistic::P90 => quantile(&d, 0.9),
                        Statistic::Mean => {
                            d.iter().map(|&x| x as f64).sum::<f64>() / d.len() as f64
                        }
                    } / MICROS_PER_SECOND as f64;
                    (Some(v), d.len() as u64, 0)
                })
                .collect()
        }
        Measure::Survey(sel, prop, scale) => {
            let col = frame.property(prop).ok_or_else(|| {
                err(
                    "measure.property",
                    format!("the frame carries no property `{prop}`"),
                )
            })?;
            let mut acc = vec![Tally::default(); n];
            for a in 0..frame.actor_count() {
                for i in frame.actor_range(a) {
                    if is_bookkeeping(kinds[i]) || !sel.matches(frame, i) {
                        continue;
                    }
                    let Some(s) = periods.slot(ts[i]) else {
                        continue;
                    };
                    if let Some(x) = number(frame, col, i) {
                        acc[s].add(scale.scale, x);
                    }
                }
            }
            acc.into_iter()
                .map(|t| {
                    let summary = t.summary(scale.scale);
                    let v = match (scale.scale, scale.share_high) {
                        (Scale::Ces, true) => summary.groups.map(|g| g.high),
                        _ => summary.score,
                    };
                    (v, t.responses, t.out_of_scale)
                })
                .collect()
        }
        Measure::Retention(_) | Measure::Churn(_) => {
            unreachable!("lifecycle measures are evaluated apart")
        }
    })
}

/// Every KPI of `catalog` over the frame.
pub fn evaluate_catalog(
    frame: &Frame,
    catalog: &Catalog,
    options: &KpiOptions,
) -> Result<Vec<KpiResult>, KpiError> {
    let ts = frame.ts();
    let (t_min, t_max) = (ts.iter().min().copied(), ts.iter().max().copied());
    let first = options.from.or(t_min).map(|t| options.period.index(t));
    let last = options
        .to
        .map(|t| t - 1)
        .or(t_max)
        .map(|t| options.period.index(t));
    let (first, count) = match (first, last) {
        (Some(f), Some(l)) if l >= f => (f, (l - f + 1) as usize),
        _ => (0, 0),
    };
    let series_periods = Periods {
        bucket: options.period,
        first,
        count,
        whole: false,
        from: options.from,
        to: options.to,
    };
    let whole = Periods {
        count: 1,
        whole: true,
        ..Periods { ..series_periods }
    };
    let mut out = Vec::new();
    for (k, def) in catalog.kpis.iter().enumerate() {
        let measure = def
            .measure
            .compile(frame, "measure")
            .map_err(|e| err(&format!("kpis[{k}].{}", e.field), e.message))?;
        let (series, total): (Slots, (Option<f64>, u64, u64)) = match &measure {
            Measure::Retention(sel) | Measure::Churn(sel) => {
                let report = retention(
                    frame,
                    |_| false,
                    |i| sel.matches(frame, i),
                    None,
                    None,
                    &RetentionOptions {
                        period: options.period,
                        periods: 0,
                        from: options.from,
                        to: options.to,
                        ..RetentionOptions::default()
                    },
                );
                let churn = matches!(measure, Measure::Churn(_));
                let mut by_label = std::collections::HashMap::new();
                for (j, l) in report.lifecycle.iter().enumerate() {
                    let before = j
                        .checked_sub(1)
                        .map(|b| report.lifecycle[b].active)
                        .unwrap_or(0);
                    let v = (before > 0).then(|| {
                        if churn {
                            l.dormant as f64 / before as f64
                        } else {
                            l.returning as f64 / before as f64
                        }
                    });
                    by_label.insert(l.start.clone(), v);
                }
                let series: Slots = (0..count)
                    .map(|s| {
                        (
                            by_label
                                .get(&options.period.label_of(first + s as i64))
                                .copied()
                                .flatten(),
                            0,
                            0,
                        )
                    })
                    .collect();
                let values: Vec<f64> = series.iter().filter_map(|x| x.0).collect();
                let mean =
                    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
                (series, (mean, 0, 0))
            }
            m => {
                let s = evaluate(frame, m, &series_periods)?;
                let w = evaluate(frame, m, &whole)?;
                (s, w.into_iter().next().unwrap_or((None, 0, 0)))
            }
        };
        let mut points = Vec::with_capacity(count);
        let mut prev: Option<f64> = None;
        for (s, (v, _, _)) in series.iter().enumerate() {
            let change = v.zip(prev).map(|(a, b)| a - b);
            points.push(Point {
                period: options.period.label_of(first + s as i64),
                value: *v,
                change,
                change_rate: change
                    .zip(prev)
                    .and_then(|(c, b)| (b != 0.0).then(|| c / b.abs())),
            });
            prev = *v;
        }
        let survey = matches!(measure, Measure::Survey(..));
        let value = total.0;
        out.push(KpiResult {
            id: def.id.clone(),
            name: def.name.clone(),
            stage: def.stage.clone(),
            unit: def.unit.clone(),
            direction: def.direction.clone(),
            target: def.target,
            value,
            target_met: def.target.zip(value).map(|(t, v)| {
                if def.direction == "lower" {
                    v <= t
                } else {
                    v >= t
                }
            }),
            responses: survey.then_some(total.1),
            out_of_scale: survey.then_some(total.2),
            series: points,
        });
    }
    Ok(out)
}
