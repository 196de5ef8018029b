//! ApiVersions, Metadata, DescribeCluster and FindCoordinator: where things are. There is
//! one node, leader of every partition and coordinator of every group.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::access::Access;
use super::versions::SUPPORTED;
use super::{Kafka, NODE_ID};
use crate::broker::Topic;
use crate::security::Operation;

/// Leader epochs are not tracked: -1 tells clients to skip leader-epoch validation
/// (KIP-320), which a single node has no use for.
pub const NO_EPOCH: i32 = -1;

pub fn str(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

pub fn api_versions() -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    ApiVersionsResponse::default().with_api_keys(api_keys)
}

pub fn unsupported_api_versions() -> ApiVersionsResponse {
    api_versions().with_error_code(ResponseError::UnsupportedVersion.code())
}

/// The topics asked about, or every topic the principal may describe; a topic named but
/// not describable is TOPIC_AUTHORIZATION_FAILED, whether or not it exists.
pub fn metadata(kafka: &Kafka, access: &Access, request: MetadataRequest, version: i16) -> MetadataResponse {
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(NODE_ID))
        .with_host(str(&kafka.advertised_host))
        .with_port(kafka.advertised_port);
    // v0 asks for every topic with an empty list; later versions with a null one.
    let every = match &request.topics {
        None => true,
        Some(topics) => topics.is_empty() && version == 0,
    };
    let topics = if every {
        kafka
            .broker
            .topics()
            .iter()
            .filter(|t| access.may_topic(Operation::Describe, &t.config.name))
            .map(|t| topic_metadata(t))
            .collect()
    } else {
        request
            .topics
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| t.name)
            .map(|name| match access.topic(kafka, Operation::Describe, &name) {
                Ok(topic) => topic_metadata(&topic),
                Err(code) => MetadataResponseTopic::default()
                    .with_name(Some(name.clone()))
                    .with_error_code(code),
            })
            .collect()
    };
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(str(&kafka.cluster_id)))
        .with_controller_id(BrokerId(NODE_ID))
        .with_topics(topics)
}

/// A name that is not a valid topic name is INVALID_TOPIC_EXCEPTION; a valid one that
/// does not exist UNKNOWN_TOPIC_OR_PARTITION (topics are never created by asking for them).
pub fn unknown_topic_code(name: &str) -> i16 {
    match crate::broker::topic::check_name(name) {
        Ok(()) => ResponseError::UnknownTopicOrPartition.code(),
        Err(_) => ResponseError::InvalidTopicException.code(),
    }
}

fn topic_metadata(topic: &Topic) -> MetadataResponseTopic {
    let partitions = (0..topic.config.partitions)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p as i32)
                .with_leader_id(BrokerId(NODE_ID))
                .with_leader_epoch(NO_EPOCH)
                .with_replica_nodes(vec![BrokerId(NODE_ID)])
                .with_isr_nodes(vec![BrokerId(NODE_ID)])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str(&topic.config.name))))
        .with_partitions(partitions)
}

pub fn describe_cluster(kafka: &Kafka, access: &Access) -> DescribeClusterResponse {
    if !access.may(Operation::Describe, &crate::security::Resource::cluster()) {
        return DescribeClusterResponse::default()
            .with_error_code(super::access::CLUSTER_DENIED)
            .with_error_message(Some(str("Not authorized to describe the cluster")));
    }
    DescribeClusterResponse::default()
        .with_cluster_id(str(&kafka.cluster_id))
        .with_controller_id(BrokerId(NODE_ID))
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(BrokerId(NODE_ID))
            .with_host(str(&kafka.advertised_host))
            .with_port(kafka.advertised_port)])
}

/// Groups (key type 0) and transactional ids (1) are coordinated by this node; v4 asks for
/// many keys at once.
pub fn find_coordinator(
    kafka: &Kafka,
    access: &Access,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let (host, port) = (str(&kafka.advertised_host), kafka.advertised_port);
    // A group's coordinator is told only to principals that may describe the group.
    let error_for = |group: &str| match request.key_type {
        0 if access.may_group(Operation::Describe, group) => 0,
        0 => super::access::GROUP_DENIED,
        _ => ResponseError::InvalidRequest.code(),
    };
    let message_for = |error: i16| match error {
        0 => None,
        super::access::GROUP_DENIED => Some(str("Not authorized to access the group")),
        _ => Some(str("this node coordinates consumer groups only (key type 0)")),
    };
    if version < 4 {
        let error = error_for(request.key.as_str());
        let message = message_for(error);
        return FindCoordinatorResponse::default()
            .with_error_code(error)
            .with_error_message(message)
            .with_node_id(BrokerId(if error == 0 { NODE_ID } else { -1 }))
            .with_host(if error == 0 { host } else { str("") })
            .with_port(if error == 0 { port } else { -1 });
    }
    let coordinators = request
        .coordinator_keys
        .into_iter()
        .map(|key| {
            let error = error_for(key.as_str());
            let message = message_for(error);
            Coordinator::default()
                .with_key(key)
                .with_node_id(BrokerId(if error == 0 { NODE_ID } else { -1 }))
                .with_host(if error == 0 { host.clone() } else { str("") })
                .with_port(if error == 0 { port } else { -1 })
                .with_error_code(error)
                .with_error_message(message.clone())
        })
        .collect();
    FindCoordinatorResponse::default().with_coordinators(coordinators)
}
