//! The contract gate in process, over a real registry on a fresh SQLite database: the
//! verdicts every door (REST produce, the Kafka listener) gives, with their reasons.

use herald::broker::topic::{SubjectStrategy, TopicConfig, Validation};
use herald::gate::{Encoding, Gate, KeyValue, Part, Problem};
use herald::registry::{Registry, RegistrySettings, SchemaRequest};
use herald::schema::SchemaType;
use herald::store::Store;

use crate::registry_support::temp_dir;

async fn gate() -> Gate {
    let store = Store::open_sqlite(&temp_dir("herald-gate"))
        .await
        .expect("open the test store");
    Gate::new(Registry::new(store, RegistrySettings::default()))
}

async fn register(gate: &Gate, subject: &str, schema_type: SchemaType, text: &str) -> u32 {
    let request = SchemaRequest::new(schema_type, text);
    let id = gate
        .registry()
        .register(subject, &request, false)
        .await
        .unwrap_or_else(|e| panic!("register under {subject}: {e}"))
        .id;
    u32::try_from(id).unwrap()
}

fn framed(id: u32, body: &[u8]) -> Vec<u8> {
    herald::validate::frame(id, body)
}

fn topic(name: &str, validation: Validation) -> TopicConfig {
    let mut config = TopicConfig::new(name, 1);
    config.validation = validation;
    config
}

/// Judges values only (no keys).
async fn judge_values(gate: &Gate, topic: &TopicConfig, encoding: Encoding, values: &[&[u8]]) -> Vec<Problem> {
    let records: Vec<KeyValue<'_>> = values.iter().map(|v| (None, Some(*v))).collect();
    gate.judge(topic, encoding, &records)
        .await
        .expect("the registry answers")
        .problems
}

/// The one problem of a unit that has exactly one.
#[track_caller]
fn only(problems: &[Problem]) -> &Problem {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    &problems[0]
}

const ORDER: &str = r#"{"type":"object","properties":{"amount":{"type":"number"}},"required":["amount"]}"#;
const PAYMENT: &str =
    r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}"#;
const REFUND: &str =
    r#"{"type":"record","name":"Refund","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}"#;
/// `{"id": "p1"}` in Avro binary: the string's zig-zag length (2 → 4), then its bytes.
const PAYMENT_BODY: &[u8] = &[4, b'p', b'1'];

#[tokio::test]
async fn id_mode_wants_a_frame_with_an_id_registered_under_the_subject() {
    let gate = gate().await;
    let order = register(&gate, "orders-value", SchemaType::Json, ORDER).await;
    let elsewhere = register(&gate, "elsewhere", SchemaType::Avro, r#""string""#).await;
    let topic = topic("orders", Validation::Id);
    let id_only_body = framed(order, b"not json");
    let unknown = framed(9999, b"{}");
    let foreign = framed(elsewhere, b"{}");
    let unit: [KeyValue<'_>; 6] = [
        // In id mode the body is not read: this one is not even JSON.
        (None, Some(&id_only_body)),
        (None, Some(br#"{"amount":1}"#)),
        (None, Some(&unknown)),
        (None, Some(&foreign)),
        (None, Some(&[0, 0xff, 0xff, 0xff, 0xff])),
        // Nothing registered under orders-key: keys are not checked. A tombstone passes.
        (Some(b"any key"), None),
    ];
    let problems = gate.judge(&topic, Encoding::Framed, &unit).await.unwrap().problems;
    let seen: Vec<(usize, Part, Option<&str>, &str)> = problems
        .iter()
        .map(|p| (p.index, p.part, p.path.as_deref(), p.reason.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                1,
                Part::Value,
                None,
                "not framed: expected magic byte 0 and a schema id registered under 'orders-value'"
            ),
            (
                2,
                Part::Value,
                None,
                "schema id 9999 is not registered under subject 'orders-value'"
            ),
            (
                3,
                Part::Value,
                None,
                &*format!("schema id {elsewhere} is not registered under subject 'orders-value'")
            ),
            (
                4,
                Part::Value,
                None,
                "the framing names schema id 4294967295, out of range: schema ids are between 1 and 2147483647 (2^31-1)"
            ),
        ]
    );
    assert_eq!(
        problems[2].message(),
        format!("value: schema id {elsewhere} is not registered under subject 'orders-value'")
    );

    // Validation off admits anything.
    let off = self::topic("orders", Validation::Off);
    assert!(judge_values(&gate, &off, Encoding::Framed, &[b"junk"]).await.is_empty());
}

#[tokio::test]
async fn full_mode_decodes_bodies_and_points_at_the_bad_field() {
    let gate = gate().await;
    let payment = register(&gate, "payments-value", SchemaType::Avro, PAYMENT).await;
    let payments = topic("payments", Validation::Full);
    let good = framed(payment, PAYMENT_BODY);
    let short = framed(payment, &[40, b'p']);
    let problems = judge_values(&gate, &payments, Encoding::Framed, &[&good, &short]).await;
    let problem = only(&problems);
    assert_eq!((problem.index, problem.part), (1, Part::Value));
    assert!(
        problem
            .reason
            .starts_with(&format!("does not decode with schema {payment}: ")),
        "{problem:?}"
    );
    // The same bytes pass in id mode, where bodies are not read.
    let id_only = topic("payments", Validation::Id);
    assert!(judge_values(&gate, &id_only, Encoding::Framed, &[&short])
        .await
        .is_empty());

    // JSON Schema: unframed JSON against the latest version, framed JSON against its id.
    let order = register(&gate, "orders-value", SchemaType::Json, ORDER).await;
    let orders = topic("orders", Validation::Full);
    let problems = judge_values(
        &gate,
        &orders,
        Encoding::Json,
        &[br#"{"amount":12.5}"#, br#"{"amount":"12.5"}"#],
    )
    .await;
    let problem = only(&problems);
    assert_eq!((problem.index, problem.path.as_deref()), (1, Some("/amount")));
    assert!(
        problem.message().starts_with("value /amount: "),
        "{}",
        problem.message()
    );
    assert!(problem.message().contains("number"), "{}", problem.message());
    let problems = judge_values(
        &gate,
        &orders,
        Encoding::Framed,
        &[&framed(order, br#"{"amount":true}"#)],
    )
    .await;
    assert_eq!(only(&problems).path.as_deref(), Some("/amount"));
    // A payload that is not JSON at all is refused as a whole.
    let problems = judge_values(&gate, &orders, Encoding::Json, &[b"{\"amount\":"]).await;
    assert!(only(&problems).reason.starts_with("not JSON"), "{problems:?}");
    // A topic whose subject holds Avro takes framed bytes, not JSON.
    let problems = judge_values(&gate, &payments, Encoding::Json, &[br#"{"id":"p1"}"#]).await;
    assert_eq!(
        only(&problems).reason,
        "subject 'payments-value' holds AVRO schemas: send framed bytes with the binary format"
    );

    // Tombstones pass in every mode, keys and values alike.
    let tombstones: [KeyValue<'_>; 2] = [(None, None), (None, None)];
    assert!(gate
        .judge(&orders, Encoding::Json, &tombstones)
        .await
        .unwrap()
        .problems
        .is_empty());
    assert!(gate
        .judge(&payments, Encoding::Framed, &tombstones)
        .await
        .unwrap()
        .problems
        .is_empty());
}

#[tokio::test]
async fn many_records_under_one_id_are_each_judged() {
    // The gate works an id's verdict out once per unit; each record still gets its own.
    let gate = gate().await;
    let payment = register(&gate, "payments-value", SchemaType::Avro, PAYMENT).await;
    let payments = topic("payments", Validation::Full);
    let good = framed(payment, PAYMENT_BODY);
    let bad = framed(payment, &[3]);
    let values: Vec<&[u8]> = (0..50)
        .map(|i| if i % 10 == 7 { &bad[..] } else { &good[..] })
        .collect();
    let problems = judge_values(&gate, &payments, Encoding::Framed, &values).await;
    let indexes: Vec<usize> = problems.iter().map(|p| p.index).collect();
    assert_eq!(indexes, vec![7, 17, 27, 37, 47]);
}

#[tokio::test]
async fn record_name_strategy_checks_the_subject_named_after_the_record() {
    let gate = gate().await;
    let payment = register(&gate, "com.acme.Payment", SchemaType::Avro, PAYMENT).await;
    // Registered under the topic's subject, but the record strategy looks under its name.
    let refund = register(&gate, "mixed-value", SchemaType::Avro, REFUND).await;
    let mut mixed = topic("mixed", Validation::Full);
    mixed.value_subject_strategy = SubjectStrategy::Record;

    let good = framed(payment, PAYMENT_BODY);
    let foreign = framed(refund, PAYMENT_BODY);
    let problems = judge_values(&gate, &mixed, Encoding::Framed, &[&good, &foreign]).await;
    let problem = only(&problems);
    assert_eq!(problem.index, 1);
    assert_eq!(
        problem.reason,
        format!(
            "schema id {refund} is not registered under subject 'com.acme.Refund' (the value subject RecordNameStrategy derives from its record name)"
        )
    );
    // Bodies are still decoded with the schema.
    let problems = judge_values(&gate, &mixed, Encoding::Framed, &[&framed(payment, &[9])]).await;
    assert!(only(&problems).reason.contains("does not decode"), "{problems:?}");

    // Unframed payloads name no record.
    let problems = judge_values(&gate, &mixed, Encoding::Framed, &[PAYMENT_BODY]).await;
    assert!(
        only(&problems)
            .reason
            .contains("which RecordNameStrategy needs to name the value subject"),
        "{problems:?}"
    );
    let problems = judge_values(&gate, &mixed, Encoding::Json, &[br#"{"id":"p1"}"#]).await;
    let reason = &only(&problems).reason;
    assert!(reason.contains("unframed JSON names no record"), "{reason}");
    assert!(reason.contains("send framed bytes"), "{reason}");
    // An id nobody registered names no record either.
    let problems = judge_values(&gate, &mixed, Encoding::Framed, &[&framed(4242, PAYMENT_BODY)]).await;
    assert!(
        only(&problems).reason.contains("schema id 4242 is not registered"),
        "{problems:?}"
    );

    // The key keeps TopicNameStrategy: nothing registered under mixed-key, nothing checked.
    let unit: [KeyValue<'_>; 1] = [(Some(b"k"), Some(&good))];
    assert!(gate
        .judge(&mixed, Encoding::Framed, &unit)
        .await
        .unwrap()
        .problems
        .is_empty());

    // JSON Schemas are named by their title.
    let order = register(
        &gate,
        "com.acme.Order",
        SchemaType::Json,
        r#"{"title":"com.acme.Order","type":"object","properties":{"n":{"type":"integer"}}}"#,
    )
    .await;
    let problems = judge_values(
        &gate,
        &mixed,
        Encoding::Framed,
        &[&framed(order, br#"{"n":1}"#), &framed(order, br#"{"n":"one"}"#)],
    )
    .await;
    assert_eq!(
        (only(&problems).index, only(&problems).path.as_deref()),
        (1, Some("/n"))
    );
}

#[tokio::test]
async fn topic_record_name_strategy_prefixes_the_topic() {
    let gate = gate().await;
    let payment = register(&gate, "ledger-com.acme.Payment", SchemaType::Avro, PAYMENT).await;
    let mut ledger = topic("ledger", Validation::Id);
    ledger.key_subject_strategy = SubjectStrategy::TopicRecord;
    let unit: [KeyValue<'_>; 1] = [(Some(&framed(payment, PAYMENT_BODY)), None)];
    assert!(gate
        .judge(&ledger, Encoding::Framed, &unit)
        .await
        .unwrap()
        .problems
        .is_empty());

    // The same schema, produced to another topic: its subject there is another one.
    let mut audit = topic("audit", Validation::Id);
    audit.key_subject_strategy = SubjectStrategy::TopicRecord;
    let problems = gate.judge(&audit, Encoding::Framed, &unit).await.unwrap().problems;
    let problem = only(&problems);
    assert_eq!(problem.part, Part::Key);
    assert_eq!(
        problem.message(),
        format!(
            "key: schema id {payment} is not registered under subject 'audit-com.acme.Payment' (the key subject TopicRecordNameStrategy derives from its record name)"
        )
    );
}

#[tokio::test]
async fn schemas_without_a_name_are_refused_under_the_record_strategies() {
    let gate = gate().await;
    let text = register(&gate, "string", SchemaType::Avro, r#""string""#).await;
    let untitled = register(&gate, "untitled", SchemaType::Json, r#"{"type":"object"}"#).await;
    let mut events = topic("events", Validation::Full);
    events.value_subject_strategy = SubjectStrategy::Record;
    let problems = judge_values(
        &gate,
        &events,
        Encoding::Framed,
        &[&framed(text, &[2, b'x']), &framed(untitled, b"{}")],
    )
    .await;
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(
        problems[0].reason,
        format!(
            "schema id {text} cannot name the value subject with RecordNameStrategy: its schema is an Avro string, which has no name (the record name strategies need a record, enum or fixed)"
        )
    );
    assert!(problems[1].reason.contains("has no \"title\""), "{problems:?}");
}

#[tokio::test]
async fn protobuf_meta_rules_judge_records_of_their_message_type() {
    let gate = gate().await;
    let text = r#"syntax = "proto3";
package shop;
import "confluent/meta.proto";
message Line {
  int32 qty = 1 [(confluent.field_meta) = { rules: [{ name: "positiveQty", doc: "quantities are positive", expr: "this > 0" }] }];
}
message Other {
  int32 qty = 1;
}
"#;
    let id = register(&gate, "lines-value", SchemaType::Protobuf, text).await;
    let lines = topic("lines", Validation::Full);
    // Index path [0] (written as an empty path), then qty = 5 / qty absent (0).
    let five = framed(id, &[0x00, 0x08, 0x05]);
    let zero = framed(id, &[0x00]);
    // Index path [1]: an Other record, which Line's rule does not govern.
    let other = framed(id, &[0x02, 0x02]);
    let problems = judge_values(&gate, &lines, Encoding::Framed, &[&five, &zero, &other]).await;
    let problem = only(&problems);
    assert_eq!(problem.index, 1);
    assert!(
        problem
            .reason
            .contains("rule positiveQty on qty failed: quantities are positive"),
        "{problem:?}"
    );

    // A rule that does not compile is refused at registration, naming it.
    let bad = text.replace("this > 0", "this >");
    let refused = gate
        .registry()
        .register(
            "bad-lines-value",
            &SchemaRequest::new(SchemaType::Protobuf, &bad),
            false,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("positiveQty"), "{refused}");
}
