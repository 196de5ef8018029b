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

/// A 60-field Avro record: primitives, logical types, nested records, enums, arrays, maps
/// and nullable unions. `version` changes the docs and how many of the last ten optional
/// fields exist (`version % 11`), so every version is distinct and all are FULL_TRANSITIVE
/// compatible; version 120 has all 60 fields.
fn avro_record(version: usize) -> String {
    let optional = version % 11;
    let mut fields = Vec::new();
    for i in 0..60 {
        let doc = format!("Field {i}, as of version {version}.");
        let schema = match i % 10 {
            0 => r#""string""#.to_string(),
            1 => r#""long""#.to_string(),
            2 => r#""double""#.to_string(),
            3 => r#"{"type":"long","logicalType":"timestamp-millis"}"#.to_string(),
            4 => format!(
                r#"{{"type":"record","name":"Money{i}","fields":[{{"name":"units","type":"long"}},{{"name":"currency","type":"string"}}]}}"#
            ),
            5 => {
                format!(r#"{{"type":"enum","name":"Status{i}","symbols":["UNKNOWN","A","B","C"],"default":"UNKNOWN"}}"#)
            }
            6 => r#"{"type":"array","items":"string"}"#.to_string(),
            7 => r#"{"type":"map","values":"string"}"#.to_string(),
            8 => r#"["null","string"]"#.to_string(),
            _ => r#""boolean""#.to_string(),
        };
        let field = if i < 50 {
            format!(r#"{{"name":"f{i}","type":{schema},"doc":"{doc}"}}"#)
        } else if i - 50 < optional {
            // The last ten fields arrive over time, optional with a null default.
            let schema = if schema.starts_with('[') {
                schema
            } else {
                format!(r#"["null",{schema}]"#)
            };
            format!(r#"{{"name":"f{i}","type":{schema},"default":null,"doc":"{doc}"}}"#)
        } else {
            continue;
        };
        fields.push(field);
    }
    format!(
        r#"{{"type":"record","name":"Payment","namespace":"com.acme","doc":"v{version}","fields":[{}]}}"#,
        fields.join(",")
    )
}

/// The JSON Schema equivalent: 60 properties of the same kinds, closed, with the
/// descriptions changing from version to version.
fn json_object(version: usize) -> String {
    let mut properties = Vec::new();
    for i in 0..60 {
        let d = format!("Property {i}, as of version {version}.");
        let p = match i % 10 {
            0 => format!(r#""id_{i}":{{"type":"string","maxLength":64,"description":"{d}"}}"#),
            1 => format!(r#""count_{i}":{{"type":"integer","minimum":0,"description":"{d}"}}"#),
            2 => format!(r#""ratio_{i}":{{"type":"number","description":"{d}"}}"#),
            3 => format!(r#""at_{i}":{{"type":"string","format":"date-time","description":"{d}"}}"#),
            4 => format!(
                r#""money_{i}":{{"type":"object","properties":{{"units":{{"type":"integer"}},"currency":{{"type":"string","pattern":"^[A-Z]{{3}}$"}}}},"required":["units","currency"],"additionalProperties":false,"description":"{d}"}}"#
            ),
            5 => format!(r#""status_{i}":{{"type":"string","enum":["UNKNOWN","A","B","C"],"description":"{d}"}}"#),
            6 => format!(r#""tags_{i}":{{"type":"array","items":{{"type":"string"}},"description":"{d}"}}"#),
            7 => format!(
                r#""attrs_{i}":{{"type":"object","additionalProperties":{{"type":"string"}},"description":"{d}"}}"#
            ),
            8 => format!(r#""note_{i}":{{"type":["string","null"],"description":"{d}"}}"#),
            _ => format!(r#""flag_{i}":{{"type":"boolean","default":false,"description":"{d}"}}"#),
        };
        properties.push(p);
    }
    format!(
        r#"{{"$schema":"http://json-schema.org/draft-07/schema#","title":"Payment","description":"v{version}","type":"object","additionalProperties":false,"required":["id_0","count_1"],"properties":{{{}}}}}"#,
        properties.join(",")
    )
}

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
