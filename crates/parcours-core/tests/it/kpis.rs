//! KPI fixtures: `testdata/kpis/*.json`, each with events, KPI definitions and the
//! expected results as a subset of their JSON (worked out in the description), by week.

use parcours_core::journey::Bucket;
use parcours_core::kpi::{evaluate_catalog, Catalog, KpiOptions};
use serde::Deserialize;
use serde_json::Value;

use crate::journeys::{assert_subset, fixtures, frame_of, FixtureEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    events: Vec<FixtureEvent>,
    kpis: Value,
    expect: Value,
}

#[test]
fn kpi_fixtures() {
    let mut seen = 0;
    for (file, fx) in fixtures::<Fixture>("kpis") {
        let catalog: Catalog =
            serde_json::from_value(serde_json::json!({ "kpis": fx.kpis })).unwrap();
        catalog.validate().unwrap();
        let mut keys: Vec<String> = catalog.kpis.iter().flat_map(|k| k.properties()).collect();
        keys.sort();
        keys.dedup();
        let frame = frame_of(&fx.events, keys, &Default::default());
        let options = KpiOptions {
            period: Bucket::Week,
            from: None,
            to: None,
        };
        let got =
            serde_json::to_value(evaluate_catalog(&frame, &catalog, &options).unwrap()).unwrap();
        assert_subset(&fx.expect, &got, &file);
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn definitions_fail_with_the_field() {
    let bad = [
        (
            r#"[[kpis]]
id = "x"
name = "x"
stage = "s"
measure = { kind = "ratio", numerator = { kind = "count", event = "a" } }"#,
            "kpis[0].measure.denominator: missing",
        ),
        (
            r#"[[kpis]]
id = "x"
name = "x"
stage = "s"
measure = { kind = "survey", event = "s", property = "score", scale = "stars" }"#,
            "kpis[0].measure.scale: `stars`: expected nps, csat, ces or rating:MIN-MAX",
        ),
        (
            r#"[[kpis]]
id = "x"
name = "x"
stage = "s"
unit = "furlongs"
measure = { kind = "count", event = "a" }"#,
            "kpis[0].unit: `furlongs`: expected count, percent, ratio, currency, duration or score",
        ),
        (
            r#"[[kpis]]
id = "x"
name = "x"
stage = "s"
measure = { kind = "conversion", from = { event = "a" }, to = { event = "b" } }"#,
            "kpis[0].measure.within: give the conversion window, e.g. \"7d\"",
        ),
        (
            r#"[[kpis]]
id = "x"
name = "x"
stage = "s"
measure = { kind = "count", event = "a" }
[[kpis]]
id = "x"
name = "y"
stage = "s"
measure = { kind = "count", event = "b" }"#,
            "kpis[1].id: `x` is defined twice",
        ),
    ];
    for (text, want) in bad {
        let e = Catalog::from_toml(text).unwrap_err();
        assert_eq!(e.to_string(), want);
    }
}
