//! The HTTP surface on its happy paths: every Segment endpoint and client quirk, dedupe,
//! the timeline, erasure, keys, CORS, health, metrics and rate limiting.

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use crate::{basic, gzip, Harness};

fn post(path: &str, auth: Option<String>, body: Vec<u8>) -> axum::http::request::Builder {
    let mut b = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    let _ = body;
    b
}

async fn ingest(h: &Harness, path: &str, body: Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(&body).unwrap();
    let (s, b, _) = h
        .send(
            post(path, Some(basic(&h.write)), bytes.clone())
                .body(Body::from(bytes))
                .unwrap(),
        )
        .await;
    (s, b)
}

/// The events of the calls below, in time order.
const STITCHED: [&str; 6] = [
    "Pricing",
    "Home",
    "$identify",
    "Order Completed",
    "$group",
    "$alias",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_segment_call_lands_on_one_stitched_timeline() {
    let h = Harness::new();
    let calls = [
        (
            "/v1/page",
            json!({"anonymousId": "anon-1", "name": "Pricing", "properties": {"path": "/pricing"}, "timestamp": "2024-05-01T10:00:00Z"}),
        ),
        (
            "/v1/screen",
            json!({"anonymousId": "anon-1", "name": "Home", "timestamp": "2024-05-01T10:01:00Z"}),
        ),
        (
            "/v1/identify",
            json!({"userId": "u-1", "anonymousId": "anon-1", "traits": {"email": "Ana@Example.com", "plan": "pro"}, "timestamp": "2024-05-01T10:02:00Z"}),
        ),
        (
            "/v1/track",
            json!({"userId": "u-1", "event": "Order Completed", "properties": {"revenue": 42, "currency": "eur"}, "context": {"campaign": {"medium": "email", "name": "welcome-2"}}, "timestamp": "2024-05-01T10:03:00Z"}),
        ),
        (
            "/v1/group",
            json!({"userId": "u-1", "groupId": "acme", "traits": {"name": "Acme"}, "timestamp": "2024-05-01T10:04:00Z"}),
        ),
        (
            "/v1/alias",
            json!({"userId": "u-1", "previousId": "crm-9", "timestamp": "2024-05-01T10:05:00Z"}),
        ),
    ];
    for (path, body) in calls {
        let (status, answer) = ingest(&h, path, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["success"], true);
    }
    for identifier in ["u-1", "anon-1", "ana@example.com", "crm-9"] {
        let (status, body) = h
            .get(&format!("/api/v1/persons/{identifier}/timeline"), &h.read)
            .await;
        assert_eq!(status, 200, "{identifier}: {body}");
        let names: Vec<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, STITCHED, "{identifier}");
        let order = &body["events"][3];
        assert_eq!(order["channel"], "email");
        assert_eq!(order["touchpoint"], "email welcome-2");
        assert_eq!(order["revenue"], 42.0);
        assert_eq!(order["currency"], "EUR");
        assert_eq!(order["timestamp"], "2024-05-01T10:03:00.000000Z");
        assert_eq!(body["person"]["traits"]["plan"], "pro");
        assert_eq!(body["person"]["groups"][0]["group_id"], "acme");
        // The person's times are written as the events' are.
        let person = &body["person"];
        let anon = person["identities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["value"] == "anon-1")
            .unwrap();
        assert_eq!(anon["first_seen"], "2024-05-01T10:00:00.000000Z");
        assert_eq!(
            person["trait_history"][0]["observed_at"],
            "2024-05-01T10:02:00.000000Z"
        );
        assert_eq!(person["groups"][0]["since"], "2024-05-01T10:04:00.000000Z");
    }
    let (_, desc) = h
        .get("/api/v1/persons/u-1/timeline?order=desc&limit=2", &h.read)
        .await;
    assert_eq!(desc["total"], 6);
    assert_eq!(desc["events"].as_array().unwrap().len(), 2);
    assert_eq!(desc["events"][0]["event"], "$alias");
    // Pages: every event once, in order, then an empty page past the end.
    let mut paged = Vec::new();
    for offset in [0, 4, 8] {
        let (status, page) = h
            .get(
                &format!("/api/v1/persons/u-1/timeline?limit=4&offset={offset}"),
                &h.read,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 6);
        paged.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(paged, STITCHED);
    let (_, last) = h
        .get(
            "/api/v1/persons/u-1/timeline?order=desc&limit=2&offset=4",
            &h.read,
        )
        .await;
    let names: Vec<&str> = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Home", "Pricing"]);
}

/// An archive replayed through `/v1/import` keeps its times; its `sentAt` is not taken as
/// sent now (through `/v1/batch` the same message lands at about the request's time).
#[tokio::test(flavor = "multi_thread")]
async fn an_archive_replayed_through_import_keeps_its_times() {
    let h = Harness::new();
    let archived = |id: &str| {
        json!({"batch": [{"type": "track", "event": "Order Completed", "userId": "arch",
            "messageId": id, "timestamp": "2024-03-01T12:00:00.250Z",
            "originalTimestamp": "2024-03-01T12:00:05Z", "sentAt": "2024-03-01T12:00:10Z",
            "receivedAt": "2024-03-01T12:00:00.300Z"}]})
    };
    assert_eq!(ingest(&h, "/v1/import", archived("m-1")).await.0, 200);
    assert_eq!(ingest(&h, "/v1/batch", archived("m-2")).await.0, 200);
    let (_, timeline) = h.get("/api/v1/persons/arch/timeline", &h.read).await;
    let times: Vec<(&str, &str)> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["message_id"].as_str().unwrap(),
                e["timestamp"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(times[0], ("m-1", "2024-03-01T12:00:00.250000Z"));
    assert_eq!(times[1].0, "m-2");
    assert!(
        times[1].1 > "2026",
        "moved to the request's time: {times:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_quirks_are_accepted() {
    let h = Harness::new();
    // analytics-node: batch, Basic auth and writeKey in the body, long non-UUID messageId.
    let node = json!({"writeKey": h.write, "batch": [{"type": "track", "event": "A", "userId": "q", "messageId": "node-next-1714557600000-4b1c2d3e-aaaa-bbbb-cccc-1234567890ab", "timestamp": "2024-05-01T10:00:00.123Z"}]});
    assert_eq!(ingest(&h, "/v1/batch", node).await.0, 200);
    // Python: anonymousId null inside items, sentAt with microseconds and +00:00.
    let python = json!({"sentAt": "2024-05-01T10:00:05.123456+00:00", "batch": [{"type": "identify", "userId": "q", "anonymousId": null, "timestamp": "2024-05-01T10:00:01.5+00:00"}]});
    assert_eq!(ingest(&h, "/v1/batch", python).await.0, 200);
    // RudderStack: gzip JSON sent as form-urlencoded, originalTimestamp + sentAt per event.
    let rudder = serde_json::to_vec(&json!({"batch": [{"type": "track", "event": "B", "userId": "q", "originalTimestamp": "2024-05-01T10:00:02.000000001Z", "sentAt": "2024-05-01T10:00:03Z"}]})).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/v1/batch")
        .header("authorization", basic(&h.write))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(&rudder)))
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(status, 200, "{body}");
    // analytics.js (browser): short path, text/plain, writeKey in the body only.
    let req = Request::builder()
        .method("POST")
        .uri("/v1/t")
        .header("content-type", "text/plain")
        .body(Body::from(
            serde_json::to_vec(
                &json!({"writeKey": h.write, "event": "C", "anonymousId": "browser-1"}),
            )
            .unwrap(),
        ))
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(status, 200, "{body}");
    // A client that compresses with `Content-Encoding: deflate` (the zlib format).
    let deflated = {
        use std::io::Write;
        let track = json!({"event": "D", "userId": "q", "timestamp": "2024-05-01T10:00:04Z"});
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&serde_json::to_vec(&track).unwrap()).unwrap();
        e.finish().unwrap()
    };
    let req = Request::builder()
        .method("POST")
        .uri("/v1/track")
        .header("authorization", basic(&h.write))
        .header("content-encoding", "deflate")
        .body(Body::from(deflated))
        .unwrap();
    let (status, body, _) = h.send(req).await;
    assert_eq!(status, 200, "{body}");

    let (_, timeline) = h.get("/api/v1/persons/q/timeline", &h.read).await;
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    // RudderStack's clock: sent 1 s after the event, so the event lands 1 s before receipt.
    let b = events.iter().find(|e| e["event"] == "B").unwrap();
    assert_eq!(b["original_timestamp"], "2024-05-01T10:00:02.000000Z");
    assert_eq!(b["sent_at"], "2024-05-01T10:00:03.000000Z");
    let t = parcours_core::time::parse_rfc3339(b["timestamp"].as_str().unwrap()).unwrap();
    let r = parcours_core::time::parse_rfc3339(b["received_at"].as_str().unwrap()).unwrap();
    assert_eq!(r - t, 1_000_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn resent_batches_do_not_double_count() {
    let h = Harness::new();
    let batch = json!({"batch": [
        {"type": "track", "event": "E", "userId": "d", "messageId": "r-1"},
        {"type": "track", "event": "E", "userId": "d", "messageId": "r-2"}
    ]});
    let (_, first) = ingest(&h, "/v1/batch", batch.clone()).await;
    let (status, again) = ingest(&h, "/v1/batch", batch).await;
    assert_eq!(
        (first["accepted"].clone(), first["duplicates"].clone()),
        (json!(2), json!(0))
    );
    assert_eq!((status, again["duplicates"].clone()), (200, json!(2)));
    let (_, timeline) = h.get("/api/v1/persons/d/timeline", &h.read).await;
    assert_eq!(timeline["total"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_over_http_then_the_person_is_gone() {
    let h = Harness::new();
    ingest(
        &h,
        "/v1/identify",
        json!({"userId": "gdpr", "anonymousId": "dev", "traits": {"email": "gdpr@example.com"}}),
    )
    .await;
    ingest(
        &h,
        "/v1/track",
        json!({"anonymousId": "dev", "event": "Viewed"}),
    )
    .await;
    let req = Request::builder()
        .method("DELETE")
        .uri("/api/v1/persons/gdpr@example.com")
        .header("authorization", format!("Bearer {}", h.admin))
        .body(Body::empty())
        .unwrap();
    let (status, report, _) = h.send(req).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["events_deleted"], 2);
    assert_eq!(report["same_email_persons"], json!([]));
    for id in ["gdpr", "dev", "gdpr@example.com"] {
        assert_eq!(
            h.get(&format!("/api/v1/persons/{id}/timeline"), &h.read)
                .await
                .0,
            404
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_managed_over_http_and_shown_once() {
    let h = Harness::new();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/keys")
        .header("authorization", format!("Bearer {}", h.admin))
        .body(Body::from(r#"{"scope": "read", "label": "bi"}"#))
        .unwrap();
    let (status, created, _) = h.send(req).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap().to_string();
    assert_eq!(h.get("/api/v1/workspace", &secret).await.0, 200);
    let (_, listed) = h.get("/api/v1/keys", &h.admin).await;
    assert!(
        !listed.to_string().contains(&secret),
        "listing must never show a key"
    );
    let id = created["info"]["id"].as_i64().unwrap();
    let req = Request::builder()
        .method("DELETE")
        .uri(format!("/api/v1/keys/{id}"))
        .header("authorization", format!("Bearer {}", h.admin))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(req).await.0, 204);
    assert_eq!(h.get("/api/v1/workspace", &secret).await.0, 401);
    let (_, listed) = h.get("/api/v1/keys", &h.admin).await;
    let revoked = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap();
    for time in [&revoked["created_at"], &revoked["revoked_at"]] {
        let text = time.as_str().unwrap_or_else(|| panic!("{revoked}"));
        assert!(parcours_core::time::parse_rfc3339(text).is_ok(), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_health_and_metrics() {
    let h = Harness::new();
    let req = Request::builder()
        .method("OPTIONS")
        .uri("/v1/t")
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap();
    let (status, _, headers) = h.send(req).await;
    assert!(status < 300);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let (status, health, _) = h
        .send(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    ingest(&h, "/v1/track", json!({"userId": "m", "event": "E"})).await;
    ingest(&h, "/v1/track", json!({"userId": "m"})).await;
    // An accepted message with a placeholder anonymousId, and a refused one with two.
    let placeholder = json!({"userId": "m", "anonymousId": "undefined", "event": "E"});
    ingest(&h, "/v1/track", placeholder).await;
    ingest(
        &h,
        "/v1/track",
        json!({"userId": "null", "anonymousId": "0", "event": "E"}),
    )
    .await;
    let (_, text, _) = h
        .send(
            Request::builder()
                .uri("/metrics")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let text = text.as_str().unwrap().to_string();
    assert!(
        text.contains("parcours_ingest_events_total{outcome=\"accepted\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("parcours_ingest_events_total{outcome=\"rejected\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("parcours_ingest_requests_total{endpoint=\"track\",status=\"400\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("parcours_ingest_request_duration_seconds_count 4"),
        "{text}"
    );
    assert!(
        text.contains("parcours_ingest_placeholder_ids_total 1\n"),
        "only the accepted message's placeholder counts: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_answers_429_with_retry_after_and_keeps_nothing() {
    let mut config = parcours::config::Config::default();
    config.ingest.rate_limit_events_per_second = 5;
    config.ingest.rate_limit_burst = 5;
    let h = Harness::with_config(config);
    let batch = |from: usize| json!({"batch": (from..from + 4).map(|i| json!({"type": "track", "event": "E", "userId": "rl", "messageId": format!("rl-{i}")})).collect::<Vec<_>>()});
    assert_eq!(ingest(&h, "/v1/batch", batch(0)).await.0, 200);
    let bytes = serde_json::to_vec(&batch(10)).unwrap();
    let (status, body, headers) = h
        .send(
            post("/v1/batch", Some(basic(&h.write)), vec![])
                .body(Body::from(bytes))
                .unwrap(),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let (_, timeline) = h.get("/api/v1/persons/rl/timeline", &h.read).await;
    assert_eq!(timeline["total"], 4);
}
