//! The OpenAPI document describes every route, and every route it describes exists.

use crate::Harness;
use axum::body::Body;
use axum::http::Request;

/// Paths the server routes, read from the routers' source (plus the ingestion paths,
/// which are generated from the message types).
fn routed_paths() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + 7..];
            let literal = rest.trim_start();
            if let Some(stripped) = literal.strip_prefix('"') {
                paths.push(stripped[..stripped.find('"').unwrap()].to_string());
            }
        }
    }
    for kind in parcours_core::EventKind::ALL {
        paths.push(format!("/v1/{}", kind.as_str()));
        paths.push(format!("/v1/{}", &kind.as_str()[..1]));
    }
    paths.extend(["/v1/batch", "/v1/b", "/v1/import"].map(String::from));
    paths.sort();
    paths.dedup();
    paths
}

#[tokio::test]
async fn the_document_matches_the_routes() {
    let h = Harness::new();
    let (status, doc, _) = h
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut sorted = documented.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        routed_paths(),
        "documented paths differ from routed paths"
    );

    // Every documented operation reaches a handler: not the fallback, not 405.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let uri = path
            .replace("{identifier}", "nobody")
            .replace("{id}", "999");
        for method in ops.as_object().unwrap().keys() {
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("authorization", format!("Bearer {}", h.admin))
                .body(Body::from("{}"))
                .unwrap();
            let (status, body, _) = h.send(request).await;
            assert_ne!(status, 405, "{method} {path} is not routed");
            let fallback = body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no such endpoint"));
            assert!(!fallback, "{method} {path} hits the fallback");
            // Every error body has the documented shape.
            if status >= 400 && body.is_object() {
                assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
            }
        }
    }
}
