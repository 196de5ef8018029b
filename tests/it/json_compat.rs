//! JSON Schema compatibility, as data. BACKWARD: the new schema accepts every document the
//! old one accepted. FORWARD: the old schema accepts every document the new one accepts.
//! Most rows come in pairs, one per direction, because most rules break one way only.

use herald::compat::json::{compare, is_compatible, DiffKind, Policy};
use herald::compat::{check_with, CheckOptions, CompatibilityLevel, PreviousVersion};
use herald::schema::{Reference, Schema, SchemaType};

use crate::support::{case, check, parse, run_table, Case};

/// Both directions of one change: `backward` and `forward` are the expected rule ids.
fn both(
    name: &'static str,
    old: &'static str,
    new: &'static str,
    backward: &[&'static str],
    forward: &[&'static str],
) -> [Case; 2] {
    [
        case(name, "BACKWARD", &[old], new, backward),
        case(name, "FORWARD", &[old], new, forward),
    ]
}

const OBJ_A: &str = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
const OBJ_A_B: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#;
const OBJ_A_B_REQUIRED: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"]}"#;
const OBJ_A_B_EMPTY: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{}}}"#;
const CLOSED_A: &str = r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#;
const CLOSED_A_B: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":false}"#;
const CLOSED_A_B_REQUIRED: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}"#;
const CLOSED_A_B_REQUIRED_DEFAULT: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string","default":"x"}},"required":["b"],"additionalProperties":false}"#;
const CLOSED_A_B_FALSE: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"},"b":false},"additionalProperties":false}"#;
const PARTIAL_A: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}"#;
const PARTIAL_A_B_STRING: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":{"type":"string"}}"#;
const PARTIAL_A_B_INT: &str = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":{"type":"string"}}"#;
const PATTERN_X: &str = r#"{"type":"object","patternProperties":{"^x_":{"type":"string"}}}"#;
const PATTERN_X_WITH_XA: &str =
    r#"{"type":"object","properties":{"x_a":{"type":"string"}},"patternProperties":{"^x_":{"type":"string"}}}"#;
const PATTERN_X_WITH_XA_INT: &str =
    r#"{"type":"object","properties":{"x_a":{"type":"integer"}},"patternProperties":{"^x_":{"type":"string"}}}"#;
const PATTERN_X_WITH_B: &str =
    r#"{"type":"object","properties":{"b":{"type":"integer"}},"patternProperties":{"^x_":{"type":"string"}}}"#;
const OBJ_A_REQUIRED: &str = r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#;
const OBJ_A_REQUIRED_DEFAULT: &str =
    r#"{"type":"object","properties":{"a":{"type":"string","default":"x"}},"required":["a"]}"#;
const OBJ_A_AP_STRING: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}"#;
const OBJ_A_AP_INT: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"integer"}}"#;
const OBJ: &str = r#"{"type":"object"}"#;
const OBJ_MAX_PROPS: &str = r#"{"type":"object","maxProperties":5}"#;
const OBJ_MIN_PROPS_1: &str = r#"{"type":"object","minProperties":1}"#;
const OBJ_MIN_PROPS_2: &str = r#"{"type":"object","minProperties":2}"#;
const DEP_B: &str = r#"{"type":"object","dependencies":{"a":["b"]}}"#;
const DEP_B_C: &str = r#"{"type":"object","dependencies":{"a":["b","c"]}}"#;
const DEP_C: &str = r#"{"type":"object","dependencies":{"a":["c"]}}"#;
const DEP_SCHEMA: &str = r#"{"type":"object","dependencies":{"a":{"required":["b"]}}}"#;
const OBJ_A_B_REQUIRED_DEFAULT: &str =
    r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string","default":"x"}},"required":["b"]}"#;
const DEP_SCHEMA_STRONGER: &str = r#"{"type":"object","dependencies":{"a":{"required":["b","c"]}}}"#;
const UNEVALUATED_STRING: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":{"type":"string"}}"#;
const WITH_ID_A: &str = r#"{"$id":"https://acme.example/a.json","type":"string"}"#;
const WITH_ID_B: &str = r#"{"$id":"https://acme.example/b.json","type":"string"}"#;
const NESTED_B_STRING: &str =
    r#"{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}}}}}"#;
const NESTED_B_INT: &str =
    r#"{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"integer"}}}}}"#;
const UNEVALUATED_FALSE: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false}"#;
const UNEVALUATED_ABSENT: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"a":{"type":"string"}}}"#;

const ARR: &str = r#"{"type":"array"}"#;
const ARR_STRING: &str = r#"{"type":"array","items":{"type":"string"}}"#;
const ARR_INT: &str = r#"{"type":"array","items":{"type":"integer"}}"#;
const ARR_MAX_ITEMS: &str = r#"{"type":"array","maxItems":3}"#;
const ARR_MIN_ITEMS_1: &str = r#"{"type":"array","minItems":1}"#;
const ARR_MIN_ITEMS_2: &str = r#"{"type":"array","minItems":2}"#;
const ARR_UNIQUE: &str = r#"{"type":"array","uniqueItems":true}"#;
const TUPLE_1: &str = r#"{"type":"array","items":[{"type":"string"}]}"#;
const TUPLE_2: &str = r#"{"type":"array","items":[{"type":"string"},{"type":"integer"}]}"#;
const TUPLE_2_EMPTY: &str = r#"{"type":"array","items":[{"type":"string"},{}]}"#;
const TUPLE_1_CLOSED: &str = r#"{"type":"array","items":[{"type":"string"}],"additionalItems":false}"#;
const TUPLE_2_CLOSED: &str =
    r#"{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}"#;
const TUPLE_1_PARTIAL: &str = r#"{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}"#;
const TUPLE_2_PARTIAL: &str =
    r#"{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":{"type":"integer"}}"#;
const TUPLE_2_PARTIAL_STRING: &str =
    r#"{"type":"array","items":[{"type":"string"},{"type":"string"}],"additionalItems":{"type":"integer"}}"#;
const TUPLE_1_PARTIAL_STR: &str = r#"{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"string"}}"#;
const TUPLE_WITH_FALSE_CLOSED: &str = r#"{"type":"array","items":[{"type":"string"},false],"additionalItems":false}"#;
const PREFIX_1: &str =
    r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}]}"#;
const PREFIX_1_UNEVALUATED_FALSE: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}],"unevaluatedItems":false}"#;
const PREFIX_1_UNEVALUATED_INT: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}],"unevaluatedItems":{"type":"integer"}}"#;
const PREFIX_1_CLOSED: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}],"items":false}"#;
const PREFIX_2_CLOSED: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}"#;
const CONTAINS: &str =
    r#"{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"array","contains":{"type":"string"}}"#;
const CONTAINS_MAX: &str = r#"{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"array","contains":{"type":"string"},"maxContains":2}"#;

const STR: &str = r#"{"type":"string"}"#;
const STR_MAX_10: &str = r#"{"type":"string","maxLength":10}"#;
const STR_MAX_20: &str = r#"{"type":"string","maxLength":20}"#;
const STR_MIN_1: &str = r#"{"type":"string","minLength":1}"#;
const STR_MIN_2: &str = r#"{"type":"string","minLength":2}"#;
const STR_PATTERN_A: &str = r#"{"type":"string","pattern":"^a"}"#;
const STR_PATTERN_AB: &str = r#"{"type":"string","pattern":"^[ab]"}"#;
const STR_EMAIL: &str = r#"{"type":"string","format":"email"}"#;
const STR_DOCUMENTED: &str = r#"{"type":"string","title":"Name","description":"The customer's name","default":"n/a"}"#;
const NUM: &str = r#"{"type":"number"}"#;
const INT: &str = r#"{"type":"integer"}"#;
const NUM_MAX_10: &str = r#"{"type":"number","maximum":10}"#;
const NUM_MAX_20: &str = r#"{"type":"number","maximum":20}"#;
const NUM_MIN_0: &str = r#"{"type":"number","minimum":0}"#;
const NUM_MIN_5: &str = r#"{"type":"number","minimum":5}"#;
const NUM_XMAX_10: &str = r#"{"type":"number","exclusiveMaximum":10}"#;
const NUM_XMIN_0: &str = r#"{"type":"number","exclusiveMinimum":0}"#;
const NUM_XMIN_1: &str = r#"{"type":"number","exclusiveMinimum":1}"#;
const D4_MAX_10: &str = r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":10}"#;
const D4_XMAX_10: &str =
    r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":10,"exclusiveMaximum":true}"#;
const NUM_MULT_2: &str = r#"{"type":"number","multipleOf":2}"#;
const NUM_MULT_3: &str = r#"{"type":"number","multipleOf":3}"#;
const NUM_MULT_4: &str = r#"{"type":"number","multipleOf":4}"#;
const STR_OR_NULL: &str = r#"{"type":["string","null"]}"#;
const ANY: &str = r#"{}"#;
const TRUE: &str = r#"true"#;
const FALSE: &str = r#"false"#;

const ENUM_AB: &str = r#"{"enum":["a","b"]}"#;
const ENUM_ABC: &str = r#"{"enum":["a","b","c"]}"#;
const ENUM_AC: &str = r#"{"enum":["a","c"]}"#;
const ENUM_NUMS: &str = r#"{"enum":[1,2]}"#;
const ENUM_NUMS_FLOAT: &str = r#"{"enum":[1.0,2]}"#;
const CONST_A: &str = r#"{"const":"a"}"#;
const CONST_B: &str = r#"{"const":"b"}"#;
const STR_ENUM: &str = r#"{"type":"string","enum":["a","b"]}"#;

const ANY_OF_SI: &str = r#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#;
const ANY_OF_IS: &str = r#"{"anyOf":[{"type":"integer"},{"type":"string"}]}"#;
const ANY_OF_SIN: &str = r#"{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}"#;
const ANY_OF_SB: &str = r#"{"anyOf":[{"type":"string"},{"type":"boolean"}]}"#;
const ANY_OF_SI_MAX: &str = r#"{"anyOf":[{"type":"string"},{"type":"integer","maximum":5}]}"#;
const ONE_OF_SI: &str = r#"{"oneOf":[{"type":"string"},{"type":"integer"}]}"#;
const ALL_OF_2: &str = r#"{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"required":["a"]}]}"#;
const ALL_OF_3: &str =
    r#"{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"required":["a"]},{"maxProperties":3}]}"#;
const ONE_OF_SINGLE: &str = r#"{"oneOf":[{"type":"string"}]}"#;
const NOT_STRING: &str = r#"{"not":{"type":"string"}}"#;
const NOT_STRING_OR_INT: &str = r#"{"not":{"type":["string","integer"]}}"#;

const INLINE: &str = r#"{"type":"object","properties":{"a":{"type":"string","maxLength":5}}}"#;
const VIA_REF: &str = r##"{"type":"object","definitions":{"short":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/definitions/short"}}}"##;
const VIA_DEFS: &str = r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"short":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/$defs/short"}}}"##;
const TREE: &str =
    r##"{"type":"object","properties":{"v":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#"}}}}"##;
const TREE_INT: &str =
    r##"{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#"}}}}"##;
const TREE_VIA_DEF: &str = r##"{"$ref":"#/definitions/node","definitions":{"node":{"type":"object","properties":{"v":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#/definitions/node"}}}}}}"##;

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |pair: [Case; 2]| cases.extend(pair);
    // Annotations never break.
    add(both("annotations added", STR, STR_DOCUMENTED, &[], &[]));
    add(both("format is not compared", STR, STR_EMAIL, &[], &[]));
    // Strings.
    add(both("maxLength added", STR, STR_MAX_10, &["MAX_LENGTH_ADDED"], &[]));
    add(both(
        "maxLength increased",
        STR_MAX_10,
        STR_MAX_20,
        &[],
        &["MAX_LENGTH_DECREASED"],
    ));
    add(both("minLength added", STR, STR_MIN_1, &["MIN_LENGTH_ADDED"], &[]));
    add(both(
        "minLength increased",
        STR_MIN_1,
        STR_MIN_2,
        &["MIN_LENGTH_INCREASED"],
        &[],
    ));
    add(both("pattern added", STR, STR_PATTERN_A, &["PATTERN_ADDED"], &[]));
    add(both(
        "pattern changed, even when wider",
        STR_PATTERN_A,
        STR_PATTERN_AB,
        &["PATTERN_CHANGED"],
        &["PATTERN_CHANGED"],
    ));
    // Numbers.
    add(both("maximum added", NUM, NUM_MAX_10, &["MAXIMUM_ADDED"], &[]));
    add(both(
        "maximum increased",
        NUM_MAX_10,
        NUM_MAX_20,
        &[],
        &["MAXIMUM_DECREASED"],
    ));
    add(both(
        "minimum increased",
        NUM_MIN_0,
        NUM_MIN_5,
        &["MINIMUM_INCREASED"],
        &[],
    ));
    add(both("minimum added", NUM, NUM_MIN_0, &["MINIMUM_ADDED"], &[]));
    add(both(
        "exclusiveMaximum added",
        NUM,
        NUM_XMAX_10,
        &["EXCLUSIVE_MAXIMUM_ADDED"],
        &[],
    ));
    add(both(
        "exclusiveMinimum increased",
        NUM_XMIN_0,
        NUM_XMIN_1,
        &["EXCLUSIVE_MINIMUM_INCREASED"],
        &[],
    ));
    add(both(
        "draft-04 exclusive flag",
        D4_MAX_10,
        D4_XMAX_10,
        &["EXCLUSIVE_MAXIMUM_ADDED"],
        &["MAXIMUM_ADDED"],
    ));
    add(both("multipleOf added", NUM, NUM_MULT_2, &["MULTIPLE_OF_ADDED"], &[]));
    add(both(
        "multipleOf expanded",
        NUM_MULT_2,
        NUM_MULT_4,
        &["MULTIPLE_OF_EXPANDED"],
        &[],
    ));
    add(both(
        "multipleOf changed",
        NUM_MULT_2,
        NUM_MULT_3,
        &["MULTIPLE_OF_CHANGED"],
        &["MULTIPLE_OF_CHANGED"],
    ));
    add(both("integer widened to number", INT, NUM, &[], &["TYPE_NARROWED"]));
    // Types.
    add(both(
        "string to integer",
        STR,
        INT,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    add(both("string made nullable", STR, STR_OR_NULL, &[], &["TYPE_CHANGED"]));
    add(both("anything narrowed to string", ANY, STR, &["TYPE_CHANGED"], &[]));
    add(both("false to string", FALSE, STR, &[], &["TYPE_CHANGED"]));
    add(both("true and {} are the same", TRUE, ANY, &[], &[]));
    // Enums and const.
    add(both(
        "enum value added",
        ENUM_AB,
        ENUM_ABC,
        &[],
        &["ENUM_ARRAY_NARROWED"],
    ));
    add(both(
        "enum value replaced",
        ENUM_AB,
        ENUM_AC,
        &["ENUM_ARRAY_CHANGED"],
        &["ENUM_ARRAY_CHANGED"],
    ));
    add(both(
        "enum numbers compare by value",
        ENUM_NUMS,
        ENUM_NUMS_FLOAT,
        &[],
        &[],
    ));
    add(both(
        "const changed",
        CONST_A,
        CONST_B,
        &["ENUM_ARRAY_CHANGED"],
        &["ENUM_ARRAY_CHANGED"],
    ));
    add(both(
        "enum restriction dropped from a string",
        STR_ENUM,
        STR,
        &[],
        &["TYPE_CHANGED"],
    ));
    // Objects: open content model.
    add(both(
        "optional property added to open model",
        OBJ_A,
        OBJ_A_B,
        &["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
        &[],
    ));
    add(both(
        "required property added to open model",
        OBJ_A,
        OBJ_A_B_REQUIRED,
        &["REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
        &[],
    ));
    add(both(
        "empty-schema property added to open model",
        OBJ_A,
        OBJ_A_B_EMPTY,
        &[],
        &[],
    ));
    add(both(
        "property removed from open model",
        OBJ_A_B,
        OBJ_A,
        &[],
        &["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
    ));
    // Objects: closed content model.
    add(both(
        "optional property added to closed model",
        CLOSED_A,
        CLOSED_A_B,
        &[],
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    add(both(
        "required property added to closed model",
        CLOSED_A,
        CLOSED_A_B_REQUIRED,
        &["REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"],
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    add(both(
        "required property with default added to closed model",
        CLOSED_A,
        CLOSED_A_B_REQUIRED_DEFAULT,
        &[],
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    add(both(
        "property removed from closed model",
        CLOSED_A_B,
        CLOSED_A,
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
        &[],
    ));
    add(both(
        "false property removed from closed model",
        CLOSED_A_B_FALSE,
        CLOSED_A,
        &[],
        &[],
    ));
    add(both(
        "closing an open model",
        OBJ_A,
        CLOSED_A,
        &["ADDITIONAL_PROPERTIES_REMOVED"],
        &[],
    ));
    // Objects: partially open content model.
    add(both(
        "removed property covered by additionalProperties",
        PARTIAL_A_B_STRING,
        PARTIAL_A,
        &[],
        &[],
    ));
    add(both(
        "removed property not covered",
        PARTIAL_A_B_INT,
        PARTIAL_A,
        &["PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
        &["PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
    ));
    add(both(
        "added property covered by patternProperties",
        PATTERN_X,
        PATTERN_X_WITH_XA,
        &[],
        &[],
    ));
    add(both(
        "added property not covered by patternProperties",
        PATTERN_X,
        PATTERN_X_WITH_XA_INT,
        &["PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
        &["PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
    ));
    add(both(
        "unmatched name next to patternProperties (Confluent quirk)",
        PATTERN_X,
        PATTERN_X_WITH_B,
        &[],
        &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    add(both(
        "additionalProperties schema added",
        OBJ_A,
        OBJ_A_AP_STRING,
        &["ADDITIONAL_PROPERTIES_NARROWED"],
        &[],
    ));
    add(both(
        "additionalProperties schema changed",
        OBJ_A_AP_STRING,
        OBJ_A_AP_INT,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    add(both(
        "unevaluatedProperties false added",
        UNEVALUATED_ABSENT,
        UNEVALUATED_FALSE,
        &["UNEVALUATED_PROPERTIES_REMOVED"],
        &[],
    ));
    // Objects: required, sizes, dependencies, nesting.
    add(both(
        "existing property made required",
        OBJ_A,
        OBJ_A_REQUIRED,
        &["REQUIRED_ATTRIBUTE_ADDED"],
        &[],
    ));
    add(both(
        "existing property made required with default",
        OBJ_A,
        OBJ_A_REQUIRED_DEFAULT,
        &[],
        &[],
    ));
    add(both(
        "maxProperties added",
        OBJ,
        OBJ_MAX_PROPS,
        &["MAX_PROPERTIES_ADDED"],
        &[],
    ));
    add(both(
        "minProperties increased",
        OBJ_MIN_PROPS_1,
        OBJ_MIN_PROPS_2,
        &["MIN_PROPERTIES_INCREASED"],
        &[],
    ));
    add(both("dependency added", OBJ, DEP_B, &["DEPENDENCY_ARRAY_ADDED"], &[]));
    add(both(
        "dependency extended",
        DEP_B,
        DEP_B_C,
        &["DEPENDENCY_ARRAY_EXTENDED"],
        &[],
    ));
    add(both(
        "dependency changed",
        DEP_B,
        DEP_C,
        &["DEPENDENCY_ARRAY_CHANGED"],
        &["DEPENDENCY_ARRAY_CHANGED"],
    ));
    add(both(
        "schema dependency added",
        OBJ,
        DEP_SCHEMA,
        &["DEPENDENCY_SCHEMA_ADDED"],
        &[],
    ));
    add(both(
        "required property with default added to open model",
        OBJ_A,
        OBJ_A_B_REQUIRED_DEFAULT,
        &["REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"],
        &[],
    ));
    add(both(
        "schema dependency strengthened",
        DEP_SCHEMA,
        DEP_SCHEMA_STRONGER,
        &["REQUIRED_ATTRIBUTE_ADDED"],
        &[],
    ));
    add(both(
        "unevaluatedProperties schema added",
        UNEVALUATED_ABSENT,
        UNEVALUATED_STRING,
        &["UNEVALUATED_PROPERTIES_NARROWED"],
        &[],
    ));
    add(both("$id changed", WITH_ID_A, WITH_ID_B, &[], &[]));
    add(both(
        "nested property type changed",
        NESTED_B_STRING,
        NESTED_B_INT,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    // Arrays.
    add(both("items schema added", ARR, ARR_STRING, &["SCHEMA_ADDED"], &[]));
    add(both(
        "items type changed",
        ARR_STRING,
        ARR_INT,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    add(both("maxItems added", ARR, ARR_MAX_ITEMS, &["MAX_ITEMS_ADDED"], &[]));
    add(both(
        "minItems increased",
        ARR_MIN_ITEMS_1,
        ARR_MIN_ITEMS_2,
        &["MIN_ITEMS_INCREASED"],
        &[],
    ));
    add(both("uniqueItems added", ARR, ARR_UNIQUE, &["UNIQUE_ITEMS_ADDED"], &[]));
    add(both(
        "maxContains added",
        CONTAINS,
        CONTAINS_MAX,
        &["MAX_CONTAINS_ADDED"],
        &[],
    ));
    add(both(
        "tuple item added to open tuple",
        TUPLE_1,
        TUPLE_2,
        &["ITEM_ADDED_TO_OPEN_CONTENT_MODEL"],
        &[],
    ));
    add(both(
        "empty tuple item added to open tuple",
        TUPLE_1,
        TUPLE_2_EMPTY,
        &[],
        &[],
    ));
    add(both(
        "tuple item added to closed tuple",
        TUPLE_1_CLOSED,
        TUPLE_2_CLOSED,
        &[],
        &["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    add(both(
        "tuple closed",
        TUPLE_1,
        TUPLE_1_CLOSED,
        &["ADDITIONAL_ITEMS_REMOVED"],
        &[],
    ));
    add(both(
        "tuple item added, covered by additionalItems",
        TUPLE_1_PARTIAL,
        TUPLE_2_PARTIAL,
        &[],
        &[],
    ));
    add(both(
        "tuple item added, not covered",
        TUPLE_1_PARTIAL,
        TUPLE_2_PARTIAL_STRING,
        &["ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
        &["ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"],
    ));
    add(both(
        "additionalItems schema added",
        TUPLE_1,
        TUPLE_1_PARTIAL,
        &["ADDITIONAL_ITEMS_NARROWED"],
        &[],
    ));
    add(both(
        "additionalItems schema changed",
        TUPLE_1_PARTIAL,
        TUPLE_1_PARTIAL_STR,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    add(both(
        "false tuple item removed from closed tuple",
        TUPLE_WITH_FALSE_CLOSED,
        TUPLE_1_CLOSED,
        &[],
        &[],
    ));
    add(both(
        "unevaluatedItems false added",
        PREFIX_1,
        PREFIX_1_UNEVALUATED_FALSE,
        &["UNEVALUATED_ITEMS_REMOVED"],
        &[],
    ));
    add(both(
        "unevaluatedItems schema added",
        PREFIX_1,
        PREFIX_1_UNEVALUATED_INT,
        &["UNEVALUATED_ITEMS_NARROWED"],
        &[],
    ));
    add(both(
        "2020-12 prefixItems added to closed tuple",
        PREFIX_1_CLOSED,
        PREFIX_2_CLOSED,
        &[],
        &["ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"],
    ));
    // Combinators, order-free.
    add(both(
        "anyOf gains an alternative",
        ANY_OF_SI,
        ANY_OF_SIN,
        &[],
        &["SUM_TYPE_NARROWED"],
    ));
    add(both("anyOf reordered", ANY_OF_SI, ANY_OF_IS, &[], &[]));
    add(both(
        "duplicate anyOf members collapse",
        r#"{"anyOf":[{"type":"string"},{"type":"string"}]}"#,
        r#"{"anyOf":[{"type":"string"}]}"#,
        &[],
        &[],
    ));
    add(both(
        "oneOf to anyOf",
        ONE_OF_SI,
        ANY_OF_SI,
        &[],
        &["COMBINED_TYPE_CHANGED"],
    ));
    add(both(
        "allOf gains a part",
        ALL_OF_2,
        ALL_OF_3,
        &["PRODUCT_TYPE_EXTENDED"],
        &[],
    ));
    add(both(
        "anyOf alternative replaced",
        ANY_OF_SI,
        ANY_OF_SB,
        &["COMBINED_TYPE_SUBSCHEMAS_CHANGED"],
        &["COMBINED_TYPE_SUBSCHEMAS_CHANGED"],
    ));
    add(both(
        "anyOf alternative narrowed",
        ANY_OF_SI,
        ANY_OF_SI_MAX,
        &["COMBINED_TYPE_SUBSCHEMAS_CHANGED"],
        &[],
    ));
    add(both("single oneOf unwrapped", ONE_OF_SINGLE, STR, &[], &[]));
    add(both(
        "type becomes an alternative",
        STR,
        ANY_OF_SI,
        &[],
        &["TYPE_CHANGED"],
    ));
    add(both(
        "not excludes more",
        NOT_STRING,
        NOT_STRING_OR_INT,
        &["NOT_TYPE_EXTENDED"],
        &[],
    ));
    // $ref.
    add(both("inline definition moved behind $ref", INLINE, VIA_REF, &[], &[]));
    add(both("2020-12 $defs", INLINE, VIA_DEFS, &[], &[]));
    add(both("recursive schema unchanged", TREE, TREE_VIA_DEF, &[], &[]));
    add(both(
        "recursive schema changes a leaf",
        TREE,
        TREE_INT,
        &["TYPE_CHANGED"],
        &["TYPE_CHANGED"],
    ));
    // Transitive levels: Confluent does not see a pattern narrowing the open model, so
    // each step passes while the whole history does not.
    cases.push(case(
        "pattern quirk, latest only",
        "BACKWARD",
        &[OBJ, PATTERN_X],
        PATTERN_X_WITH_B,
        &[],
    ));
    cases.push(case(
        "pattern quirk, whole history",
        "BACKWARD_TRANSITIVE",
        &[OBJ, PATTERN_X],
        PATTERN_X_WITH_B,
        &["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
    ));
    cases.push(case(
        "pattern quirk forward, latest only",
        "FORWARD",
        &[PATTERN_X_WITH_B, PATTERN_X],
        OBJ,
        &[],
    ));
    cases.push(case(
        "pattern quirk forward, whole history",
        "FORWARD_TRANSITIVE",
        &[PATTERN_X_WITH_B, PATTERN_X],
        OBJ,
        &["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
    ));
    cases.push(case(
        "full transitive",
        "FULL_TRANSITIVE",
        &[PATTERN_X_WITH_B, PATTERN_X],
        OBJ,
        &["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
    ));
    cases.push(case(
        "full, latest only",
        "FULL",
        &[STR, STR_MAX_20],
        STR_MAX_10,
        &["MAX_LENGTH_DECREASED"],
    ));
    cases.push(case("NONE", "NONE", &[STR], INT, &[]));
    cases
}

#[test]
fn rules_table() {
    let rendering = run_table(SchemaType::Json, &cases());
    insta::assert_snapshot!("json_rules_table", rendering);
}

/// Each numeric limit, four ways, both directions: the expected verdicts written from the
/// rule "tightening breaks", independently of the checker.
/// Each numeric limit: (keyword, base type, is an upper bound).
const LIMITS: [(&str, &str, bool); 12] = [
    ("maxLength", "string", true),
    ("minLength", "string", false),
    ("maximum", "number", true),
    ("minimum", "number", false),
    ("exclusiveMaximum", "number", true),
    ("exclusiveMinimum", "number", false),
    ("maxItems", "array", true),
    ("minItems", "array", false),
    ("maxProperties", "object", true),
    ("minProperties", "object", false),
    ("maxContains", "array", true),
    ("minContains", "array", false),
];

fn limit_schema(keyword: &str, base: &str, value: Option<u32>) -> String {
    let mut s = format!(r#"{{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"{base}""#);
    if keyword.ends_with("Contains") {
        s.push_str(r#","contains":{"type":"string"}"#);
    }
    if let Some(v) = value {
        s.push_str(&format!(r#","{keyword}":{v}"#));
    }
    s.push('}');
    s
}

/// (old, new, suffix, whether the change tightens the limit)
const LIMIT_CHANGES: [(Option<u32>, Option<u32>, &str); 4] = [
    (None, Some(5), "ADDED"),
    (Some(5), None, "REMOVED"),
    (Some(5), Some(8), "INCREASED"),
    (Some(8), Some(5), "DECREASED"),
];

/// Each numeric limit, four ways, both directions: the expected verdicts written from the
/// rule "tightening breaks", independently of the checker.
#[test]
fn limit_matrix() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (keyword, base, upper) in LIMITS {
        let upper_id = keyword_id(keyword);
        for (old, new, suffix) in LIMIT_CHANGES {
            let tightens = match suffix {
                "ADDED" => true,
                "REMOVED" => false,
                "INCREASED" => !upper,
                _ => upper,
            };
            let (old, new) = (limit_schema(keyword, base, old), limit_schema(keyword, base, new));
            for (level, breaks) in [("BACKWARD", tightens), ("FORWARD", !tightens)] {
                count += 1;
                let report = check(SchemaType::Json, level, &[&old], &new);
                let rules: Vec<&str> = report.incompatibilities.iter().map(|i| i.rule).collect();
                let expected: Vec<String> = if !breaks {
                    vec![]
                } else if level == "BACKWARD" {
                    vec![format!("{upper_id}_{suffix}")]
                } else {
                    // Forward reads the change backwards: REMOVED is ADDED, and so on.
                    let mirrored = match suffix {
                        "ADDED" => "REMOVED",
                        "REMOVED" => "ADDED",
                        "INCREASED" => "DECREASED",
                        _ => "INCREASED",
                    };
                    vec![format!("{upper_id}_{mirrored}")]
                };
                if rules != expected {
                    failures.push(format!(
                        "{keyword} {suffix} {level}: expected {expected:?}, got {rules:?}"
                    ));
                }
            }
        }
    }
    assert_eq!(count, 96);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every kind of difference Confluent emits is produced by at least one case above, in one
/// direction or the other.
#[test]
fn every_difference_kind_is_exercised() {
    let mut pairs: Vec<(String, String)> = cases()
        .iter()
        .filter(|c| c.previous.len() == 1)
        .map(|c| (c.previous[0].to_string(), c.new.to_string()))
        .collect();
    for (keyword, base, _) in LIMITS {
        for (old, new, _) in LIMIT_CHANGES {
            pairs.push((limit_schema(keyword, base, old), limit_schema(keyword, base, new)));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (old, new) in &pairs {
        let (Schema::Json(old), Schema::Json(new)) = (parse(SchemaType::Json, old), parse(SchemaType::Json, new))
        else {
            unreachable!()
        };
        for policy in [Policy::Strict, Policy::Lenient] {
            seen.extend(compare(&old, &new, policy).unwrap().iter().map(|d| d.kind));
            seen.extend(compare(&new, &old, policy).unwrap().iter().map(|d| d.kind));
        }
    }
    let missing: Vec<&str> = DiffKind::ALL
        .iter()
        .filter(|k| !seen.contains(k))
        .map(|k| k.id())
        .collect();
    assert!(missing.is_empty(), "no case produces: {missing:?}");
}

fn keyword_id(keyword: &str) -> String {
    let mut out = String::new();
    for c in keyword.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn every_difference_kind_has_a_stable_id_and_verdict() {
    assert_eq!(DiffKind::ALL.len(), 129);
    let strict_ok = DiffKind::ALL.iter().filter(|k| k.is_compatible(Policy::Strict)).count();
    let lenient_ok = DiffKind::ALL
        .iter()
        .filter(|k| k.is_compatible(Policy::Lenient))
        .count();
    // Confluent's lists: 65 compatible kinds under STRICT, 74 under LENIENT. (The deprecated
    // PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL and the reserved-field kinds, which belong to
    // registry-side field validation, are never emitted by the comparison.)
    assert_eq!(strict_ok, 65);
    assert_eq!(lenient_ok, 74);
    assert_eq!(
        DiffKind::OptionalPropertyAddedToOpenContentModel.id(),
        "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
    );
}

#[test]
fn lenient_policy_accepts_open_model_narrowing() {
    let old = parse(SchemaType::Json, OBJ_A);
    let new = parse(SchemaType::Json, OBJ_A_B);
    let previous = [PreviousVersion {
        version: 1,
        schema: &old,
    }];
    let strict = check_with(
        CompatibilityLevel::Backward,
        &previous,
        &new,
        CheckOptions {
            policy: Policy::Strict,
            ..CheckOptions::default()
        },
    )
    .unwrap();
    let lenient = check_with(
        CompatibilityLevel::Backward,
        &previous,
        &new,
        CheckOptions {
            policy: Policy::Lenient,
            ..CheckOptions::default()
        },
    )
    .unwrap();
    assert!(!strict.is_compatible());
    assert!(lenient.is_compatible());
    let closed = parse(SchemaType::Json, CLOSED_A);
    let lenient_closing = check_with(
        CompatibilityLevel::Backward,
        &[PreviousVersion {
            version: 1,
            schema: &parse(SchemaType::Json, OBJ_A),
        }],
        &closed,
        CheckOptions {
            policy: Policy::Lenient,
            ..CheckOptions::default()
        },
    )
    .unwrap();
    assert!(lenient_closing.is_compatible());
}

#[test]
fn pointers_and_messages_name_the_place() {
    let report = check(SchemaType::Json, "BACKWARD", &[CLOSED_A_B], CLOSED_A);
    let inc = &report.incompatibilities[0];
    assert_eq!(inc.rule, "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
    assert_eq!(inc.old_pointer, "/properties/b");
    assert_eq!(inc.new_pointer, "");
    assert_eq!(inc.field.as_deref(), Some("b"));
    assert_eq!(
        inc.message,
        "Consumers using the new schema may reject events that version 1 accepted: at field 'b', property \"b\" removed from an object that allows no other properties."
    );
    assert!(
        inc.confluent
            .starts_with("{errorType:'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL'"),
        "{}",
        inc.confluent
    );
    assert!(inc.hint.contains("Keep the property"), "{}", inc.hint);

    let report = check(SchemaType::Json, "BACKWARD", &[NESTED_B_STRING], NESTED_B_INT);
    assert_eq!(report.incompatibilities[0].new_pointer, "/properties/a/properties/b");
    assert_eq!(report.incompatibilities[0].old_pointer, "/properties/a/properties/b");
}

#[test]
fn every_incompatibility_is_reported_not_the_first() {
    let old = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"string"}},"additionalProperties":false}"#;
    let new = r#"{"type":"object","properties":{"a":{"type":"string","maxLength":3},"b":{"type":"string"}},"required":["a"],"additionalProperties":false}"#;
    let report = check(SchemaType::Json, "BACKWARD", &[old], new);
    let rules: Vec<&str> = report.incompatibilities.iter().map(|i| i.rule).collect();
    assert_eq!(
        rules,
        vec![
            "REQUIRED_ATTRIBUTE_ADDED",
            "MAX_LENGTH_ADDED",
            "TYPE_CHANGED",
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
        ]
    );
}

#[test]
fn references_to_other_documents() {
    let address_v1 =
        r#"{"$id":"https://acme.example/address.json","type":"object","properties":{"city":{"type":"string"}}}"#;
    let address_v2 =
        r#"{"$id":"https://acme.example/address.json","type":"object","properties":{"city":{"type":"integer"}}}"#;
    let order = r#"{"type":"object","properties":{"ship_to":{"$ref":"address.json"}}}"#;
    let old = Schema::parse(
        SchemaType::Json,
        order,
        &[Reference {
            name: "address.json",
            schema: address_v1,
        }],
    )
    .expect("parses");
    let new = Schema::parse(
        SchemaType::Json,
        order,
        &[Reference {
            name: "address.json",
            schema: address_v2,
        }],
    )
    .expect("parses");
    let (Schema::Json(old), Schema::Json(new)) = (&old, &new) else {
        unreachable!()
    };
    let differences = compare(old, new, Policy::Strict).unwrap();
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert_eq!(differences[0].kind, DiffKind::TypeChanged);
    assert_eq!(differences[0].update_pointer, "address.json#/properties/city");
    // Resolved by $id too, with a fragment.
    let by_id = r#"{"properties":{"city":{"$ref":"https://acme.example/address.json#/properties/city"}}}"#;
    assert!(Schema::parse(
        SchemaType::Json,
        by_id,
        &[Reference {
            name: "addr",
            schema: address_v1
        }]
    )
    .is_ok());
}

#[test]
fn long_ref_chains_do_not_overflow_the_stack() {
    // 3,000 definitions, each pointing at the next: deep recursion through $ref rather
    // than JSON nesting.
    let build = |last_type: &str| {
        let mut defs = Vec::new();
        for i in 0..3000 {
            defs.push(format!(
                r##""d{i}":{{"type":"object","properties":{{"next":{{"$ref":"#/definitions/d{}"}}}}}}"##,
                i + 1
            ));
        }
        defs.push(format!(r#""d3000":{{"type":"{last_type}"}}"#));
        format!(
            r##"{{"$ref":"#/definitions/d0","definitions":{{{}}}}}"##,
            defs.join(",")
        )
    };
    let (old, new) = (build("string"), build("integer"));
    let (Schema::Json(a), Schema::Json(b)) = (parse(SchemaType::Json, &old), parse(SchemaType::Json, &new)) else {
        unreachable!()
    };
    assert!(!is_compatible(&a, &b, Policy::Strict).unwrap());
    assert!(is_compatible(&a, &a, Policy::Strict).unwrap());
}
