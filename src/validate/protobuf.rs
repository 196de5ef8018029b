//! Produce-time checks of Protobuf payloads as Confluent's serializers frame them: after
//! the magic byte and schema id, the message-index path (a zigzag varint count, then that
//! many zigzag varints; a lone `0` for the first top-level message), then the message.
//! The path must name a message of the schema, the message must decode as it, and a proto2
//! message must carry its `required` fields (decoding alone does not check them).
//!
//! The payload is walked in place, field by field, without building the message: decoding
//! into a `DynamicMessage` allocates every string and nested message, which cost produce
//! half its throughput; the walk checks the same things (wire types that fit each field's
//! type, lengths within the payload, UTF-8 strings, nested messages, packed runs) and
//! allocates nothing. Unknown fields are skipped, as every Protobuf reader skips them.

use prost::bytes::Buf;
use prost::Message as _;
use prost_reflect::{Cardinality, DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};

use super::Violation;
use crate::schema::ProtobufSchema;

/// More levels than any message index path needs; a longer count is garbage, not a path.
const MAX_INDEX_DEPTH: u64 = 64;

/// Whether `body` (the bytes after the schema id) is a framed message of `schema`.
pub fn check_framed(schema: &ProtobufSchema, body: &[u8]) -> Result<(), Violation> {
    let (path, payload) = message_indexes(body)?;
    let Some(message) = schema.message_at(&path) else {
        return Err(violation(
            "",
            format!(
                "message index {path:?} names no message of the schema (it has {} top-level message{})",
                schema.messages().len(),
                if schema.messages().len() == 1 { "" } else { "s" }
            ),
        ));
    };
    walk(&message, payload, "", 0).map_err(|v| Violation {
        reason: format!("does not decode as message {}: {}", message.full_name(), v.reason),
        ..v
    })
}

/// Nesting deeper than this is refused, as prost's decoders refuse it.
const MAX_DEPTH: u32 = 100;

/// Checks that `bytes` is a `message`: every known field's wire type fits its type, lengths
/// stay within the bytes, strings are UTF-8, nested messages are messages, required fields
/// are there.
fn walk(message: &MessageDescriptor, bytes: &[u8], path: &str, depth: u32) -> Result<(), Violation> {
    use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
    if depth > MAX_DEPTH {
        return Err(violation(path, format!("messages nest deeper than {MAX_DEPTH} levels")));
    }
    let mut buf = bytes;
    // Only proto2 has required fields; proto3 messages skip the bookkeeping.
    let proto2 = message.parent_file().syntax() == prost_reflect::Syntax::Proto2;
    let mut required_seen: Vec<u32> = Vec::new();
    while buf.has_remaining() {
        let (number, wire_type) =
            decode_key(&mut buf).map_err(|e| violation(path, format!("a field key does not decode: {e}")))?;
        let Some(field) = message.get_field(number) else {
            skip_field(wire_type, number, &mut buf, DecodeContext::default())
                .map_err(|e| violation(path, format!("unknown field {number} does not decode: {e}")))?;
            continue;
        };
        // Made only when it is reported: a path per field per record would cost more than
        // the walk itself.
        let at = || format!("{path}/{}", field.name());
        if proto2 && field.cardinality() == Cardinality::Required && !required_seen.contains(&number) {
            required_seen.push(number);
        }
        let kind = field.kind();
        let expected = wire_type_of(&field);
        let packed = wire_type == WireType::LengthDelimited
            && field.is_list()
            && expected != WireType::LengthDelimited
            && expected != WireType::StartGroup;
        if wire_type != expected && !packed {
            return Err(violation(
                &at(),
                format!(
                    "field {} ({number}) arrives as wire type {wire_type:?}, which its type {} is never written as",
                    field.name(),
                    kind_name(&kind)
                ),
            ));
        }
        match wire_type {
            WireType::Varint => {
                decode_varint(&mut buf).map_err(|e| violation(&at(), format!("a varint does not decode: {e}")))?;
            }
            WireType::SixtyFourBit | WireType::ThirtyTwoBit => {
                let size = if wire_type == WireType::SixtyFourBit { 8 } else { 4 };
                if buf.remaining() < size {
                    return Err(violation(
                        &at(),
                        "the payload ends inside a fixed-size value".to_string(),
                    ));
                }
                buf.advance(size);
            }
            WireType::LengthDelimited => {
                let length =
                    decode_varint(&mut buf).map_err(|e| violation(&at(), format!("a length does not decode: {e}")))?;
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if length > buf.remaining() {
                    return Err(violation(
                        &at(),
                        format!("a length of {length} bytes runs past the payload's end"),
                    ));
                }
                let (value, rest) = buf.split_at(length);
                buf = rest;
                if packed {
                    packed_run(value, expected).map_err(|why| violation(&at(), why))?;
                    continue;
                }
                match &kind {
                    Kind::String if std::str::from_utf8(value).is_err() => {
                        return Err(violation(&at(), "a string is not valid UTF-8".to_string()));
                    }
                    Kind::Message(inner) => walk(inner, value, &at(), depth + 1)?,
                    _ => {}
                }
            }
            WireType::StartGroup | WireType::EndGroup => {
                skip_field(wire_type, number, &mut buf, DecodeContext::default())
                    .map_err(|e| violation(&at(), format!("a group does not decode: {e}")))?;
            }
        }
    }
    for field in message.fields().filter(|_| proto2) {
        if field.cardinality() == Cardinality::Required && !required_seen.contains(&field.number()) {
            return Err(violation(
                &format!("{path}/{}", field.name()),
                format!(
                    "the required field {} of {} is missing",
                    field.name(),
                    message.full_name()
                ),
            ));
        }
    }
    Ok(())
}

/// The wire type a field is written with (unpacked).
fn wire_type_of(field: &prost_reflect::FieldDescriptor) -> prost::encoding::WireType {
    use prost::encoding::WireType;
    if field.is_group() {
        // Groups are messages written between start and end markers.
        return WireType::StartGroup;
    }
    match field.kind() {
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => WireType::Varint,
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => WireType::SixtyFourBit,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => WireType::ThirtyTwoBit,
        Kind::String | Kind::Bytes => WireType::LengthDelimited,
        Kind::Message(_) => WireType::LengthDelimited,
    }
}

/// A packed run of scalars: whole varints, or a multiple of the fixed size.
fn packed_run(mut run: &[u8], element: prost::encoding::WireType) -> Result<(), String> {
    use prost::encoding::{decode_varint, WireType};
    match element {
        WireType::Varint => {
            while run.has_remaining() {
                decode_varint(&mut run).map_err(|e| format!("a packed varint does not decode: {e}"))?;
            }
            Ok(())
        }
        WireType::SixtyFourBit if run.len().is_multiple_of(8) => Ok(()),
        WireType::ThirtyTwoBit if run.len().is_multiple_of(4) => Ok(()),
        _ => Err(format!(
            "a packed run of {} bytes is not a whole number of values",
            run.len()
        )),
    }
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Whether a JSON event is the schema's first message in proto3's JSON mapping (as
/// `herald validate` reads example events).
pub fn check_json(schema: &ProtobufSchema, event: &serde_json::Value) -> Result<(), Violation> {
    let Some(message) = schema.messages().into_iter().next() else {
        return Err(violation("", "the schema declares no message".to_string()));
    };
    let decoded = DynamicMessage::deserialize(message.clone(), event)
        .map_err(|e| violation("", format!("is not a {} in JSON: {e}", message.full_name())))?;
    missing_required(&decoded, "")
}

/// A JSON event (proto3's JSON mapping) encoded as the schema's first message, with the
/// message-index path before it (`[0]`, written as the single byte 0), ready to follow the
/// schema id: what REST Proxy's Protobuf format produces.
pub fn encode_json(schema: &ProtobufSchema, event: &str) -> Result<Vec<u8>, Violation> {
    let Some(message) = schema.messages().into_iter().next() else {
        return Err(violation("", "the schema declares no message".to_string()));
    };
    let mut reader = serde_json::Deserializer::from_str(event);
    let decoded = DynamicMessage::deserialize(message.clone(), &mut reader)
        .and_then(|decoded| reader.end().map(|()| decoded))
        .map_err(|e| violation("", format!("is not a {} in JSON: {e}", message.full_name())))?;
    missing_required(&decoded, "")?;
    let mut out = Vec::with_capacity(decoded.encoded_len() + 1);
    out.push(0);
    decoded
        .encode(&mut out)
        .map_err(|e| violation("", format!("cannot be encoded: {e}")))?;
    Ok(out)
}

/// A framed body (the message-index path, then the message) decoded into proto3's JSON
/// mapping, for people watching records arrive.
pub fn decode_json(schema: &ProtobufSchema, body: &[u8]) -> Result<serde_json::Value, Violation> {
    let decoded = decode_message(schema, body)?;
    serde_json::to_value(&decoded).map_err(|e| violation("", format!("cannot be written as JSON: {e}")))
}

/// A framed body decoded as the message its index path names.
fn decode_message(schema: &ProtobufSchema, body: &[u8]) -> Result<DynamicMessage, Violation> {
    let (path, payload) = message_indexes(body)?;
    let message = schema
        .message_at(&path)
        .ok_or_else(|| violation("", format!("the message index {path:?} names no message of the schema")))?;
    DynamicMessage::decode(message.clone(), payload)
        .map_err(|e| violation("", format!("does not decode as {}: {e}", message.full_name())))
}

/// Decodes a framed message into plain values for rules: fields by their names in the
/// `.proto` file (not proto3 JSON's camelCase), every field present (defaults included),
/// 64-bit integers as numbers, as a reader's message object holds them.
pub fn decode_plain(schema: &ProtobufSchema, body: &[u8]) -> Result<serde_json::Value, Violation> {
    decode_plain_typed(schema, body).map(|(_, value)| value)
}

/// [`decode_plain`], with the full name of the record's message type.
pub fn decode_plain_typed(schema: &ProtobufSchema, body: &[u8]) -> Result<(String, serde_json::Value), Violation> {
    let decoded = decode_message(schema, body)?;
    let type_name = decoded.descriptor().full_name().to_string();
    let options = prost_reflect::SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    decoded
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map(|value| (type_name, value))
        .map_err(|e| violation("", format!("cannot be read as values: {e}")))
}

/// The message-index path and the payload after it.
pub(crate) fn message_indexes(body: &[u8]) -> Result<(Vec<i32>, &[u8]), Violation> {
    let mut buf = body;
    let count = zigzag(&mut buf).map_err(|why| violation("", format!("the message index count {why}")))?;
    if count < 0 || count as u64 > MAX_INDEX_DEPTH {
        return Err(violation(
            "",
            format!("the message index count is {count}, not a path of at most {MAX_INDEX_DEPTH} indexes"),
        ));
    }
    if count == 0 {
        return Ok((vec![0], buf));
    }
    let mut path = Vec::with_capacity(count as usize);
    for i in 0..count {
        let index = zigzag(&mut buf).map_err(|why| violation("", format!("message index {i} {why}")))?;
        path.push(index);
    }
    Ok((path, buf))
}

fn zigzag(buf: &mut &[u8]) -> Result<i32, &'static str> {
    if !buf.has_remaining() {
        return Err("is missing: the payload ends after the schema id");
    }
    let raw = prost::encoding::decode_varint(buf).map_err(|_| "is not a valid varint")?;
    let raw = u32::try_from(raw).map_err(|_| "does not fit in 32 bits")?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

fn violation(path: &str, reason: String) -> Violation {
    Violation {
        path: path.to_string(),
        reason,
    }
}

/// The first proto2 `required` field a message (or a message inside it) lacks.
fn missing_required(message: &DynamicMessage, path: &str) -> Result<(), Violation> {
    let descriptor: MessageDescriptor = message.descriptor();
    for field in descriptor.fields() {
        let field_path = format!("{path}/{}", field.name());
        if field.cardinality() == Cardinality::Required && !message.has_field(&field) {
            return Err(violation(
                &field_path,
                format!(
                    "the required field {} of {} is missing",
                    field.name(),
                    descriptor.full_name()
                ),
            ));
        }
        if !matches!(field.kind(), Kind::Message(_)) || !message.has_field(&field) {
            continue;
        }
        match &*message.get_field(&field) {
            Value::Message(inner) => missing_required(inner, &field_path)?,
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(inner) = item {
                        missing_required(inner, &format!("{field_path}/{i}"))?;
                    }
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    if let Value::Message(inner) = value {
                        missing_required(inner, &format!("{field_path}/{key:?}"))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::protobuf::parse;
    use prost::Message;

    const SCHEMA: &str = "syntax = \"proto2\";\nmessage Order {\n  required string id = 1;\n  optional Line line = 2;\n  message Line { required int32 qty = 1; }\n}\nmessage Other { optional int32 x = 1; }\n";

    fn encoded(message: &DynamicMessage) -> Vec<u8> {
        message.encode_to_vec()
    }

    #[test]
    fn framed_messages_decode_by_their_index_path() {
        let schema = parse(SCHEMA, &[]).unwrap();
        let order = schema.message_at(&[0]).unwrap();
        let mut message = DynamicMessage::new(order.clone());
        message.set_field_by_name("id", Value::String("o-1".into()));
        let payload = encoded(&message);
        // [0] is the single byte 0.
        assert_eq!(check_framed(&schema, &[[0].as_slice(), &payload].concat()), Ok(()));
        // [0] spelled out (count 1, index 0) is the same message.
        assert_eq!(check_framed(&schema, &[[2, 0].as_slice(), &payload].concat()), Ok(()));
        // [1] is Other: the same bytes are not an Other (field 1 is a string there, an int here).
        let other = check_framed(&schema, &[[2, 2].as_slice(), &payload].concat()).unwrap_err();
        assert!(other.reason.contains("Other"), "{other:?}");
        // [5] is nothing.
        let nothing = check_framed(&schema, &[[2, 10].as_slice(), &payload].concat()).unwrap_err();
        assert!(
            nothing.reason.contains("[5]") && nothing.reason.contains("2 top-level messages"),
            "{nothing:?}"
        );
        // [0, 0] is Order.Line, which lacks its required qty.
        let line = check_framed(&schema, &[4, 0, 0]).unwrap_err();
        assert!(line.reason.contains("required field qty"), "{line:?}");
    }

    #[test]
    fn broken_frames_and_missing_required_fields_are_refused_with_the_reason() {
        let schema = parse(SCHEMA, &[]).unwrap();
        let empty = check_framed(&schema, &[]).unwrap_err();
        assert!(empty.reason.contains("ends after the schema id"), "{empty:?}");
        let truncated = check_framed(&schema, &[0x80]).unwrap_err();
        assert!(truncated.reason.contains("varint"), "{truncated:?}");
        let negative = check_framed(&schema, &[1]).unwrap_err();
        assert!(negative.reason.contains("-1"), "{negative:?}");
        let missing = check_framed(&schema, &[0]).unwrap_err();
        assert_eq!(missing.path, "/id");
        assert!(missing.reason.contains("required field id of Order"), "{missing:?}");
        let garbage = check_framed(&schema, &[0, 0x0a, 0xff]).unwrap_err();
        assert!(
            garbage.reason.contains("does not decode as message Order"),
            "{garbage:?}"
        );
        // A nested message missing its required field is found at its path.
        let order = schema.message_at(&[0]).unwrap();
        let mut message = DynamicMessage::new(order.clone());
        message.set_field_by_name("id", Value::String("o-1".into()));
        let line = schema.message_at(&[0, 0]).unwrap();
        message.set_field_by_name("line", Value::Message(DynamicMessage::new(line)));
        let nested = check_framed(&schema, &[[0].as_slice(), &encoded(&message)].concat()).unwrap_err();
        assert_eq!(nested.path, "/line/qty");
    }

    #[test]
    fn the_walk_agrees_with_decoding_on_mutated_payloads() {
        let schema = parse(
            "syntax = \"proto3\";\nmessage M {\n  string s = 1;\n  repeated int64 ns = 2;\n  repeated fixed32 fs = 3;\n  Inner inner = 4;\n  map<string, Inner> byname = 5;\n  bytes b = 6;\n  double d = 7;\n  message Inner { sint32 z = 1; string t = 2; }\n}\n",
            &[],
        )
        .unwrap();
        let m = schema.message_at(&[0]).unwrap();
        let mut message = DynamicMessage::new(m.clone());
        message.set_field_by_name("s", Value::String("héllo".into()));
        message.set_field_by_name("ns", Value::List(vec![Value::I64(-1), Value::I64(300)]));
        message.set_field_by_name("fs", Value::List(vec![Value::U32(7), Value::U32(9)]));
        let inner_desc = m
            .get_field_by_name("inner")
            .unwrap()
            .kind()
            .as_message()
            .unwrap()
            .clone();
        let mut inner = DynamicMessage::new(inner_desc);
        inner.set_field_by_name("z", Value::I32(-5));
        inner.set_field_by_name("t", Value::String("x".into()));
        message.set_field_by_name("inner", Value::Message(inner.clone()));
        message.set_field_by_name("b", Value::Bytes(vec![0xff, 0x00].into()));
        message.set_field_by_name("d", Value::F64(2.5));
        let valid = encoded(&message);
        assert_eq!(walk(&m, &valid, "", 0), Ok(()));
        // Every single-byte change and every cut: the walk accepts exactly what decoding does.
        let mut disagreements = Vec::new();
        let mut inputs: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
        for at in 0..valid.len() {
            for byte in [0x00, 0x01, 0x02, 0x05, 0x0a, 0x7f, 0x80, 0xc3, 0xff] {
                let mut changed = valid.clone();
                changed[at] = byte;
                inputs.push(changed);
            }
        }
        for input in inputs {
            let walked = walk(&m, &input, "", 0).is_ok();
            let decoded = DynamicMessage::decode(m.clone(), input.as_slice()).is_ok();
            if walked != decoded {
                disagreements.push((input, walked, decoded));
            }
        }
        assert!(
            disagreements.is_empty(),
            "{} disagreements, first: {:?}",
            disagreements.len(),
            disagreements.first()
        );
    }
}
