//! Survey scores from the events: overall, by touchpoint, stage, channel, trait or
//! property, and over time, each with its responses and margin of error.
//!
//! A survey response is an event (`Survey Responded` by default) whose properties say
//! which survey (`survey`: `nps`, `csat`, `ces` or a custom id), the answer (`score`),
//! and optionally what was rated (`touchpoint_surveyed`) and at which journey stage
//! (`stage`). The rules are in `docs/semantics.md` ("Survey scores").

use std::collections::HashMap;

use serde::Serialize;

use super::scores::{Scale, Summary, Tally};
use crate::frame::{is_bookkeeping, Frame, ValueDict};
use crate::journey::Bucket;
use crate::time::Micros;

/// What to break the scores down by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The touchpoint rated: the response's `touchpoint_surveyed`, else the touchpoint of
    /// the actor's last event before the response that is not a survey response.
    Touchpoint,
    /// The response's `stage` property.
    Stage,
    /// The channel of the actor's last event before the response that is not a survey
    /// response: the interaction being rated.
    Channel,
    /// A trait of the actor (a segment).
    Trait(String),
    /// Any property of the response.
    Property(String),
}

impl Dimension {
    /// `touchpoint`, `stage`, `channel`, `trait:KEY`, `property:KEY`.
    pub fn parse(text: &str) -> Result<Dimension, String> {
        let t = text.trim();
        match t {
            "touchpoint" => Ok(Dimension::Touchpoint),
            "stage" => Ok(Dimension::Stage),
            "channel" => Ok(Dimension::Channel),
            _ => {
                if let Some(k) = t.strip_prefix("trait:").filter(|k| !k.is_empty()) {
                    Ok(Dimension::Trait(k.to_string()))
                } else if let Some(k) = t.strip_prefix("property:").filter(|k| !k.is_empty()) {
                    Ok(Dimension::Property(k.to_string()))
                } else {
                    Err(format!(
                        "`{t}`: expected touchpoint, stage, channel, trait:KEY or property:KEY"
                    ))
                }
            }
        }
    }

    pub fn name(&self) -> String {
        match self {
            Dimension::Touchpoint => "touchpoint".into(),
            Dimension::Stage => "stage".into(),
            Dimension::Channel => "channel".into(),
            Dimension::Trait(k) => format!("trait:{k}"),
            Dimension::Property(k) => format!("property:{k}"),
        }
    }
}

/// The event of a survey answer, by default and for validation at ingestion.
pub const SURVEY_EVENT: &str = "Survey Responded";

/// Checks a survey answer's `score` at ingestion, for the standard surveys (`survey`:
/// `nps`, `csat`, `ces`): a number (or a numeric string) valid on the scale. Answers of
/// other surveys, and answers without a score (an open question), pass.
pub fn check_answer(properties: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    use serde_json::Value;
    let scale = match properties.get("survey") {
        Some(Value::String(id)) => Scale::of_survey(id),
        _ => None,
    };
    let (Some(scale), Some(score)) = (scale, properties.get("score")) else {
        return Ok(());
    };
    match score_of(score) {
        Ok(None) => Ok(()),
        Ok(Some(x)) => scale.check(x),
        Err(()) => Err(format!("{score} is not a number ({} answer)", scale.name())),
    }
}

/// A response's `score` as a number: a JSON number or a numeric string; `None` for null;
/// an error for anything else.
pub(crate) fn score_of(score: &serde_json::Value) -> Result<Option<f64>, ()> {
    use serde_json::Value;
    match score {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or(()),
        Value::String(s) => s.trim().parse::<f64>().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// Where responses are and how to read them.
#[derive(Debug, Clone)]
pub struct SurveyFields {
    pub event: String,
    pub survey: String,
    pub score: String,
    pub touchpoint: String,
    pub stage: String,
}

impl Default for SurveyFields {
    fn default() -> Self {
        SurveyFields {
            event: SURVEY_EVENT.into(),
            survey: "survey".into(),
            score: "score".into(),
            touchpoint: "touchpoint_surveyed".into(),
            stage: "stage".into(),
        }
    }
}

impl SurveyFields {
    /// The event properties a report reads.
    pub fn properties(&self) -> Vec<String> {
        vec![
            self.survey.clone(),
            self.score.clone(),
            self.touchpoint.clone(),
            self.stage.clone(),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct SurveyOptions {
    pub fields: SurveyFields,
    /// Scales of custom surveys by id (`nps`, `csat`, `ces` need none).
    pub scales: Vec<(String, Scale)>,
    pub by: Vec<Dimension>,
    pub period: Bucket,
    /// Responses at or after / before.
    pub from: Option<Micros>,
    pub to: Option<Micros>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub value: String,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub by: String,
    /// Most responses first.
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    pub period: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub start: Micros,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyResult {
    pub survey: String,
    pub scale: Scale,
    pub overall: Summary,
    /// Responses with no answer, or an answer that is not a number.
    pub missing_score: u64,
    pub breakdowns: Vec<Breakdown>,
    /// Every period from the first response to the last.
    pub trend: Vec<PeriodRow>,
}

/// Responses to a survey whose scale is unknown: named so they are not lost silently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub survey: String,
    pub responses: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyReport {
    pub surveys: Vec<SurveyResult>,
    pub skipped: Vec<Skipped>,
}

/// The scale of each survey met, by its value id: the scales given first, then the
/// standard ids (`nps`, `csat`, `ces`); `None` for a survey with no known scale.
pub(crate) struct ScaleLookup<'a> {
    scales: &'a [(String, Scale)],
    cache: HashMap<u32, Option<Scale>>,
}

impl<'a> ScaleLookup<'a> {
    pub(crate) fn new(scales: &'a [(String, Scale)]) -> ScaleLookup<'a> {
        ScaleLookup {
            scales,
            cache: HashMap::new(),
        }
    }

    pub(crate) fn get(&mut self, values: &ValueDict, id: u32) -> Option<Scale> {
        let scales = self.scales;
        *self.cache.entry(id).or_insert_with(|| {
            let name = values.label(id);
            scales
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, s)| *s)
                .or_else(|| Scale::of_survey(&name))
        })
    }
}

/// The touchpoint a survey answer at row `i` rates: its `touchpoint_surveyed` (column
/// `col`), else the touchpoint of the actor's last interaction before it (`last`), else
/// `(unknown)`.
pub(crate) fn rated_touchpoint(
    frame: &Frame,
    col: Option<&[u32]>,
    i: usize,
    last: Option<usize>,
) -> String {
    let values = frame.values();
    match col.map(|c| c[i]) {
        Some(v) if !values.value(v).is_null() => values.label(v),
        _ => last.map_or("(unknown)".into(), |j| {
            frame.touchpoints().name(frame.touchpoint()[j]).to_string()
        }),
    }
}

/// One survey's accumulators.
#[derive(Default)]
struct Acc {
    overall: Tally,
    missing: u64,
    by: Vec<HashMap<String, Tally>>,
    periods: HashMap<i64, Tally>,
}

/// The scores of every survey found in the frame. `keep` restricts to some actors.
pub fn survey_report(
    frame: &Frame,
    opts: &SurveyOptions,
    keep: Option<&[bool]>,
) -> Result<SurveyReport, String> {
    let f = &opts.fields;
    let Some(event) = frame.names().get(&f.event) else {
        return Ok(SurveyReport {
            surveys: Vec::new(),
            skipped: Vec::new(),
        });
    };
    let column = |key: &str| {
        frame
            .property(key)
            .ok_or_else(|| format!("the frame carries no property `{key}`"))
    };
    let survey_col = column(&f.survey)?;
    let score_col = column(&f.score)?;
    let touch_col = frame.property(&f.touchpoint);
    let stage_col = frame.property(&f.stage);
    let values = frame.values();
    let dims: Vec<(&Dimension, Option<&[u32]>)> = opts
        .by
        .iter()
        .map(|d| {
            Ok((
                d,
                match d {
                    Dimension::Trait(k) => Some(
                        frame
                            .actor_trait(k)
                            .ok_or_else(|| format!("the frame carries no trait `{k}`"))?,
                    ),
                    Dimension::Property(k) => Some(column(k)?),
                    _ => None,
                },
            ))
        })
        .collect::<Result<_, String>>()?;
    let mut scale_of = ScaleLookup::new(&opts.scales);
    let mut accs: HashMap<u32, Acc> = HashMap::new();
    let mut skipped: HashMap<u32, u64> = HashMap::new();
    let (names, ts, channel, kinds) = (frame.name(), frame.ts(), frame.channel(), frame.kind());
    for a in 0..frame.actor_count() {
        if keep.is_some_and(|k| !k[a]) {
            continue;
        }
        // The last interaction before a response: (channel, touchpoint) row.
        let mut last: Option<usize> = None;
        for i in frame.actor_range(a) {
            if is_bookkeeping(kinds[i]) {
                continue;
            }
            if names[i] != event {
                last = Some(i);
                continue;
            }
            if opts.from.is_some_and(|x| ts[i] < x) || opts.to.is_some_and(|x| ts[i] >= x) {
                continue;
            }
            let sid = survey_col[i];
            let Some(scale) = scale_of.get(values, sid) else {
                *skipped.entry(sid).or_default() += 1;
                continue;
            };
            let acc = accs.entry(sid).or_insert_with(|| Acc {
                by: vec![HashMap::new(); dims.len()],
                ..Acc::default()
            });
            let Some(x) = values.number(score_col[i]) else {
                acc.missing += 1;
                continue;
            };
            acc.overall.add(scale, x);
            acc.periods
                .entry(opts.period.index(ts[i]))
                .or_default()
                .add(scale, x);
            for (k, (dim, col)) in dims.iter().enumerate() {
                let label = match dim {
                    Dimension::Touchpoint => rated_touchpoint(frame, touch_col, i, last),
                    Dimension::Stage => stage_col.map_or("(none)".into(), |c| values.label(c[i])),
                    Dimension::Channel => last.map_or("(none)".into(), |j| {
                        frame.channels().name(channel[j] as u32).to_string()
                    }),
                    Dimension::Trait(_) => values.label(col.expect("trait column")[a]),
                    Dimension::Property(_) => values.label(col.expect("property column")[i]),
                };
                acc.by[k].entry(label).or_default().add(scale, x);
            }
        }
    }
    let mut surveys: Vec<SurveyResult> = accs
        .into_iter()
        .map(|(sid, acc)| {
            let scale = scale_of
                .get(values, sid)
                .expect("scored surveys have a scale");
            let breakdowns = dims
                .iter()
                .zip(acc.by)
                .map(|((dim, _), rows)| {
                    let mut rows: Vec<Row> = rows
                        .into_iter()
                        .map(|(value, t)| Row {
                            value,
                            summary: t.summary(scale),
                        })
                        .collect();
                    rows.sort_by(|a, b| {
                        b.summary
                            .responses
                            .cmp(&a.summary.responses)
                            .then_with(|| a.value.cmp(&b.value))
                    });
                    Breakdown {
                        by: dim.name(),
                        rows,
                    }
                })
                .collect();
            let trend = match (acc.periods.keys().min(), acc.periods.keys().max()) {
                (Some(&lo), Some(&hi)) => (lo..=hi)
                    .map(|p| PeriodRow {
                        period: opts.period.label_of(p),
                        start: opts.period.start(p),
                        summary: acc
                            .periods
                            .get(&p)
                            .cloned()
                            .unwrap_or_default()
                            .summary(scale),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            SurveyResult {
                survey: values.label(sid),
                scale,
                overall: acc.overall.summary(scale),
                missing_score: acc.missing,
                breakdowns,
                trend,
            }
        })
        .collect();
    surveys.sort_by(|a, b| {
        b.overall
            .responses
            .cmp(&a.overall.responses)
            .then_with(|| a.survey.cmp(&b.survey))
    });
    let mut skipped: Vec<Skipped> = skipped
        .into_iter()
        .map(|(sid, responses)| Skipped {
            survey: values.label(sid),
            responses,
            reason: "unknown scale: name it with --scale ID=nps|csat|ces|rating:MIN-MAX".into(),
        })
        .collect();
    skipped.sort_by(|a, b| a.survey.cmp(&b.survey));
    Ok(SurveyReport { surveys, skipped })
}
