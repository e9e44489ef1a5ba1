//! `parcours kpi list|run`: the KPI catalog — built-in stage KPIs, and catalog files.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use parcours_core::kpi::Catalog;
use parcours_core::stats::human;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::{builtin_kpis, stored_kpis, KpiRequest};

#[derive(Subcommand, Debug)]
pub enum KpiCommand {
    /// The KPIs of the catalog: id, stage, name, unit, target.
    List(ListArgs),
    /// Every KPI (or those asked) over a range and by period, with targets and changes.
    Run(Box<RunArgs>),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// A catalog file (TOML, `[[kpis]]`) replacing the built-ins of the same id.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Only the catalog file, without the built-ins.
    #[arg(long, requires = "catalog")]
    pub no_builtins: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: FrameSource,
    #[command(flatten)]
    pub list: ListArgs,
    /// `day`, `week` or `month`.
    #[arg(long, default_value = "week")]
    pub period: String,
    /// Events at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Events before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only the KPIs of this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// Only these KPIs (ids, comma-separated).
    #[arg(long)]
    pub only: Option<String>,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// The catalog in force: the built-ins (unless `--no-builtins`), then the workspace's
/// saved definitions, then the catalog file, each replacing the previous by id.
fn catalog(args: &ListArgs, saved: Option<Catalog>) -> anyhow::Result<Catalog> {
    let mut full = if args.no_builtins {
        Catalog::default()
    } else {
        builtin_kpis()
    };
    if let Some(saved) = saved {
        full = full.merged(saved);
    }
    if let Some(f) = &args.catalog {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        full = full.merged(Catalog::from_toml(&text).map_err(|e| anyhow!("{}: {e}", f.display()))?);
    }
    Ok(full)
}

/// A value in its unit.
pub fn show(unit: &str, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => match unit {
            "percent" => format!("{:.1}%", 100.0 * v),
            "duration" => human(v),
            "currency" => format!("{v:.2}"),
            "count" => format!("{v:.0}"),
            _ => format!("{v:.2}"),
        },
    }
}

pub fn run(command: KpiCommand) -> anyhow::Result<()> {
    match command {
        KpiCommand::List(args) => {
            let c = catalog(&args, None)?;
            println!(
                "{:<26} {:<14} {:<9} {:>8}  name",
                "id", "stage", "unit", "target"
            );
            for k in &c.kpis {
                println!(
                    "{:<26} {:<14} {:<9} {:>8}  {}",
                    k.id,
                    k.stage,
                    k.unit,
                    k.target.map_or("-".into(), |t| show(&k.unit, Some(t))),
                    k.name
                );
            }
        }
        KpiCommand::Run(args) => {
            let args = *args;
            let request = KpiRequest {
                period: Some(args.period.clone()),
                from: args.from.clone(),
                to: args.to.clone(),
                stage: args.stage.clone(),
                only: args.only.clone(),
            };
            let saved = args.source.read_store(|store, ws| stored_kpis(store, ws))?;
            let full = catalog(&args.list, saved)?;
            let plan = request.plan(full).map_err(|e| anyhow!("--{e}"))?;
            let frame = args.source.frame(&plan.spec)?;
            let results = plan.execute(&frame).map_err(|e| anyhow!("{e}"))?;
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&results)?),
                OutputFormat::Csv => {
                    let mut w = csv::Writer::from_writer(std::io::stdout());
                    w.write_record(["id", "stage", "period", "value", "change", "change_rate"])?;
                    for r in &results {
                        for p in &r.series {
                            let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
                            w.write_record([
                                r.id.as_str(),
                                r.stage.as_str(),
                                p.period.as_str(),
                                &opt(p.value),
                                &opt(p.change),
                                &opt(p.change_rate),
                            ])?;
                        }
                    }
                    w.flush()?;
                }
                OutputFormat::Table => {
                    println!(
                        "{:<26} {:<14} {:>12} {:>10} {:>8} {:>12} {:>9}",
                        "id", "stage", "value", "target", "met", "last period", "change"
                    );
                    for r in &results {
                        let last = r.series.last();
                        println!(
                            "{:<26} {:<14} {:>12} {:>10} {:>8} {:>12} {:>9}",
                            r.id,
                            r.stage,
                            show(&r.unit, r.value),
                            r.target.map_or("-".into(), |t| show(&r.unit, Some(t))),
                            r.target_met.map_or("-", |m| if m { "yes" } else { "no" }),
                            show(&r.unit, last.and_then(|p| p.value)),
                            last.and_then(|p| p.change_rate)
                                .map_or("-".into(), |c| format!("{:+.1}%", 100.0 * c)),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
