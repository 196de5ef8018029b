//! Compatibility engine benchmarks.
//!
//! Run with `cargo bench --bench compat`. The targets (see BENCHMARKS.md): for a 60-field
//! record and its JSON Schema and Protobuf equivalents, a FULL_TRANSITIVE check against 100 previous
//! versions within 2 ms, and parse + canonicalise within 50 µs. Hostile shapes (a
//! 100,000-symbol enum, a 3,000-branch union of records, a 30,000-field record) must be
//! checked and diffed well under a second.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// The allocator the `herald` binary uses, so the figures are the shipped binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use herald::compat::{check, CompatibilityLevel, PreviousVersion};
use herald::schema::{Schema, SchemaType};

#[path = "fixtures/mod.rs"]
mod fixtures;
use fixtures::{avro_record, json_object, proto_message};

fn full_transitive(
    c: &mut Criterion,
    name: &str,
    schema_type: SchemaType,
    make: fn(usize) -> String,
    new_version: usize,
) {
    let history: Vec<Schema> = (1..=100)
        .map(|v| Schema::parse(schema_type, &make(v), &[]).expect("benchmark schema parses"))
        .collect();
    let previous: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&history);
    let new = Schema::parse(schema_type, &make(new_version), &[]).expect("new schema parses");
    let report = check(CompatibilityLevel::FullTransitive, &previous, &new).expect("within the step budget");
    assert!(
        report.is_compatible(),
        "the benchmark measures a full, passing walk: {:?}",
        report.incompatibilities.first()
    );
    c.bench_function(name, |b| {
        b.iter(|| {
            check(
                CompatibilityLevel::FullTransitive,
                black_box(&previous),
                black_box(&new),
            )
        })
    });
}

fn benches(c: &mut Criterion) {
    full_transitive(
        c,
        "avro/full_transitive_60_fields_100_versions",
        SchemaType::Avro,
        avro_record,
        120,
    );
    full_transitive(
        c,
        "json/full_transitive_60_properties_100_versions",
        SchemaType::Json,
        json_object,
        101,
    );

    full_transitive(
        c,
        "protobuf/full_transitive_60_fields_100_versions",
        SchemaType::Protobuf,
        proto_message,
        120,
    );

    let avro = avro_record(120);
    c.bench_function("avro/parse_and_canonicalise_60_fields", |b| {
        b.iter(|| Schema::parse(SchemaType::Avro, black_box(&avro), &[]).expect("parses"))
    });
    let json = json_object(101);
    c.bench_function("json/parse_and_canonicalise_60_properties", |b| {
        b.iter(|| Schema::parse(SchemaType::Json, black_box(&json), &[]).expect("parses"))
    });
    let proto = proto_message(120);
    c.bench_function("protobuf/parse_and_canonicalise_60_fields", |b| {
        b.iter(|| Schema::parse(SchemaType::Protobuf, black_box(&proto), &[]).expect("parses"))
    });
}

/// Baselines for the parse figures: what the JSON text alone costs.
fn baselines(c: &mut Criterion) {
    let avro = avro_record(120);
    c.bench_function("baseline/serde_json_value_avro_text", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&avro)).expect("parses"))
    });
    let json = json_object(101);
    c.bench_function("baseline/serde_json_value_json_text", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&json)).expect("parses"))
    });
    let value: serde_json::Value = serde_json::from_str(&json).expect("parses");
    c.bench_function("baseline/jsonschema_meta_validate", |b| {
        b.iter(|| jsonschema::draft7::meta::validate(black_box(&value)).is_ok())
    });
}

/// A record whose one field is an enum of `symbols` symbols (`S0`, `S1`, …).
fn enum_schema(symbols: usize) -> String {
    let list: Vec<String> = (0..symbols).map(|i| format!("\"S{i}\"")).collect();
    format!(
        r#"{{"type":"record","name":"E","fields":[{{"name":"e","type":{{"type":"enum","name":"Big","symbols":[{}]}}}}]}}"#,
        list.join(",")
    )
}

/// A record whose one field is a union of `branches` small records.
fn union_schema(branches: usize) -> String {
    let list: Vec<String> = (0..branches)
        .map(|i| format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
        .collect();
    format!(
        r#"{{"type":"record","name":"U","fields":[{{"name":"u","type":[{}]}}]}}"#,
        list.join(",")
    )
}

/// A record of `fields` int fields.
fn wide_schema(fields: usize) -> String {
    let list: Vec<String> = (0..fields)
        .map(|i| format!(r#"{{"name":"f{i}","type":"int"}}"#))
        .collect();
    format!(r#"{{"type":"record","name":"W","fields":[{}]}}"#, list.join(","))
}

/// A BACKWARD check and a diff between two versions of a hostile shape (the second one
/// with one entry more).
fn hostile(c: &mut Criterion, name: &str, make: fn(usize) -> String, size: usize) {
    let old = Schema::parse(SchemaType::Avro, &make(size), &[]).expect("parses");
    let new = Schema::parse(SchemaType::Avro, &make(size + 1), &[]).expect("parses");
    let previous = [PreviousVersion {
        version: 1,
        schema: &old,
    }];
    let mut group = c.benchmark_group("hostile");
    group.sample_size(10);
    group.bench_function(format!("avro/backward_{name}"), |b| {
        b.iter(|| check(CompatibilityLevel::Backward, black_box(&previous), black_box(&new)).expect("judged"))
    });
    group.bench_function(format!("avro/diff_{name}"), |b| {
        b.iter(|| herald::compat::diff::diff(black_box(&old), black_box(&new)).expect("judged"))
    });
    group.finish();
}

fn hostile_shapes(c: &mut Criterion) {
    hostile(c, "enum_100k_symbols", enum_schema, 100_000);
    hostile(c, "union_3000_records", union_schema, 3_000);
    hostile(c, "record_30k_fields", wide_schema, 30_000);
}

criterion_group!(compat, benches, baselines, hostile_shapes);
criterion_main!(compat);
