//! Live tail: a topic's records as they become durable, each decoded with the schema its
//! framing names, for people and tools that watch events arrive (`GET /topics/{t}/live`,
//! `herald tail`).
//!
//! A tail keeps one position per partition and reads what lies past it; when nothing does,
//! it waits for the broker's one arrivals signal (as Kafka's Fetch long poll does) instead of
//! polling. Records are read only up to the durable point: what a tail shows has been
//! acknowledged and survives a crash.

use std::sync::Arc;
use std::time::Duration;

use base64_simd::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;

use super::redaction::Redaction;
use crate::broker::batch::StoredRecord;
use crate::broker::partition::arrivals;
use crate::broker::BrokerError;
use crate::broker::Topic;
use crate::gate::{subject, Part};
use crate::registry::context::context_of;
use crate::registry::Registry;
use crate::schema::Schema;
use crate::validate::framed_id;

/// Where a tail starts in each partition it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only records that arrive from now on.
    Latest,
    /// Every record still retained.
    Earliest,
    /// From this offset (clamped into what the partition holds).
    Offset(i64),
}

impl std::str::FromStr for Start {
    type Err = String;

    fn from_str(text: &str) -> Result<Start, String> {
        match text {
            "latest" => Ok(Start::Latest),
            "earliest" => Ok(Start::Earliest),
            other => match other.parse::<i64>() {
                Ok(offset) if offset >= 0 => Ok(Start::Offset(offset)),
                _ => Err(format!(
                    "from must be latest, earliest or an offset (a whole number from 0), not {other:?}"
                )),
            },
        }
    }
}

impl Start {
    /// The offset to start from in a partition holding `first..end`.
    pub fn position(self, first: i64, end: i64) -> i64 {
        match self {
            Start::Latest => end,
            Start::Earliest => first,
            Start::Offset(offset) => offset.clamp(first, end),
        }
    }
}

/// One record as a tail shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TailRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Value,
    pub value: Value,
    /// The schema ids of framed keys and values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_schema_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_schema_id: Option<u32>,
    /// The record's headers in order (names may repeat), values shown as payloads are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, Option<Value>)>,
    /// The fields redacted for this reader (`value.ssn`; see [`super::redaction`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

impl TailRecord {
    /// The record as a CEL expression sees it.
    pub fn as_expression_record(&self) -> crate::expression::Record<'_> {
        crate::expression::Record {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: &self.key,
            value: &self.value,
            headers: &self.headers,
        }
    }
}

/// Following some partitions of one topic.
pub struct Tail {
    topic: Arc<Topic>,
    decoder: Decoder,
    /// Only records this CEL expression is true for are shown.
    filter: Option<crate::expression::Expression>,
    /// What the reader may not see.
    redaction: Option<Redaction>,
    /// (partition, next offset to show).
    positions: Vec<(u32, i64)>,
}

/// How much one read of a partition takes at most.
const READ_BYTES: usize = 1 << 20;

impl Tail {
    /// Follows `partitions` (every partition when `None`) from `start`; `resume` positions
    /// (a client's last seen event) win over `start` for the partitions they name.
    pub fn new(
        topic: Arc<Topic>,
        registry: Registry,
        partitions: Option<&[u32]>,
        start: Start,
        resume: &[(u32, i64)],
    ) -> Result<Tail, BrokerError> {
        let all: Vec<u32> = (0..topic.config.partitions).collect();
        let chosen = partitions.unwrap_or(&all);
        let mut positions = Vec::with_capacity(chosen.len());
        for &partition in chosen {
            let (first, end) = topic.offsets(partition)?;
            let from = match resume.iter().find(|(p, _)| *p == partition) {
                Some(&(_, next)) => next.clamp(first, end),
                None => start.position(first, end),
            };
            positions.push((partition, from));
        }
        Ok(Tail {
            decoder: Decoder::new(topic.clone(), registry),
            filter: None,
            redaction: None,
            topic,
            positions,
        })
    }

    /// Shows only the records `filter` is true for.
    pub fn with_filter(mut self, filter: Option<crate::expression::Expression>) -> Tail {
        self.filter = filter;
        self
    }

    /// Redacts what the reader may not see.
    pub fn with_redaction(mut self, redaction: Option<Redaction>) -> Tail {
        self.redaction = redaction;
        self
    }

    /// The next offset to show, per partition followed: what a client resumes from.
    pub fn positions(&self) -> &[(u32, i64)] {
        &self.positions
    }

    /// The next records, waiting up to `wait` for some to arrive (none after that: the
    /// caller may say it is still there, then ask again).
    pub async fn next(&mut self, wait: Duration) -> Result<Vec<TailRecord>, BrokerError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before reading, so an arrival between the read and the wait wakes it.
            let arrived = arrivals().notified();
            let records = self.read()?;
            if !records.is_empty() {
                let shown = self.decode(records).await;
                if !shown.is_empty() {
                    return Ok(shown);
                }
                // Everything read was filtered out: read on.
                continue;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    fn read(&mut self) -> Result<Vec<(u32, StoredRecord)>, BrokerError> {
        let mut out = Vec::new();
        for (partition, next) in &mut self.positions {
            let records = self.topic.fetch(*partition, *next, READ_BYTES)?;
            if let Some(last) = records.last() {
                *next = last.offset + 1;
            }
            out.extend(records.into_iter().map(|r| (*partition, r)));
        }
        Ok(out)
    }

    async fn decode(&mut self, records: Vec<(u32, StoredRecord)>) -> Vec<TailRecord> {
        let mut out = Vec::with_capacity(records.len());
        for (partition, mut stored) in records {
            let mut redacted = Vec::new();
            if let Some(redaction) = self.redaction.as_mut() {
                let key = stored.record.key.as_deref();
                let value = stored.record.value.as_deref();
                // A registry that cannot answer cannot say what to hide: hide everything.
                let shown = match redaction.record(&self.topic.config, key, value).await {
                    Ok(shown) => shown,
                    Err(_) => Some(Redaction::withheld()),
                };
                if let Some(shown) = shown {
                    redacted = shown.fields.clone();
                    shown.apply_to(&mut stored);
                }
            }
            let mut record = self.decoder.record(partition, &stored).await.record;
            record.redacted = redacted;
            if self
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&record.as_expression_record()))
            {
                out.push(record);
            }
        }
        out
    }
}

/// A record decoded, and why its key or value could not be when one could not (they are
/// then shown as base64 with the reason inside the record).
pub struct Decoded {
    pub record: TailRecord,
    pub undecodable: Option<String>,
}

/// Turns a topic's stored records into JSON with the registry's schemas: what a tail shows
/// and what a JSON webhook sends.
pub struct Decoder {
    topic: Arc<Topic>,
    registry: Registry,
}

impl Decoder {
    pub fn new(topic: Arc<Topic>, registry: Registry) -> Decoder {
        Decoder { topic, registry }
    }

    pub async fn record(&self, partition: u32, stored: &StoredRecord) -> Decoded {
        let record = &stored.record;
        let (key, key_schema_id, key_error) = self.payload(Part::Key, record.key.as_deref()).await;
        let (value, value_schema_id, value_error) = self.payload(Part::Value, record.value.as_deref()).await;
        let undecodable = match (key_error, value_error) {
            (None, None) => None,
            (Some(key), None) => Some(format!("key: {key}")),
            (None, Some(value)) => Some(format!("value: {value}")),
            (Some(key), Some(value)) => Some(format!("key: {key}; value: {value}")),
        };
        Decoded {
            record: TailRecord {
                topic: self.topic.config.name.clone(),
                partition,
                offset: stored.offset,
                timestamp: record.timestamp,
                key,
                value,
                key_schema_id,
                value_schema_id,
                headers: record
                    .headers
                    .iter()
                    .map(|(name, value)| (name.clone(), value.as_deref().map(unframed)))
                    .collect(),
                redacted: Vec::new(),
            },
            undecodable,
        }
    }

    /// A key or value as JSON: a framed payload decoded with the schema its id names (in
    /// the context of the part's configured subject, as the gate reads it); unframed JSON as
    /// itself; other text as a string; other bytes as `{"base64": …}`. A payload that does
    /// not decode is shown with the reason, never dropped.
    async fn payload(&self, part: Part, bytes: Option<&[u8]>) -> (Value, Option<u32>, Option<String>) {
        let Some(bytes) = bytes else {
            return (Value::Null, None, None);
        };
        let Some(id) = framed_id(bytes) else {
            return (unframed(bytes), None, None);
        };
        let context = context_of(subject::configured(&self.topic.config, part));
        let body = &bytes[5..];
        let decoded = match self.registry.parsed_schema(&context, i64::from(id)).await {
            Err(error) => Err(format!("schema {id} cannot be read: {error}")),
            Ok(schema) => match schema.as_ref() {
                Schema::Avro(avro) => crate::validate::avro::decode_binary(avro, body).map_err(|v| v.reason),
                Schema::Protobuf(proto) => crate::validate::protobuf::decode_json(proto, body).map_err(|v| v.reason),
                Schema::Json(_) => serde_json::from_slice(body).map_err(|e| e.to_string()),
            },
        };
        match decoded {
            Ok(value) => (value, Some(id), None),
            Err(reason) => (
                serde_json::json!({"undecodable": reason, "base64": BASE64.encode_to_string(bytes)}),
                Some(id),
                Some(reason),
            ),
        }
    }
}

fn unframed(bytes: &[u8]) -> Value {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return value;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => serde_json::json!({"base64": BASE64.encode_to_string(bytes)}),
    }
}

/// Positions as an SSE event id (`0:15,1:7`): what `Last-Event-ID` brings back to resume.
pub fn event_id(positions: &[(u32, i64)]) -> String {
    positions
        .iter()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads an event id back; `None` for anything that is not one.
pub fn parse_event_id(text: &str) -> Option<Vec<(u32, i64)>> {
    text.split(',')
        .map(|pair| {
            let (p, o) = pair.trim().split_once(':')?;
            Some((p.parse().ok()?, o.parse().ok().filter(|o: &i64| *o >= 0)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_read_as_words_or_offsets() {
        assert_eq!("latest".parse(), Ok(Start::Latest));
        assert_eq!("earliest".parse(), Ok(Start::Earliest));
        assert_eq!("42".parse(), Ok(Start::Offset(42)));
        assert!("-1"
            .parse::<Start>()
            .unwrap_err()
            .contains("latest, earliest or an offset"));
        assert!("soon".parse::<Start>().is_err());
    }

    #[test]
    fn event_ids_round_trip_and_junk_is_none() {
        let positions = vec![(0, 15), (1, 7)];
        assert_eq!(parse_event_id(&event_id(&positions)), Some(positions));
        assert_eq!(parse_event_id("0:15,x"), None);
        assert_eq!(parse_event_id("0:-3"), None);
        assert_eq!(parse_event_id(""), None);
    }

    #[test]
    fn unframed_payloads_show_as_json_text_or_base64() {
        assert_eq!(unframed(br#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(unframed(b"hello"), Value::String("hello".into()));
        assert_eq!(unframed(&[0xff, 0x00]), serde_json::json!({"base64": "/wA="}));
    }
}
