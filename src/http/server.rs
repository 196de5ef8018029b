//! The connection layer `herald serve` runs on: hyper's HTTP/1.1 connections, accepted by
//! our own loop so that slow, idle and surplus clients cannot starve the others.
//!
//! `axum::serve` sets no header-read timeout, no idle timeout and no connection cap: a few
//! thousand sockets that open and dribble bytes hold a descriptor each until the process runs
//! out, and then nobody else is answered. Here every connection is in one of three phases:
//!
//! - **head**: the server waits for a request head (from accept, or from the first byte after
//!   an idle spell); it must be complete within `header_read_timeout`;
//! - **busy**: a request is being answered; no timeout applies to the handler, but its body
//!   must arrive within `body_read_timeout` ([`TimedBody`]);
//! - **idle**: between requests on a kept-alive connection; closed after `idle_timeout`.
//!
//! The phase and since when it lasts are two atomics per connection, stamped from a coarse
//! clock ([`Clock`]) that one sweeper task per server advances; the same task closes every
//! connection whose phase has lasted too long. A request therefore costs two atomic stores
//! and no timer, no clock read and no extra wake-up: timers re-armed per request, and a
//! watchdog future polled on every wake of every connection, cost the server a sixth of its
//! throughput on small reads. A connection is told to close through a flag and a waker
//! ([`Conn::order`]), checked each time its task runs.
//!
//! At most `max_connections` are open. When a new connection arrives at the cap, the one that
//! has waited longest for its client (head or idle phase) is closed to make room, so a crowd
//! of slow clients cannot lock out fresh ones; when every connection is busy answering, the
//! new one is told 503 and closed at once rather than queued.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use axum::body::{Body, Bytes};
use axum::http::Request;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tower::Service;

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
    /// TLS: every connection's handshake is done (within the header-read timeout) before
    /// its first request is read. `None`: plaintext.
    pub tls: Option<TlsListener>,
}

/// The TLS side of a listener: its configuration in force, read at each handshake so that
/// a reloaded certificate takes effect for the next connection.
#[derive(Clone)]
pub struct TlsListener(pub Arc<crate::security::tls::Tls>);

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsListener")
    }
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
    let table = Arc::new(Table::new(limits.max_connections));
    // Before the first connection is stamped: the clock may have stood still since another
    // server in this process stopped.
    CLOCK.tick();
    let sweeper = tokio::spawn(sweep(table.clone(), limits.clone()));
    let body_timeout = limits.body_read_timeout;
    let handshake = Handshake {
        tls: limits.tls.clone(),
        timeout: limits.header_read_timeout,
    };
    let draining = Draining::default();
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(finished) = tasks.join_next() => report(finished),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match table.admit() {
                    Some(conn) => {
                        // Answers are written whole or streamed in small events (live tails)
                        // that nobody replies to: without this each small write would wait
                        // for the client's delayed ACK (up to 40 ms on Linux).
                        let _ = stream.set_nodelay(true);
                        let registered = Registered { table: table.clone(), conn };
                        let handshake = handshake.clone();
                        let app = app.clone();
                        let draining = draining.clone();
                        tasks.spawn(async move {
                            if let Some((stream, certificate)) = handshake.complete(stream, peer).await {
                                let client = Client { address: ClientAddr(peer), certificate, draining };
                                serve_connection(stream, client, registered, app, body_timeout).await;
                            }
                        });
                    }
                    None => refuse(stream),
                },
                Err(err) => accept_failed(err).await,
            },
        }
    }
    drop(listener);
    draining.start();
    table.order_all(DRAIN);
    while let Some(finished) = tasks.join_next().await {
        report(finished);
    }
    sweeper.abort();
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

/// The TLS handshake a connection goes through first, if TLS is on.
#[derive(Clone)]
struct Handshake {
    tls: Option<TlsListener>,
    timeout: Duration,
}

impl Handshake {
    /// The connection's stream, ready for requests, and the principal its client
    /// certificate names; `None` (after a debug line) when the handshake fails or takes
    /// too long.
    async fn complete(&self, stream: TcpStream, peer: SocketAddr) -> Option<(Stream, Option<ClientCertificate>)> {
        let Some(TlsListener(tls)) = &self.tls else {
            return Some((Stream::Plain(stream), None));
        };
        match tokio::time::timeout(self.timeout, tls.acceptor().accept(stream)).await {
            Ok(Ok(stream)) => {
                let certificate = tls
                    .client_principal(stream.get_ref().1)
                    .map(|name| ClientCertificate(name.into()));
                Some((Stream::Tls(Box::new(stream)), certificate))
            }
            Ok(Err(err)) => {
                tracing::debug!(%peer, error = %err, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                None
            }
        }
    }
}

/// A connection's byte stream: plain TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

async fn serve_connection(stream: Stream, client: Client, registered: Registered, app: App, body_timeout: Duration) {
    let conn = &registered.conn;
    let io = TokioIo::new(Watched {
        stream,
        conn: conn.clone(),
    });
    let service = Answerer {
        app,
        conn: conn.clone(),
        body_timeout,
        client,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_buf_size(MAX_HEAD_BYTES);
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut draining = false;
    // The connection's own future, and the orders the sweeper, the cap and shutdown give it:
    // one flag read and one waker registration each time the task runs.
    let served = poll_fn(|cx| {
        conn.waker.register(cx.waker());
        match conn.order.load(Ordering::Acquire) {
            CLOSE => {
                tracing::debug!(phase = conn.phase_name(), "closing a connection: too slow, or evicted");
                return Poll::Ready(Ok(()));
            }
            DRAIN if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ => {}
        }
        connection.as_mut().poll(cx)
    })
    .await;
    if let Err(err) = served {
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// The service hyper calls for each request on a connection: marks the connection busy until
/// the handler has answered, gives the body its timeout and calls the app. What
/// `TowerToHyperService` and two `tower` map layers did, without their per-request state.
struct Answerer {
    app: App,
    conn: Arc<Conn>,
    body_timeout: Duration,
    client: Client,
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
struct Client {
    address: ClientAddr,
    certificate: Option<ClientCertificate>,
    draining: Draining,
}

/// Said when the server stops, in every request's extensions: an answer that streams until
/// its client leaves (a live tail) ends then, since shutdown waits for answers in flight.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<tokio::sync::watch::Sender<bool>>);

impl Draining {
    fn start(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the server stops.
    pub async fn started(&self) {
        let mut receiver = self.0.subscribe();
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }
}

/// The address a request came from, in its extensions: for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The principal named by the connection's client certificate, which the TLS handshake
/// verified, in the extensions of each of its requests.
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Arc<str>);

impl hyper::service::Service<Request<Incoming>> for Answerer {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        let answering = Answering::start(self.conn.clone());
        let timeout = self.body_timeout;
        let mut request = request.map(|body| Body::new(TimedBody::new(body, timeout)));
        request.extensions_mut().insert(self.client.address);
        request.extensions_mut().insert(self.client.draining.clone());
        if let Some(certificate) = &self.client.certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        let mut app = self.app.clone();
        // A `Router` is always ready (it has no back-pressure of its own); the call is made
        // as tower's contract asks, after the readiness check.
        let _ = app.poll_ready(&mut Context::from_waker(Waker::noop()));
        Answer {
            inner: app.call(request),
            _answering: answering,
        }
    }
}

/// A request being answered; the connection turns idle when it completes (or is dropped).
struct Answer {
    inner: RouteFuture<Infallible>,
    _answering: Answering,
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// Closes connections whose phase has lasted too long, and advances the coarse clock their
/// phases are stamped with, every tenth of the shortest timeout (at most a second apart).
async fn sweep(table: Arc<Table>, limits: Limits) {
    let every = sweep_interval(&limits);
    let slack = every.as_millis() as u64;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = CLOCK.tick();
        table.close_overdue(&limits, now, slack);
    }
}

fn sweep_interval(limits: &Limits) -> Duration {
    let shortest = limits.header_read_timeout.min(limits.idle_timeout);
    (shortest / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// Orders to a connection ([`Conn::order`]), in increasing force.
const RUN: u8 = 0;
/// Finish the request in flight, then close (shutdown).
const DRAIN: u8 = 1;
/// Close now (too slow, or evicted).
const CLOSE: u8 = 2;

/// A process-wide monotonic clock in milliseconds that is read with one atomic load: the
/// sweepers advance it, connections stamp their phases with it. While a server runs it lags
/// true time by about a sweep interval (more only if the runtime is too busy to run the
/// sweeper on time), which the sweep allows for ([`Conn::overdue`]).
struct Clock {
    epoch: OnceLock<Instant>,
    millis: AtomicU64,
}

static CLOCK: Clock = Clock {
    epoch: OnceLock::new(),
    millis: AtomicU64::new(0),
};

impl Clock {
    fn now(&self) -> u64 {
        self.millis.load(Ordering::Relaxed)
    }

    /// Advances the clock to the true time (never backwards: several servers may tick it).
    fn tick(&self) -> u64 {
        let now = self.epoch.get_or_init(Instant::now).elapsed().as_millis() as u64;
        self.millis.fetch_max(now, Ordering::Relaxed).max(now)
    }
}

/// One connection's phase and since when it is in it, shared by its I/O, its service, the
/// sweeper and the table; and the order its task obeys.
struct Conn {
    id: u64,
    phase: AtomicU8,
    since: AtomicU64,
    /// [`RUN`], [`DRAIN`] or [`CLOSE`]; only ever raised.
    order: AtomicU8,
    /// The connection's task, woken when `order` is raised.
    waker: AtomicWaker,
}

impl Conn {
    fn new(id: u64) -> Conn {
        Conn {
            id,
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(CLOCK.now()),
            order: AtomicU8::new(RUN),
            waker: AtomicWaker::new(),
        }
    }

    fn enter(&self, phase: u8) {
        self.since.store(CLOCK.now(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    fn order(&self, order: u8) {
        if self.order.fetch_max(order, Ordering::AcqRel) < order {
            self.waker.wake();
        }
    }

    fn waiting_since(&self) -> Option<u64> {
        match self.phase.load(Ordering::Acquire) {
            BUSY => None,
            _ => Some(self.since.load(Ordering::Relaxed)),
        }
    }

    /// Whether the current phase has lasted longer than its timeout at `now` on [`CLOCK`].
    /// Both ends of the span were read from the coarse clock, so the span may be up to
    /// `slack` ms longer than it truly was: a connection is closed only once it is overdue
    /// by more than that, never before its timeout.
    fn overdue(&self, limits: &Limits, now: u64, slack: u64) -> bool {
        let allowed = match self.phase.load(Ordering::Acquire) {
            HEAD => limits.header_read_timeout,
            IDLE => limits.idle_timeout,
            // A handler may take as long as it takes.
            _ => return false,
        };
        let elapsed = now.saturating_sub(self.since.load(Ordering::Relaxed));
        elapsed > allowed.as_millis() as u64 + slack
    }

    fn phase_name(&self) -> &'static str {
        match self.phase.load(Ordering::Acquire) {
            HEAD => "head",
            IDLE => "idle",
            _ => "busy",
        }
    }
}

/// The open connections, for the cap, for choosing whom to close when it is reached, and
/// for the sweeper.
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

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, closing the longest-waiting one if the cap is reached;
    /// `None` when every open connection is busy.
    fn admit(&self) -> Option<Arc<Conn>> {
        let mut live = self.live();
        if live.len() >= self.cap {
            let (&victim, _) = live
                .iter()
                .filter_map(|(id, conn)| Some((id, conn.waiting_since()?)))
                .min_by_key(|&(_, since)| since)?;
            if let Some(evicted) = live.remove(&victim) {
                tracing::debug!("closing the longest-waiting connection to admit a new one");
                evicted.order(CLOSE);
            }
        }
        let conn = Arc::new(Conn::new(self.next_id.fetch_add(1, Ordering::Relaxed)));
        live.insert(conn.id, conn.clone());
        Some(conn)
    }

    /// Tells every connection whose phase has lasted too long to close.
    fn close_overdue(&self, limits: &Limits, now: u64, slack: u64) {
        for conn in self.live().values() {
            if conn.overdue(limits, now, slack) {
                conn.order(CLOSE);
            }
        }
    }

    /// Gives every open connection the same order (shutdown).
    fn order_all(&self, order: u8) {
        for conn in self.live().values() {
            conn.order(order);
        }
    }

    fn remove(&self, id: u64) {
        self.live().remove(&id);
    }
}

/// A connection in the table, taken out when its task ends, however it ends.
struct Registered {
    table: Arc<Table>,
    conn: Arc<Conn>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.table.remove(self.conn.id);
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
    stream: Stream,
    conn: Arc<Conn>,
}

/// Runs `$call` on whichever stream a [`Stream`] holds.
macro_rules! on_stream {
    ($stream:expr, $s:ident => $call:expr) => {
        match $stream {
            Stream::Plain($s) => $call,
            Stream::Tls($s) => $call,
        }
    };
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = on_stream!(&mut this.stream, s => Pin::new(s).poll_read(cx, buf));
        if buf.filled().len() > before && this.conn.phase.load(Ordering::Acquire) == IDLE {
            this.conn.enter(HEAD);
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        on_stream!(&mut self.get_mut().stream, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_stream!(&mut self.get_mut().stream, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        on_stream!(&self.stream, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(&mut self.get_mut().stream, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(&mut self.get_mut().stream, s => Pin::new(s).poll_shutdown(cx))
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
            tls: None,
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
        let live = table.live();
        assert!(!live.contains_key(&first.id) && live.contains_key(&second.id) && live.contains_key(&third.id));
        assert_eq!(
            first.order.load(Ordering::Acquire),
            CLOSE,
            "the evicted connection is told to close"
        );
        assert_eq!(second.order.load(Ordering::Acquire), RUN);
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
    fn phases_have_their_own_deadlines_and_are_never_cut_short() {
        let quick = Limits {
            header_read_timeout: Duration::from_millis(50),
            idle_timeout: Duration::from_secs(10),
            ..limits()
        };
        let slack = 5;
        let conn = Conn::new(0);
        conn.since.store(1_000, Ordering::Relaxed);
        assert!(!conn.overdue(&quick, 1_050, slack), "a head exactly at its timeout");
        assert!(!conn.overdue(&quick, 1_055, slack), "within the clock's slack");
        assert!(conn.overdue(&quick, 1_056, slack), "a head that took too long");
        conn.phase.store(IDLE, Ordering::Release);
        assert!(
            !conn.overdue(&quick, 1_056, slack),
            "an idle spell has its own, longer timeout"
        );
        assert!(conn.overdue(&quick, 11_006, slack));
        conn.phase.store(BUSY, Ordering::Release);
        assert!(!conn.overdue(&quick, u64::MAX, slack), "answering is never cut off");
    }

    #[test]
    fn the_sweep_closes_overdue_connections_only() {
        let table = Table::new(4);
        let slow = table.admit().unwrap();
        let fresh = table.admit().unwrap();
        slow.since.store(0, Ordering::Relaxed);
        fresh.since.store(9_000, Ordering::Relaxed);
        table.close_overdue(&limits(), 10_500, 100);
        assert_eq!(slow.order.load(Ordering::Acquire), CLOSE);
        assert_eq!(fresh.order.load(Ordering::Acquire), RUN);
        table.order_all(DRAIN);
        assert_eq!(fresh.order.load(Ordering::Acquire), DRAIN);
        assert_eq!(slow.order.load(Ordering::Acquire), CLOSE, "an order is never lowered");
    }

    #[test]
    fn the_clock_only_moves_forward_and_the_sweep_is_frequent_enough() {
        let before = CLOCK.tick();
        assert!(CLOCK.tick() >= before && CLOCK.now() >= before);
        assert_eq!(sweep_interval(&limits()), Duration::from_secs(1));
        let quick = Limits {
            header_read_timeout: Duration::from_secs(1),
            ..limits()
        };
        assert_eq!(sweep_interval(&quick), Duration::from_millis(100));
    }
}
