//! The group coordinator of Kafka's classic consumer-group protocol, as domain calls with no
//! Kafka types: the Kafka handlers translate JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetCommit, OffsetFetch, DescribeGroups, ListGroups and DeleteGroups into these calls
//! and map [`CoordinatorError`] to the protocol's error codes. FindCoordinator needs nothing
//! here: on one node the coordinator of every group is this node.
//!
//! The semantics follow Kafka's classic `GroupCoordinator`:
//! - A group moves Empty → PreparingRebalance → CompletingRebalance → Stable, and back to
//!   PreparingRebalance when a member joins, leaves, changes its protocols or expires.
//! - A rebalance waits at a barrier until every known member has rejoined (or the largest
//!   rebalance timeout of its members has passed; members that did not rejoin are removed),
//!   then bumps the generation, picks the protocol every member supports that most members
//!   prefer, and answers every join: the leader's answer lists all members with their
//!   metadata for that protocol. The first rebalance of an empty group also waits
//!   [`CoordinatorConfig::initial_rebalance_delay`], extended while new members keep coming
//!   (up to the rebalance timeout), so consumers started together land in one generation.
//! - SyncGroup: followers wait until the leader sends the assignments, which the broker
//!   passes on as opaque bytes; then the group is Stable.
//! - A member not heard from (heartbeat, join, sync or commit) within its session timeout is
//!   removed and the others rebalance; members waiting at a barrier never expire. A member
//!   that does not send SyncGroup within the rebalance timeout after the join round is
//!   removed, too, so a leader that never assigns cannot stall the group.
//! - New members get ids `<client id>-<uuid-like>`; with `require_known_member_id` (JoinGroup
//!   v4+) the first join only hands out the id (MEMBER_ID_REQUIRED) and remembers it as
//!   pending for one session timeout.
//! - Static membership (`group.instance.id`) is accepted as plain membership: the instance id
//!   is kept and reported, a static member skips the member-id round trip, and a new join
//!   with the instance id of a current member replaces that member (its later calls are
//!   answered UnknownMemberId) and rebalances, where Kafka would hand over without one.
//!
//! Group membership lives in memory only: after a restart members are unknown, and clients
//! rejoin (as they do when a Kafka coordinator moves). Committed offsets are durable and
//! shared with the REST consumer groups: they live in [`Groups`] (`groups/<group>.json`).
//! While the coordinator has a group (members or pending members) it holds the group there
//! ([`Groups::claim_for_kafka`]), so REST consumer instances cannot join it, and it refuses
//! Kafka members for a group with live REST instances.
//!
//! Deadlines (rebalance barriers, initial delays, session and sync timeouts) are enforced by
//! one timer task per coordinator, started by the first join; it sleeps until the next
//! deadline (at most a second) or until a change wakes it.
//!
//! Layout: this module has the calls, the lock and the timer; `group` one group's state
//! machine (pure); [`consumer_protocol`] reads the standard consumer protocol's bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify};

use super::groups::{GroupError, Groups, MAX_MEMBERS, MAX_MEMBERS_PER_GROUP};
use super::topic::check_name;
use group::{Group, JoinAnswer, Member, State};

/// Kafka's `offset.metadata.max.bytes`: the longest metadata string a commit may carry
/// (it is stored in the group file with every commit).
pub const MAX_OFFSET_METADATA_BYTES: usize = 4096;

/// The longest a timer sleep lasts: a dropped coordinator's timer task ends within it.
const MAX_TIMER_SLEEP: Duration = Duration::from_secs(1);

/// (topic, partition, offset, metadata): one committed offset, as OffsetCommit sends and
/// OffsetFetch answers it (the offset is the next one to read; -1 when none is committed).
pub type OffsetEntry = (String, u32, i64, Option<String>);

/// (member id, what leaving did for it): LeaveGroup answers each member on its own.
pub type LeaveOutcome = (String, Result<(), CoordinatorError>);

/// Timing limits of the coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// How long the first rebalance of an empty group waits for more members (Kafka's
    /// `group.initial.rebalance.delay.ms`, 3 s there). Short here: a single node has no
    /// slow broker start to wait out, and consumers started together still arrive within
    /// it; it is extended while new members keep joining.
    pub initial_rebalance_delay: Duration,
    /// The session timeouts a member may ask for (Kafka's `group.min.session.timeout.ms`
    /// and `group.max.session.timeout.ms`); others are refused with InvalidSessionTimeout.
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            initial_rebalance_delay: Duration::from_millis(300),
            min_session_timeout: Duration::from_secs(6),
            max_session_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A JoinGroup request.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group: String,
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// "consumer" for consumers; every member of a group must give the same.
    pub protocol_type: String,
    /// (protocol name, metadata), in the member's order of preference.
    pub protocols: Vec<(String, Vec<u8>)>,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// JoinGroup v4+: a new member first gets its id (MemberIdRequired) and joins with it.
    pub require_known_member_id: bool,
}

/// The answer to a join: the generation the member is now part of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub generation: i32,
    pub protocol_type: String,
    pub protocol_name: String,
    pub leader: String,
    pub member_id: String,
    /// For the leader only (empty for followers): every member's id, instance id and
    /// metadata for the chosen protocol, in the order they joined the group.
    pub members: Vec<(String, Option<String>, Vec<u8>)>,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group: String,
    /// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" or "Dead" (a group
    /// that does not exist).
    pub state: &'static str,
    pub protocol_type: String,
    /// Empty unless the group is Stable, as Kafka answers.
    pub protocol_name: String,
    pub members: Vec<MemberDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The member's metadata for the chosen protocol; empty unless the group is Stable.
    pub metadata: Vec<u8>,
    /// The member's assignment from the leader; empty unless the group is Stable.
    pub assignment: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorError {
    UnknownMemberId,
    IllegalGeneration,
    RebalanceInProgress,
    /// The new member's id, to join again with.
    MemberIdRequired(String),
    InconsistentGroupProtocol,
    GroupMaxSizeReached,
    InvalidSessionTimeout,
    /// The coordinator is shutting down.
    CoordinatorNotAvailable,
    NonEmptyGroup,
    GroupIdNotFound,
    InvalidGroupId,
    /// A commit's metadata is longer than [`MAX_OFFSET_METADATA_BYTES`].
    OffsetMetadataTooLarge,
    Io(String),
}

impl std::fmt::Display for CoordinatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoordinatorError::UnknownMemberId => f.write_str("the member id is not a member of the group"),
            CoordinatorError::IllegalGeneration => f.write_str("the generation is not the group's current one"),
            CoordinatorError::RebalanceInProgress => f.write_str("the group is rebalancing; join again"),
            CoordinatorError::MemberIdRequired(id) => write!(f, "join again with the member id {id}"),
            CoordinatorError::InconsistentGroupProtocol => f.write_str(
                "the protocol type or protocols do not match the group's members (or the group has REST consumer instances)",
            ),
            CoordinatorError::GroupMaxSizeReached => write!(
                f,
                "the group already has {MAX_MEMBERS_PER_GROUP} members (or the server {MAX_MEMBERS}), the most it may have"
            ),
            CoordinatorError::InvalidSessionTimeout => f.write_str("the session timeout is outside the allowed range"),
            CoordinatorError::CoordinatorNotAvailable => f.write_str("the group coordinator is shutting down"),
            CoordinatorError::NonEmptyGroup => f.write_str("the group has members"),
            CoordinatorError::GroupIdNotFound => f.write_str("the group does not exist"),
            CoordinatorError::InvalidGroupId => f.write_str(
                "the group id is not valid: 1 to 249 ASCII letters, digits, '.', '_' and '-', not \".\" or \"..\"",
            ),
            CoordinatorError::OffsetMetadataTooLarge => write!(
                f,
                "the offset metadata is longer than {MAX_OFFSET_METADATA_BYTES} bytes"
            ),
            CoordinatorError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CoordinatorError {}

/// What a join does next, decided under the lock.
enum JoinStep {
    Answer(Joined),
    Wait(oneshot::Receiver<JoinAnswer>),
}

struct Inner {
    config: CoordinatorConfig,
    groups: Arc<Groups>,
    state: Mutex<HashMap<String, Group>>,
    /// Wakes the timer task when deadlines change.
    wake: Arc<Notify>,
    timer_started: AtomicBool,
    shut_down: AtomicBool,
    next_member: AtomicU64,
    next_joined: AtomicU64,
}

/// The classic group coordinator; one per broker. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Coordinator {
    inner: Arc<Inner>,
}

impl Coordinator {
    pub fn new(groups: Arc<Groups>, config: CoordinatorConfig) -> Coordinator {
        Coordinator {
            inner: Arc::new(Inner {
                config,
                groups,
                state: Mutex::new(HashMap::new()),
                wake: Arc::new(Notify::new()),
                timer_started: AtomicBool::new(false),
                shut_down: AtomicBool::new(false),
                next_member: AtomicU64::new(0),
                next_joined: AtomicU64::new(0),
            }),
        }
    }

    /// JoinGroup: waits at the rebalance barrier and answers the member's generation.
    pub async fn join(&self, req: JoinRequest) -> Result<Joined, CoordinatorError> {
        self.start_timer();
        let step = self.inner.join_step(req);
        // New deadlines (a rebalance, a pending member id): the timer looks again.
        self.inner.wake.notify_one();
        match step? {
            JoinStep::Answer(joined) => Ok(joined),
            // A sender dropped unanswered: a newer join of the same member took its place.
            JoinStep::Wait(rx) => rx.await.unwrap_or(Err(CoordinatorError::RebalanceInProgress)),
        }
    }

    /// SyncGroup: the leader sends every member's assignment; each member (the leader too)
    /// gets its own once the leader's have arrived.
    pub async fn sync(
        &self,
        group: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<u8>, CoordinatorError> {
        let rx = {
            let inner = &self.inner;
            inner.check_open()?;
            let mut state = inner.lock();
            let now = Instant::now();
            let g = state.get_mut(group).ok_or(CoordinatorError::UnknownMemberId)?;
            let member = g.members.get_mut(member_id).ok_or(CoordinatorError::UnknownMemberId)?;
            if generation != g.generation {
                return Err(CoordinatorError::IllegalGeneration);
            }
            member.last_heard = now;
            match g.state {
                State::Empty => return Err(CoordinatorError::UnknownMemberId),
                State::PreparingRebalance => return Err(CoordinatorError::RebalanceInProgress),
                State::Stable => return Ok(member.assignment.clone()),
                State::CompletingRebalance => {}
            }
            let (tx, rx) = oneshot::channel();
            member.awaiting_sync = Some(tx);
            if g.leader.as_deref() == Some(member_id) {
                g.complete_sync(assignments.into_iter().collect(), now);
            }
            rx
        };
        self.inner.wake.notify_one();
        rx.await.unwrap_or(Err(CoordinatorError::RebalanceInProgress))
    }

    /// Heartbeat: keeps the member's session; RebalanceInProgress tells it to rejoin.
    pub fn heartbeat(&self, group: &str, generation: i32, member_id: &str) -> Result<(), CoordinatorError> {
        self.inner.check_open()?;
        let mut state = self.inner.lock();
        let g = state.get_mut(group).ok_or(CoordinatorError::UnknownMemberId)?;
        let member = g.members.get_mut(member_id).ok_or(CoordinatorError::UnknownMemberId)?;
        if generation != g.generation {
            return Err(CoordinatorError::IllegalGeneration);
        }
        member.last_heard = Instant::now();
        match g.state {
            State::PreparingRebalance => Err(CoordinatorError::RebalanceInProgress),
            State::CompletingRebalance | State::Stable => Ok(()),
            State::Empty => Err(CoordinatorError::UnknownMemberId),
        }
    }

    /// LeaveGroup: removes the members (pending ids too) and rebalances the rest. Answers
    /// each member's own outcome; an unknown group answers UnknownMemberId for each, as
    /// Kafka does.
    pub fn leave(&self, group: &str, members: &[String]) -> Result<Vec<LeaveOutcome>, CoordinatorError> {
        self.inner.check_open()?;
        let mut state = self.inner.lock();
        let Some(g) = state.get_mut(group) else {
            return Ok(members
                .iter()
                .map(|id| (id.clone(), Err(CoordinatorError::UnknownMemberId)))
                .collect());
        };
        let now = Instant::now();
        let mut answers = Vec::with_capacity(members.len());
        let mut changed = false;
        for id in members {
            let outcome = if g.pending.remove(id).is_some() {
                Ok(())
            } else if let Some(mut member) = g.members.remove(id) {
                member.dismiss(CoordinatorError::UnknownMemberId);
                changed = true;
                Ok(())
            } else {
                Err(CoordinatorError::UnknownMemberId)
            };
            answers.push((id.clone(), outcome));
        }
        if changed {
            g.membership_changed(now, self.inner.config.initial_rebalance_delay);
        } else {
            g.try_complete_join(now);
        }
        self.inner.forget_if_vacant(&mut state, group);
        drop(state);
        self.inner.wake.notify_one();
        Ok(answers)
    }

    /// OffsetCommit: checks generation and membership as Kafka does, then commits durably
    /// (the group file is written and fsynced before this returns; call it where blocking
    /// is fine). Generation -1 with an empty member id is a "simple" commit, accepted for a
    /// group without members. Each offset is (topic, partition, next offset, metadata).
    pub fn commit(
        &self,
        group: &str,
        generation: i32,
        member_id: &str,
        offsets: Vec<OffsetEntry>,
    ) -> Result<(), CoordinatorError> {
        self.inner.check_open()?;
        check_group(group)?;
        if offsets
            .iter()
            .any(|(_, _, _, m)| m.as_ref().is_some_and(|m| m.len() > MAX_OFFSET_METADATA_BYTES))
        {
            return Err(CoordinatorError::OffsetMetadataTooLarge);
        }
        let member_commit = generation >= 0 || !member_id.is_empty();
        {
            let mut state = self.inner.lock();
            match state.get_mut(group) {
                None if member_commit => {
                    return Err(if generation >= 0 {
                        CoordinatorError::IllegalGeneration
                    } else {
                        CoordinatorError::UnknownMemberId
                    });
                }
                None => {}
                Some(g) if member_commit => {
                    let member = g.members.get_mut(member_id).ok_or(CoordinatorError::UnknownMemberId)?;
                    if generation != g.generation {
                        return Err(CoordinatorError::IllegalGeneration);
                    }
                    // Valid member of the current generation that has not had its
                    // assignment yet: Kafka asks it to finish the rebalance first.
                    if g.state == State::CompletingRebalance {
                        return Err(CoordinatorError::RebalanceInProgress);
                    }
                    member.last_heard = Instant::now();
                }
                Some(g) if !g.members.is_empty() => return Err(CoordinatorError::UnknownMemberId),
                Some(_) => {}
            }
        }
        let offsets = offsets
            .into_iter()
            .map(|(topic, partition, offset, metadata)| ((topic, partition), offset, metadata))
            .collect();
        self.inner
            .groups
            .commit_offsets(group, offsets)
            .map_err(|err| match err {
                // Only members may commit to a group with members, REST instances included.
                GroupError::HeldByRest(_) => CoordinatorError::UnknownMemberId,
                GroupError::InvalidName(_) => CoordinatorError::InvalidGroupId,
                other => CoordinatorError::Io(other.to_string()),
            })
    }

    /// OffsetFetch: committed offsets with their metadata, through either protocol. With
    /// `partitions`, one entry per partition asked for, offset -1 where nothing is
    /// committed; with `None`, every committed partition.
    pub fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, u32)]>,
    ) -> Result<Vec<OffsetEntry>, CoordinatorError> {
        self.inner.check_open()?;
        check_group(group)?;
        let committed = match self.inner.groups.committed_with_metadata(group, &[]) {
            Ok(committed) => committed,
            Err(GroupError::UnknownGroup(_)) => Vec::new(),
            Err(other) => return Err(CoordinatorError::Io(other.to_string())),
        };
        Ok(match partitions {
            None => committed
                .into_iter()
                .map(|((topic, partition), offset, metadata)| (topic, partition, offset, metadata))
                .collect(),
            Some(wanted) => {
                let by_partition: HashMap<(String, u32), (i64, Option<String>)> = committed
                    .into_iter()
                    .map(|(tp, offset, metadata)| (tp, (offset, metadata)))
                    .collect();
                wanted
                    .iter()
                    .map(|(topic, partition)| {
                        let (offset, metadata) = by_partition
                            .get(&(topic.clone(), *partition))
                            .cloned()
                            .unwrap_or((-1, None));
                        (topic.clone(), *partition, offset, metadata)
                    })
                    .collect()
            }
        })
    }

    /// DeleteGroups: removes a group without members and its committed offsets, durably
    /// (call it where blocking is fine). NonEmptyGroup while it has members of either
    /// protocol (or member ids pending), GroupIdNotFound for a group that does not exist.
    pub fn delete(&self, group: &str) -> Result<(), CoordinatorError> {
        self.inner.check_open()?;
        check_group(group)?;
        // Held while deleting, so no Kafka member joins the group meanwhile.
        let state = self.inner.lock();
        if state.contains_key(group) {
            return Err(CoordinatorError::NonEmptyGroup);
        }
        let deleted = self.inner.groups.delete_group(group);
        drop(state);
        match deleted {
            Ok(true) => Ok(()),
            Ok(false) => Err(CoordinatorError::GroupIdNotFound),
            Err(GroupError::HeldByKafka(_) | GroupError::HeldByRest(_)) => Err(CoordinatorError::NonEmptyGroup),
            Err(GroupError::InvalidName(_)) => Err(CoordinatorError::InvalidGroupId),
            Err(other) => Err(CoordinatorError::Io(other.to_string())),
        }
    }

    /// DescribeGroups. A group held by REST consumer instances shows as a Stable "consumer"
    /// group of the "range" protocol with those instances as members (no metadata or
    /// assignment bytes); one with only committed offsets as Empty; an unknown one as Dead.
    pub fn describe(&self, group: &str) -> GroupDescription {
        let state = self.inner.lock();
        if let Some(g) = state.get(group) {
            let stable = g.state == State::Stable;
            let mut ordered: Vec<(&String, &Member)> = g.members.iter().collect();
            ordered.sort_by_key(|(_, m)| m.joined);
            return GroupDescription {
                group: group.to_string(),
                state: g.state.name(),
                protocol_type: g.protocol_type.clone(),
                protocol_name: if stable { g.protocol_name.clone() } else { String::new() },
                members: ordered
                    .into_iter()
                    .map(|(id, m)| MemberDescription {
                        member_id: id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: if stable {
                            m.metadata(&g.protocol_name)
                        } else {
                            Vec::new()
                        },
                        assignment: if stable { m.assignment.clone() } else { Vec::new() },
                    })
                    .collect(),
            };
        }
        drop(state);
        let (state, protocol_type, protocol_name, members) = match self.inner.groups.instances(group) {
            None => ("Dead", "", "", Vec::new()),
            Some(instances) if instances.is_empty() => ("Empty", "", "", Vec::new()),
            Some(instances) => ("Stable", "consumer", "range", instances),
        };
        GroupDescription {
            group: group.to_string(),
            state,
            protocol_type: protocol_type.to_string(),
            protocol_name: protocol_name.to_string(),
            members: members
                .into_iter()
                .map(|instance| MemberDescription {
                    member_id: instance,
                    group_instance_id: None,
                    client_id: String::new(),
                    client_host: String::new(),
                    metadata: Vec::new(),
                    assignment: Vec::new(),
                })
                .collect(),
        }
    }

    /// The members that joined through the Kafka protocol (none when the coordinator does
    /// not hold the group), whatever the group's state: metadata of the chosen protocol
    /// (before the first choice, of the member's preferred one) and the assignment the
    /// member last received. For showing Kafka members beside REST instances.
    pub fn members(&self, group: &str) -> Vec<MemberDescription> {
        let state = self.inner.lock();
        let Some(g) = state.get(group) else { return Vec::new() };
        let mut ordered: Vec<(&String, &Member)> = g.members.iter().collect();
        ordered.sort_by_key(|(_, m)| m.joined);
        ordered
            .into_iter()
            .map(|(id, m)| {
                let metadata = if g.protocol_name.is_empty() {
                    m.protocols.first().map(|(_, meta)| meta.clone()).unwrap_or_default()
                } else {
                    m.metadata(&g.protocol_name)
                };
                MemberDescription {
                    member_id: id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata,
                    assignment: m.assignment.clone(),
                }
            })
            .collect()
    }

    /// ListGroups: every group of either protocol, by name, as (group, protocol type,
    /// state); REST-held groups as "consumer" groups, groups with only committed offsets
    /// as Empty with no protocol type, as Kafka lists them.
    pub fn list(&self) -> Vec<(String, String, String)> {
        let mut out: BTreeMap<String, (String, String)> = self
            .inner
            .lock()
            .iter()
            .map(|(name, g)| (name.clone(), (g.protocol_type.clone(), g.state.name().to_string())))
            .collect();
        for name in self.inner.groups.list() {
            if out.contains_key(&name) {
                continue;
            }
            let described = self.describe(&name);
            if described.state != "Dead" {
                out.insert(name, (described.protocol_type, described.state.to_string()));
            }
        }
        out.into_iter()
            .map(|(name, (kind, state))| (name, kind, state))
            .collect()
    }

    /// Stops serving: members waiting at a barrier are answered CoordinatorNotAvailable (so
    /// their clients look for the coordinator again) and every later call is refused so.
    pub fn shut_down(&self) {
        self.inner.shut_down.store(true, Ordering::Relaxed);
        let mut state = self.inner.lock();
        for g in state.values_mut() {
            for member in g.members.values_mut() {
                member.dismiss(CoordinatorError::CoordinatorNotAvailable);
            }
        }
        drop(state);
        self.inner.wake.notify_one();
    }

    /// Starts the timer task once, from the first join (which runs on the runtime).
    fn start_timer(&self) {
        if self.inner.timer_started.swap(true, Ordering::Relaxed) {
            return;
        }
        let inner = Arc::downgrade(&self.inner);
        let wake = self.inner.wake.clone();
        tokio::spawn(run_timer(inner, wake));
    }
}

/// Enforces deadlines until the coordinator is dropped or shut down.
async fn run_timer(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(inner) = inner.upgrade() else { return };
            if inner.shut_down.load(Ordering::Relaxed) {
                return;
            }
            inner.tick(Instant::now())
        };
        let now = Instant::now();
        let until = next.map_or(now + MAX_TIMER_SLEEP, |n| n.min(now + MAX_TIMER_SLEEP));
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => {}
            _ = wake.notified() => {}
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_open(&self) -> Result<(), CoordinatorError> {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(CoordinatorError::CoordinatorNotAvailable);
        }
        Ok(())
    }

    /// Enforces every group's deadlines; answers the earliest one left.
    fn tick(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        let delay = self.config.initial_rebalance_delay;
        let mut vacant = Vec::new();
        let mut next: Option<Instant> = None;
        for (name, g) in state.iter_mut() {
            g.tick(now, delay);
            if g.vacant() {
                vacant.push(name.clone());
            } else if let Some(at) = g.next_deadline() {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        for name in vacant {
            self.forget_if_vacant(&mut state, &name);
        }
        next
    }

    /// Drops a group with no member and none pending, and lets REST instances join it.
    fn forget_if_vacant(&self, state: &mut HashMap<String, Group>, group: &str) {
        if state.get(group).is_some_and(Group::vacant) {
            state.remove(group);
            self.groups.release_kafka(group);
        }
    }

    fn join_step(&self, req: JoinRequest) -> Result<JoinStep, CoordinatorError> {
        self.check_open()?;
        check_group(&req.group)?;
        if req.session_timeout < self.config.min_session_timeout
            || req.session_timeout > self.config.max_session_timeout
        {
            return Err(CoordinatorError::InvalidSessionTimeout);
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return Err(CoordinatorError::InconsistentGroupProtocol);
        }
        let now = Instant::now();
        let delay = self.config.initial_rebalance_delay;
        let mut state = self.lock();
        let total: usize = state.values().map(|g| g.members.len() + g.pending.len()).sum();
        if !state.contains_key(&req.group) {
            if !req.member_id.is_empty() {
                return Err(CoordinatorError::UnknownMemberId);
            }
            self.groups.claim_for_kafka(&req.group).map_err(|err| match err {
                GroupError::HeldByRest(_) => CoordinatorError::InconsistentGroupProtocol,
                GroupError::InvalidName(_) => CoordinatorError::InvalidGroupId,
                other => CoordinatorError::Io(other.to_string()),
            })?;
            state.insert(req.group.clone(), Group::new());
        }
        let group = req.group.clone();
        let result = self.join_group(&mut state, req, total, now, delay);
        self.forget_if_vacant(&mut state, &group);
        result
    }

    fn join_group(
        &self,
        state: &mut HashMap<String, Group>,
        req: JoinRequest,
        total: usize,
        now: Instant,
        delay: Duration,
    ) -> Result<JoinStep, CoordinatorError> {
        let g = state.get_mut(&req.group).expect("inserted by the caller");
        if !g.supports(&req.protocol_type, &req.protocols) {
            return Err(CoordinatorError::InconsistentGroupProtocol);
        }
        if req.member_id.is_empty() {
            return self.join_new(g, req, total, now, delay);
        }
        if g.pending.remove(&req.member_id).is_some() {
            return Ok(self.add_member(g, req.member_id.clone(), req, now, delay));
        }
        let Some(member) = g.members.get_mut(&req.member_id) else {
            return Err(CoordinatorError::UnknownMemberId);
        };
        let unchanged = member.protocols == req.protocols;
        member.client_id = req.client_id;
        member.client_host = req.client_host;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        member.instance_id = req.group_instance_id;
        member.last_heard = now;
        let is_leader = g.leader.as_deref() == Some(req.member_id.as_str());
        match g.state {
            State::CompletingRebalance if unchanged => return Ok(JoinStep::Answer(g.joined(&req.member_id))),
            State::Stable if unchanged && !is_leader => return Ok(JoinStep::Answer(g.joined(&req.member_id))),
            _ => {}
        }
        let member = g.members.get_mut(&req.member_id).expect("found above");
        member.protocols = req.protocols;
        let (tx, rx) = oneshot::channel();
        member.awaiting_join = Some(tx);
        if g.state != State::PreparingRebalance {
            g.prepare_rebalance(now, delay);
        }
        g.try_complete_join(now);
        Ok(JoinStep::Wait(rx))
    }

    /// A join without a member id: a new member (or a static member's new incarnation).
    fn join_new(
        &self,
        g: &mut Group,
        req: JoinRequest,
        total: usize,
        now: Instant,
        delay: Duration,
    ) -> Result<JoinStep, CoordinatorError> {
        // A static member coming back replaces its old incarnation.
        let replaced = req.group_instance_id.as_ref().and_then(|instance| {
            g.members
                .iter()
                .find(|(_, m)| m.instance_id.as_ref() == Some(instance))
                .map(|(id, _)| id.clone())
        });
        if let Some(old) = &replaced {
            if let Some(mut member) = g.members.remove(old) {
                member.dismiss(CoordinatorError::UnknownMemberId);
            }
        } else if g.members.len() + g.pending.len() >= MAX_MEMBERS_PER_GROUP || total >= MAX_MEMBERS {
            return Err(CoordinatorError::GroupMaxSizeReached);
        }
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let id = format!("{prefix}-{}", self.unique_suffix());
        if req.require_known_member_id && req.group_instance_id.is_none() {
            g.pending.insert(id.clone(), now + req.session_timeout);
            return Err(CoordinatorError::MemberIdRequired(id));
        }
        Ok(self.add_member(g, id, req, now, delay))
    }

    fn add_member(&self, g: &mut Group, id: String, req: JoinRequest, now: Instant, delay: Duration) -> JoinStep {
        if g.members.is_empty() {
            g.protocol_type = req.protocol_type.clone();
        }
        let (tx, rx) = oneshot::channel();
        g.members.insert(
            id,
            Member {
                instance_id: req.group_instance_id,
                client_id: req.client_id,
                client_host: req.client_host,
                protocols: req.protocols,
                session_timeout: req.session_timeout,
                rebalance_timeout: req.rebalance_timeout,
                joined: self.next_joined.fetch_add(1, Ordering::Relaxed),
                last_heard: now,
                awaiting_join: Some(tx),
                awaiting_sync: None,
                assignment: Vec::new(),
            },
        );
        if g.state == State::PreparingRebalance {
            // A new member during the initial delay pushes it back (up to its cap).
            if let Some(rebalance) = &mut g.rebalance {
                if rebalance.initial_until.is_some() {
                    rebalance.initial_until = Some((now + delay).min(rebalance.initial_cap));
                }
            }
        }
        g.membership_changed(now, delay);
        JoinStep::Wait(rx)
    }

    /// A UUID-shaped suffix unique within this process (time and a counter; member ids
    /// need to be distinct, not secret).
    fn unique_suffix(&self) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let count = self.next_member.fetch_add(1, Ordering::Relaxed);
        let mixed = (count ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            nanos >> 32,
            (nanos >> 16) & 0xffff,
            nanos & 0xffff,
            count & 0xffff,
            mixed & 0xffff_ffff_ffff
        )
    }
}

fn check_group(group: &str) -> Result<(), CoordinatorError> {
    check_name(group).map_err(|_| CoordinatorError::InvalidGroupId)
}

pub mod consumer_protocol;
mod group;

#[cfg(test)]
mod tests;
