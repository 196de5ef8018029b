//! The example domain under `schemas/` evolves exactly as `schemas/README.md` says.

use std::path::{Path, PathBuf};

use herald::compat::{check, CompatibilityLevel, PreviousVersion};
use herald::schema::{Schema, SchemaType};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn load(path: &Path) -> Schema {
    let schema_type = match path.extension().and_then(|e| e.to_str()) {
        Some("avsc") => SchemaType::Avro,
        Some("proto") => SchemaType::Protobuf,
        _ => SchemaType::Json,
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Schema::parse(schema_type, &text, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The history (oldest first) followed by the current value schema.
fn versions(topic: &str, value_file: &str) -> Vec<Schema> {
    let dir = schemas_dir().join(topic);
    let mut history: Vec<PathBuf> = std::fs::read_dir(dir.join("history"))
        .map(|entries| entries.map(|e| e.expect("readable entry").path()).collect())
        .unwrap_or_default();
    history.sort();
    let mut all: Vec<Schema> = history.iter().map(|p| load(p)).collect();
    all.push(load(&dir.join(value_file)));
    all
}

fn verdict(topic: &str, value_file: &str, level: CompatibilityLevel, proposal: &str) -> Vec<&'static str> {
    let history = versions(topic, value_file);
    let previous: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&history);
    let new = load(&schemas_dir().join(topic).join("proposals").join(proposal));
    check(level, &previous, &new)
        .unwrap()
        .incompatibilities
        .iter()
        .map(|i| i.rule)
        .collect()
}

#[test]
fn every_schema_file_parses() {
    let mut count = 0;
    for topic in std::fs::read_dir(schemas_dir()).expect("schemas/ exists") {
        let topic = topic.expect("entry").path();
        if !topic.is_dir() {
            continue;
        }
        for sub in ["", "history", "proposals"] {
            let Ok(entries) = std::fs::read_dir(topic.join(sub)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("entry").path();
                if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("avsc" | "json" | "proto")
                ) && !path.ends_with("topic.json")
                {
                    load(&path);
                    count += 1;
                }
            }
        }
    }
    assert!(count >= 14, "only {count} schema files found");
}

#[test]
fn histories_are_compatible_under_their_levels() {
    for (topic, value, level) in [
        ("payment-completed", "value.avsc", CompatibilityLevel::FullTransitive),
        ("order-placed", "value.json", CompatibilityLevel::BackwardTransitive),
        ("stock-adjusted", "value.proto", CompatibilityLevel::BackwardTransitive),
    ] {
        let all = versions(topic, value);
        for n in 1..all.len() {
            let previous: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&all[..n]);
            let report = check(level, &previous, &all[n]).unwrap();
            assert!(
                report.is_compatible(),
                "{topic} v{} under {level}: {:#?}",
                n + 1,
                report.incompatibilities
            );
        }
    }
}

#[test]
fn payment_proposals() {
    let level = CompatibilityLevel::FullTransitive;
    assert_eq!(
        verdict(
            "payment-completed",
            "value.avsc",
            level,
            "add-optional-refund-policy.avsc"
        ),
        Vec::<&str>::new()
    );
    assert_eq!(
        verdict(
            "payment-completed",
            "value.avsc",
            level,
            "add-required-refund-policy.avsc"
        ),
        vec!["READER_FIELD_MISSING_DEFAULT_VALUE"; 3]
    );
    assert_eq!(
        verdict("payment-completed", "value.avsc", level, "remove-order-id.avsc"),
        vec!["READER_FIELD_MISSING_DEFAULT_VALUE"; 3]
    );
    assert_eq!(
        verdict("payment-completed", "value.avsc", level, "amount-units-as-double.avsc"),
        vec!["TYPE_MISMATCH"; 3]
    );
}

#[test]
fn order_proposals() {
    let level = CompatibilityLevel::BackwardTransitive;
    assert_eq!(
        verdict("order-placed", "value.json", level, "add-optional-gift-note.json"),
        Vec::<&str>::new()
    );
    assert_eq!(
        verdict("order-placed", "value.json", level, "cap-quantity.json"),
        vec!["MAXIMUM_ADDED"; 2]
    );
    assert_eq!(
        verdict("order-placed", "value.json", level, "remove-customer-id.json"),
        vec!["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"; 2]
    );
}

#[test]
fn stock_proposals() {
    let level = CompatibilityLevel::BackwardTransitive;
    assert_eq!(
        verdict("stock-adjusted", "value.proto", level, "add-batch-number.proto"),
        Vec::<&str>::new()
    );
    // A reader skips a field it no longer declares: Confluent lets a removal through.
    assert_eq!(
        verdict("stock-adjusted", "value.proto", level, "remove-on-hand.proto"),
        Vec::<&str>::new()
    );
    assert_eq!(
        verdict("stock-adjusted", "value.proto", level, "delta-as-double.proto"),
        vec!["FIELD_SCALAR_KIND_CHANGED"; 2]
    );
}
