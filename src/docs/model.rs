//! What the documentation pages show, as plain data: built by [`super::Docs`] from the
//! registry and the broker, rendered by [`super::render`] and exported by [`super::asyncapi`].

use serde::Serialize;

use crate::schema::fields::FieldRow;

/// One topic as the catalog lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TopicSummary {
    pub name: String,
    /// The description's first paragraph, as plain text.
    pub summary: String,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub partitions: u32,
    pub validation: &'static str,
    pub value_subject: String,
    /// The latest live version of the value subject, when it has one.
    pub value_version: Option<i64>,
    pub value_type: Option<&'static str>,
    pub compatibility: &'static str,
    pub groups: Vec<String>,
    /// The value subject's sunset (or `""` for a deprecation without one), when the subject
    /// is deprecated.
    pub deprecated: Option<String>,
    /// Lower-case text the catalog's search matches: name, description, owner, tags and
    /// every field path of the value and key schemas.
    pub search: String,
    /// Hidden by the page's current filter.
    pub hidden: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub topics: Vec<TopicSummary>,
    pub owners: Vec<String>,
    pub tags: Vec<String>,
    pub query: CatalogQuery,
    pub shown: usize,
}

/// The catalog's filter: free text over names, descriptions, fields and tags; owner; tag.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct CatalogQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub tag: String,
}

impl CatalogQuery {
    pub fn matches(&self, topic: &TopicSummary) -> bool {
        let words_match = self
            .q
            .to_lowercase()
            .split_whitespace()
            .all(|word| topic.search.contains(word));
        let owner_matches = self.owner.is_empty() || topic.owner.as_deref() == Some(self.owner.as_str());
        let tag_matches = self.tag.is_empty() || topic.tags.contains(&self.tag);
        words_match && owner_matches && tag_matches
    }
}

/// A key or value schema of a topic, at one version.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaSection {
    pub subject: String,
    pub version: i64,
    pub id: i64,
    /// The name of the id's page, without `.html` (see [`super::render::schema_file`]).
    pub schema_file: String,
    pub schema_type: &'static str,
    pub fields: Vec<FieldRow>,
    /// The schema, pretty-printed.
    pub text: String,
    /// The subject's deprecation, shown as a banner.
    pub deprecation: Option<DeprecationBanner>,
}

/// A deprecated subject's banner: what its metadata says, and whether the sunset has come.
#[derive(Debug, Clone, Serialize)]
pub struct DeprecationBanner {
    /// `deprecated since …, sunset …; use … instead (reason)`.
    pub text: String,
    pub sunset: Option<String>,
    pub replacement: Option<String>,
    pub past_sunset: bool,
}

impl DeprecationBanner {
    pub fn of(metadata: Option<&serde_json::Value>) -> Option<DeprecationBanner> {
        use crate::schema::deprecation::{self, Date};
        let found = deprecation::of_subject(metadata)?;
        Some(DeprecationBanner {
            text: found.describe(),
            sunset: found.sunset.map(|d| d.to_string()),
            replacement: found.replacement.clone(),
            past_sunset: found.is_past_sunset(Date::today()),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub name: String,
    /// Pretty-printed JSON.
    pub json: String,
    /// Made up from the schema because no stored example validates.
    pub generated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    pub version: i64,
    pub id: i64,
    /// The name of the id's page, without `.html` (see [`super::render::schema_file`]).
    pub schema_file: String,
    pub deleted: bool,
    /// The live version before this one, for "what changed since".
    pub previous: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeEntry {
    pub kind: &'static str,
    /// The field concerned, as a dotted path (`customer.address.city`; see
    /// [`crate::schema::field_path`]); empty for the top level of the schema.
    pub path: String,
    pub description: String,
    pub backward: &'static str,
    pub forward: &'static str,
    /// Breaking under the subject's compatibility level (for `NONE`, in either direction).
    pub breaking: bool,
}

/// What changed in a subject between two versions, each change judged by the compat engine.
#[derive(Debug, Clone, Serialize)]
pub struct Changelog {
    pub topic: String,
    pub subject: String,
    pub from: i64,
    pub to: i64,
    pub compatibility: &'static str,
    pub changes: Vec<ChangeEntry>,
    pub breaking: usize,
    /// Live versions, for choosing another pair.
    pub versions: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupLag {
    pub group: String,
    pub members: usize,
    pub partitions: Vec<PartitionLag>,
    pub lag: i64,
}

/// One consumer group on its topic's page, with what it declared it reads ("who reads
/// what"): a declared contract, or a group seen reading without one.
#[derive(Debug, Clone, Serialize)]
pub struct ReaderRow {
    pub group: String,
    pub subject: String,
    /// The fields it reads; for a reader schema, that schema's fields.
    pub fields: Vec<String>,
    /// `fields` or `reader schema`; empty without a contract.
    pub declared_as: &'static str,
    /// The subject version its contract is against.
    pub version: Option<i64>,
    /// Seen reading the topic (a committed offset or a member) by the broker.
    pub reading: bool,
}

/// A webhook subscription on its topic's page: where it delivers, how it is doing.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookRow {
    pub name: String,
    /// The endpoint without its query (partners put tokens there).
    pub endpoint: String,
    pub format: String,
    pub state: String,
    pub paused_cause: Option<String>,
    pub lag: i64,
    pub delivered: u64,
    pub dead_lettered: u64,
    pub dead_letter_topic: Option<String>,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub last_error_at: Option<String>,
    pub next_retry: Option<String>,
}

impl WebhookRow {
    pub fn from_view(view: &crate::delivery::webhook::View) -> WebhookRow {
        let when = |ms: i64| crate::security::expiry::rfc3339(u64::try_from(ms / 1000).unwrap_or(0));
        WebhookRow {
            name: view.name.clone(),
            endpoint: view.url.split(['?', '#']).next().unwrap_or_default().to_string(),
            format: view.format.as_str().to_string(),
            state: view.status.state.as_str().to_string(),
            paused_cause: view.paused.as_ref().map(|p| p.cause.clone()),
            lag: view.lag,
            delivered: view.status.delivered,
            dead_lettered: view.status.dead_lettered,
            dead_letter_topic: view.dead_letter_topic.clone(),
            last_error: view.status.last_error.as_ref().map(|e| {
                format!(
                    "{} (partition {}, offset {}, attempt {})",
                    e.message, e.partition, e.offset, e.attempt
                )
            }),
            last_error_at: view.status.last_error.as_ref().map(|e| when(e.at)),
            next_retry: view.status.next_retry_at.map(when),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    pub partition: u32,
    pub committed: Option<i64>,
    pub end: i64,
    pub lag: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicPage {
    pub summary: TopicSummary,
    /// The description rendered from Markdown and sanitised.
    pub description_html: String,
    pub contact: Option<String>,
    pub retention: String,
    pub retention_size: String,
    pub key: Option<SchemaSection>,
    pub value: Option<SchemaSection>,
    pub examples: Vec<Example>,
    /// Stored examples left out because they no longer validate, with the reason.
    pub stale_examples: Vec<(String, String)>,
    pub versions: Vec<VersionEntry>,
    /// The latest version against the one before it.
    pub changelog: Option<Changelog>,
    pub groups: Vec<GroupLag>,
    /// Who reads what: every declared contract on the topic's subjects, and every group
    /// reading it without one.
    pub readers: Vec<ReaderRow>,
    pub webhooks: Vec<WebhookRow>,
    /// How to reach the topic: addresses and ready-to-copy client snippets.
    pub clients: Clients,
}

/// Where clients reach this server. Set once at start from the configuration, never from a
/// request (its `Host` header is the client's to choose).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Endpoints {
    /// The public URL without a trailing slash: the REST Proxy API and the schema registry.
    pub public_url: String,
    /// The Kafka listener's advertised `HOST:PORT`; `None` when it is off.
    pub kafka_bootstrap: Option<String>,
}

/// A topic page's "Produce and consume" section.
#[derive(Debug, Clone, Serialize)]
pub struct Clients {
    /// The Kafka bootstrap address, when the listener is on.
    pub kafka_bootstrap: Option<String>,
    /// The schema registry's URL, as serializers name it (`schema.registry.url`).
    pub registry_url: String,
    /// Snippets in the order shown: Kafka clients first when enabled, HTTP last.
    pub snippets: Vec<Snippet>,
}

/// One copyable piece of client code or configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Snippet {
    /// Unique on the page: the element id the copy button copies from.
    pub id: &'static str,
    pub title: &'static str,
    /// A sentence shown above the code, when the topic needs one (why a way is refused).
    pub note: Option<String>,
    pub code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectPage {
    pub subject: String,
    pub compatibility: &'static str,
    pub versions: Vec<VersionEntry>,
    /// Topics whose key or value this subject governs.
    pub topics: Vec<String>,
    /// The latest live version's subject deprecation.
    pub deprecation: Option<DeprecationBanner>,
    /// The consumer contracts declared on the subject.
    pub readers: Vec<ReaderRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionPage {
    pub section: SchemaSection,
    pub deleted: bool,
    pub previous: Option<i64>,
    pub next: Option<i64>,
    pub references: Vec<(String, String, i64)>,
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchemaPage {
    pub id: i64,
    pub schema_type: &'static str,
    pub fields: Vec<FieldRow>,
    pub text: String,
    /// `(subject, version)` pairs using this id.
    pub used_by: Vec<(String, i64)>,
}
