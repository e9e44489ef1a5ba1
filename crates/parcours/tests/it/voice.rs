//! Voice of the customer through the real binary: sentiment scoring and its evaluation.

use crate::journey::{parcours, run_json};

#[test]
fn sentiment_eval_meets_the_target_and_fails_loudly_below_it() {
    let sets = run_json(&["sentiment", "eval", "--format", "json"]);
    let sets = sets.as_array().unwrap();
    assert_eq!(sets.len(), 2, "development and held-out sets");
    for set in sets {
        let langs = set["languages"].as_array().unwrap();
        assert_eq!(langs.len(), 2);
        for l in langs {
            assert!(l["accuracy"].as_f64().unwrap() >= 0.8, "{set}");
            assert!(l["macro_f1"].as_f64().unwrap() > 0.0);
            let confusion: u64 = l["confusion"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap())
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(confusion, l["examples"].as_u64().unwrap());
        }
    }
    let (ok, stdout, stderr) = parcours(&["sentiment", "eval", "--min-accuracy", "0.999"]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("accuracy below 99.9%"), "{stderr}");
    assert!(stdout.contains("macro-F1"), "{stdout}");
}

#[test]
fn sentiment_eval_of_a_file_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("set.tsv");
    std::fs::write(&file, "en\tpositive\tGreat!\nen\thappy\tGreat!\n").unwrap();
    let (ok, _, stderr) = parcours(&["sentiment", "eval", "--file", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("line 2: label"), "{stderr}");

    std::fs::write(
        &file,
        "en\tpositive\tGreat service!\nfr\tnegative\tLivré en retard.\n",
    )
    .unwrap();
    let sets = run_json(&[
        "sentiment",
        "eval",
        "--file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let langs = sets[0]["languages"].as_array().unwrap();
    assert_eq!(langs.len(), 2);
    assert!(langs.iter().all(|l| l["accuracy"] == 1.0), "{sets}");
}

#[test]
fn sentiment_score_from_arguments_and_stdin() {
    let out = run_json(&[
        "sentiment",
        "score",
        "--format",
        "json",
        "Pas mal du tout, mais la livraison était en retard.",
        "Great lamp 😍",
    ]);
    let first = &out[0]["score"];
    assert_eq!(first["language"], "fr");
    assert_eq!(first["polarity"], "negative");
    assert_eq!(out[1]["score"]["polarity"], "positive");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_parcours"))
        .args(["sentiment", "score", "--format", "csv", "--lang", "en"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Terrible support\n\nVery helpful agent\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].ends_with(",negative") && lines[2].ends_with(",positive"),
        "{csv}"
    );

    let (ok, _, stderr) = parcours(&["sentiment", "score", "--lang", "de", "gut"]);
    assert!(!ok && stderr.contains("--lang"), "{stderr}");
}

#[test]
fn survey_scores_offline_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("responses.jsonl");
    let lines = [
        r#"{"type":"track","userId":"a","event":"Survey Responded","timestamp":"2026-03-02T10:00:00Z","properties":{"survey":"nps","score":10}}"#,
        r#"{"type":"track","userId":"b","event":"Survey Responded","timestamp":"2026-03-02T11:00:00Z","properties":{"survey":"nps","score":3}}"#,
        r#"{"type":"track","userId":"c","event":"Survey Responded","timestamp":"2026-03-09T11:00:00Z","properties":{"survey":"nps","score":9}}"#,
        r#"{"type":"track","userId":"c","event":"Survey Responded","timestamp":"2026-03-09T12:00:00Z","properties":{"survey":"nps","score":12}}"#,
        r#"{"type":"track","userId":"d","event":"Survey Responded","timestamp":"2026-03-09T12:00:00Z","properties":{"survey":"effort","score":2}}"#,
        r#"{"type":"track","userId":"e","event":"Survey Responded","timestamp":"2026-03-09T13:00:00Z","properties":{"survey":"effort","score":9}}"#,
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let input = file.to_str().unwrap();
    // The NPS of 12 is refused when the file is read, naming its line and field; the
    // other lines are kept.
    let (ok, stdout, stderr) = parcours(&["surveys", "--input", input, "--format", "json"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "were rejected, the first at line 4: 12 is not a whole number from 0 to 10 (NPS)"
        ),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let nps = &report["surveys"][0];
    // Two promoters and a detractor of three: NPS 33.3.
    assert!((nps["overall"]["score"].as_f64().unwrap() - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(nps["overall"]["out_of_scale"], 0);
    assert_eq!(nps["trend"].as_array().unwrap().len(), 2, "two weeks");
    assert_eq!(report["skipped"][0]["survey"], "effort");

    let report = run_json(&[
        "surveys",
        "--input",
        input,
        "--scales",
        "effort=ces",
        "--survey",
        "effort",
        "--format",
        "json",
    ]);
    // A custom survey is not checked at ingestion: its 9 is out of scale at analysis.
    assert_eq!(report["surveys"][0]["overall"]["mean"], 2.0, "{report}");
    assert_eq!(
        report["surveys"][0]["overall"]["out_of_scale"], 1,
        "{report}"
    );

    let (ok, stdout, _) = parcours(&["surveys", "--input", input]);
    assert!(ok);
    assert!(stdout.contains("33.3 ± "), "{stdout}");
    assert!(stdout.contains("skipped: effort (2 responses)"), "{stdout}");
    let (ok, stdout, _) = parcours(&["surveys", "--input", input, "--scales", "effort=ces"]);
    assert!(ok);
    assert!(stdout.contains("left out: 1 out of scale"), "{stdout}");

    let (ok, _, stderr) = parcours(&["surveys", "--input", input, "--by", "mood"]);
    assert!(!ok && stderr.contains("--by"), "{stderr}");
}

#[test]
fn themes_offline_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reviews.jsonl");
    let texts = [
        ("a", "Livraison en retard, colis abîmé."),
        ("b", "Retard de livraison inadmissible."),
        ("c", "Late delivery, again."),
        ("d", "Fast delivery, thanks!"),
        ("e", "Le remboursement est très lent."),
        ("f", "Refund still not received after a month."),
    ];
    let lines: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, (user, text))| {
            serde_json::json!({"type": "track", "userId": user, "event": "Review Submitted",
                "timestamp": format!("2026-03-0{}T10:00:00Z", i + 1),
                "properties": {"text": text}})
            .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let input = file.to_str().unwrap();
    let report = run_json(&[
        "themes",
        "--input",
        input,
        "--min-mentions",
        "2",
        "--stage-of",
        "Review Submitted=advocacy",
        "--format",
        "json",
    ]);
    assert_eq!(report["texts"], 6, "{report}");
    let themes = report["themes"].as_array().unwrap();
    let ids: Vec<&str> = themes.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["delivery", "refund"], "{report}");
    assert_eq!(themes[0]["mentions"], 4);
    assert_eq!(
        themes[0]["phrases"][0]["label"],
        "livraison en retard / late delivery"
    );
    assert_eq!(themes[0]["stages"][0]["value"], "advocacy");

    let (ok, stdout, stderr) = parcours(&[
        "themes",
        "--input",
        input,
        "--min-mentions",
        "2",
        "--theme",
        "refund",
        "--actors",
        "5",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("refund / remboursement  — 2 mentions by 2 actors"),
        "{stdout}"
    );
    assert!(stdout.contains("actors: e, f"), "{stdout}");
    assert!(!stdout.contains("livraison"), "{stdout}");

    // Stages from a journey definition, for events that carry none.
    let journey = dir.path().join("journey.toml");
    std::fs::write(
        &journey,
        "name = \"j\"\n[[stages]]\nname = \"said so\"\nsteps = [{ event = [\"Review Submitted\"] }]\n",
    )
    .unwrap();
    let journey = journey.to_str().unwrap();
    for command in ["themes", "emotion"] {
        let mut args = vec![command, "--input", input, "--journey", journey];
        if command == "themes" {
            args.extend(["--min-mentions", "2"]);
        }
        args.extend(["--format", "json"]);
        let report = run_json(&args);
        let stage = if command == "themes" {
            &report["themes"][0]["stages"][0]["value"]
        } else {
            &report["stages"][0]["value"]
        };
        assert_eq!(stage, "said so", "{command}: {report}");
    }

    let (ok, _, stderr) = parcours(&["themes", "--input", input, "--merge", "1.5"]);
    assert!(!ok && stderr.contains("--merge"), "{stderr}");
}

/// With a data directory, the CLI knows the scale of every stored survey definition:
/// `--scales` is needed only for surveys without one.
#[test]
fn the_cli_scores_stored_survey_definitions() {
    use parcours_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store =
        parcours_store::SqliteStore::open(dir.path(), parcours_store::StoreOptions::default())
            .unwrap();
    let ws = store.create_workspace("shop").unwrap().id;
    store
        .save_survey(
            ws,
            "stars",
            &serde_json::json!({"id": "stars", "kind": "rating", "question": "?", "min": 1, "max": 5}),
        )
        .unwrap();
    let answers: Vec<parcours_core::event::Event> = [("u1", 4), ("u2", 2)]
        .iter()
        .map(|(u, x)| {
            let body = serde_json::json!({"userId": u, "event": "Survey Responded",
                "timestamp": "2026-03-02T10:00:00Z",
                "properties": {"survey": "stars", "score": x}});
            parcours_core::payload::parse_body(
                body.to_string().as_bytes(),
                parcours_core::payload::Endpoint::Single(parcours_core::EventKind::Track),
                0,
                &Default::default(),
                &mut || uuid::Uuid::now_v7().to_string(),
            )
            .unwrap()
            .events
            .remove(0)
        })
        .collect();
    store.append(ws, answers).unwrap();
    store.close();
    drop(store);
    let report = run_json(&[
        "surveys",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--workspace",
        "shop",
        "--format",
        "json",
    ]);
    let stars = &report["surveys"][0];
    assert_eq!(stars["survey"], "stars", "{report}");
    assert_eq!(stars["overall"]["responses"], 2, "{report}");
    assert_eq!(stars["overall"]["score"], 3.0, "{report}");
    assert_eq!(report["skipped"], serde_json::json!([]), "{report}");
}

/// The three frictions the demo generator plants (docs/demo.md) — mobile checkout, late
/// deliveries by ColisExpress, returns — are what ranks first, each recognised by its
/// own evidence.
#[test]
fn planted_demo_frictions_rank_first() {
    let dir = tempfile::tempdir().unwrap();
    let demo = parcours::demo::Demo {
        seed: 42,
        customers: 2000,
    };
    let store =
        parcours_store::SqliteStore::open(dir.path(), parcours_store::StoreOptions::default())
            .unwrap();
    parcours::demo::build(&store, &demo, dir.path(), false).unwrap();
    drop(store);
    let journey = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/journeys/ecommerce.toml"
    );
    let report = run_json(&[
        "frictions",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--workspace",
        parcours::demo::WORKSPACE,
        "--journey",
        journey,
        "--format",
        "json",
    ]);
    let frictions = report["frictions"].as_array().unwrap();
    let planted = |f: &serde_json::Value| -> Option<&str> {
        let text = |k: &str| f[k].as_str().unwrap_or("").to_lowercase();
        let (title, touchpoint) = (text("title"), text("touchpoint"));
        let evidence = f["details"].to_string().to_lowercase();
        if title.contains("mobile") || touchpoint.contains("paiement") || evidence.contains("3ds") {
            Some("mobile checkout")
        } else if touchpoint.contains("delivery")
            || title.contains("delivery")
            || evidence.contains("colisexpress")
        {
            Some("late delivery")
        } else if title.contains("return")
            || title.contains("retour")
            || touchpoint == "phone inbound"
        {
            Some("returns")
        } else {
            None
        }
    };
    for f in frictions.iter().take(10) {
        assert!(
            planted(f).is_some(),
            "not a planted friction in the top 10: {f}"
        );
    }
    for name in ["mobile checkout", "late delivery", "returns"] {
        let rank = frictions
            .iter()
            .position(|f| planted(f) == Some(name))
            .unwrap_or_else(|| panic!("{name} not found"));
        assert!(rank < 6, "{name} first ranks {}", rank + 1);
    }
    // The mobile abandonment's evidence names the failure; the repeat contacts' names
    // the carrier.
    let mobile = frictions
        .iter()
        .find(|f| f["kind"] == "abandonment")
        .unwrap();
    assert!(mobile["details"][0]["label"]
        .as_str()
        .unwrap()
        .contains("reason=3ds_timeout"));
    let contacts = frictions
        .iter()
        .find(|f| f["kind"] == "repeat_contact")
        .unwrap();
    assert!(
        contacts["details"][0]["label"]
            .as_str()
            .unwrap()
            .contains("carrier=ColisExpress"),
        "{contacts}"
    );
    assert!(mobile["revenue_at_stake"].as_f64().unwrap() > 0.0);
}

mod http {
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::{json, Value};

    use crate::journeys_http::req;
    use crate::Harness;

    /// The item of `list` whose `key` is `value`.
    fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x[key] == value)
            .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
    }

    fn response(user: &str, at: &str, survey: &str, score: Value, extra: Value) -> Value {
        let mut props = json!({ "survey": survey, "score": score });
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({ "type": "track", "userId": user, "event": "Survey Responded",
                "timestamp": at, "properties": props })
    }

    /// Each GET is refused with a 400 naming the field.
    async fn refused(h: &Harness, cases: &[(&str, &str)]) {
        for &(uri, field) in cases {
            let (status, body) = h.get(uri, &h.read).await;
            assert_eq!(
                (status, body["error"]["field"].as_str()),
                (400, Some(field)),
                "{uri}: {body}"
            );
        }
    }

    async fn ingest(h: &Harness, batch: Vec<Value>) {
        let (status, body, _) = h
            .send(
                Request::post("/v1/batch")
                    .header("authorization", crate::basic(&h.write))
                    .body(Body::from(json!({ "batch": batch }).to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    #[tokio::test]
    async fn survey_scores_over_http() {
        let h = Harness::new();
        ingest(
            &h,
            vec![
                json!({"type": "identify", "userId": "u1", "traits": {"plan": "pro"},
                       "timestamp": "2026-03-01T09:00:00Z"}),
                json!({"type": "track", "userId": "u1", "event": "Call Completed",
                       "timestamp": "2026-03-01T10:00:00Z", "properties": {"channel": "phone"}}),
                response(
                    "u1",
                    "2026-03-01T10:05:00Z",
                    "csat",
                    json!(5),
                    json!({"stage": "service"}),
                ),
                response(
                    "u2",
                    "2026-03-02T10:05:00Z",
                    "csat",
                    json!(2),
                    json!({"stage": "service"}),
                ),
                response("u1", "2026-03-03T10:00:00Z", "nps", json!(9), json!({})),
                response("u2", "2026-03-03T10:00:00Z", "nps", json!(0), json!({})),
                response("u3", "2026-03-04T10:00:00Z", "nps", json!(8), json!({})),
                response("u3", "2026-03-04T11:00:00Z", "stars", json!(4.5), json!({})),
            ],
        )
        .await;
        let (status, body) = h
            .get(
                "/api/v1/surveys/scores?by=channel,stage&scales=stars=rating:1-5&period=month",
                &h.read,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let survey = |id: &str| find(&body["surveys"], "survey", id).clone();
        // NPS: one promoter, one detractor, one passive of three.
        let nps = survey("nps");
        assert_eq!(nps["overall"]["responses"], 3);
        assert!(
            nps["overall"]["score"].as_f64().unwrap().abs() < 1e-9,
            "{nps}"
        );
        // CSAT: u1's 5 after a phone call, u2's 2 with nothing before.
        let csat = survey("csat");
        assert_eq!(csat["overall"]["score"], 50.0);
        let by_channel = &csat["breakdowns"][0];
        assert_eq!(by_channel["by"], "channel");
        assert_eq!(
            by_channel["rows"].as_array().unwrap().len(),
            2,
            "phone and (none)"
        );
        let phone = find(&by_channel["rows"], "value", "phone");
        assert_eq!(phone["score"], 100.0, "{by_channel}");
        assert_eq!(survey("stars")["overall"]["mean"], 4.5);
        assert_eq!(nps["trend"][0]["period"], "2026-03-01");

        // A segment, and one survey only.
        let (_, body) = h
            .get(
                "/api/v1/surveys/scores?segment=plan=pro&survey=nps",
                &h.read,
            )
            .await;
        assert_eq!(body["surveys"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(body["surveys"][0]["overall"]["score"], 100.0, "{body}");

        // Errors name the parameter.
        refused(
            &h,
            &[
                ("/api/v1/surveys/scores?by=colour", "by"),
                ("/api/v1/surveys/scores?scales=stars", "scales"),
                ("/api/v1/surveys/scores?scales=stars=rating:5-1", "scales"),
                ("/api/v1/surveys/scores?period=year", "period"),
            ],
        )
        .await;
        // Answers of the standard surveys are checked at ingestion: in a batch the bad
        // ones are refused with their index and field, the good ones kept.
        let (status, body, _) = h
            .send(
                Request::post("/v1/batch")
                    .header("authorization", crate::basic(&h.write))
                    .body(Body::from(
                        json!({ "batch": [
                            response("u4", "2026-03-05T10:00:00Z", "nps", json!(11), json!({})),
                            response("u4", "2026-03-05T10:01:00Z", "csat", json!("great"), json!({})),
                            response("u4", "2026-03-05T10:02:00Z", "nps", json!("10"), json!({})),
                        ]})
                        .to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error"]["field"], "batch[0].properties.score",
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a whole number from 0 to 10"),
            "{body}"
        );
        let (_, body) = h.get("/api/v1/surveys/scores?survey=nps", &h.read).await;
        assert_eq!(
            body["surveys"][0]["overall"]["responses"], 4,
            "the \"10\" was kept: {body}"
        );
        // Without a read key: 401.
        let (status, _) = h.get("/api/v1/surveys/scores", &h.write).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn emotion_over_http() {
        let h = Harness::new();
        ingest(
            &h,
            vec![
                response(
                    "u1",
                    "2026-03-01T10:05:00Z",
                    "csat",
                    json!(5),
                    json!({"stage": "service"}),
                ),
                response(
                    "u2",
                    "2026-03-01T10:05:00Z",
                    "csat",
                    json!(1),
                    json!({"stage": "service", "comment": "Never again, awful support."}),
                ),
                json!({"type": "track", "userId": "u3", "event": "Review Submitted",
                       "timestamp": "2026-03-02T10:00:00Z",
                       "properties": {"stars": 5, "text": "Superbe lampe !", "language": "fr"}}),
            ],
        )
        .await;
        let (status, body) = h
            .get(
                "/api/v1/emotion?stage_of=Review%20Submitted=advocacy&rating=stars=rating:1-5",
                &h.read,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let stage = |name: &str| find(&body["stages"], "value", name).clone();
        // Service: +1 (CSAT 5) and the mean of −1 (CSAT 1) and a negative comment.
        let service = stage("service");
        assert_eq!(service["evidence"], 2);
        assert_eq!(service["texts"], 1);
        let comment = parcours_core::text::Scorer::new()
            .score("Never again, awful support.", None)
            .compound;
        let expected = (1.0 + (-1.0 + comment) / 2.0) / 2.0;
        assert!(
            (service["emotion"].as_f64().unwrap() - expected).abs() < 1e-12,
            "{service}"
        );
        let advocacy = stage("advocacy");
        assert_eq!(advocacy["label"], "delighted", "{advocacy}");
        assert_eq!(body["overall"]["evidence"], 3);

        refused(
            &h,
            &[
                ("/api/v1/emotion?stage_of=Review", "stage_of"),
                ("/api/v1/emotion?rating=stars", "rating"),
                ("/api/v1/emotion?from=yesterday", "from"),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn themes_over_http() {
        let h = Harness::new();
        let batch = (0..6)
            .map(|i| {
                let (text, stage) = if i < 4 {
                    ("Colis livré en retard.", "post-purchase")
                } else {
                    ("Great support team!", "service")
                };
                response(
                    &format!("u{i}"),
                    &format!("2026-03-0{}T10:00:00Z", i + 1),
                    "csat",
                    json!(3),
                    json!({"stage": stage, "comment": text}),
                )
            })
            .collect();
        ingest(&h, batch).await;
        let (status, body) = h
            .get(
                "/api/v1/themes?min_mentions=2&period=week&actors=10",
                &h.read,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["texts"], 6);
        // "colis", "livré" and "retard" are in the same four texts: the first by name
        // heads the theme, the others join it.
        let parcel = find(&body["themes"], "id", "delivery");
        assert_eq!(parcel["keywords"].as_array().unwrap().len(), 3, "{parcel}");
        assert_eq!(parcel["mentions"], 4, "{body}");
        assert_eq!(parcel["sentiment"]["polarity"], "negative", "{parcel}");
        assert_eq!(parcel["stages"][0]["value"], "post-purchase");
        assert_eq!(parcel["actor_keys"].as_array().unwrap().len(), 4);
        let support = find(&body["themes"], "id", "customer service");
        assert_eq!(support["sentiment"]["polarity"], "positive", "{support}");

        refused(
            &h,
            &[
                ("/api/v1/themes?period=year", "period"),
                ("/api/v1/themes?limit=100000", "limit"),
                ("/api/v1/themes?merge=0", "merge"),
            ],
        )
        .await;
        let (status, body) = h.get("/api/v1/themes?mood=1", &h.read).await;
        assert_eq!(status, 400, "an unknown parameter: {body}");
        let (status, _) = h.get("/api/v1/themes", &h.write).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn frictions_over_http() {
        let h = Harness::new();
        let mut batch = Vec::new();
        for i in 0..6 {
            let user = format!("u{i}");
            let at = |m: u32| format!("2026-03-02T10:{m:02}:00Z");
            for (m, event, props) in [
                (
                    0,
                    "Ticket Opened",
                    json!({"channel": "support", "category": "delivery"}),
                ),
                (
                    5,
                    "Call Completed",
                    json!({"channel": "phone", "direction": "inbound"}),
                ),
            ] {
                batch.push(json!({"type": "track", "userId": user, "event": event,
                                  "timestamp": at(m), "properties": props}));
            }
        }
        ingest(&h, batch).await;
        let (status, body) = h.get("/api/v1/frictions?actors=3", &h.read).await;
        assert_eq!(status, 200, "{body}");
        let f = &body["frictions"][0];
        assert_eq!(f["kind"], "repeat_contact", "{body}");
        assert_eq!(f["actors"], 6);
        assert_eq!(f["actor_keys"].as_array().unwrap().len(), 3);
        refused(
            &h,
            &[
                ("/api/v1/frictions?contact_window=soon", "contact_window"),
                ("/api/v1/frictions?min_contacts=1", "min_contacts"),
                ("/api/v1/frictions?low_score_share=2", "low_score_share"),
                ("/api/v1/frictions?resolutions=Opened", "resolutions"),
            ],
        )
        .await;
        let (status, _) = h.get("/api/v1/frictions?journey=999", &h.read).await;
        assert_eq!(status, 404);

        // With a journey: its stages place the contacts, and a way that misses its target
        // is a drop-off.
        let carts = (0..6)
            .map(|i| {
                json!({"type": "track", "userId": format!("u{i}"), "event": "Product Added",
                       "timestamp": "2026-03-02T09:00:00Z"})
            })
            .collect();
        ingest(&h, carts).await;
        let journey = json!({"name": "shop", "stages": [
            {"name": "cart", "steps": [{"event": "Product Added"}]},
            {"name": "purchase", "target_conversion": 0.5,
             "steps": [{"event": "Order Completed"}]}]});
        let (status, created, _) = h
            .send(req(
                "POST",
                "/api/v1/journeys",
                &h.read,
                "application/json",
                journey.to_string(),
            ))
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().unwrap();
        let (status, body) = h
            .get(&format!("/api/v1/frictions?journey={id}"), &h.read)
            .await;
        assert_eq!(status, 200, "{body}");
        let of = |kind: &str| {
            body["frictions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["kind"] == kind)
                .cloned()
                .unwrap_or_else(|| panic!("no {kind} in {body}"))
        };
        let drop = of("drop_off");
        assert_eq!(
            drop["title"],
            "cart → purchase: 0% of 6 progress, target 50%"
        );
        assert_eq!(drop["actors"], 6);
        assert_eq!(of("repeat_contact")["stage"], "cart");
        assert_eq!(body["warnings"], json!([]));
    }

    #[tokio::test]
    async fn sentiment_over_http() {
        let h = Harness::new();
        let post = |body: Value| {
            req(
                "POST",
                "/api/v1/sentiment",
                &h.read,
                "application/json",
                body.to_string(),
            )
        };
        let (status, body, _) = h
            .send(post(
                json!({"texts": ["Livraison en retard, très déçu.", "Great support!"]}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scores"][0]["language"], "fr");
        assert_eq!(body["scores"][0]["polarity"], "negative");
        assert_eq!(body["scores"][1]["polarity"], "positive");
        assert!(body["scores"][1]["sentences"][0]["terms"].is_array());

        let (status, body, _) = h
            .send(post(json!({"texts": ["x"], "language": "de"})))
            .await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("language"))
        );
        let many: Vec<&str> = vec!["ok"; 1001];
        let (status, body, _) = h.send(post(json!({ "texts": many }))).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("texts"))
        );
        let (status, body, _) = h.send(post(json!({"text": "x"}))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("malformed_json"))
        );
    }
}
