//! Confluent's Protobuf compatibility rules: every difference between an original schema
//! and its update, of one of Confluent's 26 kinds, each compatible or not.
//!
//! Types are matched by simple name within their scope (messages and enums apart), fields by
//! number across the whole message (oneof members included), enum constants by number. A
//! backward check compares (original = old, update = new); a forward check swaps them, so
//! the inverse change is judged. Labels follow the text of the schema: proto3 fields without
//! `optional` and oneof members have none, so `int32 x = 1` → `repeated int32 x = 1` raises
//! nothing while `optional int32` → `repeated` does, as upstream.
//!
//! Paths read as Confluent's (`#/Order/items/3`: messages, oneofs and field numbers joined
//! by `/`); each difference also names the field (`Order.total`) and its line in both texts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use prost_reflect::{Cardinality, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Syntax};

use super::{Budget, TooComplex};
use crate::schema::protobuf::ProtobufSchema;

/// Confluent's `Difference.Type`, with whether the change it names is compatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffKind {
    PackageChanged,
    MessageAdded,
    MessageRemoved,
    MessageMoved,
    EnumAdded,
    EnumRemoved,
    EnumConstAdded,
    EnumConstChanged,
    EnumConstRemoved,
    FieldAdded,
    FieldRemoved,
    FieldNameChanged,
    FieldKindChanged,
    FieldScalarKindChanged,
    FieldNamedTypeChanged,
    FieldNumericLabelChanged,
    FieldStringOrBytesLabelChanged,
    RequiredFieldAdded,
    RequiredFieldRemoved,
    OneofAdded,
    OneofRemoved,
    OneofFieldAdded,
    OneofFieldRemoved,
    OneofFieldMovedToTopLevel,
    MultipleFieldsMovedToOneof,
    FieldMovedToExistingOneof,
}

impl DiffKind {
    /// Every kind, for tables and tests.
    pub const ALL: [DiffKind; 26] = [
        DiffKind::PackageChanged,
        DiffKind::MessageAdded,
        DiffKind::MessageRemoved,
        DiffKind::MessageMoved,
        DiffKind::EnumAdded,
        DiffKind::EnumRemoved,
        DiffKind::EnumConstAdded,
        DiffKind::EnumConstChanged,
        DiffKind::EnumConstRemoved,
        DiffKind::FieldAdded,
        DiffKind::FieldRemoved,
        DiffKind::FieldNameChanged,
        DiffKind::FieldKindChanged,
        DiffKind::FieldScalarKindChanged,
        DiffKind::FieldNamedTypeChanged,
        DiffKind::FieldNumericLabelChanged,
        DiffKind::FieldStringOrBytesLabelChanged,
        DiffKind::RequiredFieldAdded,
        DiffKind::RequiredFieldRemoved,
        DiffKind::OneofAdded,
        DiffKind::OneofRemoved,
        DiffKind::OneofFieldAdded,
        DiffKind::OneofFieldRemoved,
        DiffKind::OneofFieldMovedToTopLevel,
        DiffKind::MultipleFieldsMovedToOneof,
        DiffKind::FieldMovedToExistingOneof,
    ];

    /// The stable rule id: Confluent's name.
    pub fn id(self) -> &'static str {
        match self {
            DiffKind::PackageChanged => "PACKAGE_CHANGED",
            DiffKind::MessageAdded => "MESSAGE_ADDED",
            DiffKind::MessageRemoved => "MESSAGE_REMOVED",
            DiffKind::MessageMoved => "MESSAGE_MOVED",
            DiffKind::EnumAdded => "ENUM_ADDED",
            DiffKind::EnumRemoved => "ENUM_REMOVED",
            DiffKind::EnumConstAdded => "ENUM_CONST_ADDED",
            DiffKind::EnumConstChanged => "ENUM_CONST_CHANGED",
            DiffKind::EnumConstRemoved => "ENUM_CONST_REMOVED",
            DiffKind::FieldAdded => "FIELD_ADDED",
            DiffKind::FieldRemoved => "FIELD_REMOVED",
            DiffKind::FieldNameChanged => "FIELD_NAME_CHANGED",
            DiffKind::FieldKindChanged => "FIELD_KIND_CHANGED",
            DiffKind::FieldScalarKindChanged => "FIELD_SCALAR_KIND_CHANGED",
            DiffKind::FieldNamedTypeChanged => "FIELD_NAMED_TYPE_CHANGED",
            DiffKind::FieldNumericLabelChanged => "FIELD_NUMERIC_LABEL_CHANGED",
            DiffKind::FieldStringOrBytesLabelChanged => "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
            DiffKind::RequiredFieldAdded => "REQUIRED_FIELD_ADDED",
            DiffKind::RequiredFieldRemoved => "REQUIRED_FIELD_REMOVED",
            DiffKind::OneofAdded => "ONEOF_ADDED",
            DiffKind::OneofRemoved => "ONEOF_REMOVED",
            DiffKind::OneofFieldAdded => "ONEOF_FIELD_ADDED",
            DiffKind::OneofFieldRemoved => "ONEOF_FIELD_REMOVED",
            DiffKind::OneofFieldMovedToTopLevel => "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
            DiffKind::MultipleFieldsMovedToOneof => "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
            DiffKind::FieldMovedToExistingOneof => "FIELD_MOVED_TO_EXISTING_ONEOF",
        }
    }

    /// Whether Confluent lets the change through (`SchemaDiff.COMPATIBLE_CHANGES`).
    pub fn is_compatible(self) -> bool {
        matches!(
            self,
            DiffKind::MessageAdded
                | DiffKind::MessageMoved
                | DiffKind::EnumAdded
                | DiffKind::EnumRemoved
                | DiffKind::EnumConstAdded
                | DiffKind::EnumConstChanged
                | DiffKind::EnumConstRemoved
                | DiffKind::FieldAdded
                | DiffKind::FieldRemoved
                | DiffKind::FieldNameChanged
                | DiffKind::FieldStringOrBytesLabelChanged
                | DiffKind::OneofAdded
                | DiffKind::OneofRemoved
                | DiffKind::OneofFieldAdded
                | DiffKind::OneofFieldMovedToTopLevel
        )
    }

    /// Confluent's description, `%s` standing for the update's and the original's word
    /// (`new`, `old` in a backward check). Compatible kinds have none upstream.
    pub fn description(self, path: &str, update: &str, original: &str) -> String {
        match self {
            DiffKind::PackageChanged => format!(
                "The package at '{path}' in the {update} schema does not match the package in the {original} schema"
            ),
            DiffKind::MessageRemoved => {
                format!("The {update} schema is missing a MESSAGE type at path '{path}' in the {original} schema")
            }
            DiffKind::FieldKindChanged => {
                format!("The type of a field at path '{path}' in the {update} schema does not match the {original} schema")
            }
            DiffKind::FieldScalarKindChanged => format!(
                "The kind of a SCALAR field at path '{path}' in the {update} schema does not match its kind in the {original} schema"
            ),
            DiffKind::FieldNamedTypeChanged => format!(
                "The type of a MESSAGE field at path '{path}' in the {update} schema does not match its type in the {original} schema"
            ),
            DiffKind::FieldNumericLabelChanged => format!(
                "The label for a NUMERIC field at path '{path}' in the {update} schema does not match its label in the {original} schema"
            ),
            DiffKind::RequiredFieldAdded => {
                format!("A required field  at path '{path}' in the {update} schema is missing in the {original} schema")
            }
            DiffKind::RequiredFieldRemoved => {
                format!("The {update} schema is missing a required field at path: '{path}' in the {original} schema")
            }
            DiffKind::OneofFieldRemoved => {
                format!("The {update} schema is missing a oneof field at path '{path}' in the {original} schema")
            }
            DiffKind::OneofFieldMovedToTopLevel => format!(
                "The oneof field at path '{path}' in the {update} schema was moved out of its oneof to a top-level field in the {original} schema"
            ),
            DiffKind::MultipleFieldsMovedToOneof => format!(
                "Multiple fields in the oneof at path '{path}' in the {update} schema are outside a oneof in the {original} schema"
            ),
            DiffKind::FieldMovedToExistingOneof => format!(
                "A field in the oneof at path '{path}' in the {update} schema is outside an existing oneof in the {original} schema"
            ),
            _ => String::new(),
        }
    }
}

/// One difference between an original schema and its update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: DiffKind,
    /// Confluent's path: `#/Order/3`, `#/Order/payment/4`.
    pub path: String,
    /// The field concerned (`Order.total`, `Order.Line.sku`), if one is.
    pub field: Option<String>,
    /// The element's line in the original's and the update's text, where known.
    pub original_line: Option<usize>,
    pub update_line: Option<usize>,
    /// What the field or type was and became, in words (`int32`, `repeated string`).
    pub was: Option<String>,
    pub became: Option<String>,
}

/// Every difference between `original` and `update`, in a stable order.
pub fn differences(original: &ProtobufSchema, update: &ProtobufSchema) -> Result<Vec<Difference>, TooComplex> {
    let mut walk = Walk {
        original,
        update,
        path: Vec::new(),
        found: Vec::new(),
        verdicts: HashMap::new(),
        budget: Budget::default(),
    };
    if original.package() != update.package() {
        walk.add(DiffKind::PackageChanged, None, Sides::none());
    }
    let (old_messages, old_enums) = (
        top_level(original.file().messages()),
        original.file().enums().collect::<Vec<_>>(),
    );
    let (new_messages, new_enums) = (
        top_level(update.file().messages()),
        update.file().enums().collect::<Vec<_>>(),
    );
    walk.types(&old_messages, &new_messages, &old_enums, &new_enums);
    let mut found = walk.found;
    let mut unique = HashSet::new();
    found.retain(|d| unique.insert((d.kind, d.path.clone())));
    walk.budget.verdict(found)
}

/// Only the differences Confluent refuses.
pub fn incompatibilities(original: &ProtobufSchema, update: &ProtobufSchema) -> Result<Vec<Difference>, TooComplex> {
    let mut all = differences(original, update)?;
    all.retain(|d| !d.kind.is_compatible());
    Ok(all)
}

/// Declared messages: map entries are how a descriptor spells `map<K, V>`, not types of
/// their own.
fn top_level(messages: impl Iterator<Item = MessageDescriptor>) -> Vec<MessageDescriptor> {
    messages.filter(|m| !m.is_map_entry()).collect()
}

/// Lines of the element on each side, and what it was and became.
struct Sides {
    field: Option<String>,
    original_line: Option<usize>,
    update_line: Option<usize>,
    was: Option<String>,
    became: Option<String>,
}

impl Sides {
    fn none() -> Sides {
        Sides {
            field: None,
            original_line: None,
            update_line: None,
            was: None,
            became: None,
        }
    }
}

struct Walk<'a> {
    original: &'a ProtobufSchema,
    update: &'a ProtobufSchema,
    path: Vec<String>,
    found: Vec<Difference>,
    /// Message pairs compared (or being compared: recursive types end there, compatible
    /// until shown otherwise), and whether they were compatible.
    verdicts: HashMap<(String, String), bool>,
    budget: Budget,
}

/// How a field is read, for the comparison of kinds.
#[derive(Debug, Clone)]
enum FieldKind {
    /// A scalar or enum: its group, and the type itself for words.
    Scalar(ScalarKind, Kind),
    Message(MessageDescriptor),
    Map(Box<FieldKind>, Box<FieldKind>),
}

/// The scalar groups within which a type may change (proto3's "updating a message type").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

/// Labels as the text has them: `None` for proto3's implicit presence, oneof members and maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Optional,
    Required,
    Repeated,
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

fn field_kind(kind: Kind) -> FieldKind {
    let group = match &kind {
        Kind::Message(message) if message.is_map_entry() => {
            return FieldKind::Map(
                Box::new(field_kind(message.map_entry_key_field().kind())),
                Box::new(field_kind(message.map_entry_value_field().kind())),
            )
        }
        Kind::Message(message) => return FieldKind::Message(message.clone()),
        Kind::Enum(_) | Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool => {
            ScalarKind::GeneralNumber
        }
        Kind::Sint32 | Kind::Sint64 => ScalarKind::SignedNumber,
        Kind::String | Kind::Bytes => ScalarKind::StringOrBytes,
        Kind::Fixed32 | Kind::Sfixed32 => ScalarKind::Fixed32,
        Kind::Fixed64 | Kind::Sfixed64 => ScalarKind::Fixed64,
        Kind::Float => ScalarKind::Float,
        Kind::Double => ScalarKind::Double,
    };
    FieldKind::Scalar(group, kind)
}

impl FieldKind {
    fn words(&self) -> String {
        match self {
            FieldKind::Scalar(_, Kind::Enum(e)) => e.full_name().to_string(),
            FieldKind::Scalar(_, kind) => format!("{kind:?}").to_lowercase(),
            FieldKind::Message(message) => message.full_name().to_string(),
            FieldKind::Map(key, value) => format!("map<{}, {}>", key.words(), value.words()),
        }
    }
}

fn field_words(field: &FieldDescriptor) -> String {
    let kind = field_kind(field.kind()).words();
    match label(field) {
        Some(Label::Optional) => format!("optional {kind}"),
        Some(Label::Required) => format!("required {kind}"),
        Some(Label::Repeated) => format!("repeated {kind}"),
        None => kind,
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

impl Walk<'_> {
    fn add(&mut self, kind: DiffKind, last: Option<&str>, sides: Sides) {
        let mut path = String::from("#/");
        let parts: Vec<&str> = self.path.iter().map(String::as_str).chain(last).collect();
        path.push_str(&parts.join("/"));
        self.found.push(Difference {
            kind,
            path,
            field: sides.field,
            original_line: sides.original_line,
            update_line: sides.update_line,
            was: sides.was,
            became: sides.became,
        });
    }

    fn sides(&self, original: Option<&FieldDescriptor>, update: Option<&FieldDescriptor>) -> Sides {
        let either = update.or(original);
        Sides {
            field: either.map(|f| format!("{}.{}", local_name(&f.parent_message().clone()), f.name())),
            original_line: original.and_then(|f| self.original.line_of(f.path())),
            update_line: update.and_then(|f| self.update.line_of(f.path())),
            was: original.map(field_words),
            became: update.map(field_words),
        }
    }

    fn message_sides(&self, original: Option<&MessageDescriptor>, update: Option<&MessageDescriptor>) -> Sides {
        Sides {
            field: None,
            original_line: original.and_then(|m| self.original.line_of(m.path())),
            update_line: update.and_then(|m| self.update.line_of(m.path())),
            was: original.map(|m| m.full_name().to_string()),
            became: update.map(|m| m.full_name().to_string()),
        }
    }

    /// The messages and enums of one scope (a file or a message), by simple name.
    fn types(
        &mut self,
        old_messages: &[MessageDescriptor],
        new_messages: &[MessageDescriptor],
        old_enums: &[EnumDescriptor],
        new_enums: &[EnumDescriptor],
    ) {
        let by_name = |messages: &[MessageDescriptor]| -> BTreeMap<String, (usize, MessageDescriptor)> {
            messages
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name().to_string(), (i, m.clone())))
                .collect()
        };
        let (old, new) = (by_name(old_messages), by_name(new_messages));
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            if !self.budget.spend(1) {
                return;
            }
            match (old.get(name), new.get(name)) {
                (Some((_, removed)), None) => {
                    let sides = self.message_sides(Some(removed), None);
                    self.add(DiffKind::MessageRemoved, Some(name), sides);
                }
                (None, Some((_, added))) => {
                    let sides = self.message_sides(None, Some(added));
                    self.add(DiffKind::MessageAdded, Some(name), sides);
                }
                (Some((old_index, original)), Some((new_index, update))) => {
                    self.path.push(name.clone());
                    self.message(original, update);
                    self.path.pop();
                    if old_index != new_index {
                        let sides = self.message_sides(Some(original), Some(update));
                        self.add(DiffKind::MessageMoved, Some(name), sides);
                    }
                }
                (None, None) => {}
            }
        }
        let by_name = |enums: &[EnumDescriptor]| -> BTreeMap<String, EnumDescriptor> {
            enums.iter().map(|e| (e.name().to_string(), e.clone())).collect()
        };
        let (old, new) = (by_name(old_enums), by_name(new_enums));
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            match (old.get(name), new.get(name)) {
                (Some(_), None) => self.add(DiffKind::EnumRemoved, Some(name), Sides::none()),
                (None, Some(_)) => self.add(DiffKind::EnumAdded, Some(name), Sides::none()),
                (Some(original), Some(update)) => {
                    self.path.push(name.clone());
                    self.enumeration(original, update);
                    self.path.pop();
                }
                (None, None) => {}
            }
        }
    }

    fn enumeration(&mut self, original: &EnumDescriptor, update: &EnumDescriptor) {
        let old: BTreeMap<i32, String> = original.values().map(|v| (v.number(), v.name().to_string())).collect();
        let new: BTreeMap<i32, String> = update.values().map(|v| (v.number(), v.name().to_string())).collect();
        let numbers: BTreeSet<&i32> = old.keys().chain(new.keys()).collect();
        for number in numbers {
            let sides = || Sides {
                was: old.get(number).cloned(),
                became: new.get(number).cloned(),
                ..Sides::none()
            };
            let kind = match (old.get(number), new.get(number)) {
                (Some(_), None) => DiffKind::EnumConstRemoved,
                (None, Some(_)) => DiffKind::EnumConstAdded,
                (Some(a), Some(b)) if a != b => DiffKind::EnumConstChanged,
                _ => continue,
            };
            self.add(kind, Some(&number.to_string()), sides());
        }
    }

    /// Compares two messages of one name (fields, then nested types) once per pair;
    /// answers whether they were compatible.
    fn message(&mut self, original: &MessageDescriptor, update: &MessageDescriptor) -> bool {
        let pair = (original.full_name().to_string(), update.full_name().to_string());
        if let Some(&verdict) = self.verdicts.get(&pair) {
            return verdict;
        }
        self.verdicts.insert(pair.clone(), true);
        let before = self.found.len();
        self.fields(original, update);
        let old_nested = top_level(original.child_messages());
        let new_nested = top_level(update.child_messages());
        let old_enums: Vec<EnumDescriptor> = original.child_enums().collect();
        let new_enums: Vec<EnumDescriptor> = update.child_enums().collect();
        self.types(&old_nested, &new_nested, &old_enums, &new_enums);
        let compatible = self.found[before..].iter().all(|d| d.kind.is_compatible());
        self.verdicts.insert(pair, compatible);
        compatible
    }

    fn fields(&mut self, original: &MessageDescriptor, update: &MessageDescriptor) {
        let oneof_of = |f: &FieldDescriptor| {
            f.containing_oneof()
                .filter(|o| !o.is_synthetic())
                .map(|o| o.name().to_string())
        };
        let by_number =
            |m: &MessageDescriptor| -> BTreeMap<u32, FieldDescriptor> { m.fields().map(|f| (f.number(), f)).collect() };
        let (old, new) = (by_number(original), by_number(update));
        let oneofs = |m: &MessageDescriptor| -> BTreeMap<String, Vec<u32>> {
            m.oneofs()
                .filter(|o| !o.is_synthetic())
                .map(|o| (o.name().to_string(), o.fields().map(|f| f.number()).collect()))
                .collect()
        };
        let (old_oneofs, new_oneofs) = (oneofs(original), oneofs(update));
        // A oneof gone by name with none of its members left anywhere is deleted whole:
        // compatible, and its members are not reported one by one.
        let deleted: BTreeSet<&String> = old_oneofs
            .iter()
            .filter(|(name, members)| !new_oneofs.contains_key(*name) && !members.iter().any(|n| new.contains_key(n)))
            .map(|(name, _)| name)
            .collect();
        // Members of one new oneof that were independent before (from several old oneofs,
        // or top-level fields) are now exclusive: old data may set more than one.
        for (name, members) in &new_oneofs {
            let mut groups = BTreeSet::new();
            let mut moved_in = 0;
            for number in members {
                // Brand-new members are ignored: old data never set them.
                if let Some(field) = old.get(number) {
                    match oneof_of(field) {
                        Some(oneof) => {
                            groups.insert(format!("oneof:{oneof}"));
                        }
                        None => {
                            groups.insert(format!("field:{number}"));
                            moved_in += 1;
                        }
                    }
                }
            }
            if groups.len() > 1 {
                let kind = match moved_in > 1 {
                    true => DiffKind::MultipleFieldsMovedToOneof,
                    false => DiffKind::FieldMovedToExistingOneof,
                };
                self.add(kind, Some(name), Sides::none());
            }
        }
        let names: BTreeSet<&String> = old_oneofs.keys().chain(new_oneofs.keys()).collect();
        for name in names {
            match (old_oneofs.contains_key(name), new_oneofs.contains_key(name)) {
                (true, false) => self.add(DiffKind::OneofRemoved, Some(name), Sides::none()),
                (false, true) => self.add(DiffKind::OneofAdded, Some(name), Sides::none()),
                _ => {}
            }
        }
        let numbers: BTreeSet<&u32> = old.keys().chain(new.keys()).collect();
        for number in numbers {
            if !self.budget.spend(1) {
                return;
            }
            let tag = number.to_string();
            match (old.get(number), new.get(number)) {
                (Some(removed), None) => {
                    let sides = self.sides(Some(removed), None);
                    match oneof_of(removed) {
                        Some(oneof) if deleted.contains(&oneof) => {}
                        Some(oneof) => {
                            self.path.push(oneof);
                            self.add(DiffKind::OneofFieldRemoved, Some(&tag), sides);
                            self.path.pop();
                        }
                        None => {
                            let kind = match label(removed) {
                                Some(Label::Required) => DiffKind::RequiredFieldRemoved,
                                _ => DiffKind::FieldRemoved,
                            };
                            self.add(kind, Some(&tag), sides);
                        }
                    }
                }
                (None, Some(added)) => {
                    let sides = self.sides(None, Some(added));
                    match oneof_of(added) {
                        Some(oneof) => {
                            self.path.push(oneof);
                            self.add(DiffKind::OneofFieldAdded, Some(&tag), sides);
                            self.path.pop();
                        }
                        None => {
                            let kind = match label(added) {
                                Some(Label::Required) => DiffKind::RequiredFieldAdded,
                                _ => DiffKind::FieldAdded,
                            };
                            self.add(kind, Some(&tag), sides);
                        }
                    }
                }
                (Some(before), Some(after)) => {
                    let (old_oneof, new_oneof) = (oneof_of(before), oneof_of(after));
                    if old_oneof.is_some() && new_oneof.is_none() {
                        let sides = self.sides(Some(before), Some(after));
                        self.add(DiffKind::OneofFieldMovedToTopLevel, Some(&tag), sides);
                    }
                    let depth = self.path.len();
                    if let Some(oneof) = new_oneof {
                        self.path.push(oneof);
                    }
                    self.path.push(tag);
                    self.field(before, after);
                    self.path.truncate(depth);
                }
                (None, None) => {}
            }
        }
    }

    /// A field present on both sides; the path ends at its number.
    fn field(&mut self, before: &FieldDescriptor, after: &FieldDescriptor) {
        if before.name() != after.name() {
            let sides = self.sides(Some(before), Some(after));
            self.add(DiffKind::FieldNameChanged, None, sides);
        }
        let (old_kind, new_kind) = (field_kind(before.kind()), field_kind(after.kind()));
        let (old_label, new_label) = (label(before), label(after));
        self.kinds(&old_kind, &new_kind, old_label, new_label, Some((before, after)));
    }

    fn kinds(
        &mut self,
        old_kind: &FieldKind,
        new_kind: &FieldKind,
        old_label: Option<Label>,
        new_label: Option<Label>,
        fields: Option<(&FieldDescriptor, &FieldDescriptor)>,
    ) {
        let sides = |walk: &Walk<'_>| match fields {
            Some((before, after)) => walk.sides(Some(before), Some(after)),
            None => Sides {
                was: Some(old_kind.words()),
                became: Some(new_kind.words()),
                ..Sides::none()
            },
        };
        match (old_kind, new_kind) {
            (FieldKind::Scalar(old_group, _), FieldKind::Scalar(new_group, _)) => {
                if old_group != new_group {
                    let sides = sides(self);
                    self.add(DiffKind::FieldScalarKindChanged, None, sides);
                } else if let (Some(a), Some(b)) = (old_label, new_label) {
                    if a != b {
                        let kind = match old_group {
                            ScalarKind::StringOrBytes => DiffKind::FieldStringOrBytesLabelChanged,
                            _ => DiffKind::FieldNumericLabelChanged,
                        };
                        let sides = sides(self);
                        self.add(kind, None, sides);
                    }
                }
            }
            (FieldKind::Message(original), FieldKind::Message(update)) => {
                if local_name(original) != local_name(update) {
                    let sides = sides(self);
                    self.add(DiffKind::FieldNamedTypeChanged, None, sides);
                    return;
                }
                // The referenced messages are compared as where they are declared, from
                // their own name; if that finds a break, this field's type changed too.
                let saved = std::mem::replace(
                    &mut self.path,
                    local_name(original).split('.').map(str::to_string).collect(),
                );
                let compatible = self.message(original, update);
                self.path = saved;
                if !compatible {
                    let sides = sides(self);
                    self.add(DiffKind::FieldNamedTypeChanged, None, sides);
                }
            }
            (FieldKind::Map(old_key, old_value), FieldKind::Map(new_key, new_value)) => {
                self.kinds(old_key, new_key, None, None, None);
                self.kinds(old_value, new_value, None, None, None);
            }
            _ => {
                let sides = sides(self);
                self.add(DiffKind::FieldKindChanged, None, sides);
            }
        }
    }
}

#[cfg(test)]
mod tests;
