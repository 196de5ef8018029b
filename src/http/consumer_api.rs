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

use super::broker_api::{answer_size, broker, records_answer, reply, BINARY_V2};
use super::error::ApiError;
use super::params::Params;
use super::records_json::RecordsJson;
use super::wire::parse_body;
use super::AppState;
use crate::broker::groups::{GroupError, MemberConfig, Reset, TopicPartition};

type Reply = Result<Response, ApiError>;

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        let (status, code) = match &err {
            GroupError::UnknownMember { .. } => (StatusCode::NOT_FOUND, 40403),
            GroupError::UnknownGroup(_) => (StatusCode::NOT_FOUND, 40403),
            GroupError::MemberExists { .. } => (StatusCode::CONFLICT, 40902),
            GroupError::InvalidName(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42204),
            GroupError::NotAssigned { .. } => (StatusCode::CONFLICT, 40903),
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

fn number(value: &Option<Value>) -> Option<u64> {
    match value {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

pub async fn create_consumer(State(state): State<AppState>, Path(group): Path<String>, body: Bytes) -> Reply {
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
        session_timeout: std::time::Duration::from_millis(
            number(&request.instance_timeout_ms)
                .unwrap_or(300_000)
                .clamp(100, 3_600_000),
        ),
        format,
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

/// `GET …/records`: what the member's partitions hold from its positions, up to
/// `max_bytes`; positions move past what is returned.
pub async fn records(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    headers: HeaderMap,
    params: Params,
) -> Reply {
    let broker = broker(&state)?;
    let assignment = broker.groups().assignment(&group, &instance, broker.as_ref())?;
    let binary = assignment.format == "binary"
        || headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(BINARY_V2));
    let mut budget = params
        .number("max_bytes")
        .filter(|&n| n > 0)
        .map_or(1024 * 1024, |n| n.min(64 * 1024 * 1024) as usize);
    let mut out = RecordsJson::new(binary, 0);
    let mut next: Vec<(TopicPartition, i64)> = Vec::new();
    for ((topic_name, partition), position) in &assignment.positions {
        if budget == 0 {
            break;
        }
        let topic = broker.topic(topic_name)?;
        let records = topic.fetch(*partition, *position, budget)?;
        let Some(last) = records.last() else { continue };
        next.push(((topic_name.clone(), *partition), last.offset + 1));
        out.reserve(answer_size(&records));
        for r in &records {
            let size = r.record.value.as_ref().map_or(0, Vec::len) + r.record.key.as_ref().map_or(0, Vec::len);
            budget = budget.saturating_sub(size.max(1));
            out.push(topic_name, *partition, r);
        }
    }
    broker.groups().advance(&group, &instance, &next)?;
    Ok(records_answer(out))
}

#[derive(Debug, Default, Deserialize)]
struct OffsetList {
    #[serde(default)]
    offsets: Vec<OffsetEntry>,
}

#[derive(Debug, Deserialize)]
struct OffsetEntry {
    topic: String,
    partition: u32,
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
    partition: u32,
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
        Some(
            request
                .offsets
                .into_iter()
                .map(|o| ((o.topic, o.partition), o.offset))
                .collect(),
        )
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
    let wanted: Vec<TopicPartition> = request.partitions.into_iter().map(|p| (p.topic, p.partition)).collect();
    let offsets = broker(&state)?.groups().committed(&group, &wanted)?;
    let offsets: Vec<Value> = offsets
        .iter()
        .map(|((topic, partition), offset)| json!({"topic": topic, "partition": partition, "offset": offset, "metadata": ""}))
        .collect();
    reply(StatusCode::OK, &json!({ "offsets": offsets }))
}

pub async fn seek(
    State(state): State<AppState>,
    Path((group, instance)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: OffsetList = parse_body(&body)?;
    let positions = request
        .offsets
        .into_iter()
        .map(|o| ((o.topic, o.partition), o.offset))
        .collect();
    broker(&state)?.groups().seek(&group, &instance, positions)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn seek_edge(state: &AppState, group: &str, instance: &str, body: &Bytes, beginning: bool) -> Reply {
    let broker = broker(state)?;
    let request: PartitionList = parse_body(body)?;
    let mut positions = Vec::new();
    for p in request.partitions {
        let (start, end) = broker.topic(&p.topic)?.offsets(p.partition)?;
        positions.push(((p.topic, p.partition), if beginning { start } else { end }));
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

pub async fn list_groups(State(state): State<AppState>) -> Reply {
    reply(StatusCode::OK, &broker(&state)?.groups().list())
}

pub async fn describe_group(State(state): State<AppState>, Path(group): Path<String>) -> Reply {
    let broker = broker(&state)?;
    let view = broker.groups().describe(&group, broker.as_ref())?;
    let members: Vec<Value> = view
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
