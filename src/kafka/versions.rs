//! The APIs and versions this listener answers, which ApiVersions advertises: one table, so
//! what is advertised is exactly what is dispatched.
//!
//! The ranges are Kafka's for a broker that addresses topics by name (Fetch up to v12,
//! Produce up to v11; later versions use topic ids). Produce advertises v0 to v2 although
//! it refuses them: librdkafka before 2.11.1 enables compression only when the broker's
//! Produce range includes v0 (KAFKA-18659), and Kafka 4 advertises the same way.

use kafka_protocol::messages::ApiKey;

/// (api, lowest version, highest version).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 0, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::DescribeCluster, 0, 1),
    // v0 is advertised because librdkafka asks for a range that includes it before it
    // uses v1; a v0 client (Kafka before 1.0) would send raw SASL tokens outside Kafka's
    // framing next, which close its connection.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// Produce versions below this are advertised (see above) but refused when used.
pub const PRODUCE_MIN_USABLE: i16 = 3;

/// Whether `version` of `key` is in the advertised range.
pub fn supported(key: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|&(k, min, max)| k == key && (min..=max).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every advertised version must be one the codec can decode and encode (Produce's
    /// refused low versions aside), or a client choosing it would get a closed connection.
    #[test]
    fn advertised_ranges_are_within_the_codecs() {
        for &(key, min, max) in SUPPORTED {
            let codec = key.valid_versions();
            let min = if key == ApiKey::Produce {
                PRODUCE_MIN_USABLE
            } else {
                min
            };
            assert!(
                codec.min <= min && max <= codec.max,
                "{key:?} {min}..={max} outside the codec's {codec}"
            );
        }
    }

    #[test]
    fn each_api_is_listed_once() {
        for (i, &(key, _, _)) in SUPPORTED.iter().enumerate() {
            assert!(SUPPORTED[i + 1..].iter().all(|&(k, _, _)| k != key), "{key:?} twice");
        }
    }
}
