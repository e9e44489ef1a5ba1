//! `parcours paths flow|matrix|variants|loops`: which ways actors really go.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use parcours_core::stats::human;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::{PathsKind, PathsOutput, PathsRequest};

#[derive(Subcommand, Debug)]
pub enum PathsCommand {
    /// The nodes visited step by step after a start (or before an end), top N per step
    /// with the rest as `other`: the nodes and links of a Sankey diagram.
    Flow(FlowArgs),
    /// The share of actors whose k-th node is each node (ENDED when their path is over),
    /// optionally centred on an event, thresholded, with targets, or as the difference
    /// between two segments.
    Matrix(MatrixArgs),
    /// The most frequent complete sequences.
    Variants(VariantsArgs),
    /// Back-and-forth between two nodes (A, then B, then A again).
    Loops(LoopsArgs),
}

#[derive(Args, Debug)]
pub struct PathArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// Nodes: event `name`, `touchpoint` or `channel`.
    #[arg(long, default_value = "name")]
    pub by: String,
    /// Keep a run of the same node as several visits.
    #[arg(long)]
    pub keep_repeats: bool,
    /// Events at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Events before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only actors whose trait has this value.
    #[arg(long, value_name = "TRAIT=VALUE")]
    pub segment: Option<String>,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct FlowArgs {
    #[command(flatten)]
    pub common: PathArgs,
    /// Forward from this event.
    #[arg(long)]
    pub start: Option<String>,
    /// Backward from this event.
    #[arg(long)]
    pub end: Option<String>,
    /// Which occurrence anchors: `first`, `last` or N.
    #[arg(long)]
    pub occurrence: Option<String>,
    /// A journey file (TOML) for `--stage` or `--dropped-after`.
    #[arg(long)]
    pub journey: Option<PathBuf>,
    /// Forward from the completion of this stage (name or 1-based number).
    #[arg(long, requires = "journey")]
    pub stage: Option<String>,
    /// Forward from this stage's completion, for the actors who went no further.
    #[arg(long, requires = "journey")]
    pub dropped_after: Option<String>,
    /// Steps to follow (1 to 20).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Nodes kept per step; the others are `other`.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    #[command(flatten)]
    pub common: PathArgs,
    /// Columns after the start (or after the centre).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Rows whose largest share is below this are merged into THRESHOLDED_n.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f64,
    /// Target nodes, comma-separated: listed apart with their cumulative share.
    #[arg(long)]
    pub targets: Option<String>,
    /// Centre the matrix on this node.
    #[arg(long)]
    pub center: Option<String>,
    /// Which occurrence of the centre.
    #[arg(long, default_value_t = 1)]
    pub center_occurrence: usize,
    /// Columns before the centre.
    #[arg(long, default_value_t = 0)]
    pub left: usize,
    /// Show `--segment` minus this segment (`TRAIT=VALUE`, or `rest` for every other actor).
    #[arg(long, requires = "segment")]
    pub compare: Option<String>,
}

#[derive(Args, Debug)]
pub struct VariantsArgs {
    #[command(flatten)]
    pub common: PathArgs,
    /// Variants listed.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// The top variants within each value of this trait.
    #[arg(long)]
    pub per: Option<String>,
}

#[derive(Args, Debug)]
pub struct LoopsArgs {
    #[command(flatten)]
    pub common: PathArgs,
    /// Pairs listed.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

fn base(c: &PathArgs) -> PathsRequest {
    PathsRequest {
        by: Some(c.by.clone()),
        keep_repeats: Some(c.keep_repeats),
        from: c.from.clone(),
        to: c.to.clone(),
        segment: c.segment.clone(),
        ..PathsRequest::default()
    }
}

pub fn run(command: PathsCommand) -> anyhow::Result<()> {
    let (common, kind, request, journey) = match &command {
        PathsCommand::Flow(a) => (
            &a.common,
            PathsKind::Flow,
            PathsRequest {
                start: a.start.clone(),
                end: a.end.clone(),
                occurrence: a.occurrence.clone(),
                stage: a.stage.clone(),
                dropped_after: a.dropped_after.clone(),
                steps: Some(a.steps),
                top: Some(a.top),
                ..base(&a.common)
            },
            a.journey.clone(),
        ),
        PathsCommand::Matrix(a) => (
            &a.common,
            PathsKind::Matrix,
            PathsRequest {
                steps: Some(a.steps),
                threshold: Some(a.threshold),
                targets: a.targets.clone(),
                center: a.center.clone(),
                center_occurrence: Some(a.center_occurrence),
                left: Some(a.left),
                compare: a.compare.clone(),
                ..base(&a.common)
            },
            None,
        ),
        PathsCommand::Variants(a) => (
            &a.common,
            PathsKind::Variants,
            PathsRequest {
                top: Some(a.top),
                per: a.per.clone(),
                ..base(&a.common)
            },
            None,
        ),
        PathsCommand::Loops(a) => (
            &a.common,
            PathsKind::Loops,
            PathsRequest {
                top: Some(a.top),
                ..base(&a.common)
            },
            None,
        ),
    };
    let def = journey
        .as_deref()
        .map(crate::journey_cmd::read_definition)
        .transpose()?;
    let plan = request.plan(kind, def).map_err(|e| anyhow!("--{e}"))?;
    let frame = common.source.frame(&plan.spec)?;
    let output = plan.execute(&frame).map_err(|e| anyhow!("--{e}"))?;
    match common.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&output)?),
        OutputFormat::Csv => print!("{}", csv_of(&output)),
        OutputFormat::Table => print_table(&output),
    }
    Ok(())
}

fn csv_of(output: &PathsOutput) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut row = |r: Vec<String>| {
        w.write_record(&r)
            .expect("writing CSV to memory cannot fail")
    };
    match output {
        PathsOutput::Flow(f) => {
            row(vec![
                "step".into(),
                "source".into(),
                "target".into(),
                "actors".into(),
                "median_s".into(),
            ]);
            for l in &f.links {
                row(vec![
                    l.step.to_string(),
                    l.source.clone(),
                    l.target.clone(),
                    l.actors.to_string(),
                    l.median_s.to_string(),
                ]);
            }
        }
        PathsOutput::Matrix(m) => {
            let mut header = vec!["node".to_string()];
            header.extend(m.columns.iter().map(|c| c.to_string()));
            row(header);
            for r in &m.rows {
                let mut rec = vec![r.name.clone()];
                rec.extend(r.shares.iter().map(|s| s.to_string()));
                row(rec);
            }
        }
        PathsOutput::Variants(v) => {
            row(vec![
                "actors".into(),
                "share".into(),
                "length".into(),
                "sequence".into(),
            ]);
            for x in &v.variants {
                row(vec![
                    x.actors.to_string(),
                    x.share.to_string(),
                    x.length.to_string(),
                    x.sequence.join(" > "),
                ]);
            }
        }
        PathsOutput::VariantsPer(per) => {
            row(vec![
                "value".into(),
                "actors".into(),
                "share".into(),
                "length".into(),
                "sequence".into(),
            ]);
            for s in per {
                for x in &s.variants.variants {
                    row(vec![
                        s.value.clone(),
                        x.actors.to_string(),
                        x.share.to_string(),
                        x.length.to_string(),
                        x.sequence.join(" > "),
                    ]);
                }
            }
        }
        PathsOutput::Loops(l) => {
            row(vec![
                "from".into(),
                "via".into(),
                "occurrences".into(),
                "actors".into(),
                "share_of_both".into(),
            ]);
            for p in &l.pairs {
                row(vec![
                    p.from.clone(),
                    p.via.clone(),
                    p.occurrences.to_string(),
                    p.actors.to_string(),
                    p.share_of_both.to_string(),
                ]);
            }
        }
    }
    String::from_utf8(w.into_inner().expect("flushing to memory cannot fail"))
        .expect("CSV of UTF-8 strings is UTF-8")
}

fn print_table(output: &PathsOutput) {
    match output {
        PathsOutput::Flow(f) => {
            println!("{} actors, {} steps {:?}", f.actors, f.steps, f.direction);
            for step in 0..=f.steps {
                let nodes: Vec<String> = f
                    .nodes
                    .iter()
                    .filter(|n| n.step == step)
                    .map(|n| format!("{} {} (ended {})", n.name, n.actors, n.ended))
                    .collect();
                if !nodes.is_empty() {
                    println!("step {step:>2}: {}", nodes.join(" | "));
                }
            }
            println!();
            println!(
                "{:>4} {:<32} {:<32} {:>9} {:>10}",
                "step", "source", "target", "actors", "median"
            );
            for l in &f.links {
                println!(
                    "{:>4} {:<32} {:<32} {:>9} {:>10}",
                    l.step,
                    l.source,
                    l.target,
                    l.actors,
                    human(l.median_s)
                );
            }
        }
        PathsOutput::Matrix(m) => {
            println!("actors: {:?}", m.actors);
            print!("{:<28}", "node");
            for c in &m.columns {
                print!(" {c:>7}");
            }
            println!();
            for r in &m.rows {
                print!("{:<28}", r.name);
                for s in &r.shares {
                    print!(" {s:>7.3}");
                }
                println!();
            }
            for t in &m.targets {
                print!("{:<28}", format!("target {} (cumulative)", t.name));
                for s in &t.cumulative {
                    print!(" {s:>7.3}");
                }
                println!();
            }
        }
        PathsOutput::Variants(v) => print_variants(v),
        PathsOutput::VariantsPer(per) => {
            for s in per {
                println!("== {}", s.value);
                print_variants(&s.variants);
                println!();
            }
        }
        PathsOutput::Loops(l) => {
            println!(
                "{} actors, {} with a back-and-forth",
                l.actors, l.actors_looping
            );
            println!(
                "{:<28} {:<28} {:>11} {:>9} {:>13}",
                "from", "via", "occurrences", "actors", "of both"
            );
            for p in &l.pairs {
                println!(
                    "{:<28} {:<28} {:>11} {:>9} {:>12.1}%",
                    p.from,
                    p.via,
                    p.occurrences,
                    p.actors,
                    100.0 * p.share_of_both
                );
            }
        }
    }
}

fn print_variants(v: &parcours_core::paths::variants::Variants) {
    println!("{} actors, {} distinct sequences", v.actors, v.distinct);
    for x in &v.variants {
        println!(
            "{:>9} {:>6.1}%  {}",
            x.actors,
            100.0 * x.share,
            x.sequence.join(" > ")
        );
    }
}
