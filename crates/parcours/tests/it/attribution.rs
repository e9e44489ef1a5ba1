//! `parcours attribution` through the real binary: offline on an events file, against a
//! data directory with imported ad costs, on a file of paths, and bad options.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::journey::{parcours, run_json};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/attribution")
        .join(name)
}

fn credit(report: &Value, touch: &str, model: &str, what: &str) -> f64 {
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["touch"] == touch)
        .unwrap_or_else(|| panic!("no row {touch}: {report}"));
    row["credits"][model][what]
        .as_f64()
        .unwrap_or_else(|| panic!("{touch} {model} {what}: {row}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn channels_get_credit_offline() {
    // p1: email > paid_search > direct (order 100); p2: social > web (order 50), then
    // email (no order); p3: email > paid_search (no order); p4: display two months
    // before (outside the 30-day lookback), email twice (one touch), order 30 by email.
    let input = testdata("events.jsonl");
    let report = run_json(&[
        "attribution",
        "--input",
        input.to_str().unwrap(),
        "--conversion",
        "Order Completed",
        "--models",
        "first,last,last_non_direct,linear,markov",
        "--format",
        "json",
    ]);
    assert_eq!(report["conversions"], 3.0);
    assert_eq!(report["value"], 180.0);
    assert_eq!(report["paths"]["non_converting"], 2.0);
    let expect = [
        ("email", "first", 2.0, 130.0),
        ("social", "first", 1.0, 50.0),
        ("direct", "last", 1.0, 100.0),
        ("paid_search", "last_non_direct", 1.0, 100.0),
        ("email", "linear", 4.0 / 3.0, 100.0 / 3.0 + 30.0),
        ("web", "linear", 0.5, 25.0),
    ];
    for (touch, model, conversions, value) in expect {
        let (c, v) = (
            credit(&report, touch, model, "conversions"),
            credit(&report, touch, model, "value"),
        );
        assert!(
            close(c, conversions) && close(v, value),
            "{touch} {model}: {c} {v}"
        );
    }
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["touch"] != "display"),
        "display is outside the lookback window"
    );
    // Every model credits all three conversions.
    for model in ["first", "last", "last_non_direct", "linear", "markov"] {
        let sum: f64 = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["credits"][model]["conversions"].as_f64().unwrap())
            .sum();
        assert!(close(sum, 3.0), "{model}: {sum}");
    }
    assert_eq!(report["markov"]["order"], 1);
}

#[test]
fn campaigns_get_cost_per_acquisition_and_roi_from_imported_costs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for file in ["events.jsonl", "costs.csv"] {
        let (ok, _, stderr) = parcours(&[
            "import",
            testdata(file).to_str().unwrap(),
            "--data-dir",
            data,
            "--workspace",
            "shop",
            "--no-progress",
        ]);
        assert!(ok, "{file}: {stderr}");
    }
    let report = run_json(&[
        "attribution",
        "--data-dir",
        data,
        "--workspace",
        "shop",
        "--conversion",
        "Order Completed",
        "--touch",
        "campaign",
        "--models",
        "linear",
        "--from",
        "2026-02-15",
        "--format",
        "json",
    ]);
    // p2's order has no campaign in its window: not attributed.
    assert_eq!(report["unattributed_conversions"], 1.0);
    assert_eq!(report["unattributed_value"], 50.0);
    // Costs from 2026-02-15 on: spring 20, brand 60 (brand's 1000 of February 1st is
    // outside the range).
    assert_eq!(report["cost"], 80.0);
    let spring = (
        credit(&report, "spring", "linear", "conversions"),
        credit(&report, "spring", "linear", "cpa"),
        credit(&report, "spring", "linear", "roi"),
    );
    assert!(
        close(spring.0, 1.5) && close(spring.1, 20.0 / 1.5) && close(spring.2, 3.0),
        "{spring:?}"
    );
    let brand_roi = credit(&report, "brand", "linear", "roi");
    assert!(close(brand_roi, (50.0 - 60.0) / 60.0), "{brand_roi}");

    // The same question on the events file gives the same credits (no costs there).
    let offline = run_json(&[
        "attribution",
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
        "--conversion",
        "Order Completed",
        "--touch",
        "campaign",
        "--models",
        "linear",
        "--from",
        "2026-02-15",
        "--format",
        "json",
    ]);
    assert!(close(
        credit(&offline, "spring", "linear", "conversions"),
        1.5
    ));
    assert!(offline.get("cost").is_none());
}

#[test]
fn a_file_of_paths_and_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let paths = dir.path().join("paths.csv");
    std::fs::write(
        &paths,
        "path;total_conversions;total_conversion_value;total_null\n\
         a > b > c;1;10;1\na > a > b;2;4;0\nc;0;0;2\nb > c > b;1;3;1\n",
    )
    .unwrap();
    let report = run_json(&[
        "attribution",
        "--paths",
        paths.to_str().unwrap(),
        "--models",
        "markov,shapley",
        "--format",
        "json",
    ]);
    // The chain solved by hand in docs/semantics.md.
    let effects: Vec<f64> = report["markov"]["removal_effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["conversion"].as_f64().unwrap())
        .collect();
    for (got, want) in effects.iter().zip([0.55, 1.0 - 0.25 / 6.0 / 0.5, 0.4375]) {
        assert!(close(*got, want), "{effects:?}");
    }
    assert_eq!(report["shapley"]["method"], "exact");

    let (ok, _, stderr) = parcours(&[
        "attribution",
        "--paths",
        paths.to_str().unwrap(),
        "--models",
        "first,bogus",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--models: unknown model `bogus`"),
        "{stderr}"
    );
    let (ok, _, stderr) = parcours(&[
        "attribution",
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--conversion: name the conversion"),
        "{stderr}"
    );
    let (ok, _, stderr) = parcours(&[
        "attribution",
        "--input",
        testdata("events.jsonl").to_str().unwrap(),
        "--conversion",
        "Order Completed",
        "--order",
        "4",
    ]);
    assert!(!ok);
    assert!(stderr.contains("--order: must be 1, 2 or 3"), "{stderr}");
    std::fs::write(&paths, "path;total_conversions\na > b;1\nb;-2\n").unwrap();
    let (ok, _, stderr) = parcours(&["attribution", "--paths", paths.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("line 3: `total_conversions` must be a number ≥ 0, got `-2`"),
        "{stderr}"
    );
}
