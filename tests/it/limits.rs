//! Values in range and bounded memory, through the router: schema ids and versions stay
//! within Confluent's 1..2^31-1, reads refuse malformed or negative positions and sizes,
//! concurrent reads share a byte budget, and consumer instances are capped and expire.
//! Every refusal is the API's error shape with a message naming the value or the limit.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::{json, Value};
use tower::ServiceExt;

use herald::broker::groups::{MAX_MEMBERS, MAX_MEMBERS_PER_GROUP};
use herald::broker::log::LogConfig;
use herald::broker::Broker;
use herald::http::read_budget::ReadBudget;
use herald::http::{app, AppState};
use herald::registry::{Registry, RegistrySettings};
use herald::store::Store;

use crate::registry_support::{temp_dir, Backend, Reply, TestRegistry};
use crate::registry_test;

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const BINARY_V2: &str = "application/vnd.kafka.binary.v2+json";
const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";
const RANGE: &str = "between 1 and 2147483647";

fn record(name: &str, fields: usize) -> Value {
    let fields: Vec<Value> = (0..fields)
        .map(|i| json!({"name": format!("f{i}"), "type": "string", "default": ""}))
        .collect();
    json!({"type": "record", "name": name, "fields": fields})
}

fn import(schema: &Value, id: i64, version: i64) -> Value {
    json!({"schema": schema.to_string(), "id": id, "version": version})
}

#[track_caller]
fn refused(reply: &Reply, status: u16, code: i64, words: &[&str]) {
    let message = reply.fails(status, code);
    for word in words {
        assert!(message.contains(word), "{word:?} not in {message:?}");
    }
}

registry_test!(imported_ids_stay_within_java_ints, |r: TestRegistry| async move {
    r.put("/mode", &json!({"mode": "IMPORT"})).await.ok();
    // 2^32 + 1 would be framed into records as id 1; 2^31 is negative to Java clients.
    for id in [4_294_967_297i64, 2_147_483_648, 0, -1, -2_147_483_648] {
        let reply = r.post("/subjects/s/versions", &import(&record("A", 1), id, 1)).await;
        refused(&reply, 422, 42201, &[&format!("Invalid schema id {id}"), RANGE]);
    }
    assert_eq!(r.get("/subjects").await.ok(), json!([]), "nothing was registered");

    // The last id and the last version can be imported; after them nothing is handed out.
    let top = r
        .post("/subjects/s/versions", &import(&record("A", 1), 2_147_483_647, 1))
        .await;
    assert_eq!(top.ok(), json!({"id": 2_147_483_647}));
    let last = r
        .post("/subjects/v/versions", &import(&record("B", 1), 5, 2_147_483_647))
        .await;
    assert_eq!(last.ok(), json!({"id": 5}));
    let version = r
        .post("/subjects/v/versions", &import(&record("B", 2), 6, 2_147_483_648))
        .await;
    refused(&version, 422, 42202, &["2147483648", "2^31-1"]);
    r.put("/mode", &json!({"mode": "READWRITE"})).await.ok();
    refused(
        &r.register("other", &record("C", 1)).await,
        422,
        42201,
        &["No schema id is left", RANGE],
    );
    refused(
        &r.register("v", &record("B", 3)).await,
        422,
        42201,
        &["No version number is left under subject v", RANGE],
    );
});

registry_test!(
    schema_ids_in_paths_outside_the_range_are_unknown,
    |r: TestRegistry| async move {
        assert_eq!(r.register_ok("s", &record("A", 1)).await, 1);
        for id in ["0", "-1", "2147483648", "4294967297"] {
            for tail in ["", "/schema", "/subjects", "/versions"] {
                let reply = r.get(&format!("/schemas/ids/{id}{tail}")).await;
                refused(&reply, 404, 40403, &[&format!("Schema {id} not found"), RANGE]);
            }
        }
        // Not a number at all: an unknown route, as Confluent answers.
        r.get("/schemas/ids/one").await.fails(404, 404);
        r.get("/schemas/ids/99999999999999999999").await.fails(404, 404);
        // Versions: Confluent's 42202 for anything but 1..2^31-1 and latest.
        for version in ["0", "-2", "2147483648", "x"] {
            let reply = r.get(&format!("/subjects/s/versions/{version}")).await;
            refused(&reply, 422, 42202, &["2^31-1"]);
        }
        assert_eq!(r.get("/schemas/ids/1").await.ok()["schema"], record("A", 1).to_string());
    }
);

async fn send(r: &TestRegistry, method: Method, path: &str, content_type: &str, body: &Value) -> Reply {
    r.call_as(method, path, content_type, body).await
}

fn framed(id: u32, body: &[u8]) -> String {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(body);
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_never_cuts_a_schema_id_into_another() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    let payment = json!({"type": "record", "name": "Payment", "fields": [{"name": "id", "type": "string"}]});
    assert_eq!(r.register_ok("payments-value", &payment).await, 1);
    let topic = json!({"name": "payments", "partitions": 1});
    assert_eq!(r.post("/topics", &topic).await.status, 201);

    // An id past 2^32 named in a produce: refused, not framed as id 1.
    for (field, id) in [
        ("value", 4_294_967_297i64),
        ("value", 0),
        ("key", -1),
        ("key", 2_147_483_648),
    ] {
        let body = json!({format!("{field}_schema_id"): id, "records": [{"value": {"id": "p-1"}}]});
        let reply = send(&r, Method::POST, "/topics/payments", AVRO_V2, &body).await;
        refused(
            &reply,
            422,
            42201,
            &[&format!("{field}_schema_id {id} is out of range"), RANGE],
        );
    }
    // Framed bytes naming an id Java reads as negative: refused, saying so.
    for id in [0u32, 2_147_483_648, u32::MAX] {
        let body = json!({"records": [{"value": framed(id, b"\x06p-1")}]});
        let reply = send(&r, Method::POST, "/topics/payments", BINARY_V2, &body).await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        let reason = reply.json()["errors"][0]["reason"].as_str().unwrap().to_string();
        assert!(
            reason.contains(&format!("schema id {id}, out of range")) && reason.contains(RANGE),
            "{reason}"
        );
    }
    // A negative partition is a partition that does not exist, not a type error.
    let body = json!({"value_schema_id": 1, "records": [{"value": {"id": "p-1"}, "partition": -1}]});
    let reply = send(&r, Method::POST, "/topics/payments", AVRO_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.json()["errors"][0]["field"], "partition");
    let reason = reply.json()["errors"][0]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("partition -1 does not exist"), "{reason}");
    let end = r.get("/topics/payments/partitions/0/offsets").await.ok();
    assert_eq!(end["end_offset"], 0, "nothing landed");
    // In range, the id is framed as itself.
    let body = json!({"value_schema_id": 1, "records": [{"value": {"id": "p-1"}}]});
    assert_eq!(
        send(&r, Method::POST, "/topics/payments", AVRO_V2, &body).await.ok()["value_schema_id"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_encode_far_larger_than_their_body_are_refused() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    // Every `{}` sent encodes to the field's 100 kB default: 1,000 of them, 100 MB.
    let blob = json!({"type": "record", "name": "Blob", "fields": [
        {"name": "data", "type": "string", "default": "d".repeat(100_000)}
    ]});
    assert_eq!(r.register_ok("blobs-value", &blob).await, 1);
    assert_eq!(
        r.post("/topics", &json!({"name": "blobs", "partitions": 1}))
            .await
            .status,
        201
    );
    let records: Vec<Value> = (0..1_000).map(|_| json!({"value": {}})).collect();
    let body = json!({"value_schema_id": 1, "records": records});
    let reply = send(&r, Method::POST, "/topics/blobs", AVRO_V2, &body).await;
    refused(&reply, 413, 413, &["encode to more than", "max_request_bytes"]);
    let end = r.get("/topics/blobs/partitions/0/offsets").await.ok();
    assert_eq!(end["end_offset"], 0, "nothing landed");
    // A few of them fit.
    let body = json!({"value_schema_id": 1, "records": [{"value": {}}, {"value": {}}]});
    assert_eq!(
        send(&r, Method::POST, "/topics/blobs", AVRO_V2, &body).await.status,
        200
    );
}

async fn topic_with_records(r: &TestRegistry, name: &str, records: usize, size: usize) {
    let topic = json!({"name": name, "partitions": 1});
    assert_eq!(r.post("/topics", &topic).await.status, 201);
    let value = "x".repeat(size);
    let records: Vec<Value> = (0..records).map(|i| json!({"value": {"n": i, "pad": value}})).collect();
    send(
        r,
        Method::POST,
        &format!("/topics/{name}"),
        JSON_V2,
        &json!({ "records": records }),
    )
    .await
    .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_reads_refuse_bad_positions_and_sizes() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    topic_with_records(&r, "events", 5, 10).await;
    let read = |query: &str| {
        let path = format!("/topics/events/partitions/0/records?{query}");
        let r = &r;
        async move { r.get(&path).await }
    };
    for (query, name, range) in [
        ("offset=-1", "offset", "from 0 to"),
        ("offset=abc", "offset", "from 0 to"),
        ("offset=1.5", "offset", "from 0 to"),
        ("offset=99999999999999999999", "offset", "from 0 to"),
        ("count=0", "count", "from 1 to"),
        ("count=-3", "count", "from 1 to"),
        ("max_bytes=-1", "max_bytes", "from 1 to"),
        ("max_bytes=0", "max_bytes", "from 1 to"),
        ("max_bytes=1MB", "max_bytes", "from 1 to"),
    ] {
        refused(
            &read(query).await,
            422,
            42201,
            &[&format!("Invalid parameter {name}="), range],
        );
    }
    for partition in ["-1", "x", "4294967296"] {
        let reply = r.get(&format!("/topics/events/partitions/{partition}/records")).await;
        refused(
            &reply,
            404,
            40402,
            &[&format!("Partition {partition:?}"), "numbered from 0"],
        );
    }
    // In range: offsets and counts mean what they say; sizes past the cap are lowered to it.
    let from_two = read("offset=2&count=2").await.ok();
    let offsets: Vec<i64> = from_two
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, vec![2, 3]);
    assert_eq!(
        read("max_bytes=9223372036854775807")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

async fn consumer(r: &TestRegistry, group: &str, name: &str, extra: Value) -> Reply {
    let mut body = json!({"name": name, "format": "json", "auto.offset.reset": "earliest"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    r.post(&format!("/consumers/{group}"), &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_reads_commits_and_seeks_refuse_bad_numbers() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    topic_with_records(&r, "events", 3, 10).await;
    consumer(&r, "g", "c", json!({})).await.ok();
    let base = "/consumers/g/instances/c";
    let subscribed = r
        .post(&format!("{base}/subscription"), &json!({"topics": ["events"]}))
        .await;
    assert_eq!(subscribed.status, 204, "{}", subscribed.text);
    for (query, name) in [
        ("max_bytes=-5", "max_bytes"),
        ("max_bytes=lots", "max_bytes"),
        ("timeout=-1", "timeout"),
        ("timeout=soon", "timeout"),
    ] {
        let reply = r.get(&format!("{base}/records?{query}")).await;
        refused(&reply, 422, 42201, &[&format!("Invalid parameter {name}=")]);
    }
    let offsets = |partition: i64, offset: i64| json!({"offsets": [{"topic": "events", "partition": partition, "offset": offset}]});
    for path in ["offsets", "positions"] {
        let reply = r.post(&format!("{base}/{path}"), &offsets(0, -1)).await;
        refused(&reply, 422, 42201, &["offsets[0].offset -1", "from 0"]);
        let reply = r.post(&format!("{base}/{path}"), &offsets(-1, 0)).await;
        refused(&reply, 422, 42201, &["offsets[0].partition -1", "numbered from 0"]);
    }
    let partitions = json!({"partitions": [{"topic": "events", "partition": 0}, {"topic": "events", "partition": -2}]});
    for path in ["positions/beginning", "positions/end"] {
        let reply = r.post(&format!("{base}/{path}"), &partitions).await;
        refused(&reply, 422, 42201, &["partitions[1].partition -2"]);
    }
    // Nothing above moved or committed anything: the member reads all three from the start.
    let read = r
        .get(&format!("{base}/records?max_bytes=1048576&timeout=1000"))
        .await
        .ok();
    assert_eq!(read.as_array().unwrap().len(), 3);
    let committed = r.call(Method::GET, &format!("{base}/offsets"), None).await.ok();
    assert_eq!(committed["offsets"], json!([]));
}

/// A registry and broker whose reads share a budget of `bytes`, waiting `wait` for room.
async fn with_budget(bytes: usize, wait: Duration) -> TestRegistry {
    let dir = temp_dir("herald-limits");
    let store = Store::open_sqlite(&dir.join("registry")).await.unwrap();
    let broker_dir = dir.clone();
    let broker = tokio::task::spawn_blocking(move || Broker::open(&broker_dir, LogConfig::default()))
        .await
        .unwrap()
        .unwrap();
    let registry = Registry::new(store.clone(), RegistrySettings::default());
    let state =
        AppState::with_broker(registry.clone(), Arc::new(broker)).with_read_budget(ReadBudget::new(bytes, wait));
    TestRegistry {
        app: app(state),
        registry,
        backend: Backend::Sqlite(dir.join("registry")),
        store,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::ACCEPT, BINARY_V2)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_a_byte_budget_held_until_answers_are_sent() {
    let r = with_budget(64 * 1024, Duration::from_millis(200)).await;
    // 10 records of about 4 KiB: their base64 answer is about 55 KiB of the 64 KiB budget.
    topic_with_records(&r, "big", 10, 4000).await;
    let whole = "/topics/big/partitions/0/records?max_bytes=1048576";
    let small = "/topics/big/partitions/0/records?max_bytes=8192";

    // A read whose answer has not been sent yet (a slow client) holds its share...
    let unsent = r.app.clone().oneshot(get(whole)).await.unwrap();
    assert_eq!(unsent.status(), 200);
    // ...so another read finds no room, waits, and is refused naming the budget.
    let reply = r.send(get(small)).await;
    refused(&reply, 429, 429, &["budget of 65536 bytes", "max_bytes"]);
    // Once the first answer is sent (or its client gone), the room returns.
    let body = axum::body::to_bytes(unsent.into_body(), usize::MAX).await.unwrap();
    assert!(body.len() > 50_000, "{}", body.len());
    drop(body);
    assert_eq!(r.send(get(small)).await.status, 200);
    // Reads that fit together run together.
    let (a, b) = tokio::join!(r.send(get(small)), r.send(get(small)));
    assert_eq!(
        (a.status, b.status),
        (axum::http::StatusCode::OK, axum::http::StatusCode::OK)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_instances_are_capped_per_group_and_expired_ones_free_their_place() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    // The last one idles out soon; the others would stay for REST Proxy's five minutes.
    for i in 0..MAX_MEMBERS_PER_GROUP {
        let timeout = if i + 1 == MAX_MEMBERS_PER_GROUP { 500 } else { 300_000 };
        consumer(
            &r,
            "crowd",
            &format!("c{i}"),
            json!({"consumer.instance.timeout.ms": timeout}),
        )
        .await
        .ok();
    }
    for timeout in [json!(-5), json!("soon"), json!(1.5), json!(true)] {
        let reply = consumer(&r, "other", "bad", json!({"consumer.instance.timeout.ms": timeout})).await;
        refused(
            &reply,
            422,
            42204,
            &["Invalid consumer.instance.timeout.ms", "100 to 3600000"],
        );
    }
    let reply = consumer(&r, "crowd", "one-more", json!({})).await;
    refused(
        &reply,
        429,
        429,
        &["Consumer group 'crowd' already has 100 consumer instances"],
    );
    // Another group is not affected; a deleted or expired instance frees its place.
    consumer(&r, "other", "c0", json!({})).await.ok();
    assert_eq!(r.delete("/consumers/crowd/instances/c0").await.status, 204);
    consumer(&r, "crowd", "one-more", json!({})).await.ok();
    refused(&consumer(&r, "crowd", "two-more", json!({})).await, 429, 429, &["100"]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    consumer(&r, "crowd", "two-more", json!({})).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_instances_are_capped_per_server() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    let groups = MAX_MEMBERS / MAX_MEMBERS_PER_GROUP;
    for g in 0..groups {
        for i in 0..MAX_MEMBERS_PER_GROUP {
            let reply = consumer(&r, &format!("g{g}"), &format!("c{i}"), json!({})).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    }
    let reply = consumer(&r, "late", "c", json!({})).await;
    refused(&reply, 429, 429, &["The server already has 10000 consumer instances"]);
    assert_eq!(r.delete("/consumers/g0/instances/c0").await.status, 204);
    consumer(&r, "late", "c", json!({})).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_never_used_again_is_removed_with_its_group() {
    let dir = temp_dir("herald-limits");
    let r = TestRegistry::with_broker(&dir).await;
    consumer(&r, "abandoned", "c", json!({"consumer.instance.timeout.ms": 100}))
        .await
        .ok();
    consumer(&r, "kept", "c", json!({})).await.ok();
    assert_eq!(r.get("/consumer-groups").await.ok(), json!(["abandoned", "kept"]));
    // No call names the abandoned group again; the next sweep (at most a second apart, on any
    // call) removes its instance and the group it alone held.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(r.get("/consumer-groups").await.ok(), json!(["kept"]));
    r.get("/consumers/abandoned/instances/c/subscription")
        .await
        .fails(404, 40403);
}

/// Peak resident memory of a process, in bytes (`VmHWM`).
/// Asks `/health` every 200 ms for `period`, each answer due within a second.
fn health_stays_quick(address: &str, period: Duration) {
    let started = std::time::Instant::now();
    while started.elapsed() < period {
        let asked = std::time::Instant::now();
        let (status, _) = crate::serve::try_http(address, "GET", "/health", "application/json", None).unwrap();
        assert_eq!(status, 200);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "health took {:?}",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many of the readers' answers begin with a 429 status line.
fn refused_with_429(readers: Vec<std::net::TcpStream>) -> usize {
    use std::io::Read;
    let mut refused = 0;
    for mut stream in readers {
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut head = [0u8; 12];
        if stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 429") {
            refused += 1;
        }
    }
    refused
}

fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

/// `herald serve` on a free port with a data directory of its own: (process, address).
fn start_server() -> (std::process::Child, String) {
    use std::io::BufRead;
    let dir = temp_dir("herald-limits-serve");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(crate::serve::kafka_listen_args("off"))
        .env_remove("HERALD_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start herald serve");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("herald serve logs its address").unwrap();
        if let Some(at) = line.find("listening on http://") {
            break line[at + "listening on http://".len()..].trim().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

/// Many clients that ask for big reads and never take the answers (a slow-client attack)
/// cannot make the server hold more than the read budget: the reads past it wait and are
/// refused, the server's peak memory stays near the budget, and health checks answer.
#[test]
fn slow_readers_cannot_make_the_server_hold_more_than_the_read_budget() {
    use std::io::Write;
    use std::net::TcpStream;

    use crate::serve::try_http;

    let (mut child, address) = start_server();
    let (status, _) = try_http(
        &address,
        "POST",
        "/topics",
        "application/json",
        Some(&json!({"name": "big"})),
    )
    .unwrap();
    assert_eq!(status, 201);
    // 16 MiB of records: a 64 MiB read takes all of them, a 21 MiB base64 answer.
    let value = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![7u8; 64 * 1024]);
    for _ in 0..16 {
        let records: Vec<Value> = (0..16).map(|_| json!({ "value": value })).collect();
        let (status, body) = try_http(
            &address,
            "POST",
            "/topics/big",
            BINARY_V2,
            Some(&json!({ "records": records })),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let before = peak_memory(child.id());

    let readers: Vec<TcpStream> = (0..30)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            write!(
                stream,
                "GET /topics/big/partitions/0/records?max_bytes=67108864 HTTP/1.1\r\nHost: x\r\nAccept: {BINARY_V2}\r\n\r\n"
            )
            .unwrap();
            stream
        })
        .collect();
    // While they hang on to the server's answers, it still answers health checks at once.
    health_stays_quick(&address, Duration::from_secs(4));
    // Reads that found no room within the wait were refused with 429; read a few answers' heads.
    std::thread::sleep(Duration::from_secs(8));
    let refused = refused_with_429(readers);
    let grown = peak_memory(child.id()).saturating_sub(before);
    let _ = child.kill();
    let _ = child.wait();
    assert!(refused > 0, "some reads waited for room and were refused");
    // 30 answers of 21 MiB held at once would be 640 MiB; the budget is 256 MiB.
    assert!(grown < 400 << 20, "the server grew by {} MiB", grown >> 20);
}

/// `count` records of `value` (any JSON) produced in one request, in `content_type`'s format.
async fn produce_each(r: &TestRegistry, topic: &str, content_type: &str, value: &Value, count: usize) {
    let records: Vec<Value> = (0..count).map(|_| json!({ "value": value })).collect();
    send(
        r,
        Method::POST,
        &format!("/topics/{topic}"),
        content_type,
        &json!({ "records": records }),
    )
    .await
    .ok();
}

/// The answer share of a read of `max_bytes` (`read_budget`'s module doc): twice `max_bytes`
/// and 64 KiB.
fn answer_share(max_bytes: usize) -> usize {
    2 * max_bytes + (64 << 10)
}

/// Reads of `max_bytes=1` against batches of about 2 MiB (the largest a produce body makes)
/// hold what they return inside the budget: answers waiting to be sent never add up to more
/// than the budget, the reads past it are refused, and each returns one record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_reads_of_whole_batches_hold_their_answers_within_the_budget() {
    const BUDGET: usize = 8 << 20;
    let r = with_budget(BUDGET, Duration::from_millis(200)).await;
    assert_eq!(r.post("/topics", &json!({"name": "big"})).await.status, 201);
    // Batches of two 1,000,000-character strings: about 2 MB each, 2.7 MB as base64.
    let value = json!("x".repeat(1_000_000));
    for _ in 0..4 {
        produce_each(&r, "big", JSON_V2, &value, 2).await;
    }
    // Slow clients: twelve reads whose answers are not taken yet.
    let mut unsent = Vec::new();
    for i in 0..12 {
        let path = format!("/topics/big/partitions/0/records?max_bytes=1&offset={}", i % 8);
        unsent.push(r.app.clone().oneshot(get(&path)).await.unwrap());
    }
    let mut held = 0;
    let mut refused = 0;
    let mut answers = Vec::new();
    for response in unsent {
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        match status {
            200 => {
                held += body.len();
                answers.push(body);
            }
            429 => refused += 1,
            other => panic!("status {other}"),
        }
    }
    assert!(held <= BUDGET, "answers of {held} bytes were held at once");
    assert!(refused > 0, "reads past the budget wait and are refused");
    for body in answers {
        let records: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(records.as_array().unwrap().len(), 1, "max_bytes=1 answers one record");
    }
}

/// Tiny records under a 240-character topic name make a JSON answer 30 times their size:
/// a read stops at its answer share, and reading on from the next offset (partition reads)
/// or the position (consumers) returns every record once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_of_tiny_records_stop_at_their_share_and_the_next_read_continues() {
    let r = with_budget(64 << 20, Duration::from_millis(200)).await;
    // 240: the longest name a topic can be created with today (249 is allowed, but
    // `<name>~creating` is then longer than a file name may be).
    let topic = "t".repeat(240);
    assert_eq!(r.post("/topics", &json!({"name": topic})).await.status, 201);
    const RECORDS: i64 = 30_000;
    for _ in 0..3 {
        produce_each(&r, &topic, JSON_V2, &json!(1), 10_000).await;
    }
    let max_bytes = 1 << 20;
    let json_get = |path: String| {
        Request::builder()
            .uri(path)
            .header(header::ACCEPT, JSON_V2)
            .body(Body::empty())
            .unwrap()
    };
    // Partition reads, each from the offset after the last one returned.
    let mut offset = 0;
    let mut reads = 0;
    while offset < RECORDS {
        let path = format!("/topics/{topic}/partitions/0/records?offset={offset}&max_bytes={max_bytes}");
        let reply = r.send(json_get(path)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            reply.text.len() <= answer_share(max_bytes),
            "an answer of {} bytes",
            reply.text.len()
        );
        for record in reply.json().as_array().unwrap() {
            assert_eq!(record["offset"], offset);
            offset += 1;
        }
        reads += 1;
    }
    assert!(reads > 1, "one read took all {RECORDS} records");

    // A consumer's position moves past the records it was given, not past those read.
    consumer(&r, "g", "c", json!({})).await.ok();
    let base = "/consumers/g/instances/c";
    let subscribed = r
        .post(&format!("{base}/subscription"), &json!({"topics": [topic]}))
        .await;
    assert_eq!(subscribed.status, 204, "{}", subscribed.text);
    let mut offset = 0;
    while offset < RECORDS {
        let reply = r.send(json_get(format!("{base}/records?max_bytes={max_bytes}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.text.len() <= answer_share(max_bytes));
        let records = reply.json();
        assert!(!records.as_array().unwrap().is_empty(), "stuck at {offset}");
        for record in records.as_array().unwrap() {
            assert_eq!(record["offset"], offset);
            offset += 1;
        }
    }
    let rest = r.send(json_get(format!("{base}/records?max_bytes={max_bytes}"))).await;
    assert_eq!(rest.json(), json!([]));
}

/// Through the real binary: many slow clients reading `max_bytes=1` from batches that make
/// large answers (1.5 MB of control bytes each, escaped six times over in JSON) and from
/// tiny records under a long topic name. Old reads reserved two bytes and held whole
/// batches; now the server's peak memory stays within the budget and a fixed margin, and
/// health checks answer.
#[test]
fn slow_one_byte_readers_cannot_make_the_server_hold_more_than_the_read_budget() {
    use std::io::Write;
    use std::net::TcpStream;

    use crate::serve::{try_http, Server};

    const BUDGET: u64 = 32 << 20;
    let server = Server::start(&["--read-budget-bytes", &BUDGET.to_string()]);
    let address = server.address.clone();
    let produce = |topic: &str, content_type: &str, records: Vec<Value>| {
        let (status, body) = try_http(
            &address,
            "POST",
            &format!("/topics/{topic}"),
            content_type,
            Some(&json!({ "records": records })),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    };
    let long = "t".repeat(240);
    for topic in ["big", long.as_str()] {
        let (status, _) = try_http(
            &address,
            "POST",
            "/topics",
            "application/json",
            Some(&json!({"name": topic})),
        )
        .unwrap();
        assert_eq!(status, 201);
    }
    let control = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, vec![1u8; 1_500_000]);
    for _ in 0..4 {
        produce("big", BINARY_V2, vec![json!({ "value": control })]);
    }
    for _ in 0..2 {
        produce(&long, BINARY_V2, vec![json!({"value": "AQ=="}); 10_000]);
    }
    let before = peak_memory(server.pid());

    let read = |path: String| {
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {JSON_V2}\r\n\r\n").unwrap();
        stream
    };
    let mut readers: Vec<TcpStream> = (0..60)
        .map(|i| read(format!("/topics/big/partitions/0/records?max_bytes=1&offset={}", i % 4)))
        .collect();
    readers.extend((0..40).map(|_| read(format!("/topics/{long}/partitions/0/records?max_bytes=1"))));
    health_stays_quick(&address, Duration::from_secs(3));
    // The reads that found no room are refused after the budget's 10 s wait.
    std::thread::sleep(Duration::from_secs(8));
    let refused = refused_with_429(readers);
    let grown = peak_memory(server.pid()).saturating_sub(before);
    drop(server);
    assert!(refused > 0, "some reads waited for room and were refused");
    // 60 answers of 9 MB held at once would be 540 MB.
    assert!(grown < BUDGET + (48 << 20), "the server grew by {} MiB", grown >> 20);
}
