//! The broker's HTTP API, shaped like Confluent REST Proxy v2: topics, produce with the JSON
//! and binary embedded formats, partition offsets, and a partition reader.
//!
//! Media types: requests in `application/vnd.kafka.{json,binary}.v2+json` (plain
//! `application/json` reads as the JSON format); answers in `application/vnd.kafka.v2+json`.
//! Errors have the registry's shape, `{"error_code": …, "message": …}`, with REST Proxy's
//! codes (40401 unknown topic, 40402 unknown partition, 42201 invalid request, 50001 storage);
//! a produce with invalid records answers 422 with an `errors` list (index, field, reason).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::access::Caller;
use super::error::ApiError;
use super::params::Params;
use super::read_budget::{ReadBudget, Reservation, DEFAULT_READ_BYTES, MAX_READ_BYTES};
use super::records_json::{Full, RecordsJson};
use super::wire::parse_body;
use super::AppState;
use crate::broker::batch::{self, Record, RecordRef};
use crate::broker::log::LogError;
use crate::broker::topic::{
    DurabilityMode, SubjectStrategy, SunsetProduce, TopicConfig, TopicError, TopicExample, Validation,
};
use crate::broker::{Broker, BrokerError, Topic};
use crate::delivery::redaction::Redaction;
use crate::gate::{dead_letter, subject, Encoding, GateError, KeyValue, Part};
use crate::registry::context::context_of;
use crate::registry::{schema_id_in_range, MAX_ID};
use crate::schema::SchemaType;
use crate::security::{Operation, Resource};

pub const KAFKA_V2: &str = "application/vnd.kafka.v2+json";
const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
pub(super) const BINARY_V2: &str = "application/vnd.kafka.binary.v2+json";
const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";
const PROTOBUF_V2: &str = "application/vnd.kafka.protobuf.v2+json";

/// Records a produce request carries, at most: larger batches should be split by the client.
const MAX_RECORDS: usize = 10_000;

type Reply = Result<Response, ApiError>;

pub(super) fn reply(status: StatusCode, value: &impl Serialize) -> Reply {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, format!("Internal Server Error: {e}")))?;
    Ok((status, [(CONTENT_TYPE, HeaderValue::from_static(KAFKA_V2))], body).into_response())
}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        let (status, code) = match &err {
            BrokerError::UnknownTopic(_) => (StatusCode::NOT_FOUND, 40401),
            BrokerError::UnknownPartition { .. } => (StatusCode::NOT_FOUND, 40402),
            BrokerError::TopicExists(_) => (StatusCode::CONFLICT, 40901),
            BrokerError::Topic(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            BrokerError::Log(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
            BrokerError::Limit(_) => (StatusCode::INSUFFICIENT_STORAGE, 50701),
            // Kafka producers' errors: the HTTP produce path encodes its own batches.
            BrokerError::InvalidBatch(_) | BrokerError::RecordTooLarge { .. } | BrokerError::Producer(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, 42201)
            }
        };
        if status.is_server_error() {
            tracing::error!(error = %err, "broker request failed");
        }
        ApiError::new(status, code, err.to_string())
    }
}

impl From<GateError> for ApiError {
    fn from(err: GateError) -> Self {
        match err {
            GateError::Registry(err) => err.into(),
        }
    }
}

pub(super) fn broker(state: &AppState) -> Result<Arc<Broker>, ApiError> {
    state.broker.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            404,
            "HTTP 404 Not Found: this server runs no broker",
        )
    })
}

/// How record keys and values travel in a request or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Binary,
    /// JSON input encoded as Avro with a registered schema, framed with its id.
    Avro,
    /// JSON input (proto3's JSON mapping) encoded as the first message of a registered
    /// Protobuf schema, framed with its id and that message's index.
    Protobuf,
}

impl Format {
    /// The schema type of a format that encodes JSON with a registered schema.
    fn schema_type(self) -> Option<SchemaType> {
        match self {
            Format::Avro => Some(SchemaType::Avro),
            Format::Protobuf => Some(SchemaType::Protobuf),
            Format::Json | Format::Binary => None,
        }
    }
}

fn request_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        JSON_V2 | "application/json" | "" => Ok(Format::Json),
        BINARY_V2 => Ok(Format::Binary),
        AVRO_V2 => Ok(Format::Avro),
        PROTOBUF_V2 => Ok(Format::Protobuf),
        _ => Err(ApiError::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "HTTP 415 Unsupported Media Type",
        )),
    }
}

fn response_format(headers: &HeaderMap, params: &Params) -> Format {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains(BINARY_V2) || params.text("format") == Some("binary") {
        Format::Binary
    } else {
        Format::Json
    }
}

/// The body of `POST /topics` (a Herald addition; REST Proxy v2 cannot create topics) and
/// `PATCH /topics/{topic}`: every setting optional; creation needs `name`, and partitions
/// and durability cannot change afterwards (the broker refuses, naming the field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicBody {
    name: Option<String>,
    partitions: Option<u32>,
    description: Option<String>,
    owner: Option<String>,
    contact: Option<String>,
    tags: Option<Vec<String>>,
    examples: Option<Vec<TopicExample>>,
    retention_ms: Option<i64>,
    retention_bytes: Option<i64>,
    validation: Option<Validation>,
    key_subject: Option<String>,
    value_subject: Option<String>,
    /// `topic` (the default), `record` or `topic_record`; Confluent's class short names
    /// (`RecordNameStrategy`, …) are read too.
    key_subject_strategy: Option<SubjectStrategy>,
    value_subject_strategy: Option<SubjectStrategy>,
    durability: Option<DurabilityMode>,
    /// `warn` (the default) or `refuse`: producing under a subject past its sunset.
    sunset_produce: Option<SunsetProduce>,
}

/// An empty (or all-blank) text clears an optional setting; any other is kept as written
/// (leading spaces mean something in Markdown).
fn text_setting(value: String) -> Option<String> {
    (!value.trim().is_empty()).then_some(value)
}

impl TopicBody {
    /// Sets what the body gives; leaves the rest as it is.
    fn apply(self, config: &mut TopicConfig) {
        if let Some(v) = self.partitions {
            config.partitions = v;
        }
        if let Some(v) = self.description {
            config.description = text_setting(v);
        }
        if let Some(v) = self.owner {
            config.owner = text_setting(v);
        }
        if let Some(v) = self.contact {
            config.contact = text_setting(v);
        }
        if let Some(v) = self.tags {
            config.tags = v;
        }
        if let Some(v) = self.examples {
            config.examples = v;
        }
        if let Some(v) = self.retention_ms {
            config.retention_ms = v;
        }
        if let Some(v) = self.retention_bytes {
            config.retention_bytes = v;
        }
        if let Some(v) = self.validation {
            config.validation = v;
        }
        if let Some(v) = self.key_subject {
            config.key_subject = v;
        }
        if let Some(v) = self.value_subject {
            config.value_subject = v;
        }
        if let Some(v) = self.key_subject_strategy {
            config.key_subject_strategy = v;
        }
        if let Some(v) = self.value_subject_strategy {
            config.value_subject_strategy = v;
        }
        if let Some(v) = self.durability {
            config.durability = v;
        }
        if let Some(v) = self.sunset_produce {
            config.sunset_produce = v;
        }
    }
}

fn topic_view(topic: &Topic) -> Value {
    let c = &topic.config;
    json!({
        "name": c.name,
        "configs": {
            "retention.ms": c.retention_ms.to_string(),
            "retention.bytes": c.retention_bytes.to_string(),
            "herald.validation": serde_json::to_value(c.validation).unwrap_or(Value::Null),
            "herald.key.subject": c.key_subject,
            "herald.value.subject": c.value_subject,
            "key.subject.name.strategy": c.key_subject_strategy.class_name(),
            "value.subject.name.strategy": c.value_subject_strategy.class_name(),
            "herald.sunset.produce": c.sunset_produce.as_str(),
        },
        "description": c.description,
        "owner": c.owner,
        "contact": c.contact,
        "tags": c.tags,
        "examples": c.examples,
        "partitions": (0..c.partitions).map(partition_view).collect::<Vec<_>>(),
    })
}

fn partition_view(p: u32) -> Value {
    json!({"partition": p, "leader": 0, "replicas": [{"broker": 0, "leader": true, "in_sync": true}]})
}

/// The topics the caller may describe.
pub async fn list_topics(State(state): State<AppState>, caller: Caller) -> Reply {
    let names: Vec<String> = broker(&state)?
        .topics()
        .iter()
        .map(|t| t.config.name.clone())
        .filter(|name| caller.may(Operation::Describe, &Resource::topic(name.as_str())))
        .collect();
    reply(StatusCode::OK, &names)
}

pub async fn create_topic(State(state): State<AppState>, caller: Caller, body: Bytes) -> Reply {
    let request: TopicBody = parse_body(&body)?;
    let Some(name) = request.name.clone() else {
        return Err(ApiError::bad_request("Invalid request body: missing field `name`"));
    };
    caller.check(Operation::Admin, &Resource::topic(name.as_str()))?;
    // The subjects default from the name, so the defaults come first and the body after.
    let mut config = TopicConfig::new(&name, 1);
    request.apply(&mut config);
    let broker = broker(&state)?;
    let topic = tokio::task::spawn_blocking(move || broker.create_topic(config))
        .await
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    reply(StatusCode::CREATED, &topic_view(&topic))
}

/// `PATCH /topics/{topic}`: the settings given change, the others stay.
pub async fn update_topic(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Reply {
    let request: TopicBody = parse_body(&body)?;
    if request.name.as_ref().is_some_and(|given| *given != name) {
        return Err(BrokerError::Topic(TopicError::Invalid(
            "name cannot change after a topic is created".to_string(),
        ))
        .into());
    }
    let broker = broker(&state)?;
    let topic = tokio::task::spawn_blocking(move || broker.update_topic(&name, |config| request.apply(config)))
        .await
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    reply(StatusCode::OK, &topic_view(&topic))
}

pub async fn describe_topic(State(state): State<AppState>, Path(name): Path<String>) -> Reply {
    let topic = broker(&state)?.topic(&name)?;
    reply(StatusCode::OK, &topic_view(&topic))
}

pub async fn delete_topic(State(state): State<AppState>, Path(name): Path<String>) -> Reply {
    let broker = broker(&state)?;
    tokio::task::spawn_blocking(move || broker.delete_topic(&name))
        .await
        .map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list_partitions(State(state): State<AppState>, Path(name): Path<String>) -> Reply {
    let topic = broker(&state)?.topic(&name)?;
    reply(
        StatusCode::OK,
        &(0..topic.config.partitions).map(partition_view).collect::<Vec<_>>(),
    )
}

pub async fn partition_offsets(
    State(state): State<AppState>,
    Path((name, partition)): Path<(String, String)>,
) -> Reply {
    let topic = broker(&state)?.topic(&name)?;
    let partition = partition_number(&name, &partition)?;
    let (start, end) = topic.offsets(partition)?;
    reply(StatusCode::OK, &json!({"beginning_offset": start, "end_offset": end}))
}

/// A partition from a path: anything but a whole number from 0 is no partition (404/40402,
/// as an unknown one), said as written rather than read as another number.
fn partition_number(topic: &str, text: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            40402,
            format!("Partition {text:?} of topic '{topic}' not found: partitions are numbered from 0"),
        )
    })
}

#[derive(Debug, Deserialize)]
struct ProduceRequest<'a> {
    #[serde(borrow)]
    records: Vec<ProduceRecord<'a>>,
    /// The Avro and Protobuf formats' schemas: an id, or a schema text to register under
    /// the subject.
    #[serde(default)]
    value_schema_id: Option<i64>,
    #[serde(default)]
    value_schema: Option<String>,
    #[serde(default)]
    key_schema_id: Option<i64>,
    #[serde(default)]
    key_schema: Option<String>,
}

/// For the Avro and Protobuf formats: the schema a field's JSON is encoded with, and its id
/// (in range, so it frames as itself).
struct SchemaTarget {
    id: u32,
    schema: Arc<crate::schema::Schema>,
}

/// Resolves `*_schema_id` or registers `*_schema` under the part's subject, as REST Proxy
/// does: the one the topic's subject name strategy gives the schema.
async fn schema_target(
    state: &AppState,
    topic: &TopicConfig,
    part: Part,
    schema_type: SchemaType,
    (id, text): (Option<i64>, Option<&str>),
) -> Result<Option<SchemaTarget>, ApiError> {
    let field = part.as_str();
    // Ids are those of the configured subject's context, as the gate reads them.
    let mut context = context_of(subject::configured(topic, part));
    let id = match (id, text) {
        (Some(id), _) if !schema_id_in_range(id) => {
            return Err(ApiError::unprocessable(
                42201,
                format!("{field}_schema_id {id} is out of range: schema ids are between 1 and {MAX_ID} (2^31-1)"),
            ))
        }
        (Some(id), _) => id,
        (None, Some(text)) => {
            let subject = subject_for_text(topic, part, schema_type, text)?;
            let request = crate::registry::SchemaRequest::new(schema_type, text);
            let registered = state.registry.register(&subject, &request, false).await?;
            context = registered.schema.context;
            registered.id
        }
        (None, None) => return Ok(None),
    };
    let schema = state.registry.parsed_schema(&context, id).await?;
    if schema.schema_type() != schema_type {
        return Err(ApiError::unprocessable(
            42201,
            format!(
                "{field}_schema_id {id} is a {} schema, not {schema_type}",
                schema.schema_type()
            ),
        ));
    }
    let id = u32::try_from(id).map_err(|_| {
        ApiError::unprocessable(
            42201,
            format!("{field} schema id {id} is out of range: schema ids are between 1 and {MAX_ID} (2^31-1)"),
        )
    })?;
    Ok(Some(SchemaTarget { id, schema }))
}

/// The subject a `*_schema` text is registered under. Under a record strategy it is named
/// after the schema; a text that does not parse goes to the configured subject, whose
/// registration then refuses it with the registry's own message.
fn subject_for_text(topic: &TopicConfig, part: Part, schema_type: SchemaType, text: &str) -> Result<String, ApiError> {
    let configured = subject::configured(topic, part);
    let strategy = subject::strategy(topic, part);
    if strategy == SubjectStrategy::Topic {
        return Ok(configured.to_string());
    }
    // Read as the registry reads it: a default that does not fit its type is the
    // registration's business, not a reason to pick another subject.
    match crate::schema::Schema::parse_with(schema_type, text, &[], crate::schema::ParseOptions::LENIENT) {
        Ok(schema) => subject::for_schema(topic, part, &schema).map_err(|why| {
            ApiError::unprocessable(
                42201,
                format!(
                    "{part}_schema cannot name the {part} subject with {}: {why}",
                    strategy.class_name()
                ),
            )
        }),
        Err(_) => Ok(configured.to_string()),
    }
}

/// Keys and values stay raw JSON text borrowed from the request body until their format
/// decides what they become: no copy of a base64 string before it is decoded.
#[derive(Debug, Deserialize)]
struct ProduceRecord<'a> {
    #[serde(default, borrow)]
    key: Option<&'a RawValue>,
    #[serde(default, borrow)]
    value: Option<&'a RawValue>,
    /// Read as any integer and checked per record, so a negative one is reported in the
    /// record's errors like any other partition that does not exist.
    #[serde(default)]
    partition: Option<i64>,
}

/// One record's problem, as the 422 answer lists them.
#[derive(Debug, Serialize)]
struct RecordError {
    index: usize,
    field: &'static str,
    /// JSON pointer into the payload, when the problem is inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    reason: String,
}

fn payload(
    format: Format,
    raw: Option<&RawValue>,
    target: Option<&SchemaTarget>,
    index: usize,
    field: &'static str,
) -> Result<Option<Vec<u8>>, RecordError> {
    let error = |reason: String| RecordError {
        index,
        field,
        path: None,
        reason,
    };
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    match format {
        Format::Json => {
            let value: Value = serde_json::from_str(raw.get()).map_err(|e| error(e.to_string()))?;
            Ok(Some(value.to_string().into_bytes()))
        }
        Format::Avro | Format::Protobuf => {
            let Some(target) = target else {
                return Err(error(format!(
                    "the {} format needs {field}_schema_id or {field}_schema",
                    format.schema_type().map_or("", SchemaType::as_str)
                )));
            };
            let encoded = match target.schema.as_ref() {
                crate::schema::Schema::Avro(schema) => {
                    let value: Value = serde_json::from_str(raw.get()).map_err(|e| error(e.to_string()))?;
                    crate::validate::avro::encode_json(schema, &value)
                }
                crate::schema::Schema::Protobuf(schema) => crate::validate::protobuf::encode_json(schema, raw.get()),
                crate::schema::Schema::Json(_) => unreachable!("schema_target keeps the format's type only"),
            };
            encoded
                .map(|bytes| Some(crate::validate::frame(target.id, &bytes)))
                .map_err(|v| RecordError {
                    index,
                    field,
                    path: Some(v.path),
                    reason: v.reason,
                })
        }
        Format::Binary => {
            let text = raw.get();
            let decoded = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                // Base64 needs no escapes; a string with some is unescaped first.
                Some(inner) if !inner.contains('\\') => decode_base64(inner),
                Some(_) => decode_base64(&serde_json::from_str::<String>(text).map_err(|e| error(e.to_string()))?),
                None => return Err(error("the binary format takes base64 strings".to_string())),
            };
            decoded.map(Some).map_err(error)
        }
    }
}

/// A record's key and value bytes, either of which may be absent.
pub type KeyAndValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The keys and values of a produce body in the JSON or binary format, encoded as they would
/// be written, or the first problem: the body parser alone, without a topic or the
/// registry (for the fuzz targets).
pub fn produce_body_records(body: &[u8], binary: bool) -> Result<Vec<KeyAndValue>, String> {
    let request: ProduceRequest = parse_body(body).map_err(|e| e.message)?;
    let format = if binary { Format::Binary } else { Format::Json };
    request
        .records
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let key = payload(format, r.key, None, index, "key").map_err(|e| e.reason.clone())?;
            let value = payload(format, r.value, None, index, "value").map_err(|e| e.reason)?;
            Ok((key, value))
        })
        .collect()
}

/// Standard base64 with padding, decoded with SIMD: on the produce path it is most of the
/// CPU spent per byte.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    base64_simd::STANDARD.decode_to_vec(text).map_err(|_| {
        let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
        match text
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii() && alphabet(c as u8)) && c != '=')
        {
            Some((at, c)) => format!("not valid base64: {c:?} at position {at} is not in its alphabet"),
            None => format!(
                "not valid base64: {} characters with misplaced or missing '=' padding",
                text.len()
            ),
        }
    })
}

pub async fn produce(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    produce_to(state, name, None, headers, body).await
}

pub async fn produce_partition(
    State(state): State<AppState>,
    Path((name, partition)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let partition = partition_number(&name, &partition)?;
    produce_to(state, name, Some(partition), headers, body).await
}

/// Checks every record first: one bad record refuses the whole request, and nothing lands.
/// Then appends one batch per partition and answers each record's partition and offset, in
/// request order.
async fn produce_to(state: AppState, name: String, partition: Option<u32>, headers: HeaderMap, body: Bytes) -> Reply {
    let format = request_format(&headers)?;
    let request: ProduceRequest = parse_body(&body)?;
    let topic = broker(&state)?.topic(&name)?;
    if request.records.is_empty() || request.records.len() > MAX_RECORDS {
        return Err(ApiError::unprocessable(
            42201,
            format!(
                "\"records\" must hold 1 to {MAX_RECORDS} records, not {}",
                request.records.len()
            ),
        ));
    }
    let (value_target, key_target) = match format.schema_type() {
        Some(schema_type) => {
            let value = (request.value_schema_id, request.value_schema.as_deref());
            let key = (request.key_schema_id, request.key_schema.as_deref());
            (
                schema_target(&state, &topic.config, Part::Value, schema_type, value).await?,
                schema_target(&state, &topic.config, Part::Key, schema_type, key).await?,
            )
        }
        None => (None, None),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut errors = Vec::new();
    let mut placed: Vec<(u32, Record)> = Vec::with_capacity(request.records.len());
    let mut sticky: Option<u32> = None;
    // Encoding can make records larger than the body that carried them (Avro fills in field
    // defaults, JSON reprints numbers): the request may hold at most twice its body limit.
    let encoded_limit = state.max_request_bytes.saturating_mul(2);
    let mut encoded = 0usize;
    for (index, r) in request.records.iter().enumerate() {
        let key = payload(format, r.key, key_target.as_ref(), index, "key");
        let value = payload(format, r.value, value_target.as_ref(), index, "value");
        encoded += [&key, &value]
            .iter()
            .map(|p| p.as_ref().ok().and_then(Option::as_ref).map_or(0, Vec::len))
            .sum::<usize>();
        if encoded > encoded_limit {
            return Err(ApiError::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the records encode to more than {encoded_limit} bytes (twice max_request_bytes) by record {index}; send fewer records per request"
                ),
            ));
        }
        let named = r.partition.and_then(|p| match u32::try_from(p) {
            Ok(p) => Some(p),
            Err(_) => {
                errors.push(RecordError {
                    index,
                    field: "partition",
                    path: None,
                    reason: format!("partition {p} does not exist: partitions are numbered from 0"),
                });
                None
            }
        });
        let target = partition.or(named);
        if let Some(p) = target.filter(|&p| p >= topic.config.partitions) {
            errors.push(RecordError {
                index,
                field: "partition",
                path: None,
                reason: format!(
                    "partition {p} does not exist (the topic has {})",
                    topic.config.partitions
                ),
            });
        }
        match (key, value) {
            (Ok(key), Ok(value)) => {
                // Keyless records of one request stick to one partition (Kafka's sticky
                // partitioner): one batch, one append, one flush instead of one per partition.
                let p = target.unwrap_or_else(|| match key.as_deref() {
                    Some(key) => topic.partition_for(Some(key)),
                    None => *sticky.get_or_insert_with(|| topic.partition_for(None)),
                });
                placed.push((
                    p,
                    Record {
                        timestamp: now,
                        key,
                        value,
                        headers: Vec::new(),
                    },
                ));
            }
            (key, value) => errors.extend(key.err().into_iter().chain(value.err())),
        }
    }
    // Against the registry: every record of the request, before any is written.
    let mut diverted = dead_letter::Resolved::default();
    let mut warnings = Vec::new();
    if errors.is_empty() {
        let encoding = match format {
            Format::Json => Encoding::Json,
            Format::Binary | Format::Avro | Format::Protobuf => Encoding::Framed,
        };
        let payloads: Vec<KeyValue<'_>> = placed
            .iter()
            .map(|(_, record)| (record.key.as_deref(), record.value.as_deref()))
            .collect();
        let mut judgement = state.gate.judge(&topic.config, encoding, &payloads).await?;
        warnings = std::mem::take(&mut judgement.warnings);
        let problems = match dead_letter::resolve(broker(&state)?.as_ref(), judgement) {
            Ok(letters) => {
                diverted = letters;
                Vec::new()
            }
            Err(problems) => problems,
        };
        errors.extend(problems.into_iter().map(|p| RecordError {
            index: p.index,
            field: p.part.as_str(),
            path: p.path,
            reason: p.reason,
        }));
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            [(CONTENT_TYPE, HeaderValue::from_static(KAFKA_V2))],
            serde_json::to_vec(&json!({
                "error_code": 422,
                "message": format!("{} of {} records are invalid; none was written", errors.len(), request.records.len()),
                "errors": errors,
            }))
            .unwrap_or_default(),
        )
            .into_response());
    }
    let mut offsets = vec![RecordOffset::default(); placed.len()];
    // Records rules divert go to their dead-letter topics first: durable there before the
    // produce is answered.
    let mut placed: Vec<Option<(u32, Record)>> = placed.into_iter().map(Some).collect();
    if !diverted.is_empty() {
        let indexes = diverted.indexes();
        let records = indexes
            .iter()
            .filter_map(|&i| placed[i].take().map(|(_, record)| record))
            .collect();
        let placements = dead_letter::write(diverted, &topic.config.name, records).await?;
        for (i, placement) in indexes.into_iter().zip(placements) {
            offsets[i].dead_letter = Some(placement);
        }
    }
    // One batch per partition, in request order within each.
    let mut by_partition: std::collections::BTreeMap<u32, (Vec<usize>, Vec<Record>)> =
        std::collections::BTreeMap::new();
    for (index, placed) in placed.into_iter().enumerate() {
        if let Some((p, record)) = placed {
            let (indexes, records) = by_partition.entry(p).or_default();
            indexes.push(index);
            records.push(record);
        }
    }
    for (p, (indexes, records)) in by_partition {
        let (first, _) = topic.produce(p, &records).await?;
        for (n, &i) in indexes.iter().enumerate() {
            offsets[i].partition = Some(p);
            offsets[i].offset = Some(first + n as i64);
        }
    }
    let mut answer = reply(
        StatusCode::OK,
        &ProduceResponse {
            key_schema_id: key_target.as_ref().map(|t| i64::from(t.id)),
            value_schema_id: value_target.as_ref().map(|t| i64::from(t.id)),
            offsets,
        },
    )?;
    // A subject past its sunset, under `sunset_produce = warn`: accepted, and said so.
    if let (false, Ok(value)) = (warnings.is_empty(), HeaderValue::from_str(&warnings.join("; "))) {
        answer.headers_mut().insert("herald-deprecated", value);
    }
    Ok(answer)
}

#[derive(Serialize)]
struct ProduceResponse {
    key_schema_id: Option<i64>,
    value_schema_id: Option<i64>,
    offsets: Vec<RecordOffset>,
}

/// Where one record landed; `error_code` and `error` are always null (a request lands
/// whole or not at all) but REST Proxy clients expect them. A record a data-contract rule
/// diverted has no partition or offset in the topic, and says where it went instead.
#[derive(Clone, Default, Serialize)]
struct RecordOffset {
    partition: Option<u32>,
    offset: Option<i64>,
    error_code: Option<i32>,
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_letter: Option<dead_letter::Placement>,
}

/// `GET /topics/{t}/partitions/{p}/records?offset=N&count=C&max_bytes=M`: records from an
/// offset (default 0), at most `count` of them (default: as many as fit) and about
/// `max_bytes` of keys and values (default 1 MiB, at most 64 MiB; at least one record),
/// never past the durable point. The read takes its room in the shared read budget first,
/// and its answer stops at the first record that does not fit in its share: the client's
/// next read starts after the last offset it got.
pub async fn read_partition(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, partition)): Path<(String, String)>,
    headers: HeaderMap,
    params: Params,
) -> Reply {
    let topic = broker(&state)?.topic(&name)?;
    let partition = partition_number(&name, &partition)?;
    let offset = params.whole_number("offset", 0..=i64::MAX)?.unwrap_or(0);
    let count = params
        .whole_number("count", 1..=i64::MAX)?
        .map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(usize::MAX));
    let max_bytes = max_bytes(&params)?;
    let format = response_format(&headers, &params);
    let budget = &state.read_budget;
    let mut reservation = budget.reserve(max_bytes, state.max_request_bytes).await?;
    let read_bytes = max_bytes.min(reservation.batches());
    let batches = read_batches(budget, &mut reservation, || {
        topic.read_batches(partition, offset, read_bytes)
    })
    .await?;
    let mut out = RecordsJson::new(format != Format::Json, reservation.answer());
    out.start_partition(&name, partition);
    out.expect(batches.len());
    let decoded = batch::DecodedLog::new(&batches);
    let mut redaction = Redaction::new(caller.hidden_tags(), &state.registry);
    for record in decoded.records(offset).take(count) {
        let record = record.map_err(invalid_batch)?;
        let shown = match redaction.as_mut() {
            Some(redaction) => redaction.record(&topic.config, record.key, record.value).await?,
            None => None,
        };
        let record = shown.as_ref().map_or(record, |shown| shown.apply(&record));
        if !push_record(budget, &mut reservation, &mut out, &record).await? {
            break;
        }
    }
    drop(decoded);
    drop(batches);
    Ok(redacted_answer(records_answer(out, reservation), redaction.as_ref()))
}

/// Batches from the log, within the reservation's share for them. A log read returns at
/// least one whole batch; one larger than the share (a batch that grew past a request body
/// when encoded) is dropped at once, the share grown to its size, and read again, so that
/// it is not held outside the budget while the read waits for room.
pub(super) async fn read_batches(
    budget: &ReadBudget,
    reservation: &mut Reservation,
    read: impl Fn() -> Result<Bytes, BrokerError>,
) -> Result<Bytes, ApiError> {
    let mut attempts = 0;
    loop {
        let batches = read()?;
        let held = batches.len();
        if held <= reservation.batches() || attempts == 2 {
            return Ok(batches);
        }
        drop(batches);
        budget.grow_batches(reservation, held).await?;
        attempts += 1;
    }
}

/// Appends `record` to the answer if it fits in the answer's share, which grows for the
/// first record (a reader must progress). `false`: the answer is full, the read ends here.
pub(super) async fn push_record(
    budget: &ReadBudget,
    reservation: &mut Reservation,
    out: &mut RecordsJson,
    record: &RecordRef<'_>,
) -> Result<bool, ApiError> {
    match out.push(record) {
        Ok(()) => Ok(true),
        Err(Full(_)) if out.count() > 0 => Ok(false),
        Err(Full(needed)) => {
            budget.grow_answer(reservation, needed).await?;
            out.set_limit(needed);
            Ok(out.push(record).is_ok())
        }
    }
}

/// A stored batch that cannot be decoded: the log is damaged, not the request.
pub(super) fn invalid_batch(err: batch::BatchError) -> ApiError {
    BrokerError::Log(LogError::InvalidBatch(err)).into()
}

/// A read's `max_bytes`: 1 MiB when absent, lowered to 64 MiB (as REST Proxy lowers it to
/// `consumer.request.max.bytes`), refused when not a positive whole number.
pub(super) fn max_bytes(params: &Params) -> Result<usize, ApiError> {
    Ok(params
        .whole_number("max_bytes", 1..=i64::MAX)?
        .map_or(DEFAULT_READ_BYTES, |n| {
            usize::try_from(n).unwrap_or(usize::MAX).min(MAX_READ_BYTES)
        }))
}

/// A records answer with the `Herald-Redacted` header naming the fields a redaction
/// replaced (`value.card.number, value.email`), when it replaced any.
pub(super) fn redacted_answer(mut answer: Response, redaction: Option<&Redaction>) -> Response {
    let fields: Vec<&str> = redaction.map(|r| r.redacted().collect()).unwrap_or_default();
    if let (false, Ok(value)) = (fields.is_empty(), HeaderValue::from_str(&fields.join(", "))) {
        answer.headers_mut().insert("herald-redacted", value);
    }
    answer
}

/// The answer, holding its share of the read budget until its bytes are sent or dropped.
pub(super) fn records_answer(records: RecordsJson, reservation: Reservation) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static(KAFKA_V2))],
        reservation.hold(records.finish()),
    )
        .into_response()
}
