//! Herald's integration tests, in one binary (faster to build and link than one per file).

mod avro_compat; // Avro resolution rules, level by level, as data tables
mod bad_input; // malformed, hostile and oversized schemas: clear errors, no panics
mod broker_api; // topics, produce and reads over HTTP (REST Proxy v2 shapes)
mod broker_cli; // herald topics / produce / consume against a running server
mod ci_check; // herald check / register / validate on real git repositories
mod cli; // the real `herald` binary: compat and diff, exit codes, output formats
mod consumer_api; // consumer groups over HTTP: sharing, commits, resets, timeouts
mod contract_rules; // data-contract rules the server enforces on produce: CEL conditions, actions, metrics, bad rules
mod crash; // SIGKILL during produce and topic create/delete: every acknowledged write survives
mod descriptors; // open files and threads stay bounded with 1,200 partitions; a low limit refuses topics, never a start
mod diff; // semantic diffs between versions, for changelogs
mod docs_ui; // the documentation UI, AsyncAPI export, static build and a real browser
mod edge_hardening; // the HTTP edge under hostile clients: panics, labels, CSRF types, headers, limits, slow connections
mod examples; // the example domain under schemas/ evolves as its README says
mod fuzz_corpus; // the fuzz targets' seeds and every past crash replayed, and their mutations for a bounded time
mod gate; // the contract gate in process: framing, ids, bodies, subject name strategies
mod hostile_schemas; // schemas no validator could finish with are refused; huge ones are bounded
mod json_compat; // Confluent's JSON Schema rules, as data tables
mod kafka_clients; // real Kafka clients (kcat, confluent-kafka, kafka-python, Java) on the Kafka listener, and SIGKILL through it
mod limits; // values in range, read budgets, consumer caps and expiry
mod live_tail; // GET /topics/{t}/live (Server-Sent Events) with curl and herald tail: decoding, resumption, shutdown
mod python_client; // confluent-kafka's Python SchemaRegistryClient against herald serve
mod reader_contracts; // consumer-declared contracts: readers that refuse changes at any level, READER_AWARE
mod registry_api; // the REST API through the router, on SQLite and PostgreSQL
mod registry_coherence; // two instances on one PostgreSQL database: each reads the other's writes within 100 ms
mod registry_confluent; // Confluent's error texts and leniency: defaults, Accept, UTF-16/32, empty schemas
mod registry_contexts; // schema contexts: qualified subjects, ids per context, the /contexts/{context}/ form, IMPORT into a context
mod registry_edges; // bad input, media types, health, metrics, concurrency
mod registry_profile; // the 7.x and 8.x response profiles (`api_profile`), difference by difference
mod registry_protobuf; // Protobuf subjects: text and descriptors, ?format=serialized, imports, Confluent's rules
mod schema_parse; // parsing, canonical text and fingerprints
mod security; // authentication, the denial matrix, filtered listings, the audit log, reloads
mod security_serve; // the real binary: exposure refusals, users and tokens commands, client credentials, the Python client
mod serve;
mod webhooks; // partner webhooks against a scripted receiver: signatures, order, retries, pauses, dead letters, rotation, SIGKILL // the real `herald serve` process: signals, restarts, two processes on PostgreSQL

pub mod certs;
pub mod registry_support;
pub mod support;
pub mod webhook_receiver;
