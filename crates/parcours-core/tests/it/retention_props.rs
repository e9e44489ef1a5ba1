//! Invariants of retention on generated actors (proptest): no rate exceeds 100%,
//! on-or-after retention never rises with N and is at least the "on" retention, and each
//! period's active actors are new, returning or resurrecting.

use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::journey::Bucket;
use parcours_core::retention::{retention, RetentionOptions};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["start", "back", "other"];

fn frame(rows: &[(u8, i64, usize)]) -> Frame {
    let mut b = FrameBuilder::new(vec![]);
    for &(actor, hour, name) in rows {
        b.push(&FrameRow {
            actor: &format!("p{actor}"),
            ts: 1_767_571_200_000_000 + hour * 3_600_000_000,
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

proptest! {
    #[test]
    fn retention_stays_within_bounds(
        rows in prop::collection::vec((0u8..15, 0i64..2000, 0usize..3), 1..120),
        period in 0usize..3,
        periods in 0usize..6,
        recurring in any::<bool>(),
    ) {
        let f = frame(&rows);
        let names = f.name();
        let start = f.names().get("start");
        let back = f.names().get("back");
        let period = [Bucket::Day, Bucket::Week, Bucket::Month][period];
        let run = |on_or_after| retention(
            &f,
            |i| Some(names[i]) == start,
            |i| Some(names[i]) == back,
            |_| 0.0,
            None,
            &RetentionOptions { period, periods, recurring, on_or_after, ..RetentionOptions::default() },
        );
        let (on, after) = (run(false), run(true));
        for (c, d) in on.cohorts.iter().zip(&after.cohorts) {
            prop_assert_eq!(c.size, d.size);
            for r in c.rates.iter().chain(&d.rates).flatten() {
                prop_assert!((0.0..=1.0).contains(r));
            }
            for w in d.retained.windows(2) {
                if let (Some(a), Some(b)) = (w[0], w[1]) {
                    prop_assert!(b <= a);
                }
            }
            for (x, y) in c.retained.iter().zip(&d.retained) {
                if let (Some(x), Some(y)) = (x, y) {
                    prop_assert!(x <= y);
                }
            }
        }
        for r in on.overall.iter().flatten() {
            prop_assert!((0.0..=1.0).contains(r));
        }
        for l in &on.lifecycle {
            prop_assert_eq!(l.active, l.new + l.returning + l.resurrecting);
        }
    }
}
