//! Writing the records data-contract rules divert (`onFailure: DLQ`) to their dead-letter
//! topics, for every door: the record as its producer sent it (key, value, timestamp and
//! headers) plus Confluent's rule headers, so tools written for its client-side DLQ action
//! read Herald's dead letters unchanged:
//!
//! | header | value |
//! |---|---|
//! | `__rule.name` | the rule |
//! | `__rule.mode` | `WRITE` (rules run on produce) |
//! | `__rule.subject` | the subject whose rule set holds the rule |
//! | `__rule.topic` | the topic the record was produced to |
//! | `__rule.exception` | why the rule failed |
//!
//! Dead letters are written as they are, past the dead-letter topic's own contract gate: they
//! are the records that failed a contract. A door resolves the letters' topics before
//! anything is written (a missing topic refuses the produce like a failed rule) and writes
//! them, durable under their topics' durability, before it acknowledges the produce.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{DeadLetter, Judgement, Problem};
use crate::broker::batch::Record;
use crate::broker::{Broker, BrokerError, Topic};

/// Where a dead letter was written, and by which rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub topic: String,
    pub partition: u32,
    pub offset: i64,
    pub rule: String,
}

/// Dead letters whose topics exist, ready to write.
#[derive(Default)]
pub struct Resolved {
    letters: Vec<(DeadLetter, Arc<Topic>)>,
}

impl Resolved {
    /// The records diverted, by their index in the produce unit, in order.
    pub fn indexes(&self) -> Vec<usize> {
        self.letters.iter().map(|(letter, _)| letter.index).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.letters.is_empty()
    }
}

/// What a door does with a judgement: the letters to write (their topics found), or every
/// problem that refuses the unit, in record order: the gate's, and each letter's whose
/// topic does not exist (nothing is written then, nothing lost).
pub fn resolve(broker: &Broker, judgement: Judgement) -> Result<Resolved, Vec<Problem>> {
    let mut problems = judgement.problems;
    let mut letters = Vec::with_capacity(judgement.dead_letters.len());
    for letter in judgement.dead_letters {
        match broker.topic(&letter.topic) {
            Ok(topic) => letters.push((letter, topic)),
            Err(_) => problems.push(Problem {
                index: letter.index,
                part: letter.part,
                path: None,
                reason: format!(
                    "rule {} failed: {} (its onFailure is DLQ, but its dead-letter topic '{}' does not exist)",
                    letter.rule, letter.reason, letter.topic
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(Resolved { letters })
    } else {
        problems.sort_by_key(|p| p.index);
        Err(problems)
    }
}

/// The letters bound for one partition of one dead-letter topic: appended as one batch.
struct Batch {
    topic: Arc<Topic>,
    /// Each letter's place in the answer, and its rule.
    letters: Vec<(usize, String)>,
    records: Vec<Record>,
}

/// Writes the letters, `records[i]` being the record of the `i`-th letter as produced to
/// `source_topic`, and answers where each went, in the letters' order.
pub async fn write(
    resolved: Resolved,
    source_topic: &str,
    records: Vec<Record>,
) -> Result<Vec<Placement>, BrokerError> {
    let mut placements = vec![None; resolved.letters.len()];
    let mut batches: BTreeMap<(String, u32), Batch> = BTreeMap::new();
    for (i, ((letter, topic), mut record)) in resolved.letters.into_iter().zip(records).enumerate() {
        let rule = letter.rule.clone();
        for (name, value) in [
            ("__rule.name", letter.rule),
            ("__rule.mode", "WRITE".to_string()),
            ("__rule.subject", letter.subject),
            ("__rule.topic", source_topic.to_string()),
            ("__rule.exception", letter.reason),
        ] {
            record.headers.push((name.to_string(), Some(value.into_bytes())));
        }
        let partition = topic.partition_for(record.key.as_deref());
        let batch = batches
            .entry((topic.config.name.clone(), partition))
            .or_insert_with(|| Batch {
                topic: topic.clone(),
                letters: Vec::new(),
                records: Vec::new(),
            });
        batch.letters.push((i, rule));
        batch.records.push(record);
    }
    for ((name, partition), batch) in batches {
        let (first, _) = batch.topic.produce(partition, &batch.records).await?;
        for (n, (i, rule)) in batch.letters.into_iter().enumerate() {
            placements[i] = Some(Placement {
                topic: name.clone(),
                partition,
                offset: first + n as i64,
                rule,
            });
        }
    }
    Ok(placements.into_iter().flatten().collect())
}
