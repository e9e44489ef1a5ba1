//! `parcours sentiment score|eval`: the sentiment of texts, and the scorer measured on
//! a labelled set (accuracy and macro-F1 per language).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use parcours_core::text::eval::{self, LanguageReport};
use parcours_core::text::{Lang, Scorer};

use crate::journey_cmd::OutputFormat;

#[derive(Subcommand, Debug)]
pub enum SentimentCommand {
    /// Score texts given as arguments, or one text per line on standard input.
    Score(ScoreArgs),
    /// Measure the scorer on a labelled set (the one shipped with parcours by default):
    /// three-class accuracy, macro-F1 and the confusion matrix per language.
    Eval(EvalArgs),
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The texts; none reads standard input, one text per line.
    pub texts: Vec<String>,
    /// Force the language (`en` or `fr`) instead of detecting it.
    #[arg(long)]
    pub lang: Option<String>,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A labelled file: `language<TAB>label<TAB>text` per line, `#` comments.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Fail (exit 1) when a language's accuracy is below this share, e.g. 0.8.
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// Also list every text the scorer got wrong.
    #[arg(long)]
    pub misses: bool,
    /// Measure the general lexicons alone, without parcours' customer-service lexicon.
    #[arg(long)]
    pub baseline: bool,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(command: SentimentCommand) -> anyhow::Result<()> {
    match command {
        SentimentCommand::Score(args) => score(args),
        SentimentCommand::Eval(args) => evaluate(args),
    }
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let lang = match &args.lang {
        Some(l) => Some(Lang::parse(l).ok_or_else(|| anyhow!("--lang: {l:?} is not en or fr"))?),
        None => None,
    };
    let texts = if args.texts.is_empty() {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("reading standard input")?;
        input
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    } else {
        args.texts
    };
    let scorer = Scorer::new();
    let scores: Vec<_> = texts.iter().map(|t| scorer.score(t, lang)).collect();
    match args.format {
        OutputFormat::Json => {
            let out: Vec<_> = texts
                .iter()
                .zip(&scores)
                .map(|(text, s)| serde_json::json!({ "text": text, "score": s }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["text", "language", "compound", "polarity"])?;
            for (text, s) in texts.iter().zip(&scores) {
                w.write_record([
                    text.as_str(),
                    s.language.code(),
                    &format!("{:.4}", s.compound),
                    s.polarity.name(),
                ])?;
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            for (text, s) in texts.iter().zip(&scores) {
                println!(
                    "{:+.3}  {:<8}  {}  {}",
                    s.compound,
                    s.polarity.name(),
                    s.language.code(),
                    text
                );
                for sentence in s.sentences.iter().filter(|_| s.sentences.len() > 1) {
                    println!("        {:+.3}  {}", sentence.compound, sentence.text);
                }
                let terms: Vec<String> = s
                    .sentences
                    .iter()
                    .flat_map(|x| &x.terms)
                    .map(|t| format!("{} {:+.2}", t.term, t.valence))
                    .collect();
                if !terms.is_empty() {
                    println!("        terms: {}", terms.join(", "));
                }
            }
        }
    }
    Ok(())
}

fn evaluate(args: EvalArgs) -> anyhow::Result<()> {
    let sets: Vec<(String, String)> = match &args.file {
        Some(f) => vec![(
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        )],
        None => eval::BUILT_IN
            .iter()
            .map(|(name, text)| (format!("the built-in {name} set"), text.to_string()))
            .collect(),
    };
    let scorer = if args.baseline {
        Scorer::new().without_domain()
    } else {
        Scorer::new()
    };
    let mut results = Vec::new();
    for (name, text) in sets {
        let examples = eval::parse(&text).map_err(|e| anyhow!("{name}: {e}"))?;
        results.push((name, eval::evaluate(&scorer, &examples)));
    }
    match args.format {
        OutputFormat::Json => {
            let out: Vec<_> = results
                .iter()
                .map(|(set, reports)| serde_json::json!({ "set": set, "languages": reports }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "set",
                "language",
                "examples",
                "accuracy",
                "macro_f1",
                "language_detection",
            ])?;
            for (set, reports) in &results {
                for r in reports {
                    w.write_record([
                        set.clone(),
                        r.language.code().to_string(),
                        r.examples.to_string(),
                        format!("{:.4}", r.accuracy),
                        format!("{:.4}", r.macro_f1),
                        format!("{:.4}", r.language_detection),
                    ])?;
                }
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            for (i, (set, reports)) in results.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print_eval(set, args.baseline, reports, args.misses);
            }
        }
    }
    if let Some(min) = args.min_accuracy {
        let below: Vec<String> = results
            .iter()
            .flat_map(|(set, reports)| {
                reports.iter().filter(|r| r.accuracy < min).map(move |r| {
                    format!("{set}: {} {:.1}%", r.language.code(), 100.0 * r.accuracy)
                })
            })
            .collect();
        if !below.is_empty() {
            bail!("accuracy below {:.1}%: {}", 100.0 * min, below.join("; "));
        }
    }
    Ok(())
}

fn print_eval(name: &str, baseline: bool, reports: &[LanguageReport], misses: bool) {
    println!(
        "Sentiment evaluation on {name}{}",
        if baseline {
            " (baseline: general lexicons only)"
        } else {
            ""
        }
    );
    for r in reports {
        println!();
        println!(
            "{}  {} texts  accuracy {:.1}%  macro-F1 {:.3}  language detected {:.1}%",
            r.language.code(),
            r.examples,
            100.0 * r.accuracy,
            r.macro_f1,
            100.0 * r.language_detection
        );
        println!(
            "  {:<9} {:>7} {:>9} {:>7} {:>6}",
            "class", "support", "precision", "recall", "F1"
        );
        for c in &r.classes {
            println!(
                "  {:<9} {:>7} {:>9.3} {:>7.3} {:>6.3}",
                c.label.name(),
                c.support,
                c.precision,
                c.recall,
                c.f1
            );
        }
        println!("  confusion (rows: true, columns: predicted negative / neutral / positive)");
        for (label, row) in ["negative", "neutral", "positive"].iter().zip(r.confusion) {
            println!("  {:<9} {:>5} {:>5} {:>5}", label, row[0], row[1], row[2]);
        }
        if misses {
            for m in &r.misses {
                println!(
                    "  line {:>3}: {} → {} ({:+.3})  {}",
                    m.line,
                    m.expected.name(),
                    m.predicted.name(),
                    m.compound,
                    m.text
                );
            }
        }
    }
}
