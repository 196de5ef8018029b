//! Avro schemas: a parsed model that the compatibility checker, the canonical printer and the
//! documentation can all walk.
//!
//! Types live in an arena ([`AvroSchema::node`]) addressed by [`NodeId`]. A named type
//! (record, enum, fixed) has exactly one node, wherever it is used: a field whose type is the
//! name `"Address"` points at the node where `Address` was defined. That single fact makes
//! recursive types finite, lets the checker memoise on `(reader, writer)` pairs, and gives
//! every node the JSON pointer of its definition, which reports use to show *where* a break is.
//!
//! The model is our own rather than `apache_avro::Schema`: Confluent stores and compares
//! schemas the way Java's `org.apache.avro` reads them (logical types are annotations on the
//! underlying type, custom properties survive, references resolve by short name), and the
//! crate's stricter parser and logical-type variants would reject or rewrite schemas that
//! Confluent-compatible clients register.

mod canonical;
mod defaults;
mod normalize;
mod parse;

use rustc_hash::FxHashMap as HashMap;

use serde_json::Value;

use crate::schema::pointer;

pub use parse::{parse, parse_with};

/// Index of a type in an [`AvroSchema`]'s arena.
pub type NodeId = usize;

/// A parsed, validated Avro schema together with the named types of its references.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    nodes: Vec<Node>,
    root: NodeId,
    /// Full name → node, for every named type of this schema and of its references.
    names: HashMap<String, NodeId>,
    /// Named types defined by the referenced schemas: the canonical text refers to them by
    /// name instead of inlining them, as Confluent does.
    referenced_names: Vec<String>,
    /// Names of the referenced documents, indexed by [`Node::document`] - 1.
    documents: Vec<String>,
    canonical: String,
}

/// One type occurrence (or, for named types, the one definition).
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// How this type hangs off its parent; [`AvroSchema::pointer`] turns it into a JSON
    /// pointer when a report needs one, so parsing stores no pointer text at all.
    pub(crate) origin: Origin,
    /// 0 for the main schema, `n` for the n-th referenced schema.
    pub document: usize,
    /// Properties other than the reserved Avro keys, in the order written (`logicalType`,
    /// `precision`, `connect.name`, …). Kept for the canonical text and the docs.
    pub props: Vec<(String, Value)>,
}

/// Where a node is written, relative to its parent node. Named types have one node, at their
/// definition; a reference by name elsewhere does not move it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// The document's top-level type.
    Root,
    /// `<array>/items`.
    Items(NodeId),
    /// `<map>/values`.
    Values(NodeId),
    /// `<union>/<index>`.
    Branch(NodeId, u32),
    /// `<record>/fields/<index>/type`.
    FieldType(NodeId, u32),
}

/// The JSON pointer of node `id` within its document, built by walking up the origins.
pub(crate) fn pointer_of(nodes: &[Node], mut id: NodeId) -> String {
    let mut steps = Vec::new();
    loop {
        match nodes[id].origin {
            Origin::Root => break,
            Origin::Items(parent)
            | Origin::Values(parent)
            | Origin::Branch(parent, _)
            | Origin::FieldType(parent, _) => {
                steps.push(nodes[id].origin);
                id = parent;
            }
        }
    }
    let mut out = String::new();
    for step in steps.iter().rev() {
        match *step {
            Origin::Items(_) => out.push_str("/items"),
            Origin::Values(_) => out.push_str("/values"),
            Origin::Branch(_, index) => out = pointer::push_index(&out, index as usize),
            Origin::FieldType(_, index) => {
                out = pointer::push_index(&pointer::push(&out, "fields"), index as usize);
                out.push_str("/type");
            }
            Origin::Root => {}
        }
    }
    out
}

#[derive(Debug, Clone)]
pub enum Kind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array { items: NodeId },
    Map { values: NodeId },
    Union { branches: Vec<NodeId> },
    Record(Box<Record>),
    Enum(Box<Enum>),
    Fixed(Box<Fixed>),
}

/// A fully qualified Avro name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The unqualified name (`Payment`).
    pub name: String,
    /// The namespace, `None` for the null namespace.
    pub namespace: Option<String>,
}

impl Name {
    /// Whether `full_name` is this name, fully qualified, without building the full name.
    pub fn is(&self, full_name: &str) -> bool {
        match &self.namespace {
            None => full_name == self.name,
            Some(ns) => {
                full_name.len() == ns.len() + 1 + self.name.len()
                    && full_name.starts_with(ns.as_str())
                    && full_name.as_bytes()[ns.len()] == b'.'
                    && full_name.ends_with(self.name.as_str())
            }
        }
    }

    pub fn full(&self) -> String {
        match &self.namespace {
            Some(ns) => {
                let mut full = String::with_capacity(ns.len() + 1 + self.name.len());
                full.push_str(ns);
                full.push('.');
                full.push_str(&self.name);
                full
            }
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub name: Name,
    /// Aliases, fully qualified.
    pub aliases: Vec<String>,
    pub doc: Option<String>,
    pub fields: Vec<Field>,
    /// `"error"` rather than `"record"` (Avro protocols); printed back as written.
    pub is_error: bool,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub schema: NodeId,
    pub default: Option<Value>,
    pub doc: Option<String>,
    pub order: FieldOrder,
    pub aliases: Vec<String>,
    pub props: Vec<(String, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrder {
    Ascending,
    Descending,
    Ignore,
}

#[derive(Debug, Clone)]
pub struct Enum {
    pub name: Name,
    pub aliases: Vec<String>,
    pub doc: Option<String>,
    pub symbols: Vec<String>,
    pub default: Option<String>,
    /// Symbol → position, built on first need for large enums (see [`Enum::position`]).
    pub(crate) index: std::sync::OnceLock<HashMap<String, usize>>,
}

impl Enum {
    /// Enums of at most this many symbols are scanned; larger ones are looked up by hash, so
    /// that comparing or encoding with a 100,000-symbol enum stays linear.
    const SCAN_LIMIT: usize = 16;

    /// The position of `symbol` among the symbols.
    pub fn position(&self, symbol: &str) -> Option<usize> {
        if self.symbols.len() <= Self::SCAN_LIMIT {
            return self.symbols.iter().position(|s| s == symbol);
        }
        let index = self.index.get_or_init(|| {
            self.symbols
                .iter()
                .enumerate()
                .map(|(position, s)| (s.clone(), position))
                .collect()
        });
        index.get(symbol).copied()
    }

    pub fn has_symbol(&self, symbol: &str) -> bool {
        self.position(symbol).is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Fixed {
    pub name: Name,
    pub aliases: Vec<String>,
    pub doc: Option<String>,
    pub size: u64,
}

impl Kind {
    /// Java's `Schema.Type` name in upper case, as compatibility messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "NULL",
            Kind::Boolean => "BOOLEAN",
            Kind::Int => "INT",
            Kind::Long => "LONG",
            Kind::Float => "FLOAT",
            Kind::Double => "DOUBLE",
            Kind::Bytes => "BYTES",
            Kind::String => "STRING",
            Kind::Array { .. } => "ARRAY",
            Kind::Map { .. } => "MAP",
            Kind::Union { .. } => "UNION",
            Kind::Record(_) => "RECORD",
            Kind::Enum(_) => "ENUM",
            Kind::Fixed(_) => "FIXED",
        }
    }

    /// The name of a named type.
    pub fn name(&self) -> Option<&Name> {
        match self {
            Kind::Record(r) => Some(&r.name),
            Kind::Enum(e) => Some(&e.name),
            Kind::Fixed(f) => Some(&f.name),
            _ => None,
        }
    }

    /// The (fully qualified) aliases of a named type.
    pub fn aliases(&self) -> &[String] {
        match self {
            Kind::Record(r) => &r.aliases,
            Kind::Enum(e) => &e.aliases,
            Kind::Fixed(f) => &f.aliases,
            _ => &[],
        }
    }

    /// Discriminant equality: same Avro type, ignoring contents.
    pub fn same_type(&self, other: &Kind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    pub(crate) fn primitive(name: &str) -> Option<Kind> {
        Some(match name {
            "null" => Kind::Null,
            "boolean" => Kind::Boolean,
            "int" => Kind::Int,
            "long" => Kind::Long,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "bytes" => Kind::Bytes,
            "string" => Kind::String,
            _ => return None,
        })
    }

    pub(crate) fn primitive_name(&self) -> Option<&'static str> {
        Some(match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Bytes => "bytes",
            Kind::String => "string",
            _ => return None,
        })
    }
}

impl AvroSchema {
    pub fn root(&self) -> NodeId {
        self.root
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn kind(&self, id: NodeId) -> &Kind {
        &self.nodes[id].kind
    }

    /// The text Confluent stores for this schema: Java's `Schema.toString()` form.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Looks a named type up by its full name.
    pub fn named(&self, full_name: &str) -> Option<NodeId> {
        self.names.get(full_name).copied()
    }

    /// The `logicalType` property of a node, if any.
    pub fn logical_type(&self, id: NodeId) -> Option<&str> {
        self.nodes[id]
            .props
            .iter()
            .find(|(k, _)| k == "logicalType")
            .and_then(|(_, v)| v.as_str())
    }

    /// The JSON pointer of a node within its own document.
    /// The field defaults of this schema (not of its references) that do not fit their
    /// field's type, as (JSON pointer of the default, message): what a schema parsed without
    /// checking defaults may hold, and what `herald check` reports as a lint.
    pub fn default_mismatches(&self) -> Vec<(String, String)> {
        parse::default_mismatches(&self.nodes).collect()
    }

    pub fn pointer(&self, id: NodeId) -> String {
        pointer_of(&self.nodes, id)
    }

    /// Where a node is written, as reports show it: a JSON pointer, prefixed with the
    /// referenced document's name when the node comes from a reference.
    pub fn location(&self, id: NodeId) -> String {
        self.location_of(self.nodes[id].document, &self.pointer(id))
    }

    /// Where field `index` of record `record` is written (`…/fields/3`), as reports show it.
    pub fn field_location(&self, record: NodeId, index: usize) -> String {
        let field = pointer::push_index(&pointer::push(&self.pointer(record), "fields"), index);
        self.location_of(self.nodes[record].document, &field)
    }

    pub(crate) fn location_of(&self, document: usize, pointer: &str) -> String {
        if document == 0 {
            pointer.to_string()
        } else {
            format!("{}#{}", self.documents[document - 1], pointer)
        }
    }
}
