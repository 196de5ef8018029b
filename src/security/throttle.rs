//! Limits on how fast a client may try: failed logins by user name and by address (always
//! on), and requests by principal (when configured). Both are small in-memory tables: a
//! process forgets them on restart, which costs an attacker nothing they could not get by
//! waiting a minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins counted per key over a fixed window; past the limit every attempt of that
/// key is refused, right or wrong, until the window ends.
pub struct LoginThrottle {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
    /// Set at the first failure: until then no request takes the lock.
    any: std::sync::atomic::AtomicBool,
}

/// Keys are dropped past this many, oldest windows first being the ones already over.
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    /// `limit` failures per `window`; 0 turns throttling off.
    pub fn new(limit: u32, window: Duration) -> LoginThrottle {
        LoginThrottle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
            any: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether any failure was ever counted.
    pub fn any(&self) -> bool {
        self.any.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long the first blocked key of `keys` must wait, if any is blocked.
    pub fn blocked(&self, keys: &[&str]) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|key| failures.get(*key))
            .filter(|(started, count)| *count >= self.limit && started.elapsed() < self.window)
            .map(|(started, _)| self.window.saturating_sub(started.elapsed()))
            .max()
    }

    /// Counts a failed login against every key.
    pub fn failed(&self, keys: &[&str]) {
        if self.limit == 0 {
            return;
        }
        self.any.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, (started, _)| started.elapsed() < self.window);
        }
        for key in keys {
            let entry = failures.entry((*key).to_string()).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= self.window {
                *entry = (Instant::now(), 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }
}

/// A token bucket per principal: `rate` requests a second on average, `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (Instant, f64)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `principal`, or says how long until one is there.
    pub fn admit(&self, principal: &str) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if !buckets.contains_key(principal) {
            if buckets.len() >= MAX_KEYS {
                buckets.clear();
            }
            buckets.insert(principal.to_string(), (now, self.burst));
        }
        let Some((at, tokens)) = buckets.get_mut(principal) else {
            return Ok(());
        };
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_block_a_key_for_the_rest_of_the_window() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            throttle.failed(&["user:alice", "addr:10.0.0.1"]);
        }
        assert_eq!(throttle.blocked(&["user:alice"]), None);
        throttle.failed(&["user:alice", "addr:10.0.0.1"]);
        let wait = throttle.blocked(&["user:alice"]).unwrap();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        assert!(
            throttle.blocked(&["user:bob", "addr:10.0.0.1"]).is_some(),
            "the address too"
        );
        assert_eq!(throttle.blocked(&["user:bob", "addr:10.0.0.2"]), None);
        let off = LoginThrottle::new(0, Duration::from_secs(60));
        off.failed(&["user:alice"]);
        assert_eq!(off.blocked(&["user:alice"]), None);
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(2.0, 3.0);
        for _ in 0..3 {
            assert!(limiter.admit("svc").is_ok());
        }
        let wait = limiter.admit("svc").unwrap_err();
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.admit("other").is_ok(), "buckets are per principal");
        std::thread::sleep(Duration::from_millis(550));
        assert!(limiter.admit("svc").is_ok());
    }
}
