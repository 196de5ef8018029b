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
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
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

/// What the test knows of one topic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// Creation acknowledged (201) with this many partitions, no deletion since.
    Present(i64),
    /// Never created, or deletion acknowledged (204).
    Absent,
    /// A create or delete was in flight when the server was killed: either is fine, but
    /// if the topic is there, it is whole.
    Unsure,
}

const METADATA_ROUNDS: u64 = 15;
const METADATA_WORKERS: u64 = 3;
const NAMES_PER_WORKER: u64 = 4;

/// Checks a freshly started server against what was acknowledged, and settles the names a
/// kill left unsure: every acknowledged topic exists with its partitions, every
/// acknowledged deletion is gone, nothing else is listed, and every listed topic is whole
/// (described, each partition's offsets readable) with no working directory left behind.
fn check_topics(server: &Server, data_dir: &std::path::Path, known: &Mutex<BTreeMap<String, Known>>) {
    let (status, listed) = try_http(&server.address, "GET", "/topics", JSON_V2, None).unwrap();
    assert_eq!(status, 200, "{listed}");
    let listed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let mut known = known.lock().unwrap();
    for name in &listed {
        assert!(known.contains_key(name), "a topic nobody created is listed: {name}");
    }
    for (name, state) in known.iter_mut() {
        let present = listed.contains(name);
        match *state {
            Known::Present(_) => assert!(present, "acknowledged topic {name} is missing after a restart"),
            Known::Absent => assert!(!present, "topic {name} is back after an acknowledged deletion"),
            Known::Unsure => {}
        }
        if !present {
            *state = Known::Absent;
            continue;
        }
        let (status, topic) = try_http(&server.address, "GET", &format!("/topics/{name}"), JSON_V2, None).unwrap();
        assert_eq!(status, 200, "listed topic {name} cannot be described: {topic}");
        let partitions = topic["partitions"].as_array().unwrap().len() as i64;
        if let Known::Present(expected) = *state {
            assert_eq!(partitions, expected, "topic {name} has the wrong partition count");
        }
        for p in 0..partitions {
            let path = format!("/topics/{name}/partitions/{p}/offsets");
            let (status, body) = try_http(&server.address, "GET", &path, JSON_V2, None).unwrap();
            assert_eq!(status, 200, "partition {p} of topic {name} is not whole: {body}");
        }
        *state = Known::Present(partitions);
    }
    let leftovers: Vec<String> = std::fs::read_dir(data_dir.join("topics"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains_key(n))
        .collect();
    assert!(leftovers.is_empty(), "left in topics/ after a start: {leftovers:?}");
}

/// One worker's loop until the server goes away: create, produce to and delete its own
/// topics (so each name's requests are in order), recording what was acknowledged.
fn churn_topics(
    address: &str,
    worker: u64,
    seed: u64,
    known: &Mutex<BTreeMap<String, Known>>,
    acks: &Mutex<(u64, u64)>,
) {
    let mut random = Lcg(seed);
    loop {
        let name = format!("churn-{worker}-{}", random.next(NAMES_PER_WORKER));
        let state = known.lock().unwrap()[&name];
        let answer = match state {
            Known::Present(partitions) if random.next(3) > 0 => {
                let records: Vec<Value> = (0..3).map(|i| json!({"value": {"i": i}})).collect();
                let path = format!("/topics/{name}/partitions/{}", random.next(partitions as u64));
                match try_http(address, "POST", &path, JSON_V2, Some(&json!({ "records": records }))) {
                    Ok((200, _)) => continue,
                    Ok((status, body)) => panic!("produce to {name} answered {status}: {body}"),
                    Err(_) => return,
                }
            }
            Known::Present(_) => {
                known.lock().unwrap().insert(name.clone(), Known::Unsure);
                try_http(address, "DELETE", &format!("/topics/{name}"), JSON_V2, None)
            }
            Known::Absent | Known::Unsure => {
                known.lock().unwrap().insert(name.clone(), Known::Unsure);
                let partitions = 1 + random.next(4) as i64;
                let body = json!({"name": name, "partitions": partitions});
                try_http(address, "POST", "/topics", "application/json", Some(&body))
            }
        };
        let settled = match answer {
            Ok((201, body)) => {
                acks.lock().unwrap().0 += 1;
                Known::Present(body["partitions"].as_array().unwrap().len() as i64)
            }
            Ok((204, _)) => {
                acks.lock().unwrap().1 += 1;
                Known::Absent
            }
            Ok((status, body)) => panic!("{name}: answered {status}: {body}"),
            Err(_) => return, // killed mid-request: the name stays unsure
        };
        known.lock().unwrap().insert(name, settled);
    }
}

#[test]
fn topic_creation_and_deletion_survive_repeated_sigkills() {
    let started = std::time::Instant::now();
    let dir = temp_dir("herald-crash-topics");
    let dir_arg = dir.display().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("topic crash test seed {seed}");
    let mut random = Lcg(seed);
    let known: Arc<Mutex<BTreeMap<String, Known>>> = Arc::new(Mutex::new(
        (0..METADATA_WORKERS)
            .flat_map(|w| (0..NAMES_PER_WORKER).map(move |k| (format!("churn-{w}-{k}"), Known::Absent)))
            .collect(),
    ));
    let acks: Arc<Mutex<(u64, u64)>> = Arc::default();
    let mut rounds = 0;
    while rounds < METADATA_ROUNDS && started.elapsed() < Duration::from_secs(35) {
        // `Server::start` fails the test if the server does not come up.
        let server = Server::start(&["--data-dir", &dir_arg]);
        check_topics(&server, &dir, &known);
        let workers: Vec<_> = (0..METADATA_WORKERS)
            .map(|worker| {
                let address = server.address.clone();
                let (known, acks) = (known.clone(), acks.clone());
                let seed = seed ^ (rounds << 8) ^ worker;
                std::thread::spawn(move || churn_topics(&address, worker, seed, &known, &acks))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + random.next(400)));
        server.kill();
        for worker in workers {
            worker.join().expect("a worker thread");
        }
        rounds += 1;
    }
    let server = Server::start(&["--data-dir", &dir_arg]);
    check_topics(&server, &dir, &known);
    let (created, deleted) = *acks.lock().unwrap();
    eprintln!("{created} creations and {deleted} deletions acknowledged over {rounds} kills");
    assert!(rounds >= 5, "only {rounds} rounds in the time allowed");
    assert!(
        created >= 20 && deleted >= 10,
        "only {created} creations and {deleted} deletions: the test exercised too little"
    );
}
