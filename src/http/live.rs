//! `GET /topics/{topic}/live`: a topic's records as Server-Sent Events, as they become
//! durable, decoded with the registry's schemas ([`crate::delivery::tail`]).
//!
//! Each record is an event `record` whose data is the record as JSON and whose id holds the
//! position after it in every partition followed, so a client that reconnects with
//! `Last-Event-ID` (as browsers' `EventSource` does by itself) misses nothing and sees
//! nothing twice. A comment is sent while nothing arrives, so proxies keep the connection;
//! an `end` event says the server is stopping. `filter` (a CEL expression over the decoded
//! record, see [`crate::expression`]) shows only the records it is true for.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use hyper::body::Frame;
use tokio::sync::mpsc;

use super::broker_api::broker;
use super::error::ApiError;
use super::params::Params;
use super::server::Draining;
use super::AppState;
use crate::delivery::redaction::Redaction;
use crate::delivery::tail::{event_id, parse_event_id, Start, Tail};
use crate::expression::Expression;

/// How long a tail waits for records before it says it is still there.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub async fn live(
    State(state): State<AppState>,
    caller: super::access::Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    params: Params,
    draining: Option<Extension<Draining>>,
) -> Result<Response, ApiError> {
    let topic = broker(&state)?.topic(&name)?;
    let start = match params.text("from") {
        None => Start::Latest,
        Some(text) => text
            .parse()
            .map_err(|why: String| ApiError::unprocessable(42201, why))?,
    };
    let partition = params.whole_number("partition", 0..=i64::from(u32::MAX))?;
    let partitions: Option<Vec<u32>> = match partition {
        None => None,
        Some(p) => {
            let p = u32::try_from(p).unwrap_or(u32::MAX);
            if p >= topic.config.partitions {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    40402,
                    format!(
                        "Partition {p} of topic '{name}' not found: the topic has {}",
                        topic.config.partitions
                    ),
                ));
            }
            Some(vec![p])
        }
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_event_id)
        .unwrap_or_default();
    let filter = params
        .text("filter")
        .map(Expression::compile)
        .transpose()
        .map_err(|error| ApiError::unprocessable(42201, format!("filter: {error}")))?;
    let redaction = Redaction::new(caller.hidden_tags(), &state.registry);
    let tail = Tail::new(topic, state.registry.clone(), partitions.as_deref(), start, &resume)?
        .with_filter(filter)
        .with_redaction(redaction);
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(follow(tail, sender, draining.map(|Extension(d)| d)));
    Ok((
        [(CONTENT_TYPE, "text/event-stream"), (CACHE_CONTROL, "no-cache")],
        Body::new(EventStream(receiver)),
    )
        .into_response())
}

/// Sends the tail's records to the client until it leaves, the server stops, or the topic
/// cannot be read.
async fn follow(mut tail: Tail, sender: mpsc::Sender<Bytes>, draining: Option<Draining>) {
    let stopping = async {
        match &draining {
            Some(draining) => draining.started().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopping);
    let opening = format!("retry: 1000\n: following {}\n\n", event_id(tail.positions()));
    if sender.send(Bytes::from(opening)).await.is_err() {
        return;
    }
    loop {
        let next = tokio::select! {
            () = &mut stopping => {
                let _ = sender.send(Bytes::from_static(b"event: end\ndata: {\"reason\":\"the server is stopping\"}\n\n")).await;
                return;
            }
            () = sender.closed() => return,
            next = tail.next(KEEP_ALIVE) => next,
        };
        let before: Vec<(u32, i64)> = match &next {
            Ok(_) => tail.positions().to_vec(),
            Err(_) => Vec::new(),
        };
        let chunk = match next {
            Ok(records) if records.is_empty() => Bytes::from_static(b": still here\n\n"),
            Ok(records) => {
                // Each event's id is where a client resumes after it: this record's
                // partition past it, the others where this answer started.
                let mut seen: Vec<(u32, i64)> = before
                    .iter()
                    .map(|&(p, next)| {
                        let first = records.iter().find(|r| r.partition == p).map_or(next, |r| r.offset);
                        (p, first)
                    })
                    .collect();
                let mut out = String::new();
                for record in &records {
                    if let Some(position) = seen.iter_mut().find(|(p, _)| *p == record.partition) {
                        position.1 = record.offset + 1;
                    }
                    let data = serde_json::to_string(record).unwrap_or_default();
                    out.push_str(&format!("id: {}\nevent: record\ndata: {data}\n\n", event_id(&seen)));
                }
                Bytes::from(out)
            }
            Err(error) => {
                let data = serde_json::json!({"reason": error.to_string()});
                let _ = sender
                    .send(Bytes::from(format!("event: error\ndata: {data}\n\n")))
                    .await;
                return;
            }
        };
        if sender.send(chunk).await.is_err() {
            return;
        }
    }
}

/// The response body: chunks as the tail sends them, ending when it stops.
struct EventStream(mpsc::Receiver<Bytes>);

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}
