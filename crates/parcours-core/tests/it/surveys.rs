//! Survey-score fixtures: `testdata/surveys/*.json`, each with events, traits and cases
//! — options and the expected report as a subset of its JSON (worked out in the note).

use std::collections::BTreeMap;

use parcours_core::journey::Bucket;
use parcours_core::voice::scores::Scale;
use parcours_core::voice::surveys::{survey_report, Dimension, SurveyFields, SurveyOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, time_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    traits: BTreeMap<String, serde_json::Map<String, Value>>,
    events: Vec<FixtureEvent>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    note: String,
    options: Options,
    expect: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Options {
    event: Option<String>,
    by: Vec<String>,
    scales: BTreeMap<String, String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[test]
fn survey_fixtures() {
    let mut cases = 0;
    for (file, fx) in fixtures::<Fixture>("surveys") {
        let fields = SurveyFields::default();
        let frame = frame_of(&fx.events, fields.properties(), &fx.traits);
        for case in &fx.cases {
            let o = &case.options;
            let opts = SurveyOptions {
                fields: SurveyFields {
                    event: o.event.clone().unwrap_or(fields.event.clone()),
                    ..fields.clone()
                },
                scales: o
                    .scales
                    .iter()
                    .map(|(k, v)| (k.clone(), Scale::parse(v).unwrap()))
                    .collect(),
                by: o.by.iter().map(|d| Dimension::parse(d).unwrap()).collect(),
                period: Bucket::parse(o.period.as_deref().unwrap_or("week")).unwrap(),
                from: o.from.as_deref().map(time_of),
                to: o.to.as_deref().map(time_of),
            };
            let report = survey_report(&frame, &opts, None)
                .unwrap_or_else(|e| panic!("{file}: {}: {e}", case.note));
            let got = serde_json::to_value(&report).unwrap();
            assert_subset(&case.expect, &got, &format!("{file} ({})", case.note));
            cases += 1;
        }
    }
    assert!(cases >= 3);
}

fn event(a: &str, t: &str, e: &str, tp: Option<&str>, p: Value) -> FixtureEvent {
    FixtureEvent {
        a: a.into(),
        t: t.into(),
        e: e.into(),
        k: None,
        ch: None,
        cp: None,
        tp: tp.map(String::from),
        p: p.as_object().unwrap().clone(),
    }
}

#[test]
fn emotion_combines_scores_and_text() {
    use parcours_core::text::{Lang, Scorer};
    use parcours_core::voice::emotion::{emotion_report, EmotionOptions};
    use serde_json::json;
    let events = vec![
        event(
            "ann",
            "0",
            "Call Completed",
            Some("phone inbound"),
            json!({}),
        ),
        event(
            "ann",
            "1h",
            "Survey Responded",
            None,
            json!({"survey": "csat", "score": 5, "stage": "service"}),
        ),
        event("bob", "0", "Chat Started", Some("chat"), json!({})),
        event(
            "bob",
            "1h",
            "Survey Responded",
            None,
            json!({"survey": "csat", "score": 1, "stage": "service"}),
        ),
        event(
            "cat",
            "2d",
            "Review Submitted",
            Some("review"),
            json!({"rating": 4, "text": "Livraison en retard.", "language": "fr"}),
        ),
        event(
            "dan",
            "0",
            "Survey Responded",
            None,
            json!({"survey": "nps", "score": 11}),
        ),
        event(
            "eve",
            "0",
            "Ticket Opened",
            Some("support"),
            json!({"note": "  "}),
        ),
    ];
    let opts = EmotionOptions {
        stage_of: vec![("Review Submitted".into(), "advocacy".into())],
        ..EmotionOptions::default()
    };
    let frame = frame_of(&events, opts.properties(), &BTreeMap::new());
    let r = emotion_report(&frame, &opts, None).unwrap();
    // The review: stars 4 of 1–5 sit at +0.5; its text is negative; one piece of evidence.
    let text = Scorer::new()
        .score("Livraison en retard.", Some(Lang::Fr))
        .compound;
    assert!(text < -0.05);
    let review = (0.5 + text) / 2.0;
    let overall = r.overall.unwrap();
    assert_eq!((overall.evidence, overall.scores, overall.texts), (3, 3, 1));
    assert!((overall.emotion - review / 3.0).abs() < 1e-12);
    // Service: CSAT 5 (+1) and CSAT 1 (−1): mean 0, sample variance 2, margin 1.96·√(2/2).
    let service = r.stages.iter().find(|s| s.value == "service").unwrap();
    assert_eq!(
        (service.evidence, service.emotion, service.label),
        (2, 0.0, "neutral")
    );
    assert!((service.margin.unwrap() - 1.96).abs() < 1e-12);
    assert_eq!(service.negative_share, 0.5);
    let advocacy = r.stages.iter().find(|s| s.value == "advocacy").unwrap();
    assert!((advocacy.emotion - review).abs() < 1e-12);
    assert_eq!((advocacy.margin, advocacy.texts), (None, 1));
    // Survey answers rate the interaction before them; other feedback its own touchpoint.
    let tp: Vec<(&str, f64)> = r
        .touchpoints
        .iter()
        .map(|t| (t.value.as_str(), t.emotion))
        .collect();
    assert!(
        tp.contains(&("phone inbound", 1.0)) && tp.contains(&("chat", -1.0)),
        "{tp:?}"
    );
    assert!(tp.iter().any(|(v, _)| *v == "review"));
    assert_eq!(
        r.touchpoints.len(),
        3,
        "dan's 11 and eve's blank note are no evidence"
    );
    assert_eq!(parcours_core::voice::emotion::label(-0.6), "angry");
    assert_eq!(parcours_core::voice::emotion::label(0.5), "delighted");
}
