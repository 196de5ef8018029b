//! The broker: topics and their partitions under `<data dir>/topics/`, with produce, fetch
//! and retention. Topic settings are `topics/<name>/topic.json`; partition `p` keeps its
//! log in `topics/<name>/<p>/`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::batch::{self, Record, StoredRecord};
use super::groups::{Groups, Partitions};
use super::log::{LogConfig, LogError};
use super::partition::{Durability, Partition};
use super::segment::write_atomically;
use super::topic::{check_name, DurabilityMode, TopicConfig, TopicError};

#[derive(Debug)]
pub enum BrokerError {
    TopicExists(String),
    UnknownTopic(String),
    UnknownPartition { topic: String, partition: u32 },
    Topic(TopicError),
    Log(LogError),
    /// The broker holds as many partitions as its descriptor budget allows.
    Limit(String),
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::TopicExists(t) => write!(f, "Topic '{t}' already exists."),
            BrokerError::UnknownTopic(t) => write!(f, "Topic '{t}' not found."),
            BrokerError::UnknownPartition { topic, partition } => {
                write!(f, "Partition {partition} of topic '{topic}' not found.")
            }
            BrokerError::Topic(err) => write!(f, "{err}"),
            BrokerError::Log(err) => write!(f, "{err}"),
            BrokerError::Limit(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for BrokerError {}

impl From<LogError> for BrokerError {
    fn from(err: LogError) -> Self {
        BrokerError::Log(err)
    }
}

impl From<TopicError> for BrokerError {
    fn from(err: TopicError) -> Self {
        BrokerError::Topic(err)
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> BrokerError {
    move |source| BrokerError::Log(LogError::Io { context, source })
}

pub struct Topic {
    pub config: TopicConfig,
    /// Shared with the topic's later versions when its settings change (`update_topic`):
    /// the logs stay open, only the settings are replaced.
    partitions: Arc<Vec<Partition>>,
    /// Round-robin position for records without a key.
    next: AtomicU32,
}

impl Topic {
    /// Kafka's default partitioner: murmur2 of the key, or round robin without one, so keyed
    /// records land where Kafka clients would put them.
    pub fn partition_for(&self, key: Option<&[u8]>) -> u32 {
        let count = self.config.partitions;
        match key {
            Some(key) => (murmur2(key) & 0x7fff_ffff) % count,
            None => self.next.fetch_add(1, Ordering::Relaxed) % count,
        }
    }

    fn partition(&self, partition: u32) -> Result<&Partition, BrokerError> {
        self.partitions
            .get(partition as usize)
            .ok_or_else(|| BrokerError::UnknownPartition {
                topic: self.config.name.clone(),
                partition,
            })
    }

    /// Appends `records` to one partition as one batch; answers the first and last offsets,
    /// once acknowledged under the topic's durability.
    pub async fn produce(&self, partition: u32, records: &[Record]) -> Result<(i64, i64), BrokerError> {
        let target = self.partition(partition)?;
        let mut batches = vec![batch::encode(records)];
        let offsets = target.append(&mut batches).await?;
        Ok(offsets[0])
    }

    /// Records from `offset`, about `max_bytes` of them, never past the durable point.
    pub fn fetch(&self, partition: u32, offset: i64, max_bytes: usize) -> Result<Vec<StoredRecord>, BrokerError> {
        let bytes = self.partition(partition)?.read(offset, max_bytes)?;
        let mut out = Vec::new();
        let mut position = 0;
        while position < bytes.len() {
            let header = batch::header(&bytes[position..]).map_err(LogError::InvalidBatch)?;
            let records =
                batch::records(&bytes[position..position + header.total_len()]).map_err(LogError::InvalidBatch)?;
            out.extend(records.into_iter().filter(|r| r.offset >= offset));
            position += header.total_len();
        }
        Ok(out)
    }

    /// (log start, end visible to readers) of a partition.
    pub fn offsets(&self, partition: u32) -> Result<(i64, i64), BrokerError> {
        let (start, durable, _) = self.partition(partition)?.offsets();
        Ok((start, durable))
    }

    fn apply_retention(&self, now: SystemTime) -> Result<usize, BrokerError> {
        let mut removed = 0;
        for partition in self.partitions.iter() {
            removed += partition
                .with_log(|log| log.apply_retention(now, self.config.retention_age(), self.config.retention_size()))?;
        }
        Ok(removed)
    }
}

pub struct Broker {
    dir: PathBuf,
    log_config: LogConfig,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Taken by `update_topic`, one settings change at a time.
    updates: std::sync::Mutex<()>,
    groups: Groups,
    /// Held while the broker is open: one process per log directory.
    _lock: fs::File,
}

fn durability(config: &TopicConfig) -> Durability {
    match config.durability {
        DurabilityMode::Sync => Durability::Sync,
        DurabilityMode::Interval { interval_ms } => Durability::Interval(Duration::from_millis(interval_ms)),
    }
}

impl Broker {
    /// Opens every topic under `<data_dir>/topics`, recovering each partition's log.
    pub fn open(data_dir: &Path, log_config: LogConfig) -> Result<Broker, BrokerError> {
        // Raises the open-file limit and fixes the descriptor budget before any file opens.
        super::fds::limits();
        let dir = data_dir.join("topics");
        fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let lock_path = data_dir.join("broker.lock");
        let lock = fs::File::create(&lock_path).map_err(io(format!("cannot create {}", lock_path.display())))?;
        // A process that is shutting down may hold the lock a moment longer.
        let mut attempts = 0;
        while lock.try_lock().is_err() {
            attempts += 1;
            if attempts > 30 {
                return Err(BrokerError::Log(LogError::Io {
                    context: format!(
                        "the data directory {} is in use by another herald process",
                        data_dir.display()
                    ),
                    source: std::io::Error::other("locked"),
                }));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&dir).map_err(io(format!("cannot list {}", dir.display())))? {
            let entry = entry.map_err(io(format!("cannot list {}", dir.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".deleted") {
                let _ = fs::remove_dir_all(entry.path());
                continue;
            }
            let settings = entry.path().join("topic.json");
            let text = fs::read_to_string(&settings).map_err(io(format!("cannot read {}", settings.display())))?;
            let config: TopicConfig = serde_json::from_str(&text)
                .map_err(|e| BrokerError::Topic(TopicError::Invalid(format!("{}: {e}", settings.display()))))?;
            let topic = Broker::open_topic(&dir, config, log_config)?;
            topics.insert(name, Arc::new(topic));
        }
        let groups = Groups::open(data_dir).map_err(|e| {
            BrokerError::Log(LogError::Io {
                context: "cannot open the consumer groups".to_string(),
                source: std::io::Error::other(e.to_string()),
            })
        })?;
        Ok(Broker {
            dir,
            log_config,
            topics: RwLock::new(topics),
            updates: std::sync::Mutex::new(()),
            groups,
            _lock: lock,
        })
    }

    fn open_topic(dir: &Path, config: TopicConfig, log_config: LogConfig) -> Result<Topic, BrokerError> {
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            let path = dir.join(&config.name).join(p.to_string());
            let (partition, recovery) = Partition::open(&path, log_config, durability(&config))?;
            if let Some((bytes, reason)) = &recovery.truncated {
                tracing::warn!(topic = %config.name, partition = p, bytes, reason = %reason, "cut a torn write from the end of the log");
            }
            partitions.push(partition);
        }
        Ok(Topic {
            config,
            partitions: Arc::new(partitions),
            next: AtomicU32::new(0),
        })
    }

    /// Creates a topic after checking its settings.
    pub fn create_topic(&self, config: TopicConfig) -> Result<Arc<Topic>, BrokerError> {
        config.check()?;
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if topics.contains_key(&config.name) {
            return Err(BrokerError::TopicExists(config.name));
        }
        super::fds::check_room(topics.values().map(|t| u64::from(t.config.partitions)).sum(), config.partitions)?;
        let topic_dir = self.dir.join(&config.name);
        fs::create_dir_all(&topic_dir).map_err(io(format!("cannot create {}", topic_dir.display())))?;
        let text = serde_json::to_string_pretty(&config)
            .map_err(|e| BrokerError::Topic(TopicError::Invalid(e.to_string())))?;
        write_atomically(&topic_dir.join("topic.json"), text.as_bytes())
            .map_err(io(format!("cannot write {}", topic_dir.display())))?;
        let topic = Arc::new(Broker::open_topic(&self.dir, config.clone(), self.log_config)?);
        topics.insert(config.name, topic.clone());
        Ok(topic)
    }

    /// Changes a topic's settings: documentation, retention, validation and subjects.
    /// Partition count, durability and the name are fixed at creation; an update that
    /// changes them is refused. The new settings are on disk before they are used.
    pub fn update_topic(&self, name: &str, update: impl FnOnce(&mut TopicConfig)) -> Result<Arc<Topic>, BrokerError> {
        // Updates queue here, so the topics lock is not held while the file is written and
        // synced (every produce and fetch looks its topic up under that lock).
        let _one_at_a_time = self.updates.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.topic(name)?;
        let mut config = current.config.clone();
        update(&mut config);
        for (field, changed) in [
            ("name", config.name != current.config.name),
            ("partitions", config.partitions != current.config.partitions),
            ("durability", config.durability != current.config.durability),
        ] {
            if changed {
                return Err(BrokerError::Topic(TopicError::Invalid(format!(
                    "{field} cannot change after a topic is created"
                ))));
            }
        }
        config.check()?;
        let text = serde_json::to_string_pretty(&config)
            .map_err(|e| BrokerError::Topic(TopicError::Invalid(e.to_string())))?;
        let file = self.dir.join(name).join("topic.json");
        write_atomically(&file, text.as_bytes()).map_err(io(format!("cannot write {}", file.display())))?;
        let topic = Arc::new(Topic {
            config,
            partitions: current.partitions.clone(),
            next: AtomicU32::new(current.next.load(Ordering::Relaxed)),
        });
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        // A delete that ran meanwhile wins: the topic's files are gone.
        if !topics.contains_key(name) {
            return Err(BrokerError::UnknownTopic(name.to_string()));
        }
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    pub fn topic(&self, name: &str) -> Result<Arc<Topic>, BrokerError> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))
    }

    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Deletes a topic and all its records: the only way records are ever removed besides
    /// retention.
    pub fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        check_name(name)?;
        let removed = self
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        drop(removed);
        let from = self.dir.join(name);
        let gone = self.dir.join(format!("{name}.deleted"));
        fs::rename(&from, &gone).map_err(io(format!("cannot delete {}", from.display())))?;
        fs::remove_dir_all(&gone).map_err(io(format!("cannot delete {}", gone.display())))?;
        Ok(())
    }

    /// Applies every topic's retention; answers how many segments were deleted.
    pub fn apply_retention(&self, now: SystemTime) -> Result<usize, BrokerError> {
        let mut removed = 0;
        for topic in self.topics() {
            removed += topic.apply_retention(now)?;
        }
        Ok(removed)
    }
}

impl Broker {
    /// Flushes and closes every partition cleanly, for a fast next start. Produce calls
    /// after this are refused.
    pub fn close(&self) -> Result<(), BrokerError> {
        for topic in self.topics() {
            for partition in topic.partitions.iter() {
                partition.close()?;
            }
        }
        Ok(())
    }

    /// The consumer groups reading this broker's topics.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }
}

impl Partitions for Broker {
    fn count(&self, topic: &str) -> Option<u32> {
        self.topic(topic).ok().map(|t| t.config.partitions)
    }

    fn bounds(&self, topic: &str, partition: u32) -> Option<(i64, i64)> {
        self.topic(topic).ok()?.offsets(partition).ok()
    }
}

/// Kafka's murmur2 (seed 0x9747b28c), as its default partitioner hashes keys.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}
