//! Answers as Confluent's server gives them where clients and migrations depend on it: each
//! error's code and the start of its message (clients match on Confluent's wording; Herald's
//! explanation comes after it), and Confluent's leniency: Avro defaults unchecked unless
//! configured, wildcard `Accept` headers, UTF-16 and UTF-32 bodies, bodies without a schema.

use axum::body::Body;
use axum::http::{header, Method, Request};
use herald::registry::RegistrySettings;
use serde_json::{json, Value};

use crate::registry_support::{fresh_postgres_database, postgres_url, temp_dir, Backend, Reply, TestRegistry, V1};
use crate::registry_test;

fn record(name: &str, fields: Value) -> Value {
    json!({"type": "record", "name": name, "fields": fields})
}

fn v1() -> Value {
    record("Order", json!([{"name": "id", "type": "string"}]))
}

/// v1 plus a field without a default: not BACKWARD compatible.
fn breaking() -> Value {
    record(
        "Order",
        json!([{"name": "id", "type": "string"}, {"name": "total", "type": "long"}]),
    )
}

/// A field default that does not match its type, as Confluent 7.x stores by default.
fn bad_default() -> Value {
    record(
        "Order",
        json!([{"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": null}]),
    )
}

/// Asserts the status, the error code and the start of the message; answers the message.
#[track_caller]
fn starts(reply: &Reply, status: u16, code: i64, start: &str) -> String {
    let message = reply.fails(status, code);
    assert!(
        message.starts_with(start),
        "{status}/{code}: {message:?} should start with {start:?}"
    );
    message
}

fn schema_body(schema: &Value) -> Value {
    json!({"schema": schema.to_string()})
}

registry_test!(not_found_templates, |r: TestRegistry| async move {
    starts(
        &r.get("/subjects/nope/versions").await,
        404,
        40401,
        "Subject 'nope' not found.",
    );
    r.register_ok("s", &v1()).await;
    starts(
        &r.get("/subjects/s/versions/5").await,
        404,
        40402,
        "Version 5 not found.",
    );
    starts(&r.get("/schemas/ids/7").await, 404, 40403, "Schema 7 not found");
    starts(
        &r.post("/subjects/s", &schema_body(&breaking())).await,
        404,
        40403,
        "Schema not found",
    );
    starts(
        &r.get("/config/s").await,
        404,
        40408,
        "Subject 's' does not have subject-level compatibility configured",
    );
    starts(
        &r.get("/mode/s").await,
        404,
        40409,
        "Subject 's' does not have subject-level mode configured",
    );
    // No subject-level config or mode to delete: the subject is "not found".
    starts(&r.delete("/config/s").await, 404, 40401, "Subject 's' not found.");
    starts(&r.delete("/mode/s").await, 404, 40401, "Subject 's' not found.");

    starts(
        &r.delete("/subjects/s/versions/1?permanent=true").await,
        404,
        40407,
        "Subject 's' Version 1 was not deleted first before being permanently deleted",
    );
    starts(
        &r.delete("/subjects/s?permanent=true").await,
        404,
        40405,
        "Subject 's' was not deleted first before being permanently deleted",
    );
    r.delete("/subjects/s/versions/1").await.ok();
    starts(
        &r.delete("/subjects/s/versions/1").await,
        404,
        40406,
        "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently",
    );
    r.register_ok("t", &v1()).await;
    r.delete("/subjects/t").await.ok();
    starts(
        &r.delete("/subjects/t").await,
        404,
        40404,
        "Subject 't' was soft deleted.Set permanent=true to delete permanently",
    );
});

registry_test!(incompatible_template, |r: TestRegistry| async move {
    r.register_ok("s", &v1()).await;
    let message = starts(
        &r.register("s", &breaking()).await,
        409,
        409,
        "Schema being registered is incompatible with an earlier schema for subject \"s\", details: [",
    );
    // Confluent's details list first, then Herald's explanations.
    let details = message.find("{oldSchemaVersion: 1}").expect("Confluent's details");
    let explained = message.find("explained: [").expect("Herald's explanations");
    assert!(details < explained, "{message}");
});

registry_test!(invalid_schema_templates, |r: TestRegistry| async move {
    let bad = json!({"schema": "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"a\", \"type\": \"strnig\"}]}"});
    let message = starts(
        &r.post("/subjects/s/versions", &bad).await,
        422,
        42201,
        "Invalid schema of type AVRO, details: ",
    );
    assert!(message.contains("strnig"), "{message}");
    starts(
        &r.post(
            "/subjects/s/versions",
            &json!({"schemaType": "JSON", "schema": "{\"type\": 5}"}),
        )
        .await,
        422,
        42201,
        "Invalid schema of type JSON, details: ",
    );
    // The same refusal from lookups (under any subject: the schema is read first, as
    // Confluent reads it) and compatibility checks.
    starts(&r.post("/subjects/unknown", &bad).await, 422, 42201, "Invalid schema");
    r.register_ok("s", &v1()).await;
    starts(&r.post("/subjects/s", &bad).await, 422, 42201, "Invalid schema");
    starts(
        &r.post("/compatibility/subjects/s/versions/latest", &bad).await,
        422,
        42201,
        "Invalid schema",
    );
    let verbose = r
        .post("/compatibility/subjects/s/versions/latest?verbose=true", &bad)
        .await
        .ok();
    assert_eq!(verbose["is_compatible"], false);
    assert!(
        verbose["messages"][0].as_str().unwrap().starts_with("Invalid schema"),
        "{verbose}"
    );

    starts(
        &r.post("/subjects/s/versions", &json!({"schemaType": "XML", "schema": "<a/>"}))
            .await,
        422,
        42201,
        "Invalid schema type XML",
    );
    starts(
        &r.post("/subjects/new/versions", &json!({})).await,
        422,
        42201,
        "Empty schema",
    );
    let missing_reference = json!({
        "schema": "\"string\"",
        "references": [{"name": "Other", "subject": "other", "version": 1}],
    });
    starts(
        &r.post("/subjects/s/versions", &missing_reference).await,
        422,
        42201,
        "No schema reference found for subject \"other\" and version 1",
    );
    let reference_without_version = json!({
        "schema": "\"string\"",
        "references": [{"name": "Other", "subject": "other"}],
    });
    starts(
        &r.post("/subjects/s/versions", &reference_without_version).await,
        422,
        42201,
        "Invalid schema",
    );
    starts(
        &r.post(
            "/subjects/s/versions",
            &json!({"schema": breaking().to_string(), "version": 7}),
        )
        .await,
        422,
        42201,
        "Version is not one more than previous version",
    );
});

registry_test!(other_422_templates, |r: TestRegistry| async move {
    starts(
        &r.get("/subjects/s/versions/abc").await,
        422,
        42202,
        "The specified version 'abc' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
    );
    starts(
        &r.put("/config", &json!({"compatibility": "SIDEWAYS"})).await,
        422,
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
    );
    starts(
        &r.put("/mode", &json!({"mode": "SIDEWAYS"})).await,
        422,
        42204,
        "Invalid mode. Valid values are READWRITE, READONLY, ",
    );
    starts(
        &r.register("__GLOBAL", &v1()).await,
        422,
        42208,
        "The specified subject '__GLOBAL' is not a valid.",
    );
    starts(
        &r.post(
            "/subjects/s/versions",
            &json!({"schema": v1().to_string(), "ruleSet": {"domainRules": [{"kind": "CONDITION"}]}}),
        )
        .await,
        422,
        42210,
        "Missing rule name",
    );
    // Configured rule sets are checked the same way.
    starts(
        &r.put(
            "/config/s",
            &json!({"defaultRuleSet": {"domainRules": [{"name": "r"}]}}),
        )
        .await,
        422,
        42210,
        "Missing rule type",
    );
    starts(
        &r.put(
            "/config",
            &json!({"overrideRuleSet": {"migrationRules": [{"name": "up", "type": "JSONATA", "mode": "WRITE"}]}}),
        )
        .await,
        422,
        42210,
        "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN",
    );
    r.get("/config/s").await.fails(404, 40408);

    // 42206: a referenced version cannot go.
    r.register_ok("base", &v1()).await;
    let referrer = json!({
        "schema": record("Wrapper", json!([{"name": "order", "type": "Order"}])).to_string(),
        "references": [{"name": "Order", "subject": "base", "version": 1}],
    });
    r.post("/subjects/wrapper/versions", &referrer).await.ok();
    starts(
        &r.delete("/subjects/base/versions/1").await,
        422,
        42206,
        "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=base,version=1}.",
    );

    // 42205: modes. The default context is named by nothing, as Confluent names it.
    r.put("/mode/ro", &json!({"mode": "READONLY"})).await.ok();
    starts(
        &r.register("ro", &v1()).await,
        422,
        42205,
        "Subject ro in context  is in read-only mode",
    );
    let with_id = json!({"schema": v1().to_string(), "id": 50});
    starts(
        &r.post("/subjects/rw/versions", &with_id).await,
        422,
        42205,
        "Subject rw in context  is not in import mode",
    );
    starts(
        &r.put("/mode", &json!({"mode": "IMPORT"})).await,
        422,
        42205,
        "Cannot import since found existing subjects",
    );
    r.put("/mode/imp", &json!({"mode": "IMPORT"})).await.ok();
    starts(
        &r.register("imp", &breaking()).await,
        422,
        42205,
        "Subject imp in context  is not in read-write mode",
    );
    // 42207: content that already has an id keeps it.
    starts(
        &r.post("/subjects/imp/versions", &json!({"schema": v1().to_string(), "id": 60}))
            .await,
        422,
        42207,
        "The ID of an imported schema does not match the existing ID",
    );
});

/// A registry on each backend with `settings`; the PostgreSQL one only when configured.
async fn registries(settings: RegistrySettings) -> Vec<TestRegistry> {
    let mut all = vec![TestRegistry::open(Backend::Sqlite(temp_dir("herald-confluent")), settings.clone()).await];
    if let Some(server) = postgres_url() {
        let url = fresh_postgres_database(&server).await;
        all.push(TestRegistry::open(Backend::Postgres(url), settings).await);
    } else {
        crate::support::skip("PostgreSQL variant needs HERALD_TEST_DATABASE_URL (CI sets it)");
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_template() {
    let settings = RegistrySettings {
        max_schema_bytes: 100,
        ..RegistrySettings::default()
    };
    for r in registries(settings).await {
        let fields: Vec<Value> = (0..20)
            .map(|i| json!({"name": format!("f{i}"), "type": "string"}))
            .collect();
        starts(
            &r.register("s", &record("R", json!(fields))).await,
            422,
            42209,
            "Register operation failed because schema is too large",
        );
    }
}

registry_test!(
    avro_defaults_are_not_checked_unless_configured,
    |r: TestRegistry| async move {
        // Registers, as in Confluent 7.x by default, and reads back as stored.
        let id = r.register_ok("s", &bad_default()).await;
        let found = r.post("/subjects/s", &schema_body(&bad_default())).await.ok();
        assert_eq!((found["id"].as_i64(), found["version"].as_i64()), (Some(id), Some(1)));
        let stored: Value = serde_json::from_str(
            r.get(&format!("/schemas/ids/{id}")).await.ok()["schema"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(stored["fields"][1]["default"], Value::Null);
        // Later versions are judged against it.
        let next = record(
            "Order",
            json!([{"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": null},
                   {"name": "extra", "type": "int", "default": 0}]),
        );
        let verdict = r
            .post("/compatibility/subjects/s/versions/latest", &schema_body(&next))
            .await
            .ok();
        assert_eq!(verdict, json!({"is_compatible": true}));
        r.register_ok("s", &next).await;
        r.register("s", &breaking()).await.fails(409, 409);

        // IMPORT keeps schemas exported from a Confluent registry as they were.
        r.put("/mode/imported", &json!({"mode": "IMPORT"})).await.ok();
        let import = json!({"schema": record("Legacy", json!([{"name": "n", "type": "int", "default": "zero"}])).to_string(), "id": 900, "version": 4});
        assert_eq!(
            r.post("/subjects/imported/versions", &import).await.ok(),
            json!({"id": 900})
        );
        assert_eq!(r.get("/subjects/imported/versions/4").await.ok()["id"], 900);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_defaults_are_checked_when_configured() {
    let settings = RegistrySettings {
        validate_avro_defaults: true,
        ..RegistrySettings::default()
    };
    for r in registries(settings).await {
        let message = starts(&r.register("s", &bad_default()).await, 422, 42201, "Invalid schema");
        assert!(message.contains("/fields/1/default"), "{message}");
        r.register_ok("s", &v1()).await;
        starts(
            &r.post(
                "/compatibility/subjects/s/versions/latest",
                &schema_body(&bad_default()),
            )
            .await,
            422,
            42201,
            "Invalid schema",
        );
        // Lookups stay lenient; imported schemas are taken as they are.
        r.post("/subjects/s", &schema_body(&bad_default()))
            .await
            .fails(404, 40403);
        r.put("/mode/imported", &json!({"mode": "IMPORT"})).await.ok();
        let import = json!({"schema": bad_default().to_string(), "id": 900});
        assert_eq!(
            r.post("/subjects/imported/versions", &import).await.ok(),
            json!({"id": 900})
        );
    }
}

registry_test!(
    normalizing_checks_defaults_as_confluent_7_does,
    |r: TestRegistry| async move {
        starts(
            &r.post("/subjects/s/versions?normalize=true", &schema_body(&bad_default()))
                .await,
            422,
            42201,
            "Invalid schema",
        );
        r.register_ok("s", &bad_default()).await;
    }
);

registry_test!(
    bodies_without_a_schema_are_answered_as_confluent_does,
    |r: TestRegistry| async move {
        let empties = [
            json!({}),
            json!({"schema": null}),
            json!({"schema": ""}),
            json!({"schema": "  "}),
        ];
        let verbose = r
            .post("/compatibility/subjects/s/versions/latest?verbose=true", &json!({}))
            .await
            .ok();
        assert_eq!(verbose, json!({"is_compatible": false, "messages": ["Empty schema"]}));
        for body in &empties {
            // Lookup: an unknown subject first, then an unknown schema.
            starts(&r.post("/subjects/s", body).await, 404, 40401, "Subject 's' not found.");
            // Registering the first version needs a schema.
            starts(&r.post("/subjects/s/versions", body).await, 422, 42201, "Empty schema");
            starts(
                &r.post("/compatibility/subjects/s/versions/latest", body).await,
                422,
                42201,
                "Empty schema",
            );
        }
        let id = r.register_ok("s", &v1()).await;
        for body in &empties {
            starts(&r.post("/subjects/s", body).await, 404, 40403, "Schema not found");
            // A later registration without a schema reuses the latest one's, and (as the
            // registry filled the schema in) answers with the whole stored version.
            let reply = r.post("/subjects/s/versions", body).await.ok();
            assert_eq!(reply, json!({"id": id, "version": 1, "schema": v1().to_string()}),);
        }
        assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([1]));
        // A JSON null or an empty body is no request at all: 422/422, as Confluent's
        // validation answers a missing request entity.
        for (body, missing) in [("null", "null"), ("", "empty"), (" \n", "empty")] {
            for path in [
                "/subjects/s/versions",
                "/subjects/s",
                "/compatibility/subjects/s/versions/latest",
            ] {
                let reply = send_bytes(&r, path, V1, body.as_bytes().to_vec()).await;
                let expected = format!("The request body must not be null (it is {missing}): expected a JSON object");
                assert_eq!(reply.fails(422, 422), expected, "{path} {body:?}");
            }
        }
        let reply = r.call(Method::PUT, "/config", Some("")).await;
        starts(&reply, 422, 422, "The request body must not be null (it is empty)");
    }
);

async fn send_bytes(r: &TestRegistry, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    r.send(request).await
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    bom.then_some(0xFEFF)
        .into_iter()
        .chain(text.encode_utf16())
        .flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() })
        .collect()
}

fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    bom.then_some('\u{FEFF}')
        .into_iter()
        .chain(text.chars())
        .flat_map(|c| {
            if big_endian {
                (c as u32).to_be_bytes()
            } else {
                (c as u32).to_le_bytes()
            }
        })
        .collect()
}

registry_test!(bodies_in_utf16_and_utf32_are_read, |r: TestRegistry| async move {
    let schema = record(
        "Order",
        json!([{"name": "id", "type": "string", "doc": "Nº de commande 🚀"}]),
    );
    let body = schema_body(&schema).to_string();
    let id = r.register_ok("s", &schema).await;
    let mut encodings: Vec<(&str, Vec<u8>)> = vec![(
        "utf-8 with a BOM",
        [b"\xEF\xBB\xBF".to_vec(), body.clone().into_bytes()].concat(),
    )];
    for bom in [true, false] {
        for big_endian in [true, false] {
            encodings.push(("utf-16", utf16(&body, big_endian, bom)));
            encodings.push(("utf-32", utf32(&body, big_endian, bom)));
        }
    }
    for (charset, bytes) in encodings {
        // With or without a charset parameter: the bytes say what they are.
        for content_type in [V1.to_string(), format!("application/json; charset={charset}")] {
            let reply = send_bytes(&r, "/subjects/s/versions", &content_type, bytes.clone()).await;
            assert_eq!(reply.ok(), json!({"id": id}), "{charset} as {content_type}");
            let found = send_bytes(&r, "/subjects/s", &content_type, bytes.clone()).await.ok();
            assert_eq!(found["id"].as_i64(), Some(id));
        }
    }
    // The text survived decoding: the stored schema is the one registered from UTF-8.
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([1]));

    // Bytes that are not valid in their encoding: 400, naming it.
    let mut lone_surrogate = utf16("{\"schema\": \"", false, true);
    lone_surrogate.extend(0xDC00u16.to_le_bytes());
    lone_surrogate.extend(utf16("\"}", false, false));
    let message = starts(
        &send_bytes(&r, "/subjects/s/versions", V1, lone_surrogate).await,
        400,
        400,
        "Malformed JSON: ",
    );
    assert!(
        message.contains("UTF-16LE") && message.contains("surrogate"),
        "{message}"
    );
    let mut cut = utf32("{}", true, false);
    cut.pop();
    let message = starts(
        &send_bytes(&r, "/subjects/s/versions", V1, cut).await,
        400,
        400,
        "Malformed JSON: ",
    );
    assert!(message.contains("UTF-32BE"), "{message}");
    let mut past_unicode = utf32("{\"schema\": \"", false, false);
    past_unicode.extend(0x0011_0000u32.to_le_bytes());
    let message = starts(
        &send_bytes(&r, "/subjects/s/versions", V1, past_unicode).await,
        400,
        400,
        "Malformed JSON: ",
    );
    assert!(message.contains("UTF-32LE"), "{message}");
    // Latin-1 bytes are not UTF-8, whatever the charset says (Confluent's parser ignores it).
    let latin1 = b"{\"schema\": \"\\\"caf\xE9\\\"\"}".to_vec();
    starts(
        &send_bytes(
            &r,
            "/subjects/s/versions",
            "application/json; charset=iso-8859-1",
            latin1,
        )
        .await,
        400,
        400,
        "Malformed JSON: ",
    );
});

registry_test!(
    accept_headers_are_matched_as_jersey_does,
    |r: TestRegistry| async move {
        let get = |accept: &'static str| {
            Request::builder()
                .uri("/subjects")
                .header(header::ACCEPT, accept)
                .body(Body::empty())
                .unwrap()
        };
        for (accept, expected) in [
            ("*/*", V1),
            ("*", V1),
            ("application/*", V1),
            ("application/*;q=0.9, text/html", V1),
            ("text/html, */*;q=0.1", V1),
            ("application/json;q=0.9, */*;q=0.8", "application/json"),
            (
                "application/json;q=0.5, application/vnd.schemaregistry+json;q=0.5",
                "application/vnd.schemaregistry+json",
            ),
            (
                "application/json, application/vnd.schemaregistry.v1+json;q=0.2",
                "application/json",
            ),
            ("application/json;q=0, */*", V1),
            ("Application/JSON", "application/json"),
        ] {
            let reply = r.send(get(accept)).await;
            assert_eq!(
                (reply.status.as_u16(), reply.content_type.as_str()),
                (200, expected),
                "{accept}"
            );
        }
        // Several Accept headers count as one list.
        let two = Request::builder()
            .uri("/subjects")
            .header(header::ACCEPT, "text/html")
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap();
        assert_eq!(r.send(two).await.content_type, "application/json");
        // Only types the registry cannot answer in: 406, in the API's shape and type.
        for accept in [
            "text/html",
            "text/*",
            "application/xml, text/plain;q=0.5",
            "application/json;q=0",
        ] {
            let reply = r.send(get(accept)).await;
            assert_eq!(reply.fails(406, 406), "HTTP 406 Not Acceptable", "{accept}");
            assert_eq!(reply.content_type, V1, "{accept}");
        }
    }
);
