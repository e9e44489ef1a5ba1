//! Survey definitions over HTTP: stored and validated, responses checked at ingestion
//! against them, and the hosted survey page behind a signed per-person link.

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use crate::journeys_http::req;
use crate::Harness;

async fn put_survey(h: &Harness, id: &str, def: Value) -> (u16, Value) {
    let (s, b, _) = h
        .send(req(
            "PUT",
            &format!("/api/v1/surveys/definitions/{id}"),
            &h.read,
            "application/json",
            def.to_string(),
        ))
        .await;
    (s, b)
}

fn response(user: &str, survey: &str, score: Value) -> Value {
    json!({"type": "track", "userId": user, "event": "Survey Responded",
           "timestamp": "2026-03-02T10:00:00Z",
           "properties": {"survey": survey, "score": score}})
}

#[tokio::test]
async fn definitions_are_validated_and_stored() {
    let h = Harness::new();
    let stars = json!({"kind": "rating", "question": "How was the delivery?", "min": 1, "max": 5,
        "touchpoint": "web /livraison", "stage": "post-purchase",
        "follow_up": {"question": "What went wrong?", "max": 2}});
    let (status, body) = put_survey(&h, "stars", stars).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "stars");
    // Refused, with the field named.
    for (id, def, field) in [
        (
            "bad",
            json!({"kind": "rating", "question": "?", "min": 1}),
            "min",
        ),
        (
            "bad",
            json!({"kind": "nps", "question": "?", "follow_up": {"question": "Why?", "max": 11}}),
            "follow_up.max",
        ),
        ("Bad Id", json!({"kind": "open", "question": "?"}), "id"),
        (
            "x",
            json!({"id": "y", "kind": "open", "question": "?"}),
            "id",
        ),
    ] {
        let (status, body) = put_survey(&h, id.replace(' ', "%20").as_str(), def).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    // TOML too.
    let (status, body, _) = h
        .send(req(
            "PUT",
            "/api/v1/surveys/definitions/why",
            &h.read,
            "application/toml",
            "kind = \"open\"\nquestion = \"Why did you choose us?\"\n",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, list) = h.get("/api/v1/surveys/definitions", &h.read).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["surveys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["stars", "why"]);
    // Another workspace sees none of them.
    let (_, other) = h.get("/api/v1/surveys/definitions", &h.other_read).await;
    assert_eq!(other["surveys"], json!([]));
    let (status, _, _) = h
        .send(req(
            "DELETE",
            "/api/v1/surveys/definitions/why",
            &h.read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 204);
    let (status, _) = h.get("/api/v1/surveys/definitions/why", &h.read).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn responses_to_defined_surveys_are_checked_at_ingestion() {
    let h = Harness::new();
    let def = json!({"kind": "rating", "question": "Stars?", "min": 1, "max": 5});
    assert_eq!(put_survey(&h, "stars", def).await.0, 200);
    let batch = vec![
        response("u1", "stars", json!(4)),
        response("u2", "stars", json!(9)),
        response("u3", "nps", json!(11)),
        response("u4", "unknown-survey", json!(99)),
        json!({"type": "track", "userId": "u5", "event": "Survey Responded",
               "properties": {"survey": "stars", "comment": "no score"}}),
    ];
    let (status, body, _) = h
        .send(
            Request::post("/v1/batch")
                .header("authorization", crate::basic(&h.write))
                .body(Body::from(json!({ "batch": batch }).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    let fields: Vec<&str> = rejected
        .iter()
        .map(|r| r["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "batch[1].properties.score",
            "batch[2].properties.score",
            "batch[4].properties.score"
        ],
        "{body}"
    );
    assert!(
        rejected[0]["message"].as_str().unwrap().contains("1–5"),
        "{body}"
    );
    // The others were kept: a custom survey without a definition is not checked.
    assert_eq!(body["accepted"], 2, "{body}");
    // A single /v1/track is refused as a whole.
    let (status, body, _) = h
        .send(
            Request::post("/v1/track")
                .header("authorization", crate::basic(&h.write))
                .body(Body::from(response("u6", "stars", json!(0)).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("properties.score")),
        "{body}"
    );
    // The defined rating is scored without naming its scale; the undefined one is skipped.
    let (status, body) = h.get("/api/v1/surveys/scores", &h.read).await;
    assert_eq!(status, 200, "{body}");
    let stars = body["surveys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["survey"] == "stars")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        stars["scale"],
        json!({"kind": "rating", "min": 1.0, "max": 5.0})
    );
    assert_eq!(stars["overall"]["responses"], 1, "{body}");
    assert_eq!(body["skipped"][0]["survey"], "unknown-survey", "{body}");
}

/// The body of an HTML response as text.
fn text(body: &Value) -> &str {
    body.as_str().unwrap_or_default()
}

fn form(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_hosted_page_records_one_answer_per_link() {
    let h = Harness::new();
    let def = json!({"kind": "nps", "question": "Would you recommend Maison Lumière?",
        "touchpoint": "email nps", "stage": "advocacy",
        "low_label": "Not at all", "high_label": "Absolutely",
        "follow_up": {"question": "What should we fix?", "max": 6}});
    assert_eq!(put_survey(&h, "nps-relationship", def).await.0, 200);
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/surveys/definitions/nps-relationship/links",
            &h.read,
            "application/json",
            json!({"users": ["u1", "u2"], "expires_in": "7d"}).to_string(),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let expires = parcours_core::time::parse_rfc3339(body["expires_at"].as_str().unwrap());
    let week = 7 * parcours_core::time::MICROS_PER_DAY;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    assert!(
        (expires.unwrap() - (now + week)).abs() < 60 * 1_000_000,
        "links expire in 7 days: {body}"
    );
    let path = body["links"][0]["path"].as_str().unwrap().to_string();
    let other = body["links"][1]["path"].as_str().unwrap().to_string();
    assert_ne!(path, other);

    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (status, page, _) = h.send(get(&path)).await;
    assert_eq!(status, 200);
    let page = text(&page).to_string();
    assert!(
        page.contains("Would you recommend Maison Lumière?"),
        "{page}"
    );
    assert_eq!(page.matches("type=\"radio\"").count(), 11, "0 to 10");
    assert!(page.contains("What should we fix?") && page.contains("Absolutely"));

    // A score off the scale is refused on the page, and nothing is stored.
    let (status, page, _) = h.send(form(&path, "score=12")).await;
    assert_eq!(status, 400);
    assert!(text(&page).contains("class=\"error\""));
    let (status, page, _) = h
        .send(form(&path, "score=3&comment=Livraison+en+retard"))
        .await;
    assert_eq!(status, 200);
    assert!(text(&page).contains("Your answer has been recorded"));
    let (status, page, _) = h.send(form(&path, "score=9")).await;
    assert_eq!(status, 200);
    assert!(text(&page).contains("counted once"), "{page}");
    // u2 answers 9 with a comment: the follow-up was not asked, the comment is not kept.
    let (status, _, _) = h.send(form(&other, "score=9&comment=hidden")).await;
    assert_eq!(status, 200);

    let timeline = |user: &str| format!("/api/v1/persons/{user}/timeline");
    let (_, t1) = h.get(&timeline("u1"), &h.read).await;
    let events = t1["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{t1}");
    let p = &events[0]["properties"];
    assert_eq!(p["survey"], "nps-relationship");
    assert_eq!(p["score"], 3.0);
    assert_eq!(p["comment"], "Livraison en retard");
    assert_eq!(p["touchpoint_surveyed"], "email nps");
    assert_eq!(p["stage"], "advocacy");
    let (_, t2) = h.get(&timeline("u2"), &h.read).await;
    assert_eq!(t2["events"][0]["properties"].get("comment"), None, "{t2}");

    // The public form has a size limit.
    let (status, _, _) = h
        .send(form(
            &other,
            &format!("score=1&comment={}", "a".repeat(20_000)),
        ))
        .await;
    assert_eq!(status, 413);
    // Forged, or tampered with: refused.
    let tampered = format!("{}x", &path);
    let (status, page, _) = h.send(get(&tampered)).await;
    assert_eq!(status, 404);
    assert!(text(&page).contains("not valid"));
    // A link of a survey since deleted.
    h.send(req(
        "DELETE",
        "/api/v1/surveys/definitions/nps-relationship",
        &h.read,
        "",
        Body::empty(),
    ))
    .await;
    let (status, page, _) = h.send(get(&other)).await;
    assert_eq!(status, 404);
    assert!(text(&page).contains("closed"));
}

#[tokio::test]
async fn the_widget_reads_definitions_with_the_write_key() {
    let h = Harness::new();
    let def = json!({"kind": "csat", "question": "Were you satisfied with checkout?",
        "touchpoint": "web /checkout", "stage": "purchase",
        "follow_up": {"question": "What was missing?", "max": 3}});
    assert_eq!(put_survey(&h, "csat-checkout", def).await.0, 200);

    // The script itself, served with a JavaScript type.
    let (status, _, headers) = h
        .send(Request::get("/widget.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));

    let get = |key: &str, uri: &str| {
        Request::get(uri)
            .header("authorization", crate::basic(key))
            .body(Body::empty())
            .unwrap()
    };
    let (status, body, _) = h.send(get(&h.write, "/v1/surveys/csat-checkout")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["question"], "Were you satisfied with checkout?");
    assert_eq!(body["choices"], json!([1, 2, 3, 4, 5]));
    assert_eq!(body["follow_up"]["max"], 3.0);
    // Another workspace's write key does not see it; a read key is the wrong scope.
    let (status, _, _) = h
        .send(get(&h.other_write, "/v1/surveys/csat-checkout"))
        .await;
    assert_eq!(status, 404);
    let (status, body, _) = h.send(get(&h.read, "/v1/surveys/csat-checkout")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("wrong_scope"))
    );
    // A browser on another site may ask (CORS preflight for the Authorization header).
    let (status, _, headers) = h
        .send(
            Request::options("/v1/surveys/csat-checkout")
                .header("origin", "https://shop.example")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");

    // What the widget sends: the answer alone. The definition adds what it rates, unless
    // the response says otherwise.
    for (user, extra) in [("w1", json!({})), ("w2", json!({"stage": "post-purchase"}))] {
        let mut properties = json!({"survey": "csat-checkout", "score": 2, "comment": "no PayPal"});
        properties
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, body, _) = h
            .send(
                Request::post("/v1/track")
                    .header("authorization", crate::basic(&h.write))
                    .body(Body::from(
                        json!({"userId": user, "event": "Survey Responded",
                               "properties": properties})
                        .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for (user, stage) in [("w1", "purchase"), ("w2", "post-purchase")] {
        let (_, t) = h
            .get(&format!("/api/v1/persons/{user}/timeline"), &h.read)
            .await;
        let p = &t["events"][0]["properties"];
        assert_eq!(p["touchpoint_surveyed"], "web /checkout", "{t}");
        assert_eq!(p["stage"], stage, "{t}");
        assert_eq!(p["comment"], "no PayPal", "{t}");
    }
}

#[tokio::test]
async fn definitions_changed_by_another_process_are_seen() {
    // `parcours surveys define` and `delete` write from another process while the server
    // runs: the server's parsed definitions must follow.
    let h = Harness::new();
    let def = json!({"kind": "csat", "question": "Satisfied?", "touchpoint": "web /checkout"});
    assert_eq!(put_survey(&h, "csat-checkout", def).await.0, 200);
    let ws = parcours_store::Store::workspace_by_name(&*h.store, "main")
        .unwrap()
        .unwrap()
        .id;
    let stored = parcours_store::Store::surveys(&*h.store, ws).unwrap();
    let page = || {
        Request::get("/v1/surveys/csat-checkout")
            .header("authorization", crate::basic(&h.write))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(h.send(page()).await.0, 200);
    let other = parcours_store::SqliteStore::open(h._dir.path(), Default::default()).unwrap();
    assert!(parcours_store::Store::delete_survey(&other, ws, "csat-checkout").unwrap());
    assert_eq!(h.send(page()).await.0, 404, "deleted by the other process");
    parcours_store::Store::save_survey(&other, ws, "csat-checkout", &stored[0]).unwrap();
    let (status, body, _) = h.send(page()).await;
    assert_eq!(
        (status, body["question"].as_str()),
        (200, Some("Satisfied?"))
    );
}
