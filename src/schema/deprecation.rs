//! Deprecation with sunset dates: fields and whole subjects retired on a published schedule.
//!
//! Where a deprecation is written, so that every Confluent client round-trips it:
//! - the schema's `metadata.properties`: `herald.deprecated` for the subject and
//!   `herald.deprecated.<field path>` for a field, each `since=2026-11-01;sunset=2027-03-01;
//!   replacement=customer.contact.email;reason=…` (every key optional, dates `YYYY-MM-DD`);
//! - the schema itself: JSON Schema `"deprecated": true`, an Avro field's `"deprecated"`
//!   property, Protobuf `[deprecated = true]` (no dates: deprecated, no sunset set).
//!
//! What it means for a change ([`Deprecations::check_change`]): removing a field before its
//! sunset is refused, even where the compatibility level would allow the removal, since
//! readers were promised the field until then; changing a deprecated field is worth a
//! warning; removing one after its sunset, or one deprecated without a sunset, is the
//! compatibility level's business alone. Pure code: schemas, metadata and a date in.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::fields::{field_rows, FieldRow};
use super::Schema;

/// The metadata property deprecating a whole subject.
pub const SUBJECT_PROPERTY: &str = "herald.deprecated";
/// The prefix of the metadata properties deprecating one field (followed by its path).
pub const FIELD_PROPERTY_PREFIX: &str = "herald.deprecated.";

/// A calendar date (UTC), as deprecations name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// The date `days` days after 1970-01-01.
    pub fn from_unix_days(days: i64) -> Date {
        let (year, month, day) = crate::calendar::civil_from_days(days);
        Date {
            year: year as i32,
            month: u32::from(month),
            day: u32::from(day),
        }
    }

    /// Today, by the system clock (UTC).
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Date::from_unix_days(seconds.div_euclid(86_400))
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(text: &str) -> Result<Date, String> {
        let bad = || format!("{text:?} is not a date: write YYYY-MM-DD");
        let mut parts = text.splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (year, month, day): (i32, u32, u32) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        let days_in_month = u32::from(crate::calendar::days_in_month(i64::from(year), month as u8));
        if day == 0 || day > days_in_month {
            return Err(format!(
                "{text:?} is not a date: {year}-{month:02} has {days_in_month} days"
            ));
        }
        Ok(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One deprecation: when, until when, what to use instead, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deprecation {
    pub since: Option<Date>,
    /// From this day the field (or subject) may be removed, and producing under a subject
    /// past it is warned about or refused.
    pub sunset: Option<Date>,
    pub replacement: Option<String>,
    pub reason: Option<String>,
}

impl FromStr for Deprecation {
    type Err = String;

    /// `since=2026-11-01;sunset=2027-03-01;replacement=…;reason=…`, every key optional; an
    /// empty text deprecates without dates.
    fn from_str(text: &str) -> Result<Deprecation, String> {
        let mut deprecation = Deprecation::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!(
                    "{part:?} is not key=value (since, sunset, replacement, reason)"
                ));
            };
            let value = value.trim();
            match key.trim() {
                "since" => deprecation.since = Some(value.parse()?),
                "sunset" => deprecation.sunset = Some(value.parse()?),
                "replacement" => deprecation.replacement = Some(value.to_string()),
                "reason" => deprecation.reason = Some(value.to_string()),
                other => {
                    return Err(format!(
                        "unknown key {other:?}: use since, sunset, replacement or reason"
                    ))
                }
            }
        }
        if let (Some(since), Some(sunset)) = (deprecation.since, deprecation.sunset) {
            if sunset < since {
                return Err(format!("sunset {sunset} comes before since {since}"));
            }
        }
        Ok(deprecation)
    }
}

impl Deprecation {
    /// Whether `today` is on or past the sunset.
    pub fn is_past_sunset(&self, today: Date) -> bool {
        self.sunset.is_some_and(|sunset| today >= sunset)
    }

    /// One sentence's worth: `deprecated since 2026-11-01, sunset 2027-03-01; use X instead
    /// (reason)`.
    pub fn describe(&self) -> String {
        let mut out = String::from("deprecated");
        if let Some(since) = self.since {
            out.push_str(&format!(" since {since}"));
        }
        match self.sunset {
            Some(sunset) => out.push_str(&format!(", sunset {sunset}")),
            None => out.push_str(", no sunset set"),
        }
        if let Some(replacement) = &self.replacement {
            out.push_str(&format!("; use {replacement} instead"));
        }
        if let Some(reason) = &self.reason {
            out.push_str(&format!(" ({reason})"));
        }
        out
    }
}

/// A schema's deprecations: its subject's, and its fields' by dotted path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deprecations {
    pub subject: Option<Deprecation>,
    pub fields: BTreeMap<String, Deprecation>,
    /// Paths of `herald.deprecated.<path>` properties naming no field of the schema: a
    /// typo, or a field removed since (metadata is inherited from version to version).
    pub unknown: Vec<String>,
}

/// What a change does to deprecated fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecationFinding {
    /// `DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET` (an error) or `DEPRECATED_FIELD_CHANGED` (a
    /// warning).
    pub rule: &'static str,
    pub is_error: bool,
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl Deprecations {
    /// The deprecations of `schema` under `metadata`: its `herald.deprecated*` properties and
    /// the fields the schema itself marks deprecated. A property that does not parse is an
    /// error naming the property; one naming a field the schema does not have is listed in
    /// [`Deprecations::unknown`].
    pub fn of(schema: &Schema, metadata: Option<&Value>) -> Result<Deprecations, String> {
        Deprecations::from_rows(&field_rows(schema, metadata), metadata)
    }

    pub(crate) fn from_rows(rows: &[FieldRow], metadata: Option<&Value>) -> Result<Deprecations, String> {
        let mut deprecations = Deprecations::default();
        for row in rows.iter().filter(|row| row.deprecated) {
            deprecations.fields.insert(row.path.clone(), Deprecation::default());
        }
        let properties = metadata.and_then(|m| m.get("properties")).and_then(Value::as_object);
        for (name, value) in properties.into_iter().flatten() {
            let path = match name.strip_prefix(FIELD_PROPERTY_PREFIX) {
                Some(path) => Some(path),
                None if name == SUBJECT_PROPERTY => None,
                None => continue,
            };
            let text = value.as_str().unwrap_or_default();
            let deprecation: Deprecation = text.parse().map_err(|why| format!("metadata property {name}: {why}"))?;
            match path {
                None => deprecations.subject = Some(deprecation),
                Some(path) if rows.iter().any(|row| row.path == path) => {
                    deprecations.fields.insert(path.to_string(), deprecation);
                }
                Some(path) => deprecations.unknown.push(path.to_string()),
            }
        }
        Ok(deprecations)
    }

    /// The error for the first unknown path not in `known` (the fields of the version
    /// before, which may have been removed since).
    pub fn check_unknown(&self, known: &[String]) -> Result<(), String> {
        match self.unknown.iter().find(|path| !known.contains(path)) {
            None => Ok(()),
            Some(path) => Err(format!(
                "metadata property {FIELD_PROPERTY_PREFIX}{path}: the schema has no field {path} (paths are dotted: customer.email, lines[].sku)"
            )),
        }
    }

    /// What replacing `old` (whose deprecations these are) with `new` does to its deprecated
    /// fields, on `today`.
    pub fn check_change(&self, old: &Schema, new: &Schema, today: Date) -> Vec<DeprecationFinding> {
        let before: BTreeMap<String, FieldRow> =
            field_rows(old, None).into_iter().map(|r| (r.path.clone(), r)).collect();
        let after: BTreeMap<String, FieldRow> =
            field_rows(new, None).into_iter().map(|r| (r.path.clone(), r)).collect();
        let mut findings = Vec::new();
        for (path, deprecation) in &self.fields {
            let Some(was) = before.get(path) else { continue };
            match after.get(path) {
                None if deprecation.sunset.is_some() && !deprecation.is_past_sunset(today) => {
                    let sunset = deprecation.sunset.expect("checked");
                    findings.push(DeprecationFinding {
                        rule: "DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET",
                        is_error: true,
                        field: path.clone(),
                        message: format!(
                            "field {path} is removed before its sunset on {sunset} (today is {today}): it is {}, and readers were promised it until then",
                            deprecation.describe()
                        ),
                        hint: format!("Keep {path} until {sunset}, then remove it."),
                    });
                }
                None => {}
                Some(now)
                    if now.type_label != was.type_label
                        || now.default != was.default
                        || now.required != was.required =>
                {
                    findings.push(DeprecationFinding {
                        rule: "DEPRECATED_FIELD_CHANGED",
                        is_error: false,
                        field: path.clone(),
                        message: format!(
                            "field {path} is changed ({} → {}) though it is {}",
                            was.type_label,
                            now.type_label,
                            deprecation.describe()
                        ),
                        hint: match &deprecation.replacement {
                            Some(replacement) => format!("Leave {path} as it is and change {replacement} instead."),
                            None => format!("Leave {path} as it is until it is removed."),
                        },
                    });
                }
                Some(_) => {}
            }
        }
        findings
    }
}

/// The subject's own deprecation, from its `herald.deprecated` property (`None` without
/// one, or when it does not read: registration refuses such a property by name).
pub fn of_subject(metadata: Option<&Value>) -> Option<Deprecation> {
    let text = metadata?.get("properties")?.get(SUBJECT_PROPERTY)?.as_str()?;
    text.parse().ok()
}

/// Whether `metadata` holds any deprecation property: without one on either side, a change
/// can break no sunset (fields the schema marks deprecated have none), so registration skips
/// the field walk.
pub fn has_properties(metadata: Option<&Value>) -> bool {
    metadata
        .and_then(|m| m.get("properties"))
        .and_then(Value::as_object)
        .is_some_and(|properties| {
            properties
                .keys()
                .any(|k| k == SUBJECT_PROPERTY || k.starts_with(FIELD_PROPERTY_PREFIX))
        })
}

/// Everything a new version is checked for, at registration and in `herald check` alike: its
/// metadata's deprecation properties must read (an error names the bad one), and what it does
/// to the previous version's deprecated fields (under that version's metadata) is reported.
pub fn check_version(
    previous: Option<(&Schema, Option<&Value>)>,
    new: &Schema,
    metadata: Option<&Value>,
    today: Date,
) -> Result<Vec<DeprecationFinding>, String> {
    let known: Vec<String> = previous
        .map(|(old, _)| field_rows(old, None).into_iter().map(|row| row.path).collect())
        .unwrap_or_default();
    Deprecations::of(new, metadata)?.check_unknown(&known)?;
    Ok(match previous {
        Some((old, old_metadata)) => Deprecations::of(old, old_metadata)
            .unwrap_or_default()
            .check_change(old, new, today),
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::SchemaType;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn dates_parse_compare_and_come_from_the_clock() {
        assert!(date("2027-03-01") > date("2026-12-31"));
        assert_eq!(date("2024-02-29").to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "tomorrow",
            "2026-04-31",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert_eq!(Date::from_unix_days(0), date("1970-01-01"));
        assert_eq!(Date::from_unix_days(20_427), date("2025-12-05"));
        assert_eq!(Date::from_unix_days(-1), date("1969-12-31"));
    }

    #[test]
    fn deprecations_parse_with_every_key_optional_and_refuse_what_they_cannot_read() {
        let full: Deprecation = "since=2026-11-01; sunset=2027-03-01;replacement=contact.email;reason=moved"
            .parse()
            .unwrap();
        assert_eq!(full.sunset, Some(date("2027-03-01")));
        assert_eq!(
            full.describe(),
            "deprecated since 2026-11-01, sunset 2027-03-01; use contact.email instead (moved)"
        );
        assert!(full.is_past_sunset(date("2027-03-01")));
        assert!(!full.is_past_sunset(date("2027-02-28")));
        assert_eq!("".parse::<Deprecation>().unwrap(), Deprecation::default());
        assert!("sunset=2027-03-01;since=2027-04-01"
            .parse::<Deprecation>()
            .unwrap_err()
            .contains("before since"));
        assert!("until=2027-03-01"
            .parse::<Deprecation>()
            .unwrap_err()
            .contains("unknown key"));
        assert!("sunset".parse::<Deprecation>().unwrap_err().contains("key=value"));
    }

    fn customer(fields: serde_json::Value) -> Schema {
        let text = json!({"type": "record", "name": "Customer", "fields": fields}).to_string();
        Schema::parse(SchemaType::Avro, &text, &[]).unwrap()
    }

    #[test]
    fn removing_a_field_before_its_sunset_is_an_error_and_changing_one_a_warning() {
        let old = customer(json!([
            {"name": "id", "type": "string"},
            {"name": "email", "type": ["null", "string"], "default": null},
            {"name": "fax", "type": ["null", "string"], "default": null},
            {"name": "note", "type": ["null", "string"], "default": null, "deprecated": true}]));
        let metadata = json!({"properties": {
            "herald.deprecated.email": "since=2026-11-01;sunset=2027-03-01;replacement=contact.email",
            "herald.deprecated.fax": "sunset=2026-01-01",
            "herald.deprecated": "sunset=2028-01-01;replacement=customers.v2",
            "owner": "crm"}});
        let deprecations = Deprecations::of(&old, Some(&metadata)).unwrap();
        assert_eq!(
            deprecations.subject.as_ref().unwrap().replacement.as_deref(),
            Some("customers.v2")
        );
        assert_eq!(deprecations.fields.keys().collect::<Vec<_>>(), ["email", "fax", "note"]);

        // email removed before its sunset; fax after its own; note had no sunset.
        let new = customer(json!([{"name": "id", "type": "string"}]));
        let findings = deprecations.check_change(&old, &new, date("2026-12-05"));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].rule, "DEPRECATED_FIELD_REMOVED_BEFORE_SUNSET");
        assert!(findings[0]
            .message
            .contains("before its sunset on 2027-03-01 (today is 2026-12-05)"));
        assert!(deprecations.check_change(&old, &new, date("2027-03-01")).is_empty());

        let changed = customer(json!([
            {"name": "id", "type": "string"},
            {"name": "email", "type": ["null", "string", "int"], "default": null},
            {"name": "fax", "type": ["null", "string"], "default": null},
            {"name": "note", "type": ["null", "string"], "default": null, "deprecated": true}]));
        let findings = deprecations.check_change(&old, &changed, date("2026-12-05"));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(
            (findings[0].rule, findings[0].is_error),
            ("DEPRECATED_FIELD_CHANGED", false)
        );
        assert!(findings[0].hint.contains("change contact.email instead"));
    }

    #[test]
    fn bad_deprecation_properties_are_refused_naming_the_property() {
        let schema = customer(json!([{"name": "id", "type": "string"}]));
        let metadata = json!({"properties": {"herald.deprecated.email": "sunset=2027-03-01"}});
        let deprecations = Deprecations::of(&schema, Some(&metadata)).unwrap();
        assert_eq!(deprecations.unknown, ["email"]);
        let err = deprecations.check_unknown(&[]).unwrap_err();
        assert!(
            err.contains("herald.deprecated.email: the schema has no field email"),
            "{err}"
        );
        assert!(
            deprecations.check_unknown(&["email".to_string()]).is_ok(),
            "removed since"
        );
        let err = Deprecations::of(
            &schema,
            Some(&json!({"properties": {"herald.deprecated": "sunset=soon"}})),
        )
        .unwrap_err();
        assert!(
            err.contains("metadata property herald.deprecated: \"soon\" is not a date"),
            "{err}"
        );
    }
}
