//! Consumer-declared contracts: a consumer group says which fields of a subject it reads (a
//! field list, or a reader schema), and a change is judged against what those readers need
//! rather than against every reader the level imagines.
//!
//! Two questions, both pure:
//!
//! - [`breaks`]: does a new schema break a declared reader? A read field must still be there,
//!   and the reader must still read it (the level's FORWARD comparison, from the version the
//!   reader was written against, limited to the fields it reads). Registration refuses such a
//!   change at every level, NONE included: the reader said it depends on the field.
//! - [`is_read`]: does a finding touch a field some declared reader reads? The reader-aware
//!   policy accepts a change its level refuses when none of the refused findings does.
//!
//! Fields are named by dotted paths ([`crate::schema::field_path`]): `order.total`,
//! `lines[].sku`, `tags{}`.

use super::{compare, CheckOptions, Direction, PreviousVersion, TooComplex};
use crate::schema::fields::field_rows;
use crate::schema::Schema;

/// What a consumer group reads of a subject.
#[derive(Debug, Clone)]
pub enum Reads {
    /// These fields (dotted paths) of the version the contract names.
    Fields(Vec<String>),
    /// Whatever this reader schema reads: the group decodes with it.
    Schema(Schema),
}

/// One declared reader of a subject, ready to judge a change.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub group: &'a str,
    /// The subject's version the reader was written against.
    pub version: u32,
    /// That version's schema.
    pub written_against: &'a Schema,
    pub reads: &'a Reads,
}

/// One way a new schema breaks a declared reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderBreak {
    /// `DECLARED_READER_FIELD_REMOVED` or `DECLARED_READER_FIELD_UNREADABLE`.
    pub rule: &'static str,
    pub group: String,
    /// The version the reader's contract is against.
    pub version: u32,
    /// The read field concerned; `None` when the whole schema is (its type changed).
    pub field: Option<String>,
    /// What breaks, for the group's point of view.
    pub message: String,
    pub hint: String,
}

impl ReaderBreak {
    /// The finding as one line: rule, sentence, fix.
    pub fn line(&self) -> String {
        format!("{}: {} {}", self.rule, self.message, self.hint)
    }
}

/// A declared field path in the form reports use: `$.order.id` (the JSONPath-like form
/// contracts are often written in) and `/order/id` (a JSON pointer) read as `order.id`.
pub fn normalize_path(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let path = if let Some(rest) = trimmed.strip_prefix("$.") {
        rest.to_string()
    } else if let Some(rest) = trimmed.strip_prefix('/') {
        rest.replace('/', ".")
    } else {
        trimmed.to_string()
    };
    let bad_segment = path
        .split('.')
        .any(|segment| segment.trim_end_matches("[]").trim_end_matches("{}").is_empty());
    if path.is_empty() || bad_segment || path.chars().any(char::is_whitespace) {
        return Err(format!(
            "{text:?} is not a field path: paths are dotted field names from the top of the record, such as order.total, lines[].sku or $.order.id"
        ));
    }
    Ok(path)
}

/// Every field path of `schema`, as its field table lists them.
pub fn field_paths(schema: &Schema) -> Vec<String> {
    field_rows(schema, None).into_iter().map(|row| row.path).collect()
}

/// The declared fields missing from `schema` (the version a contract is declared against):
/// a contract naming them is refused, since no reader can read a field that was never there.
pub fn unknown_fields<'a>(declared: &'a [String], schema: &Schema) -> Vec<&'a str> {
    let known = field_paths(schema);
    declared
        .iter()
        .filter(|path| !known.contains(path))
        .map(String::as_str)
        .collect()
}

/// The fields `reader` reads that the version it was written against has: the declared
/// list, or the reader schema's fields that the version has (a reader schema may also name
/// fields it only hopes for, with defaults; those are not promised to it).
pub fn read_fields(reader: &Reader<'_>) -> Vec<String> {
    match reader.reads {
        Reads::Fields(fields) => fields.clone(),
        Reads::Schema(schema) => {
            let known = field_paths(reader.written_against);
            field_paths(schema)
                .into_iter()
                .filter(|path| known.contains(path))
                .collect()
        }
    }
}

/// Whether a finding about `field` (`None`: the whole schema) concerns any of the `read`
/// fields: the same field, a field inside a read one (a read record whose member changed),
/// or one containing a read field (a read field's parent changed type).
pub fn is_read(field: Option<&str>, read: &[String]) -> bool {
    match field {
        None | Some("") => !read.is_empty(),
        Some(field) => read.iter().any(|r| nests(r, field) || nests(field, r)),
    }
}

/// The fields a reader reads, resolved against the schema it was written against, so that a
/// finding is matched whichever way its format names fields: dotted paths for Avro and JSON
/// Schema, message-qualified names (`Order.total`, `Order.Line.sku`) for Protobuf.
#[derive(Debug, Clone, Default)]
pub struct ReadSet {
    paths: Vec<String>,
    /// Protobuf: the qualified name of every field along each read path.
    qualified: Vec<String>,
    /// Protobuf: `Type.` of each read field of a message type: findings inside it concern it.
    within: Vec<String>,
}

impl ReadSet {
    pub fn new(schema: &Schema, paths: Vec<String>) -> ReadSet {
        let mut set = ReadSet {
            paths,
            ..ReadSet::default()
        };
        if let Schema::Protobuf(proto) = schema {
            for path in &set.paths {
                protobuf_names(proto, path, &mut set.qualified, &mut set.within);
            }
        }
        set
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether a finding about `field` (`None`: the whole schema) concerns a read field.
    pub fn touches(&self, field: Option<&str>) -> bool {
        match field {
            Some(f) if !f.is_empty() => {
                is_read(Some(f), &self.paths)
                    || self.qualified.iter().any(|q| q == f)
                    || self.within.iter().any(|w| f.starts_with(w.as_str()))
            }
            _ => !self.paths.is_empty(),
        }
    }
}

/// The qualified names Protobuf findings give the fields along `path` (from the schema's
/// first message, as its field table starts), and the `Type.` prefix of the last one's
/// message type, if it has one.
fn protobuf_names(
    proto: &crate::schema::protobuf::ProtobufSchema,
    path: &str,
    qualified: &mut Vec<String>,
    within: &mut Vec<String>,
) {
    use prost_reflect::Kind;
    let package = proto.package();
    let local = |full: &str| -> String {
        match full.strip_prefix(package).and_then(|rest| rest.strip_prefix('.')) {
            Some(rest) if !package.is_empty() => rest.to_string(),
            _ => full.to_string(),
        }
    };
    let Some(mut message) = proto.messages().into_iter().next() else {
        return;
    };
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let name = segment.trim_end_matches("[]").trim_end_matches("{}");
        let Some(field) = message.get_field_by_name(name) else {
            return;
        };
        qualified.push(format!("{}.{}", local(message.full_name()), field.name()));
        let inner = match field.kind() {
            Kind::Message(entry) if field.is_map() => match entry.map_entry_value_field().kind() {
                Kind::Message(value) => Some(value),
                _ => None,
            },
            Kind::Message(inner) => Some(inner),
            _ => None,
        };
        match inner {
            Some(inner) if i + 1 == segments.len() => within.push(format!("{}.", local(inner.full_name()))),
            Some(inner) => message = inner,
            None => return,
        }
    }
}

/// `inner` is `outer` or lies within it.
fn nests(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with(['.', '[', '{']))
}

/// Every way `new` breaks `reader`: each read field it no longer has, and each finding of
/// the reader's own comparison (its reader schema, or the version it was written against
/// limited to the fields it reads) with new data.
pub fn breaks(reader: &Reader<'_>, new: &Schema, options: CheckOptions) -> Result<Vec<ReaderBreak>, TooComplex> {
    let read = ReadSet::new(reader.written_against, read_fields(reader));
    let present = field_paths(new);
    let group = reader.group;
    let mut found = Vec::new();
    let mut removed = Vec::new();
    for path in read.paths() {
        if !present.contains(path) {
            found.push(ReaderBreak {
                rule: "DECLARED_READER_FIELD_REMOVED",
                group: group.to_string(),
                version: reader.version,
                field: Some(path.clone()),
                message: format!(
                    "consumer group '{group}' reads field '{path}' (its contract is against version {}), and the new schema no longer has it.",
                    reader.version
                ),
                hint: format!(
                    "Keep '{path}', or agree with group '{group}' to drop it from their contract first."
                ),
            });
            removed.push(path.clone());
        }
    }
    let (previous, limited) = match reader.reads {
        Reads::Schema(schema) => (schema, false),
        Reads::Fields(_) => (reader.written_against, true),
    };
    let previous = PreviousVersion {
        version: reader.version,
        schema: previous,
    };
    for finding in compare(&previous, new, Direction::Forward, options)? {
        let field = finding.field.as_deref();
        if limited && !read.touches(field) {
            continue;
        }
        // A removed field was reported above; the comparison says the same in its words.
        if field.is_some_and(|f| removed.iter().any(|r| nests(r, f))) {
            continue;
        }
        let what = match field {
            Some(f) => format!("reads field '{f}'"),
            None => "reads this subject".to_string(),
        };
        found.push(ReaderBreak {
            rule: "DECLARED_READER_FIELD_UNREADABLE",
            group: group.to_string(),
            version: reader.version,
            field: finding.field.clone(),
            message: format!(
                "consumer group '{group}' {what} (its contract is against version {}), and could no longer read it: {}",
                reader.version, finding.message
            ),
            hint: finding.hint.clone(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;

    fn avro(text: &str) -> Schema {
        Schema::parse(SchemaType::Avro, text, &[]).unwrap()
    }

    fn payment(fields: &str) -> Schema {
        avro(&format!(r#"{{"type":"record","name":"Payment","fields":[{fields}]}}"#))
    }

    const V1: &str = r#"{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"note","type":"string","default":""},
        {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"email","type":"string"},{"name":"age","type":"int"}]}}"#;

    fn fields(paths: &[&str]) -> Reads {
        Reads::Fields(paths.iter().map(|p| p.to_string()).collect())
    }

    fn judge(reads: &Reads, old: &Schema, new: &Schema) -> Vec<ReaderBreak> {
        let reader = Reader {
            group: "fraud",
            version: 3,
            written_against: old,
            reads,
        };
        breaks(&reader, new, CheckOptions::default()).unwrap()
    }

    #[test]
    fn paths_read_in_three_spellings_and_bad_ones_are_refused() {
        assert_eq!(normalize_path("$.order.id").unwrap(), "order.id");
        assert_eq!(normalize_path("/order/id").unwrap(), "order.id");
        assert_eq!(normalize_path(" lines[].sku ").unwrap(), "lines[].sku");
        for bad in ["", "$.", "a..b", "a. b", "."] {
            let err = normalize_path(bad).unwrap_err();
            assert!(err.contains("not a field path"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_removed_read_field_breaks_the_reader_and_names_group_field_and_version() {
        let old = payment(V1);
        let new = payment(
            r#"{"name":"id","type":"string"},{"name":"note","type":"string","default":""},
            {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"email","type":"string"},{"name":"age","type":"int"}]}}"#,
        );
        let found = judge(&fields(&["id", "amount"]), &old, &new);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "DECLARED_READER_FIELD_REMOVED");
        assert_eq!(found[0].field.as_deref(), Some("amount"));
        assert!(found[0].message.contains("group 'fraud'"), "{}", found[0].message);
        assert!(found[0].message.contains("version 3"), "{}", found[0].message);
        // A group that reads neither removed nor changed fields is not broken.
        assert!(judge(&fields(&["id", "customer.email"]), &old, &new).is_empty());
    }

    #[test]
    fn a_type_change_breaks_only_readers_of_that_field_or_its_parents() {
        let old = payment(V1);
        let new = payment(
            r#"{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"note","type":"string","default":""},
            {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"email","type":"string"},{"name":"age","type":"string"}]}}"#,
        );
        let by_field = judge(&fields(&["customer.age"]), &old, &new);
        assert_eq!(by_field.len(), 1, "{by_field:?}");
        assert_eq!(by_field[0].rule, "DECLARED_READER_FIELD_UNREADABLE");
        assert_eq!(by_field[0].field.as_deref(), Some("customer.age"));
        assert_eq!(judge(&fields(&["customer"]), &old, &new).len(), 1);
        assert!(judge(&fields(&["customer.email", "amount"]), &old, &new).is_empty());
    }

    #[test]
    fn a_widened_type_the_old_reader_cannot_read_breaks_it_and_a_narrowed_one_does_not() {
        let old = payment(r#"{"name":"amount","type":"int"}"#);
        let wider = payment(r#"{"name":"amount","type":"long"}"#);
        assert_eq!(judge(&fields(&["amount"]), &old, &wider).len(), 1);
        let old = payment(r#"{"name":"amount","type":"long"}"#);
        let narrower = payment(r#"{"name":"amount","type":"int"}"#);
        assert!(judge(&fields(&["amount"]), &old, &narrower).is_empty());
    }

    #[test]
    fn a_reader_schema_is_judged_as_the_reader_it_is() {
        let old = payment(V1);
        // The reader decodes id and amount; note has a default in its schema.
        let reader = Reads::Schema(payment(
            r#"{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"extra","type":"string","default":"x"}"#,
        ));
        // Removing `note` (not read) and `customer` (not read) is fine for it.
        let new = payment(r#"{"name":"id","type":"string"},{"name":"amount","type":"int"}"#);
        assert!(judge(&reader, &old, &new).is_empty());
        // `extra` is not in the version the contract is against: its absence is no break.
        assert_eq!(
            read_fields(&Reader {
                group: "g",
                version: 1,
                written_against: &old,
                reads: &reader
            }),
            ["id", "amount"]
        );
        // Changing amount's type breaks its decoding.
        let new = payment(r#"{"name":"id","type":"string"},{"name":"amount","type":"string"}"#);
        let found = judge(&reader, &old, &new);
        assert!(found.iter().any(|b| b.field.as_deref() == Some("amount")), "{found:?}");
        // Removing id breaks it twice over in Avro's words; reported once as removed.
        let new = payment(r#"{"name":"amount","type":"int"}"#);
        let found = judge(&reader, &old, &new);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "DECLARED_READER_FIELD_REMOVED");
    }

    #[test]
    fn json_schema_and_protobuf_readers_are_judged_by_their_formats_rules() {
        let json = |amount: &str| {
            Schema::parse(
                SchemaType::Json,
                &format!(
                    r#"{{"type":"object","properties":{{"id":{{"type":"string"}},"amount":{{"type":"{amount}"}}}},"additionalProperties":false}}"#
                ),
                &[],
            )
            .unwrap()
        };
        let found = judge(&fields(&["amount"]), &json("integer"), &json("string"));
        assert!(
            !found.is_empty(),
            "a JSON type change of a read field breaks its reader"
        );
        assert!(found.iter().all(|b| b.field.as_deref() == Some("amount")), "{found:?}");
        assert!(judge(&fields(&["id"]), &json("integer"), &json("string")).is_empty());

        let proto = |amount: &str, with_note: bool| {
            let note = if with_note { "  string note = 3;\n" } else { "" };
            Schema::parse(
                SchemaType::Protobuf,
                &format!(
                    "syntax = \"proto3\";\nmessage Payment {{\n  string id = 1;\n  {amount} amount = 2;\n{note}}}\n"
                ),
                &[],
            )
            .unwrap()
        };
        let found = judge(&fields(&["amount"]), &proto("int64", true), &proto("string", true));
        assert!(
            found.iter().any(|b| b.rule == "DECLARED_READER_FIELD_UNREADABLE"),
            "a Protobuf type change of a read field breaks its reader: {found:?}"
        );
        let found = judge(&fields(&["note"]), &proto("int64", true), &proto("int64", false));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "DECLARED_READER_FIELD_REMOVED");
        assert!(judge(&fields(&["id"]), &proto("int64", true), &proto("string", false)).is_empty());

        // A nested message's field, named by the path through the field that holds it.
        let nested = |email: &str| {
            Schema::parse(
                SchemaType::Protobuf,
                &format!("syntax = \"proto3\";\npackage shop;\nmessage Order {{\n  string id = 1;\n  Customer customer = 2;\n}}\nmessage Customer {{\n  {email} email = 1;\n  int32 age = 2;\n}}\n"),
                &[],
            )
            .unwrap()
        };
        let (old, new) = (nested("string"), nested("int64"));
        for read in [&["customer.email"][..], &["customer"][..]] {
            let found = judge(&fields(read), &old, &new);
            assert!(!found.is_empty(), "{read:?} reads the changed email");
        }
        // Confluent's rules also report the change at the field holding the message
        // (`Order.customer`), so a reader of a sibling field is told too: cautious, not wrong.
        let found = judge(&fields(&["customer.age"]), &old, &new);
        assert!(
            found.iter().all(|b| b.field.as_deref() == Some("Order.customer")),
            "{found:?}"
        );
        assert!(judge(&fields(&["id"]), &old, &new).is_empty());
        let set = ReadSet::new(&old, vec!["customer.email".to_string()]);
        assert!(set.touches(Some("Order.customer")) && set.touches(Some("Customer.email")));
        assert!(!set.touches(Some("Customer.age")));
    }

    #[test]
    fn findings_touch_read_fields_by_nesting_either_way() {
        let read = vec!["customer.email".to_string(), "lines[].sku".to_string()];
        assert!(is_read(Some("customer.email"), &read));
        assert!(is_read(Some("customer"), &read));
        assert!(is_read(Some("lines"), &read));
        assert!(is_read(Some("lines[]"), &read));
        assert!(!is_read(Some("customer.age"), &read));
        assert!(!is_read(Some("customer_id"), &read));
        assert!(is_read(None, &read));
        assert!(!is_read(None, &[]));
    }

    #[test]
    fn unknown_declared_fields_are_listed() {
        let old = payment(V1);
        let declared = vec!["amount".to_string(), "amuont".to_string(), "customer.email".to_string()];
        assert_eq!(unknown_fields(&declared, &old), ["amuont"]);
    }
}
