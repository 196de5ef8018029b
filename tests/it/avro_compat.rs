//! Avro compatibility, as data: each row is (level, previous versions, new schema, the rule
//! ids expected). BACKWARD means the new schema reads data written with the old one;
//! FORWARD the old schema reads data written with the new one.

use herald::compat::avro as avro_rules;
use herald::schema::SchemaType;

use crate::support::{case, check, parse, run_table, Case};

const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// Avro's promotions, written out independently of the checker: (writer, reader).
const PROMOTIONS: [(&str, &str); 8] = [
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
];

fn readable(writer: &str, reader: &str) -> bool {
    writer == reader || PROMOTIONS.contains(&(writer, reader))
}

/// Every pair of primitive types, bare and as a record field, under BACKWARD, FORWARD and
/// FULL: 384 cases.
#[test]
fn primitive_promotion_matrix() {
    let mut failures = Vec::new();
    let mut count = 0;
    for old in PRIMITIVES {
        for new in PRIMITIVES {
            for wrap_in_record in [false, true] {
                let wrap = |t: &str| {
                    if wrap_in_record {
                        format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":"{t}"}}]}}"#)
                    } else {
                        format!("\"{t}\"")
                    }
                };
                let (old_text, new_text) = (wrap(old), wrap(new));
                for level in ["BACKWARD", "FORWARD", "FULL"] {
                    count += 1;
                    let backward_ok = readable(old, new);
                    let forward_ok = readable(new, old);
                    let mut expected = Vec::new();
                    if level != "BACKWARD" && !forward_ok {
                        expected.push("TYPE_MISMATCH");
                    }
                    if level != "FORWARD" && !backward_ok {
                        expected.push("TYPE_MISMATCH");
                    }
                    let report = check(SchemaType::Avro, level, &[&old_text], &new_text);
                    let rules: Vec<&str> = report.incompatibilities.iter().map(|i| i.rule).collect();
                    if rules != expected {
                        failures.push(format!(
                            "{old} -> {new} (record: {wrap_in_record}) {level}: expected {expected:?}, got {rules:?}"
                        ));
                    }
                    for inc in &report.incompatibilities {
                        let expected_pointer = if wrap_in_record { "/fields/0/type" } else { "" };
                        assert_eq!(inc.new_pointer, expected_pointer, "{old} -> {new}");
                        assert_eq!(inc.old_pointer, expected_pointer, "{old} -> {new}");
                    }
                }
            }
        }
    }
    assert_eq!(count, 384);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// Schemas shared by the table below.
const PAYMENT_V1: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const PAYMENT_WITH_CURRENCY_DEFAULT: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"},
    {"name":"currency","type":"string","default":"EUR"}]}"#;
const PAYMENT_WITH_CURRENCY_REQUIRED: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"},
    {"name":"currency","type":"string"}]}"#;
const PAYMENT_WITH_OPTIONAL_NOTE: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"},
    {"name":"note","type":["null","string"],"default":null}]}"#;
const PAYMENT_ID_ONLY: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"}]}"#;
const PAYMENT_AMOUNT_DEFAULT: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int","default":0}]}"#;
const PAYMENT_AMOUNT_LONG: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"long"}]}"#;
const PAYMENT_REORDERED: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"amount","type":"int","doc":"in cents"},
    {"name":"id","type":"string","doc":"payment id"}]}"#;
const PAYMENT_RENAMED_FIELD_ALIAS: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount_cents","type":"int","aliases":["amount"]}]}"#;
const PAYMENT_RENAMED_FIELD: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount_cents","type":"int"}]}"#;
const PAYMENT_OTHER_NAMESPACE: &str = r#"{"type":"record","name":"Payment","namespace":"org.other","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const SETTLEMENT_ALIASED: &str = r#"{"type":"record","name":"Settlement","namespace":"com.acme","aliases":["Payment"],"fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const SETTLEMENT: &str = r#"{"type":"record","name":"Settlement","namespace":"com.acme","fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const SETTLEMENT_ALIAS_WRONG_NS: &str = r#"{"type":"record","name":"Settlement","namespace":"org.other","aliases":["Payment"],"fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const SETTLEMENT_ALIAS_FULL: &str = r#"{"type":"record","name":"Settlement","namespace":"org.other","aliases":["com.acme.Payment"],"fields":[
    {"name":"id","type":"string"},
    {"name":"amount","type":"int"}]}"#;
const AMBIGUOUS_ALIAS: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
    {"name":"id","type":"string","aliases":["amount"]},
    {"name":"amount","type":"int"}]}"#;

const STATUS_AB: &str = r#"{"type":"enum","name":"Status","symbols":["A","B"]}"#;
const STATUS_ABC: &str = r#"{"type":"enum","name":"Status","symbols":["A","B","C"]}"#;
const STATUS_ABC_DEFAULT: &str = r#"{"type":"enum","name":"Status","symbols":["A","B","C"],"default":"A"}"#;
const STATUS_AB_DEFAULT: &str = r#"{"type":"enum","name":"Status","symbols":["A","B"],"default":"A"}"#;
const STATUS_A: &str = r#"{"type":"enum","name":"Status","symbols":["A"]}"#;
const STATUS_ACD: &str = r#"{"type":"enum","name":"Status","symbols":["A","C","D"]}"#;
const STATE_AB: &str = r#"{"type":"enum","name":"State","symbols":["A","B"]}"#;
const STATE_AB_ALIASED: &str = r#"{"type":"enum","name":"State","aliases":["Status"],"symbols":["A","B"]}"#;

const FIXED_16: &str = r#"{"type":"fixed","name":"Hash","size":16}"#;
const FIXED_32: &str = r#"{"type":"fixed","name":"Hash","size":32}"#;
const FIXED_16_OTHER: &str = r#"{"type":"fixed","name":"Digest","size":16}"#;
const FIXED_16_ALIASED: &str = r#"{"type":"fixed","name":"Digest","aliases":["Hash"],"size":16}"#;

const ENVELOPE_STATUS_AB: &str = r#"{"type":"record","name":"Envelope","fields":[
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"]}}]}"#;
const ENVELOPE_NEW_ENUM_FIELD_ENUM_DEFAULT: &str = r#"{"type":"record","name":"Envelope","fields":[
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"]}},
    {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["X","Y"],"default":"X"}}]}"#;
const ENVELOPE_NEW_ENUM_FIELD_FIELD_DEFAULT: &str = r#"{"type":"record","name":"Envelope","fields":[
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["A","B"]}},
    {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["X","Y"]},"default":"Y"}]}"#;
const ENVELOPE_STATUS_A_FIELD_DEFAULT: &str = r#"{"type":"record","name":"Envelope","fields":[
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["A"]},"default":"A"}]}"#;

const ORDER_NESTED_V1: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"string"},
    {"name":"shipping","type":{"type":"record","name":"Address","fields":[
        {"name":"street","type":"string"},
        {"name":"city","type":"string"}]}},
    {"name":"billing","type":"Address"}]}"#;
const ORDER_NESTED_ZIP_REQUIRED: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"string"},
    {"name":"shipping","type":{"type":"record","name":"Address","fields":[
        {"name":"street","type":"string"},
        {"name":"city","type":"string"},
        {"name":"zip","type":"string"}]}},
    {"name":"billing","type":"Address"}]}"#;
const ORDER_NESTED_ZIP_DEFAULT: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"string"},
    {"name":"shipping","type":{"type":"record","name":"Address","fields":[
        {"name":"street","type":"string"},
        {"name":"city","type":"string"},
        {"name":"zip","type":"string","default":""}]}},
    {"name":"billing","type":"Address"}]}"#;
const ORDER_DEFINITION_MOVED: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"string"},
    {"name":"billing","type":{"type":"record","name":"Address","fields":[
        {"name":"street","type":"string"},
        {"name":"city","type":"string"}]}},
    {"name":"shipping","type":"Address"}]}"#;

const LIST_INT: &str = r#"{"type":"record","name":"Node","fields":[
    {"name":"value","type":"int"},
    {"name":"next","type":["null","Node"],"default":null}]}"#;
const LIST_LONG: &str = r#"{"type":"record","name":"Node","fields":[
    {"name":"value","type":"long"},
    {"name":"next","type":["null","Node"],"default":null}]}"#;
const LIST_WITH_LABEL: &str = r#"{"type":"record","name":"Node","fields":[
    {"name":"value","type":"int"},
    {"name":"label","type":"string"},
    {"name":"next","type":["null","Node"],"default":null}]}"#;
const LIST_OTHER_NAMESPACE: &str = r#"{"type":"record","name":"Node","namespace":"x.y","fields":[
    {"name":"value","type":"int"},
    {"name":"next","type":["null","Node"],"default":null}]}"#;
const TREE_V1: &str = r#"{"type":"record","name":"Tree","fields":[
    {"name":"children","type":{"type":"array","items":"Tree"}},
    {"name":"weights","type":{"type":"map","values":"Tree"}}]}"#;
const TREE_V2_LABEL_DEFAULT: &str = r#"{"type":"record","name":"Tree","fields":[
    {"name":"children","type":{"type":"array","items":"Tree"}},
    {"name":"weights","type":{"type":"map","values":"Tree"}},
    {"name":"label","type":"string","default":"root"}]}"#;

const ARRAY_INT: &str = r#"{"type":"array","items":"int"}"#;
const ARRAY_LONG: &str = r#"{"type":"array","items":"long"}"#;
const ARRAY_STRING: &str = r#"{"type":"array","items":"string"}"#;
const MAP_INT: &str = r#"{"type":"map","values":"int"}"#;
const MAP_DOUBLE: &str = r#"{"type":"map","values":"double"}"#;
const MAP_STRING: &str = r#"{"type":"map","values":"string"}"#;

const DECIMAL_BYTES_10_2: &str = r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#;
const DECIMAL_BYTES_12_4: &str = r#"{"type":"bytes","logicalType":"decimal","precision":12,"scale":4}"#;
const DECIMAL_FIXED: &str =
    r#"{"type":"fixed","name":"Money","size":8,"logicalType":"decimal","precision":10,"scale":2}"#;
const TS_MILLIS: &str = r#"{"type":"long","logicalType":"timestamp-millis"}"#;
const TS_MICROS: &str = r#"{"type":"long","logicalType":"timestamp-micros"}"#;
const UUID_STRING: &str = r#"{"type":"string","logicalType":"uuid"}"#;
const UUID_FIXED: &str = r#"{"type":"fixed","name":"Uuid","size":16,"logicalType":"uuid"}"#;
const DATE_INT: &str = r#"{"type":"int","logicalType":"date"}"#;

const REC_A_INT: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
const REC_A_LONG: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#;
const REC_A_B_DEFAULT: &str =
    r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}]}"#;
const REC_A_B_REQUIRED: &str =
    r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;
const REC_A_B_C_DEFAULTS: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"},{"name":"c","type":"int","default":1}]}"#;
const REC_A_B_DEFAULT_LONG: &str =
    r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string","default":"x"}]}"#;
const REC_B_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"b","type":"string","default":"x"}]}"#;
const REC_A_DEFAULT: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0}]}"#;
const REC_EMPTY: &str = r#"{"type":"record","name":"R","fields":[]}"#;
const REC_A_DOUBLE: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"double"}]}"#;

const UNION_NULL_INT: &str = r#"["null","int"]"#;
const UNION_INT_NULL: &str = r#"["int","null"]"#;
const UNION_NULL_INT_STRING: &str = r#"["null","int","string"]"#;
const UNION_INT: &str = r#"["int"]"#;
const UNION_LONG: &str = r#"["long"]"#;
const UNION_INT_STRING: &str = r#"["int","string"]"#;
const UNION_STRING_INT: &str = r#"["string","int"]"#;
const UNION_NULL_LONG: &str = r#"["null","long"]"#;
const UNION_REC_A_INT: &str = r#"["null",{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}]"#;
const UNION_REC_A_B_REQUIRED: &str =
    r#"["null",{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}]"#;

fn cases() -> Vec<Case> {
    vec![
        // Levels and identity.
        case("identical record", "FULL_TRANSITIVE", &[PAYMENT_V1], PAYMENT_V1, &[]),
        case("NONE accepts anything", "NONE", &[PAYMENT_V1], r#""string""#, &[]),
        case(
            "first version has nothing to break",
            "FULL_TRANSITIVE",
            &[],
            PAYMENT_V1,
            &[],
        ),
        case(
            "docs and field order do not matter",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_REORDERED,
            &[],
        ),
        // Record fields and defaults.
        case(
            "add field with default",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_DEFAULT,
            &[],
        ),
        case(
            "add field with default",
            "FORWARD",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_DEFAULT,
            &[],
        ),
        case(
            "add field with default",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_DEFAULT,
            &[],
        ),
        case(
            "add field without default",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_REQUIRED,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "add field without default",
            "FORWARD",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_REQUIRED,
            &[],
        ),
        case(
            "add field without default",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_WITH_CURRENCY_REQUIRED,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "add optional union field",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_WITH_OPTIONAL_NOTE,
            &[],
        ),
        case(
            "remove field without default",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_ID_ONLY,
            &[],
        ),
        case(
            "remove field without default",
            "FORWARD",
            &[PAYMENT_V1],
            PAYMENT_ID_ONLY,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "remove field without default",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_ID_ONLY,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "remove field that had a default",
            "FORWARD",
            &[PAYMENT_AMOUNT_DEFAULT],
            PAYMENT_ID_ONLY,
            &[],
        ),
        case(
            "remove field that had a default",
            "FULL",
            &[PAYMENT_AMOUNT_DEFAULT],
            PAYMENT_ID_ONLY,
            &[],
        ),
        case(
            "add a default to a field",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_AMOUNT_DEFAULT,
            &[],
        ),
        case(
            "drop a default of a shared field",
            "FULL",
            &[PAYMENT_AMOUNT_DEFAULT],
            PAYMENT_V1,
            &[],
        ),
        case(
            "field type promoted int to long",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_AMOUNT_LONG,
            &[],
        ),
        case(
            "field type promoted int to long",
            "FORWARD",
            &[PAYMENT_V1],
            PAYMENT_AMOUNT_LONG,
            &["TYPE_MISMATCH"],
        ),
        case(
            "field type narrowed long to int",
            "BACKWARD",
            &[PAYMENT_AMOUNT_LONG],
            PAYMENT_V1,
            &["TYPE_MISMATCH"],
        ),
        case(
            "field type narrowed long to int",
            "FORWARD",
            &[PAYMENT_AMOUNT_LONG],
            PAYMENT_V1,
            &[],
        ),
        case(
            "rename field with reader alias",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_RENAMED_FIELD_ALIAS,
            &[],
        ),
        case(
            "rename field with alias, old reader",
            "FORWARD",
            &[PAYMENT_V1],
            PAYMENT_RENAMED_FIELD_ALIAS,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "rename field without alias",
            "BACKWARD",
            &[PAYMENT_V1],
            PAYMENT_RENAMED_FIELD,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "rename field without alias",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_RENAMED_FIELD,
            &[
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "READER_FIELD_MISSING_DEFAULT_VALUE",
            ],
        ),
        case(
            "alias matching two writer fields",
            "BACKWARD",
            &[PAYMENT_V1],
            AMBIGUOUS_ALIAS,
            &["AMBIGUOUS_FIELD_ALIAS"],
        ),
        case(
            "several fields missing are all reported",
            "BACKWARD",
            &[REC_EMPTY],
            REC_A_B_REQUIRED,
            &[
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "READER_FIELD_MISSING_DEFAULT_VALUE",
            ],
        ),
        case(
            "all fields with defaults from empty",
            "BACKWARD",
            &[REC_EMPTY],
            REC_A_B_C_DEFAULTS,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "empty record reads anything",
            "BACKWARD",
            &[REC_A_B_REQUIRED],
            REC_EMPTY,
            &[],
        ),
        case(
            "replace field with defaulted one",
            "BACKWARD",
            &[REC_A_INT],
            REC_B_DEFAULT,
            &[],
        ),
        case(
            "replace field with defaulted one",
            "FORWARD",
            &[REC_A_INT],
            REC_B_DEFAULT,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case("replace defaulted field", "FULL", &[REC_A_DEFAULT], REC_B_DEFAULT, &[]),
        case(
            "type change and missing field together",
            "BACKWARD",
            &[REC_A_DOUBLE],
            REC_A_B_REQUIRED,
            &["TYPE_MISMATCH", "READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        // Named types.
        case(
            "namespace change keeps short name",
            "FULL",
            &[PAYMENT_V1],
            PAYMENT_OTHER_NAMESPACE,
            &[],
        ),
        case(
            "record renamed with alias",
            "BACKWARD",
            &[PAYMENT_V1],
            SETTLEMENT_ALIASED,
            &[],
        ),
        case(
            "record renamed with alias, old reader",
            "FORWARD",
            &[PAYMENT_V1],
            SETTLEMENT_ALIASED,
            &["NAME_MISMATCH"],
        ),
        case(
            "record renamed without alias",
            "BACKWARD",
            &[PAYMENT_V1],
            SETTLEMENT,
            &["NAME_MISMATCH"],
        ),
        case(
            "relative alias in another namespace misses",
            "BACKWARD",
            &[PAYMENT_V1],
            SETTLEMENT_ALIAS_WRONG_NS,
            &["NAME_MISMATCH"],
        ),
        case(
            "fully qualified alias across namespaces",
            "BACKWARD",
            &[PAYMENT_V1],
            SETTLEMENT_ALIAS_FULL,
            &[],
        ),
        case(
            "same name, aliases irrelevant",
            "FORWARD",
            &[SETTLEMENT],
            SETTLEMENT_ALIASED,
            &[],
        ),
        case(
            "writer aliases never count",
            "BACKWARD",
            &[SETTLEMENT_ALIASED],
            PAYMENT_V1,
            &["NAME_MISMATCH"],
        ),
        // Enums.
        case("enum symbol added", "BACKWARD", &[STATUS_AB], STATUS_ABC, &[]),
        case(
            "enum symbol added",
            "FORWARD",
            &[STATUS_AB],
            STATUS_ABC,
            &["MISSING_ENUM_SYMBOLS"],
        ),
        case(
            "enum symbol added, old enum has default",
            "FORWARD",
            &[STATUS_AB_DEFAULT],
            STATUS_ABC,
            &[],
        ),
        case(
            "enum symbol added, only new has default",
            "FORWARD",
            &[STATUS_AB],
            STATUS_ABC_DEFAULT,
            &["MISSING_ENUM_SYMBOLS"],
        ),
        case(
            "enum symbol removed",
            "BACKWARD",
            &[STATUS_AB],
            STATUS_A,
            &["MISSING_ENUM_SYMBOLS"],
        ),
        case("enum symbol removed", "FORWARD", &[STATUS_AB], STATUS_A, &[]),
        case(
            "enum symbol removed, new enum has default",
            "BACKWARD",
            &[STATUS_ABC],
            STATUS_AB_DEFAULT,
            &[],
        ),
        case(
            "enum symbols replaced",
            "FULL",
            &[STATUS_AB],
            STATUS_ACD,
            &["MISSING_ENUM_SYMBOLS", "MISSING_ENUM_SYMBOLS"],
        ),
        case(
            "enum with defaults both sides",
            "FULL",
            &[STATUS_AB_DEFAULT],
            STATUS_ABC_DEFAULT,
            &[],
        ),
        case("enum renamed", "BACKWARD", &[STATUS_AB], STATE_AB, &["NAME_MISMATCH"]),
        case(
            "enum renamed with alias",
            "BACKWARD",
            &[STATUS_AB],
            STATE_AB_ALIASED,
            &[],
        ),
        case(
            "field default does not absorb enum symbols",
            "BACKWARD",
            &[ENVELOPE_STATUS_AB],
            ENVELOPE_STATUS_A_FIELD_DEFAULT,
            &["MISSING_ENUM_SYMBOLS"],
        ),
        case(
            "enum default does not stand in for field default",
            "BACKWARD",
            &[ENVELOPE_STATUS_AB],
            ENVELOPE_NEW_ENUM_FIELD_ENUM_DEFAULT,
            &["TYPE_MISMATCH"],
        ),
        case(
            "new enum field with field default",
            "BACKWARD",
            &[ENVELOPE_STATUS_AB],
            ENVELOPE_NEW_ENUM_FIELD_FIELD_DEFAULT,
            &[],
        ),
        // Fixed.
        case(
            "fixed size grows",
            "BACKWARD",
            &[FIXED_16],
            FIXED_32,
            &["FIXED_SIZE_MISMATCH"],
        ),
        case(
            "fixed size shrinks",
            "FULL",
            &[FIXED_32],
            FIXED_16,
            &["FIXED_SIZE_MISMATCH", "FIXED_SIZE_MISMATCH"],
        ),
        case(
            "fixed renamed",
            "BACKWARD",
            &[FIXED_16],
            FIXED_16_OTHER,
            &["NAME_MISMATCH"],
        ),
        case(
            "fixed renamed with alias",
            "BACKWARD",
            &[FIXED_16],
            FIXED_16_ALIASED,
            &[],
        ),
        case(
            "fixed vs bytes",
            "BACKWARD",
            &[FIXED_16],
            r#""bytes""#,
            &["TYPE_MISMATCH"],
        ),
        // Arrays and maps.
        case("array items promoted", "BACKWARD", &[ARRAY_INT], ARRAY_LONG, &[]),
        case(
            "array items promoted",
            "FORWARD",
            &[ARRAY_INT],
            ARRAY_LONG,
            &["TYPE_MISMATCH"],
        ),
        case(
            "array items changed",
            "FULL",
            &[ARRAY_INT],
            ARRAY_STRING,
            &["TYPE_MISMATCH", "TYPE_MISMATCH"],
        ),
        case("map values promoted", "BACKWARD", &[MAP_INT], MAP_DOUBLE, &[]),
        case(
            "map values changed",
            "BACKWARD",
            &[MAP_INT],
            MAP_STRING,
            &["TYPE_MISMATCH"],
        ),
        case("array to map", "BACKWARD", &[ARRAY_INT], MAP_INT, &["TYPE_MISMATCH"]),
        // Unions.
        case("make type nullable", "BACKWARD", &[r#""int""#], UNION_NULL_INT, &[]),
        case(
            "make type nullable",
            "FORWARD",
            &[r#""int""#],
            UNION_NULL_INT,
            &["TYPE_MISMATCH"],
        ),
        case(
            "union branch order is irrelevant",
            "FULL",
            &[UNION_NULL_INT],
            UNION_INT_NULL,
            &[],
        ),
        case(
            "union branch order is irrelevant",
            "FULL",
            &[UNION_INT_STRING],
            UNION_STRING_INT,
            &[],
        ),
        case(
            "union branch added",
            "BACKWARD",
            &[UNION_NULL_INT],
            UNION_NULL_INT_STRING,
            &[],
        ),
        case(
            "union branch added",
            "FORWARD",
            &[UNION_NULL_INT],
            UNION_NULL_INT_STRING,
            &["MISSING_UNION_BRANCH"],
        ),
        case(
            "union branch removed",
            "BACKWARD",
            &[UNION_NULL_INT_STRING],
            UNION_NULL_INT,
            &["MISSING_UNION_BRANCH"],
        ),
        case(
            "union to its single branch",
            "BACKWARD",
            &[UNION_NULL_INT],
            r#""int""#,
            &["TYPE_MISMATCH"],
        ),
        case("single-branch union to plain", "FULL", &[UNION_INT], r#""int""#, &[]),
        case("union branch promoted", "BACKWARD", &[UNION_INT], UNION_LONG, &[]),
        case(
            "union branch promoted",
            "FORWARD",
            &[UNION_INT],
            UNION_LONG,
            &["MISSING_UNION_BRANCH"],
        ),
        case(
            "plain to union with promotion",
            "BACKWARD",
            &[r#""int""#],
            UNION_NULL_LONG,
            &[],
        ),
        case("union to promoted plain", "BACKWARD", &[UNION_INT], r#""long""#, &[]),
        case(
            "union record gains required field",
            "BACKWARD",
            &[UNION_REC_A_INT],
            UNION_REC_A_B_REQUIRED,
            &["MISSING_UNION_BRANCH"],
        ),
        case(
            "union record gains required field",
            "FORWARD",
            &[UNION_REC_A_INT],
            UNION_REC_A_B_REQUIRED,
            &[],
        ),
        case(
            "every writer branch checked",
            "BACKWARD",
            &[UNION_NULL_INT_STRING],
            r#""int""#,
            &["TYPE_MISMATCH", "TYPE_MISMATCH"],
        ),
        // Nested and reused named types.
        case(
            "nested record gains required field",
            "BACKWARD",
            &[ORDER_NESTED_V1],
            ORDER_NESTED_ZIP_REQUIRED,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "nested record gains defaulted field",
            "FULL",
            &[ORDER_NESTED_V1],
            ORDER_NESTED_ZIP_DEFAULT,
            &[],
        ),
        case(
            "definition moved to another field",
            "FULL",
            &[ORDER_NESTED_V1],
            ORDER_DEFINITION_MOVED,
            &[],
        ),
        // Recursive types.
        case(
            "recursive record unchanged",
            "FULL_TRANSITIVE",
            &[LIST_INT],
            LIST_INT,
            &[],
        ),
        case(
            "recursive record promotes a field",
            "BACKWARD",
            &[LIST_INT],
            LIST_LONG,
            &[],
        ),
        case(
            "recursive record promotes a field",
            "FORWARD",
            &[LIST_INT],
            LIST_LONG,
            &["TYPE_MISMATCH"],
        ),
        case(
            "recursive record gains required field",
            "BACKWARD",
            &[LIST_INT],
            LIST_WITH_LABEL,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "recursive record moves namespace",
            "FULL",
            &[LIST_INT],
            LIST_OTHER_NAMESPACE,
            &[],
        ),
        case(
            "recursion through arrays and maps",
            "FULL",
            &[TREE_V1],
            TREE_V2_LABEL_DEFAULT,
            &[],
        ),
        // Logical types are ignored; the underlying types decide.
        case(
            "decimal precision and scale change",
            "FULL",
            &[DECIMAL_BYTES_10_2],
            DECIMAL_BYTES_12_4,
            &[],
        ),
        case(
            "bytes decimal to fixed decimal",
            "BACKWARD",
            &[DECIMAL_BYTES_10_2],
            DECIMAL_FIXED,
            &["TYPE_MISMATCH"],
        ),
        case("timestamp millis to micros", "FULL", &[TS_MILLIS], TS_MICROS, &[]),
        case("logical type added to long", "FULL", &[r#""long""#], TS_MILLIS, &[]),
        case(
            "uuid over string to uuid over fixed",
            "BACKWARD",
            &[UUID_STRING],
            UUID_FIXED,
            &["TYPE_MISMATCH"],
        ),
        case("date to plain int", "FULL", &[DATE_INT], r#""int""#, &[]),
        case(
            "decimal bytes to string (bytes<->string)",
            "FULL",
            &[DECIMAL_BYTES_10_2],
            r#""string""#,
            &[],
        ),
        // Transitive levels: the latest passes, an older version does not.
        case(
            "chain passes step by step",
            "BACKWARD",
            &[REC_A_INT, REC_A_B_DEFAULT],
            REC_A_B_REQUIRED,
            &[],
        ),
        case(
            "chain fails against v1",
            "BACKWARD_TRANSITIVE",
            &[REC_A_INT, REC_A_B_DEFAULT],
            REC_A_B_REQUIRED,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "forward chain passes step by step",
            "FORWARD",
            &[REC_A_B_REQUIRED, REC_A_B_DEFAULT],
            REC_A_INT,
            &[],
        ),
        case(
            "forward chain fails against v1",
            "FORWARD_TRANSITIVE",
            &[REC_A_B_REQUIRED, REC_A_B_DEFAULT],
            REC_A_INT,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "full chain passes step by step",
            "FULL",
            &[REC_A_B_REQUIRED, REC_A_B_DEFAULT],
            REC_A_DEFAULT,
            &[],
        ),
        case(
            "full chain fails against v1",
            "FULL_TRANSITIVE",
            &[REC_A_B_REQUIRED, REC_A_B_DEFAULT],
            REC_A_DEFAULT,
            &["READER_FIELD_MISSING_DEFAULT_VALUE"],
        ),
        case(
            "promotion chain",
            "BACKWARD_TRANSITIVE",
            &[REC_A_INT, REC_A_LONG],
            REC_A_DOUBLE,
            &[],
        ),
        case(
            "promotion chain, forward",
            "FORWARD_TRANSITIVE",
            &[REC_A_INT, REC_A_LONG],
            REC_A_DOUBLE,
            &["TYPE_MISMATCH", "TYPE_MISMATCH"],
        ),
        case(
            "transitive reports every failing version",
            "BACKWARD_TRANSITIVE",
            &[REC_EMPTY, REC_A_DEFAULT, REC_B_DEFAULT],
            REC_A_B_REQUIRED,
            &[
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "READER_FIELD_MISSING_DEFAULT_VALUE",
            ],
        ),
        case(
            "non-transitive ignores old versions",
            "FULL",
            &[r#""string""#, REC_A_INT],
            REC_A_B_DEFAULT_LONG,
            &["TYPE_MISMATCH"],
        ),
    ]
}

#[test]
fn rules_table() {
    let rendering = run_table(SchemaType::Avro, &cases());
    insta::assert_snapshot!("avro_rules_table", rendering);
}

/// Java's locations and messages, checked exactly for the cases its own tests pin.
#[test]
fn locations_and_messages_match_java() {
    let reader = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"int"},
        {"name":"h","type":{"type":"fixed","name":"H","size":4}},
        {"name":"l","type":{"type":"array","items":"long"}},
        {"name":"u","type":["int","string"]},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}},
        {"name":"n","type":"string"}]}"#,
    );
    let writer = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"long"},
        {"name":"h","type":{"type":"fixed","name":"H","size":8}},
        {"name":"l","type":{"type":"array","items":"string"}},
        {"name":"u","type":["int","string","boolean"]},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A","D","B"]}}]}"#,
    );
    let (herald::schema::Schema::Avro(reader), herald::schema::Schema::Avro(writer)) = (reader, writer) else {
        unreachable!()
    };
    let found = avro_rules::check(&reader, &writer).unwrap();
    let summary: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|i| (i.rule.id(), i.location.as_str(), i.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "TYPE_MISMATCH",
                "/fields/0/type",
                "reader type: INT not compatible with writer type: LONG"
            ),
            ("FIXED_SIZE_MISMATCH", "/fields/1/type/size", "expected: 8, found: 4"),
            (
                "TYPE_MISMATCH",
                "/fields/2/type/items",
                "reader type: LONG not compatible with writer type: STRING"
            ),
            (
                "MISSING_UNION_BRANCH",
                "/fields/3/type/2",
                "reader union lacking writer type: BOOLEAN"
            ),
            ("MISSING_ENUM_SYMBOLS", "/fields/4/type/symbols", "[B, D]"),
            ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/5", "n"),
        ]
    );
    // Pointers into each document, for CI annotations.
    assert_eq!(found[3].reader_pointer, "/fields/3/type");
    assert_eq!(found[3].writer_pointer, "/fields/3/type/2");
    assert_eq!(found[5].reader_pointer, "/fields/5");
}

#[test]
fn confluent_messages_carry_version_schema_and_level() {
    let old = parse(SchemaType::Avro, REC_A_INT);
    let new = parse(SchemaType::Avro, REC_A_B_REQUIRED);
    let previous = [herald::compat::PreviousVersion {
        version: 1,
        schema: &old,
    }];
    let report = herald::compat::check(herald::compat::CompatibilityLevel::Backward, &previous, &new).unwrap();
    assert_eq!(
        report.confluent_messages(&previous),
        vec![
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}".to_string(),
            "{oldSchemaVersion: 1}".to_string(),
            r#"{oldSchema: '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}'}"#.to_string(),
            "{validateFields: 'false', compatibility: 'BACKWARD'}".to_string(),
        ]
    );
}

#[test]
fn schema_types_must_match() {
    use herald::compat::{check as run_check, CompatibilityLevel, PreviousVersion};
    let old = parse(SchemaType::Json, r#"{"type":"string"}"#);
    let new = parse(SchemaType::Avro, r#""string""#);
    let report = run_check(
        CompatibilityLevel::Backward,
        &[PreviousVersion {
            version: 1,
            schema: &old,
        }],
        &new,
    )
    .unwrap();
    assert_eq!(report.incompatibilities.len(), 1);
    assert_eq!(report.incompatibilities[0].rule, "DIFFERENT_SCHEMA_TYPE");
    assert_eq!(
        report.incompatibilities[0].confluent,
        "Incompatible because of different schema type"
    );
}

#[test]
fn named_types_from_references() {
    use herald::compat::{check as run_check, CompatibilityLevel, PreviousVersion};
    use herald::schema::{Reference, Schema};
    let money = r#"{"type":"record","name":"Money","namespace":"com.acme","fields":[{"name":"cents","type":"long"},{"name":"currency","type":"string"}]}"#;
    let money_v2 =
        r#"{"type":"record","name":"Money","namespace":"com.acme","fields":[{"name":"cents","type":"long"}]}"#;
    let payment =
        r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[{"name":"total","type":"Money"}]}"#;
    let refs_v1 = [Reference {
        name: "money.avsc",
        schema: money,
    }];
    let refs_v2 = [Reference {
        name: "money.avsc",
        schema: money_v2,
    }];
    let old = Schema::parse(SchemaType::Avro, payment, &refs_v1).expect("parses with its reference");
    let new = Schema::parse(SchemaType::Avro, payment, &refs_v2).expect("parses with its reference");
    // The referenced type is not inlined in the stored text, as Confluent stores it.
    assert_eq!(
        old.canonical(),
        r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[{"name":"total","type":"Money"}]}"#
    );
    let report = run_check(
        CompatibilityLevel::Forward,
        &[PreviousVersion {
            version: 1,
            schema: &old,
        }],
        &new,
    )
    .unwrap();
    assert_eq!(report.incompatibilities.len(), 1, "{report:?}");
    let inc = &report.incompatibilities[0];
    assert_eq!(inc.rule, "READER_FIELD_MISSING_DEFAULT_VALUE");
    // The break is inside the referenced document, and the pointer says so.
    assert_eq!(inc.old_pointer, "money.avsc#/fields/1");
    // Without the reference the name is undefined.
    let err = Schema::parse(SchemaType::Avro, payment, &[]).unwrap_err();
    assert!(err.to_string().contains("undefined name \"Money\""), "{err}");
}
