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

use std::collections::{HashMap, HashSet};

use super::{Budget, TooComplex};
use crate::schema::protobuf::shape::{EnumShape, FieldShape, KindShape, Label, MessageShape, ScalarType, Scope, Shape};
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
    compare(original, update, Record::All)
}

/// Only the differences Confluent refuses.
pub fn incompatibilities(original: &ProtobufSchema, update: &ProtobufSchema) -> Result<Vec<Difference>, TooComplex> {
    compare(original, update, Record::Incompatible)
}

/// Which differences a walk writes down. A compatibility check reads only the refused
/// ones; working out the words and lines of every field added across a hundred versions
/// would cost more than the comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    All,
    Incompatible,
}

fn compare(original: &ProtobufSchema, update: &ProtobufSchema, record: Record) -> Result<Vec<Difference>, TooComplex> {
    let (old, new) = (original.shape(), update.shape());
    let mut walk = Walk {
        original,
        update,
        old,
        new,
        record,
        path: Vec::new(),
        found: Vec::new(),
        verdicts: HashMap::new(),
        budget: Budget::default(),
    };
    if old.package != new.package {
        walk.add(DiffKind::PackageChanged, None, |_| Sides::none());
    }
    walk.types(&old.scope, &new.scope);
    let mut found = walk.found;
    let mut unique = HashSet::new();
    found.retain(|d| unique.insert((d.kind, d.path.clone())));
    walk.budget.verdict(found)
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

/// One step of a difference's path: a name (message, enum, oneof) or a field number.
#[derive(Clone, Copy)]
enum Step<'a> {
    Name(&'a str),
    Number(i64),
}

struct Walk<'a> {
    original: &'a ProtobufSchema,
    update: &'a ProtobufSchema,
    old: &'a Shape,
    new: &'a Shape,
    record: Record,
    path: Vec<Step<'a>>,
    found: Vec<Difference>,
    /// Message pairs compared (or being compared: recursive types end there, compatible
    /// until shown otherwise), by id on each side, and whether they were compatible.
    verdicts: HashMap<(usize, usize), bool>,
    budget: Budget,
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

fn scalar_kind(scalar: ScalarType) -> ScalarKind {
    match scalar {
        ScalarType::Int32 | ScalarType::Int64 | ScalarType::Uint32 | ScalarType::Uint64 | ScalarType::Bool => {
            ScalarKind::GeneralNumber
        }
        ScalarType::Sint32 | ScalarType::Sint64 => ScalarKind::SignedNumber,
        ScalarType::String | ScalarType::Bytes => ScalarKind::StringOrBytes,
        ScalarType::Fixed32 | ScalarType::Sfixed32 => ScalarKind::Fixed32,
        ScalarType::Fixed64 | ScalarType::Sfixed64 => ScalarKind::Fixed64,
        ScalarType::Float => ScalarKind::Float,
        ScalarType::Double => ScalarKind::Double,
    }
}

/// The words for a kind: `int64`, `shop.Status`, `map<string, shop.Line>`.
fn kind_words(shape: &Shape, kind: &KindShape) -> String {
    match kind {
        KindShape::Scalar(scalar) => scalar.name().to_string(),
        KindShape::Enum(id) => shape.enums[*id].full_name.clone(),
        KindShape::Message(id) => shape.messages[*id].full_name.clone(),
        KindShape::Map(key, value) => format!("map<{}, {}>", kind_words(shape, key), kind_words(shape, value)),
    }
}

fn field_words(shape: &Shape, field: &FieldShape) -> String {
    let kind = kind_words(shape, &field.kind);
    match field.label {
        Some(label) => format!("{} {kind}", label.word()),
        None => kind,
    }
}

/// Pairs the items of two lists sorted by the same key: each key once, with the item of
/// either side that has it.
fn merge<'x, A, B, K: Ord>(
    old: &'x [A],
    new: &'x [B],
    old_key: impl Fn(&'x A) -> K,
    new_key: impl Fn(&'x B) -> K,
) -> Vec<(Option<&'x A>, Option<&'x B>)> {
    let mut pairs = Vec::with_capacity(old.len().max(new.len()));
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => old_key(a).cmp(&new_key(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                pairs.push((Some(&old[i]), None));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                pairs.push((None, Some(&new[j])));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                pairs.push((Some(&old[i]), Some(&new[j])));
                i += 1;
                j += 1;
            }
        }
    }
    pairs
}

/// A field of a message, found by number in its number-sorted fields.
fn field_numbered(message: &MessageShape, number: u32) -> Option<&FieldShape> {
    message
        .fields
        .binary_search_by_key(&number, |f| f.number)
        .ok()
        .map(|i| &message.fields[i])
}

/// How old data sets the members of a new oneof: one oneof of the old schema, or a field
/// of its own.
#[derive(PartialEq, Eq)]
enum Group<'a> {
    Oneof(&'a str),
    Field(u32),
}

impl<'a> Walk<'a> {
    /// Writes a difference down, unless the walk records only refusals and this is none.
    fn add(&mut self, kind: DiffKind, last: Option<Step<'a>>, sides: impl FnOnce(&Self) -> Sides) {
        if self.record == Record::Incompatible && kind.is_compatible() {
            return;
        }
        let sides = sides(self);
        let mut path = String::from("#/");
        for (i, step) in self.path.iter().chain(last.as_ref()).enumerate() {
            if i > 0 {
                path.push('/');
            }
            match step {
                Step::Name(name) => path.push_str(name),
                Step::Number(number) => path.push_str(&number.to_string()),
            }
        }
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

    fn sides(&self, original: Option<&FieldShape>, update: Option<&FieldShape>) -> Sides {
        let field_name = |shape: &Shape, f: &FieldShape| format!("{}.{}", shape.messages[f.parent].local_name, f.name);
        let field = match (update, original) {
            (Some(f), _) => Some(field_name(self.new, f)),
            (None, Some(f)) => Some(field_name(self.old, f)),
            (None, None) => None,
        };
        Sides {
            field,
            original_line: original.and_then(|f| line(self.original, self.old, f.parent, &f.path)),
            update_line: update.and_then(|f| line(self.update, self.new, f.parent, &f.path)),
            was: original.map(|f| field_words(self.old, f)),
            became: update.map(|f| field_words(self.new, f)),
        }
    }

    fn message_sides(&self, original: Option<usize>, update: Option<usize>) -> Sides {
        Sides {
            field: None,
            original_line: original.and_then(|id| line(self.original, self.old, id, &self.old.messages[id].path)),
            update_line: update.and_then(|id| line(self.update, self.new, id, &self.new.messages[id].path)),
            was: original.map(|id| self.old.messages[id].full_name.clone()),
            became: update.map(|id| self.new.messages[id].full_name.clone()),
        }
    }

    /// The messages and enums of one scope (a file or a message), by simple name.
    fn types(&mut self, old_scope: &'a Scope, new_scope: &'a Scope) {
        let (old, new) = (self.old, self.new);
        let pairs = merge(
            &old_scope.messages,
            &new_scope.messages,
            |m| old.messages[m.id].name.as_str(),
            |m| new.messages[m.id].name.as_str(),
        );
        for pair in pairs {
            if !self.budget.spend(1) {
                return;
            }
            match pair {
                (Some(removed), None) => {
                    let name = Step::Name(&old.messages[removed.id].name);
                    self.add(DiffKind::MessageRemoved, Some(name), |w| {
                        w.message_sides(Some(removed.id), None)
                    });
                }
                (None, Some(added)) => {
                    let name = Step::Name(&new.messages[added.id].name);
                    self.add(DiffKind::MessageAdded, Some(name), |w| {
                        w.message_sides(None, Some(added.id))
                    });
                }
                (Some(original), Some(update)) => {
                    let name = Step::Name(&new.messages[update.id].name);
                    self.path.push(name);
                    self.message(original.id, update.id);
                    self.path.pop();
                    if original.index != update.index {
                        self.add(DiffKind::MessageMoved, Some(name), |w| {
                            w.message_sides(Some(original.id), Some(update.id))
                        });
                    }
                }
                (None, None) => {}
            }
        }
        let pairs = merge(
            &old_scope.enums,
            &new_scope.enums,
            |&id| old.enums[id].name.as_str(),
            |&id| new.enums[id].name.as_str(),
        );
        for pair in pairs {
            match pair {
                (Some(&id), None) => self.add(DiffKind::EnumRemoved, Some(Step::Name(&old.enums[id].name)), |_| {
                    Sides::none()
                }),
                (None, Some(&id)) => self.add(DiffKind::EnumAdded, Some(Step::Name(&new.enums[id].name)), |_| {
                    Sides::none()
                }),
                (Some(&original), Some(&update)) => {
                    self.path.push(Step::Name(&new.enums[update].name));
                    self.enumeration(&old.enums[original], &new.enums[update]);
                    self.path.pop();
                }
                (None, None) => {}
            }
        }
    }

    fn enumeration(&mut self, original: &'a EnumShape, update: &'a EnumShape) {
        for pair in merge(&original.values, &update.values, |v| v.0, |v| v.0) {
            let kind = match pair {
                (Some(_), None) => DiffKind::EnumConstRemoved,
                (None, Some(_)) => DiffKind::EnumConstAdded,
                (Some(a), Some(b)) if a.1 != b.1 => DiffKind::EnumConstChanged,
                _ => continue,
            };
            let number = pair.0.or(pair.1).map_or(0, |v| v.0);
            self.add(kind, Some(Step::Number(i64::from(number))), |_| Sides {
                was: pair.0.map(|v| v.1.clone()),
                became: pair.1.map(|v| v.1.clone()),
                ..Sides::none()
            });
        }
    }

    /// Compares two messages of one name (fields, then nested types) once per pair;
    /// answers whether they were compatible.
    fn message(&mut self, original: usize, update: usize) -> bool {
        if let Some(&verdict) = self.verdicts.get(&(original, update)) {
            return verdict;
        }
        self.verdicts.insert((original, update), true);
        let before = self.found.len();
        let (old, new) = (&self.old.messages[original], &self.new.messages[update]);
        self.fields(old, new);
        self.types(&old.scope, &new.scope);
        let compatible = self.found[before..].iter().all(|d| d.kind.is_compatible());
        self.verdicts.insert((original, update), compatible);
        compatible
    }

    fn fields(&mut self, original: &'a MessageShape, update: &'a MessageShape) {
        let has_oneof =
            |message: &MessageShape, name: &str| message.oneofs.binary_search_by(|o| o.name.as_str().cmp(name)).is_ok();
        // A oneof gone by name with none of its members left anywhere is deleted whole:
        // compatible, and its members are not reported one by one.
        let deleted: Vec<bool> = original
            .oneofs
            .iter()
            .map(|o| !has_oneof(update, &o.name) && !o.members.iter().any(|&n| field_numbered(update, n).is_some()))
            .collect();
        // Members of one new oneof that were independent before (from several old oneofs,
        // or top-level fields) are now exclusive: old data may set more than one.
        for oneof in &update.oneofs {
            let mut groups: Vec<Group<'a>> = Vec::new();
            let mut moved_in = 0;
            // The first field that was independent before: what the report names.
            let mut first_moved: Option<(&FieldShape, &FieldShape)> = None;
            for &number in &oneof.members {
                // Brand-new members are ignored: old data never set them.
                let Some(field) = field_numbered(original, number) else {
                    continue;
                };
                let group = match field.oneof {
                    Some(index) => Group::Oneof(&original.oneofs[index].name),
                    None => {
                        moved_in += 1;
                        if first_moved.is_none() {
                            first_moved = field_numbered(update, number).map(|now| (field, now));
                        }
                        Group::Field(number)
                    }
                };
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
            if groups.len() > 1 {
                let kind = match moved_in > 1 {
                    true => DiffKind::MultipleFieldsMovedToOneof,
                    false => DiffKind::FieldMovedToExistingOneof,
                };
                self.add(kind, Some(Step::Name(&oneof.name)), |w| match first_moved {
                    Some((was, now)) => w.sides(Some(was), Some(now)),
                    None => Sides::none(),
                });
            }
        }
        for pair in merge(
            &original.oneofs,
            &update.oneofs,
            |o| o.name.as_str(),
            |o| o.name.as_str(),
        ) {
            match pair {
                (Some(removed), None) => self.add(DiffKind::OneofRemoved, Some(Step::Name(&removed.name)), |_| {
                    Sides::none()
                }),
                (None, Some(added)) => self.add(DiffKind::OneofAdded, Some(Step::Name(&added.name)), |_| Sides::none()),
                _ => {}
            }
        }
        for pair in merge(&original.fields, &update.fields, |f| f.number, |f| f.number) {
            if !self.budget.spend(1) {
                return;
            }
            match pair {
                (Some(removed), None) => {
                    let tag = Some(Step::Number(removed.number.into()));
                    match removed.oneof {
                        Some(oneof) if deleted[oneof] => {}
                        Some(oneof) => {
                            self.path.push(Step::Name(&original.oneofs[oneof].name));
                            self.add(DiffKind::OneofFieldRemoved, tag, |w| w.sides(Some(removed), None));
                            self.path.pop();
                        }
                        None => {
                            let kind = match removed.label {
                                Some(Label::Required) => DiffKind::RequiredFieldRemoved,
                                _ => DiffKind::FieldRemoved,
                            };
                            self.add(kind, tag, |w| w.sides(Some(removed), None));
                        }
                    }
                }
                (None, Some(added)) => {
                    let tag = Some(Step::Number(added.number.into()));
                    match added.oneof {
                        Some(oneof) => {
                            self.path.push(Step::Name(&update.oneofs[oneof].name));
                            self.add(DiffKind::OneofFieldAdded, tag, |w| w.sides(None, Some(added)));
                            self.path.pop();
                        }
                        None => {
                            let kind = match added.label {
                                Some(Label::Required) => DiffKind::RequiredFieldAdded,
                                _ => DiffKind::FieldAdded,
                            };
                            self.add(kind, tag, |w| w.sides(None, Some(added)));
                        }
                    }
                }
                (Some(before), Some(after)) => {
                    if before.oneof.is_some() && after.oneof.is_none() {
                        self.add(
                            DiffKind::OneofFieldMovedToTopLevel,
                            Some(Step::Number(after.number.into())),
                            |w| w.sides(Some(before), Some(after)),
                        );
                    }
                    let depth = self.path.len();
                    if let Some(oneof) = after.oneof {
                        self.path.push(Step::Name(&update.oneofs[oneof].name));
                    }
                    self.path.push(Step::Number(after.number.into()));
                    self.field(before, after);
                    self.path.truncate(depth);
                }
                (None, None) => {}
            }
        }
    }

    /// A field present on both sides; the path ends at its number.
    fn field(&mut self, before: &'a FieldShape, after: &'a FieldShape) {
        if before.name != after.name {
            self.add(DiffKind::FieldNameChanged, None, |w| w.sides(Some(before), Some(after)));
        }
        self.kinds(
            &before.kind,
            &after.kind,
            before.label,
            after.label,
            Some((before, after)),
        );
    }

    fn kinds(
        &mut self,
        old_kind: &'a KindShape,
        new_kind: &'a KindShape,
        old_label: Option<Label>,
        new_label: Option<Label>,
        fields: Option<(&'a FieldShape, &'a FieldShape)>,
    ) {
        let sides = |walk: &Walk<'_>| match fields {
            Some((before, after)) => walk.sides(Some(before), Some(after)),
            None => Sides {
                was: Some(kind_words(walk.old, old_kind)),
                became: Some(kind_words(walk.new, new_kind)),
                ..Sides::none()
            },
        };
        let scalar_group = |kind: &KindShape| match kind {
            KindShape::Scalar(scalar) => Some(scalar_kind(*scalar)),
            KindShape::Enum(_) => Some(ScalarKind::GeneralNumber),
            _ => None,
        };
        match (old_kind, new_kind) {
            (KindShape::Message(original), KindShape::Message(update)) => {
                let (old_name, new_name) = (
                    &self.old.messages[*original].local_name,
                    &self.new.messages[*update].local_name,
                );
                if old_name != new_name {
                    self.add(DiffKind::FieldNamedTypeChanged, None, sides);
                    return;
                }
                // The referenced messages are compared as where they are declared, from
                // their own name; if that finds a break, this field's type changed too.
                let compatible = match self.verdicts.get(&(*original, *update)) {
                    Some(&verdict) => verdict,
                    None => {
                        let declared = old_name.split('.').map(Step::Name).collect();
                        let saved = std::mem::replace(&mut self.path, declared);
                        let compatible = self.message(*original, *update);
                        self.path = saved;
                        compatible
                    }
                };
                if !compatible {
                    self.add(DiffKind::FieldNamedTypeChanged, None, sides);
                }
            }
            (KindShape::Map(old_key, old_value), KindShape::Map(new_key, new_value)) => {
                self.kinds(old_key, new_key, None, None, None);
                self.kinds(old_value, new_value, None, None, None);
            }
            _ => match (scalar_group(old_kind), scalar_group(new_kind)) {
                (Some(old_group), Some(new_group)) => {
                    if old_group != new_group {
                        self.add(DiffKind::FieldScalarKindChanged, None, sides);
                    } else if let (Some(a), Some(b)) = (old_label, new_label) {
                        if a != b {
                            let kind = match old_group {
                                ScalarKind::StringOrBytes => DiffKind::FieldStringOrBytesLabelChanged,
                                _ => DiffKind::FieldNumericLabelChanged,
                            };
                            self.add(kind, None, sides);
                        }
                    }
                }
                _ => self.add(DiffKind::FieldKindChanged, None, sides),
            },
        }
    }
}

/// The line of an element of a message, when that message is declared in the schema's own
/// text (a referenced file's lines are not the schema's).
fn line(schema: &ProtobufSchema, shape: &Shape, message: usize, path: &[i32]) -> Option<usize> {
    match shape.messages[message].in_schema_file {
        true => schema.line_of(path),
        false => None,
    }
}

#[cfg(test)]
mod tests;
