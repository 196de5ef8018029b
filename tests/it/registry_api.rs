//! The Confluent REST API through the real router, endpoint by endpoint and error by error,
//! on SQLite and (when configured) PostgreSQL. Bodies that clients parse are snapshotted.

use serde_json::{json, Value};

use crate::registry_support::TestRegistry;
use crate::registry_test;

fn payment_v1() -> Value {
    json!({"type": "record", "name": "Payment", "namespace": "com.acme",
           "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}]})
}

/// v1 plus an optional field: BACKWARD and FORWARD compatible.
fn payment_v2() -> Value {
    json!({"type": "record", "name": "Payment", "namespace": "com.acme",
           "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
                      {"name": "currency", "type": "string", "default": "EUR"}]})
}

/// v1 plus a required field: not BACKWARD compatible.
fn payment_breaking() -> Value {
    json!({"type": "record", "name": "Payment", "namespace": "com.acme",
           "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
                      {"name": "payer", "type": "string"}]})
}

fn schema_body(schema: &Value) -> Value {
    json!({ "schema": schema.to_string() })
}

registry_test!(register_and_read_back, |r: TestRegistry| async move {
    // Whitespace and key spelling differ from what is stored: the canonical text is kept.
    let sent = "{ \"type\": \"record\", \"name\": \"Payment\", \"namespace\": \"com.acme\", \"fields\": [ {\"name\": \"id\", \"type\": {\"type\": \"string\"}}, {\"name\": \"amount\", \"type\": \"double\"} ] }";
    let reply = r
        .post("/subjects/payments-value/versions", &json!({ "schema": sent }))
        .await;
    insta::assert_json_snapshot!("register_first", reply.ok());
    assert_eq!(reply.content_type, "application/vnd.schemaregistry.v1+json");

    // The same content again, however spelled: same id, no new version.
    assert_eq!(r.register_ok("payments-value", &payment_v1()).await, 1);
    assert_eq!(r.get("/subjects/payments-value/versions").await.ok(), json!([1]));

    assert_eq!(r.register_ok("payments-value", &payment_v2()).await, 2);
    assert_eq!(r.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));
    // Re-posting v1 after v2 answers v1's id and creates nothing.
    assert_eq!(r.register_ok("payments-value", &payment_v1()).await, 1);
    assert_eq!(r.get("/subjects/payments-value/versions").await.ok(), json!([1, 2]));

    insta::assert_json_snapshot!("version_1", r.get("/subjects/payments-value/versions/1").await.ok());
    let latest = r.get("/subjects/payments-value/versions/latest").await.ok();
    assert_eq!(latest["version"], 2);
    assert_eq!(r.get("/subjects/payments-value/versions/-1").await.ok(), latest);
    assert_eq!(
        r.get("/subjects/payments-value/versions/%20LATEST%20").await.ok(),
        latest
    );

    let raw = r.get("/subjects/payments-value/versions/1/schema").await;
    assert_eq!(raw.status, 200);
    assert_eq!(serde_json::from_str::<Value>(&raw.text).unwrap(), payment_v1());

    insta::assert_json_snapshot!("schema_by_id", r.get("/schemas/ids/1").await.ok());
    let raw = r.get("/schemas/ids/2/schema").await;
    assert_eq!(serde_json::from_str::<Value>(&raw.text).unwrap(), payment_v2());

    // The same schema under another subject keeps its id.
    assert_eq!(r.register_ok("refunds-value", &payment_v1()).await, 1);
    assert_eq!(
        r.get("/schemas/ids/1/subjects").await.ok(),
        json!(["payments-value", "refunds-value"])
    );
    assert_eq!(
        r.get("/schemas/ids/1/versions").await.ok(),
        json!([{"subject": "payments-value", "version": 1}, {"subject": "refunds-value", "version": 1}])
    );
    assert_eq!(
        r.get("/subjects").await.ok(),
        json!(["payments-value", "refunds-value"])
    );
    assert_eq!(
        r.get("/subjects?subjectPrefix=ref").await.ok(),
        json!(["refunds-value"])
    );

    let listed = r.get("/schemas").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let latest_only = r.get("/schemas?latestOnly=true").await.ok();
    assert_eq!(
        latest_only
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["subject"].as_str().unwrap(), s["version"].as_i64().unwrap()))
            .collect::<Vec<_>>(),
        vec![("payments-value", 2), ("refunds-value", 1)]
    );
    assert_eq!(
        r.get("/schemas?offset=1&limit=1").await.ok().as_array().unwrap().len(),
        1
    );
    assert_eq!(r.get("/schemas/ids/1?fetchMaxId=true").await.ok()["maxId"], 2);
});

registry_test!(
    lookup_finds_the_version_holding_a_schema,
    |r: TestRegistry| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        r.register_ok("payments-value", &payment_v2()).await;
        let found = r.post("/subjects/payments-value", &schema_body(&payment_v1())).await;
        insta::assert_json_snapshot!("lookup", found.ok());

        let missing = r
            .post("/subjects/payments-value", &schema_body(&payment_breaking()))
            .await;
        assert_eq!(missing.fails(404, 40403), "Schema not found");
        let unknown = r.post("/subjects/nobody-value", &schema_body(&payment_v1())).await;
        assert_eq!(unknown.fails(404, 40401), "Subject 'nobody-value' not found.");
        let invalid = r
            .post("/subjects/payments-value", &json!({"schema": "{\"type\": \"recrod\"}"}))
            .await;
        invalid.fails(422, 42201);

        // Soft-deleted versions match only with deleted=true.
        r.delete("/subjects/payments-value/versions/1").await.ok();
        r.post("/subjects/payments-value", &schema_body(&payment_v1()))
            .await
            .fails(404, 40403);
        let found = r
            .post("/subjects/payments-value?deleted=True", &schema_body(&payment_v1()))
            .await
            .ok();
        assert_eq!(found["version"], 1);
    }
);

registry_test!(
    incompatible_registrations_are_refused_and_explained,
    |r: TestRegistry| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        let refused = r.register("payments-value", &payment_breaking()).await;
        let message = refused.fails(409, 409);
        insta::assert_snapshot!("incompatible_message", message);
        assert_eq!(r.get("/subjects/payments-value/versions").await.ok(), json!([1]));

        // NONE lets it through; the level is per subject.
        r.put("/config/payments-value", &json!({"compatibility": "none"}))
            .await
            .ok();
        assert_eq!(r.register_ok("payments-value", &payment_breaking()).await, 2);
        r.register("orders-value", &payment_v1()).await.ok();
        r.register("orders-value", &payment_breaking()).await.fails(409, 409);
    }
);

/// An order whose customer's address and line items are nested records.
fn order(city: &str, sku: (&str, &str)) -> Value {
    json!({"type": "record", "name": "Order", "namespace": "com.acme", "fields": [
        {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
                {"name": "city", "type": city}]}}]}},
        {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
            {"name": sku.0, "type": sku.1}]}}}]})
}

registry_test!(refusals_name_nested_fields_and_renames, |r: TestRegistry| async move {
    r.register_ok("orders-value", &order("string", ("sku", "string"))).await;
    // The city becomes an int, and the items' `sku` is renamed `code` without an alias.
    let breaking = order("int", ("code", "string"));
    let refused = r.register("orders-value", &breaking).await;
    let message = refused.fails(409, 409);
    assert!(
            message.contains("TYPE_MISMATCH (backward against version 1; field customer.address.city; new schema at /fields/0/type/fields/0/type/fields/0/type"),
            "{message}"
        );
    assert!(
        message.contains("at field 'customer.address.city', a string value cannot be read as int."),
        "{message}"
    );
    assert!(
        message.contains("field items[].code; new schema at /fields/1/type/items/fields/0"),
        "{message}"
    );
    assert!(
        message.contains("It looks like field 'sku' renamed to 'code'")
            && message.contains(r#"Add "aliases": ["sku"] to the field 'code'"#),
        "{message}"
    );
    assert_eq!(r.get("/subjects/orders-value/versions").await.ok(), json!([1]));

    // The verbose compatibility check says the same, message by message.
    let verbose = r
        .post(
            "/compatibility/subjects/orders-value/versions/latest?verbose=true",
            &schema_body(&breaking),
        )
        .await
        .ok();
    assert_eq!(verbose["is_compatible"], false);
    let explained: Vec<&str> = verbose["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|m| m.contains("Fix:"))
        .collect();
    assert_eq!(explained.len(), 2, "{verbose}");
    assert!(explained[0].contains("field customer.address.city;"), "{verbose}");
    assert!(explained[1].contains("field items[].code;"), "{verbose}");

    // With the alias, the rename reads the old values: only the type change is left.
    let mut aliased = breaking.clone();
    aliased["fields"][1]["type"]["items"]["fields"][0]["aliases"] = json!(["sku"]);
    let verbose = r
        .post(
            "/compatibility/subjects/orders-value/versions/latest?verbose=true",
            &schema_body(&aliased),
        )
        .await
        .ok();
    let text = verbose["messages"].to_string();
    assert!(!text.contains("items[]"), "{text}");
    assert!(text.contains("customer.address.city"), "{text}");

    // A change of the whole schema's type names no field, and says so.
    let refused = r.register("orders-value", &json!("string")).await;
    let message = refused.fails(409, 409);
    assert!(message.contains("no single field"), "{message}");
});

registry_test!(
    transitive_levels_check_every_live_version,
    |r: TestRegistry| async move {
        let v1 = json!({"type": "record", "name": "T", "fields": [{"name": "a", "type": "int"}]});
        let v2 = json!({"type": "record", "name": "T", "fields": [{"name": "a", "type": "int"},
                    {"name": "b", "type": "string", "default": ""}]});
        let v3 = json!({"type": "record", "name": "T", "fields": [{"name": "b", "type": "string", "default": ""}]});
        r.put("/config/t-value", &json!({"compatibility": "FORWARD_TRANSITIVE"}))
            .await
            .ok();
        r.register_ok("t-value", &v1).await;
        r.register_ok("t-value", &v2).await;
        // v3 drops `a`, which v1 and v2 both need as readers: transitive reports both.
        let refused = r.register("t-value", &v3).await;
        let message = refused.fails(409, 409);
        assert!(
            message.contains("{oldSchemaVersion: 2}") && message.contains("{oldSchemaVersion: 1}"),
            "{message}"
        );

        // Soft-deleting versions takes them out of the comparison.
        r.delete("/subjects/t-value/versions/1").await.ok();
        r.delete("/subjects/t-value/versions/2").await.ok();
        let id = r.register_ok("t-value", &v3).await;
        assert_eq!(id, 3);
        // Versions are not reused after soft deletes.
        assert_eq!(r.get("/subjects/t-value/versions").await.ok(), json!([3]));
        assert_eq!(
            r.get("/subjects/t-value/versions?deleted=true").await.ok(),
            json!([1, 2, 3])
        );
        assert_eq!(
            r.get("/subjects/t-value/versions?deletedOnly=true").await.ok(),
            json!([1, 2])
        );
    }
);

registry_test!(compatibility_endpoints, |r: TestRegistry| async move {
    // Nothing registered yet: compatible, there is nothing to compare with.
    let nothing = r
        .post(
            "/compatibility/subjects/payments-value/versions/latest",
            &schema_body(&payment_v1()),
        )
        .await;
    assert_eq!(nothing.ok(), json!({"is_compatible": true}));
    r.register_ok("payments-value", &payment_v1()).await;

    let ok = r
        .post(
            "/compatibility/subjects/payments-value/versions/latest",
            &schema_body(&payment_v2()),
        )
        .await;
    assert_eq!(ok.ok(), json!({"is_compatible": true}));
    let ok = r
        .post(
            "/compatibility/subjects/payments-value/versions/1?verbose=true",
            &schema_body(&payment_v2()),
        )
        .await;
    assert_eq!(ok.ok(), json!({"is_compatible": true, "messages": []}));
    let bad = r
        .post(
            "/compatibility/subjects/payments-value/versions/",
            &schema_body(&payment_breaking()),
        )
        .await;
    assert_eq!(bad.ok(), json!({"is_compatible": false}));
    let verbose = r
        .post(
            "/compatibility/subjects/payments-value/versions?verbose=True",
            &schema_body(&payment_breaking()),
        )
        .await;
    insta::assert_json_snapshot!("compatibility_verbose", verbose.ok());

    // A parse error is a message with verbose, a 422 without.
    let garbage = json!({"schema": "{\"type\": \"record\", \"name\": \"P\"}"});
    let verbose = r
        .post(
            "/compatibility/subjects/payments-value/versions/latest?verbose=true",
            &garbage,
        )
        .await
        .ok();
    assert_eq!(verbose["is_compatible"], false);
    assert!(verbose["messages"][0].as_str().unwrap().contains("fields"), "{verbose}");
    r.post("/compatibility/subjects/payments-value/versions/latest", &garbage)
        .await
        .fails(422, 42201);

    r.post(
        "/compatibility/subjects/payments-value/versions/7",
        &schema_body(&payment_v2()),
    )
    .await
    .fails(404, 40402);
    r.post("/compatibility/subjects/other/versions/7", &schema_body(&payment_v2()))
        .await
        .fails(404, 40402);
    let message = r
        .post(
            "/compatibility/subjects/payments-value/versions/zero",
            &schema_body(&payment_v2()),
        )
        .await
        .fails(422, 42202);
    assert!(message.contains("'zero'"), "{message}");
});

registry_test!(json_schema_subjects, |r: TestRegistry| async move {
    let v1 = json!({"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": false});
    let v2 = json!({"type": "object", "properties": {"id": {"type": "string"}, "note": {"type": "string"}},
                    "additionalProperties": false});
    let v3 = json!({"type": "object", "properties": {"id": {"type": "integer"}}, "additionalProperties": false});
    let body = |s: &Value| json!({"schemaType": "JSON", "schema": s.to_string()});
    assert_eq!(
        r.post("/subjects/orders-value/versions", &body(&v1)).await.ok(),
        json!({"id": 1})
    );
    assert_eq!(
        r.post("/subjects/orders-value/versions", &body(&v2)).await.ok(),
        json!({"id": 2})
    );
    let message = r
        .post("/subjects/orders-value/versions", &body(&v3))
        .await
        .fails(409, 409);
    assert!(message.contains("TYPE_CHANGED"), "{message}");
    let version = r.get("/subjects/orders-value/versions/1").await.ok();
    assert_eq!(version["schemaType"], "JSON");
    assert_eq!(r.get("/schemas/ids/2").await.ok()["schemaType"], "JSON");
    // A JSON schema is no longer the same content as AVRO text that happens to match.
    let found = r.post("/subjects/orders-value", &body(&v1)).await.ok();
    assert_eq!(found["id"], 1);
    assert_eq!(r.get("/schemas/types").await.ok(), json!(["JSON", "AVRO"]));
});

registry_test!(references_between_subjects, |r: TestRegistry| async move {
    let money = json!({"type": "record", "name": "Money", "namespace": "com.acme",
                       "fields": [{"name": "units", "type": "long"}, {"name": "currency", "type": "string"}]});
    assert_eq!(r.register_ok("money", &money).await, 1);
    let payment = json!({"type": "record", "name": "Payment", "namespace": "com.acme",
                         "fields": [{"name": "amount", "type": "com.acme.Money"}]});
    let body = json!({"schema": payment.to_string(),
                      "references": [{"name": "com.acme.Money", "subject": "money", "version": -1}]});
    assert_eq!(
        r.post("/subjects/payments-value/versions", &body).await.ok(),
        json!({"id": 2})
    );
    let stored = r.get("/subjects/payments-value/versions/1").await.ok();
    // `-1` is stored as the version it meant.
    assert_eq!(
        stored["references"],
        json!([{"name": "com.acme.Money", "subject": "money", "version": 1}])
    );
    assert_eq!(r.get("/schemas/ids/2").await.ok()["references"][0]["subject"], "money");
    assert_eq!(r.get("/subjects/money/versions/1/referencedby").await.ok(), json!([2]));

    // A referenced version cannot be deleted.
    let message = r.delete("/subjects/money/versions/1").await.fails(422, 42206);
    assert!(message.contains("subject=money,version=1"), "{message}");
    r.delete("/subjects/money").await.fails(422, 42206);

    // Missing references and unknown names are invalid schemas.
    let dangling = json!({"schema": payment.to_string(),
                          "references": [{"name": "com.acme.Money", "subject": "money", "version": 9}]});
    let message = r
        .post("/subjects/other-value/versions", &dangling)
        .await
        .fails(422, 42201);
    assert_eq!(message, "No schema reference found for subject \"money\" and version 9");
    let unresolved = r.register("other-value", &payment).await.fails(422, 42201);
    assert!(unresolved.contains("com.acme.Money"), "{unresolved}");
    let incomplete = json!({"schema": payment.to_string(), "references": [{"name": "com.acme.Money"}]});
    r.post("/subjects/other-value/versions", &incomplete)
        .await
        .fails(422, 42201);

    // Once the referrer is gone, the reference no longer blocks.
    r.delete("/subjects/payments-value").await.ok();
    assert_eq!(r.get("/subjects/money/versions/1/referencedby").await.ok(), json!([]));
    assert_eq!(
        r.get("/subjects/money/versions/1/referencedby?deleted=true").await.ok(),
        json!([2])
    );
    r.delete("/subjects/money/versions/1").await.ok();
    // …but a permanent delete still counts soft-deleted referrers.
    r.delete("/subjects/money/versions/1?permanent=true")
        .await
        .fails(422, 42206);
});

registry_test!(json_schema_references, |r: TestRegistry| async move {
    let address = json!({"type": "object", "properties": {"street": {"type": "string"}}});
    r.post(
        "/subjects/address/versions",
        &json!({"schemaType": "JSON", "schema": address.to_string()}),
    )
    .await
    .ok();
    let customer = json!({"type": "object", "properties": {"home": {"$ref": "address.json"}}});
    let body = json!({"schemaType": "JSON", "schema": customer.to_string(),
                      "references": [{"name": "address.json", "subject": "address", "version": 1}]});
    assert_eq!(
        r.post("/subjects/customer-value/versions", &body).await.ok(),
        json!({"id": 2})
    );
    let without = json!({"schemaType": "JSON", "schema": customer.to_string()});
    r.post("/subjects/customer2-value/versions", &without)
        .await
        .fails(422, 42201);
});

registry_test!(soft_and_hard_deletes, |r: TestRegistry| async move {
    r.register_ok("s", &payment_v1()).await;
    r.register_ok("s", &payment_v2()).await;

    r.delete("/subjects/s/versions/1?permanent=true")
        .await
        .fails(404, 40407);
    assert_eq!(r.delete("/subjects/s/versions/1").await.ok(), json!(1));
    let message = r.delete("/subjects/s/versions/1").await.fails(404, 40406);
    assert_eq!(
        message,
        "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently"
    );
    r.get("/subjects/s/versions/1").await.fails(404, 40402);
    assert_eq!(r.get("/subjects/s/versions/1?deleted=true").await.ok()["version"], 1);
    // Ids stay readable: consumers must still decode old data.
    r.get("/schemas/ids/1").await.ok();
    assert_eq!(r.delete("/subjects/s/versions/1?permanent=true").await.ok(), json!(1));
    r.get("/subjects/s/versions/1?deleted=true").await.fails(404, 40402);
    r.get("/schemas/ids/1").await.fails(404, 40403);
    r.delete("/subjects/s/versions/9").await.fails(404, 40402);

    r.delete("/subjects/s?permanent=true").await.fails(404, 40405);
    assert_eq!(r.delete("/subjects/s").await.ok(), json!([2]));
    let message = r.delete("/subjects/s").await.fails(404, 40404);
    assert_eq!(
        message,
        "Subject 's' was soft deleted.Set permanent=true to delete permanently"
    );
    r.get("/subjects/s/versions").await.fails(404, 40401);
    r.get("/subjects/s/versions/latest").await.fails(404, 40401);
    assert_eq!(r.get("/subjects").await.ok(), json!([]));
    assert_eq!(r.get("/subjects?deleted=true").await.ok(), json!(["s"]));
    assert_eq!(r.get("/subjects?deletedOnly=true").await.ok(), json!(["s"]));

    // Re-registering after a soft delete continues the numbering and keeps the id.
    assert_eq!(r.register_ok("s", &payment_v2()).await, 2);
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([3]));

    // Permanent deletes free the top version numbers; ids are never reused.
    r.delete("/subjects/s").await.ok();
    assert_eq!(r.delete("/subjects/s?permanent=true").await.ok(), json!([2, 3]));
    r.delete("/subjects/s").await.fails(404, 40401);
    let id = r.register_ok("s", &payment_breaking()).await;
    assert_eq!(id, 3);
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([1]));

    // latest names the latest live version.
    r.register_ok(
        "s",
        &json!({"type": "record", "name": "Payment", "namespace": "com.acme",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"},
                   {"name": "payer", "type": "string"}, {"name": "x", "type": "int", "default": 0}]}),
    )
    .await;
    assert_eq!(r.delete("/subjects/s/versions/latest").await.ok(), json!(2));
    assert_eq!(r.get("/subjects/s/versions/latest").await.ok()["version"], 1);
});

registry_test!(configs, |r: TestRegistry| async move {
    assert_eq!(r.get("/config").await.ok(), json!({"compatibilityLevel": "BACKWARD"}));
    assert_eq!(
        r.put("/config", &json!({"compatibility": "full"})).await.ok(),
        json!({"compatibility": "full"})
    );
    assert_eq!(r.get("/config").await.ok(), json!({"compatibilityLevel": "FULL"}));
    let message = r
        .put("/config", &json!({"compatibility": "SIDEWAYS"}))
        .await
        .fails(422, 42203);
    assert!(message.starts_with("Invalid compatibility level"), "{message}");

    let message = r.get("/config/s").await.fails(404, 40408);
    assert_eq!(
        message,
        "Subject 's' does not have subject-level compatibility configured"
    );
    assert_eq!(
        r.get("/config/s?defaultToGlobal=true").await.ok(),
        json!({"compatibilityLevel": "FULL"})
    );
    // A config may be set before the subject exists.
    r.put("/config/s", &json!({"compatibility": "NONE", "normalize": true}))
        .await
        .ok();
    assert_eq!(
        r.get("/config/s").await.ok(),
        json!({"normalize": true, "compatibilityLevel": "NONE"})
    );
    // Fields not sent are kept.
    r.put("/config/s", &json!({"compatibility": "FORWARD"})).await.ok();
    assert_eq!(
        r.get("/config/s").await.ok(),
        json!({"normalize": true, "compatibilityLevel": "FORWARD"})
    );
    assert_eq!(
        r.delete("/config/s").await.ok(),
        json!({"normalize": true, "compatibilityLevel": "FORWARD"})
    );
    r.delete("/config/s").await.fails(404, 40401);
    assert_eq!(r.delete("/config").await.ok(), json!({"compatibilityLevel": "FULL"}));
    assert_eq!(r.get("/config").await.ok(), json!({"compatibilityLevel": "BACKWARD"}));
});

registry_test!(modes, |r: TestRegistry| async move {
    assert_eq!(r.get("/mode").await.ok(), json!({"mode": "READWRITE"}));
    r.register_ok("s", &payment_v1()).await;

    r.put("/mode/s", &json!({"mode": "READONLY"})).await.ok();
    let message = r.register("s", &payment_v2()).await.fails(422, 42205);
    assert!(message.contains("read-only"), "{message}");
    // Registering what is already there still answers its id.
    assert_eq!(r.register_ok("s", &payment_v1()).await, 1);
    r.delete("/subjects/s").await.fails(422, 42205);
    r.register_ok("other", &payment_v2()).await;
    r.get("/mode/other").await.fails(404, 40409);
    assert_eq!(
        r.get("/mode/other?defaultToGlobal=true").await.ok(),
        json!({"mode": "READWRITE"})
    );
    assert_eq!(r.delete("/mode/s").await.ok(), json!({"mode": "READONLY"}));
    r.delete("/mode/s").await.fails(404, 40401);

    let message = r.put("/mode", &json!({"mode": "SOMETIMES"})).await.fails(422, 42204);
    assert!(message.starts_with("Invalid mode"), "{message}");
    let message = r.put("/mode", &json!({"mode": "IMPORT"})).await.fails(422, 42205);
    assert_eq!(message, "Cannot import since found existing subjects");
    assert_eq!(
        r.put("/mode?force=true", &json!({"mode": "IMPORT"})).await.ok(),
        json!({"mode": "IMPORT"})
    );
});

registry_test!(import_mode_keeps_ids_and_versions, |r: TestRegistry| async move {
    r.put("/mode", &json!({"mode": "IMPORT"})).await.ok();
    let body =
        |schema: &Value, id: i64, version: i64| json!({"schema": schema.to_string(), "id": id, "version": version});
    assert_eq!(
        r.post("/subjects/s/versions", &body(&payment_v1(), 100, 3)).await.ok(),
        json!({"id": 100})
    );
    // Compatibility is not checked while importing.
    assert_eq!(
        r.post("/subjects/s/versions", &body(&payment_breaking(), 7, 5))
            .await
            .ok(),
        json!({"id": 7})
    );
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([3, 5]));
    assert_eq!(r.get("/subjects/s/versions/3").await.ok()["id"], 100);
    // An id taken by other content is not overwritten (42205, as Confluent refuses it);
    // content that already has another id keeps it (42207).
    let message = r
        .post("/subjects/t/versions", &body(&payment_v2(), 100, 1))
        .await
        .fails(422, 42205);
    assert!(
        message.starts_with("Overwrite new schema with id 100 in context  is not permitted."),
        "{message}"
    );
    let message = r
        .post("/subjects/t/versions", &body(&payment_v1(), 101, 1))
        .await
        .fails(422, 42207);
    assert!(
        message.starts_with("The ID of an imported schema does not match the existing ID"),
        "{message}"
    );
    // Without an id, IMPORT refuses.
    r.register("t", &payment_v2()).await.fails(422, 42205);

    r.put("/mode", &json!({"mode": "READWRITE"})).await.ok();
    // New ids continue above the imported ones; explicit ids are refused.
    assert_eq!(r.register_ok("u", &payment_v2()).await, 101);
    r.post("/subjects/u/versions", &body(&payment_v1(), 500, 2))
        .await
        .fails(422, 42205);
    // An explicit version must be the next one.
    let v = json!({"schema": payment_v1().to_string(), "version": 5});
    let message = r.post("/subjects/u/versions", &v).await.fails(422, 42201);
    assert_eq!(message, "Version is not one more than previous version");
});

registry_test!(metadata_and_rule_sets_are_kept, |r: TestRegistry| async move {
    let metadata = json!({"properties": {"owner": "payments-team", "tier": "gold"}, "tags": {"id": ["PII"]}});
    let rule_set = json!({"domainRules": [{"name": "checkAmount", "kind": "CONDITION", "type": "CEL",
                                           "mode": "WRITE", "expr": "message.amount > 0"}]});
    let body = json!({"schema": payment_v1().to_string(), "metadata": metadata, "ruleSet": rule_set});
    assert_eq!(r.post("/subjects/s/versions", &body).await.ok(), json!({"id": 1}));
    let stored = r.get("/subjects/s/versions/1").await.ok();
    assert_eq!(stored["metadata"], metadata);
    assert_eq!(stored["ruleSet"], rule_set);
    // Without metadata, the previous version's is inherited: the same schema, the same id.
    assert_eq!(r.register_ok("s", &payment_v1()).await, 1);
    // Other metadata is another identity, so another id for the same text.
    // The rule set, not sent, is inherited: the stored schema differs from the request, so
    // the answer is the whole schema rather than only its id.
    let other = json!({"schema": payment_v1().to_string(), "metadata": {"properties": {"owner": "finance"}}});
    let registered = r.post("/subjects/s/versions", &other).await.ok();
    assert_eq!((&registered["id"], &registered["version"]), (&json!(2), &json!(2)));
    assert_eq!(registered["ruleSet"], rule_set);
    let found = r.get("/subjects/s/metadata?key=owner&value=finance").await.ok();
    assert_eq!(found["version"], 2);
    r.get("/subjects/s/metadata?key=owner&value=nobody")
        .await
        .fails(404, 40403);

    let bad = json!({"schema": payment_v1().to_string(), "ruleSet": {"domainRules": [{"kind": "CONDITION"}]}});
    r.post("/subjects/s/versions", &bad).await.fails(422, 42210);
    // Wrong JSON shapes are refused by Confluent's JSON binding: 400.
    let bad = json!({"schema": payment_v1().to_string(), "metadata": ["not", "an", "object"]});
    let message = r.post("/subjects/s/versions", &bad).await.fails(400, 400);
    assert!(message.contains("\"metadata\" must be an object"), "{message}");
    let bad = json!({"schema": payment_v1().to_string(), "ruleSet": {"domainRules": 5}});
    let message = r.post("/subjects/s/versions", &bad).await.fails(400, 400);
    assert!(
        message.contains("\"ruleSet.domainRules\" must be an array"),
        "{message}"
    );
});

registry_test!(data_survives_a_restart, |r: TestRegistry| async move {
    r.register_ok("s", &payment_v1()).await;
    r.register_ok("s", &payment_v2()).await;
    r.put("/config/s", &json!({"compatibility": "FULL"})).await.ok();
    r.delete("/subjects/s/versions/1").await.ok();
    let r = r.restart().await;
    assert_eq!(r.get("/subjects/s/versions?deleted=true").await.ok(), json!([1, 2]));
    assert_eq!(r.get("/subjects/s/versions").await.ok(), json!([2]));
    assert_eq!(r.get("/config/s").await.ok(), json!({"compatibilityLevel": "FULL"}));
    let v3 = json!({"type": "record", "name": "Payment", "namespace": "com.acme",
                    "fields": [{"name": "id", "type": "string"}]});
    assert_eq!(r.register_ok("other", &v3).await, 3);
});
