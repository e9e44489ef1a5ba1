//! `explore-bench`: the exploration benchmarks of issue #4 (see `bench/README.md`).
//!
//! ```text
//! explore-bench --data-dir DIR [--workspace demo] [--repeat 7]
//!               [--export FILE.csv] [--json FILE]
//! ```
//!
//! Builds the frame of persons with their revenue, then times on it:
//!
//! - the transition graph of event names (repeats kept);
//! - attribution of `Order Completed` to channels with a 30-day lookback (repeats
//!   collapsed, the default): cutting the paths; first, last and linear; the Markov
//!   chain of order 1 and of order 2; every model at once;
//! - paths of event names (repeats collapsed): the flow after each actor's first home
//!   page (5 steps), the step matrix (10 columns), the top 10 variants, the loops;
//! - retention: weekly cohorts of first-seen actors, any event as a return, 8 weeks, with
//!   the lifecycle, the value per actor and stickiness (the peers run the whole report,
//!   and `explore_peers.py` checks every figure of it); and the same without the value
//!   per actor, set beside the peers' cohort matrix alone.
//!
//! `EXPLORE_ONLY_RETENTION=1` times retention alone, printing the median and the fastest
//! run (for profiling with `perf`, and for comparing two builds on a noisy machine).
//!
//! `--export` writes the frame's events (actor, time, name, channel, revenue; no
//! bookkeeping messages) for the peers, `--json` the figures and results for
//! `explore_peers.py`, which checks the peers' answers against these.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use parcours::analysis::{load_frame_with, FrameSpec};
use parcours_core::attribution::extract::{extract, ExtractOptions, TouchBy};
use parcours_core::attribution::{attribute, parse_models, AttributionOptions, AttributionReport};
use parcours_core::frame::{is_bookkeeping, Frame};
use parcours_core::paths::flow::{flow, FlowOptions};
use parcours_core::paths::matrix::{step_matrix, MatrixOptions};
use parcours_core::paths::variants::{loops, variants};
use parcours_core::paths::{anchors, Occurrence, Walk};
use parcours_core::retention::{retention, RetentionOptions};
use parcours_core::transitions::{transition_graph, NodeBy, TransitionOptions};
use parcours_store::{SqliteStore, Store, StoreOptions};
use serde_json::json;

#[path = "timing.rs"]
mod timing;
use timing::{peak_rss_mb, timed};

struct Args {
    data_dir: PathBuf,
    workspace: String,
    repeat: usize,
    export: Option<PathBuf>,
    json: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data_dir: PathBuf::new(),
        workspace: "demo".into(),
        repeat: 7,
        export: None,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => a.data_dir = value.into(),
            "--workspace" => a.workspace = value,
            "--repeat" => a.repeat = value.parse()?,
            "--export" => a.export = Some(value.into()),
            "--json" => a.json = Some(value.into()),
            other => bail!("unknown flag {other}"),
        }
    }
    if a.data_dir.as_os_str().is_empty() {
        bail!("--data-dir is required");
    }
    Ok(a)
}

fn credits(report: &AttributionReport, model: &str) -> serde_json::Value {
    report
        .rows
        .iter()
        .map(|r| (r.touch.clone(), json!(r.credits[model].conversions)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let store = SqliteStore::open(&args.data_dir, StoreOptions::default())?;
    let ws = store
        .workspace_by_name(&args.workspace)?
        .with_context(|| format!("no workspace {}", args.workspace))?;
    let spec = FrameSpec {
        properties: vec!["$revenue".into()],
        ..FrameSpec::default()
    };
    let t = Instant::now();
    let frame = load_frame_with(&store, ws.id, &spec, store.cache_dir().as_deref())?;
    println!(
        "frame: {} events, {} actors, read in {:.0} ms",
        frame.len(),
        frame.actor_count(),
        t.elapsed().as_secs_f64() * 1e3
    );

    // Each event's revenue, for retention's value per actor.
    let value = Some(frame.property("$revenue").context("revenue column")?);
    if std::env::var_os("EXPLORE_ONLY_RETENTION").is_some() {
        let options = RetentionOptions::default();
        let (ms, _) = timed(args.repeat, || {
            retention(&frame, |_| true, |_| true, value, None, &options)
        });
        println!("retention alone: {ms}");
        return Ok(());
    }
    let graph_options = TransitionOptions {
        by: NodeBy::Name,
        collapse_repeats: false,
        top: usize::MAX,
        ..TransitionOptions::default()
    };
    let (graph_ms, graph) = timed(args.repeat, || transition_graph(&frame, &graph_options));
    println!(
        "transition graph (event names, repeats kept): {graph_ms}; {} transitions, {} edges",
        graph.transitions, graph.edges_total
    );

    let order = frame.names().get("Order Completed").context("no orders")?;
    let names = frame.name();
    let is_order = |i: usize| names[i] == order;
    let cut = ExtractOptions {
        touch: TouchBy::Channel,
        ..ExtractOptions::default()
    };
    let model_set = |m: &str, order: usize| AttributionOptions {
        models: parse_models(m, 7.0 * 86_400.0, None).expect("models"),
        markov_order: order,
        ..AttributionOptions::default()
    };
    let (paths_ms, paths) = timed(args.repeat, || {
        extract(&frame, is_order, |_| false, &cut).expect("paths")
    });
    let run = |models: &str, order: usize| {
        let options = model_set(models, order);
        timed(args.repeat, || {
            let paths = extract(&frame, is_order, |_| false, &cut).expect("paths");
            attribute(&paths, &options).expect("attribution")
        })
    };
    for m in ["first", "linear", "markov"] {
        let options = model_set(m, 1);
        let (ms, _) = timed(args.repeat, || {
            attribute(&paths, &options).expect("attribution")
        });
        println!("  {m} alone on the cut paths: {ms}");
    }
    let (heuristic_ms, heuristics) = run("first,last,linear", 1);
    let (markov_ms, markov) = run("markov", 1);
    let (markov2_ms, markov2) = run("markov", 2);
    let (all_ms, all) = run("all", 1);
    println!(
        "attribution paths (Order Completed, channels, 30 days): {paths_ms}; {} paths, {:.0} conversions",
        paths.len(),
        heuristics.conversions
    );
    println!("attribution first + last + linear, paths included: {heuristic_ms}");
    println!(
        "attribution Markov order 1, paths included: {markov_ms} ({} states, {})",
        markov.markov.as_ref().map_or(0, |m| m.states),
        markov.markov.as_ref().map_or("", |m| m.solver.method)
    );
    println!(
        "attribution Markov order 2, paths included: {markov2_ms} ({} states, {})",
        markov2.markov.as_ref().map_or(0, |m| m.states),
        markov2.markov.as_ref().map_or("", |m| m.solver.method)
    );
    println!(
        "attribution, all {} models (Shapley {}), paths included: {all_ms}",
        all.models.len(),
        all.shapley.as_ref().map_or("-", |s| s.method)
    );

    // Paths: the flow after the first home page, the step matrix, variants, loops.
    let home = frame.names().get("home").context("no home page")?;
    let flow_options = FlowOptions {
        steps: 5,
        top: 1000,
        ..FlowOptions::default()
    };
    let (flow_ms, fl) = timed(args.repeat, || {
        let anchor = anchors(&frame, |i| names[i] == home, Occurrence::Nth(1));
        flow(&frame, &anchor, &flow_options)
    });
    println!(
        "flow after the first home page (5 steps, names, repeats collapsed): {flow_ms}; {} actors, {} links",
        fl.actors,
        fl.links.len()
    );
    let matrix_options = MatrixOptions::default();
    let (matrix_ms, matrix) = timed(args.repeat, || step_matrix(&frame, None, &matrix_options));
    println!(
        "step matrix (10 steps): {matrix_ms}; {} rows",
        matrix.rows.len()
    );
    let walk = Walk::default();
    let (variants_ms, vs) = timed(args.repeat, || variants(&frame, &walk, None, 10));
    println!(
        "variants (names, top 10): {variants_ms}; {} distinct among {} actors",
        vs.distinct, vs.actors
    );
    let (loops_ms, lp) = timed(args.repeat, || loops(&frame, &walk, None, 10));
    println!(
        "loops (names, top 10): {loops_ms}; {} actors go back and forth",
        lp.actors_looping
    );

    // Retention: first seen by week, any event as a return, 8 weeks, with lifecycle,
    // value per actor and stickiness.
    let retention_options = RetentionOptions::default();
    let (retention_ms, ret) = timed(args.repeat, || {
        retention(&frame, |_| true, |_| true, value, None, &retention_options)
    });
    // The peers' question has no value per actor: the same pass without reading one (the
    // lifecycle and stickiness are still computed).
    let (retention_counts_ms, _) = timed(args.repeat, || {
        retention(&frame, |_| true, |_| true, None, None, &retention_options)
    });
    println!(
        "retention without value per actor (the peers' question, plus lifecycle and stickiness): {retention_counts_ms}"
    );
    println!(
        "retention (weekly cohorts of first-seen actors, any event, 8 weeks, lifecycle, value, stickiness): {retention_ms}; {} cohorts",
        ret.cohorts.len()
    );

    println!("peak RSS: {:.0} MB", peak_rss_mb());

    if let Some(path) = &args.export {
        export(&frame, path)?;
        println!("exported the frame's events to {}", path.display());
    }
    if let Some(path) = &args.json {
        let edges: Vec<_> = graph
            .edges
            .iter()
            .map(|e| json!([e.from, e.to, e.transitions, e.actors, e.median_s]))
            .collect();
        let figures = json!({
            "events": frame.len(),
            "transitions_ms": graph_ms.json(),
            "transitions": graph.transitions,
            "edges": edges,
            "attribution_paths_ms": paths_ms.json(),
            "attribution_heuristics_ms": heuristic_ms.json(),
            "markov_ms": markov_ms.json(),
            "markov2_ms": markov2_ms.json(),
            "all_models_ms": all_ms.json(),
            "conversions": heuristics.conversions,
            "first": credits(&heuristics, "first"),
            "last": credits(&heuristics, "last"),
            "linear": credits(&heuristics, "linear"),
            "flow_ms": flow_ms.json(),
            "flow_nodes": fl.nodes.iter().map(|n| json!([n.step, n.name, n.actors])).collect::<Vec<_>>(),
            "flow_links": fl.links.iter().map(|l| json!([l.step, l.source, l.target, l.actors])).collect::<Vec<_>>(),
            "matrix_ms": matrix_ms.json(),
            "matrix": matrix.rows.iter().map(|r| (r.name.clone(), json!(r.shares))).collect::<serde_json::Map<_, _>>(),
            "variants_ms": variants_ms.json(),
            "variants": vs.variants.iter().map(|v| json!([v.sequence.join(">"), v.actors])).collect::<Vec<_>>(),
            "loops_ms": loops_ms.json(),
            "retention_ms": retention_ms.json(),
            "retention_counts_ms": retention_counts_ms.json(),
            "retention": ret.cohorts.iter().map(|c| json!([c.start, c.size, c.retained])).collect::<Vec<_>>(),
            "retention_value": ret.cohorts.iter().map(|c| json!([c.start, c.value_per_actor])).collect::<Vec<_>>(),
            "lifecycle": ret.lifecycle.iter().map(|l| json!([l.start, l.active, l.new, l.returning, l.resurrecting, l.dormant])).collect::<Vec<_>>(),
            "stickiness": ret.stickiness.as_ref().map(|s| json!([s.histogram, s.daily_over_period])),
        });
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)?;
    }
    store.close();
    Ok(())
}

/// `actor,seq,ts,name,channel,revenue` (actor as its frame index, `seq` the row's place
/// in the frame — the canonical order of ties —, time in microseconds), bookkeeping
/// messages left out: what the analyses above read.
fn export(frame: &Frame, path: &std::path::Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["actor", "seq", "ts", "name", "channel", "revenue"])?;
    let (ts, kinds, names, channels) = (frame.ts(), frame.kind(), frame.name(), frame.channel());
    let revenue = frame.property("$revenue").context("revenue column")?;
    for a in 0..frame.actor_count() {
        let actor = a.to_string();
        for i in frame.actor_range(a) {
            if is_bookkeeping(kinds[i]) {
                continue;
            }
            let value = match frame.values().value(revenue[i]) {
                serde_json::Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            w.write_record([
                actor.as_str(),
                &i.to_string(),
                &ts[i].to_string(),
                frame.names().name(names[i]),
                frame.channels().name(channels[i] as u32),
                &value,
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
