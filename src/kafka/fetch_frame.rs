//! Fetch answers encoded around their record bytes.
//!
//! A Fetch answer is mostly record batches, read from the log as stored (mapped from the
//! page cache when large, see `broker::segment`). Encoding it whole would copy every batch
//! into one buffer the size of the answer (clients ask up to 50 MiB); instead the fields
//! go into small buffers and each large run of batches stays the piece it was read as, so
//! the connection's writer hands them all to the socket in vectored writes and nothing
//! the size of the answer is ever allocated.
//!
//! The bytes are exactly the protocol crate's encoding of the same response (the tests
//! compare them for every version Herald advertises). A response using a field this
//! encoder does not write (aborted transactions, the tagged fields of newer versions) is
//! not encoded here, and goes through that crate's encoder instead.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::FetchResponse;

/// The Fetch versions this encoder writes: those Herald advertises (`versions.rs`).
const VERSIONS: std::ops::RangeInclusive<i16> = 4..=12;
/// Record runs shorter than this are copied in with the fields: a separate piece costs
/// an entry in the vectored write, which is dearer than copying a few KiB.
const COPY_BELOW: usize = 16 * 1024;

/// The frame of a Fetch answer (size, header, body) as pieces to send back to back, or
/// `None` when the response holds something this encoder does not write.
pub fn encode(correlation_id: i32, version: i16, response: &FetchResponse) -> Option<Vec<Bytes>> {
    if !VERSIONS.contains(&version) || !plain(response) {
        return None;
    }
    let flexible = version >= 12;
    let mut out = Pieces::new();
    out.fields.put_i32(correlation_id);
    if flexible {
        // The response header's (empty) tagged fields.
        put_uvarint(&mut out.fields, 0);
    }
    out.fields.put_i32(response.throttle_time_ms);
    if version >= 7 {
        out.fields.put_i16(response.error_code);
        out.fields.put_i32(response.session_id);
    }
    put_len(&mut out.fields, flexible, response.responses.len());
    for topic in &response.responses {
        put_string(&mut out.fields, flexible, topic.topic.0.as_bytes());
        put_len(&mut out.fields, flexible, topic.partitions.len());
        for partition in &topic.partitions {
            out.fields.put_i32(partition.partition_index);
            out.fields.put_i16(partition.error_code);
            out.fields.put_i64(partition.high_watermark);
            out.fields.put_i64(partition.last_stable_offset);
            if version >= 5 {
                out.fields.put_i64(partition.log_start_offset);
            }
            // Aborted transactions: none (`plain`), an empty array or null.
            match &partition.aborted_transactions {
                Some(_) => put_len(&mut out.fields, flexible, 0),
                None => put_null(&mut out.fields, flexible),
            }
            if version >= 11 {
                out.fields.put_i32(partition.preferred_read_replica.0);
            }
            match &partition.records {
                Some(records) => {
                    put_len(&mut out.fields, flexible, records.len());
                    out.records(records);
                }
                None => put_null(&mut out.fields, flexible),
            }
            if flexible {
                put_uvarint(&mut out.fields, 0);
            }
        }
        if flexible {
            put_uvarint(&mut out.fields, 0);
        }
    }
    if flexible {
        put_uvarint(&mut out.fields, 0);
    }
    Some(out.finish())
}

/// Whether every field of `response` is one this encoder writes, or at its default where
/// a version would write it as a tagged field.
fn plain(response: &FetchResponse) -> bool {
    response.unknown_tagged_fields.is_empty()
        && response.node_endpoints.is_empty()
        && response.responses.iter().all(plain_topic)
}

fn plain_topic(topic: &FetchableTopicResponse) -> bool {
    topic.unknown_tagged_fields.is_empty() && topic.partitions.iter().all(plain_partition)
}

fn plain_partition(partition: &PartitionData) -> bool {
    let defaults = PartitionData::default();
    partition.unknown_tagged_fields.is_empty()
        && partition.diverging_epoch == defaults.diverging_epoch
        && partition.current_leader == defaults.current_leader
        && partition.snapshot_id == defaults.snapshot_id
        && partition.aborted_transactions.as_ref().is_none_or(Vec::is_empty)
}

/// The frame being built: finished pieces, and the fields written since the last one.
struct Pieces {
    /// The first is the frame's size, filled in at the end.
    done: Vec<Bytes>,
    fields: BytesMut,
}

impl Pieces {
    fn new() -> Pieces {
        Pieces {
            done: vec![Bytes::new()],
            fields: BytesMut::with_capacity(1024),
        }
    }

    fn records(&mut self, records: &Bytes) {
        if records.len() < COPY_BELOW {
            self.fields.extend_from_slice(records);
            return;
        }
        if !self.fields.is_empty() {
            self.done.push(self.fields.split().freeze());
        }
        self.done.push(records.clone());
    }

    fn finish(mut self) -> Vec<Bytes> {
        if !self.fields.is_empty() {
            self.done.push(self.fields.freeze());
        }
        let size: usize = self.done.iter().map(Bytes::len).sum();
        // An answer is at most the broker's fetch limit, far below 2 GiB.
        let size = i32::try_from(size).unwrap_or(i32::MAX);
        self.done[0] = Bytes::copy_from_slice(&size.to_be_bytes());
        self.done
    }
}

/// An array's or a byte string's length: INT32 before the flexible versions, and from
/// them an unsigned varint of the length plus one (zero being null).
fn put_len(out: &mut BytesMut, flexible: bool, len: usize) {
    if flexible {
        put_uvarint(out, u32::try_from(len).unwrap_or(u32::MAX - 1) + 1);
    } else {
        out.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
    }
}

fn put_null(out: &mut BytesMut, flexible: bool) {
    if flexible {
        put_uvarint(out, 0);
    } else {
        out.put_i32(-1);
    }
}

/// A string: INT16 length before the flexible versions, compact (varint length plus one)
/// from them. Topic names are at most 249 bytes.
fn put_string(out: &mut BytesMut, flexible: bool, bytes: &[u8]) {
    if flexible {
        put_len(out, true, bytes.len());
    } else {
        out.put_i16(i16::try_from(bytes.len()).unwrap_or(i16::MAX));
    }
    out.extend_from_slice(bytes);
}

fn put_uvarint(out: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::fetch_response::{AbortedTransaction, EpochEndOffset};
    use kafka_protocol::messages::{BrokerId, TopicName};
    use kafka_protocol::protocol::{HeaderVersion, StrBytes};

    use super::*;
    use crate::kafka::frame::encode_response;

    fn partition(index: i32, records: Option<Bytes>) -> PartitionData {
        PartitionData::default()
            .with_partition_index(index)
            .with_high_watermark(1_000 + i64::from(index))
            .with_last_stable_offset(1_000 + i64::from(index))
            .with_log_start_offset(7)
            .with_preferred_read_replica(BrokerId(-1))
            .with_records(records)
    }

    fn topic(name: &str, partitions: Vec<PartitionData>) -> FetchableTopicResponse {
        FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_string(name.to_string())))
            .with_partitions(partitions)
    }

    /// Records of every size class (none, null, small enough to copy, large enough to be
    /// a piece of their own, two large ones in a row), errors, and a long topic name.
    fn varied() -> FetchResponse {
        let large = Bytes::from((0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let small = Bytes::from_static(b"a small batch, copied in with the fields");
        FetchResponse::default()
            .with_throttle_time_ms(3)
            .with_session_id(0)
            .with_responses(vec![
                topic(
                    "orders",
                    vec![
                        partition(0, Some(Bytes::new())),
                        partition(1, None).with_error_code(1),
                        partition(2, Some(small.clone())),
                        partition(3, Some(large.clone())),
                        partition(4, Some(large.slice(10..150_000))),
                    ],
                ),
                topic(
                    &"t".repeat(249),
                    vec![partition(0, Some(large)), partition(1, Some(small))],
                ),
                topic("empty", vec![]),
            ])
    }

    fn expected(response: &FetchResponse, version: i16) -> Vec<u8> {
        let header = FetchResponse::header_version(version);
        encode_response(42, header, response, version).unwrap().to_vec()
    }

    #[test]
    fn pieces_are_the_protocol_encoding_at_every_advertised_version() {
        let response = varied();
        for version in VERSIONS {
            let pieces = encode(42, version, &response).expect("a plain response");
            assert_eq!(pieces.concat(), expected(&response, version), "Fetch v{version}");
        }
    }

    #[test]
    fn large_records_are_not_copied() {
        let response = varied();
        let large = response.responses[0].partitions[3].records.clone().unwrap();
        let pieces = encode(1, 12, &response).unwrap();
        assert!(
            pieces
                .iter()
                .any(|p| p.as_ptr() == large.as_ptr() && p.len() == large.len()),
            "the large records are a piece of their own, sharing the read's memory"
        );
        // The size, then fields and a large run in turn three times, then the last fields.
        assert_eq!(pieces.len(), 8);
    }

    #[test]
    fn an_aborted_transaction_or_a_tagged_field_goes_to_the_generic_encoder() {
        let aborted = FetchResponse::default().with_responses(vec![topic(
            "orders",
            vec![partition(0, None).with_aborted_transactions(Some(vec![AbortedTransaction::default()]))],
        )]);
        assert!(encode(1, 12, &aborted).is_none());
        let diverging = FetchResponse::default().with_responses(vec![topic(
            "orders",
            vec![partition(0, None).with_diverging_epoch(EpochEndOffset::default().with_epoch(3))],
        )]);
        assert!(encode(1, 12, &diverging).is_none());
        assert!(encode(1, 13, &varied()).is_none(), "an unadvertised version");
        // A null aborted-transactions array is written as null.
        let null = FetchResponse::default().with_responses(vec![topic(
            "orders",
            vec![partition(0, None).with_aborted_transactions(None)],
        )]);
        for version in VERSIONS {
            assert_eq!(encode(42, version, &null).unwrap().concat(), expected(&null, version));
        }
    }

    #[test]
    fn varints_match_the_protocol_at_their_boundaries() {
        for (value, bytes) in [
            (0u32, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (16_383, vec![0xff, 0x7f]),
            (16_384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = BytesMut::new();
            put_uvarint(&mut out, value);
            assert_eq!(out.to_vec(), bytes, "{value}");
        }
    }
}
