//! Idempotent producers' state for one partition: for each producer id its epoch and its last
//! [`KEPT_BATCHES`] appended batches, so that a retried batch is recognised and answered
//! with its original offset instead of being appended twice, and a gap or a fenced producer
//! is refused.
//!
//! The rules, checked for a batch with `producerId >= 0` before it is appended (under the
//! log's lock, so two appends cannot race between check and append):
//! - same epoch, (first, last sequence) equal to one of the kept batches: a duplicate;
//! - a lower epoch than the one known: the producer was fenced (`InvalidProducerEpoch`);
//! - a higher epoch: its first batch must start at sequence 0;
//! - same epoch: the first sequence must follow the last appended one (wrapping from
//!   `i32::MAX` to 0), else `OutOfOrderSequence { expected, got }`;
//! - an id without state: the first batch must start at sequence 0, else
//!   `UnknownProducerId`. Kafka answers this when a producer's state is gone (its batches
//!   all removed by retention, here too) and clients react to it by resetting their
//!   sequence or bumping their epoch, which is what such a producer needs; an
//!   out-of-order answer would make them retry the same batch forever.
//!
//! The state is rebuilt from the log's batch headers when a partition opens after a crash,
//! and saved beside the log at a clean shutdown ([`ProducerStates::encode`]). Pure code:
//! the log does the file work.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use super::batch::{next_sequence, BatchHeader};

/// Batches remembered per producer: Kafka clients keep at most 5 requests in flight per
/// partition with idempotence, so a retry is always one of the last 5.
pub const KEPT_BATCHES: usize = 5;

/// An appended batch, as a later retry of it is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub base_offset: i64,
    pub last_offset: i64,
}

/// How long a producer's state is kept after its last append, as Kafka's
/// `producer.id.expiration.ms` (one day): without it every producer that ever wrote would
/// be remembered, and each client restart is a new producer id. Measured by the broker's
/// clock, not the records' timestamps, so a producer replaying old records is not
/// forgotten while it writes.
pub const PRODUCER_EXPIRATION_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Producer {
    epoch: i16,
    /// Oldest first; never empty.
    batches: VecDeque<BatchMeta>,
    /// When it last appended (ms since the epoch, the broker's clock); for a state rebuilt
    /// from the log, when the log was opened.
    last_append_ms: i64,
}

/// Why a producer's batch is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProducerError {
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
    /// The batch's epoch is older than the producer's: a newer instance fenced it.
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    /// No state for the id, and the batch does not start a sequence.
    UnknownProducerId {
        producer_id: i64,
        sequence: i32,
    },
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProducerError::OutOfOrderSequence {
                producer_id,
                expected,
                got,
            } => write!(
                f,
                "out of order sequence for producer {producer_id}: expected {expected}, got {got}"
            ),
            ProducerError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current,
            } => write!(
                f,
                "producer {producer_id} was fenced: epoch {epoch} is older than its current epoch {current}"
            ),
            ProducerError::UnknownProducerId { producer_id, sequence } => write!(
                f,
                "unknown producer id {producer_id}: no state for it, and its batch starts at sequence {sequence}, not 0"
            ),
        }
    }
}

/// What appending a batch means for its producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// Already appended, as this batch.
    Duplicate(BatchMeta),
}

/// The state of every idempotent producer that appended to one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStates {
    producers: HashMap<i64, Producer>,
}

impl ProducerStates {
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Whether a batch with `header`'s producer fields may be appended (see the module).
    pub fn check(&self, header: &BatchHeader) -> Result<Verdict, ProducerError> {
        let producer_id = header.producer_id;
        if producer_id < 0 {
            return Ok(Verdict::Append);
        }
        let (epoch, first) = (header.producer_epoch, header.base_sequence);
        let Some(known) = self.producers.get(&producer_id) else {
            return match first {
                0 => Ok(Verdict::Append),
                sequence => Err(ProducerError::UnknownProducerId { producer_id, sequence }),
            };
        };
        if epoch < known.epoch {
            return Err(ProducerError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current: known.epoch,
            });
        }
        let expected = if epoch > known.epoch {
            0
        } else {
            let last = header.last_sequence();
            if let Some(meta) = known
                .batches
                .iter()
                .find(|b| b.first_sequence == first && b.last_sequence == last)
            {
                return Ok(Verdict::Duplicate(*meta));
            }
            known.batches.back().map_or(0, |b| next_sequence(b.last_sequence, 1))
        };
        if first != expected {
            return Err(ProducerError::OutOfOrderSequence {
                producer_id,
                expected,
                got: first,
            });
        }
        Ok(Verdict::Append)
    }

    /// Notes a batch appended at `now_ms` (`header` with its offsets assigned). A new epoch
    /// starts the producer's remembered batches afresh.
    pub fn record(&mut self, header: &BatchHeader, now_ms: i64) {
        if header.producer_id < 0 {
            return;
        }
        let meta = BatchMeta {
            first_sequence: header.base_sequence,
            last_sequence: header.last_sequence(),
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
        };
        let producer = self.producers.entry(header.producer_id).or_insert_with(|| Producer {
            epoch: header.producer_epoch,
            batches: VecDeque::with_capacity(KEPT_BATCHES),
            last_append_ms: now_ms,
        });
        producer.last_append_ms = now_ms;
        if header.producer_epoch != producer.epoch {
            producer.epoch = header.producer_epoch;
            producer.batches.clear();
        }
        if producer.batches.len() == KEPT_BATCHES {
            producer.batches.pop_front();
        }
        producer.batches.push_back(meta);
    }

    /// A copy of the state of the producers of `headers` only: a request's batches are
    /// checked against it one after the other before any is appended.
    pub fn of(&self, headers: &[BatchHeader]) -> ProducerStates {
        let producers = headers
            .iter()
            .filter_map(|h| Some((h.producer_id, self.producers.get(&h.producer_id)?.clone())))
            .collect();
        ProducerStates { producers }
    }

    /// Forgets producers whose every remembered batch is before `start_offset` (removed by
    /// retention), as Kafka does: their next batch starts afresh or is `UnknownProducerId`.
    pub fn forget_before(&mut self, start_offset: i64) {
        self.producers
            .retain(|_, p| p.batches.back().is_some_and(|b| b.last_offset >= start_offset));
    }

    /// Forgets producers that last appended more than [`PRODUCER_EXPIRATION_MS`] before
    /// `now_ms`, as Kafka expires producer ids.
    pub fn expire(&mut self, now_ms: i64) {
        let oldest = now_ms.saturating_sub(PRODUCER_EXPIRATION_MS);
        self.producers.retain(|_, p| p.last_append_ms >= oldest);
    }

    /// The state as saved at a clean shutdown of a log whose next offset is `next_offset`:
    /// `HPS1`, next offset (i64), producer count (u32), then per producer its id (i64),
    /// epoch (i16), last append (i64, ms), batch count (u8) and per batch first and last
    /// sequence (i32 each), base and last offset (i64 each); a CRC-32C of all that closes it.
    /// Big-endian.
    pub fn encode(&self, next_offset: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.producers.len() * (19 + KEPT_BATCHES * 24));
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&next_offset.to_be_bytes());
        out.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        for (id, producer) in &self.producers {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&producer.epoch.to_be_bytes());
            out.extend_from_slice(&producer.last_append_ms.to_be_bytes());
            out.push(producer.batches.len() as u8);
            for b in &producer.batches {
                out.extend_from_slice(&b.first_sequence.to_be_bytes());
                out.extend_from_slice(&b.last_sequence.to_be_bytes());
                out.extend_from_slice(&b.base_offset.to_be_bytes());
                out.extend_from_slice(&b.last_offset.to_be_bytes());
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// The state in a saved snapshot, if it is whole and was saved at `next_offset` (the
    /// clean-shutdown marker's): anything else is not trusted and the log is scanned.
    pub fn decode(bytes: &[u8], next_offset: i64) -> Option<ProducerStates> {
        let (body, crc) = bytes.split_last_chunk::<4>()?;
        if crc32c::crc32c(body) != u32::from_be_bytes(*crc) {
            return None;
        }
        let mut reader = Cursor(body);
        if reader.take(4)? != SNAPSHOT_MAGIC || reader.i64()? != next_offset {
            return None;
        }
        let count = reader.u32()?;
        let mut producers = HashMap::with_capacity((count as usize).min(body.len() / 11));
        for _ in 0..count {
            let id = reader.i64()?;
            let epoch = i16::from_be_bytes(reader.take(2)?.try_into().ok()?);
            let last_append_ms = reader.i64()?;
            let batches = reader.take(1)?[0] as usize;
            if batches == 0 || batches > KEPT_BATCHES {
                return None;
            }
            let mut kept = VecDeque::with_capacity(KEPT_BATCHES);
            for _ in 0..batches {
                kept.push_back(BatchMeta {
                    first_sequence: reader.u32()? as i32,
                    last_sequence: reader.u32()? as i32,
                    base_offset: reader.i64()?,
                    last_offset: reader.i64()?,
                });
            }
            producers.insert(
                id,
                Producer {
                    epoch,
                    batches: kept,
                    last_append_ms,
                },
            );
        }
        reader.0.is_empty().then_some(ProducerStates { producers })
    }
}

const SNAPSHOT_MAGIC: &[u8] = b"HPS1";

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(producer_id: i64, epoch: i16, first: i32, count: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 100,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id,
            producer_epoch: epoch,
            base_sequence: first,
            record_count: count,
        }
    }

    /// Checks and, when it is to be appended, records the batch.
    fn append(states: &mut ProducerStates, header: BatchHeader) -> Result<Verdict, ProducerError> {
        let verdict = states.check(&header)?;
        if verdict == Verdict::Append {
            states.record(&header, 0);
        }
        Ok(verdict)
    }

    #[test]
    fn sequences_follow_on_and_retries_of_the_last_five_are_duplicates() {
        let mut states = ProducerStates::default();
        for i in 0..7 {
            assert_eq!(
                append(&mut states, batch(7, 0, i * 3, 3, 100 + i64::from(i) * 3)),
                Ok(Verdict::Append)
            );
        }
        // Batches 2..=6 are remembered; 0 and 1 have left the window.
        let retry = append(&mut states, batch(7, 0, 6, 3, -1)).unwrap();
        assert_eq!(
            retry,
            Verdict::Duplicate(BatchMeta {
                first_sequence: 6,
                last_sequence: 8,
                base_offset: 106,
                last_offset: 108
            })
        );
        assert_eq!(
            append(&mut states, batch(7, 0, 0, 3, -1)),
            Err(ProducerError::OutOfOrderSequence {
                producer_id: 7,
                expected: 21,
                got: 0
            }),
            "older than the window"
        );
        assert_eq!(
            append(&mut states, batch(7, 0, 22, 1, -1)),
            Err(ProducerError::OutOfOrderSequence {
                producer_id: 7,
                expected: 21,
                got: 22
            }),
            "a gap"
        );
        assert_eq!(
            append(&mut states, batch(7, 0, 6, 2, -1)),
            Err(ProducerError::OutOfOrderSequence {
                producer_id: 7,
                expected: 21,
                got: 6
            }),
            "same first sequence, other length: not the same batch"
        );
        assert_eq!(
            append(&mut states, batch(-1, -1, -1, 5, 0)),
            Ok(Verdict::Append),
            "no producer id"
        );
        assert_eq!(states.len(), 1);
    }

    #[test]
    fn epochs_fence_older_producers_and_start_at_zero() {
        let mut states = ProducerStates::default();
        append(&mut states, batch(1, 3, 0, 2, 0)).unwrap();
        assert_eq!(
            append(&mut states, batch(1, 2, 2, 1, -1)),
            Err(ProducerError::InvalidProducerEpoch {
                producer_id: 1,
                epoch: 2,
                current: 3
            })
        );
        assert_eq!(
            append(&mut states, batch(1, 4, 2, 1, -1)),
            Err(ProducerError::OutOfOrderSequence {
                producer_id: 1,
                expected: 0,
                got: 2
            })
        );
        assert_eq!(append(&mut states, batch(1, 4, 0, 1, 2)), Ok(Verdict::Append));
        assert_eq!(
            append(&mut states, batch(1, 3, 0, 2, -1)),
            Err(ProducerError::InvalidProducerEpoch {
                producer_id: 1,
                epoch: 3,
                current: 4
            }),
            "a retry from the old epoch is fenced, not a duplicate"
        );
        assert_eq!(
            append(&mut states, batch(9, 0, 5, 1, -1)),
            Err(ProducerError::UnknownProducerId {
                producer_id: 9,
                sequence: 5
            })
        );
    }

    #[test]
    fn sequences_wrap_past_i32_max() {
        let mut states = ProducerStates::default();
        states.record(&batch(1, 0, i32::MAX - 2, 1, 0), 0);
        let straddling = batch(1, 0, i32::MAX - 1, 4, 1);
        assert_eq!(straddling.last_sequence(), 1, "MAX-1, MAX, 0, 1");
        assert_eq!(append(&mut states, straddling), Ok(Verdict::Append));
        assert_eq!(append(&mut states, batch(1, 0, 2, 1, 5)), Ok(Verdict::Append));
        assert!(matches!(append(&mut states, straddling), Ok(Verdict::Duplicate(_))));
    }

    #[test]
    fn snapshots_round_trip_and_anything_else_is_refused() {
        let mut states = ProducerStates::default();
        for (id, epoch) in [(1, 0), (2, 5), (3, 1)] {
            for i in 0..(id as i32 * 3) {
                states.record(&batch(id, epoch, i, 1, i64::from(i)), 1_000 * id);
            }
        }
        let saved = states.encode(42);
        assert_eq!(ProducerStates::decode(&saved, 42), Some(states.clone()));
        assert_eq!(ProducerStates::decode(&saved, 43), None, "saved at another offset");
        for len in 0..saved.len() {
            assert_eq!(ProducerStates::decode(&saved[..len], 42), None, "truncated to {len}");
        }
        let mut damaged = saved.clone();
        damaged[20] ^= 1;
        assert_eq!(ProducerStates::decode(&damaged, 42), None);
        let empty = ProducerStates::default();
        assert_eq!(ProducerStates::decode(&empty.encode(0), 0), Some(empty));
    }

    #[test]
    fn producers_idle_for_a_day_are_forgotten() {
        let mut states = ProducerStates::default();
        let day = PRODUCER_EXPIRATION_MS;
        states.record(&batch(1, 0, 0, 1, 0), 10 * day);
        states.record(&batch(2, 0, 0, 1, 1), 10 * day);
        states.record(&batch(2, 0, 1, 1, 2), 10 * day + 5);
        states.expire(11 * day);
        assert_eq!(states.len(), 2, "a day exactly: kept");
        states.expire(11 * day + 1);
        assert_eq!(states.len(), 1, "the one that appended since is kept");
        assert!(states.check(&batch(1, 0, 1, 1, -1)).is_err(), "forgotten: unknown now");
        assert_eq!(states.check(&batch(2, 0, 2, 1, -1)), Ok(Verdict::Append));
    }

    #[test]
    fn retention_forgets_producers_whose_batches_are_gone() {
        let mut states = ProducerStates::default();
        states.record(&batch(1, 0, 0, 10, 0), 0);
        states.record(&batch(2, 0, 0, 10, 10), 0);
        states.forget_before(10);
        assert!(states.check(&batch(1, 0, 10, 1, -1)).is_err(), "unknown now");
        assert_eq!(states.check(&batch(2, 0, 10, 1, -1)), Ok(Verdict::Append));
        assert_eq!(states.len(), 1);
    }
}
