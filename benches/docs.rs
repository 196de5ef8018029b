//! Documentation page benchmarks: server-side rendering through the real router, SQLite
//! store and broker, as `herald serve` runs them (no socket: the network is not what is
//! measured).
//!
//! Run with `cargo bench --bench docs`. The targets (see BENCHMARKS.md): a topic page whose
//! value subject has 200 versions within 20 ms; the catalog of 1,000 topics within 50 ms.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use tower::ServiceExt;

use herald::broker::log::LogConfig;
use herald::broker::Broker;
use herald::http::{app, App, AppState};
use herald::registry::{Registry, RegistrySettings};
use herald::store::Store;

/// The allocator the `herald` binary uses, so the figures are the shipped binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn open(dir: &Path) -> App {
    let store = Store::open_sqlite(&dir.join("registry")).await.expect("open the store");
    let broker = Broker::open(dir, LogConfig::default()).expect("open the broker");
    app(AppState::with_broker(
        Registry::new(store, RegistrySettings::default()),
        Arc::new(broker),
    ))
}

async fn call(app: &App, method: Method, path: &str, content_type: &str, body: Option<Value>) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("a request");
    let response = app.clone().oneshot(request).await.expect("the service answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn create_topic(app: &App, name: &str, description: &str) {
    let body = json!({"name": name, "description": description, "owner": "team-a", "tags": ["bench"]});
    let (status, text) = call(app, Method::POST, "/topics", "application/json", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

async fn register(app: &App, subject: &str, schema: &Value) {
    let body = json!({"schema": schema.to_string()});
    let path = format!("/subjects/{subject}/versions");
    let (status, text) = call(
        app,
        Method::POST,
        &path,
        "application/vnd.schemaregistry.v1+json",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

/// A payment-like record with a nested record, an enum and `extra` optional fields.
fn record(name: &str, extra: usize) -> Value {
    let mut fields = vec![
        json!({"name": "id", "type": "string", "doc": "Unique id."}),
        json!({"name": "amount", "type": {"type": "record", "name": "Money", "fields": [
            {"name": "units", "type": "long", "doc": "Minor units."},
            {"name": "currency", "type": "string", "doc": "ISO 4217."}]}}),
        json!({"name": "method", "type": {"type": "enum", "name": "Method", "symbols": ["CARD", "SEPA", "WALLET"]}}),
        json!({"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}),
    ];
    for i in 0..extra {
        fields.push(
            json!({"name": format!("note_{i}"), "type": ["null", "string"], "default": null,
            "doc": format!("Optional note number {i}.")}),
        );
    }
    json!({"type": "record", "name": name, "namespace": "bench", "fields": fields})
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");

    // One topic whose value subject has 200 versions, each adding an optional field.
    let history_dir = data_dir("history");
    let history = runtime.block_on(async {
        let app = open(&history_dir).await;
        create_topic(&app, "payments", "Payments **captured**.").await;
        for version in 0..200 {
            register(&app, "payments-value", &record("Payment", version)).await;
        }
        app
    });
    let (status, html) = runtime.block_on(call(&history, Method::GET, "/ui/topics/payments.html", "", None));
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("since 199") && html.contains("note_198"),
        "the page lists the whole history"
    );
    c.bench_function("docs/topic page, 200 versions", |b| {
        b.iter(|| runtime.block_on(call(&history, Method::GET, "/ui/topics/payments.html", "", None)))
    });

    // A catalog of 1,000 topics, each with a schema of its own.
    let catalog_dir = data_dir("catalog");
    let catalog = runtime.block_on(async {
        let app = open(&catalog_dir).await;
        for i in 0..1000 {
            let name = format!("topic-{i:04}");
            create_topic(&app, &name, &format!("Events of domain {i}, emitted by service {i}.")).await;
            register(&app, &format!("{name}-value"), &record(&format!("Event{i}"), i % 8)).await;
        }
        app
    });
    let (status, html) = runtime.block_on(call(&catalog, Method::GET, "/ui/index.html", "", None));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<div class=\"topic\"").count(), 1000);
    c.bench_function("docs/catalog, 1000 topics", |b| {
        b.iter(|| runtime.block_on(call(&catalog, Method::GET, "/ui/index.html", "", None)))
    });
    c.bench_function("docs/catalog, 1000 topics, searched", |b| {
        b.iter(|| runtime.block_on(call(&catalog, Method::GET, "/ui/index.html?q=note_3", "", None)))
    });
    drop(history);
    drop(catalog);
    let _ = std::fs::remove_dir_all(history_dir);
    let _ = std::fs::remove_dir_all(catalog_dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = pages
}
criterion_main!(benches);
