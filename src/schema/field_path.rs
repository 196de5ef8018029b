//! Dotted field paths: the one way every report names a field for people (compatibility
//! findings, diff and changelog entries, lint findings, the docs field table), beside the
//! JSON pointer it also carries.
//!
//! The convention, for Avro and JSON Schema alike:
//!
//! - record fields and object properties are joined by `.`: `customer.address.city`;
//! - `[]` follows an array for its items: `items[].sku` (tuple positions too: the pointer
//!   says which position);
//! - `{}` follows a map (Avro) or an object's `additionalProperties` for its values:
//!   `tags{}`, `prices{}.amount`;
//! - union branches (Avro) and `anyOf`/`oneOf`/`allOf`/`not` members (JSON Schema) add no
//!   segment: the field `customer` of type `["null", Customer]` has `customer.email`. This
//!   is what Confluent's metadata tag globs and the docs field table use, and a report about
//!   a particular branch names the branch's type in its sentence;
//! - the empty path is the schema itself (its top-level type), which has no field name.
//!
//! Names are not escaped: a JSON Schema property name containing `.` reads ambiguously here,
//! and the report's JSON pointer stays exact.

/// One step down from a field to what it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A record field or an object property, by name.
    Field(&'a str),
    /// An array's items.
    Items,
    /// A map's values, or the values of an object's other properties.
    Values,
}

/// `path` followed by `step`.
pub fn push(path: &str, step: Step<'_>) -> String {
    let mut out = path.to_string();
    append(&mut out, step);
    out
}

/// The path of a walk given as steps from the top.
pub fn of_steps<'a>(steps: impl IntoIterator<Item = Step<'a>>) -> String {
    let mut out = String::new();
    for step in steps {
        append(&mut out, step);
    }
    out
}

fn append(out: &mut String, step: Step<'_>) {
    match step {
        Step::Field(name) => {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
        }
        Step::Items => out.push_str("[]"),
        Step::Values => out.push_str("{}"),
    }
}

/// The path as reports store it: `None` for the schema itself, which no field name names.
pub fn named(path: String) -> Option<String> {
    if path.is_empty() {
        None
    } else {
        Some(path)
    }
}

/// The place a finding is about, for a sentence: `field 'customer.address.city'`, or words
/// saying plainly that no single field is concerned.
pub fn describe(path: Option<&str>) -> String {
    match path {
        None | Some("") => "the top level of the schema (no single field)".to_string(),
        // Only `[]`/`{}` markers: the values of a top-level array or map, which have no name.
        Some(p) if p.chars().all(|c| matches!(c, '[' | ']' | '{' | '}')) => {
            format!("the elements of the top-level array or map ('{p}', no field name)")
        }
        Some(p) => format!("field '{p}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_make_dotted_paths() {
        assert_eq!(
            of_steps([Step::Field("customer"), Step::Field("city")]),
            "customer.city"
        );
        assert_eq!(
            of_steps([Step::Field("items"), Step::Items, Step::Field("sku")]),
            "items[].sku"
        );
        assert_eq!(of_steps([Step::Field("tags"), Step::Values]), "tags{}");
        assert_eq!(of_steps([Step::Items, Step::Field("sku")]), "[].sku");
        assert_eq!(push("", Step::Field("amount")), "amount");
        assert_eq!(of_steps([]), "");
    }

    #[test]
    fn descriptions_name_the_field_or_say_there_is_none() {
        assert_eq!(describe(Some("customer.city")), "field 'customer.city'");
        assert_eq!(describe(None), "the top level of the schema (no single field)");
        assert_eq!(describe(Some("")), "the top level of the schema (no single field)");
        assert!(describe(Some("[]")).contains("top-level array"));
        assert_eq!(named(String::new()), None);
        assert_eq!(named("a".into()), Some("a".to_string()));
    }
}
