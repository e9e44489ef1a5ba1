//! Theme fixtures: `testdata/themes/*.json`, each with events and cases — options and
//! the expected report as a subset of its JSON (worked out in the description).

use std::collections::BTreeMap;

use parcours_core::journey::Bucket;
use parcours_core::voice::feedback::FeedbackOptions;
use parcours_core::voice::themes::{theme_report, ThemeOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, time_of, FixtureEvent};

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
    expect: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Options {
    min_mentions: Option<u64>,
    period: Option<String>,
    stage_of: BTreeMap<String, String>,
    theme: Option<String>,
    actors: usize,
    from: Option<String>,
}

#[test]
fn theme_fixtures() {
    let mut cases = 0;
    for (file, fx) in fixtures::<Fixture>("themes") {
        let base = FeedbackOptions::default();
        let frame = frame_of(&fx.events, base.properties(), &BTreeMap::new());
        for case in &fx.cases {
            let o = &case.options;
            let defaults = ThemeOptions::default();
            let opts = ThemeOptions {
                feedback: FeedbackOptions {
                    stage_of: o
                        .stage_of
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    from: o.from.as_deref().map(time_of),
                    ..base.clone()
                },
                period: o
                    .period
                    .as_deref()
                    .map_or(defaults.period, |p| Bucket::parse(p).unwrap()),
                min_mentions: o.min_mentions.unwrap_or(defaults.min_mentions),
                theme: o.theme.clone(),
                actors: o.actors,
                ..defaults
            };
            let report = theme_report(&frame, &opts, None);
            let got = serde_json::to_value(&report).unwrap();
            assert_subset(&case.expect, &got, &format!("{file} ({})", case.note));
            cases += 1;
        }
    }
    assert!(cases >= 4);
}
