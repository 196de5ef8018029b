//! The contract gate: every record's key and value judged against the registry before
//! anything is written, for every door records come in by (the REST Proxy routes, the Kafka
//! listener). One gate, so a record refused at one door is refused at the other, with the
//! same reason.
//!
//! What a topic asks ([`Validation`]):
//! - `off`: nothing is checked;
//! - `id`: a payload is framed (magic byte 0, a big-endian u32 schema id) with an id
//!   registered under its subject;
//! - `full`: the body after the framing also decodes with the schema (Avro binary) or is
//!   valid against it (JSON Schema).
//!
//! Which subject ([`SubjectStrategy`], per key and value): the topic's configured one
//! (TopicNameStrategy; while nothing is registered under it there is nothing to check), or
//! one named after the record the framed id's schema describes (RecordNameStrategy,
//! TopicRecordNameStrategy; then every payload must be framed). Tombstones (no payload)
//! always pass. Unframed JSON ([`Encoding::Json`], the REST Proxy's JSON format) carries no
//! id to check, so in `id` and `full` mode alike it is validated against the topic subject's
//! latest schema, which must be a JSON Schema.
//!
//! Data-contract rules ([`crate::validate::rules`]): in `full` mode, a record that passed
//! its schema is decoded to plain values and its schema's CEL and CEL_FIELD CONDITION rules
//! (mode WRITE or WRITEREAD, rule set enabled for the server) run on it. A failing rule whose
//! `onFailure` is `ERROR` refuses the record naming the rule; `NONE` only counts. `DLQ`
//! writes the record, as produced, to the rule's `dlq.topic` instead of its own: the gate
//! names the records ([`DeadLetter`]) and the doors write them ([`dead_letter::write`]) before
//! appending the rest.
//! Every outcome is counted per subject and rule ([`Gate::rule_counts`]).

pub mod dead_letter;
pub mod readers;
pub mod subject;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::broker::topic::{SubjectStrategy, SunsetProduce, TopicConfig, Validation};
use crate::registry::context::context_of;
use crate::registry::{schema_id_in_range, Context, Registry, RegistryError, StoredSchema, VersionSpec, MAX_ID};
use crate::schema::{deprecation, Schema, SchemaType};
use crate::validate::rules::{Action, Message, WriteRules};
use crate::validate::{framed_id, JsonValidator, Violation};

/// Which half of a record a payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    Key,
    Value,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Key => "key",
            Part::Value => "value",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the payloads of a produce unit are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// As a Kafka client or the REST binary and Avro formats send them: Confluent's framing,
    /// magic byte 0, the schema id as a big-endian u32, then the body.
    Framed,
    /// The REST Proxy JSON format's unframed JSON text, judged against the subject's latest
    /// JSON Schema.
    Json,
}

/// One record's key and value as the gate reads them; `None` is a null (a tombstone value).
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Why one payload of a produce unit is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The record's position in the unit.
    pub index: usize,
    pub part: Part,
    /// JSON pointer into the payload (`""` for the whole of it), when the problem is inside
    /// the payload rather than about its framing or subject.
    pub path: Option<String>,
    pub reason: String,
}

impl Problem {
    /// One line naming the part, the place in it and the reason, e.g. `value /amount: "x" is
    /// not of type "number"`: what a Kafka client shows in its record errors.
    pub fn message(&self) -> String {
        match self.path.as_deref() {
            Some(path) if !path.is_empty() => format!("{} {path}: {}", self.part, self.reason),
            _ => format!("{}: {}", self.part, self.reason),
        }
    }
}

/// A record a data-contract rule sends to a dead-letter topic instead of its own: written
/// there as produced, with Confluent's `__rule.*` headers, and the produce accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The record's position in the unit.
    pub index: usize,
    /// The part whose rule failed.
    pub part: Part,
    /// The rule whose `onFailure` is DLQ.
    pub rule: String,
    /// The subject whose rule set holds it.
    pub subject: String,
    /// The rule's `dlq.topic`.
    pub topic: String,
    /// Why the rule failed (its doc or expression).
    pub reason: String,
}

/// What the gate says of a produce unit: the payloads it refuses (any refusal refuses the
/// unit) and the records rules divert to dead-letter topics, at most one letter per record,
/// in record order: written only when nothing is refused ([`dead_letter::resolve`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    pub problems: Vec<Problem>,
    pub dead_letters: Vec<DeadLetter>,
    /// What the producer should hear though nothing is refused: a subject past its sunset
    /// (its topic's `sunset_produce` is `warn`), once per subject.
    pub warnings: Vec<String>,
}

/// Why the gate could not judge: never the client's fault.
#[derive(Debug)]
pub enum GateError {
    /// The registry could not answer.
    Registry(RegistryError),
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::Registry(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for GateError {}

impl From<RegistryError> for GateError {
    fn from(err: RegistryError) -> Self {
        GateError::Registry(err)
    }
}

/// The gate. One per process, shared by every door (it caches compiled JSON Schemas).
pub struct Gate {
    registry: Registry,
    /// Compiled JSON Schemas by schema context and id. Content under an id never changes,
    /// so entries never go stale.
    json_validators: Mutex<HashMap<(Context, i64), Arc<JsonValidator>>>,
    /// Compiled write rules by schema context and id (a rule set is part of a schema id's
    /// content, so entries never go stale either).
    write_rules: Mutex<HashMap<(Context, i64), Arc<WriteRules>>>,
    /// Rule outcome counters by subject and schema id, shared with the verdicts that count.
    rule_counters: Mutex<HashMap<(String, Context, i64), Arc<RuleCounters>>>,
    /// Records produced under a subject past its sunset, per subject: (warned, refused).
    /// The Kafka door has no way to carry the warning to its producer; operators see it
    /// here.
    sunset_counts: Mutex<HashMap<String, (u64, u64)>>,
}

/// The outcomes of one rule set's rules under one subject: per rule, one counter per
/// [`Outcome`]. Atomics: a record only increments.
struct RuleCounters {
    subject: String,
    rules: Vec<(String, [AtomicU64; OUTCOMES.len()])>,
}

/// A rule's outcome on one payload, as counted (the index into a rule's counters).
#[derive(Clone, Copy)]
enum Outcome {
    Passed,
    /// Refused the record.
    Failed,
    /// Failed with onFailure NONE.
    Counted,
    /// Failed with onFailure DLQ: the record went to the rule's dead-letter topic.
    DeadLettered,
}

const OUTCOMES: [&str; 4] = ["passed", "failed", "counted", "dead_lettered"];

/// The rules a verdict's payloads must also pass, with where their outcomes are counted.
#[derive(Clone)]
struct Rules {
    rules: Arc<WriteRules>,
    counters: Arc<RuleCounters>,
}

/// Payloads up to this size are validated on the caller's task (microseconds of work);
/// larger ones, whose validation takes time in proportion, on a blocking thread, so that a
/// few huge records do not hold up the async workers and every other request with them.
const INLINE_VALIDATION_BYTES: usize = 64 * 1024;

/// What a payload must pass once its subject and schema are settled. Worked out once per
/// produce unit for each part (unframed JSON) or each framed schema id, then applied to
/// every payload it governs: a unit of a thousand records with one id asks the registry once.
enum Verdict {
    /// Admitted, whatever the body.
    Admitted,
    /// Refused, whatever the body, for this reason.
    Refused(String),
    /// Admitted if the body is valid against this JSON Schema (and passes the rules).
    Json(Arc<JsonValidator>, Option<Rules>),
    /// Admitted if the body decodes with this schema (with its id): one Avro datum, or a
    /// Protobuf message index path and the message it names (and passes the rules).
    Decodes(Arc<Schema>, u32, Option<Rules>),
}

/// One part's rules during one [`Gate::judge`] call.
struct PartRules<'t> {
    part: Part,
    strategy: SubjectStrategy,
    /// The configured subject (TopicNameStrategy's).
    subject: &'t str,
    /// TopicNameStrategy: whether anything is registered under the subject; asked once.
    registered: Option<Option<StoredSchema>>,
    /// Unframed JSON's verdict; worked out once.
    json: Option<Verdict>,
    /// Framed ids met so far, with their verdicts.
    ids: HashMap<u32, Verdict>,
    /// TopicNameStrategy: what to say when the subject is past its sunset; worked out once.
    sunset: Option<Option<String>>,
}

impl Gate {
    pub fn new(registry: Registry) -> Gate {
        Gate {
            registry,
            json_validators: Mutex::default(),
            write_rules: Mutex::default(),
            rule_counters: Mutex::default(),
            sunset_counts: Mutex::default(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Judges every record (key, value) of one produce unit for `topic` before anything is
    /// written. Problems come in record order, a record's key before its value.
    pub async fn judge(
        &self,
        topic: &TopicConfig,
        encoding: Encoding,
        records: &[KeyValue<'_>],
    ) -> Result<Judgement, GateError> {
        let mut judgement = Judgement::default();
        if topic.validation == Validation::Off {
            return Ok(judgement);
        }
        let mut key = PartRules::new(topic, Part::Key);
        let mut value = PartRules::new(topic, Part::Value);
        for (index, &(k, v)) in records.iter().enumerate() {
            for (rules, payload) in [(&mut key, k), (&mut value, v)] {
                if let Some(bytes) = payload {
                    self.payload(topic, encoding, rules, index, bytes, &mut judgement)
                        .await?;
                }
            }
        }
        // A record whose key and value both divert is written to the dead-letter topic once.
        judgement.dead_letters.dedup_by_key(|letter| letter.index);
        Ok(judgement)
    }

    /// Judges one payload, adding its problems and dead letters to `out`.
    async fn payload(
        &self,
        topic: &TopicConfig,
        encoding: Encoding,
        rules: &mut PartRules<'_>,
        index: usize,
        bytes: &[u8],
        out: &mut Judgement,
    ) -> Result<(), GateError> {
        let part = rules.part;
        let refuse = |reason: String| Problem {
            index,
            part,
            path: None,
            reason,
        };
        if rules.strategy == SubjectStrategy::Topic {
            if rules.registered.is_none() {
                rules.registered = Some(self.latest(rules.subject).await?);
            }
            if matches!(rules.registered, Some(None)) {
                // Nothing registered under the subject: nothing to check against.
                return Ok(());
            }
            if rules.sunset.is_none() {
                let latest = rules.registered.as_ref().and_then(Option::as_ref);
                rules.sunset = Some(latest.and_then(|latest| past_sunset(rules.subject, latest)));
            }
            if let Some(Some(notice)) = &rules.sunset {
                self.count_sunset(rules.subject, topic.sunset_produce);
                match topic.sunset_produce {
                    SunsetProduce::Refuse => {
                        out.problems.push(refuse(notice.clone()));
                        return Ok(());
                    }
                    SunsetProduce::Warn if !out.warnings.contains(notice) => out.warnings.push(notice.clone()),
                    SunsetProduce::Warn => {}
                }
            }
        }
        let (verdict, body) = match encoding {
            Encoding::Json => {
                if rules.json.is_none() {
                    rules.json = Some(self.json_verdict(rules).await?);
                }
                (rules.json.as_ref(), bytes)
            }
            Encoding::Framed => {
                let Some(id) = framed_id(bytes) else {
                    out.problems.push(refuse(not_framed(rules)));
                    return Ok(());
                };
                if !schema_id_in_range(i64::from(id)) {
                    out.problems.push(refuse(format!(
                        "the framing names schema id {id}, out of range: schema ids are between 1 and {MAX_ID} (2^31-1)"
                    )));
                    return Ok(());
                }
                if !rules.ids.contains_key(&id) {
                    let verdict = self.id_verdict(topic, rules, id).await?;
                    rules.ids.insert(id, verdict);
                }
                (rules.ids.get(&id), &bytes[5..])
            }
        };
        let Some(verdict) = verdict else {
            return Ok(());
        };
        match verdict {
            Verdict::Admitted => {}
            Verdict::Refused(reason) => out.problems.push(refuse(reason.clone())),
            Verdict::Json(validator, rules) => {
                let problem = |v: Violation| Problem {
                    index,
                    part,
                    path: Some(v.path),
                    reason: v.reason,
                };
                match rules {
                    // With rules, a body of inline size is parsed once, for its schema and
                    // its rules.
                    Some(rules) if body.len() <= INLINE_VALIDATION_BYTES => match validator.parse_valid(body) {
                        Ok(message) => self.apply_rules(rules, (&message).into(), None, index, part, out),
                        Err(violations) => out.problems.extend(violations.into_iter().map(problem)),
                    },
                    _ => {
                        let before = out.problems.len();
                        out.problems
                            .extend(check_json(validator.clone(), body).await.into_iter().map(problem));
                        if let (Some(rules), true) = (rules, out.problems.len() == before) {
                            if let Ok(message) = serde_json::from_slice::<serde_json::Value>(body) {
                                self.apply_rules(rules, (&message).into(), None, index, part, out);
                            }
                        }
                    }
                }
            }
            Verdict::Decodes(schema, id, rules) => {
                // With rules, an Avro body is decoded once, as far as they read: the decoding
                // checks what the check would (one walk for both).
                let checked = match (schema.as_ref(), rules) {
                    (Schema::Avro(avro), Some(rules)) => rules.rules.decode_avro(avro, body).map(Some),
                    _ => check_decodes(schema.clone(), body).await.map(|()| None),
                };
                match (checked, rules) {
                    (Err(v), _) => out.problems.push(Problem {
                        index,
                        part,
                        path: Some(v.path),
                        reason: format!("does not decode with schema {id}: {}", v.reason),
                    }),
                    (Ok(Some(message)), Some(rules)) => self.apply_rules(rules, message, None, index, part, out),
                    (Ok(None), Some(rules)) => match plain(schema, body) {
                        Ok((record_type, message)) => {
                            self.apply_rules(rules, (&message).into(), record_type.as_deref(), index, part, out)
                        }
                        Err(v) => out
                            .problems
                            .push(refuse(format!("cannot be read for its rules: {}", v.reason))),
                    },
                    (Ok(_), None) => {}
                }
            }
        }
        Ok(())
    }

    /// Runs a verdict's rules on one decoded payload, counting every outcome.
    fn apply_rules(
        &self,
        rules: &Rules,
        message: Message<'_>,
        record_type: Option<&str>,
        index: usize,
        part: Part,
        out: &mut Judgement,
    ) {
        let failures = rules.rules.check_as(message, record_type);
        // As a client's rule executor: rules run in order and the first failure whose action
        // is not NONE decides. DLQ diverts the record (to the rule's `dlq.topic`; without
        // one it cannot, and the record is refused); ERROR refuses it, naming every ERROR
        // rule it fails.
        let decisive = failures.iter().find(|f| f.action != Action::None);
        let diverted = decisive
            .filter(|f| f.action == Action::DeadLetter)
            .and_then(|f| f.dead_letter_topic.as_deref().map(|topic| (f, topic)));
        for (name, (_, counts)) in rules.rules.names().zip(&rules.counters.rules) {
            let outcome = match failures.iter().find(|f| f.rule == name) {
                None => Outcome::Passed,
                Some(f) if f.action == Action::None => Outcome::Counted,
                Some(f) if diverted.is_some_and(|(d, _)| std::ptr::eq(d, f)) => Outcome::DeadLettered,
                Some(_) => Outcome::Failed,
            };
            counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
        }
        if let Some((failure, topic)) = diverted {
            out.dead_letters.push(DeadLetter {
                index,
                part,
                rule: failure.rule.clone(),
                subject: rules.counters.subject.clone(),
                topic: topic.to_string(),
                reason: failure.message.clone(),
            });
            return;
        }
        let refusing = |f: &&crate::validate::rules::Failure| match decisive {
            Some(d) if d.action == Action::DeadLetter => std::ptr::eq(*f, d),
            _ => f.action == Action::Error,
        };
        for failure in failures.iter().filter(refusing) {
            let note = match failure.action {
                Action::DeadLetter => {
                    " (its onFailure is DLQ, but the rule names no dead-letter topic: set its param dlq.topic)"
                }
                _ => "",
            };
            let on = failure.field.as_deref().map(|f| format!(" on {f}")).unwrap_or_default();
            out.problems.push(Problem {
                index,
                part,
                path: None,
                reason: format!("rule {}{on} failed: {}{note}", failure.rule, failure.message),
            });
        }
    }

    fn count_sunset(&self, subject: &str, action: SunsetProduce) {
        let mut counts = self.sunset_counts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match counts.get_mut(subject) {
            Some(entry) => entry,
            None => counts.entry(subject.to_string()).or_default(),
        };
        match action {
            SunsetProduce::Warn => entry.0 += 1,
            SunsetProduce::Refuse => entry.1 += 1,
        }
    }

    /// Records produced under subjects past their sunset so far: (subject, action, count),
    /// for `/metrics`.
    pub fn sunset_counts(&self) -> Vec<(String, &'static str, u64)> {
        let counts = self.sunset_counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(String, &'static str, u64)> = counts
            .iter()
            .flat_map(|(subject, (warned, refused))| {
                [
                    (subject.clone(), "warned", *warned),
                    (subject.clone(), "refused", *refused),
                ]
            })
            .filter(|(_, _, n)| *n > 0)
            .collect();
        out.sort();
        out
    }

    /// Every rule outcome so far: (subject, rule, outcome, count), for `/metrics`.
    pub fn rule_counts(&self) -> Vec<(String, String, &'static str, u64)> {
        let mut totals: std::collections::BTreeMap<(String, String, &'static str), u64> = Default::default();
        for counters in self.rule_counters.lock().unwrap_or_else(|e| e.into_inner()).values() {
            for (rule, counts) in &counters.rules {
                for (outcome, n) in OUTCOMES.iter().zip(counts) {
                    let n = n.load(Ordering::Relaxed);
                    if n > 0 {
                        *totals
                            .entry((counters.subject.clone(), rule.clone(), outcome))
                            .or_default() += n;
                    }
                }
            }
        }
        totals.into_iter().map(|((s, r, o), n)| (s, r, o, n)).collect()
    }

    /// The write rules of a stored schema, compiled once per schema id; `None` when it has
    /// none the server runs. A rule set that no longer compiles (registered before its
    /// expressions were checked) refuses its payloads, never passes them unchecked.
    fn rules_of(&self, schema: &StoredSchema, parsed: Option<&Schema>, subject: &str) -> Result<Option<Rules>, String> {
        let key = (schema.context.clone(), schema.id);
        let cached = self
            .write_rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let rules = match cached {
            Some(rules) => rules,
            None => {
                let from_set = match &schema.rule_set {
                    Some(rule_set) => crate::validate::rules::compile(rule_set).map_err(|e| e.to_string())?,
                    None => WriteRules::default(),
                };
                let inline = match parsed {
                    Some(Schema::Protobuf(proto)) => crate::validate::rules::compile_inline_protobuf(proto),
                    _ => crate::validate::rules::compile_inline(schema.schema_type, &schema.schema),
                }
                .map_err(|e| e.to_string())?;
                let compiled = Arc::new(from_set.with_inline(inline));
                self.write_rules
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, compiled.clone());
                compiled
            }
        };
        if rules.is_empty() {
            return Ok(None);
        }
        let counters = self
            .rule_counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((subject.to_string(), schema.context.clone(), schema.id))
            .or_insert_with(|| {
                Arc::new(RuleCounters {
                    subject: subject.to_string(),
                    rules: rules
                        .names()
                        .map(|name| (name.to_string(), Default::default()))
                        .collect(),
                })
            })
            .clone();
        Ok(Some(Rules { rules, counters }))
    }

    /// The subject's latest live schema, or `None` when nothing is registered under it.
    async fn latest(&self, subject: &str) -> Result<Option<StoredSchema>, GateError> {
        match self.registry.version(subject, VersionSpec::Latest, false).await {
            Ok(found) => Ok(Some(found.schema)),
            Err(RegistryError::SubjectNotFound(_)) | Err(RegistryError::VersionNotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Unframed JSON: valid against the topic subject's latest schema if it is a JSON Schema.
    /// Under a record strategy there is no record to name a subject after.
    async fn json_verdict(&self, rules: &PartRules<'_>) -> Result<Verdict, GateError> {
        if rules.strategy != SubjectStrategy::Topic {
            return Ok(Verdict::Refused(format!(
                "the topic names its {} subject with {} after the record a framed schema id describes, and unframed JSON names no record: send framed bytes (the binary or Avro format)",
                rules.part,
                rules.strategy.class_name()
            )));
        }
        let Some(Some(latest)) = &rules.registered else {
            return Ok(Verdict::Admitted);
        };
        let write_rules = match self.rules_of(latest, None, rules.subject) {
            Ok(write_rules) => write_rules,
            Err(reason) => return Ok(Verdict::Refused(reason)),
        };
        Ok(match latest.schema_type {
            SchemaType::Json => match self.json_validator(latest).await? {
                Ok(validator) => Verdict::Json(validator, write_rules),
                Err(reason) => Verdict::Refused(reason),
            },
            other => Verdict::Refused(format!(
                "subject '{}' holds {other} schemas: send framed bytes with the binary format",
                rules.subject
            )),
        })
    }

    /// A framed id: registered under the part's subject (the configured one, or the one
    /// derived from its schema's record name), and in `full` mode what its bodies must pass.
    /// The id is one of the configured subject's context (serializers register there).
    async fn id_verdict(&self, topic: &TopicConfig, rules: &PartRules<'_>, id: u32) -> Result<Verdict, GateError> {
        let context = context_of(rules.subject);
        let derived;
        let (subject, derived_by) = match rules.strategy {
            SubjectStrategy::Topic => (rules.subject, None),
            strategy => {
                let schema = match self.registry.parsed_schema(&context, i64::from(id)).await {
                    Ok(schema) => schema,
                    Err(RegistryError::SchemaNotFound(_)) => {
                        return Ok(Verdict::Refused(format!(
                            "schema id {id} is not registered, so it names no record for the {} subject ({})",
                            rules.part,
                            strategy.class_name()
                        )))
                    }
                    Err(err) => return Err(err.into()),
                };
                derived = match subject::derived(strategy, &topic.name, &schema) {
                    Some(Ok(name)) => name,
                    Some(Err(why)) => {
                        return Ok(Verdict::Refused(format!(
                            "schema id {id} cannot name the {} subject with {}: {why}",
                            rules.part,
                            strategy.class_name()
                        )))
                    }
                    None => unreachable!("only TopicNameStrategy names no subject from the schema"),
                };
                (derived.as_str(), Some(strategy))
            }
        };
        let registered = match self
            .registry
            .versions_of_id(&context, i64::from(id), Some(subject), false)
            .await
        {
            Ok(versions) => !versions.is_empty(),
            Err(RegistryError::SchemaNotFound(_)) => false,
            Err(err) => return Err(err.into()),
        };
        if !registered {
            return Ok(Verdict::Refused(match derived_by {
                None => format!("schema id {id} is not registered under subject '{subject}'"),
                Some(strategy) => format!(
                    "schema id {id} is not registered under subject '{subject}' (the {} subject {} derives from its record name)",
                    rules.part,
                    strategy.class_name()
                ),
            }));
        }
        if topic.validation != Validation::Full {
            return Ok(Verdict::Admitted);
        }
        let schema = self.registry.schema_by_id(&context, i64::from(id)).await?;
        let parsed = match schema.schema_type {
            SchemaType::Json => None,
            SchemaType::Avro | SchemaType::Protobuf => {
                Some(self.registry.parsed_schema(&context, i64::from(id)).await?)
            }
        };
        let write_rules = match self.rules_of(&schema, parsed.as_deref(), subject) {
            Ok(write_rules) => write_rules,
            Err(reason) => return Ok(Verdict::Refused(reason)),
        };
        Ok(match parsed {
            None => match self.json_validator(&schema).await? {
                Ok(validator) => Verdict::Json(validator, write_rules),
                Err(reason) => Verdict::Refused(reason),
            },
            Some(parsed) => match parsed.as_ref() {
                Schema::Avro(_) | Schema::Protobuf(_) => Verdict::Decodes(parsed, id, write_rules),
                Schema::Json(_) => Verdict::Refused(format!("schema {id} is not stored as the type it was read as")),
            },
        })
    }

    /// The compiled JSON Schema for a stored one, from the cache or compiled now with its
    /// references. `Ok(Err(reason))`: the schema cannot be used to validate, and payloads
    /// under it are refused with that reason (never passed unchecked).
    async fn json_validator(&self, schema: &StoredSchema) -> Result<Result<Arc<JsonValidator>, String>, GateError> {
        let key = (schema.context.clone(), schema.id);
        if let Some(found) = self.cached_validator(&key) {
            return Ok(Ok(found));
        }
        let references = match self.registry.reference_texts(&schema.context, &schema.references).await {
            Ok(references) => references,
            // As before the gate: a reference that cannot be read refuses the payload.
            Err(err) => return Ok(Err(err.to_string())),
        };
        let pairs: Vec<(&str, &str)> = references.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let validator = match JsonValidator::with_references(&schema.schema, &pairs) {
            Ok(validator) => Arc::new(validator),
            Err(reason) => return Ok(Err(reason)),
        };
        self.json_validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, validator.clone());
        Ok(Ok(validator))
    }

    fn cached_validator(&self, key: &(Context, i64)) -> Option<Arc<JsonValidator>> {
        self.json_validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

impl<'t> PartRules<'t> {
    fn new(topic: &'t TopicConfig, part: Part) -> PartRules<'t> {
        PartRules {
            part,
            strategy: subject::strategy(topic, part),
            subject: subject::configured(topic, part),
            registered: None,
            json: None,
            ids: HashMap::new(),
            sunset: None,
        }
    }
}

/// What to tell a producer under `subject` when its latest version deprecates it and today is
/// past the sunset.
fn past_sunset(subject: &str, latest: &StoredSchema) -> Option<String> {
    let deprecation = deprecation::of_subject(latest.metadata.as_ref())?;
    deprecation
        .is_past_sunset(deprecation::Date::today())
        .then(|| format!("subject '{subject}' is past its sunset: {}", deprecation.describe()))
}

/// Why an unframed payload is refused.
fn not_framed(rules: &PartRules<'_>) -> String {
    match rules.strategy {
        SubjectStrategy::Topic => format!(
            "not framed: expected magic byte 0 and a schema id registered under '{}'",
            rules.subject
        ),
        strategy => format!(
            "not framed: expected magic byte 0 and a schema id, which {} needs to name the {} subject",
            strategy.class_name(),
            rules.part
        ),
    }
}

/// Every violation of a JSON payload, capped (see `JsonValidator::check_value`).
async fn check_json(validator: Arc<JsonValidator>, body: &[u8]) -> Vec<Violation> {
    if body.len() <= INLINE_VALIDATION_BYTES {
        return validator.check(body);
    }
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || validator.check(&body))
        .await
        .unwrap_or_else(|e| vec![validation_failed(e)])
}

/// Whether a body decodes with `schema`: one Avro datum, or a framed Protobuf message.
async fn check_decodes(schema: Arc<Schema>, body: &[u8]) -> Result<(), Violation> {
    let check = |schema: &Schema, body: &[u8]| match schema {
        Schema::Avro(avro) => crate::validate::avro::check_binary(avro, body),
        Schema::Protobuf(proto) => crate::validate::protobuf::check_framed(proto, body),
        Schema::Json(_) => Err(Violation {
            path: String::new(),
            reason: "a JSON Schema does not decode binary payloads".to_string(),
        }),
    };
    if body.len() <= INLINE_VALIDATION_BYTES {
        return check(&schema, body);
    }
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || check(&schema, &body))
        .await
        .unwrap_or_else(|e| Err(validation_failed(e)))
}

/// A payload as plain values for its rules (unions unwrapped, Protobuf fields by their
/// `.proto` names), with its Protobuf message type's full name.
fn plain(schema: &Schema, body: &[u8]) -> Result<(Option<String>, serde_json::Value), Violation> {
    match schema {
        Schema::Avro(avro) => crate::validate::avro::decode_plain(avro, body).map(|v| (None, v)),
        Schema::Protobuf(proto) => {
            crate::validate::protobuf::decode_plain_typed(proto, body).map(|(name, v)| (Some(name), v))
        }
        Schema::Json(_) => serde_json::from_slice(body).map(|v| (None, v)).map_err(|e| Violation {
            path: String::new(),
            reason: e.to_string(),
        }),
    }
}

/// A validation that did not finish (its thread panicked): the payload is refused, never
/// passed unchecked.
fn validation_failed(error: tokio::task::JoinError) -> Violation {
    Violation {
        path: String::new(),
        reason: format!("the payload could not be validated: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_part_the_place_and_the_reason() {
        let problem = |path: Option<&str>| Problem {
            index: 0,
            part: Part::Value,
            path: path.map(str::to_string),
            reason: "expected number, got string".to_string(),
        };
        assert_eq!(
            problem(Some("/amount")).message(),
            "value /amount: expected number, got string"
        );
        assert_eq!(problem(Some("")).message(), "value: expected number, got string");
        assert_eq!(problem(None).message(), "value: expected number, got string");
        assert_eq!(Part::Key.to_string(), "key");
    }
}
