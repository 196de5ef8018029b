//! The registry's vocabulary: requests, stored schemas, versions, configs and modes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::context::{Context, QualifiedSubject};
use super::RegistryError;
use crate::compat::CompatibilityLevel;
use crate::schema::SchemaType;

/// A schema another schema uses: `name` as the referring schema spells it (an Avro full
/// name, a JSON Schema `$ref` address), found under `subject` at `version`. Serde gives
/// its stored encoding (a JSON array in `schemas.refs`), not the API's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i64,
}

/// The largest schema id and version number. Confluent's ids and versions are Java `int`s,
/// and the wire framing carries an id in four bytes that Java reads as signed: an id above
/// this could not be named by Confluent's clients, and would be cut into another id.
pub const MAX_ID: i64 = i32::MAX as i64;

/// Whether `id` is a schema id Confluent's clients can carry: 1 to 2^31-1.
pub fn schema_id_in_range(id: i64) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// What a client asks to register, look up or check.
#[derive(Debug, Clone)]
pub struct SchemaRequest {
    /// `None` or empty: reuse the latest version's schema (a metadata-only update).
    pub schema: Option<String>,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
    pub metadata: Option<Value>,
    pub rule_set: Option<Value>,
    /// The version to create: must be the next one, except in IMPORT mode. `-1`: no wish.
    pub version: Option<i64>,
    /// The id to keep, in IMPORT mode only.
    pub id: Option<i64>,
}

impl SchemaRequest {
    /// The schema text, unless absent or blank (Confluent trims before asking whether a
    /// request holds a schema).
    pub fn schema_text(&self) -> Option<&str> {
        self.schema.as_deref().filter(|s| !s.trim().is_empty())
    }

    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> SchemaRequest {
        SchemaRequest {
            schema: Some(schema.into()),
            schema_type,
            references: Vec::new(),
            metadata: None,
            rule_set: None,
            version: None,
            id: None,
        }
    }
}

/// A schema as stored: content and identity, whatever subjects use it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchema {
    /// The context whose id space `id` belongs to.
    pub context: Context,
    pub id: i64,
    pub schema_type: SchemaType,
    /// The canonical text.
    pub schema: String,
    pub references: Vec<SchemaReference>,
    pub metadata: Option<Value>,
    pub rule_set: Option<Value>,
}

/// One version of one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectSchema {
    pub subject: String,
    pub version: i64,
    pub deleted: bool,
    pub schema: StoredSchema,
}

/// What a registration did.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub id: i64,
    pub version: i64,
    /// False when the schema was already a live version of the subject.
    pub created: bool,
    /// The stored schema differs from the request (metadata or rule set inherited or
    /// configured): Confluent then answers with the full schema, not only the id.
    pub rewritten: bool,
    pub schema: StoredSchema,
}

/// A version as a path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// `latest` or `-1`: the latest live version.
    Latest,
    Number(i64),
}

impl FromStr for VersionSpec {
    type Err = RegistryError;

    /// Confluent's `VersionId`: trimmed, `latest` in any case or `-1`, or 1..2^31-1.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("latest") {
            return Ok(VersionSpec::Latest);
        }
        match trimmed.parse::<i64>() {
            Ok(-1) => Ok(VersionSpec::Latest),
            Ok(n) if (1..=MAX_ID).contains(&n) => Ok(VersionSpec::Number(n)),
            _ => Err(RegistryError::InvalidVersion(text.to_string())),
        }
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Latest => f.write_str("latest"),
            VersionSpec::Number(n) => write!(f, "{n}"),
        }
    }
}

/// Whether a scope accepts writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadWrite,
    ReadOnly,
    /// Like READONLY, and when global it overrides every subject's mode.
    ReadOnlyOverride,
    /// Registrations keep the ids and versions they are given; no compatibility checks.
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }

    pub fn is_read_only(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::ReadOnlyOverride)
    }
}

impl FromStr for Mode {
    type Err = RegistryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "READWRITE" => Ok(Mode::ReadWrite),
            "READONLY" => Ok(Mode::ReadOnly),
            "READONLY_OVERRIDE" => Ok(Mode::ReadOnlyOverride),
            "IMPORT" => Ok(Mode::Import),
            _ => Err(RegistryError::InvalidMode(text.to_string())),
        }
    }
}

/// A compatibility configuration, global or for one subject. Every field is optional: a
/// subject's config overrides the global one field by field. Serde gives its stored
/// encoding (`configs.body`); the API's bodies are in `http::wire`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "level_name")]
    pub compatibility_level: Option<CompatibilityLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_fields: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rule_set: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_rule_set: Option<Value>,
    /// Herald's: the rules Protobuf changes are judged by (CONFLUENT unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protobuf_rules: Option<crate::compat::ProtobufRules>,
    /// Herald's: whether declared consumer contracts may let through a change the level
    /// refuses (DEFAULT unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_policy: Option<CompatibilityPolicy>,
}

/// How a subject's level and its declared readers combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityPolicy {
    /// The level decides, as in Confluent's registry; declared readers can only refuse more.
    #[default]
    Default,
    /// A change the level refuses is accepted when none of the refused findings touches a
    /// field a declared reader reads, and every consumer group seen on the subject's topics
    /// recently has declared a contract.
    ReaderAware,
}

impl CompatibilityPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityPolicy::Default => "DEFAULT",
            CompatibilityPolicy::ReaderAware => "READER_AWARE",
        }
    }
}

impl std::str::FromStr for CompatibilityPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "DEFAULT" => Ok(CompatibilityPolicy::Default),
            "READER_AWARE" => Ok(CompatibilityPolicy::ReaderAware),
            _ => Err(format!(
                "unknown compatibility policy {s:?}: expected DEFAULT or READER_AWARE"
            )),
        }
    }
}

impl Config {
    /// `self`'s fields where set, `base`'s otherwise.
    pub fn over(&self, base: &Config) -> Config {
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            a.clone().or_else(|| b.clone())
        }
        Config {
            alias: pick(&self.alias, &base.alias),
            normalize: pick(&self.normalize, &base.normalize),
            validate_fields: pick(&self.validate_fields, &base.validate_fields),
            compatibility_level: pick(&self.compatibility_level, &base.compatibility_level),
            compatibility_group: pick(&self.compatibility_group, &base.compatibility_group),
            default_metadata: pick(&self.default_metadata, &base.default_metadata),
            override_metadata: pick(&self.override_metadata, &base.override_metadata),
            default_rule_set: pick(&self.default_rule_set, &base.default_rule_set),
            override_rule_set: pick(&self.override_rule_set, &base.override_rule_set),
            protobuf_rules: pick(&self.protobuf_rules, &base.protobuf_rules),
            compatibility_policy: pick(&self.compatibility_policy, &base.compatibility_policy),
        }
    }
}

/// Stores a level by its Confluent name.
mod level_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::compat::CompatibilityLevel;

    pub fn serialize<S: Serializer>(level: &Option<CompatibilityLevel>, s: S) -> Result<S::Ok, S::Error> {
        match level {
            Some(level) => s.serialize_str(level.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CompatibilityLevel>, D::Error> {
        let name = Option::<String>::deserialize(d)?;
        name.map(|n| n.parse().map_err(serde::de::Error::custom)).transpose()
    }
}

/// Checks a subject name as Confluent does, and answers the key it is stored under: the
/// plain name in the default context (so `:.:orders-value` is `orders-value`), the
/// qualified name `:.ctx:name` in any other (see [`super::context`]).
pub fn subject_name(raw: &str) -> Result<String, RegistryError> {
    let invalid = || RegistryError::InvalidSubject(raw.to_string());
    let qualified = QualifiedSubject::parse(raw).map_err(|_| invalid())?;
    // The `.__GLOBAL` context holds only a config and a mode.
    let reserved = qualified.name == "__GLOBAL" || qualified.name == "__EMPTY" || qualified.context.is_global();
    if reserved || raw.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(qualified.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_confluent_does() {
        for (text, expected) in [
            ("latest", Some(VersionSpec::Latest)),
            (" LATEST ", Some(VersionSpec::Latest)),
            ("-1", Some(VersionSpec::Latest)),
            ("1", Some(VersionSpec::Number(1))),
            ("2147483647", Some(VersionSpec::Number(2147483647))),
            ("2147483648", None),
            ("0", None),
            ("-2", None),
            ("one", None),
            ("", None),
        ] {
            assert_eq!(text.parse::<VersionSpec>().ok(), expected, "{text:?}");
        }
    }

    #[test]
    fn schema_ids_are_positive_java_ints() {
        for (id, expected) in [
            (1, true),
            (MAX_ID, true),
            (0, false),
            (-1, false),
            (MAX_ID + 1, false),
            (1 << 32, false),
        ] {
            assert_eq!(schema_id_in_range(id), expected, "{id}");
        }
    }

    #[test]
    fn subjects_reject_control_characters_and_reserved_names() {
        assert_eq!(subject_name("orders-value").unwrap(), "orders-value");
        assert_eq!(subject_name(":.:orders-value").unwrap(), "orders-value");
        assert_eq!(
            subject_name(":.staging:orders-value").unwrap(),
            ":.staging:orders-value"
        );
        assert_eq!(subject_name(":staging:x").unwrap(), ":staging:x");
        assert_eq!(subject_name("").unwrap(), "");
        for bad in [
            "a\nb",
            "tab\there",
            "__GLOBAL",
            "__EMPTY",
            "\u{7f}",
            ":.staging:__GLOBAL",
            ":.__GLOBAL:x",
        ] {
            assert!(subject_name(bad).is_err(), "{bad:?}");
        }
    }
}
