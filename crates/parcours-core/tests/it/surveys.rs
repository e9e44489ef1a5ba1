//! Survey-score fixtures: `testdata/surveys/*.json`, each with events, traits and cases
//! — options and the expected report as a subset of its JSON (worked out in the note).

use std::collections::BTreeMap;

use parcours_core::journey::Bucket;
use parcours_core::voice::scores::Scale;
use parcours_core::voice::surveys::{survey_report, Dimension, SurveyFields, SurveyOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, frame_of, time_of, FixtureEvent};

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/surveys");
    let mut cases = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
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
