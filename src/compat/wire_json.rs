//! A stricter Protobuf policy for teams whose consumers also read events as JSON: the rules
//! of buf's `WIRE_JSON` breaking-change category, checked on top of Confluent's. Confluent
//! judges the binary wire format alone, so it lets through renames (JSON keys are names),
//! 64-bit integers replacing 32-bit ones (JSON writes them as strings), deletions without
//! reservations (the number or name is free to be reused with another meaning) and moves
//! between oneofs; these rules refuse them.
//!
//! Messages and enums are matched by full name, fields and values by number. Each break
//! carries buf's rule id.

use std::collections::BTreeSet;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};

use crate::schema::protobuf::ProtobufSchema;

/// One break of the WIRE_JSON rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireJsonBreak {
    /// buf's rule id: `FIELD_SAME_NAME`, `FIELD_WIRE_JSON_COMPATIBLE_TYPE`, …
    pub rule: &'static str,
    /// Confluent-style path of the element (`#/Order/2`).
    pub path: String,
    /// The field or value concerned (`Order.total`), if one is.
    pub field: Option<String>,
    /// What changed, in words.
    pub detail: String,
    pub original_line: Option<usize>,
    pub update_line: Option<usize>,
}

/// Every WIRE_JSON break from `original` to `update`.
pub fn breaks(original: &ProtobufSchema, update: &ProtobufSchema) -> Vec<WireJsonBreak> {
    let mut walk = Walk {
        original,
        update,
        found: Vec::new(),
    };
    if original.package() != update.package() {
        walk.add(
            "FILE_SAME_PACKAGE",
            "#/".to_string(),
            None,
            format!(
                "the package changed from {:?} to {:?}",
                original.package(),
                update.package()
            ),
            (None, None),
        );
    }
    let new_messages: Vec<MessageDescriptor> = all_messages(update.file().messages());
    for old in all_messages(original.file().messages()) {
        if let Some(new) = new_messages.iter().find(|m| m.full_name() == old.full_name()) {
            walk.message(&old, new);
        }
    }
    let new_enums: Vec<EnumDescriptor> = all_enums(update);
    for old in all_enums(original) {
        if let Some(new) = new_enums.iter().find(|e| e.full_name() == old.full_name()) {
            walk.enumeration(&old, new);
        }
    }
    walk.found
}

fn all_messages(top: impl Iterator<Item = MessageDescriptor>) -> Vec<MessageDescriptor> {
    let mut out = Vec::new();
    for message in top {
        if message.is_map_entry() {
            continue;
        }
        out.extend(all_messages(message.child_messages()));
        out.push(message);
    }
    out
}

fn all_enums(schema: &ProtobufSchema) -> Vec<EnumDescriptor> {
    let mut out: Vec<EnumDescriptor> = schema.file().enums().collect();
    for message in all_messages(schema.file().messages()) {
        out.extend(message.child_enums());
    }
    out
}

/// `#/Order/Line`: a message's path as Confluent writes it.
fn path_of(full_name: &str, package: &str) -> String {
    let local = match package.is_empty() {
        true => full_name,
        false => full_name
            .strip_prefix(package)
            .map_or(full_name, |n| n.trim_start_matches('.')),
    };
    format!("#/{}", local.replace('.', "/"))
}

/// A field's type in words, exact: two fields read alike in JSON only if these are equal.
fn type_words(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(m) if m.is_map_entry() => format!(
            "map<{}, {}>",
            kind_words(&m.map_entry_key_field().kind()),
            kind_words(&m.map_entry_value_field().kind())
        ),
        other => kind_words(&other),
    }
}

fn kind_words(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// single, repeated or map: how a field's values read in JSON (and on the wire).
fn cardinality(field: &FieldDescriptor) -> &'static str {
    if field.is_map() {
        "map"
    } else if field.is_list() {
        "repeated"
    } else {
        "single"
    }
}

fn reserved_number(message: &MessageDescriptor, number: u32) -> bool {
    message.reserved_ranges().any(|range| range.contains(&number))
}

fn reserved_name(message: &MessageDescriptor, name: &str) -> bool {
    message.reserved_names().any(|n| n == name)
}

struct Walk<'a> {
    original: &'a ProtobufSchema,
    update: &'a ProtobufSchema,
    found: Vec<WireJsonBreak>,
}

impl Walk<'_> {
    fn add(
        &mut self,
        rule: &'static str,
        path: String,
        field: Option<String>,
        detail: String,
        (original_line, update_line): (Option<usize>, Option<usize>),
    ) {
        self.found.push(WireJsonBreak {
            rule,
            path,
            field,
            detail,
            original_line,
            update_line,
        });
    }

    fn message(&mut self, old: &MessageDescriptor, new: &MessageDescriptor) {
        let path = path_of(old.full_name(), old.package_name());
        let local = path.trim_start_matches("#/").replace('/', ".");
        for field in old.fields() {
            let at = format!("{path}/{}", field.number());
            let name = Some(format!("{local}.{}", field.name()));
            let old_line = self.original.line_of(field.path());
            let Some(now) = new.get_field(field.number()) else {
                if !reserved_number(new, field.number()) {
                    self.add(
                        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                        at.clone(),
                        name.clone(),
                        format!(
                            "field {} ({}) was deleted without reserving its number",
                            field.number(),
                            field.name()
                        ),
                        (old_line, None),
                    );
                }
                if !reserved_name(new, field.name()) {
                    self.add(
                        "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                        at,
                        name,
                        format!(
                            "field {} ({}) was deleted without reserving its name",
                            field.number(),
                            field.name()
                        ),
                        (old_line, None),
                    );
                }
                continue;
            };
            let lines = (old_line, self.update.line_of(now.path()));
            if field.name() != now.name() {
                self.add(
                    "FIELD_SAME_NAME",
                    at.clone(),
                    name.clone(),
                    format!(
                        "field {} was renamed from {} to {}: JSON keys are names",
                        field.number(),
                        field.name(),
                        now.name()
                    ),
                    lines,
                );
            } else if field.json_name() != now.json_name() {
                self.add(
                    "FIELD_SAME_JSON_NAME",
                    at.clone(),
                    name.clone(),
                    format!(
                        "the JSON name of field {} changed from {} to {}",
                        field.number(),
                        field.json_name(),
                        now.json_name()
                    ),
                    lines,
                );
            }
            let (was, is) = (type_words(&field), type_words(&now));
            if was != is {
                self.add(
                    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
                    at.clone(),
                    name.clone(),
                    format!(
                        "the type of field {} changed from {was} to {is}, which JSON writes differently",
                        field.name()
                    ),
                    lines,
                );
            }
            if cardinality(&field) != cardinality(&now) {
                self.add(
                    "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
                    at.clone(),
                    name.clone(),
                    format!(
                        "field {} changed from {} to {}",
                        field.name(),
                        cardinality(&field),
                        cardinality(&now)
                    ),
                    lines,
                );
            }
            let oneof = |f: &FieldDescriptor| {
                f.containing_oneof()
                    .filter(|o| !o.is_synthetic())
                    .map(|o| o.name().to_string())
            };
            if oneof(&field) != oneof(&now) {
                self.add(
                    "FIELD_SAME_ONEOF",
                    at.clone(),
                    name.clone(),
                    format!(
                        "field {} moved from {} to {}",
                        field.name(),
                        oneof(&field).map_or("no oneof".to_string(), |o| format!("oneof {o}")),
                        oneof(&now).map_or("no oneof".to_string(), |o| format!("oneof {o}"))
                    ),
                    lines,
                );
            }
            let default = |f: &FieldDescriptor| f.field_descriptor_proto().default_value.clone();
            if default(&field) != default(&now) {
                self.add(
                    "FIELD_SAME_DEFAULT",
                    at,
                    name,
                    format!("the default of field {} changed", field.name()),
                    lines,
                );
            }
        }
        let required = |m: &MessageDescriptor| -> BTreeSet<u32> {
            m.fields()
                .filter(|f| f.cardinality() == prost_reflect::Cardinality::Required)
                .map(|f| f.number())
                .collect()
        };
        if required(old) != required(new) {
            self.add(
                "MESSAGE_SAME_REQUIRED_FIELDS",
                path.clone(),
                None,
                format!("the required fields of {local} changed"),
                (self.original.line_of(old.path()), self.update.line_of(new.path())),
            );
        }
        // Each old reserved range must lie inside one of the new ones (ranges are not split
        // in practice; a split one reads as deleted, which errs on the side of caution).
        let kept = old.reserved_ranges().all(|range| {
            new.reserved_ranges()
                .any(|r| r.start <= range.start && range.end <= r.end)
        }) && old.reserved_names().all(|n| reserved_name(new, n));
        if !kept {
            self.add(
                "RESERVED_MESSAGE_NO_DELETE",
                path,
                None,
                format!("a reserved number or name of {local} is no longer reserved"),
                (self.original.line_of(old.path()), self.update.line_of(new.path())),
            );
        }
    }

    fn enumeration(&mut self, old: &EnumDescriptor, new: &EnumDescriptor) {
        let path = path_of(old.full_name(), old.package_name());
        let local = path.trim_start_matches("#/").replace('/', ".");
        for value in old.values() {
            let at = format!("{path}/{}", value.number());
            let name = Some(format!("{local}.{}", value.name()));
            match new.get_value(value.number()) {
                None => {
                    let number_reserved = new.reserved_ranges().any(|r| r.contains(&value.number()));
                    let name_reserved = new.reserved_names().any(|n| n == value.name());
                    if !number_reserved {
                        self.add(
                            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
                            at.clone(),
                            name.clone(),
                            format!(
                                "value {} ({}) was deleted without reserving its number",
                                value.number(),
                                value.name()
                            ),
                            (None, None),
                        );
                    }
                    if !name_reserved {
                        self.add(
                            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
                            at,
                            name,
                            format!(
                                "value {} ({}) was deleted without reserving its name",
                                value.number(),
                                value.name()
                            ),
                            (None, None),
                        );
                    }
                }
                Some(now) if now.name() != value.name() => self.add(
                    "ENUM_VALUE_SAME_NAME",
                    at,
                    name,
                    format!(
                        "value {} was renamed from {} to {}: JSON writes enum values by name",
                        value.number(),
                        value.name(),
                        now.name()
                    ),
                    (None, None),
                ),
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::protobuf::parse;

    fn rules(old: &str, new: &str) -> Vec<&'static str> {
        let old = parse(&format!("syntax = \"proto3\";\npackage shop;\n{old}"), &[]).unwrap();
        let new = parse(&format!("syntax = \"proto3\";\npackage shop;\n{new}"), &[]).unwrap();
        breaks(&old, &new).iter().map(|b| b.rule).collect()
    }

    #[test]
    fn what_confluent_lets_through_and_json_readers_do_not() {
        assert_eq!(
            rules("message A { int32 n = 1; }", "message A { int32 n = 1; }"),
            Vec::<&str>::new()
        );
        assert_eq!(
            rules("message A { int32 n = 1; }", "message A { int32 count = 1; }"),
            ["FIELD_SAME_NAME"]
        );
        assert_eq!(
            rules("message A { int32 n = 1; }", "message A { int64 n = 1; }"),
            ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
        );
        assert_eq!(
            rules("message A { string n = 1; }", "message A { bytes n = 1; }"),
            ["FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
        );
        assert_eq!(
            rules("message A { int32 n = 1; }", "message A { repeated int32 n = 1; }"),
            ["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"]
        );
        assert_eq!(
            rules("message A { int32 n = 1; int32 m = 2; }", "message A { int32 n = 1; }"),
            [
                "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
                "FIELD_NO_DELETE_UNLESS_NAME_RESERVED"
            ]
        );
        // Deleted with its number and name reserved: fine.
        assert_eq!(
            rules(
                "message A { int32 n = 1; int32 m = 2; }",
                "message A { reserved 2; reserved \"m\"; int32 n = 1; }"
            ),
            Vec::<&str>::new()
        );
        assert_eq!(
            rules(
                "message A { int32 n = 1; int32 m = 2; }",
                "message A { int32 n = 1; oneof o { int32 m = 2; } }"
            ),
            ["FIELD_SAME_ONEOF"]
        );
        assert_eq!(
            rules("enum E { A = 0; B = 1; }", "enum E { A = 0; BEE = 1; }"),
            ["ENUM_VALUE_SAME_NAME"]
        );
        assert_eq!(
            rules("message A { reserved 5; int32 n = 1; }", "message A { int32 n = 1; }"),
            ["RESERVED_MESSAGE_NO_DELETE"]
        );
        // A new field or message breaks nobody.
        assert_eq!(
            rules(
                "message A { int32 n = 1; }",
                "message A { int32 n = 1; string s = 2; }\nmessage B {}"
            ),
            Vec::<&str>::new()
        );
    }
}
