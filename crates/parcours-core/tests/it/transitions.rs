//! Transition-graph fixtures: `testdata/transitions/*.json`, with repeats collapsed and
//! kept.

use parcours_core::transitions::{transition_graph, TransitionOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    events: Vec<FixtureEvent>,
    expect: Value,
}

#[test]
fn transition_fixtures() {
    for (name, fx) in fixtures::<Fixture>("transitions") {
        let frame = frame_of(&fx.events, vec![], &Default::default());
        for (key, collapse) in [("collapsed", true), ("kept", false)] {
            let options = TransitionOptions {
                collapse_repeats: collapse,
                ..TransitionOptions::default()
            };
            let got = serde_json::to_value(transition_graph(&frame, &options)).unwrap();
            assert_subset(&fx.expect[key], &got, &format!("{name} {key}"));
        }
    }
}
