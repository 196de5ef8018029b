//! Two registry instances on one PostgreSQL database, each with its read cache: a write
//! committed through one is what the other answers within 100 ms (registrations, deletes,
//! configs, modes), and a lost cache listener leads to reads through to the database, never
//! to stale answers, until it is back.

use std::time::{Duration, Instant};

use axum::http::Method;
use herald::registry::RegistrySettings;
use herald::store::notify::LISTENER_APPLICATION_NAME;
use sqlx::Connection;

use crate::registry_support::{fresh_postgres_database, postgres_url, Backend, Reply, TestRegistry};

/// How soon the other instance must answer what one instance committed.
const BOUND: Duration = Duration::from_millis(100);

/// Polls `$probe` (an async expression giving a [`Reply`]) until `$ok` holds of it, for at
/// most [`BOUND`]; fails with the last reply otherwise.
macro_rules! within_100ms {
    ($what:expr, $probe:expr, |$reply:ident| $ok:expr) => {{
        let start = Instant::now();
        loop {
            let $reply: Reply = $probe;
            if $ok {
                break;
            }
            if start.elapsed() > BOUND {
                panic!("{} not seen within {BOUND:?}: {} {}", $what, $reply.status, $reply.text);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }};
}

/// A test database's name, from its URL.
fn database_name(url: &str) -> &str {
    let base = url.split('?').next().unwrap_or(url);
    base.rsplit('/').next().unwrap_or(base)
}

struct Pair {
    a: TestRegistry,
    b: TestRegistry,
    url: String,
}

impl Pair {
    /// Two instances on one fresh database, both listening; `None` (after saying why)
    /// without a PostgreSQL server.
    async fn open() -> Option<Pair> {
        let Some(server) = postgres_url() else {
            crate::support::skip("needs HERALD_TEST_DATABASE_URL (CI sets it)");
            return None;
        };
        let url = fresh_postgres_database(&server).await;
        let a = TestRegistry::open(Backend::Postgres(url.clone()), RegistrySettings::default()).await;
        let b = TestRegistry::open(Backend::Postgres(url.clone()), RegistrySettings::default()).await;
        let pair = Pair { a, b, url };
        pair.wait_until_serving().await;
        Some(pair)
    }

    /// Waits (5 s at most) until both instances answer from memory again.
    async fn wait_until_serving(&self) {
        let start = Instant::now();
        while !(self.a.registry.cache_serving() && self.b.registry.cache_serving()) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the cache listeners did not connect"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The backend pids of this database's cache listeners.
    async fn listeners(&self) -> Vec<i32> {
        let mut admin = sqlx::PgConnection::connect(&self.url).await.expect("connect");
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 ORDER BY pid")
            .bind(LISTENER_APPLICATION_NAME)
            .bind(database_name(&self.url))
            .fetch_all(&mut admin)
            .await
            .expect("list listeners")
    }

    /// Terminates every cache listener's connection to this database.
    async fn kill_listeners(&self) -> Vec<i32> {
        let pids = self.listeners().await;
        assert_eq!(pids.len(), 2, "one listener per instance");
        let mut admin = sqlx::PgConnection::connect(&self.url).await.expect("connect");
        for pid in &pids {
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .execute(&mut admin)
                .await
                .expect("terminate a listener");
        }
        pids
    }
}

/// Version `n` of a record that gains an optional field each time (backward compatible).
fn schema(n: usize) -> String {
    let fields: Vec<String> = std::iter::once(r#"{"name":"id","type":"string"}"#.to_string())
        .chain((2..=n).map(|i| format!(r#"{{"name":"f{i}","type":"string","default":""}}"#)))
        .collect();
    let text = format!(r#"{{"type":"record","name":"Order","fields":[{}]}}"#, fields.join(","));
    serde_json::json!({ "schema": text }).to_string()
}

/// Incompatible with every [`schema`] under BACKWARD: `id` changes type.
fn incompatible() -> String {
    let text = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"int"}]}"#;
    serde_json::json!({ "schema": text }).to_string()
}

async fn register(r: &TestRegistry, subject: &str, body: &str) -> Reply {
    r.call(Method::POST, &format!("/subjects/{subject}/versions"), Some(body))
        .await
}

async fn latest_version(r: &TestRegistry) -> Reply {
    r.get("/subjects/orders-value/versions/latest").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_registered_on_one_instance_is_served_by_the_other_within_100ms() {
    let Some(Pair { a, b, .. }) = Pair::open().await else {
        return;
    };
    register(&a, "orders-value", &schema(1)).await.ok();
    assert_eq!(latest_version(&b).await.ok()["version"], 1);
    for n in 2..=5 {
        // b holds the previous answers in memory.
        assert_eq!(latest_version(&b).await.ok()["version"], n - 1);
        let id = register(&a, "orders-value", &schema(n)).await.ok()["id"]
            .as_i64()
            .unwrap();
        within_100ms!(format!("version {n} as b's latest"), latest_version(&b).await, |r| r
            .status
            == 200
            && r.json()["version"] == n);
        within_100ms!(
            format!("id {id} on b"),
            b.get(&format!("/schemas/ids/{id}")).await,
            |r| r.status == 200
        );
        within_100ms!(
            format!("a lookup of version {n} on b"),
            b.call(Method::POST, "/subjects/orders-value", Some(&schema(n))).await,
            |r| r.status == 200 && r.json()["version"] == n
        );
        // Both ways: b's registration is what a answers.
        let subject = format!("from-b-{n}");
        register(&b, &subject, &schema(1)).await.ok();
        within_100ms!(
            format!("{subject} on a"),
            a.get(&format!("/subjects/{subject}/versions/latest")).await,
            |r| r.status == 200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_configs_and_modes_reach_the_other_instance_within_100ms() {
    let Some(Pair { a, b, .. }) = Pair::open().await else {
        return;
    };
    register(&a, "orders-value", &schema(1)).await.ok();
    let id2 = register(&a, "orders-value", &schema(2)).await.ok()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(latest_version(&b).await.ok()["version"], 2);
    b.get(&format!("/schemas/ids/{id2}")).await.ok();
    b.call(Method::POST, "/subjects/orders-value", Some(&schema(2)))
        .await
        .ok();

    // A soft delete: version 1 is the latest again, and version 2 is no longer found by lookup.
    a.call(Method::DELETE, "/subjects/orders-value/versions/2", None)
        .await
        .ok();
    within_100ms!("the soft delete on b", latest_version(&b).await, |r| r.status == 200
        && r.json()["version"] == 1);
    within_100ms!(
        "the soft-deleted version's lookup on b",
        b.call(Method::POST, "/subjects/orders-value", Some(&schema(2))).await,
        |r| r.status == 404
    );
    // Its id still resolves (consumers must decode old data) until the version is gone.
    b.get(&format!("/schemas/ids/{id2}")).await.ok();
    a.call(Method::DELETE, "/subjects/orders-value/versions/2?permanent=true", None)
        .await
        .ok();
    within_100ms!(
        "the permanent delete on b",
        b.get(&format!("/schemas/ids/{id2}")).await,
        |r| r.status == 404 && r.code() == 40403
    );

    // A config change: b refused an incompatible schema under BACKWARD, and takes it under NONE.
    register(&b, "orders-value", &incompatible()).await.fails(409, 409);
    a.call(Method::PUT, "/config/orders-value", Some(r#"{"compatibility":"NONE"}"#))
        .await
        .ok();
    within_100ms!(
        "compatibility NONE on b",
        register(&b, "orders-value", &incompatible()).await,
        |r| r.status == 200
    );

    // A mode change: b, which just registered, refuses registrations once a makes it read-only.
    a.call(Method::PUT, "/mode/orders-value", Some(r#"{"mode":"READONLY"}"#))
        .await
        .ok();
    within_100ms!(
        "mode READONLY on b",
        register(&b, "orders-value", &schema(3)).await,
        |r| r.status == 422 && r.code() == 42205
    );
    a.call(Method::DELETE, "/mode/orders-value", None).await.ok();
    within_100ms!(
        "the mode's removal on b",
        register(&b, "orders-value", &schema(3)).await,
        |r| r.status == 200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_reads_through_to_the_database_and_recovers() {
    let Some(pair) = Pair::open().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    register(a, "orders-value", &schema(1)).await.ok();
    assert_eq!(latest_version(b).await.ok()["version"], 1);
    assert_eq!(latest_version(b).await.ok()["version"], 1);

    // A write while b's listener is gone misses its notification: b reads through, and
    // when it listens again it must forget the version 1 it held.
    let killed = pair.kill_listeners().await;
    let start = Instant::now();
    while b.registry.cache_serving() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "b did not notice its listener's end"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    register(a, "orders-value", &schema(2)).await.ok();
    within_100ms!("version 2 on b", latest_version(b).await, |r| r.status == 200
        && r.json()["version"] == 2);

    // Recovered: new listener connections, both caches serving, and exact.
    pair.wait_until_serving().await;
    let start = Instant::now();
    loop {
        let now = pair.listeners().await;
        if now.len() == 2 && now.iter().all(|pid| !killed.contains(pid)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the listeners did not come back: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(latest_version(b).await.ok()["version"], 2);
    for n in 3..=5 {
        assert_eq!(latest_version(b).await.ok()["version"], n - 1);
        register(a, "orders-value", &schema(n)).await.ok();
        within_100ms!(format!("version {n} on b"), latest_version(b).await, |r| r.status
            == 200
            && r.json()["version"] == n);
    }

    // Killed again while writes keep coming, through suspension, reconnection and resumption.
    pair.kill_listeners().await;
    let mut n = 5;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        n += 1;
        register(a, "orders-value", &schema(n)).await.ok();
        within_100ms!(format!("version {n} on b"), latest_version(b).await, |r| r.status
            == 200
            && r.json()["version"] == n);
    }
    pair.wait_until_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_notification_never_came_is_forgotten_within_about_a_second() {
    let Some(pair) = Pair::open().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    register(a, "orders-value", &schema(1)).await.ok();
    register(a, "orders-value", &schema(2)).await.ok();
    assert_eq!(latest_version(b).await.ok()["version"], 2);
    // A write that bumps the generation but sends no notification, as if it were lost
    // with a connection that died silently.
    let mut admin = sqlx::PgConnection::connect(&pair.url).await.expect("connect");
    let mut tx = admin.begin().await.expect("begin");
    sqlx::query("UPDATE subject_versions SET deleted = 1 WHERE subject = 'orders-value' AND version = 2")
        .execute(&mut *tx)
        .await
        .expect("soft-delete behind the registry's back");
    sqlx::query("UPDATE registry_generation SET generation = generation + 1")
        .execute(&mut *tx)
        .await
        .expect("bump the generation");
    tx.commit().await.expect("commit");
    let start = Instant::now();
    loop {
        let reply = latest_version(b).await;
        if reply.ok()["version"] == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "still served the stale version: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
