//! Readers of the log that push records to people and programs without a Kafka client.
//!
//! - [`tail`]: live tails, a topic's records decoded as they become durable
//!   (`GET /topics/{t}/live`, `herald tail`).
//! - [`webhook`]: partner webhooks, a topic's records POSTed to an HTTPS endpoint, signed,
//!   in partition order, at least once (progress kept as a consumer group's committed
//!   offsets), retried with backoff, paused with the cause when the endpoint keeps failing.
//!
//! - [`redaction`]: what a reader without the grant for a sensitive tag sees of the records
//!   it reads (over HTTP and in live tails): the tagged fields redacted.
//!
//! Both read only up to the durable point, so nothing pushed can be lost by a crash.

pub mod redaction;
pub mod tail;
pub mod webhook;
