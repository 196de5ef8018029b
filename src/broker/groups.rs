//! Consumer groups: members that share a group's partitions (each partition read by one
//! member at a time), positions, and committed offsets that survive restarts.
//!
//! Membership lives in memory, as REST Proxy's consumer instances do; a member that has not
//! been heard from within its session timeout leaves, and the partitions are dealt again
//! (range assignment: per topic, contiguous runs of partitions to members in name order).
//! Members are capped per group and per server, and every group is swept for idle members
//! at most once a second on any call, so an instance that is never used again is freed.
//! Committed offsets are durable: `groups/<group>.json`, replaced atomically (write, fsync,
//! rename, fsync the directory) before a commit is acknowledged.
//!
//! The offsets are shared with the Kafka protocol's group coordinator
//! ([`super::coordinator`]): its commits land here too ([`Groups::commit_offsets`], with the
//! commit's metadata string), so either protocol reads what the other committed. A group has
//! one kind of membership at a time: while the coordinator holds a group
//! ([`Groups::claim_for_kafka`]) REST consumer instances cannot join it, and while instances
//! are live the coordinator cannot claim it.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::segment::{sync_dir, write_atomically};
use super::topic::check_name;

/// Consumer instances one group may have at once: each holds settings and positions in
/// memory until it leaves or expires.
pub const MAX_MEMBERS_PER_GROUP: usize = 100;

/// Consumer instances the whole server keeps at once.
pub const MAX_MEMBERS: usize = 10_000;

/// How often, at most, every group is swept for members past their timeout.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Where a member starts on a partition its group has no committed offset for (or one that
/// retention has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    Earliest,
    Latest,
}

/// (topic, partition).
pub type TopicPartition = (String, u32);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupError {
    InvalidName(String),
    MemberExists {
        group: String,
        member: String,
    },
    UnknownMember {
        group: String,
        member: String,
    },
    UnknownGroup(String),
    /// A join past [`MAX_MEMBERS_PER_GROUP`] (`group` is `Some`) or [`MAX_MEMBERS`].
    TooManyMembers {
        group: Option<String>,
        limit: usize,
    },
    /// Committing or seeking a partition the member is not assigned.
    NotAssigned {
        topic: String,
        partition: u32,
    },
    /// A REST consumer instance joining a group whose members joined through the Kafka
    /// protocol.
    HeldByKafka(String),
    /// A Kafka member joining, or a memberless Kafka commit to, a group with live REST
    /// consumer instances.
    HeldByRest(String),
    Io(String),
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupError::InvalidName(m) | GroupError::Io(m) => f.write_str(m),
            GroupError::MemberExists { group, member } => {
                write!(f, "Consumer instance '{member}' already exists in group '{group}'.")
            }
            GroupError::UnknownMember { group, member } => {
                write!(f, "Consumer instance '{member}' not found in group '{group}'.")
            }
            GroupError::UnknownGroup(group) => write!(f, "Consumer group '{group}' not found."),
            GroupError::TooManyMembers { group: Some(group), limit } => write!(
                f,
                "Consumer group '{group}' already has {limit} consumer instances, the most one group may have; delete idle instances or let them expire"
            ),
            GroupError::TooManyMembers { group: None, limit } => write!(
                f,
                "The server already has {limit} consumer instances, the most it keeps at once; delete idle instances or let them expire"
            ),
            GroupError::HeldByKafka(group) => write!(
                f,
                "Consumer group '{group}' has members that joined through the Kafka protocol; a group has one kind of membership at a time (its committed offsets are shared by both). Use another group name, or wait until its Kafka consumers leave."
            ),
            GroupError::HeldByRest(group) => write!(
                f,
                "Consumer group '{group}' has REST consumer instances; a group has one kind of membership at a time (its committed offsets are shared by both)."
            ),
            GroupError::NotAssigned { topic, partition } => {
                write!(
                    f,
                    "Partition {partition} of topic '{topic}' is not assigned to this consumer instance."
                )
            }
        }
    }
}

impl std::error::Error for GroupError {}

/// A member's settings.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub reset: Reset,
    pub auto_commit: bool,
    pub session_timeout: Duration,
    /// Opaque to the broker: the response format the member asked for.
    pub format: String,
    /// Opaque to the broker: the principal that created the member, the only one that may
    /// use it (`None` without security).
    pub owner: Option<String>,
}

struct Member {
    config: MemberConfig,
    topics: Vec<String>,
    positions: BTreeMap<TopicPartition, i64>,
    last_seen: Instant,
}

/// A committed offset (the next one to read) with the metadata string its committer gave
/// (Kafka's OffsetCommit carries one; REST commits have none).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Committed {
    offset: i64,
    metadata: Option<String>,
    /// When it was committed (Unix milliseconds); `None` in files written before commits
    /// carried it, which therefore count as recent: which groups read a topic lately is
    /// what the reader-aware compatibility policy asks, and it must not miss one.
    at: Option<u64>,
}

impl Committed {
    fn new(offset: i64, metadata: Option<String>) -> Committed {
        Committed {
            offset,
            metadata,
            at: Some(unix_millis(SystemTime::now())),
        }
    }
}

fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[derive(Default)]
struct Group {
    members: BTreeMap<String, Member>,
    committed: BTreeMap<TopicPartition, Committed>,
    /// Times a position was reset because the committed offset had been deleted.
    resets: u64,
    /// The Kafka group coordinator holds this group's membership: REST instances may not
    /// join, and the group is kept while it is held even with nothing committed.
    kafka: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredOffsets {
    offsets: Vec<StoredOffset>,
}

/// One committed offset in a group file. `metadata` is absent from files written before
/// commits carried it, and from commits without one.
#[derive(Serialize, Deserialize)]
struct StoredOffset {
    topic: String,
    partition: u32,
    offset: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    /// Unix milliseconds; absent from files written before commits carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    committed_at: Option<u64>,
}

/// Asks the broker about partitions without this module depending on it.
pub trait Partitions {
    /// Partition count of a topic, `None` if it does not exist.
    fn count(&self, topic: &str) -> Option<u32>;
    /// (log start, end visible to readers).
    fn bounds(&self, topic: &str, partition: u32) -> Option<(i64, i64)>;
}

/// What a member reads next, per assigned partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub positions: Vec<(TopicPartition, i64)>,
    pub format: String,
}

/// A group as `describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub group: String,
    pub members: Vec<MemberView>,
    pub offsets: Vec<OffsetView>,
    pub resets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub instance: String,
    pub topics: Vec<String>,
    pub partitions: Vec<PartitionRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRef {
    pub topic: String,
    pub partition: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetView {
    pub topic: String,
    pub partition: u32,
    pub committed: Option<i64>,
    pub end: i64,
    pub lag: i64,
}

pub struct Groups {
    dir: PathBuf,
    groups: Mutex<BTreeMap<String, Group>>,
    /// Numbers the group file contents in the order `groups` took them (taken under its
    /// lock), so a file write that lost a race never replaces newer contents.
    next_version: AtomicU64,
    /// Per group file, the version on disk; its lock is held while the file is written.
    /// Entries stay (one per group file ever written, as the files do).
    files: Mutex<HashMap<String, Arc<Mutex<u64>>>>,
    /// When this was opened, and when (milliseconds after) the next sweep is due.
    opened: Instant,
    next_sweep_ms: AtomicU64,
}

impl Groups {
    /// Loads every group's committed offsets from `<data_dir>/groups`.
    ///
    /// Files are replaced atomically, so a crash leaves the old or the new version; a file
    /// that cannot be read anyway (damaged outside the server, a file system without ordered
    /// renames) is set aside as `<group>.json.damaged` with a warning and its group starts
    /// without committed offsets: members then start from their reset policy, which beats a
    /// server that cannot start. Leftover `*.json.tmp` files of interrupted writes are removed.
    pub fn open(data_dir: &Path) -> Result<Groups, GroupError> {
        let dir = data_dir.join("groups");
        fs::create_dir_all(&dir).map_err(|e| GroupError::Io(format!("cannot create {}: {e}", dir.display())))?;
        let mut groups = BTreeMap::new();
        let entries = fs::read_dir(&dir).map_err(|e| GroupError::Io(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json.tmp") {
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(file = %path.display(), error = %e, "cannot remove an interrupted group file write");
                }
                continue;
            }
            let Some(group) = name.strip_suffix(".json") else {
                continue;
            };
            if check_group_name(group).is_err() {
                tracing::warn!(file = %path.display(), "skipping a file that is not a consumer group's");
                continue;
            }
            match load_offsets(&path) {
                Ok(committed) => {
                    groups.insert(
                        group.to_string(),
                        Group {
                            committed,
                            ..Group::default()
                        },
                    );
                }
                Err(why) => set_aside(&path, &why),
            }
        }
        Ok(Groups {
            dir,
            groups: Mutex::new(groups),
            next_version: AtomicU64::new(0),
            files: Mutex::new(HashMap::new()),
            opened: Instant::now(),
            next_sweep_ms: AtomicU64::new(0),
        })
    }

    /// Removes every group's committed offsets and members' positions on the topics `gone`
    /// says are gone, durably: a topic created again under the same name is then read from
    /// its start (or the reset policy), never from the old topic's offsets. Called when a
    /// topic is deleted, and at start for topics a crash deleted before their offsets were.
    ///
    /// The groups change in memory at once, under the lock; the files (an fsync or two
    /// each, for possibly thousands of groups) are written after it is released, so
    /// consumers are not held up meanwhile. A commit that comes in between writes its own,
    /// newer, contents, which the older ones never replace. Answers the first file that
    /// could not be written (its group's next commit writes it whole).
    pub fn forget_topics(&self, gone: impl Fn(&str) -> bool) -> Result<(), GroupError> {
        let mut writes = Vec::new();
        {
            let mut groups = self.lock();
            for (name, group) in groups.iter_mut() {
                for member in group.members.values_mut() {
                    member.positions.retain(|(topic, _), _| !gone(topic));
                }
                if group.committed.keys().any(|(topic, _)| gone(topic)) {
                    group.committed.retain(|(topic, _), _| !gone(topic));
                    writes.push((name.clone(), self.version(), group.committed.clone()));
                }
            }
        }
        let mut first_error = None;
        for (name, version, committed) in writes {
            if let Err(err) = self.write(&name, version, &committed) {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The next version of a group file's contents; taken under the groups' lock.
    fn version(&self) -> u64 {
        self.next_version.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The groups, swept for idle members first when a sweep is due.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Group>> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let now_ms = self.opened.elapsed().as_millis() as u64;
        if now_ms >= self.next_sweep_ms.load(Ordering::Relaxed) {
            self.next_sweep_ms
                .store(now_ms + SWEEP_INTERVAL.as_millis() as u64, Ordering::Relaxed);
            sweep(&mut groups);
        }
        groups
    }

    /// Removes every member past its timeout now, in every group (for a periodic task; calls
    /// do it at most once a second by themselves).
    pub fn expire_idle(&self) {
        sweep(&mut self.groups.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn join(&self, group: &str, member: &str, config: MemberConfig) -> Result<(), GroupError> {
        check_group_name(group)?;
        check_name(member).map_err(|e| GroupError::InvalidName(format!("consumer instance name: {e}")))?;
        let mut groups = self.lock();
        if let Some(entry) = groups.get_mut(group) {
            expire(entry);
            if entry.kafka {
                return Err(GroupError::HeldByKafka(group.to_string()));
            }
            if entry.members.contains_key(member) {
                return Err(GroupError::MemberExists {
                    group: group.to_string(),
                    member: member.to_string(),
                });
            }
            if entry.members.len() >= MAX_MEMBERS_PER_GROUP {
                return Err(GroupError::TooManyMembers {
                    group: Some(group.to_string()),
                    limit: MAX_MEMBERS_PER_GROUP,
                });
            }
        }
        let count = |groups: &BTreeMap<String, Group>| groups.values().map(|g| g.members.len()).sum::<usize>();
        if count(&groups) >= MAX_MEMBERS {
            sweep(&mut groups);
            if count(&groups) >= MAX_MEMBERS {
                return Err(GroupError::TooManyMembers {
                    group: None,
                    limit: MAX_MEMBERS,
                });
            }
        }
        let entry = groups.entry(group.to_string()).or_default();
        entry.members.insert(
            member.to_string(),
            Member {
                config,
                topics: Vec::new(),
                positions: BTreeMap::new(),
                last_seen: Instant::now(),
            },
        );
        Ok(())
    }

    pub fn leave(&self, group: &str, member: &str) -> Result<(), GroupError> {
        let mut groups = self.lock();
        let entry = groups.get_mut(group).ok_or_else(|| unknown(group, member))?;
        entry
            .members
            .remove(member)
            .map(|_| ())
            .ok_or_else(|| unknown(group, member))
    }

    pub fn subscribe(&self, group: &str, member: &str, topics: Vec<String>) -> Result<(), GroupError> {
        self.with_member(group, member, |_, m| {
            m.topics = topics;
            Ok(())
        })
    }

    pub fn subscription(&self, group: &str, member: &str) -> Result<Vec<String>, GroupError> {
        self.with_member(group, member, |_, m| Ok(m.topics.clone()))
    }

    /// The member's partitions now, with the position to read each from; positions for
    /// newly assigned partitions come from the committed offset, or the reset policy.
    pub fn assignment(&self, group: &str, member: &str, partitions: &dyn Partitions) -> Result<Assignment, GroupError> {
        let mut groups = self.lock();
        let entry = groups.get_mut(group).ok_or_else(|| unknown(group, member))?;
        expire(entry);
        if !entry.members.contains_key(member) {
            return Err(unknown(group, member));
        }
        let assigned = assign(entry, partitions);
        let mine = assigned.get(member).cloned().unwrap_or_default();
        let committed = entry.committed.clone();
        let mut resets = 0;
        let m = entry.members.get_mut(member).expect("checked above");
        m.last_seen = Instant::now();
        m.positions.retain(|tp, _| mine.contains(tp));
        for tp in &mine {
            let Some((start, end)) = partitions.bounds(&tp.0, tp.1) else {
                continue;
            };
            let position = m
                .positions
                .get(tp)
                .copied()
                .or_else(|| committed.get(tp).map(|c| c.offset));
            let position = match position {
                Some(p) if p >= start && p <= end => p,
                Some(_) => {
                    resets += 1;
                    tracing::warn!(group, topic = %tp.0, partition = tp.1, "committed offset is outside the log; resetting");
                    reset_position(m.config.reset, start, end)
                }
                None => reset_position(m.config.reset, start, end),
            };
            m.positions.insert(tp.clone(), position);
        }
        let assignment = Assignment {
            positions: m.positions.iter().map(|(tp, p)| (tp.clone(), *p)).collect(),
            format: m.config.format.clone(),
        };
        entry.resets += resets;
        Ok(assignment)
    }

    /// Moves a member's positions after it read records (next offsets to read), and commits
    /// them when the member auto-commits.
    pub fn advance(&self, group: &str, member: &str, next: &[(TopicPartition, i64)]) -> Result<(), GroupError> {
        let auto = self.with_member(group, member, |_, m| {
            for (tp, offset) in next {
                if m.positions.contains_key(tp) {
                    m.positions.insert(tp.clone(), *offset);
                }
            }
            Ok(m.config.auto_commit)
        })?;
        if auto {
            self.commit(group, member, None)?;
        }
        Ok(())
    }

    /// Commits `offsets` (each the next offset to read), or the member's current positions.
    /// Durable before it returns.
    pub fn commit(
        &self,
        group: &str,
        member: &str,
        offsets: Option<Vec<(TopicPartition, i64)>>,
    ) -> Result<(), GroupError> {
        let mut groups = self.lock();
        let entry = groups.get_mut(group).ok_or_else(|| unknown(group, member))?;
        let m = entry.members.get_mut(member).ok_or_else(|| unknown(group, member))?;
        m.last_seen = Instant::now();
        let offsets = match offsets {
            Some(offsets) => {
                for ((topic, partition), _) in &offsets {
                    if !m.positions.contains_key(&(topic.clone(), *partition)) {
                        return Err(GroupError::NotAssigned {
                            topic: topic.clone(),
                            partition: *partition,
                        });
                    }
                }
                offsets
            }
            None => m.positions.iter().map(|(tp, p)| (tp.clone(), *p)).collect(),
        };
        let mut committed = entry.committed.clone();
        committed.extend(
            offsets
                .into_iter()
                .map(|(tp, offset)| (tp, Committed::new(offset, None))),
        );
        self.save(group, &committed)?;
        entry.committed = committed;
        Ok(())
    }

    /// Commits offsets for a group without a REST member: the Kafka coordinator's commits,
    /// which it has checked against its own membership (or which are "simple" commits with
    /// no membership at all). Each entry is (partition, next offset to read, metadata).
    /// Refused while REST consumer instances are live in the group: their commits go
    /// through [`Groups::commit`]. Durable before it returns.
    pub fn commit_offsets(
        &self,
        group: &str,
        offsets: Vec<(TopicPartition, i64, Option<String>)>,
    ) -> Result<(), GroupError> {
        check_group_name(group)?;
        let mut groups = self.lock();
        let entry = groups.entry(group.to_string()).or_default();
        expire(entry);
        if !entry.members.is_empty() {
            return Err(GroupError::HeldByRest(group.to_string()));
        }
        let mut committed = entry.committed.clone();
        committed.extend(
            offsets
                .into_iter()
                .map(|(tp, offset, metadata)| (tp, Committed::new(offset, metadata))),
        );
        let saved = self.save(group, &committed);
        if saved.is_ok() {
            entry.committed = committed;
        }
        // A group made only for this commit, which failed, is not kept.
        if entry.committed.is_empty() && entry.members.is_empty() && !entry.kafka {
            groups.remove(group);
        }
        saved
    }

    /// The group's committed offsets for `partitions` (all of them when empty), each with
    /// the metadata string it was committed with.
    pub fn committed_with_metadata(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, i64, Option<String>)>, GroupError> {
        let groups = self.lock();
        let entry = groups
            .get(group)
            .ok_or_else(|| GroupError::UnknownGroup(group.to_string()))?;
        Ok(entry
            .committed
            .iter()
            .filter(|(tp, _)| partitions.is_empty() || partitions.contains(tp))
            .map(|(tp, c)| (tp.clone(), c.offset, c.metadata.clone()))
            .collect())
    }

    /// Marks the group's membership as held by the Kafka coordinator, so REST consumer
    /// instances cannot join it until [`Groups::release_kafka`]. Refused while instances
    /// are live (those past their timeout are removed first).
    pub fn claim_for_kafka(&self, group: &str) -> Result<(), GroupError> {
        check_group_name(group)?;
        let mut groups = self.lock();
        let entry = groups.entry(group.to_string()).or_default();
        expire(entry);
        if !entry.members.is_empty() {
            return Err(GroupError::HeldByRest(group.to_string()));
        }
        entry.kafka = true;
        Ok(())
    }

    /// The Kafka coordinator no longer has members in the group; REST instances may join.
    pub fn release_kafka(&self, group: &str) {
        let mut groups = self.lock();
        if let Some(entry) = groups.get_mut(group) {
            entry.kafka = false;
            if entry.members.is_empty() && entry.committed.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// Deletes a group without live members (Kafka's DeleteGroups): its committed offsets
    /// go from memory and disk (the file removed and the directory fsynced before this
    /// returns). `Ok(false)` for a group not known here; refused while REST instances are
    /// live (`HeldByRest`) or the coordinator holds it (`HeldByKafka`).
    pub fn delete_group(&self, group: &str) -> Result<bool, GroupError> {
        check_group_name(group)?;
        let mut groups = self.lock();
        let Some(entry) = groups.get_mut(group) else {
            return Ok(false);
        };
        expire(entry);
        if entry.kafka {
            return Err(GroupError::HeldByKafka(group.to_string()));
        }
        if !entry.members.is_empty() {
            return Err(GroupError::HeldByRest(group.to_string()));
        }
        self.remove_file(group, self.version())?;
        groups.remove(group);
        Ok(true)
    }

    /// Removes a group's file durably, as contents of `version`: older writes still under
    /// way (a deleted topic's offsets being forgotten) do not bring it back.
    fn remove_file(&self, group: &str, version: u64) -> Result<(), GroupError> {
        let file = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(group.to_string())
            .or_default()
            .clone();
        let mut on_disk = file.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.join(format!("{group}.json"));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(GroupError::Io(format!("cannot remove {}: {e}", path.display()))),
        }
        sync_dir(&self.dir).map_err(|e| GroupError::Io(format!("cannot sync {}: {e}", self.dir.display())))?;
        *on_disk = version;
        Ok(())
    }

    /// The live REST consumer instances of a group, in name order; `None` for a group not
    /// known here (no instances, no committed offsets, not held by the coordinator).
    /// The principal that created a member, if the member exists and has one.
    pub fn owner(&self, group: &str, member: &str) -> Option<String> {
        let groups = self.lock();
        groups.get(group)?.members.get(member)?.config.owner.clone()
    }

    pub fn instances(&self, group: &str) -> Option<Vec<String>> {
        let mut groups = self.lock();
        let entry = groups.get_mut(group)?;
        expire(entry);
        Some(entry.members.keys().cloned().collect())
    }

    /// The group's committed offsets for `partitions` (all of them when empty).
    pub fn committed(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, i64)>, GroupError> {
        Ok(self
            .committed_with_metadata(group, partitions)?
            .into_iter()
            .map(|(tp, offset, _)| (tp, offset))
            .collect())
    }

    /// Sets positions: to given offsets, or to the beginning or end of partitions.
    pub fn seek(&self, group: &str, member: &str, positions: Vec<(TopicPartition, i64)>) -> Result<(), GroupError> {
        self.with_member(group, member, |_, m| {
            for (tp, offset) in positions {
                if !m.positions.contains_key(&tp) {
                    return Err(GroupError::NotAssigned {
                        topic: tp.0,
                        partition: tp.1,
                    });
                }
                m.positions.insert(tp, offset);
            }
            Ok(())
        })
    }

    /// The groups that read any of `topics` within `window` of now: a commit there in that
    /// time (or one from before commits carried their time), or a member subscribed to one
    /// now. Sorted.
    pub fn readers_of(&self, topics: &[String], window: Duration) -> Vec<String> {
        let since = unix_millis(SystemTime::now().checked_sub(window).unwrap_or(UNIX_EPOCH));
        let groups = self.lock();
        groups
            .iter()
            .filter(|(_, g)| {
                let committed = g
                    .committed
                    .iter()
                    .any(|((topic, _), c)| topics.contains(topic) && c.at.is_none_or(|at| at >= since));
                committed || g.members.values().any(|m| m.topics.iter().any(|t| topics.contains(t)))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub fn list(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn describe(&self, group: &str, partitions: &dyn Partitions) -> Result<GroupView, GroupError> {
        let mut groups = self.lock();
        let entry = groups
            .get_mut(group)
            .ok_or_else(|| GroupError::UnknownGroup(group.to_string()))?;
        expire(entry);
        let assigned = assign(entry, partitions);
        let members = entry
            .members
            .iter()
            .map(|(name, m)| MemberView {
                instance: name.clone(),
                topics: m.topics.clone(),
                partitions: assigned
                    .get(name)
                    .map(|tps| {
                        tps.iter()
                            .map(|(t, p)| PartitionRef {
                                topic: t.clone(),
                                partition: *p,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        // Lag for every partition of every topic the group reads or has committed on.
        let mut topics: Vec<String> = entry.members.values().flat_map(|m| m.topics.clone()).collect();
        topics.extend(entry.committed.keys().map(|(t, _)| t.clone()));
        topics.sort();
        topics.dedup();
        let mut offsets = Vec::new();
        for topic in topics {
            for partition in 0..partitions.count(&topic).unwrap_or(0) {
                let Some((start, end)) = partitions.bounds(&topic, partition) else {
                    continue;
                };
                let committed = entry.committed.get(&(topic.clone(), partition)).map(|c| c.offset);
                offsets.push(OffsetView {
                    lag: end - committed.unwrap_or(start).max(start),
                    topic: topic.clone(),
                    partition,
                    committed,
                    end,
                });
            }
        }
        Ok(GroupView {
            group: group.to_string(),
            members,
            offsets,
            resets: entry.resets,
        })
    }

    fn with_member<T>(
        &self,
        group: &str,
        member: &str,
        f: impl FnOnce(&mut Group, &mut Member) -> Result<T, GroupError>,
    ) -> Result<T, GroupError> {
        let mut groups = self.lock();
        let entry = groups.get_mut(group).ok_or_else(|| unknown(group, member))?;
        let mut m = entry.members.remove(member).ok_or_else(|| unknown(group, member))?;
        m.last_seen = Instant::now();
        let result = f(entry, &mut m);
        entry.members.insert(member.to_string(), m);
        result
    }

    /// Writes a group's committed offsets; called under the groups' lock.
    fn save(&self, group: &str, committed: &BTreeMap<TopicPartition, Committed>) -> Result<(), GroupError> {
        self.write(group, self.version(), committed)
    }

    /// Writes `committed` as `group`'s file unless newer contents (a higher `version`) are
    /// on disk already.
    fn write(
        &self,
        group: &str,
        version: u64,
        committed: &BTreeMap<TopicPartition, Committed>,
    ) -> Result<(), GroupError> {
        let file = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(group.to_string())
            .or_default()
            .clone();
        let mut on_disk = file.lock().unwrap_or_else(|e| e.into_inner());
        if *on_disk >= version {
            return Ok(());
        }
        let stored = StoredOffsets {
            offsets: committed
                .iter()
                .map(|((topic, partition), c)| StoredOffset {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: c.offset,
                    metadata: c.metadata.clone(),
                    committed_at: c.at,
                })
                .collect(),
        };
        let text = serde_json::to_vec_pretty(&stored).map_err(|e| GroupError::Io(e.to_string()))?;
        let path = self.dir.join(format!("{group}.json"));
        write_atomically(&path, &text).map_err(|e| GroupError::Io(format!("cannot write {}: {e}", path.display())))?;
        *on_disk = version;
        Ok(())
    }
}

/// A group file's committed offsets, or why it cannot be read.
fn load_offsets(path: &Path) -> Result<BTreeMap<TopicPartition, Committed>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let stored: StoredOffsets = serde_json::from_str(&text).map_err(|e| format!("it is not valid: {e}"))?;
    Ok(stored
        .offsets
        .into_iter()
        .map(|o| {
            let committed = Committed {
                offset: o.offset,
                metadata: o.metadata,
                at: o.committed_at,
            };
            ((o.topic, o.partition), committed)
        })
        .collect())
}

/// Moves an unreadable group file out of the way (kept for the operator, never read again)
/// so that the group's next commit does not overwrite the evidence.
fn set_aside(path: &Path, why: &str) {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    match fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            file = %path.display(),
            moved_to = %aside.display(),
            why,
            "a consumer group file is damaged; set aside, the group starts without committed offsets"
        ),
        Err(e) => tracing::warn!(
            file = %path.display(),
            why,
            error = %e,
            "a consumer group file is damaged and cannot be set aside; ignoring it"
        ),
    }
}

fn unknown(group: &str, member: &str) -> GroupError {
    GroupError::UnknownMember {
        group: group.to_string(),
        member: member.to_string(),
    }
}

fn check_group_name(group: &str) -> Result<(), GroupError> {
    check_name(group).map_err(|e| GroupError::InvalidName(format!("consumer group name: {e}")))
}

fn reset_position(reset: Reset, start: i64, end: i64) -> i64 {
    match reset {
        Reset::Earliest => start,
        Reset::Latest => end,
    }
}

/// Members silent past their session timeout leave the group.
fn expire(group: &mut Group) {
    let now = Instant::now();
    group
        .members
        .retain(|_, m| now.duration_since(m.last_seen) < m.config.session_timeout);
}

/// Expires members in every group, and drops groups left with nothing to keep (no member,
/// no committed offset, not held by the Kafka coordinator), so neither idle instances nor
/// the names of abandoned groups hold memory.
fn sweep(groups: &mut BTreeMap<String, Group>) {
    groups.retain(|_, group| {
        expire(group);
        !group.members.is_empty() || !group.committed.is_empty() || group.kafka
    });
}

/// Range assignment: for each topic, its partitions split into contiguous runs over the
/// members subscribed to it, in member-name order (earlier members take the remainder).
fn assign(group: &Group, partitions: &dyn Partitions) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
    let mut topics: Vec<&String> = group.members.values().flat_map(|m| &m.topics).collect();
    topics.sort();
    topics.dedup();
    for topic in topics {
        let Some(count) = partitions.count(topic) else { continue };
        let readers: Vec<&String> = group
            .members
            .iter()
            .filter(|(_, m)| m.topics.contains(topic))
            .map(|(name, _)| name)
            .collect();
        let n = readers.len() as u32;
        let (each, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, reader) in readers.iter().enumerate() {
            let take = each + u32::from((i as u32) < extra);
            let list = out.entry((*reader).clone()).or_default();
            for p in next..next + take {
                list.push((topic.clone(), p));
            }
            next += take;
        }
    }
    out
}
