//! The broker: topics and their partitions under `<data dir>/topics/`, with produce, fetch
//! and retention. Topic settings are `topics/<name>/topic.json`; partition `p` keeps its
//! log in `topics/<name>/<p>/`.
//!
//! Topic metadata changes are atomic on disk, so a start after a crash at any moment finds
//! every topic whole or not at all (ARCHITECTURE.md, "Topic files"): a topic is built in
//! `topics/<name>~creating/` and renamed into place; a deleted topic is first renamed to
//! `topics/<name>~deleting/`, which is then removed; settings are replaced atomically.
//! `~` is not allowed in topic names, so these working names never collide with a topic.
//!
//! Idempotent producers get their ids from [`Broker::init_producer_id`]: ids are reserved
//! a block at a time in `<data dir>/producer-ids` (the first id not yet reserved, written
//! atomically before any id of the block is handed out), so no id is handed out twice,
//! across restarts and crashes alike.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::batch::{self, BatchError, ProducedBatches, Record, StoredRecord};
use super::coordinator::{Coordinator, CoordinatorConfig};
use super::groups::{GroupError, Groups, Partitions};
use super::log::{LogConfig, LogError, Produced};
use super::partition::{Durability, Partition};
use super::producers::ProducerError;
use super::segment::{sync_dir, write_atomically};
use super::topic::{check_name, DurabilityMode, TopicConfig, TopicError};

#[derive(Debug)]
pub enum BrokerError {
    TopicExists(String),
    UnknownTopic(String),
    UnknownPartition {
        topic: String,
        partition: u32,
    },
    Topic(TopicError),
    Log(LogError),
    /// The broker holds as many partitions as its descriptor budget allows.
    Limit(String),
    /// A producer's record batch is malformed or not one the broker takes (Kafka's
    /// CORRUPT_MESSAGE); nothing of the request was appended.
    InvalidBatch(BatchError),
    /// A batch is larger than the topic's `max_message_bytes` (Kafka's MESSAGE_TOO_LARGE).
    RecordTooLarge {
        size: usize,
        max: usize,
    },
    /// An idempotent producer's batch breaks its sequence or epoch (Kafka's
    /// OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID).
    Producer(ProducerError),
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
            BrokerError::InvalidBatch(err) => write!(f, "invalid record batch: {err}"),
            BrokerError::RecordTooLarge { size, max } => {
                write!(
                    f,
                    "the record batch is {size} bytes, more than the topic's max_message_bytes {max}"
                )
            }
            BrokerError::Producer(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for BrokerError {}

impl From<ProducerError> for BrokerError {
    fn from(err: ProducerError) -> Self {
        BrokerError::Producer(err)
    }
}

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

fn group_io(context: &str) -> impl FnOnce(GroupError) -> BrokerError + '_ {
    move |err| {
        BrokerError::Log(LogError::Io {
            context: context.to_string(),
            source: std::io::Error::other(err.to_string()),
        })
    }
}

/// What [`Topic::append_batches`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The offset of the first record appended, or for a duplicate of the original.
    pub base_offset: i64,
    /// Every batch was a retry of one already appended: nothing was appended now.
    pub duplicate: bool,
}

/// The file of the first producer id not yet reserved, under the data directory.
const PRODUCER_IDS: &str = "producer-ids";
/// Producer ids reserved per write of [`PRODUCER_IDS`].
const PRODUCER_ID_BLOCK: i64 = 1000;

/// Producer ids: the next to hand out and the end of the reserved block.
struct ProducerIds {
    next: i64,
    reserved: i64,
}

/// Suffix of a topic being built: complete only once renamed to its name.
const CREATING: &str = "~creating";
/// Suffix of a topic being deleted: already gone, its files not yet all removed.
const DELETING: &str = "~deleting";
/// Suffix of a topic directory set aside at start because its settings cannot be read.
const DAMAGED: &str = "~damaged";
const SETTINGS: &str = "topic.json";
/// The longest file name the file systems Herald runs on accept (ext4, xfs, btrfs).
const MAX_FILE_NAME: usize = 255;

/// `<name><suffix>`, with the name cut short where the two would not fit in a file name: a
/// topic name may be 249 characters (Kafka's limit). Only one creation or deletion runs at a
/// time and a leftover under the same name is removed first, so two long names that share
/// their first 240 characters cannot trip over each other; at start such a leftover is
/// removed whatever topic it was.
fn scratch_name(name: &str, suffix: &str) -> String {
    // Topic names are ASCII (`check_name`), so any byte is a character boundary.
    let keep = name.len().min(MAX_FILE_NAME - suffix.len());
    format!("{}{suffix}", &name[..keep])
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

    /// A log error as the topic's callers see it: a partition retired by the topic's
    /// deletion answers that the topic does not exist (any more).
    fn log_error(&self, err: LogError) -> BrokerError {
        match err {
            LogError::Deleted => BrokerError::UnknownTopic(self.config.name.clone()),
            err => BrokerError::Log(err),
        }
    }

    /// A partition's durable point as it moves, for readers that wait on one partition.
    pub fn durable_changes(
        &self,
        partition: u32,
    ) -> Result<tokio::sync::watch::Receiver<crate::broker::partition::Durable>, BrokerError> {
        Ok(self.partition(partition)?.durable_changes())
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
        let offsets = target.append(&mut batches).await.map_err(|e| self.log_error(e))?;
        Ok(offsets[0])
    }

    /// Appends a Kafka producer's record set to one partition: `batches` each hold one or
    /// more whole record batches back to back, as the Produce request carries them. Each
    /// is checked ([`Topic::check_batches`]), then appended as [`Topic::append_checked`]
    /// does.
    pub async fn append_batches(&self, partition: u32, batches: Vec<Vec<u8>>) -> Result<Appended, BrokerError> {
        self.partition(partition)?;
        let sets = batches
            .into_iter()
            .map(|bytes| self.check_batches(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        self.append_checked(partition, sets).await
    }

    /// Checks a Kafka producer's record set for this topic: every batch at most
    /// `max_message_bytes` as sent (`RecordTooLarge`), then magic 2, CRC, lengths, codec,
    /// flags, producer fields and records ([`batch::check_produced`]; `InvalidBatch`). The
    /// answer holds the batches decoded, for the contract gate to walk, and is what
    /// [`Topic::append_checked`] appends.
    pub fn check_batches(&self, bytes: Vec<u8>) -> Result<ProducedBatches, BrokerError> {
        let max = self.config.max_message_bytes as usize;
        for one in batch::split(&bytes).map_err(BrokerError::InvalidBatch)? {
            if one.len() > max {
                return Err(BrokerError::RecordTooLarge { size: one.len(), max });
            }
        }
        ProducedBatches::check(bytes).map_err(BrokerError::InvalidBatch)
    }

    /// Appends checked record sets to one partition: idempotent producers' sequences are
    /// checked, and all batches are appended or none; answered once acknowledged under the
    /// topic's durability, like [`Topic::produce`]. A retry of batches already appended is
    /// answered with the original offset and `duplicate`, nothing appended.
    pub async fn append_checked(&self, partition: u32, batches: Vec<ProducedBatches>) -> Result<Appended, BrokerError> {
        let produced = self.append_checked_now(partition, batches)?;
        self.acknowledged(partition, produced).await
    }

    /// The first half of [`Topic::append_checked`]: everything but the wait for durability,
    /// so a caller can append several sets in a fixed order and then wait for all of them
    /// (a connection's pipelined Produce requests: an idempotent producer's sequences must
    /// reach the log in the order it sent them). [`Topic::acknowledged`] is the second half.
    pub fn append_checked_now(&self, partition: u32, batches: Vec<ProducedBatches>) -> Result<Produced, BrokerError> {
        self.partition(partition)?
            .append_produced_now(batches)
            .map_err(|err| match err {
                LogError::InvalidBatch(err) => BrokerError::InvalidBatch(err),
                LogError::Producer(err) => err.into(),
                err => self.log_error(err),
            })
    }

    /// Waits until what [`Topic::append_checked_now`] appended is acknowledged under the
    /// topic's durability (durable, in `sync` mode).
    pub async fn acknowledged(&self, partition: u32, produced: Produced) -> Result<Appended, BrokerError> {
        self.partition(partition)?
            .acknowledge(produced.last_offset)
            .await
            .map_err(|err| self.log_error(err))?;
        Ok(Appended {
            base_offset: produced.base_offset,
            duplicate: produced.duplicate,
        })
    }

    /// The first durable record whose timestamp is at or after `timestamp`, as (offset,
    /// timestamp); `None` when there is none (Kafka's ListOffsets by timestamp).
    pub fn offset_for_timestamp(&self, partition: u32, timestamp: i64) -> Result<Option<(i64, i64)>, BrokerError> {
        self.partition(partition)?
            .with_log(|log| log.offset_for_timestamp(timestamp))
            .map_err(|e| self.log_error(e))
    }

    /// The durable record with the greatest timestamp (the first such), as (offset,
    /// timestamp); `None` for an empty partition (Kafka's ListOffsets -3, max timestamp).
    pub fn max_timestamp(&self, partition: u32) -> Result<Option<(i64, i64)>, BrokerError> {
        self.partition(partition)?
            .with_log(|log| log.max_timestamp())
            .map_err(|e| self.log_error(e))
    }

    /// Records from `offset`, about `max_bytes` of them, never past the durable point.
    pub fn fetch(&self, partition: u32, offset: i64, max_bytes: usize) -> Result<Vec<StoredRecord>, BrokerError> {
        let bytes = self
            .partition(partition)?
            .read(offset, max_bytes)
            .map_err(|e| self.log_error(e))?;
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

    /// Whole batches from the one holding `offset`, about `max_bytes` of them (at least one
    /// when any is durable), never past the durable point, as stored: readers walk them with
    /// [`batch::log_records`] and copy keys and values straight into their answers.
    pub fn read_batches(&self, partition: u32, offset: i64, max_bytes: usize) -> Result<Bytes, BrokerError> {
        Ok(self.partition(partition)?.read(offset, max_bytes)?)
    }

    /// The same for a Kafka Fetch answer, which goes to the socket as stored: large reads
    /// are mappings of the segment file, and a read ends at its segment's end. The bytes
    /// must not be read in process (see [`super::segment::ReadAs::Mapped`]).
    pub fn fetch_batches(&self, partition: u32, offset: i64, max_bytes: usize) -> Result<Bytes, BrokerError> {
        Ok(self.partition(partition)?.read_mapped(offset, max_bytes)?)
    }

    /// (log start, end visible to readers) of a partition.
    pub fn offsets(&self, partition: u32) -> Result<(i64, i64), BrokerError> {
        let (start, durable, _) = self.partition(partition)?.offsets();
        Ok((start, durable))
    }

    pub(super) fn apply_retention(&self, now: SystemTime) -> Result<usize, BrokerError> {
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
    /// Held by creates, updates and deletes: one metadata change at a time, so their file
    /// steps never interleave, while produce and fetch only take `topics` briefly.
    metadata: std::sync::Mutex<()>,
    groups: Arc<Groups>,
    /// Kafka's group protocol, committing into `groups`.
    coordinator: Coordinator,
    /// Where [`PRODUCER_IDS`] is, and the ids in hand.
    data_dir: PathBuf,
    producer_ids: std::sync::Mutex<ProducerIds>,
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
        let found = discover_topics(&dir, log_config)?;
        let groups = Arc::new(Groups::open(data_dir).map_err(group_io("cannot open the consumer groups"))?);
        // The new `topics/` and `groups/` entries survive a power failure.
        sync_dir(data_dir).map_err(io(format!("cannot sync {}", data_dir.display())))?;
        // A crash between a delete's rename and its offset cleanup leaves offsets on a topic
        // that no longer exists; a topic created later under that name must not inherit them.
        let gone = |topic: &str| !found.topics.contains_key(topic) && !found.kept.contains(topic);
        if !found.complete {
            tracing::warn!("the topics directory was not read whole; committed offsets of deleted topics are kept");
        } else if let Err(err) = groups.forget_topics(gone) {
            tracing::warn!(error = %err, "cannot remove committed offsets of deleted topics");
        }
        let topics = found.topics;
        let reserved = read_producer_ids(data_dir)?;
        Ok(Broker {
            dir,
            log_config,
            topics: RwLock::new(topics),
            metadata: std::sync::Mutex::new(()),
            coordinator: Coordinator::new(groups.clone(), CoordinatorConfig::default()),
            groups,
            data_dir: data_dir.to_path_buf(),
            producer_ids: std::sync::Mutex::new(ProducerIds {
                next: reserved,
                reserved,
            }),
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

    /// Creates a topic after checking its settings. The topic is built whole in
    /// `<name>~creating/` (settings and partition directories, fsynced), renamed to its name
    /// and `topics/` fsynced before it is answered: after a crash it exists whole, or not at
    /// all when it was not yet acknowledged.
    pub fn create_topic(&self, config: TopicConfig) -> Result<Arc<Topic>, BrokerError> {
        config.check()?;
        let _one_at_a_time = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
        if self.topic(&config.name).is_ok() {
            return Err(BrokerError::TopicExists(config.name));
        }
        let partitions_open: u64 = self.topics().iter().map(|t| u64::from(t.config.partitions)).sum();
        super::fds::check_room(partitions_open, config.partitions)?;
        let staging = self.stage_topic(&config)?;
        let topic_dir = self.dir.join(&config.name);
        if let Err(err) = fs::rename(&staging, &topic_dir) {
            // Something that is not a topic holds the name (see `discover_topics`).
            remove_leftover(&staging);
            return Err(io(format!("cannot create {}", topic_dir.display()))(err));
        }
        let opened = sync_dir(&self.dir)
            .map_err(io(format!("cannot sync {}", self.dir.display())))
            .and_then(|()| Broker::open_topic(&self.dir, config.clone(), self.log_config));
        let topic = match opened {
            Ok(topic) => Arc::new(topic),
            Err(err) => {
                // Not answered as created: take it away again rather than leave a topic
                // that appears at the next start.
                if let Err(cleanup) = self.remove_topic_files(&config.name) {
                    tracing::warn!(topic = %config.name, error = %cleanup, "cannot remove a topic whose creation failed");
                }
                return Err(err);
            }
        };
        self.topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(config.name, topic.clone());
        Ok(topic)
    }

    /// Builds `<name>~creating/` with the settings and one empty directory per partition,
    /// all durable (the settings write fsyncs the directory, which holds the partition
    /// entries too).
    fn stage_topic(&self, config: &TopicConfig) -> Result<PathBuf, BrokerError> {
        let staging = self.dir.join(scratch_name(&config.name, CREATING));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(format!("cannot remove {}", staging.display())))?;
        }
        fs::create_dir(&staging).map_err(io(format!("cannot create {}", staging.display())))?;
        for p in 0..config.partitions {
            let partition = staging.join(p.to_string());
            fs::create_dir(&partition).map_err(io(format!("cannot create {}", partition.display())))?;
        }
        let text =
            serde_json::to_string_pretty(config).map_err(|e| BrokerError::Topic(TopicError::Invalid(e.to_string())))?;
        let settings = staging.join(SETTINGS);
        write_atomically(&settings, text.as_bytes()).map_err(io(format!("cannot write {}", settings.display())))?;
        Ok(staging)
    }

    /// Renames a topic's directory to `<name>~deleting` and fsyncs `topics/` (from here on
    /// the topic is gone, even after a crash), then removes the files.
    fn remove_topic_files(&self, name: &str) -> Result<(), BrokerError> {
        let gone = self.dir.join(scratch_name(name, DELETING));
        self.retire_topic_dir(name, &gone)?;
        fs::remove_dir_all(&gone).map_err(io(format!("cannot delete {}", gone.display())))
    }

    fn retire_topic_dir(&self, name: &str, gone: &Path) -> Result<(), BrokerError> {
        self.rename_topic_dir(name, gone)?;
        sync_dir(&self.dir).map_err(io(format!("cannot sync {}", self.dir.display())))
    }

    /// Renames `<name>` to `gone` (a leftover there is removed first).
    fn rename_topic_dir(&self, name: &str, gone: &Path) -> Result<(), BrokerError> {
        if gone.exists() {
            fs::remove_dir_all(gone).map_err(io(format!("cannot delete {}", gone.display())))?;
        }
        let from = self.dir.join(name);
        fs::rename(&from, gone).map_err(io(format!("cannot delete {}", from.display())))
    }

    /// Changes a topic's settings: documentation, retention, validation and subjects.
    /// Partition count, durability and the name are fixed at creation; an update that
    /// changes them is refused. The new settings are on disk before they are used.
    pub fn update_topic(&self, name: &str, update: impl FnOnce(&mut TopicConfig)) -> Result<Arc<Topic>, BrokerError> {
        // Metadata changes queue here, so the topics lock is not held while the file is
        // written and synced (every produce and fetch looks its topic up under that lock).
        let _one_at_a_time = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
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
        // Replaced atomically: a crash leaves the old settings or the new ones.
        let file = self.dir.join(name).join(SETTINGS);
        write_atomically(&file, text.as_bytes()).map_err(io(format!("cannot write {}", file.display())))?;
        let topic = Arc::new(Topic {
            config,
            partitions: current.partitions.clone(),
            next: AtomicU32::new(current.next.load(Ordering::Relaxed)),
        });
        self.topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), topic.clone());
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
    /// retention. The topic leaves the table and its partitions are retired (appends and
    /// reads through a handle taken earlier are refused from here on, so none can reach a
    /// topic re-created under the name); its directory is renamed to `<name>~deleting` and
    /// `topics/` fsynced (the deletion is then durable: a start after a crash finishes it),
    /// every group's committed offsets on the topic are removed, and then the files.
    ///
    /// Once the rename is done the topic is gone, and the answer is success: a failure of
    /// a later step is logged, and what it leaves (a `~deleting` directory, offsets in a
    /// group file) is settled at the next start.
    pub fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        check_name(name)?;
        let _one_at_a_time = self.metadata.lock().unwrap_or_else(|e| e.into_inner());
        let removed = self
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        for partition in removed.partitions.iter() {
            partition.retire();
        }
        let gone = self.dir.join(scratch_name(name, DELETING));
        if let Err(err) = self.rename_topic_dir(name, &gone) {
            // Still whole on disk: keep serving it rather than lose it until the next start.
            for partition in removed.partitions.iter() {
                partition.unretire();
            }
            self.topics
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), removed);
            return Err(err);
        }
        drop(removed);
        if let Err(err) = sync_dir(&self.dir) {
            tracing::error!(topic = name, error = %err, "cannot sync the topics directory after a deletion; a crash may bring the topic back");
        }
        if let Err(err) = self.groups.forget_topics(|topic| topic == name) {
            tracing::error!(topic = name, error = %err, "cannot remove a deleted topic's committed offsets from every group file");
        }
        if let Err(err) = fs::remove_dir_all(&gone) {
            tracing::warn!(path = %gone.display(), error = %err, "cannot remove a deleted topic's files; the next start removes them");
        }
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
    /// after this are refused. A partition that cannot close (its flush failed) does not
    /// keep the others from closing; the first such error is answered.
    pub fn close(&self) -> Result<(), BrokerError> {
        let mut first_error = None;
        for topic in self.topics() {
            for (p, partition) in topic.partitions.iter().enumerate() {
                if let Err(err) = partition.close() {
                    tracing::error!(topic = %topic.config.name, partition = p, error = %err, "cannot close a partition cleanly");
                    first_error.get_or_insert(BrokerError::Log(err));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A new idempotent producer's id and epoch (0). Ids are never handed out twice: a
    /// block of them is reserved on disk before the first is used (see the module).
    pub fn init_producer_id(&self) -> Result<(i64, i16), BrokerError> {
        let mut ids = self.producer_ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.next >= ids.reserved {
            let reserved = ids.next + PRODUCER_ID_BLOCK;
            let path = self.data_dir.join(PRODUCER_IDS);
            write_atomically(&path, reserved.to_string().as_bytes())
                .map_err(io(format!("cannot write {}", path.display())))?;
            ids.reserved = reserved;
        }
        let id = ids.next;
        ids.next += 1;
        Ok((id, 0))
    }

    /// The consumer groups reading this broker's topics.
    /// The segment settings every partition's log uses.
    pub fn log_config(&self) -> LogConfig {
        self.log_config
    }

    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The Kafka group coordinator; its committed offsets are those of [`Broker::groups`].
    pub fn coordinator(&self) -> &Coordinator {
        &self.coordinator
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

/// The first producer id not yet reserved: 0 for a new data directory. A file that is not a
/// number stops the start (ids handed out before could otherwise be handed out again).
fn read_producer_ids(data_dir: &Path) -> Result<i64, BrokerError> {
    let path = data_dir.join(PRODUCER_IDS);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<i64>().ok().filter(|&n| n >= 0).ok_or_else(|| {
            BrokerError::Log(LogError::Corrupt {
                file: path.clone(),
                position: 0,
                reason: format!("{:?} is not the next producer id", text.trim()),
            })
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(io(format!("cannot read {}", path.display()))(err)),
    }
}

/// What the start found in `topics/`.
struct Found {
    topics: BTreeMap<String, Arc<Topic>>,
    /// Names of topic directories left alone or set aside: their groups' offsets stay.
    kept: BTreeSet<String>,
    /// Every entry of `topics/` was read: only then is a topic missing from `topics` and
    /// `kept` known to be gone.
    complete: bool,
}

/// Opens every whole topic in `topics/` and settles what a crash left behind, so that no
/// leftover stops the start: an interrupted creation (`~creating`) or deletion
/// (`~deleting`, or `.deleted` from older versions) is removed, a topic directory without
/// settings and without records is removed (a creation by an older version that never
/// finished), one whose settings cannot be read is set aside as `<name>~damaged`, and
/// anything else unknown is skipped with a warning.
fn discover_topics(dir: &Path, log_config: LogConfig) -> Result<Found, BrokerError> {
    let mut found = Found {
        topics: BTreeMap::new(),
        kept: BTreeSet::new(),
        complete: true,
    };
    let mut removed_any = false;
    for entry in fs::read_dir(dir).map_err(io(format!("cannot list {}", dir.display())))? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                // Which topic it was is unknown, so no group's offsets may be dropped.
                tracing::warn!(dir = %dir.display(), error = %err, "cannot read an entry of the topics directory; skipping it");
                found.complete = false;
                continue;
            }
        };
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(path = %path.display(), "skipping an entry of the topics directory that is not a topic");
            continue;
        };
        if let Some(topic) = name.strip_suffix(CREATING).or_else(|| name.strip_suffix(DELETING)) {
            tracing::warn!(topic, path = %path.display(), "removing what a crash left of a topic creation or deletion");
            removed_any |= remove_leftover(&path);
            continue;
        }
        if let Some((topic, _)) = name.split_once(DAMAGED) {
            // Set aside at an earlier start; its groups' offsets wait for the operator.
            found.kept.insert(topic.to_string());
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || check_name(&name).is_err() {
            tracing::warn!(path = %path.display(), "skipping an entry of the topics directory that is not a topic");
            continue;
        }
        match read_settings(&path) {
            Ok(config) if config.name == name => {
                let topic = Broker::open_topic(dir, config, log_config)?;
                found.topics.insert(name, Arc::new(topic));
            }
            // Older versions deleted `<name>` by renaming it to `<name>.deleted`.
            Ok(_) | Err(Settings::Missing) if name.ends_with(".deleted") => {
                tracing::warn!(path = %path.display(), "removing what a crash left of a topic deletion");
                removed_any |= remove_leftover(&path);
            }
            Ok(config) => {
                tracing::warn!(path = %path.display(), names = %config.name, "skipping a topic directory whose settings name another topic");
                found.kept.insert(name);
            }
            Err(Settings::Missing) if !holds_records(&path) => {
                tracing::warn!(path = %path.display(), "removing a topic directory without settings or records (an unfinished creation)");
                removed_any |= remove_leftover(&path);
            }
            Err(Settings::Unreadable(why)) => {
                // Perhaps passing (EMFILE, EIO, EACCES): the directory stays as it is for
                // the next start, and its groups' offsets stay.
                tracing::error!(topic = %name, why = %why, "a topic's settings cannot be read now; the topic is not served until a restart reads them");
                found.kept.insert(name);
            }
            Err(why) => {
                set_aside(dir, &name, &why);
                found.kept.insert(name);
                removed_any = true;
            }
        }
    }
    if removed_any {
        sync_dir(dir).map_err(io(format!("cannot sync {}", dir.display())))?;
    }
    Ok(found)
}

/// Why a topic directory's settings cannot be used.
#[derive(Debug)]
enum Settings {
    Missing,
    /// Reading the file failed (too many open files, an I/O error, permissions): perhaps
    /// passing, so the topic is left where it is.
    Unreadable(String),
    /// The file was read and is not valid settings (empty, truncated, not JSON, missing
    /// fields): it will not get better, so the directory is set aside.
    Invalid(String),
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Settings::Missing => write!(f, "{SETTINGS} is missing"),
            Settings::Unreadable(why) | Settings::Invalid(why) => f.write_str(why),
        }
    }
}

fn read_settings(topic_dir: &Path) -> Result<TopicConfig, Settings> {
    let path = topic_dir.join(SETTINGS);
    classify_settings(&path, fs::read_to_string(&path))
}

/// The settings in `read` (the outcome of reading `path`), or which kind of failure it is.
fn classify_settings(path: &Path, read: std::io::Result<String>) -> Result<TopicConfig, Settings> {
    let text = match read {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Settings::Missing),
        Err(err) => return Err(Settings::Unreadable(format!("cannot read {}: {err}", path.display()))),
    };
    serde_json::from_str(&text).map_err(|e| Settings::Invalid(format!("{} is not valid: {e}", path.display())))
}

/// Whether any partition directory of `topic_dir` holds a non-empty segment; `true` when
/// in doubt, so that records are never removed on a guess.
fn holds_records(topic_dir: &Path) -> bool {
    let Ok(partitions) = fs::read_dir(topic_dir) else {
        return true;
    };
    for partition in partitions {
        let Ok(partition) = partition else { return true };
        if !partition.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = fs::read_dir(partition.path()) else {
            return true;
        };
        for file in files {
            let Ok(file) = file else { return true };
            let is_log = file.file_name().to_string_lossy().ends_with(".log");
            if is_log && file.metadata().map_or(true, |m| m.len() > 0) {
                return true;
            }
        }
    }
    false
}

/// Removes a leftover directory; a failure is a warning, not a reason to refuse to start.
/// Answers whether it was removed.
fn remove_leftover(path: &Path) -> bool {
    match fs::remove_dir_all(path) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "cannot remove a leftover directory; leaving it");
            false
        }
    }
}

/// Moves a topic directory whose settings cannot be read to `<name>~damaged` (or
/// `~damaged-2`, …): the records stay for the operator, the name is free, the start goes on.
fn set_aside(dir: &Path, name: &str, why: &Settings) {
    let from = dir.join(name);
    let to = (1..)
        .map(|n| match n {
            1 => dir.join(scratch_name(name, DAMAGED)),
            n => dir.join(scratch_name(name, &format!("{DAMAGED}-{n}"))),
        })
        .find(|candidate| !candidate.exists())
        .expect("an unused name");
    match fs::rename(&from, &to) {
        Ok(()) => tracing::warn!(
            topic = name,
            why = %why,
            moved_to = %to.display(),
            "a topic's settings cannot be read; its directory is set aside and the topic is not served"
        ),
        Err(err) => tracing::warn!(
            topic = name,
            why = %why,
            error = %err,
            "a topic's settings cannot be read and its directory cannot be set aside; the topic is not served"
        ),
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

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    fn classify(read: std::io::Result<String>) -> Result<TopicConfig, Settings> {
        classify_settings(Path::new("t/topic.json"), read)
    }

    #[test]
    fn only_settings_that_were_read_and_are_invalid_count_as_damaged() {
        for transient in [
            Error::from_raw_os_error(libc::EMFILE),
            Error::from_raw_os_error(libc::EIO),
            Error::from(ErrorKind::PermissionDenied),
        ] {
            assert!(matches!(classify(Err(transient)), Err(Settings::Unreadable(_))));
        }
        assert!(matches!(
            classify(Err(ErrorKind::NotFound.into())),
            Err(Settings::Missing)
        ));
        for damaged in ["", "{\"name\": \"t\", \"partit", "not json", "{}"] {
            assert!(
                matches!(classify(Ok(damaged.to_string())), Err(Settings::Invalid(_))),
                "{damaged:?}"
            );
        }
        let whole = serde_json::to_string(&TopicConfig::new("t", 2)).unwrap();
        assert_eq!(classify(Ok(whole)).unwrap().partitions, 2);
    }
}
