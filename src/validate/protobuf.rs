//! Produce-time checks of Protobuf payloads as Confluent's serializers frame them: after
//! the magic byte and schema id, the message-index path (a zigzag varint count, then that
//! many zigzag varints; a lone `0` for the first top-level message), then the message.
//! The path must name a message of the schema, the message must decode as it, and a proto2
//! message must carry its `required` fields (decoding alone does not check them).

use prost::bytes::Buf;
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
    let decoded = DynamicMessage::decode(message.clone(), payload)
        .map_err(|e| violation("", format!("does not decode as message {}: {e}", message.full_name())))?;
    missing_required(&decoded, "")
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

/// The message-index path and the payload after it.
fn message_indexes(body: &[u8]) -> Result<(Vec<i32>, &[u8]), Violation> {
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
}
