//! Bad schemas get a clear error that says what and where; never a panic, never a stack
//! overflow.

use herald::compat::{check, CompatibilityLevel, PreviousVersion};
use herald::schema::{ErrorLocation, Schema, SchemaType};

fn error(schema_type: SchemaType, text: &str) -> herald::schema::SchemaError {
    match Schema::parse(schema_type, text, &[]) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => e,
    }
}

/// (schema, pointer the error must name, words the message must contain)
const AVRO_ERRORS: &[(&str, &str, &str)] = &[
    (r#"{"type":"strin"}"#, "/type", "unknown type \"strin\""),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#,
        "/fields/0/type",
        "undefined name \"Missing\"",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}"#,
        "/fields/1/name",
        "duplicate field \"a\"",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"zero"}]}"#,
        "/fields/0/default",
        "does not match its type",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":3000000000}]}"#,
        "/fields/0/default",
        "not a 32-bit integer",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"],"default":"x"}]}"#,
        "/fields/0/default",
        "matches no branch",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":4},"default":"ab"}]}"#,
        "/fields/0/default",
        "needs 4 bytes",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"E","symbols":["A"]},"default":"B"}]}"#,
        "/fields/0/default",
        "not a symbol",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int"}]},"default":{}}]}"#,
        "/fields/0/default",
        "field \"x\" is missing",
    ),
    (
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        "/symbols/1",
        "duplicate enum symbol",
    ),
    (
        r#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#,
        "/default",
        "not one of the symbols",
    ),
    (
        r#"{"type":"enum","name":"E","symbols":["1A"]}"#,
        "/symbols/0",
        "invalid enum symbol",
    ),
    (r#"{"type":"record","name":"1R","fields":[]}"#, "/name", "invalid name"),
    (
        r#"{"type":"record","name":"a.-b.R","fields":[]}"#,
        "/name",
        "invalid namespace part",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#,
        "/fields/0/name",
        "invalid field name",
    ),
    (r#"{"type":"record","name":"R"}"#, "", "needs \"fields\""),
    (r#"{"type":"record","fields":[]}"#, "", "needs a \"name\""),
    (
        r#"{"type":"fixed","name":"F","size":"16"}"#,
        "/size",
        "non-negative integer",
    ),
    (
        r#"{"type":"fixed","name":"F","size":-1}"#,
        "/size",
        "non-negative integer",
    ),
    (r#"{"type":"array"}"#, "", "needs \"items\""),
    (r#"{"type":"map"}"#, "", "needs \"values\""),
    (r#"["int","int"]"#, "/1", "duplicate type INT in union"),
    (r#"["null",["int"]]"#, "/1", "may not directly contain another union"),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#,
        "/fields/0/type/name",
        "defined more than once",
    ),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"up"}]}"#,
        "/fields/0/order",
        "\"order\" must be",
    ),
    (r#"{"type":{"type":"int"}}"#, "/type", "must be a string naming a type"),
    (r#"{"name":"x"}"#, "", "missing \"type\""),
    (r#"5"#, "", "a type must be a name, an object or an array"),
    (
        r#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#,
        "/fields/0",
        "has no \"type\"",
    ),
    (
        r#"{"type":"record","name":"int","fields":[]}"#,
        "/name",
        "primitive type",
    ),
];

#[test]
fn avro_errors_name_the_problem_and_the_place() {
    for (text, pointer, words) in AVRO_ERRORS {
        let err = error(SchemaType::Avro, text);
        assert_eq!(err.pointer(), Some(*pointer), "{text}: {err}");
        assert!(err.message.contains(words), "{text}: expected {words:?} in {err}");
    }
}

#[test]
fn json_schema_errors_name_the_problem_and_the_place() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"type":"strin"}"#, "/type", "not a valid draft-07 schema"),
        (
            r#"{"type":"string","minLength":-1}"#,
            "/minLength",
            "not a valid draft-07 schema",
        ),
        (
            r#"{"properties":{"a":{"type":5}}}"#,
            "/properties/a/type",
            "not a valid draft-07 schema",
        ),
        (r##"{"$ref":"#"}"##, "/$ref", "cyclic $ref"),
        (
            r##"{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}"##,
            "/definitions/a/$ref",
            "cyclic $ref",
        ),
        (
            r##"{"properties":{"a":{"$ref":"#/definitions/nope"}}}"##,
            "/properties/a/$ref",
            "nothing at /definitions/nope",
        ),
        (
            r#"{"properties":{"a":{"$ref":"other.json"}}}"#,
            "/properties/a/$ref",
            "no such document",
        ),
        (
            r#"{"$schema":"http://example.com/my-meta","type":"string"}"#,
            "/$schema",
            "unsupported $schema",
        ),
        (
            r#"{"patternProperties":{"(":{}}}"#,
            "/patternProperties",
            "is not a \"regex\"",
        ),
        (r#"5"#, "", "not a valid draft-07 schema"),
    ];
    for (text, pointer, words) in cases {
        let err = error(SchemaType::Json, text);
        assert_eq!(err.pointer(), Some(*pointer), "{text}: {err}");
        assert!(err.to_string().contains(words), "{text}: expected {words:?} in {err}");
    }
}

#[test]
fn malformed_json_reports_line_and_column() {
    for schema_type in [SchemaType::Avro, SchemaType::Json] {
        let err = error(schema_type, "{\n  \"type\": \"record\",\n  \"name\": \n}");
        assert_eq!(err.location, ErrorLocation::Text { line: 4, column: 1 }, "{err}");
        assert!(err.message.starts_with("invalid JSON"), "{err}");
        assert!(err.to_string().starts_with("line 4, column 1: invalid JSON"), "{err}");
        let err = error(schema_type, "");
        assert!(err.message.contains("EOF"), "{err}");
    }
}

#[test]
fn bad_protobuf_and_unknown_types_are_refused_clearly() {
    let err = error(
        SchemaType::Protobuf,
        "syntax = \"proto3\";\nmessage A {\n  int32 = 1;\n}\n",
    );
    assert!(err.to_string().starts_with("line 3, column "), "{err}");
    let err = "XML".parse::<SchemaType>().unwrap_err();
    assert!(err.to_string().contains("unknown schema type \"XML\""), "{err}");
    assert_eq!("avro".parse::<SchemaType>().ok(), Some(SchemaType::Avro));
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused_without_overflow() {
    let depth = 10_000;
    let arrays = format!(
        "{}\"int\"{}",
        r#"{"type":"array","items":"#.repeat(depth),
        "}".repeat(depth)
    );
    let unions = format!("{}\"int\"{}", "[".repeat(depth), "]".repeat(depth));
    let json_items = format!("{}{{}}{}", r#"{"items":"#.repeat(depth), "}".repeat(depth));
    for (schema_type, text) in [
        (SchemaType::Avro, &arrays),
        (SchemaType::Avro, &unions),
        (SchemaType::Json, &json_items),
    ] {
        let err = error(schema_type, text);
        assert!(err.message.contains("nests deeper than 128 levels"), "{err}");
    }
}

fn big_avro(min_bytes: usize) -> String {
    let mut fields = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < min_bytes {
        let field = format!(
            r#"{{"name":"field_{i}","type":["null","string"],"doc":"Documentation for field number {i} of a very large record.","default":null}}"#
        );
        size += field.len() + 1;
        fields.push(field);
        i += 1;
    }
    format!(r#"{{"type":"record","name":"Huge","fields":[{}]}}"#, fields.join(","))
}

fn big_json(min_bytes: usize) -> String {
    let mut properties = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < min_bytes {
        let p = format!(
            r#""property_{i}":{{"type":"string","maxLength":64,"description":"Property number {i} of a very large object."}}"#
        );
        size += p.len() + 1;
        properties.push(p);
        i += 1;
    }
    format!(r#"{{"type":"object","properties":{{{}}}}}"#, properties.join(","))
}

#[test]
fn five_megabyte_schemas_parse_and_compare() {
    const FIVE_MB: usize = 5 * 1024 * 1024;
    for (schema_type, text) in [
        (SchemaType::Avro, big_avro(FIVE_MB)),
        (SchemaType::Json, big_json(FIVE_MB)),
    ] {
        assert!(text.len() >= FIVE_MB);
        let schema = Schema::parse(schema_type, &text, &[]).expect("a large but valid schema parses");
        assert!(schema.canonical() == text, "the input is already in canonical form");
        let history = std::slice::from_ref(&schema);
        let report = check(CompatibilityLevel::Full, &PreviousVersion::numbered(history), &schema).unwrap();
        assert!(report.is_compatible());
    }
}

/// Every prefix of a valid schema is invalid JSON or an invalid schema: each must come back
/// as an error value, never a panic.
#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let avro = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/payment-completed/value.avsc"
    ))
    .expect("example");
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/order-placed/value.json"))
        .expect("example");
    for (schema_type, text) in [(SchemaType::Avro, avro), (SchemaType::Json, json)] {
        let trimmed = text.trim_end();
        for end in (0..trimmed.len()).filter(|&i| trimmed.is_char_boundary(i)) {
            let _ = Schema::parse(schema_type, &trimmed[..end], &[]).expect_err("a truncated document is invalid");
        }
    }
}
