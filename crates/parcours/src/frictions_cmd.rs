//! `parcours frictions`: what gets in customers' way — abandonment, repeat contacts,
//! high effort, slow resolution, negative themes, and with a journey drop-off and long
//! dwell between its stages, loops — ranked by the revenue at stake, with the evidence.

use anyhow::anyhow;
use clap::Args;

use crate::journey_cmd::OutputFormat;
use crate::requests::FrictionsRequest;
use crate::surveys_cmd::{FeedbackArgs, StageArgs};

#[derive(Args, Debug)]
pub struct FrictionsArgs {
    #[command(flatten)]
    pub feedback: FeedbackArgs,
    #[command(flatten)]
    pub stages: StageArgs,
    /// The property splitting abandonment into segments.
    #[arg(long, default_value = "context.device.type")]
    pub segment_by: String,
    /// Abandonment rate above which checkouts as a whole are a friction (0–1).
    #[arg(long)]
    pub checkout_target: Option<f64>,
    /// Abandonment rate above which carts as a whole are a friction (0–1).
    #[arg(long)]
    pub cart_target: Option<f64>,
    /// Events that are support contacts, comma-separated (outbound ones excepted).
    #[arg(long, default_value = "Ticket Opened,Call Completed,Chat Started")]
    pub contact_events: String,
    /// Repeat contacts: at least this many contacts…
    #[arg(long, default_value_t = 2)]
    pub min_contacts: usize,
    /// …within this span.
    #[arg(long, default_value = "7d")]
    pub contact_window: String,
    /// Cases, comma-separated OPEN>CLOSE.
    #[arg(
        long,
        default_value = "Ticket Opened>Ticket Resolved,Return Requested>Refund Issued"
    )]
    pub resolutions: String,
    /// The target time to resolve a case.
    #[arg(long, default_value = "3d")]
    pub resolution_target: String,
    /// Event properties that label evidence, comma-separated.
    #[arg(long, default_value = "reason,category,carrier")]
    pub evidence: String,
    /// The event that is a conversion, for loops (those who go back and forth convert
    /// less).
    #[arg(long, default_value = "Order Completed")]
    pub conversion: String,
    /// Frictions affecting fewer actors are left out.
    #[arg(long, default_value_t = 5)]
    pub min_actors: u64,
    /// `day`, `week` or `month`, for the trend.
    #[arg(long, default_value = "month")]
    pub period: String,
    /// Frictions listed, highest revenue at stake first.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Actors listed per friction.
    #[arg(long, default_value_t = 20)]
    pub actors: usize,
    /// Print the evidence (details, quotes, actors) of each friction (table format).
    #[arg(long)]
    pub evidence_details: bool,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: FrictionsArgs) -> anyhow::Result<()> {
    let f = args.feedback;
    let request = FrictionsRequest {
        event: Some(f.event),
        scales: f.scales,
        defined_scales: crate::surveys_cmd::defined_scales(&f.source)?,
        journey_def: args.stages.definition()?,
        conversion: Some(args.conversion),
        stage_of: args.stages.stage_of,
        from: f.from,
        to: f.to,
        segment: f.segment,
        segment_by: Some(args.segment_by),
        checkout_target: args.checkout_target,
        cart_target: args.cart_target,
        contact_events: Some(args.contact_events),
        min_contacts: Some(args.min_contacts),
        contact_window: Some(args.contact_window),
        resolutions: Some(args.resolutions),
        resolution_target: Some(args.resolution_target),
        evidence: Some(args.evidence),
        min_actors: Some(args.min_actors),
        period: Some(args.period),
        actors: Some(args.actors),
        limit: args.limit,
        ..FrictionsRequest::default()
    };
    let plan = request.plan().map_err(|e| anyhow!("--{e}"))?;
    let frame = f.source.frame(&plan.spec)?;
    let report = plan.execute(&frame);
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "rank",
                "kind",
                "title",
                "stage",
                "touchpoint",
                "cases",
                "actors",
                "revenue_at_stake",
                "measure",
                "value",
                "baseline",
                "target",
                "method",
            ])?;
            let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:.4}"));
            for f in &report.frictions {
                w.write_record([
                    f.rank.to_string(),
                    f.kind.to_string(),
                    f.title.clone(),
                    f.stage.clone(),
                    f.touchpoint.clone(),
                    f.cases.to_string(),
                    f.actors.to_string(),
                    format!("{:.2}", f.revenue_at_stake),
                    f.measure.name.clone(),
                    format!("{:.4}", f.measure.value),
                    opt(f.measure.baseline),
                    opt(f.measure.target),
                    f.method.clone(),
                ])?;
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            if report.frictions.is_empty() {
                println!("No friction found.");
                return Ok(());
            }
            println!(
                "{:>3}  {:<16} {:>12} {:>7}  {:<16} {:<28} what",
                "#", "kind", "at stake", "actors", "stage", "touchpoint"
            );
            for f in &report.frictions {
                println!(
                    "{:>3}  {:<16} {:>12.0} {:>7}  {:<16} {:<28} {}",
                    f.rank, f.kind, f.revenue_at_stake, f.actors, f.stage, f.touchpoint, f.title
                );
                if args.evidence_details {
                    println!("       at stake: {}", f.method);
                    for d in &f.details {
                        let lift = d.lift.map_or(String::new(), |l| format!(", ×{l:.1}"));
                        println!(
                            "       {} — {} ({:.0}%{lift})",
                            d.label,
                            d.count,
                            100.0 * d.share
                        );
                    }
                    for q in &f.quotes {
                        println!("       “{}” ({:+.2})", q.text, q.compound);
                    }
                    let trend: Vec<String> = f
                        .trend
                        .iter()
                        .map(|p| format!("{} {}", p.period, p.cases))
                        .collect();
                    println!("       trend: {}", trend.join(", "));
                    println!("       actors: {}", f.actor_keys.join(", "));
                }
            }
            println!(
                "Revenue at stake: lost order value for abandonment, drop-off and loops, otherwise the revenue of the affected actors (see --format json, `method`)."
            );
        }
    }
    Ok(())
}
