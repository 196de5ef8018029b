//! Avro schema texts as the registry takes them: parsed, canonicalised, fingerprinted.
//! Every input must be answered or refused with a reason: never a panic, an abort, or
//! memory out of proportion to its size (herald::fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::avro_schema(data));
