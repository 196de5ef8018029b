//! The log-backed broker's storage: Kafka record batches (v2) in segmented, append-only
//! partition logs with sparse indexes, explicit durability points and crash recovery.
//!
//! - [`batch`]: the record batch codec, with [`compression`] for the batches Kafka
//!   producers compress; [`producers`] idempotent producers' sequence state;
//!   [`log`] a partition's segmented log;
//!   [`partition`] a log in service with group-committed appends by shared flusher threads;
//!   [`fds`] the descriptor budget and the bounded cache of open segment files;
//! - [`topic`] topic settings; [`Broker`] the topics under a data directory, with produce,
//!   fetch and retention;
//! - [`groups`] consumer groups and their committed offsets (REST Proxy-style members);
//!   [`coordinator`] Kafka's classic group protocol over the same committed offsets.
//!
//! Produce and consume over HTTP, consumer groups and produce-time validation are built on
//! these next. The on-disk format is documented
//! byte by byte in ARCHITECTURE.md.

pub mod batch;
pub mod compression;
pub mod coordinator;
pub mod fds;
pub mod groups;
pub mod log;
pub mod partition;
pub mod producers;
mod segment;
pub use segment::{sync_dir, write_atomically};
mod service;
pub mod topic;

pub use coordinator::{
    Coordinator, CoordinatorConfig, CoordinatorError, GroupDescription, JoinRequest, Joined, MemberDescription,
};
pub use service::{murmur2, Appended, Broker, BrokerError, Topic};

#[cfg(test)]
mod tests;
