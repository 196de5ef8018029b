//! From a request frame to a decoded request, with no I/O and nothing of the server: the
//! part of the Kafka door that reads bytes a client controls, kept apart so it can be fuzzed
//! (`fuzz/fuzz_targets/kafka_request.rs`) and tested with mutated frames.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;

use super::frame::{self, Peek};
use super::versions::{self, PRODUCE_MIN_USABLE};

/// Generates the enum of decoded requests, one variant per api this node answers, and the
/// decoding of a body into it.
macro_rules! requests {
    ($($key:ident => $type:ty),* $(,)?) => {
        /// A decoded request of an api this node answers.
        #[derive(Debug)]
        pub enum Request {
            $($key($type),)*
        }

        fn decode_body(key: ApiKey, body: &mut Bytes, version: i16) -> Result<Request, String> {
            match key {
                $(ApiKey::$key => decode::<$type>(body, version).map(Request::$key),)*
                other => Err(format!("{other:?} is not implemented")),
            }
        }
    };
}

requests! {
    ApiVersions => ApiVersionsRequest,
    Metadata => MetadataRequest,
    DescribeCluster => DescribeClusterRequest,
    FindCoordinator => FindCoordinatorRequest,
    CreateTopics => CreateTopicsRequest,
    DeleteTopics => DeleteTopicsRequest,
    DescribeConfigs => DescribeConfigsRequest,
    ListOffsets => ListOffsetsRequest,
    Fetch => FetchRequest,
    Produce => ProduceRequest,
    InitProducerId => InitProducerIdRequest,
    JoinGroup => JoinGroupRequest,
    SyncGroup => SyncGroupRequest,
    Heartbeat => HeartbeatRequest,
    LeaveGroup => LeaveGroupRequest,
    OffsetCommit => OffsetCommitRequest,
    OffsetFetch => OffsetFetchRequest,
    DescribeGroups => DescribeGroupsRequest,
    ListGroups => ListGroupsRequest,
    SaslHandshake => SaslHandshakeRequest,
    SaslAuthenticate => SaslAuthenticateRequest,
}

/// A request ready for its handler.
#[derive(Debug)]
pub struct Parsed {
    pub peek: Peek,
    pub client_id: String,
    pub request: Request,
}

/// A frame that gets no handler.
#[derive(Debug)]
pub enum Refused {
    /// ApiVersions of a version this node does not speak: answered with a v0 body, error 35
    /// and the full list, so the client retries at a version both sides know.
    ApiVersionsTooNew(Peek),
    /// Anything else that breaks the protocol: the connection is closed, with this reason.
    Close(String),
}

/// Reads a request frame (everything after its size).
pub fn parse(mut frame: Bytes) -> Result<Parsed, Refused> {
    if frame.len() < 8 {
        return Err(Refused::Close(format!(
            "a request of {} bytes is shorter than a request header",
            frame.len()
        )));
    }
    let peek = frame::peek(&frame);
    let Ok(key) = ApiKey::try_from(peek.api_key) else {
        return Err(Refused::Close(format!(
            "api key {} is not one Kafka defines",
            peek.api_key
        )));
    };
    let version = peek.api_version;
    if !versions::supported(key, version) {
        if key == ApiKey::ApiVersions {
            return Err(Refused::ApiVersionsTooNew(peek));
        }
        return Err(Refused::Close(format!(
            "{key:?} v{version} is not supported (this node speaks {})",
            advertised(key)
        )));
    }
    if key == ApiKey::Produce && version < PRODUCE_MIN_USABLE {
        return Err(Refused::Close(format!(
            "Produce v{version} (message format v0/v1) is not supported: use v{PRODUCE_MIN_USABLE} or later"
        )));
    }
    let header = frame::decode_header(&mut frame, key, version).map_err(|e| Refused::Close(e.to_string()))?;
    let request =
        decode_body(key, &mut frame, version).map_err(|why| Refused::Close(format!("{key:?} v{version}: {why}")))?;
    Ok(Parsed {
        peek,
        client_id: header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        request,
    })
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

fn advertised(key: ApiKey) -> String {
    versions::SUPPORTED.iter().find(|&&(k, _, _)| k == key).map_or_else(
        || "no version of it".to_string(),
        |&(_, min, max)| format!("v{min} to v{max}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::batch::{self, Record};

    /// Request header v1 (api key, version, correlation id, client id) then the body.
    fn frame(key: i16, version: i16, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&7i32.to_be_bytes());
        out.extend_from_slice(&4i16.to_be_bytes());
        out.extend_from_slice(b"test");
        out.extend_from_slice(body);
        out
    }

    fn string(text: &str) -> Vec<u8> {
        let mut out = (text.len() as i16).to_be_bytes().to_vec();
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// Frames of real shapes: ApiVersions v0, Metadata v1 naming a topic, Produce v3 with a
    /// record batch, OffsetCommit v2 and a flexible ApiVersions v3.
    fn seeds() -> Vec<Vec<u8>> {
        let batch = batch::encode(&[Record {
            timestamp: 1,
            key: Some(b"k".to_vec()),
            value: Some(b"value".to_vec()),
            headers: vec![("h".to_string(), Some(b"v".to_vec()))],
        }]);
        let mut produce = Vec::new();
        produce.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
        produce.extend_from_slice(&(-1i16).to_be_bytes()); // acks
        produce.extend_from_slice(&1000i32.to_be_bytes()); // timeout
        produce.extend_from_slice(&1i32.to_be_bytes()); // one topic
        produce.extend_from_slice(&string("orders"));
        produce.extend_from_slice(&1i32.to_be_bytes()); // one partition
        produce.extend_from_slice(&0i32.to_be_bytes());
        produce.extend_from_slice(&(batch.len() as i32).to_be_bytes());
        produce.extend_from_slice(&batch);
        let mut metadata = 1i32.to_be_bytes().to_vec();
        metadata.extend_from_slice(&string("orders"));
        let mut commit = string("group");
        commit.extend_from_slice(&3i32.to_be_bytes()); // generation
        commit.extend_from_slice(&string("member"));
        commit.extend_from_slice(&(-1i64).to_be_bytes()); // retention
        commit.extend_from_slice(&1i32.to_be_bytes());
        commit.extend_from_slice(&string("orders"));
        commit.extend_from_slice(&1i32.to_be_bytes());
        commit.extend_from_slice(&0i32.to_be_bytes());
        commit.extend_from_slice(&42i64.to_be_bytes());
        commit.extend_from_slice(&string("meta"));
        let mut flexible = frame(18, 3, &[]);
        flexible.push(0); // header tagged fields
        flexible.extend_from_slice(&[6, b'h', b'e', b'r', b'a', b'l', 4, b'0', b'.', b'1', 0]);
        vec![
            frame(18, 0, &[]),
            frame(3, 1, &metadata),
            frame(0, 3, &produce),
            frame(8, 2, &commit),
            flexible,
        ]
    }

    #[test]
    fn well_formed_frames_decode_to_their_requests() {
        let parsed: Vec<Parsed> = seeds()
            .into_iter()
            .map(|f| parse(Bytes::from(f)).expect("a well-formed frame parses"))
            .collect();
        assert!(matches!(parsed[0].request, Request::ApiVersions(_)));
        assert_eq!(parsed[0].client_id, "test");
        let Request::Metadata(metadata) = &parsed[1].request else {
            panic!("{:?}", parsed[1])
        };
        let topics = metadata.topics.as_ref().unwrap();
        assert_eq!(topics[0].name.as_ref().unwrap().0.as_str(), "orders");
        let Request::Produce(produce) = &parsed[2].request else {
            panic!("{:?}", parsed[2])
        };
        let records = produce.topic_data[0].partition_data[0].records.as_ref().unwrap();
        assert!(batch::verify_whole(records).is_ok(), "the batch arrives as sent");
        let Request::OffsetCommit(commit) = &parsed[3].request else {
            panic!("{:?}", parsed[3])
        };
        let partition = &commit.topics[0].partitions[0];
        assert_eq!(partition.committed_offset, 42);
        assert_eq!(partition.committed_metadata.as_ref().unwrap().as_str(), "meta");
        let Request::ApiVersions(versions) = &parsed[4].request else {
            panic!("{:?}", parsed[4])
        };
        assert_eq!(versions.client_software_name.as_str(), "heral");
    }

    #[test]
    fn unknown_apis_unsupported_versions_and_short_frames_are_refused_with_a_reason() {
        let reason = |frame: Vec<u8>| match parse(Bytes::from(frame)) {
            Err(Refused::Close(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(reason(frame(999, 0, &[])).contains("api key 999"));
        assert!(reason(frame(1, 99, &[])).contains("Fetch v99 is not supported (this node speaks v4 to v12)"));
        assert!(reason(frame(0, 2, &[])).contains("Produce v2"));
        assert!(reason(vec![0, 18, 0]).contains("shorter than a request header"));
        assert!(
            reason(frame(3, 1, &[0x7f, 0xff, 0xff, 0xff])).contains("Metadata v1: the request body does not decode")
        );
        assert!(matches!(
            parse(Bytes::from(frame(18, 9, &[]))),
            Err(Refused::ApiVersionsTooNew(peek)) if peek.correlation_id == 7
        ));
    }

    /// Thousands of mutations of real frames (bytes flipped, cut, repeated, lengths made
    /// huge): each parses or is refused, none panics or aborts. `cargo fuzz` explores the
    /// same function further (see `fuzz/`).
    #[test]
    fn mutated_frames_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in seeds() {
            for _ in 0..4000 {
                let mut frame = seed.clone();
                for _ in 0..=(next() % 4) {
                    let at = (next() as usize) % frame.len();
                    match next() % 5 {
                        0 => frame[at] = next() as u8,
                        1 => frame.truncate(at.max(1)),
                        2 => frame[at] = 0xff,
                        3 if at + 4 <= frame.len() => frame[at..at + 4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes()),
                        _ => frame.extend_from_slice(&seed[..at.min(seed.len())]),
                    }
                }
                let _ = parse(Bytes::from(frame));
            }
        }
    }
}
