//! The HTTP edge under hostile clients (issue 13): panics answered 500, bounded metrics
//! labels, JSON-only mutations (no CSRF through simple requests), security headers, URLs
//! from the configured public URL rather than `Host`, body limits on every door, and the
//! connection layer's timeouts and cap, the latter through the real binary.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::registry_support::{temp_dir, TestRegistry};
use crate::serve::Server;

// ---------------------------------------------------------------------------------------
// Helpers

/// One raw HTTP/1.1 exchange on a fresh connection: the status, the header block and the
/// body, read until the server closes.
fn exchange(address: &str, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_string(), body.to_string())
}

/// A request with a JSON body and an explicit (or no) content type.
fn request_text(method: &str, path: &str, content_type: Option<&str>, body: &str) -> String {
    let content_type = content_type.map_or(String::new(), |t| format!("Content-Type: {t}\r\n"));
    format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `/health` on a fresh connection: its status and how long the whole exchange took.
fn health(address: &str) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _, _) = exchange(address, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    (status, started.elapsed())
}

/// Waits until the server closes `stream` (EOF or reset); false if it is still open at the
/// deadline. Anything the server says first (an error response) is read and ignored.
fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// Raises this process's soft descriptor limit to its hard limit (the attack tests hold a
/// few thousand sockets).
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write only the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// A kilobyte figure from `/proc/<pid>/status` (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn send(r: &TestRegistry, method: Method, path: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = content_type {
        builder = builder.header(header::CONTENT_TYPE, t);
    }
    let reply = r.send(builder.body(Body::from(body.to_string())).unwrap()).await;
    let json = serde_json::from_str(&reply.text).unwrap_or(Value::Null);
    (reply.status.as_u16(), json)
}

/// A tiny deterministic generator for random methods and paths.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self, len: usize) -> String {
        (0..len).map(|_| (b'A' + (self.next() % 26) as u8) as char).collect()
    }
}

// ---------------------------------------------------------------------------------------
// A. Panics

#[tokio::test]
async fn a_panicking_handler_is_answered_500_and_later_requests_are_served() {
    // No route of the real service is known to panic, so the guard `edge` wraps every
    // handler in is exercised on a router whose handlers do: one panics outright, one
    // while holding a lock the next request needs.
    let shared = Arc::new(Mutex::new(0u64));
    let poisoner = shared.clone();
    let reader = shared.clone();
    let router = Router::new()
        .route("/boom", get(boom))
        .route("/poison", get(move || poison(poisoner.clone())))
        .route(
            "/count",
            get(move || async move {
                let mut n = reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *n += 1;
                n.to_string()
            }),
        )
        .layer(axum::middleware::from_fn(
            |request: Request<Body>, next: axum::middleware::Next| async move {
                herald::http::catch_panic(next.run(request)).await
            },
        ));
    let call = |path: &'static str| {
        let router = router.clone();
        async move {
            let response: Response = router
                .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    for path in ["/boom", "/poison"] {
        let (status, body) = call(path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error_code"], 500, "{body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("Internal Server Error"),
            "{body}"
        );
    }
    assert!(shared.is_poisoned());
    assert_eq!(call("/count").await, (StatusCode::OK, "1".to_string()));
}

async fn boom() -> &'static str {
    panic!("deliberate")
}

async fn poison(lock: Arc<Mutex<u64>>) -> &'static str {
    let _held = lock.lock().unwrap();
    panic!("while holding the lock")
}

#[test]
fn release_builds_unwind_on_panic() {
    // A panic=abort profile would turn any handler panic into the end of the process.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(
        !manifest.replace(' ', "").contains("panic=\"abort\""),
        "Cargo.toml sets panic = \"abort\""
    );
}

// ---------------------------------------------------------------------------------------
// B. Metrics

#[tokio::test]
async fn metrics_label_sets_stay_bounded_under_random_methods_and_paths() {
    let r = TestRegistry::with_broker(&temp_dir("herald-edge")).await;
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let burst = |r: &TestRegistry, random: &mut XorShift| {
        let requests: Vec<Request<Body>> = (0..1000)
            .map(|i| {
                let method = match i % 3 {
                    0 => {
                        let len = 3 + (random.next() % 10) as usize;
                        Method::from_bytes(random.word(len).as_bytes()).unwrap()
                    }
                    1 => Method::GET,
                    _ => Method::DELETE,
                };
                let path = match i % 4 {
                    0 => format!("/{}/{}", random.word(6), random.word(4)),
                    1 => format!("/subjects/{}/versions", random.word(8)),
                    2 => format!("/ui/{}", random.word(5)),
                    _ => format!("/topics/{}/partitions/{}", random.word(5), random.next() % 9),
                };
                Request::builder().method(method).uri(path).body(Body::empty()).unwrap()
            })
            .collect();
        let app = r.app.clone();
        async move {
            for request in requests {
                app.clone().oneshot(request).await.unwrap();
            }
        }
    };
    let series = |text: &str| -> Vec<String> {
        let mut names: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name).to_string())
            .collect();
        names.sort();
        names
    };
    r.get("/metrics").await;
    burst(&r, &mut random).await;
    let before = r.get("/metrics").await.text;
    burst(&r, &mut random).await;
    let after = r.get("/metrics").await.text;
    assert_eq!(series(&before), series(&after), "new series appeared:\n{after}");
    assert!(
        after.len() <= before.len() + before.len() / 20,
        "{} → {} bytes",
        before.len(),
        after.len()
    );
    assert!(after.contains("method=\"other\""), "{after}");
    assert!(after.contains("route=\"unmatched\""), "{after}");
    let routes: usize = after
        .lines()
        .filter(|l| l.starts_with("herald_http_requests_total"))
        .count();
    assert!(routes < 60, "{routes} request series:\n{after}");
}

// ---------------------------------------------------------------------------------------
// D. Mutations only in JSON-family types

#[tokio::test]
async fn mutations_without_a_json_type_are_refused_on_every_door_and_change_nothing() {
    let r = TestRegistry::with_broker(&temp_dir("herald-edge")).await;
    let schema = json!({"schema": "\"string\""}).to_string();
    let doors = [
        (Method::POST, "/subjects/csrf-value/versions", schema.clone()),
        (Method::POST, "/subjects/csrf-value", schema.clone()),
        (
            Method::POST,
            "/compatibility/subjects/csrf-value/versions",
            schema.clone(),
        ),
        (Method::PUT, "/config", json!({"compatibility": "NONE"}).to_string()),
        (
            Method::PUT,
            "/config/csrf-value",
            json!({"compatibility": "NONE"}).to_string(),
        ),
        (Method::PUT, "/mode", json!({"mode": "READONLY"}).to_string()),
        (Method::POST, "/topics", json!({"name": "csrf"}).to_string()),
        (
            Method::POST,
            "/topics/orders",
            json!({"records": [{"value": 1}]}).to_string(),
        ),
        (Method::PATCH, "/topics/orders", json!({"owner": "mallory"}).to_string()),
        (Method::POST, "/consumers/g", json!({"name": "c"}).to_string()),
    ];
    r.post_as("/topics", "application/json", &json!({"name": "orders"}))
        .await;
    for (method, path, body) in &doors {
        for content_type in [
            None,
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=----x"),
        ] {
            let (status, reply) = send(&r, method.clone(), path, content_type, body).await;
            assert_eq!(
                (status, &reply),
                (
                    415,
                    &json!({"error_code": 415, "message": "HTTP 415 Unsupported Media Type"})
                ),
                "{method} {path} as {content_type:?}"
            );
        }
    }
    assert_eq!(r.get("/subjects").await.ok(), json!([]));
    assert_eq!(r.get("/config").await.ok()["compatibilityLevel"], "BACKWARD");
    assert_eq!(r.get("/mode").await.ok()["mode"], "READWRITE");
    assert_eq!(r.get("/topics").await.ok(), json!(["orders"]));
    assert_eq!(r.get("/topics/orders").await.ok()["owner"], Value::Null);
    assert_eq!(r.get("/consumer-groups").await.ok(), json!([]));

    // What real clients send still works: the registry's types and octet-stream, REST
    // Proxy's types, plain JSON; a DELETE without a body needs no type.
    for (content_type, subject) in [
        ("application/vnd.schemaregistry.v1+json", "a"),
        ("application/vnd.schemaregistry+json", "b"),
        ("application/json; charset=utf-8", "c"),
        ("application/octet-stream", "d"),
    ] {
        let (status, reply) = send(
            &r,
            Method::POST,
            &format!("/subjects/{subject}/versions"),
            Some(content_type),
            &schema,
        )
        .await;
        assert_eq!(status, 200, "{content_type}: {reply}");
    }
    let (status, reply) = send(
        &r,
        Method::POST,
        "/topics/orders",
        Some("application/vnd.kafka.json.v2+json"),
        &json!({"records": [{"value": 1}]}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = send(&r, Method::DELETE, "/subjects/a", None, "").await;
    assert_eq!((status, reply), (200, json!([1])));
    // A DELETE that does carry a body declares its type like any other mutation.
    let (status, _) = send(&r, Method::DELETE, "/subjects/b", Some("text/plain"), "x").await;
    assert_eq!(status, 415);
}

// ---------------------------------------------------------------------------------------
// E. Response headers

#[tokio::test]
async fn every_response_says_nosniff_and_docs_pages_carry_a_strict_csp() {
    let r = TestRegistry::with_broker(&temp_dir("herald-edge")).await;
    for (method, path) in [
        (Method::GET, "/schemas/types"),
        (Method::GET, "/no/such/path"),
        (Method::PATCH, "/subjects"),
        (Method::GET, "/topics"),
        (Method::GET, "/health"),
        (Method::GET, "/metrics"),
        (Method::GET, "/ui/index.html"),
        (Method::GET, "/ui/no-such-page.html"),
        (Method::GET, "/asyncapi.json"),
    ] {
        let response = r
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{method} {path}"
        );
        let html = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.to_str().unwrap().starts_with("text/html"));
        let csp = headers
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_string());
        if html {
            let csp = csp.unwrap_or_else(|| panic!("{path} has no CSP"));
            for directive in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"] {
                assert!(csp.contains(directive), "{path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        } else {
            assert_eq!(csp, None, "{path}");
        }
    }
}

/// The CSP lets exactly the pages' own inline blocks run, by hash; a change to one of them
/// in a template must come with its new hash in `http::DOCS_CSP`.
#[tokio::test]
async fn csp_hashes_match_the_templates() {
    let r = TestRegistry::with_broker(&temp_dir("herald-edge")).await;
    r.post_as("/topics", "application/json", &json!({"name": "orders"}))
        .await;
    let record = |fields: Value| json!({"type": "record", "name": "Order", "fields": fields});
    r.register_ok("orders-value", &record(json!([{"name": "id", "type": "int"}])))
        .await;
    r.register_ok(
        "orders-value",
        &record(json!([{"name": "id", "type": "int"}, {"name": "note", "type": "string", "default": ""}])),
    )
    .await;
    let mut blocks = 0;
    for path in [
        "/ui/index.html",
        "/ui/topics/orders.html",
        "/ui/topics/orders/changelog/1-2.html",
        "/ui/subjects/orders-value.html",
        "/ui/missing.html",
    ] {
        let response = r
            .app
            .clone()
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        let html = String::from_utf8_lossy(&html);
        for (tag, directive) in [("script", "script-src"), ("style", "style-src")] {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            for piece in html.split(&open).skip(1) {
                let inline = piece.split(&close).next().unwrap();
                let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(inline.as_bytes()));
                let allowed = csp
                    .split(';')
                    .find(|d| d.trim().starts_with(directive))
                    .unwrap_or_default();
                assert!(
                    allowed.contains(&format!("'sha256-{hash}'")),
                    "{path}: the inline <{tag}> hashes to sha256-{hash}, which {directive} does not list: {csp}"
                );
                blocks += 1;
            }
        }
        assert!(!html.contains("<script src") && !html.contains(" style=\""), "{path}");
    }
    assert!(blocks >= 7, "only {blocks} inline blocks seen");
}

// ---------------------------------------------------------------------------------------
// F. Host headers

#[test]
fn urls_handed_out_name_the_public_url_not_the_host_header() {
    let server = Server::start(&["--public-url", "https://herald.example.com/"]);
    let (status, _, body) = exchange(
        &server.address,
        &request_text("POST", "/topics", Some("application/json"), r#"{"name": "t"}"#)
            .replace("Host: test", "Host: evil.example"),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = exchange(
        &server.address,
        &request_text(
            "POST",
            "/consumers/g",
            Some("application/vnd.kafka.v2+json"),
            r#"{"name": "c"}"#,
        )
        .replace("Host: test", "Host: evil.example"),
    );
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        created["base_uri"],
        "https://herald.example.com/consumers/g/instances/c"
    );

    let (status, _, body) = exchange(
        &server.address,
        "GET /asyncapi.json HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(!body.contains("evil.example"), "{body}");
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["servers"]["herald"]["host"], "herald.example.com");
}

// ---------------------------------------------------------------------------------------
// G. Body limits

#[test]
fn over_limit_bodies_are_413_in_the_api_shape_on_every_door() {
    let server = Server::start(&["--max-request-bytes", "4096"]);
    let (status, _, body) = exchange(
        &server.address,
        &request_text("POST", "/topics", Some("application/json"), r#"{"name": "t"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = exchange(
        &server.address,
        &request_text("POST", "/consumers/g", Some("application/json"), r#"{"name": "c"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let padding = "x".repeat(5000);
    let schema = json!({"schema": format!("{{\"type\":\"string\",\"doc\":\"{padding}\"}}")}).to_string();
    let records = json!({"records": [{"value": {"pad": padding}}]}).to_string();
    let doors = [
        (
            "POST",
            "/subjects/big-value/versions",
            "application/vnd.schemaregistry.v1+json",
            schema.clone(),
        ),
        (
            "POST",
            "/compatibility/subjects/big-value/versions/latest",
            "application/json",
            schema.clone(),
        ),
        (
            "PUT",
            "/config",
            "application/json",
            json!({"compatibility": padding}).to_string(),
        ),
        (
            "POST",
            "/topics",
            "application/json",
            json!({"name": "u", "description": padding}).to_string(),
        ),
        (
            "POST",
            "/topics/t",
            "application/vnd.kafka.json.v2+json",
            records.clone(),
        ),
        (
            "POST",
            "/topics/t/partitions/0",
            "application/vnd.kafka.json.v2+json",
            records.clone(),
        ),
        (
            "POST",
            "/consumers/g/instances/c/offsets",
            "application/json",
            json!({"offsets": padding}).to_string(),
        ),
    ];
    for (method, path, content_type, body) in &doors {
        let (status, head, reply) = exchange(&server.address, &request_text(method, path, Some(content_type), body));
        assert_eq!(status, 413, "{method} {path}: {head}\n{reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap_or_else(|_| panic!("{path}: {reply}"));
        assert_eq!(reply["error_code"], 413, "{reply}");
        assert!(reply["message"].as_str().unwrap().contains("4096"), "{reply}");
    }
    // Without a length up front (chunked), the limit holds as the body streams in.
    let chunk = "x".repeat(3000);
    let chunked = format!(
        "POST /topics/t HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/vnd.kafka.json.v2+json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(),
        chunk.len()
    );
    let (status, _, reply) = exchange(&server.address, &chunked);
    assert_eq!(status, 413, "{reply}");
    // Under the limit, the same doors work.
    let (status, _, reply) = exchange(
        &server.address,
        &request_text(
            "POST",
            "/topics/t",
            Some("application/vnd.kafka.json.v2+json"),
            r#"{"records": [{"value": {"n": 1}}]}"#,
        ),
    );
    assert_eq!(status, 200, "{reply}");
}

// ---------------------------------------------------------------------------------------
// C. The connection layer, through the real binary

#[test]
fn thousands_of_slow_heads_under_a_1024_descriptor_limit_do_not_stop_health() {
    let own_limit = raise_descriptor_limit();
    assert!(
        own_limit >= 2_200,
        "this test needs 2,200 descriptors; the hard limit is {own_limit}"
    );
    let server = Server::start_under(
        &["prlimit", "--nofile=1024:1024", "--"],
        &["--header-read-timeout", "2s", "--idle-timeout", "2s"],
    );
    let attack_started = Instant::now();
    let mut slow: Vec<TcpStream> = Vec::with_capacity(2_000);
    let mut worst = Duration::ZERO;
    for i in 0..2_000 {
        let mut stream = TcpStream::connect(&server.address).expect("connect an attacking socket");
        // A request line and a header, never the blank line that ends the head.
        let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n");
        slow.push(stream);
        if i % 400 == 399 {
            let (status, took) = health(&server.address);
            assert_eq!(status, 200, "/health during the attack, after {} sockets", i + 1);
            worst = worst.max(took);
        }
    }
    for _ in 0..5 {
        let (status, took) = health(&server.address);
        assert_eq!(status, 200, "/health with 2,000 slow sockets open");
        worst = worst.max(took);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        worst < Duration::from_secs(1),
        "/health took {worst:?} during the attack"
    );

    // Every slow socket is closed by the server: evicted to make room, or cut off when its
    // head did not arrive in 2 s.
    let deadline = attack_started + Duration::from_secs(8);
    let open = slow
        .iter_mut()
        .map(|s| closed_by(s, deadline))
        .filter(|closed| !closed)
        .count();
    assert_eq!(open, 0, "{open} of 2,000 slow sockets were still open after 8 s");
    let (status, _) = health(&server.address);
    assert_eq!(status, 200);
    let peak = status_kib(server.pid(), "VmHWM");
    assert!(peak < 512 * 1024, "the server peaked at {peak} KiB");
}

#[test]
fn dribbled_heads_idle_connections_and_slow_bodies_are_cut_off() {
    let server = Server::start(&[
        "--header-read-timeout",
        "1s",
        "--idle-timeout",
        "2s",
        "--body-read-timeout",
        "1s",
    ]);
    // A head dribbled a byte at a time, never finished: cut off after the header timeout,
    // however busy the client keeps the socket.
    let mut dribbling = TcpStream::connect(&server.address).unwrap();
    let started = Instant::now();
    let mut cut_off = false;
    for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle().take(40) {
        if dribbling.write_all(&[*byte]).is_err() {
            cut_off = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        cut_off || closed_by(&mut dribbling, started + Duration::from_secs(5)),
        "a dribbled head kept its connection"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "cut off after {took:?}"
    );

    // A kept-alive connection answered once, then silent: closed after the idle timeout,
    // not the (shorter) header timeout.
    let mut idle = TcpStream::connect(&server.address).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = [0u8; 512];
    let n = idle.read(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(
        closed_by(&mut idle, started + Duration::from_secs(5)),
        "an idle connection stayed open"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1800),
        "closed after {took:?}, before the idle timeout"
    );

    // A body announced as 100 bytes that stops after 10: cut off after the body timeout.
    let mut slow = TcpStream::connect(&server.address).unwrap();
    slow.write_all(
        b"POST /subjects/s-value/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"schema\":",
    )
    .unwrap();
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a slow body kept its connection"
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["error_code"], 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("body_read_timeout"),
        "{body}"
    );
    let (status, _) = health(&server.address);
    assert_eq!(status, 200);
    assert_eq!(server.call("GET", "/subjects", None), (200, json!([])));
}

#[test]
fn at_the_cap_with_every_connection_busy_a_newcomer_gets_503_at_once() {
    let server = Server::start(&["--max-connections", "2", "--body-read-timeout", "3s"]);
    // Two requests whose bodies are still arriving: both connections are busy answering.
    let busy: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = TcpStream::connect(&server.address).unwrap();
            stream
                .write_all(
                    b"POST /topics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                      Content-Length: 50\r\n\r\n{\"name\":",
                )
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut newcomer = TcpStream::connect(&server.address).unwrap();
    newcomer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = newcomer.read_to_string(&mut answer);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the refusal took {:?}",
        started.elapsed()
    );
    let status: u16 = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    assert_eq!(status, 503, "{body}");
    assert_eq!(serde_json::from_str::<Value>(body).unwrap()["error_code"], 503);
    drop(busy);
    std::thread::sleep(Duration::from_millis(200));
    let (status, _) = health(&server.address);
    assert_eq!(status, 200, "room again once the busy connections are gone");
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let server = Server::start(&[]);
    let mut in_flight = TcpStream::connect(&server.address).unwrap();
    let body = r#"{"name": "late"}"#;
    in_flight
        .write_all(
            format!(
                "POST /topics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                body.len(),
                &body[..5]
            )
            .as_bytes(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let rest = body[5..].to_string();
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        in_flight.write_all(rest.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = in_flight.read_to_string(&mut response);
        response
    });
    let (code, log) = server.terminate();
    let response = finisher.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert_eq!(code, 0, "{log:?}");
}
