//! The CI workflow on real git repositories: `herald check` offline against git history and
//! against a live server, `herald register`, `herald validate`; every output format
//! snapshotted, SARIF checked against the official schema, and each kind of failure giving
//! exit 2 with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::registry_support::temp_dir;
use crate::serve::Server;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn git(repo: &Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=ci",
            "-c",
            "user.email=ci@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A git repository holding the example `schemas/` on `main`, one commit.
fn repository() -> PathBuf {
    let repo = temp_dir("herald-ci-repo");
    copy_dir(&manifest().join("schemas"), &repo.join("schemas"));
    std::fs::write(repo.join("herald.toml"), "default_compatibility = \"BACKWARD\"\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "contracts"]);
    repo
}

/// Replaces a topic's value schema with one of its proposals, as a pull request would.
fn propose(repo: &Path, topic: &str, proposal: &str) {
    let dir = repo.join("schemas").join(topic);
    let extension = if proposal.ends_with(".avsc") { "avsc" } else { "json" };
    std::fs::copy(
        dir.join("proposals").join(proposal),
        dir.join(format!("value.{extension}")),
    )
    .unwrap();
}

fn herald(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(repo)
        .args(args)
        .env_remove("HERALD_SERVER")
        .output()
        .expect("run herald")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn offline_check_passes_a_compatible_change_and_fails_a_breaking_one() {
    let repo = repository();
    let clean = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(clean.status.code(), Some(0), "{}{}", stdout(&clean), stderr(&clean));
    assert!(
        stdout(&clean).contains("herald check: 5 files checked, 0 errors"),
        "{}",
        stdout(&clean)
    );

    propose(&repo, "payment-completed", "add-optional-refund-policy.avsc");
    let compatible = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(compatible.status.code(), Some(0), "{}", stdout(&compatible));

    propose(&repo, "payment-completed", "remove-order-id.avsc");
    let breaking = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(breaking.status.code(), Some(1), "{}", stdout(&breaking));
    let text = stdout(&breaking);
    assert!(
        text.contains("schemas/payment-completed/value.avsc:")
            && text.contains("error READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{text}"
    );
    assert!(text.contains("under FULL_TRANSITIVE, against main:"), "{text}");

    // A JSON Schema that tightens a limit, found against the level topic.toml names.
    propose(&repo, "order-placed", "cap-quantity.json");
    let capped = stdout(&herald(&repo, &["check", "--against", "git:main"]));
    assert!(
        capped.contains("schemas/order-placed/value.json:") && capped.contains("MAXIMUM_ADDED"),
        "{capped}"
    );

    // --against DIR reads the same layout from a directory.
    let baseline = temp_dir("herald-ci-baseline");
    copy_dir(&manifest().join("schemas"), &baseline);
    let against_dir = herald(&repo, &["check", "--against", baseline.to_str().unwrap()]);
    assert_eq!(against_dir.status.code(), Some(1), "{}", stdout(&against_dir));
    assert!(stdout(&against_dir).contains("READER_FIELD_MISSING_DEFAULT_VALUE"));
}

#[test]
fn every_output_format_of_a_breaking_change_matches_its_snapshot() {
    let repo = repository();
    propose(&repo, "payment-completed", "remove-order-id.avsc");
    std::fs::write(
        repo.join("schemas/order-placed/examples/bad.json"),
        "{\n  \"order_id\": \"o-1\",\n  \"customer_id\": \"c-1\",\n  \"lines\": [{\"sku\": \"A\", \"quantity\": \"two\"}],\n  \"placed_at\": \"2026-11-27T09:30:00Z\"\n}\n",
    )
    .unwrap();
    for format in ["human", "json", "github", "junit", "sarif"] {
        let output = herald(&repo, &["check", "--against", "git:main", "--format", format]);
        assert_eq!(output.status.code(), Some(1), "{format}: {}", stderr(&output));
        insta::assert_snapshot!(format!("check_{format}"), stdout(&output));
    }
    let github = stdout(&herald(
        &repo,
        &["check", "--against", "git:main", "--format", "github"],
    ));
    assert!(
        github.contains("::error file=schemas/order-placed/examples/bad.json,line=4,title=EXAMPLE_INVALID::"),
        "{github}"
    );
    let sarif: Value = serde_json::from_str(&stdout(&herald(
        &repo,
        &["check", "--against", "git:main", "--format", "sarif"],
    )))
    .unwrap();
    check_sarif_schema(&sarif);
}

#[test]
fn a_nested_incompatibility_names_its_field_in_every_format() {
    let repo = repository();
    // The shipment's address.city becomes an int, and its postal_code is renamed.
    let file = repo.join("schemas/shipment-dispatched/value.avsc");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let address = &mut schema["fields"][4]["type"]["fields"];
    assert_eq!(address[1]["name"], "city");
    address[1]["type"] = json!("int");
    assert_eq!(address[2]["name"], "postal_code");
    address[2]["name"] = json!("zip");
    std::fs::write(&file, serde_json::to_string_pretty(&schema).unwrap()).unwrap();

    let run = |format: &str| {
        let output = herald(&repo, &["check", "--against", "git:main", "--format", format]);
        assert_eq!(output.status.code(), Some(1), "{format}: {}", stderr(&output));
        stdout(&output)
    };
    let city = "at field 'address.city', a string value cannot be read as int";
    let rename = r#"Add "aliases": ["postal_code"] to the field 'zip'"#;

    let human = run("human");
    assert!(human.contains(city), "{human}");
    assert!(
        human.contains("\n    at address.city (/fields/4/type/fields/1/type)\n"),
        "{human}"
    );
    assert!(
        human.contains("\n    at address.zip (/fields/4/type/fields/2)\n"),
        "{human}"
    );
    assert!(human.contains(rename), "{human}");

    let report: Value = serde_json::from_str(&run("json")).unwrap();
    let errors: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["field"].as_str().unwrap_or("(none)"),
                f["pointer"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("TYPE_MISMATCH", "address.city", "/fields/4/type/fields/1/type"),
            (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "address.zip",
                "/fields/4/type/fields/2"
            ),
            // The example's pointer is into the event, not the schema: no schema field.
            ("EXAMPLE_INVALID", "(none)", "/address/city"),
        ]
    );

    let github = run("github");
    assert!(github.contains(city), "{github}");
    assert!(
        github.contains("It looks like field 'postal_code' renamed to 'zip'"),
        "{github}"
    );

    let junit = run("junit");
    assert!(junit.contains(&city.replace('\'', "&apos;")), "{junit}");
    assert!(
        junit.contains("field &apos;address.zip&apos; is not in them"),
        "{junit}"
    );

    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let fields: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error" && r["ruleId"] != "EXAMPLE_INVALID")
        .map(|r| r["properties"]["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["address.city", "address.zip"]);
}

/// Validates a SARIF log against the official SARIF 2.1.0 schema, which `.ci/run` installs
/// with `npm ci --prefix tests/sarif` (Microsoft's SARIF multitool ships it).
fn check_sarif_schema(sarif: &Value) {
    let schema_file = manifest().join("tests/sarif/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json");
    let Ok(text) = std::fs::read_to_string(&schema_file) else {
        crate::support::skip("the SARIF schema check needs `npm ci --prefix tests/sarif` (as .ci/run does)");
        return;
    };
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF output does not match the 2.1.0 schema: {errors:#?}"
    );
    // The check can fail: a level SARIF does not know is refused.
    let mut wrong = sarif.clone();
    if sarif["runs"][0]["results"].as_array().is_some_and(|r| !r.is_empty()) {
        wrong["runs"][0]["results"][0]["level"] = Value::String("fatal".to_string());
    } else {
        wrong["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["level"] =
            Value::String("fatal".to_string());
    }
    assert!(
        !validator.is_valid(&wrong),
        "the schema check accepted an unknown level"
    );
}

#[test]
fn check_against_a_live_registry_and_register_after_merge() {
    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let repo = repository();

    // Merging to main registers every schema; a second run changes nothing.
    let registered = herald(&repo, &["register", "--server", &url]);
    assert_eq!(
        registered.status.code(),
        Some(0),
        "{}{}",
        stdout(&registered),
        stderr(&registered)
    );
    let table = stdout(&registered);
    assert!(
        table.contains("payment-completed-value") && table.contains("registered"),
        "{table}"
    );
    assert!(table.contains("5 registered, 0 unchanged, 0 refused"), "{table}");
    let again = stdout(&herald(&repo, &["register", "--server", &url]));
    assert!(again.contains("0 registered, 5 unchanged, 0 refused"), "{again}");
    // A level changed only in topic.toml still reaches the registry.
    let toml = repo.join("schemas/shipment-dispatched/topic.toml");
    let settings = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        settings.replace("compatibility = \"BACKWARD\"", "compatibility = \"FULL\""),
    )
    .unwrap();
    herald(&repo, &["register", "--server", &url]);
    let (_, config) = crate::serve::http(&server.address, "GET", "/config/shipment-dispatched-value", None);
    assert_eq!(config["compatibilityLevel"], "FULL");
    std::fs::write(&toml, settings).unwrap();

    // A pull request with a compatible change passes, a breaking one fails with the line.
    propose(&repo, "payment-completed", "add-optional-refund-policy.avsc");
    let compatible = herald(&repo, &["check", "--server", &url]);
    assert_eq!(compatible.status.code(), Some(0), "{}", stdout(&compatible));
    let dry = herald(&repo, &["register", "--server", &url, "--dry-run"]);
    assert!(
        stdout(&dry).contains("dry run: 1 would register, 4 unchanged, 0 would be refused"),
        "{}",
        stdout(&dry)
    );

    propose(&repo, "payment-completed", "remove-order-id.avsc");
    let breaking = herald(&repo, &["check", "--server", &url, "--format", "json"]);
    assert_eq!(breaking.status.code(), Some(1), "{}", stdout(&breaking));
    let report: Value = serde_json::from_str(&stdout(&breaking)).unwrap();
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    // The removal breaks version 1's readers, and the stored example still carries the field.
    let rules: Vec<&str> = errors.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        ["READER_FIELD_MISSING_DEFAULT_VALUE", "EXAMPLE_INVALID"],
        "{report}"
    );
    let finding = errors[0];
    assert_eq!(finding["file"], "schemas/payment-completed/value.avsc");
    assert_eq!(finding["subject"], "payment-completed-value");
    assert!(finding["line"].as_u64().is_some(), "{finding}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("payment-completed-value version 1"),
        "{finding}"
    );

    let dry = herald(&repo, &["register", "--server", &url, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", stdout(&dry));
    assert!(
        stdout(&dry).contains("READER_FIELD_MISSING_DEFAULT_VALUE (under FULL_TRANSITIVE, against version 1)")
            && stdout(&dry).contains("dry run: 0 would register, 4 unchanged, 1 would be refused"),
        "{}",
        stdout(&dry)
    );
    let refused = herald(&repo, &["register", "--server", &url]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(stdout(&refused).contains("refused"), "{}", stdout(&refused));

    // Events checked against the subject on the registry before producing.
    let events = repo.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"order_id\":\"o\",\"customer_id\":\"c\",\"lines\":[{\"sku\":\"A\",\"quantity\":1}],\"placed_at\":\"2026-11-27T09:30:00Z\"}\n\
         \n\
         {\"order_id\":\"o\",\"lines\":[]}\n\
         not json\n",
    )
    .unwrap();
    let validated = herald(
        &repo,
        &[
            "validate",
            "--subject",
            "order-placed-value",
            "--server",
            &url,
            events.to_str().unwrap(),
        ],
    );
    assert_eq!(
        validated.status.code(),
        Some(1),
        "{}{}",
        stdout(&validated),
        stderr(&validated)
    );
    let text = stdout(&validated);
    assert!(text.contains("events.jsonl:3: error EVENT_INVALID"), "{text}");
    assert!(
        text.contains("events.jsonl:4: error EVENT_INVALID") && text.contains("not JSON"),
        "{text}"
    );
    assert!(!text.contains("events.jsonl:1:"), "{text}");

    // An unknown subject is an error of the command, not of the events.
    let unknown = herald(
        &repo,
        &[
            "validate",
            "--subject",
            "nope-value",
            "--server",
            &url,
            events.to_str().unwrap(),
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("nope-value") && stderr(&unknown).contains("not found"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn validate_reads_a_schema_file_and_standard_input() {
    let schema = manifest().join("schemas/payment-completed/value.avsc");
    let example =
        std::fs::read_to_string(manifest().join("schemas/payment-completed/examples/card-payment.json")).unwrap();
    let event: Value = serde_json::from_str(&example).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["validate", "--schema", schema.to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut broken = event.clone();
    broken["amount"]["units"] = Value::String("lots".to_string());
    let input = format!("{event}\n{broken}\n");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("stdin:2: error EVENT_INVALID") && text.contains("/amount/units"),
        "{text}"
    );
    assert!(text.contains("1 file checked, 1 error"), "{text}");
}

/// Protobuf events are read in proto3's JSON mapping, as the schema's first message.
#[test]
fn validate_reads_protobuf_events_as_json() {
    let schema = manifest().join("schemas/stock-adjusted/value.proto");
    let example = std::fs::read_to_string(manifest().join("schemas/stock-adjusted/examples/restock.json")).unwrap();
    let event: Value = serde_json::from_str(&example).unwrap();
    let mut wrong_type = event.clone();
    wrong_type["delta"] = Value::String("a dozen".to_string());
    let mut unknown = event.clone();
    unknown["shelfLife"] = Value::from(30);
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["validate", "--schema", schema.to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!("{event}\n{wrong_type}\n{unknown}\n");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(!text.contains("stdin:1:"), "{text}");
    assert!(
        text.contains("stdin:2: error EVENT_INVALID") && text.contains("acme.inventory.StockAdjusted"),
        "{text}"
    );
    assert!(
        text.contains("stdin:3: error EVENT_INVALID") && text.contains("shelfLife"),
        "{text}"
    );
    assert!(text.contains("1 file checked, 2 errors"), "{text}");
}

#[test]
fn broken_inputs_and_unreachable_services_exit_2_with_a_clear_message() {
    let repo = repository();
    for (args, expected) in [
        (
            vec!["check", "--against", "git:no-such-branch"],
            "git revision \"no-such-branch\" not found",
        ),
        (
            vec!["check", "--server", "http://127.0.0.1:9"],
            "cannot reach the server",
        ),
        (
            vec!["register", "--server", "http://127.0.0.1:9"],
            "cannot reach the server",
        ),
        (vec!["check"], "say what to check against"),
        (vec!["check", "no-such-dir", "--against", "git:main"], "no-such-dir"),
        (vec!["validate", "--schema", "missing.avsc", "x"], "missing.avsc"),
    ] {
        let output = herald(&repo, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
    // A schema that does not parse is placed in the report, and the run is an error.
    std::fs::write(
        repo.join("schemas/payment-completed/value.avsc"),
        "{\n  \"type\": \"record\",\n  \"name\": 7\n}\n",
    )
    .unwrap();
    let broken = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(broken.status.code(), Some(2), "{}", stdout(&broken));
    assert!(
        stdout(&broken).contains("schemas/payment-completed/value.avsc:3: error SCHEMA_INVALID"),
        "{}",
        stdout(&broken)
    );
    assert!(
        stderr(&broken).contains("1 schema file could not be parsed"),
        "{}",
        stderr(&broken)
    );
}

/// A repository where `payments` uses the `Money` record of `money` through a reference.
fn repository_with_references() -> PathBuf {
    let repo = temp_dir("herald-ci-refs");
    let money = repo.join("schemas/money");
    let payments = repo.join("schemas/payments");
    std::fs::create_dir_all(&money).unwrap();
    std::fs::create_dir_all(&payments).unwrap();
    std::fs::write(
        money.join("value.avsc"),
        r#"{"type": "record", "name": "Money", "namespace": "com.acme", "doc": "An amount.", "fields": [
  {"name": "units", "type": "long", "doc": "Minor units."},
  {"name": "currency", "type": "string", "doc": "ISO 4217 code."}
]}
"#,
    )
    .unwrap();
    std::fs::write(
        payments.join("value.avsc"),
        r#"{"type": "record", "name": "Payment", "namespace": "com.acme", "fields": [
  {"name": "id", "type": "string", "doc": "Payment id."},
  {"name": "amount", "type": "com.acme.Money", "doc": "What was paid."}
]}
"#,
    )
    .unwrap();
    std::fs::write(
        payments.join("topic.toml"),
        "compatibility = \"FULL\"\n[[references]]\nname = \"com.acme.Money\"\ntopic = \"money\"\n",
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "contracts"]);
    repo
}

#[test]
fn references_between_files_resolve_register_in_order_and_are_checked() {
    let repo = repository_with_references();
    let clean = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(clean.status.code(), Some(0), "{}{}", stdout(&clean), stderr(&clean));
    assert!(
        stdout(&clean).contains("2 files checked, 0 errors"),
        "{}",
        stdout(&clean)
    );

    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let registered = herald(&repo, &["register", "--server", &url]);
    assert_eq!(
        registered.status.code(),
        Some(0),
        "{}{}",
        stdout(&registered),
        stderr(&registered)
    );
    let table = stdout(&registered);
    assert!(
        table.find("money-value").unwrap() < table.find("payments-value").unwrap(),
        "{table}"
    );
    let (_, version) = crate::serve::http(&server.address, "GET", "/subjects/payments-value/versions/1", None);
    assert_eq!(
        version["references"],
        serde_json::json!([{"name": "com.acme.Money", "subject": "money-value", "version": 1}])
    );
    let again = stdout(&herald(&repo, &["register", "--server", &url]));
    assert!(again.contains("0 registered, 2 unchanged"), "{again}");

    // A referenced file changing is checked like any other, offline and against the server.
    let money = repo.join("schemas/money/value.avsc");
    let text = std::fs::read_to_string(&money).unwrap();
    std::fs::write(&money, text.replace("\"type\": \"long\"", "\"type\": \"string\"")).unwrap();
    for mode in [["--against", "git:main"], ["--server", url.as_str()]] {
        let broken = herald(&repo, &["check", mode[0], mode[1]]);
        assert_eq!(broken.status.code(), Some(1), "{mode:?}: {}", stdout(&broken));
        assert!(
            stdout(&broken).contains("schemas/money/value.avsc:2: error"),
            "{mode:?}: {}",
            stdout(&broken)
        );
    }
    std::fs::write(&money, text).unwrap();

    // A reference to nothing is reported on the topic.toml that makes it.
    let toml = repo.join("schemas/payments/topic.toml");
    std::fs::write(&toml, "[[references]]\nname = \"com.acme.Money\"\ntopic = \"nope\"\n").unwrap();
    let unresolved = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(unresolved.status.code(), Some(1), "{}", stdout(&unresolved));
    assert!(
        stdout(&unresolved).contains("schemas/payments/topic.toml: error REFERENCE_UNRESOLVED")
            && stdout(&unresolved).contains("names nope/value, which has no schema"),
        "{}",
        stdout(&unresolved)
    );
}

#[test]
fn check_finds_the_schemas_from_a_repository_root_or_the_schema_folder() {
    let repo = repository();
    // A root may hold other folders with a value.json; its schemas/ is still the one read.
    std::fs::create_dir_all(repo.join("fixtures")).unwrap();
    std::fs::write(repo.join("fixtures/value.json"), "{}").unwrap();
    // The repository root, named or by default, and the schema folder itself.
    for (cwd, args, file) in [
        (
            repo.clone(),
            vec!["check", "--against", "git:main"],
            "schemas/payment-completed/value.avsc",
        ),
        (
            repo.clone(),
            vec!["check", ".", "--against", "git:main"],
            "schemas/payment-completed/value.avsc",
        ),
        (
            repo.clone(),
            vec!["check", "schemas", "--against", "git:main"],
            "schemas/payment-completed/value.avsc",
        ),
        (
            repo.join("schemas"),
            vec!["check", "--against", "git:main"],
            "payment-completed/value.avsc",
        ),
    ] {
        let output = herald(&cwd, &[args.as_slice(), &["--format", "json"]].concat());
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(report["checked"].as_array().unwrap().len(), 5, "{args:?}: {report:#}");
        assert!(
            report["checked"].as_array().unwrap().iter().any(|c| c["file"] == file),
            "{args:?}: {report:#}"
        );
    }

    // A herald.toml that says where the schemas are, with its other keys still applied.
    std::fs::rename(repo.join("schemas"), repo.join("contracts")).unwrap();
    std::fs::write(
        repo.join("herald.toml"),
        "schemas = \"contracts\"\ndefault_compatibility = \"BACKWARD\"\n[lint]\nFIELD_UNDOCUMENTED = \"error\"\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "move the schemas"]);
    let moved = herald(&repo, &["check", "--against", "git:main"]);
    let text = stdout(&moved);
    assert!(
        text.contains("herald check: 5 files checked"),
        "{text}{}",
        stderr(&moved)
    );
    assert!(text.contains("contracts/order-placed/value.json:"), "{text}");
    assert!(
        text.contains("error FIELD_UNDOCUMENTED"),
        "herald.toml's lint severities apply: {text}"
    );
}

#[test]
fn a_check_that_finds_no_schema_fails_in_every_format_naming_where_it_looked() {
    let empty = temp_dir("herald-ci-empty");
    let shown = empty.display().to_string();
    for format in ["human", "json", "github", "junit", "sarif"] {
        let output = herald(&empty, &["check", &shown, "--against", "git:main", "--format", format]);
        assert_eq!(output.status.code(), Some(2), "{format}: {}", stdout(&output));
        let err = stderr(&output);
        let looked = format!(
            "no schema file found (<topic>/value.avsc, value.json, value.proto or key.*); looked in {shown} and {shown}/schemas (no such directory)"
        );
        assert!(err.contains(&format!("error: {looked}")), "{format}: {err}");
        let out = stdout(&output);
        match format {
            "human" => assert_eq!(out, "", "the error is on standard error"),
            "json" => {
                let report: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(report["error"], looked.as_str(), "{report:#}");
                assert_eq!(report["checked"], serde_json::json!([]));
            }
            "github" => assert!(
                out.starts_with(&format!("::error title=herald check::{looked}\n"))
                    && out.ends_with("herald check: 0 checked, 0 errors, 0 warnings, and the run failed\n"),
                "{out}"
            ),
            "junit" => assert!(
                out.contains(r#"<testsuite name="herald check" tests="1" failures="0" errors="1">"#)
                    && out.contains(&format!(
                        r#"<error type="HERALD_FAILED" message="no schema file found (&lt;topic&gt;/value.avsc, value.json, value.proto or key.*); looked in {shown} and {shown}/schemas (no such directory)">"#
                    )),
                "{out}"
            ),
            _ => {
                let sarif: Value = serde_json::from_str(&out).unwrap();
                let invocation = &sarif["runs"][0]["invocations"][0];
                assert_eq!(invocation["executionSuccessful"], false, "{sarif:#}");
                assert_eq!(invocation["exitCode"], 2);
                assert_eq!(invocation["toolExecutionNotifications"][0]["level"], "error");
                assert_eq!(
                    invocation["toolExecutionNotifications"][0]["message"]["text"],
                    looked.as_str()
                );
                assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
                check_sarif_schema(&sarif);
            }
        }
    }

    // A schemas/ folder in another layout (files not in topic folders) is found empty too.
    std::fs::create_dir_all(empty.join("schemas")).unwrap();
    std::fs::write(empty.join("schemas/orders.avsc"), "\"string\"").unwrap();
    let flat = herald(&empty, &["check", "--against", "git:main"]);
    assert_eq!(flat.status.code(), Some(2));
    assert!(
        stderr(&flat).contains(
            "no schema file found (<topic>/value.avsc, value.json, value.proto or key.*); looked in . and schemas\n"
        ),
        "{}",
        stderr(&flat)
    );

    // A folder herald.toml names, and nothing else, is where the schemas must be.
    std::fs::write(empty.join("herald.toml"), "schemas = \"contracts\"\n").unwrap();
    let named = herald(&empty, &["check", "--against", "git:main"]);
    assert_eq!(named.status.code(), Some(2));
    assert!(
        stderr(&named).contains("looked in contracts (named by ./herald.toml; no such directory)"),
        "{}",
        stderr(&named)
    );

    // register and topics apply look the same way.
    for args in [
        vec!["register", "--server", "http://127.0.0.1:9"],
        vec!["topics", "apply", "--server", "http://127.0.0.1:9"],
    ] {
        let output = herald(&empty, &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains("looked in contracts (named by ./herald.toml; no such directory)"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    std::fs::remove_file(empty.join("herald.toml")).unwrap();
    let registered = herald(
        &empty,
        &["register", "--server", "http://127.0.0.1:9", "--format", "json"],
    );
    assert_eq!(registered.status.code(), Some(2));
    let report: Value = serde_json::from_str(&stdout(&registered)).unwrap();
    assert_eq!(
        report["error"],
        "no schema file found (<topic>/value.avsc, value.json, value.proto or key.*); looked in . and schemas"
    );
    assert_eq!(report["results"], serde_json::json!([]));
    let applied = herald(&empty, &["topics", "apply", "--server", "http://127.0.0.1:9"]);
    assert_eq!(applied.status.code(), Some(2));
    assert!(
        stderr(&applied).contains("no topic file found (<topic>/topic.toml); looked in . and schemas"),
        "{}",
        stderr(&applied)
    );
}

#[test]
fn a_baseline_without_schemas_is_an_error_not_a_pass() {
    let repo = temp_dir("herald-ci-baseline-empty");
    std::fs::write(repo.join("README.md"), "contracts\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "before the schemas"]);
    copy_dir(&manifest().join("schemas"), &repo.join("schemas"));
    for format in ["human", "sarif"] {
        let output = herald(&repo, &["check", "--against", "git:main", "--format", format]);
        assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
        assert!(
            stderr(&output).contains(
                "error: nothing to check against: main:schemas holds no schema file (<topic>/value.avsc, value.json, value.proto or key.*); if this change adds the first schemas, pass --allow-empty-baseline (or check against a registry with --server)"
            ),
            "{}",
            stderr(&output)
        );
        if format == "sarif" {
            let sarif: Value = serde_json::from_str(&stdout(&output)).unwrap();
            assert_eq!(sarif["runs"][0]["invocations"][0]["executionSuccessful"], false);
        }
    }
    // Saying so makes it a repository's first schemas: each checked as a first version.
    let output = herald(&repo, &["check", "--against", "git:main", "--allow-empty-baseline"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("5 files checked, 0 errors"),
        "{}",
        stdout(&output)
    );
    // The same for a directory to compare with.
    let baseline = temp_dir("herald-ci-baseline-dir");
    let output = herald(&repo, &["check", "--against", baseline.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains(&format!(
            "--against {0}: no schema file found (<topic>/value.avsc, value.json, value.proto or key.*); looked in {0} and {0}/schemas (no such directory)",
            baseline.display()
        )),
        "{}",
        stderr(&output)
    );
    // A baseline given as a repository root is found like the schemas checked.
    copy_dir(&manifest().join("schemas"), &baseline.join("schemas"));
    let output = herald(&repo, &["check", "--against", baseline.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("5 files checked, 0 errors"),
        "{}",
        stdout(&output)
    );
}

/// A server that gives every request the same answer, as a proxy or a wrong port can: not
/// a registry.
fn not_a_registry(response: &'static str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{address}")
}

const EMPTY_200: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const HTML_404: &str =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";

/// One topic whose topic.toml names its level (so no level is asked of the server).
fn single_topic_repository() -> PathBuf {
    let repo = temp_dir("herald-ci-single");
    let topic = repo.join("schemas/audit");
    std::fs::create_dir_all(&topic).unwrap();
    std::fs::write(topic.join("value.avsc"), "\"string\"\n").unwrap();
    std::fs::write(topic.join("topic.toml"), "compatibility = \"BACKWARD\"\n").unwrap();
    repo
}

#[test]
fn a_server_that_is_not_a_registry_fails_every_command_instead_of_passing() {
    let repo = repository();
    let single = single_topic_repository();
    let empty_200 = not_a_registry(EMPTY_200);
    let html_404 = not_a_registry(HTML_404);
    let silent = not_a_registry("");
    let same_object = not_a_registry(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"instance_id\": \"i\"}",
    );
    let events = repo.join("events.jsonl");
    std::fs::write(&events, "\"x\"\n").unwrap();
    let events = events.to_str().unwrap();
    for (cwd, args, expected) in [
        (
            &repo,
            vec!["check", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /subjects/order-placed-value/versions without a schema registry's answer; is --server the registry's URL?"),
        ),
        (
            &single,
            vec!["check", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /subjects/audit-value/versions without a schema registry's answer"),
        ),
        (
            &single,
            vec!["check", "--server", &html_404],
            format!("the registry at {html_404} answered 404 for audit-value: (an answer that is not JSON)"),
        ),
        (
            &single,
            vec!["check", "--server", &silent],
            format!("the server at {silent} closed the connection without an HTTP answer"),
        ),
        (
            &single,
            vec!["register", "--server", &empty_200],
            format!("the server at {empty_200} answered POST /subjects/audit-value without a schema registry's answer"),
        ),
        (
            &single,
            vec!["register", "--server", &html_404],
            format!("setting audit-value to BACKWARD: the registry at {html_404} answered 404: (an answer that is not JSON)"),
        ),
        (
            &single,
            vec!["register", "--server", &html_404, "--dry-run"],
            format!("the server at {html_404} answered POST /subjects/audit-value without a schema registry's answer"),
        ),
        (
            &single,
            vec!["register", "--server", &empty_200, "--dry-run"],
            format!("the server at {empty_200} answered POST /subjects/audit-value without"),
        ),
        (
            &repo,
            vec!["validate", "--subject", "audit-value", "--server", &empty_200, events],
            format!("the server at {empty_200} answered GET /subjects/audit-value/versions/latest without a schema registry's answer"),
        ),
        (
            &repo,
            vec!["validate", "--subject", "audit-value", "--server", &html_404, events],
            format!("the registry at {html_404} answered 404 for audit-value"),
        ),
        (
            &repo,
            vec!["topics", "apply", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /topics without a list of topics"),
        ),
        (
            &repo,
            vec!["topics", "describe", "audit", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /topics/audit without a topic"),
        ),
        (
            &repo,
            vec!["topics", "list", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /topics without a list of topics"),
        ),
        (
            &repo,
            vec!["consume", "audit", "--max", "1", "--server", &empty_200],
            format!("the server at {empty_200} answered POST /consumers/herald-cli without a consumer instance"),
        ),
        (
            &repo,
            vec!["consume", "audit", "--max", "1", "--server", &same_object],
            format!("the server at {same_object} answered GET /consumers/herald-cli/instances/i/records without a list of records"),
        ),
        (
            &repo,
            vec!["produce", "audit", events, "--server", &empty_200],
            format!("producing to audit: the server at {empty_200} answered without the records' offsets"),
        ),
        (
            &repo,
            vec!["docs", "build", "--out", "site", "--server", &empty_200],
            format!("the server at {empty_200} answered GET /subjects with 200 and no list of subjects"),
        ),
    ] {
        let output = herald(cwd, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        assert!(stderr(&output).contains(&expected), "{args:?}: {}", stderr(&output));
    }
    assert!(!repo.join("site").exists(), "no site was written");
    // In the formats CI reads, the failure is in the report.
    let json = herald(&single, &["check", "--server", &empty_200, "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("without a schema registry's answer"),
        "{report:#}"
    );
    let junit = stdout(&herald(
        &single,
        &["check", "--server", &empty_200, "--format", "junit"],
    ));
    assert!(
        junit.contains(r#"errors="1""#) && junit.contains("HERALD_FAILED"),
        "{junit}"
    );
}

#[test]
fn validate_with_no_events_or_no_subject_fails_naming_what_it_looked_for() {
    let repo = repository();
    let schema = manifest().join("schemas/payment-completed/value.avsc");
    let empty = repo.join("empty.jsonl");
    std::fs::write(&empty, "\n  \n").unwrap();
    for format in ["human", "json", "github"] {
        let output = herald(
            &repo,
            &[
                "validate",
                "--schema",
                schema.to_str().unwrap(),
                "empty.jsonl",
                "--format",
                format,
            ],
        );
        assert_eq!(output.status.code(), Some(2), "{format}: {}", stdout(&output));
        let message = "no events to validate: empty.jsonl holds no event (one JSON value per line)";
        assert!(stderr(&output).contains(message), "{format}: {}", stderr(&output));
        match format {
            "json" => assert_eq!(
                serde_json::from_str::<Value>(&stdout(&output)).unwrap()["error"],
                message
            ),
            "github" => assert!(
                stdout(&output).starts_with(&format!("::error title=herald validate::{message}\n")),
                "{}",
                stdout(&output)
            ),
            _ => assert_eq!(stdout(&output), ""),
        }
    }

    // A subject the registry does not have: the server and subject are named, in the report too.
    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let unknown = herald(
        &repo,
        &[
            "validate",
            "--subject",
            "nope-value",
            "--server",
            &url,
            "empty.jsonl",
            "--format",
            "sarif",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    let expected = format!("the registry at {url} answered 404 for nope-value: Subject 'nope-value' not found.");
    assert!(stderr(&unknown).contains(&expected), "{}", stderr(&unknown));
    let sarif: Value = serde_json::from_str(&stdout(&unknown)).unwrap();
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
        expected.as_str()
    );
    check_sarif_schema(&sarif);

    // A server with nothing on it has no documentation to build; no site is written.
    let out = repo.join("site");
    let built = herald(
        &repo,
        &["docs", "build", "--out", out.to_str().unwrap(), "--server", &url],
    );
    assert_eq!(built.status.code(), Some(2), "{}", stdout(&built));
    assert!(
        stderr(&built).contains(&format!(
            "the server at {url} has no subjects and no topics: nothing to document, so no site was written"
        )),
        "{}",
        stderr(&built)
    );
    assert!(!out.exists());
}

/// A field default that does not match its type (which Confluent's registry accepts unless
/// told to validate defaults) is a `DEFAULT_MISMATCH` lint, not a parse error: a warning
/// by default, an error where `herald.toml` says so.
#[test]
fn mismatched_defaults_are_a_lint() {
    let repo = repository();
    let path = repo.join("schemas/payment-completed/value.avsc");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    schema["fields"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "channel", "type": "string", "default": null, "doc": "Where the customer paid."
    }));
    std::fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    let fields = schema["fields"].as_array().unwrap().len();
    // The examples leave the field out, so checking them would use the broken default.
    std::fs::remove_dir_all(repo.join("schemas/payment-completed/examples")).unwrap();

    let warned = herald(&repo, &["check", "--against", "git:main"]);
    let text = stdout(&warned);
    assert_eq!(warned.status.code(), Some(0), "{text}{}", stderr(&warned));
    assert!(
        text.contains("warning DEFAULT_MISMATCH")
            && text.contains(&format!("/fields/{}/default", fields - 1))
            && text.contains("the default of field \"channel\" does not match its type"),
        "{text}"
    );

    std::fs::write(
        repo.join("herald.toml"),
        "default_compatibility = \"BACKWARD\"\n[lint]\nDEFAULT_MISMATCH = \"error\"\n",
    )
    .unwrap();
    let refused = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains("error DEFAULT_MISMATCH"),
        "{}",
        stdout(&refused)
    );
}

/// A repository of `.proto` contracts: a topic's `value.proto` importing a shared file by
/// its path in the schema folder; `herald check` against git history passes a compatible
/// change and fails a breaking one with the finding on the offending line.
#[test]
fn protobuf_contracts_are_checked_with_imports_from_the_repository() {
    let repo = temp_dir("herald-ci-proto");
    let common = repo.join("schemas/common");
    let orders = repo.join("schemas/orders");
    std::fs::create_dir_all(&common).unwrap();
    std::fs::create_dir_all(&orders).unwrap();
    std::fs::write(
        common.join("money.proto"),
        "syntax = \"proto3\";\npackage common;\n\nmessage Money {\n  int64 minor = 1;\n  string currency = 2;\n}\n",
    )
    .unwrap();
    // google/type/ files are built in, as in the registry: no file in the tree, no reference.
    let v1 = "syntax = \"proto3\";\npackage shop;\n\nimport \"common/money.proto\"; import \"google/type/date.proto\";\n\n// An order, once placed.\nmessage OrderPlaced {\n  string id = 1;\n  common.Money total = 2;\n  int32 quantity = 3;\n  google.type.Date due = 5;\n}\n";
    std::fs::write(orders.join("value.proto"), v1).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "contracts"]);

    let clean = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(clean.status.code(), Some(0), "{}{}", stdout(&clean), stderr(&clean));

    // Registering after the merge: the imported file goes first, under a subject named by
    // its path (as Confluent's serializers name it), and the schema references it; the
    // built-in google/type/ import needs nothing. A second run changes nothing.
    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let registered = herald(&repo, &["register", "--server", &url, "--format", "json"]);
    assert_eq!(
        registered.status.code(),
        Some(0),
        "{}{}",
        stdout(&registered),
        stderr(&registered)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&registered)).unwrap();
    let outcomes: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["subject"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("common/money.proto".to_string(), "registered".to_string()),
            ("orders-value".to_string(), "registered".to_string())
        ]
    );
    let (_, latest) = crate::serve::http(&server.address, "GET", "/subjects/orders-value/versions/latest", None);
    assert_eq!(latest["schemaType"], "PROTOBUF");
    assert_eq!(
        latest["references"],
        serde_json::json!([{"name": "common/money.proto", "subject": "common/money.proto", "version": 1}])
    );
    let again = stdout(&herald(&repo, &["register", "--server", &url, "--format", "json"]));
    assert_eq!(again.matches("\"unchanged\"").count(), 2, "{again}");

    // A field added: compatible.
    let added = v1.replace("  int32 quantity = 3;\n", "  int32 quantity = 3;\n  string note = 4;\n");
    std::fs::write(orders.join("value.proto"), &added).unwrap();
    let compatible = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(
        compatible.status.code(),
        Some(0),
        "{}{}",
        stdout(&compatible),
        stderr(&compatible)
    );

    // quantity becomes a sint32: another wire encoding, found on its line (line 10).
    let broken = added.replace("int32 quantity = 3;", "sint32 quantity = 3;");
    std::fs::write(orders.join("value.proto"), &broken).unwrap();
    let breaking = herald(&repo, &["check", "--against", "git:main"]);
    assert_eq!(
        breaking.status.code(),
        Some(1),
        "{}{}",
        stdout(&breaking),
        stderr(&breaking)
    );
    let text = stdout(&breaking);
    assert!(
        text.contains("schemas/orders/value.proto:10: error FIELD_SCALAR_KIND_CHANGED"),
        "{text}"
    );
    let github = stdout(&herald(
        &repo,
        &["check", "--against", "git:main", "--format", "github"],
    ));
    assert!(github.contains("file=schemas/orders/value.proto,line=10"), "{github}");
    // Fields without a comment are linted on their own lines; none for a missing default.
    assert!(
        text.contains("schemas/orders/value.proto:8: warning FIELD_UNDOCUMENTED"),
        "{text}"
    );
    assert!(!text.contains("OPTIONAL_FIELD_WITHOUT_DEFAULT"), "{text}");

    // An import that is neither a file nor a reference is named.
    std::fs::write(
        orders.join("value.proto"),
        v1.replace("common/money.proto", "common/missing.proto"),
    )
    .unwrap();
    let missing = herald(&repo, &["check", "--against", "git:main"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(
        format!("{}{}", stdout(&missing), stderr(&missing)).contains("common/missing.proto"),
        "{}{}",
        stdout(&missing),
        stderr(&missing)
    );
}

/// A one-topic repository on `main`: payments (level NONE, `note` deprecated until
/// 2027-03-01) read by the fraud team, whose contract names amount and customer.email.
fn repository_with_readers() -> PathBuf {
    let repo = temp_dir("herald-ci-readers");
    let schemas = repo.join("schemas");
    std::fs::create_dir_all(schemas.join("payments")).unwrap();
    std::fs::create_dir_all(schemas.join("consumers")).unwrap();
    std::fs::write(schemas.join("payments/value.avsc"), payment_schema(true, true, "int")).unwrap();
    std::fs::write(
        schemas.join("payments/topic.toml"),
        "compatibility = \"NONE\"\n\n[metadata.properties]\n\"herald.deprecated.note\" = \"since=2026-06-01;sunset=2027-03-01;replacement=memo;reason=free text\"\n",
    )
    .unwrap();
    std::fs::write(
        schemas.join("consumers/fraud.toml"),
        "[[reads]]\ntopic = \"payments\"\nfields = [\"amount\", \"customer.email\"]\n",
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "payments"]);
    repo
}

fn payment_schema(amount: bool, note: bool, age_type: &str) -> String {
    let mut fields = vec![json!({"name": "id", "type": "string", "doc": "Payment id."})];
    if amount {
        fields.push(json!({"name": "amount", "type": "int", "doc": "Minor units."}));
    }
    if note {
        fields.push(json!({"name": "note", "type": "string", "default": "", "doc": "Free text."}));
    }
    fields.push(
        json!({"name": "customer", "doc": "Who paid.", "type": {"type": "record", "name": "Customer", "fields": [
        {"name": "email", "type": "string", "doc": "Contact.", "confluent:tags": ["PII"]},
        {"name": "age", "type": age_type, "doc": "Years."}]}}),
    );
    serde_json::to_string_pretty(
        &json!({"type": "record", "name": "Payment", "namespace": "com.acme", "fields": fields}),
    )
    .unwrap()
}

/// `herald` on a fixed day (`HERALD_NOW`), for sunset dates.
fn herald_at(repo: &Path, today: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(repo)
        .args(args)
        .env_remove("HERALD_SERVER")
        .env("HERALD_NOW", today)
        .output()
        .expect("run herald")
}

#[test]
fn an_offline_check_judges_declared_readers_and_sunsets_by_a_fixed_clock() {
    let repo = repository_with_readers();
    let check = |today: &str| herald_at(&repo, today, &["check", "--against", "git:main"]);
    let clean = check("2027-01-01");
    assert_eq!(clean.status.code(), Some(0), "{}{}", stdout(&clean), stderr(&clean));

    // The pull request drops amount (fraud reads it) and note (deprecated until March), and
    // makes age a string (nobody declared it): at NONE, only the first two break promises.
    std::fs::write(
        repo.join("schemas/payments/value.avsc"),
        payment_schema(false, false, "string"),
    )
    .unwrap();
    let before_sunset = check("2027-01-01");
    assert_eq!(before_sunset.status.code(), Some(1), "{}", stderr(&before_sunset));
    insta::assert_snapshot!("check_readers_before_sunset", stdout(&before_sunset));
    let text = stdout(&before_sunset);
    assert!(text.contains("error DECLARED_READER_FIELD_REMOVED"), "{text}");
    assert!(text.contains("error DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET"), "{text}");
    assert!(!text.contains("'customer.age'"), "nobody declared age: {text}");

    // After the sunset the note may go; amount still may not.
    let after_sunset = stdout(&check("2027-04-01"));
    assert!(
        !after_sunset.contains("DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET"),
        "{after_sunset}"
    );
    assert!(after_sunset.contains("DECLARED_READER_FIELD_REMOVED"), "{after_sunset}");

    // Once fraud stops reading amount (in the same pull request), the change passes.
    let contract = repo.join("schemas/consumers/fraud.toml");
    std::fs::write(
        &contract,
        "[[reads]]\ntopic = \"payments\"\nfields = [\"customer.email\"]\n",
    )
    .unwrap();
    let passes = check("2027-04-01");
    assert_eq!(passes.status.code(), Some(0), "{}", stdout(&passes));

    // A contract naming a field the subject never had is the contract's mistake.
    std::fs::write(
        &contract,
        "group = \"fraud-detection\"\n[[reads]]\ntopic = \"payments\"\nfields = [\"$.amuont\"]\n",
    )
    .unwrap();
    let typo = stdout(&check("2027-04-01"));
    assert!(
        typo.contains("schemas/consumers/fraud.toml: error CONTRACT_INVALID")
            && typo.contains("consumer group 'fraud-detection' declares it reads field 'amuont'"),
        "{typo}"
    );
    // A consumers file that does not read stops the check, naming the file and the entry.
    std::fs::write(&contract, "[[reads]]\ntopic = \"payments\"\n").unwrap();
    let broken = check("2027-04-01");
    assert_eq!(broken.status.code(), Some(2), "{}", stdout(&broken));
    assert!(
        stderr(&broken).contains("consumers/fraud.toml: reads[0]: give either fields or schema"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn register_declares_consumer_contracts_and_a_live_check_reads_the_registrys() {
    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let repo = repository_with_readers();
    let registered = herald(&repo, &["register", "--server", &url]);
    assert_eq!(
        registered.status.code(),
        Some(0),
        "{}{}",
        stdout(&registered),
        stderr(&registered)
    );
    let table = stdout(&registered);
    assert!(
        table.contains("1 registered, 0 unchanged, 0 refused, 1 consumer contract(s) declared"),
        "{table}"
    );
    let (status, contract) = crate::serve::http(
        &server.address,
        "GET",
        "/herald/v1/consumers/fraud/contracts/payments-value",
        None,
    );
    assert_eq!(status, 200, "{contract}");
    assert_eq!(contract["fields"], json!(["amount", "customer.email"]));
    let again = stdout(&herald(&repo, &["register", "--server", &url]));
    assert!(again.contains("0 registered, 2 unchanged, 0 refused"), "{again}");
    assert!(again.contains("consumer group fraud"), "{again}");

    // The contract lives on the registry: a pull request that deletes the consumers file
    // and drops amount is still refused, by the live check and by registration.
    std::fs::remove_file(repo.join("schemas/consumers/fraud.toml")).unwrap();
    std::fs::write(
        repo.join("schemas/payments/value.avsc"),
        payment_schema(false, true, "int"),
    )
    .unwrap();
    let live = herald_at(&repo, "2027-01-01", &["check", "--server", &url]);
    assert_eq!(live.status.code(), Some(1), "{}{}", stdout(&live), stderr(&live));
    assert!(
        stdout(&live).contains("DECLARED_READER_FIELD_REMOVED") && stdout(&live).contains("declared on the registry"),
        "{}",
        stdout(&live)
    );
    let refused = herald(&repo, &["register", "--server", &url]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains("consumer group 'fraud' reads field 'amount'"),
        "{}",
        stdout(&refused)
    );

    // A contract that stops reading amount lands before the schema that drops it.
    std::fs::write(
        repo.join("schemas/consumers/fraud.toml"),
        "[[reads]]\ntopic = \"payments\"\nfields = [\"customer.email\"]\n",
    )
    .unwrap();
    let together = herald(&repo, &["register", "--server", &url]);
    assert_eq!(together.status.code(), Some(0), "{}", stdout(&together));
    assert!(
        stdout(&together).contains("1 registered, 0 unchanged, 0 refused, 1 consumer contract(s) declared"),
        "{}",
        stdout(&together)
    );
}

#[test]
fn a_live_check_asks_the_registry_whether_reader_aware_accepts_a_change() {
    let server = Server::start(&[]);
    let url = format!("http://{}", server.address);
    let repo = repository_with_readers();
    // BACKWARD, reader-aware: a field nobody reads may arrive without a default.
    std::fs::write(
        repo.join("schemas/payments/topic.toml"),
        "compatibility = \"BACKWARD\"\ncompatibility_policy = \"READER_AWARE\"\n",
    )
    .unwrap();
    let registered = herald(&repo, &["register", "--server", &url]);
    assert_eq!(
        registered.status.code(),
        Some(0),
        "{}{}",
        stdout(&registered),
        stderr(&registered)
    );
    let (_, config) = crate::serve::http(&server.address, "GET", "/config/payments-value", None);
    assert_eq!(config["compatibilityPolicy"], "READER_AWARE", "{config}");

    let mut schema: Value = serde_json::from_str(&payment_schema(true, true, "int")).unwrap();
    schema["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "currency", "type": "string", "doc": "ISO 4217."}));
    std::fs::write(
        repo.join("schemas/payments/value.avsc"),
        serde_json::to_string_pretty(&schema).unwrap(),
    )
    .unwrap();
    let accepted = herald_at(&repo, "2027-01-01", &["check", "--server", &url]);
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}{}",
        stdout(&accepted),
        stderr(&accepted)
    );
    assert!(
        stdout(&accepted).contains("warning READER_FIELD_MISSING_DEFAULT_VALUE")
            && stdout(&accepted).contains("accepted under READER_AWARE"),
        "{}",
        stdout(&accepted)
    );

    // A group reading the topic without a contract: the level stands, and the check says why.
    let (status, body) = server.call("POST", "/topics", Some(&json!({"name": "payments"})));
    assert_eq!(status, 201, "{body}");
    const V2: &str = "application/vnd.kafka.v2+json";
    let (status, body) = crate::serve::try_http(
        &server.address,
        "POST",
        "/consumers/audit",
        V2,
        Some(&json!({"name": "one"})),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = crate::serve::try_http(
        &server.address,
        "POST",
        "/consumers/audit/instances/one/subscription",
        V2,
        Some(&json!({"topics": ["payments"]})),
    )
    .unwrap();
    assert_eq!(status, 204, "{body}");
    let refused = herald_at(&repo, "2027-01-01", &["check", "--server", &url]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let text = stdout(&refused);
    assert!(text.contains("error READER_AWARE_NOT_APPLIED"), "{text}");
    assert!(text.contains("without declaring a contract: audit"), "{text}");
    assert!(text.contains("error READER_FIELD_MISSING_DEFAULT_VALUE"), "{text}");
}
