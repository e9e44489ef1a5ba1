//! `parcours retention`: cohort retention, lifetime value by cohort, lifecycle, churn and
//! stickiness.

use anyhow::anyhow;
use clap::Args;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::RetentionRequest;

#[derive(Args, Debug)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// The event that puts an actor in a cohort (any event when absent).
    #[arg(long)]
    pub start: Option<String>,
    /// The event that counts as a return and as activity (any event when absent).
    #[arg(long = "return")]
    pub returns: Option<String>,
    /// `day`, `week` or `month`.
    #[arg(long, default_value = "week")]
    pub period: String,
    /// Columns 0 … N.
    #[arg(long, default_value_t = 8)]
    pub periods: usize,
    /// Every period with a start event counts the actor in that period's cohort.
    #[arg(long)]
    pub recurring: bool,
    /// Retained at N when returning at N or later ("unbounded").
    #[arg(long)]
    pub on_or_after: bool,
    /// Cohort starts (and lifecycle periods) at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Cohort starts before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// The end of the observed data (the last event's time when absent).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only actors whose trait has this value.
    #[arg(long, value_name = "TRAIT=VALUE")]
    pub segment: Option<String>,
    /// The property holding the value for lifetime value (`none` for none).
    #[arg(long, default_value = "$revenue")]
    pub value: String,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: RetentionArgs) -> anyhow::Result<()> {
    let request = RetentionRequest {
        start: args.start.clone(),
        returns: args.returns.clone(),
        period: Some(args.period.clone()),
        periods: Some(args.periods),
        recurring: Some(args.recurring),
        on_or_after: Some(args.on_or_after),
        from: args.from.clone(),
        to: args.to.clone(),
        as_of: args.as_of.clone(),
        segment: args.segment.clone(),
        value: Some(args.value.clone()),
    };
    let plan = request.plan().map_err(|e| anyhow!("--{e}"))?;
    let frame = args.source.frame(&plan.spec)?;
    let report = plan.execute(&frame).map_err(|e| anyhow!("--{e}"))?;
    let cell = |x: Option<f64>, pct: bool| match x {
        None => format!("{:>8}", ""),
        Some(v) if pct => format!("{:>7.1}%", 100.0 * v),
        Some(v) => format!("{v:>8.2}"),
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let mut header = vec!["cohort".to_string(), "size".into()];
            header.extend((0..=report.periods).map(|n| format!("n{n}")));
            w.write_record(&header)?;
            for c in &report.cohorts {
                let mut rec = vec![c.start.clone(), c.size.to_string()];
                rec.extend(
                    c.rates
                        .iter()
                        .map(|r| r.map(|r| r.to_string()).unwrap_or_default()),
                );
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            println!(
                "retention by {}{}{}; data up to {}",
                serde_json::to_value(report.period)?.as_str().unwrap_or(""),
                if report.recurring {
                    ", recurring"
                } else {
                    ", first time"
                },
                if report.on_or_after {
                    ", on or after"
                } else {
                    ""
                },
                report.as_of
            );
            print!("{:<12} {:>8}", "cohort", "size");
            for n in 0..=report.periods {
                print!(" {:>8}", format!("N{n}"));
            }
            println!();
            for c in &report.cohorts {
                print!("{:<12} {:>8}", c.start, c.size);
                for r in &c.rates {
                    print!(" {}", cell(*r, true));
                }
                println!();
            }
            print!("{:<12} {:>8}", "overall", "");
            for r in &report.overall {
                print!(" {}", cell(*r, true));
            }
            println!();
            println!();
            println!("value per actor, cumulated");
            for c in &report.cohorts {
                print!("{:<12} {:>8}", c.start, c.size);
                for v in &c.value_per_actor {
                    print!(" {}", cell(*v, false));
                }
                println!();
            }
            println!();
            println!(
                "{:<12} {:>9} {:>9} {:>10} {:>13} {:>9} {:>8}",
                "period", "active", "new", "returning", "resurrecting", "dormant", "churn"
            );
            for l in &report.lifecycle {
                println!(
                    "{:<12} {:>9} {:>9} {:>10} {:>13} {:>9} {}",
                    l.start,
                    l.active,
                    l.new,
                    l.returning,
                    l.resurrecting,
                    l.dormant,
                    cell(l.churn_rate, true)
                );
            }
            if let Some(s) = &report.stickiness {
                println!();
                println!(
                    "stickiness: actors by active days in the period {:?}; daily / period active {:.1}%",
                    s.histogram,
                    100.0 * s.daily_over_period
                );
            }
        }
    }
    Ok(())
}
