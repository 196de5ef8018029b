//! The broker's HTTP API (REST Proxy v2 shapes) through the router: topics, produce in the
//! JSON and binary formats, reads, offsets, and every refusal landing nothing.

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, Reply, TestRegistry};

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const BINARY_V2: &str = "application/vnd.kafka.binary.v2+json";

async fn produce(r: &TestRegistry, path: &str, content_type: &str, body: &Value) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_string()))
        .unwrap();
    r.send(request).await
}

async fn create(r: &TestRegistry, body: Value) -> Reply {
    r.call(Method::POST, "/topics", Some(&body.to_string())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_described_and_deleted() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    let reply = create(
        &r,
        json!({"name": "payments", "partitions": 3, "owner": "payments-team",
                                   "description": "Payments completed", "retention_ms": 86_400_000}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.content_type, "application/vnd.kafka.v2+json");
    let topic = reply.json();
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 3);
    assert_eq!(topic["configs"]["retention.ms"], "86400000");
    assert_eq!(topic["configs"]["herald.value.subject"], "payments-value");
    assert_eq!(r.get("/topics").await.ok(), json!(["payments"]));
    assert_eq!(r.get("/topics/payments").await.ok()["owner"], "payments-team");

    create(&r, json!({"name": "payments"})).await.fails(409, 40901);
    let message = create(&r, json!({"name": "../etc"})).await.fails(422, 42201);
    assert!(message.contains("may contain only"), "{message}");
    let message = create(&r, json!({"name": "t", "partitions": 0}))
        .await
        .fails(422, 42201);
    assert!(message.contains("partitions"), "{message}");
    let message = create(&r, json!({"name": "t", "partitons": 2})).await.fails(400, 400);
    assert!(message.contains("partitons"), "{message}");
    r.get("/topics/nope").await.fails(404, 40401);

    let reply = r.delete("/topics/payments").await;
    assert_eq!(reply.status, 204);
    r.get("/topics/payments").await.fails(404, 40401);
    assert_eq!(r.get("/topics").await.ok(), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_read_back_in_both_formats() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    assert_eq!(create(&r, json!({"name": "orders", "partitions": 2})).await.status, 201);

    let body = json!({"records": [
        {"key": "order-1", "value": {"id": "order-1", "total": 12.5}},
        {"key": "order-1", "value": {"id": "order-1", "total": 13.0}},
        {"value": {"id": "loose"}, "partition": 1},
    ]});
    let reply = produce(&r, "/topics/orders", JSON_V2, &body).await;
    let produced = reply.ok();
    let offsets = produced["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 3);
    // Same key, same partition, consecutive offsets.
    assert_eq!(offsets[0]["partition"], offsets[1]["partition"]);
    assert_eq!(
        offsets[1]["offset"].as_i64().unwrap(),
        offsets[0]["offset"].as_i64().unwrap() + 1
    );
    assert_eq!(offsets[2]["partition"], 1);
    let p = offsets[0]["partition"].as_i64().unwrap();

    let records = r
        .get(&format!("/topics/orders/partitions/{p}/records?offset=0"))
        .await
        .ok();
    let values: Vec<&Value> = records.as_array().unwrap().iter().map(|r| &r["value"]).collect();
    assert_eq!(values[0], &json!({"id": "order-1", "total": 12.5}));
    assert_eq!(records[0]["key"], "order-1");
    let offsets_view = r.get(&format!("/topics/orders/partitions/{p}/offsets")).await.ok();
    assert_eq!(offsets_view["beginning_offset"], 0);
    assert!(offsets_view["end_offset"].as_i64().unwrap() >= 2);

    // Binary: base64 in, base64 out; tombstones (null values) pass.
    let body = json!({"records": [{"key": "a2V5", "value": "AAAAAAEC"}, {"key": "a2V5", "value": null}]});
    let produced = produce(&r, "/topics/orders/partitions/0", BINARY_V2, &body).await.ok();
    let first = produced["offsets"][0]["offset"].as_i64().unwrap();
    let request = Request::builder()
        .uri(format!("/topics/orders/partitions/0/records?offset={first}"))
        .header(header::ACCEPT, BINARY_V2)
        .body(Body::empty())
        .unwrap();
    let read = r.send(request).await.ok();
    assert_eq!(read[0]["value"], "AAAAAAEC");
    assert_eq!(read[0]["key"], "a2V5");
    assert_eq!(read[1]["value"], Value::Null);

    // The records survive a restart of the broker.
    drop(r);
    let r = TestRegistry::with_broker(&dir).await;
    let again = r
        .get(&format!("/topics/orders/partitions/{p}/records?offset=0"))
        .await
        .ok();
    let before = records.as_array().unwrap();
    assert_eq!(&again.as_array().unwrap()[..before.len()], before.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_produces_land_nothing() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    assert_eq!(create(&r, json!({"name": "events", "partitions": 1})).await.status, 201);
    let end = || async { r.get("/topics/events/partitions/0/offsets").await.ok()["end_offset"].clone() };
    assert_eq!(end().await, 0);

    let body = json!({"records": [{"value": "AAAA"}, {"value": "not base64!"}, {"key": 5, "value": "AAAA"}]});
    let reply = produce(&r, "/topics/events", BINARY_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let errors = reply.json()["errors"].clone();
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["field"], "value");
    assert!(errors[0]["reason"].as_str().unwrap().contains("base64"));
    assert_eq!(
        (errors[1]["index"].clone(), errors[1]["field"].clone()),
        (json!(2), json!("key"))
    );
    assert_eq!(end().await, 0, "nothing was written");

    let reply = produce(
        &r,
        "/topics/events",
        JSON_V2,
        &json!({"records": [{"value": 1, "partition": 4}]}),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["errors"][0]["field"], "partition");
    produce(&r, "/topics/events", JSON_V2, &json!({"records": []}))
        .await
        .fails(422, 42201);
    produce(&r, "/topics/events", JSON_V2, &json!({"records": "x"}))
        .await
        .fails(400, 400);
    produce(&r, "/topics/nope", JSON_V2, &json!({"records": [{"value": 1}]}))
        .await
        .fails(404, 40401);
    produce(
        &r,
        "/topics/events/partitions/9",
        JSON_V2,
        &json!({"records": [{"value": 1}]}),
    )
    .await
    .fails(422, 422);
    let reply = produce(
        &r,
        "/topics/events",
        "application/vnd.kafka.avro.v2+json",
        &json!({"records": [{"value": 1}]}),
    )
    .await;
    assert_eq!(reply.status, 422, "the Avro format needs a schema: {}", reply.text);
    let reply = produce(&r, "/topics/events", "text/plain", &json!({"records": []})).await;
    assert_eq!(reply.status, 415);
    assert_eq!(end().await, 0);
    r.get("/topics/events/partitions/7/offsets").await.fails(404, 40402);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_checked_against_the_registry_before_they_land() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    let order = json!({"type": "object", "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                       "required": ["id"], "additionalProperties": false});
    let registered = r
        .post(
            "/subjects/orders-value/versions",
            &json!({"schemaType": "JSON", "schema": order.to_string()}),
        )
        .await
        .ok();
    let json_id = registered["id"].as_i64().unwrap();
    assert_eq!(create(&r, json!({"name": "orders", "partitions": 1})).await.status, 201);
    let end = |topic: &'static str| {
        let r = &r;
        async move { r.get(&format!("/topics/{topic}/partitions/0/offsets")).await.ok()["end_offset"].clone() }
    };

    let good = json!({"records": [{"value": {"id": "o-1", "qty": 2}}, {"value": null}]});
    produce(&r, "/topics/orders", JSON_V2, &good).await.ok();
    assert_eq!(end("orders").await, 2, "valid records and tombstones pass");

    let bad = json!({"records": [{"value": {"id": "o-2", "qty": 3}}, {"value": {"qty": 0, "note": "x"}}]});
    let reply = produce(&r, "/topics/orders", JSON_V2, &bad).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let errors = reply.json()["errors"].as_array().unwrap().clone();
    assert!(
        errors.iter().all(|e| e["index"] == 1 && e["field"] == "value"),
        "{errors:?}"
    );
    let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/qty") && paths.contains(&""), "{paths:?}");
    assert_eq!(
        end("orders").await,
        2,
        "the valid record in the refused request did not land either"
    );

    // Framed bytes: the id must be registered under the topic's subject; in full mode a
    // JSON body must also be valid.
    let framed = |id: i64, body: &[u8]| {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&(id as u32).to_be_bytes());
        bytes.extend_from_slice(body);
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
    };
    let ok = json!({"records": [{"value": framed(json_id, br#"{"id":"o-3"}"#)}]});
    produce(&r, "/topics/orders", BINARY_V2, &ok).await.ok();
    let invalid_body = json!({"records": [{"value": framed(json_id, br#"{"id":3}"#)}]});
    let reply = produce(&r, "/topics/orders", BINARY_V2, &invalid_body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.json()["errors"][0]["path"], "/id");
    let other = r
        .post(
            "/subjects/elsewhere/versions",
            &json!({"schema": "{\"type\":\"string\"}"}),
        )
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();
    let foreign = json!({"records": [{"value": framed(other, b"x")}]});
    let reply = produce(&r, "/topics/orders", BINARY_V2, &foreign).await;
    assert!(reply.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not registered under subject 'orders-value'"));
    let unframed = json!({"records": [{"value": "eyJpZCI6IngifQ=="}]});
    let reply = produce(&r, "/topics/orders", BINARY_V2, &unframed).await;
    assert!(reply.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not framed"));
    assert_eq!(end("orders").await, 3);

    // A topic whose subject is Avro takes framed bytes, not JSON.
    r.post(
        "/subjects/payments-value/versions",
        &json!({"schema": "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"}),
    )
    .await
    .ok();
    assert_eq!(create(&r, json!({"name": "payments"})).await.status, 201);
    let reply = produce(
        &r,
        "/topics/payments",
        JSON_V2,
        &json!({"records": [{"value": {"id": "p"}}]}),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert!(reply.json()["errors"][0]["reason"].as_str().unwrap().contains("AVRO"));

    // Validation off: anything goes; no subject registered: nothing to check.
    assert_eq!(
        create(
            &r,
            json!({"name": "loose", "validation": "off", "value_subject": "orders-value"})
        )
        .await
        .status,
        201
    );
    produce(
        &r,
        "/topics/loose",
        JSON_V2,
        &json!({"records": [{"value": {"qty": "many"}}]}),
    )
    .await
    .ok();
    assert_eq!(create(&r, json!({"name": "free"})).await.status, 201);
    produce(&r, "/topics/free", JSON_V2, &json!({"records": [{"value": [1, 2]}]}))
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_records_are_encoded_framed_and_decoded_on_the_way_in() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    let v1 = json!({"type": "record", "name": "Payment", "namespace": "com.acme", "fields": [
        {"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": null}]});
    let id = r.register_ok("payments-value", &v1).await;
    assert_eq!(create(&r, json!({"name": "payments"})).await.status, 201);
    const AVRO_V2: &str = "application/vnd.kafka.avro.v2+json";

    let body = json!({"value_schema_id": id, "records": [{"value": {"id": "p-1", "amount": 12.5}},
                                                         {"value": {"id": "p-2", "amount": 3, "note": "rush"}}]});
    let produced = produce(&r, "/topics/payments", AVRO_V2, &body).await.ok();
    assert_eq!(produced["value_schema_id"], id);
    let request = Request::builder()
        .uri("/topics/payments/partitions/0/records?offset=0")
        .header(header::ACCEPT, BINARY_V2)
        .body(Body::empty())
        .unwrap();
    let stored = r.send(request).await.ok();
    let first = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        stored[0]["value"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(first[0], 0, "Confluent framing");
    assert_eq!(u32::from_be_bytes(first[1..5].try_into().unwrap()) as i64, id);
    assert_eq!(
        &first[5..9],
        &[6, b'p', b'-', b'1'],
        "the Avro body starts with the id string"
    );

    // Values that do not fit the schema: each refused with its place; nothing lands.
    let body = json!({"value_schema_id": id, "records": [{"value": {"id": "ok", "amount": 1}}, {"value": {"id": 7, "amount": 1}}, {"value": {"amount": 1}}]});
    let reply = produce(&r, "/topics/payments", AVRO_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let errors = reply.json()["errors"].clone();
    assert_eq!(
        (errors[0]["index"].clone(), errors[0]["path"].clone()),
        (json!(1), json!("/id"))
    );
    assert_eq!(
        (errors[1]["index"].clone(), errors[1]["path"].clone()),
        (json!(2), json!("/id"))
    );

    // A schema in the request is registered under the subject, compatibility enforced.
    let v2 = json!({"type": "record", "name": "Payment", "namespace": "com.acme", "fields": [
        {"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": null},
        {"name": "currency", "type": "string", "default": "EUR"}]});
    let body =
        json!({"value_schema": v2.to_string(), "records": [{"value": {"id": "p-3", "amount": 1, "currency": "USD"}}]});
    let produced = produce(&r, "/topics/payments", AVRO_V2, &body).await.ok();
    let v2_id = produced["value_schema_id"].as_i64().unwrap();
    assert_ne!(v2_id, id);
    assert_eq!(r.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
    let breaking = json!({"type": "record", "name": "Payment", "namespace": "com.acme", "fields": [{"name": "payer", "type": "string"}]});
    let body = json!({"value_schema": breaking.to_string(), "records": [{"value": {"payer": "x"}}]});
    produce(&r, "/topics/payments", AVRO_V2, &body).await.fails(409, 409);

    // Framed bytes whose body does not decode with the schema the id names.
    let mut bad = vec![0u8];
    bad.extend_from_slice(&(id as u32).to_be_bytes());
    bad.extend_from_slice(&[6, b'p']);
    let body = json!({"records": [{"value": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bad)}]});
    let reply = produce(&r, "/topics/payments", BINARY_V2, &body).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.json()["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not decode"),
        "{}",
        reply.text
    );
    assert_eq!(
        r.get("/topics/payments/partitions/0/offsets").await.ok()["end_offset"],
        3
    );
}

/// REST Proxy's Protobuf format: JSON in proto3's mapping, encoded as the schema's first
/// message and framed with the id and the message index, then judged by the gate like any
/// serializer's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_records_are_encoded_from_json_and_framed_on_the_way_in() {
    const PROTOBUF_V2: &str = "application/vnd.kafka.protobuf.v2+json";
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    let proto = "syntax = \"proto3\";\npackage acme;\nmessage Refund {\n  string id = 1;\n  int64 cents = 2;\n  repeated string tags = 3;\n}\n";
    let registered = r
        .post(
            "/subjects/refunds-value/versions",
            &json!({"schemaType": "PROTOBUF", "schema": proto}),
        )
        .await;
    let id = registered.ok()["id"].as_i64().unwrap();
    assert_eq!(
        create(&r, json!({"name": "refunds", "validation": "full"}))
            .await
            .status,
        201
    );

    let body = json!({"value_schema_id": id, "records": [{"value": {"id": "r-1", "cents": "1250", "tags": ["late"]}}]});
    let produced = produce(&r, "/topics/refunds", PROTOBUF_V2, &body).await.ok();
    assert_eq!(produced["value_schema_id"], id);
    let request = Request::builder()
        .uri("/topics/refunds/partitions/0/records?offset=0")
        .header(header::ACCEPT, BINARY_V2)
        .body(Body::empty())
        .unwrap();
    let stored = r.send(request).await.ok();
    let value = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        stored[0]["value"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(value[0], 0, "Confluent framing");
    assert_eq!(u32::from_be_bytes(value[1..5].try_into().unwrap()) as i64, id);
    assert_eq!(value[5], 0, "message index [0], written as a single zero");
    // Field 1 (string "r-1"), field 2 (varint 1250), field 3 ("late").
    assert_eq!(
        &value[6..],
        &[0x0a, 3, b'r', b'-', b'1', 0x10, 0xe2, 0x09, 0x1a, 4, b'l', b'a', b't', b'e']
    );

    // JSON that is not the message: each record refused with the reason; nothing lands.
    let body = json!({"value_schema_id": id, "records": [
        {"value": {"id": "ok"}},
        {"value": {"id": "r-2", "cents": "lots"}},
        {"value": {"id": "r-3", "refunded_by": "ann"}}]});
    let reply = produce(&r, "/topics/refunds", PROTOBUF_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let errors = reply.json()["errors"].clone();
    assert_eq!(errors.as_array().unwrap().len(), 2, "{errors}");
    assert_eq!(errors[0]["index"], 1);
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("is not a acme.Refund in JSON"),
        "{errors}"
    );
    assert_eq!(errors[1]["index"], 2);
    assert!(
        errors[1]["reason"].as_str().unwrap().contains("refunded_by"),
        "{errors}"
    );

    // The format needs a schema; an Avro schema's id is not one.
    let body = json!({"records": [{"value": {"id": "r-4"}}]});
    let reply = produce(&r, "/topics/refunds", PROTOBUF_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply
            .text
            .contains("the PROTOBUF format needs value_schema_id or value_schema"),
        "{}",
        reply.text
    );
    let avro = r
        .register_ok(
            "other-value",
            &json!({"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]}),
        )
        .await;
    let body = json!({"value_schema_id": avro, "records": [{"value": {"id": "r-5"}}]});
    let reply = produce(&r, "/topics/refunds", PROTOBUF_V2, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(reply.text.contains("is a AVRO schema, not PROTOBUF"), "{}", reply.text);

    // A schema in the request is registered under the subject.
    let v2 = proto.replace(
        "repeated string tags = 3;",
        "repeated string tags = 3;\n  string reason = 4;",
    );
    let body = json!({"value_schema": v2, "records": [{"value": {"id": "r-6", "reason": "damaged"}}]});
    let produced = produce(&r, "/topics/refunds", PROTOBUF_V2, &body).await.ok();
    assert_ne!(produced["value_schema_id"], id);
    assert_eq!(r.get("/subjects/refunds-value/versions").await.ok(), json!([1, 2]));
    assert_eq!(
        r.get("/topics/refunds/partitions/0/offsets").await.ok()["end_offset"],
        2
    );
}

#[tokio::test]
async fn topic_settings_change_with_patch_but_partitions_and_durability_do_not() {
    let r = TestRegistry::with_broker(&temp_dir("herald-broker")).await;
    let created = r
        .post_as(
            "/topics",
            "application/json",
            &json!({"name": "orders", "partitions": 2, "owner": "a"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let patched = r
        .call_as(
            Method::PATCH,
            "/topics/orders",
            "application/json",
            &json!({"description": "Orders **placed**.", "owner": "team-b", "contact": "#b",
                    "tags": ["x"], "examples": [{"name": "one", "value": {"id": 1}}],
                    "retention_ms": 3_600_000, "validation": "off"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let topic = r.get("/topics/orders").await.ok();
    assert_eq!(topic["owner"], "team-b");
    assert_eq!(topic["description"], "Orders **placed**.");
    assert_eq!(topic["contact"], "#b");
    assert_eq!(topic["examples"][0]["value"], json!({"id": 1}));
    assert_eq!(topic["configs"]["retention.ms"], "3600000");
    assert_eq!(topic["configs"]["herald.validation"], "off");
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 2);
    // Producing still works on the same logs.
    r.post_as(
        "/topics/orders",
        "application/vnd.kafka.json.v2+json",
        &json!({"records": [{"value": {"id": 2}}]}),
    )
    .await
    .ok();
    // Fixed settings and bad values are refused with the field named; nothing changes.
    for (body, field) in [
        (json!({"partitions": 4}), "partitions"),
        (json!({"name": "other"}), "name"),
        (
            json!({"durability": {"mode": "interval", "interval_ms": 5}}),
            "durability",
        ),
        (json!({"retention_ms": 0}), "retention_ms"),
        (json!({"examples": [{"name": " ", "value": 1}]}), "examples[0].name"),
        (json!({"tags": ["team a"]}), "tags[0]"),
        (json!({"tags": ["a", "a"]}), "tags[1]"),
        (json!({"value_subject": "__GLOBAL"}), "value_subject"),
    ] {
        let refused = r
            .call_as(Method::PATCH, "/topics/orders", "application/json", &body)
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert!(refused.text.contains(field), "{body}: {}", refused.text);
    }
    assert_eq!(r.get("/topics/orders").await.ok()["owner"], "team-b");
    let missing = r
        .call_as(Method::PATCH, "/topics/nope", "application/json", &json!({}))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    // The settings survive a restart.
    let dir = temp_dir("herald-broker");
    let r = TestRegistry::with_broker(&dir).await;
    r.post_as("/topics", "application/json", &json!({"name": "t"})).await;
    r.call_as(
        Method::PATCH,
        "/topics/t",
        "application/json",
        &json!({"owner": "kept"}),
    )
    .await;
    drop(r);
    let r = TestRegistry::with_broker(&dir).await;
    assert_eq!(r.get("/topics/t").await.ok()["owner"], "kept");
}

#[tokio::test]
async fn json_values_are_validated_with_the_schemas_their_schema_references() {
    let r = TestRegistry::with_broker(&temp_dir("herald-broker")).await;
    let money = json!({"type": "object", "required": ["units"], "properties": {"units": {"type": "integer"}}});
    r.post(
        "/subjects/money-value/versions",
        &json!({"schemaType": "JSON", "schema": money.to_string()}),
    )
    .await
    .ok();
    let order = json!({"type": "object", "required": ["amount"], "properties": {"amount": {"$ref": "money.json"}}});
    r.post(
        "/subjects/orders-value/versions",
        &json!({"schemaType": "JSON", "schema": order.to_string(),
                "references": [{"name": "money.json", "subject": "money-value", "version": 1}]}),
    )
    .await
    .ok();
    r.post_as("/topics", "application/json", &json!({"name": "orders"}))
        .await;
    let good = r
        .post_as(
            "/topics/orders",
            JSON_V2,
            &json!({"records": [{"value": {"amount": {"units": 5}}}]}),
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.text);
    let bad = r
        .post_as(
            "/topics/orders",
            JSON_V2,
            &json!({"records": [{"value": {"amount": {"units": "five"}}}]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("/amount/units"), "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_with_the_record_name_strategy_checks_the_records_own_subject() {
    let dir = temp_dir("herald-broker-api");
    let r = TestRegistry::with_broker(&dir).await;
    let payment = json!({"type": "record", "name": "Payment", "namespace": "com.acme",
                         "fields": [{"name": "id", "type": "string"}]});
    let refund = json!({"type": "record", "name": "Refund", "namespace": "com.acme",
                        "fields": [{"name": "id", "type": "string"}]});
    let payment_id = r.register_ok("com.acme.Payment", &payment).await;
    // Under the topic's own subject: not where the record strategy looks.
    let refund_id = r.register_ok("events-value", &refund).await;

    let message = create(&r, json!({"name": "events", "value_subject_strategy": "records"}))
        .await
        .fails(400, 400);
    assert!(message.contains("records"), "{message}");
    let reply = create(&r, json!({"name": "events", "value_subject_strategy": "record"})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let configs = r.get("/topics/events").await.ok()["configs"].clone();
    assert_eq!(configs["value.subject.name.strategy"], "RecordNameStrategy");
    assert_eq!(configs["key.subject.name.strategy"], "TopicNameStrategy");

    let framed = |id: i64| {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&(id as u32).to_be_bytes());
        bytes.extend_from_slice(&[4, b'p', b'1']);
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
    };
    produce(
        &r,
        "/topics/events",
        BINARY_V2,
        &json!({"records": [{"value": framed(payment_id)}]}),
    )
    .await
    .ok();
    let reply = produce(
        &r,
        "/topics/events",
        BINARY_V2,
        &json!({"records": [{"value": framed(refund_id)}]}),
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let reason = reply.json()["errors"][0]["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("not registered under subject 'com.acme.Refund'"),
        "{reason}"
    );
    let reply = produce(
        &r,
        "/topics/events",
        JSON_V2,
        &json!({"records": [{"value": {"id": "p1"}}]}),
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(reply.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("send framed bytes"));

    // The Avro format registers a schema given in the request under the record's subject.
    let body = json!({"value_schema": refund.to_string(), "records": [{"value": {"id": "r1"}}]});
    let produced = produce(&r, "/topics/events", "application/vnd.kafka.avro.v2+json", &body)
        .await
        .ok();
    assert_eq!(r.get("/subjects/com.acme.Refund/versions").await.ok(), json!([1]));
    assert_eq!(produced["value_schema_id"], refund_id);
    assert_eq!(r.get("/topics/events/partitions/0/offsets").await.ok()["end_offset"], 2);

    // Back to the topic's subject, by Confluent's class name.
    let reply = r
        .call_as(
            Method::PATCH,
            "/topics/events",
            "application/json",
            &json!({"value_subject_strategy": "TopicNameStrategy"}),
        )
        .await
        .ok();
    assert_eq!(reply["configs"]["value.subject.name.strategy"], "TopicNameStrategy");
    produce(
        &r,
        "/topics/events",
        BINARY_V2,
        &json!({"records": [{"value": framed(refund_id)}]}),
    )
    .await
    .ok();
}
