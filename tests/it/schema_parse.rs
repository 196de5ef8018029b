//! Parsing, the stored (canonical) text and fingerprints.

use herald::schema::{Schema, SchemaType};

use crate::support::parse;

fn canonical(schema_type: SchemaType, text: &str) -> String {
    parse(schema_type, text).canonical().to_string()
}

/// Java's `Schema.toString()` form, which Confluent stores and serves.
#[test]
fn avro_canonical_text_is_javas_tostring() {
    let cases: &[(&str, &str)] = &[
        (r#"{ "type" : "string" }"#, r#""string""#),
        (r#""long""#, r#""long""#),
        (
            r#"{"type":"long","logicalType":"timestamp-millis"}"#,
            r#"{"type":"long","logicalType":"timestamp-millis"}"#,
        ),
        (
            r#"{"fields":[{"type":"int","name":"a"}],"name":"R","type":"record","doc":"d"}"#,
            r#"{"type":"record","name":"R","doc":"d","fields":[{"name":"a","type":"int"}]}"#,
        ),
        (
            r#"{"type":"record","name":"a.b.C","fields":[]}"#,
            r#"{"type":"record","name":"C","namespace":"a.b","fields":[]}"#,
        ),
        // Nested types in the same namespace omit it; in another namespace they print it;
        // a second use prints the name, short when the namespaces agree.
        (
            r#"{"type":"record","name":"Outer","namespace":"n","fields":[
                {"name":"a","type":{"type":"record","name":"Inner","fields":[]}},
                {"name":"b","type":"Inner"},
                {"name":"c","type":{"type":"record","name":"Other","namespace":"m","fields":[
                    {"name":"d","type":"n.Inner"}]}}]}"#,
            r#"{"type":"record","name":"Outer","namespace":"n","fields":[{"name":"a","type":{"type":"record","name":"Inner","fields":[]}},{"name":"b","type":"Inner"},{"name":"c","type":{"type":"record","name":"Other","namespace":"m","fields":[{"name":"d","type":"n.Inner"}]}}]}"#,
        ),
        // The null namespace inside a namespaced record is written out as "".
        (
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":{"type":"fixed","name":"F","namespace":"","size":2}}]}"#,
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":{"type":"fixed","name":"F","namespace":"","size":2}}]}"#,
        ),
        // Field keys in Java's order, custom properties kept, default ascending order dropped.
        (
            r#"{"type":"record","name":"R","fields":[{"pii":true,"aliases":["old"],"order":"descending","default":1,"doc":"x","type":"int","name":"a"},{"name":"b","type":"int","order":"ascending"}]}"#,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","doc":"x","default":1,"order":"descending","aliases":["old"],"pii":true},{"name":"b","type":"int"}]}"#,
        ),
        (
            r#"{"type":"enum","name":"E","namespace":"n","aliases":["n.Old","x.Y"],"symbols":["A","B"],"default":"A","doc":"e"}"#,
            r#"{"type":"enum","name":"E","namespace":"n","doc":"e","symbols":["A","B"],"default":"A","aliases":["Old","x.Y"]}"#,
        ),
        (
            r#"{"type":"map","values":{"type":"array","items":"bytes","x":1}}"#,
            r#"{"type":"map","values":{"type":"array","items":"bytes","x":1}}"#,
        ),
        (r#"["null", {"type":"string"}]"#, r#"["null","string"]"#),
        (
            r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
            r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
        ),
        (
            r#"{"type":"error","name":"Oops","fields":[]}"#,
            r#"{"type":"error","name":"Oops","fields":[]}"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(&canonical(SchemaType::Avro, input), expected, "for input {input}");
        // The canonical text is a fixed point.
        assert_eq!(&canonical(SchemaType::Avro, expected), expected);
    }
}

#[test]
fn json_canonical_text_is_compact_and_keeps_key_order() {
    let text = "{\n  \"type\": \"object\",\n  \"properties\": { \"b\": {\"type\": \"string\"}, \"a\": {} }\n}";
    assert_eq!(
        canonical(SchemaType::Json, text),
        r#"{"type":"object","properties":{"b":{"type":"string"},"a":{}}}"#
    );
}

#[test]
fn fingerprints_ignore_whitespace_not_content() {
    let a = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
    );
    let b = parse(
        SchemaType::Avro,
        "{ \"type\": \"record\",\n \"name\": \"R\", \"fields\": [ {\"name\":\"a\", \"type\":{\"type\":\"int\"}} ] }",
    );
    let c = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}"#,
    );
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_eq!(a.fingerprint().to_string().len(), 32);
    // The same text as another type is another schema.
    let as_json = parse(SchemaType::Json, r#"{"type":"string"}"#);
    let as_avro = parse(SchemaType::Avro, r#"{"type":"string"}"#);
    assert_ne!(as_json.fingerprint(), as_avro.fingerprint());
}

#[test]
fn json_schema_drafts_are_selected_by_dollar_schema() {
    use herald::schema::json::Draft;
    let cases = [
        (r#"{"type":"string"}"#, Draft::Draft7),
        (
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"string"}"#,
            Draft::Draft4,
        ),
        (
            r#"{"$schema":"http://json-schema.org/draft-06/schema#","type":"string"}"#,
            Draft::Draft6,
        ),
        (
            r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"string"}"#,
            Draft::Draft7,
        ),
        (
            r#"{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"string"}"#,
            Draft::Draft201909,
        ),
        (
            r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"string"}"#,
            Draft::Draft202012,
        ),
    ];
    for (text, draft) in cases {
        let Schema::Json(schema) = parse(SchemaType::Json, text) else {
            unreachable!()
        };
        assert_eq!(schema.draft(), draft, "{text}");
    }
    // Draft-specific meta-schemas: exclusiveMinimum is a boolean in draft 4, a number later.
    assert!(Schema::parse(
        SchemaType::Json,
        r#"{"$schema":"http://json-schema.org/draft-04/schema#","minimum":1,"exclusiveMinimum":true}"#,
        &[]
    )
    .is_ok());
    let err = Schema::parse(SchemaType::Json, r#"{"minimum":1,"exclusiveMinimum":true}"#, &[]).unwrap_err();
    assert_eq!(err.pointer(), Some("/exclusiveMinimum"), "{err}");
}

#[test]
fn avro_named_types_aliases_and_recursion_parse() {
    let Schema::Avro(schema) = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Node","namespace":"list","aliases":["Cell"],"fields":[
            {"name":"value","type":"int"},
            {"name":"next","type":["null","Node"],"default":null}]}"#,
    ) else {
        unreachable!()
    };
    let root = schema.root();
    assert_eq!(schema.named("list.Node"), Some(root));
    assert_eq!(schema.kind(root).aliases(), ["list.Cell".to_string()]);
}

#[test]
fn avro_defaults_that_match_their_type_are_accepted() {
    let ok = [
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":-5}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":1}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"float","default":"NaN"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"bytes","default":"\u00ff\u0000"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":2},"default":"ab"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":null}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":["string","null"],"default":null}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":"long"},"default":[1,2]}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"map","values":"boolean"},"default":{"x":true}}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int"},{"name":"y","type":"int","default":0}]},"default":{"x":1}}]}"#,
    ];
    for text in ok {
        assert!(Schema::parse(SchemaType::Avro, text, &[]).is_ok(), "{text}");
    }
}
