//! The real `herald` binary on real files: output, formats and exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn herald(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the herald binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const P: &str = "schemas/payment-completed";

#[test]
fn compatible_change_exits_0() {
    let out = herald(&[
        "compat",
        &format!("{P}/proposals/add-optional-refund-policy.avsc"),
        "--previous",
        &format!("{P}/history/v1.avsc"),
        "--previous",
        &format!("{P}/history/v2.avsc"),
        "--previous",
        &format!("{P}/value.avsc"),
        "--level",
        "FULL_TRANSITIVE",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("compatible:"), "{}", stdout(&out));
}

#[test]
fn breaking_change_exits_1_and_explains() {
    let out = herald(&[
        "compat",
        &format!("{P}/proposals/remove-order-id.avsc"),
        "-p",
        &format!("{P}/history/v2.avsc"),
        "-p",
        &format!("{P}/value.avsc"),
        "--level",
        "full-transitive",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("INCOMPATIBLE:"), "{text}");
    assert!(
        text.contains("READER_FIELD_MISSING_DEFAULT_VALUE (forward, against v2: schemas/payment-completed/value.avsc)"),
        "{text}"
    );
    assert!(
        text.contains("Consumers still on version 1 cannot read events written with the new schema: field 'order_id'"),
        "{text}"
    );
    assert!(text.contains("old schema at /fields/1"), "{text}");
    assert!(text.contains("\n    field: order_id\n"), "{text}");
    assert!(text.contains("fix: Keep producing 'order_id'"), "{text}");
}

#[test]
fn json_output_is_machine_readable() {
    let out = herald(&[
        "compat",
        "schemas/order-placed/proposals/cap-quantity.json",
        "--previous",
        "schemas/order-placed/history/v1.json",
        "--previous",
        "schemas/order-placed/value.json",
        "--level",
        "BACKWARD_TRANSITIVE",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    assert_eq!(report["compatible"], false);
    assert_eq!(report["level"], "BACKWARD_TRANSITIVE");
    let found = report["incompatibilities"].as_array().expect("a list");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["rule"], "MAXIMUM_ADDED");
    assert_eq!(found[0]["version"], 2);
    assert_eq!(found[0]["file"], "schemas/order-placed/value.json");
    assert_eq!(found[0]["new_pointer"], "/definitions/line/properties/quantity");
    // The definition is named by where the event holds it: the quantity of each line.
    assert_eq!(found[0]["field"], "lines[].quantity");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("at field 'lines[].quantity', maximum"),
        "{report:#}"
    );
    assert_eq!(found[1]["version"], 1);
    let messages = report["confluent_messages"].as_array().expect("a list");
    assert!(messages[0].as_str().unwrap().starts_with("{errorType:'MAXIMUM_ADDED'"));
    assert_eq!(messages[1], "{oldSchemaVersion: 2}");
}

#[test]
fn compat_without_a_previous_version_judges_a_first_version() {
    for level in ["BACKWARD", "FULL_TRANSITIVE", "NONE"] {
        let out = herald(&["compat", &format!("{P}/value.avsc"), "--level", level]);
        assert_eq!(out.status.code(), Some(0), "{level}: {}", stderr(&out));
        assert_eq!(
            stdout(&out),
            "compatible: schemas/payment-completed/value.avsc (first version: nothing to be compatible with)\n"
        );
    }
    let out = herald(&["compat", "schemas/order-placed/value.json", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    assert_eq!(
        report,
        serde_json::json!({
            "compatible": true,
            "level": "BACKWARD",
            "checked": [],
            "incompatibilities": [],
            "confluent_messages": [],
            "first_version": true,
            "message": "first version: nothing to be compatible with",
        })
    );
    // With a previous version, the JSON says it is not a first version.
    let out = herald(&[
        "compat",
        &format!("{P}/value.avsc"),
        "-p",
        &format!("{P}/value.avsc"),
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    assert_eq!(report["first_version"], false);
    assert!(report.get("message").is_none(), "{report:#}");
}

#[test]
fn diff_prints_changes_and_exits_0() {
    let out = herald(&["diff", &format!("{P}/history/v1.avsc"), &format!("{P}/value.avsc")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FIELD_ADDED"), "{text}");
    assert!(text.contains("customer_id"), "{text}");
    assert!(text.contains("ENUM_SYMBOL_ADDED"), "{text}");

    let out = herald(&[
        "diff",
        "schemas/order-placed/value.json",
        "schemas/order-placed/proposals/remove-customer-id.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let changes = diff["changes"].as_array().expect("a list");
    assert!(
        changes
            .iter()
            .any(|c| c["kind"] == "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
                && c["backward"] == "breaking"
                && c["field"] == "customer_id"
                && c["old_pointer"] == "/properties/customer_id"),
        "{diff:#}"
    );
}

#[test]
fn usage_and_parse_errors_exit_2() {
    // Unknown level.
    let out = herald(&[
        "compat",
        &format!("{P}/value.avsc"),
        "--previous",
        &format!("{P}/value.avsc"),
        "--level",
        "SIDEWAYS",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown compatibility level \"SIDEWAYS\""),
        "{}",
        stderr(&out)
    );
    // No previous version, and a new schema that does not parse: still an error.
    let out = herald(&["compat", "README.md", "--type", "avro"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("README.md: "), "{}", stderr(&out));
    // Missing file.
    let out = herald(&["compat", "nope.avsc", "--previous", &format!("{P}/value.avsc")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.avsc"), "{}", stderr(&out));
    // Unknown extension without --type.
    let out = herald(&["diff", "README.md", "README.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --type avro|json"), "{}", stderr(&out));
}

#[test]
fn broken_schema_file_exits_2_naming_file_and_place() {
    let dir = std::env::temp_dir().join(format!("herald-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let broken = dir.join("broken.avsc");
    std::fs::write(
        &broken,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}"#,
    )
    .expect("write");
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join(P).join("value.avsc");
    let out = herald(&["compat", broken.to_str().unwrap(), "--previous", ok.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("broken.avsc: at /fields/0/type: undefined name \"Nope\""),
        "{err}"
    );
    // --type overrides the extension.
    let as_json = dir.join("schema.txt");
    std::fs::write(&as_json, r#"{"type":"string"}"#).expect("write");
    let out = herald(&[
        "compat",
        as_json.to_str().unwrap(),
        "--previous",
        as_json.to_str().unwrap(),
        "--type",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn references_on_the_command_line() {
    let dir = std::env::temp_dir().join(format!("herald-cli-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let money = dir.join("money.avsc");
    std::fs::write(
        &money,
        r#"{"type":"record","name":"Money","fields":[{"name":"cents","type":"long"}]}"#,
    )
    .expect("write");
    let v1 = dir.join("v1.avsc");
    let v2 = dir.join("v2.avsc");
    std::fs::write(
        &v1,
        r#"{"type":"record","name":"P","fields":[{"name":"total","type":"Money"}]}"#,
    )
    .expect("write");
    std::fs::write(
        &v2,
        r#"{"type":"record","name":"P","fields":[{"name":"total","type":"Money"},{"name":"n","type":"int"}]}"#,
    )
    .expect("write");
    let reference = format!("money.avsc={}", money.display());
    let out = herald(&[
        "compat",
        v2.to_str().unwrap(),
        "-p",
        v1.to_str().unwrap(),
        "-r",
        &reference,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("READER_FIELD_MISSING_DEFAULT_VALUE"));
    let out = herald(&["compat", v2.to_str().unwrap(), "-p", v1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
