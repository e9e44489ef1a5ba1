//! `parcours import` on fixture files: mapping, constants, conventions, rejected lines,
//! idempotence, JSON Lines and ad costs.

use std::path::PathBuf;

use parcours::import::{import_file, Mapping, Options, Summary};
use parcours_store::{SqliteStore, Store, StoreOptions};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/import")).join(name)
}

fn lines(summary: &Summary) -> Vec<(u64, String, Option<String>)> {
    summary
        .rejected
        .iter()
        .map(|r| (r.line, r.code.clone(), r.field.clone()))
        .collect()
}

/// Imports a fixture with the default conventions.
fn import(store: &SqliteStore, ws: i64, name: &str) -> Summary {
    import_file(
        store,
        ws,
        &fixture(name),
        &Mapping::default(),
        &Options::default(),
    )
    .unwrap()
}

fn open() -> (tempfile::TempDir, SqliteStore, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = store.create_workspace("w").unwrap().id;
    (dir, store, ws)
}

/// Command-line arguments for importing `calls.csv`.
fn call_args(maps: &[&str], mapping: Option<PathBuf>) -> parcours::import::ImportArgs {
    parcours::import::ImportArgs {
        file: fixture("calls.csv"),
        workspace: "w".into(),
        format: parcours::import::Format::Auto,
        kind: parcours::import::Kind::Auto,
        maps: maps.iter().map(|m| m.to_string()).collect(),
        sets: vec![],
        mapping,
        delimiter: ',',
        no_progress: true,
        common: Default::default(),
    }
}

fn calls_mapping() -> Mapping {
    Mapping::from_args(&call_args(&[], Some(fixture("calls.toml")))).unwrap()
}

#[test]
fn call_log_with_a_mapping_file_reports_bad_lines_and_imports_once() {
    let (_dir, store, ws) = open();
    let summary = import_file(
        &store,
        ws,
        &fixture("calls.csv"),
        &calls_mapping(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (summary.rows, summary.inserted, summary.duplicates),
        (5, 3, 0)
    );
    assert_eq!(
        lines(&summary),
        vec![
            (4, "invalid_timestamp".into(), Some("timestamp".into())),
            (5, "missing_field".into(), Some("userId".into()))
        ]
    );
    let person = store.resolve(ws, "cust-1").unwrap().unwrap();
    let events = store.person_events(ws, person).unwrap();
    assert_eq!(events.len(), 2);
    let call = &events[0].event;
    assert_eq!(call.name, "Call Completed");
    assert_eq!(call.touch.channel, "phone");
    assert_eq!(call.touch.touchpoint, "phone inbound");
    assert!(!call.touch.online);
    assert_eq!(call.properties["duration_s"], 320);
    assert_eq!(call.properties["agent"], "Inès");
    assert_eq!(
        parcours_core::time::format_rfc3339(call.timestamp),
        "2024-05-02T09:15:00.000000Z"
    );
    // The same file again adds nothing.
    let again = import_file(
        &store,
        ws,
        &fixture("calls.csv"),
        &calls_mapping(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (again.inserted, again.duplicates, again.rejected.len()),
        (0, 3, 2)
    );
    assert_eq!(store.event_count(ws).unwrap(), 3);
}

#[test]
fn store_sales_by_convention_with_flags() {
    let (_dir, store, ws) = open();
    let mapping = Mapping {
        columns: [("store".to_string(), "properties.store".to_string())].into(),
        constants: [
            ("event".to_string(), "Order Completed".to_string()),
            ("channel".to_string(), "store".to_string()),
        ]
        .into(),
    };
    let options = Options {
        delimiter: b';',
        ..Options::default()
    };
    let summary = import_file(&store, ws, &fixture("store_sales.csv"), &mapping, &options).unwrap();
    // `amount` is revenue by convention; `abc` is not a number, but revenue is optional:
    // the row is kept without revenue rather than rejected.
    assert_eq!(
        (summary.rows, summary.inserted),
        (3, 3),
        "{:?}",
        summary.rejected
    );
    let person = store
        .resolve(ws, "ana@example.com")
        .unwrap()
        .expect("email column is an identity");
    let sale = &store.person_events(ws, person).unwrap()[0].event;
    assert_eq!(sale.touch.revenue, Some(129.9));
    assert_eq!(sale.touch.currency.as_deref(), Some("EUR"));
    assert_eq!(sale.touch.touchpoint, "store Lyon Confluence");
    assert_eq!(
        sale.properties["order_ref"], "000123",
        "leading zeros stay text"
    );
    let odd = store
        .person_events(ws, store.resolve(ws, "cust-9").unwrap().unwrap())
        .unwrap();
    assert_eq!(odd[0].event.touch.revenue, None);
}

#[test]
fn json_lines_are_segment_messages() {
    let (_dir, store, ws) = open();
    let summary = import(&store, ws, "events.jsonl");
    assert_eq!(
        lines(&summary),
        vec![
            (4, "missing_field".into(), Some("event".into())),
            (5, "malformed_json".into(), None),
            (6, "missing_field".into(), Some("timestamp".into())),
        ]
    );
    assert_eq!((summary.rows, summary.inserted), (7, 4));
    let person = store.resolve(ws, "web-1").unwrap().unwrap();
    let names: Vec<String> = store
        .person_events(ws, person)
        .unwrap()
        .into_iter()
        .map(|e| e.event.name)
        .collect();
    assert_eq!(
        names,
        [
            "Home",
            "$identify",
            "Newsletter Subscribed",
            "Ticket Opened"
        ]
    );
    let again = import(&store, ws, "events.jsonl");
    assert_eq!((again.inserted, again.duplicates), (0, 4));
}

#[test]
fn ad_costs_are_detected_validated_and_upserted() {
    let (_dir, store, ws) = open();
    let summary = import(&store, ws, "costs.csv");
    assert_eq!(
        lines(&summary),
        vec![(4, "invalid_value".into(), Some("cost".into()))]
    );
    assert_eq!(summary.inserted, 3);
    import(&store, ws, "costs.csv");
    let costs = store.costs(ws).unwrap();
    assert_eq!(costs.len(), 3, "re-import replaces, never duplicates");
    assert_eq!(
        (costs[0].channel.as_str(), costs[0].cost, costs[0].clicks),
        ("paid_search", 120.5, Some(400))
    );
    assert_eq!(costs[2].impressions, None);
}

#[test]
fn unknown_mapping_fields_are_refused_up_front() {
    let err = Mapping::from_args(&call_args(&["Customer=usr_id"], None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("usr_id"), "{err}");
}

#[test]
fn a_csv_without_a_timestamp_column_is_refused_with_the_fix() {
    let (dir, store, ws) = open();
    let file = dir.path().join("no_time.csv");
    std::fs::write(&file, "user_id,event\nu,E\n").unwrap();
    let err = import_file(&store, ws, &file, &Mapping::default(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--map COLUMN=timestamp"), "{err}");
}
