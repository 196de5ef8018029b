//! Protobuf schema texts (`.proto` or base64 descriptors) as the registry takes them: parsed, canonicalised, fingerprinted.
//! Every input must be answered or refused with a reason: never a panic, an abort, or
//! memory out of proportion to its size (herald::fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::protobuf_schema(data));
