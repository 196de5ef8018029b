//! Herald: a schema registry and event-contract governance service.
//!
//! # Layout
//! - [`schema`]: parse and validate Avro and JSON Schema; canonical text; fingerprints.
//! - [`compat`]: compatibility levels, the per-format rules, explained reports, semantic diffs.
//! - [`registry`]: the registry's rules (subjects, versions, ids, configs, modes, deletes).
//! - [`store`]: persistence through sqlx, SQLite or PostgreSQL.
//! - [`http`]: the Confluent-compatible REST API, health and metrics.
//! - [`config`]: `herald serve` settings from flags, `HERALD_*` variables and `herald.toml`.
//! - [`broker`]: the log-backed broker's storage (record batches, segmented partition logs).
//! - [`gate`]: the one contract gate every door (REST produce, Kafka produce) judges records
//!   with before they are written.
//! - [`validate`]: payloads checked against registered schemas before they are produced.
//! - [`expression`]: CEL expressions over decoded records (webhook and live-tail filters).
//! - [`delivery`]: readers of the log that push: live tails and partner webhooks.
//! - [`cli`]: the `herald` command line.
//! - [`fuzzing`]: the untrusted inputs as functions of bytes, for the fuzz targets.
//!
//! `schema`, `compat` and `validate` are pure: plain data and functions, no I/O.

pub mod broker;
pub mod calendar;
pub mod cli;
pub mod compat;
pub mod config;
pub mod delivery;
pub mod docs;
pub mod expression;
pub mod fuzzing;
pub mod gate;
pub mod http;
pub mod kafka;
pub mod registry;
pub mod schema;
pub mod security;
pub mod store;
pub mod validate;
