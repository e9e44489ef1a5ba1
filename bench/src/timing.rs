//! What the benchmark binaries share: the product's allocator, timing runs and reading
//! the process's peak memory.

use std::time::Instant;

// The analyses are measured with the allocator the `parcours` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The median wall time of `repeat` runs of `f`, in milliseconds, and its last result.
pub fn timed<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last.expect("ran once"))
}

/// Like [`timed`], but each run starts with the processor's caches holding none of the
/// data (64 MB, twice this machine's L3, are written first, off the clock): what one query
/// costs on its own, rather than when the same query runs again and again.
#[allow(dead_code)]
pub fn timed_cold<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut flush = vec![0u8; 64 << 20];
    let mut times = Vec::new();
    let mut last = None;
    for round in 0..repeat.max(1) {
        flush.fill(round as u8);
        std::hint::black_box(&flush);
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last.expect("ran once"))
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
