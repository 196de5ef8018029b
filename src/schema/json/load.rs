//! JSON Schema text → [`JsonSchema`].
//!
//! The text is read once into a borrowed tree (`schema::tree::Json`). Then two passes: the
//! `jsonschema` crate checks the tree against its draft's meta-schema (so keyword shapes are
//! right and errors name the keyword), and the tree is read into the comparison model,
//! resolving every `$ref` against the document itself and the referenced documents.

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;

use crate::schema::tree::Json;

use super::{
    meta, Additional, Annotations, ArrayRules, Criterion, Draft, JsonKind, JsonNode, JsonNodeId, JsonSchema,
    NumberRules, ObjectRules, PatternProperty, StringRules,
};
use crate::schema::pointer::{self, Path, Span};
use crate::schema::{Reference, SchemaError};

const STRING_KEYWORDS: &[&str] = &["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "unevaluatedProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "minProperties",
    "maxProperties",
    "propertyNames",
];
const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "prefixItems",
    "additionalItems",
    "unevaluatedItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
];

/// A document being loaded: its reference name (empty for the main one) and its tree.
struct Document<'t> {
    name: &'t str,
    value: Json<'t>,
}

/// Parses `text`; `references` are the documents its `$ref`s may name, each by its
/// reference name or by its `$id`.
pub fn parse(text: &str, references: &[Reference<'_>]) -> Result<JsonSchema, SchemaError> {
    let value = Json::parse(text).map_err(|e| SchemaError::from_json(&e))?;
    let draft = detect_draft(&value)?;
    meta::validate(&value, draft)?;
    let mut documents = vec![Document { name: "", value }];
    for reference in references {
        let in_reference = |e: SchemaError| e.in_document(reference.name);
        let value = Json::parse(reference.schema).map_err(|e| in_reference(SchemaError::from_json(&e)))?;
        let ref_draft = detect_draft(&value).map_err(in_reference)?;
        meta::validate(&value, ref_draft).map_err(in_reference)?;
        documents.push(Document {
            name: reference.name,
            value,
        });
    }

    let mut loader = Loader {
        documents: &documents,
        draft,
        nodes: Vec::new(),
        targets: HashMap::default(),
        pointers: String::with_capacity(text.len()),
        places: Vec::new(),
        place_index: HashMap::default(),
    };
    let root = loader.load(0, &Path::root(), &documents[0].value)?;
    reject_ref_cycles(&loader.nodes, &loader.pointers)?;
    let scans: Vec<Scan> = documents.iter().map(|d| scan(&d.value)).collect();
    let nesting = if scans.iter().any(|s| s.has_references) {
        loader.index_places();
        loader.reject_in_place_cycles()?;
        loader.measure_nesting()?
    } else {
        // Without references the document is a tree: no cycles, and no chain longer than
        // its nesting (which the JSON reader bounds). Most schemas take this way, for free.
        let depth = scans.iter().map(|s| s.depth).max().unwrap_or(0);
        super::Nesting {
            depth,
            in_place: depth,
            recursive: false,
        }
    };
    let (nodes, pointers) = (loader.nodes, loader.pointers);
    let mut canonical = String::with_capacity(text.len());
    documents[0].value.write_compact(&mut canonical);
    let document_names = documents.iter().map(|d| d.name.to_string()).collect();
    Ok(JsonSchema {
        nodes,
        root,
        draft,
        document_names,
        pointers,
        canonical,
        nesting,
    })
}

/// Schemas whose chains of in-place subschemas (`allOf`, `anyOf`, `not`, `if`, … and
/// `$ref`s) are longer than this are refused: validators recurse once per level for every
/// value, and a chain of thousands overflowed the stack of the thread validating a record,
/// taking the process down. Hand-written schemas chain a few levels at most.
pub const MAX_SCHEMA_DEPTH: usize = 200;

fn detect_draft(value: &Json<'_>) -> Result<Draft, SchemaError> {
    let Some(uri) = value.get("$schema") else {
        return Ok(Draft::Draft7);
    };
    let Some(uri) = uri.as_str() else {
        return Err(SchemaError::at("/$schema", "\"$schema\" must be a string"));
    };
    let draft = if uri.contains("draft-04") {
        Draft::Draft4
    } else if uri.contains("draft-06") {
        Draft::Draft6
    } else if uri.contains("draft-07") {
        Draft::Draft7
    } else if uri.contains("2019-09") {
        Draft::Draft201909
    } else if uri.contains("2020-12") {
        Draft::Draft202012
    } else {
        return Err(SchemaError::at(
            "/$schema",
            format!("unsupported $schema \"{uri}\": use draft-04, draft-06, draft-07, 2019-09 or 2020-12"),
        ));
    };
    Ok(draft)
}

struct Loader<'d> {
    documents: &'d [Document<'d>],
    draft: Draft,
    nodes: Vec<JsonNode>,
    /// `$ref` targets already loaded, by (document, pointer): what makes recursion finite.
    targets: HashMap<(usize, String), JsonNodeId>,
    /// Every node's pointer, one after the other (see `Span`).
    pointers: String,
    /// Every schema object of every document, outer ones first (see `schema_places`), and
    /// the same by place: the cycle and depth checks look places up by pointer many times.
    places: Vec<(Place, &'d Json<'d>)>,
    place_index: HashMap<Place, &'d Json<'d>>,
}

impl<'d> Loader<'d> {
    fn push(&mut self, kind: JsonKind, document: usize, at: &Path<'_>) -> JsonNodeId {
        let pointer = Span::record(&mut self.pointers, at);
        self.nodes.push(JsonNode {
            kind,
            pointer,
            document,
            annotations: None,
            source: None,
        });
        self.nodes.len() - 1
    }

    fn load(&mut self, document: usize, at: &Path<'_>, value: &'d Json<'d>) -> Result<JsonNodeId, SchemaError> {
        match value {
            Json::Bool(true) => Ok(self.push(JsonKind::Any, document, at)),
            Json::Bool(false) => Ok(self.push(JsonKind::Nothing, document, at)),
            // `$ref` chains can lead far deeper than the JSON nests; grow the stack as needed.
            Json::Object(object) => {
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.load_object(document, at, object))
            }
            other => Err(self.error(
                document,
                at,
                format!("a schema must be an object or a boolean, found {other}"),
            )),
        }
    }

    fn error(&self, document: usize, at: impl Into<String>, message: String) -> SchemaError {
        let err = SchemaError::at(at, message);
        if document == 0 {
            err
        } else {
            err.in_document(self.documents[document].name)
        }
    }

    fn load_object(
        &mut self,
        document: usize,
        at: &Path<'_>,
        object: &'d [(Cow<'d, str>, Json<'d>)],
    ) -> Result<JsonNodeId, SchemaError> {
        let annotations = read_annotations(object);
        let mut parts: Vec<JsonNodeId> = Vec::new();

        if let Some(reference) = member(object, "$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| self.error(document, at.key("$ref"), "\"$ref\" must be a string".into()))?;
            let target = self.load_reference(document, at, reference)?;
            let ref_node = self.push(JsonKind::Ref(target), document, at);
            // Before 2019-09 a `$ref` replaces its siblings.
            if matches!(self.draft, Draft::Draft4 | Draft::Draft6 | Draft::Draft7) {
                self.nodes[ref_node].annotations = annotations;
                return Ok(ref_node);
            }
            parts.push(ref_node);
        }

        match member(object, "type") {
            Some(Json::String(t)) => {
                let part = self.load_typed(document, at, object, t)?;
                parts.push(part);
            }
            Some(Json::Array(types)) => {
                let mut branches = Vec::with_capacity(types.len());
                for t in types {
                    let t = t
                        .as_str()
                        .ok_or_else(|| self.error(document, at.key("type"), "\"type\" must hold type names".into()))?;
                    branches.push(self.load_typed(document, at, object, t)?);
                }
                let part = match branches.as_slice() {
                    [single] => *single,
                    _ => self.push(
                        JsonKind::Combined {
                            criterion: Criterion::AnyOf,
                            subschemas: branches,
                        },
                        document,
                        at,
                    ),
                };
                parts.push(part);
            }
            Some(_) => {
                return Err(self.error(document, at.key("type"), "\"type\" must be a string or an array".into()))
            }
            None => {
                for (type_name, keywords) in [
                    ("string", STRING_KEYWORDS),
                    ("number", NUMBER_KEYWORDS),
                    ("object", OBJECT_KEYWORDS),
                    ("array", ARRAY_KEYWORDS),
                ] {
                    if keywords.iter().any(|k| member(object, k).is_some()) {
                        let part = self.load_typed(document, at, object, type_name)?;
                        parts.push(part);
                    }
                }
            }
        }

        if let Some(Json::Array(values)) = member(object, "enum") {
            parts.push(self.push(
                JsonKind::Enum(values.iter().map(Json::to_value).collect()),
                document,
                at,
            ));
        }
        if let Some(value) = member(object, "const") {
            if self.draft != Draft::Draft4 {
                parts.push(self.push(JsonKind::Const(value.to_value()), document, at));
            }
        }
        if let Some(negated) = member(object, "not") {
            let inner = self.load(document, &at.key("not"), negated)?;
            parts.push(self.push(JsonKind::Not(inner), document, at));
        }
        for criterion in [Criterion::AllOf, Criterion::AnyOf, Criterion::OneOf] {
            if let Some(Json::Array(members)) = member(object, criterion.keyword()) {
                let members_at = at.key(criterion.keyword());
                let mut subschemas = Vec::with_capacity(members.len());
                for (i, member) in members.iter().enumerate() {
                    let id = self.load(document, &members_at.index(i), member)?;
                    if self.nodes[id].source.is_none() {
                        let mut text = String::new();
                        member.write_compact(&mut text);
                        self.nodes[id].source = Some(text.into_boxed_str());
                    }
                    subschemas.push(id);
                }
                parts.push(self.push(JsonKind::Combined { criterion, subschemas }, document, at));
            }
        }

        let id = match parts.as_slice() {
            [] => self.push(JsonKind::Any, document, at),
            [single] => *single,
            _ => self.push(
                JsonKind::Combined {
                    criterion: Criterion::AllOf,
                    subschemas: parts,
                },
                document,
                at,
            ),
        };
        if annotations.is_some() {
            self.nodes[id].annotations = annotations;
        }
        Ok(id)
    }

    fn load_typed(
        &mut self,
        document: usize,
        at: &Path<'_>,
        object: &'d [(Cow<'d, str>, Json<'d>)],
        type_name: &str,
    ) -> Result<JsonNodeId, SchemaError> {
        let kind = match type_name {
            "null" => JsonKind::Null,
            "boolean" => JsonKind::Boolean,
            "string" => JsonKind::String(Box::new(StringRules {
                min_length: member(object, "minLength").and_then(Json::as_u64),
                max_length: member(object, "maxLength").and_then(Json::as_u64),
                pattern: member(object, "pattern").and_then(Json::as_str).map(str::to_string),
                format: member(object, "format").and_then(Json::as_str).map(str::to_string),
            })),
            "number" | "integer" => JsonKind::Number(Box::new(self.number_rules(object, type_name == "integer"))),
            "object" => JsonKind::Object(Box::new(self.object_rules(document, at, object)?)),
            "array" => JsonKind::Array(Box::new(self.array_rules(document, at, object)?)),
            other => return Err(self.error(document, at.key("type"), format!("unknown type \"{other}\""))),
        };
        Ok(self.push(kind, document, at))
    }

    fn number_rules(&self, object: &[(Cow<'_, str>, Json<'_>)], integer: bool) -> NumberRules {
        let number = |key: &str| member(object, key).and_then(Json::as_f64);
        let mut rules = NumberRules {
            integer,
            minimum: number("minimum"),
            maximum: number("maximum"),
            exclusive_minimum: number("exclusiveMinimum"),
            exclusive_maximum: number("exclusiveMaximum"),
            multiple_of: number("multipleOf"),
        };
        // Draft 4 spells an exclusive bound as a flag on the inclusive one; read it as the
        // later drafts' number form so the two compare alike.
        if member(object, "exclusiveMinimum") == Some(&Json::Bool(true)) {
            rules.exclusive_minimum = rules.minimum.take();
        }
        if member(object, "exclusiveMaximum") == Some(&Json::Bool(true)) {
            rules.exclusive_maximum = rules.maximum.take();
        }
        rules
    }

    fn object_rules(
        &mut self,
        document: usize,
        at: &Path<'_>,
        object: &'d [(Cow<'d, str>, Json<'d>)],
    ) -> Result<ObjectRules, SchemaError> {
        let mut properties = Vec::new();
        if let Some(Json::Object(props)) = member(object, "properties") {
            let props_at = at.key("properties");
            properties.reserve(props.len());
            for (name, schema) in props {
                let id = self.load(document, &props_at.key(name), schema)?;
                properties.push((name.to_string(), id));
            }
        }
        let required = match member(object, "required") {
            Some(Json::Array(names)) => names.iter().filter_map(Json::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let additional = self.additional(document, at, object, "additionalProperties")?;
        let unevaluated = self.additional(document, at, object, "unevaluatedProperties")?;
        let mut pattern_properties = Vec::new();
        if let Some(Json::Object(patterns)) = member(object, "patternProperties") {
            let patterns_at = at.key("patternProperties");
            for (pattern, schema) in patterns {
                let pattern_at = patterns_at.key(pattern);
                let regex = fancy_regex::Regex::new(pattern)
                    .map_err(|e| self.error(document, &pattern_at, format!("invalid regular expression: {e}")))?;
                let schema = self.load(document, &pattern_at, schema)?;
                pattern_properties.push(PatternProperty {
                    pattern: pattern.to_string(),
                    regex,
                    schema,
                });
            }
        }
        let mut dependent_required = Vec::new();
        let mut dependent_schemas = Vec::new();
        for keyword in ["dependencies", "dependentRequired", "dependentSchemas"] {
            let Some(Json::Object(deps)) = member(object, keyword) else {
                continue;
            };
            let deps_at = at.key(keyword);
            for (name, dep) in deps {
                match dep {
                    Json::Array(names) => dependent_required.push((
                        name.to_string(),
                        names.iter().filter_map(Json::as_str).map(str::to_string).collect(),
                    )),
                    schema => {
                        let id = self.load(document, &deps_at.key(name), schema)?;
                        dependent_schemas.push((name.to_string(), id));
                    }
                }
            }
        }
        Ok(ObjectRules {
            properties,
            required,
            additional,
            pattern_properties,
            unevaluated,
            dependent_required,
            dependent_schemas,
            min_properties: member(object, "minProperties").and_then(Json::as_u64),
            max_properties: member(object, "maxProperties").and_then(Json::as_u64),
        })
    }

    fn array_rules(
        &mut self,
        document: usize,
        at: &Path<'_>,
        object: &'d [(Cow<'d, str>, Json<'d>)],
    ) -> Result<ArrayRules, SchemaError> {
        let mut items = None;
        let mut tuple = None;
        let mut additional_value = member(object, "additionalItems");
        let mut additional_key = "additionalItems";
        if let Some(Json::Array(prefix)) = member(object, "prefixItems") {
            tuple = Some(self.load_list(document, &at.key("prefixItems"), prefix)?);
            additional_value = member(object, "items");
            additional_key = "items";
        } else {
            match member(object, "items") {
                Some(Json::Array(list)) => tuple = Some(self.load_list(document, &at.key("items"), list)?),
                Some(schema) => items = Some(self.load(document, &at.key("items"), schema)?),
                None => {}
            }
        }
        // `additionalItems` only means something next to a tuple.
        let additional = match (&tuple, additional_value) {
            (Some(_), Some(value)) => self.additional_value(document, &at.key(additional_key), value)?,
            _ => Additional::Allowed,
        };
        Ok(ArrayRules {
            items,
            tuple,
            additional,
            unevaluated: self.additional(document, at, object, "unevaluatedItems")?,
            min_items: member(object, "minItems").and_then(Json::as_u64),
            max_items: member(object, "maxItems").and_then(Json::as_u64),
            unique_items: member(object, "uniqueItems") == Some(&Json::Bool(true)),
            min_contains: member(object, "minContains").and_then(Json::as_u64),
            max_contains: member(object, "maxContains").and_then(Json::as_u64),
        })
    }

    fn load_list(
        &mut self,
        document: usize,
        at: &Path<'_>,
        list: &'d [Json<'d>],
    ) -> Result<Vec<JsonNodeId>, SchemaError> {
        list.iter()
            .enumerate()
            .map(|(i, schema)| self.load(document, &at.index(i), schema))
            .collect()
    }

    fn additional(
        &mut self,
        document: usize,
        at: &Path<'_>,
        object: &'d [(Cow<'d, str>, Json<'d>)],
        keyword: &str,
    ) -> Result<Additional, SchemaError> {
        match member(object, keyword) {
            None => Ok(Additional::Allowed),
            Some(value) => self.additional_value(document, &at.key(keyword), value),
        }
    }

    fn additional_value(
        &mut self,
        document: usize,
        at: &Path<'_>,
        value: &'d Json<'d>,
    ) -> Result<Additional, SchemaError> {
        match value {
            Json::Bool(true) => Ok(Additional::Allowed),
            Json::Bool(false) => Ok(Additional::Forbidden),
            schema => Ok(Additional::Schema(self.load(document, at, schema)?)),
        }
    }

    /// Resolves `reference` (written in `document` at `at`) and loads its target once.
    fn load_reference(&mut self, document: usize, at: &Path<'_>, reference: &str) -> Result<JsonNodeId, SchemaError> {
        let key = self.resolve_reference(document, at, reference)?;
        if let Some(&id) = self.targets.get(&key) {
            return Ok(id);
        }
        let ref_at = at.key("$ref");
        let documents = self.documents;
        let value = documents[key.0].value.pointer(&key.1).ok_or_else(|| {
            self.error(
                document,
                &ref_at,
                format!(
                    "cannot resolve $ref \"{reference}\": nothing at {}",
                    pointer::display(&key.1)
                ),
            )
        })?;
        // Reserve the id before loading, so a reference back to this target (recursion)
        // finds it instead of loading forever.
        let target_doc = key.0;
        let target_at = Path::raw(&key.1);
        let id = self.push(JsonKind::Any, target_doc, &target_at);
        self.targets.insert(key.clone(), id);
        let loaded = self.load(target_doc, &target_at, value)?;
        self.nodes[id].kind = JsonKind::Ref(loaded);
        Ok(id)
    }

    /// The document and JSON pointer `reference` (written in `document` at `at`) names.
    fn resolve_reference(
        &self,
        document: usize,
        at: &Path<'_>,
        reference: &str,
    ) -> Result<(usize, String), SchemaError> {
        let ref_at = at.key("$ref");
        let (target_doc, fragment) = self.locate(document, reference).ok_or_else(|| {
            self.error(
                document,
                &ref_at,
                format!("cannot resolve $ref \"{reference}\": no such document among the schema and its references"),
            )
        })?;
        let target_pointer = if fragment.is_empty() || fragment.starts_with('/') {
            percent_decode(fragment)
        } else {
            find_anchor(&self.documents[target_doc].value, fragment, "").ok_or_else(|| {
                self.error(
                    document,
                    &ref_at,
                    format!("cannot resolve $ref \"{reference}\": no anchor \"{fragment}\""),
                )
            })?
        };
        Ok((target_doc, target_pointer))
    }

    /// Finds the document a reference points into, and the fragment within it.
    fn locate<'r>(&self, from: usize, reference: &'r str) -> Option<(usize, &'r str)> {
        let (address, fragment) = match reference.split_once('#') {
            Some((address, fragment)) => (address, fragment),
            None => (reference, ""),
        };
        if address.is_empty() {
            return Some((from, fragment));
        }
        let last_segment = |s: &str| s.rsplit('/').next().map(str::to_string).unwrap_or_default();
        let wanted_tail = last_segment(address);
        let documents = self.documents;
        let by_name = documents.iter().position(|d| !d.name.is_empty() && (d.name == address));
        let by_id = || {
            documents.iter().position(|d| {
                d.value
                    .get("$id")
                    .or_else(|| d.value.get("id"))
                    .and_then(Json::as_str)
                    .map(|id| {
                        let id = id.trim_end_matches('#');
                        id == address || last_segment(id) == wanted_tail
                    })
                    .unwrap_or(false)
            })
        };
        let by_tail = || {
            documents
                .iter()
                .position(|d| !d.name.is_empty() && last_segment(d.name) == wanted_tail)
        };
        by_name.or_else(by_id).or_else(by_tail).map(|doc| (doc, fragment))
    }
}

/// Keywords whose subschemas apply to the very instance their schema applies to, rather
/// than to a part of it (a property's value, an array's item).
const IN_PLACE_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];
const IN_PLACE_SCHEMAS: &[&str] = &["not", "if", "then", "else"];
const IN_PLACE_MAPS: &[&str] = &["dependentSchemas", "dependencies"];
const REFERENCE_KEYWORDS: &[&str] = &["$ref", "$recursiveRef", "$dynamicRef"];

/// Where a schema object is written: document index and JSON pointer.
type Place = (usize, String);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    Open,
    Done,
}

impl<'d> Loader<'d> {
    /// Refuses a `$ref` that leads back to a schema it is part of while staying on the
    /// same instance (`{"allOf":[{"$ref":"#"}]}`, definitions a → b → a through `anyOf`,
    /// `not`, `if`, …). Validating anything against such a schema never finishes: a
    /// validator follows the cycle without ever moving into a smaller part of the value, and
    /// the stack overflows. A cycle through `properties`, `items` and the like is fine
    /// (each turn descends into the instance, which is finite).
    ///
    /// A depth-first search over the in-place edges, starting from every `$ref` target
    /// (a cycle needs a `$ref`: the document itself is a tree); each place is visited once.
    fn reject_in_place_cycles(&self) -> Result<(), SchemaError> {
        let mut visits: HashMap<Place, Visit> = HashMap::default();
        // Every schema of every document, including those under keywords the comparison
        // model does not read (`if`, `contains`, …), which a validator still follows.
        for (start, _) in &self.places {
            self.visit_in_place(start.clone(), &mut visits)?;
        }
        Ok(())
    }

    fn index_places(&mut self) {
        let documents = self.documents;
        for (document, doc) in documents.iter().enumerate() {
            schema_places(document, &doc.value, String::new(), &mut self.places);
        }
        self.place_index = self.places.iter().cloned().collect();
    }

    /// The JSON at `place`: a schema object found by `index_places`, or (for a `$ref` into
    /// some other container) looked up by pointer.
    fn value_at(&self, place: &Place) -> Option<&'d Json<'d>> {
        let documents = self.documents;
        self.place_index
            .get(place)
            .copied()
            .or_else(|| documents[place.0].value.pointer(&place.1))
    }

    fn visit_in_place(&self, place: Place, visits: &mut HashMap<Place, Visit>) -> Result<(), SchemaError> {
        match visits.get(&place) {
            Some(Visit::Done) | Some(Visit::Open) => return Ok(()),
            None => {}
        }
        visits.insert(place.clone(), Visit::Open);
        for (keyword_at, next) in self.in_place_edges(&place) {
            if visits.get(&next) == Some(&Visit::Open) {
                return Err(self.error(
                    place.0,
                    keyword_at,
                    "cyclic $ref: it leads back to a schema it is part of without descending into \
                     the value (through properties, items or the like), so no value could ever be \
                     validated against it; put the recursion under properties or items"
                        .to_string(),
                ));
            }
            stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.visit_in_place(next, visits))?;
        }
        visits.insert(place, Visit::Done);
        Ok(())
    }

    /// The depth of the schema's longest chain of subschemas and `$ref`s, and whether it
    /// recurses; refuses a schema deeper than [`MAX_SCHEMA_DEPTH`], naming where the chain
    /// starts. Heights are computed once per place (depth-first, each recursion cut at the
    /// `$ref` that closes it), so the measure is linear in the schema's size.
    fn measure_nesting(&self) -> Result<super::Nesting, SchemaError> {
        let mut nesting = super::Nesting::default();
        let mut in_place: HashMap<Place, Option<usize>> = HashMap::default();
        let mut all: HashMap<Place, Option<usize>> = HashMap::default();
        for (place, _) in &self.places {
            let chain = self.height(place.clone(), &mut in_place, &mut nesting.recursive, true)?;
            nesting.in_place = nesting.in_place.max(chain);
        }
        for document in 0..self.documents.len() {
            let root = (document, String::new());
            let depth = self.height(root, &mut all, &mut nesting.recursive, false)?;
            nesting.depth = nesting.depth.max(depth);
        }
        Ok(nesting)
    }

    /// Schemas on the longest chain from `place` (`None` in `heights` while under way),
    /// through in-place edges only or through every edge. Only in-place chains are limited:
    /// a validator follows a chain through properties or items only as deep as the value
    /// goes, but an in-place chain entirely for every value.
    fn height(
        &self,
        place: Place,
        heights: &mut HashMap<Place, Option<usize>>,
        recursive: &mut bool,
        in_place_only: bool,
    ) -> Result<usize, SchemaError> {
        match heights.get(&place) {
            Some(Some(height)) => return Ok(*height),
            Some(None) => {
                *recursive = true;
                return Ok(0);
            }
            None => {}
        }
        heights.insert(place.clone(), None);
        let mut below = 0;
        let edges = if in_place_only {
            self.in_place_edges(&place)
        } else {
            self.all_edges(&place)
        };
        for (_, next) in edges {
            let height = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                self.height(next, heights, recursive, in_place_only)
            })?;
            below = below.max(height);
        }
        let height = below + 1;
        if in_place_only && height > MAX_SCHEMA_DEPTH {
            return Err(self.error(
                place.0,
                place.1.as_str(),
                format!(
                    "the schema nests more than {MAX_SCHEMA_DEPTH} levels deep from here through \
                     allOf/anyOf/oneOf/not/if and $refs, all applying to the same value; validating \
                     against it could exhaust the stack, so at most {MAX_SCHEMA_DEPTH} are supported"
                ),
            ));
        }
        heights.insert(place, Some(height));
        Ok(height)
    }

    /// Every schema a validator may apply from the schema at `place`: the in-place ones
    /// and those applied to parts of the instance (properties, items, …).
    fn all_edges(&self, place: &Place) -> Vec<(String, Place)> {
        let mut edges = self.in_place_edges(place);
        let (document, at) = (place.0, place.1.as_str());
        let Some(Json::Object(object)) = self.value_at(place) else {
            return edges;
        };
        let ref_replaces_siblings = matches!(self.draft, Draft::Draft4 | Draft::Draft6 | Draft::Draft7);
        if ref_replaces_siblings && member(object, "$ref").is_some() {
            return edges;
        }
        for keyword in DESCENDING_SCHEMAS {
            if let Some(Json::Object(_)) = member(object, keyword) {
                let at = pointer::push(at, keyword);
                edges.push((at.clone(), (document, at)));
            }
        }
        for keyword in ["items", "prefixItems"] {
            if let Some(Json::Array(members)) = member(object, keyword) {
                for index in 0..members.len() {
                    let at = pointer::push_index(&pointer::push(at, keyword), index);
                    edges.push((at.clone(), (document, at)));
                }
            }
        }
        for keyword in ["properties", "patternProperties"] {
            if let Some(Json::Object(entries)) = member(object, keyword) {
                for (name, value) in entries.iter() {
                    if matches!(value, Json::Object(_)) {
                        let at = pointer::push(&pointer::push(at, keyword), name);
                        edges.push((at.clone(), (document, at)));
                    }
                }
            }
        }
        edges
    }

    /// The schemas applied to the same instance as the schema at `place`, each with the
    /// pointer of the keyword that applies it.
    fn in_place_edges(&self, place: &Place) -> Vec<(String, Place)> {
        let (document, at) = (place.0, place.1.as_str());
        let Some(Json::Object(object)) = self.value_at(place) else {
            return Vec::new();
        };
        let mut edges = Vec::new();
        for keyword in REFERENCE_KEYWORDS {
            let Some(reference) = member(object, keyword).and_then(Json::as_str) else {
                continue;
            };
            // Unresolvable references were refused while loading, or are not followed.
            if let Ok(target) = self.resolve_reference(document, &Path::raw(at), reference) {
                edges.push((pointer::push(at, keyword), target));
            }
        }
        let ref_replaces_siblings = matches!(self.draft, Draft::Draft4 | Draft::Draft6 | Draft::Draft7);
        if ref_replaces_siblings && member(object, "$ref").is_some() {
            return edges;
        }
        let child = |keyword: &str| pointer::push(at, keyword);
        for keyword in IN_PLACE_LISTS {
            if let Some(Json::Array(members)) = member(object, keyword) {
                for index in 0..members.len() {
                    let at = pointer::push_index(&child(keyword), index);
                    edges.push((at.clone(), (document, at)));
                }
            }
        }
        for keyword in IN_PLACE_SCHEMAS {
            if let Some(Json::Object(_)) = member(object, keyword) {
                let at = child(keyword);
                edges.push((at.clone(), (document, at)));
            }
        }
        for keyword in IN_PLACE_MAPS {
            if let Some(Json::Object(entries)) = member(object, keyword) {
                for (name, value) in entries.iter() {
                    if matches!(value, Json::Object(_)) {
                        let at = pointer::push(&child(keyword), name);
                        edges.push((at.clone(), (document, at)));
                    }
                }
            }
        }
        edges
    }
}

/// What a quick walk of a document tells: whether it has any reference keyword at all, and
/// how deeply its objects nest.
struct Scan {
    has_references: bool,
    depth: usize,
}

/// Walks `value` once, allocating nothing (the tree nests at most 128 levels).
fn scan(value: &Json<'_>) -> Scan {
    let mut found = Scan {
        has_references: false,
        depth: 0,
    };
    let mut take = |child: &Json<'_>, own: usize| {
        let below = scan(child);
        found.has_references |= below.has_references;
        found.depth = found.depth.max(own + below.depth);
    };
    match value {
        Json::Object(members) => {
            for (_, child) in members.iter() {
                take(child, 1);
            }
            found.depth = found.depth.max(1);
            found.has_references |= members.iter().any(|(k, _)| REFERENCE_KEYWORDS.contains(&k.as_ref()));
        }
        Json::Array(items) => {
            for child in items.iter() {
                take(child, 0);
            }
        }
        _ => {}
    }
    found
}

/// Keywords whose one schema applies to parts of the instance.
const DESCENDING_SCHEMAS: &[&str] = &[
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
];

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "dependencies",
    "definitions",
    "$defs",
];

/// Every schema object of a document (the places a validator may apply), outer ones first.
fn schema_places<'d>(document: usize, value: &'d Json<'d>, at: String, out: &mut Vec<(Place, &'d Json<'d>)>) {
    let Json::Object(object) = value else {
        return;
    };
    // Outer schemas first: a search from the outside meets a cycle's `$ref` as the edge
    // that closes it, which is the place an error should name.
    out.push(((document, at.clone()), value));
    for keyword in SCHEMA_KEYWORDS {
        if let Some(child @ Json::Object(_)) = member(object, keyword) {
            schema_places(document, child, pointer::push(&at, keyword), out);
        }
    }
    for keyword in SCHEMA_LIST_KEYWORDS {
        if let Some(Json::Array(children)) = member(object, keyword) {
            for (index, child) in children.iter().enumerate() {
                schema_places(
                    document,
                    child,
                    pointer::push_index(&pointer::push(&at, keyword), index),
                    out,
                );
            }
        }
    }
    for keyword in SCHEMA_MAP_KEYWORDS {
        if let Some(Json::Object(children)) = member(object, keyword) {
            for (name, child) in children.iter() {
                schema_places(document, child, pointer::push(&pointer::push(&at, keyword), name), out);
            }
        }
    }
}

/// A member of a schema object. Schema objects hold a handful of keywords: a scan is
/// cheaper than any index.
fn member<'v, 'd>(object: &'v [(Cow<'d, str>, Json<'d>)], key: &str) -> Option<&'v Json<'d>> {
    object.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn read_annotations(object: &[(Cow<'_, str>, Json<'_>)]) -> Option<Box<Annotations>> {
    let text = |key: &str| member(object, key).and_then(Json::as_str).map(str::to_string);
    let annotations = Annotations {
        id: text("$id").or_else(|| text("id")),
        title: text("title"),
        description: text("description"),
        default: member(object, "default").map(Json::to_value),
        deprecated: member(object, "deprecated") == Some(&Json::Bool(true)),
    };
    (annotations != Annotations::default()).then(|| Box::new(annotations))
}

/// Looks for `$anchor: name` (2019-09+) or `$id: "#name"` (draft 4–7) below `value`.
fn find_anchor(value: &Json<'_>, name: &str, at: &str) -> Option<String> {
    match value {
        Json::Object(object) => {
            let matches = member(object, "$anchor").and_then(Json::as_str) == Some(name)
                || member(object, "$id")
                    .and_then(Json::as_str)
                    .and_then(|id| id.strip_prefix('#'))
                    == Some(name)
                || member(object, "id")
                    .and_then(Json::as_str)
                    .and_then(|id| id.strip_prefix('#'))
                    == Some(name);
            if matches {
                return Some(at.to_string());
            }
            object
                .iter()
                .find_map(|(key, child)| find_anchor(child, name, &pointer::push(at, key)))
        }
        Json::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, child)| find_anchor(child, name, &pointer::push_index(at, i))),
        _ => None,
    }
}

/// `$ref` fragments are URI-encoded JSON pointers (`#/definitions/a%20b`).
fn percent_decode(fragment: &str) -> String {
    if !fragment.contains('%') {
        return fragment.to_string();
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A chain of `$ref`s that leads back to itself describes no schema at all.
fn reject_ref_cycles(nodes: &[JsonNode], pointers: &str) -> Result<(), SchemaError> {
    for (start, node) in nodes.iter().enumerate() {
        if !matches!(node.kind, JsonKind::Ref(_)) {
            continue;
        }
        let mut current = start;
        let mut steps = 0;
        while let JsonKind::Ref(next) = nodes[current].kind {
            current = next;
            steps += 1;
            if current == start || steps > nodes.len() {
                return Err(SchemaError::at(
                    pointer::push(node.pointer.get(pointers), "$ref"),
                    "cyclic $ref: the references lead back to themselves without any schema in between",
                ));
            }
        }
    }
    Ok(())
}
