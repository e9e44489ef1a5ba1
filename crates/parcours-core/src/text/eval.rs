//! Measuring the sentiment scorer on a labelled set: three-class accuracy, per-class
//! precision, recall and F1, macro-F1 and the confusion matrix, per language.
//!
//! The set shipped with parcours (`text-data/sentiment-eval.tsv`, 330 texts written for
//! the project, balanced over positive, neutral and negative in each language) is
//! embedded as [`EVAL_SET`]; any file in the same format can be measured instead.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Lang, Polarity, Scorer};

/// The development set: 330 texts. parcours' customer-service lexicon was written
/// while reading the scorer's mistakes on it, so its figures are optimistic.
pub const EVAL_SET: &str = include_str!("../../text-data/sentiment-eval.tsv");
/// The held-out set: 120 texts written after the lexicon and never used to tune it —
/// the honest estimate of accuracy on new text.
pub const HELDOUT_SET: &str = include_str!("../../text-data/sentiment-heldout.tsv");

/// The built-in sets, by name.
pub const BUILT_IN: [(&str, &str); 2] = [("development", EVAL_SET), ("held-out", HELDOUT_SET)];

#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// 1-based line in the file.
    pub line: usize,
    pub language: Lang,
    pub label: Polarity,
    pub text: String,
}

/// A line of the labelled file that does not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {field}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub field: &'static str,
    pub message: String,
}

/// Reads `language<TAB>label<TAB>text` lines; `#` starts a comment line, blank lines
/// are skipped.
pub fn parse(text: &str) -> Result<Vec<Example>, ParseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let err = |field, message: String| ParseError {
            line: line_no,
            field,
            message,
        };
        let mut cols = line.splitn(3, '\t');
        let (lang, label, text) = (cols.next(), cols.next(), cols.next());
        let (Some(lang), Some(label), Some(text)) = (lang, label, text) else {
            return Err(err(
                "line",
                "expected three tab-separated columns: language, label, text".into(),
            ));
        };
        let language = Lang::parse(lang)
            .ok_or_else(|| err("language", format!("{lang:?} is not en or fr")))?;
        let label = Polarity::parse(label).ok_or_else(|| {
            err(
                "label",
                format!("{label:?} is not positive, neutral or negative"),
            )
        })?;
        if text.trim().is_empty() {
            return Err(err("text", "is empty".into()));
        }
        out.push(Example {
            line: line_no,
            language,
            label,
            text: text.trim().to_string(),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub label: Polarity,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub line: usize,
    pub text: String,
    pub expected: Polarity,
    pub predicted: Polarity,
    pub compound: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageReport {
    pub language: Lang,
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub classes: Vec<ClassScore>,
    /// Rows: the true label; columns: the predicted one; both in the order negative,
    /// neutral, positive.
    pub confusion: [[usize; 3]; 3],
    /// Share of the texts whose language was detected as labelled.
    pub language_detection: f64,
    pub misses: Vec<Miss>,
}

const ORDER: [Polarity; 3] = [Polarity::Negative, Polarity::Neutral, Polarity::Positive];

fn index(p: Polarity) -> usize {
    match p {
        Polarity::Negative => 0,
        Polarity::Neutral => 1,
        Polarity::Positive => 2,
    }
}

/// Scores every example with its language detected (as in production: a wrongly
/// detected language counts against the scorer) and reports per language.
pub fn evaluate(scorer: &Scorer, examples: &[Example]) -> Vec<LanguageReport> {
    let mut by_lang: BTreeMap<Lang, Vec<&Example>> = BTreeMap::new();
    for e in examples {
        by_lang.entry(e.language).or_default().push(e);
    }
    by_lang
        .into_iter()
        .map(|(language, exs)| {
            let mut confusion = [[0usize; 3]; 3];
            let mut detected = 0;
            let mut misses = Vec::new();
            for e in &exs {
                let score = scorer.score(&e.text, None);
                if score.language_detected && score.language == language {
                    detected += 1;
                }
                confusion[index(e.label)][index(score.polarity)] += 1;
                if score.polarity != e.label {
                    misses.push(Miss {
                        line: e.line,
                        text: e.text.clone(),
                        expected: e.label,
                        predicted: score.polarity,
                        compound: score.compound,
                    });
                }
            }
            let classes: Vec<ClassScore> = ORDER
                .iter()
                .map(|&label| {
                    let k = index(label);
                    let tp = confusion[k][k] as f64;
                    let support: usize = confusion[k].iter().sum();
                    let predicted: usize = (0..3).map(|r| confusion[r][k]).sum();
                    let precision = ratio(tp, predicted as f64);
                    let recall = ratio(tp, support as f64);
                    let f1 = ratio(2.0 * precision * recall, precision + recall);
                    ClassScore {
                        label,
                        support,
                        precision,
                        recall,
                        f1,
                    }
                })
                .collect();
            let correct: usize = (0..3).map(|k| confusion[k][k]).sum();
            LanguageReport {
                language,
                examples: exs.len(),
                accuracy: ratio(correct as f64, exs.len() as f64),
                macro_f1: classes.iter().map(|c| c.f1).sum::<f64>() / 3.0,
                classes,
                confusion,
                language_detection: ratio(detected as f64, exs.len() as f64),
                misses,
            }
        })
        .collect()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_set_is_balanced() {
        let examples = parse(EVAL_SET).unwrap();
        assert!(examples.len() >= 300);
        for lang in [Lang::En, Lang::Fr] {
            for label in ORDER {
                let n = examples
                    .iter()
                    .filter(|e| e.language == lang && e.label == label)
                    .count();
                assert_eq!(n, 55, "{lang:?} {label:?}");
            }
        }
    }

    #[test]
    fn the_held_out_set_is_balanced() {
        let examples = parse(HELDOUT_SET).unwrap();
        for lang in [Lang::En, Lang::Fr] {
            for label in ORDER {
                let n = examples
                    .iter()
                    .filter(|e| e.language == lang && e.label == label)
                    .count();
                assert_eq!(n, 20, "{lang:?} {label:?}");
            }
        }
    }

    #[test]
    fn bad_lines_name_the_line_and_field() {
        let e = parse("# c\nen\tpositive\tok\nde\tpositive\tgut\n").unwrap_err();
        assert_eq!((e.line, e.field), (3, "language"));
        let e = parse("fr\tgood\tbien\n").unwrap_err();
        assert_eq!((e.line, e.field), (1, "label"));
        let e = parse("fr\tpositive\n").unwrap_err();
        assert_eq!((e.line, e.field), (1, "line"));
    }

    #[test]
    fn metrics_on_a_known_confusion() {
        // Two texts, one right and one wrong: accuracy 50%.
        let examples =
            parse("en\tpositive\tGreat service, thank you!\nen\tnegative\tIt is a lamp.\n")
                .unwrap();
        let r = &evaluate(&Scorer::new(), &examples)[0];
        assert_eq!(r.accuracy, 0.5);
        assert_eq!(r.confusion[2][2], 1);
        assert_eq!(r.confusion[0][1], 1);
        assert_eq!(r.misses.len(), 1);
        assert_eq!(r.misses[0].line, 2);
        // Positive: precision 1, recall 1; negative: recall 0; neutral: precision 0.
        assert_eq!(r.classes[2].f1, 1.0);
        assert_eq!(r.macro_f1, 1.0 / 3.0);
    }
}
