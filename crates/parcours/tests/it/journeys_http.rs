//! The journey API: definitions (JSON and TOML), reports, actor lists, errors.

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};

use crate::Harness;

fn testdata(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/journeys")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn req(
    method: &str,
    uri: &str,
    key: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

async fn ingest_fixture(h: &Harness) {
    let batch: Vec<Value> = testdata("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let body = json!({ "batch": batch }).to_string();
    let (status, body, _) = h
        .send(
            Request::post("/v1/batch")
                .header("authorization", crate::basic(&h.write))
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn entered(report: &Value) -> Vec<u64> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entered"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn journeys_are_created_listed_run_updated_and_deleted() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let read = h.read.clone();

    // Created from TOML, listed, served back as TOML that parses to the same definition.
    let (status, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["definition"]["window"], "30d");
    let (_, list, _) = h
        .send(req("GET", "/api/v1/journeys", &read, "", Body::empty()))
        .await;
    assert_eq!(list["journeys"][0]["name"], "shop");
    let (status, toml_text, _) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}?format=toml"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 200);
    let def = parcours_core::journey::JourneyDef::from_toml(toml_text.as_str().unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&def).unwrap(), created["definition"]);

    // Reports: GET with query options, POST with a JSON body, CSV actor lists.
    let (status, report, _) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}/report?trend=week&breakdown=channel"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(entered(&report), [3, 1]);
    assert_eq!(report["trend"]["period"], "week");
    let (_, report, _) = h
        .send(req(
            "POST",
            &format!("/api/v1/journeys/{id}/report"),
            &read,
            "application/json",
            json!({ "from": "2026-03-03", "where": { "path": "/nowhere" } }).to_string(),
        ))
        .await;
    assert_eq!(entered(&report), [0, 0]);
    let (status, csv, headers) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}/report?actors=converted:purchase&format=csv"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.as_str().unwrap();
    assert!(
        csv.starts_with("actor,entered_at,visit,purchase\nu1,2026-03-02T10:00:00"),
        "{csv}"
    );

    // Update, name conflicts, delete.
    let mut renamed = created["definition"].clone();
    renamed["name"] = json!("shop, 7 days");
    renamed["window"] = json!("7d");
    let (status, updated, _) = h
        .send(req(
            "PUT",
            &format!("/api/v1/journeys/{id}"),
            &read,
            "application/json",
            renamed.to_string(),
        ))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["id"].as_i64(), Some(id));
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &read,
            "application/json",
            renamed.to_string(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let (status, _, _) = h
        .send(req(
            "DELETE",
            &format!("/api/v1/journeys/{id}"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn journey_errors_name_the_field_and_respect_workspaces() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let read = h.read.clone();
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &read,
            "application/toml",
            testdata("broken.toml"),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_definition");
    assert_eq!(body["error"]["field"], "stages[0].steps[0].where[0]");
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &read,
            "application/json",
            r#"{"name": "x", "stages": [{"name": "a"}]}"#,
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("stages[0]"))
    );

    // A write key cannot read journeys; another workspace cannot see them.
    let (status, _, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &h.write,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    assert_eq!(status, 401);
    let (_, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    let id = created["id"].as_i64().unwrap();
    let (status, _) = h
        .get(&format!("/api/v1/journeys/{id}/report"), &h.other_read)
        .await;
    assert_eq!(status, 404);

    // Bad report options name the option.
    let (status, body, _) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}/report?breakdown=colour"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("breakdown"))
    );
    let (status, body, _) = h
        .send(req(
            "GET",
            &format!("/api/v1/journeys/{id}/report?from=2026-05-01&to=2026-04-01"),
            &read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("to")));
    let (status, body, _) = h
        .send(req(
            "POST",
            &format!("/api/v1/journeys/{id}/report"),
            &read,
            "application/json",
            r#"{"colour": 1}"#,
        ))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn adhoc_reports_run_a_definition_from_the_body() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let journey: Value = serde_json::to_value(
        parcours_core::journey::JourneyDef::from_toml(&testdata("accounts.toml")).unwrap(),
    )
    .unwrap();
    let (status, report, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys/report",
            &h.read,
            "application/json",
            json!({ "journey": journey, "top": 3 }).to_string(),
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(entered(&report), [1, 1]);
    assert_eq!(report["actor"], "account");
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys/report",
            &h.read,
            "application/json",
            json!({ "journey": { "name": "x", "stages": [] } }).to_string(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("journey.stages"))
    );
}

#[tokio::test]
async fn lifecycle_says_where_actors_stand() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let (_, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &h.read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    let id = created["id"].as_i64().unwrap();
    // On 2026-03-10: u1 bought (converted); u2 (visit 03-03) and a3 (visit 03-04) are in
    // `visit`, stalled past a fixed 2 days.
    let uri =
        format!("/api/v1/journeys/{id}/lifecycle?as_of=2026-03-10&stall_after=2d&period=week");
    let (status, body) = h.get(&uri, &h.read).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"], 3);
    assert_eq!(body["converted"], 1);
    assert_eq!(body["stages"][0]["in_stage"], 2);
    assert_eq!(body["stages"][0]["stalled"], 2);
    assert!(!body["over_time"].as_array().unwrap().is_empty());
    let (_, stalled) = h.get(&format!("{uri}&actors=stalled"), &h.read).await;
    let names: Vec<&str> = stalled
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a3", "u2"]);
    let (status, body) = h
        .get(
            &format!("/api/v1/journeys/{id}/lifecycle?stall_after=soon"),
            &h.read,
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("stall_after"))
    );
}

#[tokio::test]
async fn reports_follow_new_events() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let (_, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &h.read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    let uri = format!("/api/v1/journeys/{}/report", created["id"]);
    let (_, before) = h.get(&uri, &h.read).await;
    let (_, again) = h.get(&uri, &h.read).await;
    assert_eq!(before, again);
    assert_eq!(entered(&before), [3, 1]);
    // u2 buys: the next report must see it (the reused frame is dropped).
    let body = json!({ "batch": [{ "type": "track", "event": "Order Completed", "userId": "u2",
        "timestamp": "2026-03-04T09:00:00Z", "messageId": "late-1" }] });
    let (status, _, _) = h
        .send(
            Request::post("/v1/batch")
                .header("authorization", crate::basic(&h.write))
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    let (_, after) = h.get(&uri, &h.read).await;
    assert_eq!(entered(&after), [3, 2]);
}

#[tokio::test]
async fn sessions_report_web_kpis() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    // Page views: a1 (home, then stitched to u1), u2 (home), a3 (home): three one-page
    // sessions of three visitors.
    let (status, body) = h.get("/api/v1/sessions?timeout=30m&top=5", &h.read).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions"], 3);
    assert_eq!(body["visitors"], 3);
    assert_eq!(body["bounce_rate"], 1.0);
    assert_eq!(body["entry_pages"][0]["sessions"], 3);
    let (status, body) = h.get("/api/v1/sessions?timeout=forever", &h.read).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("timeout"))
    );
}

#[tokio::test]
async fn transitions_show_what_follows_what() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    // a1's home view (stitched to u1) is followed by u1's order; u4's catalogue download
    // by the deal's quote.
    let (status, body) = h.get("/api/v1/transitions?by=name&top=100", &h.read).await;
    assert_eq!(status, 200, "{body}");
    let edges = body["edges"].as_array().unwrap();
    let edge = |from: &str, to: &str| {
        edges
            .iter()
            .find(|e| e["from"] == from && e["to"] == to)
            .cloned()
    };
    let home_order = edge("home", "Order Completed").expect("home → Order Completed");
    assert_eq!(home_order["actors"], 2, "{body}");
    assert!(
        edge("Catalogue Downloaded", "Quote Sent").is_some(),
        "{body}"
    );
    let (status, body) = h.get("/api/v1/transitions?by=colour", &h.read).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("by")));
}

#[tokio::test]
async fn attribution_credits_events_or_a_journey_stage() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let get = |uri: String| req("GET", &uri, &h.read, "", Body::empty());
    // Every order: u1's (120), a3's (no revenue), u5's (9000).
    let (status, body, _) = h
        .send(get(
            "/api/v1/attribution?conversion=Order%20Completed&models=last,linear,markov".into(),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["conversions"].as_f64(), body["value"].as_f64()),
        (Some(3.0), Some(9120.0))
    );
    for model in ["last", "linear", "markov"] {
        let sum: f64 = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["credits"][model]["conversions"].as_f64().unwrap())
            .sum();
        assert!(
            (sum - 3.0 + body["unattributed_conversions"].as_f64().unwrap()).abs() < 1e-9,
            "{model}: {body}"
        );
    }

    // The journey's purchase stage: only u1 bought within 30 days of visiting.
    let (status, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &h.read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, body, _) = h
        .send(get(format!(
            "/api/v1/attribution?journey={id}&stage=purchase&models=first,w_shaped"
        )))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["conversions"].as_f64(), body["value"].as_f64()),
        (Some(1.0), Some(120.0))
    );

    // Errors name the field; an unknown journey is a 404.
    let (status, body, _) = h
        .send(get("/api/v1/attribution?conversion=x&models=bogus".into()))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("models"))
    );
    let (status, body, _) = h.send(get("/api/v1/attribution?models=first".into())).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("conversion"))
    );
    let (status, body, _) = h
        .send(get(format!(
            "/api/v1/attribution?journey={id}&stage=checkout"
        )))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("stage"))
    );
    let (status, _, _) = h
        .send(get("/api/v1/attribution?journey=999&stage=1".into()))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn paths_flow_matrix_variants_and_loops() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let get = |uri: String| req("GET", &uri, &h.read, "", Body::empty());
    // u1 (stitched from a1): home, then an order an hour later; u2: home; a3: home, then
    // an order 41 days later.
    let (status, body, _) = h
        .send(get("/api/v1/paths/flow?start=home&steps=3".into()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"], 3, "{body}");
    assert_eq!(body["nodes"][0]["name"], "home");
    assert_eq!(body["nodes"][0]["ended"], 1);
    let link = &body["links"][0];
    assert_eq!(
        (
            link["source"].as_str(),
            link["target"].as_str(),
            link["actors"].as_u64()
        ),
        (Some("home"), Some("Order Completed"), Some(2))
    );
    assert_eq!(link["median_s"], (3600.0 + 41.0 * 86400.0) / 2.0);

    // After a drop: u2 and a3 visited and did not buy within the journey's 30 days.
    let (status, created, _) = h
        .send(req(
            "POST",
            "/api/v1/journeys",
            &h.read,
            "application/toml",
            testdata("shop.toml"),
        ))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    let (status, body, _) = h
        .send(get(format!(
            "/api/v1/paths/flow?journey={id}&dropped_after=visit&steps=2"
        )))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"], 2, "{body}");

    let (status, body, _) = h
        .send(get(
            "/api/v1/paths/matrix?steps=2&targets=Order%20Completed".into(),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"][0], 5);
    for c in 0..2 {
        let sum: f64 = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["shares"][c].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{body}");
    }
    assert_eq!(body["targets"][0]["cumulative"][1], 0.6, "{body}");

    let (status, body, _) = h.send(get("/api/v1/paths/variants?per=plan".into())).await;
    assert_eq!(status, 200, "{body}");
    let pro = body
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "pro")
        .expect("plan pro");
    assert_eq!(
        pro["variants"][0]["sequence"],
        json!(["home", "Order Completed"])
    );

    let (status, body, _) = h.send(get("/api/v1/paths/loops".into())).await;
    assert_eq!(
        (status, body["actors_looping"].as_u64()),
        (200, Some(0)),
        "{body}"
    );

    // Errors name the field; an unknown analysis is a 404.
    let (status, body, _) = h
        .send(get("/api/v1/paths/flow?start=home&steps=30".into()))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("steps"))
    );
    let (status, body, _) = h.send(get("/api/v1/paths/flow?steps=3".into())).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("start"))
    );
    let (status, body, _) = h
        .send(get("/api/v1/paths/matrix?segment=plan".into()))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("segment"))
    );
    let (status, _, _) = h.send(get("/api/v1/paths/sankey".into())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn retention_over_http() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let get = |uri: &str| req("GET", uri, &h.read, "", Body::empty());
    let (status, body, _) = h
        .send(get("/api/v1/retention?start=home&return=Order%20Completed&period=month&periods=2&segment=plan=pro"))
        .await;
    assert_eq!(status, 200, "{body}");
    // Only u1 has plan=pro: first home in March, ordered the same month (after it).
    assert_eq!(body["cohorts"][0]["start"], "2026-03-01");
    assert_eq!(body["cohorts"][0]["size"], 1);
    assert_eq!(
        body["cohorts"][0]["retained"],
        json!([1, 0, null]),
        "{body}"
    );
    let (status, body, _) = h.send(get("/api/v1/retention?periods=1000")).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("periods"))
    );
}

#[tokio::test]
async fn kpis_built_in_and_ad_hoc() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let (status, body) = h
        .get(
            "/api/v1/kpis?period=month&only=revenue,conversion_rate",
            &h.read,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let revenue = body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "revenue")
        .unwrap();
    // u1's 120 and u5's 9000 in March; a3's order in April had no revenue.
    assert_eq!(revenue["value"], 9120.0, "{body}");
    assert_eq!(revenue["series"][0]["period"], "2026-03-01");
    assert_eq!(revenue["series"][1]["value"], 0.0);
    assert_eq!(revenue["series"][1]["change"], -9120.0);
    let (status, catalog) = h.get("/api/v1/kpis/catalog", &h.read).await;
    assert_eq!(status, 200);
    assert!(catalog["kpis"].as_array().unwrap().len() >= 20, "{catalog}");

    // An ad hoc definition, alone.
    let adhoc = json!({
        "builtins": false,
        "period": "month",
        "kpis": [{"id": "homes", "name": "Home views", "stage": "awareness",
                  "measure": {"kind": "unique", "event": "home", "event_kind": "page"}}]
    });
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/kpis",
            &h.read,
            "application/json",
            adhoc.to_string(),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(
        body[0]["value"], 3.0,
        "u1, u2 and a3 viewed the home page: {body}"
    );

    let bad =
        json!({"kpis": [{"id": "x", "name": "x", "stage": "s", "measure": {"kind": "ratio"}}]});
    let (status, body, _) = h
        .send(req(
            "POST",
            "/api/v1/kpis",
            &h.read,
            "application/json",
            bad.to_string(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("kpis[0].measure.numerator")),
        "{body}"
    );
    let (status, body) = h.get("/api/v1/kpis?only=nope", &h.read).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("only"))
    );
}

#[tokio::test]
async fn kpi_definitions_are_saved_per_workspace() {
    let h = Harness::new();
    ingest_fixture(&h).await;
    let def = json!({"name": "Pro revenue", "stage": "purchase", "unit": "currency",
                     "measure": {"kind": "sum", "event": "Order Completed", "property": "$revenue",
                                 "where": {"segment": "pro"}}});
    let (status, body, _) = h
        .send(req(
            "PUT",
            "/api/v1/kpis/definitions/revenue",
            &h.read,
            "application/json",
            def.to_string(),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "revenue");
    // The saved definition replaces the built-in `revenue` in the workspace's runs.
    let (status, body) = h.get("/api/v1/kpis?only=revenue", &h.read).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body[0]["name"].as_str(), body[0]["value"].as_f64()),
        (Some("Pro revenue"), Some(9000.0))
    );
    let (_, list) = h.get("/api/v1/kpis/definitions", &h.read).await;
    assert_eq!(list["kpis"].as_array().unwrap().len(), 1);
    // A bad definition names its field and is not saved.
    let bad =
        json!({"name": "x", "stage": "s", "measure": {"kind": "duration", "from": {"event": "a"}}});
    let (status, body, _) = h
        .send(req(
            "PUT",
            "/api/v1/kpis/definitions/x",
            &h.read,
            "application/json",
            bad.to_string(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("measure.to")),
        "{body}"
    );
    let (status, body, _) = h
        .send(req(
            "PUT",
            "/api/v1/kpis/definitions/y",
            &h.read,
            "application/json",
            json!({"id": "z"}).to_string(),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("id")),
        "{body}"
    );
    let (status, _, _) = h
        .send(req(
            "DELETE",
            "/api/v1/kpis/definitions/revenue",
            &h.read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = h
        .send(req(
            "DELETE",
            "/api/v1/kpis/definitions/revenue",
            &h.read,
            "",
            Body::empty(),
        ))
        .await;
    assert_eq!(status, 404);
    let (_, body) = h.get("/api/v1/kpis?only=revenue", &h.read).await;
    assert_eq!(body[0]["value"], 9120.0, "the built-in again: {body}");
}
