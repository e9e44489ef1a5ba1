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
