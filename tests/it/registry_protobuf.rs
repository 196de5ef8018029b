//! Protobuf subjects through the REST API: `.proto` text and base64 descriptors, one id for
//! the same file however it arrives, `?format=serialized`, references as imports, and
//! Confluent's compatibility rules with their messages.

use serde_json::{json, Value};

use crate::registry_support::TestRegistry;
use crate::registry_test;

const ORDER_V1: &str = "syntax = \"proto3\";\npackage shop.v1;\n\n// An order, once placed.\nmessage OrderPlaced {\n  string id = 1;\n  int64 total_minor = 2;\n  repeated string skus = 3;\n}\n";

fn proto(schema: &str) -> Value {
    json!({"schemaType": "PROTOBUF", "schema": schema})
}

/// Registers a request body as sent (`TestRegistry::register` sends Avro).
async fn register(r: &TestRegistry, subject: &str, body: &Value) -> crate::registry_support::Reply {
    r.post(&format!("/subjects/{subject}/versions"), body).await
}

async fn register_ok(r: &TestRegistry, subject: &str, body: &Value) -> i64 {
    register(r, subject, body).await.ok()["id"].as_i64().expect("an id")
}

registry_test!(
    protobuf_text_and_descriptors_share_one_id,
    |r: TestRegistry| async move {
        let id = register_ok(&r, "orders-value", &proto(ORDER_V1)).await;
        let stored = r.get(&format!("/schemas/ids/{id}")).await.ok();
        assert_eq!(stored["schemaType"], "PROTOBUF");
        let text = stored["schema"].as_str().unwrap().to_string();
        // Stored without the comment, in Confluent's layout.
        assert_eq!(
        text,
        "syntax = \"proto3\";\npackage shop.v1;\n\nmessage OrderPlaced {\n  string id = 1;\n  int64 total_minor = 2;\n  repeated string skus = 3;\n}\n"
    );
        // The same file with other comments and spacing is the same schema.
        let respaced = ORDER_V1
            .replace("// An order, once placed.\n", "")
            .replace("  ", "    ");
        assert_eq!(register_ok(&r, "orders-value", &proto(&respaced)).await, id);
        // ?format=serialized: a base64 descriptor; registering that finds the schema again
        // under the same subject (lookup) and reads back as text.
        let serialized = r.get(&format!("/schemas/ids/{id}?format=serialized")).await.ok();
        let base64 = serialized["schema"].as_str().unwrap().to_string();
        assert_ne!(base64, text);
        let latest = r
            .get("/subjects/orders-value/versions/latest?format=serialized")
            .await
            .ok();
        assert_eq!(latest["schema"], base64.as_str());
        let looked_up = r.post("/subjects/orders-value", &proto(&base64)).await.ok();
        assert_eq!(looked_up["version"], 1, "{looked_up}");
        assert!(
            looked_up["schema"].as_str().unwrap().contains("message OrderPlaced"),
            "{looked_up}"
        );
        // normalize=true: field order and option order no longer make another schema.
        let reordered = "syntax = \"proto3\";\npackage shop.v1;\nmessage OrderPlaced {\n  repeated string skus = 3;\n  string id = 1;\n  int64 total_minor = 2;\n}\n";
        let plain_id = register_ok(&r, "reordered-value", &proto(reordered)).await;
        assert_ne!(plain_id, id, "without normalize, order makes another schema");
        let normalized = r
            .post("/subjects/normalized-value/versions?normalize=true", &proto(ORDER_V1))
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        let normalized_again = r
            .post("/subjects/normalized-value/versions?normalize=true", &proto(reordered))
            .await
            .ok()["id"]
            .as_i64()
            .unwrap();
        assert_eq!(normalized, normalized_again);
        // Unknown formats read as stored.
        let plain = r.get(&format!("/schemas/ids/{id}/schema?format=whatever")).await;
        assert!(plain.text.contains("message OrderPlaced"), "{}", plain.text);
    }
);

registry_test!(
    protobuf_breaks_are_refused_with_confluents_words,
    |r: TestRegistry| async move {
        register_ok(&r, "orders-value", &proto(ORDER_V1)).await;
        // Compatible under BACKWARD: a field added, one renamed.
        let v2 = ORDER_V1.replace("int64 total_minor = 2;", "int64 total = 2;\n  string currency = 4;");
        register_ok(&r, "orders-value", &proto(&v2)).await;
        // A scalar changed to another group breaks it.
        let broken = v2.replace("int64 total = 2;", "sint64 total = 2;");
        let check = r
            .post(
                "/compatibility/subjects/orders-value/versions/latest?verbose=true",
                &proto(&broken),
            )
            .await
            .ok();
        assert_eq!(check["is_compatible"], false, "{check}");
        let messages = check["messages"].to_string();
        assert!(messages.contains("FIELD_SCALAR_KIND_CHANGED"), "{messages}");
        assert!(
        messages.contains("The kind of a SCALAR field at path '#/OrderPlaced/2' in the new schema does not match its kind in the old schema"),
        "{messages}"
    );
        let refused = register(&r, "orders-value", &proto(&broken)).await;
        assert_eq!(refused.status, 409, "{}", refused.text);
        // A different type of schema under the same subject is a break too.
        let avro = json!({"schema": "{\"type\":\"record\",\"name\":\"OrderPlaced\",\"fields\":[]}"});
        assert_eq!(register(&r, "orders-value", &avro).await.status, 409);
    }
);

registry_test!(protobuf_imports_are_references, |r: TestRegistry| async move {
    let money =
        "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 minor = 1;\n  string currency = 2;\n}\n";
    register_ok(&r, "common%2Fmoney.proto", &proto(money)).await;
    let order = "syntax = \"proto3\";\npackage shop.v1;\nimport \"common/money.proto\";\nmessage OrderPlaced {\n  common.Money total = 1;\n}\n";
    let with_reference = json!({
        "schemaType": "PROTOBUF",
        "schema": order,
        "references": [{"name": "common/money.proto", "subject": "common/money.proto", "version": 1}]
    });
    let id = register_ok(&r, "orders-value", &with_reference).await;
    let stored = r.get(&format!("/schemas/ids/{id}")).await.ok();
    assert_eq!(stored["references"][0]["name"], "common/money.proto");
    assert!(stored["schema"]
        .as_str()
        .unwrap()
        .contains("import \"common/money.proto\";"));
    // Without the reference, the import cannot be found: 422 naming it.
    let message = register(&r, "other-value", &proto(order)).await.fails(422, 42201);
    assert!(message.contains("common/money.proto"), "{message}");
    // Bad text: 422 with the line.
    let message = register(
        &r,
        "bad-value",
        &proto("syntax = \"proto3\";\nmessage A {\n  strin id = 1;\n}\n"),
    )
    .await
    .fails(422, 42201);
    assert!(message.contains("line 3"), "{message}");
});

registry_test!(
    the_wire_json_rules_are_chosen_per_subject,
    |r: TestRegistry| async move {
        register_ok(&r, "orders-value", &proto(ORDER_V1)).await;
        register_ok(&r, "strict-value", &proto(ORDER_V1)).await;
        let config = r
            .put("/config/strict-value", &json!({"protobufRules": "WIRE_JSON"}))
            .await
            .ok();
        assert_eq!(config["protobufRules"], "WIRE_JSON");
        assert_eq!(r.get("/config/strict-value").await.ok()["protobufRules"], "WIRE_JSON");
        let message = r
            .put("/config/strict-value", &json!({"protobufRules": "JSONISH"}))
            .await
            .fails(422, 42203);
        assert!(message.contains("CONFLUENT or WIRE_JSON"), "{message}");
        // A rename is compatible on the wire, not for JSON readers.
        let renamed = ORDER_V1.replace("int64 total_minor = 2;", "int64 amount_minor = 2;");
        register_ok(&r, "orders-value", &proto(&renamed)).await;
        let check = r
            .post(
                "/compatibility/subjects/strict-value/versions/latest?verbose=true",
                &proto(&renamed),
            )
            .await
            .ok();
        assert_eq!(check["is_compatible"], false, "{check}");
        assert!(check["messages"].to_string().contains("FIELD_SAME_NAME"), "{check}");
        assert_eq!(register(&r, "strict-value", &proto(&renamed)).await.status, 409);
    }
);

registry_test!(
    protobuf_built_in_imports_need_no_reference,
    |r: TestRegistry| async move {
        let order = "syntax = \"proto3\";\npackage shop.v1;\nimport \"google/type/money.proto\";\nmessage OrderPlaced {\n  google.type.Money total = 1;\n}\n";
        let id = register_ok(&r, "orders-value", &proto(order)).await;
        let stored = r.get(&format!("/schemas/ids/{id}")).await.ok();
        assert!(stored["schema"]
            .as_str()
            .unwrap()
            .contains("import \"google/type/money.proto\";"));
        assert!(stored["references"].as_array().is_none_or(Vec::is_empty), "{stored}");
    }
);

registry_test!(
    ignore_extensions_leaves_out_custom_options_and_extensions,
    |r: TestRegistry| async move {
        let text = "syntax = \"proto2\";\npackage shop;\n\nimport \"google/protobuf/descriptor.proto\";\nimport \"confluent/meta.proto\";\n\nextend google.protobuf.FieldOptions {\n  optional string owner = 50001;\n}\n\nmessage Order {\n  optional string id = 1 [(owner) = \"orders\", (confluent.field_meta).doc = \"the order id\", deprecated = true];\n  extensions 100 to 199;\n}\n\nextend Order {\n  optional string note = 100;\n}\n";
        let id = register_ok(&r, "orders-value", &proto(text)).await;
        let stored = r.get(&format!("/schemas/ids/{id}")).await.ok()["schema"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            stored.contains("(owner) = \"orders\"") && stored.contains("extensions 100 to 199;"),
            "{stored}"
        );
        for path in [
            format!("/schemas/ids/{id}?format=ignore_extensions"),
            "/subjects/orders-value/versions/1?format=ignore_extensions".to_string(),
        ] {
            let plain = r.get(&path).await.ok()["schema"].as_str().unwrap().to_string();
            assert_eq!(
                plain,
                "syntax = \"proto2\";\npackage shop;\n\nimport \"google/protobuf/descriptor.proto\";\nimport \"confluent/meta.proto\";\n\nmessage Order {\n  optional string id = 1 [\n    (confluent.field_meta).doc = \"the order id\",\n    deprecated = true\n  ];\n}\n",
                "{path}"
            );
        }
        let raw = r
            .get(&format!("/schemas/ids/{id}/schema?format=ignore_extensions"))
            .await;
        assert!(
            !raw.text.contains("extend") && !raw.text.contains("(owner)"),
            "{}",
            raw.text
        );
        // An unknown format reads as stored, as Confluent answers it.
        let other = r.get(&format!("/schemas/ids/{id}?format=pretty")).await.ok();
        assert_eq!(other["schema"], stored.as_str());
    }
);
