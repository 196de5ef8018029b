//! Payloads checked against registered schemas before they are produced. Pure: bytes and
//! schema text in, violations out.
//!
//! - [`JsonValidator`] checks JSON payloads against a JSON Schema, every violation with the
//!   instance's JSON pointer;
//! - [`avro`] checks Avro binary data against a schema and encodes JSON input as Avro;
//! - [`framed_id`] reads Confluent's wire framing (magic byte 0, then the schema id as a
//!   big-endian u32) and [`frame`] writes it.

pub mod avro;
pub mod protobuf;
pub mod redact;
pub mod rules;

use serde_json::Value;

/// One way a payload breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the payload (`""` for the whole payload).
    pub path: String,
    pub reason: String,
}

/// Checks JSON events against one schema, compiled once: an Avro schema reads them as Avro's
/// JSON input, a JSON Schema validates them, a Protobuf schema reads them as its first
/// message in proto3's JSON mapping. A JSON Schema that cannot be compiled for
/// validation (one that `$ref`s documents it does not carry) makes every event's problem that
/// reason: an event that could not be checked is never passed as valid.
pub enum EventChecker<'a> {
    Avro(&'a crate::schema::AvroSchema),
    Json(Result<JsonValidator, String>),
    Protobuf(&'a crate::schema::ProtobufSchema),
}

impl<'a> EventChecker<'a> {
    pub fn new(schema: &'a crate::schema::Schema) -> EventChecker<'a> {
        EventChecker::with_references(schema, &[])
    }

    /// For a schema parsed with references: the same `(name, text)` pairs (Avro's are part
    /// of the parsed schema already).
    pub fn with_references(schema: &'a crate::schema::Schema, references: &[(&str, &str)]) -> EventChecker<'a> {
        match schema {
            crate::schema::Schema::Avro(avro) => EventChecker::Avro(avro),
            crate::schema::Schema::Json(json) => {
                EventChecker::Json(JsonValidator::with_references(json.canonical(), references))
            }
            crate::schema::Schema::Protobuf(proto) => EventChecker::Protobuf(proto),
        }
    }

    /// The first way `event` breaks the schema, or `None` when it matches.
    pub fn violation(&self, event: &Value) -> Option<Violation> {
        match self {
            EventChecker::Avro(avro) => avro::encode_json(avro, event).err(),
            EventChecker::Json(Ok(validator)) => validator.check_value(event).into_iter().next(),
            EventChecker::Json(Err(e)) => Some(Violation {
                path: String::new(),
                reason: format!("the schema cannot be used to validate events: {e}"),
            }),
            EventChecker::Protobuf(proto) => protobuf::check_json(proto, event).err(),
        }
    }
}

/// A compiled JSON Schema for checking payloads.
pub struct JsonValidator {
    inner: jsonschema::Validator,
    /// Stack that compiling and validating may need, in bytes (see [`stack_needed`]).
    stack: usize,
}

/// Stack a validator may use per level of schema nesting, generously: measured at about
/// 350 bytes in a debug build (`jsonschema` 0.61, a recursive schema 120 levels deep), and
/// release builds use less.
const STACK_PER_LEVEL: usize = 4 * 1024;
/// Levels of instance nesting a payload can have: `serde_json` refuses deeper documents.
const MAX_INSTANCE_DEPTH: usize = 128;
/// Never ask for more stack than this, whatever the estimate.
const MAX_STACK: usize = 512 * 1024 * 1024;

/// How much stack validating against a schema of this nesting may take. Validation goes
/// down the instance, at each level through at most one chain of in-place subschemas; a
/// schema that does not recurse also stops at its own deepest chain. Most schemas need far less than the stack
/// a request runs on, and validate right there; the others get a stack of their own
/// (`stacker`), so that no payload can overflow the thread and abort the process.
fn stack_needed(nesting: crate::schema::json::Nesting) -> usize {
    // Each level of the instance costs at most one in-place chain and one step down.
    let per_instance_depth = (nesting.in_place + 1) * MAX_INSTANCE_DEPTH;
    let levels = if nesting.recursive {
        per_instance_depth
    } else {
        nesting.depth.min(per_instance_depth)
    };
    levels.saturating_mul(STACK_PER_LEVEL).clamp(64 * 1024, MAX_STACK)
}

impl JsonValidator {
    /// Compiles a schema text; draft 7 unless `$schema` names another, as the registry reads
    /// schemas.
    pub fn new(schema: &str) -> Result<JsonValidator, String> {
        JsonValidator::with_references(schema, &[])
    }

    /// Compiles a schema whose `$ref`s name other documents: `references` are `(name,
    /// text)` pairs, the name as the `$ref` writes it (a relative name resolves against the
    /// schema's default base, as the registry resolves it).
    pub fn with_references(schema: &str, references: &[(&str, &str)]) -> Result<JsonValidator, String> {
        // Herald's own reading of the schema says how deep validating against it can go
        // (and refuses what no validator could finish with).
        let named: Vec<crate::schema::Reference<'_>> = references
            .iter()
            .map(|&(name, schema)| crate::schema::Reference { name, schema })
            .collect();
        let nesting = crate::schema::json::parse(schema, &named)
            .map_err(|e| format!("the schema cannot be used: {e}"))?
            .nesting();
        let stack = stack_needed(nesting);
        stacker::maybe_grow(stack, stack + 1024 * 1024, || {
            Self::compile(schema, references).map(|inner| JsonValidator { inner, stack })
        })
    }

    fn compile(schema: &str, references: &[(&str, &str)]) -> Result<jsonschema::Validator, String> {
        let document: Value = serde_json::from_str(schema).map_err(|e| format!("the schema is not JSON: {e}"))?;
        let mut documents = Vec::with_capacity(references.len());
        for (name, text) in references {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("reference {name} is not JSON: {e}"))?;
            let uri = if name.contains(':') {
                name.to_string()
            } else {
                format!("json-schema:///{name}")
            };
            documents.push((uri, value));
        }
        let registry = jsonschema::Registry::new()
            .extend(documents.iter().map(|(uri, value)| (uri.as_str(), value)))
            .and_then(|builder| builder.prepare())
            .map_err(|e| format!("the schema's references cannot be used: {e}"))?;
        let mut options = jsonschema::options();
        if document.get("$schema").is_none() {
            options = options.with_draft(jsonschema::Draft::Draft7);
        }
        options
            .with_registry(&registry)
            .build(&document)
            .map_err(|e| format!("the schema cannot be compiled: {e}"))
    }

    /// Every violation of `payload` (JSON text), or none.
    pub fn check(&self, payload: &[u8]) -> Vec<Violation> {
        self.parse_valid(payload).err().unwrap_or_default()
    }

    /// `payload` (JSON text) parsed, if it is valid; else every violation, as
    /// [`JsonValidator::check`] gives them. For callers that read the value afterwards
    /// (data-contract rules), so that it is parsed once.
    pub fn parse_valid(&self, payload: &[u8]) -> Result<Value, Vec<Violation>> {
        let instance: Value = serde_json::from_slice(payload).map_err(|e| {
            vec![Violation {
                path: String::new(),
                reason: format!("not JSON: {e}"),
            }]
        })?;
        let violations = self.check_value(&instance);
        if violations.is_empty() {
            Ok(instance)
        } else {
            Err(violations)
        }
    }

    /// The violations of `instance`, capped: each distinct reason once (with how many more
    /// places share it), at most [`MAX_DISTINCT_VIOLATIONS`] of them, then one line counting
    /// the rest. A 10 MB record with a million violations gets a short answer.
    pub fn check_value(&self, instance: &Value) -> Vec<Violation> {
        stacker::maybe_grow(self.stack, self.stack + 1024 * 1024, || {
            let mut capped = CappedViolations::default();
            for error in self.inner.iter_errors(instance) {
                capped.add(error.instance_path().to_string(), error.to_string());
            }
            capped.finish()
        })
    }
}

/// Distinct violation messages reported for one payload, at most.
pub const MAX_DISTINCT_VIOLATIONS: usize = 20;
/// A reason longer than this is cut: validators quote the offending value, which may be
/// megabytes long.
const MAX_REASON_CHARS: usize = 300;

/// Collects violations with a bounded memory and output size.
#[derive(Default)]
struct CappedViolations {
    /// The first place of each distinct reason, with how many times the reason came up.
    kept: Vec<(Violation, usize)>,
    /// Violations whose reason is not among the kept ones, past the cap.
    more: usize,
}

impl CappedViolations {
    fn add(&mut self, path: String, reason: String) {
        let reason = shorten(reason);
        if let Some((_, count)) = self.kept.iter_mut().find(|(kept, _)| kept.reason == reason) {
            *count += 1;
        } else if self.kept.len() < MAX_DISTINCT_VIOLATIONS {
            self.kept.push((Violation { path, reason }, 1));
        } else {
            self.more += 1;
        }
    }

    fn finish(self) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .kept
            .into_iter()
            .map(|(mut violation, count)| {
                if count > 1 {
                    violation.reason = format!("{} (and {} more places like it)", violation.reason, count - 1);
                }
                violation
            })
            .collect();
        if self.more > 0 {
            out.push(Violation {
                path: String::new(),
                reason: format!("… and {} more violations", self.more),
            });
        }
        out
    }
}

fn shorten(reason: String) -> String {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &reason[..cut]),
        None => reason,
    }
}

/// A payload in Confluent's framing.
pub fn frame(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The schema id of a payload in Confluent's framing, if it is framed: the four bytes read
/// unsigned. Java clients read them signed, so a value above 2^31-1 names no schema they
/// could use; callers check the range (the broker refuses such records) rather than cast.
pub fn framed_id(payload: &[u8]) -> Option<u32> {
    match payload {
        [0, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn json_schemas_that_ref_other_documents_validate_with_them() {
        let schema = r#"{"type":"object","required":["amount"],"properties":{"amount":{"$ref":"money.json"}}}"#;
        let money = r#"{"type":"object","required":["units"],"properties":{"units":{"type":"integer"}}}"#;
        let validator = JsonValidator::with_references(schema, &[("money.json", money)]).unwrap();
        assert!(validator
            .check_value(&serde_json::json!({"amount": {"units": 5}}))
            .is_empty());
        let bad = validator.check_value(&serde_json::json!({"amount": {"units": "five"}}));
        assert_eq!(bad.first().map(|v| v.path.as_str()), Some("/amount/units"));
        // Without the document there is nothing to check against, and that is said.
        let parsed = crate::schema::Schema::parse(
            crate::schema::SchemaType::Json,
            schema,
            &[crate::schema::Reference {
                name: "money.json",
                schema: money,
            }],
        )
        .unwrap();
        let blind = EventChecker::new(&parsed).violation(&serde_json::json!({"amount": {"units": 5}}));
        assert!(blind.is_some_and(|v| v.reason.contains("cannot be used to validate")));
        let seeing = EventChecker::with_references(&parsed, &[("money.json", money)]);
        assert!(seeing.violation(&serde_json::json!({"amount": {"units": 5}})).is_none());
    }

    use super::*;

    const ORDER: &str = r#"{"type":"object","properties":{"id":{"type":"string"},"lines":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer","minimum":1}},"required":["qty"]}}},"required":["id"],"additionalProperties":false}"#;

    #[test]
    fn violations_name_the_place_and_the_reason() {
        let validator = JsonValidator::new(ORDER).unwrap();
        assert!(validator.check(br#"{"id":"o-1","lines":[{"qty":2}]}"#).is_empty());
        let violations = validator.check(br#"{"lines":[{"qty":0},{}],"extra":true}"#);
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&""), "{violations:?}");
        assert!(paths.contains(&"/lines/0/qty"), "{violations:?}");
        assert!(paths.contains(&"/lines/1"), "{violations:?}");
        assert!(violations.iter().any(|v| v.reason.contains("id")), "{violations:?}");
        let broken = validator.check(b"{\"id\": ");
        assert_eq!(broken.len(), 1);
        assert!(broken[0].reason.starts_with("not JSON"));
    }

    #[test]
    fn drafts_follow_the_schema() {
        // Draft 7 by default: `exclusiveMinimum` is a number.
        let validator = JsonValidator::new(r#"{"type":"number","exclusiveMinimum":0}"#).unwrap();
        assert!(!validator.check(b"0").is_empty());
        assert!(validator.check(b"1").is_empty());
        assert!(JsonValidator::new("{not json").is_err());
    }

    #[test]
    fn framing_is_magic_zero_and_a_big_endian_id() {
        assert_eq!(framed_id(&[0, 0, 0, 1, 7, 42]), Some(263));
        assert_eq!(framed_id(&[0, 0, 0, 0, 1]), Some(1));
        assert_eq!(framed_id(&[1, 0, 0, 0, 1]), None);
        assert_eq!(framed_id(&[0, 0, 0]), None);
        assert_eq!(framed_id(b"{\"a\":1}"), None);
    }
}
