//! `parcours emotion`: how customers feel at each stage and touchpoint, from survey
//! scores, ratings and the sentiment of their texts, on −1…+1 with the evidence.

use anyhow::anyhow;
use clap::Args;
use parcours_core::voice::emotion::EmotionRow;

use crate::journey_cmd::OutputFormat;
use crate::requests::EmotionRequest;
use crate::surveys_cmd::{FeedbackArgs, StageArgs};

#[derive(Args, Debug)]
pub struct EmotionArgs {
    #[command(flatten)]
    pub feedback: FeedbackArgs,
    /// PROPERTY=SCALE for ratings on any event, or `none`.
    #[arg(long, default_value = "rating=rating:1-5")]
    pub rating: String,
    /// Properties holding free text, comma-separated.
    #[arg(long, default_value = "comment,text,note")]
    pub text: String,
    #[command(flatten)]
    pub stages: StageArgs,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: EmotionArgs) -> anyhow::Result<()> {
    let f = args.feedback;
    let request = EmotionRequest {
        event: Some(f.event),
        scales: f.scales,
        defined_scales: crate::surveys_cmd::defined_scales(&f.source)?,
        rating: Some(args.rating),
        text: Some(args.text),
        journey_stages: args.stages.journey_stages()?,
        stage_of: args.stages.stage_of,
        journey: None,
        from: f.from,
        to: f.to,
        segment: f.segment,
    };
    let plan = request.plan().map_err(|e| anyhow!("--{e}"))?;
    let frame = f.source.frame(&plan.spec)?;
    let report = plan.execute(&frame).map_err(|e| anyhow!("--{e}"))?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "by",
                "value",
                "emotion",
                "label",
                "margin",
                "evidence",
                "scores",
                "texts",
                "negative_share",
            ])?;
            let groups = [
                ("overall", report.overall.iter().collect::<Vec<_>>()),
                ("stage", report.stages.iter().collect()),
                ("touchpoint", report.touchpoints.iter().collect()),
            ];
            for (by, rows) in groups {
                for r in rows {
                    w.write_record([
                        by.to_string(),
                        r.value.clone(),
                        format!("{:.4}", r.emotion),
                        r.label.to_string(),
                        r.margin.map_or(String::new(), |m| format!("{m:.4}")),
                        r.evidence.to_string(),
                        r.scores.to_string(),
                        r.texts.to_string(),
                        format!("{:.4}", r.negative_share),
                    ])?;
                }
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            let Some(overall) = &report.overall else {
                println!("No feedback: no survey answers, ratings or texts.");
                return Ok(());
            };
            println!(
                "  {:<32} {:>14} {:<11} {:>8} {:>7} {:>6} {:>9}",
                "", "emotion", "", "evidence", "scores", "texts", "negative"
            );
            println!("{}", line(overall));
            println!("by stage");
            report.stages.iter().for_each(|r| println!("{}", line(r)));
            println!("by touchpoint");
            report
                .touchpoints
                .iter()
                .for_each(|r| println!("{}", line(r)));
        }
    }
    Ok(())
}

fn line(r: &EmotionRow) -> String {
    let figure = match r.margin {
        Some(m) => format!("{:+.2} ± {:.2}", r.emotion, m),
        None => format!("{:+.2}", r.emotion),
    };
    format!(
        "  {:<32} {:>14} {:<11} {:>8} {:>7} {:>6} {:>8.0}%",
        r.value,
        figure,
        r.label,
        r.evidence,
        r.scores,
        r.texts,
        100.0 * r.negative_share
    )
}
