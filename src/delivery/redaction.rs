//! Records read by people and programs without a Kafka client (HTTP reads, consumer
//! groups over HTTP, live tails) with the fields their reader may not see redacted: a
//! principal without `read` on a sensitive tag (`[security] sensitive_tags`, `PII` by
//! default) gets the fields that tag marks replaced (see [`crate::validate::redact`]) in every
//! record it reads, and is told which (`value.ssn`; over HTTP the `Herald-Redacted` header).
//! Framed payloads are redacted under the schema their id names and keep their framing;
//! unframed JSON under the part's subject's latest schema when that is a JSON Schema. A
//! payload that cannot be read with its schema is withheld (null) rather than shown
//! unredacted.
//!
//! A reader who may read every sensitive tag (or a server without security) pays nothing:
//! [`Redaction::new`] answers `None` and the read copies payloads as stored. Records read
//! over the Kafka protocol are not redacted: Kafka clients get the bytes as produced.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::broker::batch::{RecordRef, StoredRecord};
use crate::broker::topic::TopicConfig;
use crate::gate::{subject, Part};
use crate::registry::context::context_of;
use crate::registry::{Context, Registry, RegistryError, VersionSpec};
use crate::schema::{Schema, SchemaType};
use crate::validate::frame;
use crate::validate::framed_id;
use crate::validate::redact::Redactor;

/// A schema and what it hides from this caller (`None`: nothing).
type Plan = Option<Arc<(Arc<Schema>, Redactor)>>;

/// A record's replaced payloads: for each part, `None` when shown as stored, else its
/// replacement (`Some(None)`: withheld); and the fields redacted (`value.ssn`).
pub struct Shown {
    key: Option<Option<Vec<u8>>>,
    value: Option<Option<Vec<u8>>>,
    pub fields: Vec<String>,
}

impl Shown {
    /// `record` with these payloads in place of its own.
    pub fn apply<'s>(&'s self, record: &RecordRef<'s>) -> RecordRef<'s> {
        let key = self.key.as_ref().map_or(record.key, |k| k.as_deref());
        let value = self.value.as_ref().map_or(record.value, |v| v.as_deref());
        record.with_payloads(key, value)
    }

    /// Puts these payloads in place of a stored record's own.
    pub fn apply_to(self, stored: &mut StoredRecord) {
        if let Some(key) = self.key {
            stored.record.key = key;
        }
        if let Some(value) = self.value {
            stored.record.value = value;
        }
    }
}

/// One read's redaction for one caller.
pub struct Redaction {
    registry: Registry,
    hidden: Vec<String>,
    /// Per (context, framed id) and per unframed subject, worked out once per read.
    framed: HashMap<(Context, u32), Plan>,
    unframed: HashMap<String, Plan>,
    /// `part.path` of every field redacted in this read.
    redacted: BTreeSet<String>,
}

impl Redaction {
    /// The redaction of a read for a reader who may not read the tags in `hidden`; `None`
    /// when there are none.
    pub fn new(hidden: Vec<String>, registry: &Registry) -> Option<Redaction> {
        (!hidden.is_empty()).then(|| Redaction {
            registry: registry.clone(),
            hidden,
            framed: HashMap::new(),
            unframed: HashMap::new(),
            redacted: BTreeSet::new(),
        })
    }

    /// The payload as this reader may see it: `None` when it is shown as stored, else its
    /// replacement (`Some(None)`: withheld), the fields redacted added to `fields`.
    async fn payload(
        &mut self,
        topic: &TopicConfig,
        part: Part,
        payload: Option<&[u8]>,
        fields: &mut Vec<String>,
    ) -> Result<Option<Option<Vec<u8>>>, RegistryError> {
        let Some(bytes) = payload else { return Ok(None) };
        let subject = subject::configured(topic, part);
        let (plan, body, id) = match framed_id(bytes) {
            Some(id) => (self.framed_plan(subject, id).await?, &bytes[5..], Some(id)),
            None => (self.unframed_plan(subject).await?, bytes, None),
        };
        let Some(plan) = plan else { return Ok(None) };
        let (schema, redactor) = plan.as_ref();
        match redactor.redact(schema, body) {
            Ok((_, found)) if found.is_empty() => Ok(None),
            Ok((redacted, found)) => {
                fields.extend(found.into_iter().map(|path| format!("{part}.{path}")));
                Ok(Some(Some(match id {
                    Some(id) => frame(id, &redacted),
                    None => redacted,
                })))
            }
            Err(_) => {
                fields.push(part.to_string());
                Ok(Some(None))
            }
        }
    }

    /// A record's key and value as this reader may see them; `None` when shown as stored.
    pub async fn record(
        &mut self,
        topic: &TopicConfig,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<Shown>, RegistryError> {
        let mut fields = Vec::new();
        let key = self.payload(topic, Part::Key, key, &mut fields).await?;
        let value = self.payload(topic, Part::Value, value, &mut fields).await?;
        self.redacted.extend(fields.iter().cloned());
        Ok((key.is_some() || value.is_some()).then_some(Shown { key, value, fields }))
    }

    /// The same for a record the reader must not see at all because the registry could not
    /// say what to redact: key and value withheld.
    pub fn withheld() -> Shown {
        Shown {
            key: Some(None),
            value: Some(None),
            fields: vec![Part::Key.to_string(), Part::Value.to_string()],
        }
    }

    /// Every field redacted in this read so far (`value.ssn`), in order.
    pub fn redacted(&self) -> impl Iterator<Item = &str> {
        self.redacted.iter().map(String::as_str)
    }

    async fn framed_plan(&mut self, subject: &str, id: u32) -> Result<Plan, RegistryError> {
        let context = context_of(subject);
        let key = (context.clone(), id);
        if let Some(plan) = self.framed.get(&key) {
            return Ok(plan.clone());
        }
        let plan = match self.registry.schema_by_id(&context, i64::from(id)).await {
            Ok(stored) => {
                let parsed = self.registry.parsed_schema(&context, i64::from(id)).await?;
                self.plan(parsed, stored.metadata.as_ref())
            }
            // An id the registry does not know names no tags.
            Err(RegistryError::SchemaNotFound(_)) => None,
            Err(err) => return Err(err),
        };
        self.framed.insert(key, plan.clone());
        Ok(plan)
    }

    async fn unframed_plan(&mut self, subject: &str) -> Result<Plan, RegistryError> {
        if let Some(plan) = self.unframed.get(subject) {
            return Ok(plan.clone());
        }
        let plan = match self.registry.version(subject, VersionSpec::Latest, false).await {
            Ok(latest) if latest.schema.schema_type == SchemaType::Json => {
                let context = context_of(subject);
                let parsed = self.registry.parsed_schema(&context, latest.schema.id).await?;
                self.plan(parsed, latest.schema.metadata.as_ref())
            }
            Ok(_) | Err(RegistryError::SubjectNotFound(_)) | Err(RegistryError::VersionNotFound(_)) => None,
            Err(err) => return Err(err),
        };
        self.unframed.insert(subject.to_string(), plan.clone());
        Ok(plan)
    }

    fn plan(&self, schema: Arc<Schema>, metadata: Option<&serde_json::Value>) -> Plan {
        Redactor::new(&schema, metadata, &self.hidden).map(|redactor| Arc::new((schema, redactor)))
    }
}
