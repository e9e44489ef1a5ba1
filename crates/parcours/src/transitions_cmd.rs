//! `parcours transitions`: which touch directly follows which.

use anyhow::anyhow;
use clap::Args;
use parcours_core::stats::human;

use crate::analysis::FrameSpec;
use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::TransitionRequest;

#[derive(Args, Debug)]
pub struct TransitionsArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// Nodes: event `name`, `touchpoint` or `channel`.
    #[arg(long, default_value = "name")]
    pub by: String,
    /// Keep steps to the same node (A → A).
    #[arg(long)]
    pub keep_repeats: bool,
    /// Transitions whose first event is at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Transitions whose first event is before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Edges listed, the most frequent first.
    #[arg(long, default_value_t = 50)]
    pub top: usize,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: TransitionsArgs) -> anyhow::Result<()> {
    let request = TransitionRequest {
        by: Some(args.by.clone()),
        collapse: Some(!args.keep_repeats),
        from: args.from.clone(),
        to: args.to.clone(),
        top: Some(args.top),
    };
    let frame = args.source.frame(&FrameSpec::default())?;
    let graph = request.run(&frame).map_err(|e| anyhow!("--{e}"))?;
    if args.format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&graph)?);
        return Ok(());
    }
    println!(
        "{} transitions, {} distinct edges",
        graph.transitions, graph.edges_total
    );
    println!();
    println!(
        "{:<36} {:<36} {:>10} {:>9} {:>8} {:>10}",
        "from", "to", "count", "actors", "share", "median"
    );
    for e in &graph.edges {
        println!(
            "{:<36} {:<36} {:>10} {:>9} {:>7.1}% {:>10}",
            e.from,
            e.to,
            e.transitions,
            e.actors,
            100.0 * e.share_of_from,
            human(e.median_s)
        );
    }
    Ok(())
}
