//! The frame cache gives exactly the frame a fresh read of the store gives, through
//! appends, merges, erasures, new properties and a damaged file.

use std::io::Write;
use std::path::Path;

use parcours::analysis::{load_frame, load_frame_with};
use parcours::import::{import_file, Mapping, Options};
use parcours::requests::RunRequest;
use parcours_core::journey::JourneyDef;
use parcours_store::{SqliteStore, Store, StoreOptions};
use serde_json::Value;

fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/journeys")
        .join(name)
}

fn import_lines(store: &SqliteStore, ws: i64, dir: &Path, lines: &str) {
    let path = dir.join(format!("batch-{}.jsonl", uuid::Uuid::now_v7()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let summary = import_file(store, ws, &path, &Mapping::default(), &Options::default()).unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
}

/// The report with a cached frame, checked against the report without the cache.
fn report(store: &SqliteStore, ws: i64, breakdown: &str) -> Value {
    let def =
        JourneyDef::from_toml(&std::fs::read_to_string(testdata("shop.toml")).unwrap()).unwrap();
    let request = RunRequest {
        breakdown: Some(breakdown.into()),
        trend: Some("day".into()),
        ..RunRequest::default()
    };
    let plan = request.plan(def).unwrap();
    let fresh = load_frame(store, ws, &plan.spec).unwrap();
    let cached = load_frame_with(store, ws, &plan.spec, store.cache_dir().as_deref()).unwrap();
    let a = serde_json::to_value(plan.execute(&fresh, 1).unwrap()).unwrap();
    let b = serde_json::to_value(plan.execute(&cached, 1).unwrap()).unwrap();
    assert_eq!(a, b, "the cached frame differs from the store");
    assert_eq!(fresh.len(), cached.len());
    a
}

fn entered(r: &Value) -> Vec<u64> {
    r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entered"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_cache_follows_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = store.create_workspace("shop").unwrap().id;
    let input = std::fs::read_to_string(testdata("events.jsonl")).unwrap();
    import_lines(&store, ws, dir.path(), &input);
    let cache_file = store.cache_dir().unwrap().join(format!("ws{ws}.events"));

    let r = report(&store, ws, "property:revenue");
    assert_eq!(entered(&r), [3, 1]);
    assert!(cache_file.exists());
    let written = std::fs::metadata(&cache_file).unwrap().modified().unwrap();
    report(&store, ws, "property:revenue");
    assert_eq!(
        std::fs::metadata(&cache_file).unwrap().modified().unwrap(),
        written,
        "an unchanged store must not rewrite the cache"
    );

    // New events, and a merge: a3 logs in as u2, so a3's visit and late order are u2's.
    import_lines(
        &store,
        ws,
        dir.path(),
        concat!(
            r#"{"type": "page", "name": "home", "userId": "u9", "timestamp": "2026-03-07T09:00:00Z", "messageId": "n1"}"#,
            "\n",
            r#"{"type": "track", "event": "Order Completed", "userId": "u9", "properties": {"revenue": 30, "currency": "GBP"}, "timestamp": "2026-03-08T09:00:00Z", "messageId": "n2"}"#,
            "\n",
            r#"{"type": "alias", "userId": "u2", "previousId": "a3", "timestamp": "2026-03-09T09:00:00Z", "messageId": "n3"}"#,
            "\n",
        ),
    );
    assert!(
        store.change_counts(ws).unwrap().merges > 0,
        "the alias should merge two persons"
    );
    let r = report(&store, ws, "property:revenue");
    assert_eq!(entered(&r), [3, 2]);

    // A property the cache has never seen is read for the cached events.
    report(&store, ws, "property:currency");

    // An erasure removes events: the cache starts over.
    let person = store.resolve(ws, "u1").unwrap().unwrap();
    store.erase_person(ws, person).unwrap();
    let r = report(&store, ws, "property:revenue");
    assert_eq!(entered(&r), [2, 1]);

    // A damaged file is ignored and rewritten.
    let bytes = std::fs::read(&cache_file).unwrap();
    std::fs::write(&cache_file, &bytes[..bytes.len() / 2]).unwrap();
    report(&store, ws, "property:revenue");
    assert_eq!(std::fs::read(&cache_file).unwrap().len(), bytes.len());
    store.close();
}

/// An erasure removes the workspace's cache files at once (they hold the erased events
/// until a run would have started them over), and only that workspace's; the next run
/// builds them again.
#[test]
fn an_erasure_removes_what_the_cache_holds_of_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = store.create_workspace("shop").unwrap().id;
    let other = store.create_workspace("other").unwrap().id;
    let input = std::fs::read_to_string(testdata("events.jsonl")).unwrap();
    import_lines(&store, ws, dir.path(), &input);
    import_lines(&store, other, dir.path(), &input);
    report(&store, ws, "property:revenue");
    report(&store, other, "property:revenue");
    let cache = store.cache_dir().unwrap();
    let files = |w: i64| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("ws{w}.")))
            .collect();
        names.sort();
        names
    };
    assert!(
        files(ws).len() >= 2,
        "events and a property: {:?}",
        files(ws)
    );
    let kept = files(other);
    let person = store.resolve(ws, "u1").unwrap().unwrap();
    parcours::analysis::erase_person(&store, ws, person, None).unwrap();
    assert!(files(ws).is_empty(), "left: {:?}", files(ws));
    assert_eq!(files(other), kept, "another workspace's cache is kept");
    let r = report(&store, ws, "property:revenue");
    assert_eq!(entered(&r), [2, 0]);
    assert!(!files(ws).is_empty(), "built again");
    // Deleting the workspace removes them too, and only them.
    parcours::analysis::delete_workspace(&store, ws, None).unwrap();
    assert!(files(ws).is_empty(), "left: {:?}", files(ws));
    assert_eq!(files(other), kept, "another workspace's cache is kept");
    store.close();
}

/// `parcours workspaces delete` says what a workspace holds and deletes nothing without
/// `--yes`; with it, deletes the workspace and says what went.
#[test]
fn the_command_line_deletes_a_workspace_only_when_told_yes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let ws = store.create_workspace("shop").unwrap().id;
    let input = std::fs::read_to_string(testdata("events.jsonl")).unwrap();
    import_lines(&store, ws, dir.path(), &input);
    let events = store.event_count(ws).unwrap();
    store.close();
    drop(store);
    let data = dir.path().to_str().unwrap();
    let run = |yes: &[&str]| {
        let args = [&["workspaces", "delete", "shop", "--data-dir", data], yes].concat();
        let (ok, out, err) = crate::journey::parcours(&args);
        (ok, out + &err)
    };
    let (ok, text) = run(&[]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("holds {events} events and 0 keys")) && text.contains("--yes"),
        "{text}"
    );
    let (ok, text) = run(&["--yes"]);
    assert!(ok, "{text}");
    assert!(
        text.starts_with(&format!("deleted workspace shop: {events} events, ")),
        "{text}"
    );
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    assert!(store.workspace_by_name("shop").unwrap().is_none());
    let (ok, text) = run(&["--yes"]);
    assert!(!ok && text.contains("no workspace named `shop`"), "{text}");
}
