//! Fetched records as REST Proxy's JSON array, written straight into the answer.
//!
//! Reads are the broker's hottest path after produce: building a `serde_json::Value` per
//! record (and a base64 `String` per payload) would copy every byte three times. Here keys
//! and values are base64 encoded in place (binary format) or copied as the JSON they were
//! stored as (JSON format).

use serde_json::value::RawValue;

use crate::broker::batch::StoredRecord;

/// A JSON array of records being written.
pub(super) struct RecordsJson {
    out: Vec<u8>,
    binary: bool,
    empty: bool,
}

impl RecordsJson {
    /// `binary`: payloads as base64 strings; otherwise as JSON (a payload that is not JSON
    /// shows as a string of its text).
    pub fn new(binary: bool, capacity: usize) -> RecordsJson {
        let mut out = Vec::with_capacity(capacity + 2);
        out.push(b'[');
        RecordsJson {
            out,
            binary,
            empty: true,
        }
    }

    pub fn push(&mut self, topic: &str, partition: u32, record: &StoredRecord) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.extend_from_slice(b"{\"topic\":");
        write_string(&mut self.out, topic);
        self.out.extend_from_slice(b",\"partition\":");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(partition).as_bytes());
        self.out.extend_from_slice(b",\"offset\":");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(record.offset).as_bytes());
        self.out.extend_from_slice(b",\"timestamp\":");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(record.record.timestamp).as_bytes());
        self.out.extend_from_slice(b",\"key\":");
        self.payload(record.record.key.as_deref());
        self.out.extend_from_slice(b",\"value\":");
        self.payload(record.record.value.as_deref());
        self.out.push(b'}');
    }

    pub fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b']');
        self.out
    }

    fn payload(&mut self, bytes: Option<&[u8]>) {
        let Some(bytes) = bytes else {
            self.out.extend_from_slice(b"null");
            return;
        };
        if self.binary {
            self.out.push(b'"');
            base64_simd::STANDARD.encode_append(bytes, &mut self.out);
            self.out.push(b'"');
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        match serde_json::from_str::<&RawValue>(&text) {
            Ok(json) => self.out.extend_from_slice(json.get().as_bytes()),
            Err(_) => write_string(&mut self.out, &text),
        }
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::batch::Record;

    fn stored(offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> StoredRecord {
        StoredRecord {
            offset,
            record: Record {
                timestamp: 1_700_000_000_000,
                key: key.map(<[u8]>::to_vec),
                value: value.map(<[u8]>::to_vec),
                headers: Vec::new(),
            },
        }
    }

    fn parsed(writer: RecordsJson) -> serde_json::Value {
        serde_json::from_slice(&writer.finish()).expect("the writer writes JSON")
    }

    #[test]
    fn binary_payloads_are_base64_and_nulls_stay_null() {
        let mut writer = RecordsJson::new(true, 0);
        writer.push("pay\"ments", 2, &stored(7, None, Some(&[0, 1, 2, 250, 251])));
        writer.push("pay\"ments", 2, &stored(8, Some(b"k"), None));
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
        let mut writer = RecordsJson::new(false, 0);
        writer.push("t", 0, &stored(0, Some(b"\"id-1\""), Some(br#"{"amount": 12}"#)));
        writer.push("t", 0, &stored(1, None, Some(b"not json \xff")));
        let value = parsed(writer);
        assert_eq!(value[0]["key"], "id-1");
        assert_eq!(value[0]["value"]["amount"], 12);
        assert_eq!(value[1]["value"], "not json \u{fffd}");
    }

    #[test]
    fn no_records_is_an_empty_array() {
        assert_eq!(parsed(RecordsJson::new(true, 0)), serde_json::json!([]));
    }
}
