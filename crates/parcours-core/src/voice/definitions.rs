//! Survey definitions: what is asked (NPS, CSAT, CES, a custom rating, an open question,
//! and a follow-up question asked when the score falls in a range), about which touchpoint
//! and at which stage. Responses are `Survey Responded` events whose `survey` property is
//! the definition's id; [`SurveyDef::check_response`] is what ingestion applies to them.
//! The file and API form is in `docs/voice.md` ("Survey definitions").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scores::Scale;
use super::surveys::{score_of, SURVEY_EVENT};
use crate::error::{ErrorCode, PayloadError};
use crate::event::{Event, EventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyKind {
    Nps,
    Csat,
    Ces,
    /// A custom rating from `min` to `max`.
    Rating,
    /// A free-text question: the answer is the response's `comment`.
    Open,
}

/// A survey: the question, the scale, what it rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyDef {
    /// The responses' `survey` property: lowercase letters, digits, `-` and `_`.
    pub id: String,
    pub kind: SurveyKind,
    pub question: String,
    /// The bounds of a custom rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Words shown at the two ends of the scale ("Not at all likely", "Extremely likely").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_label: Option<String>,
    /// The touchpoint rated (the responses' `touchpoint_surveyed`) and the journey stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touchpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
}

/// A second question, asked when the score is within `[min, max]` (either bound may be
/// left out); its answer is the response's `comment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub question: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A definition error, naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyDefError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for SurveyDefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn invalid(field: &str, message: impl Into<String>) -> SurveyDefError {
    SurveyDefError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A TOML error, naming its line.
fn toml_error(text: &str, e: toml::de::Error) -> SurveyDefError {
    let line = e
        .span()
        .map(|s| text[..s.start].lines().count().max(1))
        .unwrap_or(1);
    invalid(&format!("line {line}"), e.message())
}

/// The longest question or label, in characters.
const MAX_TEXT: usize = 500;

impl SurveyDef {
    pub fn from_toml(text: &str) -> Result<SurveyDef, SurveyDefError> {
        let def: SurveyDef = toml::from_str(text).map_err(|e| toml_error(text, e))?;
        def.validate()?;
        Ok(def)
    }

    /// A TOML definition as the JSON value `from_json` takes, unchecked: for callers that
    /// complete it first (the HTTP API takes the id from the path).
    pub fn toml_value(text: &str) -> Result<Value, SurveyDefError> {
        toml::from_str(text).map_err(|e| toml_error(text, e))
    }

    pub fn from_json(value: Value) -> Result<SurveyDef, SurveyDefError> {
        let def: SurveyDef =
            serde_json::from_value(value).map_err(|e| invalid("body", e.to_string()))?;
        def.validate()?;
        Ok(def)
    }

    /// The answer scale; none for an open question.
    pub fn scale(&self) -> Option<Scale> {
        match self.kind {
            SurveyKind::Nps => Some(Scale::Nps),
            SurveyKind::Csat => Some(Scale::Csat),
            SurveyKind::Ces => Some(Scale::Ces),
            SurveyKind::Rating => Some(Scale::Rating {
                min: self.min?,
                max: self.max?,
            }),
            SurveyKind::Open => None,
        }
    }

    pub fn validate(&self) -> Result<(), SurveyDefError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(invalid(
                "id",
                format!(
                    "`{}`: 1 to 64 lowercase letters, digits, `-` or `_`",
                    self.id
                ),
            ));
        }
        if let Some(standard) = Scale::of_survey(&self.id) {
            if self.scale() != Some(standard) {
                return Err(invalid(
                    "kind",
                    format!(
                        "the survey `{}` is the standard {} survey: its kind must be `{}`",
                        self.id,
                        standard.name(),
                        self.id
                    ),
                ));
            }
        }
        for (field, text) in [
            ("question", Some(&self.question)),
            ("low_label", self.low_label.as_ref()),
            ("high_label", self.high_label.as_ref()),
            ("touchpoint", self.touchpoint.as_ref()),
            ("stage", self.stage.as_ref()),
        ] {
            if let Some(t) = text {
                if t.trim().is_empty() || t.chars().count() > MAX_TEXT {
                    return Err(invalid(
                        field,
                        format!("must be 1 to {MAX_TEXT} characters"),
                    ));
                }
            }
        }
        match (self.kind, self.min, self.max) {
            (SurveyKind::Rating, Some(lo), Some(hi)) => {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(invalid(
                        "max",
                        format!("the rating needs min < max, got {lo} and {hi}"),
                    ));
                }
            }
            (SurveyKind::Rating, _, _) => {
                return Err(invalid("min", "a rating needs `min` and `max`"));
            }
            (_, None, None) => {}
            (kind, _, _) => {
                return Err(invalid(
                    "min",
                    format!("only a rating has `min` and `max` ({kind:?} has a fixed scale)"),
                ));
            }
        }
        if let Some(f) = &self.follow_up {
            let Some(scale) = self.scale() else {
                return Err(invalid(
                    "follow_up",
                    "an open question has no score to condition a follow-up on",
                ));
            };
            if f.question.trim().is_empty() || f.question.chars().count() > MAX_TEXT {
                return Err(invalid(
                    "follow_up.question",
                    format!("must be 1 to {MAX_TEXT} characters"),
                ));
            }
            let (lo, hi) = scale.bounds();
            for (field, v) in [("follow_up.min", f.min), ("follow_up.max", f.max)] {
                if let Some(x) = v {
                    if !(lo..=hi).contains(&x) {
                        return Err(invalid(
                            field,
                            format!("{x} is outside the scale {lo}–{hi}"),
                        ));
                    }
                }
            }
            if let (Some(a), Some(b)) = (f.min, f.max) {
                if a > b {
                    return Err(invalid("follow_up.max", format!("{b} is below min {a}")));
                }
            }
        }
        Ok(())
    }

    /// Whether the follow-up question is asked after `score`.
    pub fn asks_follow_up(&self, score: f64) -> bool {
        self.follow_up
            .as_ref()
            .is_some_and(|f| f.min.is_none_or(|m| score >= m) && f.max.is_none_or(|m| score <= m))
    }

    /// The scores a respondent can pick: every whole number of the scale (none for an
    /// open question, or a rating with more than 21 of them).
    pub fn choices(&self) -> Vec<i64> {
        let Some(scale) = self.scale() else {
            return Vec::new();
        };
        let (lo, hi) = scale.bounds();
        let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
        if hi - lo > 20 {
            return Vec::new();
        }
        (lo..=hi).collect()
    }

    /// Checks a response's properties: a score valid on the scale (required but for an
    /// open question, whose answer is a non-empty `comment`). Errors name the property.
    pub fn check_response(&self, properties: &Map<String, Value>) -> Result<(), SurveyDefError> {
        let comment = properties
            .get("comment")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.trim().is_empty());
        let Some(scale) = self.scale() else {
            return if comment {
                Ok(())
            } else {
                Err(invalid(
                    "properties.comment",
                    format!("the answer to the open question `{}` is missing", self.id),
                ))
            };
        };
        let score = properties.get("score").unwrap_or(&Value::Null);
        let x = match score_of(score) {
            Ok(Some(x)) => x,
            Ok(None) => {
                return Err(invalid(
                    "properties.score",
                    format!("a response to `{}` needs a score", self.id),
                ))
            }
            Err(()) => {
                return Err(invalid(
                    "properties.score",
                    format!("{score} is not a number (survey `{}`)", self.id),
                ))
            }
        };
        scale
            .check(x)
            .map_err(|m| invalid("properties.score", format!("{m} (survey `{}`)", self.id)))
    }
}

/// Stored definitions (JSON) that still validate; others are left out.
pub fn parse_stored(stored: Vec<Value>) -> Vec<SurveyDef> {
    stored
        .into_iter()
        .filter_map(|v| SurveyDef::from_json(v).ok())
        .collect()
}

/// The scales of definitions by survey id, for reports (open questions have none).
pub fn scales_of(defs: &[SurveyDef]) -> Vec<(String, Scale)> {
    defs.iter()
        .filter_map(|d| d.scale().map(|s| (d.id.clone(), s)))
        .collect()
}

/// The properties of a response event: the survey, the answer, and what the definition
/// says it rates.
pub fn response_properties(
    def: &SurveyDef,
    score: Option<f64>,
    comment: Option<&str>,
) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("survey".into(), Value::String(def.id.clone()));
    if let Some(x) = score {
        p.insert("score".into(), serde_json::json!(x));
    }
    if let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) {
        p.insert("comment".into(), Value::String(c.to_string()));
    }
    def.complete(&mut p);
    p
}

impl SurveyDef {
    /// Fills in what the definition says a response rates — `touchpoint_surveyed` and
    /// `stage` — where the response does not say it itself.
    pub fn complete(&self, properties: &mut Map<String, Value>) {
        for (key, value) in [
            ("touchpoint_surveyed", &self.touchpoint),
            ("stage", &self.stage),
        ] {
            if let Some(v) = value {
                properties
                    .entry(key)
                    .or_insert_with(|| Value::String(v.clone()));
            }
        }
    }
}

/// The survey a response event answers, when it is a `Survey Responded` track event with
/// a `survey` property.
pub fn answered(event: &Event) -> Option<&str> {
    if event.kind != EventKind::Track || event.name != SURVEY_EVENT {
        return None;
    }
    event.properties.get("survey")?.as_str()
}

/// Whether any event is a survey response (the definitions are then worth looking up).
pub fn has_responses(events: &[Event]) -> bool {
    events.iter().any(|e| answered(e).is_some())
}

/// What every way in (the ingestion API, the survey page, the widget, CSV import) applies
/// to a response of a defined survey: it must fit the definition (error naming the
/// property, as ingestion reports it), and it gets the definition's touchpoint and stage
/// when it lacks them.
/// Other events, and responses of surveys not defined, pass unchanged (the standard
/// `nps`, `csat` and `ces` are checked by the parser already).
pub fn admit_response(defs: &[SurveyDef], event: &mut Event) -> Result<(), PayloadError> {
    let Some(def) = answered(event).and_then(|id| defs.iter().find(|d| d.id == id)) else {
        return Ok(());
    };
    def.check_response(&event.properties)
        .map_err(|e| PayloadError::new(ErrorCode::InvalidValue, Some(e.field), e.message))?;
    def.complete(&mut event.properties);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(v: Value) -> Result<SurveyDef, SurveyDefError> {
        SurveyDef::from_json(v)
    }

    #[test]
    fn a_rating_needs_its_bounds_and_others_refuse_them() {
        let e = def(json!({"id": "stars", "kind": "rating", "question": "?"})).unwrap_err();
        assert_eq!(e.field, "min");
        let e = def(json!({"id": "x", "kind": "csat", "question": "?", "min": 0, "max": 3}))
            .unwrap_err();
        assert_eq!(e.field, "min");
        let e = def(json!({"id": "x", "kind": "rating", "question": "?", "min": 5, "max": 1}))
            .unwrap_err();
        assert_eq!(e.field, "max");
        let ok = def(json!({"id": "stars", "kind": "rating", "question": "?", "min": 1, "max": 5}))
            .unwrap();
        assert_eq!(ok.choices(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn ids_and_standard_names_are_checked() {
        assert_eq!(
            def(json!({"id": "Post Purchase", "kind": "nps", "question": "?"}))
                .unwrap_err()
                .field,
            "id"
        );
        assert_eq!(
            def(json!({"id": "nps", "kind": "csat", "question": "?"}))
                .unwrap_err()
                .field,
            "kind"
        );
        assert_eq!(
            def(json!({"id": "nps", "kind": "nps", "question": " "}))
                .unwrap_err()
                .field,
            "question"
        );
        assert!(
            def(json!({"id": "nps", "kind": "nps", "question": "Recommend us?", "colour": 1}))
                .is_err()
        );
    }

    #[test]
    fn follow_ups_are_conditional_on_the_score() {
        let d = def(json!({"id": "nps-delivery", "kind": "nps", "question": "?",
            "follow_up": {"question": "What went wrong?", "max": 6}}))
        .unwrap();
        assert!(d.asks_follow_up(0.0) && d.asks_follow_up(6.0));
        assert!(!d.asks_follow_up(7.0));
        let e = def(json!({"id": "x", "kind": "ces", "question": "?",
            "follow_up": {"question": "Why?", "min": 0}}))
        .unwrap_err();
        assert_eq!(e.field, "follow_up.min");
        let e = def(json!({"id": "x", "kind": "open", "question": "?",
            "follow_up": {"question": "Why?"}}))
        .unwrap_err();
        assert_eq!(e.field, "follow_up");
    }

    #[test]
    fn responses_are_checked_against_the_definition() {
        let stars =
            def(json!({"id": "stars", "kind": "rating", "question": "?", "min": 1, "max": 5}))
                .unwrap();
        let props = |v: Value| v.as_object().unwrap().clone();
        assert!(stars.check_response(&props(json!({"score": 4.5}))).is_ok());
        assert!(stars.check_response(&props(json!({"score": "3"}))).is_ok());
        let e = stars
            .check_response(&props(json!({"score": 6})))
            .unwrap_err();
        assert_eq!(e.field, "properties.score");
        assert!(e.message.contains("1–5"), "{}", e.message);
        let e = stars
            .check_response(&props(json!({"comment": "nice"})))
            .unwrap_err();
        assert!(e.message.contains("needs a score"), "{}", e.message);
        let open = def(json!({"id": "why", "kind": "open", "question": "Why?"})).unwrap();
        assert!(open
            .check_response(&props(json!({"comment": "Because."})))
            .is_ok());
        assert_eq!(
            open.check_response(&props(json!({"comment": "  "})))
                .unwrap_err()
                .field,
            "properties.comment"
        );
    }

    #[test]
    fn toml_errors_name_the_line() {
        let e =
            SurveyDef::from_toml("id = \"a\"\nkind = \"stars\"\nquestion = \"?\"\n").unwrap_err();
        assert_eq!(e.field, "line 2");
    }
}
