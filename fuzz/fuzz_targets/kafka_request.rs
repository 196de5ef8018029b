//! Kafka request frames as a client could send them (after the size).
//! Every input must be answered or refused with a reason: never a panic, an abort, or
//! memory out of proportion to its size (herald::fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald::fuzzing::kafka_request(data));
