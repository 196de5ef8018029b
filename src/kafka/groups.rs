//! The consumer-group APIs of Kafka's classic protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups), translated into calls
//! on the broker's coordinator. Assignment is the clients' (the group leader's assignor);
//! committed offsets are the same ones the HTTP API's groups keep, so either protocol reads
//! what the other committed.

use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::access::{Access, GROUP_DENIED, TOPIC_DENIED};
use super::cluster::{str, NO_EPOCH};
use super::dispatch::Caller;
use super::Kafka;
use crate::broker::coordinator::{CoordinatorError, JoinRequest};
use crate::security::Operation;

/// Kafka's error code for a coordinator error.
fn code(err: &CoordinatorError) -> i16 {
    match err {
        CoordinatorError::UnknownMemberId => ResponseError::UnknownMemberId,
        CoordinatorError::IllegalGeneration => ResponseError::IllegalGeneration,
        CoordinatorError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        CoordinatorError::MemberIdRequired(_) => ResponseError::MemberIdRequired,
        CoordinatorError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
        CoordinatorError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
        CoordinatorError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
        CoordinatorError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
        CoordinatorError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        CoordinatorError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        CoordinatorError::InvalidGroupId => ResponseError::InvalidGroupId,
        CoordinatorError::OffsetMetadataTooLarge => ResponseError::OffsetMetadataTooLarge,
        CoordinatorError::Io(_) => ResponseError::UnknownServerError,
    }
    .code()
}

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

pub async fn join_group(kafka: &Kafka, request: JoinGroupRequest, version: i16, caller: &Caller) -> JoinGroupResponse {
    let session_timeout = millis(request.session_timeout_ms);
    // v0 has no rebalance timeout: the session timeout stands for it, as in Kafka.
    let rebalance_timeout = match request.rebalance_timeout_ms {
        ms if version == 0 || ms <= 0 => session_timeout,
        ms => millis(ms),
    };
    let join = JoinRequest {
        group: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.map(|i| i.to_string()),
        client_id: caller.client_id.clone(),
        client_host: caller.peer.ip().to_string(),
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata.to_vec()))
            .collect(),
        session_timeout,
        rebalance_timeout,
        require_known_member_id: version >= 4,
    };
    let answer = JoinGroupResponse::default().with_generation_id(-1);
    match kafka.broker.coordinator().join(join).await {
        Ok(joined) => answer
            .with_generation_id(joined.generation)
            .with_protocol_type(Some(str(&joined.protocol_type)))
            .with_protocol_name(Some(str(&joined.protocol_name)))
            .with_leader(str(&joined.leader))
            .with_member_id(str(&joined.member_id))
            .with_members(
                joined
                    .members
                    .into_iter()
                    .map(|(id, instance, metadata)| {
                        JoinGroupResponseMember::default()
                            .with_member_id(str(&id))
                            .with_group_instance_id(instance.map(StrBytes::from_string))
                            .with_metadata(metadata.into())
                    })
                    .collect(),
            ),
        Err(CoordinatorError::MemberIdRequired(id)) => answer
            .with_error_code(ResponseError::MemberIdRequired.code())
            .with_member_id(str(&id)),
        Err(err) => answer.with_error_code(code(&err)),
    }
}

pub async fn sync_group(kafka: &Kafka, request: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = request
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment.to_vec()))
        .collect();
    let synced = kafka
        .broker
        .coordinator()
        .sync(
            request.group_id.0.as_str(),
            request.generation_id,
            request.member_id.as_str(),
            assignments,
        )
        .await;
    let answer = SyncGroupResponse::default()
        .with_protocol_type(request.protocol_type)
        .with_protocol_name(request.protocol_name);
    match synced {
        Ok(assignment) => answer.with_assignment(assignment.into()),
        Err(err) => answer.with_error_code(code(&err)),
    }
}

pub fn heartbeat(kafka: &Kafka, request: HeartbeatRequest) -> HeartbeatResponse {
    let beat = kafka.broker.coordinator().heartbeat(
        request.group_id.0.as_str(),
        request.generation_id,
        request.member_id.as_str(),
    );
    HeartbeatResponse::default().with_error_code(beat.err().map_or(0, |e| code(&e)))
}

/// v0–2 name one member; v3+ a list of them, each answered on its own.
pub fn leave_group(kafka: &Kafka, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let members: Vec<String> = if version >= 3 {
        request.members.iter().map(|m| m.member_id.to_string()).collect()
    } else {
        vec![request.member_id.to_string()]
    };
    match kafka.broker.coordinator().leave(request.group_id.0.as_str(), &members) {
        Err(err) => LeaveGroupResponse::default().with_error_code(code(&err)),
        Ok(outcomes) if version < 3 => {
            LeaveGroupResponse::default().with_error_code(outcomes.first().map_or(0, |(_, r)| error_of(r)))
        }
        Ok(outcomes) => LeaveGroupResponse::default().with_members(
            outcomes
                .into_iter()
                .zip(request.members)
                .map(|((id, outcome), asked)| {
                    MemberResponse::default()
                        .with_member_id(str(&id))
                        .with_group_instance_id(asked.group_instance_id)
                        .with_error_code(error_of(&outcome))
                })
                .collect(),
        ),
    }
}

fn error_of(outcome: &Result<(), CoordinatorError>) -> i16 {
    outcome.as_ref().err().map_or(0, code)
}

/// Commits the offsets of partitions that exist (others answer UNKNOWN_TOPIC_OR_PARTITION),
/// durably before answering; the group's generation and member are checked by the
/// coordinator, and their error answers every partition.
pub async fn offset_commit(kafka: &Kafka, access: &Access, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_allowed = access.may_group(Operation::Consume, request.group_id.0.as_str());
    let mut offsets = Vec::new();
    let mut unknown = Vec::new();
    let mut denied: Vec<&str> = Vec::new();
    for topic in &request.topics {
        let name = topic.name.0.as_str();
        if !group_allowed {
            continue;
        }
        let count = match access.topic(kafka, Operation::Consume, name) {
            Ok(topic) => Some(topic.config.partitions),
            Err(TOPIC_DENIED) => {
                denied.push(name);
                continue;
            }
            Err(_) => None,
        };
        for p in &topic.partitions {
            match u32::try_from(p.partition_index)
                .ok()
                .filter(|&i| count.is_some_and(|c| i < c))
            {
                Some(index) => offsets.push((
                    name.to_string(),
                    index,
                    p.committed_offset,
                    p.committed_metadata.as_ref().map(|m| m.to_string()),
                )),
                None => unknown.push((name.to_string(), p.partition_index)),
            }
        }
    }
    let broker = kafka.broker.clone();
    let (group, generation, member) = (
        request.group_id.0.to_string(),
        request.generation_id_or_member_epoch,
        request.member_id.to_string(),
    );
    let committed = if offsets.is_empty() {
        Ok(())
    } else {
        tokio::task::spawn_blocking(move || broker.coordinator().commit(&group, generation, &member, offsets))
            .await
            .unwrap_or_else(|e| Err(CoordinatorError::Io(e.to_string())))
    };
    let error = committed.err().map_or(0, |e| code(&e));
    let denied: Vec<String> = denied.into_iter().map(str::to_string).collect();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.to_string();
            let refused = if !group_allowed {
                Some(GROUP_DENIED)
            } else if denied.contains(&name) {
                Some(TOPIC_DENIED)
            } else {
                None
            };
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let missing = unknown.iter().any(|(t, i)| *t == name && *i == p.partition_index);
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(match refused {
                            Some(refused) => refused,
                            None if missing => ResponseError::UnknownTopicOrPartition.code(),
                            None => error,
                        })
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// The committed offsets (and their metadata) of the partitions asked for, -1 where none
/// is committed; every committed partition when no topics are named.
pub fn offset_fetch(kafka: &Kafka, access: &Access, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if !access.may_group(Operation::Describe, request.group_id.0.as_str()) {
        return OffsetFetchResponse::default().with_error_code(GROUP_DENIED);
    }
    let asked: Option<Vec<(String, u32)>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .filter_map(|&p| u32::try_from(p).ok())
                    .map(|p| (t.name.0.to_string(), p))
            })
            .collect()
    });
    let fetched = kafka
        .broker
        .coordinator()
        .fetch_offsets(request.group_id.0.as_str(), asked.as_deref());
    let offsets = match fetched {
        Ok(offsets) => offsets,
        Err(err) if version >= 2 => return OffsetFetchResponse::default().with_error_code(code(&err)),
        Err(_) => Vec::new(),
    };
    let mut topics: Vec<OffsetFetchResponseTopic> = Vec::new();
    for (topic, partition, offset, metadata) in offsets {
        if !access.may_topic(Operation::Describe, &topic) {
            continue;
        }
        let entry = OffsetFetchResponsePartition::default()
            .with_partition_index(partition as i32)
            .with_committed_offset(offset)
            .with_committed_leader_epoch(NO_EPOCH)
            .with_metadata(Some(str(metadata.as_deref().unwrap_or(""))));
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(found) => found.partitions.push(entry),
            None => topics.push(
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(str(&topic)))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    OffsetFetchResponse::default().with_topics(topics)
}

pub fn describe_groups(kafka: &Kafka, access: &Access, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|group| {
            if !access.may_group(Operation::Describe, group.0.as_str()) {
                return DescribedGroup::default()
                    .with_group_id(group)
                    .with_error_code(GROUP_DENIED);
            }
            let described = kafka.broker.coordinator().describe(group.0.as_str());
            DescribedGroup::default()
                .with_group_id(group)
                .with_group_state(str(described.state))
                .with_protocol_type(str(&described.protocol_type))
                .with_protocol_data(str(&described.protocol_name))
                .with_members(
                    described
                        .members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str(&m.member_id))
                                .with_group_instance_id(m.group_instance_id.map(StrBytes::from_string))
                                .with_client_id(str(&m.client_id))
                                .with_client_host(str(&m.client_host))
                                .with_member_metadata(m.metadata.into())
                                .with_member_assignment(m.assignment.into())
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// Every group, of either protocol; v4 filters by state, v5 by type (every group here is
/// of the classic type).
pub fn list_groups(kafka: &Kafka, access: &Access, request: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = request.states_filter.iter().map(|s| s.to_lowercase()).collect();
    let types: Vec<String> = request.types_filter.iter().map(|s| s.to_lowercase()).collect();
    let groups = kafka
        .broker
        .coordinator()
        .list()
        .into_iter()
        .filter(|(_, _, state)| states.is_empty() || states.contains(&state.to_lowercase()))
        .filter(|_| types.is_empty() || types.iter().any(|t| t == "classic"))
        .filter(|(group, _, _)| access.may_group(Operation::Describe, group))
        .map(|(group, protocol_type, state)| {
            ListedGroup::default()
                .with_group_id(GroupId(str(&group)))
                .with_protocol_type(str(&protocol_type))
                .with_group_state(str(&state))
                .with_group_type(str("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
