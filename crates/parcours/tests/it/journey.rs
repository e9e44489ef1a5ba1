//! `parcours journey run` through the real binary: offline on an events file, against a
//! data directory, per account, actor lists, and a broken definition.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/journeys")
        .join(name)
}

/// Runs the real binary: success, stdout, stderr.
pub(crate) fn parcours(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_parcours"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run parcours");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs the real binary and parses its JSON output.
pub(crate) fn run_json(args: &[&str]) -> Value {
    let (ok, stdout, stderr) = parcours(args);
    assert!(ok, "{args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn entered(report: &Value) -> Vec<u64> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entered"].as_u64().unwrap())
        .collect()
}

#[test]
fn offline_input_stitches_identities_and_reports() {
    let journey = testdata("shop.toml");
    let input = testdata("events.jsonl");
    let report = run_json(&[
        "journey",
        "run",
        journey.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
        "--breakdown",
        "trait:plan",
    ]);
    // u1 visited anonymously and bought once identified: one person, converted. a3
    // bought 41 days after the visit, outside the 30-day window.
    assert_eq!(entered(&report), [3, 1]);
    assert_eq!(report["stages"][1]["time_from_start"]["median_s"], 3600.0);
    let rows = report["breakdown"]["rows"].as_array().unwrap();
    let pro = rows.iter().find(|r| r["value"] == "pro").unwrap();
    assert_eq!(pro["entered"], serde_json::json!([1, 1]));

    let (ok, csv, stderr) = parcours(&[
        "journey",
        "run",
        journey.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--actors",
        "dropped:visit",
        "--format",
        "csv",
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "actor,entered_at,visit,purchase");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("a3,2026-03-04T09:00:00"), "{csv}");
    assert!(lines[2].starts_with("u2,"), "{csv}");
}

#[test]
fn a_data_directory_gives_the_same_report_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let input = testdata("events.jsonl");
    let (ok, _, stderr) = parcours(&[
        "import",
        input.to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--no-progress",
    ]);
    assert!(ok, "{stderr}");
    let journey = testdata("shop.toml");
    let stored = run_json(&[
        "journey",
        "run",
        journey.to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--format",
        "json",
    ]);
    let offline = run_json(&[
        "journey",
        "run",
        journey.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(stored, offline);

    // Per account: u4 researched for acct-1, u5 (a member of acct-1, no groupId on the
    // event) placed the order.
    let accounts = run_json(&[
        "journey",
        "run",
        testdata("accounts.toml").to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--format",
        "json",
    ]);
    assert_eq!(entered(&accounts), [1, 1]);
    assert_eq!(accounts["actor"], "account");

    // Per deal: the quote names the deal in a property, the win in its groupId.
    let deals = run_json(&[
        "journey",
        "run",
        testdata("deals.toml").to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--format",
        "json",
    ]);
    assert_eq!(entered(&deals), [1, 1]);
    let (ok, csv, _) = parcours(&[
        "journey",
        "run",
        testdata("deals.toml").to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--actors",
        "converted:won",
        "--format",
        "csv",
    ]);
    assert!(ok);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("deal-1,2026-03-12T09:00:00"),
        "{csv}"
    );

    // --from/--to select by entry time.
    let late = run_json(&[
        "journey",
        "run",
        journey.to_str().unwrap(),
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--format",
        "json",
        "--from",
        "2026-03-03",
        "--to",
        "2026-03-04",
    ]);
    assert_eq!(entered(&late), [1, 0]);
}

#[test]
fn a_broken_definition_names_the_field() {
    let (ok, _, stderr) = parcours(&[
        "journey",
        "run",
        testdata("broken.toml").to_str().unwrap(),
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("stages[0].steps[0].where[0]"), "{stderr}");
    assert!(stderr.contains("needs a number"), "{stderr}");
}

#[test]
fn check_prints_the_normal_form() {
    let (ok, stdout, stderr) = parcours(&[
        "journey",
        "check",
        testdata("shop.toml").to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let def: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(def["window"], "30d");
    assert_eq!(def["ordering"], "ordered");
}

#[test]
fn lifecycle_lists_stalled_actors_as_csv() {
    let (ok, csv, stderr) = parcours(&[
        "journey",
        "lifecycle",
        testdata("shop.toml").to_str().unwrap(),
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
        "--as-of",
        "2026-03-10",
        "--stall-after",
        "2d",
        "--actors",
        "stalled",
        "--format",
        "csv",
    ]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "actor,state,stage,entered_at,time_in_stage_s,stalled,visit,purchase"
    );
    assert!(
        lines[1].starts_with("a3,in_progress,visit,2026-03-04T09:00:00"),
        "{csv}"
    );
    assert!(lines[2].starts_with("u2,in_progress,visit,"), "{csv}");
    assert_eq!(lines.len(), 3);
}

#[test]
fn sessions_run_offline_on_a_file() {
    let report = run_json(&[
        "sessions",
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
        "--format",
        "json",
        "--from",
        "2026-03-03",
    ]);
    assert_eq!(report["sessions"], 2);
    assert_eq!(report["pageviews"], 2);
    assert_eq!(report["timeout_s"], 1800.0);
}

#[test]
fn paths_run_offline_on_a_file() {
    let input = testdata("events.jsonl");
    let m = run_json(&[
        "paths",
        "matrix",
        "--input",
        input.to_str().unwrap(),
        "--steps",
        "2",
        "--format",
        "json",
    ]);
    // First nodes of the five persons: home (u1, u2, a3), Catalogue Downloaded (u4),
    // Order Completed (u5).
    let home = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "home")
        .unwrap();
    assert_eq!(home["shares"][0], 0.6);
    let v = run_json(&[
        "paths",
        "variants",
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(v["actors"], 5);
    let (ok, _, stderr) = parcours(&[
        "paths",
        "flow",
        "--input",
        input.to_str().unwrap(),
        "--start",
        "home",
        "--steps",
        "21",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--steps: must be 1 to 20, got 21"),
        "{stderr}"
    );
    let (ok, _, stderr) = parcours(&[
        "paths",
        "matrix",
        "--input",
        input.to_str().unwrap(),
        "--threshold",
        "2",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--threshold: must be between 0 and 1"),
        "{stderr}"
    );
}

#[test]
fn retention_runs_offline_on_a_file() {
    let input = testdata("events.jsonl");
    let r = run_json(&[
        "retention",
        "--input",
        input.to_str().unwrap(),
        "--return",
        "Order Completed",
        "--periods",
        "2",
        "--format",
        "json",
    ]);
    // Week of 2026-03-02: u1, u2, a3, u4 first seen; only u1 ordered that week.
    let first = &r["cohorts"][0];
    assert_eq!(
        (first["start"].as_str(), first["size"].as_u64()),
        (Some("2026-03-02"), Some(4))
    );
    assert_eq!(first["rates"][0], 0.25);
    assert_eq!(first["value_per_actor"][0], 30.0, "u1's 120 over 4 actors");
    let (ok, _, stderr) = parcours(&[
        "retention",
        "--input",
        input.to_str().unwrap(),
        "--period",
        "year",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--period: unknown period `year`"),
        "{stderr}"
    );
}

#[test]
fn kpis_list_and_run_offline() {
    let (ok, stdout, stderr) = parcours(&["kpi", "list"]);
    assert!(ok, "{stderr}");
    for id in [
        "click_through_rate",
        "cart_abandonment_rate",
        "first_contact_resolution",
        "nps",
        "lifetime_value",
    ] {
        assert!(
            stdout.contains(id),
            "{id} missing from the built-in catalog:\n{stdout}"
        );
    }
    let input = testdata("events.jsonl");
    let results = run_json(&[
        "kpi",
        "run",
        "--input",
        input.to_str().unwrap(),
        "--period",
        "month",
        "--stage",
        "purchase",
        "--format",
        "json",
    ]);
    let revenue = results
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "revenue")
        .unwrap();
    assert_eq!(revenue["value"], 9120.0);
    // A catalog file replaces a built-in by id.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kpis.toml");
    std::fs::write(
        &file,
        "[[kpis]]\nid = \"revenue\"\nname = \"Pro revenue\"\nstage = \"purchase\"\nunit = \"currency\"\n\
         measure = { kind = \"sum\", event = \"Order Completed\", property = \"$revenue\", where = { segment = \"pro\" } }\n",
    )
    .unwrap();
    let results = run_json(&[
        "kpi",
        "run",
        "--input",
        input.to_str().unwrap(),
        "--catalog",
        file.to_str().unwrap(),
        "--only",
        "revenue",
        "--format",
        "json",
    ]);
    assert_eq!(results[0]["name"], "Pro revenue");
    assert_eq!(results[0]["value"], 9000.0);
    std::fs::write(
        &file,
        "[[kpis]]\nid = \"x\"\nname = \"x\"\nstage = \"s\"\nmeasure = { kind = \"median\" }\n",
    )
    .unwrap();
    let (ok, _, stderr) = parcours(&["kpi", "list", "--catalog", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("kpis[0].measure.kind: `median`: expected count"),
        "{stderr}"
    );
}

/// Output piped into a reader that has gone (`parcours … | head`) ends the command
/// quietly, without a panic message.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_parcours"))
        .args(["config", "print-default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parcours");
    // Close the reading end before the command has written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
