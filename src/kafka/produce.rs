//! Produce and InitProducerId: Kafka producers writing through the contract gate.
//!
//! A partition's record set is checked whole before anything of it is written: each batch
//! is verified (lengths, magic, CRC), its records decoded (decompressed when the producer
//! compressed them) and judged by the gate, which both doors share. A refused set is
//! answered INVALID_RECORD with one `record_errors` entry per refused record (its index in
//! the set, and a message naming the part, the field's JSON pointer and the reason) and an
//! `error_message`; nothing of it lands. Other partitions of the same request are answered
//! on their own, as Kafka does. Admitted sets are appended as the client sent them, all
//! partitions at once, and answered once durable under their topic's durability (after
//! fdatasync in `sync` mode) for acks 1 and all. Acks 0 gets no answer; a refused partition
//! then closes the connection, the one signal such a producer notices (as Kafka does).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::access::{Access, TOPIC_DENIED};
use super::cluster::str;
use super::connection::Turn;
use super::error::broker_code;
use super::Kafka;
use crate::broker::batch::{BatchError, ProducedBatches, Record};
use crate::broker::log::Produced;
use crate::broker::topic::Validation;
use crate::broker::{BrokerError, Topic};
use crate::gate::{dead_letter, Encoding, Problem};
use crate::security::Operation;

/// Record errors listed per refused partition; the rest are counted in the message.
const MAX_RECORD_ERRORS: usize = 20;

/// Record sets larger than this are checked (CRC, decompression) on a blocking thread, so
/// a few large requests do not hold up the async workers answering everything else.
const INLINE_CHECK_BYTES: usize = 256 * 1024;

/// A partition's record set, checked and judged, ready to append; or why not.
type Admitted = Result<(Arc<Topic>, Checked), Outcome>;

/// A partition's record set, written and waiting to be acknowledged (after its dead letters
/// are written); or why not.
type Written = Result<(Arc<Topic>, Produced, Option<Diverted>), Outcome>;

/// A record set the gate admitted: what to append, and the records rules divert.
struct Checked {
    batches: ProducedBatches,
    diverted: Option<Diverted>,
}

/// Records a rule sends to dead-letter topics, taken out of the set to append.
struct Diverted {
    letters: dead_letter::Resolved,
    records: Vec<Record>,
}

/// A partition's outcome before it is turned into the response.
struct Outcome {
    error: i16,
    message: Option<String>,
    record_errors: Vec<(i32, String)>,
    base_offset: i64,
    log_start: i64,
}

impl Outcome {
    fn error(error: i16, message: impl Into<String>) -> Outcome {
        Outcome {
            error,
            message: Some(message.into()),
            record_errors: Vec::new(),
            base_offset: -1,
            log_start: -1,
        }
    }
}

/// What a Produce gets.
pub enum Answer {
    Response(ProduceResponse),
    /// acks=0 and everything landed: no response at all.
    Nothing,
    /// acks=0 and something was refused: close the connection, with this reason logged.
    Close(String),
}

/// `turn` is this request's place among its connection's Produce requests: it appends
/// only after the ones before it have (see `connection::Turn`).
pub async fn produce(kafka: &Kafka, access: &Access, request: ProduceRequest, turn: Option<Turn>) -> Answer {
    let acks = request.acks;
    let transactional = request.transactional_id.is_some();
    // Phase one, in request order: look up, verify and judge every partition's records.
    // Requests pipelined behind this one do the same meanwhile.
    let mut judged: Vec<(TopicName, Vec<(i32, Admitted)>)> = Vec::new();
    for topic_data in request.topic_data {
        let name = topic_data.name.0.as_str().to_string();
        let topic = access.topic(kafka, Operation::Produce, &name);
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let outcome = match &topic {
                _ if transactional => Err(Outcome::error(
                    ResponseError::TransactionalIdAuthorizationFailed.code(),
                    "transactions are not offered by this node",
                )),
                Err(code) if *code == TOPIC_DENIED => Err(Outcome::error(
                    *code,
                    format!("Not authorized to produce to topic '{name}'"),
                )),
                Err(code) => Err(Outcome::error(*code, format!("Topic '{name}' not found."))),
                Ok(topic) => admit(kafka, topic, data.index, data.records.unwrap_or_default())
                    .await
                    .map(|checked| (topic.clone(), checked)),
            };
            partitions.push((data.index, outcome));
        }
        judged.push((topic_data.name, partitions));
    }
    // Phase two: append the admitted sets once the connection's earlier requests have
    // appended theirs, so a producer's pipelined batches land in the order it sent them.
    let mut turn = turn;
    if let Some(turn) = turn.as_mut() {
        turn.wait().await;
    }
    let appended: Vec<(TopicName, Vec<(i32, Written)>)> = judged
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, admitted)| {
                    let outcome = admitted.and_then(|(topic, checked)| {
                        topic
                            .append_checked_now(index as u32, vec![checked.batches])
                            .map(|produced| (topic, produced, checked.diverted))
                            .map_err(|err| Outcome::error(broker_code(&err), err.to_string()))
                    });
                    (index, outcome)
                })
                .collect();
            (name, partitions)
        })
        .collect();
    // Every append of this request is written: the next request may append now. The waits
    // for durability below overlap with it, and one flush can cover them all.
    drop(turn);
    let mut responses = Vec::with_capacity(appended.len());
    for (name, partitions) in appended {
        let mut answers = Vec::with_capacity(partitions.len());
        for (index, outcome) in partitions {
            let outcome = match outcome {
                Err(outcome) => outcome,
                Ok((topic, produced, diverted)) => match acknowledged(&topic, index, produced, diverted).await {
                    Ok(appended) => Outcome {
                        error: 0,
                        message: None,
                        record_errors: Vec::new(),
                        base_offset: appended.base_offset,
                        log_start: topic.offsets(index as u32).map(|(start, _)| start).unwrap_or(-1),
                    },
                    Err(err) => Outcome::error(broker_code(&err), err.to_string()),
                },
            };
            answers.push(partition_response(index, outcome));
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(name)
                .with_partition_responses(answers),
        );
    }
    if acks != 0 {
        return Answer::Response(ProduceResponse::default().with_responses(responses));
    }
    let refused = responses.iter().find_map(|topic| {
        topic.partition_responses.iter().find(|p| p.error_code != 0).map(|p| {
            format!(
                "an acks=0 produce to {}/{} was refused (error {}): {}",
                topic.name.0.as_str(),
                p.index,
                p.error_code,
                p.error_message.as_deref().unwrap_or("")
            )
        })
    });
    refused.map_or(Answer::Nothing, Answer::Close)
}

/// Waits for an appended set to be acknowledged, writing the records its rules diverted
/// first. A retried set the log recognised as already appended wrote them the first time.
async fn acknowledged(
    topic: &Topic,
    index: i32,
    produced: Produced,
    diverted: Option<Diverted>,
) -> Result<crate::broker::Appended, BrokerError> {
    if let Some(diverted) = diverted.filter(|_| !produced.duplicate) {
        dead_letter::write(diverted.letters, &topic.config.name, diverted.records).await?;
    }
    topic.acknowledged(index as u32, produced).await
}

/// Checks a partition's record set (lengths, CRC, codec, size, decompressed once) and has
/// the gate judge its records; the set to append, or why not.
async fn admit(kafka: &Kafka, topic: &Arc<Topic>, index: i32, records: Bytes) -> Result<Checked, Outcome> {
    if index < 0 || index as u32 >= topic.config.partitions {
        return Err(Outcome::error(
            ResponseError::UnknownTopicOrPartition.code(),
            format!(
                "Partition {index} of topic '{}' not found (it has {})",
                topic.config.name, topic.config.partitions
            ),
        ));
    }
    if records.is_empty() {
        return Err(Outcome::error(
            ResponseError::CorruptMessage.code(),
            "the record set is empty",
        ));
    }
    let refused = |err: BrokerError| Outcome::error(broker_code(&err), err.to_string());
    let checked = if records.len() <= INLINE_CHECK_BYTES {
        topic.check_batches(records.to_vec()).map_err(refused)?
    } else {
        let owner = topic.clone();
        tokio::task::spawn_blocking(move || owner.check_batches(records.to_vec()))
            .await
            .map_err(|err| Outcome::error(ResponseError::UnknownServerError.code(), err.to_string()))?
            .map_err(refused)?
    };
    if topic.config.validation == Validation::Off {
        return Ok(Checked {
            batches: checked,
            diverted: None,
        });
    }
    let mut payloads = Vec::new();
    for (_, records) in checked.batches() {
        for record in records {
            let record = record.map_err(|err| Outcome::error(ResponseError::CorruptMessage.code(), err.to_string()))?;
            payloads.push((record.key, record.value));
        }
    }
    let judgement = kafka
        .gate
        .judge(&topic.config, Encoding::Framed, &payloads)
        .await
        .map_err(|err| Outcome::error(ResponseError::UnknownServerError.code(), err.to_string()))?;
    let count = payloads.len();
    drop(payloads);
    let letters = dead_letter::resolve(&kafka.broker, judgement)
        .map_err(|problems| refused_records(&topic.config.name, count, &problems))?;
    if letters.is_empty() {
        return Ok(Checked {
            batches: checked,
            diverted: None,
        });
    }
    let indexes = letters.indexes();
    let corrupt = |err: BatchError| Outcome::error(ResponseError::CorruptMessage.code(), err.to_string());
    let mut records = Vec::with_capacity(indexes.len());
    let all = checked.batches().flat_map(|(_, records)| records);
    for (i, record) in all.enumerate() {
        if indexes.binary_search(&i).is_ok() {
            records.push(record.and_then(|r| r.to_owned()).map_err(corrupt)?.record);
        }
    }
    Ok(Checked {
        batches: checked.without(&indexes).map_err(corrupt)?,
        diverted: Some(Diverted { letters, records }),
    })
}

/// INVALID_RECORD with the records' problems: each refused record once (its first problem
/// in the list, the count of others in the message), at most [`MAX_RECORD_ERRORS`] listed.
fn refused_records(topic: &str, count: usize, problems: &[Problem]) -> Outcome {
    let mut record_errors: Vec<(i32, String)> = Vec::new();
    let mut refused_records = 0usize;
    for problem in problems {
        let index = problem.index as i32;
        if record_errors.last().is_some_and(|(i, _)| *i == index) {
            continue;
        }
        refused_records += 1;
        if record_errors.len() < MAX_RECORD_ERRORS {
            record_errors.push((index, problem.message()));
        }
    }
    let first = &problems[0];
    let mut message = format!(
        "{refused_records} of {count} records do not match the contract of topic '{topic}'; none was written. Record {}: {}",
        first.index,
        first.message()
    );
    if refused_records > record_errors.len() {
        message.push_str(&format!(
            " ({} more refused records are not listed)",
            refused_records - record_errors.len()
        ));
    }
    Outcome {
        error: ResponseError::InvalidRecord.code(),
        message: Some(message),
        record_errors,
        base_offset: -1,
        log_start: -1,
    }
}

fn partition_response(index: i32, outcome: Outcome) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(outcome.error)
        .with_error_message(outcome.message.map(StrBytes::from_string))
        .with_base_offset(outcome.base_offset)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(outcome.log_start)
        .with_record_errors(
            outcome
                .record_errors
                .into_iter()
                .map(|(index, message)| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(index)
                        .with_batch_index_error_message(Some(str(&message)))
                })
                .collect(),
        )
}

/// Hands an idempotent producer its id. A producer that asks again with its id and epoch
/// (after a fatal error, KIP-360) gets the next epoch of the same id; transactional ids
/// are refused, transactions not being offered.
pub async fn init_producer_id(kafka: &Kafka, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let answer = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if request.transactional_id.is_some() {
        return answer.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    if request.producer_id.0 >= 0 && request.producer_epoch >= 0 && request.producer_epoch < i16::MAX - 1 {
        return answer
            .with_producer_id(request.producer_id)
            .with_producer_epoch(request.producer_epoch + 1);
    }
    let broker = kafka.broker.clone();
    match tokio::task::spawn_blocking(move || broker.init_producer_id()).await {
        Ok(Ok((id, epoch))) => answer.with_producer_id(ProducerId(id)).with_producer_epoch(epoch),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "kafka: cannot reserve producer ids");
            answer.with_error_code(ResponseError::KafkaStorageError.code())
        }
        Err(err) => {
            tracing::error!(error = %err, "kafka: cannot reserve producer ids");
            answer.with_error_code(ResponseError::UnknownServerError.code())
        }
    }
}
