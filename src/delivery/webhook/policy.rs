//! What a delivery attempt's outcome means and what happens next: pure rules, no I/O.
//!
//! - An answer of 2xx delivers the record.
//! - 400, 413, 415 and 422 say the receiver cannot take *this record*: after the attempts
//!   allowed, it goes to the dead-letter topic (or, without one, the subscription pauses:
//!   nothing is skipped silently).
//! - 410 Gone says the endpoint is gone: the subscription pauses at once.
//! - Anything else (no connection, a timeout, 5xx, 429, 408, redirects, 401, 403, 404) is the
//!   endpoint's trouble, not the record's: retried with exponential backoff and full jitter
//!   (429's and 503's `Retry-After` honoured), and after the attempts allowed the
//!   subscription pauses with the cause, so an outage does not dead-letter every record.

use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// The endpoint answered this status, perhaps with a `Retry-After` in seconds.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, TLS, timeout, a broken connection.
    Failed(String),
}

/// What to do after an attempt that did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try the same record again after this long.
    Retry(Duration),
    /// The record is poison: dead-letter it (or pause when there is nowhere to put it).
    DeadLetter,
    /// Stop delivering until an operator resumes.
    Pause,
}

/// Retry settings of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per record before it is dead-lettered or the subscription pauses.
    pub max_attempts: u32,
    /// The first backoff; each next one doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Whether an answer blames the record rather than the endpoint.
pub fn blames_record(status: u16) -> bool {
    matches!(status, 400 | 413 | 415 | 422)
}

impl RetryPolicy {
    /// What follows attempt number `attempt` (1 for the first) that ended in `outcome`;
    /// `random` is a number in [0, 1) for the jitter.
    pub fn next(&self, attempt: u32, outcome: &Outcome, random: f64) -> Next {
        let (poison, retry_after) = match outcome {
            Outcome::Delivered => unreachable!("a delivered record has no next attempt"),
            Outcome::Status { status: 410, .. } => return Next::Pause,
            Outcome::Status { status, retry_after } => (blames_record(*status), *retry_after),
            Outcome::Failed(_) => (false, None),
        };
        if attempt >= self.max_attempts {
            return if poison { Next::DeadLetter } else { Next::Pause };
        }
        Next::Retry(retry_after.map_or_else(|| self.backoff(attempt, random), |after| after.min(self.max_backoff)))
    }

    /// "Full jitter": a uniform wait between zero and the exponential bound, so receivers
    /// coming back from an outage are not hit by every subscription at the same moment.
    /// At least a millisecond, so a retry never spins.
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        doubled.mul_f64(random.clamp(0.0, 1.0)).max(Duration::from_millis(1))
    }
}

/// A subscription's rate limit: a token bucket of one second's worth of records, so a
/// receiver sees at most `per_second` records in any second after a short burst.
#[derive(Debug, Clone)]
pub struct RateLimit {
    per_second: f64,
    tokens: f64,
    /// Seconds on the caller's clock when `tokens` was last topped up.
    at: f64,
}

impl RateLimit {
    pub fn new(per_second: u32, now: f64) -> RateLimit {
        let per_second = f64::from(per_second.max(1));
        RateLimit {
            per_second,
            tokens: per_second,
            at: now,
        }
    }

    /// Takes a token at `now` (seconds), or says how long to wait for one.
    pub fn take(&mut self, now: f64) -> Result<(), Duration> {
        self.tokens = (self.tokens + (now - self.at).max(0.0) * self.per_second).min(self.per_second);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

/// A cheap random number in [0, 1) for jitter (SplitMix64 over a seed from the system).
pub struct Jitter(u64);

impl Jitter {
    pub fn new() -> Jitter {
        let mut seed = [0u8; 8];
        let _ = getrandom::getrandom(&mut seed);
        Jitter(u64::from_le_bytes(seed))
    }

    pub fn draw(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Jitter {
        Jitter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Outcome {
        Outcome::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn endpoint_trouble_retries_then_pauses_and_poison_goes_to_the_dead_letter() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        for outcome in [
            status(500),
            status(503),
            status(429),
            status(404),
            Outcome::Failed("refused".into()),
        ] {
            assert!(matches!(policy.next(1, &outcome, 0.5), Next::Retry(_)), "{outcome:?}");
            assert_eq!(policy.next(3, &outcome, 0.5), Next::Pause, "{outcome:?}");
        }
        for poison in [400, 413, 415, 422] {
            assert!(matches!(policy.next(2, &status(poison), 0.5), Next::Retry(_)));
            assert_eq!(policy.next(3, &status(poison), 0.5), Next::DeadLetter);
        }
        assert_eq!(policy.next(1, &status(410), 0.5), Next::Pause);
    }

    #[test]
    fn backoff_doubles_with_full_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 50,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(policy.backoff(1, 0.5), Duration::from_millis(50));
        assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(200));
        assert_eq!(policy.backoff(40, 0.5), Duration::from_millis(500));
        assert_eq!(policy.backoff(2, 0.0), Duration::from_millis(1));
        let retry_after = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(policy.next(1, &retry_after, 0.5), Next::Retry(Duration::from_secs(1)));
    }

    #[test]
    fn the_rate_limit_allows_a_second_of_burst_then_spaces_records() {
        let mut limit = RateLimit::new(10, 0.0);
        for _ in 0..10 {
            assert_eq!(limit.take(0.0), Ok(()));
        }
        let wait = limit.take(0.0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert_eq!(limit.take(0.1), Ok(()));
        assert!(limit.take(0.15).is_err());
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let mut jitter = Jitter::new();
        let draws: Vec<f64> = (0..1000).map(|_| jitter.draw()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
