//! Feedback events, read the same way by every voice-of-the-customer report.
//!
//! A **feedback event** is a survey response with a valid score, an event with a valid
//! rating (reviews' stars), or any event with a non-empty text in one of the text
//! properties. Each is placed at a **stage** (its `stage` property, else the stage its
//! event name is mapped to, else `(none)`) and a **touchpoint** (for a survey response,
//! the touchpoint rated; for anything else, the event's own touchpoint).

use std::collections::HashMap;

use super::scores::Scale;
use super::surveys::{rated_touchpoint, ScaleLookup, SurveyFields};
use crate::frame::{is_bookkeeping, Frame};
use crate::text::Lang;
use crate::time::Micros;

#[derive(Debug, Clone)]
pub struct FeedbackOptions {
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

impl Default for FeedbackOptions {
    fn default() -> Self {
        FeedbackOptions {
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

impl FeedbackOptions {
    /// The event properties the reports read.
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

/// One feedback event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Feedback {
    pub actor: usize,
    /// Its row in the frame.
    pub row: usize,
    pub is_survey: bool,
    /// The score or rating placed on −1…+1 ([`Scale::position`]).
    pub explicit: Option<f64>,
    /// The value id of its text.
    pub text: Option<u32>,
    /// The language its `language` property names.
    pub lang: Option<Lang>,
    /// The actor's last row before it that is not a survey response.
    last: Option<usize>,
}

/// Walks the feedback events of a frame, actor by actor and in time order.
pub(crate) struct Walker<'a> {
    frame: &'a Frame,
    opts: &'a FeedbackOptions,
    stage_of: HashMap<u32, &'a str>,
    stage_col: Option<&'a [u32]>,
    touch_col: Option<&'a [u32]>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(frame: &'a Frame, opts: &'a FeedbackOptions) -> Walker<'a> {
        let stage_of = opts
            .stage_of
            .iter()
            .filter_map(|(e, s)| frame.names().get(e).map(|id| (id, s.as_str())))
            .collect();
        Walker {
            frame,
            opts,
            stage_of,
            stage_col: frame.property(&opts.fields.stage),
            touch_col: frame.property(&opts.fields.touchpoint),
        }
    }

    /// Calls `f` on every feedback event in the time range of the actors `keep`s.
    pub(crate) fn walk(&self, keep: Option<&[bool]>, mut f: impl FnMut(&Feedback)) {
        let (frame, opts) = (self.frame, self.opts);
        let fields = &opts.fields;
        let values = frame.values();
        let col = |k: &str| frame.property(k);
        let survey_event = frame.names().get(&fields.event);
        let (survey_col, score_col) = (col(&fields.survey), col(&fields.score));
        let rating = opts
            .rating
            .as_ref()
            .and_then(|(k, s)| col(k).map(|c| (c, *s)));
        let texts: Vec<&[u32]> = opts.text_fields.iter().filter_map(|k| col(k)).collect();
        let lang_col = col(&opts.language);
        let mut scale_of = ScaleLookup::new(&opts.scales);
        let (names, ts, kinds) = (frame.name(), frame.ts(), frame.kind());
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
                if in_range {
                    let mut explicit = None;
                    if is_survey {
                        if let (Some(sc), Some(vc)) = (survey_col, score_col) {
                            explicit = scale_of
                                .get(values, sc[i])
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
                    if explicit.is_some() || text.is_some() {
                        let lang = lang_col.and_then(|c| match values.value(c[i]) {
                            serde_json::Value::String(l) => Lang::parse(l),
                            _ => None,
                        });
                        f(&Feedback {
                            actor: a,
                            row: i,
                            is_survey,
                            explicit,
                            text,
                            lang,
                            last,
                        });
                    }
                }
                if !is_survey {
                    last = Some(i);
                }
            }
        }
    }

    /// The stage of a feedback event.
    pub(crate) fn stage(&self, fb: &Feedback) -> String {
        let values = self.frame.values();
        self.stage_col
            .map(|c| c[fb.row])
            .filter(|&id| !values.value(id).is_null())
            .map(|id| values.label(id))
            .or_else(|| {
                self.stage_of
                    .get(&self.frame.name()[fb.row])
                    .map(|s| s.to_string())
            })
            .unwrap_or_else(|| "(none)".into())
    }

    /// The touchpoint of a feedback event.
    pub(crate) fn touchpoint(&self, fb: &Feedback) -> String {
        let frame = self.frame;
        if fb.is_survey {
            rated_touchpoint(frame, self.touch_col, fb.row, fb.last)
        } else {
            frame
                .touchpoints()
                .name(frame.touchpoint()[fb.row])
                .to_string()
        }
    }
}
