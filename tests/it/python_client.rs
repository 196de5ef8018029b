//! The real Python client: confluent-kafka's SchemaRegistryClient and its Avro and JSON
//! serializers against a running `herald serve` (tests/python/client_test.py), on SQLite
//! and on PostgreSQL. Needs `HERALD_TEST_PYTHON`, a Python with tests/python/requirements.txt
//! installed (`.ci/run` makes one); skipped with a message otherwise.

use std::process::Command;

use crate::registry_support::{fresh_postgres_url_blocking, temp_dir};
use crate::serve::Server;

fn python() -> Option<String> {
    let python = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty());
    if python.is_none() {
        crate::support::skip("set HERALD_TEST_PYTHON to a Python with tests/python/requirements.txt (CI does)");
    }
    python
}

fn run_client(python: &str, server: &Server) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_test.py");
    let output = Command::new(python)
        .args(["-W", "ignore", script, &format!("http://{}", server.address)])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Python client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok: all checks"), "{stdout}");
}

#[test]
fn confluent_python_client_on_sqlite() {
    let Some(python) = python() else { return };
    let dir = temp_dir("herald-python").display().to_string();
    let server = Server::start(&["--data-dir", &dir]);
    run_client(&python, &server);
}

#[test]
fn confluent_python_client_on_postgres() {
    let Some(python) = python() else { return };
    let Some(url) = fresh_postgres_url_blocking() else {
        return;
    };
    let server = Server::start(&["--database-url", &url]);
    run_client(&python, &server);
}
