//! The listener: one task per connection that reads requests, a task per request that
//! answers it, and a writer that sends the answers in request order.
//!
//! Clients pipeline (librdkafka and the Java client keep up to five requests in flight)
//! and match answers by order, so answers must leave in the order requests arrived even
//! when a later one is ready first. Requests are handled concurrently; the writer awaits
//! them one by one. A request that breaks the protocol (a bad size, a header or body that
//! does not decode, an API or version not advertised) closes its connection with a log
//! line once the answers before it are sent.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::access::Access;
use super::frame::{self, FrameError};
use super::request::{self, Request};
use super::{cluster, dispatch, sasl, Kafka};
use crate::security::{Credentials, Security};

/// Requests a connection may have read and not yet answered. Clients keep at most five in
/// flight; more waits before being read, which holds back a client that does not wait.
const MAX_IN_FLIGHT: usize = 16;

/// A Produce request's place in its connection's order of appends.
///
/// Handlers run concurrently, but an idempotent producer's pipelined requests carry
/// consecutive sequence numbers per partition (the Java client keeps five in flight), and
/// any producer expects the log to hold its records in the order it sent them. So a
/// Produce request appends only after the one before it on its connection has appended,
/// or given up; checking and judging before, and waiting for durability after, still run
/// concurrently, so the requests in flight share flushes.
pub struct Turn {
    earlier: Option<oneshot::Receiver<()>>,
    /// Dropped once this request has appended, which lets the next one go.
    _done: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until the earlier Produce requests of this connection have appended.
    pub async fn wait(&mut self) {
        if let Some(earlier) = self.earlier.take() {
            // Sent or dropped, either way the earlier request is done with the log.
            let _ = earlier.await;
        }
    }
}

/// Produce's api key.
const PRODUCE: i16 = 0;

/// What a request's handler hands the writer.
pub enum Reply {
    /// A response frame to send, in pieces sent back to back (a Fetch answer's large
    /// record runs are pieces of their own, as read from the log).
    Frame(Vec<Bytes>),
    /// Nothing to send (Produce with acks=0).
    Nothing,
    /// The client broke the protocol: log why and close the connection.
    Close(String),
}

/// Accepts connections until `shutdown` resolves, then stops reading new requests,
/// finishes the answers in progress and returns once every connection is closed.
pub async fn serve(listener: TcpListener, kafka: Arc<Kafka>, shutdown: impl Future<Output = ()>) {
    let (closing, closed) = watch::channel(false);
    let connections = Arc::new(Semaphore::new(kafka.limits.max_connections));
    // Request bytes held across every connection, counted in KiB so a 100 MiB frame fits
    // a semaphore's permit count.
    let budget = Arc::new(Semaphore::new(kib(kafka.limits.in_flight_bytes).max(1)));
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // Finished connections are reaped as new ones come, so the set stays small.
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "kafka: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = kafka.limits.max_connections, "kafka: connection refused: at max_connections");
            continue;
        };
        let (kafka, closed, budget) = (kafka.clone(), closed.clone(), budget.clone());
        tasks.spawn(async move {
            let _ = stream.set_nodelay(true);
            match kafka.tls.clone() {
                None => {
                    let (reader, writer) = stream.into_split();
                    let peer = Peer {
                        address: peer,
                        certificate: None,
                    };
                    connection(reader, writer, peer, kafka, closed, budget).await;
                }
                Some(tls) => {
                    // The handshake counts against the time a connection has to authenticate.
                    let accepted = tokio::time::timeout(AUTHENTICATION_TIMEOUT, tls.acceptor().accept(stream)).await;
                    let stream = match accepted {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "kafka: TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "kafka: TLS handshake timed out");
                            return;
                        }
                    };
                    let certificate = tls.client_principal(stream.get_ref().1);
                    let (reader, writer) = tokio::io::split(stream);
                    let peer = Peer {
                        address: peer,
                        certificate,
                    };
                    connection(reader, writer, peer, kafka, closed, budget).await;
                }
            }
            drop(slot);
        });
    }
    let _ = closing.send(true);
    // Members waiting at a join or sync barrier are answered now (COORDINATOR_NOT_AVAILABLE,
    // which clients retry elsewhere or later) instead of holding the shutdown up to their
    // rebalance timeout.
    kafka.broker.coordinator().shut_down();
    while tasks.join_next().await.is_some() {}
}

fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).min(Semaphore::MAX_PERMITS)
}

/// Who is at the other end of a connection.
struct Peer {
    address: SocketAddr,
    /// The principal its TLS client certificate names, verified by the handshake.
    certificate: Option<String>,
}

/// The access a verified client certificate gives, where security is on.
fn certified(security: Option<&Arc<Security>>, certificate: Option<&str>) -> Option<Access> {
    let (security, name) = (security?, certificate?);
    let principal = security.authenticate(Credentials::Certificate(name)).ok()?;
    Some(Access::authenticated(principal, security.clone()))
}

async fn connection<R, W>(
    mut reader: R,
    writer: W,
    peer: Peer,
    kafka: Arc<Kafka>,
    mut closing: watch::Receiver<bool>,
    budget: Arc<Semaphore>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Peer {
        address: peer,
        certificate,
    } = peer;
    let (replies, pending) = mpsc::channel::<JoinHandle<Reply>>(MAX_IN_FLIGHT);
    let mut writer = tokio::spawn(write_replies(writer, pending, peer));
    let limits = &kafka.limits;
    // The last Produce request's turn: the next one appends after it.
    let mut last_produce: Option<oneshot::Receiver<()>> = None;
    // What the connection may do: `None` until SASL authenticates it, where security is on.
    let mut access: Option<Access> = match kafka.security {
        None => Some(Access::default()),
        Some(_) => None,
    };
    // A client certificate authenticates the connection, unless the client goes on to
    // authenticate with SASL (SASL_SSL with a certificate): then SASL's principal counts.
    let certificate = certified(kafka.security.as_ref(), certificate.as_deref());
    if let Some(certified) = &certificate {
        tracing::debug!(%peer, principal = certified.name().unwrap_or_default(), "kafka: client certificate");
    }
    let mut session = sasl::Session::default();
    let connected = Instant::now();
    loop {
        // Before authenticating, a client has little time and little room: a connection
        // that does not authenticate costs the server almost nothing.
        let (wait, largest) = match access.is_some() || certificate.is_some() {
            true => (limits.idle_timeout, limits.max_request_bytes),
            false => (
                AUTHENTICATION_TIMEOUT.saturating_sub(connected.elapsed()),
                UNAUTHENTICATED_MAX_BYTES.min(limits.max_request_bytes),
            ),
        };
        let size = tokio::select! {
            size = tokio::time::timeout(wait, frame::read_size(&mut reader, largest)) => size,
            _ = closing.wait_for(|closing| *closing) => break,
            _ = &mut writer => return,
        };
        let size = match size {
            Ok(Ok(size)) => size,
            Ok(Err(FrameError::Closed)) => break,
            Ok(Err(err)) => {
                tracing::warn!(%peer, error = %err, "kafka: closing the connection");
                break;
            }
            Err(_) if access.is_none() => {
                tracing::warn!(%peer, "kafka: closing a connection that did not authenticate in time");
                break;
            }
            Err(_) => {
                tracing::debug!(%peer, "kafka: closing an idle connection");
                break;
            }
        };
        let permit: OwnedSemaphorePermit = match budget.clone().acquire_many_owned(kib(size) as u32).await {
            Ok(permit) => permit,
            Err(_) => break,
        };
        let body = match tokio::time::timeout(limits.body_read_timeout, frame::read_body(&mut reader, size)).await {
            Ok(Ok(body)) => body,
            Ok(Err(err)) => {
                tracing::warn!(%peer, error = %err, "kafka: closing the connection");
                break;
            }
            Err(_) => {
                tracing::warn!(%peer, size, "kafka: closing the connection: a request's bytes stopped arriving");
                break;
            }
        };
        if access.is_none() && certificate.is_some() && !frame::peek(&body).is_authentication() {
            access = certificate.clone();
        }
        let Some(granted) = access.clone() else {
            let step = authenticate_step(&kafka, &mut session, body, peer).await;
            drop(permit);
            let (reply, authenticated, close) = match step {
                Step::Answer(reply) => (reply, None, false),
                Step::Authenticated(reply, granted) => (reply, Some(granted), false),
                Step::Refused(reply) => (reply, None, true),
            };
            if let Some(granted) = authenticated {
                tracing::debug!(%peer, principal = granted.name().unwrap_or_default(), "kafka: authenticated");
                access = Some(granted);
            }
            if replies.send(tokio::spawn(async move { reply })).await.is_err() || close {
                break;
            }
            continue;
        };
        let turn = (frame::peek(&body).api_key == PRODUCE).then(|| {
            let (done, next) = oneshot::channel();
            Turn {
                earlier: last_produce.replace(next),
                _done: done,
            }
        });
        let kafka = kafka.clone();
        let handler = tokio::spawn(async move {
            let reply = dispatch::handle(&kafka, body, peer, turn, &granted).await;
            drop(permit);
            reply
        });
        if replies.send(handler).await.is_err() {
            break;
        }
    }
    drop(replies);
    let _ = writer.await;
}

/// Time a connection has to authenticate, from when it is accepted.
const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request read before a connection has authenticated: ApiVersions and SASL
/// messages are small.
const UNAUTHENTICATED_MAX_BYTES: usize = 64 * 1024;

/// A request of a connection that has not authenticated yet.
enum Step {
    /// Answered; still not authenticated.
    Answer(Reply),
    /// Answered, and the connection is now this principal's.
    Authenticated(Reply, Access),
    /// Answered, and the connection is then closed (failed credentials, a request that
    /// needs a principal).
    Refused(Reply),
}

/// Handles a request of a connection that has not authenticated yet: ApiVersions, the
/// handshake, and SaslAuthenticate; anything else closes the connection.
async fn authenticate_step(kafka: &Kafka, session: &mut sasl::Session, body: Bytes, peer: SocketAddr) -> Step {
    let Some(security) = &kafka.security else {
        return Step::Refused(Reply::Close("authentication without security".to_string()));
    };
    let parsed = match request::parse(body) {
        Ok(parsed) => parsed,
        Err(request::Refused::ApiVersionsTooNew(peek)) => {
            return Step::Answer(dispatch::respond(&peek, &cluster::unsupported_api_versions(), 0))
        }
        Err(request::Refused::Close(why)) => return Step::Refused(Reply::Close(why)),
    };
    let (peek, version) = (parsed.peek, parsed.peek.api_version);
    match parsed.request {
        Request::ApiVersions(_) => Step::Answer(dispatch::respond(&peek, &cluster::api_versions(), version)),
        Request::SaslHandshake(request) => {
            let (response, next) = sasl::handshake(&request);
            *session = next;
            Step::Answer(dispatch::respond(&peek, &response, version))
        }
        Request::SaslAuthenticate(request) => match sasl::authenticate(security, session, request, peer).await {
            sasl::Outcome::Continue(response) => Step::Answer(dispatch::respond(&peek, &response, version)),
            sasl::Outcome::Done(principal, response) => Step::Authenticated(
                dispatch::respond(&peek, &response, version),
                Access::authenticated(principal, security.clone()),
            ),
            sasl::Outcome::Failed(response) => {
                tracing::warn!(%peer, "kafka: authentication failed; closing the connection");
                Step::Refused(dispatch::respond(&peek, &response, version))
            }
        },
        _ => Step::Refused(Reply::Close(format!(
            "{} before authenticating: this listener needs SASL (PLAIN or SCRAM) first",
            kafka_protocol::messages::ApiKey::try_from(peek.api_key)
                .map_or_else(|_| format!("api key {}", peek.api_key), |key| format!("{key:?}"))
        ))),
    }
}

/// Sends answers in request order until the reader stops or a request must close the
/// connection.
async fn write_replies<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut pending: mpsc::Receiver<JoinHandle<Reply>>,
    peer: SocketAddr,
) {
    while let Some(handler) = pending.recv().await {
        match handler.await {
            Ok(Reply::Frame(pieces)) => {
                if let Err(err) = write_pieces(&mut writer, pieces).await {
                    tracing::debug!(%peer, error = %err, "kafka: the client stopped reading");
                    return;
                }
            }
            Ok(Reply::Nothing) => {}
            Ok(Reply::Close(why)) => {
                tracing::warn!(%peer, "kafka: closing the connection: {why}");
                let _ = writer.shutdown().await;
                return;
            }
            Err(err) => {
                // A handler that panicked: the server goes on, this connection cannot (its
                // client waits for an answer that will not come).
                tracing::error!(%peer, error = %err, "kafka: a request's handler failed; closing the connection");
                return;
            }
        }
    }
}

/// At most this many pieces go to the kernel in one vectored write (Linux takes 1,024).
const PIECES_PER_WRITE: usize = 64;

/// Writes `pieces` back to back, as many at a time as one vectored write takes.
async fn write_pieces<W: AsyncWrite + Unpin>(writer: &mut W, mut pieces: Vec<Bytes>) -> io::Result<()> {
    let mut next = 0;
    while next < pieces.len() {
        let slices: Vec<IoSlice<'_>> = pieces[next..]
            .iter()
            .take(PIECES_PER_WRITE)
            .map(|piece| IoSlice::new(piece))
            .collect();
        let mut written = writer.write_vectored(&slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let piece = &mut pieces[next];
            if written < piece.len() {
                piece.advance(written);
                break;
            }
            written -= piece.len();
            // Sent: let go of it now (a mapped read is unmapped here, not at the end).
            *piece = Bytes::new();
            next += 1;
        }
    }
    Ok(())
}
