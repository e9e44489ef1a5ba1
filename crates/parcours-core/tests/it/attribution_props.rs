//! Invariants of attribution on generated paths (proptest): every model's credits add up
//! to the attributed conversions and to their value, at every Markov order; credits,
//! shares, removal effects and the conversion probability stay in range.

use parcours_core::attribution::{
    attribute, parse_models, parse_positions, AttributionOptions, PathSet, PathTouch,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct GenPath {
    touches: Vec<(u32, u32, bool, bool)>,
    conversions: u8,
    value: u16,
    nulls: u8,
}

fn paths() -> impl Strategy<Value = Vec<GenPath>> {
    prop::collection::vec(
        (
            prop::collection::vec(
                (0u32..6, 0u32..2_000_000, any::<bool>(), any::<bool>()),
                0..7,
            ),
            0u8..3,
            0u16..500,
            0u8..3,
        )
            .prop_map(|(touches, conversions, value, nulls)| GenPath {
                touches,
                conversions,
                value,
                nulls,
            }),
        1..30,
    )
}

fn set(paths: &[GenPath]) -> PathSet {
    let mut s = PathSet::new((0..6).map(|i| format!("t{i}")).collect());
    for p in paths {
        let touches: Vec<PathTouch> = p
            .touches
            .iter()
            .map(|&(touch, age, direct, milestone)| PathTouch {
                touch,
                age_s: age as f64,
                direct,
                milestone,
            })
            .collect();
        let value = if p.conversions > 0 {
            p.value as f64
        } else {
            0.0
        };
        s.push(&touches, p.conversions as f64, value, p.nulls as f64);
    }
    s.compact()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-7 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #[test]
    fn credits_add_up_for_every_model(paths in paths(), order in 1usize..=3) {
        let s = set(&paths);
        let options = AttributionOptions {
            models: parse_models("all", 86_400.0, Some(parse_positions("0.3,0.4,0.3").unwrap())).unwrap(),
            markov_order: order,
            ..AttributionOptions::default()
        };
        let report = attribute(&s, &options).unwrap();
        let attributed = report.conversions - report.unattributed_conversions;
        let attributed_value = report.value - report.unattributed_value;
        let converting_with_touches = (0..s.len())
            .map(|i| s.path(i))
            .any(|p| p.conversions > 0.0 && !p.touches.is_empty());
        for model in &report.models {
            let (c, v): (f64, f64) = report
                .rows
                .iter()
                .map(|r| (r.credits[model].conversions, r.credits[model].value))
                .fold((0.0, 0.0), |(a, b), (c, v)| (a + c, b + v));
            // The data-driven models credit nothing when no path that touches anything
            // converts (their chain never reaches a conversion).
            if converting_with_touches || !matches!(*model, "markov" | "shapley") {
                prop_assert!(close(c, attributed), "{}: {} vs {}", model, c, attributed);
                prop_assert!(close(v, attributed_value), "{}: value {} vs {}", model, v, attributed_value);
            }
            for r in &report.rows {
                let credit = &r.credits[model];
                prop_assert!(credit.conversions >= -1e-12 && credit.share >= -1e-12 && credit.share <= 1.0 + 1e-9);
            }
        }
        let markov = report.markov.as_ref().unwrap();
        for e in &markov.removal_effects {
            prop_assert!((0.0..=1.0).contains(&e.conversion) && (0.0..=1.0).contains(&e.value));
        }
        prop_assert!((0.0..=1.0 + 1e-12).contains(&markov.conversion_probability));
    }
}
