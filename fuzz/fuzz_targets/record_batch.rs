//! Kafka record sets as a producer sends them: split, checked, decompressed and decoded.
//! Every input must be answered or refused with a reason: never a panic, an abort, or
//! memory out of proportion to its size (herald::fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::record_batch(data));
