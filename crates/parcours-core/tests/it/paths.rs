//! Path fixtures: `testdata/paths/*.json`, each with events and cases — a flow, a step
//! matrix, variants or loops, their options, and the expected result as a subset of its
//! JSON (worked out by hand in each case's note).

use parcours_core::paths::flow::{flow, Direction, FlowOptions};
use parcours_core::paths::matrix::{step_matrix, step_matrix_difference, Center, MatrixOptions};
use parcours_core::paths::variants::{loops, variants};
use parcours_core::paths::{anchors, Occurrence, Walk};
use parcours_core::transitions::NodeBy;
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
    analysis: String,
    options: Options,
    expect: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Options {
    start: Option<String>,
    end: Option<String>,
    occurrence: Option<String>,
    steps: Option<usize>,
    top: Option<usize>,
    by: Option<String>,
    keep_repeats: bool,
    threshold: f64,
    targets: Vec<String>,
    center: Option<CenterOptions>,
    segments: Option<(Vec<String>, Vec<String>)>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CenterOptions {
    node: String,
    occurrence: usize,
    left: usize,
}

#[test]
fn path_fixtures() {
    let mut cases = 0;
    for (file, fx) in fixtures::<Fixture>("paths") {
        let frame = frame_of(&fx.events, vec![], &Default::default());
        for case in &fx.cases {
            let o = &case.options;
            let by =
                o.by.as_deref()
                    .map_or(NodeBy::Name, |b| NodeBy::parse(b).unwrap());
            let walk = Walk {
                by,
                collapse: !o.keep_repeats,
                from: o.from.as_deref().map(time_of),
                to: o.to.as_deref().map(time_of),
            };
            let mask = |actors: &[String]| -> Vec<bool> {
                (0..frame.actor_count())
                    .map(|a| actors.iter().any(|x| x == frame.actor_key(a)))
                    .collect()
            };
            let got = match case.analysis.as_str() {
                "flow" => {
                    let (event, direction) = match (&o.start, &o.end) {
                        (Some(s), None) => (s, Direction::Forward),
                        (None, Some(e)) => (e, Direction::Backward),
                        _ => panic!("{file}: a flow needs start or end"),
                    };
                    let occurrence =
                        Occurrence::parse(o.occurrence.as_deref().unwrap_or("first")).unwrap();
                    let names = frame.name();
                    let id = frame.names().get(event);
                    let anchor = anchors(&frame, |i| Some(names[i]) == id, occurrence);
                    let options = FlowOptions {
                        walk,
                        direction,
                        steps: o.steps.unwrap_or(5),
                        top: o.top.unwrap_or(5),
                    };
                    serde_json::to_value(flow(&frame, &anchor, &options)).unwrap()
                }
                "matrix" => {
                    let options = MatrixOptions {
                        walk,
                        steps: o.steps.unwrap_or(10),
                        threshold: o.threshold,
                        targets: o.targets.clone(),
                        center: o.center.as_ref().map(|c| Center {
                            node: c.node.clone(),
                            occurrence: c.occurrence,
                            left: c.left,
                        }),
                    };
                    let m = match &o.segments {
                        Some((a, b)) => {
                            step_matrix_difference(&frame, &mask(a), &mask(b), &options)
                        }
                        None => step_matrix(&frame, None, &options),
                    };
                    for c in 0..m.columns.len() {
                        let sum: f64 = m.rows.iter().map(|r| r.shares[c]).sum();
                        let want = if o.segments.is_some() { 0.0 } else { 1.0 };
                        assert!(
                            (sum - want).abs() < 1e-9,
                            "{file}: column {c} sums to {sum}"
                        );
                    }
                    serde_json::to_value(m).unwrap()
                }
                "variants" => {
                    serde_json::to_value(variants(&frame, &walk, None, o.top.unwrap_or(10)))
                        .unwrap()
                }
                "loops" => {
                    serde_json::to_value(loops(&frame, &walk, None, o.top.unwrap_or(10))).unwrap()
                }
                other => panic!("{file}: unknown analysis {other}"),
            };
            assert_subset(&case.expect, &got, &format!("{file}: {}", case.note));
            cases += 1;
        }
    }
    assert!(cases >= 10, "fixtures missing");
}
