//! `journeys-bench`: the journey engine's benchmarks of issue #3 (see `bench/README.md`).
//!
//! ```text
//! journeys-bench --data-dir DIR [--workspace demo] [--repeat 7] [--threads 0]
//!                [--export FILE.csv] [--json FILE] [--cold]
//! ```
//!
//! Builds the frame from the store (timed, with its memory), then times on it: a
//! five-step ordered funnel with a 30-day window, the median and p90 time to convert,
//! and the top 20 four-event paths after each actor's first page view; then the funnel
//! on frames of growing shares of the actors, to show how time grows. `--export` writes the
//! frame's events (actor, time, kind, name) as CSV for the peers (DuckDB, chDB), so they
//! run on exactly the same stitched data; `--json` writes the figures for the
//! side-by-side script.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use parcours::analysis::{load_frame, load_frame_with, FrameSpec};
use parcours_core::event::EventKind;
use parcours_core::frame::{Frame, FrameBuilder, FrameRow};
use parcours_core::journey::{build_report, Engine, JourneyDef, ReportOptions, RunOptions};
use parcours_core::paths::top_paths_after;
use parcours_store::{SqliteStore, Store, StoreOptions};
use serde_json::json;

#[path = "timing.rs"]
mod timing;
use timing::{peak_rss_mb, timed, timed_cold};

/// The funnel every engine runs: five steps, ordered, 30-day window, strict ties.
pub const FUNNEL: &str = r#"
name = "bench funnel"
window = "30d"
[[stages]]
name = "home"
steps = [{ event = "home" }]
[[stages]]
name = "products"
steps = [{ event = "produits" }]
[[stages]]
name = "cart"
steps = [{ event = "Product Added" }]
[[stages]]
name = "checkout"
steps = [{ event = "Checkout Started" }]
[[stages]]
name = "order"
steps = [{ event = "Order Completed" }]
"#;

struct Args {
    data_dir: PathBuf,
    workspace: String,
    repeat: usize,
    threads: usize,
    export: Option<PathBuf>,
    json: Option<PathBuf>,
    /// Also time a build that ignores the cache.
    cold: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data_dir: PathBuf::new(),
        workspace: "demo".into(),
        repeat: 7,
        threads: 0,
        export: None,
        json: None,
        cold: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--cold" {
            a.cold = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => a.data_dir = value.into(),
            "--workspace" => a.workspace = value,
            "--repeat" => a.repeat = value.parse()?,
            "--threads" => a.threads = value.parse()?,
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

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let store = SqliteStore::open(&args.data_dir, StoreOptions::default())?;
    let ws = store
        .workspace_by_name(&args.workspace)?
        .with_context(|| format!("no workspace {}", args.workspace))?;
    let def = JourneyDef::from_toml(FUNNEL)?;

    // The frame is read through the cache beside the store (`frames/`): the first read
    // fills it from the stored events, the next ones read it and the events stored since.
    let spec = FrameSpec::default();
    let cache = store.cache_dir();
    let t = Instant::now();
    let first = load_frame_with(&store, ws.id, &spec, cache.as_deref())?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(first);
    let t = Instant::now();
    let frame = load_frame_with(&store, ws.id, &spec, cache.as_deref())?;
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "frame build: {first_ms:.0} ms on the first read (the cache filled, or read if it was there), {build_ms:.0} ms from the cache"
    );
    if args.cold {
        let t = Instant::now();
        let cold = load_frame(&store, ws.id, &spec)?;
        println!(
            "frame build without the cache (the stored events alone): {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let engine = Engine::new(&def, &cold)?;
        let (ms, _) = timed(args.repeat, || engine.run(&RunOptions::default()).len());
        println!("funnel on that frame: {ms}");
        drop(cold);
    }
    let per_event = frame.column_bytes() as f64 / frame.len().max(1) as f64;
    println!(
        "frame: {} events, {} actors, built in {:.0} ms; {:.1} bytes/event in columns, {:.1} MB of dictionaries; peak RSS {:.0} MB",
        frame.len(),
        frame.actor_count(),
        build_ms,
        per_event,
        frame.dictionary_bytes() as f64 / 1e6,
        peak_rss_mb()
    );

    let engine = Engine::new(&def, &frame)?;
    let run = RunOptions {
        threads: args.threads,
        ..RunOptions::default()
    };
    let counts_only = ReportOptions {
        counts_only: true,
        ..ReportOptions::default()
    };
    let (funnel_ms, report) = timed(args.repeat, || {
        build_report(&def, &frame, &engine.run(&run), &counts_only)
    });
    let counts: Vec<u64> = report.stages.iter().map(|s| s.entered).collect();
    println!("funnel (5 steps, ordered, 30 days): {funnel_ms}; entered per step {counts:?}");

    let (ttc_ms, (median, p90)) = timed(args.repeat, || {
        let out = engine.run(&run);
        let mut d: Vec<i64> = (0..out.len())
            .filter_map(|k| out.stage_time(k, 4).map(|t| t - out.entry_ts[k]))
            .collect();
        let s = parcours_core::stats::summarize(&mut d).expect("some converted");
        (s.median_s, s.p90_s)
    });
    println!(
        "time to convert (step 1 to 5): {ttc_ms}; median {:.0} s, p90 {:.0} s",
        median, p90
    );

    let page = EventKind::ALL
        .iter()
        .position(|k| *k == EventKind::Page)
        .expect("page kind") as u8;
    let kinds = frame.kind();
    let is_page = |i: usize| kinds[i] == page;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let (paths_ms, paths) = timed(args.repeat, || {
        top_paths_after(&frame, &is_page, 4, 20, threads)
    });
    println!("top 20 four-event paths after the first page view: {paths_ms}");
    for p in paths.iter().take(3) {
        println!("  {:>8}  {}", p.actors, p.events.join(" → "));
    }

    // Growth: the same funnel on frames holding the first 10, 25, 50 and 100% of the
    // actors (built apart, so each run walks only its own columns), with cold caches: a
    // small frame's columns would otherwise stay in the processor's cache from one run to
    // the next, and a large one's not.
    println!("funnel time by frame size (the first N% of the actors), caches cold:");
    let mut scaling = Vec::new();
    for share in [10, 25, 50, 100] {
        let cut = frame.actor_count() * share / 100;
        let part = if share == 100 {
            None
        } else {
            Some(first_actors(&frame, cut))
        };
        let part_frame = part.as_ref().unwrap_or(&frame);
        let engine = Engine::new(&def, part_frame)?;
        let (ms, report) = timed_cold(args.repeat, || {
            build_report(&def, part_frame, &engine.run(&run), &counts_only)
        });
        let events = part_frame.len();
        println!(
            "  {share:>3}% of actors, {events:>9} events: {ms} ({:.2} ns/event at the median), {} entered",
            ms.median * 1e6 / events.max(1) as f64,
            report.entered
        );
        scaling.push(json!({ "events": events, "ms": ms.json() }));
    }

    if let Some(path) = &args.export {
        export(&frame, path)?;
        println!("exported the frame's events to {}", path.display());
    }
    if let Some(path) = &args.json {
        let figures = json!({
            "events": frame.len(),
            "actors": frame.actor_count(),
            "frame_build_ms": build_ms,
            "frame_bytes_per_event": per_event,
            "peak_rss_mb": peak_rss_mb(),
            "funnel_ms": funnel_ms.json(),
            "funnel_counts": counts,
            "ttc_ms": ttc_ms.json(),
            "ttc_median_s": median,
            "ttc_p90_s": p90,
            "paths_ms": paths_ms.json(),
            "paths_top": paths.iter().take(20).map(|p| json!({"events": p.events, "actors": p.actors})).collect::<Vec<_>>(),
            "scaling": scaling,
        });
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)?;
    }
    store.close();
    Ok(())
}

/// A frame of the first `cut` actors of `frame` (no property columns).
fn first_actors(frame: &Frame, cut: usize) -> Frame {
    let mut b = FrameBuilder::new(Vec::new());
    let (ts, kinds, names) = (frame.ts(), frame.kind(), frame.name());
    let (channels, campaigns, touchpoints) =
        (frame.channel(), frame.campaign(), frame.touchpoint());
    for a in 0..cut {
        for i in frame.actor_range(a) {
            let campaign = campaigns[i];
            b.push(&FrameRow {
                actor: frame.actor_key(a),
                ts: ts[i],
                kind: EventKind::ALL[kinds[i] as usize],
                name: frame.names().name(names[i]),
                channel: frame.channels().name(channels[i] as u32),
                campaign: (campaign != 0).then(|| frame.campaigns().name(campaign)),
                touchpoint: frame.touchpoints().name(touchpoints[i]),
                properties: &[],
            });
        }
    }
    b.finish()
}

/// `actor,ts,kind,name` with the actor as its frame index and the time in microseconds.
fn export(frame: &Frame, path: &std::path::Path) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["actor", "ts", "kind", "name"])?;
    let (ts, kinds, names) = (frame.ts(), frame.kind(), frame.name());
    for a in 0..frame.actor_count() {
        let actor = a.to_string();
        for i in frame.actor_range(a) {
            w.write_record([
                actor.as_str(),
                &ts[i].to_string(),
                EventKind::ALL[kinds[i] as usize].as_str(),
                frame.names().name(names[i]),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
