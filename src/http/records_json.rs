//! Fetched records as REST Proxy's JSON array, written straight into the answer.
//!
//! Reads are the broker's hottest path after produce: building a `serde_json::Value` per
//! record (and a base64 `String` per payload) would copy every byte three times. Here keys
//! and values are taken borrowed from the log's batches and base64 encoded in place (binary
//! format) or copied as the JSON they were stored as (JSON format).
//!
//! The answer has a limit (its share of the read budget) that its allocation never passes:
//! each record's exact JSON size is known before it is written, and a record that would
//! not fit is not written ([`RecordsJson::push`] says how much room it needed).

use serde_json::value::RawValue;

use crate::broker::batch::RecordRef;

/// A JSON array of records being written.
pub(super) struct RecordsJson {
    out: Vec<u8>,
    binary: bool,
    limit: usize,
    count: usize,
    /// `{"topic":…,"partition":N,"offset":` of the partition being written.
    prefix: Vec<u8>,
}

/// The answer would pass its limit with this record: it needs `.0` bytes in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Full(pub usize);

impl RecordsJson {
    /// `binary`: payloads as base64 strings; otherwise as JSON (a payload that is not JSON
    /// shows as a string of its text). The answer's allocation stays within `limit` bytes,
    /// except that it is at least 2 (`[]`).
    pub fn new(binary: bool, limit: usize) -> RecordsJson {
        RecordsJson {
            out: vec![b'['],
            binary,
            limit,
            count: 0,
            prefix: Vec::new(),
        }
    }

    /// Records written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Raises the limit (after the read's share of the budget grew).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = self.limit.max(limit);
    }

    /// The records pushed next are of this topic and partition.
    pub fn start_partition(&mut self, topic: &str, partition: u32) {
        self.prefix.clear();
        self.prefix.extend_from_slice(b"{\"topic\":");
        write_string(&mut self.prefix, topic);
        self.prefix.extend_from_slice(b",\"partition\":");
        self.prefix
            .extend_from_slice(itoa::Buffer::new().format(partition).as_bytes());
        self.prefix.extend_from_slice(b",\"offset\":");
    }

    /// Makes room, once and within the limit, for the answer to about `batch_bytes` of
    /// batches (base64 and a record's fixed fields), so that ordinary answers take one
    /// allocation.
    pub fn expect(&mut self, batch_bytes: usize) {
        let wanted = batch_bytes.saturating_mul(3) / 2 + 1024;
        let room = wanted.min(self.limit.saturating_sub(self.out.len()));
        if self.out.capacity() - self.out.len() < room {
            self.out.reserve_exact(room);
        }
    }

    /// Appends `record`, or leaves the answer as it is when that would take it past its limit.
    pub fn push(&mut self, record: &RecordRef<'_>) -> Result<(), Full> {
        let key = Payload::of(self.binary, record.key);
        let value = Payload::of(self.binary, record.value);
        let mut offset = itoa::Buffer::new();
        let offset = offset.format(record.offset).as_bytes();
        let mut timestamp = itoa::Buffer::new();
        let timestamp = timestamp.format(record.timestamp).as_bytes();
        let size = usize::from(self.count > 0)
            + self.prefix.len()
            + offset.len()
            + b",\"timestamp\":".len()
            + timestamp.len()
            + b",\"key\":".len()
            + key.len()
            + b",\"value\":".len()
            + value.len()
            + 1;
        // The closing bracket must fit too.
        let needed = self.out.len() + size + 1;
        if needed > self.limit {
            return Err(Full(needed));
        }
        if self.out.capacity() < needed {
            let doubled = self.out.capacity().saturating_mul(2).min(self.limit);
            self.out.reserve_exact(doubled.max(needed) - self.out.len());
        }
        if self.count > 0 {
            self.out.push(b',');
        }
        self.count += 1;
        self.out.extend_from_slice(&self.prefix);
        self.out.extend_from_slice(offset);
        self.out.extend_from_slice(b",\"timestamp\":");
        self.out.extend_from_slice(timestamp);
        self.out.extend_from_slice(b",\"key\":");
        key.write(&mut self.out);
        self.out.extend_from_slice(b",\"value\":");
        value.write(&mut self.out);
        self.out.push(b'}');
        Ok(())
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b']');
        self.out
    }
}

/// A key or value as it goes into the answer.
enum Payload<'a> {
    Null,
    Base64(&'a [u8]),
    /// Stored JSON, copied as it is.
    Json(&'a str),
    /// Bytes that are not JSON, as a JSON string of their text (invalid UTF-8 shown as U+FFFD).
    Text(&'a [u8]),
}

const REPLACEMENT: &str = "\u{fffd}";

impl<'a> Payload<'a> {
    fn of(binary: bool, bytes: Option<&'a [u8]>) -> Payload<'a> {
        let Some(bytes) = bytes else {
            return Payload::Null;
        };
        if binary {
            return Payload::Base64(bytes);
        }
        match std::str::from_utf8(bytes).map(serde_json::from_str::<&RawValue>) {
            Ok(Ok(json)) => Payload::Json(json.get()),
            _ => Payload::Text(bytes),
        }
    }

    /// Exactly the bytes [`Payload::write`] writes.
    fn len(&self) -> usize {
        match self {
            Payload::Null => 4,
            Payload::Base64(bytes) => bytes.len().div_ceil(3) * 4 + 2,
            Payload::Json(json) => json.len(),
            Payload::Text(bytes) => {
                let mut len = 2;
                for chunk in bytes.utf8_chunks() {
                    len += chunk.valid().bytes().map(escaped_len).sum::<usize>();
                    if !chunk.invalid().is_empty() {
                        len += REPLACEMENT.len();
                    }
                }
                len
            }
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Null => out.extend_from_slice(b"null"),
            Payload::Base64(bytes) => {
                out.push(b'"');
                base64_simd::STANDARD.encode_append(bytes, out);
                out.push(b'"');
            }
            Payload::Json(json) => out.extend_from_slice(json.as_bytes()),
            Payload::Text(bytes) => {
                out.push(b'"');
                for chunk in bytes.utf8_chunks() {
                    write_escaped(out, chunk.valid());
                    if !chunk.invalid().is_empty() {
                        out.extend_from_slice(REPLACEMENT.as_bytes());
                    }
                }
                out.push(b'"');
            }
        }
    }
}

/// Bytes a byte of text takes in a JSON string, escaped as serde_json escapes it.
fn escaped_len(byte: u8) -> usize {
    match byte {
        b'"' | b'\\' | b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' => 2,
        0..=0x1f => 6,
        _ => 1,
    }
}

/// `text` escaped as the inside of a JSON string: runs that need no escape are copied whole.
fn write_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if escaped_len(byte) == 1 {
            continue;
        }
        out.extend_from_slice(&bytes[start..at]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::batch::{self, Record};

    type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

    /// One batch of records with these keys and values, from offset `first`.
    fn batch_of(first: i64, records: &[KeyValue<'_>]) -> Vec<u8> {
        let records: Vec<Record> = records
            .iter()
            .map(|(key, value)| Record {
                timestamp: 1_700_000_000_000,
                key: key.map(<[u8]>::to_vec),
                value: value.map(<[u8]>::to_vec),
                headers: Vec::new(),
            })
            .collect();
        let mut bytes = batch::encode(&records);
        batch::set_base_offset(&mut bytes, first);
        bytes
    }

    fn write(writer: &mut RecordsJson, bytes: &[u8]) -> usize {
        let mut written = 0;
        for record in batch::DecodedLog::new(bytes).records(0) {
            if writer.push(&record.unwrap()).is_err() {
                break;
            }
            written += 1;
        }
        written
    }

    fn parsed(writer: RecordsJson) -> serde_json::Value {
        serde_json::from_slice(&writer.finish()).expect("the writer writes JSON")
    }

    #[test]
    fn binary_payloads_are_base64_and_nulls_stay_null() {
        let mut writer = RecordsJson::new(true, 1 << 20);
        writer.start_partition("pay\"ments", 2);
        let bytes = batch_of(7, &[(None, Some(&[0, 1, 2, 250, 251])), (Some(b"k"), None)]);
        assert_eq!(write(&mut writer, &bytes), 2);
        assert_eq!(
            parsed(writer),
            serde_json::json!([
                {"topic": "pay\"ments", "partition": 2, "offset": 7, "timestamp": 1_700_000_000_000i64,
                 "key": null, "value": "AAEC+vs="},
                {"topic": "pay\"ments", "partition": 2, "offset": 8, "timestamp": 1_700_000_000_000i64,
                 "key": "aw==", "value": null},
            ])
        );
    }

    #[test]
    fn json_payloads_are_embedded_and_other_bytes_become_strings() {
        let mut writer = RecordsJson::new(false, 1 << 20);
        writer.start_partition("t", 0);
        let bytes = batch_of(
            0,
            &[
                (Some(b"\"id-1\""), Some(br#"{"amount": 12}"#)),
                (None, Some(b"not json \xff\"\\\n\x01 \xe2\x82")),
            ],
        );
        assert_eq!(write(&mut writer, &bytes), 2);
        let value = parsed(writer);
        assert_eq!(value[0]["key"], "id-1");
        assert_eq!(value[0]["value"]["amount"], 12);
        assert_eq!(value[1]["value"], "not json \u{fffd}\"\\\n\u{1} \u{fffd}");
    }

    #[test]
    fn the_answer_stops_before_its_limit_but_takes_a_first_record_once_room_is_made() {
        let value = vec![0u8; 300];
        let bytes = batch_of(0, &[(None, Some(value.as_slice())); 10]);
        // Every record's JSON is the same size: find it from an unlimited answer.
        let mut whole = RecordsJson::new(true, usize::MAX);
        whole.start_partition("t", 0);
        assert_eq!(write(&mut whole, &bytes), 10);
        let whole = whole.finish();
        let one = (whole.len() - 2 - 9) / 10;

        let mut writer = RecordsJson::new(true, 2 + 3 * one + 2);
        writer.start_partition("t", 0);
        assert_eq!(write(&mut writer, &bytes), 3, "three records and their commas fit");
        let answer = writer.finish();
        assert!(
            answer.capacity() <= 2 + 3 * one + 2,
            "{} bytes allocated",
            answer.capacity()
        );
        assert_eq!(parsed_bytes(&answer).as_array().unwrap().len(), 3);

        let mut writer = RecordsJson::new(true, 10);
        writer.start_partition("t", 0);
        let decoded = batch::DecodedLog::new(&bytes);
        let first = decoded.records(0).next().unwrap().unwrap();
        assert_eq!(writer.push(&first), Err(Full(one + 2)), "the exact room it needs");
        writer.set_limit(one + 2);
        assert_eq!(writer.push(&first), Ok(()));
        assert_eq!(writer.finish().len(), one + 2);
    }

    #[test]
    fn sizes_are_exact_for_every_kind_of_payload() {
        for binary in [true, false] {
            let text: &[u8] = b"caf\xc3\xa9 \x00\x1f\"\\ \xff\xfe end";
            let bytes = batch_of(
                5,
                &[(None, Some(b"[1, 2]")), (Some(text), Some(b"")), (Some(b"7"), None)],
            );
            for record in batch::DecodedLog::new(&bytes).records(0) {
                let record = record.unwrap();
                for payload in [record.key, record.value] {
                    let payload = Payload::of(binary, payload);
                    let mut out = Vec::new();
                    payload.write(&mut out);
                    assert_eq!(out.len(), payload.len());
                    serde_json::from_slice::<serde_json::Value>(&out).expect("valid JSON");
                }
            }
        }
    }

    fn parsed_bytes(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).expect("the writer writes JSON")
    }

    #[test]
    fn no_records_is_an_empty_array() {
        assert_eq!(parsed(RecordsJson::new(true, 0)), serde_json::json!([]));
    }
}
