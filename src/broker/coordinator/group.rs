//! One group's state machine in Kafka's classic protocol: members, pending member ids,
//! the rebalance barrier, generations, protocol choice, assignments and deadlines. Pure:
//! no I/O and no clock of its own (every step is given `now`); the coordinator holds the
//! groups under its lock and sends the answers these steps produce.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{CoordinatorError, Joined};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl State {
    pub(super) fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
        }
    }
}

pub(super) type JoinAnswer = Result<Joined, CoordinatorError>;
pub(super) type SyncAnswer = Result<Vec<u8>, CoordinatorError>;

pub(super) struct Member {
    pub(super) instance_id: Option<String>,
    pub(super) client_id: String,
    pub(super) client_host: String,
    pub(super) protocols: Vec<(String, Vec<u8>)>,
    pub(super) session_timeout: Duration,
    pub(super) rebalance_timeout: Duration,
    /// Order of joining the group: the leader is the earliest member left.
    pub(super) joined: u64,
    pub(super) last_heard: Instant,
    /// Set while the member waits at the join barrier.
    pub(super) awaiting_join: Option<oneshot::Sender<JoinAnswer>>,
    /// Set while the member waits for the leader's assignments.
    pub(super) awaiting_sync: Option<oneshot::Sender<SyncAnswer>>,
    pub(super) assignment: Vec<u8>,
}

impl Member {
    pub(super) fn metadata(&self, protocol: &str) -> Vec<u8> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Members waiting at a barrier are alive; others must have been heard from lately.
    pub(super) fn expired(&self, now: Instant) -> bool {
        self.awaiting_join.is_none()
            && self.awaiting_sync.is_none()
            && now.duration_since(self.last_heard) >= self.session_timeout
    }

    /// Answers whatever the member waits for, as it leaves the group.
    pub(super) fn dismiss(&mut self, why: CoordinatorError) {
        if let Some(tx) = self.awaiting_join.take() {
            let _ = tx.send(Err(why.clone()));
        }
        if let Some(tx) = self.awaiting_sync.take() {
            let _ = tx.send(Err(why));
        }
    }
}

/// Deadlines of a rebalance in progress.
pub(super) struct Rebalance {
    /// Members that have not rejoined by then are removed.
    pub(super) deadline: Instant,
    /// The first rebalance of an empty group completes no earlier than this…
    pub(super) initial_until: Option<Instant>,
    /// …which new members push back, up to this.
    pub(super) initial_cap: Instant,
}

pub(super) struct Group {
    pub(super) state: State,
    pub(super) generation: i32,
    pub(super) protocol_type: String,
    pub(super) protocol_name: String,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// Member ids handed out by MemberIdRequired, with when they lapse.
    pub(super) pending: HashMap<String, Instant>,
    pub(super) rebalance: Option<Rebalance>,
    /// While CompletingRebalance: members that have not sent SyncGroup by then are removed.
    pub(super) sync_deadline: Option<Instant>,
}

impl Group {
    pub(super) fn new() -> Group {
        Group {
            state: State::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol_name: String::new(),
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            rebalance: None,
            sync_deadline: None,
        }
    }

    /// Nothing to keep: no member, none pending.
    pub(super) fn vacant(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty()
    }

    /// Whether a member with this protocol type and these protocols fits the group: any
    /// does while it has no members; otherwise the type must be the group's and one of the
    /// protocols one that every member supports (Kafka's `supportsProtocols`).
    pub(super) fn supports(&self, protocol_type: &str, protocols: &[(String, Vec<u8>)]) -> bool {
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type == protocol_type
            && protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == name))
            })
    }

    fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// The protocol all members support that most of them prefer (ties: the earliest
    /// member's preference).
    fn select_protocol(&self) -> String {
        let mut ordered: Vec<&Member> = self.members.values().collect();
        ordered.sort_by_key(|m| m.joined);
        let candidates: Vec<&String> = ordered[0]
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| ordered.iter().all(|m| m.protocols.iter().any(|(p, _)| p == *name)))
            .collect();
        let mut votes: Vec<(&String, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for member in &ordered {
            let vote = member
                .protocols
                .iter()
                .find_map(|(p, _)| votes.iter().position(|(c, _)| *c == p));
            if let Some(i) = vote {
                votes[i].1 += 1;
            }
        }
        // `max_by_key` keeps the last of equals; the first in the earliest member's order wins.
        votes
            .iter()
            .rev()
            .max_by_key(|(_, count)| *count)
            .map(|(name, _)| (*name).clone())
            .unwrap_or_default()
    }

    /// The join answer for `member_id` in the current generation.
    pub(super) fn joined(&self, member_id: &str) -> Joined {
        let leader = self.leader.clone().unwrap_or_default();
        let members = if leader == member_id {
            let mut ordered: Vec<(&String, &Member)> = self.members.iter().collect();
            ordered.sort_by_key(|(_, m)| m.joined);
            ordered
                .into_iter()
                .map(|(id, m)| (id.clone(), m.instance_id.clone(), m.metadata(&self.protocol_name)))
                .collect()
        } else {
            Vec::new()
        };
        Joined {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader,
            member_id: member_id.to_string(),
            members,
        }
    }

    /// Starts a rebalance: members waiting for assignments are told to rejoin.
    pub(super) fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        if self.state == State::CompletingRebalance {
            for member in self.members.values_mut() {
                if let Some(tx) = member.awaiting_sync.take() {
                    let _ = tx.send(Err(CoordinatorError::RebalanceInProgress));
                }
            }
        }
        let timeout = self.rebalance_timeout();
        let rebalance = if self.state == State::Empty {
            let cap = now + timeout.max(initial_delay);
            Rebalance {
                deadline: cap,
                initial_until: Some(now + initial_delay),
                initial_cap: cap,
            }
        } else {
            Rebalance {
                deadline: now + timeout,
                initial_until: None,
                initial_cap: now,
            }
        };
        self.rebalance = Some(rebalance);
        self.sync_deadline = None;
        self.state = State::PreparingRebalance;
    }

    /// Members changed (joined, left, expired): rebalance if the group is settled, or see
    /// whether the rebalance in progress can complete now.
    pub(super) fn membership_changed(&mut self, now: Instant, initial_delay: Duration) {
        match self.state {
            State::Stable | State::CompletingRebalance => self.prepare_rebalance(now, initial_delay),
            State::Empty if !self.members.is_empty() => self.prepare_rebalance(now, initial_delay),
            State::Empty => {}
            State::PreparingRebalance => {}
        }
        self.try_complete_join(now);
    }

    /// Completes the rebalance in progress when every member has rejoined (and the initial
    /// delay is over), or its deadline has passed.
    pub(super) fn try_complete_join(&mut self, now: Instant) {
        let Some(rebalance) = &self.rebalance else { return };
        if self.state != State::PreparingRebalance {
            return;
        }
        let all_joined = self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some());
        let delayed = rebalance.initial_until.is_some_and(|until| now < until);
        if now >= rebalance.deadline || (all_joined && !delayed) {
            self.complete_join(now);
        }
    }

    fn complete_join(&mut self, now: Instant) {
        self.rebalance = None;
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.awaiting_join.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(mut member) = self.members.remove(&id) {
                member.dismiss(CoordinatorError::UnknownMemberId);
            }
        }
        self.generation = self.generation.wrapping_add(1).max(1);
        if self.members.is_empty() {
            self.state = State::Empty;
            self.protocol_name.clear();
            self.protocol_type.clear();
            self.leader = None;
            return;
        }
        self.protocol_name = self.select_protocol();
        if !self.leader.as_ref().is_some_and(|l| self.members.contains_key(l)) {
            self.leader = self
                .members
                .iter()
                .min_by_key(|(_, m)| m.joined)
                .map(|(id, _)| id.clone());
        }
        self.state = State::CompletingRebalance;
        self.sync_deadline = Some(now + self.rebalance_timeout());
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let answer = self.joined(&id);
            let member = self.members.get_mut(&id).expect("listed above");
            member.assignment.clear();
            member.last_heard = now;
            if let Some(tx) = member.awaiting_join.take() {
                let _ = tx.send(Ok(answer));
            }
        }
    }

    /// The leader's assignments arrived: every member gets its own, the group is Stable.
    pub(super) fn complete_sync(&mut self, mut assignments: HashMap<String, Vec<u8>>, now: Instant) {
        for (id, member) in self.members.iter_mut() {
            member.assignment = assignments.remove(id).unwrap_or_default();
            if let Some(tx) = member.awaiting_sync.take() {
                member.last_heard = now;
                let _ = tx.send(Ok(member.assignment.clone()));
            }
        }
        self.state = State::Stable;
        self.sync_deadline = None;
    }

    /// Enforces the group's deadlines at `now`.
    pub(super) fn tick(&mut self, now: Instant, initial_delay: Duration) {
        self.pending.retain(|_, lapses| now < *lapses);
        if self.state == State::CompletingRebalance && self.sync_deadline.is_some_and(|d| now >= d) {
            // The leader's assignments never came: members that did not send SyncGroup go.
            let silent: Vec<String> = self
                .members
                .iter()
                .filter(|(_, m)| m.awaiting_sync.is_none())
                .map(|(id, _)| id.clone())
                .collect();
            for id in silent {
                self.members.remove(&id);
            }
            self.prepare_rebalance(now, initial_delay);
        }
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.expired(now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.members.remove(id);
        }
        if !expired.is_empty() {
            self.membership_changed(now, initial_delay);
        } else {
            self.try_complete_join(now);
        }
    }

    /// The group's next deadline.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| next = Some(next.map_or(at, |n| n.min(at)));
        for lapses in self.pending.values() {
            consider(*lapses);
        }
        for member in self.members.values() {
            if member.awaiting_join.is_none() && member.awaiting_sync.is_none() {
                consider(member.last_heard + member.session_timeout);
            }
        }
        if let Some(rebalance) = &self.rebalance {
            consider(rebalance.deadline);
            if let Some(until) = rebalance.initial_until {
                consider(until);
            }
        }
        if let Some(deadline) = self.sync_deadline {
            consider(deadline);
        }
        next
    }
}
