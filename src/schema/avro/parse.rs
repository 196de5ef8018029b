//! Avro schema text → [`AvroSchema`].
//!
//! Follows the Avro specification as Java's parser applies it when Confluent validates a new
//! schema: names and namespaces are checked, named types must be defined before use and only
//! once, unions may not nest or repeat a type, and field defaults must match their type.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde_json::Value;

use crate::schema::tree::Json;

use super::{
    canonical, defaults, pointer_of, AvroSchema, Enum, Field, FieldOrder, Fixed, Kind, Name, Node, NodeId, Origin,
    Record,
};
use crate::schema::pointer::{self, Path};
use crate::schema::{Reference, SchemaError};

/// Keys with a meaning of their own on a type; everything else is a custom property.
const RESERVED_TYPE_KEYS: &[&str] = &[
    "type",
    "name",
    "namespace",
    "doc",
    "fields",
    "items",
    "values",
    "size",
    "symbols",
    "aliases",
    "default",
];
const RESERVED_FIELD_KEYS: &[&str] = &["name", "type", "doc", "default", "order", "aliases"];

/// Parses `text`, with the named types of `references` (already in dependency order) in scope,
/// checking field defaults against their types.
pub fn parse(text: &str, references: &[Reference<'_>]) -> Result<AvroSchema, SchemaError> {
    parse_with(text, references, true)
}

/// Parses `text`; field defaults are checked against their types only when `check_defaults`
/// (Java's `validateDefaults`). Unchecked, a default that does not fit is kept as written:
/// [`AvroSchema::default_mismatches`] lists them.
pub fn parse_with(text: &str, references: &[Reference<'_>], check_defaults: bool) -> Result<AvroSchema, SchemaError> {
    // Rough sizes from the text, so the buffers grow once or not at all.
    let mut parser = Parser {
        nodes: Vec::with_capacity(text.len() / 32),
        names: HashMap::with_capacity_and_hasher(16, Default::default()),
        document: 0,
        open_records: Vec::new(),
        recursive: std::cell::Cell::new(false),
    };
    let mut documents = Vec::with_capacity(references.len());
    for (index, reference) in references.iter().enumerate() {
        let value =
            Json::parse(reference.schema).map_err(|e| SchemaError::from_json(&e).in_document(reference.name))?;
        parser.document = index + 1;
        parser
            .parse_type(&value, &Path::root(), None)
            .map_err(|e| e.in_document(reference.name))?;
        documents.push(reference.name.to_string());
    }
    let referenced_names: Vec<String> = parser.names.keys().cloned().collect();

    let value = Json::parse(text).map_err(|e| SchemaError::from_json(&e))?;
    parser.document = 0;
    let root = parser.parse_type(&value, &Path::root(), None)?;
    if check_defaults {
        if let Some((pointer, message)) = default_mismatches(&parser.nodes).next() {
            return Err(SchemaError::at(pointer, message));
        }
    }
    if parser.recursive.get() {
        parser.check_finite(&documents)?;
    }

    let mut schema = AvroSchema {
        nodes: parser.nodes,
        root,
        names: parser.names,
        referenced_names,
        documents,
        canonical: String::new(),
    };
    schema.canonical = canonical::print(&schema, text.len());
    Ok(schema)
}

struct Parser {
    nodes: Vec<Node>,
    names: HashMap<String, NodeId>,
    document: usize,
    /// Records whose fields are being parsed: a name resolving to one of them is recursion.
    open_records: Vec<NodeId>,
    /// Whether any type refers to a record it is part of; only then can a record lack a
    /// finite value, so only then is `check_finite` run.
    recursive: std::cell::Cell<bool>,
}

impl Parser {
    /// A new node; its parent sets its [`Origin`] once the parent exists.
    fn push(&mut self, kind: Kind, props: Vec<(String, Value)>) -> NodeId {
        self.nodes.push(Node {
            kind,
            origin: Origin::Root,
            document: self.document,
            props,
        });
        self.nodes.len() - 1
    }

    /// Records where a child hangs off its parent, unless the child is an earlier named
    /// type that was only referred to here (it keeps the place of its definition).
    fn adopt(&mut self, child: NodeId, created_from: usize, origin: Origin) {
        if child >= created_from {
            self.nodes[child].origin = origin;
        }
    }

    fn parse_type(&mut self, value: &Json<'_>, at: &Path<'_>, namespace: Option<&str>) -> Result<NodeId, SchemaError> {
        match value {
            Json::String(name) => self.parse_name_reference(name, at, namespace),
            Json::Array(branches) => self.parse_union(branches, at, namespace),
            Json::Object(members) => self.parse_object(Members(members), at, namespace),
            other => Err(SchemaError::at(
                at,
                format!(
                    "a type must be a name, an object or an array (union), found {}",
                    json_kind(other)
                ),
            )),
        }
    }

    fn parse_name_reference(
        &mut self,
        name: &str,
        at: &Path<'_>,
        namespace: Option<&str>,
    ) -> Result<NodeId, SchemaError> {
        if let Some(kind) = Kind::primitive(name) {
            return Ok(self.push(kind, Vec::new()));
        }
        self.resolve(name, namespace).ok_or_else(|| {
            SchemaError::at(
                at,
                format!("undefined name \"{name}\": named types must be defined before they are used"),
            )
        })
    }

    /// Resolves a type name the way Java does: relative to the enclosing namespace first,
    /// then in the null namespace.
    fn resolve(&self, name: &str, namespace: Option<&str>) -> Option<NodeId> {
        let found = self.lookup(name, namespace);
        if found.is_some_and(|id| self.open_records.contains(&id)) {
            self.recursive.set(true);
        }
        found
    }

    fn lookup(&self, name: &str, namespace: Option<&str>) -> Option<NodeId> {
        if !name.contains('.') {
            if let Some(ns) = namespace {
                if let Some(&id) = self.names.get(&format!("{ns}.{name}")) {
                    return Some(id);
                }
            }
        }
        self.names.get(name).copied()
    }

    fn parse_union(
        &mut self,
        branches: &[Json<'_>],
        at: &Path<'_>,
        namespace: Option<&str>,
    ) -> Result<NodeId, SchemaError> {
        let created_from = self.nodes.len();
        let mut ids: Vec<NodeId> = Vec::with_capacity(branches.len());
        for (index, branch) in branches.iter().enumerate() {
            let branch_at = at.index(index);
            let id = self.parse_type(branch, &branch_at, namespace)?;
            let kind = &self.nodes[id].kind;
            if matches!(kind, Kind::Union { .. }) {
                return Err(SchemaError::at(
                    branch_at,
                    "a union may not directly contain another union",
                ));
            }
            ids.push(id);
        }
        if let Some(index) = self.first_duplicate_branch(&ids) {
            let kind = &self.nodes[ids[index]].kind;
            let key = kind
                .name()
                .map(Name::full)
                .unwrap_or_else(|| kind.type_name().to_string());
            return Err(SchemaError::at(
                at.index(index),
                format!("duplicate type {key} in union"),
            ));
        }
        let union = self.nodes.len();
        for (index, &id) in ids.iter().enumerate() {
            self.adopt(id, created_from, Origin::Branch(union, index as u32));
        }
        Ok(self.push(Kind::Union { branches: ids }, Vec::new()))
    }

    fn parse_object(
        &mut self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
    ) -> Result<NodeId, SchemaError> {
        let type_name = match object.get("type") {
            Some(Json::String(t)) => t.as_ref(),
            Some(other) => {
                return Err(SchemaError::at(
                    at.key("type").to_pointer(),
                    format!("\"type\" must be a string naming a type, found {}", json_kind(other)),
                ))
            }
            None => return Err(SchemaError::at(at, "missing \"type\"")),
        };
        let props = custom_props(object, RESERVED_TYPE_KEYS);
        match type_name {
            "record" | "error" => self.parse_record(object, at, namespace, type_name == "error", props),
            "enum" => self.parse_enum(object, at, namespace, props),
            "fixed" => self.parse_fixed(object, at, namespace, props),
            "array" => {
                let items = object
                    .get("items")
                    .ok_or_else(|| SchemaError::at(at, "an array needs \"items\""))?;
                let created_from = self.nodes.len();
                let items = self.parse_type(items, &at.key("items"), namespace)?;
                let array = self.push(Kind::Array { items }, props);
                self.adopt(items, created_from, Origin::Items(array));
                Ok(array)
            }
            "map" => {
                let values = object
                    .get("values")
                    .ok_or_else(|| SchemaError::at(at, "a map needs \"values\""))?;
                let created_from = self.nodes.len();
                let values = self.parse_type(values, &at.key("values"), namespace)?;
                let map = self.push(Kind::Map { values }, props);
                self.adopt(values, created_from, Origin::Values(map));
                Ok(map)
            }
            other => {
                if let Some(kind) = Kind::primitive(other) {
                    return Ok(self.push(kind, props));
                }
                // `{"type": "com.example.Money"}`: a reference in object form.
                self.resolve(other, namespace)
                    .ok_or_else(|| SchemaError::at(at.key("type").to_pointer(), format!("unknown type \"{other}\"")))
            }
        }
    }

    /// The first union branch that repeats an earlier one: the same named type, or the same
    /// unnamed type (two arrays, two strings). Keyed by full name or type name, so that a
    /// union of thousands of records is checked in linear time.
    fn first_duplicate_branch(&self, branches: &[NodeId]) -> Option<usize> {
        let same = |a: NodeId, b: NodeId| {
            let (a, b) = (&self.nodes[a].kind, &self.nodes[b].kind);
            match (a.name(), b.name()) {
                (Some(x), Some(y)) => x == y,
                (None, None) => a.same_type(b),
                _ => false,
            }
        };
        // Most unions are two or three branches: compare them pairwise, allocating nothing.
        if branches.len() <= 16 {
            return (0..branches.len()).find(|&i| branches[..i].iter().any(|&earlier| same(earlier, branches[i])));
        }
        let keys = branches.iter().map(|&id| {
            let kind = &self.nodes[id].kind;
            match kind.name() {
                Some(name) => name.full(),
                // Type names are upper case and full names are not: the two never collide.
                None => kind.type_name().to_string(),
            }
        });
        let mut seen = HashSet::with_capacity_and_hasher(branches.len(), Default::default());
        keys.enumerate()
            .find(|(_, key)| !seen.insert(key.clone()))
            .map(|(i, _)| i)
    }

    /// Refuses a record that can hold no finite value: one that must contain itself, directly
    /// or through other records, with no null, array, map or other union branch on the way
    /// to end the chain (`{"type":"record","name":"A","fields":[{"name":"a","type":"A"}]}`).
    /// No event can be written with such a schema, and a decoder following it would recurse
    /// without reading a byte; Java accepts it, Herald says why not at registration.
    ///
    /// A least fixed point over the type graph, computed with a work list so that it is
    /// linear in the number of nodes and edges: a type is finite when it needs nothing
    /// (primitives, enums, fixed, arrays, maps, empty unions), a union when one branch is,
    /// a record when every field is.
    fn check_finite(&self, documents: &[String]) -> Result<(), SchemaError> {
        let count = self.nodes.len();
        let mut waiting_for: Vec<usize> = vec![0; count];
        let mut dependents: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        for (id, node) in self.nodes.iter().enumerate() {
            match &node.kind {
                Kind::Record(record) => {
                    waiting_for[id] = record.fields.len();
                    for field in &record.fields {
                        dependents[field.schema].push(id);
                    }
                }
                Kind::Union { branches } if !branches.is_empty() => {
                    waiting_for[id] = 1;
                    for &branch in branches {
                        dependents[branch].push(id);
                    }
                }
                _ => {}
            }
        }
        let mut finite = vec![false; count];
        let mut ready: Vec<NodeId> = (0..count).filter(|&id| waiting_for[id] == 0).collect();
        while let Some(id) = ready.pop() {
            if finite[id] {
                continue;
            }
            finite[id] = true;
            for &dependent in &dependents[id] {
                if !finite[dependent] && waiting_for[dependent] > 0 {
                    waiting_for[dependent] -= 1;
                    if matches!(self.nodes[dependent].kind, Kind::Union { .. }) {
                        waiting_for[dependent] = 0;
                    }
                    if waiting_for[dependent] == 0 {
                        ready.push(dependent);
                    }
                }
            }
        }
        let Some(id) = (0..count).find(|&id| !finite[id] && matches!(self.nodes[id].kind, Kind::Record(_))) else {
            return Ok(());
        };
        let Kind::Record(record) = &self.nodes[id].kind else {
            return Ok(());
        };
        let (index, field) = record
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| !finite[f.schema])
            .expect("a record that is not finite has a field that is not");
        let name = record.name.full();
        let at = pointer::push(
            &pointer::push_index(&pointer::push(&pointer_of(&self.nodes, id), "fields"), index),
            "type",
        );
        let error = SchemaError::at(
            at,
            format!(
                "record {name} can never hold a value: its field \"{}\" must hold a record that \
                 contains itself again and again, with no null, array, map or other union branch \
                 to end the recursion (make the recursion optional, e.g. [\"null\", \"{}\"] with \
                 default null)",
                field.name, record.name.name
            ),
        );
        match self.nodes[id].document {
            0 => Err(error),
            document => Err(error.in_document(&documents[document - 1])),
        }
    }

    /// Reads `name`/`namespace` of a named type and reserves its node, so that the type can
    /// refer to itself while its body is parsed.
    fn declare(
        &mut self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
        props: Vec<(String, Value)>,
    ) -> Result<(NodeId, Name, Vec<String>, Option<String>), SchemaError> {
        let name_at = at.key("name");
        let raw = match object.get("name") {
            Some(Json::String(n)) => n.as_ref(),
            Some(other) => {
                return Err(SchemaError::at(
                    name_at,
                    format!("\"name\" must be a string, found {}", json_kind(other)),
                ))
            }
            None => return Err(SchemaError::at(at, "a named type needs a \"name\"")),
        };
        let explicit_ns = match object.get("namespace") {
            None | Some(Json::Null) => None,
            Some(Json::String(ns)) => Some(ns.as_ref()),
            Some(other) => {
                return Err(SchemaError::at(
                    at.key("namespace").to_pointer(),
                    format!("\"namespace\" must be a string, found {}", json_kind(other)),
                ))
            }
        };
        let name = match raw.rsplit_once('.') {
            Some((ns, short)) => Name {
                name: short.to_string(),
                namespace: Some(ns.to_string()),
            },
            None => {
                let ns = match explicit_ns {
                    Some(ns) => Some(ns),
                    None => namespace,
                };
                Name {
                    name: raw.to_string(),
                    namespace: ns.filter(|ns| !ns.is_empty()).map(str::to_string),
                }
            }
        };
        check_identifier(&name.name, &name_at, "name")?;
        if let Some(ns) = &name.namespace {
            for part in ns.split('.') {
                check_identifier(part, &name_at, "namespace part")?;
            }
        }
        if Kind::primitive(&name.name).is_some() && name.namespace.is_none() {
            return Err(SchemaError::at(
                name_at,
                format!("\"{}\" is a primitive type and cannot name a type", name.name),
            ));
        }
        let full = name.full();
        if self.names.contains_key(&full) {
            return Err(SchemaError::at(
                name_at,
                format!("the type {full} is defined more than once"),
            ));
        }
        let aliases = self.aliases(object, at, name.namespace.as_deref())?;
        let doc = optional_string(object, "doc", at)?;
        // Placeholder; the caller fills in the real kind once the body is parsed.
        let id = self.push(Kind::Null, props);
        self.names.insert(full, id);
        Ok((id, name, aliases, doc))
    }

    fn aliases(
        &self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
    ) -> Result<Vec<String>, SchemaError> {
        let names = string_list(object, "aliases", at)?;
        Ok(names
            .into_iter()
            .map(|alias| match namespace {
                Some(ns) if !alias.contains('.') => format!("{ns}.{alias}"),
                _ => alias,
            })
            .collect())
    }

    fn parse_record(
        &mut self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
        is_error: bool,
        props: Vec<(String, Value)>,
    ) -> Result<NodeId, SchemaError> {
        let (id, name, aliases, doc) = self.declare(object, at, namespace, props)?;
        let record_namespace = name.namespace.clone();
        let full_name = name.full();
        // The record is visible (as a record) while its fields are parsed, so that a field
        // can refer to it recursively, even inside a union.
        self.nodes[id].kind = Kind::Record(Box::new(Record {
            name,
            aliases,
            doc,
            fields: Vec::new(),
            is_error,
        }));
        let fields_at = at.key("fields");
        let raw_fields = match object.get("fields") {
            Some(Json::Array(fields)) => fields,
            Some(other) => {
                return Err(SchemaError::at(
                    fields_at,
                    format!("\"fields\" must be an array, found {}", json_kind(other)),
                ))
            }
            None => return Err(SchemaError::at(at, "a record needs \"fields\"")),
        };
        let mut fields: Vec<Field> = Vec::with_capacity(raw_fields.len());
        self.open_records.push(id);
        for (index, raw) in raw_fields.iter().enumerate() {
            let field_at = fields_at.index(index);
            let created_from = self.nodes.len();
            let field = self.parse_field(raw, &field_at, record_namespace.as_deref())?;
            self.adopt(field.schema, created_from, Origin::FieldType(id, index as u32));
            fields.push(field);
        }
        self.open_records.pop();
        if let Some(index) = first_duplicate(fields.iter().map(|f| f.name.as_str())) {
            return Err(SchemaError::at(
                fields_at.index(index).key("name").to_pointer(),
                format!("duplicate field \"{}\" in record {full_name}", fields[index].name),
            ));
        }
        if let Kind::Record(record) = &mut self.nodes[id].kind {
            record.fields = fields;
        }
        Ok(id)
    }

    fn parse_field(&mut self, raw: &Json<'_>, at: &Path<'_>, namespace: Option<&str>) -> Result<Field, SchemaError> {
        let object = raw
            .as_object()
            .map(Members)
            .ok_or_else(|| SchemaError::at(at, format!("a field must be an object, found {}", json_kind(raw))))?;
        let name = match object.get("name") {
            Some(Json::String(n)) => n.to_string(),
            Some(other) => {
                return Err(SchemaError::at(
                    at.key("name").to_pointer(),
                    format!("\"name\" must be a string, found {}", json_kind(other)),
                ))
            }
            None => return Err(SchemaError::at(at, "a field needs a \"name\"")),
        };
        check_identifier(&name, &at.key("name"), "field name")?;
        let type_value = object
            .get("type")
            .ok_or_else(|| SchemaError::at(at, format!("field \"{name}\" has no \"type\"")))?;
        let schema = self.parse_type(type_value, &at.key("type"), namespace)?;
        let order = match object.get("order") {
            None => FieldOrder::Ascending,
            Some(Json::String(o)) if o == "ascending" => FieldOrder::Ascending,
            Some(Json::String(o)) if o == "descending" => FieldOrder::Descending,
            Some(Json::String(o)) if o == "ignore" => FieldOrder::Ignore,
            Some(other) => {
                return Err(SchemaError::at(
                    at.key("order").to_pointer(),
                    format!("\"order\" must be \"ascending\", \"descending\" or \"ignore\", found {other}"),
                ))
            }
        };
        Ok(Field {
            name,
            schema,
            default: object.get("default").map(Json::to_value),
            doc: optional_string(object, "doc", at)?,
            order,
            aliases: string_list(object, "aliases", at)?,
            props: custom_props(object, RESERVED_FIELD_KEYS),
        })
    }

    fn parse_enum(
        &mut self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
        props: Vec<(String, Value)>,
    ) -> Result<NodeId, SchemaError> {
        let (id, name, aliases, doc) = self.declare(object, at, namespace, props)?;
        let symbols_at = at.key("symbols");
        let symbols = match object.get("symbols") {
            Some(Json::Array(_)) => string_list(object, "symbols", at)?,
            Some(other) => {
                return Err(SchemaError::at(
                    symbols_at,
                    format!("\"symbols\" must be an array of strings, found {}", json_kind(other)),
                ))
            }
            None => return Err(SchemaError::at(at, "an enum needs \"symbols\"")),
        };
        for (index, symbol) in symbols.iter().enumerate() {
            check_identifier(symbol, &symbols_at.index(index), "enum symbol")?;
        }
        if let Some(index) = first_duplicate(symbols.iter().map(String::as_str)) {
            return Err(SchemaError::at(
                symbols_at.index(index),
                format!("duplicate enum symbol \"{}\"", symbols[index]),
            ));
        }
        let default = optional_string(object, "default", at)?;
        if let Some(default) = &default {
            if !symbols.contains(default) {
                return Err(SchemaError::at(
                    at.key("default").to_pointer(),
                    format!("the enum default \"{default}\" is not one of the symbols"),
                ));
            }
        }
        self.nodes[id].kind = Kind::Enum(Box::new(Enum {
            name,
            aliases,
            doc,
            symbols,
            default,
            index: std::sync::OnceLock::new(),
        }));
        Ok(id)
    }

    fn parse_fixed(
        &mut self,
        object: Members<'_, '_>,
        at: &Path<'_>,
        namespace: Option<&str>,
        props: Vec<(String, Value)>,
    ) -> Result<NodeId, SchemaError> {
        let (id, name, aliases, doc) = self.declare(object, at, namespace, props)?;
        let size = match object.get("size") {
            Some(v) => v.as_u64().filter(|s| *s <= i32::MAX as u64).ok_or_else(|| {
                SchemaError::at(
                    at.key("size").to_pointer(),
                    format!("\"size\" must be a non-negative integer, found {v}"),
                )
            })?,
            None => return Err(SchemaError::at(at, "a fixed type needs a \"size\"")),
        };
        self.nodes[id].kind = Kind::Fixed(Box::new(Fixed {
            name,
            aliases,
            doc,
            size,
        }));
        Ok(id)
    }
}

/// Every field default of the main document that does not fit its field's type, as (pointer
/// of the default, message). Run once every type is complete, so that a default can use a
/// type defined later in the same record (recursion through a union, say).
pub(super) fn default_mismatches(nodes: &[Node]) -> impl Iterator<Item = (String, String)> + '_ {
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.document == 0)
        .filter_map(|(id, node)| match &node.kind {
            Kind::Record(record) => Some((id, record)),
            _ => None,
        })
        .flat_map(move |(id, record)| {
            record.fields.iter().enumerate().filter_map(move |(index, field)| {
                let default = field.default.as_ref()?;
                let problem = defaults::check(nodes, field.schema, default).err()?;
                let field_pointer = pointer::push_index(&pointer::push(&pointer_of(nodes, id), "fields"), index);
                Some((
                    pointer::push(&field_pointer, "default"),
                    format!(
                        "the default of field \"{}\" does not match its type: {problem}",
                        field.name
                    ),
                ))
            })
        })
}

fn custom_props(object: Members<'_, '_>, reserved: &[&str]) -> Vec<(String, Value)> {
    object
        .0
        .iter()
        .filter(|(k, _)| !reserved.contains(&k.as_ref()))
        .map(|(k, v)| (k.to_string(), v.to_value()))
        .collect()
}

/// The position of the first name that repeats an earlier one. Small lists are compared
/// pairwise; long ones (records with thousands of fields) through a hash set.
fn first_duplicate<'n>(names: impl ExactSizeIterator<Item = &'n str> + Clone) -> Option<usize> {
    if names.len() <= 16 {
        let all: Vec<&str> = names.collect();
        return (0..all.len()).find(|&i| all[..i].contains(&all[i]));
    }
    let mut seen = HashSet::with_capacity_and_hasher(names.len(), Default::default());
    names.enumerate().find(|(_, name)| !seen.insert(*name)).map(|(i, _)| i)
}

/// The members of a JSON object, looked up by key.
#[derive(Clone, Copy)]
struct Members<'t, 'a>(&'t [(std::borrow::Cow<'a, str>, Json<'a>)]);

impl<'t, 'a> Members<'t, 'a> {
    fn get(&self, key: &str) -> Option<&'t Json<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn optional_string(object: Members<'_, '_>, key: &str, at: &Path<'_>) -> Result<Option<String>, SchemaError> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(SchemaError::at(
            at.key(key).to_pointer(),
            format!("\"{key}\" must be a string, found {}", json_kind(other)),
        )),
    }
}

fn string_list(object: Members<'_, '_>, key: &str, at: &Path<'_>) -> Result<Vec<String>, SchemaError> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    SchemaError::at(
                        at.key(key).index(i).to_pointer(),
                        format!("\"{key}\" must hold strings, found {}", json_kind(item)),
                    )
                })
            })
            .collect(),
        Some(other) => Err(SchemaError::at(
            at.key(key).to_pointer(),
            format!("\"{key}\" must be an array of strings, found {}", json_kind(other)),
        )),
    }
}

/// Avro names: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_identifier(name: &str, at: &Path<'_>, what: &str) -> Result<(), SchemaError> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(SchemaError::at(
            at,
            format!(
                "invalid {what} \"{name}\": it must start with a letter or _ and contain only letters, digits and _"
            ),
        ))
    }
}

pub(crate) fn json_kind(value: &Json<'_>) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
