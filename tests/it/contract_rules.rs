//! Data-contract rules enforced by the server: CEL and CEL_FIELD CONDITION rules of a
//! schema's rule set run by the contract gate on produced records (ERROR refuses naming the
//! rule, NONE counts), compiled at registration (a bad expression is refused with where it
//! fails), left to clients when the rule set is enabled for them only.

use serde_json::{json, Value};

use crate::serve::{try_http, Server};

const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";
const JSON_V2: &str = "application/vnd.kafka.json.v2+json";

fn register(server: &Server, subject: &str, body: Value) -> (u16, Value) {
    server.call("POST", &format!("/subjects/{subject}/versions"), Some(&body))
}

fn produce(server: &Server, topic: &str, content_type: &str, body: Value) -> (u16, Value) {
    try_http(
        &server.address,
        "POST",
        &format!("/topics/{topic}"),
        content_type,
        Some(&body),
    )
    .unwrap()
}

fn customer_schema() -> String {
    json!({"type": "record", "name": "Customer", "fields": [
        {"name": "name", "type": "string"},
        {"name": "ssn", "type": "string"},
        {"name": "age", "type": "int"},
        {"name": "email", "type": ["null", "string"], "default": null}]})
    .to_string()
}

#[test]
fn condition_rules_refuse_records_naming_the_rule_and_none_only_counts() {
    let server = Server::start(&[]);
    server.call("POST", "/topics", Some(&json!({"name": "customers"})));
    let (status, registered) = register(
        &server,
        "customers-value",
        json!({"schema": customer_schema(), "ruleSet": {"domainRules": [
            {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "size(message.ssn) == 9"},
            {"name": "adult", "kind": "CONDITION", "type": "CEL_FIELD", "mode": "WRITEREAD",
             "doc": "customers are adults", "expr": "name == 'age' ; value >= 18"},
            {"name": "emailKnown", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "message.email != null", "onFailure": "NONE"}]}}),
    );
    assert_eq!(status, 200, "{registered}");
    let id = registered["id"].as_i64().unwrap();
    let record =
        |ssn: &str, age: i64, email: Value| json!({"value": {"name": "Ada", "ssn": ssn, "age": age, "email": email}});
    let (status, answer) = produce(
        &server,
        "customers",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [
            record("123456789", 36, json!({"string": "ada@example.com"})),
            record("1234", 36, json!(null)),
            record("123456789", 12, json!(null)),
        ]}),
    );
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("rule checkSsnLen failed: Rule expr failed: size(message.ssn) == 9"),
        "{text}"
    );
    assert!(
        text.contains("rule adult on age failed: customers are adults"),
        "{text}"
    );
    assert!(!text.contains("emailKnown"), "a NONE rule does not refuse: {text}");
    let errors = answer["errors"].as_array().expect("per-record errors");
    let indexes: Vec<i64> = errors.iter().filter_map(|e| e["index"].as_i64()).collect();
    assert!(
        indexes.contains(&1) && indexes.contains(&2) && !indexes.contains(&0),
        "{answer}"
    );

    // Records that pass land; the NONE rule's failure is only counted.
    let (status, answer) = produce(
        &server,
        "customers",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [record("123456789", 40, json!(null))]}),
    );
    assert_eq!(status, 200, "{answer}");
    let metrics = server.get_text("/metrics");
    assert!(
        metrics.contains(
            r#"herald_rule_evaluations_total{subject="customers-value",rule="emailKnown",outcome="counted"} 3"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"herald_rule_evaluations_total{subject="customers-value",rule="checkSsnLen",outcome="failed"} 1"#
        ),
        "{metrics}"
    );
}

#[test]
fn json_schema_rules_apply_to_unframed_json_and_client_only_rule_sets_are_left_to_clients() {
    let server = Server::start(&[]);
    server.call("POST", "/topics", Some(&json!({"name": "orders"})));
    server.call("POST", "/topics", Some(&json!({"name": "refunds"})));
    let schema = json!({"type": "object", "properties": {
        "amount": {"type": "number"}, "currency": {"type": "string"}}, "required": ["amount"]})
    .to_string();
    let rules = |enable_at: Option<&str>| {
        let mut set = json!({"domainRules": [
            {"name": "positive", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "message.amount > 0"}]});
        if let Some(place) = enable_at {
            set["enableAt"] = json!(place);
        }
        set
    };
    for (subject, place) in [("orders-value", Some("SERVER")), ("refunds-value", Some("CLIENT"))] {
        let (status, body) = register(
            &server,
            subject,
            json!({"schemaType": "JSON", "schema": schema, "ruleSet": rules(place)}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let bad = json!({"records": [{"value": {"amount": -5}}]});
    let (status, answer) = produce(&server, "orders", JSON_V2, bad.clone());
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("rule positive failed"), "{answer}");
    let (status, answer) = produce(&server, "refunds", JSON_V2, bad);
    assert_eq!(status, 200, "a CLIENT rule set is the clients' to run: {answer}");
}

#[test]
fn bad_rules_are_refused_at_registration_with_the_cel_error() {
    let server = Server::start(&[]);
    for (expr, words) in [
        ("size(message.ssn) ==", "line 1, column"),
        ("record.ssn != ''", "undeclared reference to \"record\""),
        ("name == 'ssn' ; value.size(", "line 1, column"),
    ] {
        let (status, answer) = register(
            &server,
            "people-value",
            json!({"schema": customer_schema(), "ruleSet": {"domainRules": [
                {"name": "broken", "kind": "CONDITION", "type": if expr.contains(';') { "CEL_FIELD" } else { "CEL" },
                 "mode": "WRITE", "expr": expr}]}}),
        );
        assert_eq!(
            (status, answer["error_code"].as_i64()),
            (422, Some(42210)),
            "{expr}: {answer}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with("Invalid ruleSet: rule \"broken\": "), "{message}");
        assert!(message.contains(words), "{expr}: {message}");
    }
}

#[test]
fn inline_confluent_rules_are_enforced_and_bad_ones_refused() {
    let server = Server::start(&[]);
    server.call("POST", "/topics", Some(&json!({"name": "shipments"})));
    let schema = json!({"type": "record", "name": "Shipment", "fields": [
        {"name": "id", "type": "string",
         "confluent:rules": [{"name": "idShape", "expr": "this.startsWith('s-') ? '' : 'shipment ids start with s-'"}]},
        {"name": "weight_kg", "type": "double",
         "confluent:rules": [{"name": "positiveWeight", "doc": "a shipment weighs something", "expr": "this > 0.0"}]}]})
    .to_string();
    let (status, registered) = register(&server, "shipments-value", json!({"schema": schema}));
    assert_eq!(status, 200, "{registered}");
    let id = registered["id"].as_i64().unwrap();
    let (status, answer) = produce(
        &server,
        "shipments",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [
            {"value": {"id": "s-1", "weight_kg": 2.5}},
            {"value": {"id": "x-2", "weight_kg": 0.0}}]}),
    );
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("rule idShape on id failed: shipment ids start with s-"),
        "{text}"
    );
    assert!(
        text.contains("rule positiveWeight on weight_kg failed: a shipment weighs something"),
        "{text}"
    );
    let bad = json!({"type": "record", "name": "Parcel", "fields": [
        {"name": "id", "type": "string", "confluent:rules": [{"name": "broken", "expr": "this.size( >"}]}]})
    .to_string();
    let (status, answer) = register(&server, "parcels-value", json!({"schema": bad}));
    assert_eq!(status, 422, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("confluent:rules: rule \"broken\"") && message.contains("line 1"),
        "{message}"
    );
}

/// `herald tail TOPIC --from earliest --max N`: the first N records as JSON.
fn tail(server: &Server, topic: &str, max: usize) -> Vec<Value> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["tail", topic, "--from", "earliest", "--max", &max.to_string()])
        .env("HERALD_SERVER", format!("http://{}", server.address))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn dlq_rules_divert_records_to_their_dead_letter_topic_with_rule_headers() {
    let server = Server::start(&[]);
    for name in ["customers", "bad-customers"] {
        server.call("POST", "/topics", Some(&json!({"name": name})));
    }
    let (status, registered) = register(
        &server,
        "customers-value",
        json!({"schema": customer_schema(), "ruleSet": {"domainRules": [
            {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "size(message.ssn) == 9", "onFailure": "DLQ", "params": {"dlq.topic": "bad-customers"}},
            {"name": "adult", "kind": "CONDITION", "type": "CEL_FIELD", "mode": "WRITE",
             "doc": "customers are adults", "expr": "name == 'age' ; value >= 18"}]}}),
    );
    assert_eq!(status, 200, "{registered}");
    let id = registered["id"].as_i64().unwrap();
    let record =
        |name: &str, ssn: &str, age: i64| json!({"value": {"name": name, "ssn": ssn, "age": age, "email": null}});

    // The short ssn goes to the dead-letter topic; the others land, and the produce is
    // accepted.
    let (status, answer) = produce(
        &server,
        "customers",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [
            record("Ada", "123456789", 36), record("Bob", "12", 40), record("Cy", "987654321", 50)]}),
    );
    assert_eq!(status, 200, "{answer}");
    let offsets = answer["offsets"].as_array().unwrap();
    assert_eq!(
        (offsets[0]["partition"].clone(), offsets[0]["offset"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        (offsets[2]["partition"].clone(), offsets[2]["offset"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(offsets[1]["partition"], Value::Null, "{answer}");
    assert_eq!(
        offsets[1]["dead_letter"],
        json!({"topic": "bad-customers", "partition": 0, "offset": 0, "rule": "checkSsnLen"})
    );
    let landed: Vec<Value> = tail(&server, "customers", 2)
        .into_iter()
        .map(|r| r["value"]["name"].clone())
        .collect();
    assert_eq!(landed, [json!("Ada"), json!("Cy")]);
    let letters = tail(&server, "bad-customers", 1);
    let letter = &letters[0];
    assert_eq!(letter["value"]["name"], "Bob", "written as produced, framed: {letter}");
    assert_eq!(letter["value_schema_id"], id);
    let headers: std::collections::BTreeMap<String, Value> = letter["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_string(), h[1].clone()))
        .collect();
    assert_eq!(headers["__rule.name"], "checkSsnLen", "{letter}");
    assert_eq!(headers["__rule.mode"], "WRITE");
    assert_eq!(headers["__rule.subject"], "customers-value");
    assert_eq!(headers["__rule.topic"], "customers");
    assert_eq!(headers["__rule.exception"], "Rule expr failed: size(message.ssn) == 9");

    // An ERROR rule's refusal refuses the whole request: nothing lands, nothing is diverted.
    let (status, answer) = produce(
        &server,
        "customers",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [record("Dee", "1", 30), record("Eve", "123456789", 12)]}),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("rule adult on age failed"), "{answer}");
    let (_, partition) = server.call("GET", "/topics/bad-customers/partitions/0/offsets", None);
    assert_eq!(partition["end_offset"], 1, "{partition}");

    let metrics = server.get_text("/metrics");
    assert!(
        metrics.contains(
            r#"herald_rule_evaluations_total{subject="customers-value",rule="checkSsnLen",outcome="dead_lettered"} 2"#
        ),
        "{metrics}"
    );
}

#[test]
fn a_dlq_rule_without_a_usable_dead_letter_topic_refuses_the_record_saying_why() {
    let server = Server::start(&[]);
    server.call("POST", "/topics", Some(&json!({"name": "customers"})));
    let (status, registered) = register(
        &server,
        "customers-value",
        json!({"schema": customer_schema(), "ruleSet": {"domainRules": [
            {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "size(message.ssn) == 9", "onFailure": "DLQ", "params": {"dlq.topic": "nowhere"}},
            {"name": "named", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "message.name != ''", "onFailure": "DLQ"}]}}),
    );
    assert_eq!(status, 200, "{registered}");
    let id = registered["id"].as_i64().unwrap();
    let (status, answer) = produce(
        &server,
        "customers",
        AVRO_V2,
        json!({"value_schema_id": id, "records": [
            {"value": {"name": "Ada", "ssn": "1", "age": 36, "email": null}},
            {"value": {"name": "", "ssn": "123456789", "age": 36, "email": null}}]}),
    );
    assert_eq!(status, 422, "{answer}");
    let text = answer.to_string();
    assert!(
        text.contains("its dead-letter topic 'nowhere' does not exist"),
        "{text}"
    );
    assert!(
        text.contains("names no dead-letter topic: set its param dlq.topic"),
        "{text}"
    );
    let (_, partition) = server.call("GET", "/topics/customers/partitions/0/offsets", None);
    assert_eq!(partition["end_offset"], 0, "nothing written: {partition}");
}

#[test]
fn deprecated_fields_stay_until_their_sunset_and_producing_past_a_subjects_sunset_is_flagged() {
    let server = Server::start(&[]);
    let (status, body) = server.call(
        "PUT",
        "/config/customers-value",
        Some(&json!({"compatibility": "NONE"})),
    );
    assert_eq!(status, 200, "{body}");
    let fields = |with_email: bool| {
        let mut fields = vec![json!({"name": "id", "type": "string"})];
        if with_email {
            fields.push(json!({"name": "email", "type": ["null", "string"], "default": null}));
        }
        fields.push(json!({"name": "fax", "type": ["null", "string"], "default": null}));
        json!({"type": "record", "name": "Customer", "fields": fields}).to_string()
    };
    let metadata = json!({"properties": {
        "herald.deprecated.email": "since=2026-11-01;sunset=2099-03-01;replacement=contact.email",
        "herald.deprecated.fax": "sunset=2020-01-01"}});
    let (status, body) = register(
        &server,
        "customers-value",
        json!({"schema": fields(true), "metadata": metadata}),
    );
    assert_eq!(status, 200, "{body}");
    // Removing email before its sunset is refused even at level NONE.
    let (status, body) = register(&server, "customers-value", json!({"schema": fields(false)}));
    assert_eq!(status, 409, "{body}");
    let text = body.to_string();
    assert!(text.contains("DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET"), "{text}");
    assert!(
        text.contains("field email is removed before its sunset on 2099-03-01"),
        "{text}"
    );
    // A property that does not read is refused naming it.
    let (status, body) = register(
        &server,
        "customers-value",
        json!({"schema": fields(true), "metadata": {"properties": {"herald.deprecated.email": "sunset=soon"}}}),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("herald.deprecated.email"), "{body}");

    // A subject past its sunset: warned about over HTTP, or refused per topic setting.
    server.call("POST", "/topics", Some(&json!({"name": "legacy"})));
    let schema = json!({"type": "record", "name": "Legacy", "fields": [{"name": "id", "type": "string"}]}).to_string();
    let (status, registered) = register(
        &server,
        "legacy-value",
        json!({"schema": schema, "metadata": {"properties": {"herald.deprecated": "sunset=2020-01-01;replacement=modern"}}}),
    );
    assert_eq!(status, 200, "{registered}");
    let id = registered["id"].as_i64().unwrap();
    let request = json!({"value_schema_id": id, "records": [{"value": {"id": "a"}}]});
    let (status, answer) = produce(&server, "legacy", AVRO_V2, request.clone());
    assert_eq!(status, 200, "warn by default: {answer}");
    let (status, _) = server.call("PATCH", "/topics/legacy", Some(&json!({"sunset_produce": "refuse"})));
    assert_eq!(status, 200);
    let (status, answer) = produce(&server, "legacy", AVRO_V2, request);
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("subject 'legacy-value' is past its sunset"),
        "{answer}"
    );
    assert!(answer.to_string().contains("use modern instead"), "{answer}");
}
