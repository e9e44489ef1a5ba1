//! What the benchmark binaries share: the product's allocator, timing runs and reading
//! the process's peak memory.

use std::time::Instant;

// The analyses are measured with the allocator the `parcours` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Wall times of repeated runs, in milliseconds: the median, and the fastest run (on a
/// shared machine the fastest is the least disturbed; both are printed).
#[derive(Debug, Clone, Copy)]
pub struct Ms {
    pub median: f64,
    pub fastest: f64,
}

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} ms (fastest {:.1})", self.median, self.fastest)
    }
}

impl Ms {
    /// `{ "median": …, "fastest": … }` for the figures file.
    pub fn json(self) -> serde_json::Value {
        serde_json::json!({ "median": self.median, "fastest": self.fastest })
    }
}

/// One run off the clock first (every engine's first run pays for allocating its working
/// memory and warming its caches; the peers' scripts do the same), then `repeat` timed.
fn runs<T>(repeat: usize, mut before: impl FnMut(usize), mut f: impl FnMut() -> T) -> (Ms, T) {
    std::hint::black_box(f());
    let mut times = Vec::new();
    let mut last = None;
    for round in 0..repeat.max(1) {
        before(round);
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let ms = Ms {
        median: times[times.len() / 2],
        fastest: times[0],
    };
    (ms, last.expect("ran once"))
}

/// `repeat` runs of `f`: their times and the last result.
pub fn timed<T>(repeat: usize, f: impl FnMut() -> T) -> (Ms, T) {
    runs(repeat, |_| {}, f)
}

/// Like [`timed`], but each run starts with the processor's caches holding none of the
/// data (64 MB, twice this machine's L3, are written first, off the clock): what one query
/// costs on its own, rather than when the same query runs again and again.
#[allow(dead_code)]
pub fn timed_cold<T>(repeat: usize, f: impl FnMut() -> T) -> (Ms, T) {
    let mut flush = vec![0u8; 64 << 20];
    runs(
        repeat,
        |round| {
            flush.fill(round as u8);
            std::hint::black_box(&flush);
        },
        f,
    )
}

/// This process's peak resident memory, in MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
