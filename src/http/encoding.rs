//! Request bodies in the encodings Confluent's registry reads: its JSON parser (Jackson)
//! detects UTF-8, UTF-16 and UTF-32 (either byte order) from the first bytes, by a byte
//! order mark or, without one, by where the zero bytes of the first (ASCII) character fall.
//! A `charset` in `Content-Type` plays no part there, so none here: a JSON text's first
//! character is ASCII, which tells every one of these encodings apart.

use std::borrow::Cow;
use std::fmt;

/// The encodings a JSON body can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Be,
    Utf16Le,
    Utf32Be,
    Utf32Le,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf32Be => "UTF-32BE",
            Encoding::Utf32Le => "UTF-32LE",
        })
    }
}

/// The body as UTF-8 (borrowed when it already is; its byte order mark dropped), or why it
/// cannot be decoded, naming the encoding and the byte.
pub fn to_utf8(body: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let (encoding, bom) = detect(body)?;
    let content = &body[bom..];
    match encoding {
        Encoding::Utf8 => Ok(Cow::Borrowed(content)),
        Encoding::Utf16Be | Encoding::Utf16Le => {
            decode_utf16(content, encoding, bom).map(|s| Cow::Owned(s.into_bytes()))
        }
        Encoding::Utf32Be | Encoding::Utf32Le => {
            decode_utf32(content, encoding, bom).map(|s| Cow::Owned(s.into_bytes()))
        }
    }
}

/// The body's encoding and the length of its byte order mark, as Jackson's bootstrapper
/// decides them.
fn detect(body: &[u8]) -> Result<(Encoding, usize), String> {
    let unusual =
        || Err("the body is in UCS-4 with an unusual byte order (2143 or 3412), which is not supported".to_string());
    match body {
        [0x00, 0x00, 0xFE, 0xFF, ..] => return Ok((Encoding::Utf32Be, 4)),
        [0xFF, 0xFE, 0x00, 0x00, ..] => return Ok((Encoding::Utf32Le, 4)),
        [0x00, 0x00, 0xFF, 0xFE, ..] | [0xFE, 0xFF, 0x00, 0x00, ..] => return unusual(),
        [0xFE, 0xFF, ..] => return Ok((Encoding::Utf16Be, 2)),
        [0xFF, 0xFE, ..] => return Ok((Encoding::Utf16Le, 2)),
        [0xEF, 0xBB, 0xBF, ..] => return Ok((Encoding::Utf8, 3)),
        _ => {}
    }
    let encoding = match body {
        [0, 0, 0, x, ..] if *x != 0 => Encoding::Utf32Be,
        [x, 0, 0, 0, ..] if *x != 0 => Encoding::Utf32Le,
        [0, 0, x, 0, ..] | [0, x, 0, 0, ..] if *x != 0 => return unusual(),
        [0, x, ..] if *x != 0 => Encoding::Utf16Be,
        [x, 0, ..] if *x != 0 => Encoding::Utf16Le,
        _ => Encoding::Utf8,
    };
    Ok((encoding, 0))
}

fn decode_utf16(content: &[u8], encoding: Encoding, offset: usize) -> Result<String, String> {
    if !content.len().is_multiple_of(2) {
        return Err(format!(
            "the body is not valid {encoding}: it ends in the middle of a character (byte {})",
            offset + content.len() - 1
        ));
    }
    let units = content.chunks_exact(2).map(|pair| match encoding {
        Encoding::Utf16Be => u16::from_be_bytes([pair[0], pair[1]]),
        _ => u16::from_le_bytes([pair[0], pair[1]]),
    });
    let mut text = String::with_capacity(content.len() / 2);
    let mut at = offset;
    for unit in char::decode_utf16(units) {
        match unit {
            Ok(c) => {
                at += 2 * c.len_utf16();
                text.push(c);
            }
            Err(e) => {
                return Err(format!(
                    "the body is not valid {encoding}: unpaired surrogate 0x{:04X} at byte {at}",
                    e.unpaired_surrogate()
                ))
            }
        }
    }
    Ok(text)
}

fn decode_utf32(content: &[u8], encoding: Encoding, offset: usize) -> Result<String, String> {
    if !content.len().is_multiple_of(4) {
        return Err(format!(
            "the body is not valid {encoding}: it ends in the middle of a character (byte {})",
            offset + content.len() - content.len() % 4
        ));
    }
    let mut text = String::with_capacity(content.len() / 4);
    for (i, quad) in content.chunks_exact(4).enumerate() {
        let quad = [quad[0], quad[1], quad[2], quad[3]];
        let value = match encoding {
            Encoding::Utf32Be => u32::from_be_bytes(quad),
            _ => u32::from_le_bytes(quad),
        };
        match char::from_u32(value) {
            Some(c) => text.push(c),
            None => {
                return Err(format!(
                    "the body is not valid {encoding}: 0x{value:X} at byte {} is not a character",
                    offset + 4 * i
                ))
            }
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
        for unit in units {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let chars = bom.then_some('\u{FEFF}').into_iter().chain(text.chars());
        for c in chars {
            out.extend(if big_endian {
                (c as u32).to_be_bytes()
            } else {
                (c as u32).to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn every_encoding_is_detected_with_or_without_a_bom() {
        let text = r#"{"schema":"\"string\"","doc":"café 🚀"}"#;
        for bom in [false, true] {
            for big_endian in [false, true] {
                assert_eq!(
                    to_utf8(&utf16(text, big_endian, bom)).unwrap().as_ref(),
                    text.as_bytes()
                );
                assert_eq!(
                    to_utf8(&utf32(text, big_endian, bom)).unwrap().as_ref(),
                    text.as_bytes()
                );
            }
        }
        assert_eq!(to_utf8(text.as_bytes()).unwrap().as_ref(), text.as_bytes());
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(to_utf8(&with_bom).unwrap().as_ref(), text.as_bytes());
        assert!(matches!(to_utf8(text.as_bytes()).unwrap(), Cow::Borrowed(_)));
        assert_eq!(to_utf8(b"").unwrap().as_ref(), b"");
        assert_eq!(to_utf8(b"1").unwrap().as_ref(), b"1");
    }

    #[test]
    fn broken_bodies_name_the_encoding_and_the_byte() {
        // A lone high surrogate.
        let mut lone = utf16("{\"a\":1}", false, true);
        lone.extend(0xD800u16.to_le_bytes());
        lone.extend(b"}\0");
        let message = to_utf8(&lone).unwrap_err();
        assert!(
            message.contains("UTF-16LE") && message.contains("0xD800") && message.contains("byte 16"),
            "{message}"
        );
        // An odd length.
        let mut odd = utf16("{}", true, false);
        odd.push(b' ');
        let message = to_utf8(&odd).unwrap_err();
        assert!(message.contains("UTF-16BE") && message.contains("byte 4"), "{message}");
        // A value past U+10FFFF.
        let mut big = utf32("{", true, false);
        big.extend(0x0011_0000u32.to_be_bytes());
        let message = to_utf8(&big).unwrap_err();
        assert!(
            message.contains("UTF-32BE") && message.contains("0x110000") && message.contains("byte 4"),
            "{message}"
        );
        let message = to_utf8(&[0, 0, 0x7B, 0]).unwrap_err();
        assert!(message.contains("unusual byte order"), "{message}");
    }
}
