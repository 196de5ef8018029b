//! Kafka request frames as a client could send them: every input must parse or be refused
//! with a reason, never panic, abort or reserve memory out of proportion to its size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = herald::kafka::request::parse(bytes::Bytes::copy_from_slice(data));
});
