//! The command line: `serve`, `demo`, `import`, `keys`, `workspaces`, `erase`,
//! `timeline`, `export`, `config`, and the analyses. Parsing is clap's; each command is a
//! short function.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use parcours_store::{Scope, SqliteStore, Store, Workspace};

use crate::config::{Config, Overrides, DEFAULT_TOML};
use crate::{demo, import, logging, server};

#[derive(Parser, Debug)]
#[command(
    name = "parcours",
    version,
    about = "Self-hosted customer journey analytics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives; shared by every command that opens the store.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// The data directory (holds parcours.db). Default: data_dir from the configuration.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// A TOML configuration file (see `parcours config print-default`).
    #[arg(long, global = true, env = "PARCOURS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Build (or reuse) the demo dataset, then serve it.
    Demo(demo::DemoArgs),
    /// Import events, or ad costs, from a CSV or JSON Lines file.
    Import(import::ImportArgs),
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage workspaces (tenants).
    Workspaces {
        #[command(subcommand)]
        action: WorkspacesAction,
    },
    /// Erase a person (GDPR): their events, identities and traits.
    Erase {
        /// A userId, anonymousId or email of the person.
        identifier: String,
        /// The workspace the person is in.
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        common: Common,
    },
    /// Print a person's stitched timeline as JSON Lines.
    Timeline {
        /// A userId, anonymousId or email of the person.
        identifier: String,
        /// The workspace the person is in.
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        common: Common,
    },
    /// Print a workspace's events as JSON Lines, in the order they were stored (which
    /// `parcours import` reads back).
    Export {
        /// The workspace to export.
        #[arg(long)]
        workspace: String,
        /// Only events at or after this time (RFC 3339, a date, or epoch seconds/ms).
        #[arg(long)]
        from: Option<String>,
        /// Only events before this time.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Run journeys: stage funnels, times, touchpoints, breakdowns, trends, actor lists.
    Journey {
        #[command(subcommand)]
        action: crate::journey_cmd::JourneyAction,
    },
    /// Web and app sessions: visitors, bounce rate, duration, pages, entry and exit
    /// pages, traffic by channel, campaign and source.
    Sessions(Box<crate::sessions_cmd::SessionsArgs>),
    /// The transition graph: which touch directly follows which, how often, how fast.
    Transitions(Box<crate::transitions_cmd::TransitionsArgs>),
    /// Attribution: which channels, campaigns or touchpoints deserve the credit for the
    /// conversions, by rule-based, Markov-chain and Shapley models.
    Attribution(Box<crate::attribution_cmd::AttributionArgs>),
    /// The KPI catalog: built-in stage KPIs and catalog files, by period, against targets.
    Kpi {
        #[command(subcommand)]
        command: Box<crate::kpi_cmd::KpiCommand>,
    },
    /// Retention: cohort matrices, lifetime value by cohort, lifecycle (new, returning,
    /// resurrecting, dormant), churn and stickiness.
    Retention(Box<crate::retention_cmd::RetentionArgs>),
    /// Paths: flows from a start or to an end (Sankey), the step matrix, variants and
    /// back-and-forth loops.
    Paths {
        #[command(subcommand)]
        command: Box<crate::paths_cmd::PathsCommand>,
    },
    /// Survey scores (NPS, CSAT, CES, ratings) with margins of error, by touchpoint,
    /// stage, channel or segment, and over time.
    Surveys(Box<crate::surveys_cmd::SurveysArgs>),
    /// How customers feel at each stage and touchpoint (−1…+1), from survey scores,
    /// ratings and the sentiment of their texts, with the evidence.
    Emotion(Box<crate::emotion_cmd::EmotionArgs>),
    /// The recurring topics of customers' texts (French and English): mentions,
    /// sentiment, key phrases, quotes, trend, stages and touchpoints.
    Themes(Box<crate::themes_cmd::ThemesArgs>),
    /// What gets in customers' way (abandonment, repeat contacts, high effort, slow
    /// resolution, negative themes), ranked by the revenue at stake, with the evidence.
    Frictions(Box<crate::frictions_cmd::FrictionsArgs>),
    /// Sentiment of French and English texts, and the scorer's evaluation.
    Sentiment {
        #[command(subcommand)]
        command: crate::sentiment_cmd::SentimentCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysAction {
    /// Create a key and print it alone on stdout (it is not shown again).
    Create {
        /// The workspace; created if it does not exist.
        #[arg(long)]
        workspace: String,
        /// What the key may do: write (send events; safe to ship in a browser), read
        /// (queries) or admin (keys, workspaces, erasure).
        #[arg(long)]
        scope: Scope,
        /// A note to tell keys apart in `keys list`.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List a workspace's keys (never the keys themselves).
    List {
        /// The workspace whose keys to list.
        #[arg(long)]
        workspace: String,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a key by its id.
    Revoke {
        /// The workspace the key belongs to.
        #[arg(long)]
        workspace: String,
        /// The key's id, as `keys list` prints it.
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkspacesAction {
    /// Create a workspace and print its name (keys and imports create theirs too).
    Create {
        /// The workspace's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the workspaces: id, name and events stored, tab-separated.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Delete a workspace and everything it holds: events, persons, identities, traits,
    /// groups, keys, definitions and ad costs (a tenant leaving). Cannot be undone.
    Delete {
        /// The workspace's name.
        name: String,
        /// Delete it: without this flag, only say what it holds.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Print the default configuration, commented.
    PrintDefault,
}

pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message_of(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: the store's errors already say
/// their cause (`sqlite: file is not a database`), which the chain would repeat, and
/// SQLite's adds `Error code 26: file is not a database`.
fn message_of(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let said = |t: &str| !t.is_empty() && out.contains(t);
        let code_of_said = text
            .strip_prefix("Error code ")
            .and_then(|rest| rest.split_once(": "))
            .is_some_and(|(_, t)| said(t));
        if said(&text) || code_of_said {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Loads the configuration layers for a command.
pub fn load_config(common: &Common, listen: Option<String>) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = Config::load(
        common.config.as_deref(),
        &env,
        &Overrides {
            data_dir: common.data_dir.clone(),
            listen,
        },
    )?;
    logging::init(&config.log.format, &config.log.level);
    Ok(config)
}

pub fn open_store(config: &Config) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(&config.data_dir, config.store_options())
        .with_context(|| format!("opening the store in {}", config.data_dir.display()))
}

pub fn workspace(store: &dyn Store, name: &str, create: bool) -> anyhow::Result<Workspace> {
    match store.workspace_by_name(name)? {
        Some(w) => Ok(w),
        None if create => Ok(store.create_workspace(name)?),
        None => Err(anyhow!(
            "no workspace named `{name}` (create one with `parcours workspaces create {name}`)"
        )),
    }
}

/// Opens the store and finds a person of a workspace by any of their identifiers.
fn open_person(
    common: &Common,
    ws: &str,
    identifier: &str,
) -> anyhow::Result<(SqliteStore, i64, i64)> {
    let store = open_store(&load_config(common, None)?)?;
    let w = workspace(&store, ws, false)?.id;
    let person = store
        .resolve(w, identifier)?
        .ok_or_else(|| anyhow!("no person is known by `{identifier}` in `{ws}`"))?;
    Ok((store, w, person))
}

/// A progress bar on stderr, hidden when not wanted (indicatif also hides it off a terminal).
pub fn progress_bar(len: u64, shown: bool, template: &str) -> indicatif::ProgressBar {
    let bar = if shown {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, listen } => {
            let config = load_config(&common, listen)?;
            let store = Arc::new(open_store(&config)?);
            serve(store, config)
        }
        Command::Demo(args) => demo::run(args),
        Command::Import(args) => import::run_cli(args),
        Command::Journey { action } => crate::journey_cmd::run(action),
        Command::Sessions(args) => crate::sessions_cmd::run(*args),
        Command::Transitions(args) => crate::transitions_cmd::run(*args),
        Command::Attribution(args) => crate::attribution_cmd::run(*args),
        Command::Paths { command } => crate::paths_cmd::run(*command),
        Command::Retention(args) => crate::retention_cmd::run(*args),
        Command::Kpi { command } => crate::kpi_cmd::run(*command),
        Command::Sentiment { command } => crate::sentiment_cmd::run(command),
        Command::Surveys(args) => crate::surveys_cmd::run(*args),
        Command::Emotion(args) => crate::emotion_cmd::run(*args),
        Command::Themes(args) => crate::themes_cmd::run(*args),
        Command::Frictions(args) => crate::frictions_cmd::run(*args),
        Command::Keys { action } => keys(action),
        Command::Workspaces { action } => match action {
            WorkspacesAction::Create { name, common } => {
                let store = open_store(&load_config(&common, None)?)?;
                let w = store.create_workspace(&name)?;
                println!("{}", w.name);
                Ok(())
            }
            WorkspacesAction::List { common } => {
                let store = open_store(&load_config(&common, None)?)?;
                for w in store.workspaces()? {
                    println!("{}\t{}\t{}", w.id, w.name, store.event_count(w.id)?);
                }
                Ok(())
            }
            WorkspacesAction::Delete { name, yes, common } => {
                let store = open_store(&load_config(&common, None)?)?;
                let w = workspace(&store, &name, false)?;
                if !yes {
                    bail!(
                        "workspace `{name}` holds {} events and {} keys: run again with --yes to \
                         delete it with everything it holds (this cannot be undone)",
                        store.event_count(w.id)?,
                        store.keys(w.id)?.len()
                    );
                }
                let d = crate::analysis::delete_workspace(&store, w.id, None)?;
                println!(
                    "deleted workspace {name}: {} events, {} persons, {} identities, {} keys (erasure #{})",
                    d.events_deleted, d.persons_deleted, d.identities_deleted, d.keys_deleted, d.erasure_id
                );
                Ok(())
            }
        },
        Command::Erase {
            identifier,
            workspace: ws,
            common,
        } => {
            let (store, w, person) = open_person(&common, &ws, &identifier)?;
            let report = crate::analysis::erase_person(&store, w, person, None)?;
            println!(
                "erased: {} events, {} identities (erasure #{})",
                report.events_deleted, report.identities_deleted, report.erasure_id
            );
            if !report.same_email_persons.is_empty() {
                let n = report.same_email_persons.len();
                println!(
                    "  {n} other {} declared the same email, not erased (they may be other people; if not, erase them too): {}",
                    if n == 1 { "person" } else { "persons" },
                    report.same_email_persons.join(", ")
                );
            }
            Ok(())
        }
        Command::Timeline {
            identifier,
            workspace: ws,
            common,
        } => {
            let (store, w, person) = open_person(&common, &ws, &identifier)?;
            for e in store.person_events(w, person)? {
                println!("{}", serde_json::to_string(&e)?);
            }
            Ok(())
        }
        Command::Export {
            workspace: ws,
            from,
            to,
            common,
        } => {
            let time = |t: Option<String>, flag: &str, default: i64| -> anyhow::Result<i64> {
                t.map_or(Ok(default), |t| {
                    parcours_core::time::parse_lenient(&t)
                        .map_err(|e| anyhow!("--{flag} `{t}`: {e}"))
                })
            };
            let (from, to) = (time(from, "from", i64::MIN)?, time(to, "to", i64::MAX)?);
            let store = open_store(&load_config(&common, None)?)?;
            let w = workspace(&store, &ws, false)?.id;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut failed = None;
            store.scan_events(w, 0, &mut |e| {
                if failed.is_none() && from <= e.event.timestamp && e.event.timestamp < to {
                    failed = serde_json::to_writer(&mut out, &e)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| Ok(writeln!(out)?))
                        .err();
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            out.flush()?;
            Ok(())
        }
        Command::Config {
            action: ConfigAction::PrintDefault,
        } => {
            print!("{DEFAULT_TOML}");
            Ok(())
        }
    }
}

fn keys(action: KeysAction) -> anyhow::Result<()> {
    match action {
        KeysAction::Create {
            workspace: ws,
            scope,
            label,
            common,
        } => {
            let store = open_store(&load_config(&common, None)?)?;
            let w = workspace(&store, &ws, true)?;
            let (_, secret) = store.create_key(w.id, scope, label.as_deref())?;
            println!("{secret}");
        }
        KeysAction::List {
            workspace: ws,
            common,
        } => {
            let store = open_store(&load_config(&common, None)?)?;
            let w = workspace(&store, &ws, false)?;
            for k in store.keys(w.id)? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{}\t{}\t{}…\t{}\t{}",
                    k.id,
                    k.scope.as_str(),
                    k.prefix,
                    state,
                    k.label.unwrap_or_default()
                );
            }
        }
        KeysAction::Revoke {
            workspace: ws,
            id,
            common,
        } => {
            let store = open_store(&load_config(&common, None)?)?;
            let w = workspace(&store, &ws, false)?;
            if !store.revoke_key(w.id, id)? {
                return Err(anyhow!("no live key {id} in `{ws}`"));
            }
            println!("revoked key {id}");
        }
    }
    Ok(())
}

/// Starts the server on a fresh runtime and blocks until it has shut down.
pub fn serve(store: Arc<SqliteStore>, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        server::serve(server::AppState::new(store, config), listener).await
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subcommand_is_well_formed() {
        // clap checks names, groups and conflicts only when a subcommand is used.
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn an_error_says_each_cause_once() {
        use anyhow::Context;
        // A data directory whose database is not one, opened for real.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("parcours.db"), [0x5a; 8192]).unwrap();
        let e = parcours_store::SqliteStore::open(dir.path(), Default::default())
            .map(drop)
            .context("opening the store in bad")
            .unwrap_err();
        assert_eq!(
            super::message_of(&e),
            "opening the store in bad: sqlite: file is not a database"
        );
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = Err::<(), _>(parcours_store::StoreError::Io {
            path: "/d".into(),
            source: io,
        })
        .context("opening the store in /d")
        .unwrap_err();
        assert_eq!(
            super::message_of(&e),
            "opening the store in /d: io on /d: permission denied"
        );
        // A cause that says something new is kept.
        let e = Err::<(), _>(anyhow::anyhow!("invalid digit"))
            .context("line 3")
            .unwrap_err();
        assert_eq!(super::message_of(&e), "line 3: invalid digit");
    }

    #[test]
    fn every_subcommand_and_argument_says_what_it_is() {
        // A subcommand without a doc comment of its own takes that of an argument struct
        // it flattens (`Common`'s "Where the data lives…" was `workspaces create`'s).
        use clap::CommandFactory;
        fn walk(c: &clap::Command, path: &str, bad: &mut Vec<String>) {
            for sub in c.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                if about.is_empty() || about.starts_with("Where the data lives") {
                    bad.push(format!("{path}: {about:?}"));
                }
                let silent = sub.get_arguments().filter(|a| {
                    !a.is_hide_set()
                        && !["help", "version"].contains(&a.get_id().as_str())
                        && a.get_help().is_none()
                        && a.get_long_help().is_none()
                });
                for arg in silent {
                    bad.push(format!("{path} {}: no help", arg.get_id()));
                }
                walk(sub, &path, bad);
            }
        }
        let mut bad = Vec::new();
        walk(&super::Cli::command(), "parcours", &mut bad);
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
