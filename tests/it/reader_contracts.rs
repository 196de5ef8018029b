//! Consumer-declared contracts: groups declare what they read of a subject (a field list or
//! a reader schema); registration refuses a change that breaks a declared reader even at
//! NONE, naming group, field and version; READER_AWARE accepts a change its level refuses
//! when no declared reader reads what it touches and every group seen on the topic has a
//! contract.

use axum::http::Method;
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, TestRegistry};

const SUBJECT: &str = "payments-value";

fn payment(extra: &[Value], amount_type: &str, with_note: bool) -> Value {
    let mut fields = vec![
        json!({"name": "id", "type": "string"}),
        json!({"name": "amount", "type": amount_type}),
        json!({"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "email", "type": "string"}, {"name": "age", "type": "int"}]}}),
    ];
    if with_note {
        fields.push(json!({"name": "note", "type": "string", "default": ""}));
    }
    fields.extend(extra.iter().cloned());
    json!({"type": "record", "name": "Payment", "fields": fields})
}

fn without(mut schema: Value, field: &str) -> Value {
    schema["fields"].as_array_mut().unwrap().retain(|f| f["name"] != field);
    schema
}

fn contract_path(group: &str) -> String {
    format!("/herald/v1/consumers/{group}/contracts/{SUBJECT}")
}

crate::registry_test!(
    declared_readers_refuse_breaking_changes_at_level_none,
    |r: TestRegistry| async move {
        r.register_ok(SUBJECT, &payment(&[], "int", true)).await;
        r.put(&format!("/config/{SUBJECT}"), &json!({"compatibility": "NONE"}))
            .await
            .ok();

        // Declared in any of the three path spellings; stored as dotted paths.
        let declared = r
            .put(
                &contract_path("fraud"),
                &json!({"fields": ["$.amount", "/customer/email", "id"]}),
            )
            .await
            .ok();
        assert_eq!(declared["group"], "fraud");
        assert_eq!(declared["subject"], SUBJECT);
        assert_eq!(declared["version"], 1);
        assert_eq!(declared["fields"], json!(["amount", "customer.email", "id"]));

        // Removing a read field is refused, at NONE, naming group, field and version.
        let refused = r.register(SUBJECT, &without(payment(&[], "int", true), "amount")).await;
        let message = refused.fails(409, 409);
        for needle in [
            "DECLARED_READER_FIELD_REMOVED",
            "consumer group 'fraud'",
            "'amount'",
            "version 1",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        // A change of a read field's type: refused with the reason the reader cannot read it.
        let message = r.register(SUBJECT, &payment(&[], "string", true)).await.fails(409, 409);
        assert!(message.contains("DECLARED_READER_FIELD_UNREADABLE"), "{message}");
        assert!(message.contains("'amount'"), "{message}");
        // The compatibility check says so too, before anyone registers.
        let check = r
            .post(
                &format!("/compatibility/subjects/{SUBJECT}/versions/latest?verbose=true"),
                &json!({"schema": payment(&[], "string", true).to_string()}),
            )
            .await
            .ok();
        assert_eq!(check["is_compatible"], false, "{check}");
        assert!(check.to_string().contains("consumer group 'fraud'"), "{check}");

        // Removing a field nobody declared is fine at NONE.
        r.register_ok(SUBJECT, &payment(&[], "int", false)).await;

        // Reading and listing.
        let shown = r.get(&contract_path("fraud")).await.ok();
        assert_eq!(shown["fields"], declared["fields"]);
        let of_group = r.get("/herald/v1/consumers/fraud/contracts").await.ok();
        assert_eq!(of_group.as_array().unwrap().len(), 1);
        let all = r.get(&format!("/herald/v1/contracts?subject={SUBJECT}")).await.ok();
        assert_eq!(all[0]["group"], "fraud");

        // Withdrawn, the removal goes through.
        let withdrawn = r.delete(&contract_path("fraud")).await;
        assert_eq!(withdrawn.status.as_u16(), 204, "{}", withdrawn.text);
        r.get(&contract_path("fraud")).await.fails(404, 40410);
        r.register_ok(
            SUBJECT,
            &json!({"type": "record", "name": "Payment", "fields": [
        {"name": "id", "type": "string"}]}),
        )
        .await;

        // A subject deleted for good takes its contracts with it.
        r.put(&contract_path("fraud"), &json!({"fields": ["id"]})).await.ok();
        r.delete(&format!("/subjects/{SUBJECT}")).await.ok();
        let kept = r.get(&format!("/herald/v1/contracts?subject={SUBJECT}")).await.ok();
        assert_eq!(kept.as_array().unwrap().len(), 1, "a soft delete keeps them: {kept}");
        r.delete(&format!("/subjects/{SUBJECT}?permanent=true")).await.ok();
        r.get(&contract_path("fraud")).await.fails(404, 40410);
    }
);

crate::registry_test!(
    a_reader_schema_contract_is_judged_as_that_reader,
    |r: TestRegistry| async move {
        r.register_ok(SUBJECT, &payment(&[], "int", true)).await;
        r.put(&format!("/config/{SUBJECT}"), &json!({"compatibility": "NONE"}))
            .await
            .ok();
        let reader = json!({"type": "record", "name": "Payment", "fields": [
        {"name": "id", "type": "string"}, {"name": "amount", "type": "int"}]});
        let declared = r
            .put(&contract_path("ledger"), &json!({"schema": reader.to_string()}))
            .await
            .ok();
        assert_eq!(declared["schemaType"], "AVRO");
        assert_eq!(declared["version"], 1);
        // Its reader cannot read a string amount.
        let message = r.register(SUBJECT, &payment(&[], "string", true)).await.fails(409, 409);
        assert!(message.contains("consumer group 'ledger'"), "{message}");
        // Fields it does not read may go.
        r.register_ok(SUBJECT, &payment(&[], "int", false)).await;
    }
);

crate::registry_test!(
    bad_contracts_are_refused_with_the_field_named,
    |r: TestRegistry| async move {
        r.register_ok(SUBJECT, &payment(&[], "int", true)).await;
        let refuse = |body: Value, status: u16, code: i64| {
            let r = &r;
            async move { r.put(&contract_path("fraud"), &body).await.fails(status, code) }
        };
        let message = refuse(json!({"fields": ["amount", "amuont"]}), 422, 42212).await;
        assert!(
            message.contains("'amuont'") && message.contains("version 1"),
            "{message}"
        );
        assert!(
            message.contains("customer.email"),
            "lists the fields there are: {message}"
        );
        let message = refuse(json!({"fields": ["a..b"]}), 422, 42212).await;
        assert!(message.contains("fields[0]"), "{message}");
        let message = refuse(json!({"fields": []}), 422, 42212).await;
        assert!(message.contains("fields is empty"), "{message}");
        let message = refuse(json!({"fields": ["id"], "schema": "\"string\""}), 422, 42212).await;
        assert!(message.contains("not both"), "{message}");
        let message = refuse(json!({}), 422, 42212).await;
        assert!(message.contains("neither"), "{message}");
        let message = refuse(json!({"schema": "{\"type\": \"record\""}), 422, 42212).await;
        assert!(message.starts_with("Invalid consumer contract: schema:"), "{message}");
        let message = refuse(
            json!({"schema": json!({"type": "record", "name": "Payment", "fields": [
            {"name": "amount", "type": "string"}]}).to_string()}),
            422,
            42212,
        )
        .await;
        assert!(message.contains("cannot read version 1"), "{message}");
        let message = refuse(json!({"schema": "{}", "schemaType": "PROTOBUF"}), 422, 42212).await;
        assert!(message.contains("differs from the subject's AVRO"), "{message}");
        let message = refuse(json!({"schema": "{}", "schemaType": "XML"}), 422, 42212).await;
        assert!(message.contains("schemaType"), "{message}");
        refuse(json!({"fields": ["id"], "version": 7}), 404, 40402).await;
        refuse(json!({"fields": ["id"], "version": "seven"}), 422, 42202).await;
        refuse(json!({"fields": ["id"], "colour": "red"}), 400, 400).await;
        r.put(
            "/herald/v1/consumers/fraud/contracts/no-such-subject",
            &json!({"fields": ["id"]}),
        )
        .await
        .fails(404, 40401);
        r.delete(&contract_path("nobody")).await.fails(404, 40410);
        assert!(r.get("/herald/v1/contracts").await.ok().as_array().unwrap().is_empty());
    }
);

/// A REST consumer of `group` subscribed to `topic`: the broker now sees the group reading it.
async fn subscribe(r: &TestRegistry, group: &str, topic: &str) {
    const V2: &str = "application/vnd.kafka.v2+json";
    let created = r
        .post_as(
            &format!("/consumers/{group}"),
            V2,
            &json!({"name": "one", "format": "binary"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.text);
    let subscribed = r
        .post_as(
            &format!("/consumers/{group}/instances/one/subscription"),
            V2,
            &json!({"topics": [topic]}),
        )
        .await;
    assert_eq!(subscribed.status.as_u16(), 204, "{}", subscribed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_aware_accepts_unread_breaks_once_every_group_reading_has_declared() {
    let r = TestRegistry::with_broker(&temp_dir("herald-reader-aware")).await;
    let created = r.post("/topics", &json!({"name": "payments"})).await;
    assert!(created.status.is_success(), "{}", created.text);
    r.register_ok(SUBJECT, &payment(&[], "int", true)).await;
    // A new field without a default: BACKWARD (the default level) refuses it.
    let currency = payment(&[json!({"name": "currency", "type": "string"})], "int", true);
    r.register(SUBJECT, &currency).await.fails(409, 409);

    r.put(
        &format!("/config/{SUBJECT}"),
        &json!({"compatibilityPolicy": "READER_AWARE"}),
    )
    .await
    .ok();
    assert_eq!(
        r.get(&format!("/config/{SUBJECT}")).await.ok()["compatibilityPolicy"],
        "READER_AWARE"
    );
    r.put(&contract_path("fraud"), &json!({"fields": ["amount"]}))
        .await
        .ok();
    // A group reads the topic without a contract: the level stands, and the group is named.
    subscribe(&r, "audit", "payments").await;
    let message = r.register(SUBJECT, &currency).await.fails(409, 409);
    assert!(message.contains("READER_AWARE does not apply"), "{message}");
    assert!(message.contains("without declaring a contract: audit"), "{message}");
    // Once it has declared one, the change reads no declared field and is accepted.
    r.put(&contract_path("audit"), &json!({"fields": ["id"]})).await.ok();
    let accepted = r.register(SUBJECT, &currency).await.ok();
    assert!(accepted["id"].as_i64().is_some(), "{accepted}");

    // A break of a field a declared reader reads is never waived.
    let mut wider = currency.clone();
    wider["fields"][1]["type"] = json!("string");
    let message = r.register(SUBJECT, &wider).await.fails(409, 409);
    assert!(message.contains("read by group fraud"), "{message}");
    assert!(message.contains("DECLARED_READER_FIELD_UNREADABLE"), "{message}");

    // A policy that is not one is refused.
    let message = r
        .call(
            Method::PUT,
            &format!("/config/{SUBJECT}"),
            Some(&json!({"compatibilityPolicy": "LAX"}).to_string()),
        )
        .await
        .fails(422, 42203);
    assert!(message.contains("DEFAULT or READER_AWARE"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_aware_without_a_broker_keeps_the_level() {
    let r = TestRegistry::sqlite().await;
    r.register_ok(SUBJECT, &payment(&[], "int", true)).await;
    r.put(
        &format!("/config/{SUBJECT}"),
        &json!({"compatibilityPolicy": "READER_AWARE"}),
    )
    .await
    .ok();
    let currency = payment(&[json!({"name": "currency", "type": "string"})], "int", true);
    let message = r.register(SUBJECT, &currency).await.fails(409, 409);
    assert!(message.contains("cannot tell which consumer groups read"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_show_who_reads_what_and_deprecations_and_producers_are_told_of_a_past_sunset() {
    let r = TestRegistry::with_broker(&temp_dir("herald-readers-docs")).await;
    let created = r.post("/topics", &json!({"name": "payments"})).await;
    assert!(created.status.is_success(), "{}", created.text);
    let registered = r
        .post(
            &format!("/subjects/{SUBJECT}/versions"),
            &json!({"schema": payment(&[], "int", true).to_string(), "metadata": {"properties": {
                "herald.deprecated": "since=2019-06-01;sunset=2020-01-01;replacement=payments-v2-value;reason=split by currency",
                "herald.deprecated.note": "since=2026-06-01;sunset=2099-03-01;replacement=memo"}}}),
        )
        .await
        .ok();
    let id = registered["id"].as_i64().unwrap();
    r.put(
        &contract_path("fraud"),
        &json!({"fields": ["amount", "customer.email"]}),
    )
    .await
    .ok();
    subscribe(&r, "audit", "payments").await;

    let page = r.get("/ui/topics/payments.html").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    let html = page.text;
    // Who reads what: the declared contract, and the group reading without one.
    let readers = &html[html.find("id=\"readers\"").expect("a readers section")..];
    let readers = &readers[..readers.find("id=\"webhooks\"").unwrap()];
    assert!(readers.contains("id=\"reader-fraud\""), "{readers}");
    assert!(
        readers.contains("<code>amount</code>, <code>customer.email</code>"),
        "{readers}"
    );
    assert!(
        readers.contains("fraud <span class=\"muted\">(not reading now)</span>"),
        "{readers}"
    );
    assert!(readers.contains("id=\"reader-audit\""), "{readers}");
    assert!(readers.contains("no contract declared"), "{readers}");
    // The subject's banner, past its sunset, and the deprecated field with its dates.
    assert!(html.contains("This event is past its sunset."), "{html}");
    assert!(
        html.contains("Move to <code>payments-v2-value</code> before 2020-01-01."),
        "{html}"
    );
    let note = &html[html.find("id=\"field-note\"").expect("a note row")..];
    let note = &note[..note.find("</tr>").unwrap()];
    assert!(note.contains("class=\"deprecated\""), "{note}");
    assert!(
        note.contains("deprecated since 2026-06-01, sunset 2099-03-01; use memo instead."),
        "{note}"
    );

    let subject_page = r.get(&format!("/ui/subjects/{SUBJECT}.html")).await.text;
    assert!(
        subject_page.contains("This subject is past its sunset."),
        "{subject_page}"
    );
    assert!(subject_page.contains("<td>fraud</td>"), "{subject_page}");

    let catalog = r.get("/ui/index.html").await.text;
    assert!(
        catalog.contains("<span class=\"badge deprecated\">deprecated, sunset 2020-01-01</span>"),
        "{catalog}"
    );

    // AsyncAPI carries the deprecation on the message.
    let asyncapi = r.get("/ui/asyncapi/payments.json").await.json();
    let deprecated = &asyncapi["components"]["messages"]["payments.value"]["x-deprecated"];
    assert_eq!(deprecated["sunset"], "2020-01-01", "{asyncapi}");
    assert_eq!(deprecated["replacement"], "payments-v2-value", "{asyncapi}");

    // Producing under a subject past its sunset is accepted with a warning header.
    let produced = r
        .post_as(
            "/topics/payments",
            "application/vnd.kafka.avro.v2+json",
            &json!({"value_schema_id": id, "records": [{"value": {
                "id": "p-1", "amount": 5, "customer": {"email": "a@example.com", "age": 30}, "note": ""}}]}),
        )
        .await;
    assert_eq!(produced.status.as_u16(), 200, "{}", produced.text);
    let warning = produced
        .headers
        .get("herald-deprecated")
        .expect("a Herald-Deprecated header");
    let warning = warning.to_str().unwrap();
    assert!(
        warning.contains("subject 'payments-value' is past its sunset"),
        "{warning}"
    );
    assert!(warning.contains("use payments-v2-value instead"), "{warning}");
    // Operators see it too (the Kafka door cannot tell its producers).
    let metrics = r.get("/metrics").await.text;
    assert!(
        metrics.contains("herald_sunset_records_total{subject=\"payments-value\",action=\"warned\"} 1"),
        "{metrics}"
    );
}
