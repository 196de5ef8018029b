//! Consumer instances in groups, shaped like Confluent REST Proxy v2: create, subscribe,
//! fetch records, commit and read offsets, seek, delete; plus group listing and description
//! with lag per partition.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::Caller;
use super::broker_api::{
    broker, invalid_batch, max_bytes, push_record, read_batches, records_answer, redacted_answer, reply, BINARY_V2,
};
use super::error::ApiError;
use super::params::Params;
use super::records_json::RecordsJson;
use super::wire::parse_body;
use super::AppState;
use crate::broker::batch;
use crate::broker::coordinator::consumer_protocol::{assigned_partitions, subscribed_topics};
use crate::broker::coordinator::MemberDescription;
use crate::broker::groups::{GroupError, MemberConfig, Reset, TopicPartition};
use crate::delivery::redaction::Redaction;
use crate::security::{Operation, Resource};

type Reply = Result<Response, ApiError>;

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        let (status, code) = match &err {
            GroupError::UnknownMember { .. } => (StatusCode::NOT_FOUND, 40403),
            GroupError::UnknownGroup(_) => (StatusCode::NOT_FOUND, 40403),
            GroupError::MemberExists { .. } => (StatusCode::CONFLICT, 40902),
            GroupError::InvalidName(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42204),
            GroupError::NotAssigned { .. } => (StatusCode::CONFLICT, 40903),
            // REST Proxy has no such case; a 409 whose message names the group and why.
            GroupError::HeldByKafka(_) | GroupError::HeldByRest(_) => (StatusCode::CONFLICT, 40904),
            // REST Proxy has no code of its own for this; the status is the code, as for
            // framework-level refusals.
            GroupError::TooManyMembers { .. } => (StatusCode::TOO_MANY_REQUESTS, 429),
            GroupError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        };
        ApiError::new(status, code, err.to_string())
    }
}

/// An empty body reads as `{}`, as REST Proxy's clients send none for some calls.
fn body_or_empty<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_body(body)
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateConsumer {
    name: Option<String>,
    format: Option<String>,
    #[serde(rename = "auto.offset.reset")]
    auto_offset_reset: Option<String>,
    #[serde(rename = "auto.commit.enable")]
    auto_commit_enable: Option<Value>,
    #[serde(rename = "consumer.instance.timeout.ms")]
    instance_timeout_ms: Option<Value>,
}

fn text_flag(value: &Option<Value>) -> Option<bool> {
    match value {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    }
}

/// REST Proxy's default `consumer.instance.timeout.ms`: an instance not heard from for this
/// long is removed.
pub const DEFAULT_INSTANCE_TIMEOUT_MS: u64 = 300_000;

/// The shortest and longest instance timeouts a client may ask for; others are moved to them.
pub const INSTANCE_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=3_600_000;

/// `consumer.instance.timeout.ms` (a number or a numeric string): absent is the default,
/// anything but a whole number from 0 is refused rather than read as the default.
fn instance_timeout(value: &Option<Value>) -> Result<std::time::Duration, ApiError> {
    let ms = match value {
        None | Some(Value::Null) => Some(DEFAULT_INSTANCE_TIMEOUT_MS),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    let Some(ms) = ms else {
        return Err(ApiError::unprocessable(
            42204,
            format!(
                "Invalid consumer.instance.timeout.ms {}: must be a whole number of milliseconds \
                 ({} to {}; others are moved into that range)",
                value.as_ref().map(Value::to_string).unwrap_or_default(),
                INSTANCE_TIMEOUT_MS.start(),
                INSTANCE_TIMEOUT_MS.end()
            ),
        ));
    };
    Ok(std::time::Duration::from_millis(
        ms.clamp(*INSTANCE_TIMEOUT_MS.start(), *INSTANCE_TIMEOUT_MS.end()),
    ))
}

pub async fn create_consumer(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
    body: Bytes,
) -> Reply {
    let broker = broker(&state)?;
    let request: CreateConsumer = body_or_empty(&body)?;
    let reset = match request
        .auto_offset_reset
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("latest") => Reset::Latest,
        Some("earliest") | Some("smallest") => Reset::Earliest,
        Some(other) => {
            return Err(ApiError::unprocessable(
                42204,
                format!("auto.offset.reset must be earliest or latest, not {other:?}"),
            ))
        }
    };
    let format = match request.format.as_deref().unwrap_or("json") {
        f @ ("json" | "binary") => f.to_string(),
        other => {
            return Err(ApiError::unprocessable(
                42204,
                format!("format must be json or binary, not {other:?}"),
            ))
        }
    };
    let name = request.name.unwrap_or_else(|| format!("consumer-{}", unique_suffix()));
    let config = MemberConfig {
        reset,
        auto_commit: text_flag(&request.auto_commit_enable).unwrap_or(false),
        session_timeout: instance_timeout(&request.instance_timeout_ms)?,
        format,
        owner: caller.name().map(str::to_string),
    };
    broker.groups().join(&group, &name, config)?;
    // The configured public URL, never the request's Host header (which the client controls).
    let base = &state.public_url;
    reply(
        StatusCode::OK,
        &json!({"instance_id": name, "base_uri": format!("{base}/consumers/{group}/instances/{name}")}),
    )
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub async fn delete_consumer(State(state): State<AppState>, Path((group, instance)): Path<(String, String)>) -> Reply {
    broker(&state)?.groups().leave(&group, &instance)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Subscription {
    #[serde(default)]
    topics: Vec<String>,
}

pub async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let broker = broker(&state)?;
    let request: Subscription = parse_body(&body)?;
    if request.topics.is_empty() {
        return Err(ApiError::unprocessable(
            42204,
            "\"topics\" must name at least one topic",
        ));
    }
    // Every topic is the caller's to consume, asked before whether it exists.
    for topic in &request.topics {
        caller.check(Operation::Consume, &Resource::topic(topic.as_str()))?;
    }
    for topic in &request.topics {
        broker.topic(topic)?;
    }
    broker.groups().subscribe(&group, &instance, request.topics)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn subscription(State(state): State<AppState>, Path((group, instance)): Path<(String, String)>) -> Reply {
    let topics = broker(&state)?.groups().subscription(&group, &instance)?;
    reply(StatusCode::OK, &json!({ "topics": topics }))
}

pub async fn unsubscribe(State(state): State<AppState>, Path((group, instance)): Path<(String, String)>) -> Reply {
    broker(&state)?.groups().subscribe(&group, &instance, Vec::new())?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn assignments(State(state): State<AppState>, Path((group, instance)): Path<(String, String)>) -> Reply {
    let broker = broker(&state)?;
    let assignment = broker.groups().assignment(&group, &instance, broker.as_ref())?;
    let partitions: Vec<Value> = assignment
        .positions
        .iter()
        .map(|((topic, partition), _)| json!({"topic": topic, "partition": partition}))
        .collect();
    reply(StatusCode::OK, &json!({ "partitions": partitions }))
}

/// `GET …/records?max_bytes=&timeout=`: what the member's partitions hold from its
/// positions, up to `max_bytes` (as for partition reads: 1 MiB by default, at most 64 MiB,
/// within the shared read budget; the answer stops at its share of the budget, with at
/// least one record); positions move past the records returned, so the next fetch
/// continues with the first record left out. `timeout` (ms) is
/// accepted for REST Proxy's clients and checked, but nothing is waited for.
pub async fn records(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    params: Params,
) -> Reply {
    let broker = broker(&state)?;
    let max_bytes = max_bytes(&params)?;
    params.whole_number("timeout", 0..=i64::MAX)?;
    let assignment = broker.groups().assignment(&group, &instance, broker.as_ref())?;
    let binary = assignment.format == "binary"
        || headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(BINARY_V2));
    let read_budget = &state.read_budget;
    let mut reservation = read_budget.reserve(max_bytes, state.max_request_bytes).await?;
    let mut budget = max_bytes.min(reservation.batches());
    let mut out = RecordsJson::new(binary, reservation.answer());
    let mut next: Vec<(TopicPartition, i64)> = Vec::new();
    let mut redaction = Redaction::new(caller.hidden_tags(), &state.registry);
    for ((topic_name, partition), position) in &assignment.positions {
        if budget == 0 {
            break;
        }
        let topic = broker.topic(topic_name)?;
        let batches = read_batches(read_budget, &mut reservation, || {
            topic.read_batches(*partition, *position, budget)
        })
        .await?;
        out.start_partition(topic_name, *partition);
        out.expect(batches.len());
        // The position moves past the records in the answer, not past those read.
        let mut last = None;
        let mut full = false;
        let decoded = batch::DecodedLog::new(&batches);
        for record in decoded.records(*position) {
            let record = record.map_err(invalid_batch)?;
            let shown = match redaction.as_mut() {
                Some(redaction) => redaction.record(&topic.config, record.key, record.value).await?,
                None => None,
            };
            let record = shown.as_ref().map_or(record, |shown| shown.apply(&record));
            if !push_record(read_budget, &mut reservation, &mut out, &record).await? {
                full = true;
                break;
            }
            last = Some(record.offset);
            let size = record.value.map_or(0, <[u8]>::len) + record.key.map_or(0, <[u8]>::len);
            budget = budget.saturating_sub(size.max(1));
        }
        if let Some(last) = last {
            next.push(((topic_name.clone(), *partition), last + 1));
        }
        if full {
            break;
        }
    }
    broker.groups().advance(&group, &instance, &next)?;
    Ok(redacted_answer(records_answer(out, reservation), redaction.as_ref()))
}

#[derive(Debug, Default, Deserialize)]
struct OffsetList {
    #[serde(default)]
    offsets: Vec<OffsetEntry>,
}

/// Partitions and offsets in bodies are read as any integer and then checked, so a negative
/// one is refused naming its place instead of failing as a type error or becoming another.
#[derive(Debug, Deserialize)]
struct OffsetEntry {
    topic: String,
    partition: i64,
    offset: i64,
}

#[derive(Debug, Default, Deserialize)]
struct PartitionList {
    #[serde(default)]
    partitions: Vec<PartitionEntry>,
}

#[derive(Debug, Deserialize)]
struct PartitionEntry {
    topic: String,
    partition: i64,
}

/// A body's partition number, or a 422 naming where it is.
fn partition_at(list: &str, index: usize, partition: i64) -> Result<u32, ApiError> {
    u32::try_from(partition).map_err(|_| {
        ApiError::unprocessable(
            42201,
            format!("Invalid {list}[{index}].partition {partition}: partitions are numbered from 0"),
        )
    })
}

/// `offsets` of a commit or seek body as (partition, offset) pairs, each checked.
fn checked_offsets(offsets: Vec<OffsetEntry>) -> Result<Vec<(TopicPartition, i64)>, ApiError> {
    offsets
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let partition = partition_at("offsets", i, o.partition)?;
            if o.offset < 0 {
                return Err(ApiError::unprocessable(
                    42201,
                    format!(
                        "Invalid offsets[{i}].offset {}: offsets are whole numbers from 0",
                        o.offset
                    ),
                ));
            }
            Ok(((o.topic, partition), o.offset))
        })
        .collect()
}

/// `partitions` of a body, each checked.
fn checked_partitions(partitions: Vec<PartitionEntry>) -> Result<Vec<TopicPartition>, ApiError> {
    partitions
        .into_iter()
        .enumerate()
        .map(|(i, p)| Ok((p.topic, partition_at("partitions", i, p.partition)?)))
        .collect()
}

/// `POST …/offsets`: commits the offsets given (each the next offset to read), or with no
/// body every position; durable before the answer.
pub async fn commit(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let broker = broker(&state)?;
    let request: OffsetList = body_or_empty(&body)?;
    let offsets = if request.offsets.is_empty() {
        None
    } else {
        Some(checked_offsets(request.offsets)?)
    };
    let groups = broker.clone();
    tokio::task::spawn_blocking(move || groups.groups().commit(&group, &instance, offsets))
        .await
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/offsets`: the group's committed offsets, for the partitions in the body or all.
pub async fn committed(
    State(state): State<AppState>,
    Path((group, _instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: PartitionList = body_or_empty(&body)?;
    let wanted = checked_partitions(request.partitions)?;
    let offsets = broker(&state)?.groups().committed_with_metadata(&group, &wanted)?;
    let offsets: Vec<Value> = offsets
        .iter()
        .map(|((topic, partition), offset, metadata)| {
            json!({"topic": topic, "partition": partition, "offset": offset, "metadata": metadata.as_deref().unwrap_or("")})
        })
        .collect();
    reply(StatusCode::OK, &json!({ "offsets": offsets }))
}

pub async fn seek(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: OffsetList = parse_body(&body)?;
    let positions = checked_offsets(request.offsets)?;
    broker(&state)?.groups().seek(&group, &instance, positions)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn seek_edge(state: &AppState, group: &str, instance: &str, body: &Bytes, beginning: bool) -> Reply {
    let broker = broker(state)?;
    let request: PartitionList = parse_body(body)?;
    let mut positions = Vec::new();
    for (topic, partition) in checked_partitions(request.partitions)? {
        let (start, end) = broker.topic(&topic)?.offsets(partition)?;
        positions.push(((topic, partition), if beginning { start } else { end }));
    }
    broker.groups().seek(group, instance, positions)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn seek_beginning(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    seek_edge(&state, &group, &instance, &body, true).await
}

pub async fn seek_end(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    seek_edge(&state, &group, &instance, &body, false).await
}

/// The groups the caller may describe.
pub async fn list_groups(State(state): State<AppState>, caller: Caller) -> Reply {
    let mut groups = broker(&state)?.groups().list();
    groups.retain(|group| caller.may(Operation::Describe, &Resource::group(group.as_str())));
    reply(StatusCode::OK, &groups)
}

pub async fn describe_group(State(state): State<AppState>, Path(group): Path<String>) -> Reply {
    let broker = broker(&state)?;
    let view = broker.groups().describe(&group, broker.as_ref())?;
    let mut members: Vec<Value> = view
        .members
        .iter()
        .map(|m| {
            json!({
                "instance": m.instance,
                "topics": m.topics,
                "partitions": m.partitions.iter().map(|p| json!({"topic": p.topic, "partition": p.partition})).collect::<Vec<_>>(),
            })
        })
        .collect();
    members.extend(kafka_members(&broker.coordinator().members(&group)));
    let offsets: Vec<Value> = view
        .offsets
        .iter()
        .map(|o| json!({"topic": o.topic, "partition": o.partition, "committed": o.committed, "end": o.end, "lag": o.lag}))
        .collect();
    reply(
        StatusCode::OK,
        &json!({"group": view.group, "members": members, "offsets": offsets, "resets": view.resets}),
    )
}

/// Members that joined through the Kafka protocol, shaped like REST instances plus their
/// client id and host. Topics and partitions are read from the standard consumer protocol's
/// bytes (none for other protocols, and no partitions before the leader has assigned them).
fn kafka_members(members: &[MemberDescription]) -> Vec<Value> {
    members
        .iter()
        .map(|m| {
            let topics = subscribed_topics(&m.metadata).unwrap_or_default();
            let partitions: Vec<Value> = assigned_partitions(&m.assignment)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions
                        .into_iter()
                        .map(move |p| json!({"topic": topic.clone(), "partition": p}))
                })
                .collect();
            json!({
                "instance": m.member_id,
                "protocol": "kafka",
                "client_id": m.client_id,
                "client_host": m.client_host,
                "group_instance_id": m.group_instance_id,
                "topics": topics,
                "partitions": partitions,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard consumer protocol bytes: version 0, the topics (with partitions for an
    /// assignment), null user data.
    fn subscription(topics: &[&str]) -> Vec<u8> {
        let mut out = vec![0, 0];
        out.extend((topics.len() as i32).to_be_bytes());
        for topic in topics {
            out.extend((topic.len() as i16).to_be_bytes());
            out.extend(topic.as_bytes());
        }
        out.extend((-1i32).to_be_bytes());
        out
    }

    fn assignment(topic: &str, partitions: &[i32]) -> Vec<u8> {
        let mut out = vec![0, 0, 0, 0, 0, 1];
        out.extend((topic.len() as i16).to_be_bytes());
        out.extend(topic.as_bytes());
        out.extend((partitions.len() as i32).to_be_bytes());
        for p in partitions {
            out.extend(p.to_be_bytes());
        }
        out.extend((-1i32).to_be_bytes());
        out
    }

    #[test]
    fn kafka_members_show_their_client_topics_and_partitions() {
        let members = vec![
            MemberDescription {
                member_id: "rdkafka-1234".to_string(),
                group_instance_id: None,
                client_id: "rdkafka".to_string(),
                client_host: "/127.0.0.1".to_string(),
                metadata: subscription(&["orders"]),
                assignment: assignment("orders", &[0, 2]),
            },
            MemberDescription {
                member_id: "other-5678".to_string(),
                group_instance_id: Some("host-2".to_string()),
                client_id: "other".to_string(),
                client_host: "/10.0.0.2".to_string(),
                metadata: b"not the consumer protocol".to_vec(),
                assignment: Vec::new(),
            },
        ];
        assert_eq!(
            Value::Array(kafka_members(&members)),
            json!([
                {
                    "instance": "rdkafka-1234", "protocol": "kafka", "client_id": "rdkafka",
                    "client_host": "/127.0.0.1", "group_instance_id": null,
                    "topics": ["orders"],
                    "partitions": [{"topic": "orders", "partition": 0}, {"topic": "orders", "partition": 2}],
                },
                {
                    "instance": "other-5678", "protocol": "kafka", "client_id": "other",
                    "client_host": "/10.0.0.2", "group_instance_id": "host-2",
                    "topics": [], "partitions": [],
                },
            ])
        );
    }

    #[test]
    fn joining_a_group_held_by_the_other_protocol_is_a_conflict_naming_the_group() {
        for err in [
            GroupError::HeldByKafka("orders-readers".to_string()),
            GroupError::HeldByRest("orders-readers".to_string()),
        ] {
            let api = ApiError::from(err);
            assert_eq!(api.status, StatusCode::CONFLICT);
            assert!(api.message.contains("'orders-readers'"), "{}", api.message);
        }
    }
}
