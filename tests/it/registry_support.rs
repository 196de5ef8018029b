//! A registry for API tests: the real router over a fresh database, called without a
//! socket. Every test runs on SQLite, and on PostgreSQL when `HERALD_TEST_DATABASE_URL`
//! names a server (CI sets it); otherwise the PostgreSQL variant prints why it skipped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use std::sync::Arc;

use herald::broker::log::LogConfig;
use herald::broker::Broker;
use herald::http::{app, ApiProfile, App, AppState};
use herald::registry::{Registry, RegistrySettings};
use herald::store::Store;
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const V1: &str = "application/vnd.schemaregistry.v1+json";

/// Where a test registry keeps its state.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

pub struct TestRegistry {
    pub app: App,
    /// The registry behind `app`, for what only the process knows (its cache's state).
    pub registry: Registry,
    pub backend: Backend,
    pub store: Store,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The Confluent error code of an error response.
    pub fn code(&self) -> i64 {
        self.json()["error_code"].as_i64().unwrap_or(-1)
    }

    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json()
    }

    /// Asserts the status and error code of a refusal; answers its message.
    #[track_caller]
    pub fn fails(&self, status: u16, code: i64) -> String {
        assert_eq!((self.status.as_u16(), self.code()), (status, code), "{}", self.text);
        self.json()["message"].as_str().unwrap_or_default().to_string()
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The PostgreSQL server the tests may use, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("HERALD_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// Replaces the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(i) if base[..i].contains("//") && i > base.find("//").unwrap() + 1 => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}

/// A fresh, empty PostgreSQL database for one test; stale ones from earlier runs are
/// dropped first.
pub async fn fresh_postgres_database(server: &str) -> String {
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to HERALD_TEST_DATABASE_URL");
    let earlier: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'herald_t_%' AND datname NOT LIKE $1")
            .bind(format!("herald_t_{}_%", std::process::id()))
            .fetch_all(&mut admin)
            .await
            .expect("list databases");
    // Databases of test processes that have ended (`herald_t_<pid>_<n>`); another test
    // process running beside this one keeps its own.
    let stale = earlier.into_iter().filter(|(name,)| {
        let pid = name
            .trim_start_matches("herald_t_")
            .split('_')
            .next()
            .unwrap_or_default();
        pid.is_empty() || !Path::new(&format!("/proc/{pid}")).exists()
    });
    for (name,) in stale {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await;
    }
    let name = unique("herald_t");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    with_database(server, &name)
}

/// For tests outside an async runtime (they start real processes): a fresh PostgreSQL
/// database URL, or `None` after saying why the test skips.
pub fn fresh_postgres_url_blocking() -> Option<String> {
    let Some(server) = postgres_url() else {
        crate::support::skip("needs HERALD_TEST_DATABASE_URL (CI sets it)");
        return None;
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    Some(runtime.block_on(fresh_postgres_database(&server)))
}

pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

impl TestRegistry {
    pub async fn sqlite() -> TestRegistry {
        TestRegistry::open(Backend::Sqlite(temp_dir("herald-api")), RegistrySettings::default()).await
    }

    /// `None` (after saying why) when no PostgreSQL server is configured.
    pub async fn postgres() -> Option<TestRegistry> {
        let Some(server) = postgres_url() else {
            crate::support::skip("PostgreSQL variant needs HERALD_TEST_DATABASE_URL (CI sets it)");
            return None;
        };
        let url = fresh_postgres_database(&server).await;
        Some(TestRegistry::open(Backend::Postgres(url), RegistrySettings::default()).await)
    }

    /// A registry with a broker whose logs live in `data_dir`.
    pub async fn with_broker(data_dir: &std::path::Path) -> TestRegistry {
        TestRegistry::with_broker_and(data_dir, |state| state).await
    }

    /// The same, with the app state adjusted before it is shared (a Kafka address, a public URL).
    pub async fn with_broker_and(
        data_dir: &std::path::Path,
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> TestRegistry {
        let backend = Backend::Sqlite(data_dir.join("registry"));
        let store = Store::open_sqlite(&data_dir.join("registry"))
            .await
            .expect("open the test store");
        let dir = data_dir.to_path_buf();
        let broker = tokio::task::spawn_blocking(move || Broker::open(&dir, LogConfig::default()))
            .await
            .expect("open task")
            .expect("open the broker");
        let registry = Registry::new(store.clone(), RegistrySettings::default());
        let state = adjust(AppState::with_broker(registry.clone(), Arc::new(broker)));
        TestRegistry {
            app: app(state),
            registry,
            backend,
            store,
        }
    }

    pub async fn open(backend: Backend, settings: RegistrySettings) -> TestRegistry {
        TestRegistry::open_as(backend, settings, ApiProfile::default()).await
    }

    /// A registry answering as `profile` (the `api_profile` setting).
    pub async fn open_as(backend: Backend, settings: RegistrySettings, profile: ApiProfile) -> TestRegistry {
        let store = match &backend {
            Backend::Sqlite(dir) => Store::open_sqlite(dir).await,
            Backend::Postgres(url) => Store::open_postgres(url).await,
        }
        .unwrap_or_else(|e| panic!("cannot open the test store {backend:?}: {e}"));
        let registry = Registry::new(store.clone(), settings);
        let app = app(AppState::new(registry.clone()).with_api_profile(profile));
        TestRegistry {
            app,
            registry,
            backend,
            store,
        }
    }

    /// A fresh registry answering as `profile` on SQLite, or on PostgreSQL (`None`, after
    /// saying why, when no server is configured).
    pub async fn with_profile(postgres: bool, profile: ApiProfile) -> Option<TestRegistry> {
        let backend = if postgres {
            let Some(server) = postgres_url() else {
                crate::support::skip("PostgreSQL variant needs HERALD_TEST_DATABASE_URL (CI sets it)");
                return None;
            };
            Backend::Postgres(fresh_postgres_database(&server).await)
        } else {
            Backend::Sqlite(temp_dir("herald-api"))
        };
        Some(TestRegistry::open_as(backend, RegistrySettings::default(), profile).await)
    }

    /// Closes this registry and opens another on the same database, as a restart does.
    pub async fn restart(self) -> TestRegistry {
        let backend = self.backend.clone();
        self.store.close().await;
        drop(self);
        TestRegistry::open(backend, RegistrySettings::default()).await
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, V1);
        }
        let request = builder
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("a valid request");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the service never fails");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("read the body");
        Reply {
            status,
            content_type,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(&body.to_string())).await
    }

    /// A POST with an explicit `Content-Type` (the broker's media types).
    pub async fn post_as(&self, path: &str, content_type: &str, body: &Value) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .expect("a valid request");
        self.send(request).await
    }

    /// Any method with an explicit `Content-Type`.
    pub async fn call_as(&self, method: Method, path: &str, content_type: &str, body: &Value) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .expect("a valid request");
        self.send(request).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::PUT, path, Some(&body.to_string())).await
    }

    /// Registers `schema` (a JSON value, sent as its text) and answers the reply.
    pub async fn register(&self, subject: &str, schema: &Value) -> Reply {
        self.post(
            &format!("/subjects/{subject}/versions"),
            &serde_json::json!({ "schema": schema.to_string() }),
        )
        .await
    }

    /// Registers a schema expected to be accepted; answers its id.
    pub async fn register_ok(&self, subject: &str, schema: &Value) -> i64 {
        let reply = self.register(subject, schema).await;
        reply.ok()["id"].as_i64().expect("an id")
    }
}

/// Declares one test body run on both backends: `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! registry_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let registry = $crate::registry_support::TestRegistry::sqlite().await;
                ($body)(registry).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(registry) = $crate::registry_support::TestRegistry::postgres().await {
                    ($body)(registry).await;
                }
            }
        }
    };
}

/// Declares one test body run under both response profiles on both backends:
/// `NAME::v7_sqlite`, `NAME::v7_postgres`, `NAME::v8_sqlite`, `NAME::v8_postgres`. The body
/// gets the registry and the profile it answers as.
#[macro_export]
macro_rules! profile_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use herald::http::ApiProfile;
            use $crate::registry_support::TestRegistry;

            async fn run(postgres: bool, profile: ApiProfile) {
                if let Some(registry) = TestRegistry::with_profile(postgres, profile).await {
                    ($body)(registry, profile).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v7_sqlite() {
                run(false, ApiProfile::V7).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v7_postgres() {
                run(true, ApiProfile::V7).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v8_sqlite() {
                run(false, ApiProfile::V8).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v8_postgres() {
                run(true, ApiProfile::V8).await;
            }
        }
    };
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
    assert_eq!(
        with_database("postgres://h/test?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
