//! Schema lint rules: habits that keep event contracts readable and evolvable, checked on the
//! format-neutral field table so Avro and JSON Schema follow the same rules.
//!
//! - `FIELD_UNDOCUMENTED`: a field has no `doc` (Avro) or `description`/`title` (JSON Schema).
//!   Consumers read the schema as the contract; an undocumented field is a guess.
//! - `OPTIONAL_FIELD_WITHOUT_DEFAULT`: a field producers may leave out has no default, so
//!   readers of older events cannot fill it in (not for Protobuf, where every absent field
//!   reads as its default).
//! - `INCONSISTENT_NAMING`: a field's name is not in the case style most of the schema uses
//!   (snake_case, camelCase or PascalCase).
//! - `PII_UNTAGGED`: a field whose name says it holds personal data (an email address, a
//!   phone number, a national id, a birth date, a street address, …) carries no tag, so the
//!   catalog does not mark it and tag-based rules and redaction pass it by.
//! - `DEFAULT_MISMATCH`: an Avro field's default does not match the field's type. Confluent's
//!   registry accepts such a schema unless told to validate defaults, but Avro readers fail
//!   (or fill in nonsense) when they need the default.

use super::fields::{field_rows, FieldRow};
use super::Schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFinding {
    pub rule: &'static str,
    /// Dotted field path.
    pub path: String,
    /// JSON pointer of the field in the schema.
    pub pointer: String,
    pub message: String,
    pub hint: String,
}

pub const RULES: [&str; 5] = [
    "FIELD_UNDOCUMENTED",
    "OPTIONAL_FIELD_WITHOUT_DEFAULT",
    "INCONSISTENT_NAMING",
    "PII_UNTAGGED",
    "DEFAULT_MISMATCH",
];

/// Field names (lower case, without `_`, `-` and `.`) that hold personal data.
const PERSONAL_NAMES: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "phone",
    "phonenumber",
    "mobile",
    "mobilenumber",
    "telephone",
    "ssn",
    "socialsecuritynumber",
    "nationalid",
    "nationalidnumber",
    "taxid",
    "taxnumber",
    "vatnumber",
    "passport",
    "passportnumber",
    "driverslicense",
    "driverlicense",
    "licensenumber",
    "firstname",
    "lastname",
    "fullname",
    "surname",
    "givenname",
    "familyname",
    "middlename",
    "dateofbirth",
    "birthdate",
    "dob",
    "birthday",
    "address",
    "streetaddress",
    "street",
    "addressline1",
    "addressline2",
    "postalcode",
    "postcode",
    "zipcode",
    "zip",
    "ipaddress",
    "ip",
    "iban",
    "accountnumber",
    "cardnumber",
    "creditcard",
    "creditcardnumber",
    "pan",
    "gender",
    "geolocation",
];

/// Endings that say the same of a longer name (`customer_email`, `billing_phone`).
const PERSONAL_SUFFIXES: &[&str] = &[
    "email",
    "emailaddress",
    "phone",
    "phonenumber",
    "ssn",
    "iban",
    "ipaddress",
    "dateofbirth",
    "birthdate",
];

/// Whether a field's name says it holds personal data.
fn looks_personal(name: &str) -> bool {
    let plain: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    PERSONAL_NAMES.contains(&plain.as_str())
        || PERSONAL_SUFFIXES
            .iter()
            .any(|s| plain.len() > s.len() && plain.ends_with(s))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Snake,
    Camel,
    Pascal,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Snake => "snake_case",
            Case::Camel => "camelCase",
            Case::Pascal => "PascalCase",
        }
    }
}

/// The case style of a name, when it shows one: single lower-case words count as both
/// snake_case and camelCase and so as neither.
fn case_of(name: &str) -> Option<Case> {
    let first = name.chars().next()?;
    let has_upper = name.chars().any(|c| c.is_ascii_uppercase());
    let has_underscore = name.contains('_');
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return None;
    }
    match (first.is_ascii_uppercase(), has_upper, has_underscore) {
        (false, false, true) => Some(Case::Snake),
        (false, true, false) => Some(Case::Camel),
        (true, _, false) => Some(Case::Pascal),
        _ => None,
    }
}

/// Every finding for a schema: its field table's, in field order, then its defaults that do
/// not fit their types.
pub fn lint_schema(schema: &Schema) -> Vec<LintFinding> {
    let mut findings = lint(&field_rows(schema, None));
    // A Protobuf field that is absent reads as its default (its type's zero value, or a
    // proto2 `default`): there is no default to forget.
    if matches!(schema, Schema::Protobuf(_)) {
        findings.retain(|f| f.rule != "OPTIONAL_FIELD_WITHOUT_DEFAULT");
    }
    for (pointer, message) in schema.default_mismatches() {
        findings.push(LintFinding {
            rule: "DEFAULT_MISMATCH",
            path: pointer.clone(),
            pointer,
            message,
            hint: "Give the field a default of its own type (for a union, of one of its branches); readers that need the default cannot use this one."
                .to_string(),
        });
    }
    findings
}

/// Every finding for a schema's field table, in field order.
pub fn lint(rows: &[FieldRow]) -> Vec<LintFinding> {
    let fields: Vec<&FieldRow> = rows.iter().filter(|r| r.name != "(value)").collect();
    let mut counts = [(Case::Snake, 0usize), (Case::Camel, 0), (Case::Pascal, 0)];
    for row in &fields {
        if let Some(case) = case_of(&row.name) {
            counts
                .iter_mut()
                .find(|(c, _)| *c == case)
                .expect("every case counted")
                .1 += 1;
        }
    }
    let dominant = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n)
        .map(|(c, _)| *c);
    let mut findings = Vec::new();
    for (i, row) in fields.iter().enumerate() {
        // A field holding a record: its own fields are what carry (or lack) the tags.
        let parent = fields.get(i + 1).is_some_and(|next| next.depth > row.depth);
        if row.doc.as_deref().is_none_or(|d| d.trim().is_empty()) {
            findings.push(LintFinding {
                rule: "FIELD_UNDOCUMENTED",
                path: row.path.clone(),
                pointer: row.pointer.clone(),
                message: format!("field {} has no documentation", row.path),
                hint:
                    "Say what the field means, its unit and when it is absent (Avro `doc`, JSON Schema `description`)."
                        .to_string(),
            });
        }
        if !row.required && row.default.is_none() {
            findings.push(LintFinding {
                rule: "OPTIONAL_FIELD_WITHOUT_DEFAULT",
                path: row.path.clone(),
                pointer: row.pointer.clone(),
                message: format!("optional field {} has no default", row.path),
                hint:
                    "Give it a default (`null` for a nullable field) so readers can fill it in for events that lack it."
                        .to_string(),
            });
        }
        if !parent && row.tags.is_empty() && looks_personal(&row.name) {
            findings.push(LintFinding {
                rule: "PII_UNTAGGED",
                path: row.path.clone(),
                pointer: row.pointer.clone(),
                message: format!("field {} looks like personal data but carries no tag", row.path),
                hint: "Tag it `PII` (Avro and JSON Schema: `\"confluent:tags\": [\"PII\"]`; or the subject's `metadata.tags`) so the catalog marks it and tag-based rules find it; a field that is not personal data can say so with a tag of its own (`PUBLIC`)."
                    .to_string(),
            });
        }
        if let (Some(case), Some(dominant)) = (case_of(&row.name), dominant) {
            if case != dominant {
                findings.push(LintFinding {
                    rule: "INCONSISTENT_NAMING",
                    path: row.path.clone(),
                    pointer: row.pointer.clone(),
                    message: format!(
                        "field {} is {} while the schema's fields are mostly {}",
                        row.path,
                        case.name(),
                        dominant.name()
                    ),
                    hint: format!(
                        "Name new fields in {}; renaming an existing field breaks consumers, so add an alias or a new field instead.",
                        dominant.name()
                    ),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fields::field_rows;
    use crate::schema::{Schema, SchemaType};

    #[test]
    fn each_rule_fires_where_it_should_and_nowhere_else() {
        let schema = Schema::parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"E","fields":[
                {"name":"order_id","type":"string","doc":"The order."},
                {"name":"customer_id","type":"string","doc":"The customer."},
                {"name":"placedAt","type":"long","doc":"When."},
                {"name":"note","type":["null","string"]},
                {"name":"total","type":"long","doc":" "}]}"#,
            &[],
        )
        .unwrap();
        let findings: Vec<(&str, String, String)> = lint(&field_rows(&schema, None))
            .into_iter()
            .map(|f| (f.rule, f.path, f.pointer))
            .collect();
        assert_eq!(
            findings,
            vec![
                ("INCONSISTENT_NAMING", "placedAt".to_string(), "/fields/2".to_string()),
                ("FIELD_UNDOCUMENTED", "note".to_string(), "/fields/3".to_string()),
                (
                    "OPTIONAL_FIELD_WITHOUT_DEFAULT",
                    "note".to_string(),
                    "/fields/3".to_string()
                ),
                ("FIELD_UNDOCUMENTED", "total".to_string(), "/fields/4".to_string()),
            ]
        );
    }

    #[test]
    fn personal_fields_without_a_tag_are_linted() {
        let schema = Schema::parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"Customer","fields":[
                {"name":"customer_email","type":"string","doc":"Where to write."},
                {"name":"phone","type":"string","doc":"Where to call.","confluent:tags":["PII"]},
                {"name":"date_of_birth","type":"string","doc":"Born."},
                {"name":"emails_sent","type":"int","doc":"How many."},
                {"name":"zip","type":"string","doc":"Postal code.","confluent:tags":["PUBLIC"]}]}"#,
            &[],
        )
        .unwrap();
        let flagged: Vec<String> = lint(&field_rows(&schema, None))
            .into_iter()
            .filter(|f| f.rule == "PII_UNTAGGED")
            .map(|f| f.path)
            .collect();
        assert_eq!(flagged, ["customer_email", "date_of_birth"]);
        assert!(!looks_personal("email_count") && looks_personal("Email") && looks_personal("billingPhoneNumber"));
    }

    #[test]
    fn mismatched_defaults_are_linted_not_refused() {
        let text = r#"{"type":"record","name":"E","fields":[
            {"name":"id","type":"string","doc":"Id.","default":null},
            {"name":"count","type":"int","doc":"Count.","default":0}]}"#;
        assert!(Schema::parse(SchemaType::Avro, text, &[]).is_err());
        let schema = Schema::parse_with(SchemaType::Avro, text, &[], crate::schema::ParseOptions::LENIENT).unwrap();
        let findings: Vec<(&str, String)> = lint_schema(&schema).into_iter().map(|f| (f.rule, f.pointer)).collect();
        assert_eq!(findings, vec![("DEFAULT_MISMATCH", "/fields/0/default".to_string())]);
        let fine = Schema::parse(SchemaType::Avro, r#"{"type":"record","name":"E","fields":[]}"#, &[]).unwrap();
        assert!(lint_schema(&fine).is_empty());
    }

    #[test]
    fn case_styles_are_told_apart() {
        assert_eq!(case_of("order_id"), Some(Case::Snake));
        assert_eq!(case_of("orderId"), Some(Case::Camel));
        assert_eq!(case_of("OrderId"), Some(Case::Pascal));
        assert_eq!(case_of("total"), None);
        assert_eq!(case_of("order-id"), None);
    }
}
