//! Counters and latency histograms, rendered in the Prometheus text format at `/metrics`.
//! Hand-written: a few atomics and one small map are all parcours needs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{le}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Ids of accepted messages that were placeholders (`"undefined"`, `0`…), taken as
    /// absent.
    pub placeholder_ids: AtomicU64,
    pub ingest_latency: Histogram,
    pub commit_latency: Histogram,
}

impl Metrics {
    pub fn request(&self, endpoint: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((endpoint.to_string(), status)).or_default() += 1;
    }

    pub fn render(&self, queue_depth: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP parcours_ingest_requests_total Ingestion requests by endpoint and status.\n# TYPE parcours_ingest_requests_total counter\n");
        for ((endpoint, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "parcours_ingest_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP parcours_ingest_events_total Events received, by outcome.\n# TYPE parcours_ingest_events_total counter\n");
        for (outcome, counter) in [
            ("accepted", &self.events_accepted),
            ("duplicate", &self.events_duplicate),
            ("rejected", &self.events_rejected),
        ] {
            let _ = writeln!(
                out,
                "parcours_ingest_events_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP parcours_ingest_placeholder_ids_total Ids of accepted messages that were placeholders (\"undefined\", \"null\", 0…) and were taken as absent: a client sends them when it has no id.\n# TYPE parcours_ingest_placeholder_ids_total counter\nparcours_ingest_placeholder_ids_total {}",
            self.placeholder_ids.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP parcours_rate_limited_total Requests refused by the rate limiter.\n# TYPE parcours_rate_limited_total counter\nparcours_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        self.ingest_latency.render(
            &mut out,
            "parcours_ingest_request_duration_seconds",
            "Time to answer an ingestion request, commit included.",
        );
        self.commit_latency.render(
            &mut out,
            "parcours_store_append_duration_seconds",
            "Time from handing a batch to the writer to its commit.",
        );
        let _ = writeln!(out, "# HELP parcours_writer_queue_depth Write jobs waiting for the writer.\n# TYPE parcours_writer_queue_depth gauge\nparcours_writer_queue_depth {queue_depth}");
        out
    }
}
