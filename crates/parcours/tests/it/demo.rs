//! The demo dataset: built through the pipeline, exported as CSV, re-imported identically.

use parcours::demo::{build, write_csv, Demo, WORKSPACE};
use parcours::import::{import_file, Mapping, Options};
use parcours_store::{SqliteStore, Store, StoreOptions};

#[test]
fn demo_builds_reuses_and_round_trips_through_csv() {
    let demo = Demo {
        seed: 7,
        customers: 120,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = build(&store, &demo, dir.path(), false).unwrap();
    let events = store.event_count(ws).unwrap();
    assert!(events > 120 * 5, "too few demo events: {events}");
    // Reuse: a second build adds nothing.
    build(&store, &demo, dir.path(), false).unwrap();
    assert_eq!(store.event_count(ws).unwrap(), events);
    assert!(!store.costs(ws).unwrap().is_empty());

    // Every kind of touchpoint the issue lists is present.
    let mut channels = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    store
        .scan_time_range(ws, i64::MIN, i64::MAX, &mut |e| {
            channels.insert(e.event.touch.channel.clone());
            names.insert(e.event.name.clone());
        })
        .unwrap();
    for c in [
        "web",
        "direct",
        "referral",
        "email",
        "paid_search",
        "paid_social",
        "display",
        "organic_search",
        "store",
        "phone",
        "support",
        "survey",
        "chat",
    ] {
        assert!(
            channels.contains(c),
            "no {c} touch in the demo: {channels:?}"
        );
    }
    for n in [
        "Order Completed",
        "Survey Responded",
        "Ticket Opened",
        "Ticket Resolved",
        "Review Submitted",
        "Email Opened",
        "Ad Impression",
        "Payment Failed",
    ] {
        assert!(names.contains(n), "no {n} in the demo");
    }

    fn strip(v: Vec<parcours_store::StoredEvent>) -> Vec<(String, i64, parcours_core::Touch)> {
        v.into_iter()
            .map(|e| (e.event.message_id, e.event.timestamp, e.event.touch))
            .collect()
    }
    let csv_dir = tempfile::tempdir().unwrap();
    let written = write_csv(&demo, csv_dir.path()).unwrap();
    assert_eq!(written, events);
    let other_dir = tempfile::tempdir().unwrap();
    let other = SqliteStore::open(other_dir.path(), StoreOptions::default()).unwrap();
    let ows = other.create_workspace(WORKSPACE).unwrap().id;
    let summary = import_file(
        &other,
        ows,
        &csv_dir.path().join("events.csv"),
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap();
    assert!(
        summary.rejected.is_empty(),
        "{:?}",
        summary.rejected.reasons()
    );
    assert_eq!(summary.inserted, events);
    let costs = import_file(
        &other,
        ows,
        &csv_dir.path().join("costs.csv"),
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(costs.inserted as usize, store.costs(ws).unwrap().len());
    // Identified people have the same stitched journey in both stores.
    let mut users = Vec::new();
    store
        .identity_map(ws, &mut |i| {
            if i.kind == parcours_store::IdentityKind::UserId {
                users.push(i.value);
            }
        })
        .unwrap();
    assert!(
        users.len() > 20,
        "too few identified demo customers: {}",
        users.len()
    );
    let journey = |s: &SqliteStore, w, id: &str| {
        s.person_events(w, s.resolve(w, id).unwrap().unwrap())
            .unwrap()
    };
    for id in &users[..20] {
        assert_eq!(
            strip(journey(&store, ws, id)),
            strip(journey(&other, ows, id)),
            "{id}"
        );
    }
    let a = journey(&store, ws, &users[0]);
    let b = journey(&other, ows, &users[0]);
    assert!(!a.is_empty() && a.len() == b.len());
}
