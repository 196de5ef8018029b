//! The real `herald serve` process: port 0 and the logged address, graceful shutdown on
//! SIGTERM, state kept across restarts, one process per data directory, and two processes
//! on one PostgreSQL database behaving as one registry.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::registry_support::{fresh_postgres_url_blocking, temp_dir};

/// A running `herald serve`.
pub struct Server {
    child: Child,
    pub address: String,
    /// The Kafka listener's address as logged (`kafka listening on HOST:PORT`); `None` only
    /// while this build of herald has no Kafka listener.
    pub kafka: Option<String>,
    log: mpsc::Receiver<String>,
}

/// Whether this build of `herald serve` has the Kafka listener (`--kafka-listen`), asked of
/// `herald serve --help` once per test binary. Where it does, every test server gets a
/// free port of its own (or `off`) so parallel tests never collide on the default 9092.
pub fn has_kafka_listener() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let help = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["serve", "--help"])
            .output()
            .expect("run herald serve --help");
        String::from_utf8_lossy(&help.stdout).contains("--kafka-listen")
    })
}

/// `--kafka-listen VALUE` where the listener exists, nothing otherwise: for tests that
/// spawn `herald serve` themselves. `value` is `127.0.0.1:0` or `off`.
pub fn kafka_listen_args(value: &str) -> Vec<String> {
    if has_kafka_listener() {
        vec!["--kafka-listen".to_string(), value.to_string()]
    } else {
        Vec::new()
    }
}

/// The address in a log line such as `... kafka listening on 127.0.0.1:40123`.
fn logged_kafka_address(line: &str) -> Option<String> {
    let at = line.find("kafka listening on ")?;
    let rest = &line[at + "kafka listening on ".len()..];
    // The address ends at a space or at the escape that starts the log's colouring.
    let address: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '\u{1b}')
        .collect();
    (!address.is_empty()).then_some(address)
}

impl Server {
    /// Starts `herald serve` with `args` on a free port and waits for its address.
    pub fn start(args: &[&str]) -> Server {
        Server::start_under(&[], args)
    }

    /// The same, run through `wrapper` (`prlimit --nofile=1024:1024 --`), which must exec it.
    pub fn start_under(wrapper: &[&str], args: &[&str]) -> Server {
        // Every server gets a data directory of its own unless the test names one.
        let own_dir = temp_dir("herald-serve-data").display().to_string();
        let named = args.iter().any(|a| *a == "--data-dir" || *a == "--config");
        // A free Kafka port unless the test chooses its own listener (or `off`).
        let kafka_named = args.contains(&"--kafka-listen");
        let kafka_args = if kafka_named {
            Vec::new()
        } else {
            kafka_listen_args("127.0.0.1:0")
        };
        let kafka_expected = has_kafka_listener() && !kafka_listening_off(args);
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(env!("CARGO_BIN_EXE_herald"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_herald")),
        };
        let mut child = command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(if named {
                vec![]
            } else {
                vec!["--data-dir", own_dir.as_str()]
            })
            .args(&kafka_args)
            .args(args)
            .env_remove("HERALD_DATABASE_URL")
            .env_remove("HERALD_KAFKA_LISTEN")
            .env_remove("HERALD_API_PROFILE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start herald serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        // Both addresses are logged once bound, in either order; the Kafka one only where
        // the listener exists and is on.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut address: Option<String> = None;
        let mut kafka = None;
        let mut seen = Vec::new();
        loop {
            if let Some(http) = &address {
                if kafka.is_some() || !kafka_expected {
                    return Server {
                        child,
                        address: http.clone(),
                        kafka,
                        log,
                    };
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(remaining) {
                Ok(line) => {
                    if let Some(at) = line.find("listening on http") {
                        let url = &line[at + "listening on ".len()..];
                        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
                        address = Some(rest.trim().to_string());
                    } else if let Some(logged) = logged_kafka_address(&line) {
                        kafka = Some(logged);
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "herald serve did not report its addresses (kafka expected: {kafka_expected}); its log:\n{}",
                        seen.join("\n")
                    );
                }
            }
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.address, method, path, body)
    }

    /// The whole answer (status line, headers, body) to one plain GET, for pages and
    /// metrics, which are not JSON.
    pub fn get_text(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).expect("connect to herald");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: herald\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("read the answer");
        text
    }

    /// The process id, for `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush; what was not on disk is gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit status and the log lines after it.
    pub fn terminate(mut self) -> (i32, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for herald") {
                let lines: Vec<String> = self.log.try_iter().collect();
                return (status.code().unwrap_or(-1), lines);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("herald serve did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether `args` turn the Kafka listener off (`--kafka-listen off`).
fn kafka_listening_off(args: &[&str]) -> bool {
    args.windows(2).any(|w| w[0] == "--kafka-listen" && w[1] == "off")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange: one request per connection, JSON in and out.
pub fn http(address: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    try_http(address, method, path, "application/vnd.schemaregistry.v1+json", body).expect("an HTTP exchange")
}

/// The same, with a content type, answering an error instead of panicking when the server
/// is gone (the crash test kills it mid-request).
pub fn try_http(
    address: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    try_http_as(address, None, method, path, content_type, body)
}

/// An exchange with an `Authorization` header (`Basic ...`, `Bearer ...`).
pub fn http_as(address: &str, authorization: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    try_http_as(
        address,
        Some(authorization),
        method,
        path,
        "application/vnd.schemaregistry.v1+json",
        body,
    )
    .expect("an HTTP exchange")
}

fn try_http_as(
    address: &str,
    authorization: Option<&str>,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{authorization}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if response.is_empty() {
        return Err(std::io::Error::other("connection closed without a response"));
    }
    let status: u16 = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let (_, payload) = response.split_once("\r\n\r\n").unwrap_or(("", ""));
    let payload = dechunk(payload);
    Ok((status, serde_json::from_str(&payload).unwrap_or(Value::Null)))
}

/// Bodies without a length come chunked; joins the chunks.
fn dechunk(payload: &str) -> String {
    if payload.trim_start().starts_with(['{', '[', '"']) || payload.is_empty() {
        return payload.to_string();
    }
    let mut out = String::new();
    let mut rest = payload;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

fn schema(fields: &[&str]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|f| json!({"name": f, "type": "string", "default": ""}))
        .collect();
    json!({"schema": json!({"type": "record", "name": "E", "fields": fields}).to_string()})
}

fn data_dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

#[test]
fn serves_on_sqlite_shuts_down_gracefully_and_keeps_its_state() {
    let dir = temp_dir("herald-serve");
    let dir_arg = data_dir_arg(&dir);
    let server = Server::start(&["--data-dir", &dir_arg]);
    assert!(
        !server.address.ends_with(":0"),
        "the chosen port is logged: {}",
        server.address
    );
    assert_eq!(server.call("GET", "/health", None), (200, json!({"status": "UP"})));
    assert_eq!(
        server.call("POST", "/subjects/e-value/versions", Some(&schema(&["a"]))),
        (200, json!({"id": 1}))
    );
    assert!(dir.join("registry.db").exists());

    // A second process on the same data directory is refused, clearly.
    let second = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &dir_arg])
        .args(kafka_listen_args("127.0.0.1:0"))
        .env_remove("HERALD_DATABASE_URL")
        .output()
        .expect("run a second herald");
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another herald process"), "{stderr}");

    // A topic with records, to see the broker close its logs cleanly.
    let (status, _) = server.call("POST", "/topics", Some(&json!({"name": "events", "partitions": 1})));
    assert_eq!(status, 201);
    let (status, body) = try_http(
        &server.address,
        "POST",
        "/topics/events",
        "application/vnd.kafka.json.v2+json",
        Some(&json!({"records": [{"value": {"n": 1}}, {"value": {"n": 2}}]})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");

    let (code, log) = server.terminate();
    assert_eq!(code, 0, "{log:?}");
    assert!(log.iter().any(|l| l.contains("herald stopped")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("broker logs closed cleanly")), "{log:?}");
    let marker = dir.join("topics").join("events").join("0").join("clean-shutdown");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "2");

    let server = Server::start(&["--data-dir", &dir_arg]);
    assert_eq!(
        server.call("GET", "/subjects/e-value/versions", None),
        (200, json!([1]))
    );
    let (_, records) = server.call("GET", "/topics/events/partitions/0/records?offset=0", None);
    assert_eq!(records.as_array().map(Vec::len), Some(2), "{records}");
    assert!(!marker.exists(), "the marker goes as soon as the log is in use again");
    assert_eq!(
        server.call("POST", "/subjects/e-value/versions", Some(&schema(&["a", "b"]))),
        (200, json!({"id": 2}))
    );
}

#[test]
fn settings_come_from_herald_toml_and_environment() {
    let dir = temp_dir("herald-toml");
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\nmax_schema_bytes = 300\ndefault_compatibility = \"NONE\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let server = Server::start(&["--config", &config_arg]);
    assert_eq!(
        server.call("GET", "/config", None),
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    let (status, body) = server.call("POST", "/subjects/e/versions", Some(&schema(&["a"])));
    assert_eq!(status, 200, "{body}");
    let long: Vec<String> = (0..20).map(|i| format!("field_{i}")).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let (status, body) = server.call("POST", "/subjects/e/versions", Some(&schema(&long)));
    assert_eq!((status, &body["error_code"]), (422, &json!(42209)), "{body}");
    assert!(dir.join("data").join("registry.db").exists());

    let bad = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--config", &config_arg])
        .args(kafka_listen_args("off"))
        .env("HERALD_DEFAULT_COMPATIBILITY", "sideways")
        .output()
        .expect("run herald");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sideways"));
}

/// `api_profile` reaches the API from `herald.toml` (and the Python client's tests start
/// servers with `--api-profile`); a value other than 7 or 8 stops the start, naming the key
/// and the values allowed.
#[test]
fn the_api_profile_is_a_serve_setting() {
    let body = json!({"schema": "\"string\""});
    let dir = temp_dir("herald-serve-profile");
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\napi_profile = \"8\"\n",
            dir.join("data").display().to_string()
        ),
    )
    .unwrap();
    let config_arg = config.display().to_string();
    let v8 = Server::start(&["--config", &config_arg]);
    let (status, reply) = v8.call("POST", "/subjects/s/versions", Some(&body));
    assert_eq!(
        (status, reply),
        (
            200,
            json!({"id": 1, "version": 1, "schemaType": "AVRO", "schema": "\"string\""})
        )
    );
    let v7 = Server::start(&[]);
    let (status, reply) = v7.call("POST", "/subjects/s/versions", Some(&body));
    assert_eq!((status, reply), (200, json!({"id": 1})));

    let bad = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--data-dir", &dir.join("bad").display().to_string()])
        .args(kafka_listen_args("off"))
        .env("HERALD_API_PROFILE", "9")
        .output()
        .expect("run herald");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("api_profile") && stderr.contains("\"9\"") && stderr.contains("\"7\" or \"8\""),
        "{stderr}"
    );
}

#[test]
fn two_processes_on_one_postgres_database_are_one_registry() {
    let Some(url) = fresh_postgres_url_blocking() else {
        return;
    };
    let a = Server::start(&["--database-url", &url]);
    let b = Server::start(&["--database-url", &url]);
    let addresses = [a.address.clone(), b.address.clone()];

    // 40 clients, alternating between the two processes, race to register the same
    // schemas under the same subject, and each its own under a subject of its own.
    let threads: Vec<_> = (0..40)
        .map(|client| {
            let address = addresses[client % 2].clone();
            std::thread::spawn(move || {
                let shared = http(&address, "POST", "/subjects/race-value/versions", Some(&schema(&["a"])));
                let own_field = format!("c{client}");
                let own = http(
                    &address,
                    "POST",
                    &format!("/subjects/own-{client}/versions"),
                    Some(&schema(&["a", &own_field])),
                );
                let again = http(
                    &address,
                    "POST",
                    "/subjects/race-value/versions",
                    Some(&schema(&["a", "z"])),
                );
                (shared, own, again)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("client thread")).collect();
    for (shared, own, again) in &results {
        assert_eq!(shared.0, 200, "{shared:?}");
        assert_eq!(own.0, 200, "{own:?}");
        assert_eq!(again.0, 200, "{again:?}");
    }
    let shared: std::collections::BTreeSet<i64> = results.iter().map(|r| r.0 .1["id"].as_i64().unwrap()).collect();
    let again: std::collections::BTreeSet<i64> = results.iter().map(|r| r.2 .1["id"].as_i64().unwrap()).collect();
    assert_eq!(
        (shared.len(), again.len()),
        (1, 1),
        "one id per schema: {shared:?} {again:?}"
    );
    let own: std::collections::BTreeSet<i64> = results.iter().map(|r| r.1 .1["id"].as_i64().unwrap()).collect();
    assert_eq!(own.len(), 40);
    let mut all: Vec<i64> = shared.iter().chain(&again).chain(&own).copied().collect();
    all.sort();
    assert_eq!(all, (1..=42).collect::<Vec<_>>(), "ids unique and without gaps");
    // Both processes see the same subject with two versions.
    for server in [&a, &b] {
        assert_eq!(
            server.call("GET", "/subjects/race-value/versions", None),
            (200, json!([1, 2]))
        );
        let (_, subjects) = server.call("GET", "/subjects", None);
        assert_eq!(subjects.as_array().unwrap().len(), 41);
    }
    // A write through one is read through the other at once.
    assert_eq!(
        a.call("PUT", "/config/race-value", Some(&json!({"compatibility": "FULL"})))
            .0,
        200
    );
    assert_eq!(
        b.call("GET", "/config/race-value", None),
        (200, json!({"compatibilityLevel": "FULL"}))
    );
    let _ = (a.terminate(), b.terminate());
}

/// `--validate-avro-defaults` reaches the registry: off by default (a mismatched default
/// registers, as in Confluent 7.x), on from the flag (42201).
#[test]
fn avro_default_validation_is_a_serve_setting() {
    let body = json!({"schema": json!({"type": "record", "name": "R",
        "fields": [{"name": "a", "type": "string", "default": null}]}).to_string()});
    let lenient = Server::start(&[]);
    let (status, reply) = lenient.call("POST", "/subjects/s/versions", Some(&body));
    assert_eq!((status, reply), (200, json!({"id": 1})));
    let strict = Server::start(&["--validate-avro-defaults"]);
    let (status, reply) = strict.call("POST", "/subjects/s/versions", Some(&body));
    assert_eq!((status, &reply["error_code"]), (422, &json!(42201)), "{reply}");
    assert!(
        reply["message"].as_str().unwrap().starts_with("Invalid schema"),
        "{reply}"
    );
}
