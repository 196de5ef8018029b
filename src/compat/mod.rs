//! The compatibility engine: given a new schema and a subject's previous versions, is the
//! change allowed under the subject's level, and if not, what exactly breaks for whom?
//!
//! - [`check`] applies a [`CompatibilityLevel`] and returns a [`Report`] listing **every**
//!   incompatibility (not the first), each with a stable rule id, the previous version it
//!   conflicts with, JSON pointers into the old and the new schema, one sentence from the
//!   consumer's point of view and a fix hint.
//! - [`avro`] and [`json`] hold the per-format rules: Java Avro's schema resolution and
//!   Confluent's JSON Schema comparison.
//! - [`diff`] describes what changed between two versions, each change marked compatible or
//!   breaking in each direction, for changelogs.
//!
//! Everything here is pure: schemas in, reports out.

pub mod avro;
pub mod diff;
mod explain;
pub mod json;
mod level;
pub mod protobuf;
pub mod readers;
#[cfg(test)]
mod tests;
pub mod wire_json;

pub use json::Policy;
pub use level::{CompatibilityLevel, Direction, UnknownLevel};

/// The most work one comparison (one previous version, one direction) or one diff may do,
/// in steps: a step is one pair of types compared, one enum symbol or one record field
/// looked at, one pair of `anyOf`/`oneOf` members tried. Ordinary schemas take hundreds to
/// thousands; a record of 50,000 fields or an enum of 100,000 symbols about as many steps as
/// it has entries. Past the budget the check stops with [`TooComplex`] rather than give a
/// verdict it did not reach: a few hundred milliseconds of work at most.
pub const MAX_STEPS: u64 = 4_000_000;

/// A comparison that would take more than [`MAX_STEPS`]: no verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooComplex;

impl std::fmt::Display for TooComplex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the schemas are too complex to judge within limits (more than {MAX_STEPS} comparison steps); \
             split the schema, or shorten its largest unions, enums or anyOf/oneOf lists"
        )
    }
}

impl std::error::Error for TooComplex {}

/// Counts the steps of one comparison against [`MAX_STEPS`].
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: u64,
}

impl Budget {
    /// Books `steps`; false once the budget is spent, and from then on.
    pub(crate) fn spend(&mut self, steps: u64) -> bool {
        self.used = self.used.saturating_add(steps);
        self.used <= MAX_STEPS
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.used > MAX_STEPS
    }

    /// `Ok(value)` if the work stayed within the budget.
    pub(crate) fn verdict<T>(&self, value: T) -> Result<T, TooComplex> {
        if self.exhausted() {
            Err(TooComplex)
        } else {
            Ok(value)
        }
    }
}

use crate::schema::Schema;

/// A previous version of the subject.
#[derive(Debug, Clone, Copy)]
pub struct PreviousVersion<'a> {
    pub version: u32,
    pub schema: &'a Schema,
}

impl<'a> PreviousVersion<'a> {
    /// A history given oldest first, numbered as versions 1, 2, …
    pub fn numbered(history: &'a [Schema]) -> Vec<PreviousVersion<'a>> {
        history
            .iter()
            .enumerate()
            .map(|(i, schema)| PreviousVersion {
                version: i as u32 + 1,
                schema,
            })
            .collect()
    }
}

/// One way in which the new schema breaks a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Stable rule id: Avro's `SchemaIncompatibilityType` names, Confluent's JSON Schema
    /// `Difference.Type` names, or `DIFFERENT_SCHEMA_TYPE`.
    pub rule: &'static str,
    pub direction: Direction,
    /// The previous version this conflicts with.
    pub version: u32,
    /// JSON pointer into the previous version's schema.
    pub old_pointer: String,
    /// JSON pointer into the new schema.
    pub new_pointer: String,
    /// The field concerned, as a dotted path ([`crate::schema::field_path`]:
    /// `customer.address.city`, `items[].sku`, `tags{}`); `None` when no single field is
    /// (the schema's top level, a change of the schema type).
    pub field: Option<String>,
    /// What breaks, from the consumer's point of view.
    pub message: String,
    /// How to make the change compatible.
    pub hint: String,
    /// The same finding as a Confluent verbose compatibility message.
    pub confluent: String,
}

/// The outcome of checking a new schema against a subject's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub level: CompatibilityLevel,
    /// The versions compared against, newest first.
    pub checked_versions: Vec<u32>,
    /// Empty when compatible. Grouped by version (newest first), then direction.
    pub incompatibilities: Vec<Incompatibility>,
}

impl Report {
    pub fn is_compatible(&self) -> bool {
        self.incompatibilities.is_empty()
    }

    /// Confluent's verbose `messages`: for each failing version, its findings followed by
    /// `{oldSchemaVersion: n}`, `{oldSchema: '…'}` and `{validateFields: 'false',
    /// compatibility: 'LEVEL'}`.
    pub fn confluent_messages(&self, previous: &[PreviousVersion<'_>]) -> Vec<String> {
        let mut messages = Vec::new();
        for &version in &self.checked_versions {
            let findings: Vec<&Incompatibility> =
                self.incompatibilities.iter().filter(|i| i.version == version).collect();
            if findings.is_empty() {
                continue;
            }
            messages.extend(findings.iter().map(|i| i.confluent.clone()));
            messages.push(format!("{{oldSchemaVersion: {version}}}"));
            if let Some(p) = previous.iter().find(|p| p.version == version) {
                messages.push(format!(
                    "{{oldSchema: '{}'}}",
                    truncate(p.schema.canonical(), 10 * 1024)
                ));
            }
            messages.push(format!("{{validateFields: 'false', compatibility: '{}'}}", self.level));
        }
        messages
    }
}

/// Options beyond the level; the defaults are Confluent's.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// JSON Schema policy (STRICT unless configured otherwise).
    pub policy: Policy,
    /// Protobuf rules: Confluent's alone, or buf's WIRE_JSON on top.
    pub protobuf_rules: ProtobufRules,
}

/// Which rules judge a Protobuf change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProtobufRules {
    /// Confluent's (the binary wire format).
    #[default]
    Confluent,
    /// Confluent's and buf's WIRE_JSON category, for consumers that also read JSON.
    WireJson,
}

impl ProtobufRules {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtobufRules::Confluent => "CONFLUENT",
            ProtobufRules::WireJson => "WIRE_JSON",
        }
    }
}

impl std::str::FromStr for ProtobufRules {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "CONFLUENT" => Ok(ProtobufRules::Confluent),
            "WIRE_JSON" => Ok(ProtobufRules::WireJson),
            _ => Err(format!("unknown Protobuf rules {s:?}: expected CONFLUENT or WIRE_JSON")),
        }
    }
}

/// Checks `new` against `previous` (oldest first, as a subject lists its versions) under
/// `level`. Non-transitive levels look at the latest version only.
///
/// Each comparison is bounded by [`MAX_STEPS`]; one that would go past it makes the whole
/// check fail with [`TooComplex`].
pub fn check(level: CompatibilityLevel, previous: &[PreviousVersion<'_>], new: &Schema) -> Result<Report, TooComplex> {
    check_with(level, previous, new, CheckOptions::default())
}

pub fn check_with(
    level: CompatibilityLevel,
    previous: &[PreviousVersion<'_>],
    new: &Schema,
    options: CheckOptions,
) -> Result<Report, TooComplex> {
    let to_check: Vec<&PreviousVersion<'_>> = match (level, level.is_transitive()) {
        (CompatibilityLevel::None, _) => Vec::new(),
        (_, true) => previous.iter().rev().collect(),
        (_, false) => previous.last().into_iter().collect(),
    };
    let mut incompatibilities = Vec::new();
    for prev in &to_check {
        for &direction in level.directions() {
            incompatibilities.extend(compare(prev, new, direction, options)?);
        }
    }
    Ok(Report {
        level,
        checked_versions: to_check.iter().map(|p| p.version).collect(),
        incompatibilities,
    })
}

/// Every incompatibility of one direction between one previous version and the new schema.
pub fn compare(
    previous: &PreviousVersion<'_>,
    new: &Schema,
    direction: Direction,
    options: CheckOptions,
) -> Result<Vec<Incompatibility>, TooComplex> {
    let version = previous.version;
    Ok(match (previous.schema, new) {
        (Schema::Avro(old), Schema::Avro(new)) => {
            let (reader, writer) = match direction {
                Direction::Backward => (new, old),
                Direction::Forward => (old, new),
            };
            avro::check(reader, writer)?
                .iter()
                .map(|found| explain::avro(found, direction, version))
                .collect()
        }
        (Schema::Json(old), Schema::Json(new)) => {
            let (original, update) = match direction {
                Direction::Backward => (old, new),
                Direction::Forward => (new, old),
            };
            json::incompatibilities(original, update, options.policy)?
                .iter()
                .map(|found| explain::json(found, direction, version))
                .collect()
        }
        (Schema::Protobuf(old), Schema::Protobuf(new)) => {
            let (original, update) = match direction {
                Direction::Backward => (old, new),
                Direction::Forward => (new, old),
            };
            let mut found: Vec<Incompatibility> = protobuf::incompatibilities(original, update)?
                .iter()
                .map(|found| explain::protobuf(found, direction, version))
                .collect();
            if options.protobuf_rules == ProtobufRules::WireJson {
                found.extend(
                    wire_json::breaks(original, update)
                        .iter()
                        .map(|b| explain::wire_json(b, direction, version)),
                );
            }
            found
        }
        (old, new) => vec![explain::different_types(
            old.schema_type(),
            new.schema_type(),
            direction,
            version,
        )],
    })
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
