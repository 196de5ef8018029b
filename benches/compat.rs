//! Compatibility engine benchmarks.
//!
//! Run with `cargo bench --bench compat`. The targets (see BENCHMARKS.md): for a 60-field
//! record and its JSON Schema equivalent, a FULL_TRANSITIVE check against 100 previous
//! versions within 2 ms, and parse + canonicalise within 50 µs.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// The allocator the `herald` binary uses, so the figures are the shipped binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use herald::compat::{check, CompatibilityLevel, PreviousVersion};
use herald::schema::{Schema, SchemaType};

#[path = "fixtures/mod.rs"]
mod fixtures;
use fixtures::{avro_record, json_object};

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
    let report = check(CompatibilityLevel::FullTransitive, &previous, &new);
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

    let avro = avro_record(120);
    c.bench_function("avro/parse_and_canonicalise_60_fields", |b| {
        b.iter(|| Schema::parse(SchemaType::Avro, black_box(&avro), &[]).expect("parses"))
    });
    let json = json_object(101);
    c.bench_function("json/parse_and_canonicalise_60_properties", |b| {
        b.iter(|| Schema::parse(SchemaType::Json, black_box(&json), &[]).expect("parses"))
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

criterion_group!(compat, benches, baselines);
criterion_main!(compat);
