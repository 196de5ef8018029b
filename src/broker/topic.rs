//! Topic metadata: names, partitions, retention, validation and the subjects that govern the
//! topic's keys and values. Stored as `topic.json` in the topic's directory.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Seven days, Kafka's default retention.
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
pub const MAX_PARTITIONS: u32 = 1024;
/// Kafka's default `max.message.bytes`: the largest record batch a producer may append.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1_048_588;
/// The bounds of `max_message_bytes`: room for a batch header and a small record, and at
/// most what a Kafka request frame may carry here.
pub const MAX_MESSAGE_BYTES_RANGE: std::ops::RangeInclusive<u32> = 1024..=64 * 1024 * 1024;

fn default_max_message_bytes() -> u32 {
    DEFAULT_MAX_MESSAGE_BYTES
}

/// How records are checked against the registry before they are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validation {
    /// Nothing is checked.
    Off,
    /// Framed payloads must carry a schema id registered under the subject.
    Id,
    /// Payloads must also decode with (or, for JSON, validate against) the schema.
    #[default]
    Full,
}

/// What producing under a subject past its sunset (metadata property `herald.deprecated`)
/// gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SunsetProduce {
    /// Accepted; HTTP producers get a `Herald-Deprecated` header saying so.
    #[default]
    Warn,
    /// Refused, naming the subject, its sunset and its replacement.
    Refuse,
}

impl SunsetProduce {
    pub fn as_str(self) -> &'static str {
        match self {
            SunsetProduce::Warn => "warn",
            SunsetProduce::Refuse => "refuse",
        }
    }

    fn is_default(&self) -> bool {
        *self == SunsetProduce::Warn
    }
}

/// How the subject that governs a topic's keys or values is named, as Confluent's
/// serializers name it (`key.subject.name.strategy`, `value.subject.name.strategy`). Stored as
/// `topic`, `record` or `topic_record`; the class short names Confluent's clients configure
/// (`TopicNameStrategy`, …) are read as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SubjectStrategy {
    /// The topic's configured subject (`<topic>-key`, `<topic>-value` unless set otherwise).
    #[default]
    #[serde(rename = "topic", alias = "TopicNameStrategy")]
    Topic,
    /// The fully qualified name of the record the payload's schema describes: one topic can
    /// carry several record types, each with its own subject.
    #[serde(rename = "record", alias = "RecordNameStrategy")]
    Record,
    /// `<topic>-<record name>`: several record types, subjects kept apart per topic.
    #[serde(rename = "topic_record", alias = "TopicRecordNameStrategy")]
    TopicRecord,
}

impl SubjectStrategy {
    /// The short class name Confluent's clients configure, as the topic API shows it.
    pub fn class_name(self) -> &'static str {
        match self {
            SubjectStrategy::Topic => "TopicNameStrategy",
            SubjectStrategy::Record => "RecordNameStrategy",
            SubjectStrategy::TopicRecord => "TopicRecordNameStrategy",
        }
    }

    pub fn is_topic(&self) -> bool {
        *self == SubjectStrategy::Topic
    }
}

/// When a produce is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum DurabilityMode {
    /// After fdatasync.
    #[default]
    Sync,
    /// After the write; flushed every `interval_ms` (acknowledged records in that window can
    /// be lost in a power failure).
    Interval { interval_ms: u64 },
}

/// A named example event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicExample {
    pub name: String,
    pub value: serde_json::Value,
}

/// At most this many examples per topic, each at most this many bytes of JSON: examples
/// illustrate, they are not a data store.
pub const MAX_EXAMPLES: usize = 20;
pub const MAX_EXAMPLE_BYTES: usize = 64 * 1024;

/// A topic's settings, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub name: String,
    pub partitions: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// How to reach the owner (a channel, an address), for the docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Example events for the docs; shown only while they validate against the current
    /// value schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<TopicExample>,
    /// Records older than this go, a whole segment at a time; -1 keeps them forever.
    pub retention_ms: i64,
    /// Per partition; -1 for no limit.
    pub retention_bytes: i64,
    #[serde(default)]
    pub validation: Validation,
    /// Subjects checked on produce; TopicNameStrategy (`<topic>-key`, `<topic>-value`) unless
    /// set otherwise.
    pub key_subject: String,
    pub value_subject: String,
    /// How the subject checked for keys is named; `key_subject` is it only under
    /// [`SubjectStrategy::Topic`]. Left out of `topic.json` when it is the default, so files
    /// written before it existed and after read alike.
    #[serde(default, skip_serializing_if = "SubjectStrategy::is_topic")]
    pub key_subject_strategy: SubjectStrategy,
    /// The same for values.
    #[serde(default, skip_serializing_if = "SubjectStrategy::is_topic")]
    pub value_subject_strategy: SubjectStrategy,
    #[serde(default)]
    pub durability: DurabilityMode,
    /// The largest record batch a Kafka producer may append, in bytes as sent (compressed);
    /// larger ones are refused as too large. Kafka's `max.message.bytes`.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u32,
    /// What producing under a subject past its sunset gets.
    #[serde(default, skip_serializing_if = "SunsetProduce::is_default")]
    pub sunset_produce: SunsetProduce,
}

impl TopicConfig {
    /// A topic with the defaults: 7 days, no size limit, full validation, TopicNameStrategy.
    pub fn new(name: &str, partitions: u32) -> TopicConfig {
        TopicConfig {
            name: name.to_string(),
            partitions,
            description: None,
            owner: None,
            contact: None,
            tags: Vec::new(),
            examples: Vec::new(),
            retention_ms: DEFAULT_RETENTION_MS,
            retention_bytes: -1,
            validation: Validation::default(),
            key_subject: format!("{name}-key"),
            value_subject: format!("{name}-value"),
            key_subject_strategy: SubjectStrategy::Topic,
            value_subject_strategy: SubjectStrategy::Topic,
            durability: DurabilityMode::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            sunset_produce: SunsetProduce::Warn,
        }
    }

    pub fn retention_age(&self) -> Option<Duration> {
        u64::try_from(self.retention_ms).ok().map(Duration::from_millis)
    }

    pub fn retention_size(&self) -> Option<u64> {
        u64::try_from(self.retention_bytes).ok()
    }

    /// Checks every setting; the message names the field.
    pub fn check(&self) -> Result<(), TopicError> {
        check_name(&self.name)?;
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return Err(TopicError::Invalid(format!(
                "partitions must be between 1 and {MAX_PARTITIONS}, not {}",
                self.partitions
            )));
        }
        if self.retention_ms < -1 || self.retention_ms == 0 {
            return Err(TopicError::Invalid(format!(
                "retention_ms must be positive, or -1 to keep records forever, not {}",
                self.retention_ms
            )));
        }
        if self.retention_bytes < -1 || self.retention_bytes == 0 {
            return Err(TopicError::Invalid(format!(
                "retention_bytes must be positive, or -1 for no limit, not {}",
                self.retention_bytes
            )));
        }
        if self.examples.len() > MAX_EXAMPLES {
            return Err(TopicError::Invalid(format!(
                "examples: at most {MAX_EXAMPLES} examples per topic, not {}",
                self.examples.len()
            )));
        }
        for (index, example) in self.examples.iter().enumerate() {
            if example.name.trim().is_empty() {
                return Err(TopicError::Invalid(format!("examples[{index}].name must not be empty")));
            }
            if example.value.to_string().len() > MAX_EXAMPLE_BYTES {
                return Err(TopicError::Invalid(format!(
                    "examples[{index}] ({}) is larger than {MAX_EXAMPLE_BYTES} bytes",
                    example.name
                )));
            }
        }
        if let DurabilityMode::Interval { interval_ms } = self.durability {
            if interval_ms == 0 || interval_ms > 60_000 {
                return Err(TopicError::Invalid(format!(
                    "durability interval_ms must be between 1 and 60000, not {interval_ms}"
                )));
            }
        }
        if !MAX_MESSAGE_BYTES_RANGE.contains(&self.max_message_bytes) {
            return Err(TopicError::Invalid(format!(
                "max_message_bytes must be between {} and {}, not {}",
                MAX_MESSAGE_BYTES_RANGE.start(),
                MAX_MESSAGE_BYTES_RANGE.end(),
                self.max_message_bytes
            )));
        }
        for (field, subject) in [
            ("key_subject", &self.key_subject),
            ("value_subject", &self.value_subject),
        ] {
            // `__GLOBAL` is the registry's key for its global config, not a subject.
            if subject.is_empty() || subject.chars().any(char::is_control) || subject == "__GLOBAL" {
                return Err(TopicError::Invalid(format!(
                    "{field} {subject:?} is not a valid subject"
                )));
            }
        }
        for (index, tag) in self.tags.iter().enumerate() {
            if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(TopicError::Invalid(format!(
                    "tags[{index}] {tag:?} must be a non-empty word without spaces"
                )));
            }
            if self.tags[..index].contains(tag) {
                return Err(TopicError::Invalid(format!("tags[{index}] {tag:?} is listed twice")));
            }
        }
        Ok(())
    }
}

/// Kafka's topic-name rules, checked before a name touches the file system: ASCII letters,
/// digits, `.`, `_` and `-`, at most 249 characters, not `.` or `..`.
pub fn check_name(name: &str) -> Result<(), TopicError> {
    let why = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("cannot be \".\" or \"..\"")
    } else if name.len() > 249 {
        Some("is longer than 249 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("may contain only ASCII letters, digits, '.', '_' and '-'")
    } else {
        None
    };
    match why {
        Some(why) => Err(TopicError::InvalidName(format!("topic name {name:?} {why}"))),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    InvalidName(String),
    Invalid(String),
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::InvalidName(m) | TopicError::Invalid(m) => f.write_str(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kafkas_rules() {
        for good in ["payments", "payment.completed", "a_b-c.9", &"x".repeat(249)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../etc", "a b", "tôpic", &"x".repeat(250), "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert!(TopicConfig::new("t", 3).check().is_ok());
        let mut config = TopicConfig::new("t", 0);
        assert!(config.check().unwrap_err().to_string().contains("partitions"));
        config.partitions = 1;
        config.retention_ms = 0;
        assert!(config.check().unwrap_err().to_string().contains("retention_ms"));
        config.retention_ms = -1;
        config.durability = DurabilityMode::Interval { interval_ms: 0 };
        assert!(config.check().unwrap_err().to_string().contains("interval_ms"));
        config.durability = DurabilityMode::Sync;
        config.max_message_bytes = 10;
        assert!(config.check().unwrap_err().to_string().contains("max_message_bytes"));
    }

    #[test]
    fn settings_saved_before_max_message_bytes_read_with_kafkas_default() {
        let old = r#"{"name": "t", "partitions": 1, "retention_ms": -1, "retention_bytes": -1,
            "key_subject": "t-key", "value_subject": "t-value"}"#;
        let config: TopicConfig = serde_json::from_str(old).unwrap();
        assert_eq!(config.max_message_bytes, 1_048_588);
        assert!(config.check().is_ok());
    }

    #[test]
    fn subject_strategies_default_to_the_topic_and_stay_out_of_old_files() {
        let config = TopicConfig::new("t", 1);
        let text = serde_json::to_string(&config).unwrap();
        assert!(!text.contains("strategy"), "{text}");
        let read: TopicConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(read.value_subject_strategy, SubjectStrategy::Topic);

        let mut config = config;
        config.value_subject_strategy = SubjectStrategy::TopicRecord;
        let text = serde_json::to_string(&config).unwrap();
        assert!(text.contains(r#""value_subject_strategy":"topic_record""#), "{text}");
        assert_eq!(serde_json::from_str::<TopicConfig>(&text).unwrap(), config);
        let class: SubjectStrategy = serde_json::from_str(r#""RecordNameStrategy""#).unwrap();
        assert_eq!(class, SubjectStrategy::Record);
        assert!(serde_json::from_str::<SubjectStrategy>(r#""records""#).is_err());
    }
}
