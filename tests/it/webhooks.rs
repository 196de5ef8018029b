//! Partner webhooks against a running server and a scripted receiver: signed deliveries in
//! partition order, progress as committed offsets, retries and pauses with their cause,
//! dead letters, timeouts, a receiver that goes down and comes back, secret rotation,
//! refusals, and SIGKILL mid-delivery (nothing skipped; duplicates only after the crash).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::serve::{http, try_http, Server};
use crate::webhook_receiver::{Answer, Received, Receiver};

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";

fn create_topic(server: &Server, name: &str, partitions: u32) {
    let (status, body) = server.call(
        "POST",
        "/topics",
        Some(&json!({"name": name, "partitions": partitions})),
    );
    assert_eq!(status, 201, "{body}");
}

/// Produces JSON records, each `{"n": i}` keyed `k<i>`, to `partition` or by key.
fn produce(server: &Server, topic: &str, range: std::ops::Range<u32>, partition: Option<u32>) {
    let records: Vec<Value> = range
        .map(|n| match partition {
            Some(p) => json!({"key": format!("k{n}"), "value": {"n": n}, "partition": p}),
            None => json!({"key": format!("k{n}"), "value": {"n": n}}),
        })
        .collect();
    let (status, body) = try_http(
        &server.address,
        "POST",
        &format!("/topics/{topic}"),
        JSON_V2,
        Some(&json!({"records": records})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
}

fn subscribe(server: &Server, topic: &str, settings: Value) -> Value {
    let (status, body) = server.call("POST", &format!("/topics/{topic}/subscriptions"), Some(&settings));
    assert_eq!(status, 201, "{body}");
    body
}

fn subscription(server: &Server, topic: &str, name: &str) -> Value {
    let (status, body) = server.call("GET", &format!("/topics/{topic}/subscriptions/{name}"), None);
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls the subscription until `done` holds of it.
fn wait_subscription(server: &Server, topic: &str, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = subscription(server, topic, name);
        if done(&view) {
            return view;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "subscription never became {what}: {view:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A page's text, which must be answered 200.
fn page(server: &Server, path: &str) -> String {
    let text = server.get_text(path);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// Per partition, the offsets in the order they were delivered.
fn by_partition(received: &[Received]) -> BTreeMap<u32, Vec<i64>> {
    let mut out: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for r in received {
        let (p, o) = r.position();
        out.entry(p).or_default().push(o);
    }
    out
}

#[test]
fn records_arrive_signed_in_partition_order_and_progress_is_committed() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "payments", 3);
    produce(&server, "payments", 0..10, None);
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let created = subscribe(
        &server,
        "payments",
        json!({"name": "acme", "url": receiver.url("/hooks"), "from": "earliest", "secret": secret,
               "description": "ACME's ledger"}),
    );
    assert_eq!(created["secret"], secret, "the secret is shown once, at creation");
    assert_eq!(created["consumer_group"], "herald.webhook.payments.acme");
    produce(&server, "payments", 10..60, None);

    let delivered = receiver.wait_delivered(60, Duration::from_secs(20));
    assert_eq!(
        delivered.len(),
        60,
        "one request per record, no duplicates without a crash"
    );
    for (partition, offsets) in by_partition(&delivered) {
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, expected, "partition {partition}: in order, none skipped");
    }
    let first = &delivered[0];
    assert!(first.signed_by(secret), "signature: {:?}", first.headers);
    assert_eq!(first.header("content-type"), "application/json");
    let (p, o) = first.position();
    assert_eq!(first.header("webhook-id"), format!("payments-{p}-{o}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sent: i64 = first.header("webhook-timestamp").parse().unwrap();
    assert!(
        (now - sent).abs() < 60,
        "webhook-timestamp is the sending time in seconds: {sent}"
    );
    let body = first.json();
    assert_eq!(body["type"], "herald.record");
    assert_eq!(body["data"]["topic"], "payments");
    assert!(body["data"]["value"]["n"].is_u64(), "{body}");
    assert!(body["data"]["key"].as_str().unwrap().starts_with('k'), "{body}");

    // Progress: lag 0, counters, and the group's committed offsets.
    let view = wait_subscription(&server, "payments", "acme", "caught up and committed", |v| {
        v["lag"] == 0 && v["status"]["delivered"] == 60
    });
    assert_eq!(view["status"]["state"], "active");
    assert!(
        view.get("secret").is_none() && !view.to_string().contains(secret),
        "secrets are never shown again"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, group) = server.call("GET", "/consumer-groups/herald.webhook.payments.acme", None);
        let committed: i64 = group["offsets"]
            .as_array()
            .map(|o| o.iter().map(|p| p["committed"].as_i64().unwrap_or(0)).sum())
            .unwrap_or(0);
        if status == 200 && committed == 60 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "offsets not committed: {status} {group}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, listed) = server.call("GET", "/subscriptions", None);
    assert_eq!(listed[0]["name"], "acme");
    assert_eq!(listed[0]["description"], "ACME's ledger");

    // AsyncAPI describes what the subscribers receive, and the official parser takes it.
    let asyncapi = page(&server, "/asyncapi/payments.json");
    let text = &asyncapi[asyncapi.find("\r\n\r\n").unwrap() + 4..];
    let doc: Value = serde_json::from_str(text).unwrap();
    let channel = &doc["channels"]["payments.webhook"];
    assert_eq!(channel["address"], Value::Null, "{channel}");
    assert_eq!(channel["x-subscriptions"], json!([{"name": "acme", "format": "json"}]));
    let operation = &doc["operations"]["webhook.payments"];
    assert_eq!(operation["action"], "send");
    assert_eq!(operation["bindings"]["http"]["method"], "POST");
    let message = &doc["components"]["messages"]["payments.webhook"];
    assert_eq!(
        message["headers"]["required"],
        json!(["webhook-id", "webhook-timestamp", "webhook-signature"])
    );
    assert_eq!(
        message["payload"]["schema"]["properties"]["type"]["const"],
        "herald.record"
    );
    crate::docs_ui::check_with_asyncapi_parser(&[("payments-webhook.json", text.to_string())]);
}

#[test]
fn a_failing_endpoint_is_retried_then_the_subscription_pauses_with_the_cause_and_resumes() {
    let server = Server::start(&[]);
    let mut receiver = Receiver::start();
    create_topic(&server, "orders", 1);
    subscribe(
        &server,
        "orders",
        json!({"name": "erp", "url": receiver.url("/in"), "max_attempts": 3,
               "initial_backoff_ms": 20, "max_backoff_ms": 50, "timeout_ms": 300}),
    );
    // Two 503s, then accepted: the same record with the same id three times.
    let mut failures = 2;
    receiver.answer(move |_| {
        if failures > 0 {
            failures -= 1;
            Answer::Status(503)
        } else {
            Answer::Status(200)
        }
    });
    produce(&server, "orders", 0..1, Some(0));
    let received = receiver.wait_for(Duration::from_secs(10), "a delivery after two failures", |r| {
        r.iter().any(|r| r.answered == 200)
    });
    assert_eq!(
        received.iter().map(|r| r.answered).collect::<Vec<_>>(),
        vec![503, 503, 200]
    );
    assert!(received.iter().all(|r| r.header("webhook-id") == "orders-0-0"));
    let view = wait_subscription(&server, "orders", "erp", "delivered", |v| v["status"]["delivered"] == 1);
    assert_eq!(view["status"]["last_error"]["message"], "the endpoint answered 503");

    // A slow answer within the timeout is fine; one past it is a failure, retried.
    receiver.answer(|_| Answer::After(Duration::from_millis(100), 200));
    produce(&server, "orders", 1..2, Some(0));
    receiver.wait_delivered(2, Duration::from_secs(10));
    let mut slow = 1;
    receiver.answer(move |_| {
        if slow > 0 {
            slow -= 1;
            Answer::After(Duration::from_millis(800), 200)
        } else {
            Answer::Status(200)
        }
    });
    produce(&server, "orders", 2..3, Some(0));
    receiver.wait_delivered(3, Duration::from_secs(10));
    let view = subscription(&server, "orders", "erp");
    assert!(
        view["status"]["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("no answer within 300 ms"),
        "{view:#}"
    );

    // Down for good: three attempts, then paused with the cause; nothing further is sent.
    receiver.go_down();
    produce(&server, "orders", 3..5, Some(0));
    let view = wait_subscription(&server, "orders", "erp", "paused", |v| v["status"]["state"] == "paused");
    let cause = view["paused"]["cause"].as_str().unwrap();
    assert!(
        cause.contains("cannot connect") && cause.contains("offset 3") && cause.contains("attempt 3 of 3"),
        "{cause}"
    );
    assert_eq!(view["lag"], 2);

    // Back up and resumed: the records from the one that paused it, in order, once each.
    receiver.come_back();
    receiver.answer(|_| Answer::Status(204));
    let before = receiver.received().len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.received().len(), before, "nothing is sent while paused");
    let (status, resumed) = server.call("POST", "/topics/orders/subscriptions/erp/resume", None);
    assert_eq!(status, 200, "{resumed}");
    receiver.wait_delivered(5, Duration::from_secs(10));
    // Offset 2 shows twice: its receiver answered after the subscription's timeout.
    let mut offsets: Vec<i64> = receiver.delivered().iter().map(|r| r.position().1).collect();
    offsets.dedup();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    let view = wait_subscription(&server, "orders", "erp", "caught up", |v| v["lag"] == 0);
    assert_eq!(view["status"]["state"], "active");
    assert!(view.get("paused").is_none());

    // An operator's pause is kept across a restart.
    let (status, paused) = server.call(
        "POST",
        "/topics/orders/subscriptions/erp/pause",
        Some(&json!({"cause": "partner maintenance"})),
    );
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["paused"]["cause"], "partner maintenance");

    // The topic page shows the subscription's state, endpoint and last error.
    let html = page(&server, "/ui/topics/orders.html");
    let section = &html[html.find("id=\"webhooks\"").expect("a webhooks section")..];
    assert!(section.contains("id=\"webhook-erp\""), "{section}");
    assert!(
        section.contains(&format!(
            "<code>http:&#x2f;&#x2f;127.0.0.1:{}&#x2f;in</code>",
            receiver.port
        )),
        "{section}"
    );
    assert!(section.contains("paused: partner maintenance"), "{section}");
    assert!(section.contains("cannot connect"), "the last error is shown: {section}");
}

#[test]
fn the_dead_letter_topic_takes_poison_records_and_without_one_the_subscription_pauses() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "events", 1);
    create_topic(&server, "events.dlq", 1);
    // The receiver refuses n = 2 as unprocessable, every time.
    receiver.answer(|r| {
        if r.json()["data"]["value"]["n"] == 2 {
            Answer::Status(422)
        } else {
            Answer::Status(200)
        }
    });
    subscribe(
        &server,
        "events",
        json!({"name": "with-dlq", "url": receiver.url("/a"), "from": "earliest", "max_attempts": 2,
               "initial_backoff_ms": 10, "max_backoff_ms": 20, "dead_letter_topic": "events.dlq"}),
    );
    produce(&server, "events", 0..5, Some(0));
    receiver.wait_delivered(4, Duration::from_secs(10));
    let offsets: Vec<i64> = receiver.delivered().iter().map(|r| r.position().1).collect();
    assert_eq!(
        offsets,
        vec![0, 1, 3, 4],
        "the poison record is passed over, the rest delivered in order"
    );
    let view = wait_subscription(&server, "events", "with-dlq", "caught up", |v| v["lag"] == 0);
    assert_eq!(view["status"]["dead_lettered"], 1);
    let (status, dead) = try_http(
        &server.address,
        "GET",
        "/topics/events.dlq/partitions/0/records?offset=0",
        "application/vnd.kafka.json.v2+json",
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{dead}");
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead[0]["value"], json!({"n": 2}));
    assert_eq!(dead[0]["key"], "k2");
    // Why it is there travels in its headers, which `herald tail` shows.
    let tail = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["tail", "events.dlq", "--from", "earliest", "--max", "1"])
        .env("HERALD_SERVER", format!("http://{}", server.address))
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&tail.stdout).expect("a record from herald tail");
    let headers: BTreeMap<String, Value> = shown["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_string(), h[1].clone()))
        .collect();
    assert_eq!(headers["herald.webhook.subscription"], "with-dlq", "{shown}");
    assert_eq!(headers["herald.webhook.offset"], 2, "{shown}");
    assert_eq!(headers["herald.webhook.error"], "the endpoint answered 422", "{shown}");

    // Without a dead-letter topic the same record pauses the subscription, naming it.
    subscribe(
        &server,
        "events",
        json!({"name": "no-dlq", "url": receiver.url("/b"), "from": "earliest", "max_attempts": 2,
               "initial_backoff_ms": 10, "max_backoff_ms": 20}),
    );
    let view = wait_subscription(&server, "events", "no-dlq", "paused", |v| {
        v["status"]["state"] == "paused"
    });
    let cause = view["paused"]["cause"].as_str().unwrap();
    assert!(
        cause.contains("offset 2") && cause.contains("422") && cause.contains("no dead_letter_topic"),
        "{cause}"
    );
    assert_eq!(view["lag"], 3);
    let html = page(&server, "/ui/topics/events.html");
    assert!(html.contains("1 dead-lettered to events.dlq"), "{html}");
}

#[test]
fn rotated_secrets_sign_side_by_side_until_the_old_one_expires() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "audit", 1);
    let created = subscribe(&server, "audit", json!({"name": "siem", "url": receiver.url("/")}));
    let first = created["secret"].as_str().unwrap().to_string();
    assert!(first.starts_with("whsec_"), "{first}");
    produce(&server, "audit", 0..1, Some(0));
    let got = receiver.wait_delivered(1, Duration::from_secs(10));
    assert!(got[0].signed_by(&first));

    let (status, rotated) = server.call("POST", "/topics/audit/subscriptions/siem/secret", None);
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(rotated["signing_secrets"], 2);
    produce(&server, "audit", 1..2, Some(0));
    let got = receiver.wait_delivered(2, Duration::from_secs(10));
    assert!(
        got[1].signed_by(&first) && got[1].signed_by(&second),
        "both sign during the overlap"
    );
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 2);

    let (status, rotated) = server.call(
        "POST",
        "/topics/audit/subscriptions/siem/secret",
        Some(&json!({"previous_secret_valid_ms": 0})),
    );
    assert_eq!(status, 200, "{rotated}");
    let third = rotated["secret"].as_str().unwrap().to_string();
    produce(&server, "audit", 2..3, Some(0));
    let got = receiver.wait_delivered(3, Duration::from_secs(10));
    assert!(got[2].signed_by(&third) && !got[2].signed_by(&second) && !got[2].signed_by(&first));
}

#[test]
fn raw_deliveries_carry_the_bytes_as_produced() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "blobs", 1);
    subscribe(
        &server,
        "blobs",
        json!({"name": "raw", "url": receiver.url("/"), "format": "raw"}),
    );
    let (status, body) = try_http(
        &server.address,
        "POST",
        "/topics/blobs",
        "application/vnd.kafka.binary.v2+json",
        Some(&json!({"records": [{"key": "a2V5", "value": "AAECAw=="}]})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let got = receiver.wait_delivered(1, Duration::from_secs(10));
    assert_eq!(got[0].body, vec![0, 1, 2, 3]);
    assert_eq!(got[0].header("content-type"), "application/octet-stream");
    assert_eq!(got[0].header("herald-key"), "a2V5");
}

#[test]
fn bad_subscriptions_are_refused_with_the_setting_named() {
    let server = Server::start(&[]);
    create_topic(&server, "t", 1);
    let cases = [
        (
            json!({"name": "a", "url": "http://partner.example/in"}),
            422,
            "must use https",
        ),
        (
            json!({"name": "a", "url": "https://u:p@partner.example/"}),
            422,
            "credentials",
        ),
        (json!({"url": "https://partner.example/"}), 422, "name is required"),
        (
            json!({"name": "a/b", "url": "https://partner.example/"}),
            422,
            "may contain only",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "max_attempts": 0}),
            422,
            "max_attempts",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "rate_limit": 0}),
            422,
            "rate_limit",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "format": "xml"}),
            422,
            "format must be json or raw",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "from": -1}),
            422,
            "from must be",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "secret": "hunter2"}),
            422,
            "secret",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "dead_letter_topic": "nope"}),
            422,
            "does not exist",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "dead_letter_topic": "t"}),
            422,
            "another topic",
        ),
        (
            json!({"name": "a", "url": "https://partner.example/", "colour": "red"}),
            400,
            "unknown field",
        ),
    ];
    for (body, status, message) in cases {
        let (got, answer) = server.call("POST", "/topics/t/subscriptions", Some(&body));
        assert_eq!(got, status, "{body} → {answer}");
        assert!(
            answer["message"].as_str().unwrap_or_default().contains(message),
            "{body} → {answer}"
        );
        assert!(
            !answer.to_string().contains("hunter2"),
            "a refused secret is not echoed"
        );
    }
    let (status, answer) = server.call(
        "POST",
        "/topics/missing/subscriptions",
        Some(&json!({"name": "a", "url": "https://partner.example/"})),
    );
    assert_eq!((status, answer["error_code"].as_i64()), (404, Some(40401)), "{answer}");
    subscribe(&server, "t", json!({"name": "a", "url": "https://partner.example/"}));
    let (status, answer) = server.call(
        "POST",
        "/topics/t/subscriptions",
        Some(&json!({"name": "a", "url": "https://partner.example/"})),
    );
    assert_eq!((status, answer["error_code"].as_i64()), (409, Some(40905)), "{answer}");
    let (status, answer) = server.call("GET", "/topics/t/subscriptions/zzz", None);
    assert_eq!((status, answer["error_code"].as_i64()), (404, Some(40403)), "{answer}");
    let (status, answer) = server.call("PUT", "/topics/t/subscriptions/a", Some(&json!({"from": "earliest"})));
    assert_eq!(status, 422, "{answer}");
    let (status, changed) = server.call(
        "PUT",
        "/topics/t/subscriptions/a",
        Some(&json!({"rate_limit": 50, "timeout_ms": 2000})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["rate_limit"].as_i64(), changed["timeout_ms"].as_i64()),
        (Some(50), Some(2000))
    );
    let (status, changed) = server.call("PUT", "/topics/t/subscriptions/a", Some(&json!({"rate_limit": null})));
    assert_eq!(status, 200, "{changed}");
    assert!(changed.get("rate_limit").is_none(), "{changed}");
    let (status, _) = server.call("DELETE", "/topics/t/subscriptions/a", None);
    assert_eq!(status, 204);
    let (status, _) = server.call("GET", "/topics/t/subscriptions/a", None);
    assert_eq!(status, 404);
    let (status, group) = server.call("GET", "/consumer-groups/herald.webhook.t.a", None);
    assert_eq!(status, 404, "the subscription's group goes with it: {group}");
}

#[test]
fn a_server_killed_mid_delivery_skips_nothing_and_repeats_only_what_followed_the_last_commit() {
    let data = crate::registry_support::temp_dir("herald-webhook-crash");
    let data_dir = data.display().to_string();
    let receiver = Receiver::start();
    // A slowish receiver, so the kill lands mid-stream.
    receiver.answer(|_| Answer::After(Duration::from_millis(2), 200));
    let server = Server::start(&["--data-dir", &data_dir]);
    create_topic(&server, "ledger", 2);
    subscribe(
        &server,
        "ledger",
        json!({"name": "bank", "url": receiver.url("/"), "from": "earliest"}),
    );
    produce(&server, "ledger", 0..400, None);
    receiver.wait_for(Duration::from_secs(20), "some deliveries", |r| r.len() >= 60);
    server.kill();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < 400,
        "the kill came after every delivery ({at_kill}); the test needs it mid-stream"
    );

    let server = Server::start(&["--data-dir", &data_dir]);
    receiver.wait_delivered(400, Duration::from_secs(30));
    let view = wait_subscription(&server, "ledger", "bank", "caught up", |v| v["lag"] == 0);
    assert_eq!(view["status"]["state"], "active");
    for (partition, offsets) in by_partition(&receiver.delivered()) {
        // Every offset delivered; where the restart repeated some, it went back at most to
        // the last commit and went on in order from there.
        let mut seen: Vec<i64> = offsets.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen,
            (0..seen.len() as i64).collect::<Vec<_>>(),
            "partition {partition}: none skipped"
        );
        let restarts = offsets.windows(2).filter(|w| w[1] <= w[0]).count();
        assert!(
            restarts <= 1,
            "partition {partition}: went back {restarts} times: {offsets:?}"
        );
        for w in offsets.windows(2) {
            assert!(
                w[1] == w[0] + 1 || w[1] <= w[0],
                "partition {partition}: jumped from {} to {}",
                w[0],
                w[1]
            );
        }
    }
    let duplicates = receiver.delivered().len() - 400;
    eprintln!("{duplicates} records delivered twice after the kill");
}

#[test]
fn subscriptions_survive_a_restart_and_many_share_the_server_without_threads() {
    let data = crate::registry_support::temp_dir("herald-webhook-many");
    let data_dir = data.display().to_string();
    let receiver = Receiver::start();
    let server = Server::start(&["--data-dir", &data_dir]);
    create_topic(&server, "fanout", 1);
    for i in 0..200 {
        subscribe(
            &server,
            "fanout",
            json!({"name": format!("s{i}"), "url": receiver.url(&format!("/{i}"))}),
        );
    }
    let threads = |server: &Server| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(threads(&server) < 64, "threads: {}", threads(&server));
    produce(&server, "fanout", 0..1, Some(0));
    receiver.wait_delivered(1, Duration::from_secs(20));
    receiver.wait_for(
        Duration::from_secs(30),
        "one record to each of 200 subscriptions",
        |r| r.len() >= 200,
    );
    server.terminate();
    let server = Server::start(&["--data-dir", &data_dir]);
    let (status, listed) = server.call("GET", "/topics/fanout/subscriptions", None);
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 200);
    produce(&server, "fanout", 1..2, Some(0));
    receiver.wait_for(Duration::from_secs(30), "the next record to each", |r| r.len() >= 400);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.received().len(),
        400,
        "no record was sent again after a clean stop"
    );
    let _ = http(&server.address, "GET", "/health", None);
}

/// `herald subscriptions …` against a server, as an operator runs it.
#[test]
fn the_subscriptions_command_manages_a_subscription_end_to_end() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "shipments", 2);
    let herald = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("subscriptions")
            .args(args)
            .env("HERALD_SERVER", format!("http://{}", server.address))
            .env_remove("HERALD_WEBHOOK_SECRET")
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let url = receiver.url("/ship");
    let (code, out, err) = herald(&[
        "create",
        "shipments",
        "carrier",
        "--url",
        &url,
        "--from",
        "earliest",
        "--rate-limit",
        "100",
        "--max-attempts",
        "4",
        "--initial-backoff",
        "50ms",
        "--max-backoff",
        "2s",
        "--timeout",
        "3s",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("signing secret (shown once): "))
        .expect("the secret is printed")
        .to_string();
    produce(&server, "shipments", 0..3, None);
    let got = receiver.wait_delivered(3, Duration::from_secs(10));
    assert!(got.iter().all(|r| r.signed_by(&secret)));

    let (code, out, _) = herald(&["list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("shipments") && out.contains("carrier") && out.contains("active"),
        "{out}"
    );
    let (code, out, _) = herald(&["show", "shipments", "carrier"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (shown["rate_limit"].as_i64(), shown["max_attempts"].as_i64()),
        (Some(100), Some(4))
    );
    assert_eq!(
        (shown["initial_backoff_ms"].as_i64(), shown["timeout_ms"].as_i64()),
        (Some(50), Some(3000))
    );

    let (code, _, err) = herald(&["pause", "shipments", "carrier", "--cause", "carrier migration"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = herald(&["list", "shipments"]);
    assert!(out.contains("paused"), "{out}");
    assert_eq!(
        subscription(&server, "shipments", "carrier")["paused"]["cause"],
        "carrier migration"
    );
    let (code, _, err) = herald(&["resume", "shipments", "carrier"]);
    assert_eq!(code, 0, "{err}");

    let (code, out, _) = herald(&["rotate-secret", "shipments", "carrier", "--previous-valid-for", "0s"]);
    assert_eq!(code, 0);
    let rotated = out
        .trim()
        .strip_prefix("new signing secret (shown once): ")
        .unwrap()
        .to_string();
    produce(&server, "shipments", 3..4, None);
    let got = receiver.wait_delivered(4, Duration::from_secs(10));
    assert!(got[3].signed_by(&rotated) && !got[3].signed_by(&secret));

    let (code, out, _) = herald(&["update", "shipments", "carrier", "--format", "raw"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"raw\""), "{out}");
    let (code, _, err) = herald(&["update", "shipments", "carrier", "--url", "http://partner.example/"]);
    assert_eq!(code, 2);
    assert!(err.contains("422") && err.contains("must use https"), "{err}");
    let (code, _, err) = herald(&["show", "shipments", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("404"), "{err}");
    let (code, _, _) = herald(&["delete", "shipments", "carrier"]);
    assert_eq!(code, 0);
    let (_, out, _) = herald(&["list"]);
    assert!(!out.contains("carrier"), "{out}");
}

#[test]
fn a_filter_sends_only_the_records_it_is_true_for_and_a_bad_one_is_refused_where_it_fails() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    create_topic(&server, "metrics", 1);
    let (status, refused) = server.call(
        "POST",
        "/topics/metrics/subscriptions",
        Some(&json!({"name": "even", "url": receiver.url("/"), "filter": "value.n %"})),
    );
    assert_eq!(status, 422, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.starts_with("filter: ") && message.contains("line 1, column"),
        "{message}"
    );
    subscribe(
        &server,
        "metrics",
        json!({"name": "even", "url": receiver.url("/"), "from": "earliest", "filter": "value.n % 2 == 0 && has(value.n)"}),
    );
    produce(&server, "metrics", 0..10, Some(0));
    receiver.wait_delivered(5, Duration::from_secs(10));
    let view = wait_subscription(&server, "metrics", "even", "caught up", |v| v["lag"] == 0);
    let offsets: Vec<i64> = receiver.delivered().iter().map(|r| r.position().1).collect();
    assert_eq!(offsets, vec![0, 2, 4, 6, 8]);
    assert_eq!(
        (
            view["status"]["delivered"].as_i64(),
            view["status"]["filtered"].as_i64()
        ),
        (Some(5), Some(5))
    );
    assert_eq!(view["filter"], "value.n % 2 == 0 && has(value.n)");
    // Removed: every record from then on.
    let (status, changed) = server.call(
        "PUT",
        "/topics/metrics/subscriptions/even",
        Some(&json!({"filter": null})),
    );
    assert_eq!(status, 200, "{changed}");
    produce(&server, "metrics", 10..12, Some(0));
    receiver.wait_delivered(7, Duration::from_secs(10));
}

/// The Standard Webhooks reference library (Python's `standardwebhooks`) verifies what Herald
/// sends, through a rotation: the partner that knows only the new secret verifies every
/// request from the rotation on; the one that knows only the old verifies them until the
/// overlap ends.
#[test]
fn the_standard_webhooks_library_verifies_deliveries_across_a_rotation() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        crate::support::skip("the Standard Webhooks check needs HERALD_TEST_PYTHON, a Python with tests/python/requirements.txt (CI sets it)");
        return;
    };
    let server = Server::start(&[]);
    create_topic(&server, "invoices", 2);
    let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let new = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=";
    let mut receiver = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/webhook_receiver.py"))
        .args([old, new])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python receiver");
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port = first.strip_prefix("listening ").expect("the receiver's port");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&line).unwrap());
        }
    });
    let take = |count: usize| -> Vec<Value> {
        (0..count)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("a request at the Python receiver")
            })
            .collect()
    };
    subscribe(
        &server,
        "invoices",
        json!({"name": "accounting", "url": format!("http://127.0.0.1:{port}/webhooks"), "secret": old}),
    );
    produce(&server, "invoices", 0..4, None);
    let before = take(4);
    assert!(before.iter().all(|r| r["verified_by"] == json!([0])), "{before:?}");
    let mut values: Vec<i64> = before.iter().map(|r| r["value"]["n"].as_i64().unwrap()).collect();
    values.sort();
    assert_eq!(values, vec![0, 1, 2, 3]);

    let (status, rotated) = server.call(
        "POST",
        "/topics/invoices/subscriptions/accounting/secret",
        Some(&json!({"secret": new, "previous_secret_valid_ms": 600000})),
    );
    assert_eq!(status, 200, "{rotated}");
    produce(&server, "invoices", 4..6, None);
    let during = take(2);
    assert!(during.iter().all(|r| r["verified_by"] == json!([0, 1])), "{during:?}");

    server.call(
        "POST",
        "/topics/invoices/subscriptions/accounting/secret",
        Some(&json!({"secret": new, "previous_secret_valid_ms": 0})),
    );
    produce(&server, "invoices", 6..8, None);
    let after = take(2);
    assert!(after.iter().all(|r| r["verified_by"] == json!([1])), "{after:?}");
    drop(receiver.stdin.take());
    let _ = receiver.wait();
}

/// A rate limit spaces deliveries out after a second's burst: 40 records at 20 per second
/// take about a second past the first twenty, while an unlimited subscription on the same
/// topic is done long before.
#[test]
fn a_rate_limit_spaces_deliveries() {
    let server = Server::start(&[]);
    let limited = Receiver::start();
    let free = Receiver::start();
    create_topic(&server, "clicks", 1);
    produce(&server, "clicks", 0..40, Some(0));
    subscribe(
        &server,
        "clicks",
        json!({"name": "limited", "url": limited.url("/"), "from": "earliest", "rate_limit": 20}),
    );
    subscribe(
        &server,
        "clicks",
        json!({"name": "free", "url": free.url("/"), "from": "earliest"}),
    );
    let got = limited.wait_delivered(40, Duration::from_secs(20));
    let all = free.wait_delivered(40, Duration::from_secs(20));
    let spread = got[39].at.duration_since(got[0].at);
    assert!(
        spread >= Duration::from_millis(900),
        "40 records at 20/s after a burst of 20 took {spread:?}"
    );
    let burst = got[19].at.duration_since(got[0].at);
    assert!(
        burst < Duration::from_millis(500),
        "the first second's worth goes at once: {burst:?}"
    );
    let unlimited = all[39].at.duration_since(all[0].at);
    assert!(
        unlimited < spread,
        "the unlimited subscription took {unlimited:?}, the limited {spread:?}"
    );
}

/// HTTPS endpoints: a receiver behind a private CA is reached when `webhook_ca_file` names
/// that CA, and refused (the subscription pauses, saying why) when it does not.
#[test]
fn https_endpoints_behind_a_private_ca_need_webhook_ca_file() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        crate::support::skip("the HTTPS webhook check needs HERALD_TEST_PYTHON, a Python with tests/python/requirements.txt (CI sets it)");
        return;
    };
    let dir = crate::registry_support::temp_dir("herald-webhook-tls");
    let Some(ca) = crate::certs::Ca::new(&dir, "partners-ca") else {
        return;
    };
    let receiver_cert = ca.server("receiver");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut receiver = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/webhook_receiver.py"))
        .arg("--tls")
        .args([&receiver_cert.cert, &receiver_cert.key])
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python receiver");
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let port = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("listening ")
        .unwrap()
        .to_string();
    let url = format!("https://localhost:{port}/hooks");

    let trusting = Server::start(&["--webhook-ca-file", ca.pair.cert.to_str().unwrap()]);
    create_topic(&trusting, "contracts", 1);
    subscribe(
        &trusting,
        "contracts",
        json!({"name": "legal", "url": url, "secret": secret}),
    );
    produce(&trusting, "contracts", 0..2, Some(0));
    for _ in 0..2 {
        let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(line["verified_by"], json!([0]), "{line}");
    }
    wait_subscription(&trusting, "contracts", "legal", "caught up", |v| {
        v["lag"] == 0 && v["status"]["delivered"] == 2
    });

    let doubting = Server::start(&[]);
    create_topic(&doubting, "contracts", 1);
    subscribe(
        &doubting,
        "contracts",
        json!({"name": "legal", "url": url, "secret": secret, "max_attempts": 1}),
    );
    produce(&doubting, "contracts", 0..1, Some(0));
    let view = wait_subscription(&doubting, "contracts", "legal", "paused", |v| {
        v["status"]["state"] == "paused"
    });
    let cause = view["paused"]["cause"].as_str().unwrap();
    assert!(cause.contains("TLS") && cause.contains("certificate"), "{cause}");
    drop(receiver.stdin.take());
    let _ = receiver.wait();
}

#[test]
fn fields_tagged_with_a_redacted_tag_never_leave_and_the_body_says_which() {
    let server = Server::start(&[]);
    let receiver = Receiver::start();
    let archive = Receiver::start();
    create_topic(&server, "customers", 1);
    let schema = json!({"type": "object", "properties": {
        "name": {"type": "string"},
        "ssn": {"type": "string", "confluent:tags": ["PII"]}}});
    let (status, body) = server.call(
        "POST",
        "/subjects/customers-value/versions",
        Some(&json!({"schemaType": "JSON", "schema": schema.to_string()})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = try_http(
        &server.address,
        "POST",
        "/topics/customers",
        JSON_V2,
        Some(&json!({"records": [{"value": {"name": "Ada", "ssn": "123-45-6789"}}]})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let created = subscribe(
        &server,
        "customers",
        json!({"name": "crm", "url": receiver.url("/hooks"), "from": "earliest", "redact": ["PII", "PII", " "]}),
    );
    assert_eq!(created["redact"], json!(["PII"]), "{created}");
    let raw = subscribe(
        &server,
        "customers",
        json!({"name": "archive", "url": archive.url("/raw"), "from": "earliest", "format": "raw", "redact": ["PII"]}),
    );
    assert_eq!(raw["redact"], json!(["PII"]), "{raw}");

    let json_body = receiver.wait_delivered(1, Duration::from_secs(20))[0].json();
    assert_eq!(
        json_body["data"]["value"],
        json!({"name": "Ada", "ssn": "<REDACTED>"}),
        "{json_body}"
    );
    assert_eq!(json_body["data"]["redacted"], json!(["value.ssn"]), "{json_body}");
    let raw = &archive.wait_delivered(1, Duration::from_secs(20))[0];
    assert_eq!(raw.header("content-type"), "application/octet-stream");
    let raw_value: Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(raw_value["ssn"], "<REDACTED>");

    // Clearing the list (by a caller who may read everything) sends the field again.
    let (status, body) = server.call(
        "PUT",
        "/topics/customers/subscriptions/crm",
        Some(&json!({"redact": []})),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.get("redact").is_none(), "{body}");
}

#[test]
fn endpoints_on_private_networks_need_the_operators_word() {
    let server = Server::start(&[]);
    create_topic(&server, "payments", 1);
    for url in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/hooks",
        "https://[fd00::1]/hooks",
    ] {
        let (status, body) = server.call(
            "POST",
            "/topics/payments/subscriptions",
            Some(&json!({"name": "inside", "url": url})),
        );
        assert_eq!(status, 422, "{url}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("webhook_private_endpoints = true"),
            "{body}"
        );
    }
    subscribe(
        &server,
        "payments",
        json!({"name": "outside", "url": "https://hooks.partner.example/in"}),
    );
    let (status, body) = server.call(
        "PUT",
        "/topics/payments/subscriptions/outside",
        Some(&json!({"url": "https://192.168.1.10/in"})),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        subscription(&server, "payments", "outside")["url"],
        "https://hooks.partner.example/in"
    );

    let inside = Server::start(&["--webhook-private-endpoints"]);
    create_topic(&inside, "payments", 1);
    subscribe(
        &inside,
        "payments",
        json!({"name": "inside", "url": "https://10.1.2.3/hooks"}),
    );
}
