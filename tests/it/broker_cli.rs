//! `herald topics`, `herald produce` and `herald consume` against a running server.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::serve::{http, Server};

fn herald(server: &Server, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env("HERALD_SERVER", format!("http://{}", server.address))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run herald");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("wait for herald")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn topics_produce_and_consume_from_the_command_line() {
    let server = Server::start(&[]);
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas");
    let applied = herald(&server, &["topics", "apply", schemas], "");
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let report = text(&applied.stdout);
    assert!(report.contains("order-placed: created"), "{report}");
    assert!(
        report.contains("payment-completed-value: compatibility FULL_TRANSITIVE"),
        "{report}"
    );
    // Applying again updates the existing topics to what the files say.
    let again = herald(&server, &["topics", "apply", schemas], "");
    assert!(
        text(&again.stdout).contains("order-placed: updated"),
        "{}",
        text(&again.stdout)
    );
    let (_, described) = http(&server.address, "GET", "/topics/payment-completed", None);
    assert_eq!(described["owner"], "payments-team");
    assert_eq!(described["contact"], "#payments on chat, payments@acme.example");
    assert_eq!(described["examples"][0]["name"], "card-payment");
    assert_eq!(described["partitions"].as_array().unwrap().len(), 6);
    assert_eq!(described["configs"]["retention.ms"], (14 * 86_400_000i64).to_string());
    assert_eq!(
        http(&server.address, "GET", "/config/payment-completed-value", None).1,
        json!({"compatibilityLevel": "FULL_TRANSITIVE"})
    );

    let created = herald(
        &server,
        &["topics", "create", "audit", "--partitions", "2", "--retention", "30d"],
        "",
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    let listed = text(&herald(&server, &["topics", "list"], "").stdout);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        vec![
            "audit",
            "order-placed",
            "payment-completed",
            "shipment-dispatched",
            "stock-adjusted"
        ]
    );

    let produced = herald(
        &server,
        &["produce", "audit", "--key", "user-1"],
        "{\"n\":1}\n{\"n\":2}\n\n{\"n\":3}\n",
    );
    assert_eq!(produced.status.code(), Some(0), "{}", text(&produced.stderr));
    assert!(text(&produced.stderr).contains("produced 3 record(s) to audit"));
    let consumed = herald(
        &server,
        &[
            "consume",
            "audit",
            "--group",
            "auditors",
            "--from-beginning",
            "--max",
            "3",
        ],
        "",
    );
    assert_eq!(consumed.status.code(), Some(0), "{}", text(&consumed.stderr));
    assert_eq!(text(&consumed.stdout), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    // The group committed: a second run waits for new records only.
    herald(&server, &["produce", "audit", "--key", "user-1"], "{\"n\":4}\n");
    let resumed = herald(
        &server,
        &["consume", "audit", "--group", "auditors", "--idle-ms", "500"],
        "",
    );
    assert_eq!(text(&resumed.stdout), "{\"n\":4}\n");

    // Invalid records against a registered schema: exit 1, each named by line and place.
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    http(
        &server.address,
        "POST",
        "/subjects/audit-value/versions",
        Some(&json!({"schemaType": "JSON", "schema": schema.to_string()})),
    );
    let refused = herald(&server, &["produce", "audit"], "{\"n\":5}\n{\"n\":\"six\"}\n");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("stdin:2: value/n:"), "{stderr}");

    // Usage, parse and network problems exit 2.
    assert_eq!(
        herald(&server, &["produce", "audit"], "{not json\n").status.code(),
        Some(2)
    );
    assert_eq!(
        herald(&server, &["topics", "describe", "nope"], "").status.code(),
        Some(2)
    );
    let unreachable = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["topics", "list", "--server", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(text(&unreachable.stderr).contains("cannot reach the server"));
    let deleted = herald(&server, &["topics", "delete", "audit"], "");
    assert_eq!(deleted.status.code(), Some(0));
}

#[test]
fn subject_name_strategies_are_set_from_the_command_line_and_topic_files() {
    let server = Server::start(&[]);
    let created = herald(
        &server,
        &["topics", "create", "events", "--value-subject-strategy", "record"],
        "",
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    let (_, described) = http(&server.address, "GET", "/topics/events", None);
    assert_eq!(
        described["configs"]["value.subject.name.strategy"],
        "RecordNameStrategy"
    );
    assert_eq!(described["configs"]["key.subject.name.strategy"], "TopicNameStrategy");
    let refused = herald(
        &server,
        &["topics", "create", "other", "--key-subject-strategy", "records"],
        "",
    );
    // A request the server refuses exits 2, as every failed topics command does.
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("records"), "{}", text(&refused.stderr));

    let dir = crate::registry_support::temp_dir("herald-topics-apply");
    std::fs::create_dir_all(dir.join("ledger")).unwrap();
    std::fs::write(
        dir.join("ledger/topic.toml"),
        "owner = \"finance\"\nkey_subject_strategy = \"topic_record\"\n",
    )
    .unwrap();
    let applied = herald(&server, &["topics", "apply", dir.to_str().unwrap()], "");
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let (_, described) = http(&server.address, "GET", "/topics/ledger", None);
    assert_eq!(
        described["configs"]["key.subject.name.strategy"],
        "TopicRecordNameStrategy"
    );
    assert_eq!(described["configs"]["value.subject.name.strategy"], "TopicNameStrategy");
}
