//! Parses one benchmark schema N times: a fixed workload for counting instructions, which,
//! unlike wall-clock time, does not move with the load of a shared machine.
//!
//! `bench/parse-instructions.sh` runs it under callgrind; by hand:
//! `cargo run --release --example parse_loop -- avro 200`.

#[path = "../benches/fixtures/mod.rs"]
mod fixtures;

use herald::schema::{Schema, SchemaType};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(what), Some(count)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: parse_loop avro|json|protobuf|value COUNT");
        std::process::exit(2);
    };
    let avro = fixtures::avro_record(120);
    let json = fixtures::json_object(101);
    let proto = fixtures::proto_message(120);
    for _ in 0..count {
        match what.as_str() {
            "avro" => drop(std::hint::black_box(
                Schema::parse(SchemaType::Avro, &avro, &[]).expect("parses"),
            )),
            "json" => drop(std::hint::black_box(
                Schema::parse(SchemaType::Json, &json, &[]).expect("parses"),
            )),
            "protobuf" => drop(std::hint::black_box(
                Schema::parse(SchemaType::Protobuf, &proto, &[]).expect("parses"),
            )),
            // The baseline: the JSON Schema text into a serde_json::Value, nothing more.
            "value" => drop(std::hint::black_box(
                serde_json::from_str::<serde_json::Value>(&json).expect("parses"),
            )),
            other => {
                eprintln!("unknown workload {other:?}: use avro, json, protobuf or value");
                std::process::exit(2);
            }
        }
    }
}
