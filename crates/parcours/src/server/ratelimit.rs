//! A token bucket per workspace, counted in events: `rate` tokens a second up to `burst`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use parcours_store::WorkspaceId;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<WorkspaceId, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(events_per_second: u64, burst: u64) -> RateLimiter {
        RateLimiter {
            rate: events_per_second as f64,
            burst: burst.max(events_per_second).max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` tokens, or says after how many seconds to retry.
    pub fn check(&self, workspace: WorkspaceId, n: usize) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        // A request larger than the burst costs a full bucket, so it can pass at all.
        let cost = (n as f64).min(self.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = buckets.entry(workspace).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            Err(((cost - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_beyond_burst_and_names_a_wait() {
        let limiter = RateLimiter::new(10, 20);
        assert!(limiter.check(1, 15).is_ok());
        assert_eq!(limiter.check(1, 15), Err(1));
        assert!(
            limiter.check(2, 15).is_ok(),
            "workspaces have their own bucket"
        );
        assert!(RateLimiter::new(0, 0).check(1, 1_000_000).is_ok());
    }
}
