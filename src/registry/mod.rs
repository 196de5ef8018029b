//! The registry's rules: subjects, versions, global schema ids, configs and modes, deletes,
//! references. Confluent's semantics (shared/reference/registry-api.md §5) live here; SQL
//! lives in [`crate::store`], status codes in [`crate::http`].
//!
//! Reads go to the store, or to the read cache ([`cache`]), which every committed write
//! clears in every instance ([`coherence`] on PostgreSQL). Every write is one store
//! transaction, and the store lets one writer in at a time (across processes on
//! PostgreSQL), so rules decided by reading then writing (next version, next id, one id per
//! content) hold under concurrency.

mod cache;
mod coherence;
mod content;
pub mod context;
mod error;
mod model;
pub mod readers;
mod rules;
mod settings;
mod write;

use std::sync::{Arc, OnceLock};

use serde_json::Value;

pub use context::{Context, QualifiedSubject, SubjectFilter};
pub use error::RegistryError;
pub use model::{
    schema_id_in_range, subject_name, CompatibilityPolicy, Config, Mode, Registered, SchemaReference, SchemaRequest,
    StoredSchema, SubjectSchema, VersionSpec, MAX_ID,
};
pub use settings::CompatibilityLevels;

use crate::compat::{self, CheckOptions, CompatibilityLevel, PreviousVersion};
use crate::schema::{Schema, SchemaType};
use crate::store::queries::{self, SchemaRow, VersionRow};
use crate::store::{Dialect, Store};
use content::{Parsed, ReadAs};
use tokio::sync::{mpsc, oneshot};

/// Limits and defaults of a registry.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// The level of subjects with no configuration, before any `PUT /config`.
    pub default_compatibility: CompatibilityLevel,
    /// Schema texts longer than this are refused.
    pub max_schema_bytes: usize,
    /// Refuse a new Avro schema whose field defaults do not match their types (Confluent's
    /// `schema.providers.avro.validate.defaults`, off by default in 7.x). Off, such schemas
    /// register as Confluent's registry takes them; stored and imported schemas are never
    /// checked.
    pub validate_avro_defaults: bool,
    /// How far back a consumer group's reading counts, for the reader-aware policy: a group
    /// seen on a subject's topics within this window must have declared a contract.
    pub reader_activity_window: std::time::Duration,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings {
            default_compatibility: CompatibilityLevel::Backward,
            max_schema_bytes: 1024 * 1024,
            validate_avro_defaults: false,
            reader_activity_window: std::time::Duration::from_secs(7 * 86_400),
        }
    }
}

/// The outcome of a compatibility check through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct CompatibilityVerdict {
    pub is_compatible: bool,
    /// Confluent's verbose messages; empty when compatible.
    pub messages: Vec<String>,
}

/// The registry: cheap to clone, shared by every request. Reads run on the caller's task;
/// registrations queue for one writer task that commits them in batches (see
/// [`write`](self::write)).
#[derive(Clone)]
pub struct Registry {
    core: Arc<Core>,
    writer: Arc<OnceLock<mpsc::Sender<write::RegisterJob>>>,
}

impl std::ops::Deref for Registry {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Registry {
    pub fn new(store: Store, settings: RegistrySettings) -> Registry {
        // A process that is the database's one writer serves from memory at once; others
        // once they listen for the other instances' writes.
        let exclusive = store.dialect() == Dialect::Sqlite;
        let cache = Arc::new(cache::ReadCache::new(exclusive));
        let stop_listener = store.listen_target().map(|target| {
            let (stop, stopped) = oneshot::channel();
            coherence::spawn(store.clone(), target, cache.clone(), stopped);
            stop
        });
        Registry {
            core: Arc::new(Core {
                store,
                settings,
                parsed: content::ParsedCache::default(),
                documented: content::ParsedCache::default(),
                cache,
                activity: OnceLock::new(),
                _stop_listener: stop_listener,
            }),
            writer: Arc::new(OnceLock::new()),
        }
    }
}

/// Everything but the write queue: what the writer task holds, so that it ends when the
/// last [`Registry`] handle is dropped.
pub struct Core {
    store: Store,
    settings: RegistrySettings,
    parsed: content::ParsedCache,
    /// Schemas parsed from the text they were registered as (Protobuf files with comments),
    /// for the docs: kept like `parsed`, since content under an id never changes.
    documented: content::ParsedCache,
    cache: Arc<cache::ReadCache>,
    /// Which consumer groups read which subjects, for the reader-aware policy: set by the
    /// broker running beside the registry.
    activity: OnceLock<Arc<dyn readers::GroupActivity>>,
    /// Dropped with the registry, which ends its cache listener (PostgreSQL).
    _stop_listener: Option<oneshot::Sender<()>>,
}

impl Core {
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// Starts a write transaction. Its decisions (modes, configs) may read the cache, so on
    /// PostgreSQL the cache first catches up with every write committed before this one,
    /// whose notifications may still be on their way.
    async fn write(&self) -> Result<crate::store::Writer, crate::store::StoreError> {
        let writer = self.store.write().await?;
        self.cache.catch_up(writer.generation());
        Ok(writer)
    }

    /// Whether reads are answered from memory: always on SQLite; on PostgreSQL while the
    /// listener that keeps the cache exact is connected.
    pub fn cache_serving(&self) -> bool {
        self.cache.serving()
    }

    /// Whether a new schema's Avro field defaults must fit their types: when configured, or
    /// when normalising, as Confluent 7.x's Avro provider decides (`validateDefaults ||
    /// normalize`, for new schemas only).
    fn checks_defaults(&self, normalize: bool) -> bool {
        self.settings.validate_avro_defaults || normalize
    }

    /// A schema by its id in `context`. Ids stay resolvable while any version, live or
    /// soft-deleted, uses them: consumers must still decode old data.
    pub async fn schema_by_id(&self, context: &Context, id: i64) -> Result<Arc<StoredSchema>, RegistryError> {
        if let Some(found) = self.cache.schema(context, id) {
            return Ok(found);
        }
        let ticket = self.cache.ticket();
        let mut reader = self.store.read().await?;
        match queries::schema_in_use(reader.conn(), context.as_str(), id).await? {
            Some(row) => {
                let schema = stored_schema(&row)?;
                self.cache.store_schema(ticket, &schema);
                Ok(Arc::new(schema))
            }
            None => Err(RegistryError::SchemaNotFound(Some(id))),
        }
    }

    /// A schema by id in `context`, parsed (for encoding and checking payloads).
    pub async fn parsed_schema(&self, context: &Context, id: i64) -> Result<Arc<Schema>, RegistryError> {
        self.schema_by_id(context, id).await?;
        if let Some(found) = self.parsed.get(context.as_str(), id) {
            return Ok(found);
        }
        let mut reader = self.store.read().await?;
        self.stored_parsed(reader.conn(), context.as_str(), id).await
    }

    /// A schema by id in `context`, parsed for its docs: from the text it was registered
    /// as when that held comments the stored text drops (Protobuf), so they show as
    /// descriptions.
    pub async fn documented_schema(&self, context: &Context, id: i64) -> Result<Arc<Schema>, RegistryError> {
        self.schema_by_id(context, id).await?;
        let mut reader = self.store.read().await?;
        self.documented_parsed(reader.conn(), context.as_str(), id).await
    }

    /// The subject/version pairs using schema `id` of `context`, only those of `subject`
    /// when given.
    pub async fn versions_of_id(
        &self,
        context: &Context,
        id: i64,
        subject: Option<&str>,
        include_deleted: bool,
    ) -> Result<Vec<(String, i64)>, RegistryError> {
        let subject = subject.map(subject_name).transpose()?;
        let subject = subject.as_deref();
        let mut reader = self.store.read().await?;
        let versions = queries::versions_of_schema(reader.conn(), context.as_str(), id).await?;
        if versions.is_empty() {
            return Err(RegistryError::SchemaNotFound(None));
        }
        Ok(versions
            .into_iter()
            .filter(|v| include_deleted || !v.deleted)
            .filter(|v| subject.is_none_or(|s| s == v.subject))
            .map(|v| (v.subject, v.version))
            .collect())
    }

    /// Subjects the filter selects, sorted: those with a live version, plus with `deleted`
    /// those whose every version is soft-deleted; with `deleted_only`, only subjects with
    /// soft-deleted versions.
    pub async fn subjects(
        &self,
        filter: &SubjectFilter,
        include_deleted: bool,
        deleted_only: bool,
    ) -> Result<Vec<String>, RegistryError> {
        let mut reader = self.store.read().await?;
        let all = queries::subjects(reader.conn()).await?;
        Ok(all
            .into_iter()
            .filter(|(name, _, _)| filter.matches(name))
            .filter(|&(_, live, deleted)| match (deleted_only, include_deleted) {
                (true, _) => deleted,
                (false, true) => true,
                (false, false) => live,
            })
            .map(|(name, _, _)| name)
            .collect())
    }

    /// A subject's version numbers.
    pub async fn versions(
        &self,
        subject: &str,
        include_deleted: bool,
        deleted_only: bool,
    ) -> Result<Vec<i64>, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::subject_versions(reader.conn(), &subject).await?;
        if rows.is_empty() || (!include_deleted && !deleted_only && rows.iter().all(|r| r.deleted)) {
            return Err(RegistryError::SubjectNotFound(subject));
        }
        Ok(rows
            .into_iter()
            .filter(|r| match (deleted_only, include_deleted) {
                (true, _) => r.deleted,
                (false, true) => true,
                (false, false) => !r.deleted,
            })
            .map(|r| r.version)
            .collect())
    }

    /// Every version of a subject, oldest first, soft-deleted ones included: `(version,
    /// schema id, deleted)`. Empty when the subject has none. One query, for pages that list a
    /// long history.
    pub async fn history(&self, subject: &str) -> Result<Vec<(i64, i64, bool)>, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::subject_versions(reader.conn(), &subject).await?;
        Ok(rows.into_iter().map(|r| (r.version, r.schema_id, r.deleted)).collect())
    }

    /// One version of a subject. `latest` is the latest live version, even with `deleted`.
    /// An unqualified subject the default context lacks is looked for in the other contexts.
    pub async fn version(
        &self,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<SubjectSchema, RegistryError> {
        self.with_context_fallback(subject, |subject| async move {
            self.version_exact(&subject, version, include_deleted).await
        })
        .await
    }

    /// Confluent's fallback for a subject named without a context: when the default
    /// context has no such subject, the same name in each other context in turn, the
    /// first that answers winning. Qualified subjects are only ever looked for where named.
    async fn with_context_fallback<T, F, Answer>(&self, subject: &str, attempt: F) -> Result<T, RegistryError>
    where
        F: Fn(String) -> Answer,
        Answer: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let first = attempt(subject.to_string()).await;
        if !matches!(first, Err(RegistryError::SubjectNotFound(_))) || QualifiedSubject::is_qualified(subject) {
            return first;
        }
        for context in self.other_contexts().await?.iter().cloned().map(Context::from_stored) {
            if let Ok(found) = attempt(context.subject_key(subject)).await {
                return Ok(found);
            }
        }
        first
    }

    async fn version_exact(
        &self,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<SubjectSchema, RegistryError> {
        let subject = subject_name(subject)?;
        if version == VersionSpec::Latest && !include_deleted {
            return self.latest_live(subject).await;
        }
        let mut reader = self.store.read().await?;
        let found = match version {
            VersionSpec::Latest => queries::latest_live_with_schema(reader.conn(), &subject).await?,
            VersionSpec::Number(n) => queries::version_with_schema(reader.conn(), &subject, n)
                .await?
                .filter(|(v, _)| include_deleted || !v.deleted),
        };
        match found {
            Some((row, schema)) => subject_schema(&row, &schema),
            // Which not-found: the subject's, or the version's?
            None => {
                let rows = queries::subject_versions(reader.conn(), &subject).await?;
                if rows.is_empty() || (!include_deleted && rows.iter().all(|r| r.deleted)) {
                    Err(RegistryError::SubjectNotFound(subject))
                } else {
                    Err(RegistryError::VersionNotFound(version.to_string()))
                }
            }
        }
    }

    /// The latest live version, from the cache when it holds the answer.
    async fn latest_live(&self, subject: String) -> Result<SubjectSchema, RegistryError> {
        if let Some(cached) = self.cache.latest(&subject) {
            return cached
                .map(|found| found.as_ref().clone())
                .ok_or(RegistryError::SubjectNotFound(subject));
        }
        let ticket = self.cache.ticket();
        let mut reader = self.store.read().await?;
        let found = match queries::latest_live_with_schema(reader.conn(), &subject).await? {
            Some((row, schema)) => Some(subject_schema(&row, &schema)?),
            None => None,
        };
        self.cache.store_latest(ticket, &subject, found.as_ref());
        found.ok_or(RegistryError::SubjectNotFound(subject))
    }

    /// The highest id given so far in `context` (`fetchMaxId`).
    pub async fn max_schema_id(&self, context: &Context) -> Result<i64, RegistryError> {
        let mut reader = self.store.read().await?;
        Ok(queries::max_schema_id(reader.conn(), context.as_str()).await?)
    }

    /// The contexts, sorted: the default one always, then every other until deleted.
    pub async fn contexts(&self) -> Result<Vec<Context>, RegistryError> {
        let mut contexts = vec![Context::default_context()];
        contexts.extend(self.other_contexts().await?.iter().cloned().map(Context::from_stored));
        Ok(contexts)
    }

    /// The contexts other than the default one, from the cache when it holds them.
    async fn other_contexts(&self) -> Result<Arc<[String]>, RegistryError> {
        if let Some(known) = self.cache.contexts() {
            return Ok(known);
        }
        let ticket = self.cache.ticket();
        let mut reader = self.store.read().await?;
        let contexts = queries::contexts(reader.conn()).await?;
        self.cache.store_contexts(ticket, &contexts);
        Ok(contexts.into())
    }

    /// Where `GET /schemas/ids/{id}?subject=` looks for an id, by Confluent's rules: with no
    /// subject, or an empty one, in the default context; with a context alone (`:.ctx:`),
    /// in that context; with a qualified subject, under that subject only (else the id is
    /// not found); with an unqualified one, under that subject in the default context, else
    /// under the same name in each other context in turn, else anywhere in the default
    /// context. Answers the context, and the subject key the id was found under, if any.
    pub async fn locate_id(&self, id: i64, subject: Option<&str>) -> Result<(Context, Option<String>), RegistryError> {
        let default = Context::default_context();
        let Some(raw) = subject else {
            return Ok((default, None));
        };
        let qualified = QualifiedSubject::parse(raw).map_err(|_| RegistryError::InvalidSubject(raw.to_string()))?;
        if qualified.name.is_empty() {
            return Ok((qualified.context, None));
        }
        let key = subject_name(raw)?;
        if QualifiedSubject::is_qualified(raw) {
            return match self.holds_id(&qualified.context, id, &key).await? {
                true => Ok((qualified.context, Some(key))),
                false => Err(RegistryError::SchemaNotFound(Some(id))),
            };
        }
        let others = self.other_contexts().await?;
        if others.is_empty() || self.holds_id(&default, id, &key).await? {
            return Ok((default, Some(key)));
        }
        for context in others.iter().cloned().map(Context::from_stored) {
            let there = context.subject_key(&qualified.name);
            if self.holds_id(&context, id, &there).await? {
                return Ok((context, Some(there)));
            }
        }
        Ok((default, None))
    }

    /// Does some version of `subject`, live or soft-deleted, use id `id` of `context`?
    async fn holds_id(&self, context: &Context, id: i64, subject: &str) -> Result<bool, RegistryError> {
        let mut reader = self.store.read().await?;
        let versions = queries::versions_of_schema(reader.conn(), context.as_str(), id).await?;
        Ok(versions.iter().any(|v| v.subject == subject))
    }

    /// Forgets an empty context (`DELETE /contexts/{context}`). One with subjects, even
    /// soft-deleted ones, is refused; the default context always exists and is never empty
    /// in that sense. Its schemas' rows stay, so its ids are never given to other content.
    pub async fn delete_context(&self, context: &Context) -> Result<(), RegistryError> {
        // Confluent names a context in these messages as a qualified subject: `:.ctx:`.
        let named = context.scope_key().unwrap_or_else(|| context.to_string());
        let mut writer = self.write().await?;
        let known = !context.is_default()
            && queries::contexts(writer.conn())
                .await?
                .iter()
                .any(|c| c == context.as_str());
        if !known {
            return Err(RegistryError::SubjectNotFound(named));
        }
        if queries::context_has_versions(writer.conn(), context.as_str()).await? {
            return Err(RegistryError::ContextNotEmpty(named));
        }
        queries::delete_context(writer.conn(), context.as_str()).await?;
        if let Some(scope) = context.scope_key() {
            let scope = queries::ConfigScope::Subject(scope);
            queries::delete_config(writer.conn(), &scope).await?;
            queries::delete_mode(writer.conn(), &scope).await?;
        }
        let generation = writer.commit(crate::store::Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(())
    }

    /// The latest version of `subject` whose metadata properties hold every `(key, value)`.
    pub async fn latest_with_metadata(
        &self,
        subject: &str,
        pairs: &[(&str, &str)],
        include_deleted: bool,
    ) -> Result<SubjectSchema, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::subject_versions_with_schemas(reader.conn(), &subject).await?;
        if rows.is_empty() || (!include_deleted && rows.iter().all(|(v, _)| v.deleted)) {
            return Err(RegistryError::SubjectNotFound(subject));
        }
        let matches = |schema: &SchemaRow| {
            let metadata = parse_json(&schema.metadata);
            let properties = metadata.as_ref().and_then(|m| m.get("properties"));
            pairs
                .iter()
                .all(|(k, v)| properties.and_then(|p| p.get(*k)).and_then(Value::as_str) == Some(*v))
        };
        let found = rows
            .iter()
            .rev()
            .filter(|(v, _)| include_deleted || !v.deleted)
            .find(|(_, s)| matches(s));
        match found {
            Some((row, schema)) => subject_schema(row, schema),
            None => Err(RegistryError::SchemaNotFound(None)),
        }
    }

    /// Schemas under the subjects the filter selects, by subject then version.
    pub async fn list_schemas(
        &self,
        filter: &SubjectFilter,
        include_deleted: bool,
        latest_only: bool,
    ) -> Result<Vec<SubjectSchema>, RegistryError> {
        let mut reader = self.store.read().await?;
        let rows = queries::all_versions_with_schemas(reader.conn()).await?;
        let mut out: Vec<SubjectSchema> = Vec::new();
        for (row, schema) in rows
            .iter()
            .filter(|(v, _)| filter.matches(&v.subject) && (include_deleted || !v.deleted))
        {
            let item = subject_schema(row, schema)?;
            match out.last_mut() {
                Some(last) if latest_only && last.subject == item.subject => *last = item,
                _ => out.push(item),
            }
        }
        Ok(out)
    }

    /// Ids of the schemas that reference a subject's version (looked for in other contexts
    /// as [`Core::version`] does).
    pub async fn referenced_by(
        &self,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<Vec<i64>, RegistryError> {
        self.with_context_fallback(subject, |subject| async move {
            self.referenced_by_exact(&subject, version, include_deleted).await
        })
        .await
    }

    async fn referenced_by_exact(
        &self,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<Vec<i64>, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::subject_versions_with_schemas(reader.conn(), &subject).await?;
        let (row, _) = pick_version(&subject, &rows, version, include_deleted)?;
        let mut ids: Vec<i64> = queries::referrers(reader.conn(), &subject, row.version)
            .await?
            .into_iter()
            .filter(|&(_, deleted, _, _)| include_deleted || !deleted)
            .map(|(id, _, _, _)| id)
            .collect();
        ids.dedup();
        Ok(ids)
    }

    /// Finds the version of `subject` holding this schema (`POST /subjects/{s}`).
    pub async fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
        normalize: bool,
        include_deleted: bool,
    ) -> Result<Arc<SubjectSchema>, RegistryError> {
        let key = cache::request_key("lookup", subject, request, &[normalize, include_deleted]);
        if let Some(found) = self.cache.lookup(&key) {
            return Ok(found);
        }
        let ticket = self.cache.ticket();
        let found = self
            .with_context_fallback(subject, |subject| async move {
                self.lookup_uncached(&subject, request, normalize, include_deleted)
                    .await
            })
            .await?;
        self.cache.store_lookup(ticket, key, &found);
        Ok(Arc::new(found))
    }

    async fn lookup_uncached(
        &self,
        subject: &str,
        request: &SchemaRequest,
        normalize: bool,
        include_deleted: bool,
    ) -> Result<SubjectSchema, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let normalize = normalize
            || self
                .effective_config(reader.conn(), &subject)
                .await?
                .normalize
                .unwrap_or(false);
        // Confluent parses the schema before asking whether the subject exists, so an invalid
        // schema is 42201 under any subject. Lookups parse leniently, so schemas stored
        // before a check existed still match.
        let parsed = match request.schema_text() {
            Some(text) => Some(
                self.parse_request(
                    reader.conn(),
                    &context::context_of(&subject),
                    (request.schema_type, text, &request.references),
                    ReadAs {
                        normalize,
                        check_defaults: false,
                    },
                )
                .await?,
            ),
            None => None,
        };
        let versions = queries::subject_versions(reader.conn(), &subject).await?;
        if versions.is_empty() || (!include_deleted && versions.iter().all(|v| v.deleted)) {
            return Err(RegistryError::SubjectNotFound(subject));
        }
        // A body without a schema matches nothing: Confluent answers it as an unknown schema.
        let Some(parsed) = parsed else {
            return Err(RegistryError::SchemaNotFound(None));
        };
        let candidates = self.versions_with_content(reader.conn(), &subject, &parsed).await?;
        for (row, schema) in candidates.iter().filter(|(v, _)| include_deleted || !v.deleted) {
            if parse_refs(&schema.refs)? != parsed.references {
                continue;
            }
            let same_metadata = request
                .metadata
                .as_ref()
                .is_none_or(|m| parse_json(&schema.metadata).as_ref() == Some(m));
            let same_rules = request
                .rule_set
                .as_ref()
                .is_none_or(|r| parse_json(&schema.rule_set).as_ref() == Some(r));
            if same_metadata && same_rules {
                return subject_schema(row, schema);
            }
        }
        Err(RegistryError::SchemaNotFound(None))
    }

    /// Would `request` be accepted under `subject`'s level? Against one version (compared
    /// with it alone, in the level's directions, as Confluent does even for transitive
    /// levels), or with `version` `None` against what registration would check.
    pub async fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        request: &SchemaRequest,
        normalize: bool,
        verbose: bool,
    ) -> Result<CompatibilityVerdict, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::subject_versions(reader.conn(), &subject).await?;
        let live: Vec<&VersionRow> = rows.iter().filter(|v| !v.deleted).collect();
        let against: Vec<&VersionRow> = match version {
            None => live.clone(),
            Some(VersionSpec::Latest) => live.last().copied().into_iter().collect(),
            Some(VersionSpec::Number(n)) => match live.iter().find(|v| v.version == n) {
                Some(found) => vec![*found],
                None => return Err(RegistryError::VersionNotFound(n.to_string())),
            },
        };
        let config = self.effective_config(reader.conn(), &subject).await?;
        let level = config
            .compatibility_level
            .unwrap_or(self.settings.default_compatibility);
        // The subject's `normalize` applies when the request does not ask (as in register).
        let normalize = normalize || config.normalize.unwrap_or(false);
        let check_defaults = self.checks_defaults(normalize);
        let parsed = match request.schema_text() {
            None => Err(RegistryError::InvalidSchema("Empty schema".to_string())),
            Some(text) => {
                self.parse_request(
                    reader.conn(),
                    &context::context_of(&subject),
                    (request.schema_type, text, &request.references),
                    ReadAs {
                        normalize,
                        check_defaults,
                    },
                )
                .await
            }
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            // Verbose checks report an invalid (or empty) schema as a finding.
            Err(RegistryError::InvalidSchema(message)) if verbose => {
                return Ok(CompatibilityVerdict {
                    is_compatible: false,
                    messages: vec![message],
                })
            }
            Err(err) => return Err(err),
        };
        let level = if version.is_some() {
            // One named version: compare with it alone, whatever the level's reach.
            non_transitive(level)
        } else {
            level
        };
        let options = CheckOptions {
            protobuf_rules: config.protobuf_rules.unwrap_or_default(),
            ..CheckOptions::default()
        };
        let findings = self
            .incompatibilities(reader.conn(), &against, &parsed, level, options)
            .await?;
        // What registration would also refuse (or, READER_AWARE, accept) for declared
        // readers; a check against an older version is about that version alone.
        let findings = if matches!(version, None | Some(VersionSpec::Latest)) {
            let readers = self.declared_readers(reader.conn(), &subject).await?;
            self.judge_readers(&subject, &config, findings, &readers, &parsed.schema, options)?
        } else {
            findings
        };
        Ok(CompatibilityVerdict {
            is_compatible: findings.is_empty(),
            messages: findings.into_messages(),
        })
    }

    /// Every incompatibility of `new` against `previous` (oldest first) under `level`.
    async fn incompatibilities(
        &self,
        conn: &mut sqlx::AnyConnection,
        previous: &[&VersionRow],
        new: &Parsed,
        level: CompatibilityLevel,
        options: CheckOptions,
    ) -> Result<Findings, RegistryError> {
        if level == CompatibilityLevel::None || previous.is_empty() {
            return Ok(Findings::default());
        }
        let reach: &[&VersionRow] = if level.is_transitive() {
            previous
        } else {
            &previous[previous.len() - 1..]
        };
        let mut schemas: Vec<(i64, Arc<Schema>)> = Vec::with_capacity(reach.len());
        for row in reach {
            schemas.push((
                row.version,
                self.stored_parsed(conn, &row.context, row.schema_id).await?,
            ));
        }
        let size: usize =
            new.schema.canonical().len() + schemas.iter().map(|(_, s)| s.canonical().len()).sum::<usize>();
        let findings = if size <= INLINE_CHECK_BYTES {
            judge(level, &schemas, &new.schema, options)
        } else {
            // Large schemas may take a while (within the check's step budget): off the
            // async workers, so that other requests and /health keep being answered.
            let new = new.schema.clone();
            tokio::task::spawn_blocking(move || judge(level, &schemas, &new, options))
                .await
                .map_err(|e| RegistryError::TooComplex(format!("the compatibility check failed: {e}")))?
        };
        findings.map_err(|e| RegistryError::TooComplex(e.to_string()))
    }

    /// The effective config of a subject: its own, over its context's (the top level's in
    /// the default context), over `:.__GLOBAL:`'s.
    async fn effective_config(&self, conn: &mut sqlx::AnyConnection, subject: &str) -> Result<Config, RegistryError> {
        if let Some(config) = self.cache.config(subject) {
            return Ok(config);
        }
        let ticket = self.cache.ticket();
        let mut config = Config::default();
        for scope in settings::scopes_of_subject(subject) {
            if let Some(stored) = settings::stored_config(conn, &scope).await? {
                config = config.over(&stored);
            }
        }
        self.cache.store_config(ticket, subject, &config);
        Ok(config)
    }
}

/// Schemas (new plus compared versions) whose canonical texts add up to at most this many
/// bytes are checked on the request's own task: ordinary schemas judge in microseconds, less
/// than a trip to a blocking thread costs.
const INLINE_CHECK_BYTES: usize = 32 * 1024;

/// Checks `new` against `schemas` (version, schema; oldest first) under `level`.
fn judge(
    level: CompatibilityLevel,
    schemas: &[(i64, Arc<Schema>)],
    new: &Schema,
    options: CheckOptions,
) -> Result<Findings, compat::TooComplex> {
    let history: Vec<PreviousVersion<'_>> = schemas
        .iter()
        .map(|(version, schema)| PreviousVersion {
            version: *version as u32,
            schema: schema.as_ref(),
        })
        .collect();
    let report = compat::check_with(level, &history, new, options)?;
    Ok(Findings {
        confluent: report.confluent_messages(&history),
        explained: report.incompatibilities.iter().map(explain).collect(),
        fields: report.incompatibilities.iter().map(|i| i.field.clone()).collect(),
    })
}

/// What a compatibility check found: Confluent's verbose strings, which clients and tools
/// parse, and Herald's explanation of each finding (where, why, how to fix).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) confluent: Vec<String>,
    pub(crate) explained: Vec<String>,
    /// The field of each finding (`None`: the whole schema), for the reader-aware policy.
    pub(crate) fields: Vec<Option<String>>,
}

impl Findings {
    fn is_empty(&self) -> bool {
        self.confluent.is_empty()
    }

    /// The verbose `messages`: Confluent's strings first, then the explanations.
    fn into_messages(self) -> Vec<String> {
        let mut messages = self.confluent;
        messages.extend(self.explained);
        messages
    }
}

/// One finding in a sentence: rule, version, where in both schemas, why, and the fix.
fn explain(found: &compat::Incompatibility) -> String {
    let at = |pointer: &str| {
        if pointer.is_empty() {
            "/".to_string()
        } else {
            pointer.to_string()
        }
    };
    format!(
        "{} ({} against version {}; {}; new schema at {}, old schema at {}): {} Fix: {}",
        found.rule,
        found.direction.as_str(),
        found.version,
        match &found.field {
            Some(field) => format!("field {field}"),
            None => "no single field".to_string(),
        },
        at(&found.new_pointer),
        at(&found.old_pointer),
        found.message,
        found.hint
    )
}

/// The level that compares with the latest version only, in the same directions.
fn non_transitive(level: CompatibilityLevel) -> CompatibilityLevel {
    match level {
        CompatibilityLevel::BackwardTransitive => CompatibilityLevel::Backward,
        CompatibilityLevel::ForwardTransitive => CompatibilityLevel::Forward,
        CompatibilityLevel::FullTransitive => CompatibilityLevel::Full,
        other => other,
    }
}

/// Finds a version in a subject's rows, with Confluent's not-found rules.
fn pick_version<'r>(
    subject: &str,
    rows: &'r [(VersionRow, SchemaRow)],
    version: VersionSpec,
    include_deleted: bool,
) -> Result<(&'r VersionRow, &'r SchemaRow), RegistryError> {
    if rows.is_empty() || (!include_deleted && rows.iter().all(|(v, _)| v.deleted)) {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    let found = match version {
        VersionSpec::Latest => rows.iter().rev().find(|(v, _)| !v.deleted),
        VersionSpec::Number(n) => rows
            .iter()
            .find(|(v, _)| v.version == n && (include_deleted || !v.deleted)),
    };
    found
        .map(|(v, s)| (v, s))
        .ok_or_else(|| RegistryError::VersionNotFound(version.to_string()))
}

fn stored_schema(row: &SchemaRow) -> Result<StoredSchema, RegistryError> {
    Ok(StoredSchema {
        context: Context::from_stored(row.context.clone()),
        id: row.id,
        schema_type: row
            .schema_type
            .parse::<SchemaType>()
            .map_err(|e| corrupt(format!("schema {}: {e}", row.id)))?,
        schema: row.schema.clone(),
        references: parse_refs(&row.refs)?,
        metadata: parse_json(&row.metadata),
        rule_set: parse_json(&row.rule_set),
    })
}

fn subject_schema(row: &VersionRow, schema: &SchemaRow) -> Result<SubjectSchema, RegistryError> {
    Ok(SubjectSchema {
        subject: row.subject.clone(),
        version: row.version,
        deleted: row.deleted,
        schema: stored_schema(schema)?,
    })
}

fn parse_refs(refs: &str) -> Result<Vec<SchemaReference>, RegistryError> {
    serde_json::from_str(refs).map_err(|e| corrupt(format!("stored references {refs:?}: {e}")))
}

fn parse_json(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str(t).ok())
}

fn corrupt(detail: String) -> RegistryError {
    RegistryError::Store(crate::store::StoreError(format!("unreadable stored data: {detail}")))
}
