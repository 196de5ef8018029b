//! Avro binary data against an [`AvroSchema`]: checking that bytes decode as exactly one
//! datum, and encoding a JSON value as one.
//!
//! JSON input follows Avro's JSON encoding, with two allowances clients rely on: a union
//! value may be given bare (the first branch it fits is taken) as well as `{"type": value}`,
//! and a record field left out takes its default. `bytes` and `fixed` are strings whose
//! characters are the byte values 0–255, as in Avro's JSON encoding.

use serde_json::Value;

use super::Violation;
use crate::expression::{PartialRecord, Reads};
use crate::schema::avro::{AvroSchema, Kind, NodeId};
use crate::schema::pointer;

/// Past this many array or map items in one datum, decoding stops: zero-byte items
/// (`null`s) would otherwise let a few bytes claim billions of them.
const MAX_ITEMS: u64 = 1 << 24;
/// Nesting deeper than this (recursive types) is refused rather than followed, whatever the
/// schema's shape: the bound is on the datum, so no schema can make decoding recurse deeper.
const MAX_DEPTH: usize = 256;
/// Encoding a bare union value tries the branches in turn; work spent on branches that did
/// not take the value is capped here per datum. Without it nested unions of records make the
/// attempts multiply with every level (thousands of branches, 100 levels deep).
const MAX_WASTED_STEPS: u64 = 1_000_000;
/// Symbols listed in an error message, at most.
const MAX_LISTED_SYMBOLS: usize = 10;

fn violation(path: &str, reason: impl Into<String>) -> Violation {
    Violation {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Checks that `bytes` are exactly one datum of `schema`.
pub fn check_binary(schema: &AvroSchema, bytes: &[u8]) -> Result<(), Violation> {
    read_binary(schema, bytes, Check, None).map(|_| ())
}

/// Decodes `bytes`, exactly one datum of `schema`, into Avro's JSON encoding (unions as
/// `{"type": value}`, `bytes` and `fixed` as strings of the byte values): what
/// [`encode_json`] reads back into the same bytes.
pub fn decode_binary(schema: &AvroSchema, bytes: &[u8]) -> Result<Value, Violation> {
    read_binary(schema, bytes, Json { plain: false }, Some(&Reads::Whole)).map(built)
}

/// Decodes `bytes` into plain values, as a reader's generic record holds them: a union's
/// value without its branch name (what CEL rules see as `message`).
pub fn decode_plain(schema: &AvroSchema, bytes: &[u8]) -> Result<Value, Violation> {
    read_binary(schema, bytes, Json { plain: true }, Some(&Reads::Whole)).map(built)
}

/// Decodes `bytes` straight into the CEL value [`decode_plain`]'s JSON would bind as (see
/// `crate::expression::Scope::bind_json`), borrowing the strings of the payload and the
/// schema instead of copying them, and making only what `reads` asks for: a record holds the
/// fields read, each made in part or whole as asked. What is not made is still walked and
/// checked, so a payload decodes here exactly when [`check_binary`] passes it.
///
/// Rules that select a few fields of a wide record (`message.amount > 0`) pay for those
/// fields, not for a tree of the whole record: see `crate::validate::rules`.
pub fn decode_cel<'a>(
    schema: &'a AvroSchema,
    bytes: &'a [u8],
    reads: &Reads,
) -> Result<Box<dyn cel::common::value::Val + 'a>, Violation> {
    read_binary(schema, bytes, Cel, Some(reads)).map(built)
}

/// The root's value; always made when asked for.
fn built<T>(value: Option<T>) -> T {
    value.expect("a datum asked for is made")
}

/// One walk for checking and decoding, so they cannot disagree on what a datum is; a value
/// is made (by `build`) only where `reads` asks (checking allocates nothing).
fn read_binary<'a, B: Build<'a>>(
    schema: &'a AvroSchema,
    bytes: &'a [u8],
    build: B,
    reads: Option<&Reads>,
) -> Result<Option<B::Value>, Violation> {
    let mut decoder = Decoder {
        schema,
        bytes,
        at: 0,
        items: 0,
        build,
    };
    let value = decoder.datum(schema.root(), "", 0, reads)?;
    if decoder.at != bytes.len() {
        return Err(violation(
            "",
            format!("{} bytes left after the datum", bytes.len() - decoder.at),
        ));
    }
    Ok(value)
}

struct Decoder<'a, B> {
    schema: &'a AvroSchema,
    bytes: &'a [u8],
    at: usize,
    items: u64,
    build: B,
}

/// What a walk makes of the data it reads: nothing ([`Check`]), JSON ([`Json`]) or CEL
/// values ([`Cel`]). Strings and byte strings borrow the payload, enum symbols the schema
/// (both for `'a`).
trait Build<'a> {
    type Value;
    fn null(&self) -> Self::Value;
    fn boolean(&self, b: bool) -> Self::Value;
    /// An `int` or a `long`.
    fn long(&self, n: i64) -> Self::Value;
    /// A `float` (widened) or a `double`.
    fn double(&self, x: f64) -> Self::Value;
    /// `bytes` or `fixed`.
    fn bytes(&self, raw: &'a [u8]) -> Self::Value;
    fn string(&self, text: &'a str) -> Self::Value;
    fn symbol(&self, symbol: &'a str) -> Self::Value;
    /// A union's value, the branch `kind` taken.
    fn branch(&self, kind: &Kind, value: Self::Value) -> Self::Value;
    /// A record's fields (those made), in the schema's order; `partial` when only those
    /// asked for were (never for JSON, which is always made whole).
    fn record(&self, fields: Vec<(&'a str, Self::Value)>, partial: bool) -> Self::Value;
    fn array(&self, items: Vec<Self::Value>) -> Self::Value;
    /// A map's entries as they came; a key given twice keeps its last value.
    fn map(&self, entries: Vec<(&'a str, Self::Value)>) -> Self::Value;
}

/// Checks only: asks for no value, so none is made.
struct Check;

impl<'a> Build<'a> for Check {
    type Value = ();
    fn null(&self) {}
    fn boolean(&self, _: bool) {}
    fn long(&self, _: i64) {}
    fn double(&self, _: f64) {}
    fn bytes(&self, _: &'a [u8]) {}
    fn string(&self, _: &'a str) {}
    fn symbol(&self, _: &'a str) {}
    fn branch(&self, _: &Kind, _: ()) {}
    fn record(&self, _: Vec<(&'a str, ())>, _: bool) {}
    fn array(&self, _: Vec<()>) {}
    fn map(&self, _: Vec<(&'a str, ())>) {}
}

/// Avro's JSON encoding, or with `plain`, unions' values unwrapped.
struct Json {
    plain: bool,
}

impl<'a> Build<'a> for Json {
    type Value = Value;
    fn null(&self) -> Value {
        Value::Null
    }
    fn boolean(&self, b: bool) -> Value {
        Value::Bool(b)
    }
    fn long(&self, n: i64) -> Value {
        Value::from(n)
    }
    fn double(&self, x: f64) -> Value {
        number(x)
    }
    fn bytes(&self, raw: &'a [u8]) -> Value {
        Value::String(byte_chars(raw))
    }
    fn string(&self, text: &'a str) -> Value {
        Value::String(text.to_string())
    }
    fn symbol(&self, symbol: &'a str) -> Value {
        Value::String(symbol.to_string())
    }
    fn branch(&self, kind: &Kind, value: Value) -> Value {
        if self.plain || matches!(kind, Kind::Null) {
            return value;
        }
        let mut wrapped = serde_json::Map::new();
        wrapped.insert(branch_key(kind), value);
        Value::Object(wrapped)
    }
    fn record(&self, fields: Vec<(&'a str, Value)>, _: bool) -> Value {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    fn array(&self, items: Vec<Value>) -> Value {
        Value::Array(items)
    }
    fn map(&self, entries: Vec<(&'a str, Value)>) -> Value {
        self.record(entries, false)
    }
}

/// CEL values, as `crate::expression::Scope::bind_json` binds [`Json`]'s plain values:
/// whole numbers `int`, other numbers `double` (NaN and the infinities, which JSON cannot
/// hold, as the strings `decode_plain` gives them), records and maps as maps; a record
/// made in part as a [`PartialRecord`].
struct Cel;

type CelValue<'a> = Box<dyn cel::common::value::Val + 'a>;

impl<'a> Build<'a> for Cel {
    type Value = CelValue<'a>;
    fn null(&self) -> CelValue<'a> {
        Box::new(cel::common::types::CelNull)
    }
    fn boolean(&self, b: bool) -> CelValue<'a> {
        Box::new(cel::common::types::CelBool::from(b))
    }
    fn long(&self, n: i64) -> CelValue<'a> {
        Box::new(cel::common::types::CelInt::from(n))
    }
    fn double(&self, x: f64) -> CelValue<'a> {
        if x.is_finite() {
            Box::new(cel::common::types::CelDouble::from(x))
        } else {
            Box::new(cel::common::types::CelString::from(x.to_string()))
        }
    }
    fn bytes(&self, raw: &'a [u8]) -> CelValue<'a> {
        Box::new(cel::common::types::CelString::from(byte_chars(raw)))
    }
    fn string(&self, text: &'a str) -> CelValue<'a> {
        Box::new(cel::common::types::CelString::from(text))
    }
    fn symbol(&self, symbol: &'a str) -> CelValue<'a> {
        Box::new(cel::common::types::CelString::from(symbol))
    }
    fn branch(&self, _: &Kind, value: CelValue<'a>) -> CelValue<'a> {
        value
    }
    fn record(&self, fields: Vec<(&'a str, CelValue<'a>)>, partial: bool) -> CelValue<'a> {
        use cel::common::types::{CelMap, CelMapKey};
        if partial {
            return Box::new(PartialRecord(fields));
        }
        let mut map = std::collections::HashMap::with_capacity(fields.len());
        for (name, value) in fields {
            map.insert(CelMapKey::from(name), value);
        }
        Box::new(CelMap::from(map))
    }
    fn array(&self, items: Vec<CelValue<'a>>) -> CelValue<'a> {
        Box::new(cel::common::types::CelList::from(items))
    }
    fn map(&self, entries: Vec<(&'a str, CelValue<'a>)>) -> CelValue<'a> {
        self.record(entries, false)
    }
}

/// Avro's JSON encoding of `bytes` and `fixed`: one character per byte value.
fn byte_chars(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The key of a union branch in Avro's JSON encoding: a named type's full name, otherwise
/// the type's own name (`string`, `array`).
fn branch_key(kind: &Kind) -> String {
    match kind.name() {
        Some(name) => match &name.namespace {
            Some(namespace) => format!("{namespace}.{}", name.name),
            None => name.name.clone(),
        },
        None => kind.type_name().to_ascii_lowercase(),
    }
}

/// A float or double as JSON; NaN and the infinities, which JSON cannot hold, as strings.
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number)
}

impl<'a, B: Build<'a>> Decoder<'a, B> {
    fn take(&mut self, n: usize, path: &str) -> Result<&'a [u8], Violation> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| violation(path, "the data ends early"))?;
        let bytes: &'a [u8] = self.bytes;
        self.at = end;
        Ok(&bytes[end - n..end])
    }

    fn long(&mut self, path: &str) -> Result<i64, Violation> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = self.take(1, path)?[0];
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(violation(path, "a variable-length integer runs past 10 bytes"))
    }

    fn int(&mut self, path: &str) -> Result<i32, Violation> {
        let v = self.long(path)?;
        i32::try_from(v).map_err(|_| violation(path, format!("{v} does not fit an int")))
    }

    fn length(&mut self, path: &str) -> Result<usize, Violation> {
        let n = self.long(path)?;
        usize::try_from(n).map_err(|_| violation(path, format!("negative length {n}")))
    }

    /// The datum of schema node `id`, made as `reads` asks (`None`: only checked).
    fn datum(
        &mut self,
        id: NodeId,
        path: &str,
        depth: usize,
        reads: Option<&Reads>,
    ) -> Result<Option<B::Value>, Violation> {
        if depth > MAX_DEPTH {
            return Err(violation(path, "the datum nests too deep"));
        }
        let schema: &'a AvroSchema = self.schema;
        let wanted = reads.is_some();
        // Below a record, what is read is chosen field by field; anything else is made whole.
        let whole = reads.map(|_| &Reads::Whole);
        Ok(match schema.kind(id) {
            Kind::Null => wanted.then(|| self.build.null()),
            Kind::Boolean => match self.take(1, path)?[0] {
                b @ (0 | 1) => wanted.then(|| self.build.boolean(b == 1)),
                b => return Err(violation(path, format!("{b} is not a boolean (0 or 1)"))),
            },
            Kind::Int => {
                let n = self.int(path)?;
                wanted.then(|| self.build.long(i64::from(n)))
            }
            Kind::Long => {
                let n = self.long(path)?;
                wanted.then(|| self.build.long(n))
            }
            Kind::Float => {
                let raw = self.take(4, path)?;
                let x = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                wanted.then(|| self.build.double(f64::from(x)))
            }
            Kind::Double => {
                let raw = self.take(8, path)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                wanted.then(|| self.build.double(f64::from_le_bytes(le)))
            }
            Kind::Bytes => {
                let n = self.length(path)?;
                let raw = self.take(n, path)?;
                wanted.then(|| self.build.bytes(raw))
            }
            Kind::String => {
                let n = self.length(path)?;
                let text = self.take(n, path)?;
                let text = std::str::from_utf8(text).map_err(|_| violation(path, "a string is not valid UTF-8"))?;
                wanted.then(|| self.build.string(text))
            }
            Kind::Fixed(fixed) => {
                let raw = self.take(fixed.size as usize, path)?;
                wanted.then(|| self.build.bytes(raw))
            }
            Kind::Enum(e) => {
                let index = self.int(path)?;
                if index < 0 || index as usize >= e.symbols.len() {
                    return Err(violation(
                        path,
                        format!("enum index {index} out of range (0..{})", e.symbols.len()),
                    ));
                }
                wanted.then(|| self.build.symbol(&e.symbols[index as usize]))
            }
            Kind::Union { branches } => {
                let index = self.long(path)?;
                let branch = usize::try_from(index)
                    .ok()
                    .and_then(|i| branches.get(i))
                    .ok_or_else(|| violation(path, format!("union branch {index} does not exist")))?;
                // A union is transparent to what is read: `message.customer.id` reads `id`
                // of the record branch of a nullable `customer`.
                self.datum(*branch, path, depth + 1, reads)?
                    .map(|value| self.build.branch(schema.kind(*branch), value))
            }
            Kind::Record(record) => {
                let mut fields = Vec::with_capacity(match reads {
                    None => 0,
                    Some(Reads::Whole) => record.fields.len(),
                    Some(Reads::Fields(read)) => read.len(),
                });
                for field in &record.fields {
                    let reads = reads.and_then(|r| r.field(&field.name));
                    let value = self.datum(field.schema, &pointer::push(path, &field.name), depth + 1, reads)?;
                    if let Some(value) = value {
                        fields.push((field.name.as_str(), value));
                    }
                }
                let partial = reads.is_some_and(|r| !r.is_whole());
                wanted.then(|| self.build.record(fields, partial))
            }
            Kind::Array { items } => {
                let mut values = Vec::new();
                self.blocks(path, depth, |d, i, path| {
                    if let Some(value) = d.datum(*items, &pointer::push_index(path, i), depth + 1, whole)? {
                        values.push(value);
                    }
                    Ok(())
                })?;
                wanted.then(|| self.build.array(values))
            }
            Kind::Map { values } => {
                let mut entries = Vec::new();
                self.blocks(path, depth, |d, _, path| {
                    let n = d.length(path)?;
                    let key = d.take(n, path)?;
                    let key = std::str::from_utf8(key).map_err(|_| violation(path, "a map key is not valid UTF-8"))?;
                    if let Some(value) = d.datum(*values, &pointer::push(path, key), depth + 1, whole)? {
                        entries.push((key, value));
                    }
                    Ok(())
                })?;
                wanted.then(|| self.build.map(entries))
            }
        })
    }

    /// Array and map blocks: a count (negative: followed by a byte size), items, until 0.
    fn blocks(
        &mut self,
        path: &str,
        _depth: usize,
        mut item: impl FnMut(&mut Self, usize, &str) -> Result<(), Violation>,
    ) -> Result<(), Violation> {
        let mut index = 0usize;
        loop {
            let count = self.long(path)?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                self.long(path)?; // the block's size in bytes
            }
            let count = count.unsigned_abs();
            self.items = self.items.saturating_add(count);
            if self.items > MAX_ITEMS {
                return Err(violation(path, "too many items"));
            }
            for _ in 0..count {
                item(self, index, path)?;
                index += 1;
            }
        }
    }
}

/// Encodes `value` (Avro's JSON encoding, with the allowances above) as one datum.
pub fn encode_json(schema: &AvroSchema, value: &Value) -> Result<Vec<u8>, Violation> {
    let mut out = Vec::new();
    let mut steps = Steps::default();
    encode(schema, schema.root(), value, "", &mut out, 0, &mut steps)?;
    Ok(out)
}

/// Counts the work of one encoding, to bound what failed union attempts can cost.
#[derive(Default)]
struct Steps {
    done: u64,
    /// Steps spent inside union attempts that did not take the value.
    wasted: u64,
}

fn put_long(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Avro JSON's byte strings: each character one byte.
fn byte_string(text: &str, path: &str) -> Result<Vec<u8>, Violation> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| {
                violation(
                    path,
                    format!("character {c:?} is not a byte (bytes are written as characters 0-255)"),
                )
            })
        })
        .collect()
}

fn expected(path: &str, what: &str, value: &Value) -> Violation {
    let shown = value.to_string();
    let shown = if shown.len() > 60 {
        format!("{}…", &shown[..60])
    } else {
        shown
    };
    violation(path, format!("expected {what}, found {shown}"))
}

fn encode(
    schema: &AvroSchema,
    id: NodeId,
    value: &Value,
    path: &str,
    out: &mut Vec<u8>,
    depth: usize,
    steps: &mut Steps,
) -> Result<(), Violation> {
    if depth > MAX_DEPTH {
        return Err(violation(path, "the value nests too deep"));
    }
    steps.done += 1;
    match (schema.kind(id), value) {
        (Kind::Null, Value::Null) => Ok(()),
        (Kind::Null, v) => Err(expected(path, "null", v)),
        (Kind::Boolean, Value::Bool(b)) => {
            out.push(u8::from(*b));
            Ok(())
        }
        (Kind::Boolean, v) => Err(expected(path, "a boolean", v)),
        (Kind::Int, Value::Number(n)) => {
            let v = n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| expected(path, "an int (32-bit integer)", value))?;
            put_long(out, i64::from(v));
            Ok(())
        }
        (Kind::Int, v) => Err(expected(path, "an int", v)),
        (Kind::Long, Value::Number(n)) => {
            let v = n
                .as_i64()
                .ok_or_else(|| expected(path, "a long (64-bit integer)", value))?;
            put_long(out, v);
            Ok(())
        }
        (Kind::Long, v) => Err(expected(path, "a long", v)),
        (Kind::Float, Value::Number(n)) => {
            let v = n.as_f64().ok_or_else(|| expected(path, "a float", value))?;
            out.extend_from_slice(&(v as f32).to_le_bytes());
            Ok(())
        }
        (Kind::Float, v) => Err(expected(path, "a float", v)),
        (Kind::Double, Value::Number(n)) => {
            let v = n.as_f64().ok_or_else(|| expected(path, "a double", value))?;
            out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        }
        (Kind::Double, v) => Err(expected(path, "a double", v)),
        (Kind::String, Value::String(s)) => {
            put_bytes(out, s.as_bytes());
            Ok(())
        }
        (Kind::String, v) => Err(expected(path, "a string", v)),
        (Kind::Bytes, Value::String(s)) => {
            put_bytes(out, &byte_string(s, path)?);
            Ok(())
        }
        (Kind::Bytes, v) => Err(expected(path, "bytes (a string)", v)),
        (Kind::Fixed(fixed), Value::String(s)) => {
            let bytes = byte_string(s, path)?;
            if bytes.len() as u64 != fixed.size {
                return Err(violation(
                    path,
                    format!("expected {} bytes, found {}", fixed.size, bytes.len()),
                ));
            }
            out.extend_from_slice(&bytes);
            Ok(())
        }
        (Kind::Fixed(_), v) => Err(expected(path, "fixed bytes (a string)", v)),
        (Kind::Enum(e), Value::String(symbol)) => match e.position(symbol) {
            Some(index) => {
                put_long(out, index as i64);
                Ok(())
            }
            None => Err(violation(
                path,
                format!("{symbol:?} is not one of the symbols {}", listed(&e.symbols)),
            )),
        },
        (Kind::Enum(_), v) => Err(expected(path, "an enum symbol", v)),
        (Kind::Array { items }, Value::Array(values)) => {
            if !values.is_empty() {
                put_long(out, values.len() as i64);
                for (i, v) in values.iter().enumerate() {
                    encode(schema, *items, v, &pointer::push_index(path, i), out, depth + 1, steps)?;
                }
            }
            put_long(out, 0);
            Ok(())
        }
        (Kind::Array { .. }, v) => Err(expected(path, "an array", v)),
        (Kind::Map { values }, Value::Object(map)) => {
            if !map.is_empty() {
                put_long(out, map.len() as i64);
                for (k, v) in map {
                    put_bytes(out, k.as_bytes());
                    encode(schema, *values, v, &pointer::push(path, k), out, depth + 1, steps)?;
                }
            }
            put_long(out, 0);
            Ok(())
        }
        (Kind::Map { .. }, v) => Err(expected(path, "an object (map)", v)),
        (Kind::Record(record), Value::Object(map)) => {
            let mut present = 0;
            for field in &record.fields {
                let field_path = pointer::push(path, &field.name);
                let v = match (map.get(&field.name), &field.default) {
                    (Some(v), _) => {
                        present += 1;
                        v
                    }
                    (None, Some(default)) => default,
                    (None, None) => {
                        return Err(violation(&field_path, "required field is missing (it has no default)"))
                    }
                };
                encode(schema, field.schema, v, &field_path, out, depth + 1, steps)?;
            }
            // Every key that names a field was counted: any other key is unknown. Finding it
            // takes a set of the names, built only then (records can have many fields).
            if present < map.len() {
                let names: rustc_hash::FxHashSet<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
                if let Some(unknown) = map.keys().find(|k| !names.contains(k.as_str())) {
                    return Err(violation(
                        &pointer::push(path, unknown),
                        format!("{} has no field {unknown:?}", record.name.full()),
                    ));
                }
            }
            Ok(())
        }
        (Kind::Record(record), v) => Err(expected(
            path,
            &format!("a {} record (an object)", record.name.full()),
            v,
        )),
        (Kind::Union { branches }, value) => encode_union(schema, branches, value, path, out, depth, steps),
    }
}

/// At most [`MAX_LISTED_SYMBOLS`] names, comma-separated, then how many more there are.
fn listed(symbols: &[String]) -> String {
    let shown = symbols[..symbols.len().min(MAX_LISTED_SYMBOLS)].join(", ");
    match symbols.len().saturating_sub(MAX_LISTED_SYMBOLS) {
        0 => shown,
        more => format!("{shown} … and {more} more"),
    }
}

fn encode_union(
    schema: &AvroSchema,
    branches: &[NodeId],
    value: &Value,
    path: &str,
    out: &mut Vec<u8>,
    depth: usize,
    steps: &mut Steps,
) -> Result<(), Violation> {
    // Avro's JSON encoding: {"<branch type name>": value}, or null for the null branch.
    if let Value::Object(map) = value {
        if map.len() == 1 {
            let (name, inner) = map.iter().next().expect("one entry");
            let named = branches.iter().position(|&b| {
                let kind = schema.kind(b);
                kind.name().is_some_and(|n| n.is(name) || n.name == *name)
                    || kind.type_name().eq_ignore_ascii_case(name)
            });
            if let Some(index) = named {
                put_long(out, index as i64);
                return encode(schema, branches[index], inner, path, out, depth + 1, steps);
            }
        }
    }
    // A bare value: the first branch that takes it.
    for (index, &branch) in branches.iter().enumerate() {
        let mut attempt = Vec::new();
        put_long(&mut attempt, index as i64);
        let before = steps.done;
        if encode(schema, branch, value, path, &mut attempt, depth + 1, steps).is_ok() {
            out.extend_from_slice(&attempt);
            return Ok(());
        }
        // Nested attempts are booked again by the attempt around them: an overcount by the
        // nesting depth at most, which keeps the bound simple and safe.
        steps.wasted += steps.done - before;
        if steps.wasted > MAX_WASTED_STEPS {
            break;
        }
    }
    if steps.wasted > MAX_WASTED_STEPS {
        return Err(violation(
            path,
            format!(
                "the value is too complex to match against the union's branches within limits \
                 ({MAX_WASTED_STEPS} steps); name the branch, as {{\"<type name>\": value}}"
            ),
        ));
    }
    let names: Vec<String> = branches
        .iter()
        .map(|&b| schema.kind(b).type_name().to_ascii_lowercase())
        .collect();
    Err(expected(
        path,
        &format!("one of the union's types ({})", listed(&names)),
        value,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::avro::parse;

    const PAYMENT: &str = r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[
        {"name":"id","type":"string"},
        {"name":"amount","type":"double"},
        {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD"]},"default":"EUR"},
        {"name":"note","type":["null","string"],"default":null},
        {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"qty","type":"int"}]}},"default":[]},
        {"name":"attrs","type":{"type":"map","values":"long"},"default":{}},
        {"name":"hash","type":{"type":"fixed","name":"Hash","size":2},"default":"\u0000\u0001"}
    ]}"#;

    fn schema() -> AvroSchema {
        parse(PAYMENT, &[]).unwrap()
    }

    #[test]
    fn json_input_encodes_and_the_bytes_check() {
        let s = schema();
        let value = serde_json::json!({"id": "p-1", "amount": 12.5, "currency": "USD", "note": "hi",
                                       "lines": [{"qty": 1}, {"qty": 2}], "attrs": {"a": 1}, "hash": "\u{0}\u{ff}"});
        let bytes = encode_json(&s, &value).unwrap();
        // id: len 3 "p-1"; amount: 8 bytes; currency index 1; note branch 1 + "hi"; …
        assert_eq!(&bytes[..4], &[6, b'p', b'-', b'1']);
        check_binary(&s, &bytes).unwrap();
        // Defaults fill missing fields; the union takes {"string": …} too.
        let minimal = serde_json::json!({"id": "p-2", "amount": 1, "note": {"string": "x"}});
        check_binary(&s, &encode_json(&s, &minimal).unwrap()).unwrap();
        // Decoding gives Avro's JSON encoding back, which encodes to the same bytes.
        let decoded = decode_binary(&s, &bytes).unwrap();
        assert_eq!(encode_json(&s, &decoded).unwrap(), bytes, "{decoded}");
    }

    #[test]
    fn bad_json_is_refused_with_its_place() {
        let s = schema();
        for (value, path, words) in [
            (serde_json::json!({"amount": 1}), "/id", "missing"),
            (serde_json::json!({"id": 5, "amount": 1}), "/id", "expected a string"),
            (
                serde_json::json!({"id": "x", "amount": 1, "currency": "GBP"}),
                "/currency",
                "not one of",
            ),
            (
                serde_json::json!({"id": "x", "amount": 1, "lines": [{"qty": 1}, {"qty": "2"}]}),
                "/lines/1/qty",
                "int",
            ),
            (
                serde_json::json!({"id": "x", "amount": 1, "colour": "red"}),
                "/colour",
                "no field",
            ),
            (
                serde_json::json!({"id": "x", "amount": 1, "hash": "abc"}),
                "/hash",
                "2 bytes",
            ),
            (serde_json::json!({"id": "x", "amount": 1, "note": 5}), "/note", "union"),
        ] {
            let err = encode_json(&s, &value).unwrap_err();
            assert_eq!(err.path, path, "{value}: {err:?}");
            assert!(err.reason.contains(words), "{value}: {err:?}");
        }
    }

    /// Binds `plain` (as rules bind JSON) and `cel` and evaluates `text` on each.
    fn on_both(
        text: &str,
        plain: &Value,
        cel: CelValue<'_>,
    ) -> (Result<cel::Value, String>, Result<cel::Value, String>) {
        use crate::expression::{Expression, Scope};
        let expression = Expression::compile_with(text, &["message"]).unwrap();
        let mut json_scope = Scope::new();
        json_scope.bind_json("message", plain);
        let mut cel_scope = Scope::new();
        cel_scope.bind_val("message", cel);
        (expression.value_in(&json_scope), expression.value_in(&cel_scope))
    }

    #[test]
    fn cel_values_are_the_plain_decoding_as_rules_see_it() {
        let s = schema();
        let bytes = encode_json(
            &s,
            &serde_json::json!({"id": "p-1", "amount": 12.5, "currency": "USD", "note": {"string": "hi"},
                                "lines": [{"qty": 1}, {"qty": 2}], "attrs": {"a": 1, "b": -2}, "hash": "\u{0}\u{ff}"}),
        )
        .unwrap();
        let plain = decode_plain(&s, &bytes).unwrap();
        // Made whole, the record is the same CEL value.
        let whole = decode_cel(&s, &bytes, &Reads::Whole).unwrap();
        let (expected, got) = on_both("message", &plain, whole);
        assert!(expected.is_ok());
        assert_eq!(got, expected);
        // Made as an expression reads it, the expression sees the same, errors included.
        for text in [
            "message.id == 'p-1' && message.amount > 12.0 && message.currency == 'USD'",
            "message.note.startsWith('h') && size(message.note) == 2",
            "message.lines[1].qty + message.attrs['b']",
            "message.lines.all(l, l.qty > 0) && message.attrs.b == -2",
            r"message.hash == '\u0000\u00ff'",
            "has(message.note) && !has(message.colour)",
            "message.colour == 'red'",
            "message.id.colour == 'red'",
            "message.lines.qty == 1",
        ] {
            let reads = crate::expression::Expression::compile_with(text, &["message"])
                .unwrap()
                .reads("message");
            assert!(!reads.is_whole(), "{text}");
            let (expected, got) = on_both(text, &plain, decode_cel(&s, &bytes, &reads).unwrap());
            assert_eq!(got, expected, "{text}");
        }
        // Floats JSON cannot hold are the strings the plain decoding gives.
        let floats = parse(
            r#"{"type":"record","name":"F","fields":[{"name":"x","type":"double"},{"name":"y","type":"float"}]}"#,
            &[],
        )
        .unwrap();
        let mut bytes = f64::NAN.to_le_bytes().to_vec();
        bytes.extend_from_slice(&f32::INFINITY.to_le_bytes());
        let plain = decode_plain(&floats, &bytes).unwrap();
        let (expected, got) = on_both(
            "[message.x, message.y]",
            &plain,
            decode_cel(&floats, &bytes, &Reads::Whole).unwrap(),
        );
        assert_eq!(got, expected);
        assert_eq!(
            expected.unwrap(),
            cel::Value::List(vec![cel::Value::from("NaN"), cel::Value::from("inf")].into())
        );
    }

    #[test]
    fn decoding_in_part_checks_the_whole_datum() {
        let s = schema();
        let good = encode_json(
            &s,
            &serde_json::json!({"id": "p", "amount": 1.0, "note": "n", "lines": [{"qty": 3}], "attrs": {"k": 1}}),
        )
        .unwrap();
        let reads = crate::expression::Expression::compile_with("message.id == 'p'", &["message"])
            .unwrap()
            .reads("message");
        decode_cel(&s, &good, &reads).unwrap();
        let mut damaged: Vec<Vec<u8>> = (0..good.len()).map(|len| good[..len].to_vec()).collect();
        damaged.push([good.as_slice(), &[0]].concat());
        // A bad enum index, union branch and UTF-8 in fields the rule does not read.
        for (at, byte) in [(10, 7), (11, 9), (13, 0xff)] {
            let mut bad = good.clone();
            bad[at] = byte;
            damaged.push(bad);
        }
        for bytes in damaged {
            let checked = check_binary(&s, &bytes);
            assert!(checked.is_err(), "{bytes:?}");
            let decoded = decode_cel(&s, &bytes, &reads).map(|_| ());
            assert_eq!(decoded, checked, "{bytes:?}");
        }
    }

    #[test]
    fn damaged_bytes_are_refused() {
        let s = schema();
        let good = encode_json(
            &s,
            &serde_json::json!({"id": "p", "amount": 1.0, "lines": [{"qty": 3}]}),
        )
        .unwrap();
        for len in 0..good.len() {
            assert!(check_binary(&s, &good[..len]).is_err(), "truncated to {len}");
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(check_binary(&s, &extra).unwrap_err().reason.contains("left after"));
        // An array of nulls claiming billions of items is stopped.
        let nulls = parse(r#"{"type":"array","items":"null"}"#, &[]).unwrap();
        let mut bomb = Vec::new();
        put_long(&mut bomb, 1 << 40);
        put_long(&mut bomb, 0);
        assert!(check_binary(&nulls, &bomb).unwrap_err().reason.contains("too many"));
        // A bad enum index, a bad union branch.
        let e = parse(r#"{"type":"enum","name":"E","symbols":["A"]}"#, &[]).unwrap();
        assert!(check_binary(&e, &[2]).is_err());
        let u = parse(r#"["null","int"]"#, &[]).unwrap();
        assert!(check_binary(&u, &[4]).is_err());
        assert!(check_binary(&u, &[2, 2]).is_ok());
    }
}
