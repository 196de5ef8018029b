//! Live tail: `GET /topics/{t}/live` (Server-Sent Events) read by curl and by `herald tail`,
//! against a running server: records decoded with the registry's schemas, resumption from
//! `Last-Event-ID`, refusals, and the stream ended when the server stops.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::{http, Server};

const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";
const PROTOBUF_V2: &str = "application/vnd.kafka.protobuf.v2+json";

fn produce(server: &Server, topic: &str, content_type: &str, body: &Value) -> Value {
    let output = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            &format!("Content-Type: {content_type}"),
            "--data",
        ])
        .arg(body.to_string())
        .arg(format!("http://{}/topics/{topic}", server.address))
        .output()
        .expect("run curl");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(answer["offsets"].is_array(), "{answer}");
    answer
}

/// The `record` events of an SSE text: (id, data).
fn records(sse: &str) -> Vec<(String, Value)> {
    sse.split("\n\n")
        .filter(|event| event.contains("event: record"))
        .map(|event| {
            let field = |name: &str| {
                event
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .unwrap_or_default()
                    .to_string()
            };
            (field("id"), serde_json::from_str(&field("data")).unwrap())
        })
        .collect()
}

/// curl reading the stream for `seconds`, with extra headers.
fn curl_stream(server: &Server, query: &str, headers: &[&str], seconds: u32) -> String {
    let mut command = Command::new("curl");
    command.args(["-sN", "--max-time", &seconds.to_string()]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command
        .arg(format!("http://{}/topics/{query}", server.address))
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn records_stream_decoded_and_a_client_resumes_where_it_left_off() {
    if !curl_available() {
        crate::support::skip("the live tail test reads the stream with curl");
        return;
    }
    let server = Server::start(&[]);
    let address = server.address.clone();
    let (status, _) = http(
        &address,
        "POST",
        "/topics",
        Some(&json!({"name": "payments", "partitions": 2})),
    );
    assert_eq!(status, 201);
    let schema = json!({"type": "record", "name": "Payment", "fields": [
        {"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": null}]});
    let (_, registered) = http(
        &address,
        "POST",
        "/subjects/payments-value/versions",
        Some(&json!({"schema": schema.to_string()})),
    );
    let id = registered["id"].as_i64().unwrap();
    produce(
        &server,
        "payments",
        AVRO_V2,
        &json!({"value_schema_id": id, "records": [
            {"value": {"id": "p-1", "amount": 12.5}, "partition": 0},
            {"value": {"id": "p-2", "amount": 3, "note": {"string": "rush"}}, "partition": 1}]}),
    );

    // herald tail from the start: the two records, then one produced while it runs.
    let mut tail = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["tail", "payments", "--from", "earliest", "--max", "3"])
        .env("HERALD_SERVER", format!("http://{address}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    produce(
        &server,
        "payments",
        AVRO_V2,
        &json!({"value_schema_id": id, "records": [{"value": {"id": "p-3", "amount": 1}, "partition": 0}]}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while tail.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "herald tail did not stop after --max 3");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    tail.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{out}");
    let mut ids: Vec<&str> = lines.iter().map(|l| l["value"]["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["p-1", "p-2", "p-3"], "{out}");
    let rush = lines.iter().find(|l| l["value"]["id"] == "p-2").unwrap();
    // Avro's JSON encoding: the union's branch named.
    assert_eq!(rush["value"]["note"], json!({"string": "rush"}), "{out}");
    assert_eq!(rush["value_schema_id"], id);
    assert_eq!(
        (rush["partition"].clone(), rush["offset"].clone()),
        (json!(1), json!(0))
    );

    // curl from the start: each event's id is where to resume after it.
    let sse = curl_stream(&server, "payments/live?from=earliest", &[], 2);
    let seen = records(&sse);
    assert_eq!(seen.len(), 3, "{sse}");
    assert!(sse.starts_with("retry: 1000\n"), "{sse}");
    // Resuming after the first record of partition 0 (ids say "partition:next offset").
    let resume_after = seen.iter().find(|(_, r)| r["value"]["id"] == "p-1").unwrap().0.clone();
    let resumed = records(&curl_stream(
        &server,
        "payments/live",
        &[&format!("Last-Event-ID: {resume_after}")],
        2,
    ));
    let resumed_ids: Vec<&str> = resumed
        .iter()
        .map(|(_, r)| r["value"]["id"].as_str().unwrap())
        .collect();
    assert!(!resumed_ids.contains(&"p-1"), "{resumed_ids:?} after {resume_after}");
    assert!(resumed_ids.contains(&"p-3"), "{resumed_ids:?} after {resume_after}");

    // One partition, from an offset.
    let one = records(&curl_stream(&server, "payments/live?from=1&partition=0", &[], 2));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].1["value"]["id"], "p-3");
}

#[test]
fn protobuf_and_unframed_payloads_show_as_json() {
    if !curl_available() {
        crate::support::skip("the live tail test reads the stream with curl");
        return;
    }
    let server = Server::start(&[]);
    let address = server.address.clone();
    http(&address, "POST", "/topics", Some(&json!({"name": "refunds"})));
    let proto = "syntax = \"proto3\";\npackage acme;\nmessage Refund {\n  string id = 1;\n  int64 cents = 2;\n}\n";
    let (_, registered) = http(
        &address,
        "POST",
        "/subjects/refunds-value/versions",
        Some(&json!({"schemaType": "PROTOBUF", "schema": proto})),
    );
    let id = registered["id"].as_i64().unwrap();
    produce(
        &server,
        "refunds",
        PROTOBUF_V2,
        &json!({"value_schema_id": id, "records": [{"value": {"id": "r-1", "cents": "250"}}]}),
    );
    http(&address, "POST", "/topics", Some(&json!({"name": "notes"})));
    produce(
        &server,
        "notes",
        "application/vnd.kafka.binary.v2+json",
        &json!({"records": [{"key": "a2V5", "value": "aGVsbG8="}, {"value": "/wA="}]}),
    );
    let refunds = records(&curl_stream(&server, "refunds/live?from=earliest", &[], 2));
    assert_eq!(refunds.len(), 1);
    // proto3's JSON mapping: 64-bit integers as strings.
    assert_eq!(refunds[0].1["value"], json!({"id": "r-1", "cents": "250"}));
    assert_eq!(refunds[0].1["key"], Value::Null);
    let notes = records(&curl_stream(&server, "notes/live?from=earliest", &[], 2));
    // Unframed bytes: text as a string, other bytes as base64.
    assert_eq!(notes[0].1["key"], "key");
    assert_eq!(notes[0].1["value"], "hello");
    assert_eq!(notes[1].1["value"], json!({"base64": "/wA="}));
}

#[test]
fn bad_requests_are_refused_and_a_stopping_server_ends_the_stream() {
    if !curl_available() {
        crate::support::skip("the live tail test reads the stream with curl");
        return;
    }
    let server = Server::start(&[]);
    let address = server.address.clone();
    http(
        &address,
        "POST",
        "/topics",
        Some(&json!({"name": "events", "partitions": 2})),
    );
    for (query, code, words) in [
        ("nope/live", 40401, "Topic 'nope' not found"),
        (
            "events/live?from=soon",
            42201,
            "from must be latest, earliest or an offset",
        ),
        (
            "events/live?partition=2",
            40402,
            "Partition 2 of topic 'events' not found",
        ),
        ("events/live?partition=-1", 42201, "partition"),
        ("events/live?filter=value.n%20%3E", 42201, "filter: "),
        (
            "events/live?filter=message.n%20%3E%201",
            42201,
            "undeclared reference to \"message\"",
        ),
    ] {
        let answer: Value = serde_json::from_str(&curl_stream(&server, query, &[], 5)).unwrap();
        assert_eq!(answer["error_code"], code, "{query}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(words), "{query}: {answer}");
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["tail", "nope"])
        .env("HERALD_SERVER", format!("http://{address}"))
        .output()
        .unwrap();
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Topic 'nope' not found"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // A stream open while the server stops gets an end event, and the server exits.
    let mut open = Command::new("curl")
        .args(["-sN", "--max-time", "20"])
        .arg(format!("http://{address}/topics/events/live"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (code, _) = server.terminate();
    assert_eq!(code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited for the stream"
    );
    let mut sse = String::new();
    open.stdout.take().unwrap().read_to_string(&mut sse).unwrap();
    let _ = open.wait();
    assert!(
        sse.contains("event: end\ndata: {\"reason\":\"the server is stopping\"}"),
        "{sse}"
    );
}

/// `herald tail --filter`: only the records a CEL expression is true for, over the decoded
/// value, key and coordinates.
#[test]
fn a_filter_shows_only_the_records_it_is_true_for() {
    let server = Server::start(&[]);
    let address = server.address.clone();
    http(
        &address,
        "POST",
        "/topics",
        Some(&json!({"name": "readings", "partitions": 2})),
    );
    let records: Vec<Value> = (0..20)
        .map(|n| json!({"key": format!("sensor-{}", n % 4), "value": {"n": n, "celsius": n as f64 * 1.5}}))
        .collect();
    produce(
        &server,
        "readings",
        "application/vnd.kafka.json.v2+json",
        &json!({"records": records}),
    );
    let tail = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["tail", "readings", "--from", "earliest", "--max", "4", "--filter"])
        .arg("value.celsius > 5.0 && key == 'sensor-1'")
        .env("HERALD_SERVER", format!("http://{address}"))
        .output()
        .unwrap();
    assert_eq!(tail.status.code(), Some(0), "{}", String::from_utf8_lossy(&tail.stderr));
    let shown: Vec<i64> = String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["value"]["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        shown,
        vec![5, 9, 13, 17],
        "sensor-1's readings over 5 degrees, in order"
    );
}

/// The topic page's live panel in headless Chromium: it opens its EventSource from the page's
/// own script (`?live=earliest`), shows the records already there, and one produced while
/// the page is open. Driven through the DevTools protocol with a hard bound, since a page
/// with an open stream never settles for `--dump-dom`.
#[test]
fn the_topic_page_shows_records_arrive_in_a_real_browser() {
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        crate::support::skip(
            "the browser check needs HERALD_TEST_PYTHON, a Python with tests/python/requirements.txt (CI sets it)",
        );
        return;
    };
    let Some(browser) = crate::docs_ui::chromium() else {
        crate::support::skip("the browser check needs chromium on PATH (.ci/run installs Debian's chromium)");
        return;
    };
    let server = Server::start(&[]);
    let address = server.address.clone();
    http(
        &address,
        "POST",
        "/topics",
        Some(&json!({"name": "pings", "partitions": 1})),
    );
    let json_v2 = "application/vnd.kafka.json.v2+json";
    produce(
        &server,
        "pings",
        json_v2,
        &json!({"records": [{"value": {"n": 1}}, {"value": {"n": 2}}]}),
    );
    let page = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/browser_live.py"))
        .args([
            browser,
            &format!("http://{address}/ui/topics/pings.html?live=earliest"),
            "#live-events li",
            "3",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    produce(
        &server,
        "pings",
        json_v2,
        &json!({"records": [{"value": {"n": 3, "note": "while watching"}}]}),
    );
    let output = page.wait_with_output().unwrap();
    let html = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the panel did not show three records: {}\n{html}",
        String::from_utf8_lossy(&output.stderr)
    );
    let panel = &html[html.find("id=\"live-events\"").expect("the panel")..];
    for offset in 0..3 {
        assert!(panel.contains(&format!("partition 0, offset {offset}")), "{panel}");
    }
    assert!(panel.contains("while watching"), "{panel}");
    assert!(html.contains("Watching: new records appear at the top."), "{html}");
}
