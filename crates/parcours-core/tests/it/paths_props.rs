//! Invariants of the path analyses on generated actors (proptest): every step-matrix
//! column sums to 1 (to 0 for a difference), with or without centring and thresholds;
//! in a flow, the actors at each step are those linked from the step before.

use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::paths::flow::{flow, Direction, FlowOptions};
use parcours_core::paths::matrix::{step_matrix, step_matrix_difference, Center, MatrixOptions};
use parcours_core::paths::{anchors, Occurrence, Walk};
use parcours_core::transitions::NodeBy;
use proptest::prelude::*;

const NAMES: [&str; 5] = ["A", "B", "C", "D", "E"];

fn frame(rows: &[(u8, i64, usize)]) -> Frame {
    let mut b = FrameBuilder::new(vec![]);
    for &(actor, minute, name) in rows {
        b.push(&FrameRow {
            actor: &format!("p{actor}"),
            ts: 1_767_571_200_000_000 + minute * 60_000_000,
            kind: EventKind::Track,
            name: NAMES[name],
            channel: "web",
            campaign: None,
            touchpoint: NAMES[name],
            properties: &[],
        });
    }
    b.finish()
}

fn rows() -> impl Strategy<Value = Vec<(u8, i64, usize)>> {
    prop::collection::vec((0u8..10, 0i64..30, 0usize..NAMES.len()), 1..80)
}

proptest! {
    #[test]
    fn matrix_columns_sum_to_one(
        rows in rows(),
        steps in 0usize..6,
        threshold in 0.0f64..0.6,
        center in prop::option::of((0usize..NAMES.len(), 1usize..3, 0usize..3)),
        collapse in any::<bool>(),
    ) {
        let f = frame(&rows);
        let options = MatrixOptions {
            walk: Walk { by: NodeBy::Name, collapse, ..Walk::default() },
            steps: steps.max(usize::from(center.is_none())),
            threshold,
            targets: vec!["B".into()],
            center: center.map(|(n, occurrence, left)| Center { node: NAMES[n].into(), occurrence, left }),
        };
        let m = step_matrix(&f, None, &options);
        for c in 0..m.columns.len() {
            let sum: f64 = m.rows.iter().map(|r| r.shares[c]).sum();
            if m.actors[0] > 0 {
                prop_assert!((sum - 1.0).abs() < 1e-9, "column {} sums to {}", c, sum);
            }
        }
        for t in &m.targets {
            prop_assert!(t.cumulative.windows(2).all(|w| w[0] <= w[1] + 1e-12));
        }
        let a: Vec<bool> = (0..f.actor_count()).map(|i| i % 2 == 0).collect();
        let b: Vec<bool> = a.iter().map(|x| !x).collect();
        let d = step_matrix_difference(&f, &a, &b, &options);
        for c in 0..d.columns.len() {
            let sum: f64 = d.rows.iter().map(|r| r.shares[c]).sum();
            let expect = (d.actors[0] > 0) as u8 as f64 - (d.actors[1] > 0) as u8 as f64;
            prop_assert!((sum - expect).abs() < 1e-9, "difference column {} sums to {}", c, sum);
        }
    }

    #[test]
    fn flow_steps_hold_the_actors_linked_to_them(
        rows in rows(),
        steps in 1usize..6,
        top in 1usize..4,
        backward in any::<bool>(),
        start in 0usize..NAMES.len(),
    ) {
        let f = frame(&rows);
        let names = f.name();
        let id = f.names().get(NAMES[start]);
        let anchor = anchors(&f, |i| Some(names[i]) == id, Occurrence::Nth(1));
        let options = FlowOptions {
            walk: Walk::default(),
            direction: if backward { Direction::Backward } else { Direction::Forward },
            steps,
            top,
        };
        let fl = flow(&f, &anchor, &options);
        let at = |k: usize| fl.nodes.iter().filter(|n| n.step == k).map(|n| n.actors).sum::<u64>();
        let ended = |k: usize| fl.nodes.iter().filter(|n| n.step == k).map(|n| n.ended).sum::<u64>();
        prop_assert_eq!(at(0), fl.actors);
        for k in 0..steps {
            let linked: u64 = fl.links.iter().filter(|l| l.step == k).map(|l| l.actors).sum();
            prop_assert_eq!(linked, at(k + 1));
            prop_assert_eq!(at(k), at(k + 1) + ended(k));
        }
        for k in 0..=steps {
            prop_assert!(fl.nodes.iter().filter(|n| n.step == k).count() <= top + 1);
        }
    }
}
