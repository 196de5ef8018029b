//! The byte budget that concurrent record reads share, so that many large reads at once
//! cannot make the server hold more memory than a set amount.
//!
//! A read (a partition read or a consumer's fetch) holds two things: the batches it reads
//! from the log, and the JSON answer it writes from them (records are never decoded into
//! owned copies: keys and values go straight from the batches into the answer). Before it
//! reads, it reserves a share for each ([`Reservation`]):
//!
//! - the batches: `max_bytes`, but at least one whole batch of the ordinary largest size, a
//!   produce request's body (`max_request_bytes`), because a log read returns at least one
//!   whole batch however small `max_bytes` is. A batch larger than that (a produce whose
//!   records grew when encoded) is dropped as soon as it is seen, the share grown to its size
//!   (waiting for room), and read again, so it is never held unaccounted while waiting;
//! - the answer: twice `max_bytes` plus [`MIN_ANSWER_BYTES`]. The answer writer never grows
//!   past its share: it stops adding records at the first that does not fit, and the client's
//!   next read continues from there. Only the first record always goes in (a reader must
//!   progress); when it alone does not fit, the share is grown to its exact size first.
//!
//! Once written, the batches are dropped and the reservation shrinks to the answer's size and
//! travels inside the answer's bytes (`Bytes::from_owner`), so it is returned exactly when
//! that memory is freed: after the last byte is sent, or when the client goes away. A read
//! waits for room for at most [`READ_BUDGET_WAIT`]; then it is refused with 429.
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

/// The answer share of the smallest reads: room for a few ordinary records, so that tiny
/// `max_bytes` still return a handful of small records per round trip.
pub const MIN_ANSWER_BYTES: usize = 64 << 10;

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
    /// [`MAX_READ_BYTES`]) from a log whose ordinary batches are at most `batch_bytes`.
    pub async fn reserve(&self, max_bytes: usize, batch_bytes: usize) -> Result<Reservation, ApiError> {
        let mut batches = max_bytes.max(batch_bytes).max(1);
        let mut answer = max_bytes.saturating_mul(2).saturating_add(MIN_ANSWER_BYTES);
        if batches.saturating_add(answer) > self.total {
            // A read larger than the whole budget is scaled down to it: it reads fewer
            // batches (see `Reservation::batches`) and writes a shorter answer.
            batches = batch_bytes.max(self.total / 3).max(1);
            answer = self.total.saturating_sub(batches).max(MIN_ANSWER_BYTES);
        }
        let permit = self.acquire(batches.saturating_add(answer)).await?;
        Ok(Reservation {
            permit,
            batches,
            answer,
        })
    }

    /// Grows the batches' share of `reservation` to `bytes`, waiting for room.
    pub async fn grow_batches(&self, reservation: &mut Reservation, bytes: usize) -> Result<(), ApiError> {
        if bytes > reservation.batches {
            reservation.add(self.acquire(bytes - reservation.batches).await?);
            reservation.batches = bytes;
        }
        Ok(())
    }

    /// Grows the answer's share of `reservation` to `bytes`, waiting for room.
    pub async fn grow_answer(&self, reservation: &mut Reservation, bytes: usize) -> Result<(), ApiError> {
        if bytes > reservation.answer {
            reservation.add(self.acquire(bytes - reservation.answer).await?);
            reservation.answer = bytes;
        }
        Ok(())
    }

    /// `bytes` of room (the whole budget when it is smaller: one read alone always runs),
    /// waiting at most the budget's wait.
    async fn acquire(&self, bytes: usize) -> Result<OwnedSemaphorePermit, ApiError> {
        let wanted = bytes.clamp(1, self.total) as u32;
        if let Ok(permit) = self.permits.clone().try_acquire_many_owned(wanted) {
            return Ok(permit);
        }
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_many_owned(wanted)).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::plain(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many reads at once: reads in progress share a budget of {} bytes, \
                     each holding room for its batches and its answer (about three times its \
                     max_bytes, at least one whole batch) until its answer is sent, and {wanted} \
                     bytes did not come free within {} ms; retry later or ask for a smaller max_bytes",
                    self.total,
                    self.wait.as_millis()
                ),
            )),
        }
    }
}

/// Room taken in the budget, returned when dropped: a share for the batches a read holds
/// and one for its answer.
pub struct Reservation {
    permit: OwnedSemaphorePermit,
    batches: usize,
    answer: usize,
}

impl Reservation {
    /// Bytes of log batches the read may hold at once: what it asks the log for, at most.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Bytes the answer may take (its allocation, not only what is written).
    pub fn answer(&self) -> usize {
        self.answer
    }

    fn add(&mut self, more: OwnedSemaphorePermit) {
        self.permit.merge(more);
    }

    /// The answer's bytes, holding as much of the reservation as their allocation takes
    /// (what is left over returns now) until they are dropped. The batches must be dropped
    /// by now.
    pub fn hold(mut self, answer: Vec<u8>) -> Bytes {
        let held = self.permit.num_permits();
        let keep = answer.capacity().clamp(1, held);
        drop(self.permit.split(held - keep));
        Bytes::from_owner(HeldAnswer {
            answer,
            _permit: self.permit,
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
        let budget = ReadBudget::new(1 << 20, Duration::from_millis(20));
        let reservation = budget.reserve(1000, 4000).await.unwrap();
        assert_eq!(
            (reservation.batches(), reservation.answer()),
            (4000, 2000 + MIN_ANSWER_BYTES)
        );
        assert_eq!(
            budget.available(),
            (1 << 20) - 6000 - MIN_ANSWER_BYTES,
            "a whole batch and twice max_bytes (and a little) are reserved"
        );
        let mut answer = Vec::with_capacity(100);
        answer.extend_from_slice(&[b'x'; 10]);
        let answer = reservation.hold(answer);
        assert_eq!(
            budget.available(),
            (1 << 20) - 100,
            "the surplus returns once the answer is written; its allocation stays counted"
        );
        let sent = answer.clone();
        drop(answer);
        assert_eq!(budget.available(), (1 << 20) - 100, "a clone still holds the bytes");
        drop(sent);
        assert_eq!(budget.available(), 1 << 20);
    }

    #[tokio::test]
    async fn shares_grow_by_what_they_lack_and_return_together() {
        let budget = ReadBudget::new(1 << 20, Duration::from_millis(20));
        let mut reservation = budget.reserve(1, 1000).await.unwrap();
        let taken = (1 << 20) - budget.available();
        budget.grow_batches(&mut reservation, 5000).await.unwrap();
        budget
            .grow_answer(&mut reservation, 2 * MIN_ANSWER_BYTES)
            .await
            .unwrap();
        budget.grow_answer(&mut reservation, 10).await.unwrap();
        assert_eq!(
            (reservation.batches(), reservation.answer()),
            (5000, 2 * MIN_ANSWER_BYTES)
        );
        assert_eq!((1 << 20) - budget.available(), taken + 4000 + MIN_ANSWER_BYTES - 2);
        drop(reservation);
        assert_eq!(budget.available(), 1 << 20);
    }

    #[tokio::test]
    async fn a_full_budget_refuses_after_waiting_and_a_single_read_always_fits() {
        let budget = ReadBudget::new(1000, Duration::from_millis(20));
        let mut all = budget.reserve(10_000, 0).await.unwrap();
        assert_eq!(budget.available(), 0, "one read larger than the budget takes all of it");
        assert_eq!(
            (all.batches(), all.answer()),
            (333, MIN_ANSWER_BYTES),
            "and is scaled down"
        );
        let refused = budget.reserve(1, 0).await.err().expect("no room");
        assert_eq!((refused.status.as_u16(), refused.code), (429, 429));
        assert!(refused.message.contains("budget of 1000 bytes"), "{}", refused.message);
        let refused = budget.grow_answer(&mut all, 1 << 20).await.expect_err("no room");
        assert_eq!(refused.status.as_u16(), 429);
        drop(all);
        assert!(budget.reserve(1, 0).await.is_ok());
    }
}
