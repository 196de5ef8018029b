//! A compiled file's types as plain data: names, numbers, labels and kinds, read out of the
//! descriptors once per schema.
//!
//! A FULL_TRANSITIVE check compares a new schema with every earlier version in both
//! directions; asking the descriptor pool the same questions (which oneof, which label,
//! which kind) for every field of every pair costs more than the comparison itself. A
//! registry keeps parsed schemas, so each one's shape is built once and every later
//! comparison walks sorted vectors.

use std::collections::HashMap;

use prost_reflect::{Cardinality, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, Syntax};

/// Every message and enum the schema can reach (its own and those of the files it imports),
/// and the scope of its own file.
#[derive(Debug)]
pub struct Shape {
    pub package: String,
    /// Indexed by message id; map entries included (fields of map type point at them).
    pub messages: Vec<MessageShape>,
    /// Indexed by enum id.
    pub enums: Vec<EnumShape>,
    /// The schema file's top-level messages and enums.
    pub scope: Scope,
}

/// The messages and enums declared in one scope (a file or a message), each sorted by
/// simple name. Map entries are how a descriptor spells `map<K, V>`, not types of their
/// own, so they are left out.
#[derive(Debug, Default)]
pub struct Scope {
    pub messages: Vec<ScopedMessage>,
    pub enums: Vec<usize>,
}

/// A message declared in a scope, with its position among the scope's messages (the
/// element of a serializer's message-index path).
#[derive(Debug, Clone, Copy)]
pub struct ScopedMessage {
    pub index: usize,
    pub id: usize,
}

#[derive(Debug)]
pub struct MessageShape {
    pub name: String,
    pub full_name: String,
    /// The name within its package: `Order.Line`.
    pub local_name: String,
    /// Where it is declared, as a descriptor path of its file.
    pub path: Box<[i32]>,
    /// Whether it is declared in the schema's own file (so its lines are the schema's).
    pub in_schema_file: bool,
    /// Sorted by number.
    pub fields: Vec<FieldShape>,
    /// Real oneofs (not the synthetic ones of proto3 `optional`), sorted by name.
    pub oneofs: Vec<OneofShape>,
    pub scope: Scope,
}

#[derive(Debug)]
pub struct OneofShape {
    pub name: String,
    /// Member field numbers, in declaration order.
    pub members: Vec<u32>,
}

#[derive(Debug)]
pub struct FieldShape {
    pub number: u32,
    pub name: String,
    /// The label as the text has it: `None` for proto3's implicit presence, oneof members
    /// and maps.
    pub label: Option<Label>,
    pub kind: KindShape,
    /// Index into the parent's [`MessageShape::oneofs`].
    pub oneof: Option<usize>,
    /// The message it belongs to.
    pub parent: usize,
    pub path: Box<[i32]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Optional,
    Required,
    Repeated,
}

impl Label {
    pub fn word(self) -> &'static str {
        match self {
            Label::Optional => "optional",
            Label::Required => "required",
            Label::Repeated => "repeated",
        }
    }
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindShape {
    Scalar(ScalarType),
    /// An enum, by id.
    Enum(usize),
    /// A message, by id.
    Message(usize),
    Map(Box<KindShape>, Box<KindShape>),
}

/// Protobuf's fifteen scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl ScalarType {
    /// The type's name in `.proto` text.
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Double => "double",
            ScalarType::Float => "float",
            ScalarType::Int32 => "int32",
            ScalarType::Int64 => "int64",
            ScalarType::Uint32 => "uint32",
            ScalarType::Uint64 => "uint64",
            ScalarType::Sint32 => "sint32",
            ScalarType::Sint64 => "sint64",
            ScalarType::Fixed32 => "fixed32",
            ScalarType::Fixed64 => "fixed64",
            ScalarType::Sfixed32 => "sfixed32",
            ScalarType::Sfixed64 => "sfixed64",
            ScalarType::Bool => "bool",
            ScalarType::String => "string",
            ScalarType::Bytes => "bytes",
        }
    }
}

#[derive(Debug)]
pub struct EnumShape {
    pub name: String,
    pub full_name: String,
    /// (number, name), sorted by number; of aliases sharing a number, the last declared.
    pub values: Vec<(i32, String)>,
}

impl Shape {
    pub fn of(file: &FileDescriptor) -> Shape {
        let pool = file.parent_pool();
        let message_ids: HashMap<String, usize> = pool
            .all_messages()
            .enumerate()
            .map(|(id, m)| (m.full_name().to_string(), id))
            .collect();
        let enum_ids: HashMap<String, usize> = pool
            .all_enums()
            .enumerate()
            .map(|(id, e)| (e.full_name().to_string(), id))
            .collect();
        let ids = Ids {
            messages: &message_ids,
            enums: &enum_ids,
        };
        let messages = pool
            .all_messages()
            .enumerate()
            .map(|(id, m)| message_shape(&m, id, file.name(), &ids))
            .collect();
        let enums = pool
            .all_enums()
            .map(|e| {
                let mut values: Vec<(i32, String)> = e.values().map(|v| (v.number(), v.name().to_string())).collect();
                values.sort_by_key(|(number, _)| *number);
                // Of aliases, the last declared speaks for the number.
                values.reverse();
                values.dedup_by_key(|(number, _)| *number);
                values.reverse();
                EnumShape {
                    name: e.name().to_string(),
                    full_name: e.full_name().to_string(),
                    values,
                }
            })
            .collect();
        Shape {
            package: file.package_name().to_string(),
            messages,
            enums,
            scope: ids.scope(file.messages(), file.enums()),
        }
    }
}

/// Message and enum ids by full name.
struct Ids<'a> {
    messages: &'a HashMap<String, usize>,
    enums: &'a HashMap<String, usize>,
}

impl Ids<'_> {
    fn message(&self, message: &MessageDescriptor) -> usize {
        self.messages[message.full_name()]
    }

    fn scope(
        &self,
        messages: impl Iterator<Item = MessageDescriptor>,
        enums: impl Iterator<Item = prost_reflect::EnumDescriptor>,
    ) -> Scope {
        let mut named: Vec<(String, ScopedMessage)> = messages
            .filter(|m| !m.is_map_entry())
            .enumerate()
            .map(|(index, m)| {
                let id = self.message(&m);
                (m.name().to_string(), ScopedMessage { index, id })
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let mut enums: Vec<(String, usize)> = enums
            .map(|e| (e.name().to_string(), self.enums[e.full_name()]))
            .collect();
        enums.sort_by(|a, b| a.0.cmp(&b.0));
        Scope {
            messages: named.into_iter().map(|(_, m)| m).collect(),
            enums: enums.into_iter().map(|(_, id)| id).collect(),
        }
    }

    fn kind(&self, kind: &Kind) -> KindShape {
        match kind {
            Kind::Message(message) if message.is_map_entry() => KindShape::Map(
                Box::new(self.kind(&message.map_entry_key_field().kind())),
                Box::new(self.kind(&message.map_entry_value_field().kind())),
            ),
            Kind::Message(message) => KindShape::Message(self.message(message)),
            Kind::Enum(e) => KindShape::Enum(self.enums[e.full_name()]),
            Kind::Double => KindShape::Scalar(ScalarType::Double),
            Kind::Float => KindShape::Scalar(ScalarType::Float),
            Kind::Int32 => KindShape::Scalar(ScalarType::Int32),
            Kind::Int64 => KindShape::Scalar(ScalarType::Int64),
            Kind::Uint32 => KindShape::Scalar(ScalarType::Uint32),
            Kind::Uint64 => KindShape::Scalar(ScalarType::Uint64),
            Kind::Sint32 => KindShape::Scalar(ScalarType::Sint32),
            Kind::Sint64 => KindShape::Scalar(ScalarType::Sint64),
            Kind::Fixed32 => KindShape::Scalar(ScalarType::Fixed32),
            Kind::Fixed64 => KindShape::Scalar(ScalarType::Fixed64),
            Kind::Sfixed32 => KindShape::Scalar(ScalarType::Sfixed32),
            Kind::Sfixed64 => KindShape::Scalar(ScalarType::Sfixed64),
            Kind::Bool => KindShape::Scalar(ScalarType::Bool),
            Kind::String => KindShape::Scalar(ScalarType::String),
            Kind::Bytes => KindShape::Scalar(ScalarType::Bytes),
        }
    }
}

fn message_shape(message: &MessageDescriptor, id: usize, schema_file: &str, ids: &Ids<'_>) -> MessageShape {
    let mut oneofs: Vec<OneofShape> = message
        .oneofs()
        .filter(|o| !o.is_synthetic())
        .map(|o| OneofShape {
            name: o.name().to_string(),
            members: o.fields().map(|f| f.number()).collect(),
        })
        .collect();
    oneofs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut fields: Vec<FieldShape> = message
        .fields()
        .map(|f| {
            let oneof = f
                .containing_oneof()
                .filter(|o| !o.is_synthetic())
                .and_then(|o| oneofs.binary_search_by(|shape| shape.name.as_str().cmp(o.name())).ok());
            FieldShape {
                number: f.number(),
                name: f.name().to_string(),
                label: label(&f),
                kind: ids.kind(&f.kind()),
                oneof,
                parent: id,
                path: f.path().into(),
            }
        })
        .collect();
    fields.sort_by_key(|f| f.number);
    MessageShape {
        name: message.name().to_string(),
        full_name: message.full_name().to_string(),
        local_name: local_name(message).to_string(),
        path: message.path().into(),
        in_schema_file: message.parent_file().name() == schema_file,
        fields,
        oneofs,
        scope: ids.scope(message.child_messages(), message.child_enums()),
    }
}

fn label(field: &FieldDescriptor) -> Option<Label> {
    if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) || field.is_map() {
        return None;
    }
    if field.field_descriptor_proto().proto3_optional() {
        return Some(Label::Optional);
    }
    let proto3 = field.parent_file().syntax() == Syntax::Proto3;
    match field.cardinality() {
        Cardinality::Repeated => Some(Label::Repeated),
        Cardinality::Required if !proto3 => Some(Label::Required),
        Cardinality::Optional if !proto3 => Some(Label::Optional),
        _ => None,
    }
}

/// A message's name within its package: `Order.Line`.
fn local_name(message: &MessageDescriptor) -> &str {
    let package = message.package_name();
    let full = message.full_name();
    match package.is_empty() {
        true => full,
        false => full
            .strip_prefix(package)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(full),
    }
}
