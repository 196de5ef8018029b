//! An example event made up from a schema, for documentation pages that have no stored
//! example. Defaults are used where a field has one, otherwise a plausible value of the type
//! (`format` and logical types respected), so the example validates against the schema for
//! the common shapes. It is an illustration, not a fuzzer: it does not chase `pattern`s.

use serde_json::{json, Map, Value};

use super::avro::{AvroSchema, Kind, NodeId};
use super::json::{Criterion, JsonKind, JsonNodeId, JsonSchema};
use super::Schema;

const MAX_DEPTH: usize = 8;
/// At most this many values in one example: a type reused at every level would otherwise
/// make the example grow exponentially.
const MAX_VALUES: usize = 2_000;
/// Strings are padded to a `minLength` only up to this; a longer minimum is left unmet (the
/// example illustrates, it must not allocate what a hostile schema asks for).
const MAX_PADDING: usize = 256;

/// A JSON example of an event of `schema` (Avro's JSON form with bare union values, which
/// Herald's produce path and most tools accept).
pub fn example(schema: &Schema) -> Value {
    match schema {
        Schema::Avro(avro) => avro_example(avro, avro.root(), "value", 0, &mut MAX_VALUES.clone()),
        Schema::Json(json) => json_example(json, json.root(), "value", 0, &mut MAX_VALUES.clone()),
        Schema::Protobuf(proto) => match proto.messages().first() {
            Some(message) => protobuf_example(message, 0, &mut MAX_VALUES.clone()),
            None => Value::Null,
        },
    }
}

fn avro_example(schema: &AvroSchema, id: NodeId, name: &str, depth: usize, budget: &mut usize) -> Value {
    if depth > MAX_DEPTH || *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    if let Some(logical) = schema.logical_type(id) {
        match logical {
            "timestamp-millis" | "local-timestamp-millis" => return json!(1_767_225_600_000_i64),
            "timestamp-micros" | "local-timestamp-micros" => return json!(1_767_225_600_000_000_i64),
            "date" => return json!(20_454),
            "time-millis" => return json!(43_200_000),
            "time-micros" => return json!(43_200_000_000_i64),
            "uuid" => return json!("3f2c8a5e-7b1d-4c9a-9e2f-1a6b5c4d3e2f"),
            _ => {}
        }
    }
    match schema.kind(id) {
        Kind::Null => Value::Null,
        Kind::Boolean => json!(true),
        Kind::Int | Kind::Long => json!(42),
        Kind::Float | Kind::Double => json!(12.5),
        Kind::Bytes => json!("\u{1}\u{2}"),
        Kind::String => json!(format!("example {name}")),
        Kind::Array { items } => json!([avro_example(schema, *items, name, depth + 1, budget)]),
        Kind::Map { values } => json!({ "key": avro_example(schema, *values, name, depth + 1, budget) }),
        Kind::Union { branches } => {
            // The first non-null branch shows more than `null` would.
            let branch = branches
                .iter()
                .copied()
                .find(|&b| !matches!(schema.kind(b), Kind::Null))
                .or_else(|| branches.first().copied());
            branch.map_or(Value::Null, |b| avro_example(schema, b, name, depth + 1, budget))
        }
        Kind::Record(record) => {
            let mut object = Map::new();
            for field in &record.fields {
                let value = match &field.default {
                    Some(default) if !default.is_null() => default.clone(),
                    _ => avro_example(schema, field.schema, &field.name, depth + 1, budget),
                };
                object.insert(field.name.clone(), value);
            }
            Value::Object(object)
        }
        Kind::Enum(e) => e.symbols.first().map_or(Value::Null, |s| json!(s)),
        Kind::Fixed(f) => json!("\u{0}".repeat(usize::try_from(f.size.min(64)).unwrap_or(0))),
    }
}

fn json_example(schema: &JsonSchema, id: JsonNodeId, name: &str, depth: usize, budget: &mut usize) -> Value {
    if depth > MAX_DEPTH || *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    if let Some(default) = schema.annotations(id).and_then(|a| a.default.clone()) {
        return default;
    }
    match &schema.node(id).kind {
        JsonKind::Any | JsonKind::Null | JsonKind::Nothing | JsonKind::Not(_) => Value::Null,
        JsonKind::Boolean => json!(true),
        JsonKind::String(rules) => {
            let text = match rules.format.as_deref() {
                Some("date-time") => "2026-01-01T00:00:00Z".to_string(),
                Some("date") => "2026-01-01".to_string(),
                Some("time") => "12:00:00Z".to_string(),
                Some("email") => "someone@example.com".to_string(),
                Some("uuid") => "3f2c8a5e-7b1d-4c9a-9e2f-1a6b5c4d3e2f".to_string(),
                Some("uri") => "https://example.com/".to_string(),
                _ => format!("example {name}"),
            };
            let min = usize::try_from(rules.min_length.unwrap_or(0)).unwrap_or(usize::MAX);
            let mut text = if text.chars().count() < min && min <= MAX_PADDING {
                format!("{text}{}", "x".repeat(min - text.chars().count()))
            } else {
                text
            };
            if let Some(max) = rules.max_length {
                text = text.chars().take(usize::try_from(max).unwrap_or(usize::MAX)).collect();
            }
            json!(text)
        }
        JsonKind::Number(rules) => {
            let mut value: f64 = 42.0;
            if let Some(max) = rules.maximum {
                value = value.min(max);
            }
            if let Some(max) = rules.exclusive_maximum {
                value = value.min(max - 1.0);
            }
            if let Some(min) = rules.minimum {
                value = value.max(min);
            }
            if let Some(min) = rules.exclusive_minimum {
                value = value.max(min + 1.0);
            }
            if rules.integer {
                json!(value.ceil() as i64)
            } else {
                json!(value)
            }
        }
        JsonKind::Object(rules) => {
            let mut object = Map::new();
            for (property, node) in &rules.properties {
                object.insert(
                    property.clone(),
                    json_example(schema, *node, property, depth + 1, budget),
                );
            }
            Value::Object(object)
        }
        JsonKind::Array(rules) => match (&rules.tuple, rules.items) {
            (Some(tuple), _) => Value::Array(
                tuple
                    .iter()
                    .map(|&t| json_example(schema, t, name, depth + 1, budget))
                    .collect(),
            ),
            (None, Some(items)) => json!([json_example(schema, items, name, depth + 1, budget)]),
            (None, None) => json!([]),
        },
        JsonKind::Enum(values) => values.first().cloned().unwrap_or(Value::Null),
        JsonKind::Const(value) => value.clone(),
        JsonKind::Combined { criterion, subschemas } => match criterion {
            // Every member must hold: merge the objects they describe.
            Criterion::AllOf => {
                let mut merged: Option<Value> = None;
                for &member in subschemas {
                    let part = json_example(schema, member, name, depth + 1, budget);
                    merged = Some(match (merged, part) {
                        (Some(Value::Object(mut a)), Value::Object(b)) => {
                            a.extend(b);
                            Value::Object(a)
                        }
                        (Some(Value::Object(a)), Value::Null) => Value::Object(a),
                        (_, part) => part,
                    });
                }
                merged.unwrap_or(Value::Null)
            }
            Criterion::AnyOf | Criterion::OneOf => {
                let member = subschemas
                    .iter()
                    .copied()
                    .find(|&s| !matches!(schema.node(schema.resolve(s)).kind, JsonKind::Null))
                    .or_else(|| subschemas.first().copied());
                member.map_or(Value::Null, |m| json_example(schema, m, name, depth + 1, budget))
            }
        },
        JsonKind::Ref(target) => json_example(schema, *target, name, depth + 1, budget),
    }
}

/// A Protobuf message as its canonical JSON (proto3's JSON mapping: JSON names, 64-bit
/// integers as strings, enums by name, well-known types in their JSON forms); of each oneof
/// only the first member is set.
fn protobuf_example(message: &prost_reflect::MessageDescriptor, depth: usize, budget: &mut usize) -> Value {
    use prost_reflect::Kind as ProtoKind;
    if depth > MAX_DEPTH || *budget == 0 {
        return json!({});
    }
    match message.full_name() {
        "google.protobuf.Timestamp" => return json!("2024-05-01T12:00:00Z"),
        "google.protobuf.Duration" => return json!("1.5s"),
        "google.protobuf.StringValue" => return json!("text"),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => return json!(1),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => return json!("1"),
        "google.protobuf.BoolValue" => return json!(true),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => return json!(1.5),
        "google.protobuf.Struct" => return json!({}),
        "google.protobuf.Value" => return json!("value"),
        "google.protobuf.Empty" => return json!({}),
        _ => {}
    }
    let scalar = |kind: &ProtoKind, name: &str, depth: usize, budget: &mut usize| -> Value {
        match kind {
            ProtoKind::Double | ProtoKind::Float => json!(1.5),
            ProtoKind::Int32 | ProtoKind::Sint32 | ProtoKind::Sfixed32 | ProtoKind::Uint32 | ProtoKind::Fixed32 => {
                json!(1)
            }
            ProtoKind::Int64 | ProtoKind::Sint64 | ProtoKind::Sfixed64 | ProtoKind::Uint64 | ProtoKind::Fixed64 => {
                json!("1")
            }
            ProtoKind::Bool => json!(true),
            ProtoKind::String => json!(name),
            ProtoKind::Bytes => json!("AQID"),
            ProtoKind::Enum(e) => {
                let value = e.values().find(|v| v.number() != 0).or_else(|| e.values().next());
                value.map_or(Value::Null, |v| json!(v.name()))
            }
            ProtoKind::Message(m) => protobuf_example(m, depth + 1, budget),
        }
    };
    let mut object = Map::new();
    let mut oneofs_set = std::collections::HashSet::new();
    for field in message.fields() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if !oneofs_set.insert(oneof.name().to_string()) {
                continue;
            }
        }
        let kind = field.kind();
        let value = if field.is_map() {
            let Some(entry) = kind.as_message() else { continue };
            let key = scalar(&entry.map_entry_key_field().kind(), "key", depth, budget);
            let key = match key {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let value = scalar(&entry.map_entry_value_field().kind(), field.name(), depth, budget);
            Value::Object(Map::from_iter([(key, value)]))
        } else if field.is_list() {
            json!([scalar(&kind, field.name(), depth, budget)])
        } else {
            scalar(&kind, field.name(), depth, budget)
        };
        object.insert(field.json_name().to_string(), value);
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;
    use crate::validate::{avro::encode_json, JsonValidator};

    #[test]
    fn avro_example_encodes_with_its_schema() {
        let text = r#"{"type":"record","name":"Payment","fields":[
            {"name":"id","type":{"type":"string","logicalType":"uuid"}},
            {"name":"amount","type":"long"},
            {"name":"currency","type":"string","default":"EUR"},
            {"name":"method","type":{"type":"enum","name":"Method","symbols":["CARD","SEPA"]}},
            {"name":"note","type":["null","string"],"default":null},
            {"name":"tags","type":{"type":"map","values":"string"}}]}"#;
        let schema = Schema::parse(SchemaType::Avro, text, &[]).unwrap();
        let value = example(&schema);
        assert_eq!(value["currency"], "EUR");
        assert_eq!(value["method"], "CARD");
        assert_eq!(value["note"], "example note");
        let Schema::Avro(avro) = &schema else { unreachable!() };
        encode_json(avro, &value).expect("the example encodes");
    }

    #[test]
    fn hostile_schemas_give_bounded_examples() {
        let huge = r#"{"type":"object","properties":{"a":{"type":"string","minLength":1099511627776}}}"#;
        let schema = Schema::parse(SchemaType::Json, huge, &[]).unwrap();
        assert_eq!(example(&schema)["a"], "example a");
        // Ten fields of a type with ten fields of a type with ten fields …
        let mut defs = serde_json::Map::new();
        for level in 0..8 {
            let target = if level == 7 {
                json!({"type": "string"})
            } else {
                json!({"$ref": format!("#/$defs/t{}", level + 1)})
            };
            let properties: serde_json::Map<String, Value> =
                (0..10).map(|i| (format!("f{i}"), target.clone())).collect();
            defs.insert(format!("t{level}"), json!({"type": "object", "properties": properties}));
        }
        let text =
            json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/$defs/t0", "$defs": defs})
                .to_string();
        let schema = Schema::parse(SchemaType::Json, &text, &[]).unwrap();
        let value = example(&schema);
        assert!(value.to_string().len() < 200_000, "{} bytes", value.to_string().len());
        let rows = crate::schema::fields::field_rows(&schema, None);
        assert!(rows.len() <= 2_000, "{} rows", rows.len());
        assert_eq!(rows[0].path, "f0");
    }

    #[test]
    fn json_example_validates_against_its_schema() {
        let text = r#"{"type":"object","required":["id","qty"],"properties":{
            "id":{"type":"string","format":"uuid"},
            "qty":{"type":"integer","minimum":1,"maximum":10},
            "at":{"type":"string","format":"date-time"},
            "kind":{"enum":["a","b"]},
            "code":{"type":"string","minLength":20},
            "lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}}}}},
            "additionalProperties":false}"#;
        let schema = Schema::parse(SchemaType::Json, text, &[]).unwrap();
        let value = example(&schema);
        assert_eq!(value["qty"], 10);
        let validator = JsonValidator::new(text).unwrap();
        assert!(validator.check_value(&value).is_empty(), "{value}");
    }
}
