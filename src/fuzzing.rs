//! The inputs Herald takes from anyone who can reach it, as functions of bytes: the entry
//! points of the `cargo fuzz` targets in `fuzz/`, and of the test that replays their seed
//! corpus and every crash found (`tests/it/fuzz_corpus.rs`). Each must answer any input
//! with a value or an error: never a panic, an abort, or memory out of proportion to the
//! input's size.

use crate::schema::{Schema, SchemaType};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/fuzz_targets/` and `fuzz/seeds/` name them.
pub const TARGETS: [(&str, Target); 6] = [
    ("avro_schema", avro_schema),
    ("json_schema", json_schema),
    ("protobuf_schema", protobuf_schema),
    ("record_batch", record_batch),
    ("kafka_request", kafka_request),
    ("produce_body", produce_body),
];

/// An Avro schema as `POST /subjects/{s}/versions` takes it: parsed, and if it parses, its
/// canonical form and fingerprint made, as registering does.
pub fn avro_schema(data: &[u8]) {
    schema(SchemaType::Avro, data);
}

/// A JSON Schema, as [`avro_schema`].
pub fn json_schema(data: &[u8]) {
    schema(SchemaType::Json, data);
}

/// A Protobuf schema (`.proto` text or base64 descriptor), as [`avro_schema`].
pub fn protobuf_schema(data: &[u8]) {
    schema(SchemaType::Protobuf, data);
}

fn schema(schema_type: SchemaType, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(schema) = Schema::parse(schema_type, text, &[]) {
        let _ = schema.fingerprint();
        // The canonical text must parse again: it is what the registry stores and serves.
        let canonical = schema.canonical().to_string();
        if let Err(err) = Schema::parse(schema_type, &canonical, &[]) {
            panic!("the canonical text of a valid schema does not parse: {err}\n{canonical}");
        }
    }
}

/// A Kafka producer's record set (batches back to back), checked and decoded as a Produce
/// request's are before the contract gate reads every record.
pub fn record_batch(data: &[u8]) {
    let Ok(batches) = crate::broker::batch::ProducedBatches::check(data.to_vec()) else {
        return;
    };
    for (_, records) in batches.batches() {
        for record in records {
            if record.is_err() {
                break;
            }
        }
    }
}

/// A Kafka request frame (after its size), as the listener reads it.
pub fn kafka_request(data: &[u8]) {
    let _ = crate::kafka::request::parse(bytes::Bytes::copy_from_slice(data));
}

/// A REST produce body: the first byte chooses the embedded format (even: JSON, odd:
/// binary), the rest is the body.
pub fn produce_body(data: &[u8]) {
    let Some((choice, body)) = data.split_first() else {
        return;
    };
    let _ = crate::http::produce_body_records(body, choice % 2 == 1);
}
