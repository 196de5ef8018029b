//! Topic settings as Kafka configs: what CreateTopics accepts and DescribeConfigs shows.
//! Kafka's own names where Herald has the setting (`retention.ms`, `retention.bytes`),
//! `herald.*` names for Herald's own (validation, durability, subjects), and Kafka's
//! settings that are fixed on this node shown read-only with their values, so admin tools
//! that expect them find them.

use crate::broker::topic::{DurabilityMode, SunsetProduce, TopicConfig, Validation, DEFAULT_RETENTION_MS};

/// Kafka's config types (DescribeConfigs v3+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String = 2,
    Int = 3,
    Long = 5,
}

/// One config as DescribeConfigs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: &'static str,
    pub value: String,
    /// Whether the value is the default (Kafka's source DEFAULT_CONFIG) or set for the topic.
    pub is_default: bool,
    pub read_only: bool,
    pub kind: Kind,
    pub doc: &'static str,
}

/// Kafka's `max.message.bytes` default, the largest batch a producer may send.
pub const MAX_MESSAGE_BYTES: i64 = 1_048_588;

fn entry(name: &'static str, value: String, default: &str, kind: Kind, doc: &'static str) -> Entry {
    Entry {
        name,
        is_default: value == default,
        value,
        read_only: false,
        kind,
        doc,
    }
}

fn fixed(name: &'static str, value: &str, kind: Kind, doc: &'static str) -> Entry {
    Entry {
        name,
        value: value.to_string(),
        is_default: true,
        read_only: true,
        kind,
        doc,
    }
}

fn validation_name(v: Validation) -> &'static str {
    match v {
        Validation::Off => "off",
        Validation::Id => "id",
        Validation::Full => "full",
    }
}

/// Every config of a topic, in a stable order.
pub fn describe(config: &TopicConfig, segment_bytes: u64) -> Vec<Entry> {
    let (durability, interval) = match config.durability {
        DurabilityMode::Sync => ("sync", None),
        DurabilityMode::Interval { interval_ms } => ("interval", Some(interval_ms)),
    };
    vec![
        entry(
            "retention.ms",
            config.retention_ms.to_string(),
            &DEFAULT_RETENTION_MS.to_string(),
            Kind::Long,
            "Records older than this are deleted, a whole segment at a time; -1 keeps them forever.",
        ),
        entry(
            "retention.bytes",
            config.retention_bytes.to_string(),
            "-1",
            Kind::Long,
            "Per partition: the oldest segments are deleted past this size; -1 for no limit.",
        ),
        entry(
            "herald.validation",
            validation_name(config.validation).to_string(),
            "full",
            Kind::String,
            "How produced records are checked against the registry: off, id (the framed schema id is registered under the subject) or full (the payload also decodes with that schema).",
        ),
        entry(
            "herald.durability",
            durability.to_string(),
            "sync",
            Kind::String,
            "sync: a produce is acknowledged after fdatasync; interval: after the write, flushed every herald.durability.interval.ms.",
        ),
        entry(
            "herald.durability.interval.ms",
            interval.map_or_else(String::new, |i| i.to_string()),
            "",
            Kind::Long,
            "The flush interval of interval durability (1 to 60000).",
        ),
        entry(
            "herald.sunset.produce",
            config.sunset_produce.as_str().to_string(),
            "warn",
            Kind::String,
            "Producing under a subject past its sunset (metadata property herald.deprecated): warn (accepted) or refuse.",
        ),
        entry(
            "herald.key.subject",
            config.key_subject.clone(),
            &format!("{}-key", config.name),
            Kind::String,
            "The subject whose schemas keys are checked against (TopicNameStrategy: <topic>-key).",
        ),
        entry(
            "herald.value.subject",
            config.value_subject.clone(),
            &format!("{}-value", config.name),
            Kind::String,
            "The subject whose schemas values are checked against (TopicNameStrategy: <topic>-value).",
        ),
        fixed("cleanup.policy", "delete", Kind::String, "Old segments are deleted; compaction is not offered."),
        fixed("compression.type", "producer", Kind::String, "Batches are stored as the producer compressed them."),
        fixed(
            "max.message.bytes",
            &MAX_MESSAGE_BYTES.to_string(),
            Kind::Int,
            "The largest record batch a producer may send.",
        ),
        fixed(
            "message.timestamp.type",
            "CreateTime",
            Kind::String,
            "Record timestamps are the producer's.",
        ),
        fixed("min.insync.replicas", "1", Kind::Int, "One node holds the one replica."),
        fixed(
            "segment.bytes",
            &segment_bytes.to_string(),
            Kind::Int,
            "Segments roll at this size.",
        ),
    ]
}

/// Applies one config from CreateTopics; the error names the config and says why.
pub fn apply(config: &mut TopicConfig, name: &str, value: Option<&str>, segment_bytes: u64) -> Result<(), String> {
    let Some(value) = value else {
        return Ok(());
    };
    let long = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| format!("{name} must be a whole number, not {v:?}"))
    };
    match name {
        "retention.ms" => config.retention_ms = long(value)?,
        "retention.bytes" => config.retention_bytes = long(value)?,
        "herald.validation" => {
            config.validation = match value {
                "off" => Validation::Off,
                "id" => Validation::Id,
                "full" => Validation::Full,
                other => return Err(format!("herald.validation must be off, id or full, not {other:?}")),
            }
        }
        "herald.durability" => {
            config.durability = match value {
                "sync" => DurabilityMode::Sync,
                "interval" => match config.durability {
                    interval @ DurabilityMode::Interval { .. } => interval,
                    DurabilityMode::Sync => DurabilityMode::Interval { interval_ms: 1000 },
                },
                other => return Err(format!("herald.durability must be sync or interval, not {other:?}")),
            }
        }
        "herald.durability.interval.ms" => {
            let interval_ms = u64::try_from(long(value)?)
                .map_err(|_| format!("herald.durability.interval.ms must be positive, not {value:?}"))?;
            config.durability = DurabilityMode::Interval { interval_ms };
        }
        "herald.sunset.produce" => {
            config.sunset_produce = match value {
                "warn" => SunsetProduce::Warn,
                "refuse" => SunsetProduce::Refuse,
                other => return Err(format!("herald.sunset.produce must be warn or refuse, not {other:?}")),
            }
        }
        "herald.key.subject" => config.key_subject = value.to_string(),
        "herald.value.subject" => config.value_subject = value.to_string(),
        _ => {
            // Kafka's fixed settings may be given with the value they have here.
            return match describe(config, segment_bytes)
                .into_iter()
                .find(|e| e.read_only && e.name == name)
            {
                Some(fixed) if fixed.value == value => Ok(()),
                Some(fixed) => Err(format!(
                    "{name} is fixed at {} on this node, not {value:?}",
                    fixed.value
                )),
                None => Err(format!("{name} is not a topic config this node knows")),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_topic_shows_every_config_as_default() {
        let config = TopicConfig::new("orders", 3);
        let entries = describe(&config, 1 << 30);
        assert!(entries.iter().all(|e| e.is_default), "{entries:#?}");
        let names: Vec<_> = entries.iter().map(|e| e.name).collect();
        assert!(names.contains(&"retention.ms") && names.contains(&"herald.validation"));
    }

    #[test]
    fn configs_apply_and_show_as_set() {
        let mut config = TopicConfig::new("orders", 3);
        apply(&mut config, "retention.ms", Some("60000"), 1 << 30).unwrap();
        apply(&mut config, "herald.validation", Some("id"), 1 << 30).unwrap();
        apply(&mut config, "herald.durability.interval.ms", Some("250"), 1 << 30).unwrap();
        let entries = describe(&config, 1 << 30);
        let get = |n: &str| entries.iter().find(|e| e.name == n).unwrap().clone();
        assert_eq!(get("retention.ms").value, "60000");
        assert!(!get("retention.ms").is_default);
        assert_eq!(get("herald.validation").value, "id");
        assert_eq!(get("herald.durability").value, "interval");
        assert_eq!(get("herald.durability.interval.ms").value, "250");
    }

    #[test]
    fn bad_and_unknown_configs_are_named() {
        let mut config = TopicConfig::new("orders", 3);
        let err = apply(&mut config, "retention.ms", Some("soon"), 1 << 30).unwrap_err();
        assert!(err.contains("retention.ms") && err.contains("soon"), "{err}");
        let err = apply(&mut config, "cleanup.policy", Some("compact"), 1 << 30).unwrap_err();
        assert!(err.contains("cleanup.policy is fixed at delete"), "{err}");
        apply(&mut config, "cleanup.policy", Some("delete"), 1 << 30).unwrap();
        let err = apply(&mut config, "flush.messages", Some("1"), 1 << 30).unwrap_err();
        assert!(err.contains("flush.messages is not a topic config"), "{err}");
        let err = apply(&mut config, "herald.validation", Some("strict"), 1 << 30).unwrap_err();
        assert!(err.contains("off, id or full"), "{err}");
    }
}
