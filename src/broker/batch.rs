//! Kafka record batches, version 2 (magic 2): the unit the log stores, byte for byte as the
//! Kafka wire protocol carries it, so a later Kafka listener can serve stored batches
//! without re-encoding them.
//!
//! ```text
//! off len field                 (big-endian)
//!   0  8  baseOffset            assigned on append; not covered by the CRC
//!   8  4  batchLength           bytes after this field (total − 12)
//!  12  4  partitionLeaderEpoch  not covered by the CRC
//!  16  1  magic = 2
//!  17  4  crc                   CRC-32C of bytes 21..end
//!  21  2  attributes            bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
//!                                4 zstd: Herald writes 0, Kafka producers any), bit 3
//!                                timestamp type, bit 4 transactional, bit 5 control
//!  23  4  lastOffsetDelta
//!  27  8  baseTimestamp
//!  35  8  maxTimestamp
//!  43  8  producerId            -1: none
//!  51  2  producerEpoch
//!  53  4  baseSequence          -1: none
//!  57  4  recordCount
//!  61     records: length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//!         key (varint length, -1 = null), value (same), headers (count, then key, value)
//! ```
//!
//! In a compressed batch the records section (from byte 61) is the codec's compressed form
//! of the records (see [`compression`]); the CRC covers the compressed bytes. Readers
//! decode a batch with [`decoded`] (one) or [`DecodedLog`] (a log read), which decompress
//! compressed batches into a buffer and borrow uncompressed ones.
//!
//! Varints are zig-zag encoded, as in Kafka. Pure code: bytes in, bytes out.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use super::compression::{self, InflateError, MAX_INFLATED_BYTES};

pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength`'s count starts: baseOffset and batchLength.
pub const LOG_OVERHEAD: usize = 12;
const MAGIC: i8 = 2;
const CRC_START: usize = 21;

/// One record to encode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// A record read back from a batch, with its absolute offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub offset: i64,
    pub record: Record,
}

/// The fixed header of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the length field: the whole batch is `batch_length + 12` bytes.
    pub batch_length: i32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    /// The idempotent producer's id; -1 for a producer without one.
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The sequence number of the first record; -1 without a producer id.
    pub base_sequence: i32,
    pub record_count: i32,
}

/// Attribute bit 3: the timestamps are the broker's append time (never set by producers).
const LOG_APPEND_TIME: i16 = 0x08;
const TRANSACTIONAL: i16 = 0x10;
const CONTROL: i16 = 0x20;

impl BatchHeader {
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// The compression codec (bits 0-2 of the attributes).
    pub fn compression(&self) -> u8 {
        (self.attributes & 0x7) as u8
    }

    /// The sequence number of the last record: Kafka's sequences wrap from `i32::MAX` to 0.
    pub fn last_sequence(&self) -> i32 {
        next_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `sequence` advanced by `by`, wrapping past `i32::MAX` to 0 as Kafka does.
pub fn next_sequence(sequence: i32, by: i32) -> i32 {
    let next = i64::from(sequence) + i64::from(by);
    if next > i64::from(i32::MAX) {
        (next - i64::from(i32::MAX) - 1) as i32
    } else {
        next as i32
    }
}

/// Why bytes are not a valid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or the declared length: a torn write.
    Short {
        needed: usize,
        available: usize,
    },
    BadLength(i32),
    BadMagic(i8),
    BadCrc {
        stored: u32,
        computed: u32,
    },
    /// The records section does not decode as `record_count` records.
    BadRecords(String),
    /// [`record_refs`] was given a compressed batch: [`decoded`] reads those.
    Compressed(u8),
    /// The compressed records section cannot be decompressed (unknown codec, damaged data,
    /// or more than [`MAX_INFLATED_BYTES`] once inflated).
    Compression(InflateError),
    /// A well-formed batch the broker does not take from producers (transactions, control
    /// batches, append-time timestamps, inconsistent producer fields).
    Unsupported(String),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Short { needed, available } => {
                write!(f, "batch truncated: {needed} bytes needed, {available} available")
            }
            BatchError::BadLength(len) => write!(f, "invalid batch length {len}"),
            BatchError::BadMagic(magic) => write!(f, "unsupported batch magic {magic} (expected 2)"),
            BatchError::BadCrc { stored, computed } => {
                write!(
                    f,
                    "batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            BatchError::BadRecords(why) => write!(f, "invalid records: {why}"),
            BatchError::Compressed(codec) => {
                write!(
                    f,
                    "the batch is compressed (codec {codec}): its records need decompressing"
                )
            }
            BatchError::Compression(err) => write!(f, "{err}"),
            BatchError::Unsupported(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BatchError {}

/// Encodes records as one uncompressed batch with base offset 0 (the log assigns offsets).
/// `records` must not be empty.
pub fn encode(records: &[Record]) -> Vec<u8> {
    let base_timestamp = records.iter().map(|r| r.timestamp).min().unwrap_or(0);
    let max_timestamp = records.iter().map(|r| r.timestamp).max().unwrap_or(0);
    let mut out = Vec::with_capacity(HEADER_LEN + records.iter().map(record_size_hint).sum::<usize>());
    out.extend_from_slice(&0i64.to_be_bytes()); // baseOffset
    out.extend_from_slice(&0i32.to_be_bytes()); // batchLength, patched below
    out.extend_from_slice(&0i32.to_be_bytes()); // partitionLeaderEpoch
    out.push(MAGIC as u8);
    out.extend_from_slice(&0u32.to_be_bytes()); // crc, patched below
    out.extend_from_slice(&0i16.to_be_bytes()); // attributes
    out.extend_from_slice(&(records.len() as i32 - 1).to_be_bytes());
    out.extend_from_slice(&base_timestamp.to_be_bytes());
    out.extend_from_slice(&max_timestamp.to_be_bytes());
    out.extend_from_slice(&(-1i64).to_be_bytes()); // producerId
    out.extend_from_slice(&(-1i16).to_be_bytes()); // producerEpoch
    out.extend_from_slice(&(-1i32).to_be_bytes()); // baseSequence
    out.extend_from_slice(&(records.len() as i32).to_be_bytes());
    let mut body = Vec::new();
    for (delta, record) in records.iter().enumerate() {
        body.clear();
        body.push(0); // attributes
        put_varlong(&mut body, record.timestamp - base_timestamp);
        put_varint(&mut body, delta as i32);
        put_bytes(&mut body, record.key.as_deref());
        put_bytes(&mut body, record.value.as_deref());
        put_varint(&mut body, record.headers.len() as i32);
        for (key, value) in &record.headers {
            put_bytes(&mut body, Some(key.as_bytes()));
            put_bytes(&mut body, value.as_deref());
        }
        put_varint(&mut out, body.len() as i32);
        out.extend_from_slice(&body);
    }
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let crc = crc32c::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out
}

fn record_size_hint(r: &Record) -> usize {
    16 + r.key.as_ref().map_or(0, Vec::len)
        + r.value.as_ref().map_or(0, Vec::len)
        + r.headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 4)
            .sum::<usize>()
}

/// Reads a batch header from the start of `bytes`, checking that the header and the
/// declared length fit.
pub fn header(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = header_only(bytes)?;
    if bytes.len() < header.total_len() {
        return Err(BatchError::Short {
            needed: header.total_len(),
            available: bytes.len(),
        });
    }
    Ok(header)
}

/// Reads the 61-byte header alone (the records may not be in `bytes`).
pub fn header_only(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    if bytes.len() < HEADER_LEN {
        return Err(BatchError::Short {
            needed: HEADER_LEN,
            available: bytes.len(),
        });
    }
    let batch_length = i32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(BatchError::BadLength(batch_length));
    }
    let magic = bytes[16] as i8;
    if magic != MAGIC {
        return Err(BatchError::BadMagic(magic));
    }
    Ok(BatchHeader {
        base_offset: i64::from_be_bytes(bytes[0..8].try_into().expect("8 bytes")),
        batch_length,
        attributes: i16::from_be_bytes(bytes[21..23].try_into().expect("2 bytes")),
        last_offset_delta: i32::from_be_bytes(bytes[23..27].try_into().expect("4 bytes")),
        base_timestamp: i64::from_be_bytes(bytes[27..35].try_into().expect("8 bytes")),
        max_timestamp: i64::from_be_bytes(bytes[35..43].try_into().expect("8 bytes")),
        producer_id: i64::from_be_bytes(bytes[43..51].try_into().expect("8 bytes")),
        producer_epoch: i16::from_be_bytes(bytes[51..53].try_into().expect("2 bytes")),
        base_sequence: i32::from_be_bytes(bytes[53..57].try_into().expect("4 bytes")),
        record_count: i32::from_be_bytes(bytes[57..61].try_into().expect("4 bytes")),
    })
}

/// Reads and checks a batch at the start of `bytes`: lengths, magic and CRC.
pub fn verify(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = header(bytes)?;
    let stored = u32::from_be_bytes(bytes[17..21].try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(&bytes[CRC_START..header.total_len()]);
    if stored != computed {
        return Err(BatchError::BadCrc { stored, computed });
    }
    if header.record_count < 0 || header.last_offset_delta < 0 {
        return Err(BatchError::BadRecords(format!(
            "record count {} and last offset delta {}",
            header.record_count, header.last_offset_delta
        )));
    }
    Ok(header)
}

/// Checks that `bytes` are exactly one valid batch, nothing before or after it.
pub fn verify_whole(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = verify(bytes)?;
    if header.total_len() != bytes.len() {
        return Err(BatchError::BadLength(header.batch_length));
    }
    Ok(header)
}

/// Sets the base offset of the batch at the start of `bytes` (outside the CRC).
pub fn set_base_offset(bytes: &mut [u8], offset: i64) {
    bytes[0..8].copy_from_slice(&offset.to_be_bytes());
}

/// The whole batches of a record set (a Produce request's records for one partition: batches
/// back to back), each checked for its lengths and magic only; a record set that does not
/// end on a batch boundary is an error. Check each with [`check_produced`] before trusting
/// its contents.
pub fn split(bytes: &[u8]) -> Result<Vec<&[u8]>, BatchError> {
    let mut out = Vec::with_capacity(1);
    let mut rest = bytes;
    while !rest.is_empty() {
        let (one, after) = rest.split_at(header(rest)?.total_len());
        out.push(one);
        rest = after;
    }
    Ok(out)
}

/// Checks a batch a producer sent before it is appended, beyond [`verify_whole`]: the codec
/// is one Kafka defines, the batch is not transactional, a control batch or stamped with
/// append time (the broker does not take those from producers), the producer fields agree
/// with each other, and the records decode (decompressed within [`MAX_INFLATED_BYTES`]) as
/// exactly `record_count` records with offset deltas 0, 1, 2, … and the greatest timestamp
/// the header claims, so that offsets stay dense and the time index is right.
pub fn check_produced(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    checked(bytes).map(|batch| batch.header)
}

/// [`check_produced`], answering the decoded batch.
fn checked(bytes: &[u8]) -> Result<DecodedBatch<'_>, BatchError> {
    let header = verify_whole(bytes)?;
    for (bit, what) in [
        (TRANSACTIONAL, "transactional batches are not supported"),
        (CONTROL, "control batches are not accepted from producers"),
        (
            LOG_APPEND_TIME,
            "batches stamped with log append time are not accepted from producers",
        ),
    ] {
        if header.attributes & bit != 0 {
            return Err(BatchError::Unsupported(what.to_string()));
        }
    }
    if header.producer_id >= 0 && (header.producer_epoch < 0 || header.base_sequence < 0) {
        return Err(BatchError::Unsupported(format!(
            "producerId {} needs a producerEpoch and a baseSequence of 0 or more, not {} and {}",
            header.producer_id, header.producer_epoch, header.base_sequence
        )));
    }
    if header.record_count < 1 || header.last_offset_delta != header.record_count - 1 {
        return Err(BatchError::BadRecords(format!(
            "recordCount {} and lastOffsetDelta {} do not describe a batch of records",
            header.record_count, header.last_offset_delta
        )));
    }
    let batch = decoded(bytes)?;
    let mut max_timestamp = i64::MIN;
    for (index, record) in batch.records().enumerate() {
        let record = record?;
        let delta = record.offset.wrapping_sub(header.base_offset);
        if delta != index as i64 {
            return Err(BatchError::BadRecords(format!(
                "record {index} has offset delta {delta}, expected {index}"
            )));
        }
        max_timestamp = max_timestamp.max(record.timestamp);
    }
    if max_timestamp != header.max_timestamp {
        return Err(BatchError::BadRecords(format!(
            "maxTimestamp {} is not the greatest record timestamp, {max_timestamp}",
            header.max_timestamp
        )));
    }
    Ok(batch)
}

/// A Kafka producer's record set for one partition (whole batches back to back), every
/// batch checked with [`check_produced`] and decoded once: the contract gate walks its
/// records ([`ProducedBatches::batches`]) and the log appends it without checking or
/// decompressing again.
#[derive(Debug)]
pub struct ProducedBatches {
    bytes: Vec<u8>,
    batches: Vec<ProducedBatch>,
}

#[derive(Debug)]
struct ProducedBatch {
    range: std::ops::Range<usize>,
    header: BatchHeader,
    /// The decompressed records section of a compressed batch.
    inflated: Option<Vec<u8>>,
}

impl ProducedBatches {
    /// Splits and checks `bytes`; a record set without a batch is refused too.
    pub fn check(bytes: Vec<u8>) -> Result<ProducedBatches, BatchError> {
        let mut batches = Vec::with_capacity(1);
        let mut start = 0;
        for one in split(&bytes)? {
            let batch = checked(one)?;
            let inflated = match batch.records {
                Cow::Borrowed(_) => None,
                Cow::Owned(section) => Some(section),
            };
            batches.push(ProducedBatch {
                range: start..start + one.len(),
                header: batch.header,
                inflated,
            });
            start += one.len();
        }
        if batches.is_empty() {
            return Err(BatchError::BadRecords("the record set holds no batch".to_string()));
        }
        Ok(ProducedBatches { bytes, batches })
    }

    /// Each batch's header and records, in order (record offsets are the producer's, from
    /// its base offset, usually 0: the log assigns the real ones).
    pub fn batches(&self) -> impl Iterator<Item = (&BatchHeader, RecordRefs<'_>)> {
        self.batches.iter().map(|b| {
            let section = match &b.inflated {
                Some(section) => section.as_slice(),
                None => &self.bytes[b.range.start + HEADER_LEN..b.range.end],
            };
            (&b.header, RecordRefs::over(section, &b.header))
        })
    }

    /// This record set without the records at `dropped` (indexes over the whole set, sorted,
    /// as [`ProducedBatches::batches`] walks them), as Kafka's compaction leaves a
    /// batch: every header field kept (producer id, epoch, base sequence, lastOffsetDelta),
    /// so an idempotent producer's sequences and the offsets it was told stay true, and the
    /// remaining records keep their offset deltas, leaving holes where the dropped ones
    /// were. A batch that loses every record stays, empty, for its producer's sequence.
    /// Rewritten batches are stored uncompressed; untouched ones as sent.
    pub fn without(self, dropped: &[usize]) -> Result<ProducedBatches, BatchError> {
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut batches = Vec::with_capacity(self.batches.len());
        let mut first_index = 0;
        for ((header, records), sent) in self.batches().zip(&self.batches) {
            let count = header.record_count.max(0) as usize;
            let span = first_index..first_index + count;
            first_index += count;
            let start = bytes.len();
            if !dropped.iter().any(|i| span.contains(i)) {
                bytes.extend_from_slice(&self.bytes[sent.range.clone()]);
                batches.push(ProducedBatch {
                    range: start..bytes.len(),
                    header: *header,
                    inflated: sent.inflated.clone(),
                });
                continue;
            }
            let mut kept = 0i32;
            let mut max_timestamp = None;
            bytes.extend_from_slice(&self.bytes[sent.range.start..sent.range.start + HEADER_LEN]);
            for (index, record) in span.zip(records) {
                let record = record?;
                if dropped.binary_search(&index).is_ok() {
                    continue;
                }
                kept += 1;
                max_timestamp = max_timestamp.max(Some(record.timestamp));
                bytes.extend_from_slice(record.encoded);
            }
            let rewritten = BatchHeader {
                batch_length: (bytes.len() - start - LOG_OVERHEAD) as i32,
                attributes: header.attributes & !0x7,
                max_timestamp: max_timestamp.unwrap_or(header.max_timestamp),
                record_count: kept,
                ..*header
            };
            let batch = &mut bytes[start..];
            batch[8..12].copy_from_slice(&rewritten.batch_length.to_be_bytes());
            batch[21..23].copy_from_slice(&rewritten.attributes.to_be_bytes());
            batch[35..43].copy_from_slice(&rewritten.max_timestamp.to_be_bytes());
            batch[57..61].copy_from_slice(&kept.to_be_bytes());
            let crc = crc32c::crc32c(&batch[CRC_START..]);
            batch[17..21].copy_from_slice(&crc.to_be_bytes());
            batches.push(ProducedBatch {
                range: start..bytes.len(),
                header: rewritten,
                inflated: None,
            });
        }
        Ok(ProducedBatches { bytes, batches })
    }

    /// Each batch's size in bytes, as sent.
    pub fn sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.batches.iter().map(|b| b.range.len())
    }

    /// The batches' bytes, to be given their offsets, and their headers.
    pub(crate) fn split_mut(&mut self) -> (Vec<&mut [u8]>, Vec<BatchHeader>) {
        let mut rest: &mut [u8] = &mut self.bytes;
        let mut slices = Vec::with_capacity(self.batches.len());
        for batch in &self.batches {
            let (one, after) = std::mem::take(&mut rest).split_at_mut(batch.range.len());
            slices.push(one);
            rest = after;
        }
        (slices, self.batches.iter().map(|b| b.header).collect())
    }
}

/// Decodes the records of one verified batch, compressed or not.
pub fn records(bytes: &[u8]) -> Result<Vec<StoredRecord>, BatchError> {
    let batch = decoded(bytes)?;
    let refs = batch.records();
    let mut out = Vec::with_capacity(refs.remaining);
    for record in refs {
        out.push(record?.to_owned()?);
    }
    Ok(out)
}

/// One batch ready to walk: its header and its records section, borrowed from the batch
/// when it is uncompressed, decompressed into a buffer of its own when it is not.
#[derive(Debug, Clone)]
pub struct DecodedBatch<'a> {
    pub header: BatchHeader,
    records: Cow<'a, [u8]>,
}

/// Decodes the batch at the start of `bytes` (its lengths are checked, not its CRC: check
/// untrusted bytes with [`verify_whole`] or [`check_produced`] first). A compressed batch is
/// decompressed here, bounded by [`MAX_INFLATED_BYTES`]; an uncompressed one is not copied.
pub fn decoded(bytes: &[u8]) -> Result<DecodedBatch<'_>, BatchError> {
    let header = header(bytes)?;
    let section = &bytes[HEADER_LEN..header.total_len()];
    let records = match header.compression() {
        compression::NONE => Cow::Borrowed(section),
        codec => Cow::Owned(compression::inflate(codec, section, MAX_INFLATED_BYTES).map_err(BatchError::Compression)?),
    };
    Ok(DecodedBatch { header, records })
}

impl DecodedBatch<'_> {
    /// The records, in order, borrowed from the batch (or its decompressed buffer).
    pub fn records(&self) -> RecordRefs<'_> {
        RecordRefs::over(&self.records, &self.header)
    }
}

/// A record of a batch, borrowed from the batch's bytes: readers that only copy keys and
/// values into an answer need no allocation per record.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// The encoded headers (count, then key and value of each), already checked for shape.
    headers: &'a [u8],
    /// The whole record as encoded in its batch (length, then body): what a rewrite of the
    /// batch copies, offset and timestamp deltas included.
    encoded: &'a [u8],
}

impl<'a> RecordRef<'a> {
    /// The record's headers as (key, value), borrowed: a header key that is not UTF-8 is
    /// an error when reached.
    pub fn headers(&self) -> impl Iterator<Item = Result<(&'a str, Option<&'a [u8]>), BatchError>> {
        let mut reader = Reader {
            bytes: self.headers,
            at: 0,
        };
        let count = reader.varint().unwrap_or(0).max(0);
        (0..count).map(move |_| {
            let name = reader.bytes_field()?.ok_or_else(|| bad("null header key"))?;
            let name = std::str::from_utf8(name).map_err(|_| bad("header key is not UTF-8"))?;
            Ok((name, reader.bytes_field()?))
        })
    }

    /// The record with another key and value (a reader's redacted copy), the rest kept.
    pub fn with_payloads<'b>(&self, key: Option<&'b [u8]>, value: Option<&'b [u8]>) -> RecordRef<'b>
    where
        'a: 'b,
    {
        RecordRef { key, value, ..*self }
    }

    /// The record with its own copies of key, value and headers.
    pub fn to_owned(&self) -> Result<StoredRecord, BatchError> {
        let headers = self
            .headers()
            .map(|header| header.map(|(name, value)| (name.to_string(), value.map(<[u8]>::to_vec))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoredRecord {
            offset: self.offset,
            record: Record {
                timestamp: self.timestamp,
                key: self.key.map(<[u8]>::to_vec),
                value: self.value.map(<[u8]>::to_vec),
                headers,
            },
        })
    }
}

/// The records of one batch, in order, borrowed from its (decompressed) records section.
pub struct RecordRefs<'a> {
    reader: Reader<'a>,
    base_offset: i64,
    base_timestamp: i64,
    remaining: usize,
    failed: bool,
}

/// The records of the uncompressed batch at the start of `bytes` (its header already
/// checked). A compressed batch is refused ([`BatchError::Compressed`]): [`decoded`] reads
/// any batch.
pub fn record_refs(bytes: &[u8]) -> Result<RecordRefs<'_>, BatchError> {
    let header = header(bytes)?;
    if header.compression() != 0 {
        return Err(BatchError::Compressed(header.compression()));
    }
    Ok(RecordRefs::over(&bytes[HEADER_LEN..header.total_len()], &header))
}

impl<'a> RecordRefs<'a> {
    fn over(section: &'a [u8], header: &BatchHeader) -> RecordRefs<'a> {
        RecordRefs {
            reader: Reader { bytes: section, at: 0 },
            base_offset: header.base_offset,
            base_timestamp: header.base_timestamp,
            remaining: header.record_count.max(0) as usize,
            failed: false,
        }
    }

    fn next_record(&mut self) -> Result<RecordRef<'a>, BatchError> {
        let bytes = self.reader.bytes;
        let reader = &mut self.reader;
        let start = reader.at;
        let length = reader.varint()?;
        let end = reader.at + usize::try_from(length).map_err(|_| bad("negative record length"))?;
        if end > reader.bytes.len() {
            return Err(bad("record runs past the batch"));
        }
        let _attributes = reader.byte()?;
        let timestamp_delta = reader.varlong()?;
        let offset_delta = reader.varint()?;
        let key = reader.bytes_field()?;
        let value = reader.bytes_field()?;
        let headers_start = reader.at;
        let header_count = reader.varint()?;
        for _ in 0..header_count.max(0) {
            reader.bytes_field()?.ok_or_else(|| bad("null header key"))?;
            reader.bytes_field()?;
        }
        if reader.at != end {
            return Err(bad("record length does not match its fields"));
        }
        Ok(RecordRef {
            offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: self.base_timestamp.wrapping_add(timestamp_delta),
            key,
            value,
            headers: &bytes[headers_start..end],
            encoded: &bytes[start..end],
        })
    }
}

impl<'a> Iterator for RecordRefs<'a> {
    type Item = Result<RecordRef<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.remaining == 0 {
            if self.reader.at != self.reader.bytes.len() {
                self.failed = true;
                return Some(Err(bad("bytes left after the last record")));
            }
            return None;
        }
        self.remaining -= 1;
        let record = self.next_record();
        self.failed = record.is_err();
        Some(record)
    }
}

/// A log read (whole batches back to back) ready to walk record by record. Uncompressed
/// batches are walked where they are; each compressed one is decompressed when the walk
/// first reaches it, into a buffer this value keeps, so records borrow from it for as long
/// as it lives and a walk that stops early decompresses no further. (`OnceLock`, not
/// `OnceCell`: HTTP handlers hold the walk across awaits, so it must be `Sync`.)
pub struct DecodedLog<'a> {
    bytes: &'a [u8],
    /// One per compressed batch, in order, filled on first use.
    inflated: Vec<OnceLock<Result<Vec<u8>, BatchError>>>,
}

impl<'a> DecodedLog<'a> {
    /// Notes where the compressed batches of `bytes` are (a walk over the headers, no copy).
    pub fn new(bytes: &'a [u8]) -> DecodedLog<'a> {
        let mut compressed = 0;
        let mut rest = bytes;
        while let Ok(header) = header(rest) {
            compressed += usize::from(header.compression() != 0);
            rest = &rest[header.total_len()..];
        }
        DecodedLog {
            bytes,
            inflated: (0..compressed).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The records from `offset` on: records of the first batch before it are skipped.
    pub fn records(&self, offset: i64) -> LogRecords<'_> {
        LogRecords {
            log: self,
            rest: self.bytes,
            compressed: 0,
            batch: None,
            offset,
        }
    }
}

/// The records of a [`DecodedLog`] from an offset on.
pub struct LogRecords<'s> {
    log: &'s DecodedLog<'s>,
    rest: &'s [u8],
    /// Compressed batches passed so far: the index of the next one's buffer.
    compressed: usize,
    batch: Option<RecordRefs<'s>>,
    offset: i64,
}

impl<'s> LogRecords<'s> {
    /// The records of the next batch.
    fn next_batch(&mut self) -> Result<RecordRefs<'s>, BatchError> {
        let header = header(self.rest)?;
        let (batch, rest) = self.rest.split_at(header.total_len());
        self.rest = rest;
        if header.compression() == 0 {
            return Ok(RecordRefs::over(&batch[HEADER_LEN..], &header));
        }
        let cell = self
            .log
            .inflated
            .get(self.compressed)
            .ok_or_else(|| bad("the batches changed while they were read"))?;
        self.compressed += 1;
        let inflated = cell.get_or_init(|| {
            compression::inflate(header.compression(), &batch[HEADER_LEN..], MAX_INFLATED_BYTES)
                .map_err(BatchError::Compression)
        });
        match inflated {
            Ok(section) => Ok(RecordRefs::over(section, &header)),
            Err(err) => Err(err.clone()),
        }
    }
}

impl<'s> Iterator for LogRecords<'s> {
    type Item = Result<RecordRef<'s>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &mut self.batch {
                match batch.next() {
                    Some(Ok(record)) if record.offset < self.offset => continue,
                    Some(record) => return Some(record),
                    None => self.batch = None,
                }
            }
            if self.rest.is_empty() {
                return None;
            }
            match self.next_batch() {
                Ok(refs) => self.batch = Some(refs),
                Err(err) => {
                    self.rest = &[];
                    return Some(Err(err));
                }
            }
        }
    }
}

fn bad(why: &str) -> BatchError {
    BatchError::BadRecords(why.to_string())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BatchError> {
        let b = *self.bytes.get(self.at).ok_or_else(|| bad("record truncated"))?;
        self.at += 1;
        Ok(b)
    }

    fn unsigned(&mut self, max_bytes: usize) -> Result<u64, BatchError> {
        let mut value = 0u64;
        for i in 0..max_bytes {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn varint(&mut self) -> Result<i32, BatchError> {
        let raw = self.unsigned(5)? as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    fn varlong(&mut self) -> Result<i64, BatchError> {
        let raw = self.unsigned(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn bytes_field(&mut self) -> Result<Option<&'a [u8]>, BatchError> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        let end = self.at + len as usize;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| bad("field runs past the record"))?;
        self.at = end;
        Ok(Some(slice))
    }
}

fn put_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::broker::compression::tests::{deflate, xerial_frame};
    use crate::broker::compression::{GZIP, LZ4, SNAPPY, ZSTD};

    /// How a test batch's records section is framed.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Codec {
        None,
        Gzip,
        /// One raw snappy block, as librdkafka writes it.
        Snappy,
        /// xerial's framing, as the Java client writes it.
        SnappyXerial,
        Lz4,
        Zstd,
    }

    pub(crate) const CODECS: [Codec; 6] = [
        Codec::None,
        Codec::Gzip,
        Codec::Snappy,
        Codec::SnappyXerial,
        Codec::Lz4,
        Codec::Zstd,
    ];

    /// Rewrites an encoded batch's records section and attributes, producer fields and CRC,
    /// as a Kafka producer would send it.
    pub(crate) fn reframe(batch: &[u8], attributes: i16, section: &[u8], producer: (i64, i16, i32)) -> Vec<u8> {
        let mut out = batch[..HEADER_LEN].to_vec();
        out.extend_from_slice(section);
        let batch_length = (out.len() - LOG_OVERHEAD) as i32;
        out[8..12].copy_from_slice(&batch_length.to_be_bytes());
        out[21..23].copy_from_slice(&attributes.to_be_bytes());
        out[43..51].copy_from_slice(&producer.0.to_be_bytes());
        out[51..53].copy_from_slice(&producer.1.to_be_bytes());
        out[53..57].copy_from_slice(&producer.2.to_be_bytes());
        let crc = crc32c::crc32c(&out[CRC_START..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// `records` as one batch from a producer: `codec`, and `producer` as (producerId,
    /// producerEpoch, baseSequence) ((-1, -1, -1) for none).
    pub(crate) fn produced(records: &[Record], codec: Codec, producer: (i64, i16, i32)) -> Vec<u8> {
        let plain = encode(records);
        let section = &plain[HEADER_LEN..];
        let (attributes, section) = match codec {
            Codec::None => (0, section.to_vec()),
            Codec::Gzip => (GZIP, deflate(GZIP, section)),
            Codec::Snappy => (SNAPPY, deflate(SNAPPY, section)),
            Codec::SnappyXerial => (SNAPPY, xerial_frame(section, 256)),
            Codec::Lz4 => (LZ4, deflate(LZ4, section)),
            Codec::Zstd => (ZSTD, deflate(ZSTD, section)),
        };
        reframe(&plain, i16::from(attributes), &section, producer)
    }

    #[test]
    fn compressed_batches_of_every_codec_decode_record_by_record() {
        for codec in CODECS {
            let mut bytes = produced(&sample(), codec, (-1, -1, -1));
            set_base_offset(&mut bytes, 100);
            let header = check_produced(&bytes).unwrap_or_else(|e| panic!("{codec:?}: {e}"));
            assert_eq!(header.record_count, 3);
            let decoded = records(&bytes).unwrap();
            assert_eq!(
                decoded.iter().map(|r| r.offset).collect::<Vec<_>>(),
                vec![100, 101, 102],
                "{codec:?}"
            );
            assert_eq!(
                decoded.into_iter().map(|r| r.record).collect::<Vec<_>>(),
                sample(),
                "{codec:?}"
            );
            let one = decoded_batch_records(&bytes);
            assert_eq!(one[0].1.as_deref(), Some(b"order-1".as_slice()), "{codec:?}");
        }
    }

    fn decoded_batch_records(bytes: &[u8]) -> Vec<(i64, Option<Vec<u8>>)> {
        let batch = decoded(bytes).unwrap();
        batch
            .records()
            .map(|r| r.map(|r| (r.offset, r.key.map(<[u8]>::to_vec))).unwrap())
            .collect()
    }

    #[test]
    fn a_log_read_mixing_codecs_is_walked_from_an_offset() {
        let mut log = Vec::new();
        let mut next = 0;
        for codec in CODECS {
            let mut bytes = produced(&sample(), codec, (-1, -1, -1));
            set_base_offset(&mut bytes, next);
            next += 3;
            log.extend_from_slice(&bytes);
        }
        let decoded = DecodedLog::new(&log);
        let walked: Vec<StoredRecord> = decoded.records(4).map(|r| r.unwrap().to_owned().unwrap()).collect();
        assert_eq!(walked.first().map(|r| r.offset), Some(4));
        assert_eq!(walked.len(), 3 * CODECS.len() - 4);
        let expected: Vec<Record> = (0..CODECS.len()).flat_map(|_| sample()).skip(4).collect();
        assert_eq!(walked.into_iter().map(|r| r.record).collect::<Vec<_>>(), expected);
        // Record headers are read borrowed, too.
        let first = decoded.records(0).next().unwrap().unwrap();
        let headers: Vec<_> = first.headers().map(Result::unwrap).collect();
        assert_eq!(headers, vec![("trace", Some(b"abc".as_slice())), ("empty", None)]);
        // A damaged compressed batch in the middle of a read is an error where it is reached.
        let mut damaged = log.clone();
        // The gzip batch, second: gzip's own CRC catches any damaged byte.
        let second = produced(&sample(), Codec::None, (-1, -1, -1)).len();
        damaged[second + HEADER_LEN + 20] ^= 0xff;
        let damaged = DecodedLog::new(&damaged);
        let results: Vec<_> = damaged.records(0).collect();
        assert_eq!(results.len(), 4, "three records, then the error");
        assert!(results[..3].iter().all(Result::is_ok));
        assert!(matches!(results.last(), Some(Err(_))));
    }

    /// Batches librdkafka sent (captured by `testdata/capture_librdkafka.py`), by codec.
    pub(crate) const LIBRDKAFKA: [(&str, &[u8]); 4] = [
        ("gzip", include_bytes!("testdata/librdkafka-gzip.bin")),
        ("snappy", include_bytes!("testdata/librdkafka-snappy.bin")),
        ("lz4", include_bytes!("testdata/librdkafka-lz4.bin")),
        ("zstd", include_bytes!("testdata/librdkafka-zstd.bin")),
    ];

    #[test]
    fn batches_librdkafka_compressed_decode_as_it_sent_them() {
        for (i, (codec, bytes)) in LIBRDKAFKA.into_iter().enumerate() {
            let header = check_produced(bytes).unwrap_or_else(|e| panic!("{codec}: {e}"));
            assert_eq!(header.compression(), i as u8 + 1, "{codec}");
            let decoded = records(bytes).unwrap();
            assert_eq!(decoded.len(), 3);
            for (j, stored) in decoded.into_iter().enumerate() {
                let value = format!("{{\"codec\":\"{codec}\",\"i\":{j},\"pad\":\"{}\"}}", "z".repeat(100));
                assert_eq!(stored.offset, j as i64);
                assert_eq!(
                    stored.record,
                    Record {
                        timestamp: 1_700_000_000_000 + 10 * j as i64,
                        key: Some(format!("key-{j}").into_bytes()),
                        value: Some(value.into_bytes()),
                        headers: vec![("h".to_string(), Some(format!("v{j}").into_bytes()))],
                    },
                    "{codec}"
                );
            }
        }
        // librdkafka writes raw snappy, not xerial's framing; its idempotent producer's
        // fields are where the header says.
        assert!(!LIBRDKAFKA[1].1[HEADER_LEN..].starts_with(b"\x82SNAPPY"));
        let idempotent = header(LIBRDKAFKA[3].1).unwrap();
        assert_eq!(
            (
                idempotent.producer_id,
                idempotent.producer_epoch,
                idempotent.base_sequence
            ),
            (4242, 3, 0)
        );
        assert_eq!(idempotent.last_sequence(), 2);
    }

    #[test]
    fn produced_batches_are_checked_and_decoded_once() {
        let first = produced(&sample(), Codec::Zstd, (-1, -1, -1));
        let second = produced(&sample()[..1], Codec::None, (-1, -1, -1));
        let set = ProducedBatches::check([first.clone(), second.clone()].concat()).unwrap();
        assert_eq!(set.sizes().collect::<Vec<_>>(), vec![first.len(), second.len()]);
        let walked: Vec<(i32, Vec<Record>)> = set
            .batches()
            .map(|(header, records)| {
                let records = records.map(|r| r.unwrap().to_owned().unwrap().record).collect();
                (header.record_count, records)
            })
            .collect();
        assert_eq!(walked, vec![(3, sample()), (1, sample()[..1].to_vec())]);
        let mut damaged = [first, second].concat();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(matches!(
            ProducedBatches::check(damaged),
            Err(BatchError::BadCrc { .. })
        ));
        assert!(ProducedBatches::check(Vec::new()).is_err());
    }

    #[test]
    fn record_sets_split_into_whole_batches() {
        let first = produced(&sample(), Codec::Gzip, (-1, -1, -1));
        let second = produced(&sample()[..1], Codec::None, (-1, -1, -1));
        let set = [first.clone(), second.clone()].concat();
        assert_eq!(split(&set).unwrap(), vec![first.as_slice(), second.as_slice()]);
        assert!(split(&[]).unwrap().is_empty());
        assert!(matches!(split(&set[..set.len() - 1]), Err(BatchError::Short { .. })));
        let mut bad_magic = set.clone();
        bad_magic[first.len() + 16] = 1;
        assert_eq!(split(&bad_magic), Err(BatchError::BadMagic(1)));
    }

    #[test]
    fn a_batch_that_inflates_past_the_limit_is_refused() {
        // xerial blocks of 1 MiB of zeros: 65 of them inflate past 64 MiB.
        let zeros = vec![0u8; 1024 * 1024];
        let block = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
        let mut section = b"\x82SNAPPY\0".to_vec();
        section.extend_from_slice(&1i32.to_be_bytes());
        section.extend_from_slice(&1i32.to_be_bytes());
        for _ in 0..65 {
            section.extend_from_slice(&(block.len() as i32).to_be_bytes());
            section.extend_from_slice(&block);
        }
        let plain = encode(&sample());
        let bomb = reframe(&plain, i16::from(SNAPPY), &section, (-1, -1, -1));
        assert!(bomb.len() < 4 * 1024 * 1024, "small on the wire: {} bytes", bomb.len());
        assert!(verify_whole(&bomb).is_ok(), "a well-formed batch");
        assert!(matches!(
            check_produced(&bomb),
            Err(BatchError::Compression(InflateError::TooLarge { .. }))
        ));
        assert!(records(&bomb).is_err());
        let log = DecodedLog::new(&bomb);
        assert!(matches!(log.records(0).next(), Some(Err(BatchError::Compression(_)))));
    }

    #[test]
    fn producers_batches_that_do_not_hold_what_they_claim_are_refused() {
        let plain = produced(&sample(), Codec::None, (-1, -1, -1));
        let section = plain[HEADER_LEN..].to_vec();
        // Damaged compressed data under a correct CRC.
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let good = produced(&sample(), codec, (-1, -1, -1));
            let mut inner = good[HEADER_LEN..].to_vec();
            let cut = inner.len() / 2;
            inner.truncate(cut);
            let attributes = i16::from_be_bytes([good[21], good[22]]);
            let damaged = reframe(&good, attributes, &inner, (-1, -1, -1));
            assert!(verify_whole(&damaged).is_ok());
            assert!(
                matches!(check_produced(&damaged), Err(BatchError::Compression(_))),
                "{codec:?}: {:?}",
                check_produced(&damaged)
            );
        }
        // Compressed records that are not the records the header counts.
        let two = produced(&sample()[..2], Codec::Gzip, (-1, -1, -1));
        let short = reframe(&plain, i16::from(GZIP), &two[HEADER_LEN..], (-1, -1, -1));
        assert!(matches!(check_produced(&short), Err(BatchError::BadRecords(_))));
        // Flags the broker does not take from producers, and an unknown codec.
        for (attributes, expected) in [(0x10, "transactional"), (0x20, "control"), (0x08, "append time")] {
            let flagged = reframe(&plain, attributes, &section, (-1, -1, -1));
            let err = check_produced(&flagged).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let unknown = reframe(&plain, 5, &section, (-1, -1, -1));
        assert_eq!(
            check_produced(&unknown).unwrap_err(),
            BatchError::Compression(InflateError::UnknownCodec(5))
        );
        // A producer id without an epoch or sequence.
        let half = reframe(&plain, 0, &section, (7, -1, 0));
        assert!(check_produced(&half).unwrap_err().to_string().contains("producerEpoch"));
        assert!(check_produced(&reframe(&plain, 0, &section, (7, 0, 0))).is_ok());
        // A maxTimestamp that is not the records' greatest.
        let mut lying = plain.clone();
        lying[35..43].copy_from_slice(&0i64.to_be_bytes());
        let lying = reframe(&lying, 0, &section, (-1, -1, -1));
        assert!(check_produced(&lying).unwrap_err().to_string().contains("maxTimestamp"));
        // Offset deltas that skip: two records, the second saying delta 2, not 1.
        let tiny = Record {
            timestamp: 5,
            key: Some(b"a".to_vec()),
            value: Some(b"b".to_vec()),
            headers: vec![],
        };
        let mut skipping = encode(&[tiny.clone(), tiny]);
        // Each record: length, attributes, timestamp delta, offset delta, … (8 bytes after
        // its length), so the second's offset delta is at 61 + 9 + 3.
        assert_eq!(skipping[HEADER_LEN + 12], 2, "zig-zag 1");
        skipping[HEADER_LEN + 12] = 4;
        let section = skipping[HEADER_LEN..].to_vec();
        let skipping = reframe(&skipping, 0, &section, (-1, -1, -1));
        assert!(check_produced(&skipping)
            .unwrap_err()
            .to_string()
            .contains("offset delta"));
    }

    #[test]
    fn a_decoded_log_walks_uncompressed_batches_borrowed_from_an_offset() {
        let mut first = encode(&sample());
        set_base_offset(&mut first, 10);
        let mut second = encode(&sample());
        set_base_offset(&mut second, 10 + sample().len() as i64);
        let log = [first.as_slice(), second.as_slice()].concat();
        let decoded_log = DecodedLog::new(&log);
        let offsets: Vec<i64> = decoded_log.records(11).map(|r| r.unwrap().offset).collect();
        let expected: Vec<i64> = (11..10 + 2 * sample().len() as i64).collect();
        assert_eq!(offsets, expected, "records before the offset are skipped");
        let owned: Vec<StoredRecord> = decoded_log.records(0).map(|r| r.unwrap().to_owned().unwrap()).collect();
        let decoded = [records(&first).unwrap(), records(&second).unwrap()].concat();
        assert_eq!(owned, decoded, "headers included");
        assert_eq!(owned[0].record, sample()[0]);
        // A torn batch at the end is an error, after the whole batches before it.
        let torn = &log[..log.len() - 3];
        let torn = DecodedLog::new(torn);
        let results: Vec<_> = torn.records(0).collect();
        assert!(results[..sample().len()].iter().all(Result::is_ok));
        assert!(matches!(results.last(), Some(Err(BatchError::Short { .. }))));
    }

    fn sample() -> Vec<Record> {
        vec![
            Record {
                timestamp: 1_700_000_000_000,
                key: Some(b"order-1".to_vec()),
                value: Some(br#"{"amount": 12.5}"#.to_vec()),
                headers: vec![
                    ("trace".to_string(), Some(b"abc".to_vec())),
                    ("empty".to_string(), None),
                ],
            },
            Record {
                timestamp: 1_700_000_000_250,
                key: None,
                value: None,
                headers: vec![],
            },
            Record {
                timestamp: 1_699_999_999_000,
                key: Some(vec![]),
                value: Some(vec![0u8; 300]),
                headers: vec![],
            },
        ]
    }

    #[test]
    fn batches_round_trip_with_offsets_and_timestamps() {
        let mut bytes = encode(&sample());
        set_base_offset(&mut bytes, 42);
        let header = verify(&bytes).unwrap();
        assert_eq!(header.base_offset, 42);
        assert_eq!(header.record_count, 3);
        assert_eq!(header.last_offset(), 44);
        assert_eq!(header.base_timestamp, 1_699_999_999_000);
        assert_eq!(header.max_timestamp, 1_700_000_000_250);
        assert_eq!(header.total_len(), bytes.len());
        let decoded = records(&bytes).unwrap();
        assert_eq!(decoded.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![42, 43, 44]);
        assert_eq!(decoded.into_iter().map(|r| r.record).collect::<Vec<_>>(), sample());
    }

    #[test]
    fn the_base_offset_is_outside_the_crc() {
        let mut bytes = encode(&sample());
        set_base_offset(&mut bytes, i64::MAX - 10);
        assert!(verify(&bytes).is_ok());
    }

    #[test]
    fn every_flipped_bit_after_the_offset_fields_is_caught() {
        let bytes = encode(&sample());
        for i in 8..bytes.len() {
            if (12..16).contains(&i) {
                continue; // partitionLeaderEpoch: outside the CRC by design
            }
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                assert!(
                    verify(&damaged).is_err(),
                    "flip of bit {bit} at byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_short() {
        let bytes = encode(&sample());
        for len in 0..bytes.len() {
            match verify(&bytes[..len]) {
                Err(BatchError::Short { .. }) => {}
                other => panic!("truncation to {len} bytes: {other:?}"),
            }
        }
    }

    #[test]
    fn varints_match_kafka_zigzag() {
        let mut out = Vec::new();
        for (value, expected) in [
            (0, vec![0x00]),
            (-1, vec![0x01]),
            (1, vec![0x02]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
        ] {
            out.clear();
            put_varint(&mut out, value);
            assert_eq!(out, expected, "{value}");
            let mut reader = Reader { bytes: &out, at: 0 };
            assert_eq!(reader.varint().unwrap(), value);
        }
        for value in [i64::MIN, -1, 0, 1, i64::MAX] {
            out.clear();
            put_varlong(&mut out, value);
            let mut reader = Reader { bytes: &out, at: 0 };
            assert_eq!(reader.varlong().unwrap(), value);
        }
    }
}
