//! JSON Schema documents: a parsed model shaped for comparison.
//!
//! The model follows the object model Confluent's JSON Schema provider compares on (everit's):
//! a schema object that mixes keyword groups is split into a synthetic `allOf` of one schema
//! per group, `"type": [..]` becomes an `anyOf` of single-type schemas, `true`/`{}` accept
//! anything and `false` nothing, and `$ref` is a node pointing at its resolved target. With
//! the model shaped like theirs, the compatibility rules can be written as Confluent states
//! them and give the same verdicts.
//!
//! Like the Avro model, nodes live in an arena and carry the JSON pointer of the schema
//! object they come from, so every reported difference can say where it is.

mod load;
mod meta;

use serde_json::Value;

use crate::schema::pointer::Span;

pub use load::parse;

/// Index of a node in a [`JsonSchema`]'s arena.
pub type JsonNodeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

impl Draft {
    pub fn name(self) -> &'static str {
        match self {
            Draft::Draft4 => "draft-04",
            Draft::Draft6 => "draft-06",
            Draft::Draft7 => "draft-07",
            Draft::Draft201909 => "2019-09",
            Draft::Draft202012 => "2020-12",
        }
    }
}

/// A parsed, validated JSON Schema with its referenced documents.
#[derive(Debug, Clone)]
pub struct JsonSchema {
    nodes: Vec<JsonNode>,
    root: JsonNodeId,
    draft: Draft,
    /// Names of the documents nodes come from: empty for the main one, then the references'.
    document_names: Vec<String>,
    /// All nodes' JSON pointers, one after the other.
    pointers: String,
    canonical: String,
    /// The longest chain of schemas a validator may nest through (subschemas and `$ref`s,
    /// each recursion cut once), and whether the schema recurses at all: together they
    /// bound how deep validating an instance can go (see `validate::JsonValidator`).
    nesting: Nesting,
}

/// How deep validation against a schema can nest, as measured at parse time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nesting {
    /// Schemas on the longest chain of subschemas and `$ref`s, recursion cut once.
    pub depth: usize,
    /// Schemas on the longest chain that stays on one value (`allOf`, `anyOf`, `not`, `if`,
    /// `$ref`, …): at most `MAX_SCHEMA_DEPTH`.
    pub in_place: usize,
    /// Whether some `$ref` leads back to a schema it is under: then each level of the
    /// instance may go through the whole chain again.
    pub recursive: bool,
}

#[derive(Debug, Clone)]
pub struct JsonNode {
    pub kind: JsonKind,
    /// Where the schema object this node was read from is: [`JsonSchema::pointer`].
    pub pointer: Span,
    /// Index into the documents; 0 is the main schema.
    pub document: usize,
    pub annotations: Option<Box<Annotations>>,
    /// The compact JSON of a combinator member (`anyOf`/`oneOf`/`allOf` entry), which the
    /// comparison uses to collapse duplicate members. `None` for every other node.
    pub source: Option<Box<str>>,
}

/// Keywords that describe but do not constrain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub deprecated: bool,
}

#[derive(Debug, Clone)]
pub enum JsonKind {
    /// `true` or `{}`: every instance is valid.
    Any,
    /// `false`: no instance is valid.
    Nothing,
    Null,
    Boolean,
    String(Box<StringRules>),
    Number(Box<NumberRules>),
    Object(Box<ObjectRules>),
    Array(Box<ArrayRules>),
    Enum(Vec<Value>),
    Const(Value),
    Combined {
        criterion: Criterion,
        subschemas: Vec<JsonNodeId>,
    },
    Not(JsonNodeId),
    Ref(JsonNodeId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    AllOf,
    AnyOf,
    OneOf,
}

impl Criterion {
    pub fn keyword(self) -> &'static str {
        match self {
            Criterion::AllOf => "allOf",
            Criterion::AnyOf => "anyOf",
            Criterion::OneOf => "oneOf",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct StringRules {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NumberRules {
    pub integer: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Option<f64>,
}

/// What an object or array says about members it does not list: the content model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Additional {
    /// Keyword absent or `true`.
    Allowed,
    /// `false`.
    Forbidden,
    /// A schema unknown members must match.
    Schema(JsonNodeId),
}

#[derive(Debug, Clone)]
pub struct ObjectRules {
    pub properties: Vec<(String, JsonNodeId)>,
    pub required: Vec<String>,
    pub additional: Additional,
    pub pattern_properties: Vec<PatternProperty>,
    pub unevaluated: Additional,
    pub dependent_required: Vec<(String, Vec<String>)>,
    pub dependent_schemas: Vec<(String, JsonNodeId)>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct PatternProperty {
    pub pattern: String,
    pub regex: fancy_regex::Regex,
    pub schema: JsonNodeId,
}

#[derive(Debug, Clone)]
pub struct ArrayRules {
    /// `items` as one schema for every element.
    pub items: Option<JsonNodeId>,
    /// Positional schemas (`items` as an array before 2020-12, `prefixItems` since).
    pub tuple: Option<Vec<JsonNodeId>>,
    /// Elements past the tuple (`additionalItems`, or `items` next to `prefixItems`).
    pub additional: Additional,
    pub unevaluated: Additional,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub min_contains: Option<u64>,
    pub max_contains: Option<u64>,
}

impl ObjectRules {
    /// Open: any property not listed may hold anything.
    pub fn is_open(&self) -> bool {
        self.additional == Additional::Allowed
            && self.pattern_properties.is_empty()
            && self.unevaluated == Additional::Allowed
    }

    /// The schema an unlisted property called `name` must match in a partially open model.
    pub fn covering_schema(&self, name: &str) -> Option<JsonNodeId> {
        for pattern in &self.pattern_properties {
            if pattern.regex.is_match(name).unwrap_or(false) {
                return Some(pattern.schema);
            }
        }
        match (self.additional, self.unevaluated) {
            (Additional::Schema(id), _) => Some(id),
            (Additional::Allowed, Additional::Schema(id)) => Some(id),
            _ => None,
        }
    }
}

impl ArrayRules {
    pub fn is_open(&self) -> bool {
        self.additional == Additional::Allowed && self.unevaluated == Additional::Allowed
    }

    pub fn covering_schema(&self) -> Option<JsonNodeId> {
        match (self.additional, self.unevaluated) {
            (Additional::Schema(id), _) => Some(id),
            (Additional::Allowed, Additional::Schema(id)) => Some(id),
            _ => None,
        }
    }
}

impl JsonSchema {
    pub fn root(&self) -> JsonNodeId {
        self.root
    }

    pub fn node(&self, id: JsonNodeId) -> &JsonNode {
        &self.nodes[id]
    }

    /// How deep validating an instance against this schema can nest.
    pub fn nesting(&self) -> Nesting {
        self.nesting
    }

    pub fn draft(&self) -> Draft {
        self.draft
    }

    /// The stored text: the document re-serialised compactly, keys in the order written.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Follows `$ref` nodes to the schema they stand for. Pure `$ref` cycles are rejected
    /// when parsing, so this ends.
    pub fn resolve(&self, mut id: JsonNodeId) -> JsonNodeId {
        while let JsonKind::Ref(target) = self.nodes[id].kind {
            id = target;
        }
        id
    }

    /// The compact JSON of a combinator member, if `id` is one.
    pub fn source(&self, id: JsonNodeId) -> Option<&str> {
        self.nodes[id].source.as_deref()
    }

    /// The JSON pointer of a node within its own document.
    pub fn pointer(&self, id: JsonNodeId) -> &str {
        self.nodes[id].pointer.get(&self.pointers)
    }

    /// Where a node is written, prefixed with the referenced document's name if needed.
    pub fn location(&self, id: JsonNodeId) -> String {
        let node = &self.nodes[id];
        if node.document == 0 {
            self.pointer(id).to_string()
        } else {
            format!("{}#{}", self.document_names[node.document], self.pointer(id))
        }
    }

    pub fn annotations(&self, id: JsonNodeId) -> Option<&Annotations> {
        self.nodes[id].annotations.as_deref()
    }
}
