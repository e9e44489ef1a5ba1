//! `parcours surveys`: NPS, CSAT, CES and rating scores with their margins of error,
//! overall, by touchpoint, stage, channel or segment, and over time.

use anyhow::{anyhow, bail, Context};
use clap::Args;
use parcours_core::voice::scores::{Scale, Summary};
use parcours_core::voice::surveys::SurveyReport;

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::SurveyScoresRequest;

/// The options the voice-of-the-customer commands share.
#[derive(Args, Debug)]
pub struct FeedbackArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// The survey-response event.
    #[arg(long, default_value = "Survey Responded")]
    pub event: String,
    /// Scales of custom surveys, comma-separated ID=SCALE (e.g. stars=rating:1-5).
    #[arg(long)]
    pub scales: Option<String>,
    /// Feedback at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Feedback before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Only actors whose trait has this value.
    #[arg(long, value_name = "TRAIT=VALUE")]
    pub segment: Option<String>,
}

/// Where events without a `stage` property sit in the journey.
#[derive(Args, Debug)]
pub struct StageArgs {
    /// Stages of events, comma-separated EVENT=STAGE (e.g.
    /// "Review Submitted=advocacy,Ticket Opened=service").
    #[arg(long)]
    pub stage_of: Option<String>,
    /// A journey definition whose stages place the events (after --stage-of), e.g.
    /// examples/journeys/ecommerce.toml.
    #[arg(long)]
    pub journey: Option<std::path::PathBuf>,
}

impl StageArgs {
    /// The stages the journey file gives its events (none without one).
    pub fn journey_stages(&self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(self
            .definition()?
            .map(|d| d.stage_of_events())
            .unwrap_or_default())
    }

    pub fn definition(&self) -> anyhow::Result<Option<parcours_core::journey::JourneyDef>> {
        self.journey
            .as_ref()
            .map(|path| crate::journey_cmd::read_definition(path))
            .transpose()
    }
}

/// The scales of the data directory's survey definitions (none for an events file).
pub fn defined_scales(
    source: &crate::journey_cmd::FrameSource,
) -> anyhow::Result<crate::requests::SurveyScales> {
    use parcours_core::voice::definitions::{parse_stored, scales_of};
    use parcours_store::Store;
    Ok(source
        .read_store(|store, ws| Ok(scales_of(&parse_stored(store.surveys(ws)?))))?
        .unwrap_or_default())
}

/// `parcours surveys` alone prints the scores; its subcommands manage the workspace's
/// survey definitions, links and imports.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SurveysArgs {
    #[command(subcommand)]
    pub command: Option<SurveysCommand>,
    #[command(flatten)]
    pub feedback: FeedbackArgs,
    /// Breakdowns, comma-separated: touchpoint, stage, channel, trait:KEY, property:KEY.
    #[arg(long)]
    pub by: Option<String>,
    /// Only this survey (nps, csat, ces or a custom id).
    #[arg(long)]
    pub survey: Option<String>,
    /// `day`, `week` or `month`, for the trend.
    #[arg(long, default_value = "week")]
    pub period: String,
    /// Print the trend by period too (table format).
    #[arg(long)]
    pub trend: bool,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(clap::Subcommand, Debug)]
pub enum SurveysCommand {
    /// Create or replace a survey definition from a TOML (or JSON) file.
    Define {
        /// The definition file (TOML or JSON).
        file: std::path::PathBuf,
        /// The workspace the definitions belong to.
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// List the workspace's survey definitions.
    List {
        /// The workspace the definitions belong to.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Print the definitions as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a survey definition (its responses stay).
    Delete {
        /// The survey's id.
        id: String,
        /// The workspace the definitions belong to.
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Signed links to the hosted survey page, one per person: prints `userId<TAB>URL`.
    Link {
        /// The survey's id.
        id: String,
        /// The workspace the definitions belong to.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// A person to ask, by userId (repeatable).
        #[arg(long = "user", value_name = "USER_ID")]
        users: Vec<String>,
        /// A file of userIds, one per line.
        #[arg(long)]
        users_file: Option<std::path::PathBuf>,
        /// How long the links stay valid.
        #[arg(long, default_value = crate::survey_links::DEFAULT_TTL)]
        expires_in: String,
        /// Where respondents reach the server, e.g. https://parcours.example.com (without
        /// it, the links are printed as paths, /s/TOKEN).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Import a survey tool's CSV export (Typeform, SurveyMonkey, Qualtrics, Google Forms,
    /// Delighted…) as responses of one survey.
    Import(Box<crate::survey_import::SurveyImportArgs>),
}

pub fn run(args: SurveysArgs) -> anyhow::Result<()> {
    if let Some(command) = args.command {
        return manage(command, &args.feedback.source.common);
    }
    let f = args.feedback;
    let request = SurveyScoresRequest {
        event: Some(f.event),
        by: args.by,
        scales: f.scales,
        defined_scales: defined_scales(&f.source)?,
        survey: args.survey,
        period: Some(args.period),
        from: f.from,
        to: f.to,
        segment: f.segment,
    };
    let plan = request.plan().map_err(|e| anyhow!("--{e}"))?;
    let frame = f.source.frame(&plan.spec)?;
    let report = plan.execute(&frame).map_err(|e| anyhow!("--{e}"))?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => print_csv(&report)?,
        OutputFormat::Table => print_table(&report, args.trend),
    }
    Ok(())
}

/// "42.0 ± 5.1", in the scale's unit.
pub fn figure(scale: Scale, s: &Summary) -> String {
    let Some(score) = s.score else {
        return "-".into();
    };
    let unit = if matches!(scale, Scale::Csat) {
        "%"
    } else {
        ""
    };
    let digits = if matches!(scale, Scale::Nps | Scale::Csat) {
        1
    } else {
        2
    };
    match s.margin {
        Some(m) => format!("{score:.digits$}{unit} ± {m:.digits$}"),
        None => format!("{score:.digits$}{unit}"),
    }
}

fn row(label: &str, scale: Scale, s: &Summary) -> String {
    let groups = match (&s.groups, scale) {
        (Some(g), Scale::Nps) => format!(
            "promoters {:.0}%  passives {:.0}%  detractors {:.0}%",
            g.high,
            g.middle.unwrap_or(0.0),
            g.low.unwrap_or(0.0)
        ),
        (Some(g), Scale::Ces) => format!("easy (5–7) {:.0}% ± {:.0}", g.high, g.high_margin),
        _ => String::new(),
    };
    format!(
        "  {:<28} {:>8} {:>18}  {}{}",
        label,
        s.responses,
        figure(scale, s),
        groups,
        if s.small_sample && s.responses > 0 {
            "  (few responses)"
        } else {
            ""
        }
    )
}

fn print_table(report: &SurveyReport, trend: bool) {
    if report.surveys.is_empty() {
        println!("No survey responses.");
    }
    for (k, s) in report.surveys.iter().enumerate() {
        if k > 0 {
            println!();
        }
        let name = match s.scale {
            Scale::Rating { min, max } => format!("rating {min}–{max}"),
            other => other.name().to_string(),
        };
        println!("{} ({name})", s.survey);
        println!("  {:<28} {:>8} {:>18}", "", "answers", "score ± 95%");
        println!("{}", row("overall", s.scale, &s.overall));
        if s.overall.out_of_scale > 0 || s.missing_score > 0 {
            println!(
                "  left out: {} out of scale, {} without a score",
                s.overall.out_of_scale, s.missing_score
            );
        }
        for b in &s.breakdowns {
            println!("  by {}", b.by);
            for r in &b.rows {
                println!("{}", row(&format!("  {}", r.value), s.scale, &r.summary));
            }
        }
        if trend {
            println!("  trend");
            for p in &s.trend {
                println!("{}", row(&format!("  {}", p.period), s.scale, &p.summary));
            }
        }
    }
    for s in &report.skipped {
        println!();
        println!(
            "skipped: {} ({} responses): {}",
            s.survey, s.responses, s.reason
        );
    }
}

fn print_csv(report: &SurveyReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    w.write_record([
        "survey",
        "by",
        "value",
        "responses",
        "score",
        "margin",
        "low",
        "high",
    ])?;
    let num = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.4}"));
    for s in &report.surveys {
        let mut rec = |by: &str, value: &str, m: &Summary| {
            w.write_record([
                s.survey.as_str(),
                by,
                value,
                &m.responses.to_string(),
                &num(m.score),
                &num(m.margin),
                &num(m.low),
                &num(m.high),
            ])
        };
        rec("", "overall", &s.overall)?;
        for b in &s.breakdowns {
            for r in &b.rows {
                rec(&b.by, &r.value, &r.summary)?;
            }
        }
        for p in &s.trend {
            rec("period", &p.period, &p.summary)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// The subcommands that manage definitions, links and imports.
fn manage(command: SurveysCommand, common: &crate::cli::Common) -> anyhow::Result<()> {
    use crate::cli::{load_config, open_store, workspace};
    use parcours_core::voice::definitions::{parse_stored, SurveyDef};
    use parcours_store::Store;
    let config = load_config(common, None)?;
    let store = open_store(&config)?;
    let result = (|| -> anyhow::Result<()> {
        match command {
            SurveysCommand::Define {
                file,
                workspace: ws,
            } => {
                let ws = workspace(&store, &ws, true)?;
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let is_json = file.extension().is_some_and(|e| e == "json");
                let def = if is_json {
                    serde_json::from_str(&text)
                        .map_err(|e| anyhow!("{}: {e}", file.display()))
                        .and_then(|v| {
                            SurveyDef::from_json(v).map_err(|e| anyhow!("{}: {e}", file.display()))
                        })?
                } else {
                    SurveyDef::from_toml(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?
                };
                store.save_survey(ws.id, &def.id, &serde_json::to_value(&def)?)?;
                println!("{}", def.id);
            }
            SurveysCommand::List {
                workspace: ws,
                json,
            } => {
                let ws = workspace(&store, &ws, false)?;
                let defs = parse_stored(store.surveys(ws.id)?);
                if json {
                    println!("{}", serde_json::to_string_pretty(&defs)?);
                } else {
                    for d in defs {
                        let kind = serde_json::to_value(d.kind)?;
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            d.id,
                            kind.as_str().unwrap_or_default(),
                            d.stage.as_deref().unwrap_or("-"),
                            d.touchpoint.as_deref().unwrap_or("-"),
                            d.question
                        );
                    }
                }
            }
            SurveysCommand::Delete { id, workspace: ws } => {
                let ws = workspace(&store, &ws, false)?;
                if !store.delete_survey(ws.id, &id)? {
                    bail!("no survey `{id}` in workspace `{}`", ws.name);
                }
            }
            SurveysCommand::Link {
                id,
                workspace: ws,
                mut users,
                users_file,
                expires_in,
                base_url,
            } => {
                let ws = workspace(&store, &ws, false)?;
                if !parse_stored(store.surveys(ws.id)?)
                    .iter()
                    .any(|d| d.id == id)
                {
                    bail!(
                        "no survey `{id}` in workspace `{}`: define it first",
                        ws.name
                    );
                }
                if let Some(path) = users_file {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    users.extend(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string),
                    );
                }
                if users.is_empty() {
                    bail!("no one to ask: give --user USER_ID or --users-file FILE");
                }
                let ttl = parcours_core::journey::Span::parse(&expires_in)
                    .map_err(|e| anyhow!("--expires-in: {e}"))?
                    .micros();
                let base = base_url
                    .map(|b| b.trim_end_matches('/').to_string())
                    .unwrap_or_default();
                let secret = store.secret(crate::survey_links::LINK_SECRET)?;
                let expires = crate::server::now_micros().saturating_add(ttl);
                for u in users {
                    let token = crate::survey_links::sign(
                        &secret,
                        &crate::survey_links::Claims {
                            w: ws.id,
                            s: id.clone(),
                            u: u.clone(),
                            e: expires,
                        },
                    );
                    println!("{u}\t{base}{}", crate::survey_links::path(&token));
                }
            }
            SurveysCommand::Import(args) => {
                let ws = workspace(&store, &args.workspace, true)?;
                let (headers, columns, report) =
                    crate::survey_import::import(&store, ws.id, &args)?;
                if args.json {
                    let mut out = serde_json::to_value(&report)?;
                    out["columns"] = crate::survey_import::columns_json(&headers, &columns);
                    out["dry_run"] = args.dry_run.into();
                    println!("{}", serde_json::to_string_pretty(&out)?);
                } else {
                    crate::survey_import::print(
                        &args.file,
                        &headers,
                        &columns,
                        &report,
                        args.dry_run,
                    );
                }
            }
        }
        Ok(())
    })();
    store.close();
    result
}
