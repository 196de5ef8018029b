//! Turns format-specific findings into [`Incompatibility`] records: who breaks, why, and how
//! to fix it, plus the Confluent-style message string the REST API returns.

use super::avro::{AvroIncompatibility, AvroRule};
use super::json::{DiffKind, Difference};
use super::protobuf::{DiffKind as ProtoKind, Difference as ProtoDifference};
use super::{Direction, Incompatibility};
use crate::schema::field_path;
use crate::schema::SchemaType;

/// The two parties of a direction, in words.
struct Parties {
    /// Who reads (the consumer): "consumers using the new schema".
    reader: String,
    /// What they read: "events written with version 3".
    written: String,
    /// Confluent's words for the reader and writer schema: "new" / "old".
    reader_word: &'static str,
    writer_word: &'static str,
}

fn parties(direction: Direction, version: u32) -> Parties {
    match direction {
        Direction::Backward => Parties {
            reader: "Consumers using the new schema".into(),
            written: format!("events written with version {version}"),
            reader_word: "new",
            writer_word: "old",
        },
        Direction::Forward => Parties {
            reader: format!("Consumers still on version {version}"),
            written: "events written with the new schema".into(),
            reader_word: "old",
            writer_word: "new",
        },
    }
}

pub(super) fn avro(found: &AvroIncompatibility, direction: Direction, version: u32) -> Incompatibility {
    let p = parties(direction, version);
    let (old_pointer, new_pointer) = match direction {
        Direction::Backward => (found.writer_pointer.clone(), found.reader_pointer.clone()),
        Direction::Forward => (found.reader_pointer.clone(), found.writer_pointer.clone()),
    };
    let location = &found.location;
    let info = &found.message;
    let at = field_path::describe(found.path.as_deref());
    let (message, hint, description) = match found.rule {
        AvroRule::ReaderFieldMissingDefaultValue => {
            let field = found.field.as_deref().unwrap_or(info);
            let (message, hint) = missing_field(found, &p, direction, version, field, &at);
            let description = format!(
                "The field '{field}' at path '{location}' in the {} schema has no default value and is missing in the {} schema",
                p.reader_word, p.writer_word
            );
            (message, hint, description)
        }
        AvroRule::TypeMismatch => {
            let message = format!(
                "{} cannot read {}: at {at}, {}.",
                p.reader,
                p.written,
                lower_types(info),
            );
            let hint = "Keep the old type, or change it only along Avro's promotions (int → long → float → double, string ↔ bytes). For any other change add a new field and deprecate the old one.".to_string();
            let description = format!(
                "The type (path '{location}') of a field in the {} schema does not match with the {} schema",
                p.reader_word, p.writer_word
            );
            (message, hint, description)
        }
        AvroRule::NameMismatch => {
            let old_name = info.trim_start_matches("expected: ");
            let message = format!(
                "{} cannot read {}: the named type at {at} is no longer called {old_name}.",
                p.reader, p.written,
            );
            let hint = match direction {
                Direction::Backward => format!("Add \"{old_name}\" to the renamed type's \"aliases\", or keep the old name."),
                Direction::Forward => "Keep the old name: aliases only help the reader that declares them, and older consumers do not know the new name.".to_string(),
            };
            let description = format!("The name of the schema has changed (path '{location}')");
            (message, hint, description)
        }
        AvroRule::FixedSizeMismatch => {
            let message = format!(
                "{} cannot read {}: the fixed type at {at} changed size ({info}).",
                p.reader, p.written,
            );
            let hint =
                "A fixed type's size cannot change. Add a new field with the new size and deprecate the old one."
                    .to_string();
            let description = format!(
                "The size of FIXED type field at path '{location}' in the {} schema does not match with the {} schema",
                p.reader_word, p.writer_word
            );
            (message, hint, description)
        }
        AvroRule::MissingEnumSymbols => {
            let message = format!(
                "{} cannot read {}: they may carry the enum symbols {info}, which the reader's enum at {at} does not know.",
                p.reader, p.written,
            );
            let hint = match direction {
                Direction::Backward => "Keep the removed symbols, or give the enum a \"default\" symbol that unknown symbols map to.".to_string(),
                Direction::Forward => format!(
                    "Version {version}'s enum has no \"default\", so it cannot absorb new symbols. Add a default to the enum in a compatible version first, then add the symbols."
                ),
            };
            let description = format!(
                "The {} schema is missing enum symbols '{info}' at path '{location}' in the {} schema",
                p.reader_word, p.writer_word
            );
            (message, hint, description)
        }
        AvroRule::MissingUnionBranch => {
            let branch = info.trim_start_matches("reader union lacking writer type: ");
            let message = format!(
                "{} cannot read {}: they may hold a {} value at {at}, and the reader's union has no branch for it.",
                p.reader,
                p.written,
                branch.to_lowercase(),
            );
            let hint = match direction {
                Direction::Backward => format!("Keep the {} branch in the union (branch order does not matter).", branch.to_lowercase()),
                Direction::Forward => format!(
                    "Consumers on version {version} cannot take a value of a new branch. Only add union branches under BACKWARD, or add the branch to readers first."
                ),
            };
            let description = format!(
                "The {} schema is missing a type inside a union field at path '{location}' in the {} schema",
                p.reader_word, p.writer_word
            );
            (message, hint, description)
        }
        AvroRule::AmbiguousFieldAlias => {
            let message = format!("{} cannot read {}: at {at}, {info}.", p.reader, p.written);
            let hint = "Remove the alias that names another existing field: a reader field must match exactly one writer field.".to_string();
            return Incompatibility {
                rule: found.rule.id(),
                direction,
                version,
                old_pointer,
                new_pointer,
                field: found.path.clone(),
                message,
                hint,
                confluent: format!("Unexpected exception during compatibility check: {info}"),
            };
        }
        AvroRule::NestingTooDeep => {
            let message = format!("The schemas nest too deeply to check against version {version} (at {at}): {info}.");
            let hint = "Flatten the schema: compatibility cannot be established for it.".to_string();
            let description = format!("Compatibility check aborted at path '{location}'");
            (message, hint, description)
        }
    };
    Incompatibility {
        rule: found.rule.id(),
        direction,
        version,
        old_pointer,
        new_pointer,
        field: found.path.clone(),
        message,
        hint,
        confluent: format!(
            "{{errorType:'{}', description:'{description}', additionalInfo:'{info}'}}",
            found.rule.id()
        ),
    }
}

/// The sentence and fix hint for a reader field that the writer lacks and that has no
/// default: `field` is its name, `at` its place in words. When the writer has a field of
/// another name in its position (`found.renamed`), the change reads as a rename, and the fix
/// is the alias that makes it one; the verdict is unchanged.
fn missing_field(
    found: &AvroIncompatibility,
    p: &Parties,
    direction: Direction,
    version: u32,
    field: &str,
    at: &str,
) -> (String, String) {
    let missing = format!(
        "{} cannot read {}: {at} is not in them and has no default to fill in.",
        p.reader, p.written
    );
    match (direction, found.renamed.as_deref()) {
        (Direction::Backward, None) => (
            missing,
            format!(
                "Give '{field}' a default (for an optional value: \"type\": [\"null\", …] with \"default\": null), or alias it to the old field it replaces."
            ),
        ),
        (Direction::Backward, Some(old)) => (
            format!(
                "{missing} It looks like field '{old}' renamed to '{field}' (same position, readable type), and a rename needs an alias."
            ),
            format!(
                "Add \"aliases\": [\"{old}\"] to the field '{field}', so that it reads the old '{old}' values, or give '{field}' a default."
            ),
        ),
        (Direction::Forward, None) => (
            missing,
            format!(
                "Keep producing '{field}': version {version} needs it and has no default for it. Deprecate it instead of removing it, or first publish a version where it has a default."
            ),
        ),
        (Direction::Forward, Some(new)) => (
            format!(
                "{missing} It looks like '{field}' was renamed to '{new}' (same position, readable type); consumers on version {version} only know the old name."
            ),
            format!(
                "Keep the name '{field}': an alias on '{new}' only helps consumers on the new schema, not those on version {version}. Rename only after a version where '{field}' has a default, or add '{new}' as a new field beside it."
            ),
        ),
    }
}

/// `reader type: INT not compatible with writer type: LONG` → a sentence fragment.
fn lower_types(info: &str) -> String {
    match info
        .strip_prefix("reader type: ")
        .and_then(|rest| rest.split_once(" not compatible with writer type: "))
    {
        Some((reader, writer)) => format!(
            "a {} value cannot be read as {}",
            writer.to_lowercase(),
            reader.to_lowercase()
        ),
        None => info.to_string(),
    }
}

pub(super) fn json(found: &Difference, direction: Direction, version: u32) -> Incompatibility {
    let (old_pointer, new_pointer) = match direction {
        Direction::Backward => (found.original_pointer.clone(), found.update_pointer.clone()),
        Direction::Forward => (found.update_pointer.clone(), found.original_pointer.clone()),
    };
    let at = field_path::describe(found.field.as_deref());
    let mut message = match direction {
        Direction::Backward => format!(
            "Consumers using the new schema may reject events that version {version} accepted: at {at}, {}.",
            found.detail
        ),
        Direction::Forward => format!(
            "Consumers still on version {version} may reject events written with the new schema, because version {version} is stricter here (new schema → version {version}, at {at}: {}).",
            found.detail
        ),
    };
    let mut hint = json_hint(found.kind).to_string();
    if let Some((from, to)) = &found.renamed {
        // Original → update is old → new backward, new → old forward.
        let (old, new) = match direction {
            Direction::Backward => (from, to),
            Direction::Forward => (to, from),
        };
        message.push_str(&format!(
            " It looks like property '{old}' renamed to '{new}' (same position, same type)."
        ));
        // The kind's own advice still holds (an open object breaks on any added property);
        // the rename adds what keeps readers of the old name working.
        hint.push_str(&format!(
            " JSON Schema has no aliases, so a rename removes one property and adds another: keep the old property '{old}' (mark it deprecated) beside '{new}', and have producers fill both until no consumer reads '{old}'."
        ));
    }
    let schema_word = match direction {
        Direction::Backward => "new",
        Direction::Forward => "old",
    };
    Incompatibility {
        rule: found.kind.id(),
        direction,
        version,
        old_pointer,
        new_pointer,
        field: found.field.clone(),
        message,
        hint,
        confluent: format!(
            "{{errorType:'{}', description:'Found incompatible change: {} at path '{}' in the {schema_word} schema', additionalInfo:'{}'}}",
            found.kind.id(),
            found.detail,
            found.path,
            found.path
        ),
    }
}

fn json_hint(kind: DiffKind) -> &'static str {
    use DiffKind::*;
    match kind {
        OptionalPropertyAddedToOpenContentModel
        | RequiredPropertyWithDefaultAddedToOpenContentModel
        | RequiredPropertyAddedToOpenContentModel => {
            "The old schema accepted any value under this name, because the object was open. Close the object with \"additionalProperties\": false in an earlier version, declare the property as {} (any value), or register under the LENIENT policy."
        }
        RequiredPropertyAddedToUnopenContentModel | RequiredAttributeAdded => {
            "Old events may lack this property. Make it optional, or give it a \"default\"."
        }
        PropertyRemovedFromClosedContentModel | PropertyRemovedNotCoveredByPartiallyOpenContentModel => {
            "The object allows no other properties, so old events carrying this one would be rejected. Keep the property (mark it deprecated), or let additionalProperties/patternProperties accept it."
        }
        PropertyAddedNotCoveredByPartiallyOpenContentModel | ItemAddedNotCoveredByPartiallyOpenContentModel => {
            "The new schema is stricter than the schema that used to cover this name. Make it accept at least what additionalProperties/patternProperties accepted."
        }
        TypeChanged | TypeNarrowed => {
            "Keep the old type. To accept another type as well, widen with anyOf (or a type array) instead of replacing it."
        }
        MaxLengthAdded | MaxLengthDecreased | MinLengthAdded | MinLengthIncreased | MaximumAdded | MaximumDecreased
        | MinimumAdded | MinimumIncreased | ExclusiveMaximumAdded | ExclusiveMaximumDecreased | ExclusiveMinimumAdded
        | ExclusiveMinimumIncreased | MaxItemsAdded | MaxItemsDecreased | MinItemsAdded | MinItemsIncreased
        | MaxPropertiesAdded | MaxPropertiesDecreased | MinPropertiesAdded | MinPropertiesIncreased | MaxContainsAdded
        | MaxContainsDecreased | MinContainsAdded | MinContainsIncreased => {
            "Tightening a limit rejects values that were valid. Keep the old limit, or loosen it."
        }
        MultipleOfAdded | MultipleOfExpanded | MultipleOfChanged => {
            "Only loosen multipleOf (to a divisor of the old value), or drop it."
        }
        PatternAdded | PatternChanged => {
            "Patterns are compared as text, so any change counts as narrowing. Keep the old pattern, or remove it."
        }
        EnumArrayNarrowed | EnumArrayChanged => "Only ever add enum values (and keep const values); never remove or rename them.",
        CombinedTypeChanged | SumTypeNarrowed | ProductTypeExtended | CombinedTypeSubschemasChanged => {
            "Keep every alternative of anyOf/oneOf (adding is fine), and do not add parts to an allOf."
        }
        NotTypeExtended => "Make the negated schema narrower, not wider: 'not' now excludes values that were valid.",
        AdditionalPropertiesRemoved | AdditionalPropertiesNarrowed | UnevaluatedPropertiesRemoved | UnevaluatedPropertiesNarrowed => {
            "Restricting unknown properties rejects old events that carry them. Keep additionalProperties as it was (or use the LENIENT policy)."
        }
        AdditionalItemsRemoved | AdditionalItemsNarrowed | UnevaluatedItemsRemoved | UnevaluatedItemsNarrowed => {
            "Restricting extra array items rejects old events that carry them. Keep additionalItems as it was."
        }
        DependencyArrayAdded | DependencyArrayExtended | DependencyArrayChanged | DependencySchemaAdded => {
            "New or stronger dependencies reject old events. Only remove or weaken dependencies."
        }
        UniqueItemsAdded => "Old events may contain duplicate items. Drop uniqueItems.",
        ItemAddedToOpenContentModel => "The tuple accepted any value at this position. Give the new item the empty schema {}, or close the tuple first.",
        ItemRemovedFromClosedContentModel | ItemRemovedNotCoveredByPartiallyOpenContentModel => {
            "The tuple allows no more items, so old events with this item would be rejected. Keep the item."
        }
        SchemaAdded => "A schema now constrains values that were unconstrained. Leave it out, or make it {}.",
        _ => "Revert this change, or publish the new schema under a new subject.",
    }
}

pub(super) fn different_types(old: SchemaType, new: SchemaType, direction: Direction, version: u32) -> Incompatibility {
    Incompatibility {
        rule: "DIFFERENT_SCHEMA_TYPE",
        direction,
        version,
        old_pointer: String::new(),
        new_pointer: String::new(),
        field: None,
        message: format!(
            "Version {version} is a {old} schema and the new one is {new}: no consumer can read across formats (the whole schema changed type, not one field)."
        ),
        hint: "Keep the subject's schema type; use a new subject for another format.".to_string(),
        confluent: "Incompatible because of different schema type".to_string(),
    }
}

/// A Protobuf difference Confluent refuses, in the consumer's words.
pub(super) fn protobuf(found: &ProtoDifference, direction: Direction, version: u32) -> Incompatibility {
    let p = parties(direction, version);
    // Backward compares (original = old, update = new); forward swaps them.
    let (update_word, original_word) = match direction {
        Direction::Backward => ("new", "old"),
        Direction::Forward => ("old", "new"),
    };
    let (old_line, new_line) = match direction {
        Direction::Backward => (found.original_line, found.update_line),
        Direction::Forward => (found.update_line, found.original_line),
    };
    let (was, became) = match direction {
        Direction::Backward => (found.was.as_deref(), found.became.as_deref()),
        Direction::Forward => (found.became.as_deref(), found.was.as_deref()),
    };
    let at = match &found.field {
        Some(field) => format!("field {field} ({})", found.path),
        None => found.path.clone(),
    };
    let change = match (was, became) {
        (Some(was), Some(became)) if was != became => format!(" ({was} → {became})"),
        _ => String::new(),
    };
    // A required field one schema drops breaks the readers of the schema that keeps it:
    // the other side's, whichever direction Confluent judges it in.
    let readers_of_removed = parties(
        match direction {
            Direction::Backward => Direction::Forward,
            Direction::Forward => Direction::Backward,
        },
        version,
    );
    let (what, hint) = match found.kind {
        ProtoKind::PackageChanged => (
            "the package changed, so every message has another full name".to_string(),
            "Keep the package: a new package is a new set of types. Publish them under a new subject instead.".to_string(),
        ),
        ProtoKind::MessageRemoved => (
            format!("the message type at {} is gone", found.path),
            "Keep the message type (it may be deprecated with `option deprecated = true;`); serializers name messages by their position and name.".to_string(),
        ),
        ProtoKind::FieldKindChanged => (
            format!("the {at} changed between a scalar, a message and a map{change}"),
            "Keep the field's type. Add a new field with a new number for the new type and deprecate the old one.".to_string(),
        ),
        ProtoKind::FieldScalarKindChanged => (
            format!("the {at} changed to a type that is encoded differently{change}"),
            "Change a scalar only within its group (int32, int64, uint32, uint64, bool and enums; sint32 and sint64; string and bytes; fixed32 and sfixed32; fixed64 and sfixed64). Otherwise add a new field with a new number.".to_string(),
        ),
        ProtoKind::FieldNamedTypeChanged => (
            format!("the message type of the {at} changed, or changed incompatibly{change}"),
            "Keep the field's message type and evolve that message compatibly; for another type add a new field with a new number.".to_string(),
        ),
        ProtoKind::FieldNumericLabelChanged => (
            format!("the {at} changed between single and repeated{change}: numbers are encoded differently"),
            "Keep the field's label. For a list, add a new repeated field with a new number.".to_string(),
        ),
        ProtoKind::RequiredFieldAdded => (
            format!("the {at} is required, and {} do not carry it", p.written),
            "Add the field as optional: proto2 `required` fields can never be added or removed compatibly.".to_string(),
        ),
        ProtoKind::RequiredFieldRemoved => (
            format!("the {at} is required there, and {} do not carry it", readers_of_removed.written),
            "Keep the required field: proto2 `required` fields can never be added or removed compatibly.".to_string(),
        ),
        ProtoKind::OneofFieldRemoved => (
            format!("the {at} left its oneof, so a value set in it cannot be read"),
            "Keep the oneof member (deprecate it, and reserve its number when it is finally gone).".to_string(),
        ),
        ProtoKind::MultipleFieldsMovedToOneof | ProtoKind::FieldMovedToExistingOneof => (
            match &found.field {
                Some(field) => format!(
                    "the oneof at {} now holds {field}, which was an independent field, and {} may set it beside another member",
                    found.path, p.written
                ),
                None => format!(
                    "the oneof at {} now holds fields that were independent, and {} may set more than one of them",
                    found.path, p.written
                ),
            },
            "Do not move existing fields into a oneof; add new fields to a new oneof instead.".to_string(),
        ),
        // Compatible kinds never reach here; say what they are if they do.
        other => (format!("{} at {}", other.id(), found.path), String::new()),
    };
    let lines = lines(old_line, new_line, version);
    let pointer = found.path.trim_start_matches('#').to_string();
    Incompatibility {
        rule: found.kind.id(),
        direction,
        version,
        old_pointer: pointer.clone(),
        new_pointer: pointer,
        field: found.field.clone(),
        message: match found.kind {
            ProtoKind::RequiredFieldRemoved => format!(
                "{} cannot read {}: {what}{lines}.",
                readers_of_removed.reader, readers_of_removed.written
            ),
            _ => format!("{} cannot read {}: {what}{lines}.", p.reader, p.written),
        },
        hint,
        confluent: format!(
            "{{errorType:\"{}\", description:\"{}\"}}",
            found.kind.id(),
            found.kind.description(&found.path, update_word, original_word)
        ),
    }
}

/// A break of buf's WIRE_JSON rules (the stricter Protobuf policy).
pub(super) fn wire_json(
    found: &super::wire_json::WireJsonBreak,
    direction: Direction,
    version: u32,
) -> Incompatibility {
    let p = parties(direction, version);
    let (old_line, new_line) = match direction {
        Direction::Backward => (found.original_line, found.update_line),
        Direction::Forward => (found.update_line, found.original_line),
    };
    let lines = lines(old_line, new_line, version);
    let hint = match found.rule {
        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED" | "FIELD_NO_DELETE_UNLESS_NAME_RESERVED" => {
            "Reserve the deleted field's number and name (`reserved 4; reserved \"note\";`) so that neither is reused with another meaning."
        }
        "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED" | "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED" => {
            "Reserve the deleted value's number and name in the enum."
        }
        "FIELD_SAME_NAME" | "FIELD_SAME_JSON_NAME" | "ENUM_VALUE_SAME_NAME" => {
            "Keep the name: JSON readers find fields and enum values by name. Add a new field and deprecate the old one instead."
        }
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE" | "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY" => {
            "Keep the field's type and cardinality; for another, add a new field with a new number."
        }
        "FIELD_SAME_ONEOF" => "Do not move existing fields into or out of a oneof.",
        "RESERVED_MESSAGE_NO_DELETE" => "Keep reservations: they stop old numbers and names coming back with another meaning.",
        _ => "Keep what the rule protects, or evolve under the CONFLUENT rules if no consumer reads JSON.",
    };
    let pointer = found.path.trim_start_matches('#').to_string();
    Incompatibility {
        rule: found.rule,
        direction,
        version,
        old_pointer: pointer.clone(),
        new_pointer: pointer,
        field: found.field.clone(),
        message: format!(
            "{} cannot read {} as JSON (WIRE_JSON rules): {}{lines}.",
            p.reader, p.written, found.detail
        ),
        hint: hint.to_string(),
        confluent: format!(
            "{{errorType:\"{}\", description:\"{} at path '{}'\"}}",
            found.rule, found.detail, found.path
        ),
    }
}

/// Where a Protobuf finding is in each text: ` (line 12 of version 3, line 14 of the new
/// schema)`, or as much of it as is known.
fn lines(old_line: Option<usize>, new_line: Option<usize>, version: u32) -> String {
    match (old_line, new_line) {
        (Some(old), Some(new)) => format!(" (line {old} of version {version}, line {new} of the new schema)"),
        (Some(old), None) => format!(" (line {old} of version {version})"),
        (None, Some(new)) => format!(" (line {new} of the new schema)"),
        (None, None) => String::new(),
    }
}
