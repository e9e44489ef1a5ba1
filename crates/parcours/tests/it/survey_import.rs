//! `parcours surveys define|list|link|import` through the real binary: definitions from
//! TOML, the exports of four survey tools recognised and imported (and re-imported),
//! refused rows named by line, and a CLI link opened by the server.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;

use crate::journey::parcours;

fn export(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/survey_exports")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

const DEFINITIONS: &[(&str, &str)] = &[
    (
        "nps.toml",
        r#"id = "nps-relationship"
kind = "nps"
question = "How likely are you to recommend Maison Lumière to a friend?"
touchpoint = "email nps"
stage = "advocacy"
[follow_up]
question = "What should we have done better?"
max = 6
"#,
    ),
    (
        "csat.toml",
        r#"id = "csat-delivery"
kind = "csat"
question = "How satisfied were you with your delivery?"
touchpoint = "delivery"
stage = "post-purchase"
"#,
    ),
    (
        "stars.toml",
        r#"id = "stars"
kind = "rating"
min = 1
max = 5
question = "Quelle note donnez-vous à votre commande ?"
"#,
    ),
    (
        "ces.toml",
        r#"id = "ces-support"
kind = "ces"
question = "How easy was it to get your problem solved?"
stage = "post-purchase"
"#,
    ),
];

struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn path(&self) -> &str {
        self.tmp.path().to_str().unwrap()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs the binary on the test's workspace and data directory.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let data = format!("{}/data", self.path());
        let mut all = args.to_vec();
        all.extend(["--workspace", "shop", "--data-dir", &data]);
        parcours(&all)
    }

    fn run_json(&self, args: &[&str]) -> Value {
        let (ok, out, err) = self.run(args);
        assert!(ok, "{args:?} failed: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn import(&self, file: &str, survey: &str, extra: &[&str]) -> Value {
        let mut args = vec!["surveys", "import", file, "--survey", survey, "--json"];
        args.extend(extra);
        self.run_json(&args)
    }
}

fn setup() -> Dir {
    let dir = Dir {
        tmp: tempfile::tempdir().unwrap(),
    };
    for (name, text) in DEFINITIONS {
        let file = dir.file(name, text);
        let (ok, _, err) = dir.run(&["surveys", "define", file.to_str().unwrap()]);
        assert!(ok, "{err}");
    }
    // Claire is known to parcours by her email before the surveys come in.
    let known = dir.file(
        "known.jsonl",
        r#"{"type":"identify","userId":"u-claire","traits":{"email":"claire@example.com"},"timestamp":"2026-01-01T00:00:00Z"}"#,
    );
    let (ok, _, err) = dir.run(&["import", known.to_str().unwrap(), "--no-progress"]);
    assert!(ok, "{err}");
    dir
}

fn lines(report: &Value) -> Vec<(u64, String)> {
    report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["field"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn survey_tool_exports_are_recognised_and_imported() {
    let dir = setup();

    let list = dir.run_json(&["surveys", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 4, "{list}");

    // Typeform: the questions are the headers; `#` is the response id. (Gzip-compressed
    // here: an export reads the same either way.)
    let typeform = dir.tmp.path().join("typeform.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &std::fs::read(export("typeform.csv")).unwrap()).unwrap();
    std::fs::write(&typeform, gz.finish().unwrap()).unwrap();
    let r = dir.import(typeform.to_str().unwrap(), "nps-relationship", &[]);
    assert_eq!(
        r["columns"]["score"],
        "How likely are you to recommend Maison Lumière to a friend?"
    );
    assert_eq!(r["columns"]["comment"], "What should we have done better?");
    assert_eq!(r["columns"]["date"], "Submit Date (UTC)");
    assert_eq!(r["columns"]["response_id"], "#");
    assert_eq!(
        (r["rows"].as_u64(), r["inserted"].as_u64()),
        (Some(6), Some(4)),
        "{r}"
    );
    assert_eq!(r["unanswered"], 1);
    assert_eq!(
        lines(&r),
        [(
            7,
            "How likely are you to recommend Maison Lumière to a friend?".to_string()
        )],
        "a score of 11 is refused, naming the line and the column: {r}"
    );
    assert_eq!(
        (r["known_emails"].as_u64(), r["new_emails"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(r["anonymous"], 1);
    // Importing the same export again adds nothing.
    let again = dir.import(&export("typeform.csv"), "nps-relationship", &[]);
    assert_eq!(
        (again["inserted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
    // Saved with Windows line ends (as Excel saves it), its lines are told the same.
    let crlf = std::fs::read_to_string(export("typeform.csv"))
        .unwrap()
        .replace('\n', "\r\n");
    let crlf = dir.file("typeform-crlf.csv", &crlf);
    let r = dir.import(crlf.to_str().unwrap(), "nps-relationship", &[]);
    assert_eq!(r["duplicates"], 4, "{r}");
    assert_eq!(lines(&r).first().map(|l| l.0), Some(7), "{r}");

    // SurveyMonkey: a header row under the header; US dates; answers as labels.
    let r = dir.import(&export("surveymonkey.csv"), "csat-delivery", &[]);
    assert_eq!(r["columns"]["date"], "End Date");
    assert_eq!(r["columns"]["comment"], "Why?");
    assert_eq!(r["header_rows"], 1);
    assert_eq!(r["inserted"], 4, "`Very satisfied` is a 5: {r}");

    // Google Forms in French: `;`, `Horodateur`, dates day first.
    let r = dir.import(&export("google_forms_fr.csv"), "stars", &[]);
    assert_eq!(r["columns"]["score"], "Note sur 5");
    assert_eq!(r["columns"]["email"], "Adresse e-mail");
    assert_eq!(r["inserted"], 3, "{r}");

    // Qualtrics: two header rows; the score is found by its question (row 2), not by the
    // other numeric columns; ExternalReference is the userId.
    let r = dir.import(&export("qualtrics.csv"), "ces-support", &[]);
    assert_eq!(r["columns"]["score"], "Q1");
    assert_eq!(r["columns"]["comment"], "Q2");
    assert_eq!(r["columns"]["user_id"], "ExternalReference");
    assert_eq!(
        (r["header_rows"].as_u64(), r["inserted"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );

    // The scores, computed from what was imported.
    let scores = dir.run_json(&["surveys", "--format", "json"]);
    let score = |id: &str| {
        let s = scores["surveys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["survey"] == id)
            .unwrap_or_else(|| panic!("{id}: {scores}"));
        (
            s["overall"]["responses"].as_u64().unwrap(),
            s["overall"]["score"].as_f64().unwrap(),
        )
    };
    assert_eq!(score("nps-relationship"), (4, 25.0), "9, 3, 10, 7");
    assert_eq!(score("csat-delivery"), (4, 75.0), "5, 2, 4, 5");
    let (n, mean) = score("stars");
    assert_eq!(n, 3);
    assert!((mean - 11.0 / 3.0).abs() < 1e-9);
    assert_eq!(score("ces-support"), (2, 4.0), "6, 2");

    // Claire answered four surveys; each is hers, at the time the export gives.
    let (ok, timeline, err) = dir.run(&["timeline", "claire@example.com"]);
    assert!(ok, "{err}");
    let mut answers: Vec<(String, i64, Value)> = timeline
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["name"] == "Survey Responded")
        .map(|e| {
            (
                e["properties"]["survey"].as_str().unwrap().to_string(),
                e["timestamp"].as_i64().unwrap(),
                e["properties"].clone(),
            )
        })
        .collect();
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    let micros = |t: &str| parcours_core::time::parse_rfc3339(t).unwrap();
    let got: Vec<(&str, i64)> = answers.iter().map(|(s, t, _)| (s.as_str(), *t)).collect();
    assert_eq!(
        got,
        [
            ("ces-support", micros("2026-03-10T10:03:00Z")),
            ("csat-delivery", micros("2026-03-15T10:12:44Z")),
            ("nps-relationship", micros("2026-03-02T10:00:00Z")),
            ("stars", micros("2026-03-15T10:12:44Z")),
        ]
    );
    // The definitions say what was rated.
    assert_eq!(answers[1].2["touchpoint_surveyed"], "delivery");
    assert_eq!(answers[2].2["stage"], "advocacy");
}

#[test]
fn bad_exports_are_refused_with_the_reason() {
    let dir = setup();
    let fail = |args: &[&str]| {
        let mut all = vec!["surveys", "import"];
        all.extend(args);
        let (ok, _, err) = dir.run(&all);
        assert!(!ok, "{args:?} should fail");
        err
    };
    let ambiguous = export("ambiguous.csv");
    let err = fail(&[&ambiguous, "--survey", "nps"]);
    assert!(err.contains("--date-order"), "{err}");
    // Told the order, the same file goes in (into the standard NPS, with no definition).
    let r = dir.import(
        &ambiguous,
        "nps",
        &["--date-order", "dmy", "--timezone", "Europe/Paris"],
    );
    assert_eq!(r["inserted"], 2, "{r}");
    let err = fail(&[&ambiguous, "--survey", "unknown-survey"]);
    assert!(err.contains("define it first"), "{err}");
    let typeform = export("typeform.csv");
    let err = fail(&[
        &typeform,
        "--survey",
        "nps-relationship",
        "--score-column",
        "Nope",
    ]);
    assert!(
        err.contains("--score-column \"Nope\": no such column"),
        "{err}"
    );
    // A dry run checks and stores nothing.
    let r = dir.import(&typeform, "nps-relationship", &["--dry-run"]);
    assert_eq!(
        (r["responses"].as_u64(), r["inserted"].as_u64()),
        (Some(4), Some(0))
    );
    let scores = dir.run_json(&[
        "surveys",
        "--format",
        "json",
        "--survey",
        "nps-relationship",
    ]);
    assert_eq!(
        scores["surveys"].as_array().map(Vec::len),
        Some(0),
        "{scores}"
    );

    // The general import checks answers of defined surveys too, and names the line.
    let file = dir.file(
        "answers.jsonl",
        "{\"userId\":\"u1\",\"event\":\"Survey Responded\",\"timestamp\":\"2026-03-02T10:00:00Z\",\"properties\":{\"survey\":\"stars\",\"score\":4}}\n\
         {\"userId\":\"u2\",\"event\":\"Survey Responded\",\"timestamp\":\"2026-03-02T10:00:00Z\",\"properties\":{\"survey\":\"stars\",\"score\":6}}\n",
    );
    let (ok, out, err) = dir.run(&["import", file.to_str().unwrap(), "--no-progress"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 stored") && out.contains("line 2: invalid_value (properties.score)"),
        "{out}"
    );

    // An export a spreadsheet saved in Windows-1252: refused with the fix, then read
    // with it as its UTF-8 version is.
    let forms = export("google_forms_fr.csv");
    let utf8 = std::fs::read_to_string(&forms).unwrap();
    let latin: Vec<u8> = (utf8.chars())
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect();
    let latin_file = dir.tmp.path().join("forms_cp1252.csv");
    std::fs::write(&latin_file, latin).unwrap();
    let latin_file = latin_file.to_str().unwrap();
    let err = fail(&[latin_file, "--survey", "stars"]);
    assert!(err.contains("--encoding windows-1252"), "{err}");
    let expected = dir.import(&forms, "stars", &["--dry-run"]);
    let r = dir.import(latin_file, "stars", &["--encoding", "windows-1252"]);
    assert_eq!(r["inserted"], expected["responses"], "{r}");
    assert!(r["inserted"].as_u64() > Some(0), "{r}");
}

/// `--rejects`: the refused answers as the export has them, with why; fixed there, the
/// file imports the same way, its `parcours_rejected` column taken for nothing.
#[test]
fn refused_answers_are_written_to_fix_and_import_again() {
    let dir = setup();
    let nps = dir.file(
        "nps.csv",
        "Date;Email;Score\n2026-03-01;ana@example.com;9\nyesterday;bob@example.com;7\n2026-03-02;cid@example.com;12\n",
    );
    let rejects = dir.tmp.path().join("nps.rejected.csv");
    let (nps, rejects_path) = (nps.to_str().unwrap(), rejects.to_str().unwrap());
    let r = dir.import(nps, "nps", &["--rejects", rejects_path]);
    assert_eq!(
        (r["inserted"].as_u64(), r["rejected_rows"].as_u64()),
        (Some(1), Some(2)),
        "{r}"
    );
    assert_eq!(r["rejects_file"], rejects_path);
    let written = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        written,
        "Date;Email;Score;parcours_rejected\n\
         yesterday;bob@example.com;7;\"line 3: invalid_value (Date): \"\"yesterday\"\" is not a date this import can read (give --date-format)\"\n\
         2026-03-02;cid@example.com;12;line 4: invalid_value (Score): 12 is not a whole number from 0 to 10 (NPS)\n"
    );
    std::fs::write(
        &rejects,
        written
            .replace("yesterday", "2026-03-03")
            .replace(";12;", ";10;"),
    )
    .unwrap();
    let again = dir.tmp.path().join("nps.rejected-2.csv");
    let r = dir.import(rejects_path, "nps", &["--rejects", again.to_str().unwrap()]);
    assert_eq!(
        (r["inserted"].as_u64(), r["rejected_rows"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    assert_eq!(r["columns"]["comment"], Value::Null, "{r}");
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        "Date;Email;Score;parcours_rejected\n"
    );
    // Qualtrics' rows of more header (question texts, import ids) are written too, so
    // that the rejects are read as the export was: its columns found by their questions.
    let qualtrics = std::fs::read_to_string(export("qualtrics.csv")).unwrap();
    let bad = dir.file(
        "qualtrics.csv",
        &qualtrics.replace("u-claire,6,", "u-claire,9,"),
    );
    let rejects = dir.tmp.path().join("qualtrics.rejected.csv");
    let rejects_path = rejects.to_str().unwrap();
    let r = dir.import(
        bad.to_str().unwrap(),
        "ces-support",
        &["--rejects", rejects_path],
    );
    assert_eq!(
        (r["inserted"].as_u64(), r["rejected_rows"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let written = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 4, "{written}");
    assert!(
        lines[1].starts_with("Start Date,End Date,") && lines[1].ends_with(','),
        "{written}"
    );
    assert!(
        lines[3].contains(
            "u-claire,9,,line 4: invalid_value (Q1): 9 is not a whole number from 1 to 7"
        ),
        "{written}"
    );
    std::fs::write(&rejects, written.replace("u-claire,9,", "u-claire,6,")).unwrap();
    let r = dir.import(rejects_path, "ces-support", &[]);
    assert_eq!(
        (
            r["header_rows"].as_u64(),
            r["inserted"].as_u64(),
            r["columns"]["score"].as_str()
        ),
        (Some(2), Some(1), Some("Q1")),
        "{r}"
    );
}

#[test]
fn a_cli_link_opens_the_survey_page() {
    let dir = setup();
    let data = format!("{}/data", dir.path());
    let (ok, out, err) = dir.run(&[
        "surveys",
        "link",
        "nps-relationship",
        "--user",
        "u-claire",
        "--user",
        "u-marc",
        "--base-url",
        "https://survey.example/",
    ]);
    assert!(ok, "{err}");
    let links: Vec<(&str, &str)> = out.lines().map(|l| l.split_once('\t').unwrap()).collect();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].0, "u-claire");
    let path = links[0].1.strip_prefix("https://survey.example").unwrap();
    assert!(path.starts_with("/s/"), "{path}");
    let err = dir.run(&["surveys", "link", "nope", "--user", "u1"]).2;
    assert!(err.contains("no survey `nope`"), "{err}");

    // The server over the same data directory opens it.
    let store = std::sync::Arc::new(
        parcours_store::SqliteStore::open(
            Path::new(&data),
            parcours_store::StoreOptions::default(),
        )
        .unwrap(),
    );
    let state = parcours::server::AppState::new(store, parcours::config::Config::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, page) = rt.block_on(async {
        let response = parcours::server::app(state)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).to_string())
    });
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("How likely are you to recommend Maison Lumière to a friend?"));

    // Deleted, the survey no longer lists.
    let (ok, _, err) = dir.run(&["surveys", "delete", "stars"]);
    assert!(ok, "{err}");
    let list = dir.run_json(&["surveys", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
}
