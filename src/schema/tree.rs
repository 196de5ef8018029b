//! A JSON tree that borrows from the text it was parsed from.
//!
//! `serde_json::Value` allocates every string and hashes every key into an ordered map;
//! for schema text that is most of the cost of parsing a schema. This tree keeps strings
//! borrowed (unless they contain escapes), objects as vectors of members in document order,
//! and numbers as `serde_json::Number`, and can print itself back compactly. It goes through
//! serde_json's parser, so errors, positions and the 128-level nesting limit are the same.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// One JSON value, borrowing from the source text where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    /// In a tree built by [`Json::parse`], borrowed exactly when the source spelled the
    /// string without escape sequences; the printer relies on that (see `write_string`).
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in document order; a repeated key keeps its first position and last value,
    /// as `serde_json` does.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    pub fn parse(text: &'a str) -> Result<Json<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at an RFC 6901 pointer (`""` is the whole document).
    pub fn pointer(&self, pointer: &str) -> Option<&Json<'a>> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        let mut current = self;
        for token in rest.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            current = match current {
                Json::Object(_) => current.get(&token)?,
                Json::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Json<'a>)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// An owned `serde_json::Value` of this tree (for the few parts a model keeps).
    pub fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => {
                Value::Object(members.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect())
            }
        }
    }

    /// Appends the compact JSON text of this tree, byte for byte what `serde_json` prints.
    pub fn write_compact(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Number(n) => {
                use fmt::Write;
                let _ = write!(out, "{n}");
            }
            Json::String(s) => write_string(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, key);
                    out.push(':');
                    value.write_compact(out);
                }
                out.push('}');
            }
        }
    }
}

impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_compact(&mut text);
        f.write_str(&text)
    }
}

/// A string of the tree as a JSON literal. A borrowed string was written in the source without
/// any escape sequence, and valid JSON holds no raw quote, backslash or control character, so
/// it needs no escaping and is copied as it is.
#[allow(clippy::ptr_arg)] // the Cow's variant is the information used here
fn write_string(out: &mut String, s: &Cow<'_, str>) {
    match s {
        Cow::Borrowed(plain) => {
            out.reserve(plain.len() + 2);
            out.push('"');
            out.push_str(plain);
            out.push('"');
        }
        Cow::Owned(owned) => write_escaped(out, owned),
    }
}

/// A JSON string literal, escaped as `serde_json` escapes: quote, backslash and control
/// characters (short forms where JSON has them), nothing else.
pub fn write_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[byte as usize] {
            continue;
        }
        out.push_str(&s[start..i]);
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(byte >> 4) as usize] as char);
                out.push(HEX[(byte & 0xf) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any byte needs escaping. Most strings need none, so this is checked eight bytes
/// at a time (`word` tricks: a borrow out of a byte marks a match).
fn needs_escape(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        if word::has_less_than(word, 0x20) || word::has_byte(word, b'"') || word::has_byte(word, b'\\') {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| NEEDS_ESCAPE[b as usize])
}

/// Eight-bytes-at-a-time byte tests (the classic bit tricks; exact for "is there any").
pub(crate) mod word {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// Some byte of `word` is below `n` (`n` ≤ 128).
    pub fn has_less_than(word: u64, n: u8) -> bool {
        word.wrapping_sub(ONES * n as u64) & !word & HIGHS != 0
    }

    /// Some byte of `word` equals `byte`.
    pub fn has_byte(word: u64, byte: u8) -> bool {
        has_less_than(word ^ (ONES * byte as u64), 1)
    }
}

/// Bytes that JSON strings must escape: control characters, quote and backslash.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> = Vec::with_capacity(map.size_hint().unwrap_or(6));
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            members.push((key, value));
        }
        dedup_keys(&mut members);
        Ok(Json::Object(members))
    }
}

/// A repeated key keeps its first position and takes the last value (`serde_json`'s
/// behaviour with ordered maps). Small objects are checked pairwise, large ones by hashing.
fn dedup_keys(members: &mut Vec<(Cow<'_, str>, Json<'_>)>) {
    let has_duplicates = if members.len() <= 16 {
        members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[..i].iter().any(|(other, _)| other == k))
    } else {
        let mut seen = rustc_hash::FxHashSet::default();
        !members.iter().all(|(k, _)| seen.insert(k.as_ref()))
    };
    if !has_duplicates {
        return;
    }
    let mut kept: Vec<(Cow<'_, str>, Json<'_>)> = Vec::with_capacity(members.len());
    for (key, value) in members.drain(..) {
        match kept.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => kept.push((key, value)),
        }
    }
    *members = kept;
}

/// An object key, borrowed when the text allows.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_what_serde_json_prints() {
        let texts = [
            r#"{"b":1,"a":[true,false,null,1.5,-3,"x\"y\\z\n\u0001\u007f é"],"c":{}}"#,
            r#"[1e3, 0.1, 12345678901234567890, -0.0]"#,
            r#"{"k":1,"k":2,"j":3}"#,
        ];
        for text in texts {
            let tree = Json::parse(text).expect("valid JSON");
            let mut printed = String::new();
            tree.write_compact(&mut printed);
            let value: Value = serde_json::from_str(text).expect("valid JSON");
            assert_eq!(printed, serde_json::to_string(&value).expect("serialises"), "{text}");
            assert_eq!(tree.to_value(), value);
        }
    }

    #[test]
    fn escape_detection_agrees_with_the_table() {
        for len in 0..40 {
            for special in [0u8, 0x1f, b'"', b'\\', b'a', 0x7f, 0xc3] {
                for at in 0..len {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = special;
                    let expected = bytes.iter().any(|&b| NEEDS_ESCAPE[b as usize]);
                    assert_eq!(needs_escape(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn borrows_plain_strings() {
        let tree = Json::parse(r#"{"name":"plain","esc":"a\nb"}"#).expect("valid JSON");
        assert!(matches!(tree.get("name"), Some(Json::String(Cow::Borrowed("plain")))));
        assert!(matches!(tree.get("esc"), Some(Json::String(Cow::Owned(_)))));
    }

    #[test]
    fn keeps_the_nesting_limit() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let err = Json::parse(&deep).unwrap_err();
        assert!(err.to_string().contains("recursion limit exceeded"), "{err}");
    }
}
