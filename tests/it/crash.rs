//! Acknowledged means durable, under SIGKILL: concurrent producers record every offset the
//! broker acknowledges while the server is killed at random moments and restarted, over and
//! over; afterwards every acknowledged record must be at its acknowledged offset, offsets
//! dense, and every batch intact.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::registry_support::temp_dir;
use crate::serve::{try_http, Server};

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const ROUNDS: u64 = 20;
const PRODUCERS: u64 = 4;
const PARTITIONS: i64 = 2;

/// A small deterministic generator: the kill moments vary but a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[test]
fn every_acknowledged_record_survives_repeated_sigkills() {
    let dir = temp_dir("herald-crash");
    let dir_arg = dir.display().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut random = Lcg(seed);
    // (partition, offset) → the payload acknowledged there.
    let acked: Arc<Mutex<BTreeMap<(i64, i64), Value>>> = Arc::default();

    let server = Server::start(&["--data-dir", &dir_arg]);
    let (status, body) = try_http(
        &server.address,
        "POST",
        "/topics",
        "application/json",
        Some(&json!({"name": "crash", "partitions": PARTITIONS})),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let mut server = Some(server);

    for round in 0..ROUNDS {
        let running = server
            .take()
            .unwrap_or_else(|| Server::start(&["--data-dir", &dir_arg]));
        let stop = Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let address = running.address.clone();
                let acked = acked.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let records: Vec<Value> = (0..5)
                            .map(|i| json!({"key": format!("p{producer}"), "value": {"round": round, "producer": producer, "seq": seq, "i": i}}))
                            .collect();
                        seq += 1;
                        let sent = records.clone();
                        match try_http(&address, "POST", "/topics/crash", JSON_V2, Some(&json!({ "records": records }))) {
                            Ok((200, body)) => {
                                let mut acked = acked.lock().unwrap();
                                for (offset, record) in body["offsets"].as_array().unwrap().iter().zip(&sent) {
                                    let key = (offset["partition"].as_i64().unwrap(), offset["offset"].as_i64().unwrap());
                                    let previous = acked.insert(key, record["value"].clone());
                                    assert!(previous.is_none(), "offset {key:?} acknowledged twice");
                                }
                            }
                            Ok((status, body)) => panic!("produce answered {status}: {body}"),
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50 + random.next(250)));
        running.kill();
        stop.store(true, Ordering::Relaxed);
        for producer in producers {
            producer.join().expect("a producer thread");
        }
    }

    let server = Server::start(&["--data-dir", &dir_arg]);
    let acked = acked.lock().unwrap();
    eprintln!("{} records acknowledged over {ROUNDS} kills", acked.len());
    assert!(
        acked.len() > 100,
        "only {} records acknowledged: the test exercised too little",
        acked.len()
    );
    for partition in 0..PARTITIONS {
        let mut stored: Vec<(i64, Value)> = Vec::new();
        loop {
            let next = stored.last().map_or(0, |(o, _)| o + 1);
            let path = format!("/topics/crash/partitions/{partition}/records?offset={next}&max_bytes=1048576");
            let (status, body) = try_http(&server.address, "GET", &path, JSON_V2, None).unwrap();
            assert_eq!(status, 200, "{body}");
            let page = body.as_array().unwrap();
            if page.is_empty() {
                break;
            }
            stored.extend(page.iter().map(|r| (r["offset"].as_i64().unwrap(), r["value"].clone())));
        }
        for (i, (offset, _)) in stored.iter().enumerate() {
            assert_eq!(*offset, i as i64, "offsets of partition {partition} are not dense");
        }
        for ((p, offset), value) in acked.iter().filter(|((p, _), _)| *p == partition) {
            let found = stored.get(*offset as usize).map(|(_, v)| v);
            assert_eq!(
                found,
                Some(value),
                "acknowledged record at {p}/{offset} is missing or different"
            );
        }
    }
}
