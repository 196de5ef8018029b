//! Herald: a schema registry and event-contract governance service.
//!
//! # Layout
//! - [`schema`]: parse and validate Avro and JSON Schema; canonical text; fingerprints.
//! - [`compat`]: compatibility levels, the per-format rules, explained reports, semantic diffs.
//! - [`cli`]: the `herald` command line.
//!
//! `schema` and `compat` are pure: plain data and functions, no I/O.

pub mod cli;
pub mod compat;
pub mod schema;
