//! Schema parsing and validation, format by format, with no I/O.
//!
//! [`Schema::parse`] turns schema text (plus the texts of the schemas it references) into a
//! parsed model, checks it the way a Confluent registry checks a new schema, and computes the
//! canonical text that gets stored and the [`Fingerprint`] that identifies it.

pub mod avro;
pub mod deprecation;
mod error;
pub mod example;
pub mod field_path;
pub mod fields;
pub mod json;
pub mod lint;
pub mod locate;
pub mod pointer;
pub mod protobuf;
pub(crate) mod tree;

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

pub use avro::AvroSchema;
pub use error::{ErrorLocation, SchemaError};
pub use json::JsonSchema;
pub use protobuf::ProtobufSchema;

/// The schema formats a registry may be asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// The name used on the wire (`schemaType` in the REST API).
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = SchemaError;

    /// Case-insensitive, as Confluent's clients send `AVRO`, `avro` or `Avro` alike.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            _ => Err(SchemaError::general(format!(
                "unknown schema type \"{s}\": expected AVRO, JSON or PROTOBUF"
            ))),
        }
    }
}

/// A schema another schema refers to, already fetched: `name` is how the referring schema
/// names it (an Avro file name, a JSON Schema `$ref` address, a Protobuf import path),
/// `schema` its text.
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a> {
    pub name: &'a str,
    pub schema: &'a str,
}

/// How strictly a schema is read.
///
/// Confluent's registry (7.x) checks Avro field defaults against their field's type only when
/// `schema.providers.avro.validate.defaults` asks for it, so registries hold schemas whose
/// defaults do not fit. Such schemas must still be read (stored ones, imported ones, ones
/// `herald check` lints); a new schema is checked when the registry is configured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Refuse an Avro field default that does not match the field's type.
    pub check_defaults: bool,
}

impl ParseOptions {
    /// Every check, defaults included.
    pub const STRICT: ParseOptions = ParseOptions { check_defaults: true };
    /// Defaults kept as written, whether or not they fit.
    pub const LENIENT: ParseOptions = ParseOptions { check_defaults: false };
}

/// A parsed and validated schema of any supported format.
#[derive(Debug, Clone)]
pub enum Schema {
    Avro(AvroSchema),
    Json(JsonSchema),
    Protobuf(ProtobufSchema),
}

impl Schema {
    /// Parses and validates `text` as `schema_type`. For Avro, `references` must be in
    /// dependency order (a referenced schema before the ones that use its names).
    pub fn parse(schema_type: SchemaType, text: &str, references: &[Reference<'_>]) -> Result<Schema, SchemaError> {
        Schema::parse_with(schema_type, text, references, ParseOptions::STRICT)
    }

    /// Parses `text` as [`Schema::parse`] does, as strictly as `options` ask.
    pub fn parse_with(
        schema_type: SchemaType,
        text: &str,
        references: &[Reference<'_>],
        options: ParseOptions,
    ) -> Result<Schema, SchemaError> {
        match schema_type {
            SchemaType::Avro => avro::parse_with(text, references, options.check_defaults).map(Schema::Avro),
            SchemaType::Json => json::parse(text, references).map(Schema::Json),
            SchemaType::Protobuf => protobuf::parse(text, references).map(Schema::Protobuf),
        }
    }

    pub fn schema_type(&self) -> SchemaType {
        match self {
            Schema::Avro(_) => SchemaType::Avro,
            Schema::Json(_) => SchemaType::Json,
            Schema::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// What the schema says of the event as a whole: the top-level named type's `doc`
    /// (Avro), the root's `description`, else its `title` (JSON Schema). `None` when it
    /// says nothing, or only whitespace.
    pub fn documentation(&self) -> Option<&str> {
        let text = match self {
            Schema::Avro(avro) => match avro.kind(avro.root()) {
                avro::Kind::Record(r) => r.doc.as_deref(),
                avro::Kind::Enum(e) => e.doc.as_deref(),
                avro::Kind::Fixed(f) => f.doc.as_deref(),
                _ => None,
            },
            Schema::Json(json) => json
                .annotations(json.root())
                .and_then(|a| a.description.as_deref().or(a.title.as_deref())),
            Schema::Protobuf(proto) => proto.documentation(),
        };
        text.filter(|t| !t.trim().is_empty())
    }

    /// Avro field defaults that do not fit their field's type (see [`ParseOptions`]), as
    /// (JSON pointer of the default, message); always empty for JSON Schema.
    pub fn default_mismatches(&self) -> Vec<(String, String)> {
        match self {
            Schema::Avro(s) => s.default_mismatches(),
            Schema::Json(_) | Schema::Protobuf(_) => Vec::new(),
        }
    }

    /// The text a registry stores and returns for this schema.
    pub fn canonical(&self) -> &str {
        match self {
            Schema::Avro(s) => s.canonical(),
            Schema::Json(s) => s.canonical(),
            Schema::Protobuf(s) => s.canonical(),
        }
    }

    /// Identifies the schema's content: equal canonical texts of the same type give equal
    /// fingerprints, whatever whitespace the client sent.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.schema_type(), self.canonical())
    }
}

/// Sorts object keys at every level of `value`: the normalised form of JSON text (JSON
/// Schema under `normalize=true`, and the objects inside Avro defaults and properties,
/// which Confluent writes through a key-ordering JSON mapper).
pub fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// MD5 over the schema type and canonical text. MD5 because that is what Confluent uses for
/// schema identity; it deduplicates, it does not defend against anyone.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    pub fn of(schema_type: SchemaType, canonical: &str) -> Fingerprint {
        let mut hasher = Md5::new();
        hasher.update(schema_type.as_str().as_bytes());
        hasher.update([0u8]);
        hasher.update(canonical.as_bytes());
        Fingerprint(hasher.finalize().into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}
