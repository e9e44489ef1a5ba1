//! Bad input, fixture-driven: `testdata/http/bad_input.json` lists requests and the
//! status and error body each must get. After all of them, nothing a bad request carried
//! may have been stored, and what good requests carried must all be there.

use axum::body::Body;
use axum::http::Request;
use parcours_store::Store;
use serde_json::{json, Value};

use crate::{basic, gzip, Harness};

fn body_of(case: &Value) -> Vec<u8> {
    if let Some(raw) = case.get("raw").and_then(Value::as_str) {
        return raw.as_bytes().to_vec();
    }
    match case.get("generate").and_then(Value::as_str) {
        Some("oversize_event") => {
            let big = "x".repeat(33 * 1024);
            return serde_json::to_vec(&json!({"batch": [
                {"type": "track", "event": "Fine", "userId": "bad-u", "messageId": "ok-before-big"},
                {"type": "track", "event": "Big", "userId": "bad-u", "properties": {"blob": big}}
            ]}))
            .unwrap();
        }
        Some("oversize_request") => {
            let items: Vec<Value> = (0..40)
                .map(|i| json!({"type": "track", "event": "E", "userId": "bad-u", "messageId": format!("too-big-{i}"), "properties": {"pad": "y".repeat(14_000)}}))
                .collect();
            return serde_json::to_vec(&json!({ "batch": items })).unwrap();
        }
        Some("gzip_bomb") => {
            let inflated = format!(
                "{{\"batch\": [], \"pad\": \"{}\"}}",
                "z".repeat(2 * 1024 * 1024)
            );
            return gzip(inflated.as_bytes());
        }
        Some(other) => panic!("unknown generator {other}"),
        None => {}
    }
    serde_json::to_vec(&case["body"]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fixtures() {
    let h = Harness::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/http/bad_input.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() >= 25, "expected the full bad-input suite");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut req = Request::builder()
            .method(case.get("method").and_then(Value::as_str).unwrap_or("POST"))
            .uri(case["path"].as_str().unwrap());
        if let Some(key) = case
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| h.key(k))
        {
            let scheme = case.get("auth").and_then(Value::as_str).unwrap_or("basic");
            req = req.header(
                "authorization",
                if scheme == "bearer" {
                    format!("Bearer {key}")
                } else {
                    basic(&key)
                },
            );
        }
        if let Some(headers) = case.get("headers").and_then(Value::as_object) {
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str().unwrap());
            }
        }
        let (status, body, _) = h.send(req.body(Body::from(body_of(case))).unwrap()).await;
        let expect = &case["expect"];
        if status != expect["status"].as_u64().unwrap() as u16 {
            failures.push(format!(
                "{name}: status {status}, expected {} — {body}",
                expect["status"]
            ));
            continue;
        }
        for key in ["code", "field", "message"] {
            if let Some(want) = expect.get(key) {
                if &body["error"][key] != want {
                    failures.push(format!(
                        "{name}: error.{key} = {}, expected {want} — {body}",
                        body["error"][key]
                    ));
                }
            }
        }
        if body
            .get("error")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .is_none_or(|m| m.is_empty())
        {
            failures.push(format!("{name}: no error message — {body}"));
        }
        if let Some(accepted) = expect.get("accepted") {
            if &body["accepted"] != accepted {
                failures.push(format!(
                    "{name}: accepted = {}, expected {accepted}",
                    body["accepted"]
                ));
            }
        }
        if let Some(indexes) = expect.get("rejected_indexes") {
            let got: Value = body["rejected"]
                .as_array()
                .map(|r| r.iter().map(|e| e["index"].clone()).collect())
                .unwrap_or_default();
            if &got != indexes {
                failures.push(format!(
                    "{name}: rejected indexes {got}, expected {indexes}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing lost, nothing extra: the valid events inside partially rejected batches are
    // stored; no event of a wholly rejected request is.
    let ws = h.store.workspace_by_name("main").unwrap().unwrap().id;
    let person = h
        .store
        .resolve(ws, "bad-u")
        .unwrap()
        .expect("the valid events of partial batches were kept");
    let mut ids: Vec<String> = h
        .store
        .person_events(ws, person)
        .unwrap()
        .into_iter()
        .map(|e| e.event.message_id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["ok-before-big", "ok-in-mixed-batch"]);
    let other = h.store.workspace_by_name("other").unwrap().unwrap().id;
    assert_eq!(h.store.event_count(other).unwrap(), 0);
}
