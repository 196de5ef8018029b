//! Semantic diffs between versions: every change named, each marked per direction.

use herald::compat::diff::{diff, Change, Verdict};
use herald::schema::SchemaType;

use crate::support::parse;

fn render(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} [backward {}, forward {}] old={} new={}: {}",
                c.kind,
                c.path,
                c.backward.as_str(),
                c.forward.as_str(),
                c.old_pointer.as_deref().unwrap_or("-"),
                c.new_pointer.as_deref().unwrap_or("-"),
                c.description
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/schemas/{path}", env!("CARGO_MANIFEST_DIR"))).expect("example schema")
}

#[test]
fn avro_changes_with_verdicts() {
    let old = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Payment","fields":[
        {"name":"id","type":"string"},
        {"name":"amount","type":"int"},
        {"name":"legacy","type":"string"},
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["OK","FAILED"]}},
        {"name":"tags","type":{"type":"array","items":"string"},"doc":"old doc"},
        {"name":"note","type":["null","string"],"default":null}]}"#,
    );
    let new = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Payment","fields":[
        {"name":"id","type":"string"},
        {"name":"amount","type":"long"},
        {"name":"currency","type":"string","default":"EUR"},
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["OK","FAILED","PENDING"]}},
        {"name":"tags","type":{"type":"array","items":"string"},"doc":"new doc"},
        {"name":"note","type":["null","string","int"],"default":null},
        {"name":"reference","type":"string"}]}"#,
    );
    let changes = diff(&old, &new).unwrap();
    let kinds: Vec<(&str, &str, Verdict, Verdict)> = changes
        .iter()
        .map(|c| (c.kind, c.path.as_str(), c.backward, c.forward))
        .collect();
    use Verdict::{Breaking as B, Compatible as C};
    assert_eq!(
        kinds,
        vec![
            ("TYPE_CHANGED", "amount", C, B),
            ("FIELD_ADDED", "currency", C, C),
            ("ENUM_SYMBOL_ADDED", "status", C, B),
            ("DOC_CHANGED", "tags", C, C),
            ("UNION_BRANCH_ADDED", "note", C, B),
            ("FIELD_ADDED", "reference", B, C),
            ("FIELD_REMOVED", "legacy", C, B),
        ]
    );
    insta::assert_snapshot!("avro_diff", render(&changes));
}

#[test]
fn avro_example_history() {
    let v1 = parse(SchemaType::Avro, &example("payment-completed/history/v1.avsc"));
    let v3 = parse(SchemaType::Avro, &example("payment-completed/value.avsc"));
    let changes = diff(&v1, &v3).unwrap();
    assert!(
        changes
            .iter()
            .all(|c| c.backward == Verdict::Compatible && c.forward == Verdict::Compatible),
        "{}",
        render(&changes)
    );
    insta::assert_snapshot!("payment_v1_to_v3", render(&changes));
}

#[test]
fn identical_schemas_have_no_changes() {
    let v = parse(SchemaType::Avro, &example("payment-completed/value.avsc"));
    assert!(diff(&v, &v).unwrap().is_empty());
    let j = parse(SchemaType::Json, &example("order-placed/value.json"));
    assert!(diff(&j, &j).unwrap().is_empty());
}

#[test]
fn json_changes_with_verdicts() {
    let v1 = parse(SchemaType::Json, &example("order-placed/history/v1.json"));
    let v2 = parse(SchemaType::Json, &example("order-placed/value.json"));
    let changes = diff(&v1, &v2).unwrap();
    assert!(!changes.is_empty());
    // Adding optional properties to a closed object: fine for new readers, not for old ones.
    for c in &changes {
        assert_eq!(c.backward, Verdict::Compatible, "{}", render(&changes));
        assert_eq!(c.forward, Verdict::Breaking, "{}", render(&changes));
    }
    let cap = parse(SchemaType::Json, &example("order-placed/proposals/cap-quantity.json"));
    let changes = diff(&v2, &cap).unwrap();
    assert_eq!(changes.len(), 1, "{}", render(&changes));
    assert_eq!(changes[0].kind, "MAXIMUM_ADDED");
    assert_eq!(
        changes[0].new_pointer.as_deref(),
        Some("/definitions/line/properties/quantity")
    );
    assert_eq!(
        (changes[0].backward, changes[0].forward),
        (Verdict::Breaking, Verdict::Compatible)
    );
    insta::assert_snapshot!("order_v1_to_v2", render(&diff(&v1, &v2).unwrap()));
}
