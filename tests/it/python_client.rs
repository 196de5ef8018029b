//! The real Python client: confluent-kafka's SchemaRegistryClient and its Avro and JSON
//! serializers against a running `herald serve` (tests/python/client_test.py), on SQLite
//! and on PostgreSQL, with the server answering as each response profile (`--api-profile`
//! 7 and 8). Needs `HERALD_TEST_PYTHON`, a Python with tests/python/requirements.txt
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

/// Starts `herald serve` with `args` and `--api-profile profile`, and runs the script
/// against it, telling it the profile.
fn run_client(python: &str, args: &[&str], profile: &str) {
    let mut args = args.to_vec();
    args.extend(["--api-profile", profile]);
    let server = Server::start(&args);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_test.py");
    let output = Command::new(python)
        .args(["-W", "ignore", script, &format!("http://{}", server.address), profile])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client failed (api_profile {profile}):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok: all checks"), "{stdout}");
}

fn on_sqlite(profile: &str) {
    let Some(python) = python() else { return };
    let dir = temp_dir("herald-python").display().to_string();
    run_client(&python, &["--data-dir", &dir], profile);
}

fn on_postgres(profile: &str) {
    let Some(python) = python() else { return };
    let Some(url) = fresh_postgres_url_blocking() else {
        return;
    };
    run_client(&python, &["--database-url", &url], profile);
}

#[test]
fn confluent_python_client_on_sqlite() {
    on_sqlite("7");
}

#[test]
fn confluent_python_client_on_postgres() {
    on_postgres("7");
}

#[test]
fn confluent_python_client_on_sqlite_as_8x() {
    on_sqlite("8");
}

#[test]
fn confluent_python_client_on_postgres_as_8x() {
    on_postgres("8");
}
