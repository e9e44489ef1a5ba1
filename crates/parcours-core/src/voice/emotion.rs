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

use super::feedback::{FeedbackOptions, Walker};
use super::scores::Moments;
use crate::frame::Frame;
use crate::text::{Lang, Scorer};

/// The emotion report reads feedback the common way.
pub type EmotionOptions = FeedbackOptions;

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
    moments: Moments,
    scores: u64,
    texts: u64,
    negative: u64,
}

impl Acc {
    fn add(&mut self, v: f64, score: bool, text: bool) {
        self.moments.add(v);
        self.scores += u64::from(score);
        self.texts += u64::from(text);
        self.negative += u64::from(v < -0.1);
    }

    fn row(&self, value: String) -> EmotionRow {
        let mean = self.moments.mean();
        EmotionRow {
            value,
            emotion: mean,
            label: label(mean),
            margin: self.moments.margin(),
            evidence: self.moments.n,
            scores: self.scores,
            texts: self.texts,
            negative_share: self.negative as f64 / self.moments.n as f64,
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
    let values = frame.values();
    let scorer = Scorer::new();
    // Each distinct text is scored once (texts are dictionary-encoded).
    let mut text_scores: HashMap<(u32, Option<Lang>), Option<f64>> = HashMap::new();
    let mut overall = Acc::default();
    let mut stages: HashMap<String, Acc> = HashMap::new();
    let mut touchpoints: HashMap<String, Acc> = HashMap::new();
    let walker = Walker::new(frame, opts);
    walker.walk(keep, |fb| {
        let sentiment = fb.text.and_then(|id| {
            *text_scores
                .entry((id, fb.lang))
                .or_insert_with(|| match values.value(id) {
                    serde_json::Value::String(t) => Some(scorer.score(t, fb.lang).compound),
                    _ => None,
                })
        });
        let v = match (fb.explicit, sentiment) {
            (Some(x), Some(s)) => (x + s) / 2.0,
            (Some(x), None) => x,
            (None, Some(s)) => s,
            (None, None) => return,
        };
        let (score, has_text) = (fb.explicit.is_some(), sentiment.is_some());
        overall.add(v, score, has_text);
        stages
            .entry(walker.stage(fb))
            .or_default()
            .add(v, score, has_text);
        touchpoints
            .entry(walker.touchpoint(fb))
            .or_default()
            .add(v, score, has_text);
    });
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
        overall: (overall.moments.n > 0).then(|| overall.row("overall".into())),
        stages: rows(stages),
        touchpoints: rows(touchpoints),
    })
}
