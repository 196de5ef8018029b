//! JSON values written as block-style YAML, for `asyncapi.yaml`.
//!
//! Every string is written double-quoted with JSON's escapes, which YAML's double-quoted
//! style shares, so no scalar can be misread as a number, a boolean, a null or a YAML
//! directive; the output therefore needs no YAML library to be correct.

use serde_json::Value;

pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_members(&mut out, value, 0),
        Value::Array(items) if !items.is_empty() => write_members(&mut out, value, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        Value::String(text) => quoted(text),
        other => other.to_string(),
    }
}

/// A double-quoted scalar. serde_json's JSON escapes are valid YAML escapes; on top of
/// them, characters YAML readers refuse or read as line breaks (DEL, C1 controls, NEL, the
/// line and paragraph separators, the byte-order mark) are escaped too.
fn quoted(text: &str) -> String {
    let json = Value::String(text.to_string()).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// YAML limits an implicit key (`key: value`) to 1024 characters; longer keys are written
/// explicitly (`? key` then `: value`), which has no limit.
const IMPLICIT_KEY_LIMIT: usize = 1024;

/// Writes a non-empty object or array at `indent` spaces.
fn write_members(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                let key = quoted(key);
                out.push_str(&pad);
                if key.chars().count() > IMPLICIT_KEY_LIMIT {
                    out.push_str("? ");
                    out.push_str(&key);
                    out.push('\n');
                    out.push_str(&pad);
                } else {
                    out.push_str(&key);
                }
                out.push(':');
                if is_block(member) {
                    out.push('\n');
                    write_members(out, member, indent + 2);
                } else {
                    out.push(' ');
                    out.push_str(&scalar_text(member));
                    out.push('\n');
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                if is_block(item) {
                    out.push('\n');
                    write_members(out, item, indent + 2);
                } else {
                    out.push(' ');
                    out.push_str(&scalar_text(item));
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_are_indented_and_strings_quoted() {
        let yaml = to_yaml(&json!({
            "asyncapi": "3.0.0",
            "info": {"title": "no: problem", "version": "1"},
            "list": [1, "yes", {"a": null, "b": []}, [true]],
            "empty": {}
        }));
        assert_eq!(
            yaml,
            "\"asyncapi\": \"3.0.0\"\n\"info\":\n  \"title\": \"no: problem\"\n  \"version\": \"1\"\n\
             \"list\":\n  - 1\n  - \"yes\"\n  -\n    \"a\": null\n    \"b\": []\n  -\n    - true\n\"empty\": {}\n"
        );
    }

    #[test]
    fn keys_past_yaml_implicit_limit_are_written_explicitly() {
        let long = "k".repeat(2000);
        let yaml = to_yaml(&json!({ long.clone(): {"a": 1}, "short": "v", "b": { long.clone(): "x" } }));
        assert_eq!(
            yaml,
            format!("? \"{long}\"\n:\n  \"a\": 1\n\"short\": \"v\"\n\"b\":\n  ? \"{long}\"\n  : \"x\"\n")
        );
    }

    #[test]
    fn control_characters_and_quotes_are_escaped() {
        assert_eq!(to_yaml(&json!({"k": "a\"b\n\u{1}"})), "\"k\": \"a\\\"b\\n\\u0001\"\n");
        assert_eq!(
            to_yaml(&json!({"k\u{85}": "x\u{2028}y\u{feff}\u{7f}"})),
            "\"k\\u0085\": \"x\\u2028y\\ufeff\\u007f\"\n"
        );
    }
}
