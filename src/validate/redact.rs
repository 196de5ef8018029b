//! Redaction of sensitive fields, for readers without the grant to see them: the fields a
//! schema tags with a sensitive tag (its metadata's path globs, inline `confluent:tags`,
//! Protobuf field options) are replaced as Confluent's REDACT action replaces them, and the
//! payload keeps its schema, so the reader's deserializer reads it as before:
//!
//! - strings become `"<REDACTED>"`, and bytes the UTF-8 bytes of that text;
//! - numbers become 0, booleans false, enums their first symbol, fixed its size in zeros;
//! - nulls stay null; a tagged record, array or map has every value inside it redacted.
//!
//! Pure code: a schema, its metadata and the tags hidden from a reader in, bytes out.

use std::collections::BTreeSet;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind as ProtoKind, ReflectMessage, Value as ProtoValue};
use serde_json::Value;

use super::Violation;
use crate::schema::avro::{AvroSchema, Kind, NodeId};
use crate::schema::field_path::{self, Step};
use crate::schema::fields::field_rows;
use crate::schema::protobuf::ProtobufSchema;
use crate::schema::Schema;

/// What a redacted string reads.
pub const REDACTED: &str = "<REDACTED>";

/// The fields of one schema hidden from one reader, by their dotted paths
/// ([`field_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redactor {
    paths: BTreeSet<String>,
}

impl Redactor {
    /// The redactor of `schema` for a reader who may not see the tags in `hidden`; `None`
    /// when no field of the schema carries one of them (nothing to do).
    pub fn new(schema: &Schema, metadata: Option<&Value>, hidden: &[String]) -> Option<Redactor> {
        if hidden.is_empty() {
            return None;
        }
        let paths: BTreeSet<String> = field_rows(schema, metadata)
            .into_iter()
            .filter(|row| row.tags.iter().any(|tag| hidden.contains(tag)))
            .map(|row| row.path)
            .collect();
        (!paths.is_empty()).then_some(Redactor { paths })
    }

    /// The tagged fields' paths.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(String::as_str)
    }

    /// Redacts one payload body (after its framing) of `schema`: the new body and the paths
    /// of the fields it held that were redacted. A body that does not decode is an error.
    pub fn redact(&self, schema: &Schema, body: &[u8]) -> Result<(Vec<u8>, Vec<String>), Violation> {
        let mut found = BTreeSet::new();
        let body = match schema {
            Schema::Avro(avro) => {
                let mut value = super::avro::decode_binary(avro, body)?;
                self.avro(avro, avro.root(), &mut value, "", false, &mut found);
                super::avro::encode_json(avro, &value)?
            }
            Schema::Json(_) => {
                let mut value: Value = serde_json::from_slice(body).map_err(|e| Violation {
                    path: String::new(),
                    reason: format!("is not JSON: {e}"),
                })?;
                self.json(&mut value, "", false, &mut found);
                serde_json::to_vec(&value).unwrap_or_default()
            }
            Schema::Protobuf(proto) => self.protobuf(proto, body, &mut found)?,
        };
        Ok((body, found.into_iter().collect()))
    }

    /// Whether the field at `path` is redacted (itself, or inside a redacted field).
    fn hit(&self, inside: bool, path: &str, found: &mut BTreeSet<String>) -> bool {
        if inside {
            return true;
        }
        let tagged = self.paths.contains(path);
        if tagged {
            found.insert(path.to_string());
        }
        tagged
    }

    /// Walks Avro's JSON encoding of a datum (unions as `{"branch": value}`) with its schema.
    fn avro(
        &self,
        schema: &AvroSchema,
        node: NodeId,
        value: &mut Value,
        path: &str,
        inside: bool,
        found: &mut BTreeSet<String>,
    ) {
        match (schema.kind(node), value) {
            (Kind::Record(record), Value::Object(fields)) => {
                for field in &record.fields {
                    let path = field_path::push(path, Step::Field(&field.name));
                    let inside = self.hit(inside, &path, found);
                    if let Some(value) = fields.get_mut(&field.name) {
                        self.avro(schema, field.schema, value, &path, inside, found);
                    }
                }
            }
            (Kind::Array { items }, Value::Array(values)) => {
                let path = field_path::push(path, Step::Items);
                let inside = self.hit(inside, &path, found);
                for value in values {
                    self.avro(schema, *items, value, &path, inside, found);
                }
            }
            (Kind::Map { values: node }, Value::Object(values)) => {
                let path = field_path::push(path, Step::Values);
                let inside = self.hit(inside, &path, found);
                for value in values.values_mut() {
                    self.avro(schema, *node, value, &path, inside, found);
                }
            }
            (Kind::Union { branches }, Value::Object(wrapped)) => {
                if let Some((key, value)) = wrapped.iter_mut().next() {
                    let branch = branches.iter().find(|&&b| branch_key(schema.kind(b)) == *key);
                    if let Some(&branch) = branch {
                        self.avro(schema, branch, value, path, inside, found);
                    }
                }
            }
            (kind, value) if inside => {
                *value = match kind {
                    Kind::String | Kind::Bytes => Value::from(REDACTED),
                    Kind::Int | Kind::Long | Kind::Float | Kind::Double => Value::from(0),
                    Kind::Boolean => Value::Bool(false),
                    Kind::Enum(symbols) => symbols.symbols.first().map_or(Value::Null, |s| Value::from(s.as_str())),
                    Kind::Fixed(fixed) => Value::from("\0".repeat(fixed.size as usize)),
                    _ => return,
                };
            }
            _ => {}
        }
    }

    /// Walks a JSON instance by its own shape (objects' properties, arrays' items).
    fn json(&self, value: &mut Value, path: &str, inside: bool, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(properties) => {
                for (name, value) in properties.iter_mut() {
                    let path = field_path::push(path, Step::Field(name));
                    let inside = self.hit(inside, &path, found);
                    self.json(value, &path, inside, found);
                }
            }
            Value::Array(items) => {
                let path = field_path::push(path, Step::Items);
                let inside = self.hit(inside, &path, found);
                for value in items {
                    self.json(value, &path, inside, found);
                }
            }
            Value::String(_) if inside => *value = Value::from(REDACTED),
            Value::Number(_) if inside => *value = Value::from(0),
            Value::Bool(_) if inside => *value = Value::Bool(false),
            _ => {}
        }
    }

    /// Decodes a framed Protobuf body (message index path, then the message), redacts the
    /// message's fields and encodes it again behind the same index path.
    fn protobuf(
        &self,
        proto: &ProtobufSchema,
        body: &[u8],
        found: &mut BTreeSet<String>,
    ) -> Result<Vec<u8>, Violation> {
        let (indexes, message) = super::protobuf::message_indexes(body)?;
        let descriptor = proto.message_at(&indexes).ok_or_else(|| Violation {
            path: String::new(),
            reason: format!("message index path {indexes:?} names no message"),
        })?;
        let mut decoded = DynamicMessage::decode(descriptor, message).map_err(|e| Violation {
            path: String::new(),
            reason: format!("does not decode: {e}"),
        })?;
        self.message(&mut decoded, "", false, found);
        let mut out = body[..body.len() - message.len()].to_vec();
        prost::Message::encode(&decoded, &mut out).map_err(|e| Violation {
            path: String::new(),
            reason: format!("cannot be encoded again: {e}"),
        })?;
        Ok(out)
    }

    fn message(&self, message: &mut DynamicMessage, path: &str, inside: bool, found: &mut BTreeSet<String>) {
        let fields: Vec<FieldDescriptor> = message.descriptor().fields().collect();
        for field in fields {
            if !message.has_field(&field) {
                continue;
            }
            let path = field_path::push(path, Step::Field(field.name()));
            let inside = self.hit(inside, &path, found);
            let value = message.get_field_mut(&field);
            let (step, kind) = if field.is_list() {
                (Some(Step::Items), field.kind())
            } else if field.is_map() {
                let value_kind = match field.kind() {
                    ProtoKind::Message(entry) => entry.map_entry_value_field().kind(),
                    other => other,
                };
                (Some(Step::Values), value_kind)
            } else {
                (None, field.kind())
            };
            match (step, value) {
                (Some(step), ProtoValue::List(items)) => {
                    let path = field_path::push(&path, step);
                    let inside = self.hit(inside, &path, found);
                    for item in items {
                        self.proto_value(item, &kind, &path, inside, found);
                    }
                }
                (Some(step), ProtoValue::Map(entries)) => {
                    let path = field_path::push(&path, step);
                    let inside = self.hit(inside, &path, found);
                    for item in entries.values_mut() {
                        self.proto_value(item, &kind, &path, inside, found);
                    }
                }
                (_, value) => self.proto_value(value, &kind, &path, inside, found),
            }
        }
    }

    fn proto_value(
        &self,
        value: &mut ProtoValue,
        kind: &ProtoKind,
        path: &str,
        inside: bool,
        found: &mut BTreeSet<String>,
    ) {
        match value {
            ProtoValue::Message(message) => self.message(message, path, inside, found),
            _ if !inside => {}
            ProtoValue::String(_) => *value = ProtoValue::String(REDACTED.to_string()),
            ProtoValue::Bytes(_) => *value = ProtoValue::Bytes(REDACTED.as_bytes().to_vec().into()),
            ProtoValue::Bool(_) => *value = ProtoValue::Bool(false),
            ProtoValue::EnumNumber(_) => {
                if let ProtoKind::Enum(descriptor) = kind {
                    *value = ProtoValue::EnumNumber(descriptor.default_value().number());
                }
            }
            ProtoValue::I32(_) => *value = ProtoValue::I32(0),
            ProtoValue::I64(_) => *value = ProtoValue::I64(0),
            ProtoValue::U32(_) => *value = ProtoValue::U32(0),
            ProtoValue::U64(_) => *value = ProtoValue::U64(0),
            ProtoValue::F32(_) => *value = ProtoValue::F32(0.0),
            ProtoValue::F64(_) => *value = ProtoValue::F64(0.0),
            ProtoValue::List(_) | ProtoValue::Map(_) => {}
        }
    }
}

/// The key of a union branch in Avro's JSON encoding: a named type's full name, otherwise
/// the type's own name (`string`, `array`).
fn branch_key(kind: &Kind) -> String {
    match kind.name() {
        Some(name) => name.full(),
        None => kind.type_name().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::SchemaType;

    fn hidden() -> Vec<String> {
        vec!["PII".to_string()]
    }

    #[test]
    fn avro_fields_tagged_inline_or_by_metadata_are_redacted_and_the_rest_kept() {
        let text = json!({"type": "record", "name": "Customer", "namespace": "acme", "fields": [
            {"name": "name", "type": "string"},
            {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
            {"name": "age", "type": "int"},
            {"name": "email", "type": ["null", "string"], "default": null},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["PERSON", "COMPANY"]}},
            {"name": "address", "type": ["null", {"type": "record", "name": "Address", "fields": [
                {"name": "street", "type": "string"}, {"name": "zip", "type": "int"}]}], "default": null},
            {"name": "phones", "type": {"type": "array", "items": "string"}}]})
        .to_string();
        let schema = Schema::parse(SchemaType::Avro, &text, &[]).unwrap();
        let Schema::Avro(avro) = &schema else { unreachable!() };
        let metadata = json!({"tags": {"email": ["PII"], "address": ["PII"], "kind": ["PII"], "phones": ["PII"]}});
        let redactor = Redactor::new(&schema, Some(&metadata), &hidden()).unwrap();
        let record = json!({"name": "Ada", "ssn": "123456789", "age": 36, "email": {"string": "ada@example.com"},
            "kind": "COMPANY", "address": {"acme.Address": {"street": "1 Main St", "zip": 12345}},
            "phones": ["555-1234", "555-9876"]});
        let body = crate::validate::avro::encode_json(avro, &record).unwrap();
        let (redacted, found) = redactor.redact(&schema, &body).unwrap();
        assert_eq!(
            crate::validate::avro::decode_binary(avro, &redacted).unwrap(),
            json!({"name": "Ada", "ssn": REDACTED, "age": 36, "email": {"string": REDACTED},
                "kind": "PERSON", "address": {"acme.Address": {"street": REDACTED, "zip": 0}},
                "phones": [REDACTED, REDACTED]})
        );
        assert_eq!(found, ["address", "email", "kind", "phones", "ssn"]);

        // A null stays null, and is not reported as redacted.
        let record = json!({"name": "Bo", "ssn": "1", "age": 1, "email": null, "kind": "PERSON",
            "address": null, "phones": []});
        let body = crate::validate::avro::encode_json(avro, &record).unwrap();
        let (redacted, _) = redactor.redact(&schema, &body).unwrap();
        let decoded = crate::validate::avro::decode_binary(avro, &redacted).unwrap();
        assert_eq!(
            (decoded["email"].clone(), decoded["address"].clone()),
            (Value::Null, Value::Null)
        );

        // Tags the reader may see, or none at all: nothing to do.
        assert!(Redactor::new(&schema, Some(&metadata), &["SECRET".to_string()]).is_none());
        assert!(Redactor::new(&schema, Some(&metadata), &[]).is_none());
    }

    #[test]
    fn json_properties_are_redacted_by_their_type_inside_arrays_and_objects() {
        let text = json!({"type": "object", "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "confluent:tags": ["PII"]},
            "card": {"type": "object", "confluent:tags": ["PII"], "properties": {
                "number": {"type": "string"}, "cvv": {"type": "integer"}, "valid": {"type": "boolean"}}},
            "contacts": {"type": "array", "items": {"type": "object", "properties": {
                "phone": {"type": "string", "confluent:tags": ["PII"]}, "primary": {"type": "boolean"}}}}}})
        .to_string();
        let schema = Schema::parse(SchemaType::Json, &text, &[]).unwrap();
        let redactor = Redactor::new(&schema, None, &hidden()).unwrap();
        let body = json!({"id": "c1", "email": "a@b.c", "card": {"number": "4111", "cvv": 123, "valid": true},
            "contacts": [{"phone": "555", "primary": true}, {"phone": null, "primary": false}]});
        let (redacted, found) = redactor.redact(&schema, body.to_string().as_bytes()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&redacted).unwrap(),
            json!({"id": "c1", "email": REDACTED, "card": {"number": REDACTED, "cvv": 0, "valid": false},
                "contacts": [{"phone": REDACTED, "primary": true}, {"phone": null, "primary": false}]})
        );
        assert_eq!(found, ["card", "contacts[].phone", "email"]);
        assert!(redactor.redact(&schema, b"{not json").is_err());
    }

    #[test]
    fn protobuf_fields_tagged_by_field_options_are_redacted_behind_the_same_index_path() {
        let text = r#"syntax = "proto3";
package acme;
import "confluent/meta.proto";
message Customer {
  string name = 1;
  string ssn = 2 [(confluent.field_meta).tags = "PII"];
  int64 card = 3 [(confluent.field_meta).tags = "PII"];
  repeated string phones = 4 [(confluent.field_meta).tags = "PII"];
  int32 age = 5;
}
"#;
        let schema = Schema::parse(SchemaType::Protobuf, text, &[]).unwrap();
        let Schema::Protobuf(proto) = &schema else {
            unreachable!()
        };
        let redactor = Redactor::new(&schema, None, &hidden()).unwrap();
        let body = crate::validate::protobuf::encode_json(
            proto,
            r#"{"name": "Ada", "ssn": "123456789", "card": "4111111111111111", "phones": ["555"], "age": 36}"#,
        )
        .unwrap();
        let (redacted, found) = redactor.redact(&schema, &body).unwrap();
        assert_eq!(redacted[0], body[0], "the message index path is kept");
        assert_eq!(
            crate::validate::protobuf::decode_plain(proto, &redacted).unwrap(),
            json!({"name": "Ada", "ssn": REDACTED, "card": 0, "phones": [REDACTED], "age": 36})
        );
        assert_eq!(found, ["card", "phones", "ssn"]);
    }
}
