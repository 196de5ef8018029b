//! Which subject governs a key or value: the topic's subject name strategies, as Confluent's
//! serializers apply them. Pure: a topic's settings and a parsed schema in, a subject out.

use crate::broker::topic::{SubjectStrategy, TopicConfig};
use crate::schema::Schema;

use super::Part;

/// The strategy the topic names `part`'s subject with.
pub fn strategy(topic: &TopicConfig, part: Part) -> SubjectStrategy {
    match part {
        Part::Key => topic.key_subject_strategy,
        Part::Value => topic.value_subject_strategy,
    }
}

/// The subject the topic configures for `part`: TopicNameStrategy's subject.
pub fn configured(topic: &TopicConfig, part: Part) -> &str {
    match part {
        Part::Key => &topic.key_subject,
        Part::Value => &topic.value_subject,
    }
}

/// Whether records `topic` takes may be governed by `subject`: its configured subject under
/// TopicNameStrategy, `<topic>-…` under TopicRecordNameStrategy, and any subject under
/// RecordNameStrategy (a record's name can be anything).
pub fn may_govern(topic: &TopicConfig, subject: &str) -> bool {
    [Part::Key, Part::Value]
        .into_iter()
        .any(|part| match strategy(topic, part) {
            SubjectStrategy::Topic => configured(topic, part) == subject,
            SubjectStrategy::TopicRecord => subject
                .strip_prefix(topic.name.as_str())
                .is_some_and(|rest| rest.starts_with('-')),
            SubjectStrategy::Record => true,
        })
}

/// The fully qualified name of the record `schema` describes, as Confluent's serializers
/// read it for the record strategies: an Avro schema's top-level named type (record, enum,
/// fixed), a JSON Schema's top-level `title`. A schema without one names no record: the
/// error says why, to follow "refused: ".
pub fn record_name(schema: &Schema) -> Result<String, String> {
    match schema {
        Schema::Avro(avro) => {
            let kind = avro.kind(avro.root());
            kind.name().map(|name| name.full()).ok_or_else(|| {
                format!(
                    "its schema is an Avro {}, which has no name (the record name strategies need a record, enum or fixed)",
                    kind.type_name().to_ascii_lowercase()
                )
            })
        }
        Schema::Json(json) => json
            .annotations(json.root())
            .and_then(|a| a.title.as_deref())
            .filter(|title| !title.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                "its JSON Schema has no \"title\", which the record name strategies use as the record's name"
                    .to_string()
            }),
        // The serializers name the message they write; a schema's first message is the one
        // index path [0] names, and the one its subject is named after.
        Schema::Protobuf(proto) => proto
            .messages()
            .first()
            .map(|m| m.full_name().to_string())
            .ok_or_else(|| "its Protobuf schema declares no message".to_string()),
    }
}

/// The subject a payload framed with `schema` belongs to under a record strategy:
/// RecordNameStrategy's `<record name>`, TopicRecordNameStrategy's `<topic>-<record name>`.
/// `None` under TopicNameStrategy, whose subject does not depend on the schema.
pub fn derived(strategy: SubjectStrategy, topic: &str, schema: &Schema) -> Option<Result<String, String>> {
    match strategy {
        SubjectStrategy::Topic => None,
        SubjectStrategy::Record => Some(record_name(schema)),
        SubjectStrategy::TopicRecord => Some(record_name(schema).map(|name| format!("{topic}-{name}"))),
    }
}

/// The subject a schema should be registered under to be produced as `part` of `topic`:
/// what a serializer with the topic's strategy would register it under.
pub fn for_schema(topic: &TopicConfig, part: Part, schema: &Schema) -> Result<String, String> {
    derived(strategy(topic, part), &topic.name, schema).unwrap_or_else(|| Ok(configured(topic, part).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaType;

    fn parse(schema_type: SchemaType, text: &str) -> Schema {
        Schema::parse(schema_type, text, &[]).unwrap()
    }

    #[test]
    fn records_are_named_as_confluents_serializers_name_them() {
        let avro = parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"Payment","namespace":"com.acme","fields":[]}"#,
        );
        assert_eq!(record_name(&avro).unwrap(), "com.acme.Payment");
        let status = parse(SchemaType::Avro, r#"{"type":"enum","name":"Status","symbols":["A"]}"#);
        assert_eq!(record_name(&status).unwrap(), "Status");
        let json = parse(SchemaType::Json, r#"{"title":"com.acme.Order","type":"object"}"#);
        assert_eq!(record_name(&json).unwrap(), "com.acme.Order");

        let mut topic = TopicConfig::new("payments", 1);
        assert_eq!(for_schema(&topic, Part::Value, &avro).unwrap(), "payments-value");
        topic.value_subject_strategy = SubjectStrategy::Record;
        assert_eq!(for_schema(&topic, Part::Value, &avro).unwrap(), "com.acme.Payment");
        assert_eq!(for_schema(&topic, Part::Key, &avro).unwrap(), "payments-key");
        topic.key_subject_strategy = SubjectStrategy::TopicRecord;
        assert_eq!(for_schema(&topic, Part::Key, &json).unwrap(), "payments-com.acme.Order");
    }

    #[test]
    fn nameless_schemas_name_no_record() {
        let primitive = parse(SchemaType::Avro, r#""string""#);
        let why = record_name(&primitive).unwrap_err();
        assert!(why.contains("Avro string, which has no name"), "{why}");
        let untitled = parse(SchemaType::Json, r#"{"type":"object"}"#);
        assert!(record_name(&untitled).unwrap_err().contains("no \"title\""));
        let blank = parse(SchemaType::Json, r#"{"type":"object","title":" "}"#);
        assert!(record_name(&blank).is_err());
    }
}
