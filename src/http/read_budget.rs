//! The byte budget that concurrent record reads share, so that many large reads at once
//! cannot make the server hold more memory than a set amount.
//!
//! A read (a partition read or a consumer's fetch) reserves twice its `max_bytes` before it
//! fetches: the fetched records and their JSON answer live side by side while the answer is
//! written. Once written, the reservation shrinks to the answer's size and travels inside the
//! answer's bytes (`Bytes::from_owner`), so it is returned exactly when that memory is freed:
//! after the last byte is sent, or when the client goes away. A read waits for room, without
//! holding anything, for at most [`READ_BUDGET_WAIT`]; then it is refused with 429.
//!
//! Reads do not queue behind each other while there is room: taking a reservation is one
//! atomic operation on a semaphore.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// Bytes all reads in progress may hold together, answers waiting to be sent included.
pub const READ_BUDGET_BYTES: usize = 256 << 20;

/// The largest `max_bytes` one read may ask for; larger values are lowered to it, as REST
/// Proxy lowers them to its `consumer.request.max.bytes` (also 64 MiB).
pub const MAX_READ_BYTES: usize = 64 << 20;

/// `max_bytes` when a read gives none.
pub const DEFAULT_READ_BYTES: usize = 1 << 20;

/// How long a read waits for room in the budget before it is refused.
pub const READ_BUDGET_WAIT: Duration = Duration::from_secs(10);

/// The budget: permits are bytes.
pub struct ReadBudget {
    permits: Arc<Semaphore>,
    total: usize,
    wait: Duration,
}

impl Default for ReadBudget {
    fn default() -> ReadBudget {
        ReadBudget::new(READ_BUDGET_BYTES, READ_BUDGET_WAIT)
    }
}

impl ReadBudget {
    /// A budget of `total` bytes (at least 1, at most 4 GiB − 1: a reservation is a `u32`)
    /// where a read waits at most `wait` for room.
    pub fn new(total: usize, wait: Duration) -> ReadBudget {
        let total = total.clamp(1, u32::MAX as usize);
        ReadBudget {
            permits: Arc::new(Semaphore::new(total)),
            total,
            wait,
        }
    }

    /// Bytes of the budget no read holds now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Reserves room for a read of up to `max_bytes` of records (already capped at
    /// [`MAX_READ_BYTES`]). One read alone always fits: it reserves at most the whole budget.
    pub async fn reserve(&self, max_bytes: usize) -> Result<Reservation, ApiError> {
        let wanted = max_bytes.saturating_mul(2).clamp(1, self.total) as u32;
        if let Ok(permit) = self.permits.clone().try_acquire_many_owned(wanted) {
            return Ok(Reservation(permit));
        }
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_many_owned(wanted)).await {
            Ok(Ok(permit)) => Ok(Reservation(permit)),
            _ => Err(ApiError::plain(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many reads at once: reads in progress share a budget of {} bytes, \
                     each holding twice its max_bytes until its answer is sent, and {wanted} bytes did not come \
                     free within {} ms; retry later or ask for a smaller max_bytes",
                    self.total,
                    self.wait.as_millis()
                ),
            )),
        }
    }
}

/// Room taken in the budget, returned when dropped.
pub struct Reservation(OwnedSemaphorePermit);

impl Reservation {
    /// The answer's bytes, holding as much of the reservation as they take (what is left
    /// over returns now) until they are dropped.
    pub fn hold(mut self, answer: Vec<u8>) -> Bytes {
        let keep = answer.len().clamp(1, self.0.num_permits());
        drop(self.0.split(self.0.num_permits() - keep));
        Bytes::from_owner(HeldAnswer {
            answer,
            _permit: self.0,
        })
    }
}

/// An answer and its share of the budget, freed together.
struct HeldAnswer {
    answer: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for HeldAnswer {
    fn as_ref(&self) -> &[u8] {
        &self.answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_hold_their_share_until_dropped() {
        let budget = ReadBudget::new(1000, Duration::from_millis(20));
        let reservation = budget.reserve(300).await.unwrap();
        assert_eq!(budget.available(), 400, "twice max_bytes is reserved");
        let answer = reservation.hold(vec![b'x'; 100]);
        assert_eq!(
            budget.available(),
            900,
            "the surplus returns once the answer is written"
        );
        let sent = answer.clone();
        drop(answer);
        assert_eq!(budget.available(), 900, "a clone still holds the bytes");
        drop(sent);
        assert_eq!(budget.available(), 1000);
    }

    #[tokio::test]
    async fn a_full_budget_refuses_after_waiting_and_a_single_read_always_fits() {
        let budget = ReadBudget::new(1000, Duration::from_millis(20));
        let all = budget.reserve(10_000).await.unwrap();
        assert_eq!(budget.available(), 0, "one read larger than the budget takes all of it");
        let refused = budget.reserve(1).await.err().expect("no room");
        assert_eq!((refused.status.as_u16(), refused.code), (429, 429));
        assert!(refused.message.contains("budget of 1000 bytes"), "{}", refused.message);
        drop(all);
        assert!(budget.reserve(1).await.is_ok());
    }
}
