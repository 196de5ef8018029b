//! The response profiles (`api_profile`): every difference between the 7.x and the 8.x
//! answers, asserted under both profiles on both backends.

use serde_json::{json, Value};

use crate::profile_test;

fn payment(fields: Value) -> Value {
    json!({"type": "record", "name": "Payment", "namespace": "com.acme", "fields": fields})
}

fn payment_v1() -> Value {
    payment(json!([{"name": "id", "type": "string"}]))
}

/// Not readable by v1's readers' successor: a new field without a default.
fn payment_breaking() -> Value {
    payment(json!([{"name": "id", "type": "string"}, {"name": "payer", "type": "string"}]))
}

fn order_json() -> Value {
    json!({"type": "object", "properties": {"id": {"type": "string"}}})
}

fn json_body(schema: &Value) -> Value {
    json!({"schemaType": "JSON", "schema": schema.to_string()})
}

profile_test!(
    avro_schema_type_is_named_only_by_8x,
    |r: TestRegistry, profile: ApiProfile| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        r.post("/subjects/orders-value/versions", &json_body(&order_json()))
            .await
            .ok();
        let avro = match profile {
            ApiProfile::V7 => Value::Null,
            ApiProfile::V8 => json!("AVRO"),
        };

        let version = r.get("/subjects/payments-value/versions/1").await.ok();
        assert_eq!(version["schemaType"], avro, "{version}");
        let by_id = r.get("/schemas/ids/1").await.ok();
        assert_eq!(by_id["schemaType"], avro, "{by_id}");
        let listed = r.get("/schemas").await.ok();
        assert_eq!(listed[0]["subject"], "orders-value");
        assert_eq!(listed[1]["schemaType"], avro, "{listed}");
        let found = r
            .post("/subjects/payments-value", &json!({"schema": payment_v1().to_string()}))
            .await
            .ok();
        assert_eq!(found["schemaType"], avro, "{found}");

        // JSON is named under both profiles.
        assert_eq!(
            r.get("/subjects/orders-value/versions/1").await.ok()["schemaType"],
            "JSON"
        );
        assert_eq!(r.get("/schemas/ids/2").await.ok()["schemaType"], "JSON");
    }
);

profile_test!(
    incompatible_registration_code,
    |r: TestRegistry, profile: ApiProfile| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        let expected = match profile {
            ApiProfile::V7 => 409,
            ApiProfile::V8 => 40901,
        };
        let message = r
            .register("payments-value", &payment_breaking())
            .await
            .fails(409, expected);
        assert!(message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"), "{message}");
        // The refusal is counted as an incompatibility whatever its code.
        let metrics = r.get("/metrics").await.text;
        assert!(
            metrics.contains("herald_registrations_rejected_total{reason=\"incompatible\"} 1"),
            "{metrics}"
        );
        // The check endpoint answers a verdict, not an error, under both.
        let verdict = r
            .post(
                "/compatibility/subjects/payments-value/versions/latest",
                &json!({"schema": payment_breaking().to_string()}),
            )
            .await
            .ok();
        assert_eq!(verdict, json!({"is_compatible": false}));
    }
);

profile_test!(registration_answer, |r: TestRegistry, profile: ApiProfile| async move {
    let first = r.register("payments-value", &payment_v1()).await.ok();
    let stored = r.get("/subjects/payments-value/versions/1/schema").await.text;
    let json_first = r
        .post("/subjects/orders-value/versions", &json_body(&order_json()))
        .await
        .ok();
    // Registering existing content again answers the existing version.
    let again = r.register("payments-value", &payment_v1()).await.ok();
    match profile {
        ApiProfile::V7 => {
            assert_eq!(first, json!({"id": 1}));
            assert_eq!(json_first, json!({"id": 2}));
            assert_eq!(again, json!({"id": 1}));
        }
        ApiProfile::V8 => {
            let expected = json!({"id": 1, "version": 1, "schemaType": "AVRO", "schema": stored});
            assert_eq!(first, expected);
            assert_eq!(again, expected);
            assert_eq!(
                json_first,
                json!({"id": 2, "version": 1, "schemaType": "JSON", "schema": order_json().to_string()})
            );
            assert_eq!(
                first.get("guid"),
                None,
                "no guid: Herald has no Confluent-compatible one"
            );
        }
    }

    // With references and metadata, 8.x names them; 7.x still answers the id alone.
    let referrer = json!({
        "schemaType": "JSON",
        "schema": json!({"type": "object", "properties": {"order": {"$ref": "order.json"}}}).to_string(),
        "references": [{"name": "order.json", "subject": "orders-value", "version": 1}],
        "metadata": {"properties": {"owner": "billing"}},
    });
    let reply = r.post("/subjects/invoices-value/versions", &referrer).await.ok();
    match profile {
        ApiProfile::V7 => assert_eq!(reply, json!({"id": 3})),
        ApiProfile::V8 => {
            assert_eq!(
                (&reply["id"], &reply["version"], &reply["schemaType"]),
                (&json!(3), &json!(1), &json!("JSON"))
            );
            assert_eq!(
                reply["references"],
                json!([{"name": "order.json", "subject": "orders-value", "version": 1}])
            );
            assert_eq!(reply["metadata"], json!({"properties": {"owner": "billing"}}));
        }
    }
});

profile_test!(
    soft_deleted_versions_say_so_in_8x,
    |r: TestRegistry, profile: ApiProfile| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        let live = r.get("/subjects/payments-value/versions/1").await.ok();
        assert_eq!(live.get("deleted"), None, "a live version carries no flag: {live}");
        r.delete("/subjects/payments-value/versions/1").await.ok();
        let gone = r.get("/subjects/payments-value/versions/1?deleted=true").await.ok();
        let expected = match profile {
            ApiProfile::V7 => Value::Null,
            ApiProfile::V8 => json!(true),
        };
        assert_eq!(gone["deleted"], expected, "{gone}");
        let listed = r.get("/schemas?deleted=true").await.ok();
        assert_eq!(listed[0]["deleted"], expected, "{listed}");
    }
);

profile_test!(
    schema_by_id_names_the_asked_subject_in_8x,
    |r: TestRegistry, profile: ApiProfile| async move {
        r.register_ok("payments-value", &payment_v1()).await;
        r.put("/config/orders-value", &json!({"compatibility": "NONE"}))
            .await
            .ok();
        r.register_ok("orders-value", &json!("string")).await;
        r.register_ok("orders-value", &payment_v1()).await;

        let asked = r.get("/schemas/ids/1?subject=orders-value").await.ok();
        match profile {
            ApiProfile::V7 => {
                assert_eq!(asked.get("subject"), None, "{asked}");
                assert_eq!(asked.get("version"), None, "{asked}");
            }
            ApiProfile::V8 => {
                assert_eq!(
                    (&asked["subject"], &asked["version"]),
                    (&json!("orders-value"), &json!(2))
                );
            }
        }
        // Without `subject`, or with a subject the id is not in, no subject or version.
        for path in ["/schemas/ids/1", "/schemas/ids/1?subject=refunds-value"] {
            let plain = r.get(path).await.ok();
            assert_eq!(plain.get("subject"), None, "{path}: {plain}");
            assert_eq!(plain.get("version"), None, "{path}: {plain}");
            assert!(plain["schema"].is_string(), "{plain}");
        }
    }
);
