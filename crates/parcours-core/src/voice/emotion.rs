//! The measured emotion per stage and per touchpoint: explicit scores and text
//! sentiment on one −1…+1 scale, with the evidence behind each figure.
//!
//! Every **feedback event** is one piece of evidence: a survey response (its score
//! placed on −1…+1 by [`Scale::position`]: the bottom of the scale is −1, the top +1), an
//! event with a rating property (stars), and any event with a text (its sentiment
//! compound). An event with both a score and a text counts once, as the mean of the
//! two. The emotion of a group is the mean of its evidence, with a 95% margin
//! (`1.96·s/√n`) and a label. Rules: `docs/semantics.md` ("Emotion").

use std::collections::HashMap;

use serde::Serialize;

use super::scores::{Scale, Z95};
use super::surveys::{rated_touchpoint, ScaleLookup, SurveyFields};
use crate::frame::{is_bookkeeping, Frame};
use crate::text::{Lang, Scorer};
use crate::time::Micros;

#[derive(Debug, Clone)]
pub struct EmotionOptions {
    pub fields: SurveyFields,
    /// Scales of custom surveys by id (`nps`, `csat`, `ces` need none).
    pub scales: Vec<(String, Scale)>,
    /// A rating property on any event (reviews' stars) and its scale.
    pub rating: Option<(String, Scale)>,
    /// Properties holding free text, the first non-empty one counts.
    pub text_fields: Vec<String>,
    /// The property naming a text's language (`en`, `fr`); detected when absent.
    pub language: String,
    /// The stage of events that carry no `stage` property, by event name.
    pub stage_of: Vec<(String, String)>,
    pub from: Option<Micros>,
    pub to: Option<Micros>,
}

impl Default for EmotionOptions {
    fn default() -> Self {
        EmotionOptions {
            fields: SurveyFields::default(),
            scales: Vec::new(),
            rating: Some(("rating".into(), Scale::Rating { min: 1.0, max: 5.0 })),
            text_fields: vec!["comment".into(), "text".into(), "note".into()],
            language: "language".into(),
            stage_of: Vec::new(),
            from: None,
            to: None,
        }
    }
}

impl EmotionOptions {
    /// The event properties the report reads.
    pub fn properties(&self) -> Vec<String> {
        let mut p = self.fields.properties();
        p.extend(self.rating.iter().map(|(k, _)| k.clone()));
        p.extend(self.text_fields.iter().cloned());
        p.push(self.language.clone());
        p.sort();
        p.dedup();
        p
    }
}

/// The label of an emotion: delighted ≥ 0.5 > satisfied ≥ 0.1 > neutral > −0.1 ≥
/// frustrated > −0.5 ≥ angry.
pub fn label(emotion: f64) -> &'static str {
    if emotion >= 0.5 {
        "delighted"
    } else if emotion >= 0.1 {
        "satisfied"
    } else if emotion > -0.1 {
        "neutral"
    } else if emotion > -0.5 {
        "frustrated"
    } else {
        "angry"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmotionRow {
    pub value: String,
    /// Mean evidence, −1…+1.
    pub emotion: f64,
    pub label: &'static str,
    /// Half-width of the 95% interval; none with a single piece of evidence.
    pub margin: Option<f64>,
    /// Feedback events behind the figure.
    pub evidence: u64,
    /// Of which with an explicit score or rating, and with a text.
    pub scores: u64,
    pub texts: u64,
    /// Share of the evidence at "frustrated" or below (< −0.1).
    pub negative_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmotionReport {
    pub overall: Option<EmotionRow>,
    /// By stage, most evidence first.
    pub stages: Vec<EmotionRow>,
    /// By touchpoint, most evidence first.
    pub touchpoints: Vec<EmotionRow>,
}

#[derive(Default, Clone)]
struct Acc {
    n: u64,
    sum: f64,
    sum_sq: f64,
    scores: u64,
    texts: u64,
    negative: u64,
}

impl Acc {
    fn add(&mut self, v: f64, score: bool, text: bool) {
        self.n += 1;
        self.sum += v;
        self.sum_sq += v * v;
        self.scores += u64::from(score);
        self.texts += u64::from(text);
        self.negative += u64::from(v < -0.1);
    }

    fn row(&self, value: String) -> EmotionRow {
        let n = self.n as f64;
        let mean = self.sum / n;
        let margin = (self.n > 1).then(|| {
            let var = ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
            Z95 * (var / n).sqrt()
        });
        EmotionRow {
            value,
            emotion: mean,
            label: label(mean),
            margin,
            evidence: self.n,
            scores: self.scores,
            texts: self.texts,
            negative_share: self.negative as f64 / n,
        }
    }
}

/// The emotion of every stage and touchpoint with feedback. `keep` restricts to some
/// actors.
pub fn emotion_report(
    frame: &Frame,
    opts: &EmotionOptions,
    keep: Option<&[bool]>,
) -> Result<EmotionReport, String> {
    let f = &opts.fields;
    let values = frame.values();
    let col = |k: &str| frame.property(k);
    let survey_event = frame.names().get(&f.event);
    let (survey_col, score_col) = (col(&f.survey), col(&f.score));
    let (touch_col, stage_col) = (col(&f.touchpoint), col(&f.stage));
    let rating = opts
        .rating
        .as_ref()
        .and_then(|(k, s)| col(k).map(|c| (c, *s)));
    let texts: Vec<&[u32]> = opts.text_fields.iter().filter_map(|k| col(k)).collect();
    let lang_col = col(&opts.language);
    let stage_of: HashMap<u32, &str> = opts
        .stage_of
        .iter()
        .filter_map(|(e, s)| frame.names().get(e).map(|id| (id, s.as_str())))
        .collect();
    let scorer = Scorer::new();
    // Each distinct text is scored once (texts are dictionary-encoded).
    let mut text_scores: HashMap<(u32, Option<Lang>), Option<f64>> = HashMap::new();
    let mut scale_of = ScaleLookup::new(&opts.scales);
    let (names, ts, kinds, touchpoint) =
        (frame.name(), frame.ts(), frame.kind(), frame.touchpoint());
    let mut overall = Acc::default();
    let mut stages: HashMap<String, Acc> = HashMap::new();
    let mut touchpoints: HashMap<String, Acc> = HashMap::new();
    for a in 0..frame.actor_count() {
        if keep.is_some_and(|k| !k[a]) {
            continue;
        }
        let mut last: Option<usize> = None;
        for i in frame.actor_range(a) {
            if is_bookkeeping(kinds[i]) {
                continue;
            }
            let is_survey = Some(names[i]) == survey_event;
            let in_range =
                !(opts.from.is_some_and(|x| ts[i] < x) || opts.to.is_some_and(|x| ts[i] >= x));
            let mut explicit = None;
            if is_survey {
                if let (Some(sc), Some(vc)) = (survey_col, score_col) {
                    let scale = scale_of.get(values, sc[i]);
                    explicit = scale
                        .zip(values.number(vc[i]))
                        .and_then(|(s, x)| s.accepts(x).then(|| s.position(x)));
                }
            }
            if explicit.is_none() {
                explicit = rating.and_then(|(c, s)| {
                    values
                        .number(c[i])
                        .filter(|&x| s.accepts(x))
                        .map(|x| s.position(x))
                });
            }
            let text = texts.iter().find_map(|c| match values.value(c[i]) {
                serde_json::Value::String(t) if !t.trim().is_empty() => Some(c[i]),
                _ => None,
            });
            let sentiment = text.and_then(|id| {
                let lang = lang_col.and_then(|c| match values.value(c[i]) {
                    serde_json::Value::String(l) => Lang::parse(l),
                    _ => None,
                });
                *text_scores
                    .entry((id, lang))
                    .or_insert_with(|| match values.value(id) {
                        serde_json::Value::String(t) => Some(scorer.score(t, lang).compound),
                        _ => None,
                    })
            });
            let evidence = match (explicit, sentiment) {
                (Some(x), Some(s)) => Some((x + s) / 2.0),
                (Some(x), None) => Some(x),
                (None, Some(s)) => Some(s),
                (None, None) => None,
            };
            let Some(v) = evidence.filter(|_| in_range) else {
                if !is_survey {
                    last = Some(i);
                }
                continue;
            };
            let stage = stage_col
                .map(|c| c[i])
                .filter(|&id| !values.value(id).is_null())
                .map(|id| values.label(id))
                .or_else(|| stage_of.get(&names[i]).map(|s| s.to_string()))
                .unwrap_or_else(|| "(none)".into());
            let tp = if is_survey {
                rated_touchpoint(frame, touch_col, i, last)
            } else {
                frame.touchpoints().name(touchpoint[i]).to_string()
            };
            let (score, has_text) = (explicit.is_some(), sentiment.is_some());
            overall.add(v, score, has_text);
            stages.entry(stage).or_default().add(v, score, has_text);
            touchpoints.entry(tp).or_default().add(v, score, has_text);
            if !is_survey {
                last = Some(i);
            }
        }
    }
    let rows = |m: HashMap<String, Acc>| {
        let mut rows: Vec<EmotionRow> = m.into_iter().map(|(k, acc)| acc.row(k)).collect();
        rows.sort_by(|a, b| {
            b.evidence
                .cmp(&a.evidence)
                .then_with(|| a.value.cmp(&b.value))
        });
        rows
    };
    Ok(EmotionReport {
        overall: (overall.n > 0).then(|| overall.row("overall".into())),
        stages: rows(stages),
        touchpoints: rows(touchpoints),
    })
}
