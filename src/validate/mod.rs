//! Payloads checked against registered schemas before they are produced. Pure: bytes and
//! schema text in, violations out.
//!
//! - [`JsonValidator`] checks JSON payloads against a JSON Schema, every violation with the
//!   instance's JSON pointer;
//! - [`avro`] checks Avro binary data against a schema and encodes JSON input as Avro;
//! - [`framed_id`] reads Confluent's wire framing (magic byte 0, then the schema id as a
//!   big-endian u32) and [`frame`] writes it.

pub mod avro;

use serde_json::Value;

/// One way a payload breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the payload (`""` for the whole payload).
    pub path: String,
    pub reason: String,
}

/// The first way a JSON event breaks `schema` (an Avro schema reads it as Avro's JSON input),
/// or `None` when it matches. A JSON Schema that cannot be compiled for validation (one that
/// `$ref`s documents it does not carry) is reported as the event's problem: an event that
/// could not be checked is never passed as valid.
pub fn event_violation(schema: &crate::schema::Schema, event: &Value) -> Option<Violation> {
    match schema {
        crate::schema::Schema::Avro(avro) => avro::encode_json(avro, event).err(),
        crate::schema::Schema::Json(json) => match JsonValidator::new(json.canonical()) {
            Ok(validator) => validator.check_value(event).into_iter().next(),
            Err(e) => Some(Violation {
                path: String::new(),
                reason: format!("the schema cannot be used to validate events: {e}"),
            }),
        },
    }
}

/// A compiled JSON Schema for checking payloads.
pub struct JsonValidator {
    inner: jsonschema::Validator,
}

impl JsonValidator {
    /// Compiles a schema text; draft 7 unless `$schema` names another, as the registry reads
    /// schemas.
    pub fn new(schema: &str) -> Result<JsonValidator, String> {
        let document: Value = serde_json::from_str(schema).map_err(|e| format!("the schema is not JSON: {e}"))?;
        let declares_draft = document.get("$schema").is_some();
        let built = if declares_draft {
            jsonschema::validator_for(&document)
        } else {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft7)
                .build(&document)
        };
        built
            .map(|inner| JsonValidator { inner })
            .map_err(|e| format!("the schema cannot be compiled: {e}"))
    }

    /// Every violation of `payload` (JSON text), or none.
    pub fn check(&self, payload: &[u8]) -> Vec<Violation> {
        let instance: Value = match serde_json::from_slice(payload) {
            Ok(value) => value,
            Err(e) => {
                return vec![Violation {
                    path: String::new(),
                    reason: format!("not JSON: {e}"),
                }]
            }
        };
        self.check_value(&instance)
    }

    pub fn check_value(&self, instance: &Value) -> Vec<Violation> {
        self.inner
            .iter_errors(instance)
            .map(|e| Violation {
                path: e.instance_path().to_string(),
                reason: e.to_string(),
            })
            .collect()
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

/// The schema id of a payload in Confluent's framing, if it is framed.
pub fn framed_id(payload: &[u8]) -> Option<u32> {
    match payload {
        [0, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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
