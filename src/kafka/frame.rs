//! Kafka's framing: every request and response is a big-endian `i32` size followed by that
//! many bytes. A request starts with its header (api key, version, correlation id, client
//! id, and tagged fields from header v2), a response with its correlation id (and tagged
//! fields from response header v1).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a connection is closed: its client broke the protocol or went away.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection between requests: the normal end.
    Closed,
    Io(std::io::Error),
    /// A size below the smallest header, or above the largest request this listener reads.
    BadSize {
        size: i32,
        max: usize,
    },
    /// A header that does not decode.
    BadHeader(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => write!(f, "the client closed the connection"),
            FrameError::Io(err) => write!(f, "{err}"),
            FrameError::BadSize { size, max } => {
                write!(f, "a request of {size} bytes, outside 8 to {max} bytes")
            }
            FrameError::BadHeader(why) => write!(f, "a request header that does not decode: {why}"),
        }
    }
}

/// The fixed part of every request header: api key, api version, correlation id, and the
/// client id's length.
const MIN_REQUEST_BYTES: i32 = 10;

/// Reads the next request's size. `Closed` when the peer ended the connection cleanly
/// before another request began.
pub async fn read_size<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> Result<usize, FrameError> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(err) => return Err(FrameError::Io(err)),
    }
    let size = i32::from_be_bytes(size);
    if size < MIN_REQUEST_BYTES || size as usize > max {
        return Err(FrameError::BadSize { size, max });
    }
    Ok(size as usize)
}

/// Reads a request body of `size` bytes.
pub async fn read_body<R: AsyncRead + Unpin>(reader: &mut R, size: usize) -> Result<Bytes, FrameError> {
    let mut body = BytesMut::zeroed(size);
    reader.read_exact(&mut body).await.map_err(|err| match err.kind() {
        std::io::ErrorKind::UnexpectedEof => FrameError::Io(std::io::Error::new(
            err.kind(),
            format!("the connection ended inside a request of {size} bytes"),
        )),
        _ => FrameError::Io(err),
    })?;
    Ok(body.freeze())
}

/// The api key, version and correlation id, which every request header starts with and
/// which are needed to answer even a request whose header version is not known.
#[derive(Debug, Clone, Copy)]
pub struct Peek {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl Peek {
    /// Whether the request is one a connection may send before it has authenticated:
    /// ApiVersions, SaslHandshake or SaslAuthenticate.
    pub fn is_authentication(&self) -> bool {
        [ApiKey::ApiVersions, ApiKey::SaslHandshake, ApiKey::SaslAuthenticate]
            .iter()
            .any(|key| *key as i16 == self.api_key)
    }
}

pub fn peek(frame: &[u8]) -> Peek {
    let mut head = &frame[..8];
    Peek {
        api_key: head.get_i16(),
        api_version: head.get_i16(),
        correlation_id: head.get_i32(),
    }
}

/// Decodes the request header at the front of `frame` (advancing past it), for an api key
/// this listener knows.
pub fn decode_header(frame: &mut Bytes, key: ApiKey, version: i16) -> Result<RequestHeader, FrameError> {
    let header_version = key.request_header_version(version);
    RequestHeader::decode(frame, header_version).map_err(|e| FrameError::BadHeader(e.to_string()))
}

/// Writes a whole response frame: size, header (in the version the response's api and
/// version use), body.
pub fn encode_response<M: Encodable>(
    correlation_id: i32,
    header_version: i16,
    body: &M,
    version: i16,
) -> Result<BytesMut, String> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let size = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + body.compute_size(version)?))
        .map_err(|e| e.to_string())?;
    let mut out = BytesMut::with_capacity(4 + size);
    out.put_i32(size as i32);
    header.encode(&mut out, header_version).map_err(|e| e.to_string())?;
    body.encode(&mut out, version).map_err(|e| e.to_string())?;
    Ok(out)
}
