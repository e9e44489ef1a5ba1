//! Integration tests of parcours-store against the real SQLite backend, one binary.

mod identity;
mod processes;
mod store;

use parcours_core::payload::{parse_body, Endpoint, Limits};
use parcours_core::time::parse_rfc3339;
use parcours_core::Event;
use parcours_store::{SqliteStore, StoreOptions};

/// Builds events from Segment messages through the real parser.
pub fn events(messages: &serde_json::Value) -> Vec<Event> {
    let body = serde_json::to_vec(&serde_json::json!({ "batch": messages })).unwrap();
    let received = parse_rfc3339("2024-06-01T00:00:00Z").unwrap();
    let mut n = 0;
    let parsed = parse_body(
        &body,
        Endpoint::Batch,
        received,
        &Limits::default(),
        &mut || {
            n += 1;
            format!("gen-{n}")
        },
    )
    .unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    parsed.events
}

pub fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(dir, StoreOptions::default()).unwrap()
}

/// A store in a temporary directory with one workspace, `w`, holding `messages`.
pub fn store_with(messages: serde_json::Value) -> (tempfile::TempDir, SqliteStore, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ws = parcours_store::Store::create_workspace(&store, "w")
        .unwrap()
        .id;
    parcours_store::Store::append(&store, ws, events(&messages)).unwrap();
    (dir, store, ws)
}
