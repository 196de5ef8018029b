//! Confluent's Protobuf rules as a table: (what, original, update, the differences as
//! `KIND #/path`, backward compatible?). The upstream behaviours the reference pins are
//! among them: proto3 implicit → repeated passes, optional → repeated does not, renumbering
//! passes, int32 → enum passes, a new top-level message fails forward.

use super::*;
use crate::schema::protobuf::parse;

#[path = "corpus.rs"]
mod corpus;

fn proto3(body: &str) -> String {
    format!("syntax = \"proto3\";\npackage shop;\n{body}")
}

fn proto2(body: &str) -> String {
    format!("syntax = \"proto2\";\npackage shop;\n{body}")
}

fn found(original: &str, update: &str) -> (Vec<String>, bool) {
    let original = parse(original, &[]).unwrap_or_else(|e| panic!("{e}\n{original}"));
    let update = parse(update, &[]).unwrap_or_else(|e| panic!("{e}\n{update}"));
    let all = differences(&original, &update).unwrap();
    let compatible = all.iter().all(|d| d.kind.is_compatible());
    // A check records only refusals; they must be exactly the refused differences.
    let refused: Vec<Difference> = all.iter().filter(|d| !d.kind.is_compatible()).cloned().collect();
    assert_eq!(incompatibilities(&original, &update).unwrap(), refused);
    (
        all.iter().map(|d| format!("{} {}", d.kind.id(), d.path)).collect(),
        compatible,
    )
}

#[test]
fn confluents_rules_case_by_case() {
    let cases: Vec<(&str, String, String, Vec<&str>, bool)> = vec![
        (
            "nothing changed",
            proto3("message A { string id = 1; }"),
            proto3("message A { string id = 1; }"),
            vec![],
            true,
        ),
        (
            "package changed",
            proto3("message A { string id = 1; }"),
            "syntax = \"proto3\";\npackage other;\nmessage A { string id = 1; }".to_string(),
            vec!["PACKAGE_CHANGED #/"],
            false,
        ),
        (
            "message added",
            proto3("message A { string id = 1; }"),
            proto3("message A { string id = 1; }\nmessage B { string id = 1; }"),
            vec!["MESSAGE_ADDED #/B"],
            true,
        ),
        (
            "message removed",
            proto3("message A { string id = 1; }\nmessage B { string id = 1; }"),
            proto3("message A { string id = 1; }"),
            vec!["MESSAGE_REMOVED #/B"],
            false,
        ),
        (
            "messages reordered",
            proto3("message A { string id = 1; }\nmessage B { string id = 1; }"),
            proto3("message B { string id = 1; }\nmessage A { string id = 1; }"),
            vec!["MESSAGE_MOVED #/A", "MESSAGE_MOVED #/B"],
            true,
        ),
        (
            "enum added and removed",
            proto3("message A { string id = 1; }\nenum E { E0 = 0; }"),
            proto3("message A { string id = 1; }\nenum F { F0 = 0; }"),
            vec!["ENUM_REMOVED #/E", "ENUM_ADDED #/F"],
            true,
        ),
        (
            "enum constants added, renamed and removed",
            proto3("message A { string id = 1; }\nenum E { E0 = 0; E1 = 1; E2 = 2; }"),
            proto3("message A { string id = 1; }\nenum E { E0 = 0; ONE = 1; E3 = 3; }"),
            vec![
                "ENUM_CONST_CHANGED #/E/1",
                "ENUM_CONST_REMOVED #/E/2",
                "ENUM_CONST_ADDED #/E/3",
            ],
            true,
        ),
        (
            "field added and removed",
            proto3("message A { string id = 1; int32 n = 2; }"),
            proto3("message A { string id = 1; bool b = 3; }"),
            vec!["FIELD_REMOVED #/A/2", "FIELD_ADDED #/A/3"],
            true,
        ),
        (
            "field renumbered is a removal and an addition",
            proto3("message A { string id = 1; }"),
            proto3("message A { string id = 2; }"),
            vec!["FIELD_REMOVED #/A/1", "FIELD_ADDED #/A/2"],
            true,
        ),
        (
            "field renamed",
            proto3("message A { string id = 1; }"),
            proto3("message A { string key = 1; }"),
            vec!["FIELD_NAME_CHANGED #/A/1"],
            true,
        ),
        (
            "scalar to message",
            proto3("message A { string id = 1; }\nmessage B { string id = 1; }"),
            proto3("message A { B id = 1; }\nmessage B { string id = 1; }"),
            vec!["FIELD_KIND_CHANGED #/A/1"],
            false,
        ),
        (
            "scalar to map",
            proto3("message A { string id = 1; }"),
            proto3("message A { map<string, string> id = 1; }"),
            vec!["FIELD_KIND_CHANGED #/A/1"],
            false,
        ),
        (
            "int32 to int64 stays in its group",
            proto3("message A { int32 n = 1; }"),
            proto3("message A { int64 n = 1; }"),
            vec![],
            true,
        ),
        (
            "int32 to sint32 changes group",
            proto3("message A { int32 n = 1; }"),
            proto3("message A { sint32 n = 1; }"),
            vec!["FIELD_SCALAR_KIND_CHANGED #/A/1"],
            false,
        ),
        (
            "string to bytes stays in its group",
            proto3("message A { string s = 1; }"),
            proto3("message A { bytes s = 1; }"),
            vec![],
            true,
        ),
        (
            "fixed32 to fixed64 changes group",
            proto3("message A { fixed32 n = 1; }"),
            proto3("message A { fixed64 n = 1; }"),
            vec!["FIELD_SCALAR_KIND_CHANGED #/A/1"],
            false,
        ),
        (
            "int32 to an enum is a general number either way",
            proto3("message A { int32 n = 1; }"),
            proto3("message A { E n = 1; }\nenum E { E0 = 0; }"),
            vec!["ENUM_ADDED #/E"],
            true,
        ),
        (
            "proto3 implicit to repeated: no label on one side, nothing raised",
            proto3("message A { int32 n = 1; }"),
            proto3("message A { repeated int32 n = 1; }"),
            vec![],
            true,
        ),
        (
            "optional to repeated number",
            proto3("message A { optional int32 n = 1; }"),
            proto3("message A { repeated int32 n = 1; }"),
            vec!["FIELD_NUMERIC_LABEL_CHANGED #/A/1"],
            false,
        ),
        (
            "optional to repeated string",
            proto3("message A { optional string s = 1; }"),
            proto3("message A { repeated string s = 1; }"),
            vec!["FIELD_STRING_OR_BYTES_LABEL_CHANGED #/A/1"],
            true,
        ),
        (
            "proto2 optional string to required",
            proto2("message A { optional string s = 1; }"),
            proto2("message A { required string s = 1; }"),
            vec!["FIELD_STRING_OR_BYTES_LABEL_CHANGED #/A/1"],
            true,
        ),
        (
            "proto2 optional int32 to required",
            proto2("message A { optional int32 n = 1; }"),
            proto2("message A { required int32 n = 1; }"),
            vec!["FIELD_NUMERIC_LABEL_CHANGED #/A/1"],
            false,
        ),
        (
            "required field added",
            proto2("message A { optional int32 n = 1; }"),
            proto2("message A { optional int32 n = 1; required string s = 2; }"),
            vec!["REQUIRED_FIELD_ADDED #/A/2"],
            false,
        ),
        (
            "required field removed",
            proto2("message A { optional int32 n = 1; required string s = 2; }"),
            proto2("message A { optional int32 n = 1; }"),
            vec!["REQUIRED_FIELD_REMOVED #/A/2"],
            false,
        ),
        (
            "message type renamed",
            proto3("message A { B b = 1; }\nmessage B { string id = 1; }\nmessage C { string id = 1; }"),
            proto3("message A { C b = 1; }\nmessage B { string id = 1; }\nmessage C { string id = 1; }"),
            vec!["FIELD_NAMED_TYPE_CHANGED #/A/1"],
            false,
        ),
        (
            "referenced message changed incompatibly",
            proto3("message A { B b = 1; }\nmessage B { string id = 1; }"),
            proto3("message A { B b = 1; }\nmessage B { int32 id = 1; }"),
            vec!["FIELD_SCALAR_KIND_CHANGED #/B/1", "FIELD_NAMED_TYPE_CHANGED #/A/1"],
            false,
        ),
        (
            "map value type changed",
            proto3("message A { map<string, int32> m = 1; }"),
            proto3("message A { map<string, string> m = 1; }"),
            vec!["FIELD_SCALAR_KIND_CHANGED #/A/1"],
            false,
        ),
        (
            "oneof added around a new field",
            proto3("message A { string id = 1; }"),
            proto3("message A { string id = 1; oneof pay { string card = 2; } }"),
            vec!["ONEOF_ADDED #/A/pay", "ONEOF_FIELD_ADDED #/A/pay/2"],
            true,
        ),
        (
            "a whole oneof deleted",
            proto3("message A { string id = 1; oneof pay { string card = 2; string iban = 3; } }"),
            proto3("message A { string id = 1; }"),
            vec!["ONEOF_REMOVED #/A/pay"],
            true,
        ),
        (
            "a oneof member dropped",
            proto3("message A { oneof pay { string card = 2; string iban = 3; } }"),
            proto3("message A { oneof pay { string card = 2; } }"),
            vec!["ONEOF_FIELD_REMOVED #/A/pay/3"],
            false,
        ),
        (
            "a oneof member moved to the top level",
            proto3("message A { oneof pay { string card = 2; string iban = 3; } }"),
            proto3("message A { string iban = 3; oneof pay { string card = 2; } }"),
            vec!["ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/A/3"],
            true,
        ),
        (
            "one field moved into a new oneof alone",
            proto3("message A { string card = 2; }"),
            proto3("message A { oneof pay { string card = 2; } }"),
            vec!["ONEOF_ADDED #/A/pay"],
            true,
        ),
        (
            "two fields moved into one oneof",
            proto3("message A { string card = 2; string iban = 3; }"),
            proto3("message A { oneof pay { string card = 2; string iban = 3; } }"),
            vec!["MULTIPLE_FIELDS_MOVED_TO_ONEOF #/A/pay", "ONEOF_ADDED #/A/pay"],
            false,
        ),
        (
            "a field moved into an existing oneof",
            proto3("message A { string iban = 3; oneof pay { string card = 2; } }"),
            proto3("message A { oneof pay { string card = 2; string iban = 3; } }"),
            vec!["FIELD_MOVED_TO_EXISTING_ONEOF #/A/pay"],
            false,
        ),
        (
            "a oneof renamed keeps its members",
            proto3("message A { oneof pay { string card = 2; } }"),
            proto3("message A { oneof method { string card = 2; } }"),
            vec!["ONEOF_ADDED #/A/method", "ONEOF_REMOVED #/A/pay"],
            true,
        ),
        (
            "a nested message removed",
            proto3("message A { message Line { int32 q = 1; } }"),
            proto3("message A { }"),
            vec!["MESSAGE_REMOVED #/A/Line"],
            false,
        ),
        (
            "recursive messages end",
            proto3("message Node { repeated Node children = 1; string v = 2; }"),
            proto3("message Node { repeated Node children = 1; int32 v = 2; }"),
            vec!["FIELD_SCALAR_KIND_CHANGED #/Node/2"],
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (what, original, update, expected, compatible) in &cases {
        let (got, got_compatible) = found(original, update);
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut expected_sorted: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected_sorted.sort();
        if got_sorted != expected_sorted || got_compatible != *compatible {
            failures.push(format!(
                "{what}: expected {expected:?} ({compatible}), got {got:?} ({got_compatible})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn forward_is_the_backward_check_of_the_inverse_change() {
    // Adding a message or a oneof member passes backward and fails forward, as derived
    // upstream from the argument swap.
    let old = parse(&proto3("message A { oneof pay { string card = 2; } }"), &[]).unwrap();
    let new = parse(
        &proto3("message A { oneof pay { string card = 2; string iban = 3; } }\nmessage B {}"),
        &[],
    )
    .unwrap();
    assert!(incompatibilities(&old, &new).unwrap().is_empty());
    let forward: Vec<&str> = incompatibilities(&new, &old)
        .unwrap()
        .iter()
        .map(|d| d.kind.id())
        .collect();
    assert_eq!(forward, ["ONEOF_FIELD_REMOVED", "MESSAGE_REMOVED"]);
}

#[test]
fn every_kind_has_an_id_and_upstreams_verdict() {
    let compatible: Vec<&str> = DiffKind::ALL
        .iter()
        .filter(|k| k.is_compatible())
        .map(|k| k.id())
        .collect();
    assert_eq!(compatible.len(), 15);
    for kind in DiffKind::ALL {
        if !kind.is_compatible() {
            assert!(
                kind.description("#/A/1", "new", "old").contains("#/A/1"),
                "{} explains where",
                kind.id()
            );
        }
    }
}

#[test]
fn differences_name_the_field_and_its_lines_in_both_texts() {
    let old = parse(&proto3("message A {\n  string id = 1;\n  int32 n = 2;\n}"), &[]).unwrap();
    let new = parse(&proto3("message A {\n  string id = 1;\n\n  sint32 n = 2;\n}"), &[]).unwrap();
    let found = incompatibilities(&old, &new).unwrap();
    assert_eq!(found.len(), 1);
    let d = &found[0];
    assert_eq!(d.field.as_deref(), Some("A.n"));
    assert_eq!((d.original_line, d.update_line), (Some(5), Some(6)));
    assert_eq!((d.was.as_deref(), d.became.as_deref()), (Some("int32"), Some("sint32")));
}
