//! `parcours sessions`: web and app sessions and their KPIs, on a data directory or
//! offline on an events file.

use anyhow::anyhow;
use clap::Args;
use parcours_core::sessions::{SessionReport, TrafficRow};
use parcours_core::stats::human;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::SessionRequest;

#[derive(Args, Debug)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// Sessions starting at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Sessions starting before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Inactivity that ends a session.
    #[arg(long, default_value = "30m")]
    pub timeout: String,
    /// Do not start a new session when the campaign changes.
    #[arg(long)]
    pub no_campaign_split: bool,
    /// Rows per table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

pub fn run(args: SessionsArgs) -> anyhow::Result<()> {
    let request = SessionRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        timeout: Some(args.timeout.clone()),
        split_on_campaign: Some(!args.no_campaign_split),
        top: Some(args.top),
    };
    let frame = args.source.frame(&SessionRequest::spec())?;
    let report = request.run(&frame).map_err(|e| anyhow!("--{e}"))?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        _ => print_table(&report),
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn traffic(title: &str, rows: &[TrafficRow]) {
    println!();
    println!(
        "{:<32} {:>9} {:>9} {:>8} {:>8} {:>10}",
        title, "sessions", "visitors", "bounce", "pages", "duration"
    );
    for r in rows {
        println!(
            "{:<32} {:>9} {:>9} {:>8} {:>8.2} {:>10}",
            r.value,
            r.sessions,
            r.visitors,
            pct(r.bounce_rate),
            r.pages_per_session,
            human(r.avg_duration_s)
        );
    }
}

fn print_table(r: &SessionReport) {
    println!(
        "{} visitors, {} sessions, {} page views; bounce rate {}, {:.2} pages per session, average duration {} (sessions end after {} of inactivity)",
        r.visitors, r.sessions, r.pageviews, pct(r.bounce_rate), r.pages_per_session, human(r.avg_duration_s), human(r.timeout_s)
    );
    for (title, rows) in [("entry page", &r.entry_pages), ("exit page", &r.exit_pages)] {
        println!();
        println!("{:<48} {:>9} {:>8}", title, "sessions", "bounce");
        for p in rows {
            println!("{:<48} {:>9} {:>8}", p.page, p.sessions, pct(p.bounce_rate));
        }
    }
    traffic("channel", &r.by_channel);
    traffic("campaign", &r.by_campaign);
    traffic("source", &r.by_source);
}
