//! Integration tests of the parcours binary crate, one test binary.

mod attribution;
mod bad_input;
mod crash;
mod demo;
mod frame_cache;
mod http;
mod import;
mod journey;
mod journeys_http;
mod logs;
mod openapi;
mod survey_import;
mod surveys_http;
mod voice;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use parcours::config::Config;
use parcours::server::{app, AppState};
use parcours_store::{Scope, SqliteStore, Store, StoreOptions};
use serde_json::Value;
use tower::ServiceExt;

/// A store in a temporary directory with two workspaces and a key of every scope.
pub struct Harness {
    pub _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    pub write: String,
    pub read: String,
    pub admin: String,
    /// A write key of another workspace.
    pub other_write: String,
    pub other_read: String,
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path(), StoreOptions::default()).unwrap());
        let ws = store.create_workspace("main").unwrap().id;
        let other = store.create_workspace("other").unwrap().id;
        let key = |w, s| store.create_key(w, s, None).unwrap().1;
        let (write, read, admin) = (
            key(ws, Scope::Write),
            key(ws, Scope::Read),
            key(ws, Scope::Admin),
        );
        let (other_write, other_read) = (key(other, Scope::Write), key(other, Scope::Read));
        let state = AppState::new(store.clone(), config);
        Harness {
            _dir: dir,
            store,
            state,
            write,
            read,
            admin,
            other_write,
            other_read,
        }
    }

    pub fn key(&self, name: &str) -> Option<String> {
        match name {
            "write" => Some(self.write.clone()),
            "read" => Some(self.read.clone()),
            "admin" => Some(self.admin.clone()),
            "other_write" => Some(self.other_write.clone()),
            "other_read" => Some(self.other_read.clone()),
            "bogus" => Some("pcw_thisisnotakeythisisnotakey0000".into()),
            _ => None,
        }
    }

    /// `GET path` with `Authorization: Bearer key`: the status and the JSON body.
    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let request = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let (status, body, _) = self.send(request).await;
        (status, body)
    }

    /// Sends a request through the router without a socket.
    pub async fn send(&self, request: Request<Body>) -> (u16, Value, axum::http::HeaderMap) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, body, headers)
    }
}

pub fn basic(key: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
