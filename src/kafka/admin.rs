//! CreateTopics, DeleteTopics and DescribeConfigs: the topic administration Kafka's admin
//! clients and `kafka-topics` use, over the same topics the HTTP API manages.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::*;

use super::access::{Access, CLUSTER_DENIED, TOPIC_DENIED};
use super::cluster::{str, unknown_topic_code};
use super::configs::{self, Entry};
use super::error::broker_code;
use super::Kafka;
use crate::broker::topic::TopicConfig;
use crate::broker::{Broker, BrokerError};
use crate::security::{Operation, Resource};

/// Kafka's config resource types.
const TOPIC_RESOURCE: i8 = 2;
const BROKER_RESOURCE: i8 = 4;
/// Kafka's config sources.
const TOPIC_CONFIG_SOURCE: i8 = 1;
const STATIC_BROKER_CONFIG_SOURCE: i8 = 4;
const DEFAULT_CONFIG_SOURCE: i8 = 5;

/// A topic's settings from a CreateTopics entry, or the error code and message to answer.
fn topic_config(broker: &Broker, topic: &create_topics_request::CreatableTopic) -> Result<TopicConfig, (i16, String)> {
    let name = topic.name.0.as_str();
    crate::broker::topic::check_name(name).map_err(|e| (ResponseError::InvalidTopicException.code(), e.to_string()))?;
    let partitions = match topic.num_partitions {
        -1 if topic.assignments.is_empty() => 1,
        -1 => topic.assignments.len() as i32,
        n => n,
    };
    let partitions = u32::try_from(partitions).ok().filter(|&p| p >= 1).ok_or_else(|| {
        (
            ResponseError::InvalidPartitions.code(),
            format!("num_partitions must be at least 1, not {partitions}"),
        )
    })?;
    if !matches!(topic.replication_factor, -1 | 1) {
        return Err((
            ResponseError::InvalidReplicationFactor.code(),
            format!(
                "replication factor {} is more than this single node can hold: use 1 (or -1 for the default)",
                topic.replication_factor
            ),
        ));
    }
    if topic
        .assignments
        .iter()
        .any(|a| a.broker_ids.iter().any(|b| b.0 != super::NODE_ID) || a.broker_ids.len() != 1)
    {
        return Err((
            ResponseError::InvalidReplicaAssignment.code(),
            format!(
                "replicas can only be assigned to node {}, one per partition",
                super::NODE_ID
            ),
        ));
    }
    let mut config = TopicConfig::new(name, partitions);
    let segment_bytes = broker.log_config().segment_bytes;
    for entry in &topic.configs {
        configs::apply(
            &mut config,
            entry.name.as_str(),
            entry.value.as_ref().map(|v| v.as_str()),
            segment_bytes,
        )
        .map_err(|why| (ResponseError::InvalidConfig.code(), why))?;
    }
    config
        .check()
        .map_err(|e| (ResponseError::InvalidConfig.code(), e.to_string()))?;
    Ok(config)
}

pub async fn create_topics(kafka: &Kafka, access: &Access, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.clone();
        let outcome = match topic_config(&kafka.broker, topic) {
            _ if !access.may_topic(Operation::Admin, name.0.as_str()) => Err((
                TOPIC_DENIED,
                format!("Not authorized to create topic '{}'", name.0.as_str()),
            )),
            Err(refused) => Err(refused),
            Ok(config) if request.validate_only => match kafka.broker.topic(&config.name) {
                Ok(_) => Err(exists(&config.name)),
                Err(_) => Ok(config),
            },
            Ok(config) => {
                let broker = kafka.broker.clone();
                let created = tokio::task::spawn_blocking(move || broker.create_topic(config)).await;
                match created {
                    Ok(Ok(topic)) => Ok(topic.config.clone()),
                    Ok(Err(BrokerError::TopicExists(name))) => Err(exists(&name)),
                    Ok(Err(err)) => Err((broker_code(&err), err.to_string())),
                    Err(err) => Err((ResponseError::UnknownServerError.code(), err.to_string())),
                }
            }
        };
        let result = CreatableTopicResult::default().with_name(name);
        results.push(match outcome {
            Ok(config) => {
                let segment_bytes = kafka.broker.log_config().segment_bytes;
                let configs = configs::describe(&config, segment_bytes)
                    .into_iter()
                    .map(|e| {
                        CreatableTopicConfigs::default()
                            .with_name(str(e.name))
                            .with_value(Some(str(&e.value)))
                            .with_read_only(e.read_only)
                            .with_config_source(source(&e))
                    })
                    .collect();
                result
                    .with_num_partitions(config.partitions as i32)
                    .with_replication_factor(1)
                    .with_configs(Some(configs))
            }
            Err((code, message)) => result
                .with_error_code(code)
                .with_error_message(Some(str(&message)))
                .with_num_partitions(-1)
                .with_replication_factor(-1),
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

fn exists(name: &str) -> (i16, String) {
    (
        ResponseError::TopicAlreadyExists.code(),
        format!("Topic '{name}' already exists."),
    )
}

fn source(entry: &Entry) -> i8 {
    match (entry.read_only, entry.is_default) {
        (true, _) => STATIC_BROKER_CONFIG_SOURCE,
        (false, true) => DEFAULT_CONFIG_SOURCE,
        (false, false) => TOPIC_CONFIG_SOURCE,
    }
}

pub async fn delete_topics(
    kafka: &Kafka,
    access: &Access,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    // v6 names topics in `topics` (by name or id); earlier versions in `topic_names`.
    let names: Vec<Option<TopicName>> = if version >= 6 {
        request.topics.into_iter().map(|t| t.name).collect()
    } else {
        request.topic_names.into_iter().map(Some).collect()
    };
    let mut responses = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name else {
            responses.push(
                DeletableTopicResult::default()
                    .with_error_code(ResponseError::UnknownTopicId.code())
                    .with_error_message(Some(str("topics are addressed by name on this node"))),
            );
            continue;
        };
        if !access.may_topic(Operation::Admin, name.0.as_str()) {
            responses.push(
                DeletableTopicResult::default()
                    .with_name(Some(name.clone()))
                    .with_error_code(TOPIC_DENIED)
                    .with_error_message(Some(str(&format!(
                        "Not authorized to delete topic '{}'",
                        name.0.as_str()
                    )))),
            );
            continue;
        }
        let broker: Arc<Broker> = kafka.broker.clone();
        let target = name.0.to_string();
        let deleted = tokio::task::spawn_blocking(move || broker.delete_topic(&target)).await;
        let result = DeletableTopicResult::default().with_name(Some(name.clone()));
        responses.push(match deleted {
            Ok(Ok(())) => result,
            Ok(Err(BrokerError::UnknownTopic(_))) => result
                .with_error_code(unknown_topic_code(name.0.as_str()))
                .with_error_message(Some(str(&format!("Topic '{}' not found.", name.0.as_str())))),
            Ok(Err(err)) => result
                .with_error_code(broker_code(&err))
                .with_error_message(Some(str(&err.to_string()))),
            Err(err) => result
                .with_error_code(ResponseError::UnknownServerError.code())
                .with_error_message(Some(str(&err.to_string()))),
        });
    }
    DeleteTopicsResponse::default().with_responses(responses)
}

/// Every config of each topic asked about, with its value, whether it is a default, and
/// (when asked) its documentation; the node's own settings for a broker resource.
pub fn describe_configs(kafka: &Kafka, access: &Access, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let segment_bytes = kafka.broker.log_config().segment_bytes;
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let name = resource.resource_name.as_str().to_string();
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let entries = match resource.resource_type {
                TOPIC_RESOURCE => match access.topic(kafka, Operation::Describe, &name) {
                    Ok(topic) => configs::describe(&topic.config, segment_bytes),
                    Err(code) => {
                        let message = if code == TOPIC_DENIED {
                            format!("Not authorized to describe topic '{name}'")
                        } else {
                            format!("Topic '{name}' not found.")
                        };
                        return result.with_error_code(code).with_error_message(Some(str(&message)));
                    }
                },
                BROKER_RESOURCE if !access.may(Operation::Describe, &Resource::cluster()) => {
                    return result
                        .with_error_code(CLUSTER_DENIED)
                        .with_error_message(Some(str("Not authorized to describe the cluster")))
                }
                BROKER_RESOURCE if name.is_empty() || name == super::NODE_ID.to_string() => node_configs(kafka),
                BROKER_RESOURCE => {
                    return result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(str(&format!(
                            "broker {name:?} does not exist: this is node {}",
                            super::NODE_ID
                        ))))
                }
                other => {
                    return result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(str(&format!(
                            "config resources of type {other} are not kept here: ask for topics (2) or the broker (4)"
                        ))))
                }
            };
            let wanted = resource.configuration_keys;
            let configs = entries
                .into_iter()
                .filter(|e| {
                    wanted
                        .as_ref()
                        .is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name))
                })
                .map(|e| {
                    DescribeConfigsResourceResult::default()
                        .with_name(str(e.name))
                        .with_value(Some(str(&e.value)))
                        .with_read_only(e.read_only)
                        .with_config_source(source(&e))
                        .with_config_type(e.kind as i8)
                        .with_documentation(request.include_documentation.then(|| str(e.doc)))
                })
                .collect();
            result.with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// The node's settings that admin tools look for.
fn node_configs(kafka: &Kafka) -> Vec<Entry> {
    use configs::Kind;
    let fixed = |name: &'static str, value: String, kind: Kind, doc: &'static str| Entry {
        name,
        value,
        is_default: true,
        read_only: true,
        kind,
        doc,
    };
    vec![
        fixed(
            "auto.create.topics.enable",
            "false".to_string(),
            Kind::String,
            "Topics are created on purpose (CreateTopics, the HTTP API, herald topics apply), never by producing to them.",
        ),
        fixed("broker.id", super::NODE_ID.to_string(), Kind::Int, "This node's id."),
        fixed(
            "default.replication.factor",
            "1".to_string(),
            Kind::Int,
            "One node holds the one replica.",
        ),
        fixed(
            "log.segment.bytes",
            kafka.broker.log_config().segment_bytes.to_string(),
            Kind::Int,
            "Segments roll at this size.",
        ),
        fixed(
            "message.max.bytes",
            configs::MAX_MESSAGE_BYTES.to_string(),
            Kind::Int,
            "The largest record batch a producer may send.",
        ),
        fixed("num.partitions", "1".to_string(), Kind::Int, "Partitions of a topic created without a count."),
        fixed(
            "socket.request.max.bytes",
            kafka.limits.max_request_bytes.to_string(),
            Kind::Int,
            "The largest request this node reads.",
        ),
    ]
}
