//! Fetch and ListOffsets: reading the log as Kafka consumers do.
//!
//! Fetch answers whole stored batches, from the one holding the fetch offset (the client
//! skips the records before its position), never past the durable point, and always at
//! least one batch when one is there even if it is larger than the limits (KIP-74), or a
//! consumer would be stuck before it. With less than `min_bytes` available it waits (the
//! long poll) until enough arrives or `max_wait_ms` passes, woken by any partition's
//! durable point moving. Fetch sessions are declined (session id 0): clients then send
//! full requests, which a single node answers as cheaply.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::*;

use super::access::Access;
use super::cluster::NO_EPOCH;
use super::error::broker_code;
use super::Kafka;
use crate::broker::partition::arrivals;
use crate::security::Operation;

/// The longest a Fetch waits, whatever it asks: a consumer's next poll is never held up
/// by more than this.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The most one Fetch answer holds, whatever it asks (clients ask 50 MiB by default).
const MAX_FETCH_BYTES: usize = 64 * 1024 * 1024;

pub async fn fetch(kafka: &Kafka, access: &Access, request: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    loop {
        // Registered before looking, so an arrival between the look and the wait wakes it.
        let arrived = arrivals().notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let (response, found, failed) = read(kafka, access, &request);
        let now = Instant::now();
        if found >= min_bytes.max(1) || failed || now >= deadline {
            return response;
        }
        let _ = tokio::time::timeout(deadline - now, arrived).await;
    }
}

/// One pass over the partitions asked for: the answer, the record bytes in it, and whether
/// any partition answered an error (which is answered at once, not waited on).
fn read(kafka: &Kafka, access: &Access, request: &FetchRequest) -> (FetchResponse, usize, bool) {
    let mut room = usize::try_from(request.max_bytes)
        .unwrap_or(MAX_FETCH_BYTES)
        .clamp(1, MAX_FETCH_BYTES);
    let mut found = 0usize;
    let mut failed = false;
    let mut topics = Vec::with_capacity(request.topics.len());
    for asked in &request.topics {
        let name = asked.topic.0.as_str();
        let topic = access.topic(kafka, Operation::Consume, name);
        let mut partitions = Vec::with_capacity(asked.partitions.len());
        for p in &asked.partitions {
            let answer = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica(BrokerId(-1));
            let topic = match &topic {
                Ok(topic) => topic,
                Err(code) => {
                    failed = true;
                    partitions.push(answer.with_error_code(*code));
                    continue;
                }
            };
            let Ok(index) = u32::try_from(p.partition) else {
                failed = true;
                partitions.push(answer.with_error_code(ResponseError::UnknownTopicOrPartition.code()));
                continue;
            };
            let (start, end) = match topic.offsets(index) {
                Ok(bounds) => bounds,
                Err(err) => {
                    failed = true;
                    partitions.push(answer.with_error_code(broker_code(&err)));
                    continue;
                }
            };
            let answer = answer
                .with_high_watermark(end)
                .with_last_stable_offset(end)
                .with_log_start_offset(start);
            if p.fetch_offset < start || p.fetch_offset > end {
                failed = true;
                partitions.push(answer.with_error_code(ResponseError::OffsetOutOfRange.code()));
                continue;
            }
            if p.fetch_offset == end || room == 0 {
                partitions.push(answer.with_records(Some(Bytes::new())));
                continue;
            }
            let limit = usize::try_from(p.partition_max_bytes).unwrap_or(0).clamp(1, room);
            match topic.fetch_batches(index, p.fetch_offset, limit) {
                Ok(bytes) => {
                    room = room.saturating_sub(bytes.len());
                    found += bytes.len();
                    partitions.push(answer.with_records(Some(bytes)));
                }
                Err(err) => {
                    failed = true;
                    partitions.push(answer.with_error_code(broker_code(&err)));
                }
            }
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(asked.topic.clone())
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_session_id(0).with_responses(topics),
        found,
        failed,
    )
}

/// Kafka's special timestamps in ListOffsets.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub fn list_offsets(kafka: &Kafka, access: &Access, request: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|asked| {
            let name = asked.name.0.as_str();
            let topic = access.topic(kafka, Operation::Describe, name);
            let partitions = asked
                .partitions
                .iter()
                .map(|p| {
                    let answer = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(NO_EPOCH);
                    let topic = match &topic {
                        Ok(topic) => topic,
                        Err(code) => return answer.with_error_code(*code),
                    };
                    let Ok(index) = u32::try_from(p.partition_index) else {
                        return answer.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let (start, end) = match topic.offsets(index) {
                        Ok(bounds) => bounds,
                        Err(err) => return answer.with_error_code(broker_code(&err)),
                    };
                    let found = match p.timestamp {
                        LATEST => return answer.with_offset(end),
                        EARLIEST => return answer.with_offset(start),
                        MAX_TIMESTAMP => topic.max_timestamp(index),
                        at if at >= 0 => topic.offset_for_timestamp(index, at),
                        _ => return answer.with_error_code(ResponseError::InvalidRequest.code()),
                    };
                    match found {
                        // No record at or after the time: the end, with timestamp -1, as Kafka.
                        Ok(None) if p.timestamp >= 0 => answer.with_offset(end),
                        Ok(None) => answer,
                        Ok(Some((offset, timestamp))) => answer.with_offset(offset).with_timestamp(timestamp),
                        Err(err) => answer.with_error_code(broker_code(&err)),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(asked.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
