//! `parcours themes`: the recurring topics of customers' texts, in French and English,
//! with their mentions, sentiment, key phrases, quotes, trend, stages and touchpoints.

use anyhow::anyhow;
use clap::Args;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::ThemesRequest;
use crate::surveys_cmd::StageArgs;

#[derive(Args, Debug)]
pub struct ThemesArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// The survey-response event (its touchpoint is the one rated).
    #[arg(long, default_value = "Survey Responded")]
    pub event: String,
    /// Properties holding free text, comma-separated.
    #[arg(long, default_value = "comment,text,note")]
    pub text: String,
    #[command(flatten)]
    pub stages: StageArgs,
    /// Texts at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Texts before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only actors whose trait has this value.
    #[arg(long, value_name = "TRAIT=VALUE")]
    pub segment: Option<String>,
    /// `day`, `week` or `month`, for the trend.
    #[arg(long, default_value = "month")]
    pub period: String,
    /// Texts a key word needs to count.
    #[arg(long, default_value_t = 5)]
    pub min_mentions: u64,
    /// Themes reported.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Share of a key word's texts that must mention a theme for the word to join it.
    #[arg(long, default_value_t = 0.6)]
    pub merge: f64,
    /// Example quotes per theme.
    #[arg(long, default_value_t = 3)]
    pub quotes: usize,
    /// Only this theme (its id or one of its words), e.g. "delivery" or "livraison".
    #[arg(long)]
    pub theme: Option<String>,
    /// List up to N actors mentioning each theme.
    #[arg(long, value_name = "N")]
    pub actors: Option<usize>,
    /// Print the trend of each theme too (table format).
    #[arg(long)]
    pub trend: bool,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: ThemesArgs) -> anyhow::Result<()> {
    let request = ThemesRequest {
        event: Some(args.event),
        text: Some(args.text),
        stage_of: args.stages.stage_of.clone(),
        from: args.from,
        to: args.to,
        segment: args.segment,
        period: Some(args.period),
        min_mentions: Some(args.min_mentions),
        limit: Some(args.limit),
        merge: Some(args.merge),
        quotes: Some(args.quotes),
        actors: args.actors,
        theme: args.theme,
        journey: None,
        journey_stages: args.stages.journey_stages()?,
    };
    let plan = request.plan().map_err(|e| anyhow!("--{e}"))?;
    let frame = args.source.frame(&plan.spec)?;
    let report = plan.execute(&frame);
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "id",
                "label",
                "mentions",
                "actors",
                "share",
                "sentiment",
                "negative_share",
                "keywords",
                "phrases",
                "top_stage",
                "top_touchpoint",
            ])?;
            for t in &report.themes {
                let join = |v: Vec<&str>| v.join("; ");
                w.write_record([
                    t.id.clone(),
                    t.label.clone(),
                    t.mentions.to_string(),
                    t.actors.to_string(),
                    format!("{:.4}", t.share),
                    format!("{:.4}", t.sentiment.mean),
                    format!("{:.4}", t.sentiment.negative_share),
                    join(t.keywords.iter().map(|k| k.label.as_str()).collect()),
                    join(t.phrases.iter().map(|p| p.label.as_str()).collect()),
                    t.stages.first().map_or(String::new(), |c| c.value.clone()),
                    t.touchpoints
                        .first()
                        .map_or(String::new(), |c| c.value.clone()),
                ])?;
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            if report.texts == 0 {
                println!("No feedback texts: no event carries a text property.");
                return Ok(());
            }
            let langs: Vec<String> = report
                .languages
                .iter()
                .map(|c| format!("{} {}", c.mentions, c.value))
                .collect();
            println!(
                "{} texts ({}); {:.0}% mention a theme below",
                report.texts,
                langs.join(", "),
                100.0 * report.covered as f64 / report.texts as f64
            );
            if report.themes.is_empty() {
                println!("No theme reaches {} mentions.", args.min_mentions);
            }
            for t in &report.themes {
                let margin = t
                    .sentiment
                    .margin
                    .map_or(String::new(), |m| format!(" ± {m:.2}"));
                println!();
                println!(
                    "{}  — {} mentions by {} actors ({:.1}% of texts), sentiment {:+.2}{margin} ({:.0}% negative)",
                    t.label,
                    t.mentions,
                    t.actors,
                    100.0 * t.share,
                    t.sentiment.mean,
                    100.0 * t.sentiment.negative_share
                );
                if t.keywords.len() > 1 {
                    let words: Vec<&str> =
                        t.keywords[1..].iter().map(|k| k.label.as_str()).collect();
                    println!("    with: {}", words.join(", "));
                }
                for p in t.phrases.iter().take(5) {
                    println!(
                        "    {:<40} {:>6}  {:+.2}",
                        p.label, p.mentions, p.sentiment.mean
                    );
                }
                let top = |v: &[parcours_core::voice::themes::Count]| {
                    v.iter()
                        .take(3)
                        .map(|c| format!("{} ({})", c.value, c.mentions))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!("    stages: {}", top(&t.stages));
                println!("    touchpoints: {}", top(&t.touchpoints));
                for q in &t.quotes {
                    println!("    “{}” ({:+.2}, ×{})", q.text, q.compound, q.count);
                }
                if args.trend {
                    for p in &t.trend {
                        let s = p.sentiment.map_or(String::new(), |s| format!("{s:+.2}"));
                        println!(
                            "    {}  {:>6} {:>6.1}%  {}",
                            p.period,
                            p.mentions,
                            100.0 * p.share,
                            s
                        );
                    }
                }
                if let Some(keys) = &t.actor_keys {
                    println!("    actors: {}", keys.join(", "));
                }
            }
        }
    }
    Ok(())
}
