//! The log-backed broker's storage: Kafka record batches (v2) in segmented, append-only
//! partition logs with sparse indexes, explicit durability points and crash recovery.
//!
//! This is the first layer of the broker (issue 4); topics, produce and consume over HTTP,
//! consumer groups and validation are built on it next. The on-disk format is documented
//! byte by byte in ARCHITECTURE.md.

pub mod batch;
pub mod log;
pub mod partition;
mod segment;

#[cfg(test)]
mod tests;
