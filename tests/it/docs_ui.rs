//! The documentation UI and the AsyncAPI export: the example catalog under `schemas/`
//! rendered and snapshotted, search and filters, hostile strings escaped, missing pages,
//! consumer lag, the static build with no broken links, the export checked by the official
//! AsyncAPI parser, and a real browser running the catalog's search.

use std::path::{Path, PathBuf};
use std::process::Command;

use herald::http::AppState;
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, TestRegistry};
use crate::serve::{try_http, Server};

/// One request of the fixture: method, path, content type, body.
type FixtureRequest = (&'static str, String, &'static str, Value);

const V1: &str = "application/vnd.schemaregistry.v1+json";

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn sorted_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep));
    files.sort();
    files
}

fn schema_body(file: &Path) -> Value {
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("avsc") => "AVRO",
        Some("proto") => "PROTOBUF",
        _ => "JSON",
    };
    json!({"schemaType": kind, "schema": std::fs::read_to_string(file).unwrap()})
}

/// The requests that build the example catalog: each topic from its `topic.toml` and
/// examples, its level, its history oldest first, then its current value and key schemas.
fn fixture_requests() -> Vec<FixtureRequest> {
    let mut requests = Vec::new();
    for dir in sorted_files(&schemas_dir(), |_| true)
        .into_iter()
        .filter(|d| d.join("topic.toml").is_file())
    {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let settings: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("topic.toml")).unwrap()).unwrap();
        let text = |key: &str| settings.get(key).and_then(|v| v.as_str()).map(|s| s.trim().to_string());
        let examples: Vec<Value> = sorted_files(&dir.join("examples"), |n| n.ends_with(".json"))
            .iter()
            .map(|f| {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
                json!({"name": f.file_stem().unwrap().to_str().unwrap(), "value": value})
            })
            .collect();
        let tags: Vec<String> = settings
            .get("tags")
            .and_then(|t| t.as_array())
            .map(|t| t.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        requests.push((
            "POST",
            "/topics".to_string(),
            "application/json",
            json!({
                "name": name,
                "partitions": settings.get("partitions").and_then(|p| p.as_integer()).unwrap_or(1),
                "description": text("description"),
                "owner": text("owner"),
                "contact": text("contact"),
                "tags": tags,
                "validation": text("validation").unwrap_or_else(|| "full".to_string()),
                "examples": examples,
            }),
        ));
        if let Some(level) = text("compatibility") {
            requests.push((
                "PUT",
                format!("/config/{name}-value"),
                V1,
                json!({"compatibility": level}),
            ));
        }
        let value_files = sorted_files(&dir.join("history"), |_| true)
            .into_iter()
            .chain(sorted_files(&dir, |n| n.starts_with("value.")));
        for file in value_files {
            requests.push((
                "POST",
                format!("/subjects/{name}-value/versions"),
                V1,
                schema_body(&file),
            ));
        }
        for file in sorted_files(&dir, |n| n.starts_with("key.")) {
            requests.push(("POST", format!("/subjects/{name}-key/versions"), V1, schema_body(&file)));
        }
    }
    requests
}

/// The Kafka address the example catalog's server advertises: the listener's default.
const BOOTSTRAP: &str = "127.0.0.1:9092";

async fn catalog_registry() -> TestRegistry {
    catalog_registry_with(|state| state.with_kafka_bootstrap(Some(BOOTSTRAP.to_string()))).await
}

async fn catalog_registry_with(adjust: impl FnOnce(AppState) -> AppState) -> TestRegistry {
    let registry = TestRegistry::with_broker_and(&temp_dir("herald-docs"), adjust).await;
    for (method, path, content_type, body) in fixture_requests() {
        let reply = match method {
            "PUT" => registry.put(&path, &body).await,
            _ => registry.post_as(&path, content_type, &body).await,
        };
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.text);
    }
    registry
}

fn load_over_http(server: &Server) {
    for (method, path, content_type, body) in fixture_requests() {
        let (status, reply) = try_http(&server.address, method, &path, content_type, Some(&body)).unwrap();
        assert!((200..300).contains(&status), "{method} {path}: {reply}");
    }
}

/// The page's `<main>`: what differs between pages (the head and styles are shared).
fn main_of(html: &str) -> String {
    let start = html.find("<main>").expect("a <main>");
    let end = html.find("</main>").expect("a </main>");
    // Blank lines left by template tags carry no meaning; drop them so snapshots read well.
    html[start..end + 7]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn page(registry: &TestRegistry, path: &str) -> String {
    let reply = registry.get(path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    assert_eq!(reply.content_type, "text/html; charset=utf-8", "{path}");
    reply.text
}

/// The names of the catalog's topics that the page shows (not marked hidden).
fn shown_topics(html: &str) -> Vec<String> {
    html.split("<div class=\"topic\"")
        .skip(1)
        .filter(|block| !block[..block.find('>').unwrap()].contains(" hidden"))
        .filter_map(|block| {
            let at = block.find("<h3><a href=\"topics/")? + "<h3><a href=\"topics/".len();
            Some(block[at..at + block[at..].find(".html")?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn catalog_topic_changelog_subject_version_and_schema_pages_match_snapshots() {
    let registry = catalog_registry().await;
    for (name, path) in [
        ("catalog", "/ui/index.html"),
        ("topic_payment_completed", "/ui/topics/payment-completed.html"),
        ("topic_order_placed", "/ui/topics/order-placed.html"),
        ("topic_shipment_dispatched", "/ui/topics/shipment-dispatched.html"),
        (
            "changelog_payment_completed_1_3",
            "/ui/topics/payment-completed/changelog/1-3.html",
        ),
        (
            "changelog_order_placed_1_2",
            "/ui/topics/order-placed/changelog/1-2.html",
        ),
        (
            "subject_payment_completed_value",
            "/ui/subjects/payment-completed-value.html",
        ),
        (
            "version_payment_completed_value_2",
            "/ui/subjects/payment-completed-value/versions/2.html",
        ),
        ("schema_2", "/ui/schemas/2.html"),
    ] {
        insta::assert_snapshot!(format!("docs_{name}"), main_of(&page(&registry, path).await));
    }
}

#[tokio::test]
async fn topic_page_shows_what_a_newcomer_needs() {
    let registry = catalog_registry().await;
    let html = page(&registry, "/ui/topics/payment-completed.html").await;
    // Markdown rendered, owner and contact, retention, level.
    assert!(html.contains("<strong>payment service</strong>"), "{html}");
    assert!(html.contains("payments-team") && html.contains("payments@acme.example"));
    assert!(html.contains("FULL_TRANSITIVE"));
    // Nested record fields under their parent, logical types, enum symbols, defaults.
    assert!(html.contains(r#"<code title="amount.units">units</code>"#), "{html}");
    assert!(html.contains("long (timestamp-millis)"));
    assert!(html.contains("UNKNOWN, CARD, BANK_TRANSFER, WALLET"));
    assert!(html.contains("<code>&quot;ZZ&quot;</code>"));
    // The stored example validates and is shown; history and the latest changelog.
    assert!(html.contains("card-payment") && html.contains("ord-1042"));
    assert!(html.contains(r#"href="payment-completed/changelog/2-3.html">since 2</a>"#));
    assert!(html.contains("FIELD_ADDED") && html.contains("risk_score"));
    // A key schema has its own table.
    let shipment = page(&registry, "/ui/topics/shipment-dispatched.html").await;
    assert!(shipment.contains(r#"<h2 id="key">Key"#), "{shipment}");
}

/// The code of a topic page's snippet (`python`, `java`, `kcat`, `http`), unescaped as a
/// browser shows it; `None` when the page has no such snippet.
fn snippet(html: &str, id: &str) -> Option<String> {
    let open = format!("<code id=\"snippet-{id}\">");
    let start = html.find(&open)? + open.len();
    let end = start + html[start..].find("</code>")?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn client_snippets_name_the_topic_the_advertised_address_and_the_registry() {
    let registry = catalog_registry_with(|state| {
        state
            .with_public_url("https://herald.example.com".to_string())
            .with_kafka_bootstrap(Some("kafka.example.com:19092".to_string()))
    })
    .await;
    registry
        .post_as(
            "/topics",
            "application/json",
            &json!({"name": "raw-clicks", "validation": "off"}),
        )
        .await;

    // An Avro topic: the address, the registry, Avro serializers writing the latest version.
    let html = page(&registry, "/ui/topics/payment-completed.html").await;
    assert!(
        html.contains("<dt>Kafka bootstrap</dt><dd><code>kafka.example.com:19092</code></dd>"),
        "{}",
        main_of(&html)
    );
    assert!(!html.contains("not enabled"), "{}", main_of(&html));
    let python = snippet(&html, "python").expect("a Python snippet");
    for expected in [
        r#""bootstrap.servers": "kafka.example.com:19092""#,
        r#"SchemaRegistryClient({"url": "https://herald.example.com"})"#,
        r#"AvroSerializer(registry, None, conf={"auto.register.schemas": False, "use.latest.version": True})"#,
        r#"registry.get_latest_version("payment-completed-value")"#,
        r#"producer.produce("payment-completed", value=event, on_delivery=report)"#,
        r#"consumer.subscribe(["payment-completed"])"#,
        "AvroDeserializer(registry)",
        "INVALID_RECORD",
    ] {
        assert!(python.contains(expected), "{expected} is missing from:\n{python}");
    }
    assert!(!python.contains("JSONSerializer"), "{python}");
    let java = snippet(&html, "java").expect("a Java snippet");
    for expected in [
        r#"producerProps.put("bootstrap.servers", "kafka.example.com:19092");"#,
        r#"producerProps.put("value.serializer", "io.confluent.kafka.serializers.KafkaAvroSerializer");"#,
        r#"producerProps.put("schema.registry.url", "https://herald.example.com");"#,
        r#"consumerProps.put("value.deserializer", "io.confluent.kafka.serializers.KafkaAvroDeserializer");"#,
        r#"new ProducerRecord<>("payment-completed", event)"#,
    ] {
        assert!(java.contains(expected), "{expected} is missing from:\n{java}");
    }
    let kcat = snippet(&html, "kcat").expect("a kcat snippet");
    assert!(
        kcat.contains("kcat -b kafka.example.com:19092 -t payment-completed -C -o beginning -e")
            && kcat.contains("kcat -b kafka.example.com:19092 -t payment-completed -P"),
        "{kcat}"
    );
    // kcat's raw bytes are refused on a validated topic, and the page says so.
    assert!(
        html.contains("without the schema id framing this topic needs (validation full, AVRO value schema)"),
        "{}",
        main_of(&html)
    );
    let http = snippet(&html, "http").expect("an HTTP snippet");
    assert!(
        http.contains("'Content-Type: application/vnd.kafka.avro.v2+json'")
            && http.contains(r#""value_schema_id": 5"#)
            && http.contains(r#""order_id":"ord-1042""#)
            && http.contains("https://herald.example.com/topics/payment-completed\n"),
        "{http}"
    );

    // A JSON Schema topic: JSON Schema serializers; the example as the event.
    let html = page(&registry, "/ui/topics/order-placed.html").await;
    let python = snippet(&html, "python").unwrap();
    assert!(
        python.contains(
            r#"JSONSerializer(None, registry, conf={"auto.register.schemas": False, "use.latest.version": True})"#
        ) && python.contains(r#""sku": "TSHIRT-M-BLUE","#)
            && python.contains("JSONDeserializer(None, schema_registry_client=registry)")
            && !python.contains("Avro"),
        "{python}"
    );
    let java = snippet(&html, "java").unwrap();
    assert!(
        java.contains("io.confluent.kafka.serializers.json.KafkaJsonSchemaSerializer")
            && java.contains("io.confluent.kafka.serializers.json.KafkaJsonSchemaDeserializer"),
        "{java}"
    );
    assert!(
        snippet(&html, "http")
            .unwrap()
            .contains("application/vnd.kafka.json.v2+json"),
        "{}",
        main_of(&html)
    );

    // A key schema gets its own serializer.
    let html = page(&registry, "/ui/topics/shipment-dispatched.html").await;
    let python = snippet(&html, "python").unwrap();
    assert!(
        python.contains(r#""key.serializer": AvroSerializer(registry, None"#),
        "{python}"
    );
    let java = snippet(&html, "java").unwrap();
    assert!(
        java.contains(r#"producerProps.put("key.serializer", "io.confluent.kafka.serializers.KafkaAvroSerializer");"#),
        "{java}"
    );

    // A topic without a schema: plain bytes, no registry, and kcat may produce.
    let html = page(&registry, "/ui/topics/raw-clicks.html").await;
    let python = snippet(&html, "python").unwrap();
    assert!(
        python.contains(r#"producer = Producer({"bootstrap.servers": "kafka.example.com:19092"})"#)
            && python.contains(r#"producer.produce("raw-clicks""#)
            && !python.contains("SchemaRegistryClient"),
        "{python}"
    );
    let java = snippet(&html, "java").unwrap();
    assert!(
        java.contains("org.apache.kafka.common.serialization.StringSerializer")
            && !java.contains("schema.registry.url"),
        "{java}"
    );
    assert!(!html.contains("without the schema id framing"), "{}", main_of(&html));
}

#[tokio::test]
async fn without_a_kafka_listener_the_topic_page_says_so_and_shows_http_only() {
    let registry = catalog_registry_with(|state| state.with_kafka_bootstrap(None)).await;
    let html = page(&registry, "/ui/topics/payment-completed.html").await;
    assert!(
        html.contains("Kafka clients are not enabled on this server"),
        "{}",
        main_of(&html)
    );
    for kafka_only in [
        "Kafka bootstrap",
        "bootstrap.servers",
        "snippet-python",
        "snippet-java",
        "snippet-kcat",
    ] {
        assert!(!html.contains(kafka_only), "{kafka_only}: {}", main_of(&html));
    }
    let http = snippet(&html, "http").expect("the HTTP way");
    assert!(
        http.contains("curl -s -X POST") && http.contains("http://127.0.0.1:8081/topics/payment-completed\n"),
        "{http}"
    );
    // The AsyncAPI document lists the HTTP server alone.
    let doc = registry.get("/asyncapi.json").await.json();
    assert_eq!(
        doc["servers"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["herald"],
        "{doc}"
    );
    assert!(doc["channels"]["payment-completed"].get("bindings").is_none(), "{doc}");
}

#[tokio::test]
async fn a_hostile_kafka_address_is_escaped_in_the_page_and_the_snippets() {
    let registry =
        catalog_registry_with(|state| state.with_kafka_bootstrap(Some("<b>x\"y'</b>:9092".to_string()))).await;
    let html = page(&registry, "/ui/topics/order-placed.html").await;
    assert!(!html.contains("<b>"), "{}", main_of(&html));
    assert!(html.contains("&lt;b&gt;x"), "{}", main_of(&html));
    // Inside the snippets the address is a quoted string of each language.
    assert!(
        snippet(&html, "python")
            .unwrap()
            .contains(r#""bootstrap.servers": "<b>x\"y'</b>:9092""#),
        "{}",
        main_of(&html)
    );
    assert!(
        snippet(&html, "java").unwrap().contains(r#""<b>x\"y'</b>:9092""#),
        "{}",
        main_of(&html)
    );
    assert!(
        snippet(&html, "kcat")
            .unwrap()
            .contains(r#"kcat -b '<b>x"y'\''</b>:9092'"#),
        "{}",
        main_of(&html)
    );
}

/// Runs `program` with `args`, the snippet as the last argument or on stdin; its stdout.
fn run_snippet(program: &str, args: &[&str], what: &str) -> String {
    // In a folder of its own: a snippet may write files (the Protobuf one generates a class).
    let output = Command::new(program)
        .args(args)
        .current_dir(temp_dir("herald-snippet"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program} for {what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The snippets as a reader copies them, run against a live server with the Kafka listener:
/// the Python one produces the page's example through the serializers and reads it back,
/// the HTTP one produces it again over REST, and kcat reads both.
#[test]
fn the_topic_pages_snippets_run_as_shown() {
    let python = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty());
    let Some(python) = python else {
        crate::support::skip("the snippet test needs HERALD_TEST_PYTHON, a Python with confluent-kafka (CI sets it)");
        return;
    };
    let server = Server::start(&[]);
    if server.kafka.is_none() {
        crate::support::skip("this build of herald has no Kafka listener");
        return;
    }
    load_over_http(&server);
    let kcat = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let pages: Vec<(&str, &str, String)> = [
        ("payment-completed", "ord-1042"),
        ("order-placed", "TSHIRT-M-BLUE"),
        ("shipment-dispatched", "JD0146"),
        ("stock-adjusted", "MUG-0042"),
    ]
    .into_iter()
    .map(|(topic, marker)| {
        let url = format!("http://{}/ui/topics/{topic}.html", server.address);
        let html = run_snippet("curl", &["-sf", &url], &format!("GET {url}"));
        (topic, marker, html)
    })
    .collect();
    // One Python process per topic at a time would take a group join each; run them together.
    std::thread::scope(|scope| {
        for (topic, marker, html) in &pages {
            let python = &python;
            scope.spawn(move || {
                let code = snippet(html, "python").expect("a Python snippet");
                let out = run_snippet(
                    python,
                    &["-W", "ignore", "-c", &code],
                    &format!("{topic}'s Python snippet"),
                );
                assert!(out.contains(marker) && !out.contains("not produced"), "{topic}: {out}");
            });
        }
    });
    for (topic, marker, html) in &pages {
        let http = snippet(html, "http").expect("an HTTP snippet");
        let out = run_snippet("sh", &["-c", &http], &format!("{topic}'s HTTP snippet"));
        assert!(out.contains(r#""offsets":[{"partition":"#), "{topic}: {out}");
        assert!(!out.contains("error_code\":4"), "{topic}: {out}");
        if kcat {
            let out = run_snippet(
                "sh",
                &["-c", &snippet(html, "kcat").unwrap()],
                &format!("{topic}'s kcat snippet"),
            );
            // The Python snippet's record and the HTTP snippet's, framed values carrying the
            // example's text.
            assert!(out.matches(marker).count() >= 2, "{topic}: {out}");
        }
    }
}

#[tokio::test]
async fn examples_that_no_longer_validate_are_set_aside_for_a_generated_one() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    registry
        .post_as(
            "/topics",
            "application/json",
            &json!({"name": "signups", "examples": [{"name": "old-shape", "value": {"user": 7}}]}),
        )
        .await;
    let schema = json!({"type": "object", "required": ["user", "at"], "properties": {
        "user": {"type": "string", "format": "email"},
        "at": {"type": "string", "format": "date-time"},
        "plan": {"enum": ["free", "pro"]}}});
    let registered = registry
        .post(
            "/subjects/signups-value/versions",
            &json!({"schemaType": "JSON", "schema": schema.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let html = page(&registry, "/ui/topics/signups.html").await;
    assert!(
        html.contains("Example old-shape is not shown: it no longer validates"),
        "{}",
        main_of(&html)
    );
    assert!(html.contains("generated from the schema"), "{}", main_of(&html));
    assert!(
        html.contains("someone@example.com") && html.contains("2026-01-01T00:00:00Z"),
        "{}",
        main_of(&html)
    );
    // A fixed example takes the generated one's place.
    registry
        .call_as(
            axum::http::Method::PATCH,
            "/topics/signups",
            "application/json",
            &json!({"examples": [{"name": "pro-signup", "value": {"user": "a@b.example", "at": "2026-11-29T10:00:00Z", "plan": "pro"}}]}),
        )
        .await
        .ok();
    let html = page(&registry, "/ui/topics/signups.html").await;
    assert!(
        html.contains("pro-signup") && !html.contains("generated from the schema"),
        "{}",
        main_of(&html)
    );
}

#[tokio::test]
async fn changelog_marks_breaking_changes_under_the_subject_level() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    registry
        .post_as("/topics", "application/json", &json!({"name": "orders"}))
        .await;
    registry
        .put("/config/orders-value", &json!({"compatibility": "NONE"}))
        .await
        .ok();
    let v1 = json!({"type": "record", "name": "O", "fields": [
        {"name": "id", "type": "string"}, {"name": "qty", "type": "int"}]});
    let v2 = json!({"type": "record", "name": "O", "fields": [
        {"name": "id", "type": "string"}, {"name": "note", "type": ["null", "string"], "default": null}]});
    registry.register_ok("orders-value", &v1).await;
    registry.register_ok("orders-value", &v2).await;
    registry
        .put("/config/orders-value", &json!({"compatibility": "FORWARD"}))
        .await
        .ok();
    let html = page(&registry, "/ui/topics/orders/changelog/1-2.html").await;
    assert!(html.contains("<strong>1</strong> breaking under FORWARD"), "{html}");
    let removed = html
        .split("<tr>")
        .find(|row| row.contains("FIELD_REMOVED"))
        .expect("a removal row");
    assert!(
        removed.contains("qty") && removed.contains("badge breaking"),
        "{removed}"
    );
    let added = html
        .split("<tr>")
        .find(|row| row.contains("FIELD_ADDED"))
        .expect("an addition row");
    assert!(added.contains("badge compatible"), "{added}");
    // Any two versions, either way round; the no-JavaScript form redirects to the pair.
    assert_eq!(registry.get("/ui/topics/orders/changelog/2-1.html").await.status, 200);
    let form = registry.get("/ui/topics/orders/changelog.html?from=2&to=1").await;
    assert_eq!(form.status, 302);
    let form = registry.get("/ui/topics/orders/changelog.html?from=x&to=1").await;
    assert_eq!(form.status, 400);
    assert!(form.text.contains("must be version numbers"), "{}", form.text);
}

#[tokio::test]
async fn catalog_search_covers_fields_descriptions_owners_and_tags() {
    let registry = catalog_registry().await;
    let all = page(&registry, "/ui/index.html").await;
    assert_eq!(
        shown_topics(&all),
        [
            "order-placed",
            "payment-completed",
            "shipment-dispatched",
            "stock-adjusted"
        ]
    );
    // A nested field name, a description word, an owner, a tag, and words together.
    for (query, expected) in [
        ("q=units", vec!["payment-completed"]),
        ("q=sku", vec!["order-placed", "stock-adjusted"]),
        ("q=postal_code", vec!["shipment-dispatched"]),
        ("q=warehouse", vec!["shipment-dispatched", "stock-adjusted"]),
        ("q=RISK_SCORE", vec!["payment-completed"]),
        // A Protobuf field, and a word only its comments hold.
        ("q=delivery_id", vec!["stock-adjusted"]),
        ("q=aisle", vec!["stock-adjusted"]),
        ("owner=orders-team", vec!["order-placed"]),
        ("tag=pii", vec!["order-placed", "shipment-dispatched"]),
        ("q=order_id+carrier", vec!["shipment-dispatched"]),
        ("q=nothing-matches-this", vec![]),
    ] {
        let html = page(&registry, &format!("/ui/index.html?{query}")).await;
        assert_eq!(shown_topics(&html), expected, "{query}");
        assert!(html.contains(&format!("{} shown", expected.len())), "{query}");
    }
}

/// A Protobuf topic's page: fields of nested messages, maps, oneofs and enums, described by
/// the comments of the `.proto` text it was registered as (the stored text drops them, as
/// Confluent's does), and an example in proto3's JSON mapping.
#[tokio::test]
async fn a_protobuf_topic_shows_its_fields_described_by_their_comments() {
    let registry = catalog_registry().await;
    let html = main_of(&page(&registry, "/ui/topics/stock-adjusted.html").await);
    let row = |field: &str| {
        let start = html
            .find(&format!("<tr id=\"field-{field}\">"))
            .unwrap_or_else(|| panic!("no row for {field}: {html}"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    assert!(
        row("sku").contains("<td>The item&#x27;s stock-keeping unit.</td>"),
        "{html}"
    );
    let reason = row("reason");
    assert!(
        reason.contains("<code>acme.inventory.Reason</code>") && reason.contains("RECOUNT, WRITE_OFF"),
        "{reason}"
    );
    assert!(row("counted_at").contains("<code>google.protobuf.Timestamp</code>"));
    // A nested message's fields, indented under the field that holds it.
    let aisle = row("location.aisle");
    assert!(
        aisle.contains("indent-1") && aisle.contains("The aisle, such as &quot;B&quot;."),
        "{aisle}"
    );
    assert!(row("labels").contains("<code>map&lt;string, string&gt;</code>"));
    let delivery = row("delivery_id");
    assert!(
        delivery.contains("string (oneof source)") && delivery.contains("The supplier delivery of a restock."),
        "{delivery}"
    );
    // The example, in proto3's JSON mapping (camelCase names, 64-bit integers as strings).
    assert!(html.contains("<p class=\"muted\">restock</p>"), "{html}");
    assert!(html.contains("&quot;warehouseId&quot;: &quot;ams-1&quot;"), "{html}");
    // The stored text is Confluent's, without comments; the page shows it, and the
    // descriptions came from the text the schema was registered as.
    let subject = registry
        .get("/subjects/stock-adjusted-value/versions/latest")
        .await
        .json();
    let stored = subject["schema"].as_str().unwrap();
    assert!(!stored.contains("//"), "{stored}");
    let id = subject["id"].as_i64().unwrap();
    let schema_page = main_of(&page(&registry, &format!("/ui/schemas/{id}.html")).await);
    assert!(
        schema_page.contains("The supplier delivery of a restock."),
        "{schema_page}"
    );
    assert!(schema_page.contains("WRITE_OFF = 5;"), "{schema_page}");
    // The changelog from version 1 names what version 2 added.
    let changelog = main_of(&page(&registry, "/ui/topics/stock-adjusted/changelog/1-2.html").await);
    for added in ["location", "labels", "order_id", "delivery_id", "WRITE_OFF"] {
        assert!(changelog.contains(added), "{added}: {changelog}");
    }
}

/// A topic created without a description is described by its value schema's own
/// documentation (Avro `doc`, JSON Schema `description` or `title`), on its page, in the
/// catalog and its search, and in the AsyncAPI export; a description of its own wins.
#[tokio::test]
async fn a_topic_without_a_description_shows_its_schemas_documentation() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    for (topic, description, schema_type, schema) in [
        (
            "refunds",
            None,
            "AVRO",
            json!({"type": "record", "name": "Refund", "doc": "A refund was *issued* to a customer.",
                   "fields": [{"name": "id", "type": "string"}]}),
        ),
        (
            "returns",
            None,
            "JSON",
            json!({"type": "object", "title": "Return", "description": "A parcel came back to the warehouse.",
                   "properties": {"id": {"type": "string"}}}),
        ),
        (
            "titled",
            None,
            "JSON",
            json!({"type": "object", "title": "A titled event", "properties": {}}),
        ),
        (
            "own-words",
            Some("Described by its owners."),
            "AVRO",
            json!({"type": "record", "name": "Own", "doc": "The schema's words.",
                   "fields": [{"name": "id", "type": "string"}]}),
        ),
        (
            "silent",
            None,
            "AVRO",
            json!({"type": "record", "name": "Silent", "doc": "   ", "fields": []}),
        ),
    ] {
        let created = registry
            .post_as(
                "/topics",
                "application/json",
                &json!({"name": topic, "description": description, "validation": "off"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let registered = registry
            .post(
                &format!("/subjects/{topic}-value/versions"),
                &json!({"schemaType": schema_type, "schema": schema.to_string()}),
            )
            .await;
        assert_eq!(registered.status, 200, "{}", registered.text);
    }
    let refunds = page(&registry, "/ui/topics/refunds.html").await;
    assert!(
        refunds.contains("A refund was <em>issued</em> to a customer."),
        "the doc, rendered as Markdown: {}",
        main_of(&refunds)
    );
    assert!(page(&registry, "/ui/topics/returns.html")
        .await
        .contains("A parcel came back to the warehouse."));
    assert!(page(&registry, "/ui/topics/titled.html")
        .await
        .contains("A titled event"));
    let own = page(&registry, "/ui/topics/own-words.html").await;
    assert!(own.contains("Described by its owners.") && !own.contains("The schema&#x27;s words."));

    let catalog = page(&registry, "/ui/index.html").await;
    assert!(
        catalog.contains("A parcel came back to the warehouse."),
        "the catalog's summary"
    );
    let found = page(&registry, "/ui/index.html?q=parcel").await;
    assert_eq!(
        shown_topics(&found),
        ["returns"],
        "the search covers the schema's words"
    );

    let asyncapi = registry.get("/asyncapi.json").await.json();
    assert_eq!(
        asyncapi["channels"]["refunds"]["description"],
        "A refund was *issued* to a customer."
    );
    assert_eq!(
        asyncapi["channels"]["own-words"]["description"],
        "Described by its owners."
    );
    assert!(
        asyncapi["channels"]["silent"].get("description").is_none(),
        "whitespace is no description: {}",
        asyncapi["channels"]["silent"]
    );
}

/// A named type used by several fields has its fields listed once, under its first use;
/// the later uses link there instead of repeating them.
#[tokio::test]
async fn a_reused_type_is_listed_once_and_linked_from_its_other_uses() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    let created = registry
        .post_as(
            "/topics",
            "application/json",
            &json!({"name": "parcels", "validation": "off"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let schema = json!({"type": "record", "name": "Parcel", "fields": [
        {"name": "sender", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string", "doc": "Where it is."}]}},
        {"name": "recipient", "type": "Address"},
        {"name": "returns_to", "type": ["null", "Address"], "default": null}
    ]});
    let registered = registry
        .post(
            "/subjects/parcels-value/versions",
            &json!({"schema": schema.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let html = page(&registry, "/ui/topics/parcels.html").await;
    assert!(html.contains(r#"<tr id="field-sender""#) && html.contains(r#"<tr id="field-sender.city""#));
    assert!(!html.contains("field-recipient.city") && !html.contains("field-returns_to.city"));
    assert_eq!(
        html.matches(r##"fields under <a href="#field-sender"><code>sender</code></a>"##)
            .count(),
        2,
        "recipient and returns_to link to sender's rows"
    );
}

#[tokio::test]
async fn hostile_strings_are_escaped_everywhere() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    let evil = "<script>alert(1)</script>";
    let created = registry
        .post_as(
            "/topics",
            "application/json",
            &json!({
                "name": "evil",
                "description": format!("Hello {evil} [click](javascript:alert(2)) <img src=x onerror=alert(3)>"),
                "owner": format!("\"><svg onload=alert(4)>{evil}"),
                "contact": evil,
                "tags": [evil],
                "examples": [{"name": evil, "value": {"<b>": evil}}],
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let schema = json!({
        "type": "object",
        "title": evil,
        "properties": {
            evil: {"type": "string", "description": format!("{evil} javascript:alert(5)"), "default": evil},
            "ok": {"enum": [evil]}
        }
    });
    let registered = registry
        .post(
            "/subjects/evil-value/versions",
            &json!({"schemaType": "JSON", "schema": schema.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    for path in [
        "/ui/index.html",
        "/ui/topics/evil.html",
        "/ui/subjects/evil-value.html",
        "/ui/subjects/evil-value/versions/1.html",
        "/ui/schemas/1.html",
        "/ui/index.html?q=%3Cscript%3E",
    ] {
        let html = page(&registry, path).await;
        let body = &html[html.find("<body>").unwrap()..];
        // The only scripts are the page's own, which never contain the payload.
        assert!(!body.contains("<script>alert"), "{path}: {body}");
        assert!(!body.contains("<svg"), "{path}");
        let attributes = attribute_names(body);
        assert!(
            !attributes.iter().any(|a| a.starts_with("on")),
            "{path}: {attributes:?}"
        );
        assert!(!body.contains("href=\"javascript:"), "{path}");
        assert!(!body.contains("<b>"), "{path}");
        if !path.starts_with("/ui/subjects/evil-value.html") {
            assert!(body.contains("&lt;script&gt;"), "{path}: the payload is shown as text");
        }
    }
    let topic = page(&registry, "/ui/topics/evil.html").await;
    // The sanitiser kept the harmless part of the description and dropped the link target.
    assert!(topic.contains("Hello"), "{topic}");
    assert!(topic.contains(">click<") || topic.contains("click"), "{topic}");
    let yaml = registry.get("/asyncapi/evil.yaml").await;
    assert!(
        yaml.text.contains(r#""<script>alert(1)</script>""#),
        "YAML carries the text quoted: {}",
        yaml.text
    );
}

#[tokio::test]
async fn invisible_characters_show_escaped_and_long_keys_stay_valid_yaml() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    // A right-to-left override makes "pay<RLO>gnp.exe" read as "payexe.png".
    let schema = json!({"type": "object", "properties": {"amount\u{202E}di": {"type": "string"}}});
    let registered = registry
        .post(
            "/subjects/pay%E2%80%AEgnp.exe-value/versions",
            &json!({"schemaType": "JSON", "schema": schema.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    for path in [
        "/ui/subjects/pay~E2~80~AEgnp.exe-value.html",
        "/ui/subjects/pay~E2~80~AEgnp.exe-value/versions/1.html",
        "/ui/schemas/1.html",
    ] {
        let html = page(&registry, path).await;
        assert!(!html.contains('\u{202E}'), "{path} prints the override itself");
        assert!(html.contains(r"\u{202E}"), "{path} shows it escaped: {html}");
    }

    // YAML caps implicit keys at 1024 characters; a property name may be longer.
    let long = "p".repeat(1500);
    let created = registry
        .post_as("/topics", "application/json", &json!({"name": "long-keys"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let schema = json!({"type": "object", "properties": {long.clone(): {"type": "string"}}});
    let registered = registry
        .post(
            "/subjects/long-keys-value/versions",
            &json!({"schemaType": "JSON", "schema": schema.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let yaml = registry.get("/asyncapi/long-keys.yaml").await.text;
    assert!(yaml.contains(&format!("? \"{long}\"")), "{yaml}");
    check_with_asyncapi_parser(&[("long-keys.yaml", yaml)]);
}

/// The attribute names of every tag in `html`, values skipped with their quotes, so text
/// that merely looks like an attribute inside a value is not counted.
fn attribute_names(html: &str) -> Vec<String> {
    let bytes = html.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' || !bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
            continue;
        }
        i += 1;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
            i += 1;
        }
        while i < bytes.len() && bytes[i] != b'>' {
            if bytes[i].is_ascii_whitespace() || bytes[i] == b'/' {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'=' | b'>' | b'/') && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            names.push(html[start..i].to_ascii_lowercase());
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        i += 1;
                        while i < bytes.len() && bytes[i] != quote {
                            i += 1;
                        }
                        i += 1;
                    }
                    _ => {
                        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    names
}

#[tokio::test]
async fn missing_pages_answer_404_pages_and_ui_redirects_to_the_catalog() {
    let registry = catalog_registry().await;
    for path in [
        "/ui/topics/nope.html",
        "/ui/topics/payment-completed",
        "/ui/topics/payment-completed/changelog/1-99.html",
        "/ui/topics/payment-completed/changelog/latest.html",
        "/ui/subjects/nope.html",
        "/ui/subjects/payment-completed-value/versions/99.html",
        "/ui/subjects/payment-completed-value/versions/x.html",
        "/ui/schemas/999.html",
        "/ui/schemas/abc.html",
        "/ui/asyncapi/nope.json",
        "/ui/asyncapi/payment-completed.xml",
        "/ui/nothing/here.html",
        "/ui/subjects/a~zz.html",
    ] {
        let reply = registry.get(path).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
        assert!(reply.text.contains("<h1>Not found</h1>"), "{path}: {}", reply.text);
        assert!(reply.text.contains("Back to the catalog"), "{path}");
    }
    // Subject names with spaces or slashes have pages of their own, named without them.
    let odd = json!({"type": "record", "name": "E", "fields": [{"name": "a", "type": "string"}]});
    let registered = registry
        .post(
            "/subjects/team%20a%2Forders/versions",
            &json!({"schema": odd.to_string()}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let page = page(&registry, "/ui/subjects/team~20a~2Forders.html").await;
    assert!(page.contains("<h1>team a&#x2f;orders</h1>"), "{page}");
    assert!(page.contains(r#"href="team~20a~2Forders/versions/1.html""#), "{page}");
    for path in ["/ui", "/ui/"] {
        let reply = registry.get(path).await;
        assert_eq!(reply.status, 302, "{path}");
    }
}

#[tokio::test]
async fn topic_page_lists_consumer_groups_with_their_lag() {
    let registry = TestRegistry::with_broker(&temp_dir("herald-docs")).await;
    registry
        .post_as(
            "/topics",
            "application/json",
            &json!({"name": "clicks", "partitions": 1, "validation": "off"}),
        )
        .await;
    let records: Vec<Value> = (0..5).map(|i| json!({"value": {"n": i}})).collect();
    registry
        .post_as(
            "/topics/clicks",
            "application/vnd.kafka.json.v2+json",
            &json!({"records": records}),
        )
        .await
        .ok();
    let created = registry
        .post(
            "/consumers/analytics",
            &json!({"name": "a", "format": "json", "auto.offset.reset": "earliest"}),
        )
        .await
        .ok();
    assert_eq!(created["instance_id"], "a");
    let subscribed = registry
        .post(
            "/consumers/analytics/instances/a/subscription",
            &json!({"topics": ["clicks"]}),
        )
        .await;
    assert_eq!(subscribed.status, 204, "{}", subscribed.text);
    let html = page(&registry, "/ui/topics/clicks.html").await;
    assert!(
        html.contains("<tr><td>analytics</td><td>1</td><td>5</td>"),
        "group, members and lag: {}",
        main_of(&html)
    );
    let catalog = page(&registry, "/ui/index.html").await;
    assert!(catalog.contains("read by analytics"), "{}", main_of(&catalog));
}

#[tokio::test]
async fn asyncapi_export_has_a_channel_message_and_operations_per_topic() {
    let registry = catalog_registry().await;
    let whole = registry.get("/asyncapi.json").await;
    assert_eq!(whole.content_type, "application/json");
    let doc = whole.json();
    assert_eq!(doc["asyncapi"], "3.0.0");
    let channels = doc["channels"].as_object().unwrap();
    assert_eq!(
        channels.keys().collect::<Vec<_>>(),
        [
            "order-placed",
            "payment-completed",
            "shipment-dispatched",
            "stock-adjusted"
        ]
    );
    let payment = &doc["channels"]["payment-completed"];
    assert_eq!(payment["address"], "payment-completed");
    assert_eq!(payment["x-owner"], "payments-team");
    assert_eq!(payment["x-tags"], json!(["payments", "money"]));
    let message = &doc["components"]["messages"]["payment-completed.value"];
    assert_eq!(
        message["payload"]["schemaFormat"],
        "application/vnd.apache.avro+json;version=1.9.0"
    );
    assert_eq!(message["payload"]["schema"]["name"], "PaymentCompleted");
    assert_eq!(message["x-version"], 3);
    assert_eq!(message["examples"][0]["name"], "card-payment");
    let json_message = &doc["components"]["messages"]["order-placed.value"];
    assert_eq!(json_message["contentType"], "application/json");
    assert!(json_message["payload"]["schemaFormat"]
        .as_str()
        .unwrap()
        .starts_with("application/schema+json;version=draft-"));
    // A Protobuf topic: AsyncAPI's Protobuf format, the `.proto` text as the payload.
    let proto_message = &doc["components"]["messages"]["stock-adjusted.value"];
    assert_eq!(
        proto_message["payload"]["schemaFormat"],
        "application/vnd.google.protobuf;version=3"
    );
    assert_eq!(proto_message["contentType"], "application/x-protobuf");
    let proto_text = proto_message["payload"]["schema"].as_str().unwrap();
    assert!(
        proto_text.contains("message StockAdjusted {") && proto_text.contains("WRITE_OFF = 5;"),
        "{proto_text}"
    );
    assert_eq!(proto_message["x-version"], 2);
    assert_eq!(proto_message["examples"][0]["name"], "restock");
    // The HTTP API and the Kafka listener, which serializers pair with the registry.
    assert_eq!(doc["servers"]["herald"]["host"], "127.0.0.1:8081");
    assert_eq!(doc["servers"]["herald"]["protocol"], "http");
    let kafka = &doc["servers"]["kafka"];
    assert_eq!(kafka["protocol"], "kafka", "{doc}");
    assert_eq!(kafka["host"], BOOTSTRAP);
    assert_eq!(kafka["bindings"]["kafka"]["schemaRegistryUrl"], "http://127.0.0.1:8081");
    assert_eq!(kafka["bindings"]["kafka"]["schemaRegistryVendor"], "confluent");
    let binding = &payment["bindings"]["kafka"];
    assert_eq!(binding["partitions"], 6);
    assert_eq!(binding["topicConfiguration"]["retention.ms"], payment["x-retention-ms"]);
    assert_eq!(binding["topicConfiguration"]["confluent.value.schema.validation"], true);
    assert_eq!(doc["operations"]["produce.payment-completed"]["action"], "send");
    assert_eq!(doc["operations"]["consume.payment-completed"]["action"], "receive");
    assert_eq!(
        doc["operations"]["consume.payment-completed"]["channel"]["$ref"],
        "#/channels/payment-completed"
    );
    // One topic alone, and the same documents as YAML and under /ui/.
    let one = registry.get("/asyncapi/order-placed.json").await.json();
    assert_eq!(one["channels"].as_object().unwrap().len(), 1);
    assert_eq!(one["info"]["x-owner"], "orders-team");
    let yaml = registry.get("/asyncapi.yaml").await;
    assert_eq!(yaml.content_type, "application/yaml");
    assert!(yaml.text.starts_with("\"asyncapi\": \"3.0.0\"\n"), "{}", yaml.text);
    assert_eq!(
        registry.get("/ui/asyncapi.json").await.json()["channels"],
        doc["channels"]
    );
    check_with_asyncapi_parser(&[
        ("catalog.json", whole.text.clone()),
        ("catalog.yaml", yaml.text.clone()),
        (
            "order-placed.yaml",
            registry.get("/asyncapi/order-placed.yaml").await.text,
        ),
        (
            "stock-adjusted.json",
            registry.get("/asyncapi/stock-adjusted.json").await.text,
        ),
    ]);
}

/// Runs `tests/asyncapi/check.mjs` (the official `@asyncapi/parser`, with its Avro schema
/// parser) over the documents, when `.ci/run` has installed it.
pub(crate) fn check_with_asyncapi_parser(documents: &[(&str, String)]) {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asyncapi");
    if !tool.join("node_modules/@asyncapi/parser").is_dir() {
        crate::support::skip("the @asyncapi/parser check needs `npm ci --prefix tests/asyncapi` (as .ci/run does)");
        return;
    }
    let dir = temp_dir("herald-asyncapi");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, text) in documents {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        files.push(file);
    }
    let output = Command::new("node")
        .arg(tool.join("check.mjs"))
        .args(&files)
        .output()
        .expect("run node");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the AsyncAPI parser refused the export:\n{report}"
    );
    assert_eq!(report.matches(": valid").count(), documents.len(), "{report}");
}

/// Every relative link of every HTML file under `dir`, with the file it is in.
fn relative_links(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                let html = std::fs::read_to_string(&path).unwrap();
                for piece in html.split("href=\"").skip(1) {
                    let link = &piece[..piece.find('"').unwrap()];
                    if !link.contains(':') && !link.starts_with('#') {
                        found.push((path.clone(), link.split(['#', '?']).next().unwrap().to_string()));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn docs_build_writes_a_static_site_without_broken_links() {
    let server = Server::start(&[]);
    load_over_http(&server);
    let out = temp_dir("herald-site");
    let built = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["docs", "build", "--out", out.to_str().unwrap(), "--server"])
        .arg(format!("http://{}", server.address))
        .output()
        .expect("run herald docs build");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    assert!(String::from_utf8_lossy(&built.stdout).contains("files to"));
    for file in [
        "index.html",
        "topics/payment-completed.html",
        "topics/payment-completed/changelog/2-3.html",
        "subjects/payment-completed-value/versions/1.html",
        "schemas/5.html",
        "schemas/5.json",
        "asyncapi.yaml",
        "asyncapi/order-placed.json",
    ] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    let links = relative_links(&out);
    assert!(links.len() > 50, "{} links", links.len());
    for (page, link) in links {
        let target = page.parent().unwrap().join(&link);
        assert!(target.is_file(), "{} links to {link}, which is missing", page.display());
    }
    // Building again replaces the site whole: a page left from before is gone.
    std::fs::write(out.join("topics/stale.html"), "old").unwrap();
    let rebuilt = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["docs", "build", "--out", out.to_str().unwrap(), "--server"])
        .arg(format!("http://{}", server.address))
        .output()
        .unwrap();
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    assert!(!out.join("topics/stale.html").exists());
    assert!(out.join("index.html").is_file());
    // A directory holding other things is not replaced.
    let other = temp_dir("herald-not-a-site");
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["docs", "build", "--out", other.to_str().unwrap(), "--server"])
        .arg(format!("http://{}", server.address))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds no site built by herald docs build"));
    assert!(other.join("notes.txt").is_file());
    // An unreachable server is a clear error with exit code 2.
    let refused = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "docs",
            "build",
            "--out",
            out.to_str().unwrap(),
            "--server",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot reach the server"));
}

/// Every file of a built site, as text.
fn site_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                found.push((path, text));
            }
        }
    }
    found
}

/// A site built from one address and published at another names the published one: in the
/// AsyncAPI servers (JSON and YAML, whole catalog and each topic) and in the pages' client
/// snippets; the address it was built from appears nowhere. Bad addresses are refused
/// before anything is written.
#[test]
fn docs_build_names_the_public_url_not_the_builders_address() {
    let server = Server::start(&[]);
    load_over_http(&server);
    let (status, original) = try_http(&server.address, "GET", "/ui/asyncapi.json", "application/json", None).unwrap();
    assert_eq!(status, 200);
    let built_from = format!("http://{}", server.address);
    let kafka_from = original["servers"]["kafka"]["host"].as_str().map(str::to_string);
    let out = temp_dir("herald-site-public");
    let mut args = vec![
        "docs".to_string(),
        "build".to_string(),
        "--out".to_string(),
        out.display().to_string(),
        "--server".to_string(),
        built_from.clone(),
        "--public-url".to_string(),
        "https://events.example.com/registry/".to_string(),
    ];
    if kafka_from.is_some() {
        args.extend(["--kafka-bootstrap".to_string(), "kafka.example.com:9093".to_string()]);
    }
    let built = Command::new(env!("CARGO_BIN_EXE_herald")).args(&args).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    for file in ["asyncapi.json", "asyncapi/payment-completed.json"] {
        let document: Value = serde_json::from_str(&std::fs::read_to_string(out.join(file)).unwrap()).unwrap();
        let http = &document["servers"]["herald"];
        assert_eq!(http["host"], "events.example.com", "{file}: {http}");
        assert_eq!(http["protocol"], "https", "{file}");
        assert_eq!(http["pathname"], "/registry", "{file}: the trailing slash is dropped");
        if kafka_from.is_some() {
            assert_eq!(document["servers"]["kafka"]["host"], "kafka.example.com:9093", "{file}");
            assert_eq!(
                document["servers"]["kafka"]["bindings"]["kafka"]["schemaRegistryUrl"],
                "https://events.example.com/registry"
            );
        }
        if file == "asyncapi.json" {
            assert_eq!(document["channels"], original["channels"], "only the servers change");
        }
    }
    let yaml = std::fs::read_to_string(out.join("asyncapi.yaml")).unwrap();
    assert!(yaml.contains(r#""host": "events.example.com""#), "{yaml}");
    let topic = std::fs::read_to_string(out.join("topics/payment-completed.html")).unwrap();
    assert!(
        topic.contains("https:&#x2f;&#x2f;events.example.com&#x2f;registry&#x2f;topics&#x2f;payment-completed"),
        "the HTTP snippet posts to the public URL"
    );
    if kafka_from.is_some() {
        assert!(
            topic.contains("kafka.example.com:9093"),
            "the Kafka snippets bootstrap from it"
        );
    }
    for (path, text) in site_files(&out) {
        assert!(
            !text.contains(&server.address),
            "{} still names the builder's address {}",
            path.display(),
            server.address
        );
        if let Some(kafka) = &kafka_from {
            assert!(!text.contains(kafka.as_str()), "{} still names {kafka}", path.display());
        }
    }
    // A new address that holds the old one is put in once, not again inside itself.
    if let Some(kafka) = &kafka_from {
        let wider = format!("edge-{kafka}");
        let out = temp_dir("herald-site-wider");
        let built = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["docs", "build", "--out", out.to_str().unwrap(), "--server", &built_from])
            .args(["--kafka-bootstrap", &wider])
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let topic = std::fs::read_to_string(out.join("topics/payment-completed.html")).unwrap();
        assert!(topic.contains(&wider) && !topic.contains(&format!("edge-{wider}")));
    }

    for (flag, value, says) in [
        (
            "--public-url",
            "ftp://events.example.com",
            "must start with http:// or https://",
        ),
        ("--public-url", "https://", "names no host"),
        ("--kafka-bootstrap", "kafka.example.com", "expected HOST:PORT"),
        ("--kafka-bootstrap", "kafka.example.com:0", "from 1 to 65535"),
        ("--kafka-bootstrap", "[2001:db8::1]:9092", "use a host name"),
        (
            "--public-url",
            "https://events.example.com/it's",
            "not allowed in a published address",
        ),
    ] {
        let elsewhere = temp_dir("herald-site-refused");
        let refused = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args([
                "docs",
                "build",
                "--out",
                elsewhere.to_str().unwrap(),
                "--server",
                &built_from,
            ])
            .args([flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{flag} {value}: {stderr}"
        );
        assert!(
            std::fs::read_dir(&elsewhere).unwrap().next().is_none(),
            "nothing written"
        );
    }
}

/// The headless browser on PATH, if any.
pub(crate) fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Loads `url` in headless Chromium; answers the DOM after the page's scripts ran, and
/// saves a screenshot as `target/docs-screenshots/<shot>.png`.
fn browse(browser: &str, url: &str, shot: &str, width: u32) -> String {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/docs-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = temp_dir("herald-chromium");
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--allow-file-access-from-files",
    ];
    let dom = Command::new(browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let shot_file = shots.join(format!("{shot}.png"));
    let screenshot = Command::new(browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},1400"))
        .arg(format!("--screenshot={}", shot_file.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        screenshot.status.success(),
        "{}",
        String::from_utf8_lossy(&screenshot.stderr)
    );
    assert!(
        std::fs::metadata(&shot_file).is_ok_and(|m| m.len() > 1000),
        "no screenshot at {}",
        shot_file.display()
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn a_real_browser_searches_the_catalog_and_reads_a_topic_and_its_changelog() {
    let Some(browser) = chromium() else {
        crate::support::skip("the browser test needs chromium on PATH (.ci/run installs Debian's chromium)");
        return;
    };
    let server = Server::start(&[]);
    load_over_http(&server);
    let base = format!("http://{}/ui", server.address);

    // The served catalog, searched for a nested field name by the page's own script.
    let dom = browse(
        browser,
        &format!("{base}/index.html?q=postal_code"),
        "catalog-search",
        1200,
    );
    assert_eq!(shown_topics(&dom), ["shipment-dispatched"], "{dom}");
    assert!(dom.contains(r#"<p id="shown" class="muted">1 shown</p>"#), "{dom}");

    // The static site, where only the script can filter: the same search from the query.
    let site = temp_dir("herald-browser-site");
    let built = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["docs", "build", "--out", site.to_str().unwrap(), "--server"])
        .arg(format!("http://{}", server.address))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let url = format!("file://{}?q=units&tag=money", site.join("index.html").display());
    let dom = browse(browser, &url, "static-catalog-search", 1200);
    assert_eq!(shown_topics(&dom), ["payment-completed"], "{dom}");

    // A topic page on a phone-sized window: the field table and the example are there.
    let dom = browse(
        browser,
        &format!("{base}/topics/payment-completed.html"),
        "topic-phone",
        390,
    );
    assert!(dom.contains("<h1>payment-completed</h1>"), "{dom}");
    assert!(
        dom.contains(r#"<code title="amount.currency">currency</code>"#),
        "{dom}"
    );
    assert!(dom.contains("card-payment"), "{dom}");
    // The page's script, allowed by the CSP's hash, showed the copy buttons it wires up.
    assert!(
        dom.contains(r#"<button type="button" class="copy" data-copy="snippet-http">Copy</button>"#),
        "{dom}"
    );
    if server.kafka.is_some() {
        assert!(
            dom.contains(r#"<button type="button" class="copy" data-copy="snippet-python">Copy</button>"#),
            "{dom}"
        );
    }

    // A Protobuf topic: its comments describe the fields, nested ones indented.
    let dom = browse(
        browser,
        &format!("{base}/topics/stock-adjusted.html"),
        "topic-protobuf",
        1200,
    );
    assert!(dom.contains("<h1>stock-adjusted</h1>"), "{dom}");
    assert!(dom.contains("The supplier delivery of a restock."), "{dom}");
    assert!(
        dom.contains(r#"<td class="field-name indent-1"><code title="location.aisle">aisle</code></td>"#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<button type="button" class="copy" data-copy="snippet-http">Copy</button>"#),
        "{dom}"
    );

    // The changelog between the first and the latest version.
    let dom = browse(
        browser,
        &format!("{base}/topics/payment-completed/changelog/1-3.html"),
        "changelog",
        1200,
    );
    assert!(dom.contains("payment-completed-value: version 1 → 3"), "{dom}");
    assert!(dom.contains("customer_id") && dom.contains("risk_score"), "{dom}");
    assert!(dom.contains("badge compatible"), "{dom}");
}
