//! Hostile schemas and payloads. A schema that no validator could finish with is refused at
//! registration with a clear error and a pointer; everything that is accepted is handled
//! within bounds (depth, steps, error size), off the async workers when it is large, and the
//! server stays up and answers `/health` throughout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use herald::compat::{check, diff::diff, CompatibilityLevel, PreviousVersion, TooComplex};
use herald::schema::{example::example, fields::field_rows, Schema, SchemaType};
use herald::validate::{avro, JsonValidator};

use crate::serve::{try_http, Server};

const REGISTRY: &str = "application/vnd.schemaregistry.v1+json";
const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const BINARY_V2: &str = "application/vnd.kafka.binary.v2+json";

fn call(server: &Server, method: &str, path: &str, content_type: &str, body: Option<&Value>) -> (u16, Value) {
    try_http(&server.address, method, path, content_type, body)
        .unwrap_or_else(|e| panic!("{method} {path}: the server did not answer ({e}): did it die?"))
}

fn register(server: &Server, subject: &str, schema_type: &str, schema: &str) -> (u16, Value) {
    register_at(&server.address, subject, schema_type, schema)
}

fn register_at(address: &str, subject: &str, schema_type: &str, schema: &str) -> (u16, Value) {
    let body = json!({"schemaType": schema_type, "schema": schema});
    try_http(
        address,
        "POST",
        &format!("/subjects/{subject}/versions"),
        REGISTRY,
        Some(&body),
    )
    .unwrap_or_else(|e| panic!("registering under {subject}: the server did not answer ({e})"))
}

/// A 422 with error code 42201 whose message has every one of `words`.
fn assert_refused((status, body): (u16, Value), words: &[&str]) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error_code"], 42201, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    for word in words {
        assert!(message.contains(word), "{word:?} not in {message:?}");
    }
}

/// `/health` answers 200 within a second.
fn assert_alive(server: &Server) {
    let started = Instant::now();
    let (status, _) = call(server, "GET", "/health", REGISTRY, None);
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

/// Base64 of Confluent's framing around `body`.
fn framed(id: i64, body: &[u8]) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        herald::validate::frame(id as u32, body),
    )
}

fn parse(schema_type: SchemaType, text: &str) -> Schema {
    Schema::parse(schema_type, text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn refusal(schema_type: SchemaType, text: &str) -> String {
    match Schema::parse(schema_type, text, &[]) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Avro: records with no finite value.

#[test]
fn avro_records_that_must_contain_themselves_are_refused_with_a_pointer() {
    let direct = r#"{"type":"record","name":"A","fields":[{"name":"a","type":"A"}]}"#;
    let message = refusal(SchemaType::Avro, direct);
    assert!(
        message.starts_with("at /fields/0/type: record A can never hold a value"),
        "{message}"
    );
    let mutual = r#"{"type":"record","name":"A","fields":[{"name":"id","type":"int"},
        {"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":"A"}]}}]}"#;
    let message = refusal(SchemaType::Avro, mutual);
    assert!(message.contains("can never hold a value"), "{message}");
    assert!(message.contains("/fields/1/type"), "{message}");
    // A union whose every branch is such a record has no value either.
    let only_itself = r#"{"type":"record","name":"A","fields":[{"name":"a","type":["A"]}]}"#;
    assert!(refusal(SchemaType::Avro, only_itself).contains("can never hold a value"));

    // Any way out makes the recursion fine: null, an array, a map, another branch.
    for fine in [
        r#"{"type":"record","name":"A","fields":[{"name":"a","type":["null","A"],"default":null}]}"#,
        r#"{"type":"record","name":"A","fields":[{"name":"a","type":{"type":"array","items":"A"}}]}"#,
        r#"{"type":"record","name":"A","fields":[{"name":"a","type":{"type":"map","values":"A"}}]}"#,
        r#"{"type":"record","name":"A","fields":[{"name":"a","type":["A","string"]}]}"#,
        r#"{"type":"record","name":"A","fields":[{"name":"b","type":{"type":"record","name":"B",
            "fields":[{"name":"a","type":["null","A"]}]}}]}"#,
    ] {
        parse(SchemaType::Avro, fine);
    }
}

#[test]
fn avro_decoding_depth_is_bounded_by_the_data_not_the_schema() {
    let list = parse(
        SchemaType::Avro,
        r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#,
    );
    let Schema::Avro(list) = &list else { unreachable!() };
    // 100,000 "next is a Node" branch indexes, then null: 100,001 levels of data.
    let mut deep = vec![2u8; 100_000];
    deep.push(0);
    let refused = avro::check_binary(list, &deep).unwrap_err();
    assert!(refused.reason.contains("nests too deep"), "{refused:?}");
    // Shallow data of the same shape decodes.
    avro::check_binary(list, &[2, 2, 0]).unwrap();
}

#[test]
fn bare_union_values_cannot_make_encoding_exponential() {
    // Ten record types, each with a field that may hold any of them: a bare value nested 40
    // deep that fails at the bottom would make a naive encoder try 10^40 combinations.
    let names: Vec<String> = (0..10).map(|i| format!("R{i}")).collect();
    let mut types = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut branches = vec![json!("null")];
        branches.extend(names[..i].iter().map(|n| json!(n)));
        branches.push(json!(name));
        types.push(json!({"type": "record", "name": name, "fields": [{"name": "n", "type": branches}]}));
    }
    // The last record's field reaches every record; earlier ones are defined inline before.
    let mut schema = types.pop().unwrap();
    for (i, t) in types.into_iter().enumerate().rev() {
        let branches = schema["fields"][0]["type"].as_array_mut().unwrap();
        branches[i + 1] = t;
    }
    let schema = parse(SchemaType::Avro, &schema.to_string());
    let Schema::Avro(schema) = &schema else { unreachable!() };
    let mut value = json!(5);
    for _ in 0..40 {
        value = json!({ "n": value });
    }
    let refused = avro::encode_json(schema, &value).unwrap_err();
    assert!(refused.reason.contains("too complex"), "{refused:?}");
}

// ---------------------------------------------------------------------------------------
// JSON Schema: `$ref` cycles that never descend into the instance.

#[test]
fn json_schema_ref_cycles_that_stay_on_one_value_are_refused_with_a_pointer() {
    for (schema, pointer) in [
        (r##"{"$ref":"#"}"##, "/$ref"),
        (r##"{"allOf":[{"$ref":"#"}]}"##, "/allOf/0/$ref"),
        (r##"{"anyOf":[{"type":"null"},{"$ref":"#"}]}"##, "/anyOf/1/$ref"),
        (r##"{"not":{"$ref":"#"}}"##, "/not/$ref"),
        (r##"{"if":{"$ref":"#"},"then":{"type":"string"}}"##, "/if/$ref"),
        (
            r##"{"definitions":{"a":{"anyOf":[{"$ref":"#/definitions/b"}]},"b":{"allOf":[{"$ref":"#/definitions/a"}]}},
                "$ref":"#/definitions/a"}"##,
            "/$ref",
        ),
        (
            r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$ref":"#"}"##,
            "/$ref",
        ),
    ] {
        let message = refusal(SchemaType::Json, schema);
        assert!(message.contains("cyclic $ref"), "{schema}: {message}");
        assert!(message.contains(pointer), "{schema}: {message}");
    }
    // Recursion through properties, items and the like descends: fine.
    for fine in [
        r##"{"type":"object","properties":{"child":{"$ref":"#"}}}"##,
        r##"{"type":"array","items":{"$ref":"#"}}"##,
        r##"{"type":"object","additionalProperties":{"$ref":"#"}}"##,
        r##"{"anyOf":[{"type":"string"},{"type":"array","items":{"$ref":"#"}}]}"##,
        r##"{"definitions":{"tree":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/definitions/tree"}}}}},
            "$ref":"#/definitions/tree"}"##,
    ] {
        parse(SchemaType::Json, fine);
    }
}

/// `$defs` 0 → 1 → … → `links`, each through an `allOf` and a `$ref`, ending in a string.
fn chain_schema(links: usize) -> String {
    let mut defs = serde_json::Map::new();
    for i in 0..links {
        defs.insert(
            i.to_string(),
            json!({"allOf": [{"$ref": format!("#/$defs/{}", i + 1)}]}),
        );
    }
    defs.insert(links.to_string(), json!({"type": "string"}));
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs, "$ref": "#/$defs/0"}).to_string()
}

#[test]
fn json_schemas_deeper_than_validators_can_follow_are_refused() {
    let message = refusal(SchemaType::Json, &chain_schema(5_000));
    assert!(message.contains("nests more than 200 levels deep"), "{message}");
    // Just within the limit: accepted, and validating against it on a small stack works,
    // because the validator takes the stack it needs.
    let text = chain_schema(90);
    parse(SchemaType::Json, &text);
    let validator = JsonValidator::new(&text).unwrap();
    let checked = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            (
                validator.check_value(&json!("x")).len(),
                validator.check_value(&json!(5)).len(),
            )
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(checked, (0, 1));
}

#[test]
fn json_validation_of_deep_instances_against_recursive_schemas_is_bounded() {
    let schema = r##"{"type":"object","properties":{"child":{"$ref":"#"}},"additionalProperties":false}"##;
    let validator = JsonValidator::new(schema).unwrap();
    // As deep as a request body may nest (serde_json stops at 128 levels).
    let mut deep = json!({});
    for _ in 0..120 {
        deep = json!({ "child": deep });
    }
    assert!(validator.check_value(&deep).is_empty());
    // On a thread whose stack is too small for that (measured: compiling and validating
    // this needs about 100 KiB in a debug build), the validator takes the stack the
    // schema's nesting needs.
    let validator = Arc::new(validator);
    let small = {
        let (validator, deep) = (validator.clone(), deep.clone());
        std::thread::Builder::new()
            .stack_size(32 * 1024)
            .spawn(move || validator.check_value(&deep).len())
            .unwrap()
    };
    assert_eq!(small.join().expect("no stack overflow"), 0);
    let text = format!("{}{}", "{\"child\":".repeat(200), "}".repeat(200));
    let refused = validator.check(text.as_bytes());
    assert_eq!(refused.len(), 1);
    assert!(refused[0].reason.starts_with("not JSON"), "{refused:?}");
}

// ---------------------------------------------------------------------------------------
// Error sizes.

#[test]
fn a_record_with_a_million_violations_gets_a_short_answer() {
    let validator = JsonValidator::new(r#"{"type":"array","items":{"type":"integer"}}"#).unwrap();
    let values: Vec<Value> = (0..1_000_000).map(|i| json!(format!("v{i}"))).collect();
    let found = validator.check_value(&Value::Array(values));
    assert_eq!(found.len(), herald::validate::MAX_DISTINCT_VIOLATIONS + 1);
    assert_eq!(found[0].path, "/0");
    let last = &found.last().unwrap().reason;
    assert_eq!(last, "… and 999980 more violations");
    // The same problem in many places is one line with a count.
    let same: Vec<Value> = (0..50_000).map(|_| json!("x")).collect();
    let found = validator.check_value(&Value::Array(same));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].reason.ends_with("(and 49999 more places like it)"),
        "{found:?}"
    );
    // A huge offending value is not echoed back whole.
    let big = json!(["y".repeat(1_000_000)]);
    let found = validator.check_value(&big);
    assert!(found[0].reason.chars().count() < 400, "{} chars", found[0].reason.len());
}

// ---------------------------------------------------------------------------------------
// Quadratic shapes: enums, unions, wide records.

fn enum_schema(symbols: usize) -> String {
    let list: Vec<String> = (0..symbols).map(|i| format!("\"S{i}\"")).collect();
    format!(
        r#"{{"type":"record","name":"E","fields":[{{"name":"e","type":{{"type":"enum","name":"Big","symbols":[{}]}}}}]}}"#,
        list.join(",")
    )
}

fn union_schema(branches: usize) -> String {
    let list: Vec<String> = (0..branches)
        .map(|i| format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
        .collect();
    format!(
        r#"{{"type":"record","name":"U","fields":[{{"name":"u","type":[{}]}}]}}"#,
        list.join(",")
    )
}

fn wide_schema(fields: usize) -> String {
    let list: Vec<String> = (0..fields)
        .map(|i| format!(r#"{{"name":"f{i}","type":"int"}}"#))
        .collect();
    format!(r#"{{"type":"record","name":"W","fields":[{}]}}"#, list.join(","))
}

/// A JSON Schema `anyOf` of `members` objects, each requiring its own property, in the
/// given order.
fn any_of_schema(members: impl Iterator<Item = usize>) -> String {
    let list: Vec<Value> = members
        .map(|i| json!({"type": "object", "required": [format!("p{i}")], "properties": {format!("p{i}"): {"type": "integer"}}}))
        .collect();
    json!({ "anyOf": list }).to_string()
}

fn backward(old: &Schema, new: &Schema) -> Result<herald::compat::Report, TooComplex> {
    check(
        CompatibilityLevel::Backward,
        &[PreviousVersion {
            version: 1,
            schema: old,
        }],
        new,
    )
}

#[test]
fn huge_enums_unions_and_records_are_judged_with_the_right_verdicts() {
    let enum_v1 = parse(SchemaType::Avro, &enum_schema(100_000));
    let enum_v2 = parse(SchemaType::Avro, &enum_schema(100_001));
    assert!(backward(&enum_v1, &enum_v2).unwrap().is_compatible());
    let report = backward(&enum_v2, &enum_v1).unwrap();
    assert_eq!(report.incompatibilities.len(), 1);
    assert_eq!(report.incompatibilities[0].rule, "MISSING_ENUM_SYMBOLS");
    let changes = diff(&enum_v1, &enum_v2).unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].kind, "ENUM_SYMBOL_ADDED");

    // A repeated branch in a long union is still found, and named.
    let long = union_schema(3_000);
    let branches_end = long.len() - "]}]}".len();
    let repeated = format!(r#"{},"R7"]}}]}}"#, &long[..branches_end]);
    let message = refusal(SchemaType::Avro, &repeated);
    assert_eq!(message, "at /fields/0/type/3000: duplicate type R7 in union");

    let union_v1 = parse(SchemaType::Avro, &union_schema(3_000));
    let union_v2 = parse(SchemaType::Avro, &union_schema(3_001));
    assert!(backward(&union_v1, &union_v2).unwrap().is_compatible());
    let report = backward(&union_v2, &union_v1).unwrap();
    assert_eq!(report.incompatibilities.len(), 1, "{:?}", report.incompatibilities);
    assert_eq!(report.incompatibilities[0].rule, "MISSING_UNION_BRANCH");
    let changes = diff(&union_v1, &union_v2).unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].kind, "UNION_BRANCH_ADDED");

    let wide_v1 = parse(SchemaType::Avro, &wide_schema(30_000));
    let wide_v2 = parse(SchemaType::Avro, &wide_schema(30_001));
    let report = backward(&wide_v1, &wide_v2).unwrap();
    assert_eq!(report.incompatibilities.len(), 1);
    assert_eq!(report.incompatibilities[0].rule, "READER_FIELD_MISSING_DEFAULT_VALUE");
    let changes = diff(&wide_v1, &wide_v2).unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].backward, herald::compat::diff::Verdict::Breaking);

    // The docs' views of them stay small.
    for schema in [&enum_v2, &union_v2, &wide_v2] {
        let rows = field_rows(schema, None);
        assert!(rows.len() <= 2_000);
        assert!(rows.iter().all(|r| r.symbols.len() <= 101));
        assert!(example(schema).to_string().len() < 1_000_000);
    }
    let Schema::Avro(avro_enum) = &enum_v2 else {
        unreachable!()
    };
    let refused = avro::encode_json(avro_enum, &json!({"e": "nope"})).unwrap_err();
    assert!(refused.reason.len() < 300, "{}", refused.reason);
}

#[test]
fn a_check_past_its_step_budget_says_so_instead_of_guessing() {
    let v1 = parse(SchemaType::Json, &any_of_schema(0..3_000));
    // Kept in place, the members match one by one: judged.
    assert!(backward(&v1, &v1).unwrap().is_compatible());
    // Reversed, every pair may need trying: nine million trials, refused.
    let reversed = parse(SchemaType::Json, &any_of_schema((0..3_000).rev()));
    assert_eq!(backward(&v1, &reversed).unwrap_err(), TooComplex);
    assert!(diff(&v1, &reversed).is_err());
    assert!(TooComplex.to_string().contains("too complex to judge within limits"));
}

// ---------------------------------------------------------------------------------------
// Through the real server.

/// Polls `/health` until `done`, returning the slowest round trip.
fn slowest_health(address: &str, done: &AtomicBool) -> Duration {
    let mut slowest = Duration::ZERO;
    while !done.load(Ordering::SeqCst) {
        let started = Instant::now();
        let (status, _) = try_http(address, "GET", "/health", REGISTRY, None).expect("/health answers");
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    slowest
}

#[test]
fn hostile_schemas_are_refused_at_registration_and_the_server_stays_up() {
    let server = Server::start(&[]);
    assert_refused(
        register(
            &server,
            "loop-value",
            "AVRO",
            r#"{"type":"record","name":"A","fields":[{"name":"a","type":"A"}]}"#,
        ),
        &["/fields/0/type", "record A can never hold a value"],
    );
    assert_refused(
        register(&server, "cycle-value", "JSON", r##"{"allOf":[{"$ref":"#"}]}"##),
        &["/allOf/0/$ref", "cyclic $ref"],
    );
    assert_refused(
        register(
            &server,
            "cycle-value",
            "JSON",
            r##"{"definitions":{"a":{"anyOf":[{"$ref":"#/definitions/b"}]},"b":{"not":{"$ref":"#/definitions/a"}}},"$ref":"#/definitions/a"}"##,
        ),
        &["cyclic $ref"],
    );
    // A chain of 12,000 definitions overflowed the stack of the first produce to validate
    // against it (and of every produce after a restart); it is refused where it comes in.
    assert_refused(
        register(&server, "chain-value", "JSON", &chain_schema(12_000)),
        &["/$defs/", "nests more than 200 levels deep"],
    );
    // Nothing was registered, so nothing fails later.
    let (status, subjects) = call(&server, "GET", "/subjects", REGISTRY, None);
    assert_eq!((status, subjects), (200, json!([])));

    // Recursive schemas with a way out are accepted, and deep data against them is
    // refused or accepted by the data's own depth, on topics with full validation.
    let (status, node) = register(
        &server,
        "nodes-value",
        "AVRO",
        r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}"#,
    );
    assert_eq!(status, 200, "{node}");
    let (status, tree) = register(
        &server,
        "trees-value",
        "JSON",
        r##"{"type":"object","properties":{"child":{"$ref":"#"}},"additionalProperties":false}"##,
    );
    assert_eq!(status, 200, "{tree}");
    for topic in ["nodes", "trees"] {
        let (status, body) = call(
            &server,
            "POST",
            "/topics",
            "application/vnd.kafka.v2+json",
            Some(&json!({"name": topic, "partitions": 1})),
        );
        assert_eq!(status, 201, "{body}");
    }
    let mut deep_bytes = vec![2u8; 200_000];
    deep_bytes.push(0);
    let records = json!({"records": [{"value": framed(node["id"].as_i64().unwrap(), &deep_bytes)}]});
    let (status, body) = call(&server, "POST", "/topics/nodes", BINARY_V2, Some(&records));
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("nests too deep"), "{body}");
    let records = json!({"records": [{"value": framed(node["id"].as_i64().unwrap(), &[2, 2, 0])}]});
    let (status, body) = call(&server, "POST", "/topics/nodes", BINARY_V2, Some(&records));
    assert_eq!(status, 200, "{body}");
    let mut deep = json!({});
    for _ in 0..120 {
        deep = json!({ "child": deep });
    }
    let (status, body) = call(
        &server,
        "POST",
        "/topics/trees",
        JSON_V2,
        Some(&json!({"records": [{"value": deep}]})),
    );
    assert_eq!(status, 200, "{body}");
    for page in [
        "/ui/topics/nodes.html",
        "/ui/topics/trees.html",
        "/ui/subjects/nodes-value/versions/1.html",
        "/ui/subjects/trees-value/versions/1.html",
        "/ui/asyncapi.json",
    ] {
        let (status, _) = call(&server, "GET", page, "text/html", None);
        assert_eq!(status, 200, "{page}");
    }
    assert_alive(&server);
}

#[test]
fn a_failing_record_with_many_violations_gets_a_small_error_body() {
    let server = Server::start(&[]);
    let (status, body) = register(
        &server,
        "numbers-value",
        "JSON",
        r#"{"type":"array","items":{"type":"integer"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        &server,
        "POST",
        "/topics",
        "application/vnd.kafka.v2+json",
        Some(&json!({"name": "numbers", "partitions": 1})),
    );
    assert_eq!(status, 201);
    let values: Vec<Value> = (0..200_000).map(|i| json!(format!("v{i}"))).collect();
    let records = json!({"records": [{"value": values}]});
    let (status, body) = call(&server, "POST", "/topics/numbers", JSON_V2, Some(&records));
    assert_eq!(status, 422);
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), herald::validate::MAX_DISTINCT_VIOLATIONS + 1);
    assert_eq!(errors.last().unwrap()["reason"], "… and 199980 more violations");
    assert!(body.to_string().len() < 10_000, "{} bytes", body.to_string().len());
    assert_alive(&server);
}

#[test]
fn huge_compatibility_checks_do_not_stop_health_answering() {
    let server = Server::start(&[]);
    for (subject, schema) in [
        ("enums-value", enum_schema(100_000)),
        ("unions-value", union_schema(3_000)),
    ] {
        let (status, body) = register(&server, subject, "AVRO", &schema);
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = register(&server, "choices-value", "JSON", &any_of_schema(0..3_000));
    assert_eq!(status, 200, "{body}");

    let done = Arc::new(AtomicBool::new(false));
    let attack = {
        let (address, done) = (server.address.clone(), done.clone());
        std::thread::spawn(move || {
            // A second client asks for compatibility checks meanwhile: two heavy requests
            // at once would hold both async workers if checks ran on them.
            let checker = {
                let address = address.clone();
                std::thread::spawn(move || {
                    let body = json!({"schema": enum_schema(100_002)});
                    (0..2)
                        .map(|_| {
                            let path = "/compatibility/subjects/enums-value/versions/latest";
                            try_http(&address, "POST", path, REGISTRY, Some(&body)).expect("an answer")
                        })
                        .collect::<Vec<_>>()
                })
            };
            let mut outcomes = Vec::new();
            for _ in 0..2 {
                outcomes.push(register_at(&address, "enums-value", "AVRO", &enum_schema(100_001)));
                outcomes.push(register_at(&address, "unions-value", "AVRO", &union_schema(3_001)));
                outcomes.push(register_at(
                    &address,
                    "choices-value",
                    "JSON",
                    &any_of_schema((0..3_000).rev()),
                ));
            }
            for (status, body) in checker.join().expect("the checking thread") {
                assert_eq!((status, &body["is_compatible"]), (200, &json!(true)), "{body}");
            }
            done.store(true, Ordering::SeqCst);
            outcomes
        })
    };
    let slowest = slowest_health(&server.address, &done);
    let outcomes = attack.join().expect("the attack thread");
    assert!(
        slowest < Duration::from_secs(1),
        "/health took {slowest:?} during the checks"
    );
    // Judged: the bigger enum and union are compatible additions.
    assert_eq!(outcomes[0].0, 200, "{}", outcomes[0].1);
    assert_eq!(outcomes[1].0, 200, "{}", outcomes[1].1);
    // Past the budget: a clear refusal, not a verdict.
    assert_eq!(outcomes[2].0, 422, "{}", outcomes[2].1);
    assert_eq!(outcomes[2].1["error_code"], 42201);
    assert!(outcomes[2].1["message"]
        .as_str()
        .unwrap()
        .contains("too complex to judge within limits"));
    assert_alive(&server);
}
