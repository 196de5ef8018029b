//! Meta-schema validation of a JSON Schema document, run by the `jsonschema` crate directly on
//! the borrowed tree (`schema::tree::Json`): the crate validates any representation that
//! implements its `json::Json` trait, so the document is never copied into a
//! `serde_json::Value`, which would cost as much as the rest of parsing.

use std::borrow::Cow;
use std::sync::OnceLock;

use jsonschema::json::{Array, Json as Representation, Node, NodeIdentity, Object};
use jsonschema::{JsonType, Validator};
use serde_json::Value;

use crate::schema::tree::Json;
use crate::schema::SchemaError;

use super::Draft;

/// Checks `document` against the meta-schema of `draft` (the draft Herald chose: `$schema`, or
/// draft 7 when it is absent, which is not the `jsonschema` crate's own default).
pub(super) fn validate(document: &Json<'_>, draft: Draft) -> Result<(), SchemaError> {
    meta_validator(draft).validate(document).map_err(|error| {
        SchemaError::at(
            error.instance_path().as_str(),
            format!("not a valid {} schema: {}", draft.name(), error.masked()),
        )
    })
}

/// One validator per draft, compiled from the bundled meta-schema on first use.
fn meta_validator(draft: Draft) -> &'static Validator<Tree> {
    static VALIDATORS: [OnceLock<Validator<Tree>>; 5] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let (index, meta_schema, crate_draft) = match draft {
        Draft::Draft4 => (0, &*referencing::meta::DRAFT4, jsonschema::Draft::Draft4),
        Draft::Draft6 => (1, &*referencing::meta::DRAFT6, jsonschema::Draft::Draft6),
        Draft::Draft7 => (2, &*referencing::meta::DRAFT7, jsonschema::Draft::Draft7),
        Draft::Draft201909 => (3, &*referencing::meta::DRAFT201909, jsonschema::Draft::Draft201909),
        Draft::Draft202012 => (4, &*referencing::meta::DRAFT202012, jsonschema::Draft::Draft202012),
    };
    VALIDATORS[index].get_or_init(|| {
        jsonschema::options_for::<Tree>()
            .with_draft(crate_draft)
            .build(meta_schema)
            .expect("the bundled meta-schemas compile")
    })
}

/// The borrowed tree as a `jsonschema` representation.
struct Tree;

impl Representation for Tree {
    type Node<'a> = &'a Json<'a>;
    type PreparedKey = String;
    type StringBuffer = ();

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(Self::Node<'_>) -> T) -> T {
        f(&Json::String(Cow::Borrowed(string)))
    }
}

impl<'a> Node<'a, Tree> for &'a Json<'a> {
    type Object = &'a [(Cow<'a, str>, Json<'a>)];
    type Array = &'a [Json<'a>];
    type Number = &'a serde_json::Number;

    fn as_object(&self) -> Option<Self::Object> {
        Json::as_object(self)
    }

    fn as_array(&self) -> Option<Self::Array> {
        Json::as_array(self)
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Json::String(s) => Some(Cow::Borrowed(s.as_ref())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<Self::Number> {
        match self {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    fn json_type(&self) -> JsonType {
        match self {
            Json::Null => JsonType::Null,
            Json::Bool(_) => JsonType::Boolean,
            Json::Number(_) => JsonType::Number,
            Json::String(_) => JsonType::String,
            Json::Array(_) => JsonType::Array,
            Json::Object(_) => JsonType::Object,
        }
    }

    /// Only on cold paths (error messages, `enum`/`const` comparisons in the meta-schema).
    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(Json::to_value(self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Json<'a>>(*self) as usize))
    }
}

impl<'a> Object<'a, Tree> for &'a [(Cow<'a, str>, Json<'a>)] {
    type Node = &'a Json<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn get(&self, key: &String) -> Option<&'a Json<'a>> {
        self.iter().find(|(name, _)| name == key).map(|(_, value)| value)
    }

    fn members(&self) -> Members<'a> {
        Members(self.iter())
    }
}

struct Members<'a>(std::slice::Iter<'a, (Cow<'a, str>, Json<'a>)>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Json<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(name, value)| (name.as_ref(), value))
    }
}

impl<'a> Array<'a, Tree> for &'a [Json<'a>] {
    type Node = &'a Json<'a>;
    type ElementsIter = std::slice::Iter<'a, Json<'a>>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn elements(&self) -> Self::ElementsIter {
        self.iter()
    }
}
