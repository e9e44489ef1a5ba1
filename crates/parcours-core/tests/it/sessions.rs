//! Session fixtures: `testdata/sessions/*.json`, events → the expected report (subset).

use parcours_core::sessions::{session_report, SessionOptions};
use serde::Deserialize;
use serde_json::Value;

use parcours_core::journey::Span;

use crate::journeys::{assert_subset, fixtures, frame_of, time_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    events: Vec<FixtureEvent>,
    #[serde(default)]
    options: Options,
    expect: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    timeout: Option<String>,
    split_on_campaign: Option<bool>,
    from: Option<String>,
    to: Option<String>,
}

#[test]
fn session_fixtures() {
    let mut n = 0;
    for (file, fx) in fixtures::<Fixture>("sessions") {
        let frame = frame_of(&fx.events, vec!["$source".into()], &Default::default());
        let o = &fx.options;
        let defaults = SessionOptions::default();
        let options = SessionOptions {
            timeout: o
                .timeout
                .as_deref()
                .map_or(defaults.timeout, |t| Span::parse(t).unwrap().micros()),
            split_on_campaign: o.split_on_campaign.unwrap_or(true),
            from: o.from.as_deref().map(time_of),
            to: o.to.as_deref().map(time_of),
            ..defaults
        };
        let report = session_report(&frame, frame.property("$source"), &options);
        let got = serde_json::to_value(report).unwrap();
        assert_subset(&fx.expect, &got, &file);
        n += 1;
    }
    assert!(n >= 1);
}
