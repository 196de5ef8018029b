//! A format-neutral field table: what documentation shows for a schema, one row per field,
//! nested records, arrays, maps and unions expanded beneath their parent.
//!
//! Avro and JSON Schema describe the same things in different words (a record's fields and
//! an object's properties; a default and a nullable union against `required`), so the docs
//! pages, the catalog's field search and AsyncAPI export all read this one shape instead of
//! knowing both formats.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::avro::{AvroSchema, Kind, NodeId};
use super::field_path::{self, Step};
use super::json::{Criterion, JsonKind, JsonNodeId, JsonSchema};
use super::Schema;

/// Deeper nesting than this is cut: recursive types would otherwise expand for ever, and a
/// page of twenty levels helps nobody.
const MAX_DEPTH: usize = 12;
/// A schema reusing one type many times (A has ten fields of type B, B ten of type C, …)
/// would expand exponentially; the table stops here. A page of this many rows has stopped
/// being read long before.
const MAX_ROWS: usize = 2_000;
/// Bounds the walk itself, including branches that add no rows.
const MAX_VISITS: usize = 20_000;
/// Bounds the work spent on one type label (nested unions and combinators fan out).
const MAX_LABEL_PARTS: usize = 64;
/// Enum symbols listed on one row, at most: a 100,000-symbol enum used by every field of a
/// record would otherwise copy every symbol into every row.
const MAX_SYMBOLS: usize = 100;

/// The first [`MAX_SYMBOLS`] symbols, then one entry saying how many were left out.
fn capped_symbols<T>(symbols: &[T], show: impl Fn(&T) -> String) -> Vec<String> {
    let mut out: Vec<String> = symbols.iter().take(MAX_SYMBOLS).map(show).collect();
    if symbols.len() > MAX_SYMBOLS {
        out.push(format!("… and {} more", symbols.len() - MAX_SYMBOLS));
    }
    out
}

/// One field of a schema, as a table row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldRow {
    /// Dotted path from the top (`customer.address.city`, `lines[].sku`), in the convention
    /// of [`field_path`].
    pub path: String,
    /// 0 for top-level fields.
    pub depth: usize,
    pub name: String,
    /// The type for people: `long (timestamp-millis)`, `array<Line>`, `null | string`.
    pub type_label: String,
    /// Must a producer supply it? Avro: no default and not nullable; JSON Schema: listed in
    /// `required`.
    pub required: bool,
    /// The default as JSON text.
    pub default: Option<String>,
    /// Avro `doc`; JSON Schema `title` and `description`.
    pub doc: Option<String>,
    pub deprecated: bool,
    /// What the schema's metadata says of the deprecation (`deprecated since …, sunset …;
    /// use … instead`), when its `herald.deprecated.<path>` property gives one.
    pub deprecation: Option<String>,
    /// Inline `confluent:tags` plus the tags the schema's metadata gives this path.
    pub tags: Vec<String>,
    /// Enum symbols, when the field (or its non-null branch) is an enum.
    pub symbols: Vec<String>,
    /// Where the field is written in the schema (JSON pointer), for reports that point at
    /// a line.
    pub pointer: String,
    /// The row (its path) under which the fields of this field's type are listed, when
    /// the type is a named one listed there first: a type reused at many places is
    /// expanded once, and later uses point at it instead of repeating its fields.
    pub defined_at: Option<String>,
}

/// The field table of a schema. `metadata` is the registered schema's metadata (Confluent's
/// `{"tags": {"<path glob>": ["PII"]}}`), whose tags are added to the rows they match.
pub fn field_rows(schema: &Schema, metadata: Option<&Value>) -> Vec<FieldRow> {
    let mut rows = match schema {
        Schema::Avro(avro) => AvroWalk {
            schema: avro,
            rows: Vec::new(),
            stack: Vec::new(),
            expanded: HashMap::new(),
            visits: 0,
        }
        .run(),
        Schema::Json(json) => JsonWalk::new(json).run(),
        Schema::Protobuf(proto) => ProtoWalk::new(proto).run(),
    };
    apply_deprecations(&mut rows, metadata);
    let globs = metadata_tags(metadata);
    if !globs.is_empty() {
        let root = match schema {
            Schema::Avro(avro) => avro.kind(avro.root()).name().map(|n| n.name.clone()),
            Schema::Json(_) => None,
            Schema::Protobuf(proto) => proto.messages().first().map(|m| m.name().to_string()),
        };
        for row in &mut rows {
            for (glob, tags) in &globs {
                let plain = path_matches(glob, &row.path);
                let named = root
                    .as_ref()
                    .is_some_and(|r| path_matches(glob, &format!("{r}.{}", row.path)));
                if plain || named {
                    for tag in tags {
                        if !row.tags.contains(tag) {
                            row.tags.push(tag.clone());
                        }
                    }
                }
            }
        }
    }
    rows
}

/// Marks the rows the metadata's `herald.deprecated.<path>` properties deprecate, with
/// their dates and replacement. Properties that do not read are left to registration and
/// `herald check`, which refuse them by name.
fn apply_deprecations(rows: &mut [FieldRow], metadata: Option<&Value>) {
    if !super::deprecation::has_properties(metadata) {
        return;
    }
    let Ok(deprecations) = super::deprecation::Deprecations::from_rows(rows, metadata) else {
        return;
    };
    for row in rows.iter_mut() {
        if let Some(deprecation) = deprecations.fields.get(&row.path) {
            row.deprecated = true;
            if *deprecation != super::deprecation::Deprecation::default() {
                row.deprecation = Some(deprecation.describe());
            }
        }
    }
}

fn metadata_tags(metadata: Option<&Value>) -> Vec<(String, Vec<String>)> {
    let Some(Value::Object(tags)) = metadata.and_then(|m| m.get("tags")) else {
        return Vec::new();
    };
    tags.iter()
        .map(|(glob, names)| (glob.clone(), string_list(names)))
        .collect()
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Confluent's field-path globs: segments split on `.`, `**` spans any number of segments
/// and `*` any characters within one. `[]` and `{}` markers in our paths are ignored.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let path: Vec<&str> = path
        .split('.')
        .map(|s| s.trim_end_matches("[]").trim_end_matches("{}"))
        .collect();
    let glob: Vec<&str> = glob.split('.').collect();
    segments_match(&glob, &path)
}

/// Whether the glob segments match the path segments. Dynamic programming over (glob,
/// path) positions: linear in their product, however many `**` and `*` a glob has.
fn segments_match(glob: &[&str], path: &[&str]) -> bool {
    // matched[j]: glob[..i] matches path[..j], for the current i.
    let mut matched = vec![false; path.len() + 1];
    matched[0] = true;
    for segment in glob {
        let mut next = vec![false; path.len() + 1];
        for j in 0..=path.len() {
            next[j] = if *segment == "**" {
                matched[j] || (j > 0 && next[j - 1])
            } else {
                j > 0 && matched[j - 1] && wildcard(segment, path[j - 1])
            };
        }
        matched = next;
    }
    matched[path.len()]
}

/// `*` matches any run of characters; everything else matches itself. Dynamic programming
/// over characters, as above.
fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in &pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = if *p == '*' {
                matched[j] || (j > 0 && next[j - 1])
            } else {
                j > 0 && matched[j - 1] && text[j - 1] == *p
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// The one row of a schema that is not a record or object (a bare string, an array): the
/// event itself.
fn whole_value_row(type_label: String, doc: Option<String>, symbols: Vec<String>, pointer: String) -> FieldRow {
    FieldRow {
        path: String::new(),
        depth: 0,
        name: "(value)".to_string(),
        type_label,
        required: true,
        default: None,
        doc,
        deprecated: false,
        deprecation: None,
        tags: Vec::new(),
        symbols,
        pointer,
        defined_at: None,
    }
}

/// Marks the `owner` row as using a type whose fields are listed under the row at `first`
/// (the first it keeps, when a union reuses several).
fn point_at(rows: &mut [FieldRow], owner: Option<usize>, first: &str) {
    if let Some(row) = owner.and_then(|o| rows.get_mut(o)) {
        if row.defined_at.is_none() && row.path != first {
            row.defined_at = Some(first.to_string());
        }
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

struct AvroWalk<'a> {
    schema: &'a AvroSchema,
    rows: Vec<FieldRow>,
    /// Records being expanded, to stop at recursion.
    stack: Vec<NodeId>,
    /// Records already expanded, with the path of the row they were listed under.
    expanded: HashMap<NodeId, String>,
    visits: usize,
}

impl AvroWalk<'_> {
    fn run(mut self) -> Vec<FieldRow> {
        let root = self.schema.root();
        if matches!(self.schema.kind(root), Kind::Record(_)) {
            self.record(root, "", 0);
        } else {
            let row = whole_value_row(
                self.label(root, 0),
                None,
                self.symbols(root),
                self.schema.location(root),
            );
            self.rows.push(row);
            self.children(root, "", 1, Some(0));
        }
        self.rows
    }

    fn record(&mut self, id: NodeId, prefix: &str, depth: usize) {
        let Kind::Record(record) = self.schema.kind(id) else {
            return;
        };
        if depth > MAX_DEPTH || self.stack.contains(&id) || self.exhausted() {
            return;
        }
        self.stack.push(id);
        for (index, field) in record.fields.iter().enumerate() {
            if self.exhausted() {
                break;
            }
            let path = field_path::push(prefix, Step::Field(&field.name));
            let nullable = self.nullable(field.schema);
            let prop = |key: &str| field.props.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            self.rows.push(FieldRow {
                path: path.clone(),
                depth,
                name: field.name.clone(),
                type_label: self.label(field.schema, 0),
                required: field.default.is_none() && !nullable,
                default: field.default.as_ref().map(Value::to_string),
                doc: field.doc.clone(),
                deprecated: prop("deprecated").is_some_and(truthy),
                deprecation: None,
                tags: prop("confluent:tags").map(string_list).unwrap_or_default(),
                symbols: self.symbols(field.schema),
                pointer: self.schema.field_location(id, index),
                defined_at: None,
            });
            let owner = self.rows.len() - 1;
            self.children(field.schema, &path, depth + 1, Some(owner));
        }
        self.stack.pop();
    }

    fn exhausted(&mut self) -> bool {
        self.visits += 1;
        self.rows.len() >= MAX_ROWS || self.visits > MAX_VISITS
    }

    /// Expands what lies under a field's type: a record's fields, an array's or map's items.
    /// `owner` is the row of the field whose type this is.
    fn children(&mut self, id: NodeId, path: &str, depth: usize, owner: Option<usize>) {
        if self.exhausted() {
            return;
        }
        match self.schema.kind(id) {
            Kind::Record(_) => {
                if let Some(first) = self.expanded.get(&id) {
                    point_at(&mut self.rows, owner, first);
                    return;
                }
                let owner_path = owner.and_then(|o| self.rows.get(o)).map(|row| row.path.clone());
                let before = self.rows.len();
                self.record(id, path, depth);
                // Only a type whose fields were listed here can be pointed at (not one cut
                // by recursion, depth or the row budget).
                if let Some(owner_path) = owner_path.filter(|_| self.rows.len() > before) {
                    self.expanded.entry(id).or_insert(owner_path);
                }
            }
            Kind::Array { items } => self.children(*items, &field_path::push(path, Step::Items), depth, owner),
            Kind::Map { values } => self.children(*values, &field_path::push(path, Step::Values), depth, owner),
            Kind::Union { branches } => {
                for &branch in branches {
                    self.children(branch, path, depth, owner);
                }
            }
            _ => {}
        }
    }

    fn nullable(&self, id: NodeId) -> bool {
        match self.schema.kind(id) {
            Kind::Null => true,
            Kind::Union { branches } => branches.iter().any(|&b| matches!(self.schema.kind(b), Kind::Null)),
            _ => false,
        }
    }

    fn symbols(&self, id: NodeId) -> Vec<String> {
        let schema = self.schema;
        let of = |id: NodeId| match schema.kind(id) {
            Kind::Enum(e) => e.symbols.as_slice(),
            _ => &[],
        };
        let branches = match schema.kind(id) {
            Kind::Union { branches } => branches.as_slice(),
            _ => std::slice::from_ref(&id),
        };
        let total: usize = branches.iter().map(|&b| of(b).len()).sum();
        let mut out: Vec<String> = branches
            .iter()
            .flat_map(|&b| of(b))
            .take(MAX_SYMBOLS)
            .cloned()
            .collect();
        if total > MAX_SYMBOLS {
            out.push(format!("… and {} more", total - MAX_SYMBOLS));
        }
        out
    }

    fn label(&self, id: NodeId, depth: usize) -> String {
        if depth > MAX_DEPTH {
            return "…".to_string();
        }
        let base = match self.schema.kind(id) {
            Kind::Array { items } => format!("array<{}>", self.label(*items, depth + 1)),
            Kind::Map { values } => format!("map<{}>", self.label(*values, depth + 1)),
            Kind::Union { branches } => branches
                .iter()
                .map(|&b| self.label(b, depth + 1))
                .collect::<Vec<_>>()
                .join(" | "),
            Kind::Record(r) => r.name.name.clone(),
            Kind::Enum(e) => format!("enum {}", e.name.name),
            Kind::Fixed(f) => format!("fixed {} ({} bytes)", f.name.name, f.size),
            other => other.type_name().to_ascii_lowercase(),
        };
        match self.schema.logical_type(id) {
            Some(logical) => format!("{base} ({logical})"),
            None => base,
        }
    }
}

struct JsonWalk<'a> {
    schema: &'a JsonSchema,
    /// The main document, for keywords the model does not keep (`confluent:tags`).
    document: Value,
    rows: Vec<FieldRow>,
    stack: Vec<JsonNodeId>,
    /// Objects already expanded, with the path of the row they were listed under.
    expanded: HashMap<JsonNodeId, String>,
    visits: usize,
    /// Parts left for the label being built (see `MAX_LABEL_PARTS`).
    label_parts: std::cell::Cell<usize>,
}

impl<'a> JsonWalk<'a> {
    fn new(schema: &'a JsonSchema) -> JsonWalk<'a> {
        JsonWalk {
            schema,
            document: serde_json::from_str(schema.canonical()).unwrap_or(Value::Null),
            rows: Vec::new(),
            stack: Vec::new(),
            expanded: HashMap::new(),
            visits: 0,
            label_parts: std::cell::Cell::new(0),
        }
    }

    fn run(mut self) -> Vec<FieldRow> {
        let root = self.schema.root();
        if self.has_properties(root, 0) {
            self.children(root, "", 0, None);
        } else {
            let row = whole_value_row(
                self.type_label(root),
                self.doc(root),
                self.symbols(root),
                self.schema.location(root),
            );
            self.rows.push(row);
            self.children(root, "", 1, Some(0));
        }
        self.rows
    }

    fn has_properties(&self, id: JsonNodeId, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match &self.schema.node(self.schema.resolve(id)).kind {
            JsonKind::Object(rules) => !rules.properties.is_empty(),
            JsonKind::Combined { subschemas, .. } => subschemas.iter().any(|&s| self.has_properties(s, depth + 1)),
            _ => false,
        }
    }

    /// Rows for the properties under `id`: an object's own, an array's items', and those of
    /// every member of a combinator. `owner` is the row of the property whose schema this is.
    fn children(&mut self, id: JsonNodeId, prefix: &str, depth: usize, owner: Option<usize>) {
        let id = self.schema.resolve(id);
        self.visits += 1;
        if depth > MAX_DEPTH || self.stack.contains(&id) || self.rows.len() >= MAX_ROWS || self.visits > MAX_VISITS {
            return;
        }
        if matches!(&self.schema.node(id).kind, JsonKind::Object(rules) if !rules.properties.is_empty()) {
            if let Some(first) = self.expanded.get(&id) {
                point_at(&mut self.rows, owner, first);
                return;
            }
            if let Some(row) = owner.and_then(|o| self.rows.get(o)) {
                self.expanded.insert(id, row.path.clone());
            }
        }
        self.stack.push(id);
        match &self.schema.node(id).kind {
            JsonKind::Object(rules) => {
                for (name, property) in &rules.properties {
                    if self.rows.len() >= MAX_ROWS {
                        break;
                    }
                    let path = field_path::push(prefix, Step::Field(name));
                    let annotations = self.annotations(*property);
                    let raw = self.raw(*property);
                    self.rows.push(FieldRow {
                        path: path.clone(),
                        depth,
                        name: name.clone(),
                        type_label: self.type_label(*property),
                        required: rules.required.contains(name),
                        default: annotations.and_then(|a| a.default.as_ref()).map(Value::to_string),
                        doc: self.doc(*property),
                        deprecated: annotations.is_some_and(|a| a.deprecated),
                        deprecation: None,
                        tags: raw
                            .and_then(|r| r.get("confluent:tags"))
                            .map(string_list)
                            .unwrap_or_default(),
                        symbols: self.symbols(*property),
                        pointer: self.schema.location(*property),
                        defined_at: None,
                    });
                    let owner = self.rows.len() - 1;
                    self.children(*property, &path, depth + 1, Some(owner));
                }
            }
            JsonKind::Array(rules) => {
                if let Some(items) = rules.items {
                    self.children(items, &field_path::push(prefix, Step::Items), depth, owner);
                }
                for &item in rules.tuple.iter().flatten() {
                    self.children(item, &field_path::push(prefix, Step::Items), depth, owner);
                }
            }
            JsonKind::Combined { subschemas, .. } => {
                for &member in subschemas {
                    self.children(member, prefix, depth, owner);
                }
            }
            _ => {}
        }
        self.stack.pop();
    }

    /// Annotations of a property, from the node itself or the schema its `$ref` names.
    fn annotations(&self, id: JsonNodeId) -> Option<&'a super::json::Annotations> {
        self.schema
            .annotations(id)
            .or_else(|| self.schema.annotations(self.schema.resolve(id)))
    }

    fn raw(&self, id: JsonNodeId) -> Option<&Value> {
        if self.schema.node(id).document != 0 {
            return None;
        }
        self.document.pointer(self.schema.pointer(id))
    }

    fn doc(&self, id: JsonNodeId) -> Option<String> {
        let a = self.annotations(id)?;
        match (&a.title, &a.description) {
            (Some(t), Some(d)) => Some(format!("{t}: {d}")),
            (Some(t), None) => Some(t.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => None,
        }
    }

    fn symbols(&self, id: JsonNodeId) -> Vec<String> {
        let mut values: Vec<&Value> = Vec::new();
        self.enum_values(id, &mut values);
        capped_symbols(&values, |v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    }

    /// The enum values of a node (borrowed: a row copies only the ones it lists).
    fn enum_values(&self, id: JsonNodeId, out: &mut Vec<&'a Value>) {
        let schema: &'a JsonSchema = self.schema;
        match &schema.node(schema.resolve(id)).kind {
            JsonKind::Enum(values) => out.extend(values.iter()),
            // `{"type": "string", "enum": [..]}` is split into an allOf of the two.
            JsonKind::Combined {
                criterion: Criterion::AllOf,
                subschemas,
            } => {
                for &sub in subschemas {
                    self.enum_values(sub, out);
                }
            }
            _ => {}
        }
    }

    /// The type label of a node, within `MAX_LABEL_PARTS` nodes.
    fn type_label(&self, id: JsonNodeId) -> String {
        self.label_parts.set(MAX_LABEL_PARTS);
        self.label(id, 0)
    }

    fn label(&self, id: JsonNodeId, depth: usize) -> String {
        let left = self.label_parts.get();
        if depth > MAX_DEPTH || left == 0 {
            return "…".to_string();
        }
        self.label_parts.set(left - 1);
        let node = self.schema.node(id);
        match &node.kind {
            JsonKind::Any => "any".to_string(),
            JsonKind::Nothing => "nothing".to_string(),
            JsonKind::Null => "null".to_string(),
            JsonKind::Boolean => "boolean".to_string(),
            JsonKind::String(rules) => match &rules.format {
                Some(format) => format!("string ({format})"),
                None => "string".to_string(),
            },
            JsonKind::Number(rules) if rules.integer => "integer".to_string(),
            JsonKind::Number(_) => "number".to_string(),
            JsonKind::Object(_) => match self.annotations(id).and_then(|a| a.title.clone()) {
                Some(title) if depth > 0 => title,
                _ => "object".to_string(),
            },
            JsonKind::Array(rules) => match rules.items {
                Some(items) => format!("array<{}>", self.label(items, depth + 1)),
                None => "array".to_string(),
            },
            JsonKind::Enum(_) => "enum".to_string(),
            JsonKind::Const(value) => format!("const {value}"),
            JsonKind::Combined {
                criterion: Criterion::AllOf,
                subschemas,
            } if subschemas.len() == 2
                && subschemas
                    .iter()
                    .any(|&s| matches!(self.schema.node(s).kind, JsonKind::Enum(_))) =>
            {
                // A typed enum: `string enum` reads better than `string & enum`.
                let typed = subschemas
                    .iter()
                    .find(|&&s| !matches!(self.schema.node(s).kind, JsonKind::Enum(_)))
                    .map(|&s| self.label(s, depth + 1))
                    .unwrap_or_default();
                format!("{typed} enum")
            }
            JsonKind::Combined { criterion, subschemas } => {
                let separator = match criterion {
                    Criterion::AllOf => " & ",
                    Criterion::AnyOf | Criterion::OneOf => " | ",
                };
                subschemas
                    .iter()
                    .map(|&s| self.label(s, depth + 1))
                    .collect::<Vec<_>>()
                    .join(separator)
            }
            JsonKind::Not(inner) => format!("not {}", self.label(*inner, depth + 1)),
            JsonKind::Ref(target) => {
                // A named definition reads better than its expansion.
                let pointer = self.schema.pointer(*target);
                match pointer.rsplit('/').next().filter(|last| !last.is_empty()) {
                    Some(name) if pointer.contains("defs") || pointer.contains("definitions") => name.to_string(),
                    _ => self.label(*target, depth + 1),
                }
            }
        }
    }
}

/// The rows of a Protobuf schema's event: its first top-level message (the one a
/// serializer's message index `[0]` names), nested messages expanded beneath their field the
/// first time they are used.
struct ProtoWalk<'a> {
    schema: &'a super::ProtobufSchema,
    rows: Vec<FieldRow>,
    /// Message full name → the path of the row its fields were first listed under.
    expanded: HashMap<String, String>,
    visits: usize,
}

impl<'a> ProtoWalk<'a> {
    fn new(schema: &'a super::ProtobufSchema) -> ProtoWalk<'a> {
        ProtoWalk {
            schema,
            rows: Vec::new(),
            expanded: HashMap::new(),
            visits: 0,
        }
    }

    fn run(mut self) -> Vec<FieldRow> {
        if let Some(message) = self.schema.messages().first() {
            self.expanded.insert(message.full_name().to_string(), String::new());
            self.message(message, "", 0);
        }
        self.rows
    }

    fn message(&mut self, message: &prost_reflect::MessageDescriptor, path: &str, depth: usize) {
        use prost_reflect::{Cardinality, Kind};
        if depth > MAX_DEPTH {
            return;
        }
        for field in message.fields() {
            self.visits += 1;
            if self.rows.len() >= MAX_ROWS || self.visits > MAX_VISITS {
                return;
            }
            let row_path = field_path::push(path, Step::Field(field.name()));
            let kind = field.kind();
            let (label, inner, step) = if field.is_map() {
                let entry = kind.as_message().cloned();
                let key = entry.as_ref().map(|e| proto_type_name(&e.map_entry_key_field().kind()));
                let value = entry.as_ref().map(|e| e.map_entry_value_field().kind());
                let label = format!(
                    "map<{}, {}>",
                    key.unwrap_or_default(),
                    value.as_ref().map(proto_type_name).unwrap_or_default()
                );
                (label, value, Some(Step::Values))
            } else if field.is_list() {
                (
                    format!("repeated {}", proto_type_name(&kind)),
                    Some(kind.clone()),
                    Some(Step::Items),
                )
            } else {
                let presence = field.field_descriptor_proto().proto3_optional();
                let label = match presence {
                    true => format!("optional {}", proto_type_name(&kind)),
                    false => proto_type_name(&kind),
                };
                (label, Some(kind.clone()), None)
            };
            let oneof = field.containing_oneof().filter(|o| !o.is_synthetic());
            let label = match &oneof {
                Some(oneof) => format!("{label} (oneof {})", oneof.name()),
                None => label,
            };
            let symbols = match &inner {
                Some(Kind::Enum(e)) => {
                    let names: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
                    capped_symbols(&names, String::clone)
                }
                _ => Vec::new(),
            };
            let meta = field_meta(&field);
            let options = field.field_descriptor_proto().options.as_ref();
            let deprecated = options.and_then(|o| o.deprecated).unwrap_or(false)
                || options.is_some_and(|o| {
                    o.uninterpreted_option.iter().any(|u| {
                        u.name.len() == 1
                            && u.name[0].name_part == "deprecated"
                            && u.identifier_value.as_deref() == Some("true")
                    })
                });
            let nested = match &inner {
                Some(Kind::Message(m)) if !is_well_known(m) => Some(m.clone()),
                _ => None,
            };
            let defined_at = nested.as_ref().and_then(|m| self.expanded.get(m.full_name()).cloned());
            self.rows.push(FieldRow {
                path: row_path.clone(),
                depth,
                name: field.name().to_string(),
                type_label: label,
                required: field.cardinality() == Cardinality::Required,
                default: field.field_descriptor_proto().default_value.clone(),
                // The comment written on the field, else the doc of its meta option.
                doc: self
                    .schema
                    .comment(field.path())
                    .map(str::to_string)
                    .or_else(|| field_meta_doc(meta.as_ref())),
                deprecated,
                deprecation: None,
                tags: field_meta_tags(meta.as_ref()),
                symbols,
                // The path compatibility findings use: message names from the package down.
                pointer: format!(
                    "/{}/{}",
                    message
                        .full_name()
                        .strip_prefix(message.package_name())
                        .map_or(message.full_name(), |n| n.trim_start_matches('.'))
                        .replace('.', "/"),
                    field.number()
                ),
                defined_at: defined_at.clone(),
            });
            if let (Some(nested), None) = (nested, defined_at) {
                let inner_path = match step {
                    Some(step) => field_path::push(&row_path, step),
                    None => row_path.clone(),
                };
                self.expanded.insert(nested.full_name().to_string(), row_path);
                self.message(&nested, &inner_path, depth + 1);
            }
        }
    }
}

/// Google's well-known types read as values (a timestamp, a duration), not as messages
/// whose fields a reader needs to see.
fn is_well_known(message: &prost_reflect::MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

/// A type as a `.proto` file names it: `int64`, `payments.v1.Money`, `google.protobuf.Timestamp`.
fn proto_type_name(kind: &prost_reflect::Kind) -> String {
    use prost_reflect::Kind;
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
    }
}

/// A Protobuf field's `(confluent.field_meta)` option (Confluent's `meta.proto`, extension
/// 1088 of `FieldOptions`): its tags (as inline `confluent:tags` in Avro and JSON Schema)
/// and its doc.
fn field_meta(field: &prost_reflect::FieldDescriptor) -> Option<prost_reflect::DynamicMessage> {
    let extension = field.parent_pool().get_extension_by_name("confluent.field_meta")?;
    let options = field.options();
    if !options.has_extension(&extension) {
        return None;
    }
    options.get_extension(&extension).as_message().cloned()
}

fn field_meta_tags(meta: Option<&prost_reflect::DynamicMessage>) -> Vec<String> {
    match meta
        .and_then(|m| m.get_field_by_name("tags"))
        .as_deref()
        .and_then(|v| v.as_list())
    {
        Some(tags) => tags.iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
        None => Vec::new(),
    }
}

/// The meta's doc, where it has one: the documentation a descriptor (which keeps no
/// comments) can carry.
fn field_meta_doc(meta: Option<&prost_reflect::DynamicMessage>) -> Option<String> {
    let doc = meta?.get_field_by_name("doc")?;
    doc.as_str().filter(|d| !d.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;

    fn rows(schema_type: SchemaType, text: &str, metadata: Option<Value>) -> Vec<FieldRow> {
        let schema = Schema::parse(schema_type, text, &[]).expect("schema parses");
        field_rows(&schema, metadata.as_ref())
    }

    /// (path, defined_at) of every row.
    fn links(rows: &[FieldRow]) -> Vec<(String, Option<String>)> {
        rows.iter().map(|r| (r.path.clone(), r.defined_at.clone())).collect()
    }

    #[test]
    fn an_avro_type_reused_is_expanded_once_and_pointed_at_after() {
        let rows = rows(
            SchemaType::Avro,
            r#"{"type":"record","name":"Order","fields":[
                {"name":"billing","type":{"type":"record","name":"Address","fields":[
                    {"name":"city","type":"string"},{"name":"zip","type":"string"}]}},
                {"name":"shipping","type":["null","Address"],"default":null},
                {"name":"history","type":{"type":"array","items":"Address"}},
                {"name":"byName","type":{"type":"map","values":"Address"}},
                {"name":"parent","type":["null","Order"],"default":null}
            ]}"#,
            None,
        );
        let some = |p: &str| Some(p.to_string());
        assert_eq!(
            links(&rows),
            vec![
                ("billing".into(), None),
                ("billing.city".into(), None),
                ("billing.zip".into(), None),
                ("shipping".into(), some("billing")),
                ("history".into(), some("billing")),
                ("byName".into(), some("billing")),
                // Recursion is cut as before, not pointed at.
                ("parent".into(), None),
            ]
        );
    }

    #[test]
    fn a_json_schema_definition_reused_is_expanded_once_and_pointed_at_after() {
        let rows = rows(
            SchemaType::Json,
            r##"{"type":"object","$defs":{"address":{"type":"object","properties":{
                    "city":{"type":"string"}}}},
                "properties":{
                    "billing":{"$ref":"#/$defs/address"},
                    "shipping":{"$ref":"#/$defs/address"},
                    "stops":{"type":"array","items":{"$ref":"#/$defs/address"}},
                    "inline":{"type":"object","properties":{"city":{"type":"string"}}}}}"##,
            None,
        );
        let some = |p: &str| Some(p.to_string());
        assert_eq!(
            links(&rows),
            vec![
                ("billing".into(), None),
                ("billing.city".into(), None),
                ("shipping".into(), some("billing")),
                ("stops".into(), some("billing")),
                // The same shape written twice is two types, each listed.
                ("inline".into(), None),
                ("inline.city".into(), None),
            ]
        );
    }

    #[test]
    fn avro_nested_records_arrays_unions_and_enums_are_expanded() {
        let rows = rows(
            SchemaType::Avro,
            r#"{"type":"record","name":"Order","fields":[
                {"name":"id","type":"string","doc":"Order id"},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"note","type":["null","string"],"default":null,"deprecated":true},
                {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
                    {"name":"sku","type":"string","confluent:tags":["INTERNAL"]},
                    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","SHIPPED"]}}]}}}
            ]}"#,
            Some(serde_json::json!({"tags": {"Order.lines.sku": ["PII"], "**.note": ["FREE_TEXT"]}})),
        );
        let summary: Vec<(String, usize, String, bool)> = rows
            .iter()
            .map(|r| (r.path.clone(), r.depth, r.type_label.clone(), r.required))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("id".into(), 0, "string".into(), true),
                ("at".into(), 0, "long (timestamp-millis)".into(), true),
                ("note".into(), 0, "null | string".into(), false),
                ("lines".into(), 0, "array<Line>".into(), true),
                ("lines[].sku".into(), 1, "string".into(), true),
                ("lines[].status".into(), 1, "enum Status".into(), true),
            ]
        );
        assert_eq!(rows[0].doc.as_deref(), Some("Order id"));
        assert!(rows[2].deprecated);
        assert_eq!(rows[2].default.as_deref(), Some("null"));
        assert_eq!(rows[2].tags, vec!["FREE_TEXT"]);
        assert_eq!(rows[4].tags, vec!["INTERNAL", "PII"]);
        assert_eq!(rows[5].symbols, vec!["NEW", "SHIPPED"]);
    }

    #[test]
    fn avro_recursive_records_stop_at_the_cycle() {
        let rows = rows(
            SchemaType::Avro,
            r#"{"type":"record","name":"Node","fields":[
                {"name":"value","type":"int"},
                {"name":"next","type":["null","Node"],"default":null}]}"#,
            None,
        );
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, vec!["value", "next"]);
        assert_eq!(rows[1].type_label, "null | Node");
    }

    #[test]
    fn json_schema_properties_required_refs_and_annotations() {
        let rows = rows(
            SchemaType::Json,
            r##"{"type":"object","required":["id","items"],"properties":{
                "id":{"type":"string","format":"uuid","title":"Order id"},
                "gift":{"type":["string","null"],"description":"A note","default":null,"deprecated":true},
                "customer":{"$ref":"#/definitions/Customer"},
                "items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer"}}}}
            },"definitions":{"Customer":{"type":"object","properties":{"email":{"type":"string","confluent:tags":["PII"]}}}}}"##,
            None,
        );
        let summary: Vec<(String, String, bool)> = rows
            .iter()
            .map(|r| (r.path.clone(), r.type_label.clone(), r.required))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("id".into(), "string (uuid)".into(), true),
                ("gift".into(), "string | null".into(), false),
                ("customer".into(), "Customer".into(), false),
                ("customer.email".into(), "string".into(), false),
                ("items".into(), "array<object>".into(), true),
                ("items[].qty".into(), "integer".into(), false),
            ]
        );
        assert_eq!(rows[0].doc.as_deref(), Some("Order id"));
        assert_eq!(rows[1].doc.as_deref(), Some("A note"));
        assert!(rows[1].deprecated);
        assert_eq!(rows[3].tags, vec!["PII"]);
    }

    #[test]
    fn a_schema_that_is_not_a_record_is_one_row_for_the_whole_event() {
        let avro = rows(SchemaType::Avro, r#"{"type":"array","items":"long"}"#, None);
        assert_eq!(avro.len(), 1);
        assert_eq!(
            (avro[0].name.as_str(), avro[0].type_label.as_str()),
            ("(value)", "array<long>")
        );
        let json = rows(
            SchemaType::Json,
            r#"{"type":"string","description":"A code.","enum":["a","b"]}"#,
            None,
        );
        assert_eq!(json.len(), 1);
        assert_eq!(json[0].type_label, "string enum");
        assert_eq!(json[0].symbols, vec!["a", "b"]);
        assert_eq!(json[0].doc.as_deref(), Some("A code."));
    }

    #[test]
    fn protobuf_field_meta_tags_are_field_tags() {
        let proto = rows(
            SchemaType::Protobuf,
            r#"syntax = "proto3";
package acme;
import "confluent/meta.proto";
message Customer {
  string email = 1 [(confluent.field_meta).tags = "PII", (confluent.field_meta).tags = "EMAIL"];
  string nickname = 2;
  string ssn = 3 [(confluent.field_meta) = { tags: ["PII"], doc: "Social security number" }];
  // Written here, so it wins.
  string card = 4 [(confluent.field_meta).doc = "Not shown"];
}"#,
            None,
        );
        let tags: Vec<(&str, Vec<String>)> = proto.iter().map(|r| (r.name.as_str(), r.tags.clone())).collect();
        assert_eq!(
            tags,
            vec![
                ("email", vec!["PII".to_string(), "EMAIL".to_string()]),
                ("nickname", vec![]),
                ("ssn", vec!["PII".to_string()]),
                ("card", vec![]),
            ]
        );
        // The meta's doc documents a field without a comment.
        let docs: Vec<Option<&str>> = proto.iter().map(|r| r.doc.as_deref()).collect();
        assert_eq!(
            docs,
            vec![
                None,
                None,
                Some("Social security number"),
                Some("Written here, so it wins.")
            ]
        );
    }

    #[test]
    fn globs_follow_confluent_paths() {
        assert!(path_matches("**.ssn", "customer.ssn"));
        assert!(path_matches("**.ssn", "ssn"));
        assert!(path_matches("customer.*", "customer.email"));
        assert!(path_matches("lines.sku", "lines[].sku"));
        assert!(!path_matches("customer.*", "customer.address.city"));
        assert!(!path_matches("ssn", "customer.ssn"));
        assert!(path_matches("*_id", "order_id"));
        assert!(path_matches("**.a.**.b", "x.a.y.z.b"));
        assert!(!path_matches("**.a.**.c", "x.a.y.z.b"));
        // Many wildcards against a long name stay fast (no backtracking).
        let name = "a".repeat(200);
        assert!(!path_matches(&"*a".repeat(40).to_string().replace("a*a", "a*b"), &name));
        assert!(!path_matches(
            &["**"; 30].join(".").replace("**.**", "**.x"),
            &["a"; 60].join(".")
        ));
    }
}
