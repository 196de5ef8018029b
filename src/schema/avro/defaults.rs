//! Does a field's `default` fit the field's type? (Java's `validateDefaults`.)

use serde_json::Value;

use super::{Kind, Node, NodeId};

/// Returns a short reason when `value` is not a valid default for the type `id`.
///
/// A union default may match any branch: Avro 1.12 and Confluent 8 accept that, and the
/// spec's older "first branch only" rule is a lint, not a parse error. Recursive record
/// defaults are bounded by the depth of the JSON value, so this terminates.
pub(super) fn check(nodes: &[Node], id: NodeId, value: &Value) -> Result<(), String> {
    match (&nodes[id].kind, value) {
        (Kind::Null, Value::Null) => Ok(()),
        (Kind::Boolean, Value::Bool(_)) => Ok(()),
        (Kind::Int, Value::Number(n)) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => Ok(()),
            _ => Err(format!("{n} is not a 32-bit integer")),
        },
        (Kind::Long, Value::Number(n)) => match n.as_i64() {
            Some(_) => Ok(()),
            None => Err(format!("{n} is not a 64-bit integer")),
        },
        (Kind::Float | Kind::Double, Value::Number(_)) => Ok(()),
        (Kind::Float | Kind::Double, Value::String(s)) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
            Ok(())
        }
        (Kind::Bytes, Value::String(s)) => byte_string(s).map(|_| ()),
        (Kind::String, Value::String(_)) => Ok(()),
        (Kind::Fixed(fixed), Value::String(s)) => {
            let len = byte_string(s)?;
            if len as u64 == fixed.size {
                Ok(())
            } else {
                Err(format!(
                    "a fixed of size {} needs {} bytes, the default has {len}",
                    fixed.size, fixed.size
                ))
            }
        }
        (Kind::Enum(e), Value::String(s)) => {
            if e.symbols.iter().any(|sym| sym == s) {
                Ok(())
            } else {
                Err(format!("\"{s}\" is not a symbol of enum {}", e.name.full()))
            }
        }
        (Kind::Array { items }, Value::Array(values)) => values.iter().try_for_each(|v| check(nodes, *items, v)),
        (Kind::Map { values }, Value::Object(entries)) => entries.values().try_for_each(|v| check(nodes, *values, v)),
        (Kind::Record(record), Value::Object(entries)) => {
            // Unknown keys are ignored, as Java ignores them.
            for field in &record.fields {
                match entries.get(&field.name) {
                    Some(v) => check(nodes, field.schema, v).map_err(|e| format!("field \"{}\": {e}", field.name))?,
                    None if field.default.is_some() => {}
                    None => return Err(format!("field \"{}\" is missing and has no default", field.name)),
                }
            }
            Ok(())
        }
        (Kind::Union { branches }, v) => {
            if branches.iter().any(|b| check(nodes, *b, v).is_ok()) {
                Ok(())
            } else {
                Err(format!("{v} matches no branch of the union"))
            }
        }
        (kind, v) => Err(format!("{v} is not a valid {}", kind.type_name().to_lowercase())),
    }
}

/// Avro's JSON encoding of bytes: a string of code points 0–255, one per byte.
fn byte_string(s: &str) -> Result<usize, String> {
    let mut len = 0;
    for c in s.chars() {
        if c as u32 > 0xFF {
            return Err(format!("bytes defaults use characters U+0000..U+00FF, found {c:?}"));
        }
        len += 1;
    }
    Ok(len)
}
