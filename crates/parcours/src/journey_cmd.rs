//! `parcours journey …`: run a journey file against a data directory, or offline against
//! an events file (imported into a throw-away store with the import conventions), and
//! print the report as a table, JSON or CSV.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand, ValueEnum};
use parcours_core::frame::Frame;
use parcours_core::journey::{JourneyDef, JourneyReport};
use parcours_core::stats::human;
use parcours_store::{SqliteStore, Store, StoreOptions, Synchronous};
use serde_json::Value;

use crate::analysis::{load_frame, load_frame_with, FrameSpec};
use crate::cli::{load_config, open_store, workspace, Common};
use crate::requests::{LifecycleOutput, LifecycleRequest, RunOutput, RunRequest};

#[derive(Subcommand, Debug)]
pub enum JourneyAction {
    /// Run a journey and print its report.
    Run(Box<RunArgs>),
    /// Where every actor stands now (or at a date), for how long, and who is stalled.
    Lifecycle(Box<LifecycleArgs>),
    /// Check a journey file and print it back in its normal form.
    Check {
        /// The journey file (TOML).
        file: PathBuf,
        /// Print the definition as JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct LifecycleArgs {
    /// The journey file (TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: FrameSource,
    /// Stand at this date (RFC 3339 or YYYY-MM-DD); default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Stalled after this long in a stage (e.g. 7d); default each stage's p90 time to
    /// the next stage.
    #[arg(long)]
    pub stall_after: Option<String>,
    /// Stage distribution at the end of each day, week or month.
    #[arg(long)]
    pub period: Option<String>,
    /// List actors: `stalled` or `all`.
    #[arg(long)]
    pub actors: Option<String>,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// Where an analysis reads its events: a data directory, or an events file.
#[derive(Args, Debug)]
pub struct FrameSource {
    /// Analyse this events file (CSV or JSON Lines, plain or gzip, the import conventions;
    /// `-` for standard input) instead of a data directory; nothing is kept.
    #[arg(long, conflicts_with = "data_dir")]
    pub input: Option<PathBuf>,
    /// The workspace to read from a data directory.
    #[arg(long, default_value = "default")]
    pub workspace: String,
    #[command(flatten)]
    pub common: Common,
}

impl FrameSource {
    /// Runs `read` on the data directory's store and workspace; `None` for an events
    /// file (which has no store: no costs, no saved definitions).
    pub fn read_store<T>(
        &self,
        read: impl FnOnce(&SqliteStore, parcours_store::WorkspaceId) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        if self.input.is_some() {
            return Ok(None);
        }
        let config = load_config(&self.common, None)?;
        let store = open_store(&config)?;
        let ws = workspace(&store, &self.workspace, false)?;
        let out = read(&store, ws.id);
        store.close();
        out.map(Some)
    }

    /// The frame `spec` asks for, through the data directory's frame cache.
    pub fn frame(&self, spec: &FrameSpec) -> anyhow::Result<Frame> {
        if let Some(input) = &self.input {
            return frame_from_file(input, spec);
        }
        let config = load_config(&self.common, None)?;
        let store = open_store(&config)?;
        let ws = workspace(&store, &self.workspace, false)?;
        let frame = load_frame_with(&store, ws.id, spec, store.cache_dir().as_deref())?;
        store.close();
        Ok(frame)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The journey file (TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub source: FrameSource,
    /// Only attempts entering at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Only attempts entering before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Split figures by `channel`, `campaign`, `touchpoint`, `property:NAME` or
    /// `trait:NAME`, optionally with `@first` (default), `@last` or `@step:N`.
    #[arg(long)]
    pub breakdown: Option<String>,
    /// Conversion trend by entry `day`, `week` or `month`.
    #[arg(long)]
    pub trend: Option<String>,
    /// Keep only events whose property equals a value, e.g. `--where device=mobile`.
    #[arg(long = "where", value_name = "PROPERTY=VALUE")]
    pub filters: Vec<String>,
    /// Keep only actors whose trait equals a value, e.g. `--segment country=FR`.
    #[arg(long, value_name = "TRAIT=VALUE")]
    pub segment: Vec<String>,
    /// List actors instead of the report: `converted:STAGE` or `dropped:STAGE` (a stage
    /// name or its 1-based number).
    #[arg(long)]
    pub actors: Option<String>,
    /// Touchpoints listed per stage.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

pub fn run(action: JourneyAction) -> anyhow::Result<()> {
    match action {
        JourneyAction::Check { file, json } => {
            let def = read_definition(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&def)?);
            } else {
                print!("{}", def.to_toml());
            }
            Ok(())
        }
        JourneyAction::Run(args) => run_journey(*args),
        JourneyAction::Lifecycle(args) => run_lifecycle(*args),
    }
}

pub fn read_definition(path: &Path) -> anyhow::Result<JourneyDef> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    JourneyDef::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// `KEY=VALUE` (see [`crate::requests::name_value`]), the error naming the flag.
fn key_value(text: &str, flag: &str) -> anyhow::Result<(String, Value)> {
    crate::requests::name_value(text).map_err(|e| anyhow!("--{flag} {e}"))
}

fn run_journey(args: RunArgs) -> anyhow::Result<()> {
    let def = read_definition(&args.file)?;
    let request = RunRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        breakdown: args.breakdown.clone(),
        trend: args.trend.clone(),
        filters: args
            .filters
            .iter()
            .map(|f| key_value(f, "where"))
            .collect::<anyhow::Result<_>>()?,
        segment: args
            .segment
            .iter()
            .map(|f| key_value(f, "segment"))
            .collect::<anyhow::Result<_>>()?,
        actors: args.actors.clone(),
        top: Some(args.top),
    };
    let plan = request.plan(def).map_err(|e| anyhow!("--{e}"))?;
    let started = Instant::now();
    let frame = args.source.frame(&plan.spec)?;
    tracing::info!(
        events = frame.len(),
        actors = frame.actor_count(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "frame loaded"
    );
    match plan.execute(&frame, args.threads)? {
        RunOutput::Actors(rows) => print_actors(&plan.def, &rows, args.format),
        RunOutput::Report(report) => {
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                OutputFormat::Csv => print_stage_csv(&report)?,
                OutputFormat::Table => print_table(&report),
            }
            Ok(())
        }
    }
}

fn run_lifecycle(args: LifecycleArgs) -> anyhow::Result<()> {
    let def = read_definition(&args.file)?;
    let request = LifecycleRequest {
        as_of: args.as_of.clone(),
        stall_after: args.stall_after.clone(),
        period: args.period.clone(),
        actors: args.actors.clone(),
    };
    let spec = FrameSpec::for_journey(&def, None, &[], &[]);
    let frame = args.source.frame(&spec)?;
    let now = crate::server::now_micros();
    let output = request
        .run(&def, &frame, now, 0)
        .map_err(|e| anyhow!("--{}", e.to_string().replace('_', "-")))?;
    match (output, args.format) {
        (output, OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&output)?),
        (LifecycleOutput::Actors(rows), _) => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let mut header: Vec<String> = [
                "actor",
                "state",
                "stage",
                "entered_at",
                "time_in_stage_s",
                "stalled",
            ]
            .map(String::from)
            .to_vec();
            header.extend(def.stages.iter().map(|s| s.name.clone()));
            w.write_record(&header)?;
            for r in rows {
                let mut rec = vec![
                    r.actor,
                    serde_json::to_value(r.state)?
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    r.stage.unwrap_or_default(),
                    r.entered_at,
                    r.time_in_stage_s.map(|t| t.to_string()).unwrap_or_default(),
                    r.stalled.to_string(),
                ];
                rec.extend(r.stages.into_iter().map(Option::unwrap_or_default));
                w.write_record(&rec)?;
            }
            w.flush()?;
        }
        (LifecycleOutput::Report(r), _) => print_lifecycle(&r),
    }
    Ok(())
}

fn print_lifecycle(r: &parcours_core::journey::LifecycleReport) {
    println!(
        "as of {}: {} actors, {} converted, {} expired",
        r.as_of, r.actors, r.converted, r.expired
    );
    println!();
    println!(
        "{:<24} {:>9} {:>9} {:>12} {:>14}",
        "stage", "in stage", "stalled", "stall after", "median in stage"
    );
    for s in &r.stages {
        println!(
            "{:<24} {:>9} {:>9} {:>12} {:>14}",
            s.name,
            s.in_stage,
            s.stalled,
            s.stall_threshold_s.map(human).unwrap_or_default(),
            s.median_time_in_stage_s.map(human).unwrap_or_default()
        );
    }
    if !r.over_time.is_empty() {
        println!();
        println!("in each stage at the end of each period (then converted, expired)");
        for row in &r.over_time {
            let counts: Vec<String> = row.in_stage.iter().map(u64::to_string).collect();
            println!(
                "  {}  {:<40} {:>8} {:>8}",
                &row.at[..10],
                counts.join(" "),
                row.converted,
                row.expired
            );
        }
    }
}

/// Imports an events file into a temporary store and reads it back as a frame.
pub(crate) fn frame_from_file(path: &Path, spec: &FrameSpec) -> anyhow::Result<Frame> {
    let dir = TempDir::new()?;
    let options = StoreOptions {
        synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    let store = SqliteStore::open(&dir.0, options)?;
    let ws = store.create_workspace("input")?;
    let import_options = crate::import::Options {
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ..Default::default()
    };
    let summary = crate::import::import_file(
        &store,
        ws.id,
        path,
        &crate::import::Mapping::default(),
        &import_options,
    )?;
    if let Some(first) = summary.rejected.kept().first() {
        eprintln!(
            "warning: {} rows of {} were rejected, the first at line {}: {} (`parcours import` lists them)",
            summary.rejected.rows(),
            path.display(),
            first.line,
            first.message
        );
    }
    let frame = load_frame(&store, ws.id, spec)?;
    store.close();
    Ok(frame)
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let name = format!(
            "parcours-journey-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn print_table(r: &JourneyReport) {
    let actors = match (r.actor, r.counting) {
        (_, parcours_core::journey::Counting::Attempts) => "attempts",
        (parcours_core::journey::ActorKind::Person, _) => "persons",
        (parcours_core::journey::ActorKind::Account, _) => "accounts",
        (parcours_core::journey::ActorKind::Deal, _) => "deals",
    };
    println!(
        "{} — {} {actors} entered, {} converted",
        r.journey,
        r.entered,
        pct(r.conversion_rate)
    );
    println!();
    println!(
        "{:<24} {:>9} {:>8} {:>8} {:>9} {:>12} {:>12}",
        "stage", "entered", "% start", "% prev", "dropped", "median prev", "p90 prev"
    );
    for s in &r.stages {
        let (median, p90) = s
            .time_from_previous
            .as_ref()
            .map_or(("".into(), "".into()), |t| {
                (human(t.median_s), human(t.p90_s))
            });
        let name = if s.optional {
            format!("{} (optional)", s.name)
        } else {
            s.name.clone()
        };
        println!(
            "{:<24} {:>9} {:>8} {:>8} {:>9} {:>12} {:>12}",
            name,
            s.entered,
            pct(s.pct_of_start),
            pct(s.pct_of_previous),
            s.dropped,
            median,
            p90
        );
        for b in &s.branches {
            println!("  via {:<20} {:>9}", b.name, b.entered);
        }
    }
    for s in r.stages.iter().filter(|s| !s.top_touchpoints.is_empty()) {
        println!();
        println!(
            "touchpoints before `{}`: progressed / dropped, progression rate, lift",
            s.name
        );
        for t in &s.top_touchpoints {
            println!(
                "  {:<40} {:>8} {:>8} {:>8} {:>6.2}",
                t.touchpoint,
                t.progressed,
                t.dropped,
                pct(t.progression_rate),
                t.lift
            );
        }
    }
    if let Some(b) = &r.breakdown {
        println!();
        let attribution = match b.attribution {
            parcours_core::journey::Attribution::FirstTouch => "first touch".to_string(),
            parcours_core::journey::Attribution::LastTouch => "last touch".to_string(),
            parcours_core::journey::Attribution::Step(n) => format!("step {n}"),
        };
        println!(
            "breakdown by {} ({attribution}): entered per stage, conversion",
            b.by
        );
        for row in &b.rows {
            let entered: Vec<String> = row.entered.iter().map(u64::to_string).collect();
            println!(
                "  {:<30} {:<40} {:>8}",
                row.value,
                entered.join(" → "),
                pct(row.conversion_rate)
            );
        }
    }
    if let Some(t) = &r.trend {
        println!();
        let period = match t.period {
            parcours_core::journey::Bucket::Day => "day",
            parcours_core::journey::Bucket::Week => "week",
            parcours_core::journey::Bucket::Month => "month",
        };
        println!("conversion by entry {period}");
        for row in &t.rows {
            let entered: Vec<String> = row.entered.iter().map(u64::to_string).collect();
            println!(
                "  {}  {:<40} {:>8}",
                row.start,
                entered.join(" → "),
                pct(row.conversion_rate)
            );
        }
    }
    for w in &r.warnings {
        println!();
        println!("warning: {w}");
    }
}

fn print_stage_csv(r: &JourneyReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    w.write_record([
        "stage",
        "optional",
        "entered",
        "pct_of_start",
        "pct_of_previous",
        "dropped",
        "median_from_previous_s",
        "p90_from_previous_s",
        "median_from_start_s",
    ])?;
    for s in &r.stages {
        let opt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
        w.write_record([
            s.name.clone(),
            s.optional.to_string(),
            s.entered.to_string(),
            format!("{}", s.pct_of_start),
            format!("{}", s.pct_of_previous),
            s.dropped.to_string(),
            opt(s.time_from_previous.as_ref().map(|t| t.median_s)),
            opt(s.time_from_previous.as_ref().map(|t| t.p90_s)),
            opt(s.time_from_start.as_ref().map(|t| t.median_s)),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn print_actors(
    def: &JourneyDef,
    rows: &[parcours_core::journey::ActorRow],
    format: OutputFormat,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(rows)?),
        _ => print!("{}", crate::requests::actors_csv(def, rows)),
    }
    Ok(())
}
