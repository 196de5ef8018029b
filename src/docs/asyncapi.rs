//! The catalog as an AsyncAPI 3.0 document: a channel per topic, its key and value messages
//! (Avro payloads as multi-format schemas with `schemaFormat`, JSON Schemas likewise, so the
//! registered text is carried unchanged), a send and a receive operation per topic, and the
//! topic's owner, contact and tags as `x-` extensions. The servers are the HTTP API and, when
//! its listener is on, the Kafka protocol (with Kafka bindings naming the schema registry and
//! each topic's partitions and settings).

use serde_json::{json, Map, Value};

use super::{Endpoints, Example};
use crate::broker::topic::{TopicConfig, Validation};
use crate::registry::SubjectSchema;
use crate::schema::Schema;

/// What a message's payload is: the registered schema and where it came from.
pub struct MessageSchema {
    pub subject: String,
    pub version: i64,
    pub id: i64,
    /// The schema as JSON.
    pub schema: Value,
    pub schema_format: String,
    pub content_type: &'static str,
    /// The subject's deprecation (its `herald.deprecated` metadata property).
    pub deprecation: Option<crate::schema::deprecation::Deprecation>,
}

impl MessageSchema {
    pub fn new(version: &SubjectSchema, schema: &Schema) -> MessageSchema {
        let (schema_format, content_type) = match schema {
            Schema::Avro(_) => (
                "application/vnd.apache.avro+json;version=1.9.0".to_string(),
                "application/vnd.apache.avro+binary",
            ),
            Schema::Json(json) => (
                format!("application/schema+json;version={}", json_schema_version(json.draft())),
                "application/json",
            ),
            // AsyncAPI's Protobuf format names the schema's syntax version.
            Schema::Protobuf(proto) => (
                format!(
                    "application/vnd.google.protobuf;version={}",
                    if proto.file().syntax() == prost_reflect::Syntax::Proto2 {
                        2
                    } else {
                        3
                    }
                ),
                "application/x-protobuf",
            ),
        };
        MessageSchema {
            subject: version.subject.clone(),
            version: version.version,
            id: version.schema.id,
            // A JSON document for Avro and JSON Schema; the `.proto` text itself for Protobuf.
            schema: serde_json::from_str(&version.schema.schema)
                .unwrap_or_else(|_| Value::String(version.schema.schema.clone())),
            schema_format,
            content_type,
            deprecation: crate::schema::deprecation::of_subject(version.schema.metadata.as_ref()),
        }
    }
}

/// AsyncAPI names JSON Schema drafts as `draft-07` and so on; it has no names past draft-07,
/// so newer documents are labelled draft-07, the dialect AsyncAPI's own schema extends.
fn json_schema_version(draft: crate::schema::json::Draft) -> &'static str {
    use crate::schema::json::Draft;
    match draft {
        Draft::Draft4 => "draft-04",
        Draft::Draft6 => "draft-06",
        _ => "draft-07",
    }
}

/// One topic's inputs.
pub struct ChannelSource {
    pub config: TopicConfig,
    pub key: Option<MessageSchema>,
    pub value: Option<MessageSchema>,
    pub examples: Vec<Example>,
    /// The topic's webhook subscriptions (name, format): when there are any, the document
    /// describes the webhook channel their endpoints receive.
    pub webhooks: Vec<(String, String)>,
}

/// Component names allow `[A-Za-z0-9.\-_]`; Kafka topic names use exactly those.
fn component_id(topic: &str) -> String {
    topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The version of AsyncAPI's Kafka bindings the document uses.
const KAFKA_BINDING_VERSION: &str = "0.5.0";

/// The document for `channels` (one topic's when `only` names it), served at `endpoints`.
pub fn document(channels: &[ChannelSource], only: Option<&str>, endpoints: &Endpoints) -> Value {
    let mut channel_map = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for source in channels {
        let config = &source.config;
        let id = component_id(&config.name);
        let message_id = format!("{id}.value");
        let mut channel = json!({
            "address": config.name,
            "title": config.name,
            "messages": {},
            "x-partitions": config.partitions,
            "x-retention-ms": config.retention_ms,
        });
        if let Some(description) = &config.description {
            channel["description"] = json!(description.trim());
        }
        if !config.tags.is_empty() {
            channel["tags"] = config.tags.iter().map(|t| json!({"name": t})).collect();
            channel["x-tags"] = json!(config.tags);
        }
        if let Some(owner) = &config.owner {
            channel["x-owner"] = json!(owner);
        }
        if let Some(contact) = &config.contact {
            channel["x-contact"] = json!(contact);
        }
        if endpoints.kafka_bootstrap.is_some() {
            channel["bindings"] = json!({"kafka": kafka_channel_binding(config)});
        }
        if let Some(value) = &source.value {
            let mut payload = value.schema.clone();
            rebase_refs(
                &mut payload,
                &format!("#/components/messages/{message_id}/payload/schema"),
            );
            let mut message = json!({
                "name": format!("{}-value", config.name),
                "title": format!("{} event", config.name),
                "contentType": value.content_type,
                "payload": {"schemaFormat": value.schema_format, "schema": payload},
                "x-subject": value.subject,
                "x-version": value.version,
                "x-schema-id": value.id,
            });
            if let Some(summary) = config.description.as_deref().map(super::markdown::first_paragraph) {
                if !summary.is_empty() {
                    message["summary"] = json!(summary);
                }
            }
            if let Some(deprecation) = &value.deprecation {
                message["x-deprecated"] = json!({
                    "since": deprecation.since.map(|d| d.to_string()),
                    "sunset": deprecation.sunset.map(|d| d.to_string()),
                    "replacement": deprecation.replacement,
                    "reason": deprecation.reason,
                    "description": deprecation.describe(),
                });
            }
            if let Some(key) = &source.key {
                let mut key_schema = key.schema.clone();
                rebase_refs(
                    &mut key_schema,
                    &format!("#/components/messages/{message_id}/x-key/schema"),
                );
                message["x-key"] = json!({
                    "subject": key.subject,
                    "version": key.version,
                    "schema-id": key.id,
                    "schemaFormat": key.schema_format,
                    "schema": key_schema,
                });
            }
            let examples: Vec<Value> = source
                .examples
                .iter()
                .filter(|e| !e.generated)
                .filter_map(|e| {
                    let payload: Value = serde_json::from_str(&e.json).ok()?;
                    Some(json!({"name": e.name, "payload": payload}))
                })
                .collect();
            if !examples.is_empty() {
                message["examples"] = Value::Array(examples);
            }
            messages.insert(message_id.clone(), message);
            channel["messages"][&message_id] = json!({"$ref": format!("#/components/messages/{message_id}")});
        }
        let channel_messages: Vec<Value> = source
            .value
            .iter()
            .map(|_| json!({"$ref": format!("#/channels/{id}/messages/{message_id}")}))
            .collect();
        operations.insert(
            format!("produce.{id}"),
            json!({
                "action": "send",
                "channel": {"$ref": format!("#/channels/{id}")},
                "summary": format!("Produce events to {}", config.name),
                "messages": channel_messages,
            }),
        );
        operations.insert(
            format!("consume.{id}"),
            json!({
                "action": "receive",
                "channel": {"$ref": format!("#/channels/{id}")},
                "summary": format!("Consume events from {}", config.name),
                "messages": channel_messages,
            }),
        );
        if !source.webhooks.is_empty() {
            add_webhook_channel(source, &id, &mut channel_map, &mut operations, &mut messages);
        }
        channel_map.insert(id, channel);
    }
    let title = match only {
        Some(topic) => format!("{topic} events"),
        None => "Herald event catalog".to_string(),
    };
    let description = match only {
        Some(_) => "One topic's channel, message and operations, generated from the Herald registry.",
        None => "Every topic served by this Herald: channels, messages and operations, generated from the registry.",
    };
    let mut document = json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version_of(channels, only),
            "description": description,
        },
        "defaultContentType": "application/json",
        "servers": servers(endpoints),
        "channels": channel_map,
        "operations": operations,
        "components": {"messages": messages},
    });
    if only.is_some() && channels.len() == 1 {
        if let Some(owner) = &channels[0].config.owner {
            document["info"]["x-owner"] = json!(owner);
        }
    }
    document
}

/// The version of AsyncAPI's HTTP bindings the document uses.
const HTTP_BINDING_VERSION: &str = "0.3.0";

/// What a webhook subscription's endpoint receives: one POST per record, signed with
/// Standard Webhooks headers, the record decoded into an envelope (JSON subscriptions; raw
/// ones get the value's bytes with the coordinates in headers). The address is null: each
/// subscription has its own endpoint.
fn add_webhook_channel(
    source: &ChannelSource,
    id: &str,
    channels: &mut Map<String, Value>,
    operations: &mut Map<String, Value>,
    messages: &mut Map<String, Value>,
) {
    let topic = &source.config.name;
    let channel_id = format!("{id}.webhook");
    let value_note = match &source.value {
        Some(_) => format!("The record's value decoded as JSON with its schema (message {id}.value)."),
        None => "The record's value: JSON as produced, text as a string, other bytes as {\"base64\": …}.".to_string(),
    };
    let header = |description: &str| json!({"type": "string", "description": description});
    messages.insert(
        channel_id.clone(),
        json!({
            "name": format!("{topic}-webhook"),
            "title": format!("{topic} record, delivered by webhook"),
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
                "properties": {
                    "webhook-id": header("<topic>-<partition>-<offset>: the same on every retry of a record, for deduplication."),
                    "webhook-timestamp": header("Unix seconds when the request was sent."),
                    "webhook-signature": header("v1,<base64 HMAC-SHA256 of id.timestamp.body> per signing secret, space-separated."),
                    "herald-subscription": header("The subscription's name."),
                    "herald-topic": header("The topic."),
                    "herald-partition": header("The record's partition."),
                    "herald-offset": header("The record's offset."),
                },
            },
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-07",
                "schema": {
                    "type": "object",
                    "required": ["type", "timestamp", "data"],
                    "properties": {
                        "type": {"const": "herald.record"},
                        "timestamp": {"type": "string", "format": "date-time", "description": "The record's timestamp."},
                        "data": {
                            "type": "object",
                            "required": ["topic", "partition", "offset", "timestamp", "key", "value"],
                            "properties": {
                                "topic": {"type": "string"},
                                "partition": {"type": "integer", "minimum": 0},
                                "offset": {"type": "integer", "minimum": 0},
                                "timestamp": {"type": "integer", "description": "Milliseconds since the Unix epoch."},
                                "key": {"description": "The record's key, decoded as the value is."},
                                "value": {"description": value_note},
                                "key_schema_id": {"type": "integer"},
                                "value_schema_id": {"type": "integer"},
                                "headers": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}},
                            },
                        },
                    },
                },
            },
        }),
    );
    let subscriptions: Vec<Value> = source
        .webhooks
        .iter()
        .map(|(name, format)| json!({"name": name, "format": format}))
        .collect();
    channels.insert(
        channel_id.clone(),
        json!({
            "address": null,
            "title": format!("{topic} webhook"),
            "description": format!(
                "Herald POSTs each record of {topic} to every subscription's endpoint, in partition order, at least once; a receiver answers 2xx to acknowledge."
            ),
            "messages": {channel_id.clone(): {"$ref": format!("#/components/messages/{channel_id}")}},
            "x-subscriptions": subscriptions,
        }),
    );
    operations.insert(
        format!("webhook.{id}"),
        json!({
            "action": "send",
            "channel": {"$ref": format!("#/channels/{channel_id}")},
            "summary": format!("Deliver {topic}'s records to webhook subscribers"),
            "bindings": {"http": {"method": "POST", "bindingVersion": HTTP_BINDING_VERSION}},
            "messages": [{"$ref": format!("#/channels/{channel_id}/messages/{channel_id}")}],
        }),
    );
}

/// Points a document's servers at `endpoints` (a static site published under another
/// address than the server it was built from). The Kafka server is named only if the
/// document had one: its channels carry Kafka bindings only then.
pub fn move_servers(document: &mut Value, endpoints: &Endpoints) {
    let had_kafka = document.pointer("/servers/kafka").is_some();
    let endpoints = Endpoints {
        public_url: endpoints.public_url.clone(),
        kafka_bootstrap: endpoints.kafka_bootstrap.clone().filter(|_| had_kafka),
    };
    if let Some(servers) = document.get_mut("servers") {
        *servers = self::servers(&endpoints);
    }
}

/// The public URL and Kafka bootstrap a document names, as [`servers`] wrote them.
pub fn endpoints_of(document: &Value) -> Option<Endpoints> {
    let http = document.pointer("/servers/herald")?;
    let public_url = format!(
        "{}://{}{}",
        http.get("protocol")?.as_str()?,
        http.get("host")?.as_str()?,
        http.get("pathname").and_then(Value::as_str).unwrap_or_default()
    );
    let kafka_bootstrap = document
        .pointer("/servers/kafka/host")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Endpoints {
        public_url,
        kafka_bootstrap,
    })
}

/// The HTTP API at the public URL (its host and path, never a request's `Host` header) and,
/// when the listener is on, the Kafka protocol at the advertised address.
fn servers(endpoints: &Endpoints) -> Value {
    let url = endpoints.public_url.as_str();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (host, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let mut http = json!({
        "host": host,
        "protocol": scheme,
        "description": "Herald's REST Proxy v2 API: POST /topics/{topic} to produce, consumer groups under /consumers.",
    });
    if !path.is_empty() {
        http["pathname"] = json!(path);
    }
    let mut servers = json!({ "herald": http });
    if let Some(bootstrap) = &endpoints.kafka_bootstrap {
        servers["kafka"] = json!({
            "host": bootstrap,
            "protocol": "kafka",
            "description": "Herald's Kafka listener: one node, leader of every partition. Records pass the same contract gate as over HTTP; serializers find schemas in Herald's registry.",
            "bindings": {"kafka": {
                "schemaRegistryUrl": endpoints.public_url,
                "schemaRegistryVendor": "confluent",
                "bindingVersion": KAFKA_BINDING_VERSION,
            }},
        });
    }
    servers
}

/// A topic as Kafka clients see it: partitions, one replica, and the settings a Kafka
/// topic would carry (Confluent's names for schema validation and subject naming).
fn kafka_channel_binding(config: &TopicConfig) -> Value {
    json!({
        "topic": config.name,
        "partitions": config.partitions,
        "replicas": 1,
        "topicConfiguration": {
            "cleanup.policy": ["delete"],
            "retention.ms": config.retention_ms,
            "retention.bytes": config.retention_bytes,
            "max.message.bytes": config.max_message_bytes,
            "confluent.key.schema.validation": config.validation != Validation::Off,
            "confluent.value.schema.validation": config.validation != Validation::Off,
            "confluent.key.subject.name.strategy": config.key_subject_strategy.class_name(),
            "confluent.value.subject.name.strategy": config.value_subject_strategy.class_name(),
        },
        "bindingVersion": KAFKA_BINDING_VERSION,
    })
}

/// A JSON Schema's local references (`#/definitions/line`) point into the schema; inside
/// the AsyncAPI document they must point to where the schema now sits.
fn rebase_refs(schema: &mut Value, base: &str) {
    match schema {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                match member {
                    // `#` and `#/…` point into the schema; `#name` anchors and other documents
                    // stay as written.
                    Value::String(target) if key == "$ref" && (target == "#" || target.starts_with("#/")) => {
                        *target = format!("{base}{}", &target[1..]);
                    }
                    other => rebase_refs(other, base),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rebase_refs(item, base)),
        _ => {}
    }
}

/// The document's version moves whenever a message schema does: for one topic, its value
/// version; for the catalog, the newest schema id any topic uses.
fn version_of(channels: &[ChannelSource], only: Option<&str>) -> String {
    match channels {
        [one] if only.is_some() => one.value.as_ref().map_or(0, |v| v.version).to_string(),
        all => all
            .iter()
            .filter_map(|c| c.value.as_ref())
            .map(|v| v.id)
            .max()
            .unwrap_or(0)
            .to_string(),
    }
}
