//! Attribution fixtures: `testdata/attribution/*.json`, each with events, the question
//! (conversion events, touch, window, models) and the expected report as a subset of its
//! JSON. The expected figures are computed by hand in each fixture's description.

use parcours_core::attribution::extract::{extract, ExtractOptions, TouchBy};
use parcours_core::attribution::{attribute, parse_models, parse_positions, AttributionOptions};
use parcours_core::journey::Span;
use parcours_core::time::Micros;
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, time_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    events: Vec<FixtureEvent>,
    question: Question,
    expect: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    conversion: Vec<String>,
    #[serde(default)]
    milestones: Vec<String>,
    #[serde(default = "channel")]
    touch: String,
    #[serde(default)]
    lookback: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    keep_repeats: bool,
    models: String,
    #[serde(default)]
    half_life: Option<String>,
    #[serde(default)]
    weights: Option<String>,
    #[serde(default)]
    order: Option<usize>,
}

fn channel() -> String {
    "channel".into()
}

fn span(text: &Option<String>, default: Micros) -> Micros {
    text.as_deref()
        .map_or(default, |t| Span::parse(t).unwrap().micros())
}

#[test]
fn attribution_fixtures() {
    let mut seen = 0;
    for (name, fx) in fixtures::<Fixture>("attribution") {
        let q = &fx.question;
        let touch = TouchBy::parse(&q.touch).unwrap();
        let mut keys = vec!["$revenue".to_string()];
        keys.extend(touch.property().map(String::from));
        let frame = frame_of(&fx.events, keys, &Default::default());
        let day = 86_400_000_000;
        let options = ExtractOptions {
            touch,
            lookback: span(&q.lookback, 30 * day),
            from: q.from.as_deref().map(time_of),
            to: q.to.as_deref().map(time_of),
            collapse_repeats: !q.keep_repeats,
            non_converting: true,
            value_property: Some("$revenue".into()),
        };
        let is = |names: &[String]| -> Vec<bool> {
            frame
                .name()
                .iter()
                .map(|&n| names.iter().any(|c| c == frame.names().name(n)))
                .collect()
        };
        let (conv, milestone) = (is(&q.conversion), is(&q.milestones));
        let paths = extract(&frame, |i| conv[i], |i| milestone[i], &options).unwrap();
        let custom = q.weights.as_deref().map(|w| parse_positions(w).unwrap());
        let half_life = span(&q.half_life, 7 * day) as f64 / 1e6;
        let report = attribute(
            &paths,
            &AttributionOptions {
                models: parse_models(&q.models, half_life, custom).unwrap(),
                markov_order: q.order.unwrap_or(1),
                ..AttributionOptions::default()
            },
        )
        .unwrap();
        let got = serde_json::to_value(&report).unwrap();
        assert_subset(&fx.expect, &got, &name);
        seen += 1;
    }
    assert!(seen >= 3, "fixtures missing");
}
