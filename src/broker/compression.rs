//! Decompression of the records section of Kafka record batches, for the four codecs Kafka
//! producers use (attributes bits 0-2): 1 gzip, 2 snappy, 3 lz4, 4 zstd.
//!
//! Batches are stored and served exactly as producers compressed them; only readers that need
//! the records (validation, the HTTP reads, time lookups) decompress, into a buffer of their
//! own. Every codec is bounded by [`MAX_INFLATED_BYTES`]: a batch that would inflate past it
//! (a decompression bomb) is an error, never an allocation that size.
//!
//! The framings are the ones Kafka clients write:
//! - gzip: a gzip stream (members concatenated are read as one, as Java's `GZIPInputStream`);
//! - snappy: the Java client writes xerial's framing (`\x82SNAPPY\0`, two big-endian i32
//!   versions, then blocks of a big-endian i32 length and a raw snappy block); librdkafka
//!   writes one raw snappy block. Both are read, told apart by xerial's magic;
//! - lz4: the LZ4 frame format;
//! - zstd: zstd frames (one, or several back to back).
//!
//! Pure code: bytes in, bytes out.

use std::io::Read;

/// The most a batch's records may inflate to. Kafka's default `max.message.bytes` is about
/// 1 MiB of compressed batch, so this allows a ratio of 64 to 1, far above what real records
/// reach, while bounding what one batch can make a reader allocate.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

pub const NONE: u8 = 0;
pub const GZIP: u8 = 1;
pub const SNAPPY: u8 = 2;
pub const LZ4: u8 = 3;
pub const ZSTD: u8 = 4;

const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\0";
/// Magic and the two version fields.
const XERIAL_HEADER_LEN: usize = 16;

/// Why a compressed records section cannot be decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// Attribute bits 0-2 name no codec Kafka defines.
    UnknownCodec(u8),
    /// The data would inflate past the limit.
    TooLarge { limit: usize },
    /// The codec's decoder refused the data.
    Corrupt { codec: &'static str, reason: String },
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InflateError::UnknownCodec(codec) => write!(f, "unknown compression codec {codec}"),
            InflateError::TooLarge { limit } => {
                write!(f, "the records inflate past {limit} bytes")
            }
            InflateError::Corrupt { codec, reason } => write!(f, "cannot decompress {codec} records: {reason}"),
        }
    }
}

/// The codec's name, for messages; `None` for values Kafka does not define.
pub fn codec_name(codec: u8) -> Option<&'static str> {
    match codec {
        NONE => Some("none"),
        GZIP => Some("gzip"),
        SNAPPY => Some("snappy"),
        LZ4 => Some("lz4"),
        ZSTD => Some("zstd"),
        _ => None,
    }
}

/// Decompresses `data` (a batch's bytes after its 61-byte header) compressed with `codec`
/// (1-4), to at most `limit` bytes.
pub fn inflate(codec: u8, data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let name = match codec_name(codec) {
        Some(name) if codec != NONE => name,
        _ => return Err(InflateError::UnknownCodec(codec)),
    };
    let corrupt = |reason: String| InflateError::Corrupt { codec: name, reason };
    match codec {
        GZIP => read_bounded(flate2::read::MultiGzDecoder::new(data), limit).map_err(|e| e.or(corrupt)),
        SNAPPY if data.starts_with(XERIAL_MAGIC) => xerial(data, limit).map_err(|e| e.or(corrupt)),
        SNAPPY => raw_snappy(data, limit).map_err(|e| e.or(corrupt)),
        LZ4 => read_bounded(lz4_flex::frame::FrameDecoder::new(data), limit).map_err(|e| e.or(corrupt)),
        _ => zstd(data, limit).map_err(|e| e.or(corrupt)),
    }
}

/// A failure before it knows its codec: too large, or a decoder's reason.
enum Failure {
    TooLarge(usize),
    Reason(String),
}

impl Failure {
    fn or(self, corrupt: impl FnOnce(String) -> InflateError) -> InflateError {
        match self {
            Failure::TooLarge(limit) => InflateError::TooLarge { limit },
            Failure::Reason(reason) => corrupt(reason),
        }
    }
}

/// Reads `reader` to its end, refusing more than `limit` bytes (one byte past the limit is
/// read to tell "exactly the limit" from "more").
fn read_bounded(reader: impl Read, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Failure::Reason(e.to_string()))?;
    if out.len() > limit {
        return Err(Failure::TooLarge(limit));
    }
    Ok(out)
}

/// One raw snappy block; its declared length is checked before anything is allocated.
fn raw_snappy(data: &[u8], limit: usize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    append_snappy_block(data, &mut out, limit)?;
    Ok(out)
}

fn append_snappy_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Failure> {
    let len = snap::raw::decompress_len(block).map_err(|e| Failure::Reason(e.to_string()))?;
    if len > limit.saturating_sub(out.len()) {
        return Err(Failure::TooLarge(limit));
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| Failure::Reason(e.to_string()))?;
    out.truncate(start + written);
    Ok(())
}

/// xerial's snappy framing: the 16-byte header, then length-prefixed raw blocks.
fn xerial(data: &[u8], limit: usize) -> Result<Vec<u8>, Failure> {
    let mut rest = data
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| Failure::Reason("xerial header truncated".to_string()))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((len, after)) = rest.split_first_chunk::<4>() else {
            return Err(Failure::Reason("xerial block length truncated".to_string()));
        };
        let len = usize::try_from(i32::from_be_bytes(*len))
            .map_err(|_| Failure::Reason("negative xerial block length".to_string()))?;
        let block = after
            .get(..len)
            .ok_or_else(|| Failure::Reason(format!("xerial block of {len} bytes runs past the data")))?;
        append_snappy_block(block, &mut out, limit)?;
        rest = &after[len..];
    }
    Ok(out)
}

/// zstd frames back to back until the data ends.
fn zstd(data: &[u8], limit: usize) -> Result<Vec<u8>, Failure> {
    let mut rest = data;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let decoder = ruzstd::decoding::StreamingDecoder::new(&mut rest).map_err(|e| Failure::Reason(e.to_string()))?;
        let room = limit - out.len();
        let frame = read_bounded(decoder, room).map_err(|e| match e {
            Failure::TooLarge(_) => Failure::TooLarge(limit),
            other => other,
        })?;
        if out.is_empty() {
            out = frame;
        } else {
            out.extend_from_slice(&frame);
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// `data` compressed with `codec` as Kafka clients frame it (snappy: raw, as librdkafka).
    pub(crate) fn deflate(codec: u8, data: &[u8]) -> Vec<u8> {
        match codec {
            GZIP => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            SNAPPY => snap::raw::Encoder::new().compress_vec(data).unwrap(),
            LZ4 => {
                let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
                encoder.write_all(data).unwrap();
                encoder.finish().unwrap()
            }
            ZSTD => ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest),
            other => panic!("no codec {other}"),
        }
    }

    /// xerial framing as the Java client's `SnappyOutputStream` writes it: magic, version 1,
    /// compatible version 1, then each block's length and raw snappy bytes.
    pub(crate) fn xerial_frame(data: &[u8], block_size: usize) -> Vec<u8> {
        let mut out = XERIAL_MAGIC.to_vec();
        out.extend_from_slice(&1i32.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
        for chunk in data.chunks(block_size) {
            let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            out.extend_from_slice(&(block.len() as i32).to_be_bytes());
            out.extend_from_slice(&block);
        }
        out
    }

    fn sample() -> Vec<u8> {
        (0..20_000u32).flat_map(|i| (i % 251).to_be_bytes()).collect()
    }

    #[test]
    fn every_codec_round_trips() {
        let data = sample();
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let compressed = deflate(codec, &data);
            assert!(compressed.len() < data.len(), "codec {codec} compresses");
            assert_eq!(
                inflate(codec, &compressed, MAX_INFLATED_BYTES).unwrap(),
                data,
                "codec {codec}"
            );
        }
        let framed = xerial_frame(&data, 4096);
        assert_eq!(
            inflate(SNAPPY, &framed, MAX_INFLATED_BYTES).unwrap(),
            data,
            "xerial framing"
        );
        let two_frames = [deflate(ZSTD, &data[..100]), deflate(ZSTD, &data[100..])].concat();
        assert_eq!(
            inflate(ZSTD, &two_frames, MAX_INFLATED_BYTES).unwrap(),
            data,
            "zstd frames back to back"
        );
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let zeros = vec![0u8; 1024 * 1024];
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let compressed = deflate(codec, &zeros);
            assert_eq!(
                inflate(codec, &compressed, 64 * 1024),
                Err(InflateError::TooLarge { limit: 64 * 1024 }),
                "codec {codec}"
            );
            assert_eq!(
                inflate(codec, &compressed, zeros.len()).unwrap().len(),
                zeros.len(),
                "exactly the limit"
            );
        }
        assert_eq!(
            inflate(SNAPPY, &xerial_frame(&zeros, 32 * 1024), 64 * 1024),
            Err(InflateError::TooLarge { limit: 64 * 1024 })
        );
    }

    #[test]
    fn damaged_data_is_refused_naming_the_codec() {
        let data = sample();
        for codec in [GZIP, SNAPPY, LZ4, ZSTD] {
            let mut compressed = deflate(codec, &data);
            let middle = compressed.len() / 2;
            compressed.truncate(middle);
            match inflate(codec, &compressed, MAX_INFLATED_BYTES) {
                Err(InflateError::Corrupt { codec: name, .. }) => assert_eq!(Some(name), codec_name(codec)),
                other => panic!("codec {codec}: truncated data gave {other:?}"),
            }
            assert!(
                inflate(codec, b"definitely not compressed", MAX_INFLATED_BYTES).is_err(),
                "codec {codec}"
            );
        }
        let mut framed = xerial_frame(&data, 4096);
        framed.truncate(framed.len() - 10);
        assert!(matches!(
            inflate(SNAPPY, &framed, MAX_INFLATED_BYTES),
            Err(InflateError::Corrupt { .. })
        ));
        assert_eq!(inflate(5, b"", MAX_INFLATED_BYTES), Err(InflateError::UnknownCodec(5)));
        assert_eq!(
            inflate(NONE, b"", MAX_INFLATED_BYTES),
            Err(InflateError::UnknownCodec(0))
        );
    }
}
