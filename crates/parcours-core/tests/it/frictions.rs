//! Friction fixtures: `testdata/frictions/*.json`, each with events and cases — options
//! and, per kind of friction, the expected frictions as a subset of their JSON (worked
//! out in the description). Kinds not listed in a case are not checked.

use std::collections::BTreeMap;

use parcours_core::journey::JourneyDef;
use parcours_core::voice::feedback::FeedbackOptions;
use parcours_core::voice::frictions::{friction_report, FrictionOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    events: Vec<FixtureEvent>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    note: String,
    options: Options,
    /// Report fields other than `frictions`.
    #[serde(default)]
    report: Value,
    /// Kinds of friction in rank order.
    #[serde(default)]
    ranking: Option<Vec<String>>,
    expect: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Options {
    segment_by: Option<String>,
    stage_of: BTreeMap<String, String>,
    checkout_target: Option<f64>,
    min_actors: Option<u64>,
    journey: Option<JourneyDef>,
}

#[test]
fn friction_fixtures() {
    let mut cases = 0;
    for (file, fx) in fixtures::<Fixture>("frictions") {
        for case in &fx.cases {
            let o = &case.options;
            let mut opts = FrictionOptions {
                feedback: FeedbackOptions {
                    stage_of: o
                        .stage_of
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    ..FeedbackOptions::default()
                },
                ..FrictionOptions::default()
            };
            if let Some(s) = &o.segment_by {
                opts.segment_by = s.clone();
            }
            opts.abandonment[0].target = o.checkout_target;
            opts.min_actors = o.min_actors.unwrap_or(opts.min_actors);
            if let Some(def) = &o.journey {
                // As the CLI and the server do: the journey places events after stage_of.
                opts.feedback.stage_of.extend(def.stage_of_events());
                opts.journey = Some(def.clone());
            }
            let frame = frame_of(&fx.events, opts.properties(), &BTreeMap::new());
            let report = friction_report(&frame, &opts, None);
            let got = serde_json::to_value(&report).unwrap();
            let at = format!("{file} ({})", case.note);
            if !case.report.is_null() {
                assert_subset(&case.report, &got, &at);
            }
            if let Some(kinds) = &case.ranking {
                let ranked: Vec<&str> = report.frictions.iter().map(|f| f.kind).collect();
                assert_eq!(ranked, *kinds, "{at}: ranking");
            }
            for (kind, expected) in &case.expect {
                let of_kind: Vec<Value> = got["frictions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["kind"] == kind.as_str())
                    .cloned()
                    .collect();
                assert_subset(expected, &Value::Array(of_kind), &format!("{at}.{kind}"));
            }
            cases += 1;
        }
    }
    assert!(cases >= 4);
}
