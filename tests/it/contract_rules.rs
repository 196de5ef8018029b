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
