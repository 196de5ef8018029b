//! Schema contexts, as schema linking and multi-tenant setups use them: qualified subjects
//! `:.ctx:subject`, schema ids per context, `/schemas/ids/{id}?subject=` resolution, the
//! `/contexts/{context}/...` path form, configs and modes per context, IMPORT into a
//! context, references within a context, and deleting an empty context. The default
//! context behaves as a registry without contexts.

use serde_json::{json, Value};

use crate::registry_support::{fresh_postgres_database, postgres_url, temp_dir, Backend, TestRegistry};
use crate::registry_test;

fn record(name: &str, fields: Value) -> Value {
    json!({"type": "record", "name": name, "fields": fields})
}

fn order() -> Value {
    record("Order", json!([{"name": "id", "type": "string"}]))
}

/// `order` plus a field without a default: not BACKWARD compatible.
fn order_breaking() -> Value {
    record(
        "Order",
        json!([{"name": "id", "type": "string"}, {"name": "total", "type": "long"}]),
    )
}

fn payment() -> Value {
    record("Payment", json!([{"name": "amount", "type": "long"}]))
}

fn schema_of(reply: &Value) -> Value {
    serde_json::from_str(reply["schema"].as_str().expect("a schema text")).expect("schema JSON")
}

registry_test!(ids_are_allocated_per_context, |r: TestRegistry| async move {
    assert_eq!(r.register_ok("orders", &order()).await, 1);
    assert_eq!(r.register_ok("payments", &payment()).await, 2);
    // A new context starts its own id space at 1, whatever the default context holds.
    assert_eq!(r.register_ok(":.staging:payments", &payment()).await, 1);
    assert_eq!(r.register_ok(":.staging:orders", &order()).await, 2);
    // Same content in the same context: the same id, as in the default context.
    assert_eq!(r.register_ok(":.staging:orders-copy", &order()).await, 2);
    // `:.:subject` is the default context's subject.
    let again = r.register(":.:orders", &order()).await.ok();
    assert_eq!(again["id"], 1);

    // Each id resolves in its own context.
    assert_eq!(schema_of(&r.get("/schemas/ids/1").await.ok()), order());
    assert_eq!(
        schema_of(&r.get("/schemas/ids/1?subject=:.staging:payments").await.ok()),
        payment()
    );
    assert_eq!(
        schema_of(&r.get("/schemas/ids/1?subject=:.staging:").await.ok()),
        payment()
    );
    assert_eq!(
        r.get("/schemas/ids/1/schema?subject=:.staging:").await.text,
        payment().to_string()
    );
    // A qualified subject that does not hold the id finds nothing, even if the id exists.
    r.get("/schemas/ids/1?subject=:.staging:orders").await.fails(404, 40403);
    r.get("/schemas/ids/3?subject=:.staging:").await.fails(404, 40403);
    // An unqualified subject absent from the default context is looked for in the others.
    assert_eq!(
        schema_of(&r.get("/schemas/ids/2?subject=orders-copy").await.ok()),
        order()
    );
    // ...and one that holds no such id anywhere leaves the default context's answer.
    assert_eq!(schema_of(&r.get("/schemas/ids/2?subject=nope").await.ok()), payment());

    // fetchMaxId is the context's.
    assert_eq!(r.get("/schemas/ids/1?fetchMaxId=true").await.ok()["maxId"], 2);
    assert_eq!(
        r.get("/schemas/ids/1?fetchMaxId=true&subject=:.staging:").await.ok()["maxId"],
        2
    );
    r.register_ok("third", &record("Third", json!([{"name": "x", "type": "int"}])))
        .await;
    assert_eq!(r.get("/schemas/ids/1?fetchMaxId=true").await.ok()["maxId"], 3);
    assert_eq!(
        r.get("/schemas/ids/1?fetchMaxId=true&subject=:.staging:").await.ok()["maxId"],
        2
    );

    // Where an id is used: every version of the context it is found in.
    assert_eq!(
        r.get("/schemas/ids/2/versions?subject=:.staging:").await.ok(),
        json!([
            {"subject": ":.staging:orders", "version": 1},
            {"subject": ":.staging:orders-copy", "version": 1}
        ])
    );
    assert_eq!(
        r.get("/schemas/ids/2/subjects?subject=:.staging:orders").await.ok(),
        json!([":.staging:orders", ":.staging:orders-copy"])
    );
    assert_eq!(r.get("/schemas/ids/2/subjects").await.ok(), json!(["payments"]));

    // The stored subject comes back qualified.
    let version = r.get("/subjects/:.staging:orders/versions/1").await.ok();
    assert_eq!(
        (version["subject"].clone(), version["id"].clone()),
        (json!(":.staging:orders"), json!(2))
    );
});

registry_test!(listings_select_contexts_by_prefix, |r: TestRegistry| async move {
    r.register_ok("orders", &order()).await;
    r.register_ok(":.staging:orders", &order()).await;
    r.register_ok(":.prod:payments", &payment()).await;

    // Every context by default, sorted as the stored keys sort.
    assert_eq!(
        r.get("/subjects").await.ok(),
        json!([":.prod:payments", ":.staging:orders", "orders"])
    );
    assert_eq!(
        r.get("/subjects?subjectPrefix=:*:").await.ok(),
        r.get("/subjects").await.ok()
    );
    assert_eq!(
        r.get("/subjects?subjectPrefix=:.staging:").await.ok(),
        json!([":.staging:orders"])
    );
    assert_eq!(r.get("/subjects?subjectPrefix=").await.ok(), json!(["orders"]));
    assert_eq!(
        r.get("/subjects?subjectPrefix=:*:pay").await.ok(),
        json!([":.prod:payments"])
    );

    // `/schemas` lists the default context unless asked for others.
    let subjects = |reply: Value| -> Vec<String> {
        reply
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s["subject"].as_str().expect("a subject").to_string())
            .collect()
    };
    assert_eq!(subjects(r.get("/schemas").await.ok()), ["orders"]);
    assert_eq!(
        subjects(r.get("/schemas?subjectPrefix=:*:").await.ok()),
        [":.prod:payments", ":.staging:orders", "orders"]
    );
    assert_eq!(
        subjects(r.get("/schemas?subjectPrefix=:.prod:").await.ok()),
        [":.prod:payments"]
    );

    assert_eq!(r.get("/contexts").await.ok(), json!([".", ".prod", ".staging"]));
    assert_eq!(r.get("/contexts?contextPrefix=.s").await.ok(), json!([".staging"]));
    assert_eq!(r.get("/contexts?offset=1&limit=1").await.ok(), json!([".prod"]));
});

registry_test!(
    context_path_prefix_qualifies_every_subject,
    |r: TestRegistry| async move {
        // Registered through the prefix form, the context's dot implied.
        let id = r
            .post(
                "/contexts/staging/subjects/orders/versions",
                &json!({"schema": order().to_string()}),
            )
            .await
            .ok()["id"]
            .clone();
        assert_eq!(id, 1);
        assert_eq!(r.get("/subjects").await.ok(), json!([":.staging:orders"]));
        assert_eq!(
            r.get("/contexts/.staging/subjects").await.ok(),
            json!([":.staging:orders"])
        );
        assert_eq!(r.get("/contexts/./subjects").await.ok(), json!([]));
        assert_eq!(
            r.get("/contexts/.staging/subjects/orders/versions").await.ok(),
            json!([1])
        );
        assert_eq!(
            schema_of(&r.get("/contexts/.staging/schemas/ids/1").await.ok()),
            order()
        );
        r.get("/schemas/ids/1").await.fails(404, 40403);
        // Lookups and compatibility checks take the prefix too.
        let found = r
            .post(
                "/contexts/.staging/subjects/orders",
                &json!({"schema": order().to_string()}),
            )
            .await
            .ok();
        assert_eq!(found["subject"], ":.staging:orders");
        let verdict = r
            .post(
                "/contexts/.staging/compatibility/subjects/orders/versions/latest",
                &json!({"schema": order_breaking().to_string()}),
            )
            .await
            .ok();
        assert_eq!(verdict["is_compatible"], false);
        // A subject already qualified keeps its own context.
        r.register_ok(":.prod:orders", &order()).await;
        assert_eq!(
            r.get("/contexts/.staging/subjects/:.prod:orders/versions/1").await.ok()["subject"],
            ":.prod:orders"
        );
        // The context config through the prefix form.
        r.put("/contexts/.staging/config", &json!({"compatibility": "NONE"}))
            .await
            .ok();
        assert_eq!(r.get("/config/:.staging:").await.ok()["compatibilityLevel"], "NONE");

        // A context name cannot hold a colon.
        let message = r.get("/contexts/a:b/subjects").await.fails(400, 400);
        assert_eq!(message, "Context name 'a:b' cannot contain a colon");
    }
);

registry_test!(
    unqualified_reads_fall_back_to_other_contexts,
    |r: TestRegistry| async move {
        r.register_ok(":.staging:orders", &order()).await;
        // Reading a version: the default context has no `orders`, so `.staging`'s answers.
        let found = r.get("/subjects/orders/versions/1").await.ok();
        assert_eq!(found["subject"], ":.staging:orders");
        assert_eq!(
            r.get("/subjects/orders/versions/latest/schema").await.text,
            order().to_string()
        );
        let looked_up = r
            .post("/subjects/orders", &json!({"schema": order().to_string()}))
            .await
            .ok();
        assert_eq!(looked_up["subject"], ":.staging:orders");
        // Listing versions never falls back, nor does a qualified subject.
        r.get("/subjects/orders/versions").await.fails(404, 40401);
        r.get("/subjects/:.:orders/versions/1").await.fails(404, 40401);
        // Once the default context has the subject, it answers.
        r.register_ok("orders", &payment()).await;
        assert_eq!(schema_of(&r.get("/subjects/orders/versions/1").await.ok()), payment());
    }
);

registry_test!(configs_and_modes_apply_per_context, |r: TestRegistry| async move {
    r.register_ok("orders", &order()).await;
    r.register_ok(":.staging:orders", &order()).await;

    // A context's level governs its subjects only.
    r.put("/config/:.staging:", &json!({"compatibility": "NONE"}))
        .await
        .ok();
    r.register(":.staging:orders", &order_breaking()).await.ok();
    r.register("orders", &order_breaking()).await.fails(409, 409);
    assert_eq!(
        r.get("/config/:.staging:orders?defaultToGlobal=true").await.ok()["compatibilityLevel"],
        "NONE"
    );
    // The top level does not reach other contexts (as in Confluent): `:.__GLOBAL:` does.
    r.register_ok(":.prod:orders", &order()).await;
    r.put("/config", &json!({"compatibility": "NONE"})).await.ok();
    r.register(":.prod:orders", &order_breaking()).await.fails(409, 409);
    r.put("/config/:.__GLOBAL:", &json!({"compatibility": "NONE"}))
        .await
        .ok();
    r.register(":.prod:orders", &order_breaking()).await.ok();
    // `:.:` is the top level.
    assert_eq!(r.get("/config/:.:").await.ok()["compatibilityLevel"], "NONE");

    // A context's mode.
    r.put("/mode/:.staging:", &json!({"mode": "READONLY"})).await.ok();
    let message = r
        .register(":.staging:orders", &record("Other", json!([])))
        .await
        .fails(422, 42205);
    assert_eq!(
        message,
        "Subject :.staging:orders in context .staging is in read-only mode"
    );
    r.register("other", &record("Other", json!([]))).await.ok();
    assert_eq!(
        r.get("/mode/:.staging:orders?defaultToGlobal=true").await.ok()["mode"],
        "READONLY"
    );
    r.get("/mode/:.staging:orders").await.fails(404, 40409);
    // The `.__GLOBAL` context holds configs and modes, never subjects.
    r.register(":.__GLOBAL:orders", &order()).await.fails(422, 42208);
});

registry_test!(
    import_into_a_context_keeps_ids_and_versions,
    |r: TestRegistry| async move {
        // The default context is in use; importing into a fresh context is still allowed.
        r.register_ok("orders", &order()).await;
        r.put("/mode", &json!({"mode": "IMPORT"})).await.fails(422, 42205);
        r.put("/mode/:.linked:", &json!({"mode": "IMPORT"})).await.ok();
        let imported = r
            .post(
                "/subjects/:.linked:orders/versions",
                &json!({"schema": order().to_string(), "id": 7, "version": 3}),
            )
            .await
            .ok();
        assert_eq!(imported["id"], 7);
        assert_eq!(r.get("/subjects/:.linked:orders/versions").await.ok(), json!([3]));
        assert_eq!(
            schema_of(&r.get("/schemas/ids/7?subject=:.linked:orders").await.ok()),
            order()
        );
        // The default context has no id 7, and its id 1 is untouched.
        r.get("/schemas/ids/7").await.fails(404, 40403);
        assert_eq!(schema_of(&r.get("/schemas/ids/1").await.ok()), order());
        // Another schema cannot take an id the context already gave.
        let message = r
            .post(
                "/subjects/:.linked:payments/versions",
                &json!({"schema": payment().to_string(), "id": 7, "version": 1}),
            )
            .await
            .fails(422, 42205);
        assert!(message.contains("in context .linked is not permitted"), "{message}");
        // The same id in another context is no clash.
        r.put("/mode/:.other:", &json!({"mode": "IMPORT"})).await.ok();
        r.post(
            "/subjects/:.other:payments/versions",
            &json!({"schema": payment().to_string(), "id": 7, "version": 1}),
        )
        .await
        .ok();
        // Back to READWRITE, the context allocates after its highest id.
        r.put("/mode/:.linked:", &json!({"mode": "READWRITE"})).await.ok();
        assert_eq!(r.register_ok(":.linked:payments", &payment()).await, 8);
        // A context with live subjects cannot enter IMPORT without `force`.
        r.put("/mode/:.linked:", &json!({"mode": "IMPORT"}))
            .await
            .fails(422, 42205);
        r.put("/mode/:.linked:?force=true", &json!({"mode": "IMPORT"}))
            .await
            .ok();
    }
);

registry_test!(
    references_resolve_in_the_referring_context,
    |r: TestRegistry| async move {
        let customer = record("Customer", json!([{"name": "name", "type": "string"}]));
        let with_customer = record("Invoice", json!([{"name": "customer", "type": "Customer"}]));
        let body = json!({
            "schema": with_customer.to_string(),
            "references": [{"name": "Customer", "subject": "customer", "version": 1}]
        });
        r.register_ok(":.staging:customer", &customer).await;
        // `customer` is the staging context's subject, seen from a staging schema.
        let id = r.post("/subjects/:.staging:invoice/versions", &body).await.ok()["id"].clone();
        assert_eq!(
            r.get("/subjects/:.staging:customer/versions/1/referencedby").await.ok(),
            json!([id])
        );
        // From the default context, the same reference names nothing.
        r.post("/subjects/invoice/versions", &body).await.fails(422, 42201);
        // A referenced version cannot be deleted while referenced, within the context.
        r.delete("/subjects/:.staging:customer/versions/1")
            .await
            .fails(422, 42206);
    }
);

registry_test!(only_an_empty_context_can_be_deleted, |r: TestRegistry| async move {
    r.register_ok(":.staging:orders", &order()).await;
    r.put("/config/:.staging:", &json!({"compatibility": "NONE"}))
        .await
        .ok();
    let message = r.delete("/contexts/.staging").await.fails(422, 42211);
    assert_eq!(message, "The specified context ':.staging:' is not empty.");
    // Soft-deleted subjects still count.
    r.delete("/subjects/:.staging:orders").await.ok();
    r.delete("/contexts/.staging").await.fails(422, 42211);
    r.delete("/subjects/:.staging:orders?permanent=true").await.ok();
    let gone = r.delete("/contexts/.staging").await;
    assert_eq!((gone.status.as_u16(), gone.text.as_str()), (204, ""));
    assert_eq!(r.get("/contexts").await.ok(), json!(["."]));
    // Its config went with it.
    r.get("/config/:.staging:").await.fails(404, 40408);
    r.delete("/contexts/.staging").await.fails(404, 40401);
    r.delete("/contexts/.").await.fails(404, 40401);
    let message = r.delete("/contexts/a:b").await.fails(400, 400);
    assert_eq!(message, "Context name 'a:b' cannot contain a colon");
    // Its ids are not given to other content when it comes back.
    assert_eq!(r.register_ok(":.staging:payments", &payment()).await, 2);
});

/// A database as a registry before contexts left it: the migrations before the contexts
/// one, then rows as that registry wrote them (schema 5, referenced by schema 6).
async fn pre_context_database(backend: &Backend) {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;

    let (url, migrations): (String, &[(i64, &str, &str)]) = match backend {
        Backend::Sqlite(dir) => {
            std::fs::create_dir_all(dir).expect("create the data directory");
            (
                format!("sqlite://{}?mode=rwc", dir.join("registry.db").display()),
                &[(1, "registry", include_str!("../../migrations/sqlite/0001_registry.sql"))],
            )
        }
        Backend::Postgres(url) => (
            url.clone(),
            &[
                (
                    1,
                    "registry",
                    include_str!("../../migrations/postgres/0001_registry.sql"),
                ),
                (
                    2,
                    "generation",
                    include_str!("../../migrations/postgres/0002_generation.sql"),
                ),
            ],
        ),
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect to the old database");
    let migrator = Migrator {
        migrations: Cow::Owned(
            migrations
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    migrator.run(&pool).await.expect("the old migrations");
    let customer = record("Customer", json!([{"name": "name", "type": "string"}])).to_string();
    let invoice = record("Invoice", json!([{"name": "customer", "type": "Customer"}])).to_string();
    let refs = r#"[{"name":"Customer","subject":"customer","version":1}]"#;
    for statement in [
        format!(
            "INSERT INTO schemas (id, fingerprint, content, schema_type, schema, refs, created_at) \
             VALUES (5, 'f5', 'c5', 'AVRO', '{customer}', '[]', 0)"
        ),
        format!(
            "INSERT INTO schemas (id, fingerprint, content, schema_type, schema, refs, created_at) \
             VALUES (6, 'f6', 'c6', 'AVRO', '{invoice}', '{refs}', 0)"
        ),
        "INSERT INTO subject_versions (subject, version, schema_id, deleted, created_at) \
         VALUES ('customer', 1, 5, 0, 0)"
            .to_string(),
        "INSERT INTO subject_versions (subject, version, schema_id, deleted, created_at) \
         VALUES ('invoice', 1, 6, 0, 0)"
            .to_string(),
        "INSERT INTO schema_references (schema_id, position, name, ref_subject, ref_version) \
         VALUES (6, 0, 'Customer', 'customer', 1)"
            .to_string(),
    ] {
        sqlx::query(&statement).execute(&pool).await.expect("write an old row");
    }
    pool.close().await;
}

/// Upgrading keeps every schema, version and reference, in the default context.
async fn upgrade_keeps_the_registry(backend: Backend) {
    pre_context_database(&backend).await;
    let r = TestRegistry::open(backend, herald::registry::RegistrySettings::default()).await;
    assert_eq!(r.get("/subjects").await.ok(), json!(["customer", "invoice"]));
    assert_eq!(r.get("/contexts").await.ok(), json!(["."]));
    let invoice = r.get("/subjects/invoice/versions/1").await.ok();
    assert_eq!(invoice["id"], 6);
    assert_eq!(invoice["references"][0]["subject"], "customer");
    assert_eq!(
        r.get("/schemas/ids/5/versions").await.ok(),
        json!([{"subject": "customer", "version": 1}])
    );
    assert_eq!(
        r.get("/subjects/customer/versions/1/referencedby").await.ok(),
        json!([6])
    );
    r.delete("/subjects/customer/versions/1").await.fails(422, 42206);
    // New ids follow the old ones; a new context starts at 1.
    assert_eq!(r.register_ok("orders", &order()).await, 7);
    assert_eq!(r.register_ok(":.staging:orders", &order()).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_a_registry_without_contexts_sqlite() {
    upgrade_keeps_the_registry(Backend::Sqlite(temp_dir("herald-upgrade"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_a_registry_without_contexts_postgres() {
    let Some(server) = postgres_url() else {
        crate::support::skip("PostgreSQL variant needs HERALD_TEST_DATABASE_URL (CI sets it)");
        return;
    };
    upgrade_keeps_the_registry(Backend::Postgres(fresh_postgres_database(&server).await)).await;
}

registry_test!(docs_pages_link_ids_of_their_own_context, |r: TestRegistry| async move {
    r.register_ok("orders", &payment()).await;
    r.register_ok(":.staging:orders", &order()).await;
    // The subject page lists version 1 with id 1 of `.staging`, linked to that id's page.
    let page = r.get("/ui/subjects/~3A.staging~3Aorders.html").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    assert!(page.text.contains("schemas/staging@1.html"), "{}", page.text);
    let version = r.get("/ui/subjects/~3A.staging~3Aorders/versions/1.html").await;
    assert!(version.text.contains("schemas/staging@1.json"), "{}", version.text);
    // That page shows the staging schema, not the default context's id 1.
    let schema = r.get("/ui/schemas/staging@1.html").await;
    assert_eq!(schema.status.as_u16(), 200, "{}", schema.text);
    assert!(
        schema.text.contains("Order") && !schema.text.contains("Payment"),
        "{}",
        schema.text
    );
    let raw: Value = serde_json::from_str(&r.get("/ui/schemas/staging@1.json").await.text).expect("JSON");
    assert_eq!(raw, order());
    let default: Value = serde_json::from_str(&r.get("/ui/schemas/1.json").await.text).expect("JSON");
    assert_eq!(default, payment());
    assert_eq!(r.get("/ui/schemas/nope@1.html").await.status.as_u16(), 404);
});
