//! The connection layer `herald serve` runs on: hyper's HTTP/1.1 connections, accepted by
//! our own loop so that slow, idle and surplus clients cannot starve the others.
//!
//! `axum::serve` sets no header-read timeout, no idle timeout and no connection cap: a few
//! thousand sockets that open and dribble bytes hold a descriptor each until the process runs
//! out, and then nobody else is answered. Here every connection is in one of three phases,
//! and a watchdog task-local to it closes it when its phase lasts too long:
//!
//! - **head**: the server waits for a request head (from accept, or from the first byte after
//!   an idle spell); it must be complete within `header_read_timeout`;
//! - **busy**: a request is being answered; no timeout applies to the handler, but its body
//!   must arrive within `body_read_timeout` ([`TimedBody`]);
//! - **idle**: between requests on a kept-alive connection; closed after `idle_timeout`.
//!
//! At most `max_connections` are open. When a new connection arrives at the cap, the one that
//! has waited longest for its client (head or idle phase) is closed to make room, so a crowd
//! of slow clients cannot lock out fresh ones; when every connection is busy answering, the
//! new one is told 503 and closed at once rather than queued.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::App;

/// The connection layer's limits; `herald serve` takes each from a flag, a `HERALD_*`
/// variable or `herald.toml`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request head must be complete this long after the server starts waiting for it.
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in progress is closed after this long.
    pub idle_timeout: Duration,
    /// A request body must have arrived this long after the server first waits for it.
    pub body_read_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// The largest request head (request line and headers) a connection buffers. hyper's own
/// default is about 400 KiB; at ten thousand connections that is 4 GB held by partial heads.
/// Java's Jetty allows 8 KiB.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The default connection cap: the share of the descriptor limit the broker's budget leaves
/// for connections (`broker::fds::Limits::max_connections`), so open connections and
/// segment files together never exceed the limit.
pub fn default_max_connections() -> usize {
    crate::broker::fds::limits().max_connections
}

/// Connections the kernel may queue before `accept` takes them (capped by
/// `net.core.somaxconn`). The accept loop drains the queue quickly, but during a burst of
/// attacking connections a short queue drops newcomers' SYNs, which their clients retry
/// only after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `address` (`host:port`; port 0 picks a free port) with a long accept queue.
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(address).await? {
        let socket = if candidate.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(candidate) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the address resolves to nothing")))
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// request in flight finish (idle connections close at once) and returns.
pub async fn serve(listener: TcpListener, app: App, limits: Limits, shutdown: impl Future<Output = ()>) {
    let limits = Arc::new(limits);
    let table = Arc::new(Table::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(finished) = tasks.join_next() => report(finished),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match table.admit() {
                    Some(conn) => {
                        tasks.spawn(serve_connection(
                            stream,
                            conn,
                            table.clone(),
                            app.clone(),
                            limits.clone(),
                            stopping.clone(),
                        ));
                    }
                    None => refuse(stream),
                },
                Err(err) => accept_failed(err).await,
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while let Some(finished) = tasks.join_next().await {
        report(finished);
    }
}

/// A connection's task ended; a panic there (outside a handler, which `edge` guards) is
/// logged, never propagated.
fn report(finished: Result<(), tokio::task::JoinError>) {
    if let Err(err) = finished {
        if err.is_panic() {
            tracing::error!(error = %err, "a connection task panicked");
        }
    }
}

/// Out of descriptors or a connection reset before it was accepted: the former clears as
/// connections close, so pause briefly instead of spinning on the same error.
async fn accept_failed(err: io::Error) {
    match err.kind() {
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted => {}
        _ => {
            tracing::warn!(error = %err, "accepting a connection failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What a connection past the cap is told, when every open connection is busy answering.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
connection: close\r\ncontent-length: 74\r\n\r\n\
{\"error_code\":503,\"message\":\"Too many connections: try again in a moment\"}";

fn refuse(stream: TcpStream) {
    tracing::debug!("connection refused: every connection is busy and the cap is reached");
    // Without blocking: the socket is new, so its send buffer has room. What the client has
    // sent already is read first, so that closing sends a FIN the client can read the 503
    // before, not a reset.
    let Ok(stream) = stream.into_std() else {
        return;
    };
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match (&stream).read(&mut sink) {
            Ok(n) if n > 0 => continue,
            _ => break,
        }
    }
    let _ = (&stream).write(BUSY_RESPONSE);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

async fn serve_connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    table: Arc<Table>,
    app: App,
    limits: Arc<Limits>,
    mut stopping: watch::Receiver<bool>,
) {
    let _registered = Registered { table, id: conn.id };
    let io = TokioIo::new(Watched {
        stream,
        conn: conn.clone(),
    });
    let body_timeout = limits.body_read_timeout;
    let tracked = conn.clone();
    let service = app
        .map_request(move |request: Request<Incoming>| {
            request.map(|body| Body::new(TimedBody::new(body, body_timeout)))
        })
        .map_future(move |answer| {
            let answering = Answering::start(tracked.clone());
            async move {
                let response = answer.await;
                drop(answering);
                response
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_buf_size(MAX_HEAD_BYTES);
    let mut connection = pin!(builder.serve_connection(io, TowerToHyperService::new(service)));
    let mut watchdog = pin!(watchdog(&conn, &limits));
    let mut draining = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(err) = served {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                break;
            }
            () = watchdog.as_mut() => break,
            _ = stopping.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves when the connection should be closed: its phase lasted too long, or it was
/// evicted to make room for a new one.
async fn watchdog(conn: &Conn, limits: &Limits) {
    loop {
        let Some(wait) = conn.time_left(limits) else {
            tracing::debug!(
                phase = conn.phase_name(),
                "closing a connection whose client is too slow"
            );
            return;
        };
        tokio::select! {
            () = conn.evicted.notified() => {
                tracing::debug!("closing the longest-waiting connection to admit a new one");
                return;
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// Milliseconds on a process-wide monotonic clock.
fn now_millis() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One connection's phase and since when it is in it, shared by its I/O, its service and
/// its watchdog.
struct Conn {
    id: u64,
    phase: AtomicU8,
    since: AtomicU64,
    evicted: Notify,
}

impl Conn {
    fn enter(&self, phase: u8) {
        self.since.store(now_millis(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    fn waiting_since(&self) -> Option<u64> {
        match self.phase.load(Ordering::Acquire) {
            BUSY => None,
            _ => Some(self.since.load(Ordering::Relaxed)),
        }
    }

    /// How long the watchdog may sleep before it looks again; `None` once the current phase
    /// has lasted too long. It looks at least once per shortest timeout, as the phase may
    /// change while it sleeps (a request answered begins an idle spell).
    fn time_left(&self, limits: &Limits) -> Option<Duration> {
        let recheck = limits.header_read_timeout.min(limits.idle_timeout);
        let allowed = match self.phase.load(Ordering::Acquire) {
            HEAD => limits.header_read_timeout,
            IDLE => limits.idle_timeout,
            // A handler may take as long as it takes.
            _ => return Some(recheck),
        };
        let elapsed = now_millis().saturating_sub(self.since.load(Ordering::Relaxed));
        let left = (allowed.as_millis() as u64)
            .checked_sub(elapsed)
            .filter(|&left| left > 0)?;
        Some(Duration::from_millis(left).min(recheck))
    }

    fn phase_name(&self) -> &'static str {
        match self.phase.load(Ordering::Acquire) {
            HEAD => "head",
            IDLE => "idle",
            _ => "busy",
        }
    }
}

/// The open connections, for the cap and for choosing whom to close when it is reached.
struct Table {
    cap: usize,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Table {
    fn new(cap: usize) -> Table {
        Table {
            cap: cap.max(1),
            next_id: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a new connection, closing the longest-waiting one if the cap is reached;
    /// `None` when every open connection is busy.
    fn admit(&self) -> Option<Arc<Conn>> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.len() >= self.cap {
            let (&victim, _) = live
                .iter()
                .filter_map(|(id, conn)| Some((id, conn.waiting_since()?)))
                .min_by_key(|&(_, since)| since)?;
            if let Some(evicted) = live.remove(&victim) {
                evicted.evicted.notify_one();
            }
        }
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(now_millis()),
            evicted: Notify::new(),
        });
        live.insert(conn.id, conn.clone());
        Some(conn)
    }

    fn remove(&self, id: u64) {
        self.live.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }
}

/// Takes a connection out of the table when its task ends, however it ends.
struct Registered {
    table: Arc<Table>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

/// Marks a connection busy while a request is answered, idle after.
struct Answering(Arc<Conn>);

impl Answering {
    fn start(conn: Arc<Conn>) -> Answering {
        conn.phase.store(BUSY, Ordering::Release);
        Answering(conn)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.enter(IDLE);
    }
}

/// The socket, noting the first byte of a request that arrives on an idle connection (the
/// head's clock starts then).
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before && this.conn.phase.load(Ordering::Acquire) == IDLE {
            this.conn.enter(HEAD);
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A request body that fails once it has taken longer than the body-read timeout to arrive,
/// counted from the first time the handler had to wait for it. The timer is created only
/// then, so a body that came with its head (most do) costs nothing extra.
pub struct TimedBody {
    inner: Incoming,
    timeout: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> TimedBody {
        TimedBody {
            inner,
            timeout,
            timer: None,
        }
    }
}

/// The error a too-slow body ends with; handlers answer it as a body they could not read.
#[derive(Debug)]
pub struct BodyTimeout(Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms (body_read_timeout)",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimeout {}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let timeout = this.timeout;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(timeout).into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 2,
        }
    }

    #[test]
    fn the_busy_answer_announces_its_own_length() {
        let text = std::str::from_utf8(BUSY_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.ends_with(&format!("content-length: {}", body.len())), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap()["error_code"],
            503
        );
    }

    #[test]
    fn a_full_table_evicts_the_connection_that_waited_longest() {
        let table = Table::new(2);
        let first = table.admit().unwrap();
        let second = table.admit().unwrap();
        first.since.store(0, Ordering::Relaxed);
        second.since.store(5, Ordering::Relaxed);
        let third = table.admit().expect("room made by eviction");
        let live = table.live.lock().unwrap();
        assert!(!live.contains_key(&first.id) && live.contains_key(&second.id) && live.contains_key(&third.id));
    }

    #[test]
    fn a_table_of_busy_connections_refuses_newcomers() {
        let table = Table::new(2);
        let answering: Vec<Answering> = (0..2).map(|_| Answering::start(table.admit().unwrap())).collect();
        assert!(table.admit().is_none());
        drop(answering);
        assert!(table.admit().is_some(), "idle connections make room again");
    }

    #[test]
    fn phases_have_their_own_deadlines() {
        let conn = Conn {
            id: 0,
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(now_millis()),
            evicted: Notify::new(),
        };
        let quick = Limits {
            header_read_timeout: Duration::from_millis(50),
            idle_timeout: Duration::from_secs(10),
            ..limits()
        };
        assert!(conn.time_left(&quick).unwrap() <= Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(conn.time_left(&quick), None, "a head that took too long");
        conn.enter(IDLE);
        assert!(conn.time_left(&quick).is_some(), "an idle spell that just began");
        conn.phase.store(BUSY, Ordering::Release);
        conn.since.store(0, Ordering::Relaxed);
        assert_eq!(
            conn.time_left(&quick),
            Some(Duration::from_millis(50)),
            "answering is never cut off"
        );
    }
}
