//! Topic documentation: the catalog, topic pages with field tables, examples, version history
//! and changelogs, subject, version and schema pages, and the AsyncAPI export.
//!
//! Everything is read from the registry and the broker when asked, so the docs cannot go
//! stale. [`Docs`] builds the page models (`model.rs`); `render.rs` turns them into HTML,
//! `asyncapi.rs` into AsyncAPI 3.0. Parsing, field tables and diffs are the pure `schema` and
//! `compat` modules; this module only gathers and arranges.

pub mod asyncapi;
mod clients;
mod markdown;
pub mod model;
pub mod render;
mod yaml;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::broker::topic::TopicConfig;
use crate::broker::{Broker, Topic};
use crate::compat::diff::{self, Verdict};
use crate::compat::{CompatibilityLevel, Direction};
use crate::registry::context::context_of;
use crate::registry::{Context, Registry, RegistryError, SubjectSchema, VersionSpec};
use crate::schema::fields::{field_rows, FieldRow};
use crate::schema::{example, Schema};

/// Field tables by schema context and id: content under an id never changes.
type FieldTables = HashMap<(Context, i64), Arc<Vec<FieldRow>>>;

pub use markdown::render_markdown;
pub use model::*;
pub use yaml::to_yaml;

#[derive(Debug)]
pub enum DocsError {
    /// What was not found, for the page's message.
    NotFound(String),
    Registry(RegistryError),
}

impl fmt::Display for DocsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocsError::NotFound(what) => write!(f, "{what} not found"),
            DocsError::Registry(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DocsError {}

impl From<RegistryError> for DocsError {
    fn from(e: RegistryError) -> DocsError {
        match e {
            RegistryError::SubjectNotFound(s) => DocsError::NotFound(format!("subject {s}")),
            RegistryError::VersionNotFound(v) => DocsError::NotFound(format!("version {v}")),
            RegistryError::SchemaNotFound(Some(id)) => DocsError::NotFound(format!("schema {id}")),
            // A page address that names no possible subject or version is one that does not exist.
            RegistryError::InvalidSubject(s) => DocsError::NotFound(format!("subject {s}")),
            RegistryError::InvalidVersion(v) => DocsError::NotFound(format!("version {v}")),
            other => DocsError::Registry(other),
        }
    }
}

/// Builds documentation models from a registry and, when there is one, a broker.
pub struct Docs {
    registry: Registry,
    broker: Option<Arc<Broker>>,
    /// Field tables by schema id. A schema id's content and metadata never change, so
    /// entries never go stale; the catalog searches every topic's fields on every request.
    fields: Mutex<FieldTables>,
    /// Webhook subscriptions, shown on their topics' pages.
    webhooks: Option<crate::delivery::webhook::Webhooks>,
}

/// A subject's version with its parsed schema.
struct Loaded {
    version: SubjectSchema,
    schema: Arc<Schema>,
}

impl Docs {
    pub fn new(registry: Registry, broker: Option<Arc<Broker>>) -> Docs {
        Docs {
            registry,
            broker,
            fields: Mutex::new(HashMap::new()),
            webhooks: None,
        }
    }

    /// Shows webhook subscriptions on topic pages.
    pub fn set_webhooks(&mut self, webhooks: crate::delivery::webhook::Webhooks) {
        self.webhooks = Some(webhooks);
    }

    /// A topic's webhook subscriptions as its page shows them.
    fn webhooks(&self, topic: &str) -> Vec<WebhookRow> {
        let Some(webhooks) = &self.webhooks else {
            return Vec::new();
        };
        webhooks.list(Some(topic)).iter().map(WebhookRow::from_view).collect()
    }

    fn topics(&self) -> Vec<Arc<Topic>> {
        let mut topics = self.broker.as_ref().map(|b| b.topics()).unwrap_or_default();
        topics.sort_by(|a, b| a.config.name.cmp(&b.config.name));
        topics
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, DocsError> {
        self.broker
            .as_ref()
            .and_then(|b| b.topic(name).ok())
            .ok_or_else(|| DocsError::NotFound(format!("topic {name}")))
    }

    /// The latest live version of `subject`, or `None` when it has none.
    async fn latest(&self, subject: &str) -> Result<Option<Loaded>, DocsError> {
        self.load(subject, VersionSpec::Latest, false).await
    }

    async fn load(&self, subject: &str, version: VersionSpec, deleted: bool) -> Result<Option<Loaded>, DocsError> {
        match self.registry.version(subject, version, deleted).await {
            Ok(version) => {
                let schema = self
                    .registry
                    .documented_schema(&version.schema.context, version.schema.id)
                    .await?;
                Ok(Some(Loaded { version, schema }))
            }
            Err(RegistryError::SubjectNotFound(_) | RegistryError::VersionNotFound(_)) => Ok(None),
            Err(RegistryError::InvalidSubject(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn field_table(&self, loaded: &Loaded) -> Arc<Vec<FieldRow>> {
        let id = (loaded.version.schema.context.clone(), loaded.version.schema.id);
        if let Some(found) = self.fields.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return found.clone();
        }
        let rows = Arc::new(field_rows(&loaded.schema, loaded.version.schema.metadata.as_ref()));
        self.fields
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, rows.clone());
        rows
    }

    /// The schemas a loaded version references, for validating events against it (no read
    /// when it references none).
    async fn reference_texts(&self, loaded: &Loaded) -> Result<Vec<(String, String)>, DocsError> {
        let schema = &loaded.version.schema;
        Ok(self
            .registry
            .reference_texts(&schema.context, &schema.references)
            .await?)
    }

    async fn level(&self, subject: &str) -> Result<CompatibilityLevel, DocsError> {
        let config = self.registry.config(Some(subject), true).await?;
        Ok(config.compatibility_level.unwrap_or_default())
    }

    /// Consumer groups reading `topic`, with their lag per partition.
    fn groups(&self, topic: &str) -> Vec<GroupLag> {
        let Some(broker) = &self.broker else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for group in broker.groups().list() {
            let Ok(view) = broker.groups().describe(&group, broker.as_ref()) else {
                continue;
            };
            let partitions: Vec<PartitionLag> = view
                .offsets
                .iter()
                .filter(|o| o.topic == topic)
                .map(|o| PartitionLag {
                    partition: o.partition,
                    committed: o.committed,
                    end: o.end,
                    lag: o.lag,
                })
                .collect();
            if partitions.is_empty() {
                continue;
            }
            found.push(GroupLag {
                members: view
                    .members
                    .iter()
                    .filter(|m| m.topics.iter().any(|t| t == topic))
                    .count(),
                lag: partitions.iter().map(|p| p.lag).sum(),
                group,
                partitions,
            });
        }
        found.sort_by(|a, b| a.group.cmp(&b.group));
        found
    }

    /// Who reads what on a topic: the contracts declared on its subjects, then the groups
    /// reading it that declared none.
    async fn readers(&self, config: &TopicConfig, groups: &[GroupLag]) -> Result<Vec<ReaderRow>, DocsError> {
        let mut rows = self.declared_readers(&config.value_subject).await?;
        rows.extend(self.declared_readers(&config.key_subject).await?);
        for row in &mut rows {
            row.reading = groups.iter().any(|g| g.group == row.group);
        }
        for group in groups {
            if !rows.iter().any(|r| r.group == group.group) {
                rows.push(ReaderRow {
                    group: group.group.clone(),
                    subject: config.value_subject.clone(),
                    fields: Vec::new(),
                    declared_as: "",
                    version: None,
                    reading: true,
                });
            }
        }
        Ok(rows)
    }

    /// The contracts declared on `subject`, as rows (not known to be reading).
    async fn declared_readers(&self, subject: &str) -> Result<Vec<ReaderRow>, DocsError> {
        use crate::registry::readers::ContractReads;
        let contracts = self.registry.contracts_of_subject(subject).await?;
        Ok(contracts
            .into_iter()
            .map(|contract| {
                let (declared_as, fields) = match &contract.reads {
                    ContractReads::Fields(fields) => ("fields", fields.clone()),
                    ContractReads::Schema { schema_type, schema } => (
                        "reader schema",
                        Schema::parse(*schema_type, schema, &[])
                            .map(|reader| crate::compat::readers::field_paths(&reader))
                            .unwrap_or_default(),
                    ),
                };
                ReaderRow {
                    reading: false,
                    group: contract.group,
                    subject: contract.subject,
                    fields,
                    declared_as,
                    version: Some(contract.version),
                }
            })
            .collect())
    }

    /// A topic as the catalog lists it, from its latest value and key versions.
    fn summary(
        &self,
        topic: &Topic,
        value: Option<&Loaded>,
        key: Option<&Loaded>,
        groups: Vec<String>,
        compatibility: CompatibilityLevel,
    ) -> TopicSummary {
        let config = &topic.config;
        let description = topic_description(config, value).unwrap_or_default();
        let mut search = format!(
            "{} {} {} {}",
            config.name,
            description,
            config.owner.as_deref().unwrap_or_default(),
            config.tags.join(" "),
        );
        for loaded in value.into_iter().chain(key) {
            for row in self.field_table(loaded).iter() {
                search.push(' ');
                search.push_str(&row.path);
                for tag in &row.tags {
                    search.push(' ');
                    search.push_str(tag);
                }
            }
        }
        TopicSummary {
            name: config.name.clone(),
            summary: markdown::first_paragraph(description),
            owner: config.owner.clone(),
            tags: config.tags.clone(),
            partitions: config.partitions,
            validation: validation_name(config),
            value_subject: config.value_subject.clone(),
            value_version: value.map(|l| l.version.version),
            value_type: value.map(|l| l.schema.schema_type().as_str()),
            compatibility: compatibility.as_str(),
            groups,
            deprecated: value
                .and_then(|l| crate::schema::deprecation::of_subject(l.version.schema.metadata.as_ref()))
                .map(|d| d.sunset.map(|s| s.to_string()).unwrap_or_default()),
            search: search.to_lowercase(),
            hidden: false,
        }
    }

    /// Every topic, with the filter applied (rows not matching are kept, marked hidden, so
    /// the page's own search can show them again without a round trip).
    /// The catalog of the topics `visible` lets through (those the reader may describe).
    pub async fn catalog(
        &self,
        query: CatalogQuery,
        visible: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Catalog, DocsError> {
        let mut topics = self.topics();
        topics.retain(|t| visible(&t.config.name));
        let mut groups_by_topic: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(broker) = &self.broker {
            for group in broker.groups().list() {
                if let Ok(view) = broker.groups().describe(&group, broker.as_ref()) {
                    let read: BTreeSet<&str> = view.offsets.iter().map(|o| o.topic.as_str()).collect();
                    for topic in read {
                        groups_by_topic
                            .entry(topic.to_string())
                            .or_default()
                            .push(group.clone());
                    }
                }
            }
        }
        let levels = self.registry.compatibility_levels().await?;
        let mut summaries = Vec::with_capacity(topics.len());
        let mut owners = BTreeSet::new();
        let mut tags = BTreeSet::new();
        for topic in &topics {
            let groups = groups_by_topic.remove(&topic.config.name).unwrap_or_default();
            let level = levels.of(&topic.config.value_subject);
            let value = self.latest(&topic.config.value_subject).await?;
            let key = self.latest(&topic.config.key_subject).await?;
            let mut summary = self.summary(topic, value.as_ref(), key.as_ref(), groups, level);
            summary.hidden = !query.matches(&summary);
            owners.extend(summary.owner.clone());
            tags.extend(summary.tags.iter().cloned());
            summaries.push(summary);
        }
        Ok(Catalog {
            shown: summaries.iter().filter(|s| !s.hidden).count(),
            topics: summaries,
            owners: owners.into_iter().collect(),
            tags: tags.into_iter().collect(),
            query,
        })
    }

    /// A topic's page; `endpoints` are where its client snippets point.
    pub async fn topic_page(&self, name: &str, endpoints: &Endpoints) -> Result<TopicPage, DocsError> {
        let topic = self.topic(name)?;
        let config = &topic.config;
        let groups = self.groups(name);
        let level = self.level(&config.value_subject).await?;
        let value = self.latest(&config.value_subject).await?;
        let key = self.latest(&config.key_subject).await?;
        let group_names = groups.iter().map(|g| g.group.clone()).collect();
        let summary = self.summary(&topic, value.as_ref(), key.as_ref(), group_names, level);
        let (examples, stale_examples) = match &value {
            Some(loaded) => examples(config, &loaded.schema, &self.reference_texts(loaded).await?),
            None => (Vec::new(), Vec::new()),
        };
        let history = self.registry.history(&config.value_subject).await?;
        let versions = version_entries(&context_of(&config.value_subject), &history);
        let live: Vec<i64> = versions.iter().filter(|v| !v.deleted).map(|v| v.version).collect();
        let changelog = match live.as_slice() {
            [.., from, to] => Some(self.changelog(name, *from, *to).await?),
            _ => None,
        };
        let protobuf_message = value.as_ref().and_then(|l| match l.schema.as_ref() {
            crate::schema::Schema::Protobuf(proto) => proto.messages().first().map(|m| m.name().to_string()),
            _ => None,
        });
        let clients = clients::clients(
            &clients::ClientInputs {
                topic: config,
                value: value.as_ref().map(|l| (l.schema.schema_type(), l.version.schema.id)),
                key: key.as_ref().map(|l| l.schema.schema_type()),
                example: examples.first().map(|e| e.json.as_str()),
                value_has_references: value.as_ref().is_some_and(|l| !l.version.schema.references.is_empty()),
                protobuf_message: protobuf_message.as_deref(),
            },
            endpoints,
        );
        Ok(TopicPage {
            clients,
            description_html: render_markdown(topic_description(config, value.as_ref()).unwrap_or_default()),
            contact: config.contact.clone(),
            retention: describe_retention(config.retention_ms),
            retention_size: describe_size(config.retention_bytes),
            key: key.as_ref().map(|l| self.section(l)),
            value: value.as_ref().map(|l| self.section(l)),
            examples,
            stale_examples,
            versions,
            changelog,
            readers: self.readers(config, &groups).await?,
            groups,
            webhooks: self.webhooks(name),
            summary,
        })
    }

    fn section(&self, loaded: &Loaded) -> SchemaSection {
        SchemaSection {
            subject: loaded.version.subject.clone(),
            version: loaded.version.version,
            id: loaded.version.schema.id,
            schema_file: render::schema_file(&loaded.version.schema.context, loaded.version.schema.id),
            schema_type: loaded.schema.schema_type().as_str(),
            fields: self.field_table(loaded).as_ref().clone(),
            text: pretty(&loaded.version.schema.schema),
            deprecation: DeprecationBanner::of(loaded.version.schema.metadata.as_ref()),
        }
    }

    /// What changed in the topic's value subject from version `from` to version `to`.
    pub async fn changelog(&self, topic: &str, from: i64, to: i64) -> Result<Changelog, DocsError> {
        let subject = self.topic(topic)?.config.value_subject.clone();
        let old = self
            .load(&subject, VersionSpec::Number(from), true)
            .await?
            .ok_or_else(|| DocsError::NotFound(format!("version {from} of {subject}")))?;
        let new = self
            .load(&subject, VersionSpec::Number(to), true)
            .await?
            .ok_or_else(|| DocsError::NotFound(format!("version {to} of {subject}")))?;
        let level = self.level(&subject).await?;
        let directions = level.directions();
        // A diff of large schemas can take a while (within its step budget): off the async
        // workers. Past the budget the changelog says so instead of listing changes.
        let (old_schema, new_schema) = (old.schema.clone(), new.schema.clone());
        let changes = match tokio::task::spawn_blocking(move || diff::diff(&old_schema, &new_schema)).await {
            Ok(Ok(changes)) => changes,
            Ok(Err(too_complex)) => {
                return self
                    .changelog_of(topic, subject, from, to, level, vec![too_complex_entry(too_complex)])
                    .await
            }
            Err(failed) => {
                return Err(DocsError::Registry(RegistryError::TooComplex(format!(
                    "the diff failed: {failed}"
                ))))
            }
        };
        let changes: Vec<ChangeEntry> = changes
            .into_iter()
            .map(|change| {
                let breaking_in = |d: Direction| match d {
                    Direction::Backward => change.backward == Verdict::Breaking,
                    Direction::Forward => change.forward == Verdict::Breaking,
                };
                let breaking = if directions.is_empty() {
                    breaking_in(Direction::Backward) || breaking_in(Direction::Forward)
                } else {
                    directions.iter().any(|&d| breaking_in(d))
                };
                ChangeEntry {
                    kind: change.kind,
                    path: change.field.unwrap_or_default(),
                    description: change.description,
                    backward: change.backward.as_str(),
                    forward: change.forward.as_str(),
                    breaking,
                }
            })
            .collect();
        self.changelog_of(topic, subject, from, to, level, changes).await
    }

    async fn changelog_of(
        &self,
        topic: &str,
        subject: String,
        from: i64,
        to: i64,
        level: CompatibilityLevel,
        changes: Vec<ChangeEntry>,
    ) -> Result<Changelog, DocsError> {
        let versions = self
            .registry
            .history(&subject)
            .await?
            .into_iter()
            .filter(|&(_, _, deleted)| !deleted)
            .map(|(v, _, _)| v)
            .collect();
        Ok(Changelog {
            topic: topic.to_string(),
            subject,
            from,
            to,
            compatibility: level.as_str(),
            breaking: changes.iter().filter(|c| c.breaking).count(),
            changes,
            versions,
        })
    }

    pub async fn subject_page(&self, subject: &str) -> Result<SubjectPage, DocsError> {
        let history = self.registry.history(subject).await?;
        if history.is_empty() {
            return Err(DocsError::NotFound(format!("subject {subject}")));
        }
        let latest = self.latest(subject).await?;
        Ok(SubjectPage {
            subject: subject.to_string(),
            compatibility: self.level(subject).await?.as_str(),
            versions: version_entries(&context_of(subject), &history),
            topics: self.topics_of(subject),
            deprecation: latest.and_then(|l| DeprecationBanner::of(l.version.schema.metadata.as_ref())),
            readers: self.declared_readers(subject).await?,
        })
    }

    fn topics_of(&self, subject: &str) -> Vec<String> {
        self.topics()
            .iter()
            .filter(|t| t.config.value_subject == subject || t.config.key_subject == subject)
            .map(|t| t.config.name.clone())
            .collect()
    }

    pub async fn version_page(&self, subject: &str, version: i64) -> Result<VersionPage, DocsError> {
        let loaded = self
            .load(subject, VersionSpec::Number(version), true)
            .await?
            .ok_or_else(|| DocsError::NotFound(format!("version {version} of subject {subject}")))?;
        let history = self.registry.history(subject).await?;
        let position = history.iter().position(|&(v, _, _)| v == version);
        let previous = position.and_then(|i| i.checked_sub(1)).map(|i| history[i].0);
        let next = position.and_then(|i| history.get(i + 1)).map(|h| h.0);
        Ok(VersionPage {
            deleted: loaded.version.deleted,
            references: loaded
                .version
                .schema
                .references
                .iter()
                .map(|r| (r.name.clone(), r.subject.clone(), r.version))
                .collect(),
            topics: self.topics_of(subject),
            section: self.section(&loaded),
            previous,
            next,
        })
    }

    /// The page of a schema id of `context`.
    pub async fn schema_page(&self, context: &Context, id: i64) -> Result<SchemaPage, DocsError> {
        let stored = self.registry.schema_by_id(context, id).await?;
        let schema = self.registry.documented_schema(context, id).await?;
        let used_by = self.registry.versions_of_id(context, id, None, true).await?;
        Ok(SchemaPage {
            id,
            schema_type: schema.schema_type().as_str(),
            fields: field_rows(&schema, stored.metadata.as_ref()),
            text: pretty(&stored.schema),
            used_by,
        })
    }

    /// The raw schema text of an id of `context`, pretty-printed.
    pub async fn schema_text(&self, context: &Context, id: i64) -> Result<String, DocsError> {
        Ok(pretty(&self.registry.schema_by_id(context, id).await?.schema))
    }

    /// The AsyncAPI 3.0 document of every topic, or of one, with `endpoints` as its servers.
    pub async fn asyncapi(
        &self,
        only: Option<&str>,
        endpoints: &Endpoints,
        visible: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Value, DocsError> {
        let mut topics = match only {
            Some(name) => vec![self.topic(name)?],
            None => self.topics(),
        };
        topics.retain(|t| visible(&t.config.name));
        let mut channels = Vec::with_capacity(topics.len());
        for topic in topics {
            let mut config = topic.config.clone();
            let value = self.latest(&config.value_subject).await?;
            config.description = topic_description(&topic.config, value.as_ref()).map(str::to_string);
            let key = self.latest(&config.key_subject).await?;
            let examples = match &value {
                Some(loaded) => examples(&config, &loaded.schema, &self.reference_texts(loaded).await?).0,
                None => Vec::new(),
            };
            let webhooks = self
                .webhooks(&config.name)
                .into_iter()
                .map(|row| (row.name, row.format))
                .collect();
            channels.push(asyncapi::ChannelSource {
                webhooks,
                key: key.map(|l| asyncapi::MessageSchema::new(&l.version, &l.schema)),
                value: value.map(|l| asyncapi::MessageSchema::new(&l.version, &l.schema)),
                examples,
                config,
            });
        }
        Ok(asyncapi::document(&channels, only, endpoints))
    }
}

/// What the pages and the AsyncAPI export say a topic is: its own description, or, when it
/// has none, what its value schema documents (a team that documents its events in the
/// schema should not have to write it twice).
fn topic_description<'a>(config: &'a TopicConfig, value: Option<&'a Loaded>) -> Option<&'a str> {
    config
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .or_else(|| value.and_then(|loaded| loaded.schema.documentation()))
}

/// History rows of a subject of `context` as listed, each with the live version before it.
fn version_entries(context: &Context, history: &[(i64, i64, bool)]) -> Vec<VersionEntry> {
    let mut previous_live = None;
    history
        .iter()
        .map(|&(version, id, deleted)| {
            let entry = VersionEntry {
                version,
                id,
                schema_file: render::schema_file(context, id),
                deleted,
                previous: if deleted { None } else { previous_live },
            };
            if !deleted {
                previous_live = Some(version);
            }
            entry
        })
        .collect()
}

/// The one entry of a changelog whose diff went past its step budget.
fn too_complex_entry(too_complex: crate::compat::TooComplex) -> ChangeEntry {
    ChangeEntry {
        kind: "TOO_COMPLEX",
        path: String::new(),
        description: too_complex.to_string(),
        backward: "unknown",
        forward: "unknown",
        breaking: false,
    }
}

fn validation_name(config: &TopicConfig) -> &'static str {
    match config.validation {
        crate::broker::topic::Validation::Off => "off",
        crate::broker::topic::Validation::Id => "id",
        crate::broker::topic::Validation::Full => "full",
    }
}

/// The topic's stored examples that validate against `schema`, or one made up from the
/// schema when none does; and the ones left out, with why.
fn examples(
    config: &TopicConfig,
    schema: &Schema,
    references: &[(String, String)],
) -> (Vec<Example>, Vec<(String, String)>) {
    let mut valid = Vec::new();
    let mut stale = Vec::new();
    // Compiled only when there is something to check (the export asks for every topic).
    let pairs: Vec<(&str, &str)> = references.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let checker = (!config.examples.is_empty()).then(|| crate::validate::EventChecker::with_references(schema, &pairs));
    for example in &config.examples {
        let problem = checker
            .as_ref()
            .and_then(|c| c.violation(&example.value))
            .map(|v| format!("{}: {}", display_path(&v.path), v.reason));
        match problem {
            None => valid.push(Example {
                name: example.name.clone(),
                json: serde_json::to_string_pretty(&example.value).unwrap_or_default(),
                generated: false,
            }),
            Some(reason) => stale.push((example.name.clone(), reason)),
        }
    }
    if valid.is_empty() {
        valid.push(Example {
            name: "generated from the schema".to_string(),
            json: serde_json::to_string_pretty(&example::example(schema)).unwrap_or_default(),
            generated: true,
        });
    }
    (valid, stale)
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(the event)"
    } else {
        path
    }
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn describe_retention(ms: i64) -> String {
    const DAY: i64 = 24 * 3600 * 1000;
    const HOUR: i64 = 3600 * 1000;
    match ms {
        -1 => "forever".to_string(),
        ms if ms % DAY == 0 => plural(ms / DAY, "day"),
        ms if ms % HOUR == 0 => plural(ms / HOUR, "hour"),
        ms => format!("{ms} ms"),
    }
}

fn describe_size(bytes: i64) -> String {
    const MIB: i64 = 1 << 20;
    const GIB: i64 = 1 << 30;
    match bytes {
        -1 => "no size limit".to_string(),
        b if b % GIB == 0 => format!("{} GiB per partition", b / GIB),
        b if b % MIB == 0 => format!("{} MiB per partition", b / MIB),
        b => format!("{b} bytes per partition"),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_as_people_say_it() {
        assert_eq!(describe_retention(7 * 24 * 3600 * 1000), "7 days");
        assert_eq!(describe_retention(3600 * 1000), "1 hour");
        assert_eq!(describe_retention(-1), "forever");
        assert_eq!(describe_retention(1500), "1500 ms");
        assert_eq!(describe_size(-1), "no size limit");
        assert_eq!(describe_size(2 << 30), "2 GiB per partition");
    }
}
