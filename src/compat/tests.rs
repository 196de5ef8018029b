//! Every finding names its field: dotted paths through nested records, arrays, maps and
//! unions (Avro) and nested objects and arrays (JSON Schema), in checks and diffs alike, and
//! renamed fields explained as renames.

use serde_json::{json, Value};

use super::diff::{diff, Change, Verdict};
use super::{check, CompatibilityLevel, Incompatibility, PreviousVersion};
use crate::schema::{Schema, SchemaType};

fn avro(schema: Value) -> Schema {
    Schema::parse(SchemaType::Avro, &schema.to_string(), &[]).expect("Avro schema parses")
}

fn json_schema(schema: Value) -> Schema {
    Schema::parse(SchemaType::Json, &schema.to_string(), &[]).expect("JSON Schema parses")
}

fn findings(level: CompatibilityLevel, old: Schema, new: &Schema) -> Vec<Incompatibility> {
    let history = [old];
    check(level, &PreviousVersion::numbered(&history), new)
        .expect("within budget")
        .incompatibilities
}

/// The one finding of a check, which must find exactly one.
fn only(level: CompatibilityLevel, old: Schema, new: &Schema) -> Incompatibility {
    let mut found = findings(level, old, new);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

fn record(name: &str, fields: Value) -> Value {
    json!({"type": "record", "name": name, "fields": fields})
}

fn order_with_city(city: &str) -> Value {
    record(
        "Order",
        json!([{"name": "customer", "type": record("Customer", json!([
            {"name": "address", "type": record("Address", json!([{"name": "city", "type": city}]))}
        ]))}]),
    )
}

#[test]
fn avro_nested_records_name_the_field_path() {
    let found = only(
        CompatibilityLevel::Backward,
        avro(order_with_city("string")),
        &avro(order_with_city("int")),
    );
    assert_eq!(found.rule, "TYPE_MISMATCH");
    assert_eq!(found.field.as_deref(), Some("customer.address.city"));
    assert_eq!(found.new_pointer, "/fields/0/type/fields/0/type/fields/0/type");
    assert_eq!(
        found.message,
        "Consumers using the new schema cannot read events written with version 1: at field 'customer.address.city', a string value cannot be read as int."
    );
}

#[test]
fn avro_arrays_of_records_mark_the_items() {
    let lines = |fields: Value| {
        record(
            "Order",
            json!([{"name": "items", "type": {"type": "array", "items": record("Line", fields)}}]),
        )
    };
    let old = lines(json!([{"name": "sku", "type": "string"}]));
    let new = lines(json!([{"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]));
    let found = only(CompatibilityLevel::Backward, avro(old), &avro(new));
    assert_eq!(found.rule, "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_eq!(found.field.as_deref(), Some("items[].qty"));
    assert_eq!(found.new_pointer, "/fields/0/type/items/fields/1");
    assert!(
        found
            .message
            .contains("field 'items[].qty' is not in them and has no default"),
        "{}",
        found.message
    );
    // The hint names the field as it is written in its record, by its own name.
    assert!(found.hint.starts_with("Give 'qty' a default"), "{}", found.hint);
}

#[test]
fn avro_maps_mark_their_values() {
    let tags = |values: Value| {
        record(
            "Event",
            json!([{"name": "tags", "type": {"type": "map", "values": values}}]),
        )
    };
    let found = only(
        CompatibilityLevel::Backward,
        avro(tags(json!("string"))),
        &avro(tags(json!("int"))),
    );
    assert_eq!(found.field.as_deref(), Some("tags{}"));
    assert!(found.message.contains("at field 'tags{}'"), "{}", found.message);

    let price = |amount: &str| record("Price", json!([{"name": "amount", "type": amount}]));
    let found = only(
        CompatibilityLevel::Backward,
        avro(tags(price("double"))),
        &avro(tags(price("float"))),
    );
    assert_eq!(found.field.as_deref(), Some("tags{}.amount"));
}

#[test]
fn avro_union_branches_add_no_segment() {
    let payer = |email: &str| record("Payer", json!([{"name": "email", "type": email}]));
    let payment = |payer: Value| record("Payment", json!([{"name": "payer", "type": payer}]));

    // Union against union: as in Java, the report is the writer branch the reader union
    // cannot take, placed at the field holding the union.
    let found = only(
        CompatibilityLevel::Backward,
        avro(payment(json!(["null", payer("string")]))),
        &avro(payment(json!(["null", payer("int")]))),
    );
    assert_eq!(found.rule, "MISSING_UNION_BRANCH");
    assert_eq!(found.field.as_deref(), Some("payer"));
    assert!(
        found.message.contains("they may hold a record value at field 'payer'"),
        "{}",
        found.message
    );

    // A writer union read by a plain record: each branch is followed, and the branch itself
    // adds no segment (as in the docs field table): `payer.email`, not `payer.1.email`.
    let found = findings(
        CompatibilityLevel::Backward,
        avro(payment(json!(["null", payer("string")]))),
        &avro(payment(payer("int"))),
    );
    let fields: Vec<(&str, Option<&str>, &str)> = found
        .iter()
        .map(|f| (f.rule, f.field.as_deref(), f.old_pointer.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("TYPE_MISMATCH", Some("payer"), "/fields/0/type/0"),
            ("TYPE_MISMATCH", Some("payer.email"), "/fields/0/type/1/fields/0/type"),
        ]
    );
}

#[test]
fn avro_top_level_findings_say_no_field_is_concerned() {
    let found = only(
        CompatibilityLevel::Backward,
        avro(record("Payment", json!([]))),
        &avro(record("Settlement", json!([]))),
    );
    assert_eq!(found.rule, "NAME_MISMATCH");
    assert_eq!(found.field, None);
    assert!(
        found
            .message
            .contains("at the top level of the schema (no single field)"),
        "{}",
        found.message
    );

    let found = only(
        CompatibilityLevel::Backward,
        avro(json!("string")),
        &json_schema(json!({})),
    );
    assert_eq!(found.rule, "DIFFERENT_SCHEMA_TYPE");
    assert_eq!(found.field, None);
    assert!(found.message.contains("not one field"), "{}", found.message);
}

fn payment(second: Value) -> Value {
    record("Payment", json!([{"name": "id", "type": "string"}, second]))
}

#[test]
fn avro_renamed_field_is_explained_as_a_rename() {
    let old = payment(json!({"name": "amount", "type": "long"}));
    let new = payment(json!({"name": "amount_cents", "type": "long"}));
    let found = only(CompatibilityLevel::Backward, avro(old.clone()), &avro(new.clone()));
    // Still the same incompatibility: a reader field without a default.
    assert_eq!(found.rule, "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert_eq!(found.field.as_deref(), Some("amount_cents"));
    assert!(
        found
            .message
            .ends_with("It looks like field 'amount' renamed to 'amount_cents' (same position, readable type), and a rename needs an alias."),
        "{}",
        found.message
    );
    assert_eq!(
        found.hint,
        r#"Add "aliases": ["amount"] to the field 'amount_cents', so that it reads the old 'amount' values, or give 'amount_cents' a default."#
    );

    // Old consumers only know the old name; the alias cannot help them.
    let found = only(CompatibilityLevel::Forward, avro(old.clone()), &avro(new));
    assert_eq!(found.field.as_deref(), Some("amount"));
    assert!(
        found
            .message
            .contains("It looks like 'amount' was renamed to 'amount_cents'"),
        "{}",
        found.message
    );
    assert!(found.hint.starts_with("Keep the name 'amount'"), "{}", found.hint);

    // With the alias the rename is compatible backward.
    let aliased = payment(json!({"name": "amount_cents", "type": "long", "aliases": ["amount"]}));
    assert!(findings(CompatibilityLevel::Backward, avro(old), &avro(aliased)).is_empty());
}

#[test]
fn avro_field_replaced_by_another_type_is_not_called_a_rename() {
    let old = payment(json!({"name": "amount", "type": "string"}));
    let new = payment(json!({"name": "amount_cents", "type": "long"}));
    let found = only(CompatibilityLevel::Backward, avro(old), &avro(new));
    assert_eq!(found.rule, "READER_FIELD_MISSING_DEFAULT_VALUE");
    assert!(!found.message.contains("renamed"), "{}", found.message);
    assert!(
        found.hint.starts_with("Give 'amount_cents' a default"),
        "{}",
        found.hint
    );

    // The old field is still there under its name, elsewhere: an addition, not a rename.
    let old = payment(json!({"name": "amount", "type": "long"}));
    let new = record(
        "Payment",
        json!([{"name": "id", "type": "string"}, {"name": "cents", "type": "long"},
               {"name": "amount", "type": "long"}]),
    );
    let found = only(CompatibilityLevel::Backward, avro(old), &avro(new));
    assert!(!found.message.contains("renamed"), "{}", found.message);
}

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

#[test]
fn json_nested_objects_and_arrays_name_the_property_path() {
    let order = |city: Value, sku: Value| {
        object(json!({
            "customer": object(json!({"address": object(json!({"city": city}))})),
            "items": {"type": "array", "items": object(json!({"sku": sku}))}
        }))
    };
    let old = order(json!({"type": "string"}), json!({"type": "string"}));
    let new = order(json!({"type": "string", "maxLength": 40}), json!({"type": "integer"}));
    let found = findings(CompatibilityLevel::Backward, json_schema(old), &json_schema(new));
    let fields: Vec<Option<&str>> = found.iter().map(|f| f.field.as_deref()).collect();
    assert_eq!(
        fields,
        vec![Some("customer.address.city"), Some("items[].sku")],
        "{found:#?}"
    );
    assert_eq!(found[0].rule, "MAX_LENGTH_ADDED");
    assert_eq!(
        found[0].new_pointer,
        "/properties/customer/properties/address/properties/city"
    );
    assert!(
        found[0]
            .message
            .contains("at field 'customer.address.city', maxLength 40 added"),
        "{}",
        found[0].message
    );
    assert_eq!(found[1].rule, "TYPE_CHANGED");
}

#[test]
fn json_values_of_other_properties_and_definitions_by_reference() {
    let tags = |values: Value| json!({"type": "object", "additionalProperties": values});
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(tags(json!({"type": "string"}))),
        &json_schema(tags(json!({"type": "string", "minLength": 2}))),
    );
    assert_eq!(found.field.as_deref(), Some("{}"));

    // A definition reached through $ref is named by where it is used.
    let with_ref = |city: Value| {
        json!({"type": "object", "properties": {"billing": {"$ref": "#/definitions/Address"}},
               "definitions": {"Address": object(json!({"city": city}))}})
    };
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(with_ref(json!({"type": "string"}))),
        &json_schema(with_ref(json!({"type": "string", "maxLength": 3}))),
    );
    assert_eq!(found.field.as_deref(), Some("billing.city"));
    assert_eq!(found.new_pointer, "/definitions/Address/properties/city");
}

#[test]
fn json_property_level_findings_name_the_property_and_top_level_ones_say_none() {
    let closed = |properties: Value| json!({"type": "object", "properties": properties, "additionalProperties": false});
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(object(json!({"a": {"type": "string"}}))),
        &json_schema(json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})),
    );
    assert_eq!(found.rule, "REQUIRED_ATTRIBUTE_ADDED");
    assert_eq!(found.field.as_deref(), Some("a"));

    let found = only(
        CompatibilityLevel::Backward,
        json_schema(object(json!({}))),
        &json_schema(closed(json!({}))),
    );
    assert_eq!(found.rule, "ADDITIONAL_PROPERTIES_REMOVED");
    assert_eq!(found.field, None);
    assert!(
        found
            .message
            .contains("at the top level of the schema (no single field)"),
        "{}",
        found.message
    );
}

#[test]
fn json_renamed_property_suggests_keeping_the_old_one() {
    let closed = |name: &str| {
        json!({"type": "object", "properties": {"id": {"type": "string"}, name: {"type": "number"}},
               "additionalProperties": false})
    };
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(closed("amount")),
        &json_schema(closed("total")),
    );
    assert_eq!(found.rule, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
    assert_eq!(found.field.as_deref(), Some("amount"));
    assert!(
        found
            .message
            .ends_with("It looks like property 'amount' renamed to 'total' (same position, same type)."),
        "{}",
        found.message
    );
    assert!(
        found.hint.ends_with("keep the old property 'amount' (mark it deprecated) beside 'total', and have producers fill both until no consumer reads 'amount'."),
        "{}",
        found.hint
    );

    // In an open object the new property is what breaks (STRICT); its own advice stays, and
    // the rename advice follows it.
    let open = |name: &str| object(json!({"id": {"type": "string"}, name: {"type": "number"}}));
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(open("amount")),
        &json_schema(open("total")),
    );
    assert_eq!(found.rule, "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
    assert_eq!(found.field.as_deref(), Some("total"));
    assert!(
        found.hint.starts_with("The old schema accepted any value"),
        "{}",
        found.hint
    );
    assert!(found.hint.contains("keep the old property 'amount'"), "{}", found.hint);

    // Forward, the names keep their roles: 'amount' is still the old one.
    let found = only(
        CompatibilityLevel::Forward,
        json_schema(closed("amount")),
        &json_schema(closed("total")),
    );
    assert!(
        found
            .message
            .contains("It looks like property 'amount' renamed to 'total'"),
        "{}",
        found.message
    );

    // A property of another type in its place is no rename.
    let other = json!({"type": "object", "properties": {"id": {"type": "string"}, "total": {"type": "string"}},
                       "additionalProperties": false});
    let found = only(
        CompatibilityLevel::Backward,
        json_schema(closed("amount")),
        &json_schema(other),
    );
    assert!(!found.message.contains("renamed"), "{}", found.message);
}

fn change<'c>(changes: &'c [Change], kind: &str) -> &'c Change {
    changes
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {changes:#?}"))
}

#[test]
fn diff_entries_name_the_field() {
    let old = record(
        "Order",
        json!([
            {"name": "customer", "type": record("Customer", json!([{"name": "city", "type": "string"}]))},
            {"name": "items", "type": {"type": "array", "items": record("Line", json!([{"name": "sku", "type": "string"}]))}},
            {"name": "tags", "type": {"type": "map", "values": "string"}}
        ]),
    );
    let new = record(
        "Order",
        json!([
            {"name": "customer", "type": record("Customer", json!([{"name": "city", "type": "int"}]))},
            {"name": "items", "type": {"type": "array", "items": record("Line", json!([{"name": "code", "type": "string"}]))}},
            {"name": "tags", "type": {"type": "map", "values": "bytes"}}
        ]),
    );
    let changes = diff(&avro(old), &avro(new)).unwrap();
    let fields: Vec<(&str, Option<&str>)> = changes.iter().map(|c| (c.kind, c.field.as_deref())).collect();
    assert_eq!(
        fields,
        vec![
            ("TYPE_CHANGED", Some("customer.city")),
            ("FIELD_ADDED", Some("items[].code")),
            ("FIELD_REMOVED", Some("items[].sku")),
            ("TYPE_CHANGED", Some("tags{}")),
        ],
        "{changes:#?}"
    );
    let added = change(&changes, "FIELD_ADDED");
    assert_eq!(added.backward, Verdict::Breaking);
    assert!(
        added
            .description
            .contains(r#"it looks like sku renamed (same position, readable type): add "aliases": ["sku"] to it"#),
        "{}",
        added.description
    );

    // JSON Schema diffs name the property path too, and the top level as none.
    let old = object(json!({"items": {"type": "array", "items": object(json!({"sku": {"type": "string"}}))}}));
    let new = json!({"type": "object", "maxProperties": 3,
                     "properties": {"items": {"type": "array", "items": object(json!({"sku": {"type": "string", "pattern": "^A"}}))}}});
    let changes = diff(&json_schema(old), &json_schema(new)).unwrap();
    assert_eq!(change(&changes, "PATTERN_ADDED").field.as_deref(), Some("items[].sku"));
    assert_eq!(change(&changes, "MAX_PROPERTIES_ADDED").field, None);
}

#[test]
fn json_diff_names_a_rename_from_old_to_new_whichever_way_it_was_found() {
    let closed = |name: &str| {
        json!({"type": "object", "properties": {"id": {"type": "string"}, name: {"type": "number"}},
               "additionalProperties": false})
    };
    let changes = diff(&json_schema(closed("amount")), &json_schema(closed("total"))).unwrap();
    let renames: Vec<&Change> = changes.iter().filter(|c| c.description.contains("renamed")).collect();
    assert!(!renames.is_empty(), "{changes:#?}");
    for change in renames {
        assert!(
            change
                .description
                .contains("it looks like property amount renamed to total"),
            "{changes:#?}"
        );
    }
}
