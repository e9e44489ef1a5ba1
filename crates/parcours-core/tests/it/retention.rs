//! Retention fixtures: `testdata/retention/*.json`, each with events and cases — the
//! start and return events and the options — and the expected report as a subset of its
//! JSON (worked out in each case's note).

use parcours_core::journey::Bucket;
use parcours_core::retention::{retention, RetentionOptions};
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
    start: Option<String>,
    #[serde(rename = "return")]
    returns: Option<String>,
    period: Option<String>,
    periods: Option<usize>,
    recurring: bool,
    on_or_after: bool,
    from: Option<String>,
    to: Option<String>,
}

#[test]
fn retention_fixtures() {
    let mut cases = 0;
    for (file, fx) in fixtures::<Fixture>("retention") {
        let frame = frame_of(&fx.events, vec!["$revenue".into()], &Default::default());
        let names = frame.name();
        let revenue = frame.property("$revenue").unwrap();
        for case in &fx.cases {
            let o = &case.options;
            let id = |n: &Option<String>| n.as_ref().map(|n| frame.names().get(n));
            let (start, ret) = (id(&o.start), id(&o.returns));
            let is = |want: Option<Option<u32>>, i: usize| want.is_none_or(|w| w == Some(names[i]));
            let options = RetentionOptions {
                period: Bucket::parse(o.period.as_deref().unwrap_or("week")).unwrap(),
                periods: o.periods.unwrap_or(8),
                recurring: o.recurring,
                on_or_after: o.on_or_after,
                from: o.from.as_deref().map(time_of),
                to: o.to.as_deref().map(time_of),
                as_of: None,
            };
            let report = retention(
                &frame,
                |i| is(start, i),
                |i| is(ret, i),
                Some(revenue),
                None,
                &options,
            );
            for c in &report.cohorts {
                for r in c.retained.iter().flatten() {
                    assert!(*r <= c.size, "{file}: {}", case.note);
                }
            }
            let got = serde_json::to_value(&report).unwrap();
            assert_subset(&case.expect, &got, &format!("{file}: {}", case.note));
            cases += 1;
        }
    }
    assert!(cases >= 5, "fixtures missing");
}
