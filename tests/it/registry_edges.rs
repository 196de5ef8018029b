//! The API's edges: bad input of every kind answers with the reference's status and error
//! code, never a 500 and never a partial write; media types, trailing slashes, lenient
//! parameters; health and metrics; concurrent registrations.

use axum::body::Body;
use axum::http::{header, Method, Request};
use herald::registry::RegistrySettings;
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, Backend, TestRegistry, V1};
use crate::registry_test;

fn record(fields: usize) -> Value {
    let fields: Vec<Value> = (0..fields)
        .map(|i| json!({"name": format!("f{i}"), "type": "string", "default": ""}))
        .collect();
    json!({"type": "record", "name": "R", "fields": fields})
}

async fn raw(r: &TestRegistry, method: Method, path: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(t) = content_type {
        builder = builder.header(header::CONTENT_TYPE, t);
    }
    let reply = r.send(builder.body(Body::from(body.to_string())).unwrap()).await;
    (reply.status.as_u16(), reply.json())
}

registry_test!(
    malformed_bodies_are_400_and_write_nothing,
    |r: TestRegistry| async move {
        let path = "/subjects/s/versions";
        for (body, expect) in [
            ("{\"schema\": ", "Malformed JSON"),
            ("not json", "Malformed JSON"),
            ("{\"schema\": 42}", "Invalid request body"),
            (
                "{\"schema\": \"\\\"string\\\"\", \"references\": {}}",
                "Invalid request body",
            ),
            ("[1, 2]", "Invalid request body"),
        ] {
            let (status, reply) = raw(&r, Method::POST, path, Some(V1), body).await;
            assert_eq!(
                (status, reply["error_code"].as_i64()),
                (400, Some(400)),
                "{body}: {reply}"
            );
            assert!(reply["message"].as_str().unwrap().contains(expect), "{body}: {reply}");
        }
        // Unknown fields are ignored, as Confluent's entities ignore them.
        let (status, reply) = raw(
            &r,
            Method::POST,
            path,
            Some(V1),
            "{\"schema\": \"\\\"string\\\"\", \"schemaTagsToAdd\": [], \"whatever\": {\"x\": 1}}",
        )
        .await;
        assert_eq!((status, reply), (200, json!({"id": 1})));
        assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([1]));
    }
);

registry_test!(
    invalid_schemas_are_42201_with_their_location,
    |r: TestRegistry| async move {
        let message = r
        .post("/subjects/s/versions", &json!({"schema": "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"a\", \"type\": \"strnig\"}]}"}))
        .await
        .fails(422, 42201);
        assert!(
            message.contains("/fields/0/type") && message.contains("strnig"),
            "{message}"
        );
        let message = r
            .post(
                "/subjects/s/versions",
                &json!({"schema": "{\"type\": \"record\",\n \"name\": }"}),
            )
            .await
            .fails(422, 42201);
        assert!(message.contains("line 2"), "{message}");
        let message = r
            .post(
                "/subjects/s/versions",
                &json!({"schemaType": "JSON", "schema": "{\"type\": \"strin\"}"}),
            )
            .await
            .fails(422, 42201);
        assert!(message.contains("/type"), "{message}");
        let message = r
            .post(
                "/subjects/s/versions",
                &json!({"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\"\nmessage A {}"}),
            )
            .await
            .fails(422, 42201);
        assert!(message.contains("PROTOBUF") && message.contains("line 2"), "{message}");
        let message = r
            .post("/subjects/s/versions", &json!({"schemaType": "XML", "schema": "<a/>"}))
            .await
            .fails(422, 42201);
        assert_eq!(message, "Invalid schema type XML");
        let message = r.post("/subjects/s/versions", &json!({})).await.fails(422, 42201);
        assert_eq!(message, "Empty schema");
        r.get("/subjects/s/versions").await.fails(404, 40401);
        assert_eq!(r.get("/schemas").await.ok(), json!([]));
    }
);

registry_test!(invalid_subjects_and_versions, |r: TestRegistry| async move {
    let message = r.register("bad%0Asubject", &json!("string")).await.fails(422, 42208);
    assert_eq!(message, "The specified subject 'bad\nsubject' is not a valid.");
    r.register("__GLOBAL", &json!("string")).await.fails(422, 42208);
    r.register_ok("s", &json!("string")).await;
    for bad in ["0", "-2", "1.5", "two", "2147483648"] {
        let message = r.get(&format!("/subjects/s/versions/{bad}")).await.fails(422, 42202);
        assert!(message.contains(&format!("'{bad}'")), "{message}");
    }
    r.get("/subjects/s/versions/2").await.fails(404, 40402);
    // Subjects travel URL-encoded: a slash inside one is part of the name.
    r.register_ok("team%2Fpayments", &json!("string")).await;
    assert_eq!(r.get("/subjects").await.ok(), json!(["s", "team/payments"]));
    assert_eq!(
        r.get("/subjects/team%2Fpayments/versions/1").await.ok()["subject"],
        "team/payments"
    );
    // The default context's qualified form names the same subject.
    assert_eq!(r.get("/subjects/:.:s/versions").await.ok(), json!([1]));
    // Ids that are not numbers are unknown paths, as in Confluent.
    r.get("/schemas/ids/abc").await.fails(404, 404);
    r.get("/schemas/ids/99").await.fails(404, 40403);
    r.get("/schemas/ids/99/subjects").await.fails(404, 40403);
});

registry_test!(framework_errors_use_the_api_shape, |r: TestRegistry| async move {
    let reply = r.get("/no/such/path").await;
    assert_eq!(reply.fails(404, 404), "HTTP 404 Not Found");
    let reply = r.call(Method::PATCH, "/subjects", None).await;
    assert_eq!(reply.fails(405, 405), "HTTP 405 Method Not Allowed");

    let accept = |value: &'static str| {
        Request::builder()
            .uri("/subjects")
            .header(header::ACCEPT, value)
            .body(Body::empty())
            .unwrap()
    };
    let reply = r.send(accept("application/vnd.schemaregistry.v2+json")).await;
    assert_eq!(reply.fails(406, 406), "HTTP 406 Not Acceptable");
    let reply = r.send(accept("application/json")).await;
    assert_eq!(
        (reply.status.as_u16(), reply.content_type.as_str()),
        (200, "application/json")
    );
    let reply = r.send(accept("application/vnd.schemaregistry+json")).await;
    assert_eq!(reply.content_type, "application/vnd.schemaregistry+json");

    let (status, reply) = raw(&r, Method::POST, "/subjects/s/versions", Some("text/html"), "{}").await;
    assert_eq!((status, &reply["error_code"]), (415, &json!(415)), "{reply}");
    for readable in [
        "application/json; charset=utf-8",
        "application/octet-stream",
        "application/vnd.schemaregistry+json",
    ] {
        let (status, reply) = raw(
            &r,
            Method::POST,
            "/subjects/s/versions",
            Some(readable),
            "{\"schema\": \"\\\"int\\\"\"}",
        )
        .await;
        assert_eq!(status, 200, "{readable}: {reply}");
    }
    // No type at all is what a web page can send cross-site: refused (issue 13).
    let (status, reply) = raw(
        &r,
        Method::POST,
        "/subjects/t/versions",
        None,
        "{\"schema\": \"\\\"int\\\"\"}",
    )
    .await;
    assert_eq!((status, &reply["error_code"]), (415, &json!(415)), "{reply}");
});

registry_test!(trailing_slashes_and_lenient_parameters, |r: TestRegistry| async move {
    r.register_ok("s", &json!("string")).await;
    assert_eq!(r.get("/subjects/").await.ok(), json!(["s"]));
    assert_eq!(r.get("/subjects/s/versions/").await.ok(), json!([1]));
    let body = json!({"schema": "\"string\""});
    assert_eq!(
        r.post(
            "/compatibility/subjects/s/versions/?verbose=True&unknown=1&deleted_only=x",
            &body
        )
        .await
        .ok(),
        json!({"is_compatible": true, "messages": []})
    );
    assert_eq!(
        r.post("/subjects/s/versions?normalize=False", &body).await.ok(),
        json!({"id": 1})
    );
    assert_eq!(r.get("/subjects?deleted=yes&limit=junk").await.ok(), json!(["s"]));
    assert_eq!(r.get("/").await.ok(), json!({}));
    assert_eq!(r.get("/contexts").await.ok(), json!(["."]));
    assert_eq!(
        r.get("/v1/metadata/version").await.ok()["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        r.get("/v1/metadata/id").await.ok()["scope"]["clusters"]["schema-registry-cluster"],
        "herald"
    );
});

registry_test!(normalize_sorts_json_schema_keys, |r: TestRegistry| async move {
    let body = |text: &str| json!({"schemaType": "JSON", "schema": text});
    let a = r
        .post(
            "/subjects/s/versions?normalize=true",
            &body("{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"string\"},\"a\":{\"type\":\"integer\"}}}"),
        )
        .await
        .ok();
    let b = r
        .post(
            "/subjects/s/versions?normalize=true",
            &body("{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}},\"type\":\"object\"}"),
        )
        .await
        .ok();
    assert_eq!(a, b);
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([1]));
    let stored = r.get("/subjects/s/versions/1").await.ok();
    assert_eq!(
        stored["schema"],
        "{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}},\"type\":\"object\"}"
    );
    // Without normalize, key order is part of the content.
    let c = r
        .post(
            "/subjects/s/versions",
            &body("{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"string\"},\"a\":{\"type\":\"integer\"}}}"),
        )
        .await
        .ok();
    assert_ne!(c, a);
});

// Avro schemas that differ only in the order of their custom properties, aliases and
// default objects are one schema under `normalize=true`, as in Confluent's registry: the
// same id on registration and found by lookup; without it they are two.
registry_test!(
    normalize_puts_avro_schemas_in_confluents_order,
    |r: TestRegistry| async move {
        let a = r#"{"type":"record","name":"Pay","aliases":["Zed","Alpha"],"owner":"payments","connect.name":"Pay",
        "fields":[{"name":"meta","type":{"type":"map","values":"string"},"default":{"k2":"v","k1":"w"}}]}"#;
        let b = r#"{"fields":[{"default":{"k1":"w","k2":"v"},"type":{"values":"string","type":"map"},"name":"meta"}],
        "connect.name":"Pay","owner":"payments","aliases":["Alpha","Zed"],"name":"Pay","type":"record"}"#;
        let body = |text: &str| json!({ "schema": text });
        let first = r.post("/subjects/pay/versions?normalize=true", &body(a)).await.ok();
        let second = r.post("/subjects/pay/versions?normalize=true", &body(b)).await.ok();
        assert_eq!(first["id"], second["id"], "one schema, one id");
        assert_eq!(r.get("/subjects/pay/versions").await.ok(), json!([1]));
        let stored = r.get("/subjects/pay/versions/1").await.ok();
        assert_eq!(
            stored["schema"],
            r#"{"type":"record","name":"Pay","fields":[{"name":"meta","type":{"type":"map","values":"string"},"default":{"k1":"w","k2":"v"}}],"connect.name":"Pay","owner":"payments","aliases":["Alpha","Zed"]}"#
        );
        let found = r.post("/subjects/pay?normalize=true", &body(b)).await.ok();
        assert_eq!(
            (found["id"].clone(), found["version"].clone()),
            (first["id"].clone(), json!(1))
        );

        // Without normalize, the orders are part of the content: a lookup of an order other
        // than the stored one finds nothing, and registering it makes a second id.
        let missing = r.post("/subjects/pay", &body(a)).await;
        assert_eq!(missing.status, 404, "{}", missing.text);
        assert_eq!(missing.json()["error_code"], 40403);
        let other = r.post("/subjects/other/versions", &body(a)).await.ok();
        assert_ne!(other["id"], first["id"]);
        // A subject whose versions were stored unnormalised is still found by a normalised lookup.
        let found = r.post("/subjects/other?normalize=true", &body(b)).await.ok();
        assert_eq!(found["id"], other["id"]);
        // And a normalised registration of it finds that version instead of adding one.
        let again = r.post("/subjects/other/versions?normalize=true", &body(b)).await.ok();
        assert_eq!(again["id"], other["id"]);
        assert_eq!(r.get("/subjects/other/versions").await.ok(), json!([1]));
    }
);

registry_test!(health_and_metrics, |r: TestRegistry| async move {
    assert_eq!(r.get("/health").await.ok(), json!({"status": "UP"}));
    assert_eq!(
        r.get("/health/ready").await.ok(),
        json!({"status": "UP", "database": "UP"})
    );
    r.register_ok("s", &record(1)).await;
    r.register_ok("s", &record(1)).await;
    r.register(
        "s",
        &json!({"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}),
    )
    .await
    .fails(409, 409);
    r.register("s", &json!({"type": "nope"})).await.fails(422, 42201);
    r.get("/subjects/s/versions/1").await.ok();
    let metrics = r.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.content_type.starts_with("text/plain"),
        "{}",
        metrics.content_type
    );
    for line in [
        "herald_http_requests_total{route=\"/subjects/{subject}/versions\",method=\"POST\",status=\"200\"} 2",
        "herald_http_requests_total{route=\"/subjects/{subject}/versions\",method=\"POST\",status=\"409\"} 1",
        "herald_http_requests_total{route=\"/subjects/{subject}/versions/{version}\",method=\"GET\",status=\"200\"} 1",
        "herald_http_request_duration_seconds_count{route=\"/subjects/{subject}/versions\"} 4",
        "herald_registrations_total{outcome=\"created\"} 1",
        "herald_registrations_total{outcome=\"existing\"} 1",
        "herald_registrations_rejected_total{reason=\"incompatible\"} 1",
        "herald_registrations_rejected_total{reason=\"invalid\"} 1",
    ] {
        assert!(metrics.text.contains(line), "missing {line}\n{}", metrics.text);
    }
});

registry_test!(concurrent_clients_get_one_id_per_schema, |r: TestRegistry| async move {
    // 50 clients: each registers the shared schema under the shared subject, then its own
    // schema under the shared subject and under a subject of its own.
    let r = std::sync::Arc::new(r);
    let mut tasks = Vec::new();
    for client in 0..50 {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let shared = r.register_ok("shared", &record(1)).await;
            let own_schema = json!({"type": "record", "name": "R", "fields": [
                {"name": "f0", "type": "string", "default": ""},
                {"name": format!("client{client}"), "type": "int", "default": 0}]});
            let own_in_shared = r.register_ok("shared", &own_schema).await;
            let own_in_own = r.register_ok(&format!("client-{client}"), &own_schema).await;
            (shared, own_in_shared, own_in_own)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("client task"));
    }
    let shared_ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r.0).collect();
    assert_eq!(shared_ids.len(), 1, "one id for the shared schema: {shared_ids:?}");
    for (_, in_shared, in_own) in &results {
        assert_eq!(in_shared, in_own, "the same schema keeps its id across subjects");
    }
    let own_ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r.1).collect();
    assert_eq!(own_ids.len(), 50);
    assert!(!own_ids.contains(shared_ids.iter().next().unwrap()));
    // Every id from 1 to 51 given once; versions of `shared` 1..=51 without gaps.
    let all: Vec<i64> = shared_ids.iter().chain(own_ids.iter()).copied().collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=51).collect::<Vec<_>>());
    let versions = r.get("/subjects/shared/versions").await.ok();
    assert_eq!(versions, json!((1..=51).collect::<Vec<_>>()));
    for client in 0..50 {
        assert_eq!(
            r.get(&format!("/subjects/client-{client}/versions")).await.ok(),
            json!([1])
        );
    }
});

#[tokio::test]
async fn oversized_schemas_are_refused() {
    let settings = RegistrySettings {
        max_schema_bytes: 2_000,
        ..RegistrySettings::default()
    };
    let r = TestRegistry::open(Backend::Sqlite(temp_dir("herald-limits")), settings).await;
    let message = r.register("s", &record(100)).await.fails(422, 42209);
    assert!(message.contains("too large") && message.contains("2000"), "{message}");
    // Bodies far past the limit are cut off before they are read.
    let huge = json!({"schema": "x".repeat(100_000)});
    let reply = r.post("/subjects/s/versions", &huge).await;
    let message = reply.fails(413, 413);
    assert!(message.contains("too large"), "{message}");
    r.get("/subjects/s/versions").await.fails(404, 40401);
    assert_eq!(r.register_ok("s", &record(2)).await, 1);
}
