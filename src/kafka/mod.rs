//! The Kafka wire protocol: Herald's broker as a single Kafka node that is the leader of
//! every partition, so Kafka clients produce and consume through the same topics, logs,
//! consumer groups and contract gate as the HTTP API.
//!
//! Only this module knows Kafka's request and response types. Messages are decoded and
//! encoded with the `kafka-protocol` crate; the framing, version negotiation, ordered
//! pipelining and one handler per API are here. Record batches stay the bytes the client
//! sent: the broker stores them as they are and serves them back as stored.
//!
//! - `connection`: the accept loop and one task per connection; requests are handled
//!   concurrently and answered in order, as clients pipelining up to five expect.
//! - `frame`: sizes, headers, response frames.
//! - `versions`: the advertised APIs and versions (what `dispatch` answers).
//! - `request`: from a frame to a decoded request (no I/O; fuzzed).
//! - `dispatch`: from a decoded request to its handler and the encoded answer.
//! - one module per group of APIs: `cluster` (ApiVersions, Metadata, DescribeCluster,
//!   FindCoordinator), `admin` (CreateTopics, DeleteTopics, DescribeConfigs), `fetch`
//!   (Fetch, ListOffsets), `produce` (Produce, InitProducerId), `groups` (the consumer-group
//!   APIs).
//! - `error`: Herald's errors as Kafka error codes.

pub mod access;
mod admin;
mod cluster;
mod configs;
pub mod connection;
mod dispatch;
mod error;
mod fetch;
mod fetch_frame;
pub mod frame;
mod groups;
mod produce;
pub mod request;
pub mod sasl;
pub mod versions;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::broker::Broker;
use crate::gate::Gate;
use crate::security::Security;

/// The node id Herald answers as: the one broker, leader of every partition, and the
/// coordinator of every group.
pub const NODE_ID: i32 = 0;

/// Kafka's default `socket.request.max.bytes`: larger frames close the connection.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// Settings of the listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request frame read; larger ones close the connection.
    pub max_request_bytes: usize,
    /// Request bytes all connections may hold at once, read but not yet answered; a
    /// connection whose next request does not fit waits before reading it.
    pub in_flight_bytes: usize,
    /// Connections open at once; past it a new connection is closed at once, with a log line.
    pub max_connections: usize,
    /// A connection with no request for this long is closed (Kafka's
    /// `connections.max.idle.ms`).
    pub idle_timeout: Duration,
    /// Time a client has to send the rest of a request once its size has arrived.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            in_flight_bytes: 4 * DEFAULT_MAX_REQUEST_BYTES,
            max_connections: 1000,
            idle_timeout: Duration::from_secs(600),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler works with.
pub struct Kafka {
    pub broker: Arc<Broker>,
    /// The contract gate, shared with the HTTP door: one set of verdicts for both.
    pub gate: Arc<Gate>,
    /// Where clients reach this node, as Metadata tells them.
    pub advertised_host: String,
    pub advertised_port: i32,
    /// Stable for a data directory: clients log it and tools show it.
    pub cluster_id: String,
    pub limits: Limits,
    /// Authentication (SASL) and grants; `None`: every connection may do everything.
    pub security: Option<Arc<Security>>,
    /// TLS on the listener (`[security.kafka_tls]`).
    pub tls: Option<Arc<crate::security::tls::Tls>>,
}

impl Kafka {
    pub fn new(
        broker: Arc<Broker>,
        gate: Arc<Gate>,
        advertised: Advertised,
        cluster_id: String,
        limits: Limits,
    ) -> Kafka {
        Kafka {
            broker,
            gate,
            advertised_host: advertised.host,
            advertised_port: advertised.port,
            cluster_id,
            limits,
            security: None,
            tls: None,
        }
    }

    /// Requires SASL authentication and applies the grants; call before sharing.
    pub fn with_security(mut self, security: Option<Arc<Security>>) -> Kafka {
        self.security = security;
        self
    }

    pub fn with_tls(mut self, tls: Option<Arc<crate::security::tls::Tls>>) -> Kafka {
        self.tls = tls;
        self
    }
}

/// The host and port Metadata advertises.
#[derive(Debug, Clone)]
pub struct Advertised {
    pub host: String,
    pub port: i32,
}

impl Advertised {
    /// `HOST:PORT` as checked by the configuration, or the bound address.
    pub fn parse(text: &str) -> Option<Advertised> {
        let (host, port) = text.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some(Advertised {
            host: host.to_string(),
            port: port.parse::<u16>().ok()?.into(),
        })
    }

    pub fn from_addr(addr: SocketAddr) -> Advertised {
        Advertised {
            host: addr.ip().to_string(),
            port: addr.port().into(),
        }
    }
}

/// A cluster id derived from the data directory's full path: the same across restarts of
/// one deployment, different between deployments, in Kafka's 22-character form.
pub fn cluster_id(data_dir: &Path) -> String {
    use md5::{Digest, Md5};
    let path = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = Md5::digest(path.to_string_lossy().as_bytes());
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(digest)
}
