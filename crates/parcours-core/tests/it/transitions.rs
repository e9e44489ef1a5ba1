//! Transition-graph fixtures: `testdata/transitions/*.json`, with repeats collapsed and
//! kept.

use parcours_core::transitions::{transition_graph, TransitionOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, frame_of, FixtureEvent};

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/transitions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let frame = frame_of(&fx.events, vec![], &Default::default());
        let name = path.file_name().unwrap().to_string_lossy().to_string();
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
