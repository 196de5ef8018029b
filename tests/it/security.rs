//! Who may do what over HTTP: authentication (argon2id and bcrypt users, bearer tokens,
//! anonymous access), the denial matrix of the built-in roles and a prefix-limited principal
//! against every class of route, listings and by-id reads filtered, the audit log, and the
//! users file reloaded while serving.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request};
use herald::security::users::{hash_password, sha256, to_hex};
use herald::security::{Anonymous, Security, SecuritySettings};
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, Reply, TestRegistry, V1};

const TOKEN: &str = "hrld_test_token_for_the_readonly_service";
/// A token whose entry expired in 2020.
const EXPIRED_TOKEN: &str = "hrld_test_token_that_expired";

/// A users file: `root` (admin), `dev` (developer), `reader` (readonly), `payments` (no
/// role; write on subjects `payments-*`, produce and consume on topic `payments`, its
/// groups), `web` (a bcrypt hash, readonly) and a readonly token `svc`.
fn users_file(dir: &Path) -> std::path::PathBuf {
    let hash = |password: &str| hash_password(password).expect("hash a password");
    let bcrypt = bcrypt::hash("web-pass", 4).expect("bcrypt").replacen("$2b$", "$2y$", 1);
    let text = format!(
        r#"
[[users]]
name = "root"
password_hash = "{root}"
roles = ["admin"]

[[users]]
name = "dev"
password_hash = "{dev}"
roles = ["developer"]

[[users]]
name = "reader"
password_hash = "{reader}"
roles = ["readonly"]

[[users]]
name = "payments"
password_hash = "{payments}"

[[users]]
name = "web"
password_hash = "{bcrypt}"
roles = ["readonly"]

[[tokens]]
name = "svc"
sha256 = "{token}"
roles = ["readonly"]
expires = 2999-01-01T00:00:00Z

[[tokens]]
name = "old-svc"
sha256 = "{expired}"
roles = ["admin"]
expires = 2020-06-30T12:00:00+02:00

[[grants]]
principal = "payments"
resource = "subject"
name = "payments-"
match = "prefix"
allow = ["write"]

[[grants]]
principal = "payments"
resource = "topic"
name = "payments"
allow = ["produce", "consume"]

[[grants]]
principal = "payments"
resource = "group"
name = "payments-"
match = "prefix"
allow = ["consume"]

[[grants]]
principal = "payments"
resource = "tag"
name = "PII"
allow = ["read"]
"#,
        root = hash("root-pass"),
        dev = hash("dev-pass"),
        reader = hash("reader-pass"),
        payments = hash("payments-pass"),
        token = to_hex(&sha256(TOKEN.as_bytes())),
        expired = to_hex(&sha256(EXPIRED_TOKEN.as_bytes())),
    );
    let path = dir.join("users.toml");
    std::fs::write(&path, text).expect("write the users file");
    path
}

struct Secured {
    r: TestRegistry,
    security: Arc<Security>,
    dir: std::path::PathBuf,
}

async fn secured(anonymous: Anonymous) -> Secured {
    secured_with(|settings| SecuritySettings {
        allow_anonymous: anonymous,
        ..settings
    })
    .await
}

async fn secured_with(adjust: impl FnOnce(SecuritySettings) -> SecuritySettings) -> Secured {
    let dir = temp_dir("herald-security");
    let settings = adjust(SecuritySettings {
        users_file: Some(users_file(&dir)),
        ..SecuritySettings::default()
    });
    let security = Arc::new(Security::open(settings, &dir).expect("open security"));
    let for_state = security.clone();
    let hooks_dir = dir.clone();
    let r = TestRegistry::with_broker_and(&dir, move |state| {
        let broker = state.broker.clone().expect("a broker");
        let hooks = herald::delivery::webhook::Webhooks::start(&hooks_dir, broker, state.registry.clone())
            .expect("start webhooks");
        state.with_security(for_state).with_webhooks(hooks)
    })
    .await;
    Secured { r, security, dir }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_simd::STANDARD.encode_to_string(format!("{user}:{password}"))
    )
}

/// The password of each test user.
fn password(user: &str) -> &'static str {
    match user {
        "root" => "root-pass",
        "dev" => "dev-pass",
        "reader" => "reader-pass",
        "payments" => "payments-pass",
        _ => "none",
    }
}

impl Secured {
    async fn call_with(&self, auth: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let content_type = if path.starts_with("/topics") || path.starts_with("/consumers") {
            "application/vnd.kafka.json.v2+json"
        } else {
            V1
        };
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(auth) = auth {
            builder = builder.header(header::AUTHORIZATION, auth);
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        let request = builder
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("a request");
        self.r.send(request).await
    }

    async fn as_user(&self, user: &str, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.call_with(Some(&basic(user, password(user))), method, path, body)
            .await
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
            .collect()
    }
}

fn schema(name: &str) -> Value {
    json!({"schema": json!({"type": "record", "name": name, "fields": [{"name": "id", "type": "string"}]}).to_string()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_credentials_are_challenged_and_probes_stay_public() {
    let s = secured(Anonymous::No).await;
    let reply = s.call_with(None, Method::GET, "/subjects", None).await;
    assert_eq!(reply.fails(401, 40101), "Unauthorized");
    for path in ["/health", "/health/live", "/health/ready", "/schemas/types"] {
        assert_eq!(s.call_with(None, Method::GET, path, None).await.status, 200, "{path}");
    }
    // The challenge names both schemes.
    let request = Request::builder().uri("/subjects").body(Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(s.r.app.clone(), request).await.unwrap();
    let challenges: Vec<_> = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        challenges,
        ["Basic realm=\"herald\", charset=\"UTF-8\"", "Bearer realm=\"herald\""]
    );
    // Wrong passwords, unknown users, malformed headers and unknown tokens: all 401.
    for auth in [
        basic("root", "wrong"),
        basic("nobody", "root-pass"),
        "Basic not-base64!".to_string(),
        "Bearer hrld_unknown".to_string(),
        "Digest x".to_string(),
    ] {
        s.call_with(Some(&auth), Method::GET, "/subjects", None)
            .await
            .fails(401, 40101);
    }
    // Registering without credentials is refused before the body is read.
    s.call_with(
        None,
        Method::POST,
        "/subjects/x/versions",
        Some(&json!("not even a schema")),
    )
    .await
    .fails(401, 40101);
    // Failed logins are audited by user name, never with the password.
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"type\":\"authentication\"") && audit.contains("\"principal\":\"root\""),
        "{audit}"
    );
    assert!(!audit.contains("wrong") && !audit.contains("root-pass"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_saying_so_and_audited() {
    let s = secured(Anonymous::No).await;
    let request = Request::builder()
        .uri("/subjects")
        .header(header::AUTHORIZATION, format!("Bearer {EXPIRED_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(s.r.app.clone(), request).await.unwrap();
    assert_eq!(response.status(), 401);
    let challenges: Vec<_> = response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        challenges[1],
        "Bearer realm=\"herald\", error=\"invalid_token\", error_description=\"The token expired\""
    );
    let reply = s
        .call_with(Some(&format!("Bearer {EXPIRED_TOKEN}")), Method::GET, "/subjects", None)
        .await;
    assert_eq!(reply.fails(401, 40101), "Token expired");
    // Its admin role is gone with it: no write either.
    s.call_with(
        Some(&format!("Bearer {EXPIRED_TOKEN}")),
        Method::POST,
        "/subjects/x/versions",
        Some(&schema("X")),
    )
    .await
    .fails(401, 40101);
    // An expired token is not a guess: it does not count towards the login throttle, so
    // asking again still says why rather than "too many".
    for _ in 0..30 {
        let again = s
            .call_with(Some(&format!("Bearer {EXPIRED_TOKEN}")), Method::GET, "/subjects", None)
            .await;
        assert_eq!(again.fails(401, 40101), "Token expired");
    }
    // The token that has not expired works.
    s.call_with(Some(&format!("Bearer {TOKEN}")), Method::GET, "/subjects", None)
        .await
        .ok();
    let expired: Vec<Value> = s
        .audit_lines()
        .into_iter()
        .filter(|l| l["type"] == "authentication" && l["outcome"] == "expired")
        .collect();
    assert_eq!(expired.len(), 33, "{expired:?}");
    assert_eq!(expired[0]["operation"], "GET /subjects");
    assert_eq!(expired[0]["principal"], "old-svc");
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert!(!audit.contains(EXPIRED_TOKEN), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_credential_authenticates() {
    let s = secured(Anonymous::No).await;
    s.as_user(
        "root",
        Method::POST,
        "/subjects/orders-value/versions",
        Some(&schema("Order")),
    )
    .await
    .ok();
    for auth in [
        basic("reader", "reader-pass"),
        basic("web", "web-pass"),
        format!("Bearer {TOKEN}"),
    ] {
        let reply = s.call_with(Some(&auth), Method::GET, "/subjects", None).await;
        assert_eq!(reply.ok(), json!(["orders-value"]), "{auth}");
    }
    // Anonymous reads when allowed: reads yes, writes no.
    let open = secured(Anonymous::Read).await;
    open.as_user(
        "root",
        Method::POST,
        "/subjects/orders-value/versions",
        Some(&schema("Order")),
    )
    .await
    .ok();
    assert_eq!(
        open.call_with(None, Method::GET, "/subjects", None).await.ok(),
        json!(["orders-value"])
    );
    let message = open
        .call_with(
            None,
            Method::POST,
            "/subjects/orders-value/versions",
            Some(&schema("Order2")),
        )
        .await
        .fails(403, 40301);
    assert_eq!(message, "User is denied operation Write on Subject: orders-value");
}

/// Each principal against each class of route: allowed (anything but 401/403) or denied
/// (403/40301).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_denial_matrix() {
    let s = secured(Anonymous::No).await;
    // Fixtures, made by the admin.
    for subject in ["orders-value", "payments-value"] {
        s.as_user(
            "root",
            Method::POST,
            &format!("/subjects/{subject}/versions"),
            Some(&schema("Order")),
        )
        .await
        .ok();
    }
    for topic in ["orders", "payments"] {
        let reply = s
            .as_user("root", Method::POST, "/topics", Some(&json!({"name": topic})))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }

    let produce = json!({"records": [{"value": {"id": "1"}}]});
    let consumer = json!({"name": "c1", "format": "json"});
    // (method, path, body, [root, dev, reader, payments]): true = allowed.
    let cases: Vec<(Method, &str, Option<Value>, [bool; 4])> = vec![
        (
            Method::GET,
            "/subjects/orders-value/versions",
            None,
            [true, true, true, false],
        ),
        (
            Method::GET,
            "/subjects/payments-value/versions/1",
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/subjects/orders-value",
            Some(schema("Order")),
            [true, true, true, false],
        ),
        (
            Method::POST,
            "/compatibility/subjects/orders-value/versions/latest",
            Some(schema("Order")),
            [true, true, true, false],
        ),
        (
            Method::POST,
            "/subjects/orders-value/versions",
            Some(schema("Order")),
            [true, true, false, false],
        ),
        (
            Method::POST,
            "/subjects/payments-value/versions",
            Some(schema("Order")),
            [true, true, false, true],
        ),
        (Method::GET, "/config/orders-value", None, [true, true, true, false]),
        (
            Method::PUT,
            "/config/payments-value",
            Some(json!({"compatibility": "FULL"})),
            [true, true, false, false],
        ),
        (Method::GET, "/config", None, [true, true, true, false]),
        (
            Method::PUT,
            "/config",
            Some(json!({"compatibility": "BACKWARD"})),
            [true, false, false, false],
        ),
        (
            Method::PUT,
            "/mode",
            Some(json!({"mode": "READWRITE"})),
            [true, false, false, false],
        ),
        (
            Method::POST,
            "/topics/payments/subscriptions",
            Some(json!({"name": "partner", "url": "https://partner.example/in"})),
            [true, false, false, false],
        ),
        (
            Method::GET,
            "/topics/payments/subscriptions/partner",
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/topics/payments/subscriptions/partner/pause",
            Some(json!({})),
            [true, false, false, false],
        ),
        (
            Method::GET,
            "/topics/orders/subscriptions",
            None,
            [true, true, true, false],
        ),
        (Method::GET, "/topics/orders", None, [true, true, true, false]),
        (Method::GET, "/topics/payments", None, [true, true, true, true]),
        (
            Method::POST,
            "/topics/orders",
            Some(produce.clone()),
            [true, true, false, false],
        ),
        (
            Method::POST,
            "/topics/payments",
            Some(produce.clone()),
            [true, true, false, true],
        ),
        (
            Method::GET,
            "/topics/payments/partitions/0/records?offset=0",
            None,
            [true, true, false, true],
        ),
        (
            Method::PATCH,
            "/topics/orders",
            Some(json!({"description": "d"})),
            [true, false, false, false],
        ),
        (
            Method::POST,
            "/consumers/payments-readers",
            Some(consumer.clone()),
            [true, true, false, true],
        ),
        (
            Method::POST,
            "/consumers/orders-readers",
            Some(consumer.clone()),
            [true, true, false, false],
        ),
        (
            Method::GET,
            "/consumer-groups/orders-readers",
            None,
            [true, true, true, false],
        ),
        (Method::GET, "/metrics", None, [true, true, true, false]),
        (Method::GET, "/ui/index.html", None, [true, true, true, true]),
        (Method::GET, "/ui/topics/orders.html", None, [true, true, true, false]),
        (
            Method::DELETE,
            "/subjects/payments-value/versions/2",
            None,
            [true, false, false, false],
        ),
    ];
    for (method, path, body, expected) in &cases {
        for (user, allowed) in ["root", "dev", "reader", "payments"].iter().zip(expected) {
            // Each principal's attempt on a fresh consumer name, so creations do not collide.
            let path = path.replace("c1", user);
            let body = body.as_ref().map(|b| {
                let text = b.to_string().replace("\"c1\"", &format!("\"{user}\""));
                serde_json::from_str::<Value>(&text).unwrap()
            });
            let reply = s.as_user(user, method.clone(), &path, body.as_ref()).await;
            let status = reply.status.as_u16();
            if *allowed {
                assert!(
                    status != 401 && status != 403,
                    "{user} {method} {path}: {status} {}",
                    reply.text
                );
            } else if path.starts_with("/ui/") {
                // Docs pages answer what may not be seen as what does not exist.
                assert_eq!(status, 404, "{user} {method} {path}: {}", reply.text);
            } else {
                assert_eq!(
                    (status, reply.code()),
                    (403, 40301),
                    "{user} {method} {path}: {}",
                    reply.text
                );
            }
        }
    }
    // Subscriptions are listed as their topics are described.
    let reply = s
        .as_user(
            "root",
            Method::POST,
            "/topics/orders/subscriptions",
            Some(&json!({"name": "erp", "url": "https://erp.example/in?token=s3cret"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // An endpoint's query (a partner's token) is shown to the topic's administrators only.
    let seen = s
        .as_user("reader", Method::GET, "/topics/orders/subscriptions/erp", None)
        .await
        .ok();
    assert_eq!(seen["url"], "https://erp.example/in?…", "{seen}");
    let seen = s.as_user("reader", Method::GET, "/subscriptions", None).await.text;
    assert!(!seen.contains("s3cret"), "{seen}");
    let seen = s
        .as_user("root", Method::GET, "/topics/orders/subscriptions/erp", None)
        .await
        .ok();
    assert_eq!(seen["url"], "https://erp.example/in?token=s3cret", "{seen}");
    let listed = s.as_user("payments", Method::GET, "/subscriptions", None).await.ok();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["partner"], "{listed}");
    let listed = s.as_user("root", Method::GET, "/subscriptions", None).await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // Topic creation names its topic in the body: checked once it is read.
    let message = s
        .as_user("dev", Method::POST, "/topics", Some(&json!({"name": "new"})))
        .await
        .fails(403, 40301);
    assert_eq!(message, "User is denied operation Admin on Topic: new");
    // A subscription names topics the principal must be allowed to consume.
    let instance = s
        .as_user(
            "payments",
            Method::POST,
            "/consumers/payments-x",
            Some(&json!({"name": "i", "format": "json"})),
        )
        .await;
    assert_eq!(instance.status, 200, "{}", instance.text);
    s.as_user(
        "payments",
        Method::POST,
        "/consumers/payments-x/instances/i/subscription",
        Some(&json!({"topics": ["orders"]})),
    )
    .await
    .fails(403, 40301);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_and_reads_by_id_show_only_what_may_be_read() {
    let s = secured(Anonymous::No).await;
    let mut ids = Vec::new();
    for (subject, name) in [("orders-value", "Order"), ("payments-value", "Payment")] {
        let reply = s
            .as_user(
                "root",
                Method::POST,
                &format!("/subjects/{subject}/versions"),
                Some(&schema(name)),
            )
            .await;
        ids.push(reply.ok()["id"].as_i64().unwrap());
    }
    for topic in ["orders", "payments"] {
        s.as_user("root", Method::POST, "/topics", Some(&json!({"name": topic})))
            .await;
    }
    // A tenant's context: its name is shown only to callers who may read a subject in it.
    s.as_user(
        "root",
        Method::POST,
        "/subjects/:.secret-tenant:audit-value/versions",
        Some(&schema("Audit")),
    )
    .await
    .ok();
    let get = |user: &'static str, path: &'static str| s.as_user(user, Method::GET, path, None);
    assert_eq!(get("payments", "/contexts").await.ok(), json!(["."]));
    assert_eq!(get("reader", "/contexts").await.ok(), json!([".", ".secret-tenant"]));
    assert_eq!(get("payments", "/subjects").await.ok(), json!(["payments-value"]));
    assert_eq!(
        get("reader", "/subjects").await.ok(),
        json!([":.secret-tenant:audit-value", "orders-value", "payments-value"])
    );
    let schemas = get("payments", "/schemas").await.ok();
    assert_eq!(schemas.as_array().unwrap().len(), 1);
    assert_eq!(schemas[0]["subject"], "payments-value");
    assert_eq!(get("payments", "/topics").await.ok(), json!(["payments"]));
    // An id only an unreadable subject uses is answered as unknown, as a missing id is.
    let orders_id = ids[0];
    let hidden = s
        .as_user("payments", Method::GET, &format!("/schemas/ids/{orders_id}"), None)
        .await;
    let missing = s.as_user("payments", Method::GET, "/schemas/ids/999", None).await;
    assert_eq!(hidden.fails(404, 40403), format!("Schema {orders_id} not found"));
    missing.fails(404, 40403);
    s.as_user(
        "payments",
        Method::GET,
        &format!("/schemas/ids/{orders_id}/versions"),
        None,
    )
    .await
    .fails(404, 40403);
    s.as_user("reader", Method::GET, &format!("/schemas/ids/{orders_id}"), None)
        .await
        .ok();
    let payments_id = ids[1];
    assert_eq!(
        s.as_user(
            "payments",
            Method::GET,
            &format!("/schemas/ids/{payments_id}/subjects"),
            None
        )
        .await
        .ok(),
        json!(["payments-value"])
    );
    // A denial says nothing of existence: the same answer for a subject that is not there.
    let absent = s
        .as_user("payments", Method::GET, "/subjects/nope/versions", None)
        .await;
    let present = s
        .as_user("payments", Method::GET, "/subjects/orders-value/versions", None)
        .await;
    assert_eq!(absent.status, present.status);
    assert_eq!(
        absent.fails(403, 40301),
        "User is denied operation Read on Subject: nope"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_denials_are_audited_without_secrets() {
    let s = secured(Anonymous::No).await;
    s.as_user(
        "dev",
        Method::POST,
        "/subjects/orders-value/versions",
        Some(&schema("Order")),
    )
    .await
    .ok();
    s.as_user("root", Method::DELETE, "/subjects/orders-value", None)
        .await
        .ok();
    s.as_user(
        "reader",
        Method::POST,
        "/subjects/orders-value/versions",
        Some(&schema("Order")),
    )
    .await
    .fails(403, 40301);
    s.as_user("reader", Method::GET, "/subjects", None).await.ok();
    let lines = s.audit_lines();
    let find = |principal: &str, outcome: &str| {
        lines
            .iter()
            .find(|l| l["principal"] == principal && l["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} line for {principal} in {lines:?}"))
            .clone()
    };
    let registered = find("dev", "allowed");
    assert_eq!(registered["operation"], "POST /subjects/{subject}/versions");
    assert_eq!(registered["resource"], "Subject: orders-value");
    assert_eq!(registered["status"], 200);
    assert!(registered["time"].as_u64().unwrap() > 0);
    assert_eq!(find("root", "allowed")["operation"], "DELETE /subjects/{subject}");
    let denied = find("reader", "denied");
    assert_eq!(denied["status"], 403);
    assert_eq!(denied["resource"], "Subject: orders-value");
    // Reads are not audited; schema texts and passwords never are.
    assert_eq!(lines.iter().filter(|l| l["principal"] == "reader").count(), 1);
    let text = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert!(!text.contains("dev-pass") && !text.contains("\"fields\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_file_is_reloaded_and_a_bad_edit_keeps_the_rules() {
    let s = secured(Anonymous::No).await;
    s.as_user(
        "root",
        Method::POST,
        "/subjects/orders-value/versions",
        Some(&schema("Order")),
    )
    .await
    .ok();
    s.as_user("payments", Method::GET, "/subjects/orders-value/versions", None)
        .await
        .fails(403, 40301);
    let path = s.dir.join("users.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    // Make sure the modification time moves even on a coarse clock.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &path,
        format!("{original}\n[[grants]]\nprincipal = \"payments\"\nresource = \"subject\"\nname = \"orders-value\"\nallow = [\"read\"]\n"),
    )
    .unwrap();
    assert!(s.security.reload_if_changed());
    s.as_user("payments", Method::GET, "/subjects/orders-value/versions", None)
        .await
        .ok();
    // A broken edit: the rules in force stay, and the refusal is audited.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, "[[users]]\nname = \"root\"\npassword_hash = \"plaintext\"\n").unwrap();
    assert!(!s.security.reload_if_changed());
    s.as_user("payments", Method::GET, "/subjects/orders-value/versions", None)
        .await
        .ok();
    s.as_user("root", Method::GET, "/subjects", None).await.ok();
    let refused = s
        .audit_lines()
        .into_iter()
        .find(|l| l["type"] == "reload" && l["outcome"] == "refused")
        .expect("the refused reload is audited");
    assert!(refused["detail"].as_str().unwrap().contains("plaintext"), "{refused}");
    // Removing a user takes effect at once, remembered passwords included.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &path,
        original.replace("name = \"payments\"\npassword_hash", "name = \"gone\"\npassword_hash"),
    )
    .unwrap();
    assert!(s.security.reload_if_changed());
    s.as_user("payments", Method::GET, "/subjects", None)
        .await
        .fails(401, 40101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_pages_show_only_what_the_reader_may_see() {
    let s = secured(Anonymous::No).await;
    for topic in ["orders", "payments"] {
        s.as_user("root", Method::POST, "/topics", Some(&json!({"name": topic})))
            .await;
        s.as_user(
            "root",
            Method::POST,
            &format!("/subjects/{topic}-value/versions"),
            Some(&schema("Order")),
        )
        .await
        .ok();
    }
    let catalog = s.as_user("payments", Method::GET, "/ui/index.html", None).await;
    assert_eq!(catalog.status, 200);
    assert!(
        catalog.text.contains("payments") && !catalog.text.contains("orders"),
        "{}",
        catalog.text
    );
    let everything = s.as_user("reader", Method::GET, "/ui/index.html", None).await;
    assert!(everything.text.contains("payments") && everything.text.contains("orders"));
    assert_eq!(
        s.as_user("payments", Method::GET, "/ui/topics/orders.html", None)
            .await
            .status,
        404
    );
    assert_eq!(
        s.as_user("payments", Method::GET, "/ui/topics/payments.html", None)
            .await
            .status,
        200
    );
    assert_eq!(
        s.as_user("payments", Method::GET, "/ui/subjects/orders-value.html", None)
            .await
            .status,
        404
    );
    let asyncapi = s.as_user("payments", Method::GET, "/asyncapi.json", None).await.ok();
    let channels: Vec<&String> = asyncapi["channels"].as_object().unwrap().keys().collect();
    assert_eq!(channels, ["payments"]);
    assert_eq!(
        s.as_user("payments", Method::GET, "/asyncapi/orders.json", None)
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_instance_is_its_creators() {
    let s = secured(Anonymous::No).await;
    s.as_user("root", Method::POST, "/topics", Some(&json!({"name": "payments"})))
        .await;
    let created = s
        .as_user(
            "payments",
            Method::POST,
            "/consumers/payments-g",
            Some(&json!({"name": "mine", "format": "json"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let path = "/consumers/payments-g/instances/mine/subscription";
    let topics = json!({"topics": ["payments"]});
    s.as_user("payments", Method::POST, path, Some(&topics)).await;
    assert_eq!(
        s.as_user("payments", Method::GET, path, None).await.ok()["topics"],
        json!(["payments"])
    );
    // Another principal allowed in the group is told the instance does not exist.
    let other = s.as_user("dev", Method::GET, path, None).await;
    let missing = s
        .as_user(
            "dev",
            Method::GET,
            "/consumers/payments-g/instances/nobody/subscription",
            None,
        )
        .await;
    assert_eq!((other.status, other.code()), (missing.status, missing.code()));
    assert_eq!(other.status, 404);
    assert_eq!(
        s.as_user("dev", Method::DELETE, "/consumers/payments-g/instances/mine", None)
            .await
            .status,
        404
    );
    assert_eq!(
        s.as_user("payments", Method::DELETE, "/consumers/payments-g/instances/mine", None)
            .await
            .status,
        204
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_and_request_rates_are_limited() {
    let s = secured_with(|settings| SecuritySettings {
        login_failures_per_minute: Some(3),
        requests_per_second: Some(1.0),
        burst: Some(5.0),
        ..settings
    })
    .await;
    for _ in 0..3 {
        s.call_with(Some(&basic("dev", "guess")), Method::GET, "/subjects", None)
            .await
            .fails(401, 40101);
    }
    // Past the limit, even the right password is refused for the rest of the minute.
    let blocked = s
        .call_with(Some(&basic("dev", "dev-pass")), Method::GET, "/subjects", None)
        .await;
    let message = blocked.fails(429, 42901);
    assert!(message.contains("too many failed logins"), "{message}");
    // Other users are not held back.
    s.as_user("reader", Method::GET, "/subjects", None).await.ok();
    // A principal's rate: a burst of 5 (one already spent above), then 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            s.as_user("reader", Method::GET, "/subjects", None)
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429], "{statuses:?}");
    let request = Request::builder()
        .uri("/subjects")
        .header(header::AUTHORIZATION, basic("reader", "reader-pass"))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(s.r.app.clone(), request).await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_configured_origins() {
    let s = secured_with(|settings| SecuritySettings {
        cors_origins: vec!["https://catalog.example.com".to_string()],
        ..settings
    })
    .await;
    let send = |origin: &'static str, method: Method| {
        let request = Request::builder()
            .method(method)
            .uri("/subjects")
            .header(header::ORIGIN, origin)
            .header(header::AUTHORIZATION, basic("reader", "reader-pass"))
            .header("Access-Control-Request-Method", "GET")
            .body(Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(s.r.app.clone(), request)
    };
    let allowed = send("https://catalog.example.com", Method::GET).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://catalog.example.com"
    );
    let preflight = send("https://catalog.example.com", Method::OPTIONS).await.unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    let other = send("https://evil.example.net", Method::GET).await.unwrap();
    assert!(other.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // Without configured origins nothing carries CORS headers.
    let plain = secured(Anonymous::No).await;
    let request = Request::builder()
        .uri("/subjects")
        .header(header::ORIGIN, "https://catalog.example.com")
        .header(header::AUTHORIZATION, basic("reader", "reader-pass"))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(plain.r.app.clone(), request).await.unwrap();
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

impl Secured {
    /// A request as `user` with its own content type and accept headers.
    async fn typed(&self, user: &str, method: Method, path: &str, types: (&str, &str), body: Option<&Value>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, basic(user, password(user)))
            .header(header::CONTENT_TYPE, types.0)
            .header(header::ACCEPT, types.1)
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("a request");
        self.r.send(request).await
    }
}

fn redacted_header(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get("herald-redacted")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_fields_are_redacted_for_readers_without_the_tag_grant() {
    const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
    const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";
    const BINARY_V2: &str = "application/vnd.kafka.binary.v2+json";
    let s = secured(Anonymous::No).await;
    for topic in ["payments", "payments-avro"] {
        let created = s
            .as_user(
                "root",
                Method::POST,
                "/topics",
                Some(&json!({"name": topic, "validation": "id"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    // JSON Schema: an inline tag and a metadata tag.
    let json_schema = json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "email": {"type": "string", "confluent:tags": ["PII"]},
        "card": {"type": "object", "properties": {"number": {"type": "string"}, "cvv": {"type": "integer"}}}}});
    let registered = s
        .as_user(
            "root",
            Method::POST,
            "/subjects/payments-value/versions",
            Some(&json!({"schemaType": "JSON", "schema": json_schema.to_string(),
                "metadata": {"tags": {"card.number": ["PII"]}}})),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let produced = s
        .typed(
            "root",
            Method::POST,
            "/topics/payments",
            (JSON_V2, JSON_V2),
            Some(&json!({"records": [{"value": {"id": "c1", "email": "ada@example.com",
                "card": {"number": "4111111111111111", "cvv": 123}}}]})),
        )
        .await;
    assert_eq!(produced.status, 200, "{}", produced.text);

    let s = &s;
    let read = |user: &'static str| async move {
        s.typed(
            user,
            Method::GET,
            "/topics/payments/partitions/0/records",
            (JSON_V2, JSON_V2),
            None,
        )
        .await
    };
    let as_dev = read("dev").await;
    assert_eq!(as_dev.status, 200, "{}", as_dev.text);
    assert_eq!(
        as_dev.json()[0]["value"],
        json!({"id": "c1", "email": "<REDACTED>", "card": {"number": "<REDACTED>", "cvv": 123}})
    );
    assert_eq!(
        redacted_header(&as_dev).as_deref(),
        Some("value.card.number, value.email")
    );
    for (user, why) in [
        ("root", "admin reads every tag"),
        ("payments", "granted read on tag PII"),
    ] {
        let reply = read(user).await;
        assert_eq!(reply.status, 200, "{user}: {}", reply.text);
        assert_eq!(reply.json()[0]["value"]["email"], "ada@example.com", "{user}: {why}");
        assert_eq!(redacted_header(&reply), None, "{user}");
    }

    // A consumer group member of the developer role sees the same.
    let group = "/consumers/dev-g";
    s.as_user(
        "dev",
        Method::POST,
        group,
        Some(&json!({"name": "m", "format": "json", "auto.offset.reset": "earliest"})),
    )
    .await;
    s.as_user(
        "dev",
        Method::POST,
        &format!("{group}/instances/m/subscription"),
        Some(&json!({"topics": ["payments"]})),
    )
    .await;
    let fetched = s
        .typed(
            "dev",
            Method::GET,
            &format!("{group}/instances/m/records"),
            (JSON_V2, JSON_V2),
            None,
        )
        .await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.json()[0]["value"]["email"], "<REDACTED>", "{}", fetched.text);
    assert_eq!(
        redacted_header(&fetched).as_deref(),
        Some("value.card.number, value.email")
    );

    // The live tail shows the record redacted, and says which fields.
    let event = first_live_event(s, "dev", "/topics/payments/live?from=earliest").await;
    assert_eq!(event["value"]["email"], "<REDACTED>", "{event}");
    assert_eq!(
        event["redacted"],
        json!(["value.card.number", "value.email"]),
        "{event}"
    );
    let event = first_live_event(s, "root", "/topics/payments/live?from=earliest").await;
    assert_eq!(event["value"]["email"], "ada@example.com", "{event}");
    assert!(event.get("redacted").is_none(), "{event}");

    // Avro, read as binary: still framed with its id, and decodes with the schema.
    let avro = json!({"type": "record", "name": "Payment", "fields": [
        {"name": "id", "type": "string"},
        {"name": "iban", "type": ["null", "string"], "default": null, "confluent:tags": ["PII"]},
        {"name": "amount", "type": "long"}]})
    .to_string();
    let registered = s
        .as_user(
            "root",
            Method::POST,
            "/subjects/payments-avro-value/versions",
            Some(&json!({"schema": avro})),
        )
        .await;
    let id = registered.json()["id"].as_i64().unwrap();
    let produced = s
        .typed(
            "root",
            Method::POST,
            "/topics/payments-avro",
            (AVRO_V2, JSON_V2),
            Some(&json!({"value_schema_id": id, "records": [
                {"value": {"id": "p1", "iban": {"string": "DE89370400440532013000"}, "amount": 5}}]})),
        )
        .await;
    assert_eq!(produced.status, 200, "{}", produced.text);
    let read = s
        .typed(
            "dev",
            Method::GET,
            "/topics/payments-avro/partitions/0/records",
            (JSON_V2, BINARY_V2),
            None,
        )
        .await;
    assert_eq!(redacted_header(&read).as_deref(), Some("value.iban"), "{}", read.text);
    let bytes = base64_simd::STANDARD
        .decode_to_vec(read.json()[0]["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(&bytes[..5], &[&[0u8][..], &(id as u32).to_be_bytes()[..]].concat()[..]);
    let herald::schema::Schema::Avro(parsed) =
        herald::schema::Schema::parse(herald::schema::SchemaType::Avro, &avro, &[]).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(
        herald::validate::avro::decode_binary(&parsed, &bytes[5..]).unwrap(),
        json!({"id": "p1", "iban": {"string": "<REDACTED>"}, "amount": 5})
    );
}

/// The first record event of a live tail, as `user`.
async fn first_live_event(s: &Secured, user: &str, path: &str) -> Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, basic(user, password(user)))
        .body(Body::empty())
        .expect("a request");
    let response = s.r.app.clone().oneshot(request).await.expect("an answer");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut text = String::new();
    let deadline = std::time::Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout(deadline, body.frame())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("data:") && l.contains("\"offset\""))
        {
            return serde_json::from_str(line.trim_start_matches("data:").trim()).expect("an event is JSON");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_contracts_need_the_groups_consume_grant_and_read_on_the_subject() {
    let s = secured(Anonymous::No).await;
    for subject in ["payments-value", "orders-value"] {
        let reply = s
            .as_user(
                "root",
                Method::POST,
                &format!("/subjects/{subject}/versions"),
                Some(&schema("E")),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let body = json!({"fields": ["id"]});
    // Its own group, on a subject it may read: declared.
    let ok = s
        .as_user(
            "payments",
            Method::PUT,
            "/herald/v1/consumers/payments-fraud/contracts/payments-value",
            Some(&body),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Another team's group, or a subject it may not read: refused before anything is read.
    for path in [
        "/herald/v1/consumers/orders-billing/contracts/payments-value",
        "/herald/v1/consumers/payments-fraud/contracts/orders-value",
    ] {
        let denied = s.as_user("payments", Method::PUT, path, Some(&body)).await;
        assert_eq!(denied.status, 403, "{path}: {}", denied.text);
    }
    let denied = s
        .as_user(
            "reader",
            Method::PUT,
            "/herald/v1/consumers/payments-fraud/contracts/payments-value",
            Some(&body),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    // Declaring is audited; listings show what the caller may see.
    s.as_user(
        "root",
        Method::PUT,
        "/herald/v1/consumers/orders-billing/contracts/orders-value",
        Some(&body),
    )
    .await;
    let seen = s
        .as_user("payments", Method::GET, "/herald/v1/contracts", None)
        .await
        .json();
    let groups: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["group"].as_str())
        .collect();
    assert_eq!(groups, ["payments-fraud"]);
    let audited = s.audit_lines();
    assert!(
        audited.iter().any(
            |line| line["operation"] == "PUT /herald/v1/consumers/{group}/contracts/{subject}"
                && line["resource"] == "Group: payments-fraud"
                && line["outcome"] == "allowed"
        ),
        "{audited:?}"
    );
}
