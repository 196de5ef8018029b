//! Confluent's normalised form of an Avro schema (`normalize=true` on registration, lookup
//! and compatibility requests, or a subject's `normalize` setting).
//!
//! Confluent prints the schema in its normalised layout and parses that text again, so what
//! it stores is the ordinary canonical text (Java's `Schema.toString()`) of a schema whose
//! unordered parts have been put in order. That is what this module does to the model
//! before printing it with [`super::canonical`]: custom properties sorted by name (a valid
//! logical type's own attributes first), aliases sorted, the keys of objects inside
//! property values and defaults sorted at every level, and an empty `doc` on a named type
//! dropped. Two schemas that differ only in those ways get one text, hence one id.
//! References are sorted and de-duplicated by the registry, which owns them.

use serde_json::Value;

use super::{canonical, AvroSchema, Kind};
use crate::schema::sort_keys;

impl AvroSchema {
    /// The canonical text of this schema in Confluent's normalised form.
    pub fn normalized(&self) -> String {
        let mut copy = self.clone();
        // Which nodes hold floating-point values, for the defaults below.
        let floating: Vec<bool> = copy.nodes.iter().map(|n| self.floating(&n.kind)).collect();
        for node in &mut copy.nodes {
            let base = node.kind.type_name();
            order_props(&mut node.props, base);
            match &mut node.kind {
                Kind::Record(record) => {
                    record.aliases.sort();
                    drop_empty(&mut record.doc);
                    for field in &mut record.fields {
                        field.aliases.sort();
                        order_props(&mut field.props, "");
                        if let Some(default) = &mut field.default {
                            sort_keys(default);
                            // Confluent prints a default as the field's type reads it: a
                            // whole number for a float or double field is written `0.0`.
                            if floating[field.schema] {
                                if let Some(whole) = default.as_i64().filter(|_| !default.is_f64()) {
                                    if let Some(number) = serde_json::Number::from_f64(whole as f64) {
                                        *default = Value::Number(number);
                                    }
                                }
                            }
                        }
                    }
                }
                Kind::Enum(e) => {
                    e.aliases.sort();
                    drop_empty(&mut e.doc);
                }
                Kind::Fixed(f) => {
                    f.aliases.sort();
                    drop_empty(&mut f.doc);
                }
                _ => {}
            }
        }
        canonical::print(&copy, self.canonical.len())
    }

    /// Whether values of this type, or of a union's first branch (the one a default is
    /// for), are floats or doubles.
    fn floating(&self, kind: &Kind) -> bool {
        match kind {
            Kind::Float | Kind::Double => true,
            Kind::Union { branches } => branches
                .first()
                .is_some_and(|&b| matches!(self.kind(b), Kind::Float | Kind::Double)),
            _ => false,
        }
    }
}

fn drop_empty(doc: &mut Option<String>) {
    if doc.as_deref() == Some("") {
        *doc = None;
    }
}

/// Sorts properties by name. A logical type Avro recognises on this type keeps its
/// attributes first (`logicalType`, then a decimal's `precision` and non-zero `scale`), as
/// Confluent writes them before the sorted rest.
fn order_props(props: &mut [(String, Value)], base: &str) {
    for (_, value) in props.iter_mut() {
        sort_keys(value);
    }
    let prop = |name: &str| props.iter().find(|(key, _)| key == name).map(|(_, value)| value);
    let logical = prop("logicalType")
        .and_then(Value::as_str)
        .filter(|logical| recognised(logical, base))
        .filter(|logical| *logical != "decimal" || valid_decimal(prop("precision"), prop("scale")))
        .map(str::to_string);
    let rank = |key: &str, value: &Value| -> u8 {
        match (logical.as_deref(), key) {
            (Some(_), "logicalType") => 0,
            (Some("decimal"), "precision") => 1,
            (Some("decimal"), "scale") if value.as_i64() != Some(0) => 2,
            _ => 3,
        }
    };
    props.sort_by(|(a, va), (b, vb)| (rank(a, va), a).cmp(&(rank(b, vb), b)));
}

/// Whether the Avro release Confluent 7.x parses with (1.11) reads `logical` as a logical
/// type of `base` (Java's `Schema.Type` name); an unknown or misplaced one is a plain
/// property to it.
fn recognised(logical: &str, base: &str) -> bool {
    matches!(
        (logical, base),
        ("decimal", "BYTES" | "FIXED")
            | ("uuid", "STRING")
            | ("date" | "time-millis", "INT")
            | (
                "time-micros"
                    | "timestamp-millis"
                    | "timestamp-micros"
                    | "local-timestamp-millis"
                    | "local-timestamp-micros",
                "LONG"
            )
    )
}

/// A decimal Avro accepts: a positive precision, and a scale from 0 to the precision.
fn valid_decimal(precision: Option<&Value>, scale: Option<&Value>) -> bool {
    let Some(precision) = precision.and_then(Value::as_i64).filter(|&p| p > 0) else {
        return false;
    };
    match scale {
        None => true,
        Some(scale) => scale.as_i64().is_some_and(|s| (0..=precision).contains(&s)),
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::avro::parse;

    fn normalized(text: &str) -> String {
        parse(text, &[]).expect("parses").normalized()
    }

    #[test]
    fn unordered_parts_are_put_in_order() {
        let a = r#"{"type":"record","name":"Pay","namespace":"com.acme","doc":"","aliases":["Zed","Alpha"],
            "zeta":1,"alpha":{"y":1,"x":2},
            "fields":[{"name":"at","type":{"type":"long","scale":3,"logicalType":"timestamp-millis"},
                       "aliases":["when","at_old"],"b":true,"a":false,
                       "default":0},
                      {"name":"meta","type":{"type":"map","values":"string"},"default":{"k2":"v","k1":"w"}},
                      {"name":"amount","type":{"type":"bytes","scale":2,"precision":9,"logicalType":"decimal","connect.name":"x"}}]}"#;
        let b = r#"{"fields":[{"type":{"logicalType":"timestamp-millis","scale":3,"type":"long"},"name":"at",
                       "a":false,"b":true,"aliases":["at_old","when"],"default":0},
                      {"name":"meta","default":{"k1":"w","k2":"v"},"type":{"values":"string","type":"map"}},
                      {"name":"amount","type":{"connect.name":"x","logicalType":"decimal","precision":9,"scale":2,"type":"bytes"}}],
            "alpha":{"x":2,"y":1},"zeta":1,"aliases":["Alpha","Zed"],"name":"Pay","type":"record","namespace":"com.acme"}"#;
        assert_ne!(
            parse(a, &[]).unwrap().canonical(),
            parse(b, &[]).unwrap().canonical(),
            "without normalisation the orders differ"
        );
        assert_eq!(normalized(a), normalized(b));
        let text = normalized(a);
        assert!(
            text.starts_with(r#"{"type":"record","name":"Pay","namespace":"com.acme","fields":["#),
            "{text}"
        );
        assert!(
            !text.contains(r#""doc":"""#),
            "an empty doc on a named type goes: {text}"
        );
        assert!(text.contains(r#""alpha":{"x":2,"y":1},"zeta":1"#), "{text}");
        assert!(text.contains(r#""aliases":["Alpha","Zed"]"#), "{text}");
        assert!(
            text.contains(r#""aliases":["at_old","when"],"a":false,"b":true"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"type":"long","logicalType":"timestamp-millis","scale":3}"#),
            "the logical type first, the rest sorted: {text}"
        );
        assert!(
            text.contains(r#"{"type":"bytes","logicalType":"decimal","precision":9,"scale":2,"connect.name":"x"}"#),
            "a decimal's precision and scale follow it: {text}"
        );
        assert!(text.contains(r#""default":{"k1":"w","k2":"v"}"#), "{text}");
    }

    #[test]
    fn an_unrecognised_logical_type_is_sorted_as_any_property() {
        let text = normalized(r#"{"type":"string","logicalType":"made-up","a":1}"#);
        assert_eq!(text, r#"{"type":"string","a":1,"logicalType":"made-up"}"#);
        // Recognised only on the types Avro allows it on.
        let text = normalized(r#"{"type":"int","logicalType":"timestamp-millis","a":1}"#);
        assert_eq!(text, r#"{"type":"int","a":1,"logicalType":"timestamp-millis"}"#);
        let text = normalized(r#"{"type":"int","a":1,"logicalType":"date"}"#);
        assert_eq!(text, r#"{"type":"int","logicalType":"date","a":1}"#);
    }

    #[test]
    fn whole_number_defaults_of_floating_fields_are_written_as_floats() {
        let text = normalized(
            r#"{"type":"record","name":"R","fields":[
                {"name":"d","type":"double","default":0},
                {"name":"f","type":["float","null"],"default":1},
                {"name":"l","type":"long","default":2},
                {"name":"n","type":["null","double"],"default":null}]}"#,
        );
        assert!(text.contains(r#""name":"d","type":"double","default":0.0"#), "{text}");
        assert!(
            text.contains(r#""name":"f","type":["float","null"],"default":1.0"#),
            "{text}"
        );
        assert!(text.contains(r#""name":"l","type":"long","default":2"#), "{text}");
        assert!(text.contains(r#""default":null"#), "{text}");
    }

    #[test]
    fn an_invalid_decimal_is_sorted_as_plain_properties() {
        let text = normalized(r#"{"type":"bytes","scale":5,"precision":2,"logicalType":"decimal","a":1}"#);
        assert_eq!(
            text,
            r#"{"type":"bytes","a":1,"logicalType":"decimal","precision":2,"scale":5}"#
        );
        let text = normalized(r#"{"type":"bytes","logicalType":"decimal","precision":4,"a":1}"#);
        assert_eq!(text, r#"{"type":"bytes","logicalType":"decimal","precision":4,"a":1}"#);
        let text = normalized(r#"{"type":"bytes","logicalType":"decimal","precision":0,"a":1}"#);
        assert_eq!(text, r#"{"type":"bytes","a":1,"logicalType":"decimal","precision":0}"#);
    }

    #[test]
    fn a_field_doc_and_an_already_ordered_schema_are_kept() {
        let text = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string","doc":""}]}"#;
        assert_eq!(normalized(text), parse(text, &[]).unwrap().canonical());
    }
}
