//! From a request frame to its answer: the api key and version are checked against what is
//! advertised, the body is decoded at that version, its handler runs, and the response is
//! encoded at the same version.

use std::net::SocketAddr;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};

use super::connection::Reply;
use super::frame::{self, Peek};
use super::versions::{self, PRODUCE_MIN_USABLE};
use super::{admin, cluster, fetch, groups, produce, Kafka};

/// Who sent a request, for the handlers that record it (group members).
pub struct Caller {
    pub client_id: String,
    pub peer: SocketAddr,
}

pub async fn handle(kafka: &Kafka, mut body: Bytes, peer: SocketAddr) -> Reply {
    let peek = frame::peek(&body);
    let Ok(key) = ApiKey::try_from(peek.api_key) else {
        return Reply::Close(format!("api key {} is not one Kafka defines", peek.api_key));
    };
    if !versions::supported(key, peek.api_version) {
        if key == ApiKey::ApiVersions {
            // The client asked for a newer ApiVersions than this node speaks: the answer
            // is a v0 body with UNSUPPORTED_VERSION and the full list, and the client
            // retries at a version both sides know.
            return respond(&peek, &cluster::unsupported_api_versions(), 0);
        }
        return Reply::Close(format!(
            "{key:?} v{} is not supported (this node speaks {})",
            peek.api_version,
            advertised(key)
        ));
    }
    if key == ApiKey::Produce && peek.api_version < PRODUCE_MIN_USABLE {
        return Reply::Close(format!(
            "Produce v{} (message format v0/v1) is not supported: use v{PRODUCE_MIN_USABLE} or later",
            peek.api_version
        ));
    }
    let header = match frame::decode_header(&mut body, key, peek.api_version) {
        Ok(header) => header,
        Err(err) => return Reply::Close(err.to_string()),
    };
    let caller = Caller {
        client_id: header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        peer,
    };
    let version = peek.api_version;
    macro_rules! answer {
        ($request:ty, |$req:ident| $handler:expr) => {{
            let $req = match decode::<$request>(&mut body, version) {
                Ok(request) => request,
                Err(why) => return Reply::Close(format!("{key:?} v{version}: {why}")),
            };
            let response = $handler;
            respond(&peek, &response, version)
        }};
    }
    match key {
        ApiKey::ApiVersions => answer!(ApiVersionsRequest, |_r| cluster::api_versions()),
        ApiKey::Metadata => answer!(MetadataRequest, |r| cluster::metadata(kafka, r, version)),
        ApiKey::DescribeCluster => answer!(DescribeClusterRequest, |_r| cluster::describe_cluster(kafka)),
        ApiKey::FindCoordinator => answer!(FindCoordinatorRequest, |r| cluster::find_coordinator(kafka, r, version)),
        ApiKey::CreateTopics => answer!(CreateTopicsRequest, |r| admin::create_topics(kafka, r).await),
        ApiKey::DeleteTopics => answer!(DeleteTopicsRequest, |r| admin::delete_topics(kafka, r, version).await),
        ApiKey::DescribeConfigs => answer!(DescribeConfigsRequest, |r| admin::describe_configs(kafka, r)),
        ApiKey::ListOffsets => answer!(ListOffsetsRequest, |r| fetch::list_offsets(kafka, r)),
        ApiKey::Fetch => answer!(FetchRequest, |r| fetch::fetch(kafka, r).await),
        ApiKey::Produce => {
            let request = match decode::<ProduceRequest>(&mut body, version) {
                Ok(request) => request,
                Err(why) => return Reply::Close(format!("{key:?} v{version}: {why}")),
            };
            match produce::produce(kafka, request).await {
                Some(response) => respond(&peek, &response, version),
                None => Reply::Nothing,
            }
        }
        ApiKey::InitProducerId => answer!(InitProducerIdRequest, |r| produce::init_producer_id(kafka, r).await),
        ApiKey::JoinGroup => answer!(JoinGroupRequest, |r| groups::join_group(kafka, r, version, &caller)
            .await),
        ApiKey::SyncGroup => answer!(SyncGroupRequest, |r| groups::sync_group(kafka, r).await),
        ApiKey::Heartbeat => answer!(HeartbeatRequest, |r| groups::heartbeat(kafka, r)),
        ApiKey::LeaveGroup => answer!(LeaveGroupRequest, |r| groups::leave_group(kafka, r, version)),
        ApiKey::OffsetCommit => answer!(OffsetCommitRequest, |r| groups::offset_commit(kafka, r).await),
        ApiKey::OffsetFetch => answer!(OffsetFetchRequest, |r| groups::offset_fetch(kafka, r, version)),
        ApiKey::DescribeGroups => answer!(DescribeGroupsRequest, |r| groups::describe_groups(kafka, r)),
        ApiKey::ListGroups => answer!(ListGroupsRequest, |r| groups::list_groups(kafka, r)),
        other => Reply::Close(format!("{other:?} is not implemented")),
    }
}

/// Decodes a request body. Bytes left over after it are ignored, as Kafka ignores them:
/// librdkafka sends Metadata v12 with a trailing field that version no longer has.
fn decode<R: Decodable>(body: &mut Bytes, version: i16) -> Result<R, String> {
    let request = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| R::decode(body, version)))
        .map_err(|_| "the request body does not decode".to_string())?
        .map_err(|e| format!("the request body does not decode: {e}"))?;
    if body.has_remaining() {
        tracing::debug!(
            left_over = body.remaining(),
            "kafka: bytes after a request body ignored"
        );
    }
    Ok(request)
}

fn respond<M: Encodable + HeaderVersion>(peek: &Peek, response: &M, version: i16) -> Reply {
    let header_version = M::header_version(version);
    match frame::encode_response(peek.correlation_id, header_version, response, version) {
        Ok(bytes) => Reply::Frame(bytes),
        Err(why) => Reply::Close(format!("the response could not be encoded: {why}")),
    }
}

fn advertised(key: ApiKey) -> String {
    versions::SUPPORTED.iter().find(|&&(k, _, _)| k == key).map_or_else(
        || "no version of it".to_string(),
        |&(_, min, max)| format!("v{min} to v{max}"),
    )
}
