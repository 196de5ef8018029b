//! One task per subscription, one lane per partition inside it.
//!
//! A lane reads its partition up to the durable point and sends one record at a time on its
//! own connection, so a partition's records arrive in order while partitions proceed side by
//! side; when nothing is left it waits for its partition's next flush (no polling, no thread,
//! no wake-up for other partitions' records: a thousand idle subscriptions are a few thousand
//! parked tasks). A record is done
//! when the endpoint answered 2xx or it went to the dead-letter topic; only then does the
//! lane report the offset after it, which the task commits to the subscription's group every
//! [`COMMIT_EVERY`] and when it stops.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64_simd::STANDARD as BASE64;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::policy::{Jitter, Next, Outcome, RateLimit, RetryPolicy};
use super::sender::{Endpoint, Sender};
use super::sign::signature_header;
use super::subscription::{Format, Subscription};
use super::{now_ms, topic_partition, LastError, State, Status, Webhooks};
use crate::broker::batch::{Record, StoredRecord};
use crate::broker::{BrokerError, Topic};
use crate::delivery::redaction::Redaction;
use crate::delivery::tail::{Decoder, TailRecord};
use crate::expression::Expression;
use crate::registry::Registry;

/// How often delivered positions are committed while records flow.
const COMMIT_EVERY: Duration = Duration::from_millis(200);

/// How often an idle lane reads its partition even without a flush.
const IDLE_RECHECK: Duration = Duration::from_secs(30);

/// How much one read of a partition takes at most.
const READ_BYTES: usize = 256 * 1024;

/// What a subscription's task shares with its lanes and the API.
pub(super) struct Shared {
    status: Mutex<Status>,
    /// Per partition, the offset after the last record done.
    progress: Mutex<BTreeMap<u32, i64>>,
    /// Whether `progress` moved since the last commit.
    dirty: AtomicBool,
    stopping: watch::Sender<bool>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            status: Mutex::default(),
            progress: Mutex::default(),
            dirty: AtomicBool::new(false),
            stopping: watch::Sender::new(false),
        }
    }
}

impl Shared {
    pub(super) fn status(&self) -> Status {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn progress(&self) -> BTreeMap<u32, i64> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn stop(&self) {
        self.stopping.send_replace(true);
    }

    pub(super) fn reset_errors(&self) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.state = State::Active;
        status.next_retry_at = None;
    }

    fn set_state(&self, state: State) {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).state = state;
    }

    fn advance(&self, partition: u32, next: i64, done: &Done) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(partition, next);
        self.dirty.store(true, Ordering::Release);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        match done {
            Done::DeadLettered => status.dead_lettered += 1,
            Done::Filtered => status.filtered += 1,
            _ => {
                status.delivered += 1;
                status.last_delivered_at = Some(now_ms());
            }
        }
        status.state = State::Active;
        status.next_retry_at = None;
    }

    fn failed(&self, error: LastError, retry_in: Option<Duration>) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.next_retry_at = retry_in.map(|d| error.at + d.as_millis() as i64);
        status.state = if retry_in.is_some() {
            State::Retrying
        } else {
            State::Active
        };
        status.last_error = Some(error);
    }
}

/// How a round of delivery ended.
enum Ended {
    /// The settings changed: start again with them.
    Changed,
    /// The subscription was removed or the server is stopping.
    Stopped,
    Pause(String),
}

enum LaneEnd {
    Stopped,
    Pause(String),
}

/// What a record's delivery came to.
enum Done {
    Delivered,
    DeadLettered,
    /// The filter is false for it: done without a request.
    Filtered,
    Stopped,
    Pause(String),
}

pub(super) async fn run(hooks: Webhooks, mut settings: watch::Receiver<Arc<Subscription>>, shared: Arc<Shared>) {
    let mut stopping = shared.stopping.subscribe();
    loop {
        let subscription = settings.borrow_and_update().clone();
        if *stopping.borrow() {
            return;
        }
        if subscription.paused.is_some() {
            shared.set_state(State::Paused);
            tokio::select! {
                changed = settings.changed() => if changed.is_err() { return },
                _ = stopping.changed() => return,
            }
            continue;
        }
        shared.set_state(State::Active);
        match deliver(&hooks, &subscription, &shared, &mut settings, &mut stopping).await {
            Ended::Changed => {}
            Ended::Stopped => return,
            Ended::Pause(cause) => {
                tracing::warn!(topic = %subscription.topic, subscription = %subscription.name, %cause, "webhook subscription paused");
                if let Err(error) = hooks.pause(&subscription.topic, &subscription.name, cause).await {
                    tracing::error!(%error, "a webhook subscription's pause could not be saved");
                    // Not delivering is what a pause means; wait for an operator's change.
                    shared.set_state(State::Paused);
                    tokio::select! {
                        changed = settings.changed() => if changed.is_err() { return },
                        _ = stopping.changed() => return,
                    }
                }
            }
        }
    }
}

/// Everything a lane needs, shared by the lanes of one round.
struct Lane {
    subscription: Arc<Subscription>,
    topic: Arc<Topic>,
    decoder: Decoder,
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    policy: RetryPolicy,
    /// The subscription as last saved. Secrets are read from here when a request is signed,
    /// not from `subscription`: a rotation is answered before the lanes restart with the new
    /// settings, and every request sent after that answer must carry the new secret.
    latest: watch::Receiver<Arc<Subscription>>,
    rate: Option<Mutex<RateLimit>>,
    filter: Option<Expression>,
    dead_letter: Option<Arc<Topic>>,
    shared: Arc<Shared>,
    clock: Instant,
    /// For the redaction of the subscription's `redact` tags.
    registry: Registry,
    private_endpoints: bool,
}

async fn deliver(
    hooks: &Webhooks,
    subscription: &Arc<Subscription>,
    shared: &Arc<Shared>,
    settings: &mut watch::Receiver<Arc<Subscription>>,
    stopping: &mut watch::Receiver<bool>,
) -> Ended {
    let topic = match hooks.broker().topic(&subscription.topic) {
        Ok(topic) => topic,
        Err(_) => return Ended::Pause(format!("topic '{}' no longer exists", subscription.topic)),
    };
    let dead_letter = match &subscription.dead_letter_topic {
        None => None,
        Some(name) => match hooks.broker().topic(name) {
            Ok(topic) => Some(topic),
            Err(_) => return Ended::Pause(format!("dead_letter_topic '{name}' does not exist")),
        },
    };
    let filter = match subscription.filter.as_deref().map(Expression::compile).transpose() {
        Ok(filter) => filter,
        Err(error) => return Ended::Pause(format!("filter: {error}")),
    };
    let endpoint = match Endpoint::parse(&subscription.url) {
        Ok(endpoint) => endpoint,
        Err(why) => return Ended::Pause(why),
    };
    let committed = hooks.committed(subscription);
    let clock = Instant::now();
    let lane = Arc::new(Lane {
        subscription: subscription.clone(),
        decoder: Decoder::new(topic.clone(), hooks.registry().clone()),
        topic: topic.clone(),
        endpoint,
        tls: hooks.tls().clone(),
        policy: subscription.retry_policy(),
        latest: settings.clone(),
        rate: subscription
            .rate_limit
            .map(|limit| Mutex::new(RateLimit::new(limit, 0.0))),
        filter,
        dead_letter,
        shared: shared.clone(),
        clock,
        registry: hooks.registry().clone(),
        private_endpoints: hooks.private_endpoints(),
    });
    let (stop_lanes, lanes_stop) = watch::channel(false);
    let mut lanes = JoinSet::new();
    {
        let mut progress = shared.progress.lock().unwrap_or_else(|e| e.into_inner());
        progress.clear();
        for partition in 0..topic.config.partitions {
            // A partition without a committed position (a topic deleted and made again under
            // the same name loses its groups' offsets) is delivered from its start.
            let next = committed.get(&partition).copied().unwrap_or(0);
            progress.insert(partition, next);
            lanes.spawn(run_lane(lane.clone(), partition, next, lanes_stop.clone()));
        }
    }
    let mut tick = tokio::time::interval(COMMIT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ended = loop {
        tokio::select! {
            changed = settings.changed() => break if changed.is_err() { Ended::Stopped } else { Ended::Changed },
            _ = stopping.changed() => break Ended::Stopped,
            Some(joined) = lanes.join_next() => match joined {
                Ok(LaneEnd::Stopped) => {}
                Ok(LaneEnd::Pause(cause)) => break Ended::Pause(cause),
                Err(error) => break Ended::Pause(format!("delivery failed: {error}")),
            },
            _ = tick.tick() => commit(hooks, subscription, shared).await,
        }
    };
    // Lanes finish the attempt in flight (bounded by the timeout), so what an endpoint
    // acknowledged is committed below rather than sent again.
    stop_lanes.send_replace(true);
    while lanes.join_next().await.is_some() {}
    commit(hooks, subscription, shared).await;
    ended
}

/// Commits the lanes' progress if it moved; a failure is retried at the next tick.
async fn commit(hooks: &Webhooks, subscription: &Subscription, shared: &Arc<Shared>) {
    if !shared.dirty.swap(false, Ordering::AcqRel) {
        return;
    }
    let offsets: Vec<_> = shared
        .progress()
        .into_iter()
        .map(|(partition, next)| (topic_partition(&subscription.topic, partition), next, None))
        .collect();
    let broker = hooks.broker().clone();
    let group = subscription.group();
    let committed = tokio::task::spawn_blocking(move || broker.groups().commit_offsets(&group, offsets)).await;
    if !matches!(committed, Ok(Ok(()))) {
        shared.dirty.store(true, Ordering::Release);
        tracing::warn!(subscription = %subscription.name, "a webhook subscription's progress could not be committed; retrying");
    }
}

async fn run_lane(lane: Arc<Lane>, partition: u32, mut next: i64, mut stop: watch::Receiver<bool>) -> LaneEnd {
    let mut sender = Sender::new(lane.endpoint.clone(), lane.tls.clone(), lane.private_endpoints);
    let mut jitter = Jitter::new();
    let mut redaction = Redaction::new(lane.subscription.redact.clone(), &lane.registry);
    let mut durable = match lane.topic.durable_changes(partition) {
        Ok(durable) => durable,
        Err(error) => return LaneEnd::Pause(format!("partition {partition} cannot be read: {error}")),
    };
    loop {
        if *stop.borrow() {
            return LaneEnd::Stopped;
        }
        // Marked seen before reading, so a flush between the read and the wait wakes it.
        durable.borrow_and_update();
        let records = match read(&lane.topic, partition, &mut next) {
            Ok(records) => records,
            Err(BrokerError::UnknownTopic(topic)) => {
                return LaneEnd::Pause(format!("topic '{topic}' no longer exists"))
            }
            Err(error) => return LaneEnd::Pause(format!("partition {partition} cannot be read: {error}")),
        };
        if records.is_empty() {
            tokio::select! {
                changed = durable.changed() => if changed.is_err() {
                    return LaneEnd::Pause(format!("topic '{}' no longer exists", lane.topic.config.name));
                },
                _ = stop.changed() => return LaneEnd::Stopped,
                // A deleted topic's partitions are retired without a flush: look again now
                // and then, so its subscriptions say so.
                _ = tokio::time::sleep(IDLE_RECHECK) => {}
            }
            continue;
        }
        for stored in records {
            let (sent, redacted) = match redaction.as_mut() {
                None => (None, Vec::new()),
                Some(redaction) => {
                    let key = stored.record.key.as_deref();
                    let value = stored.record.value.as_deref();
                    // A registry that cannot answer cannot say what to hide: hide everything.
                    let shown = match redaction.record(&lane.topic.config, key, value).await {
                        Ok(shown) => shown,
                        Err(_) => Some(Redaction::withheld()),
                    };
                    match shown {
                        None => (None, Vec::new()),
                        Some(shown) => {
                            let fields = shown.fields.clone();
                            let mut sent = stored.clone();
                            shown.apply_to(&mut sent);
                            (Some(sent), fields)
                        }
                    }
                }
            };
            let record = Delivery {
                sent: sent.as_ref().unwrap_or(&stored),
                original: &stored,
                redacted,
            };
            // Boxed: the delivery's state (a connection being made, TLS, a request) is large,
            // and a parked lane should not carry room for it while it waits for records.
            let done = Box::pin(deliver_record(
                &lane,
                &mut sender,
                &mut jitter,
                partition,
                record,
                &mut stop,
            ))
            .await;
            match done {
                Done::Delivered | Done::DeadLettered | Done::Filtered => {
                    next = stored.offset + 1;
                    lane.shared.advance(partition, next, &done);
                }
                Done::Stopped => return LaneEnd::Stopped,
                Done::Pause(cause) => return LaneEnd::Pause(cause),
            }
        }
    }
}

/// The durable records from `next`; a position retention has passed moves to the log start
/// (those records are gone for every reader), with a warning.
fn read(topic: &Topic, partition: u32, next: &mut i64) -> Result<Vec<StoredRecord>, BrokerError> {
    let (first, _) = topic.offsets(partition)?;
    if *next < first {
        tracing::warn!(topic = %topic.config.name, partition, from = *next, to = first, "webhook delivery skips records retention removed");
        *next = first;
    }
    topic.fetch(partition, *next, READ_BYTES)
}

/// The JSON body of a record: a Standard Webhooks-style envelope.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: &'a TailRecord,
}

/// One record to deliver: as sent (its tagged fields redacted for the subscription), and
/// as stored, which a dead letter keeps.
struct Delivery<'a> {
    sent: &'a StoredRecord,
    original: &'a StoredRecord,
    /// The fields redacted (`value.ssn`), shown in JSON bodies.
    redacted: Vec<String>,
}

async fn deliver_record(
    lane: &Lane,
    sender: &mut Sender,
    jitter: &mut Jitter,
    partition: u32,
    delivery: Delivery<'_>,
    stop: &mut watch::Receiver<bool>,
) -> Done {
    let (stored, original) = (delivery.sent, delivery.original);
    let subscription = &lane.subscription;
    // JSON bodies and filters see the record decoded; raw bodies without a filter need not.
    let decoded = match (subscription.format, &lane.filter) {
        (Format::Raw, None) => None,
        _ => {
            let mut decoded = lane.decoder.record(partition, stored).await;
            if let Some(why) = &decoded.undecodable {
                let why = format!("the record cannot be decoded ({why})");
                return dead_letter(lane, partition, original, &why).await;
            }
            decoded.record.redacted = delivery.redacted;
            Some(decoded.record)
        }
    };
    if let (Some(filter), Some(record)) = (&lane.filter, &decoded) {
        if !filter.matches(&record.as_expression_record()) {
            return Done::Filtered;
        }
    }
    let (content_type, body) = match (subscription.format, decoded) {
        (Format::Json, Some(record)) => {
            let envelope = Envelope {
                kind: "herald.record",
                timestamp: crate::security::expiry::rfc3339(u64::try_from(stored.record.timestamp / 1000).unwrap_or(0)),
                data: &record,
            };
            match serde_json::to_vec(&envelope) {
                Ok(body) => ("application/json", Bytes::from(body)),
                Err(error) => return dead_letter(lane, partition, original, &error.to_string()).await,
            }
        }
        _ => (
            "application/octet-stream",
            Bytes::from(stored.record.value.clone().unwrap_or_default()),
        ),
    };
    let id = format!("{}-{}-{}", subscription.topic, partition, stored.offset);
    let mut attempt = 0;
    loop {
        attempt += 1;
        if let Some(rate) = &lane.rate {
            loop {
                let taken = rate
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take(lane.clock.elapsed().as_secs_f64());
                match taken {
                    Ok(()) => break,
                    Err(wait) => tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return Done::Stopped,
                    },
                }
            }
        }
        let headers = headers(lane, &id, partition, stored, &body);
        let outcome = sender
            .post(
                content_type,
                headers,
                body.clone(),
                Duration::from_millis(subscription.timeout_ms),
            )
            .await;
        if outcome == Outcome::Delivered {
            return Done::Delivered;
        }
        let message = describe(&outcome);
        let next = lane.policy.next(attempt, &outcome, jitter.draw());
        let error = LastError {
            at: now_ms(),
            partition,
            offset: stored.offset,
            attempt,
            message: message.clone(),
        };
        match next {
            Next::Retry(wait) => {
                lane.shared.failed(error, Some(wait));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return Done::Stopped,
                }
            }
            Next::DeadLetter => {
                lane.shared.failed(error, None);
                return dead_letter(lane, partition, original, &message).await;
            }
            Next::Pause => {
                lane.shared.failed(error, None);
                return Done::Pause(format!(
                    "{message} (partition {partition}, offset {}, attempt {attempt} of {})",
                    stored.offset, lane.policy.max_attempts
                ));
            }
        }
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered => "delivered".to_string(),
        Outcome::Status { status, .. } => format!("the endpoint answered {status}"),
        Outcome::Failed(why) => why.clone(),
    }
}

/// Standard Webhooks' three headers, signed now with every secret in use, and the record's
/// coordinates (for raw bodies, which carry nothing else; the key in base64).
fn headers(
    lane: &Lane,
    id: &str,
    partition: u32,
    stored: &StoredRecord,
    body: &[u8],
) -> Vec<(HeaderName, HeaderValue)> {
    let now = now_ms();
    let timestamp = now / 1000;
    let secrets = lane.latest.borrow().signing_secrets(now);
    let signature = signature_header(&secrets, id, timestamp, body);
    let mut headers = vec![
        (HeaderName::from_static("webhook-id"), value(id)),
        (
            HeaderName::from_static("webhook-timestamp"),
            HeaderValue::from(timestamp),
        ),
        (HeaderName::from_static("webhook-signature"), value(&signature)),
        (
            HeaderName::from_static("herald-subscription"),
            value(&lane.subscription.name),
        ),
        (HeaderName::from_static("herald-topic"), value(&lane.subscription.topic)),
        (
            HeaderName::from_static("herald-partition"),
            HeaderValue::from(partition),
        ),
        (
            HeaderName::from_static("herald-offset"),
            HeaderValue::from(stored.offset),
        ),
    ];
    if lane.subscription.format == Format::Raw {
        headers.push((
            HeaderName::from_static("herald-timestamp"),
            HeaderValue::from(stored.record.timestamp),
        ));
        if let Some(key) = &stored.record.key {
            headers.push((
                HeaderName::from_static("herald-key"),
                value(&BASE64.encode_to_string(key)),
            ));
        }
        if stored.record.value.is_none() {
            headers.push((
                HeaderName::from_static("herald-tombstone"),
                HeaderValue::from_static("true"),
            ));
        }
    }
    headers
}

/// Names and topics are ASCII by their rules; anything else would be a bug, not a request.
fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Writes a poison record, as it was produced, to the dead-letter topic with why; without a
/// dead-letter topic the subscription pauses on it, so nothing is skipped unseen.
async fn dead_letter(lane: &Lane, partition: u32, stored: &StoredRecord, why: &str) -> Done {
    let subscription = &lane.subscription;
    let Some(topic) = &lane.dead_letter else {
        return Done::Pause(format!(
            "record at partition {partition}, offset {} cannot be delivered: {why}; no dead_letter_topic is set",
            stored.offset
        ));
    };
    let mut headers = stored.record.headers.clone();
    for (name, text) in [
        ("herald.webhook.subscription", subscription.name.clone()),
        ("herald.webhook.topic", subscription.topic.clone()),
        ("herald.webhook.partition", partition.to_string()),
        ("herald.webhook.offset", stored.offset.to_string()),
        ("herald.webhook.error", why.to_string()),
    ] {
        headers.push((name.to_string(), Some(text.into_bytes())));
    }
    let record = Record {
        timestamp: stored.record.timestamp,
        key: stored.record.key.clone(),
        value: stored.record.value.clone(),
        headers,
    };
    let target = topic.partition_for(record.key.as_deref());
    match topic.produce(target, &[record]).await {
        Ok(_) => {
            tracing::info!(topic = %subscription.topic, subscription = %subscription.name, partition, offset = stored.offset, %why, "webhook record dead-lettered");
            Done::DeadLettered
        }
        Err(error) => Done::Pause(format!(
            "record at partition {partition}, offset {} could not be dead-lettered to '{}': {error}",
            stored.offset, topic.config.name
        )),
    }
}
