//! `parcours demo`: builds (or reuses) a demo data directory holding the Maison Lumière
//! dataset, ingested through the real pipeline (the ingestion parser, normaliser,
//! deduplication and stitching), then serves it.
//!
//! The dataset is deterministic for a seed and a customer count; `--csv DIR` also writes
//! it as `events.csv` and `costs.csv`, in the column conventions `parcours import` reads.

mod generator;
mod rng;
mod text;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use parcours_core::payload::{parse_message_value, Limits};
use parcours_store::{Prepared, Scope, SqliteStore, Store, WorkspaceId};
use serde_json::Value;

pub use generator::{Demo, CAMPAIGNS, PERSONAS};

use crate::cli::{load_config, open_store, workspace, Common};

pub const WORKSPACE: &str = "demo";

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Customers to simulate (about 10 events each).
    #[arg(long, default_value_t = 2000)]
    pub customers: u64,
    /// The random seed: the same seed and customer count give the same dataset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also write the dataset as CSV files (events.csv, costs.csv) into this directory.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Build the data only; do not start the server.
    #[arg(long)]
    pub no_serve: bool,
    /// Address to serve on.
    #[arg(long)]
    pub listen: Option<String>,
    /// Skip building into the store (with --csv: only write the files).
    #[arg(long)]
    pub csv_only: bool,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    if args.common.data_dir.is_none() {
        args.common.data_dir = Some(PathBuf::from("parcours-demo"));
    }
    let demo = Demo {
        seed: args.seed,
        customers: args.customers,
    };
    if let Some(dir) = &args.csv {
        let n = write_csv(&demo, dir)?;
        eprintln!("wrote {n} events and the ad costs to {}", dir.display());
        if args.csv_only {
            return Ok(());
        }
    }
    let config = load_config(&args.common, args.listen.clone())?;
    let store = Arc::new(open_store(&config)?);
    let ws = build(&store, &demo, config.data_dir.as_path(), true)?;
    let keys = demo_keys(&store, ws, &config.data_dir)?;
    println!(
        "parcours demo: {} events for {} customers in {}",
        store.event_count(ws)?,
        demo.customers,
        config.data_dir.display()
    );
    println!("  workspace: {WORKSPACE}");
    for (scope, key) in &keys {
        println!("  {scope:<5} key: {key}");
    }
    if args.no_serve {
        store.close();
        return Ok(());
    }
    let listen = config.server.listen.clone();
    let read = &keys[1].1;
    // An identified customer, to show a stitched timeline.
    let mut person = None;
    store.identity_map(ws, &mut |i| {
        if person.is_none() && i.kind == parcours_store::IdentityKind::UserId {
            person = Some(i.value);
        }
    })?;
    let person = person.unwrap_or_else(|| "cust-0000001".into());
    println!("  serving on http://{listen}  (Ctrl-C to stop)");
    println!("  try: curl -H 'Authorization: Bearer {read}' http://{listen}/api/v1/persons/{person}/timeline");
    crate::cli::serve(store, config)
}

/// Builds the demo into the store unless a build with the same seed and size is already
/// there. Returns the demo workspace.
pub fn build(
    store: &SqliteStore,
    demo: &Demo,
    data_dir: &Path,
    progress: bool,
) -> anyhow::Result<WorkspaceId> {
    let marker = data_dir.join("demo.json");
    let wanted = serde_json::json!({ "seed": demo.seed, "customers": demo.customers });
    let ws = workspace(store, WORKSPACE, true)?.id;
    let done = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    if done.as_ref() == Some(&wanted) && store.event_count(ws)? > 0 {
        eprintln!("reusing the demo data in {}", data_dir.display());
        return Ok(ws);
    }
    let started = std::time::Instant::now();
    let (inserted, duplicates) = ingest(store, ws, demo, progress)?;
    store.upsert_costs(ws, demo.costs())?;
    std::fs::write(&marker, wanted.to_string())
        .with_context(|| format!("writing {}", marker.display()))?;
    eprintln!(
        "built the demo: {inserted} events stored ({duplicates} already present) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ws)
}

/// Generates customers on this thread and appends on the store's writer, in chunks.
fn ingest(
    store: &SqliteStore,
    ws: WorkspaceId,
    demo: &Demo,
    progress: bool,
) -> anyhow::Result<(u64, u64)> {
    let bar = crate::cli::progress_bar(
        demo.customers,
        progress,
        "{spinner} customers {pos}/{len} {bar:30} {per_sec} eta {eta}",
    );
    // Prepared on the generating thread, which frees what it allocated (see
    // `Store::prepare`).
    let (tx, rx) = sync_channel::<Prepared>(4);
    let received = crate::server::now_micros();
    let demo = *demo;
    let generate = move || -> anyhow::Result<()> {
        let limits = Limits::default();
        let mut chunk = Vec::with_capacity(10_000);
        for i in 0..demo.customers {
            for message in demo.customer(i) {
                let Value::Object(m) = message else { continue };
                let event = parse_message_value(m, received, &limits, &mut || {
                    unreachable!("demo messages carry ids")
                })
                .map_err(|e| anyhow::anyhow!("demo customer {i}: {e} ({:?})", e.field))?;
                chunk.push(event);
            }
            if chunk.len() >= 10_000
                && tx
                    .send(store.prepare(ws, &mut std::mem::take(&mut chunk).into_iter()))
                    .is_err()
            {
                return Ok(()); // The store side stopped; its error is reported there.
            }
            bar.inc(1);
        }
        if !chunk.is_empty() {
            let _ = tx.send(store.prepare(ws, &mut chunk.into_iter()));
        }
        bar.finish_and_clear();
        Ok(())
    };
    let (mut inserted, mut duplicates) = (0u64, 0u64);
    std::thread::scope(|scope| {
        let producer = scope.spawn(generate);
        store.append_prepared(&mut rx.into_iter(), &mut |o| {
            inserted += o.inserted as u64;
            duplicates += o.duplicates as u64;
        })?;
        producer
            .join()
            .map_err(|_| anyhow::anyhow!("the demo generator panicked"))?
    })?;
    Ok((inserted, duplicates))
}

/// The demo's keys, created once and kept in `demo-keys.txt` (readable by the owner only)
/// so that a reused demo shows the same keys. Demo only: real keys are never kept.
fn demo_keys(
    store: &SqliteStore,
    ws: WorkspaceId,
    data_dir: &Path,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let path = data_dir.join("demo-keys.txt");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let keys: Vec<(&'static str, String)> = ["write", "read", "admin"]
            .into_iter()
            .zip(text.lines().map(str::to_string))
            .collect();
        if keys.len() == 3
            && keys
                .iter()
                .all(|(_, k)| matches!(store.authenticate(k), Ok(Some(_))))
        {
            return Ok(keys);
        }
    }
    let mut keys = Vec::new();
    for scope in [Scope::Write, Scope::Read, Scope::Admin] {
        let (_, secret) = store.create_key(ws, scope, Some("demo"))?;
        keys.push((scope.as_str(), secret));
    }
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    for (_, k) in &keys {
        writeln!(file, "{k}")?;
    }
    Ok(keys)
}

/// Writes `events.csv` (one Segment message per row: ids, time, and JSON columns for
/// properties, traits and context) and `costs.csv`. Returns the number of events.
pub fn write_csv(demo: &Demo, dir: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut w = csv::Writer::from_path(dir.join("events.csv"))?;
    w.write_record([
        "message_id",
        "type",
        "event",
        "name",
        "user_id",
        "anonymous_id",
        "group_id",
        "previous_id",
        "timestamp",
        "properties",
        "traits",
        "context",
    ])?;
    let mut n = 0u64;
    let text = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let json = |m: &Value, k: &str| {
        m.get(k)
            .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
            .map(Value::to_string)
            .unwrap_or_default()
    };
    for i in 0..demo.customers {
        for m in demo.customer(i) {
            let group = match m.get("groupId") {
                Some(Value::String(g)) => g.clone(),
                _ => m["context"]
                    .get("groupId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            };
            w.write_record([
                text(&m, "messageId"),
                text(&m, "type"),
                text(&m, "event"),
                text(&m, "name"),
                text(&m, "userId"),
                text(&m, "anonymousId"),
                group,
                text(&m, "previousId"),
                text(&m, "timestamp"),
                json(&m, "properties"),
                json(&m, "traits"),
                json(&m, "context"),
            ])?;
            n += 1;
        }
    }
    w.flush()?;
    let mut c = csv::Writer::from_path(dir.join("costs.csv"))?;
    c.write_record([
        "day",
        "campaign",
        "channel",
        "source",
        "cost",
        "currency",
        "impressions",
        "clicks",
    ])?;
    for r in demo.costs() {
        c.write_record([
            r.day,
            r.campaign,
            r.channel,
            r.source,
            format!("{:.2}", r.cost),
            r.currency,
            r.impressions.map(|v| v.to_string()).unwrap_or_default(),
            r.clicks.map(|v| v.to_string()).unwrap_or_default(),
        ])?;
    }
    c.flush()?;
    Ok(n)
}
