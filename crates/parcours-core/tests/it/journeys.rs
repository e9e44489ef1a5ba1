//! Journey fixtures: `testdata/journeys/*.json`, each with events, a journey definition,
//! run options and the expected outcome. `expect.report` is compared as a subset of the
//! report's JSON (only the fields the fixture names); `expect.actors` gives each actor's
//! furthest stage (`null` when the actor counts nowhere) for unique counting, or the list
//! of furthest stages of its attempts for attempts counting.

use std::collections::BTreeMap;

use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::journey::{
    build_report, lifecycle, Breakdown, Bucket, Engine, JourneyDef, LifecycleOptions,
    ReportOptions, RunOptions, Span,
};
use parcours_core::time::{parse_rfc3339, Micros};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    journey: Value,
    events: Vec<FixtureEvent>,
    #[serde(default)]
    options: FixtureOptions,
    expect: Expect,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FixtureEvent {
    pub a: String,
    /// RFC 3339, or a duration after 2026-01-05T00:00:00Z (a Monday): `0`, `90m`, `2d`.
    pub t: String,
    pub e: String,
    #[serde(default)]
    pub k: Option<String>,
    #[serde(default)]
    pub ch: Option<String>,
    #[serde(default)]
    pub cp: Option<String>,
    #[serde(default)]
    pub tp: Option<String>,
    #[serde(default)]
    pub p: serde_json::Map<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FixtureOptions {
    from: Option<String>,
    to: Option<String>,
    breakdown: Option<String>,
    trend: Option<String>,
    #[serde(default)]
    top_touchpoints: usize,
    #[serde(default)]
    traits: BTreeMap<String, serde_json::Map<String, Value>>,
    #[serde(default)]
    lifecycle: Option<LifecycleFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleFixture {
    as_of: String,
    #[serde(default)]
    stall_after: Option<String>,
    #[serde(default)]
    period: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    report: Option<Value>,
    #[serde(default)]
    actors: Option<BTreeMap<String, Value>>,
    /// `{ "report": …, "actors": […] }` of the lifecycle, as a subset.
    #[serde(default)]
    lifecycle: Option<Value>,
}

pub const BASE: &str = "2026-01-05T00:00:00Z";

pub fn time_of(t: &str) -> Micros {
    if t.contains('T') {
        return parse_rfc3339(t).expect("fixture time");
    }
    let base = parse_rfc3339(BASE).unwrap();
    if t == "0" {
        return base;
    }
    base + Span::parse(t).expect("fixture offset").micros()
}

/// Property keys the journey and options need, in a stable order.
fn property_keys(def: &JourneyDef, breakdown: Option<&Breakdown>) -> Vec<String> {
    let mut keys = def.properties();
    keys.extend(breakdown.and_then(|b| b.property()).map(String::from));
    keys.sort();
    keys.dedup();
    keys
}

pub fn frame_of(
    events: &[FixtureEvent],
    keys: Vec<String>,
    traits: &BTreeMap<String, serde_json::Map<String, Value>>,
) -> Frame {
    let mut b = FrameBuilder::new(keys.clone());
    for ev in events {
        let props: Vec<Value> = keys
            .iter()
            .map(|k| ev.p.get(k).cloned().unwrap_or(Value::Null))
            .collect();
        let kind =
            ev.k.as_deref()
                .map(|k| EventKind::parse(k).expect("fixture kind"))
                .unwrap_or(EventKind::Track);
        b.push(&FrameRow {
            actor: &ev.a,
            ts: time_of(&ev.t),
            kind,
            name: &ev.e,
            channel: ev.ch.as_deref().unwrap_or("web"),
            campaign: ev.cp.as_deref(),
            touchpoint: ev.tp.as_deref().unwrap_or(&ev.e),
            properties: &props,
        });
    }
    for (actor, t) in traits {
        b.actor_traits(actor, t.clone().into_iter().collect());
    }
    b.finish()
}

/// `expected` is a subset of `actual`: objects by key, arrays element by element,
/// numbers within 1e-9.
/// Every fixture of `testdata/{dir}`, with its file name, in name order; a fixture that
/// does not read fails the test naming its file.
pub fn fixtures<T: serde::de::DeserializeOwned>(dir: &str) -> Vec<(String, T)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            let fx = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            (file, fx)
        })
        .collect()
}

pub fn assert_subset(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k}: missing in {actual}"));
                assert_subset(v, got, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{path}: lengths differ, got {actual}");
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                assert_subset(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            assert!((e - a).abs() < 1e-9, "{path}: expected {e}, got {a}");
        }
        _ => assert_eq!(expected, actual, "{path}"),
    }
}

fn check(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let fx: Fixture = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: bad fixture: {e}", path.display()));
    let def = JourneyDef::from_json(fx.journey.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let breakdown = fx
        .options
        .breakdown
        .as_deref()
        .map(|b| Breakdown::parse(b).unwrap());
    let keys = property_keys(&def, breakdown.as_ref());
    let frame = frame_of(&fx.events, keys, &fx.options.traits);
    let engine = Engine::new(&def, &frame).unwrap();
    let run = RunOptions {
        from: fx.options.from.as_deref().map(time_of),
        to: fx.options.to.as_deref().map(time_of),
        threads: 1,
        ..RunOptions::default()
    };
    let out = engine.run(&run);
    let options = ReportOptions {
        top_touchpoints: fx.options.top_touchpoints,
        breakdown,
        trend: fx
            .options
            .trend
            .as_deref()
            .map(|t| Bucket::parse(t).unwrap()),
        counts_only: false,
    };
    let report = serde_json::to_value(build_report(&def, &frame, &out, &options)).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    if let Some(expected) = &fx.expect.report {
        assert_subset(expected, &report, &name);
    }
    if let (Some(l), Some(expected)) = (&fx.options.lifecycle, &fx.expect.lifecycle) {
        let mut attempts = def.clone();
        attempts.counting = parcours_core::journey::Counting::Attempts;
        let out = Engine::new(&attempts, &frame).unwrap().run(&run);
        let options = LifecycleOptions {
            as_of: time_of(&l.as_of),
            stall_after: l
                .stall_after
                .as_deref()
                .map(|s| Span::parse(s).unwrap().micros()),
            period: l.period.as_deref().map(|p| Bucket::parse(p).unwrap()),
        };
        let (report, actors) = lifecycle(&attempts, &frame, &out, &options);
        let got = serde_json::json!({ "report": report, "actors": actors });
        assert_subset(expected, &got, &format!("{name} lifecycle"));
    }
    if let Some(actors) = &fx.expect.actors {
        let mut got: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for k in 0..out.len() {
            let stage = match out.reached[k] {
                -1 => Value::Null,
                s => Value::String(def.stages[s as usize].name.clone()),
            };
            got.entry(frame.actor_key(out.actor[k] as usize).to_string())
                .or_default()
                .push(stage);
        }
        for (actor, want) in actors {
            let have = got.get(actor).cloned().unwrap_or_default();
            let have = match want {
                Value::Array(_) => Value::Array(have),
                _ => have.into_iter().next().unwrap_or(Value::Null),
            };
            // An actor counted nowhere and one that entered without completing a stage
            // are both `null`.
            assert_eq!(&have, want, "{name}: actor {actor}");
        }
    }
}

#[test]
fn journey_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/journeys");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the journey fixtures in {}",
        dir.display()
    );
    for p in paths {
        check(&p);
    }
}

#[test]
fn stages_of_events_come_from_steps_and_branches_first_stage_winning() {
    let def = JourneyDef::from_toml(
        r#"
name = "b2b"
[[stages]]
name = "research"
steps = [{ event = ["Ad Clicked", "*"] }, { event = "Catalogue Downloaded", optional = true }]
[[stages]]
name = "evaluation"
[[stages.branches]]
name = "demo"
steps = [{ event = "Demo Requested" }, { event = "Ad Clicked" }]
[[stages.branches]]
name = "trial"
steps = [{ event = "Trial Started" }]
"#,
    )
    .unwrap();
    let stages = def.stage_of_events();
    let got: Vec<(&str, &str)> = stages
        .iter()
        .map(|(e, s)| (e.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("Ad Clicked", "research"),
            ("Catalogue Downloaded", "research"),
            ("Demo Requested", "evaluation"),
            ("Trial Started", "evaluation"),
        ]
    );
}

#[test]
fn definitions_round_trip_between_toml_and_json() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/journeys");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let def =
            JourneyDef::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = JourneyDef::from_toml(&def.to_toml()).unwrap();
        assert_eq!(def, again, "{}: TOML round trip", path.display());
        let json = serde_json::to_value(&def).unwrap();
        assert_eq!(
            JourneyDef::from_json(json).unwrap(),
            def,
            "{}: JSON round trip",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 3, "expected the example journeys");
}

#[test]
fn invalid_definitions_name_the_field() {
    let cases = [
        (
            r#"name = "x"
[[stages]]
name = "a"
steps = [{ event = "e" }]
[[stages]]
name = "b"
target_conversion = 1.5
steps = [{ event = "f" }]"#,
            "stages[1].target_conversion",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
target_time = "2d"
steps = [{ event = "e" }]"#,
            "stages[0].target_time",
        ),
        (
            r#"name = "x"
stages = []"#,
            "stages",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
"#,
            "stages[0]",
        ),
        (
            r#"name = "x"
window = "30 days"
[[stages]]
name = "a"
steps = [{ event = "e" }]"#,
            "line 2",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
steps = [{ event = "e", where = [{ property = "n", op = "gt", value = "ten" }] }]"#,
            "stages[0].steps[0].where[0]",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
steps = [{ event = "e", where = [{ property = "n", op = "regex", value = "(" }] }]"#,
            "stages[0].steps[0].where[0].value",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
steps = [{ event = "e" }]
[[exclusions]]
event = "x"
after = "nope""#,
            "exclusions[0].after",
        ),
        (
            r#"name = "x"
[[stages]]
name = "a"
steps = [{ event = "e", optional = true }]"#,
            "stages[0].steps",
        ),
        (
            r#"name = "x"
colour = "red"
[[stages]]
name = "a"
steps = [{ event = "e" }]"#,
            "line 1",
        ),
    ];
    for (text, field) in cases {
        let err = JourneyDef::from_toml(text).expect_err(text);
        assert_eq!(err.field, field, "{text}: {err}");
        if text.contains("colour") {
            assert!(err.message.contains("unknown field `colour`"), "{err}");
        }
    }
}
