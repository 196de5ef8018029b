//! Consumer groups over HTTP (REST Proxy v2 consumer instances): independent groups, members
//! sharing partitions, commits that survive restarts, offset resets, session timeouts.

use axum::http::Method;
use serde_json::{json, Value};

use crate::registry_support::{temp_dir, TestRegistry};

async fn setup(r: &TestRegistry, topic: &str, partitions: u32, records: usize) {
    let reply = r
        .call(
            Method::POST,
            "/topics",
            Some(&json!({"name": topic, "partitions": partitions}).to_string()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    produce(r, topic, 0, records).await;
}

async fn produce(r: &TestRegistry, topic: &str, from: usize, count: usize) {
    if count == 0 {
        return;
    }
    let records: Vec<Value> = (from..from + count).map(|i| json!({"value": {"n": i}})).collect();
    r.post_as(
        &format!("/topics/{topic}"),
        "application/vnd.kafka.json.v2+json",
        &json!({ "records": records }),
    )
    .await
    .ok();
}

async fn consumer(r: &TestRegistry, group: &str, name: &str, extra: Value) -> String {
    let mut body = json!({"name": name, "format": "json", "auto.offset.reset": "earliest"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let created = r.post(&format!("/consumers/{group}"), &body).await.ok();
    assert_eq!(created["instance_id"], name);
    assert!(created["base_uri"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/consumers/{group}/instances/{name}")));
    format!("/consumers/{group}/instances/{name}")
}

async fn subscribe(r: &TestRegistry, base: &str, topic: &str) {
    let reply = r
        .post(&format!("{base}/subscription"), &json!({"topics": [topic]}))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
}

/// Fetches until nothing more comes; the values' `n`, sorted.
async fn drain(r: &TestRegistry, base: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    loop {
        let batch = r.get(&format!("{base}/records")).await.ok();
        let batch = batch.as_array().unwrap();
        if batch.is_empty() {
            break;
        }
        seen.extend(batch.iter().map(|r| r["value"]["n"].as_i64().unwrap()));
    }
    seen.sort();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_read_independently_and_resume_after_a_restart() {
    let dir = temp_dir("herald-consumers");
    let r = TestRegistry::with_broker(&dir).await;
    setup(&r, "events", 2, 10).await;

    let a = consumer(&r, "finance", "a", json!({})).await;
    subscribe(&r, &a, "events").await;
    assert_eq!(
        r.get(&format!("{a}/subscription")).await.ok(),
        json!({"topics": ["events"]})
    );
    assert_eq!(drain(&r, &a).await, (0..10).collect::<Vec<_>>());
    let commit = r.post(&format!("{a}/offsets"), &json!({})).await;
    assert_eq!(commit.status, 204, "{}", commit.text);

    // Another group reads the same records at its own pace.
    let b = consumer(&r, "fraud", "b", json!({})).await;
    subscribe(&r, &b, "events").await;
    assert_eq!(drain(&r, &b).await.len(), 10);

    // Lag per partition: finance is caught up, fraud never committed.
    let finance = r.get("/consumer-groups/finance").await.ok();
    assert!(
        finance["offsets"].as_array().unwrap().iter().all(|o| o["lag"] == 0),
        "{finance}"
    );
    let fraud = r.get("/consumer-groups/fraud").await.ok();
    let lag: i64 = fraud["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["lag"].as_i64().unwrap())
        .sum();
    assert_eq!(lag, 10);
    assert_eq!(r.get("/consumer-groups").await.ok(), json!(["finance", "fraud"]));

    // More records, a restart, a new member: it resumes after the committed offsets.
    produce(&r, "events", 10, 5).await;
    drop(r);
    let r = TestRegistry::with_broker(&dir).await;
    let c = consumer(&r, "finance", "c", json!({})).await;
    subscribe(&r, &c, "events").await;
    assert_eq!(drain(&r, &c).await, (10..15).collect::<Vec<_>>());
    let committed = r.call(Method::GET, &format!("{c}/offsets"), None).await.ok();
    let total: i64 = committed["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offset"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 10, "commits before the restart were kept: {committed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_group_split_the_partitions() {
    let dir = temp_dir("herald-consumers");
    let r = TestRegistry::with_broker(&dir).await;
    setup(&r, "orders", 4, 40).await;
    let a = consumer(&r, "shipping", "a", json!({"consumer.instance.timeout.ms": 400})).await;
    let b = consumer(&r, "shipping", "b", json!({})).await;
    subscribe(&r, &a, "orders").await;
    subscribe(&r, &b, "orders").await;
    let parts = |v: Value| -> Vec<i64> {
        v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect()
    };
    let of_a = parts(r.get(&format!("{a}/assignments")).await.ok());
    let of_b = parts(r.get(&format!("{b}/assignments")).await.ok());
    assert_eq!((of_a.clone(), of_b.clone()), (vec![0, 1], vec![2, 3]));
    let mut all = drain(&r, &a).await;
    all.extend(drain(&r, &b).await);
    all.sort();
    assert_eq!(all, (0..40).collect::<Vec<_>>(), "each record read once by the group");

    // `a` goes silent past its session timeout: `b` takes every partition.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(parts(r.get(&format!("{b}/assignments")).await.ok()), vec![0, 1, 2, 3]);
    r.get(&format!("{a}/records")).await.fails(404, 40403);
    let group = r.get("/consumer-groups/shipping").await.ok();
    assert_eq!(group["members"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_reset_and_seek() {
    let dir = temp_dir("herald-consumers");
    let r = TestRegistry::with_broker(&dir).await;
    setup(&r, "logs", 1, 5).await;
    // `latest`: only what arrives after the member first looks.
    let late = consumer(&r, "tail", "late", json!({"auto.offset.reset": "latest"})).await;
    subscribe(&r, &late, "logs").await;
    assert!(drain(&r, &late).await.is_empty());
    produce(&r, "logs", 5, 2).await;
    assert_eq!(drain(&r, &late).await, vec![5, 6]);
    // Seek back to the beginning, or to an offset.
    let body = json!({"partitions": [{"topic": "logs", "partition": 0}]});
    assert_eq!(r.post(&format!("{late}/positions/beginning"), &body).await.status, 204);
    assert_eq!(drain(&r, &late).await.len(), 7);
    let body = json!({"offsets": [{"topic": "logs", "partition": 0, "offset": 3}]});
    assert_eq!(r.post(&format!("{late}/positions"), &body).await.status, 204);
    assert_eq!(drain(&r, &late).await, vec![3, 4, 5, 6]);
    let body = json!({"partitions": [{"topic": "logs", "partition": 0}]});
    assert_eq!(r.post(&format!("{late}/positions/end"), &body).await.status, 204);
    assert!(drain(&r, &late).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_errors() {
    let dir = temp_dir("herald-consumers");
    let r = TestRegistry::with_broker(&dir).await;
    setup(&r, "t", 1, 0).await;
    let a = consumer(&r, "g", "a", json!({})).await;
    r.post("/consumers/g", &json!({"name": "a"})).await.fails(409, 40902);
    r.post("/consumers/g", &json!({"auto.offset.reset": "sometimes"}))
        .await
        .fails(422, 42204);
    r.post("/consumers/g", &json!({"format": "avro"}))
        .await
        .fails(422, 42204);
    r.post("/consumers/bad%20group", &json!({})).await.fails(422, 42204);
    r.post(&format!("{a}/subscription"), &json!({"topics": ["nope"]}))
        .await
        .fails(404, 40401);
    r.post(&format!("{a}/subscription"), &json!({"topics": []}))
        .await
        .fails(422, 42204);
    r.get("/consumers/g/instances/zz/records").await.fails(404, 40403);
    let unassigned = json!({"offsets": [{"topic": "t", "partition": 0, "offset": 1}]});
    r.post(&format!("{a}/offsets"), &unassigned).await.fails(409, 40903);
    r.get("/consumer-groups/none").await.fails(404, 40403);
    assert_eq!(r.delete(&a).await.status, 204);
    r.delete(&a).await.fails(404, 40403);
}

/// The standard consumer protocol's bytes (version 0): a subscription to `topic`, and an
/// assignment of `partitions` of it.
fn consumer_protocol(topic: &str, partitions: Option<&[i32]>) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0, 0, 1];
    out.extend((topic.len() as i16).to_be_bytes());
    out.extend(topic.as_bytes());
    if let Some(partitions) = partitions {
        out.extend((partitions.len() as i32).to_be_bytes());
        for p in partitions {
            out.extend(p.to_be_bytes());
        }
    }
    out.extend((-1i32).to_be_bytes());
    out
}

/// A Kafka consumer in a group (through the coordinator the Kafka listener uses) shows in
/// the REST description with its offsets; REST instances cannot join its group meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_members_and_their_commits_show_in_the_rest_groups() {
    use std::sync::Arc;
    use std::time::Duration;

    use herald::broker::log::LogConfig;
    use herald::broker::{Broker, JoinRequest};
    use herald::http::{app, AppState};
    use herald::registry::{Registry, RegistrySettings};
    use herald::store::Store;

    use crate::registry_support::Backend;

    let dir = temp_dir("herald-consumers");
    let store = Store::open_sqlite(&dir.join("registry")).await.unwrap();
    let broker = {
        let dir = dir.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || Broker::open(&dir, LogConfig::default()))
                .await
                .unwrap()
                .unwrap(),
        )
    };
    let registry = Registry::new(store.clone(), RegistrySettings::default());
    let state = AppState::with_broker(registry.clone(), broker.clone());
    let r = TestRegistry {
        app: app(state),
        registry,
        backend: Backend::Sqlite(dir.join("registry")),
        store,
    };
    setup(&r, "orders", 2, 5).await;

    let coordinator = broker.coordinator();
    let joined = coordinator
        .join(JoinRequest {
            group: "kgroup".to_string(),
            member_id: String::new(),
            group_instance_id: None,
            client_id: "rdkafka".to_string(),
            client_host: "/127.0.0.1".to_string(),
            protocol_type: "consumer".to_string(),
            protocols: vec![("range".to_string(), consumer_protocol("orders", None))],
            session_timeout: Duration::from_secs(30),
            rebalance_timeout: Duration::from_secs(30),
            require_known_member_id: false,
        })
        .await
        .unwrap();
    let me = joined.member_id.clone();
    let assignment = consumer_protocol("orders", Some(&[0, 1]));
    coordinator
        .sync("kgroup", joined.generation, &me, vec![(me.clone(), assignment)])
        .await
        .unwrap();
    coordinator
        .commit(
            "kgroup",
            joined.generation,
            &me,
            vec![("orders".to_string(), 0, 3, Some("resume here".to_string()))],
        )
        .unwrap();

    let view = r.get("/consumer-groups/kgroup").await.ok();
    assert_eq!(view["members"].as_array().unwrap().len(), 1, "{view}");
    let member = &view["members"][0];
    assert_eq!(member["instance"], me.as_str());
    assert_eq!(member["protocol"], "kafka");
    assert_eq!(member["client_id"], "rdkafka");
    assert_eq!(member["topics"], json!(["orders"]));
    assert_eq!(
        member["partitions"],
        json!([{"topic": "orders", "partition": 0}, {"topic": "orders", "partition": 1}])
    );
    let committed: Vec<&Value> = view["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["partition"] == 0)
        .collect();
    assert_eq!(
        (committed[0]["committed"].clone(), committed[0]["lag"].clone()),
        (json!(3), json!(2))
    );
    let listed = r.get("/consumer-groups").await.ok();
    assert!(listed.as_array().unwrap().contains(&json!("kgroup")), "{listed}");

    let message = r
        .post("/consumers/kgroup", &json!({"name": "a"}))
        .await
        .fails(409, 40904);
    assert!(message.contains("'kgroup'") && message.contains("Kafka"), "{message}");

    // Once the Kafka member leaves, a REST instance takes over from its commit, and reads
    // the commit's metadata.
    coordinator.leave("kgroup", &[me]).unwrap();
    let a = consumer(&r, "kgroup", "a", json!({})).await;
    subscribe(&r, &a, "orders").await;
    let offsets = r
        .call(
            Method::GET,
            &format!("{a}/offsets"),
            Some(&json!({"partitions": [{"topic": "orders", "partition": 0}]}).to_string()),
        )
        .await
        .ok();
    assert_eq!(
        offsets,
        json!({"offsets": [{"topic": "orders", "partition": 0, "offset": 3, "metadata": "resume here"}]})
    );
}
