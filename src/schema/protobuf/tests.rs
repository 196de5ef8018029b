use super::*;
use crate::schema::{ErrorLocation, Schema};

const PAYMENT: &str = r#"
syntax = "proto3";
// The payment service's events.
package payments.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.example.payments";
option java_multiple_files = true;

/* A payment, once completed. */
message PaymentCompleted {
  reserved 10, 12 to 15;
  reserved "legacy_id";
  string id = 1 [json_name = "paymentId", deprecated = true];
  map<string, LineItem> items = 2;   // by SKU
  optional int64 amount_minor = 3;
  oneof method {
    string card_token = 4;
    string iban = 5;
  }
  google.protobuf.Timestamp completed_at = 6;
  Status status = 7;
  repeated string tags = 8 [packed = false];

  message LineItem {
    int32 quantity = 1;
  }
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_SETTLED = 1;
  }
}

enum Currency {
  reserved 9 to max;
  CURRENCY_UNSPECIFIED = 0;
  EUR = 1;
}
"#;

const PAYMENT_CANONICAL: &str = r#"syntax = "proto3";
package payments.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.example.payments";
option java_multiple_files = true;

message PaymentCompleted {
  reserved 10, 12 to 15;
  reserved "legacy_id";

  string id = 1 [
    deprecated = true,
    json_name = "paymentId"
  ];
  map<string, LineItem> items = 2;
  optional int64 amount_minor = 3;
  google.protobuf.Timestamp completed_at = 6;
  Status status = 7;
  repeated string tags = 8 [packed = false];

  oneof method {
    string card_token = 4;
    string iban = 5;
  }

  message LineItem {
    int32 quantity = 1;
  }
  enum Status {
    STATUS_UNSPECIFIED = 0;
    STATUS_SETTLED = 1;
  }
}
enum Currency {
  reserved 9 to max;
  CURRENCY_UNSPECIFIED = 0;
  EUR = 1;
}
"#;

#[test]
fn text_is_stored_in_confluents_layout_without_comments() {
    let schema = parse(PAYMENT, &[]).unwrap();
    assert_eq!(schema.canonical(), PAYMENT_CANONICAL);
    // The stored text reads back to itself.
    let again = parse(schema.canonical(), &[]).unwrap();
    assert_eq!(again.canonical(), PAYMENT_CANONICAL);
    // Comments and spacing make no difference.
    let squeezed = PAYMENT
        .replace("   // by SKU", "")
        .replace("/* A payment, once completed. */", "");
    assert_eq!(parse(&squeezed, &[]).unwrap().canonical(), PAYMENT_CANONICAL);
}

#[test]
fn a_base64_descriptor_is_stored_as_text_with_qualified_names() {
    let text = parse(PAYMENT, &[]).unwrap();
    let serialized = text.serialized();
    let from_descriptor = parse(&serialized, &[]).unwrap();
    let canonical = from_descriptor.canonical();
    assert!(
        canonical.starts_with("syntax = \"proto3\";\npackage payments.v1;\n"),
        "{canonical}"
    );
    assert!(
        canonical.contains("  .google.protobuf.Timestamp completed_at = 6;\n"),
        "{canonical}"
    );
    assert!(
        canonical.contains("  .payments.v1.PaymentCompleted.Status status = 7;\n"),
        "{canonical}"
    );
    // Map entries stay the messages a descriptor holds.
    assert!(
        canonical.contains("  repeated .payments.v1.PaymentCompleted.ItemsEntry items = 2;\n"),
        "{canonical}"
    );
    assert!(canonical.contains("    option map_entry = true;\n"), "{canonical}");
    // proto3's explicit presence reads `optional`, its synthetic oneof is not printed.
    assert!(
        canonical.contains("  optional int64 amount_minor = 3;\n"),
        "{canonical}"
    );
    assert!(!canonical.contains("_amount_minor"), "{canonical}");
    // One reserved statement per range and per name.
    assert!(
        canonical.contains("  reserved 10;\n  reserved 12 to 15;\n  reserved \"legacy_id\";\n"),
        "{canonical}"
    );
    // Typed options print by name.
    assert!(
        canonical.contains("option java_package = \"com.example.payments\";\n"),
        "{canonical}"
    );
    // And that text is stable.
    assert_eq!(parse(canonical, &[]).unwrap().canonical(), canonical);
}

#[test]
fn proto2_labels_defaults_and_groups_print_as_written() {
    let text = "syntax = \"proto2\";\nmessage Order {\n  required string id = 1;\n  optional int32 count = 2 [default = 7];\n  optional string note = 3 [default = \"none\"];\n  repeated group Line = 4 {\n    optional string sku = 1;\n  }\n}\n";
    let schema = parse(text, &[]).unwrap();
    assert_eq!(
        schema.canonical(),
        "syntax = \"proto2\";\n\nmessage Order {\n  required string id = 1;\n  optional int32 count = 2 [default = 7];\n  optional string note = 3 [default = \"none\"];\n\n  repeated group Line = 4 {\n    optional string sku = 1;\n  }\n}\n"
    );
}

#[test]
fn imports_resolve_through_references() {
    let common = "syntax = \"proto3\";\npackage common;\nmessage Money { int64 minor = 1; string currency = 2; }\n";
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"common/money.proto\";\nmessage Order { common.Money total = 1; }\n";
    let schema = parse(
        text,
        &[Reference {
            name: "common/money.proto",
            schema: common,
        }],
    )
    .unwrap();
    assert_eq!(schema.messages()[0].full_name(), "shop.Order");
    let missing = parse(text, &[]).unwrap_err();
    assert!(missing.message.contains("common/money.proto"), "{missing}");
    assert!(missing.message.contains("reference"), "{missing}");
}

#[test]
fn bad_text_is_refused_with_its_line_and_column() {
    let error = parse("syntax = \"proto3\";\nmessage A {\n  string id = ;\n}\n", &[]).unwrap_err();
    assert!(
        matches!(error.location, ErrorLocation::Text { line: 3, .. }),
        "{error:?}"
    );
    let unknown = parse("syntax = \"proto3\";\nmessage A {\n  Missing m = 1;\n}\n", &[]).unwrap_err();
    assert!(unknown.message.contains("Missing"), "{unknown}");
    assert!(
        matches!(unknown.location, ErrorLocation::Text { line: 3, .. }),
        "{unknown:?}"
    );
    let clash = parse(
        "syntax = \"proto3\";\nmessage A { int32 x = 1; }\nmessage A { int32 y = 1; }\n",
        &[],
    )
    .unwrap_err();
    assert!(clash.message.contains('A'), "{clash}");
    let editions = parse("edition = \"2023\";\nmessage A {}\n", &[]).unwrap_err();
    assert!(!editions.message.is_empty());
    // Not text, not base64: the text's own error.
    assert!(parse("{\"type\": \"record\"}", &[]).is_err());
}

#[test]
fn import_cycles_are_refused() {
    let a = "syntax = \"proto3\";\nimport \"b.proto\";\nmessage A {}\n";
    let b = "syntax = \"proto3\";\nimport \"a.proto\";\nmessage B {}\n";
    let text = "syntax = \"proto3\";\nimport \"a.proto\";\nmessage M {}\n";
    let error = parse(
        text,
        &[
            Reference {
                name: "a.proto",
                schema: a,
            },
            Reference {
                name: "b.proto",
                schema: b,
            },
        ],
    )
    .unwrap_err();
    assert!(error.message.contains("cycle"), "{error}");
}

#[test]
fn message_index_paths_name_nested_messages() {
    let text = "syntax = \"proto3\";\nmessage A { message Inner { int32 x = 1; } }\nenum E { E0 = 0; }\nmessage B { message C {} message D {} }\n";
    let schema = parse(text, &[]).unwrap();
    assert_eq!(schema.message_at(&[0]).unwrap().full_name(), "A");
    assert_eq!(schema.message_at(&[0, 0]).unwrap().full_name(), "A.Inner");
    assert_eq!(schema.message_at(&[1, 1]).unwrap().full_name(), "B.D");
    assert!(schema.message_at(&[2]).is_none());
    assert!(schema.message_at(&[]).is_none());
    assert!(schema.message_at(&[-1]).is_none());
}

#[test]
fn normalized_text_is_one_for_files_that_differ_only_in_order() {
    let a = "syntax = \"proto3\";\npackage shop;\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\noption java_package = \"x\";\noption java_multiple_files = true;\nmessage Order {\n  map<string, Line> lines = 3;\n  string id = 1;\n  oneof b { string y = 6; string x = 5; }\n  oneof a { string z = 4; }\n  google.protobuf.Timestamp at = 2;\n  message Line { int32 q = 1; }\n}\nenum Kind {\n  reserved 20, 100 to max;\n  reserved 10;\n  reserved 1 to 3;\n  reserved \"BAD\", \"OLD\";\n  A = 0;\n  C = 7;\n  B = 5;\n}\n";
    let b = "syntax = \"proto3\";\npackage shop;\nimport \"google/protobuf/duration.proto\";\nimport \"google/protobuf/timestamp.proto\";\noption java_multiple_files = true;\noption java_package = \"x\";\nmessage Order {\n  string id = 1;\n  google.protobuf.Timestamp at = 2;\n  map<string, Order.Line> lines = 3;\n  oneof a { string z = 4; }\n  oneof b { string x = 5; string y = 6; }\n  message Line { int32 q = 1; }\n}\nenum Kind {\n  reserved \"OLD\", \"BAD\";\n  reserved 1 to 3, 10, 20, 100 to max;\n  A = 0;\n  B = 5;\n  C = 7;\n}\n";
    let (a, b) = (parse(a, &[]).unwrap(), parse(b, &[]).unwrap());
    assert_ne!(a.canonical(), b.canonical());
    assert_eq!(a.normalized(), b.normalized());
    assert_eq!(
        a.normalized(),
        "syntax = \"proto3\";\npackage shop;\n\nimport \"google/protobuf/duration.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\noption java_multiple_files = true;\noption java_package = \"x\";\n\nmessage Order {\n  string id = 1;\n  .google.protobuf.Timestamp at = 2;\n  map<string, .shop.Order.Line> lines = 3;\n\n  oneof a {\n    string z = 4;\n  }\n  oneof b {\n    string x = 5;\n    string y = 6;\n  }\n\n  message Line {\n    int32 q = 1;\n  }\n}\nenum Kind {\n  reserved 1 to 3;\n  reserved 10;\n  reserved 20;\n  reserved 100 to max;\n  reserved \"BAD\";\n  reserved \"OLD\";\n  A = 0;\n  B = 5;\n  C = 7;\n}\n"
    );
    // The normalised text reads back to itself.
    let again = parse(&a.normalized(), &[]).unwrap();
    assert_eq!(again.normalized(), a.normalized());
}

#[test]
fn field_rows_and_examples_read_the_first_message() {
    let schema = Schema::Protobuf(
        parse(
            "syntax = \"proto3\";\npackage shop;\nimport \"google/protobuf/timestamp.proto\";\nmessage Order {\n  // The order's id.\n  string id = 1;\n  repeated Line lines = 2;\n  map<string, int64> totals = 3;\n  Status status = 4;\n  google.protobuf.Timestamp at = 5;\n  optional string note = 6 [deprecated = true];\n  oneof pay { string card = 7; string iban = 8; }\n  int64 count = 9;\n  message Line { string sku = 1; }\n  enum Status { STATUS_UNKNOWN = 0; STATUS_PAID = 1; }\n}\n",
            &[],
        )
        .unwrap(),
    );
    let rows = crate::schema::fields::field_rows(&schema, None);
    let summary: Vec<(String, String)> = rows.iter().map(|r| (r.path.clone(), r.type_label.clone())).collect();
    let expect = |path: &str, label: &str| {
        assert!(
            summary.iter().any(|(p, l)| p == path && l == label),
            "{path}: {label} in {summary:?}"
        )
    };
    expect("id", "string");
    expect("lines", "repeated shop.Order.Line");
    expect("lines[].sku", "string");
    expect("totals", "map<string, int64>");
    expect("status", "shop.Order.Status");
    expect("at", "google.protobuf.Timestamp");
    expect("note", "optional string");
    expect("card", "string (oneof pay)");
    let id = rows.iter().find(|r| r.path == "id").unwrap();
    assert_eq!(id.doc.as_deref(), Some("The order's id."));
    assert_eq!(id.pointer, "/Order/1");
    assert!(rows.iter().find(|r| r.path == "note").unwrap().deprecated);
    let status = rows.iter().find(|r| r.path == "status").unwrap();
    assert_eq!(status.symbols, ["STATUS_UNKNOWN", "STATUS_PAID"]);
    // The example is the message in proto3's JSON mapping, and reads back as one.
    let example = crate::schema::example::example(&schema);
    assert_eq!(example["count"], "1", "64-bit integers are strings in JSON: {example}");
    assert_eq!(example["status"], "STATUS_PAID");
    assert_eq!(example["lines"][0]["sku"], "sku");
    assert!(
        example.get("card").is_some() && example.get("iban").is_none(),
        "{example}"
    );
    let Schema::Protobuf(proto) = &schema else {
        unreachable!()
    };
    assert_eq!(crate::validate::protobuf::check_json(proto, &example), Ok(()));
    let wrong = serde_json::json!({"count": "many"});
    assert!(crate::validate::protobuf::check_json(proto, &wrong).is_err());
}

/// The kind of a message's field that holds a message: that message's full name.
fn field_message(schema: &ProtobufSchema, message: &str, field: &str) -> String {
    let message = schema.file().parent_pool().get_message_by_name(message).unwrap();
    match message.get_field_by_name(field).unwrap().kind() {
        prost_reflect::Kind::Message(kind) => kind.full_name().to_string(),
        other => panic!("{field} is a {other:?}"),
    }
}

#[test]
fn google_type_imports_need_no_reference() {
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"google/type/money.proto\";\nimport \"google/type/date.proto\";\nmessage Order {\n  google.type.Money total = 1;\n  google.type.Date due = 2;\n}\n";
    let schema = parse(text, &[]).unwrap();
    assert_eq!(field_message(&schema, "shop.Order", "total"), "google.type.Money");
    assert_eq!(field_message(&schema, "shop.Order", "due"), "google.type.Date");
    let money = schema
        .file()
        .parent_pool()
        .get_message_by_name("google.type.Money")
        .unwrap();
    assert!(money.get_field_by_name("currency_code").is_some());
}

#[test]
fn confluent_imports_need_no_reference() {
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"confluent/meta.proto\";\nmessage Customer {\n  string email = 1 [(confluent.field_meta).doc = \"Where receipts go\", (confluent.field_meta).tags = \"PII\"];\n}\n";
    let schema = parse(text, &[]).unwrap();
    // The stored text keeps the options and compiles again, still without a reference.
    assert!(
        schema
            .canonical()
            .contains("(confluent.field_meta).doc = \"Where receipts go\""),
        "{}",
        schema.canonical()
    );
    parse(schema.canonical(), &[]).unwrap();
    let pool = schema.file().parent_pool();
    let field_meta = pool.get_extension_by_name("confluent.field_meta").unwrap();
    let email = pool
        .get_message_by_name("shop.Customer")
        .unwrap()
        .get_field_by_name("email")
        .unwrap();
    let options = email.options();
    let meta = options.get_extension(&field_meta);
    let meta = meta.as_message().unwrap();
    assert_eq!(
        meta.get_field_by_name("doc").unwrap().as_str(),
        Some("Where receipts go")
    );
    assert_eq!(
        meta.get_field_by_name("tags").unwrap().as_list().unwrap()[0].as_str(),
        Some("PII")
    );

    let text = "syntax = \"proto3\";\npackage shop;\nimport \"confluent/type/decimal.proto\";\nmessage Price {\n  confluent.type.Decimal amount = 1;\n}\n";
    let schema = parse(text, &[]).unwrap();
    assert_eq!(field_message(&schema, "shop.Price", "amount"), "confluent.type.Decimal");
}

#[test]
fn every_built_in_file_compiles() {
    for name in builtin::names() {
        let text = format!("syntax = \"proto3\";\nimport \"{name}\";\nmessage M {{}}\n");
        let schema = parse(&text, &[]).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(schema.file().parent_pool().get_file_by_name(name).is_some(), "{name}");
        assert!(builtin::is_bundled(name));
    }
    assert!(!builtin::is_bundled("google/protobuf/timestamp.proto"));
}

#[test]
fn a_reference_named_like_a_built_in_file_wins() {
    let own = "syntax = \"proto3\";\npackage google.type;\nmessage Money { int64 cents = 1; }\n";
    let text = "syntax = \"proto3\";\npackage shop;\nimport \"google/type/money.proto\";\nmessage Order { google.type.Money total = 1; }\n";
    let schema = parse(
        text,
        &[Reference {
            name: "google/type/money.proto",
            schema: own,
        }],
    )
    .unwrap();
    let money = schema
        .file()
        .parent_pool()
        .get_message_by_name("google.type.Money")
        .unwrap();
    assert!(money.get_field_by_name("cents").is_some());
    assert!(money.get_field_by_name("currency_code").is_none());
}

#[test]
fn an_unknown_import_beside_the_built_in_files_is_refused() {
    let text = "syntax = \"proto3\";\nimport \"google/type/nope.proto\";\nmessage M {}\n";
    let error = parse(text, &[]).unwrap_err();
    assert!(error.message.contains("google/type/nope.proto"), "{error}");
    assert!(
        error.message.contains("give the imported file as a reference"),
        "{error}"
    );
}

/// A compile on a kept pool of built-in files gives the compiler's pool: the same files in
/// the same order, whether the built-in imports come before, after or between the others.
#[test]
fn pools_on_kept_built_in_files_are_the_compilers() {
    let money = "syntax = \"proto3\";\npackage common;\nimport \"google/protobuf/duration.proto\";\nmessage Money { int64 minor = 1; google.protobuf.Duration age = 2; }\n";
    let orders = [
        vec!["google/protobuf/timestamp.proto"],
        vec!["google/protobuf/timestamp.proto", "common/money.proto"],
        vec!["common/money.proto", "google/protobuf/timestamp.proto"],
        vec![
            "confluent/meta.proto",
            "common/money.proto",
            "google/protobuf/api.proto",
        ],
    ];
    for imports in orders {
        let lines: String = imports.iter().map(|i| format!("import \"{i}\";\n")).collect();
        let text = format!("syntax = \"proto3\";\npackage shop;\n{lines}message Order {{ string id = 1; }}\n");
        let files = || {
            let read = |name: &str, text: &str| (name.to_string(), Content::read(name, text).unwrap().0);
            std::rc::Rc::new(vec![read(MAIN_FILE, &text), read("common/money.proto", money)])
        };
        let ours = pool_on_builtins(MAIN_FILE, &files()).expect("compiles on kept pools");
        let mut resolver = ChainFileResolver::new();
        resolver.add(Files {
            files: files(),
            with_sources: false,
        });
        resolver.add(builtin_resolver());
        let mut compiler = Compiler::with_file_resolver(resolver);
        compiler.include_source_info(false).include_imports(true);
        compiler.open_file(MAIN_FILE).unwrap();
        let theirs = compiler.descriptor_pool();
        let names = |pool: &DescriptorPool| pool.files().map(|f| f.name().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs), "{imports:?}");
        assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec(), "{imports:?}");
    }
}

#[test]
fn imports_the_compiler_refuses_are_left_to_it() {
    let twice = "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage M {}\n";
    let files = std::rc::Rc::new(vec![(
        MAIN_FILE.to_string(),
        Content::read(MAIN_FILE, twice).unwrap().0,
    )]);
    assert!(pool_on_builtins(MAIN_FILE, &files).is_none());
    let error = parse(twice, &[]).unwrap_err();
    assert!(
        matches!(error.location, ErrorLocation::Text { line: 3, .. }),
        "{error:?}"
    );
}

/// The fast parser's contract: where it reads a text, protox-parse reads it too, to the
/// same descriptor; every location it records is one protox-parse records, and every
/// comment protox-parse attributes, it attributes alike. Returns whether it read the text.
fn fast_parse_agrees(text: &str) -> bool {
    let Some(mut fast) = fast_parse::parse("t.proto", text) else {
        return false;
    };
    let mut full = protox_parse::parse("t.proto", text)
        .unwrap_or_else(|e| panic!("the fast parser read text protox-parse refuses ({e}):\n{text}"));
    let fast_info = fast.source_code_info.take().expect("positions").location;
    let full_info = full.source_code_info.take().expect("positions").location;
    assert_eq!(fast, full, "different descriptors for:\n{text}");
    let key = |l: &&prost_types::source_code_info::Location| (l.span.clone(), l.leading_comments.clone());
    let mut paths: Vec<&Vec<i32>> = fast_info.iter().map(|l| &l.path).collect();
    paths.dedup();
    for path in paths {
        let mut mine: Vec<_> = fast_info.iter().filter(|l| &l.path == path).collect();
        let mut theirs: Vec<_> = full_info.iter().filter(|l| &l.path == path).collect();
        mine.sort_by_key(key);
        theirs.sort_by_key(key);
        assert_eq!(mine, theirs, "locations at {path:?} differ for:\n{text}");
    }
    for location in &full_info {
        let commented = location.leading_comments.is_some()
            || location.trailing_comments.is_some()
            || !location.leading_detached_comments.is_empty();
        if commented {
            assert!(
                fast_info.contains(location),
                "comment location {location:?} missing for:\n{text}"
            );
        }
    }
    true
}

/// Every `.proto` file of the repository and every raw-string schema in its sources.
fn proto_corpus() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" && name != "node_modules" {
                    walk(&path, out);
                }
            } else {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "schemas", "fuzz", "benches"] {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    let mut corpus = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("proto") => corpus.push(text),
            Some("rs") => {
                let mut rest = text.as_str();
                while let Some(open) = rest.find("r#\"") {
                    let body = &rest[open + 3..];
                    let Some(close) = body.find("\"#") else { break };
                    let literal = &body[..close];
                    if literal.contains("message ") || literal.contains("syntax") {
                        corpus.push(literal.to_string());
                    }
                    rest = &body[close + 2..];
                }
            }
            _ => {}
        }
    }
    corpus
}

/// Texts written to exercise comment attribution and the grammar's corners.
const FAST_PARSE_CASES: &[&str] = &[
    "// detached\n\n// leading\nsyntax = \"proto3\"; // trailing\n// next\n\npackage a.b;\n",
    "syntax = \"proto3\";\nmessage M { // after brace\n  // leading\n  int32 a = 1; // trailing\n  // trails a too\n\n  // detached\n\n  // leads b\n  string b = 2;\n  // trails b\n}\n// after\n",
    "syntax = \"proto3\";\nmessage M {\n  int32 a = 1;\n  // before the brace\n}\n",
    "syntax = \"proto3\";\nmessage M {\n  optional int32 _x = 1;\n  optional int32 y = 2;\n  oneof o { string s = 3; bytes b = 4; }\n  oneof p { option (x.y) = 5; int64 n = 6; }\n  optional string z = 7;\n}\n",
    "syntax = \"proto2\";\nimport public \"a.proto\";\nimport weak 'b.proto';\nimport \"c/d.proto\";\noption java_package = \"x.y\";\noption (my.opt).sub = -9223372036854775808;\nmessage M {\n  required int32 a = 1 [deprecated = true, (e) = 'q', json_name = \"A\"];\n  optional .x.Y b = 2;\n  repeated M c = 3 [packed = true];\n  reserved 4, 6 to 8, 100 to max;\n  reserved \"old\", \"older\";\n  map<string, .x.Y> by_key = 9;\n  map<int64, bytes> raw_bytes_map = 10;\n  message N { message O { optional int32 deep = 1; } }\n  enum E { option allow_alias = true; reserved -5 to -1, 3 to max; reserved \"Z\"; A = 0; B = 0 [deprecated = true]; C = -2147483648; }\n  option (m) = inf;\n}\n;\nenum Top { T = 0; }\n",
    "message M {}\n",
    "",
    "syntax = \"proto3\";\n\n\n// a\n// b\n\n\n// c\nmessage M {\n\n  // d\n\n}\n",
    "/* licence\n * header\n\n   *   kept\n */\nsyntax = \"proto3\";\n/** Doc for M. */\nmessage M { /* after brace */\n  int32 a = 1; /* trails a */\n  /* leads b */ string b = 2;\n  /* detached */\n\n  // line\n  /* own block */\n  bool c = 3; // trails c\n  /* before the brace */\n}\n",
    "syntax = \"proto3\"; /* dropped */ message M { /**/ int32 a = 1; /***/\n // leads b\n int32 b = 2; }\n",
];

#[test]
fn fast_parse_reads_the_corpus_as_protox_parse_does() {
    let mut read = 0;
    let corpus = proto_corpus();
    assert!(corpus.len() > 20, "the corpus holds {} texts", corpus.len());
    for text in corpus
        .iter()
        .map(String::as_str)
        .chain(FAST_PARSE_CASES.iter().copied())
    {
        read += usize::from(fast_parse_agrees(text));
    }
    // Most schemas are in the common grammar: the fast parser must read most of them.
    assert!(
        read * 2 > corpus.len(),
        "the fast parser read {read} of {} texts",
        corpus.len()
    );
    for case in FAST_PARSE_CASES {
        assert!(fast_parse_agrees(case), "the fast parser declined:\n{case}");
    }
}

/// Texts one token away from the corpus: wherever the fast parser reads one, it must agree
/// with protox-parse (which refuses most of them).
#[test]
fn fast_parse_agrees_on_one_token_mutations() {
    const REPLACEMENTS: &[&str] = &[
        ";",
        "}",
        "{",
        "=",
        ".",
        "-",
        ",",
        "<",
        ">",
        "[",
        "]",
        "(",
        ")",
        "optional",
        "required",
        "repeated",
        "oneof",
        "map",
        "group",
        "reserved",
        "max",
        "to",
        "0",
        "-1",
        "536870912",
        "\"x\"",
        "'y'",
        "// c\n",
        "\n\n",
        "\n",
        "json_name",
        "default",
        "syntax",
        "_a",
        "1x",
        "1.5",
        "0x1",
        "/* b */",
        "/* b */\n",
        "/*\n * c\n\n */",
        "/*",
        "*/",
        "/**/",
        "#",
        "map<string,int32>",
    ];
    let corpus: Vec<String> = proto_corpus()
        .into_iter()
        .chain(FAST_PARSE_CASES.iter().map(|s| s.to_string()))
        .filter(|text| fast_parse::parse("t.proto", text).is_some())
        .collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    let (mut tried, mut read) = (0, 0);
    for text in &corpus {
        // Tokens: runs of word characters, runs of spaces, single other characters.
        let mut bounds = vec![0];
        let bytes = text.as_bytes();
        for i in 1..bytes.len() {
            let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            let space = |b: u8| b == b' ';
            if !(word(bytes[i]) && word(bytes[i - 1]) || space(bytes[i]) && space(bytes[i - 1])) {
                bounds.push(i);
            }
        }
        bounds.push(bytes.len());
        for _ in 0..300 {
            let at = next(bounds.len() - 1);
            let (start, end) = (bounds[at], bounds[at + 1]);
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            let replacement = REPLACEMENTS[next(REPLACEMENTS.len())];
            let mutated = match next(3) {
                0 => format!("{}{}", &text[..start], &text[end..]),
                1 => format!("{}{replacement}{}", &text[..start], &text[end..]),
                _ => format!("{}{replacement} {}", &text[..start], &text[start..]),
            };
            tried += 1;
            read += usize::from(fast_parse_agrees(&mutated));
        }
    }
    assert!(tried > 1000 && read > 100, "{read} of {tried} mutations read");
}

/// Hostile nesting: the fast parser hands it over before its own recursion gets deep, and
/// the full parser refuses it with its limit, without overflowing the stack.
#[test]
fn ten_thousand_nested_messages_are_refused_without_overflow() {
    let depth = 10_000;
    let text = format!(
        "syntax = \"proto3\";\n{}{}",
        "message M { ".repeat(depth),
        "}".repeat(depth)
    );
    let refused = parse(&text, &[]).expect_err("too deep");
    assert!(
        refused.message.contains("recursion limit for nested messages"),
        "{refused}"
    );
    assert!(
        matches!(refused.location, ErrorLocation::Text { line: 2, .. }),
        "{refused:?}"
    );
    // Just within the limit, both parsers agree.
    let within = format!("syntax = \"proto3\";\n{}{}", "message M { ".repeat(31), "}".repeat(31));
    assert!(!fast_parse_agrees(&within), "the fast parser declines past its depth");
    assert!(parse(&within, &[]).is_ok());
}

/// A file with Confluent's meta options on every kind of element, and a custom option of
/// its own.
const WITH_META: &str = r#"syntax = "proto3";
package shop;

import "confluent/meta.proto";
import "google/protobuf/descriptor.proto";

option (confluent.file_meta) = { doc: "The shop's events", tags: ["public"] };

extend google.protobuf.FieldOptions {
  string owner = 50001;
}

message Customer {
  option (confluent.message_meta).doc = "Someone who buys";
  string email = 1 [(confluent.field_meta).tags = "PII", (confluent.field_meta).tags = "EMAIL"];
  string card = 2 [(confluent.field_meta) = { doc: "The card's number", tags: ["PII"] }, deprecated = true, (owner) = "payments"];
  string total = 3 [(confluent.field_meta) = { params: [{ key: "precision", value: "8" }] }];
  string currency = 6 [(confluent.field_meta) = { params: [{ key: "code", value: "EUR" }] }];
  string note = 4 [(confluent.field_meta) = { rules: [{ name: "short", expr: "size(this) < 100" }] }];
  Tier tier = 5;
}

enum Tier {
  option (confluent.enum_meta).doc = "How much they buy";
  TIER_UNSPECIFIED = 0;
  TIER_GOLD = 1 [(confluent.enum_value_meta).tags = "VIP"];
}
"#;

#[test]
fn a_descriptor_keeps_confluents_meta_options_in_confluents_layout() {
    let text = parse(WITH_META, &[]).unwrap();
    // What a serializer sends: the compiled descriptor, options as extensions.
    let serialized = text.serialized();
    let schema = parse(&serialized, &[]).unwrap();
    // As Confluent prints a descriptor: each meta as a map after the standard options, a
    // line per entry, `precision` and `scale` value first; other custom options are dropped
    // (Confluent keeps only its own from a descriptor), their `extend` stays. (A map's
    // entries keep the descriptor's order; one entry each here, as the compiler that makes
    // this descriptor keeps no order of its own.)
    assert_eq!(
        schema.canonical(),
        r#"syntax = "proto3";
package shop;

import "confluent/meta.proto";
import "google/protobuf/descriptor.proto";

option (confluent.file_meta) = {
  doc: "The shop\'s events",
  tags: [
    "public"
  ]
};

message Customer {
  option (confluent.message_meta) = {
    doc: "Someone who buys"
  };

  string email = 1 [(confluent.field_meta) = {
    tags: [
      "PII",
      "EMAIL"
    ]
  }];
  string card = 2 [
    deprecated = true,
    (confluent.field_meta) = {
      doc: "The card\'s number",
      tags: [
        "PII"
      ]
    }
  ];
  string total = 3 [(confluent.field_meta) = {
    params: [
      {
        value: "8",
        key: "precision"
      }
    ]
  }];
  string currency = 6 [(confluent.field_meta) = {
    params: [
      {
        key: "code",
        value: "EUR"
      }
    ]
  }];
  string note = 4 [(confluent.field_meta) = {
    rules: [
      {
        name: "short",
        expr: "size(this) < 100"
      }
    ]
  }];
  .shop.Tier tier = 5;
}
enum Tier {
  option (confluent.enum_meta) = {
    doc: "How much they buy"
  };
  TIER_UNSPECIFIED = 0;
  TIER_GOLD = 1 [(confluent.enum_value_meta) = {
    tags: [
      "VIP"
    ]
  }];
}

extend .google.protobuf.FieldOptions {
  string owner = 50001;
}
"#
    );

    // The compiled schema has them: tags reach redaction, rules and the docs.
    let pool = schema.file().parent_pool();
    let field_meta = pool.get_extension_by_name("confluent.field_meta").unwrap();
    let customer = pool.get_message_by_name("shop.Customer").unwrap();
    let tags = |field: &str| -> Vec<String> {
        let options = customer.get_field_by_name(field).unwrap().options();
        let meta = options.get_extension(&field_meta);
        let list = meta.as_message().unwrap().get_field_by_name("tags").unwrap();
        list.as_list()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(tags("email"), ["PII", "EMAIL"]);
    assert_eq!(tags("card"), ["PII"]);

    // `?format=serialized` carries them on, and the same text comes back from it.
    assert_eq!(
        parse(&schema.serialized(), &[]).unwrap().canonical(),
        schema.canonical()
    );

    // Normalised, as Confluent normalises a map: keys sorted, a list of one unwrapped.
    let normalized = schema.normalized();
    assert!(
        normalized.contains(
            "  string card = 2 [\n    (confluent.field_meta) = {\n      doc: \"The card\\'s number\",\n      tags: \"PII\"\n    },\n    deprecated = true\n  ];\n"
        ),
        "{normalized}"
    );
    assert!(
        normalized.contains("    params: {\n      key: \"precision\",\n      value: \"8\"\n    }\n"),
        "{normalized}"
    );
    parse(&normalized, &[]).unwrap();
    // `ignore_extensions` keeps Confluent's own options.
    assert!(schema.without_extensions().contains("(confluent.field_meta) = {\n"));
}

#[test]
fn a_descriptor_without_the_meta_import_prints_no_meta() {
    // Nothing could declare the options: the text would not compile, so none are read.
    let text = parse(
        "syntax = \"proto3\";\npackage shop;\nmessage Customer {\n  string email = 1 [deprecated = true];\n}\n",
        &[],
    )
    .unwrap();
    let schema = parse(&text.serialized(), &[]).unwrap();
    assert!(schema.canonical().contains("  string email = 1 [deprecated = true];\n"));
}
