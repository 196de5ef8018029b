//! From a request frame to its answer: the frame is parsed (`request`), its handler runs,
//! and the response is encoded at the request's version.

use std::net::SocketAddr;

use bytes::Bytes;
use kafka_protocol::protocol::{Encodable, HeaderVersion};

use super::connection::{Reply, Turn};
use super::frame::{self, Peek};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, SaslHandshakeResponse, SyncGroupResponse,
};

use super::access::{Access, GROUP_DENIED};
use super::request::{self, Parsed, Refused, Request};
use super::{admin, cluster, fetch, fetch_frame, groups, produce, Kafka};
use crate::security::Operation;

/// Who sent a request, for the handlers that record it (group members).
pub struct Caller {
    pub client_id: String,
    pub peer: SocketAddr,
}

/// `turn` orders a Produce request's appends after the earlier ones on its connection;
/// `access` is what the connection's principal may do.
pub async fn handle(kafka: &Kafka, body: Bytes, peer: SocketAddr, turn: Option<Turn>, access: &Access) -> Reply {
    let parsed = match request::parse(body) {
        Ok(parsed) => parsed,
        Err(Refused::ApiVersionsTooNew(peek)) => return respond(&peek, &cluster::unsupported_api_versions(), 0),
        Err(Refused::Close(why)) => return Reply::Close(why),
    };
    handle_parsed(kafka, parsed, peer, turn, access).await
}

/// The same, for a request already parsed.
pub async fn handle_parsed(
    kafka: &Kafka,
    parsed: Parsed,
    peer: SocketAddr,
    turn: Option<Turn>,
    access: &Access,
) -> Reply {
    let peek = parsed.peek;
    let version = peek.api_version;
    let caller = Caller {
        client_id: parsed.client_id,
        peer,
    };
    match parsed.request {
        Request::ApiVersions(_) => respond(&peek, &cluster::api_versions(), version),
        Request::Metadata(r) => respond(&peek, &cluster::metadata(kafka, access, r, version), version),
        Request::DescribeCluster(_) => respond(&peek, &cluster::describe_cluster(kafka, access), version),
        Request::FindCoordinator(r) => respond(&peek, &cluster::find_coordinator(kafka, access, r, version), version),
        Request::CreateTopics(r) => respond(&peek, &admin::create_topics(kafka, access, r).await, version),
        Request::DeleteTopics(r) => respond(&peek, &admin::delete_topics(kafka, access, r, version).await, version),
        Request::DescribeConfigs(r) => respond(&peek, &admin::describe_configs(kafka, access, r), version),
        Request::ListOffsets(r) => respond(&peek, &fetch::list_offsets(kafka, access, r), version),
        Request::Fetch(r) => {
            let response = fetch::fetch(kafka, access, r).await;
            match fetch_frame::encode(peek.correlation_id, version, &response) {
                Some(pieces) => Reply::Frame(pieces),
                None => respond(&peek, &response, version),
            }
        }
        Request::Produce(r) => match produce::produce(kafka, access, r, turn).await {
            produce::Answer::Response(response) => respond(&peek, &response, version),
            produce::Answer::Nothing => Reply::Nothing,
            produce::Answer::Close(why) => Reply::Close(why),
        },
        Request::InitProducerId(r) => respond(&peek, &produce::init_producer_id(kafka, r).await, version),
        // Joining, syncing, heartbeating and leaving act as the group: consume on it.
        Request::JoinGroup(r) if !access.may_group(Operation::Consume, r.group_id.0.as_str()) => respond(
            &peek,
            &JoinGroupResponse::default().with_error_code(GROUP_DENIED),
            version,
        ),
        Request::SyncGroup(r) if !access.may_group(Operation::Consume, r.group_id.0.as_str()) => respond(
            &peek,
            &SyncGroupResponse::default().with_error_code(GROUP_DENIED),
            version,
        ),
        Request::Heartbeat(r) if !access.may_group(Operation::Consume, r.group_id.0.as_str()) => respond(
            &peek,
            &HeartbeatResponse::default().with_error_code(GROUP_DENIED),
            version,
        ),
        Request::LeaveGroup(r) if !access.may_group(Operation::Consume, r.group_id.0.as_str()) => respond(
            &peek,
            &LeaveGroupResponse::default().with_error_code(GROUP_DENIED),
            version,
        ),
        Request::JoinGroup(r) => respond(&peek, &groups::join_group(kafka, r, version, &caller).await, version),
        Request::SyncGroup(r) => respond(&peek, &groups::sync_group(kafka, r).await, version),
        Request::Heartbeat(r) => respond(&peek, &groups::heartbeat(kafka, r), version),
        Request::LeaveGroup(r) => respond(&peek, &groups::leave_group(kafka, r, version), version),
        Request::OffsetCommit(r) => respond(&peek, &groups::offset_commit(kafka, access, r).await, version),
        Request::OffsetFetch(r) => respond(&peek, &groups::offset_fetch(kafka, access, r, version), version),
        Request::DescribeGroups(r) => respond(&peek, &groups::describe_groups(kafka, access, r), version),
        Request::ListGroups(r) => respond(&peek, &groups::list_groups(kafka, access, r), version),
        // Authentication happens once, before any of the above (`connection`); a server
        // without security offers no mechanism.
        Request::SaslHandshake(_) if kafka.security.is_none() => respond(
            &peek,
            &SaslHandshakeResponse::default().with_error_code(ResponseError::UnsupportedSaslMechanism.code()),
            version,
        ),
        Request::SaslHandshake(_) | Request::SaslAuthenticate(_) => {
            Reply::Close("SASL again on an authenticated connection (re-authentication is not offered)".to_string())
        }
    }
}

pub(super) fn respond<M: Encodable + HeaderVersion>(peek: &Peek, response: &M, version: i16) -> Reply {
    let header_version = M::header_version(version);
    match frame::encode_response(peek.correlation_id, header_version, response, version) {
        Ok(bytes) => Reply::Frame(vec![bytes.freeze()]),
        Err(why) => Reply::Close(format!("the response could not be encoded: {why}")),
    }
}
