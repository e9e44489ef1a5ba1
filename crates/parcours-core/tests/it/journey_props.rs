//! Invariants of the journey engine on generated actors and journeys (proptest).

use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::journey::{
    build_report, Breakdown, Bucket, Engine, JourneyDef, Ordering, ReportOptions, RunOptions, Span,
    StageDef, StepDef, Ties,
};
use parcours_core::journey::{ExclusionDef, Names};
use proptest::prelude::*;
use serde_json::Value;

const NAMES: [&str; 5] = ["A", "B", "C", "D", "X"];
const MINUTE: i64 = 60_000_000;
const BASE: i64 = 1_767_571_200_000_000; // 2026-01-05T00:00:00Z

#[derive(Debug, Clone)]
struct Row {
    actor: u8,
    minute: i64,
    name: usize,
    channel: u8,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(
        (0u8..12, 0i64..40, 0usize..NAMES.len(), 0u8..3).prop_map(
            |(actor, minute, name, channel)| Row {
                actor,
                minute,
                name,
                channel,
            },
        ),
        0..120,
    )
}

fn frame(rows: &[Row]) -> Frame {
    let mut b = FrameBuilder::new(vec!["n".into()]);
    for r in rows {
        let actor = format!("u{}", r.actor);
        b.push(&FrameRow {
            actor: &actor,
            ts: BASE + r.minute * MINUTE,
            kind: EventKind::Track,
            name: NAMES[r.name],
            channel: ["web", "email", "paid_search"][r.channel as usize],
            campaign: None,
            touchpoint: NAMES[r.name],
            properties: &[Value::from(r.minute % 3)],
        });
    }
    b.finish()
}

fn step(name: usize) -> StepDef {
    StepDef {
        name: None,
        event: Names::One(NAMES[name].into()),
        channel: vec![],
        campaign: vec![],
        filters: vec![],
        within: None,
        optional: false,
    }
}

/// A closed journey of 2 to 4 stages; the second stage has two steps.
fn journey() -> impl Strategy<Value = JourneyDef> {
    (
        prop::collection::vec(0usize..4, 2..5),
        0usize..4,
        prop::bool::ANY,
        prop::bool::ANY,
        prop::option::of(5i64..30),
    )
        .prop_map(|(stage_names, extra, strict, allow_ties, window)| {
            let stages = stage_names
                .iter()
                .enumerate()
                .map(|(i, &n)| StageDef {
                    name: format!("s{i}"),
                    description: None,
                    optional: false,
                    target_conversion: None,
                    target_time: None,
                    steps: if i == 1 {
                        vec![step(extra), step(n)]
                    } else {
                        vec![step(n)]
                    },
                    branches: vec![],
                })
                .collect();
            JourneyDef {
                name: "generated".into(),
                description: None,
                actor: Default::default(),
                ordering: if strict {
                    Ordering::Strict
                } else {
                    Ordering::Ordered
                },
                window: window.map(|m| Span(m * MINUTE)),
                ties: if allow_ties {
                    Ties::Allow
                } else {
                    Ties::Strict
                },
                entry: Default::default(),
                counting: Default::default(),
                hold_constant: vec![],
                stages,
                exclusions: vec![],
            }
        })
}

fn entered(def: &JourneyDef, frame: &Frame) -> Vec<u64> {
    let engine = Engine::new(def, frame).unwrap();
    let out = engine.run(&RunOptions {
        threads: 1,
        ..Default::default()
    });
    build_report(
        def,
        frame,
        &out,
        &ReportOptions {
            counts_only: true,
            ..Default::default()
        },
    )
    .stages
    .iter()
    .map(|s| s.entered)
    .collect()
}

fn full_report(def: &JourneyDef, frame: &Frame, threads: usize) -> Value {
    let engine = Engine::new(def, frame).unwrap();
    let out = engine.run(&RunOptions {
        threads,
        ..Default::default()
    });
    let options = ReportOptions {
        top_touchpoints: 10,
        breakdown: Some(Breakdown::parse("channel@last").unwrap()),
        trend: Some(Bucket::Day),
        counts_only: false,
    };
    serde_json::to_value(build_report(def, frame, &out, &options)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn closed_ordered_counts_never_increase(rows in rows(), def in journey()) {
        let counts = entered(&def, &frame(&rows));
        for w in counts.windows(2) {
            prop_assert!(w[1] <= w[0], "{counts:?}");
        }
    }

    #[test]
    fn an_optional_step_never_lowers_the_final_conversion(rows in rows(), def in journey()) {
        // In every ordering mode, strict included (searched exactly, not greedily).
        let f = frame(&rows);
        let before = *entered(&def, &f).last().unwrap();
        let mut relaxed = def.clone();
        relaxed.stages[1].steps[0].optional = true;
        let after = *entered(&relaxed, &f).last().unwrap();
        prop_assert!(after >= before, "{before} -> {after}");
    }

    #[test]
    fn an_exclusion_never_raises_a_count(rows in rows(), def in journey()) {
        let f = frame(&rows);
        let before = entered(&def, &f);
        let mut excluding = def.clone();
        excluding.exclusions.push(ExclusionDef {
            event: Names::One("X".into()),
            channel: vec![],
            campaign: vec![],
            filters: vec![],
            after: None,
            before: None,
        });
        let after = entered(&excluding, &f);
        for (b, a) in before.iter().zip(&after) {
            prop_assert!(a <= b, "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn stopping_at_the_bound_changes_nothing(
        rows in rows(),
        def in journey(),
        within in prop::option::of(1i64..10),
        exclude in any::<bool>(),
    ) {
        let mut def = def;
        def.stages[1].steps[1].within = within.map(|m| Span(m * MINUTE));
        if exclude {
            def.exclusions.push(ExclusionDef {
                event: Names::One("X".into()),
                channel: vec![],
                campaign: vec![],
                filters: vec![],
                after: None,
                before: None,
            });
        }
        let f = frame(&rows);
        let engine = Engine::new(&def, &f).unwrap();
        let report = |exhaustive| {
            let out = engine.run(&RunOptions { threads: 1, exhaustive, ..Default::default() });
            let options = ReportOptions { top_touchpoints: 5, ..Default::default() };
            serde_json::to_value(build_report(&def, &f, &out, &options)).unwrap()
        };
        prop_assert_eq!(report(false), report(true));
    }

    #[test]
    fn the_plain_funnel_path_gives_the_general_answer(
        rows in rows(),
        def in journey(),
        from in prop::option::of(0i64..30),
        to in prop::option::of(10i64..45),
    ) {
        // Plain funnels (ordered, strict ties, required steps, no limit or exclusion) take
        // the one-pass path unless the search is exhaustive; the stage names repeat often
        // (four names for up to five steps), which is where a first attempt can lose.
        let mut def = def;
        def.ordering = Ordering::Ordered;
        def.ties = Ties::Strict;
        let f = frame(&rows);
        let engine = Engine::new(&def, &f).unwrap();
        let report = |exhaustive| {
            let out = engine.run(&RunOptions {
                threads: 1,
                exhaustive,
                from: from.map(|m| BASE + m * MINUTE),
                to: to.map(|m| BASE + m * MINUTE),
                ..Default::default()
            });
            let options = ReportOptions { top_touchpoints: 5, ..Default::default() };
            serde_json::to_value(build_report(&def, &f, &out, &options)).unwrap()
        };
        prop_assert_eq!(report(false), report(true));
    }

    #[test]
    fn results_do_not_depend_on_ingestion_order_or_threads(
        rows in rows(),
        def in journey(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = rows.clone();
        // Fisher-Yates with a small LCG, so the permutation comes from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = full_report(&def, &frame(&rows), 1);
        let b = full_report(&def, &frame(&shuffled), 3);
        prop_assert_eq!(a, b);
    }
}
