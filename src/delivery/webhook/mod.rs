//! Partner webhooks: each subscription delivers one topic's records to an endpoint.
//!
//! - [`subscription`]: settings, checked, and their file form (pure);
//! - [`policy`]: what an attempt's outcome leads to, backoff with jitter, the rate limit (pure);
//! - [`sign`]: Standard Webhooks signatures and secrets (pure);
//! - [`sender`]: a keep-alive connection to an endpoint;
//! - [`worker`]: one task per subscription, one lane per partition.
//!
//! A subscription's progress is the committed offsets of its consumer group
//! (`herald.webhook.<topic>.<name>`), committed after the endpoint acknowledged the records
//! (at most a fifth of a second later, and at every stop): after a crash the records
//! delivered since the last commit are sent again (same `webhook-id`), and none is skipped.
//! Settings are files under `<data dir>/webhooks/<topic>/<name>.json`, replaced atomically;
//! a pause (by an operator, or by the worker when the endpoint keeps failing) is written
//! there with its cause, so it survives a restart.

pub mod address;
pub mod policy;
pub mod sender;
pub mod sign;
pub mod subscription;
mod worker;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::watch;

use crate::broker::groups::TopicPartition;
use crate::broker::{Broker, BrokerError};
use crate::registry::Registry;

pub use sign::Secret;
pub use subscription::{Format, Pause, Spec, Subscription};

use crate::delivery::tail::Start;

/// What can go wrong managing subscriptions; the HTTP edge maps each to a status.
#[derive(Debug)]
pub enum WebhookError {
    /// A setting is wrong; the message names it.
    Invalid(String),
    UnknownTopic(String),
    NotFound {
        topic: String,
        name: String,
    },
    Exists {
        topic: String,
        name: String,
    },
    /// Files or offsets could not be written.
    Storage(String),
}

impl std::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookError::Invalid(why) => f.write_str(why),
            WebhookError::UnknownTopic(topic) => write!(f, "Topic '{topic}' not found"),
            WebhookError::NotFound { topic, name } => {
                write!(f, "Subscription '{name}' of topic '{topic}' not found")
            }
            WebhookError::Exists { topic, name } => {
                write!(f, "Subscription '{name}' of topic '{topic}' already exists")
            }
            WebhookError::Storage(why) => write!(f, "Subscription storage failed: {why}"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// What a subscription is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Delivering, or waiting for records.
    #[default]
    Active,
    /// The last attempt failed; the next is scheduled.
    Retrying,
    Paused,
}

impl State {
    /// The name the API and the topic page show.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Retrying => "retrying",
            State::Paused => "paused",
        }
    }
}

/// The last failed attempt.
#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// Unix milliseconds.
    pub at: i64,
    pub partition: u32,
    pub offset: i64,
    pub attempt: u32,
    pub message: String,
}

/// A subscription's live counters, shared by its lanes and read by the API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub state: State,
    /// Records delivered since the server started.
    pub delivered: u64,
    /// Records sent to the dead-letter topic since the server started.
    pub dead_lettered: u64,
    /// Records the filter passed over since the server started.
    pub filtered: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// Unix milliseconds of the next attempt while retrying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivered_at: Option<i64>,
}

/// A partition's progress: the next offset to deliver and how far behind that is.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionProgress {
    pub partition: u32,
    pub next_offset: i64,
    pub end_offset: i64,
    pub lag: i64,
}

/// A subscription as the API shows it: settings without secrets, state, progress.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub name: String,
    pub topic: String,
    pub url: String,
    pub format: Format,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Sensitive tags whose fields deliveries redact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub timeout_ms: u64,
    pub consumer_group: String,
    /// How many secrets sign requests now (more than one during a rotation).
    pub signing_secrets: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    pub created_at: i64,
    pub status: Status,
    pub lag: i64,
    pub partitions: Vec<PartitionProgress>,
}

type Key = (String, String);

/// One running subscription.
struct Running {
    settings: watch::Sender<Arc<Subscription>>,
    shared: Arc<worker::Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// Every subscription of a broker, each with its worker task.
#[derive(Clone)]
pub struct Webhooks(Arc<Inner>);

struct Inner {
    dir: PathBuf,
    /// Whether deliveries may go to private and link-local networks (see [`address`]).
    private_endpoints: bool,
    /// TLS settings for every endpoint (the public web's CAs, and `webhook_ca_file`'s).
    tls: Arc<rustls::ClientConfig>,
    broker: Arc<Broker>,
    registry: Registry,
    running: Mutex<BTreeMap<Key, Running>>,
    /// One change to the files at a time.
    writing: tokio::sync::Mutex<()>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Webhooks {
    /// Reads the subscriptions under `<data_dir>/webhooks` and starts a worker for each
    /// (paused ones wait). Call inside the runtime.
    pub fn start(data_dir: &Path, broker: Arc<Broker>, registry: Registry) -> Result<Webhooks, WebhookError> {
        Webhooks::start_with(data_dir, broker, registry, None, false)
    }

    /// The same, trusting `ca_file`'s CAs for endpoints besides the public web's.
    pub fn start_with(
        data_dir: &Path,
        broker: Arc<Broker>,
        registry: Registry,
        ca_file: Option<&Path>,
        private_endpoints: bool,
    ) -> Result<Webhooks, WebhookError> {
        let tls = sender::client_config(ca_file).map_err(WebhookError::Invalid)?;
        let dir = data_dir.join("webhooks");
        fs::create_dir_all(&dir).map_err(|e| storage(&dir, e))?;
        let hooks = Webhooks(Arc::new(Inner {
            tls,
            private_endpoints,
            dir: dir.clone(),
            broker,
            registry,
            running: Mutex::new(BTreeMap::new()),
            writing: tokio::sync::Mutex::new(()),
        }));
        for subscription in read_all(&dir)? {
            hooks.launch(subscription);
        }
        Ok(hooks)
    }

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Running>> {
        self.0.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn launch(&self, subscription: Subscription) {
        let key = (subscription.topic.clone(), subscription.name.clone());
        let (settings, watching) = watch::channel(Arc::new(subscription));
        let shared = Arc::new(worker::Shared::default());
        let task = tokio::spawn(worker::run(self.clone(), watching, shared.clone()));
        if let Some(old) = self.running().insert(key, Running { settings, shared, task }) {
            old.task.abort();
        }
    }

    pub(crate) fn broker(&self) -> &Arc<Broker> {
        &self.0.broker
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.0.registry
    }

    pub(crate) fn tls(&self) -> &Arc<rustls::ClientConfig> {
        &self.0.tls
    }

    pub(crate) fn private_endpoints(&self) -> bool {
        self.0.private_endpoints
    }

    /// Creates a subscription delivering from `start`; answers it with its secret, the one
    /// time the secret is shown.
    pub async fn create(
        &self,
        topic: &str,
        name: &str,
        spec: Spec,
        secret: Option<String>,
        start: Start,
    ) -> Result<(View, String), WebhookError> {
        let handle = self
            .0
            .broker
            .topic(topic)
            .map_err(|_| WebhookError::UnknownTopic(topic.to_string()))?;
        let secret = secret
            .map(|s| Secret::parse(&s))
            .transpose()
            .map_err(|why| WebhookError::Invalid(format!("secret: {why}")))?;
        let subscription = Subscription::create(topic, name, spec, secret, now_ms()).map_err(WebhookError::Invalid)?;
        self.check_endpoint(&subscription)?;
        self.check_dead_letter_topic(&subscription)?;
        let _writing = self.0.writing.lock().await;
        if self.running().contains_key(&(topic.to_string(), name.to_string())) {
            return Err(WebhookError::Exists {
                topic: topic.to_string(),
                name: name.to_string(),
            });
        }
        // Starting positions first: a subscription on disk always has them committed.
        let mut positions = Vec::new();
        for partition in 0..handle.config.partitions {
            let (first, end) = handle
                .offsets(partition)
                .map_err(|e| WebhookError::Storage(e.to_string()))?;
            let next = start.position(first, end);
            positions.push(((topic.to_string(), partition), next, None));
        }
        let broker = self.0.broker.clone();
        let group = subscription.group();
        blocking(move || {
            broker
                .groups()
                .commit_offsets(&group, positions)
                .map_err(|e| WebhookError::Storage(e.to_string()))
        })
        .await?;
        self.save(&subscription).await?;
        let secret = subscription.secrets[0].secret.clone();
        self.launch(subscription);
        Ok((self.view(topic, name)?, secret))
    }

    /// An endpoint written as an address must be one deliveries may reach (a host name is
    /// checked at each connection, against every address it resolves to).
    fn check_endpoint(&self, subscription: &Subscription) -> Result<(), WebhookError> {
        let endpoint = sender::Endpoint::parse(&subscription.url).map_err(WebhookError::Invalid)?;
        match endpoint.host().parse::<std::net::IpAddr>() {
            Ok(ip) => address::permitted(ip, self.0.private_endpoints)
                .map_err(|why| WebhookError::Invalid(format!("url {:?}: {why}", subscription.url))),
            Err(_) => Ok(()),
        }
    }

    fn check_dead_letter_topic(&self, subscription: &Subscription) -> Result<(), WebhookError> {
        if let Some(dlq) = &subscription.dead_letter_topic {
            if self.0.broker.topic(dlq).is_err() {
                return Err(WebhookError::Invalid(format!(
                    "dead_letter_topic {dlq:?} does not exist: create it first"
                )));
            }
        }
        Ok(())
    }

    /// Changes settings; the worker restarts with them from the committed positions.
    pub async fn update(&self, topic: &str, name: &str, spec: Spec) -> Result<View, WebhookError> {
        self.change(topic, name, |s| s.apply(spec).map_err(WebhookError::Invalid))
            .await?;
        self.view(topic, name)
    }

    /// Stops deliveries until [`Webhooks::resume`], with `cause` shown.
    pub async fn pause(&self, topic: &str, name: &str, cause: String) -> Result<View, WebhookError> {
        self.change(topic, name, |s| {
            s.paused = Some(Pause { cause, at: now_ms() });
            Ok(())
        })
        .await?;
        self.view(topic, name)
    }

    /// Delivers again from the committed positions (the record that caused a pause first).
    pub async fn resume(&self, topic: &str, name: &str) -> Result<View, WebhookError> {
        self.change(topic, name, |s| {
            s.paused = None;
            Ok(())
        })
        .await?;
        if let Some(running) = self.running().get(&(topic.to_string(), name.to_string())) {
            running.shared.reset_errors();
        }
        self.view(topic, name)
    }

    /// A new secret (given or generated) signs from now on; the previous ones go on signing
    /// for `overlap`. Answers the new secret.
    pub async fn rotate_secret(
        &self,
        topic: &str,
        name: &str,
        secret: Option<String>,
        overlap: Duration,
    ) -> Result<(View, String), WebhookError> {
        let secret = match secret {
            Some(text) => Secret::parse(&text).map_err(|why| WebhookError::Invalid(format!("secret: {why}")))?,
            None => Secret::generate().map_err(WebhookError::Storage)?,
        };
        let text = secret.expose();
        self.change(topic, name, |s| {
            s.rotate(secret, overlap, now_ms());
            Ok(())
        })
        .await?;
        Ok((self.view(topic, name)?, text))
    }

    /// Removes a subscription, its file and its consumer group.
    pub async fn delete(&self, topic: &str, name: &str) -> Result<(), WebhookError> {
        let _writing = self.0.writing.lock().await;
        let key = (topic.to_string(), name.to_string());
        let running = self.running().remove(&key).ok_or_else(|| not_found(topic, name))?;
        // Stopped rather than aborted, so no commit of its is still on its way when the
        // group is deleted below (it would bring the group back).
        running.shared.stop();
        let mut task = running.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
        let path = self.path(topic, name);
        let group = subscription::group_name(topic, name);
        let broker = self.0.broker.clone();
        blocking(move || {
            fs::remove_file(&path).map_err(|e| storage(&path, e))?;
            if let Some(dir) = path.parent() {
                let _ = crate::broker::sync_dir(dir);
            }
            broker
                .groups()
                .delete_group(&group)
                .map_err(|e| WebhookError::Storage(e.to_string()))?;
            Ok(())
        })
        .await
    }

    /// Subscriptions of `topic` (all of them when `None`), by topic and name.
    pub fn list(&self, topic: Option<&str>) -> Vec<View> {
        let keys: Vec<Key> = self
            .running()
            .keys()
            .filter(|(t, _)| topic.is_none_or(|topic| topic == t))
            .cloned()
            .collect();
        keys.iter().filter_map(|(t, n)| self.view(t, n).ok()).collect()
    }

    pub fn view(&self, topic: &str, name: &str) -> Result<View, WebhookError> {
        let (subscription, status, progress) = {
            let running = self.running();
            let running = running
                .get(&(topic.to_string(), name.to_string()))
                .ok_or_else(|| not_found(topic, name))?;
            let subscription = running.settings.borrow().clone();
            (subscription, running.shared.status(), running.shared.progress())
        };
        let committed = self.committed(&subscription);
        let mut partitions = Vec::new();
        if let Ok(handle) = self.0.broker.topic(topic) {
            for partition in 0..handle.config.partitions {
                let Ok((first, end)) = handle.offsets(partition) else {
                    continue;
                };
                let next = progress
                    .get(&partition)
                    .or(committed.get(&partition))
                    .copied()
                    .unwrap_or(first)
                    .max(first);
                partitions.push(PartitionProgress {
                    partition,
                    next_offset: next,
                    end_offset: end,
                    lag: (end - next).max(0),
                });
            }
        }
        let mut status = status;
        if subscription.paused.is_some() {
            status.state = State::Paused;
            status.next_retry_at = None;
        }
        Ok(View {
            name: subscription.name.clone(),
            topic: subscription.topic.clone(),
            url: subscription.url.clone(),
            format: subscription.format,
            description: subscription.description.clone(),
            rate_limit: subscription.rate_limit,
            dead_letter_topic: subscription.dead_letter_topic.clone(),
            filter: subscription.filter.clone(),
            redact: subscription.redact.clone(),
            max_attempts: subscription.max_attempts,
            initial_backoff_ms: subscription.initial_backoff_ms,
            max_backoff_ms: subscription.max_backoff_ms,
            timeout_ms: subscription.timeout_ms,
            consumer_group: subscription.group(),
            signing_secrets: subscription.signing_secrets(now_ms()).len(),
            paused: subscription.paused.clone(),
            created_at: subscription.created_at,
            status,
            lag: partitions.iter().map(|p| p.lag).sum(),
            partitions,
        })
    }

    /// The subscription's committed positions: partition → next offset to deliver.
    pub(crate) fn committed(&self, subscription: &Subscription) -> BTreeMap<u32, i64> {
        self.0
            .broker
            .groups()
            .committed_with_metadata(&subscription.group(), &[])
            .unwrap_or_default()
            .into_iter()
            .map(|((_, partition), offset, _)| (partition, offset))
            .collect()
    }

    /// Applies `edit` to a subscription, saves it, and hands it to its worker.
    async fn change(
        &self,
        topic: &str,
        name: &str,
        edit: impl FnOnce(&mut Subscription) -> Result<(), WebhookError>,
    ) -> Result<(), WebhookError> {
        let _writing = self.0.writing.lock().await;
        let key = (topic.to_string(), name.to_string());
        let mut subscription = {
            let running = self.running();
            let running = running.get(&key).ok_or_else(|| not_found(topic, name))?;
            let current = running.settings.borrow();
            Subscription::clone(&current)
        };
        edit(&mut subscription)?;
        self.check_endpoint(&subscription)?;
        self.check_dead_letter_topic(&subscription)?;
        self.save(&subscription).await?;
        if let Some(running) = self.running().get(&key) {
            running.settings.send_replace(Arc::new(subscription));
        }
        Ok(())
    }

    fn path(&self, topic: &str, name: &str) -> PathBuf {
        self.0.dir.join(topic).join(format!("{name}.json"))
    }

    async fn save(&self, subscription: &Subscription) -> Result<(), WebhookError> {
        let path = self.path(&subscription.topic, &subscription.name);
        let bytes = serde_json::to_vec_pretty(subscription).map_err(|e| WebhookError::Storage(e.to_string()))?;
        blocking(move || {
            let dir = path
                .parent()
                .expect("a subscription file is inside its topic's directory");
            fs::create_dir_all(dir).map_err(|e| storage(dir, e))?;
            crate::broker::write_atomically(&path, &bytes).map_err(|e| storage(&path, e))
        })
        .await
    }

    /// Stops every worker; each commits the progress its lanes reported.
    pub async fn shut_down(&self) {
        let running: Vec<Running> = std::mem::take(&mut *self.running()).into_values().collect();
        for running in &running {
            running.shared.stop();
        }
        for running in running {
            let _ = tokio::time::timeout(Duration::from_secs(5), running.task).await;
        }
    }
}

fn not_found(topic: &str, name: &str) -> WebhookError {
    WebhookError::NotFound {
        topic: topic.to_string(),
        name: name.to_string(),
    }
}

fn storage(path: &Path, error: std::io::Error) -> WebhookError {
    WebhookError::Storage(format!("{}: {error}", path.display()))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WebhookError> + Send + 'static,
) -> Result<T, WebhookError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebhookError::Storage(e.to_string()))?
}

/// Every subscription file; an unreadable one is reported and skipped, never fatal (its
/// topic's records stay in the log, and its committed offsets keep its place).
fn read_all(dir: &Path) -> Result<Vec<Subscription>, WebhookError> {
    let mut out = Vec::new();
    for topic in fs::read_dir(dir).map_err(|e| storage(dir, e))?.flatten() {
        let Ok(files) = fs::read_dir(topic.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Subscription>(&b).map_err(|e| e.to_string()))
            {
                Ok(subscription) => out.push(subscription),
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "a webhook subscription file cannot be read; skipped")
                }
            }
        }
    }
    Ok(out)
}

impl From<BrokerError> for WebhookError {
    fn from(error: BrokerError) -> WebhookError {
        match error {
            BrokerError::UnknownTopic(topic) => WebhookError::UnknownTopic(topic),
            other => WebhookError::Storage(other.to_string()),
        }
    }
}

/// (topic, partition) as the groups key them.
fn topic_partition(topic: &str, partition: u32) -> TopicPartition {
    (topic.to_string(), partition)
}
