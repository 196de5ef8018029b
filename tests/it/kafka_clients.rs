//! Real Kafka clients against `herald serve`'s Kafka listener: kcat (librdkafka's command
//! line), confluent-kafka's Python client (librdkafka again, with Confluent's serializers on
//! Herald's own registry), kafka-python (a second, independent implementation) and the
//! official Java client. Each test checks what a user of that client sees, and then the same
//! records, offsets and commits through Herald's HTTP API.
//!
//! Tools: `kcat` on the PATH (Debian's package); `HERALD_TEST_PYTHON`, a Python with
//! tests/python/requirements.txt; `HERALD_TEST_JAVA_CP`, the classpath of tests/java's build
//! (default: tests/java/target/kafka-check.jar and target/lib/*, where built). `.ci/run`
//! provides all three; a test whose tool is absent says so and skips (fails in CI).
//! A build of herald without the Kafka listener skips these tests, saying so.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::crash::Lcg;
use crate::registry_support::temp_dir;
use crate::serve::{has_kafka_listener, try_http, Server};
use crate::support::skip;

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
/// The longest any one client run may take before the test fails (and kills it).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------
// Servers, tools and HTTP views
// ---------------------------------------------------------------------------------------

/// True (saying so) where this build of herald has no Kafka listener yet. That is not a
/// missing tool, so it never fails; once the listener exists, `Server::start` insists on
/// its logged address and these tests run.
fn no_listener() -> bool {
    if has_kafka_listener() {
        return false;
    }
    eprintln!("skipped: this build of herald serve has no Kafka listener (--kafka-listen)");
    true
}

/// `herald serve` with its Kafka listener on a free port: (server, bootstrap address).
fn kafka_server(args: &[&str]) -> (Server, String) {
    let server = Server::start(args);
    let bootstrap = server.kafka.clone().expect("the Kafka listener logs its address");
    (server, bootstrap)
}

fn kcat_available() -> bool {
    let found = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip("kcat is not installed (Debian: apt-get install kcat; .ci/run installs it)");
    }
    found
}

/// `HERALD_TEST_PYTHON`, where it can import `module`.
fn python_with(module: &str) -> Option<String> {
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        skip("set HERALD_TEST_PYTHON to a Python with tests/python/requirements.txt (CI does)");
        return None;
    };
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !imports {
        skip(&format!(
            "{python} cannot import {module}: pip install -r tests/python/requirements.txt"
        ));
        return None;
    }
    Some(python)
}

/// The classpath of the Java check: `HERALD_TEST_JAVA_CP`, or tests/java's own build.
fn java_classpath() -> Option<String> {
    if let Some(cp) = std::env::var("HERALD_TEST_JAVA_CP").ok().filter(|p| !p.is_empty()) {
        return Some(cp);
    }
    let target = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/java/target");
    let jar = format!("{target}/kafka-check.jar");
    let java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if java && std::path::Path::new(&jar).exists() {
        return Some(format!("{jar}:{target}/lib/*"));
    }
    skip(
        "no Java check: build it with `mvn -q -f tests/java/pom.xml package` (.ci/run does) or set HERALD_TEST_JAVA_CP",
    );
    None
}

fn python_script(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` with `input` on stdin, failing the test past `CLIENT_TIMEOUT`.
fn run(mut command: Command, input: &[u8]) -> Output {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = done.send(());
        output
    });
    if finished.recv_timeout(CLIENT_TIMEOUT).is_err() {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        let output = waiter.join().expect("waiter thread").expect("wait for the client");
        panic!(
            "{what} did not finish within {CLIENT_TIMEOUT:?}:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    waiter.join().expect("waiter thread").expect("wait for the client")
}

/// Runs a command that must succeed; its stdout.
fn run_ok(command: Command, input: &[u8]) -> String {
    let what = format!("{command:?}");
    let output = run(command, input);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The JSON of a script's `result: ` line.
fn result_line(stdout: &str) -> Value {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result: "))
        .unwrap_or_else(|| panic!("no result line in:\n{stdout}"));
    serde_json::from_str(line).expect("a JSON result")
}

fn create_topic(server: &Server, body: Value) {
    let (status, answer) = try_http(&server.address, "POST", "/topics", "application/json", Some(&body)).unwrap();
    assert_eq!(status, 201, "creating {body}: {answer}");
}

fn produce_http(server: &Server, path: &str, records: Value) -> Value {
    let (status, answer) = try_http(
        &server.address,
        "POST",
        path,
        JSON_V2,
        Some(&json!({ "records": records })),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

/// One stored record as the HTTP API serves it.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

/// Every record of a partition, read page by page over HTTP in binary form.
fn stored(server: &Server, topic: &str, partition: i64) -> Vec<Stored> {
    let decode = |v: &Value| {
        v.as_str().map(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("base64 from the binary format")
        })
    };
    let mut out: Vec<Stored> = Vec::new();
    loop {
        let next = out.last().map_or(0, |r| r.offset + 1);
        let path =
            format!("/topics/{topic}/partitions/{partition}/records?offset={next}&format=binary&max_bytes=1048576");
        let (status, body) = try_http(&server.address, "GET", &path, JSON_V2, None).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        let page = body.as_array().expect("an array of records");
        if page.is_empty() {
            return out;
        }
        out.extend(page.iter().map(|r| Stored {
            offset: r["offset"].as_i64().expect("an offset"),
            key: decode(&r["key"]),
            value: decode(&r["value"]),
        }));
    }
}

/// A group's committed offset and end offset per (topic, partition), from
/// `GET /consumer-groups/{group}`.
fn group_offsets(server: &Server, group: &str) -> BTreeMap<(String, i64), (Option<i64>, i64)> {
    let (status, body) = try_http(
        &server.address,
        "GET",
        &format!("/consumer-groups/{group}"),
        "application/json",
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    body["offsets"]
        .as_array()
        .expect("offsets")
        .iter()
        .map(|o| {
            (
                (
                    o["topic"].as_str().unwrap().to_string(),
                    o["partition"].as_i64().unwrap(),
                ),
                (o["committed"].as_i64(), o["end"].as_i64().unwrap()),
            )
        })
        .collect()
}

/// Waits (at most 10 s) until a partition's end offset reaches `end`.
fn wait_for_end(server: &Server, topic: &str, partition: i64, end: i64) {
    let path = format!("/topics/{topic}/partitions/{partition}/offsets");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = try_http(&server.address, "GET", &path, "application/json", None).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        let now = body["end_offset"].as_i64().expect("an end offset");
        if now >= end {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{topic}/{partition} ends at {now}, not {end}, after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn values(records: &[Stored]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// kcat
// ---------------------------------------------------------------------------------------

fn kcat(bootstrap: &str, args: &[&str]) -> Command {
    let mut command = Command::new("kcat");
    command.args(["-b", bootstrap]).args(args);
    command
}

/// kcat's `-J` output: one JSON document a line.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("kcat -J line {l:?}: {e}")))
        .collect()
}

/// Metadata names the advertised broker as leader of every partition, and a topic that was
/// never created is reported unknown (auto-creation is off), not made.
#[test]
fn kcat_metadata_lists_partitions_and_the_advertised_broker() {
    if no_listener() || !kcat_available() {
        return;
    }
    // A port chosen here so the advertised name can carry it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let advertised = format!("localhost:{port}");
    let (server, bootstrap) = kafka_server(&["--kafka-listen", &listen, "--kafka-advertised", &advertised]);
    assert_eq!(bootstrap, listen, "the logged address is the bound one");
    create_topic(&server, json!({"name": "metrics", "partitions": 3}));

    let metadata = run_ok(kcat(&bootstrap, &["-L", "-J", "-t", "metrics"]), b"");
    let metadata: Value = serde_json::from_str(&metadata).expect("kcat -L -J");
    let brokers = metadata["brokers"].as_array().expect("brokers");
    assert_eq!(brokers.len(), 1, "{metadata}");
    assert_eq!(brokers[0]["name"], advertised.as_str(), "{metadata}");
    let broker_id = &brokers[0]["id"];
    let topic = &metadata["topics"][0];
    assert_eq!(topic["topic"], "metrics");
    assert!(topic.get("error").is_none(), "{topic}");
    let partitions = topic["partitions"].as_array().expect("partitions");
    let ids: Vec<i64> = partitions.iter().map(|p| p["partition"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![0, 1, 2], "{topic}");
    for p in partitions {
        assert_eq!(&p["leader"], broker_id, "{p}");
        assert_eq!(p["replicas"], json!([{"id": broker_id}]), "{p}");
    }

    let unknown = run(kcat(&bootstrap, &["-L", "-J", "-t", "never-created"]), b"");
    let unknown: Value = serde_json::from_slice(&unknown.stdout).expect("kcat -L -J");
    assert!(
        unknown["topics"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Unknown topic")),
        "{unknown}"
    );
    let (_, topics) = server.call("GET", "/topics", None);
    assert_eq!(
        topics,
        json!(["metrics"]),
        "metadata for an unknown topic does not create it"
    );
}

/// Lines produced with each compression codec are read back exactly by kcat and over HTTP;
/// a record produced over HTTP is read by kcat.
#[test]
fn kcat_produces_with_every_codec_and_reads_back_exactly() {
    if no_listener() || !kcat_available() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    create_topic(&server, json!({"name": "lines", "partitions": codecs.len()}));

    for (partition, codec) in codecs.iter().enumerate() {
        // Long, repetitive values: librdkafka sends a batch uncompressed when compressing
        // would not make it smaller.
        let sent: Vec<(String, String)> = (0..20)
            .map(|n| (format!("k{n}"), format!("{codec}-line-{n}-{}", "x".repeat(300))))
            .collect();
        let input: String = sent.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let p = partition.to_string();
        let mut args = vec!["-P", "-t", "lines", "-p", &p, "-K", ":"];
        if *codec != "none" {
            args.extend(["-z", codec]);
        }
        // acks=0 and acks=1 once each; kcat's default is acks=all.
        match *codec {
            "none" => args.extend(["-X", "acks=0"]),
            "gzip" => args.extend(["-X", "acks=1"]),
            _ => {}
        }
        run_ok(kcat(&bootstrap, &args), input.as_bytes());
        // Nothing answers an acks=0 produce: wait until the records are there.
        wait_for_end(&server, "lines", partition as i64, sent.len() as i64);

        let read = run_ok(
            kcat(
                &bootstrap,
                &["-C", "-t", "lines", "-p", &p, "-o", "beginning", "-e", "-J"],
            ),
            b"",
        );
        let read: Vec<(i64, String, String)> = json_lines(&read)
            .iter()
            .map(|m| {
                (
                    m["offset"].as_i64().unwrap(),
                    m["key"].as_str().unwrap().to_string(),
                    m["payload"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(i64, String, String)> = sent
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (i as i64, k.clone(), v.clone()))
            .collect();
        assert_eq!(read, expected, "{codec}: kcat reads back what it produced");

        let over_http = stored(&server, "lines", partition as i64);
        let over_http: Vec<(i64, String, String)> = over_http
            .iter()
            .map(|r| {
                (
                    r.offset,
                    String::from_utf8(r.key.clone().unwrap()).unwrap(),
                    String::from_utf8(r.value.clone().unwrap()).unwrap(),
                )
            })
            .collect();
        assert_eq!(over_http, expected, "{codec}: the HTTP API serves the same records");
    }

    // HTTP in, Kafka out.
    let answer = produce_http(
        &server,
        "/topics/lines/partitions/2",
        json!([{"value": {"n": 1, "via": "http"}}, {"value": {"n": 2, "via": "http"}}]),
    );
    assert_eq!(answer["offsets"][0]["offset"], 20, "{answer}");
    let read = run_ok(
        kcat(&bootstrap, &["-C", "-t", "lines", "-p", "2", "-o", "20", "-e", "-J"]),
        b"",
    );
    let read: Vec<(i64, Value)> = json_lines(&read)
        .iter()
        .map(|m| {
            (
                m["offset"].as_i64().unwrap(),
                serde_json::from_str(m["payload"].as_str().unwrap()).expect("JSON payload"),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            (20, json!({"n": 1, "via": "http"})),
            (21, json!({"n": 2, "via": "http"}))
        ]
    );
}

/// Megabytes read through Fetch arrive exactly: large reads are mapped from the segment
/// files and sent as pieces of their own between the answer's fields, so a byte out of
/// place there would show here as a record kcat cannot parse or reads wrong.
#[test]
fn kcat_reads_megabytes_back_exactly() {
    if no_listener() || !kcat_available() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(&server, json!({"name": "bulk", "partitions": 3, "validation": "off"}));
    // Distinct values of uneven sizes (300 B to 3 KiB), about 7 MB over three partitions.
    let value = |n: usize| format!("{n:05}-{}", "abcdefghij".repeat(30 + n * 7 % 270));
    // Keyed, so the records spread over the partitions.
    let input: String = (0..4_000).map(|n| format!("k{n}:{}\n", value(n))).collect();
    run_ok(
        kcat(&bootstrap, &["-P", "-t", "bulk", "-K", ":", "-X", "linger.ms=20"]),
        input.as_bytes(),
    );

    let read = run_ok(
        kcat(&bootstrap, &["-C", "-t", "bulk", "-o", "beginning", "-e", "-J"]),
        b"",
    );
    let mut read: Vec<(i64, i64, String)> = json_lines(&read)
        .iter()
        .map(|m| {
            (
                m["partition"].as_i64().unwrap(),
                m["offset"].as_i64().unwrap(),
                m["payload"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    read.sort();
    assert_eq!(read.len(), 4_000, "every record read once");
    let mut values: Vec<&str> = read.iter().map(|(_, _, v)| v.as_str()).collect();
    values.sort();
    let mut sent: Vec<String> = (0..4_000).map(value).collect();
    sent.sort();
    assert_eq!(values, sent, "what kcat read is what it sent");
    for partition in 0..3 {
        let over_http: Vec<(i64, i64, String)> = stored(&server, "bulk", partition)
            .into_iter()
            .map(|r| (partition, r.offset, String::from_utf8(r.value.unwrap()).unwrap()))
            .collect();
        let over_kafka: Vec<(i64, i64, String)> = read.iter().filter(|r| r.0 == partition).cloned().collect();
        assert!(
            over_kafka.len() > 500,
            "partition {partition}: {} records",
            over_kafka.len()
        );
        assert_eq!(
            over_kafka, over_http,
            "partition {partition}: the same records by either door"
        );
    }
}

/// `kcat -G` consumes every partition as a group member; its commits show over HTTP, and a
/// second run resumes after them.
#[test]
fn kcat_group_consumer_commits_show_over_http() {
    if no_listener() || !kcat_available() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(&server, json!({"name": "clicks", "partitions": 3}));
    let records = |from: i64, to: i64| -> Value {
        (from..to)
            .map(|n| json!({"value": {"n": n}, "partition": n % 3}))
            .collect()
    };
    produce_http(&server, "/topics/clicks", records(0, 30));

    let group_read = || -> Vec<i64> {
        let out = run_ok(
            kcat(
                &bootstrap,
                &[
                    "-G",
                    "clicks-readers",
                    "-X",
                    "auto.offset.reset=earliest",
                    "-e",
                    "-J",
                    "clicks",
                ],
            ),
            b"",
        );
        let mut seen: Vec<i64> = json_lines(&out)
            .iter()
            .map(|m| {
                let payload: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
                payload["n"].as_i64().unwrap()
            })
            .collect();
        seen.sort();
        seen
    };
    assert_eq!(group_read(), (0..30).collect::<Vec<_>>());
    let offsets = group_offsets(&server, "clicks-readers");
    for p in 0..3 {
        assert_eq!(
            offsets.get(&("clicks".to_string(), p)),
            Some(&(Some(10), 10)),
            "partition {p}: {offsets:?}"
        );
    }

    produce_http(&server, "/topics/clicks", records(30, 36));
    assert_eq!(group_read(), (30..36).collect::<Vec<_>>(), "resumed after the commits");
    let offsets = group_offsets(&server, "clicks-readers");
    assert!(
        offsets
            .values()
            .all(|(committed, end)| *committed == Some(*end) && *end == 12),
        "{offsets:?}"
    );
}

// ---------------------------------------------------------------------------------------
// confluent-kafka (librdkafka) from Python
// ---------------------------------------------------------------------------------------

fn confluent(python: &str, server: &Server, bootstrap: &str, scenario: &str) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-W",
        "ignore",
        &python_script("kafka_test.py"),
        scenario,
        &format!("http://{}", server.address),
        bootstrap,
    ]);
    command
}

/// A Python with confluent-kafka, where the listener exists.
fn confluent_python() -> Option<String> {
    if no_listener() {
        return None;
    }
    python_with("confluent_kafka")
}

/// An idempotent producer (acks=all, lz4) delivers 300 records; each delivery report's
/// offset holds that record for a Consumer (key, value, headers, timestamp) and over HTTP;
/// watermarks and offsets by timestamp agree.
#[test]
fn confluent_idempotent_producer_offsets_are_read_back() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(&server, json!({"name": "orders", "partitions": 3}));
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "produce"), b"");
    assert!(stdout.contains("ok: produce"), "{stdout}");
    let delivered = result_line(&stdout)["delivered"].as_array().unwrap().clone();
    assert_eq!(delivered.len(), 300);
    let mut by_partition: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for d in &delivered {
        by_partition
            .entry(d[0].as_i64().unwrap())
            .or_default()
            .push((d[1].as_i64().unwrap(), d[2].as_str().unwrap().to_string()));
    }
    for (partition, acknowledged) in by_partition {
        let over_http: Vec<(i64, String)> = stored(&server, "orders", partition)
            .iter()
            .map(|r| (r.offset, String::from_utf8(r.value.clone().unwrap()).unwrap()))
            .collect();
        assert_eq!(over_http, acknowledged, "partition {partition}");
    }
}

/// Three consumers of one group: one partition owner each once stable, every record once,
/// commits visible over HTTP; after a server restart (records produced over HTTP in
/// between) the group resumes from its commits.
#[test]
fn confluent_group_rebalances_commits_and_resumes_after_restart() {
    let Some(python) = confluent_python() else { return };
    let dir = temp_dir("herald-kafka-group");
    let dir_arg = dir.display().to_string();
    let (server, bootstrap) = kafka_server(&["--data-dir", &dir_arg]);
    create_topic(&server, json!({"name": "events", "partitions": 6}));

    let mut child = confluent(&python, &server, &bootstrap, "group")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Python client");
    let mut stdin = child.stdin.take().unwrap();
    let (lines, stderr) = read_lines(&mut child);
    let before = wait_for_line(&mut child, &lines, &stderr, |l| l == "restart");
    let committed = result_line(&before.join("\n"))["committed"].clone();
    let offsets = group_offsets(&server, "readers");
    for p in 0..6 {
        let end = committed[p.to_string()].as_i64().unwrap();
        assert_eq!(
            offsets.get(&("events".to_string(), p)),
            Some(&(Some(end), end)),
            "partition {p}: {offsets:?}"
        );
    }
    let total: i64 = offsets.values().map(|(_, end)| end).sum();
    assert_eq!(total, 300);

    let (code, log) = server.terminate();
    assert_eq!(code, 0, "{log:?}");
    let server = Server::start(&["--data-dir", &dir_arg]);
    let after: Value = (0..30).map(|n| json!({"value": {"after": n}})).collect();
    produce_http(&server, "/topics/events", after);
    writeln!(stdin, "{}", server.kafka.as_deref().expect("a listener")).unwrap();
    drop(stdin);
    let rest = wait_for_line(&mut child, &lines, &stderr, |l| l == "ok: group");
    let status = child.wait().expect("wait for the client");
    assert!(status.success(), "{rest:?}");
    let offsets = group_offsets(&server, "readers");
    assert!(
        offsets.values().all(|(committed, end)| *committed == Some(*end)),
        "caught up after the restart: {offsets:?}"
    );
    assert_eq!(offsets.values().map(|(_, end)| end).sum::<i64>(), 330);
}

/// stdout lines of a running child, and its stderr collected on the side.
fn read_lines(child: &mut Child) -> (mpsc::Receiver<String>, std::sync::Arc<std::sync::Mutex<String>>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let collected = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(mut stderr) = child.stderr.take() {
        let collected = collected.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            *collected.lock().unwrap() = text;
        });
    }
    (lines, collected)
}

/// The lines up to and including the first one `wanted` accepts; fails (killing the child)
/// when the child ends or `CLIENT_TIMEOUT` passes first.
fn wait_for_line(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    stderr: &std::sync::Mutex<String>,
    wanted: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let done = wanted(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the client ended or stalled before the expected line:\n{}\n{}",
                    seen.join("\n"),
                    stderr.lock().unwrap()
                );
            }
        }
    }
}

/// AdminClient: create (validate_only first), list, describe configs and the cluster,
/// delete, and the errors of bad requests; the HTTP API sees the same topics.
#[test]
fn confluent_admin_client_manages_topics() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "admin"), b"");
    assert!(stdout.contains("ok: admin"), "{stdout}");
    assert_eq!(result_line(&stdout)["topics"], json!(["admin-a"]));
    let (_, topics) = server.call("GET", "/topics", None);
    assert_eq!(topics, json!(["admin-a"]));
}

/// Confluent's Avro and JSON Schema serializers produce through the gate (validation
/// `full`, schemas in Herald's registry); records the gate refuses fail in the delivery
/// report with INVALID_RECORD and are absent from the log.
#[test]
fn confluent_serializers_pass_the_gate_and_refused_records_never_land() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(
        &server,
        json!({"name": "payments", "partitions": 1, "validation": "full"}),
    );
    create_topic(
        &server,
        json!({"name": "orders", "partitions": 1, "validation": "full"}),
    );
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "serializers"), b"");
    assert!(stdout.contains("ok: serializers"), "{stdout}");
    let result = result_line(&stdout);
    let hex = |field: &str| -> Vec<u8> {
        let text = result[field].as_str().unwrap();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    };
    // Three serialized payments and one valid record after the refusals, plus the valid
    // record of the refused batch when librdkafka sent it again on its own.
    let resent = result["resent"].as_i64().unwrap();
    let payments = stored(&server, "payments", 0);
    assert_eq!(
        payments.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..4 + resent).collect::<Vec<_>>()
    );
    let foreign = hex("foreign");
    assert!(
        payments.iter().all(|r| r.value.as_deref() != Some(foreign.as_slice())),
        "the refused record is absent"
    );
    let orders = stored(&server, "orders", 0);
    assert_eq!(orders.len(), 2);
    let invalid = hex("invalid_json");
    assert!(orders.iter().all(|r| r.value.as_deref() != Some(invalid.as_slice())));
    // Every stored value is framed with an id registered under the topic's subject.
    let (_, ids) = server.call("GET", "/subjects/payments-value/versions/latest", None);
    let id = ids["id"].as_u64().unwrap() as u32;
    for r in &payments {
        let value = r.value.as_deref().unwrap();
        assert_eq!((value[0], u32::from_be_bytes(value[1..5].try_into().unwrap())), (0, id));
    }
}

/// confluent-kafka's ProtobufSerializer and ProtobufDeserializer on Herald's registry and
/// both doors: the import registered as a reference, top-level and nested messages through
/// the gate in full mode, a wrong message index and an undecodable payload refused over
/// Kafka and REST and absent from the log; Confluent's meta options kept from the
/// descriptor the serializer registers.
#[test]
fn confluent_protobuf_serializers_pass_the_gate_and_bad_payloads_are_refused() {
    let Some(python) = confluent_python() else { return };
    if python_with("grpc_tools").is_none() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(
        &server,
        json!({"name": "shop-orders", "partitions": 1, "validation": "full"}),
    );
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "protobuf"), b"");
    assert!(stdout.contains("ok: protobuf"), "{stdout}");
    let result = result_line(&stdout);
    // librdkafka reports INVALID_RECORD; the REST answer carries the reasons.
    let refusals = result["refusals"].to_string();
    assert_eq!(refusals.matches("INVALID_RECORD").count(), 2, "{refusals}");
    let rest = result["rest"].to_string();
    assert!(rest.contains("message index [5] names no message"), "{rest}");
    assert!(
        rest.contains("does not decode as message shop.v1.OrderPlaced"),
        "{rest}"
    );
    // Three orders and one nested line, nothing of the refusals.
    let stored = stored(&server, "shop-orders", 0);
    assert_eq!(stored.len(), 4);
    let id = result["schema_id"].as_u64().unwrap() as u32;
    for record in &stored {
        let value = record.value.as_deref().unwrap();
        assert_eq!(u32::from_be_bytes(value[1..5].try_into().unwrap()), id);
    }
    // The tags the serializer's descriptor carried reach the field table.
    let page = server.get_text("/ui/subjects/shop-customers-value/versions/1.html");
    let email_row = page
        .split("<tr")
        .find(|row| row.contains(">email<"))
        .unwrap_or_else(|| panic!("no email row: {page}"));
    assert!(email_row.contains(r#"<span class="tag pii">PII</span>"#), "{email_row}");
    let card_row = page.split("<tr").find(|row| row.contains(">card_number<")).unwrap();
    assert!(
        card_row.contains("Primary account number") && card_row.contains(r#"<span class="tag">PCI</span>"#),
        "{card_row}"
    );
}

// ---------------------------------------------------------------------------------------
// kafka-python and the Java client
// ---------------------------------------------------------------------------------------

/// kafka-python (idempotent by default, gzip): produce, consume in a group with commits,
/// resume after them; the records and commits are the HTTP API's too.
#[test]
fn kafka_python_produces_consumes_and_commits() {
    if no_listener() {
        return;
    }
    let Some(python) = python_with("kafka") else { return };
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(&server, json!({"name": "kp", "partitions": 2}));
    let mut command = Command::new(&python);
    command.args(["-W", "ignore", &python_script("kafka_python_test.py"), &bootstrap]);
    let stdout = run_ok(command, b"");
    assert!(stdout.contains("ok: kafka-python"), "{stdout}");
    let result = result_line(&stdout);
    for d in result["delivered"].as_array().unwrap() {
        let (p, o) = (d[0].as_i64().unwrap(), d[1].as_i64().unwrap());
        let records = stored(&server, "kp", p);
        let at = records.iter().find(|r| r.offset == o).expect("the acknowledged offset");
        assert_eq!(at.value.as_deref(), Some(d[2].as_str().unwrap().as_bytes()));
    }
    let offsets = group_offsets(&server, "kp-group");
    let total: i64 = offsets.values().map(|(_, end)| end).sum();
    assert_eq!(total, 25);
    assert!(
        offsets.values().all(|(committed, end)| *committed == Some(*end)),
        "{offsets:?}"
    );
}

/// The official Java client: describeCluster, createTopics/listTopics/deleteTopics, an
/// idempotent acks=all producer, a consumer group with commit metadata, and a record the
/// gate refuses with InvalidRecordException naming the field.
#[test]
fn java_client_produces_consumes_and_administers() {
    if no_listener() {
        return;
    }
    let Some(classpath) = java_classpath() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    let schema = json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
    let (status, registered) = server.call(
        "POST",
        "/subjects/java-gated-value/versions",
        Some(&json!({"schemaType": "JSON", "schema": schema.to_string()})),
    );
    assert_eq!(status, 200, "{registered}");
    create_topic(
        &server,
        json!({"name": "java-gated", "partitions": 1, "validation": "full"}),
    );
    let id = registered["id"].to_string();
    let mut command = Command::new("java");
    command.args(["-cp", &classpath, "herald.KafkaCheck", &bootstrap, &id]);
    let stdout = run_ok(command, b"");
    for expected in [
        format!("cluster node {bootstrap}").as_str(),
        "created java-orders partitions 3",
        "produced 100 acks=all idempotent",
        "consumed 100 in group java-group",
        "committed offsets match the ends",
        "accepted valid record at offset 0",
        "deleted java-scratch",
        "ok: java",
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let refusal = stdout
        .lines()
        .find_map(|l| l.strip_prefix("refused INVALID_RECORD: "))
        .unwrap_or_else(|| panic!("no refusal in:\n{stdout}"));
    assert!(refusal.contains("/id"), "the error names the field: {refusal}");

    let total: usize = (0..3).map(|p| stored(&server, "java-orders", p).len()).sum();
    assert_eq!(total, 100);
    let gated = stored(&server, "java-gated", 0);
    assert_eq!(gated.len(), 1, "only the valid record landed: {gated:?}");
    assert!(values(&gated)[0].ends_with(r#"{"id": "j-1"}"#));
    let offsets = group_offsets(&server, "java-group");
    assert!(
        offsets.values().all(|(committed, end)| *committed == Some(*end)) && offsets.len() == 3,
        "{offsets:?}"
    );
    let (status, _) = server.call("GET", "/topics/java-scratch", None);
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------------------------------
// SIGKILL through the Kafka path
// ---------------------------------------------------------------------------------------

const CRASH_ROUNDS: u64 = 6;

/// librdkafka (acks=all, idempotent) produces while the server is SIGKILLed, round after
/// round; every record it saw acknowledged is at its offset after the restarts, and every
/// partition's offsets are dense.
#[test]
fn every_record_librdkafka_saw_acknowledged_survives_sigkill() {
    let Some(python) = confluent_python() else { return };
    let dir = temp_dir("herald-kafka-crash");
    let dir_arg = dir.display().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kafka crash test seed {seed}");
    let mut random = Lcg(seed);
    let mut acked: BTreeMap<(i64, i64), String> = BTreeMap::new();

    let first = Server::start(&["--data-dir", &dir_arg]);
    create_topic(
        &first,
        json!({"name": "crash", "partitions": 2, "durability": {"mode": "sync"}}),
    );
    let mut running = Some(first);
    for round in 0..CRASH_ROUNDS {
        let server = running
            .take()
            .unwrap_or_else(|| Server::start(&["--data-dir", &dir_arg]));
        let bootstrap = server.kafka.clone().expect("a listener");
        let mut command = confluent(&python, &server, &bootstrap, "crash");
        command.arg(format!("r{round}"));
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the Python producer");
        let stdin: ChildStdin = child.stdin.take().unwrap();
        let (lines, stderr) = read_lines(&mut child);
        let mut seen = wait_for_line(&mut child, &lines, &stderr, |l| l.starts_with("ack "));
        std::thread::sleep(Duration::from_millis(100 + random.next(900)));
        server.kill();
        drop(stdin);
        seen.extend(wait_for_line(&mut child, &lines, &stderr, |l| l == "done"));
        let status = child.wait().expect("wait for the producer");
        assert!(status.success(), "{}", stderr.lock().unwrap());
        for line in seen.iter().filter_map(|l| l.strip_prefix("ack ")) {
            let mut parts = line.split(' ');
            let partition: i64 = parts.next().unwrap().parse().unwrap();
            let offset: i64 = parts.next().unwrap().parse().unwrap();
            let payload = parts.next().unwrap().to_string();
            let previous = acked.insert((partition, offset), payload);
            assert!(previous.is_none(), "offset {partition}/{offset} acknowledged twice");
        }
    }

    let server = Server::start(&["--data-dir", &dir_arg]);
    eprintln!("{} records acknowledged over {CRASH_ROUNDS} kills", acked.len());
    assert!(
        acked.len() > 200,
        "only {} acknowledged: too little exercised",
        acked.len()
    );
    for partition in 0..2 {
        let records = stored(&server, "crash", partition);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.offset, i as i64, "offsets of partition {partition} are not dense");
        }
        let values = values(&records);
        for ((_, offset), payload) in acked.range((partition, 0)..(partition + 1, 0)) {
            assert_eq!(
                values.get(*offset as usize),
                Some(payload),
                "acknowledged record at {partition}/{offset} is missing or different"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Frames no client library would send
// ---------------------------------------------------------------------------------------

/// The APIs issue 14 names, by key: each must be advertised by ApiVersions.
const REQUIRED_APIS: [(i16, &str); 19] = [
    (0, "Produce"),
    (1, "Fetch"),
    (2, "ListOffsets"),
    (3, "Metadata"),
    (8, "OffsetCommit"),
    (9, "OffsetFetch"),
    (10, "FindCoordinator"),
    (11, "JoinGroup"),
    (12, "Heartbeat"),
    (13, "LeaveGroup"),
    (14, "SyncGroup"),
    (15, "DescribeGroups"),
    (16, "ListGroups"),
    (18, "ApiVersions"),
    (19, "CreateTopics"),
    (20, "DeleteTopics"),
    (22, "InitProducerId"),
    (32, "DescribeConfigs"),
    (60, "DescribeCluster"),
];

/// A request frame: size, then header v1 (key, version, correlation id, client id), then
/// `body`.
fn frame(api_key: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend(api_key.to_be_bytes());
    message.extend(version.to_be_bytes());
    message.extend(correlation.to_be_bytes());
    message.extend(4i16.to_be_bytes());
    message.extend(b"test");
    message.extend(body);
    let mut framed = (message.len() as i32).to_be_bytes().to_vec();
    framed.extend(message);
    framed
}

/// What came back on a connection: a response frame, or the connection closed.
#[derive(Debug)]
enum Answer {
    Frame(Vec<u8>),
    Closed,
}

fn answer(stream: &mut std::net::TcpStream) -> Answer {
    use std::io::Read;
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut size = [0u8; 4];
    match stream.read_exact(&mut size) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof || e.kind() == std::io::ErrorKind::ConnectionReset => {
            return Answer::Closed
        }
        Err(e) => panic!("the connection was neither answered nor closed: {e}"),
    }
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).expect("a whole response frame");
    Answer::Frame(body)
}

/// An ApiVersions v0 response: (correlation id, error code, [(key, min, max)]).
fn api_versions_v0(frame: &[u8]) -> (i32, i16, Vec<(i16, i16, i16)>) {
    let i32_at = |at: usize| i32::from_be_bytes(frame[at..at + 4].try_into().unwrap());
    let i16_at = |at: usize| i16::from_be_bytes(frame[at..at + 2].try_into().unwrap());
    let count = i32_at(6).max(0) as usize;
    let apis = (0..count)
        .map(|i| {
            let at = 10 + i * 6;
            (i16_at(at), i16_at(at + 2), i16_at(at + 4))
        })
        .collect();
    (i32_at(0), i16_at(4), apis)
}

fn connect(bootstrap: &str) -> std::net::TcpStream {
    std::net::TcpStream::connect(bootstrap).expect("connect to the Kafka listener")
}

/// Oversized, negative, truncated and garbage frames close only their own connection: a
/// connection opened before them is still answered, and so is a new one. ApiVersions
/// advertises every API the issue names; an unsupported ApiVersions version is answered
/// with UNSUPPORTED_VERSION (35) and the supported ranges, as Kafka does.
#[test]
fn broken_frames_close_only_their_own_connection() {
    if no_listener() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    let mut bystander = connect(&bootstrap);
    bystander.write_all(&frame(18, 0, 1, b"")).unwrap();
    let Answer::Frame(first) = answer(&mut bystander) else {
        panic!("ApiVersions v0 was not answered")
    };
    let (correlation, error, apis) = api_versions_v0(&first);
    assert_eq!((correlation, error), (1, 0));
    for (key, name) in REQUIRED_APIS {
        let advertised = apis.iter().find(|(k, _, _)| *k == key);
        assert!(
            advertised.is_some_and(|(_, min, max)| min <= max),
            "{name} ({key}) is not advertised: {apis:?}"
        );
    }
    let (_, _, api_versions_max) = apis.iter().find(|(k, _, _)| *k == 18).copied().unwrap();
    assert!(api_versions_max >= 3, "ApiVersions up to v3 at least: {apis:?}");

    let mut unsupported = connect(&bootstrap);
    unsupported.write_all(&frame(18, 999, 2, b"")).unwrap();
    let Answer::Frame(refusal) = answer(&mut unsupported) else {
        panic!("an unsupported ApiVersions version closed the connection instead of answering")
    };
    let (correlation, error, apis) = api_versions_v0(&refusal);
    assert_eq!((correlation, error), (2, 35), "UNSUPPORTED_VERSION");
    assert!(apis.iter().any(|(k, _, _)| *k == 18), "{apis:?}");

    let mut broken: Vec<(&str, Vec<u8>)> = vec![
        ("a 2 GiB frame", {
            let mut bytes = i32::MAX.to_be_bytes().to_vec();
            bytes.extend([0u8; 64]);
            bytes
        }),
        ("a negative size", (-5i32).to_be_bytes().to_vec()),
        ("an unknown API key", frame(0x7777, 0, 3, b"junk")),
        // Metadata v1 announcing a million topics it does not send.
        ("a truncated body", frame(3, 1, 4, &1_000_000i32.to_be_bytes())),
        (
            "random bytes",
            (0..200u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
    ];
    // A frame cut short: the size promises more than ever arrives.
    broken.push(("a frame cut short", {
        let mut bytes = 100i32.to_be_bytes().to_vec();
        bytes.extend([0u8, 18, 0, 0]);
        bytes
    }));
    for (what, bytes) in broken {
        let mut stream = connect(&bootstrap);
        // The server may close before taking it all: a failed write is part of the test.
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Closed, or answered with an error for that request; never a crash or a hang.
        if let Answer::Frame(reply) = answer(&mut stream) {
            assert!(reply.len() >= 4, "{what}: a reply too short for a correlation id");
        }
        // The connection opened before it is still served, on the same socket.
        bystander.write_all(&frame(18, 0, 10, b"")).unwrap();
        let Answer::Frame(again) = answer(&mut bystander) else {
            panic!("after {what}, an unrelated connection was closed")
        };
        assert_eq!(api_versions_v0(&again).0, 10, "after {what}");
    }
    let mut fresh = connect(&bootstrap);
    fresh.write_all(&frame(18, 0, 11, b"")).unwrap();
    assert!(
        matches!(answer(&mut fresh), Answer::Frame(_)),
        "new connections are served"
    );
    assert_eq!(server.call("GET", "/health", None).0, 200);
}

/// A Produce v3 body with acks=0 carrying one record batch of `values` for `topic`/0.
fn acks_zero_produce(topic: &str, values: &[&[u8]]) -> Vec<u8> {
    let records: Vec<herald::broker::batch::Record> = values
        .iter()
        .map(|v| herald::broker::batch::Record {
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(v.to_vec()),
            headers: Vec::new(),
        })
        .collect();
    let batch = herald::broker::batch::encode(&records);
    let mut body = Vec::new();
    body.extend((-1i16).to_be_bytes()); // no transactional id
    body.extend(0i16.to_be_bytes()); // acks=0
    body.extend(1000i32.to_be_bytes());
    body.extend(1i32.to_be_bytes());
    body.extend((topic.len() as i16).to_be_bytes());
    body.extend(topic.as_bytes());
    body.extend(1i32.to_be_bytes());
    body.extend(0i32.to_be_bytes());
    body.extend((batch.len() as i32).to_be_bytes());
    body.extend(batch);
    body
}

/// acks=0 gets no response at all (one would desynchronise the client): the next request's
/// answer is the next frame on the socket. A refused acks=0 produce closes the connection,
/// the only way such a producer learns of it, and writes nothing.
#[test]
fn acks_zero_is_never_answered_and_a_refusal_closes_the_connection() {
    if no_listener() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(
        &server,
        json!({"name": "fire-and-forget", "partitions": 1, "validation": "off"}),
    );
    create_topic(&server, json!({"name": "guarded", "partitions": 1, "validation": "id"}));
    let mut stream = connect(&bootstrap);
    let mut pipelined = frame(0, 3, 21, &acks_zero_produce("fire-and-forget", &[b"one", b"two"]));
    pipelined.extend(frame(18, 0, 22, b""));
    stream.write_all(&pipelined).unwrap();
    let Answer::Frame(next) = answer(&mut stream) else {
        panic!("the connection closed after an acks=0 produce that landed")
    };
    assert_eq!(api_versions_v0(&next).0, 22, "the first answer is the ApiVersions one");
    assert_eq!(values(&stored(&server, "fire-and-forget", 0)), ["one", "two"]);

    // Unframed values on a topic whose value subject has a schema: refused, so the
    // connection closes.
    let schema = json!({"schema": r#"{"type":"record","name":"Ping","fields":[{"name":"n","type":"int"}]}"#});
    let (status, _) = server.call("POST", "/subjects/guarded-value/versions", Some(&schema));
    assert_eq!(status, 200);
    stream
        .write_all(&frame(0, 3, 23, &acks_zero_produce("guarded", &[b"not framed"])))
        .unwrap();
    assert!(
        matches!(answer(&mut stream), Answer::Closed),
        "a refused acks=0 produce must close the connection"
    );
    assert!(
        stored(&server, "guarded", 0).is_empty(),
        "nothing of a refused batch lands"
    );
}

/// An idempotent producer pipelines its Produce requests (the Java client keeps five in
/// flight, each batch with the next sequence number). Handled out of order, a later batch
/// reaches the log first and is refused OUT_OF_ORDER_SEQUENCE_NUMBER, and the client
/// retries with a bumped epoch: a slow crawl, and an order the client did not send. Here
/// 64 requests, one batch each, are written back to back on one connection before any
/// answer is read: every one is accepted, at the offset of its place in the sequence.
#[test]
fn pipelined_idempotent_produce_requests_land_in_the_order_sent() {
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

    if no_listener() {
        return;
    }
    let (server, bootstrap) = kafka_server(&[]);
    create_topic(
        &server,
        json!({"name": "pipelined", "partitions": 1, "validation": "off"}),
    );
    let mut stream = connect(&bootstrap);

    // InitProducerId v0: no transactional id, no timeout.
    let mut body = (-1i16).to_be_bytes().to_vec();
    body.extend((-1i32).to_be_bytes());
    stream.write_all(&frame(22, 0, 1, &body)).unwrap();
    let Answer::Frame(init) = answer(&mut stream) else {
        panic!("InitProducerId was not answered")
    };
    // correlation id, throttle, error code, producer id, epoch
    assert_eq!(
        i16::from_be_bytes(init[8..10].try_into().unwrap()),
        0,
        "InitProducerId failed"
    );
    let producer_id = i64::from_be_bytes(init[10..18].try_into().unwrap());
    let epoch = i16::from_be_bytes(init[18..20].try_into().unwrap());

    const REQUESTS: i32 = 64;
    let mut pipelined = Vec::new();
    for sequence in 0..REQUESTS {
        let record = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(format!("record {sequence}").into_bytes().into()),
            headers: Default::default(),
        };
        let mut batch = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut batch, [&record], &options).unwrap();
        // Produce v3: transactional id (null), acks=all, timeout, [topic [partition, records]].
        let mut body = (-1i16).to_be_bytes().to_vec();
        body.extend((-1i16).to_be_bytes());
        body.extend(30_000i32.to_be_bytes());
        body.extend(1i32.to_be_bytes());
        body.extend(9i16.to_be_bytes());
        body.extend(b"pipelined");
        body.extend(1i32.to_be_bytes());
        body.extend(0i32.to_be_bytes());
        body.extend((batch.len() as i32).to_be_bytes());
        body.extend(&batch[..]);
        pipelined.extend(frame(0, 3, 100 + sequence, &body));
    }
    stream.write_all(&pipelined).unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..REQUESTS {
        let Answer::Frame(reply) = answer(&mut stream) else {
            panic!("a pipelined Produce request closed the connection")
        };
        // correlation id, [topic: name (2 + 9), [partition: index, error, base offset, …]]
        let correlation = i32::from_be_bytes(reply[0..4].try_into().unwrap());
        let at = 4 + 4 + 2 + 9 + 4 + 4;
        let error = i16::from_be_bytes(reply[at..at + 2].try_into().unwrap());
        let offset = i64::from_be_bytes(reply[at + 2..at + 10].try_into().unwrap());
        outcomes.push((correlation, error, offset));
    }
    let expected: Vec<(i32, i16, i64)> = (0..REQUESTS).map(|s| (100 + s, 0, i64::from(s))).collect();
    assert_eq!(
        outcomes, expected,
        "(correlation id, error code, base offset) per request"
    );
    let stored = stored(&server, "pipelined", 0);
    let expected: Vec<String> = (0..REQUESTS).map(|s| format!("record {s}")).collect();
    assert_eq!(values(&stored), expected);
}

// ---------------------------------------------------------------------------------------
// SASL/PLAIN on the Kafka listener, with the same users and grants as HTTP
// ---------------------------------------------------------------------------------------

const ALICE: &str = "alice:alice-password";
const BOB: &str = "bob:bob-password-1";

/// A server with security on: `alice` (admin) and `bob` (no role; produce and consume on
/// topics `bob-*`, consume in groups `bob-*`), made with `herald users add`. Answers the
/// server and its Kafka bootstrap address.
fn sasl_server() -> (Server, String) {
    sasl_server_in(&temp_dir("herald-kafka-sasl"), "")
}

/// The same, in `dir`, with `more` appended to the `[security]` section.
fn sasl_server_in(dir: &std::path::Path, more: &str) -> (Server, String) {
    let users = dir.join("users.toml");
    for (credentials, role) in [(ALICE, Some("admin")), (BOB, None)] {
        let (user, password) = credentials.split_once(':').unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command.args(["users", "add", user, "--file", &users.display().to_string()]);
        command.args(["--role", role.unwrap_or("none")]);
        command.env("HERALD_PASSWORD", password);
        run_ok(command, b"");
    }
    let mut text = std::fs::read_to_string(&users).unwrap();
    text.push_str(
        "\n[[grants]]\nprincipal = \"bob\"\nresource = \"topic\"\nname = \"bob-\"\nmatch = \"prefix\"\nallow = [\"produce\", \"consume\"]\n\
         \n[[grants]]\nprincipal = \"bob\"\nresource = \"group\"\nname = \"bob-\"\nmatch = \"prefix\"\nallow = [\"consume\"]\n",
    );
    std::fs::write(&users, text).unwrap();
    let config = dir.join("herald.toml");
    std::fs::write(&config, format!("[security]\nusers_file = \"users.toml\"\n{more}")).unwrap();
    let data = dir.join("data").display().to_string();
    kafka_server(&["--config", &config.display().to_string(), "--data-dir", &data])
}

fn basic_header(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn kcat_as(bootstrap: &str, credentials: &str, args: &[&str]) -> Command {
    kcat_with(bootstrap, "PLAIN", credentials, args)
}

fn kcat_with(bootstrap: &str, mechanism: &str, credentials: &str, args: &[&str]) -> Command {
    let (user, password) = credentials.split_once(':').unwrap();
    let mut command = kcat(bootstrap, args);
    command.args([
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        &format!("sasl.mechanisms={mechanism}"),
    ]);
    command.args([
        "-X",
        &format!("sasl.username={user}"),
        "-X",
        &format!("sasl.password={password}"),
    ]);
    command
}

/// kcat with SASL_PLAINTEXT: the admin produces and reads back; a user limited to `bob-*`
/// sees only those topics in Metadata and is refused another topic; wrong credentials and
/// no SASL at all get nothing.
#[test]
fn kcat_authenticates_with_sasl_plain_and_grants_apply() {
    if no_listener() || !kcat_available() {
        return;
    }
    let (server, bootstrap) = sasl_server();
    for topic in ["orders", "bob-events"] {
        let (status, body) = crate::serve::http_as(
            &server.address,
            &basic_header(ALICE),
            "POST",
            "/topics",
            Some(&json!({"name": topic})),
        );
        assert_eq!(status, 201, "{body}");
    }
    run_ok(
        kcat_as(&bootstrap, ALICE, &["-P", "-t", "orders", "-p", "0"]),
        b"o-1\no-2\no-3\n",
    );
    let read = run_ok(
        kcat_as(
            &bootstrap,
            ALICE,
            &["-C", "-t", "orders", "-o", "beginning", "-e", "-f", "%s\n"],
        ),
        b"",
    );
    assert_eq!(read.lines().collect::<Vec<_>>(), ["o-1", "o-2", "o-3"]);

    let metadata = run_ok(kcat_as(&bootstrap, BOB, &["-L", "-J"]), b"");
    let listed: Value = serde_json::from_str(metadata.trim()).expect("kcat -L -J");
    let names: Vec<&str> = listed["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob-events"], "{metadata}");
    let refused = run(kcat_as(&bootstrap, BOB, &["-P", "-t", "orders", "-p", "0"]), b"nope\n");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.to_lowercase().contains("authoriz"),
        "{stderr}"
    );
    run_ok(
        kcat_as(&bootstrap, BOB, &["-P", "-t", "bob-events", "-p", "0"]),
        b"b-1\n",
    );

    // SCRAM-SHA-256 and -512 with the same users (`herald users add` stored their SCRAM
    // credentials): the same grants, and a wrong password gets nothing.
    run_ok(
        kcat_with(&bootstrap, "SCRAM-SHA-256", ALICE, &["-P", "-t", "orders", "-p", "0"]),
        b"o-4\n",
    );
    let scram_metadata = run_ok(kcat_with(&bootstrap, "SCRAM-SHA-512", BOB, &["-L", "-J"]), b"");
    assert!(
        scram_metadata.contains("bob-events") && !scram_metadata.contains("\"orders\""),
        "{scram_metadata}"
    );
    // Only the admin's four records are in `orders`: the refused ones never landed.
    let read = run_ok(
        kcat_as(
            &bootstrap,
            ALICE,
            &["-C", "-t", "orders", "-o", "beginning", "-e", "-f", "%s\n"],
        ),
        b"",
    );
    assert_eq!(read.lines().count(), 4);
    // Wrong and unknown credentials, and none at all, get nothing (last: the failures count
    // against this address).
    for command in [
        kcat_as(&bootstrap, "bob:wrong-password", &["-L", "-m", "5"]),
        kcat_with(&bootstrap, "SCRAM-SHA-512", "bob:wrong-password", &["-L", "-m", "5"]),
        kcat_with(&bootstrap, "SCRAM-SHA-256", "mallory:any-password", &["-L", "-m", "5"]),
        kcat(&bootstrap, &["-L", "-m", "5"]),
    ] {
        let what = format!("{command:?}");
        let output = run(command, b"");
        assert!(!output.status.success(), "{what} succeeded");
    }
}

/// A server whose Kafka listener takes TLS, with client certificates the test CA signed;
/// answers it, its bootstrap address and the CA. `None` without openssl.
fn tls_server() -> Option<(Server, String, crate::certs::Ca)> {
    let dir = temp_dir("herald-kafka-tls");
    let ca = crate::certs::Ca::new(&dir, "ca")?;
    ca.server("server");
    let (server, bootstrap) = sasl_server_in(
        &dir,
        "[security.kafka_tls]\ncert = \"server.pem\"\nkey = \"server.key\"\nclient_ca = \"ca.pem\"\n",
    );
    Some((server, bootstrap, ca))
}

/// kcat over TLS, trusting the test CA, with the given security settings.
fn kcat_tls(bootstrap: &str, ca: &crate::certs::Ca, settings: &[&str], args: &[&str]) -> Command {
    let mut command = kcat(bootstrap, args);
    command.args(["-X", &format!("ssl.ca.location={}", ca.pair.cert.display())]);
    for setting in settings {
        command.args(["-X", setting]);
    }
    command
}

/// The Kafka listener over TLS: kcat with SASL_SSL (SCRAM) produces and reads back; a
/// client certificate alone (SSL) authenticates as the name it gives, with that principal's
/// grants; plaintext, a certificate from another CA, and TLS with neither SASL nor a
/// certificate get nothing.
#[test]
fn kcat_over_tls_with_scram_and_client_certificates() {
    if no_listener() || !kcat_available() {
        return;
    }
    let Some((server, bootstrap, ca)) = tls_server() else {
        return;
    };
    let (alice, alice_password) = ALICE.split_once(':').unwrap();
    let scram = [
        "security.protocol=SASL_SSL".to_string(),
        "sasl.mechanisms=SCRAM-SHA-512".to_string(),
        format!("sasl.username={alice}"),
        format!("sasl.password={alice_password}"),
    ];
    let scram: Vec<&str> = scram.iter().map(String::as_str).collect();
    // kcat cannot create topics: the admin makes them over HTTP.
    let create = |topic: &str| {
        let (status, body) = crate::serve::http_as(
            &server.address,
            &basic_header(ALICE),
            "POST",
            "/topics",
            Some(&json!({"name": topic})),
        );
        assert_eq!(status, 201, "{body}");
    };
    create("orders");
    create("bob-events");
    run_ok(
        kcat_tls(&bootstrap, &ca, &scram, &["-P", "-t", "orders", "-p", "0"]),
        b"t-1\nt-2\n",
    );
    let read = run_ok(
        kcat_tls(
            &bootstrap,
            &ca,
            &scram,
            &["-C", "-t", "orders", "-o", "beginning", "-e", "-f", "%s\n"],
        ),
        b"",
    );
    assert_eq!(read.lines().collect::<Vec<_>>(), ["t-1", "t-2"]);

    // A certificate naming bob: bob's grants, no SASL.
    let bob = ca.client("bob", "/CN=bob", None);
    let certificate = [
        "security.protocol=SSL".to_string(),
        format!("ssl.certificate.location={}", bob.cert.display()),
        format!("ssl.key.location={}", bob.key.display()),
    ];
    let certificate: Vec<&str> = certificate.iter().map(String::as_str).collect();
    let metadata = run_ok(kcat_tls(&bootstrap, &ca, &certificate, &["-L", "-J"]), b"");
    assert!(
        metadata.contains("\"bob-events\"") && !metadata.contains("\"orders\""),
        "{metadata}"
    );
    run_ok(
        kcat_tls(&bootstrap, &ca, &certificate, &["-P", "-t", "bob-events", "-p", "0"]),
        b"b-1\n",
    );
    let refused = run(
        kcat_tls(&bootstrap, &ca, &certificate, &["-P", "-t", "orders", "-p", "0"]),
        b"nope\n",
    );
    assert!(
        !refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Nothing for plaintext, another CA's certificate, or TLS with no identity at all.
    let other = crate::certs::Ca::new(&temp_dir("herald-kafka-other-ca"), "other").expect("openssl");
    let forged = other.client("forged", "/CN=alice", None);
    let forged_settings = [
        "security.protocol=SSL".to_string(),
        format!("ssl.certificate.location={}", forged.cert.display()),
        format!("ssl.key.location={}", forged.key.display()),
    ];
    let forged_settings: Vec<&str> = forged_settings.iter().map(String::as_str).collect();
    for command in [
        kcat_with(&bootstrap, "SCRAM-SHA-512", ALICE, &["-L", "-m", "5"]),
        kcat_tls(&bootstrap, &ca, &forged_settings, &["-L", "-m", "5"]),
        kcat_tls(&bootstrap, &ca, &["security.protocol=SSL"], &["-L", "-m", "5"]),
    ] {
        let what = format!("{command:?}");
        let output = run(command, b"");
        assert!(!output.status.success(), "{what} succeeded");
    }
}

/// confluent-kafka's Producer, Consumer and AdminClient with SASL_SSL: the same script as
/// over plaintext, trusting the test CA.
#[test]
fn confluent_clients_with_sasl_ssl() {
    let Some(python) = confluent_python() else { return };
    if no_listener() {
        return;
    }
    let Some((_server, bootstrap, ca)) = tls_server() else {
        return;
    };
    let mut command = Command::new(python);
    command.args([
        "-W",
        "ignore",
        &python_script("kafka_sasl_test.py"),
        &bootstrap,
        ALICE,
        BOB,
    ]);
    command.arg(&ca.pair.cert);
    let stdout = run_ok(command, b"");
    assert!(stdout.contains("ok: all checks"), "{stdout}");
}

/// confluent-kafka's Producer, Consumer and AdminClient with SASL/PLAIN: see
/// tests/python/kafka_sasl_test.py.
#[test]
fn confluent_clients_with_sasl_plain() {
    let Some(python) = confluent_python() else { return };
    let (_server, bootstrap) = sasl_server();
    let mut command = Command::new(python);
    command.args([
        "-W",
        "ignore",
        &python_script("kafka_sasl_test.py"),
        &bootstrap,
        ALICE,
        BOB,
    ]);
    let stdout = run_ok(command, b"");
    assert!(stdout.contains("ok: all checks"), "{stdout}");
}

/// The official Java client's whole check, authenticated with SASL/SCRAM-SHA-512 as an admin.
#[test]
fn java_client_with_sasl_scram() {
    if no_listener() {
        return;
    }
    let Some(classpath) = java_classpath() else { return };
    let (server, bootstrap) = sasl_server();
    let auth = basic_header(ALICE);
    let schema = json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
    let (status, registered) = crate::serve::http_as(
        &server.address,
        &auth,
        "POST",
        "/subjects/java-gated-value/versions",
        Some(&json!({"schemaType": "JSON", "schema": schema.to_string()})),
    );
    assert_eq!(status, 200, "{registered}");
    let (status, body) = crate::serve::http_as(
        &server.address,
        &auth,
        "POST",
        "/topics",
        Some(&json!({"name": "java-gated", "partitions": 1, "validation": "full"})),
    );
    assert_eq!(status, 201, "{body}");
    let mut command = Command::new("java");
    command.args([
        "-cp",
        &classpath,
        "herald.KafkaCheck",
        &bootstrap,
        &registered["id"].to_string(),
    ]);
    command.env("HERALD_KAFKA_SASL", ALICE);
    command.env("HERALD_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
    let stdout = run_ok(command, b"");
    assert!(stdout.lines().any(|l| l == "ok: java"), "{stdout}");
    // Without credentials the same client gets nowhere.
    let mut anonymous = Command::new("java");
    anonymous.args([
        "-cp",
        &classpath,
        "herald.KafkaCheck",
        &bootstrap,
        &registered["id"].to_string(),
    ]);
    anonymous.env_remove("HERALD_KAFKA_SASL");
    let output = run(anonymous, b"");
    assert!(!output.status.success());
}

/// Rule parity with the real client: confluent-kafka's AvroSerializer, running its CEL
/// executors on the registered version, and Herald's gate, behind the Kafka listener, judge
/// the same customers under the same rules. A rule set enabled for SERVER is skipped by the
/// client and enforced by Herald; CLIENT the reverse; ALL by both, with the same verdicts.
#[test]
fn confluent_rule_executors_and_the_gate_agree_on_data_contract_rules() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    let schema = json!({"type": "record", "name": "Customer", "namespace": "com.acme", "fields": [
        {"name": "name", "type": "string"}, {"name": "ssn", "type": "string"},
        {"name": "age", "type": "int"}, {"name": "email", "type": ["null", "string"], "default": null}]})
    .to_string();
    for place in ["server", "client", "all"] {
        create_topic(
            &server,
            json!({"name": format!("rules-{place}"), "partitions": 1, "validation": "full"}),
        );
        let (status, body) = server.call(
            "POST",
            &format!("/subjects/rules-{place}-value/versions"),
            Some(
                &json!({"schema": schema, "ruleSet": {"enableAt": place.to_uppercase(), "domainRules": [
                {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
                 "expr": "size(message.ssn) == 9"},
                {"name": "adult", "kind": "CONDITION", "type": "CEL_FIELD", "mode": "WRITE",
                 "expr": "name == 'age' ; value >= 18"}]}}),
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "rules"), b"");
    let verdicts = result_line(&stdout);
    let refused = |v: &Value, side: &str| v[side].as_str().unwrap().starts_with("refused");
    for place in ["server", "client", "all"] {
        let seen = verdicts[place].as_array().unwrap();
        // Ada passes both rules; Bob's ssn is short; Cy is 9.
        let expected = [false, true, true];
        for (i, bad) in expected.into_iter().enumerate() {
            let (client, server_side) = (refused(&seen[i], "client"), refused(&seen[i], "server"));
            match place {
                "server" => assert_eq!((client, server_side), (false, bad), "{place} {i}: {verdicts}"),
                "client" => assert_eq!((client, server_side), (bad, false), "{place} {i}: {verdicts}"),
                _ => assert_eq!((client, server_side), (bad, bad), "{place} {i}: {verdicts}"),
            }
        }
        if place == "server" {
            let why = seen[1]["server"].as_str().unwrap();
            assert!(why.contains("INVALID_RECORD"), "{why}");
        }
    }
    // What landed: only the records each side let through.
    for (place, landed) in [("server", 1), ("client", 3), ("all", 1)] {
        assert_eq!(stored(&server, &format!("rules-{place}"), 0).len(), landed, "{place}");
    }
}

#[test]
fn dlq_rules_divert_an_idempotent_producers_records_keeping_its_offsets_and_sequences() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = kafka_server(&[]);
    for (name, validation) in [("dlq-customers", "full"), ("bad-customers", "off")] {
        create_topic(
            &server,
            json!({"name": name, "partitions": 1, "validation": validation}),
        );
    }
    let schema = json!({"type": "record", "name": "Customer", "namespace": "com.acme", "fields": [
        {"name": "name", "type": "string"}, {"name": "ssn", "type": "string"},
        {"name": "age", "type": "int"}, {"name": "email", "type": ["null", "string"], "default": null}]})
    .to_string();
    let (status, body) = server.call(
        "POST",
        "/subjects/dlq-customers-value/versions",
        Some(&json!({"schema": schema, "ruleSet": {"domainRules": [
            {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "size(message.ssn) == 9", "onFailure": "DLQ", "params": {"dlq.topic": "bad-customers"}}]}})),
    );
    assert_eq!(status, 200, "{body}");
    let stdout = run_ok(confluent(&python, &server, &bootstrap, "dead_letters"), b"");
    let summary = result_line(&stdout);
    // Rounds a (6 records, 2 diverted), b (3, all diverted), c (2): holes where the diverted
    // ones were, as the producer's delivery reports said.
    assert_eq!(summary["landed"], json!([0, 2, 4, 5, 9, 10]), "{stdout}");
    assert_eq!(summary["diverted"], 5, "{stdout}");
    assert_eq!(values(&stored(&server, "bad-customers", 0)).len(), 5);
    let metrics = server.get_text("/metrics");
    assert!(
        metrics.contains(
            r#"herald_rule_evaluations_total{subject="dlq-customers-value",rule="checkSsnLen",outcome="dead_lettered"} 5"#
        ),
        "{metrics}"
    );
}

/// A record produced with confluent-kafka's AvroSerializer and read over HTTP by two
/// principals, decoded with its AvroDeserializer: the one without the grant on tag PII gets
/// the tagged field redacted, the admin the record as produced.
#[test]
fn confluent_deserializers_read_redacted_fields_only_without_the_tag_grant() {
    let Some(python) = confluent_python() else { return };
    let (server, bootstrap) = sasl_server();
    let (status, body) = crate::serve::http_as(
        &server.address,
        &basic_header(ALICE),
        "POST",
        "/topics",
        Some(&json!({"name": "bob-customers", "partitions": 1})),
    );
    assert_eq!(status, 201, "{body}");
    let mut command = confluent(&python, &server, &bootstrap, "redaction");
    command.env("HERALD_ADMIN", ALICE).env("HERALD_READER", BOB);
    let stdout = run_ok(command, b"");
    let seen = result_line(&stdout);
    assert_eq!(seen["reader"]["record"]["ssn"], "<REDACTED>", "{stdout}");
    assert_eq!(seen["admin"]["record"]["ssn"], "123456789", "{stdout}");
}
