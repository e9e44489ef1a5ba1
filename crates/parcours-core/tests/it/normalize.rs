//! Fixture-driven tests of normalisation: `testdata/normalize.jsonl` holds one case per
//! line, a Segment message and the touch expected from it.

use parcours_core::payload::{parse_body, Endpoint, Limits};
use parcours_core::time::parse_rfc3339;
use serde_json::Value;

#[test]
fn normalisation_fixtures() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/normalize.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let received = parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with("//") {
            continue;
        }
        cases += 1;
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let body = serde_json::to_vec(&serde_json::json!({ "batch": [case["message"]] })).unwrap();
        let parsed = parse_body(
            &body,
            Endpoint::Batch,
            received,
            &Limits::default(),
            &mut || "id".into(),
        )
        .unwrap();
        assert!(
            parsed.rejected.is_empty(),
            "line {}: {:?}",
            n + 1,
            parsed.rejected
        );
        let touch = serde_json::to_value(&parsed.events[0].touch).unwrap();
        for (key, expected) in case["expect"].as_object().unwrap() {
            let actual = if key == "campaign" {
                &touch["campaign"]["name"]
            } else {
                &touch[key]
            };
            if actual != expected {
                failures.push(format!(
                    "line {} ({}): {key} = {actual}, expected {expected}",
                    n + 1,
                    case["why"]
                ));
            }
        }
    }
    assert!(cases > 20, "too few fixture cases: {cases}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
