//! Registration and deletion: the registry's writes, each in a store transaction.
//!
//! Registrations are committed in groups. Each is parsed on its caller's task, then queued
//! for one writer task, which takes every registration waiting, decides and writes each in
//! turn inside one transaction (a savepoint apiece, so one failure undoes only itself), and
//! commits once. A commit costs a disk flush; sharing it is what lets registrations outrun
//! the disk's flush rate. Every caller is answered only after the commit: acknowledged means
//! durable.

use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use super::cache::request_key;
use super::content::{content_key, identity, Parsed, ReadAs};
use super::context::{context_of, reference_key, Context};
use super::{
    corrupt, parse_json, parse_refs, schema_id_in_range, subject_name, Config, Core, Mode, Registered, Registry,
    RegistryError, SchemaRequest, StoredSchema, VersionSpec, MAX_ID,
};
use crate::schema::deprecation::{self, Date};
use crate::schema::SchemaType;
use crate::store::queries::{self, SchemaRow, VersionRow};
use crate::store::{Changed, StoreError, Writer};

/// The most registrations committed together.
const MAX_GROUP: usize = 128;

/// A parsed registration waiting for the writer.
pub(crate) struct RegisterJob {
    subject: String,
    request: SchemaRequest,
    parsed: Parsed,
    reply: oneshot::Sender<Result<Registered, RegistryError>>,
}

impl Registry {
    /// Registers `request` under `subject` (`POST /subjects/{s}/versions`), following
    /// Confluent's algorithm: an existing live version with the same identity is returned
    /// as it is; otherwise the mode is checked, the schema is checked against the subject's
    /// live versions under its level, and a new version is written, under the id the same
    /// content already has anywhere, or the next id.
    pub async fn register(
        &self,
        subject: &str,
        request: &SchemaRequest,
        normalize: bool,
    ) -> Result<Registered, RegistryError> {
        check_explicit_id(request)?;
        let key = request_key("register", subject, request, &[normalize]);
        if let Some(known) = self.cache.registration(&key) {
            return Ok(known.as_ref().clone());
        }
        let ticket = self.cache.ticket();
        let subject = subject_name(subject)?;
        check_shapes(request)?;
        // Parse outside the writer: it is the slow part, and needs no lock.
        let parsed = {
            let mut reader = self.store.read().await?;
            let config = self.effective_config(reader.conn(), &subject).await?;
            let normalize = normalize || config.normalize.unwrap_or(false);
            let (schema_type, text, references) = match request.schema_text() {
                Some(text) => (request.schema_type, text.to_string(), request.references.clone()),
                None => {
                    let Some((_, latest)) = queries::latest_live_with_schema(reader.conn(), &subject).await? else {
                        return Err(RegistryError::InvalidSchema("Empty schema".to_string()));
                    };
                    let schema_type = latest
                        .schema_type
                        .parse::<SchemaType>()
                        .map_err(|e| corrupt(e.to_string()))?;
                    (schema_type, latest.schema.clone(), parse_refs(&latest.refs)?)
                }
            };
            // A schema kept under an imported id was checked where it came from.
            let check_defaults = self.checks_defaults(normalize) && request.id.is_none();
            self.parse_request(
                reader.conn(),
                &context_of(&subject),
                (schema_type, &text, &references),
                ReadAs {
                    normalize,
                    check_defaults,
                },
            )
            .await?
        };
        // A Protobuf schema's inline rules live in its options, readable once it is compiled;
        // a bad one is refused now with where it fails, as the other formats' are.
        if let crate::schema::Schema::Protobuf(proto) = &parsed.schema {
            crate::validate::rules::compile_inline_protobuf(proto)
                .map_err(|error| RegistryError::InvalidSchema(format!("Invalid schema: confluent rules: {error}")))?;
        }
        let (reply, answer) = oneshot::channel();
        let job = RegisterJob {
            subject,
            request: request.clone(),
            parsed,
            reply,
        };
        let queue = self.writer.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(4 * MAX_GROUP);
            tokio::spawn(run_writer(self.core.clone(), receiver));
            sender
        });
        queue
            .send(job)
            .await
            .map_err(|_| RegistryError::Store(StoreError("the registry's writer has stopped".to_string())))?;
        let registered = answer
            .await
            .map_err(|_| RegistryError::Store(StoreError("the registry's writer has stopped".to_string())))??;
        if !registered.created {
            self.cache.store_registration(ticket, key, &registered);
        }
        Ok(registered)
    }
}

/// The writer task: group commits until every [`Registry`] handle is gone.
async fn run_writer(core: Arc<Core>, mut jobs: mpsc::Receiver<RegisterJob>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = core.register_group(&group).await;
        for (job, result) in group.into_iter().zip(results) {
            // A caller that went away still had its registration committed, as with any
            // server; there is no one left to tell.
            let _ = job.reply.send(result);
        }
    }
}

impl Core {
    /// Decides and writes a group of registrations in one transaction; one result each.
    async fn register_group(&self, group: &[RegisterJob]) -> Vec<Result<Registered, RegistryError>> {
        let store_error = |e: &StoreError| RegistryError::Store(StoreError(e.0.clone()));
        let mut writer = match self.write().await {
            Ok(writer) => writer,
            Err(e) => return group.iter().map(|_| Err(store_error(&e))).collect(),
        };
        let mut results = Vec::with_capacity(group.len());
        for job in group {
            let result = self
                .decide_and_write(writer.conn(), &job.subject, &job.request, &job.parsed)
                .await;
            // Refusals are decided before anything is written; a database failure may have
            // left a registration half-written, so the whole group is rolled back.
            if let Err(RegistryError::Store(e)) = &result {
                let e = StoreError(e.0.clone());
                drop(writer);
                return group.iter().map(|_| Err(store_error(&e))).collect();
            }
            results.push(result);
        }
        let wrote = results.iter().any(|r| matches!(r, Ok(r) if r.created));
        if !wrote {
            return results;
        }
        match writer.commit(Changed::Schemas).await {
            Ok(generation) => {
                self.cache.invalidate_content(generation);
                for (job, result) in group.iter().zip(&results) {
                    if let Ok(r @ Registered { created: true, .. }) = result {
                        tracing::info!(subject = %job.subject, version = r.version, id = r.id, "schema registered");
                    }
                }
                results
            }
            Err(e) => results
                .into_iter()
                .map(|r| match r {
                    Ok(_) => Err(store_error(&e)),
                    refused => refused,
                })
                .collect(),
        }
    }

    /// Confluent's registration rules, against the database as this transaction sees it.
    async fn decide_and_write(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
        request: &SchemaRequest,
        parsed: &Parsed,
    ) -> Result<Registered, RegistryError> {
        let subject = subject.to_string();
        // Ids are allocated, deduplicated and kept within the subject's context.
        let context = context_of(&subject);
        let config = self.effective_config(conn, &subject).await?;
        // Only the latest live version and the highest number are needed for most levels;
        // a subject's whole history is read only for transitive levels.
        let latest = queries::latest_live_with_schema(conn, &subject).await?;
        let highest = queries::max_version(conn, &subject).await?;
        let (latest_version, latest) = match latest {
            Some((version, schema)) => (Some(version), Some(schema)),
            None => (None, None),
        };
        let inherited_metadata = latest.as_ref().and_then(|s| parse_json(&s.metadata));
        let inherited_rules = latest.as_ref().and_then(|s| parse_json(&s.rule_set));
        let metadata = merge_metadata(
            config.default_metadata.as_ref(),
            request.metadata.as_ref().or(inherited_metadata.as_ref()),
            config.override_metadata.as_ref(),
        );
        let rule_set = merge_rule_sets(
            config.default_rule_set.as_ref(),
            request.rule_set.as_ref().or(inherited_rules.as_ref()),
            config.override_rule_set.as_ref(),
        );
        let fingerprint = identity(
            parsed.schema_type,
            &parsed.canonical,
            &parsed.references,
            metadata.as_ref(),
            rule_set.as_ref(),
        );
        // Whatever the registry filled in (the previous version's schema for a request
        // without one, configured or inherited metadata and rules) makes Confluent answer
        // with the whole stored schema instead of `{"id": n}`.
        let rewritten = request.schema_text().is_none() || metadata != request.metadata || rule_set != request.rule_set;
        let stored = |id: i64| StoredSchema {
            context: context.clone(),
            id,
            schema_type: parsed.schema_type,
            schema: parsed.canonical.clone(),
            references: parsed.references.clone(),
            metadata: metadata.clone(),
            rule_set: rule_set.clone(),
        };

        if let Some((version, schema)) =
            queries::live_version_with_fingerprint(conn, &subject, context.as_str(), &fingerprint).await?
        {
            if request.id.is_none_or(|id| id == schema.id) {
                return Ok(Registered {
                    id: schema.id,
                    version: version.version,
                    created: false,
                    rewritten,
                    schema: stored(schema.id),
                });
            }
        }

        // A normalised request also matches a live version stored before normalisation was
        // asked for, as Confluent looks it up by normalised form before registering.
        if parsed.normalized && request.id.is_none() {
            for (version, schema) in self.versions_with_content(conn, &subject, parsed).await? {
                let same = !version.deleted
                    && parse_refs(&schema.refs)? == parsed.references
                    && parse_json(&schema.metadata) == metadata
                    && parse_json(&schema.rule_set) == rule_set;
                if same {
                    return Ok(Registered {
                        id: schema.id,
                        version: version.version,
                        created: false,
                        rewritten,
                        schema: StoredSchema {
                            schema: schema.schema.clone(),
                            ..stored(schema.id)
                        },
                    });
                }
            }
        }

        let mode = self.effective_mode(conn, &subject).await?;
        check_mode(&subject, &context, mode, request.id.is_some())?;

        let next_version = highest.map_or(1, |v| v + 1);
        if next_version > MAX_ID && request.version.is_none_or(|v| v == -1) {
            return Err(RegistryError::InvalidSchema(format!(
                "No version number is left under subject {subject}: versions are between 1 and {MAX_ID} (2^31-1)"
            )));
        }
        let version = match request.version.filter(|&v| v != -1) {
            None => next_version,
            Some(wanted) if mode == Mode::Import => {
                if !(1..=MAX_ID).contains(&wanted) {
                    return Err(RegistryError::InvalidVersion(wanted.to_string()));
                }
                if queries::version_with_schema(conn, &subject, wanted).await?.is_some() {
                    return Err(RegistryError::InvalidSchema(format!(
                        "Version {wanted} already exists under subject {subject}"
                    )));
                }
                wanted
            }
            Some(wanted) if wanted == next_version => wanted,
            Some(_) => {
                return Err(RegistryError::InvalidSchema(
                    "Version is not one more than previous version".to_string(),
                ))
            }
        };

        if mode != Mode::Import {
            let level = config
                .compatibility_level
                .unwrap_or(self.settings.default_compatibility);
            let live: Vec<VersionRow> = if level.is_transitive() || config.compatibility_group.is_some() {
                queries::subject_versions(conn, &subject)
                    .await?
                    .into_iter()
                    .filter(|v| !v.deleted)
                    .collect()
            } else {
                latest_version.iter().cloned().collect()
            };
            let live: Vec<&VersionRow> = live.iter().collect();
            let compared = in_group(conn, &live, &config, metadata.as_ref()).await?;
            let options = crate::compat::CheckOptions {
                protobuf_rules: config.protobuf_rules.unwrap_or_default(),
                ..crate::compat::CheckOptions::default()
            };
            let findings = self.incompatibilities(conn, &compared, parsed, level, options).await?;
            // Declared readers, at every level (NONE too): a group said it reads these fields.
            let readers = self.declared_readers(conn, &subject).await?;
            let findings = self.judge_readers(&subject, &config, findings, &readers, &parsed.schema, options)?;
            if !findings.is_empty() {
                return Err(RegistryError::Incompatible {
                    subject,
                    messages: findings.confluent,
                    explained: findings.explained,
                });
            }
        }
        // Deprecations, at every level (NONE too): readers were promised a deprecated field
        // until its sunset. Imports copy another registry's history as it was.
        let deprecations =
            deprecation::has_properties(metadata.as_ref()) || deprecation::has_properties(inherited_metadata.as_ref());
        if mode != Mode::Import && deprecations {
            let previous = match (&latest_version, &latest) {
                (Some(version), Some(_)) => Some((
                    self.stored_parsed(conn, &version.context, version.schema_id).await?,
                    inherited_metadata.clone(),
                )),
                _ => None,
            };
            let findings = deprecation::check_version(
                previous
                    .as_ref()
                    .map(|(schema, metadata)| (schema.as_ref(), metadata.as_ref())),
                &parsed.schema,
                metadata.as_ref(),
                Date::today(),
            )
            .map_err(|why| RegistryError::InvalidSchema(format!("Invalid metadata: {why}")))?;
            let refusals: Vec<String> = findings
                .into_iter()
                .filter(|f| f.is_error)
                .map(|f| format!("{}: {} {}", f.rule, f.message, f.hint))
                .collect();
            if !refusals.is_empty() {
                return Err(RegistryError::Incompatible {
                    subject,
                    messages: refusals.clone(),
                    explained: refusals,
                });
            }
        }

        let id = match (
            queries::schema_by_fingerprint(conn, context.as_str(), &fingerprint).await?,
            request.id,
        ) {
            (Some(existing), Some(wanted)) if existing.id != wanted => {
                return Err(RegistryError::ImportIdMismatch(format!(
                    "The ID of an imported schema does not match the existing ID: this schema has id {}, not {wanted}",
                    existing.id
                )))
            }
            (Some(existing), _) => existing.id,
            (None, wanted) => {
                let id = match wanted {
                    Some(wanted) => {
                        if queries::schema_by_id(conn, context.as_str(), wanted).await?.is_some() {
                            // Confluent refuses to overwrite another schema's id as an
                            // operation not permitted (42205), not as an id mismatch.
                            return Err(RegistryError::NotPermitted(format!(
                                "Overwrite new schema with id {wanted} in context {} is not permitted. \
                                 Id {wanted} belongs to another schema",
                                message_context(&context)
                            )));
                        }
                        wanted
                    }
                    None => next_schema_id(queries::max_schema_id(conn, context.as_str()).await?)?,
                };
                let row = SchemaIdentity {
                    context: &context,
                    id,
                    fingerprint: &fingerprint,
                };
                insert_schema(conn, row, parsed, metadata.as_ref(), rule_set.as_ref()).await?;
                id
            }
        };
        if !context.is_default() {
            queries::insert_context(conn, context.as_str()).await?;
        }
        queries::insert_version(conn, &subject, version, context.as_str(), id).await?;
        Ok(Registered {
            id,
            version,
            created: true,
            rewritten,
            schema: stored(id),
        })
    }

    /// What both deletes start with: a valid subject, the writer, a mode that allows
    /// deleting, and the subject's versions (at least one).
    async fn begin_delete(&self, subject: &str) -> Result<(String, Writer, Vec<VersionRow>), RegistryError> {
        let subject = subject_name(subject)?;
        let mut writer = self.write().await?;
        if self.effective_mode(writer.conn(), &subject).await?.is_read_only() {
            return Err(read_only(&subject));
        }
        let rows = queries::subject_versions(writer.conn(), &subject).await?;
        if rows.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject));
        }
        Ok((subject, writer, rows))
    }

    /// Deletes a subject: softly (every live version; answers their numbers), or
    /// permanently once every version is soft-deleted (answers them all).
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i64>, RegistryError> {
        let (subject, mut writer, rows) = self.begin_delete(subject).await?;
        let conn = writer.conn();
        let targets: Vec<&VersionRow> = if permanent {
            if rows.iter().any(|r| !r.deleted) {
                return Err(RegistryError::SubjectNotSoftDeleted(subject));
            }
            rows.iter().collect()
        } else {
            let live: Vec<&VersionRow> = rows.iter().filter(|r| !r.deleted).collect();
            if live.is_empty() {
                return Err(RegistryError::SubjectSoftDeleted(subject));
            }
            live
        };
        for row in &targets {
            check_unreferenced(conn, &subject, row.version, permanent, true).await?;
        }
        for row in targets.iter().rev() {
            if permanent {
                queries::hard_delete_version(conn, &subject, row.version).await?;
            } else {
                queries::soft_delete_version(conn, &subject, row.version).await?;
            }
        }
        if permanent {
            let scope = queries::ConfigScope::Subject(subject.clone());
            queries::delete_config(conn, &scope).await?;
            queries::delete_mode(conn, &scope).await?;
            queries::delete_contracts_of_subject(conn, &subject).await?;
        }
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(targets.iter().map(|r| r.version).collect())
    }

    /// Deletes one version: softly, or permanently once soft-deleted. Answers its number.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: VersionSpec,
        permanent: bool,
    ) -> Result<i64, RegistryError> {
        let (subject, mut writer, rows) = self.begin_delete(subject).await?;
        let conn = writer.conn();
        let found = match version {
            VersionSpec::Latest => rows.iter().rev().find(|r| !r.deleted),
            VersionSpec::Number(n) => rows.iter().find(|r| r.version == n),
        };
        let Some(row) = found else {
            return Err(RegistryError::VersionNotFound(version.to_string()));
        };
        match (permanent, row.deleted) {
            (false, true) => return Err(RegistryError::VersionSoftDeleted(subject, row.version)),
            (true, false) => return Err(RegistryError::VersionNotSoftDeleted(subject, row.version)),
            _ => {}
        }
        check_unreferenced(conn, &subject, row.version, permanent, false).await?;
        if permanent {
            queries::hard_delete_version(conn, &subject, row.version).await?;
            if rows.len() == 1 {
                let scope = queries::ConfigScope::Subject(subject.clone());
                queries::delete_config(conn, &scope).await?;
                queries::delete_mode(conn, &scope).await?;
                queries::delete_contracts_of_subject(conn, &subject).await?;
            }
        } else {
            queries::soft_delete_version(conn, &subject, row.version).await?;
        }
        let generation = writer.commit(Changed::Everything).await?;
        self.cache.invalidate(generation);
        Ok(row.version)
    }
}

/// An id a client asks to keep (IMPORT mode) must be one Confluent's clients can carry:
/// a larger one would be stored as given but framed into records as another id.
fn check_explicit_id(request: &SchemaRequest) -> Result<(), RegistryError> {
    match request.id {
        Some(id) if !schema_id_in_range(id) => Err(RegistryError::InvalidSchema(format!(
            "Invalid schema id {id}: schema ids are between 1 and {MAX_ID} (2^31-1)"
        ))),
        _ => Ok(()),
    }
}

/// The id after the highest in use, while one is left: ids stop at 2^31-1 (an imported
/// schema may have taken the last one).
fn next_schema_id(max: i64) -> Result<i64, RegistryError> {
    if max >= MAX_ID {
        return Err(RegistryError::InvalidSchema(format!(
            "No schema id is left: schema ids are between 1 and {MAX_ID} (2^31-1), and id {max} is taken"
        )));
    }
    Ok(max + 1)
}

/// Metadata must be an object when given; a rule set must pass Confluent's rule checks.
fn check_shapes(request: &SchemaRequest) -> Result<(), RegistryError> {
    if request.metadata.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(RegistryError::InvalidSchema(
            "Invalid metadata: \"metadata\" must be an object".to_string(),
        ));
    }
    if let Some(rule_set) = &request.rule_set {
        super::rules::validate_rule_set(rule_set)?;
    }
    // The schema's inline `confluent:rules` are compiled now too, so a bad one is refused
    // with where it fails rather than by the first record.
    if let Some(text) = request.schema.as_deref().filter(|t| !t.trim().is_empty()) {
        crate::validate::rules::compile_inline(request.schema_type, text)
            .map_err(|error| RegistryError::InvalidSchema(format!("Invalid schema: confluent:rules: {error}")))?;
    }
    Ok(())
}

/// Which modes allow this write: ids are kept only in IMPORT, and IMPORT takes nothing else.
fn check_mode(subject: &str, context: &Context, mode: Mode, explicit_id: bool) -> Result<(), RegistryError> {
    if mode.is_read_only() {
        return Err(read_only(subject));
    }
    let context = message_context(context);
    match (mode, explicit_id) {
        (Mode::Import, false) => Err(RegistryError::NotPermitted(format!(
            "Subject {subject} in context {context} is not in read-write mode"
        ))),
        (Mode::ReadWrite, true) => Err(RegistryError::NotPermitted(format!(
            "Subject {subject} in context {context} is not in import mode"
        ))),
        _ => Ok(()),
    }
}

/// A context as Confluent's messages name it. The default one is named by nothing at all,
/// so that its mode refusals read `Subject s in context  is in read-only mode` (two
/// spaces), the text clients compare with.
fn message_context(context: &Context) -> &str {
    if context.is_default() {
        ""
    } else {
        context.as_str()
    }
}

fn read_only(subject: &str) -> RegistryError {
    let context = context_of(subject);
    RegistryError::NotPermitted(format!(
        "Subject {subject} in context {} is in read-only mode",
        message_context(&context)
    ))
}

/// Refuses to delete a version other schemas use. A soft delete counts live referrers; a
/// permanent one counts soft-deleted ones too. On a subject delete, the subject's own
/// versions referring to each other do not count.
async fn check_unreferenced(
    conn: &mut sqlx::AnyConnection,
    subject: &str,
    version: i64,
    permanent: bool,
    whole_subject: bool,
) -> Result<(), RegistryError> {
    let referrers = queries::referrers(conn, subject, version).await?;
    let blocking = referrers
        .iter()
        .filter(|(_, deleted, _, _)| permanent || !deleted)
        .any(|(_, _, referrer_subject, _)| !(whole_subject && referrer_subject == subject));
    if blocking {
        return Err(RegistryError::Referenced {
            subject: subject.to_string(),
            version,
        });
    }
    Ok(())
}

/// With a `compatibilityGroup` configured, only versions whose metadata property of that
/// name equals the new schema's are compared.
async fn in_group<'r>(
    conn: &mut sqlx::AnyConnection,
    live: &[&'r VersionRow],
    config: &Config,
    metadata: Option<&Value>,
) -> Result<Vec<&'r VersionRow>, RegistryError> {
    let Some(group) = config.compatibility_group.as_deref() else {
        return Ok(live.to_vec());
    };
    let property = |m: Option<&Value>| m.and_then(|m| m.get("properties")).and_then(|p| p.get(group)).cloned();
    let wanted = property(metadata);
    let mut compared = Vec::new();
    for version in live {
        let schema = queries::schema_by_id(conn, &version.context, version.schema_id).await?;
        let theirs = schema.as_ref().and_then(|s| parse_json(&s.metadata));
        if property(theirs.as_ref()) == wanted {
            compared.push(*version);
        }
    }
    Ok(compared)
}

/// Where a new schema row sits: its context, its id there, and its identity.
struct SchemaIdentity<'a> {
    context: &'a Context,
    id: i64,
    fingerprint: &'a str,
}

async fn insert_schema(
    conn: &mut sqlx::AnyConnection,
    identity: SchemaIdentity<'_>,
    parsed: &Parsed,
    metadata: Option<&Value>,
    rule_set: Option<&Value>,
) -> Result<(), RegistryError> {
    let SchemaIdentity {
        context,
        id,
        fingerprint,
    } = identity;
    let row = SchemaRow {
        context: context.as_str().to_string(),
        id,
        fingerprint: fingerprint.to_string(),
        content: content_key(parsed.schema_type, &parsed.canonical, &parsed.references),
        schema_type: parsed.schema_type.as_str().to_string(),
        schema: parsed.canonical.clone(),
        refs: serde_json::to_string(&parsed.references).map_err(|e| corrupt(e.to_string()))?,
        metadata: metadata.map(Value::to_string),
        rule_set: rule_set.map(Value::to_string),
    };
    queries::insert_schema(conn, &row).await?;
    if let Some(source) = &parsed.source {
        queries::insert_schema_source(conn, context.as_str(), id, source).await?;
    }
    for (position, reference) in parsed.references.iter().enumerate() {
        queries::insert_reference(
            conn,
            context.as_str(),
            id,
            position as i64,
            &reference.name,
            &reference_key(context, &reference.subject),
            reference.version,
        )
        .await?;
    }
    Ok(())
}

/// Confluent's metadata merge: `default`, then the request's (or the previous version's),
/// then `override`, later ones winning property by property and tag by tag.
fn merge_metadata(default: Option<&Value>, base: Option<&Value>, overrides: Option<&Value>) -> Option<Value> {
    let layers: Vec<&Value> = [default, base, overrides].into_iter().flatten().collect();
    if layers.is_empty() {
        return None;
    }
    if layers.len() == 1 {
        return Some(layers[0].clone());
    }
    let mut merged = Map::new();
    for layer in layers {
        let Some(object) = layer.as_object() else { continue };
        for (key, value) in object {
            match (merged.get_mut(key), value) {
                (Some(Value::Object(into)), Value::Object(from)) => {
                    into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                (Some(Value::Array(into)), Value::Array(from)) => {
                    for item in from {
                        if !into.contains(item) {
                            into.push(item.clone());
                        }
                    }
                }
                _ => {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
    }
    Some(Value::Object(merged))
}

/// Rule sets merge like metadata, rule lists by rule name.
fn merge_rule_sets(default: Option<&Value>, base: Option<&Value>, overrides: Option<&Value>) -> Option<Value> {
    let layers: Vec<&Value> = [default, base, overrides].into_iter().flatten().collect();
    if layers.len() <= 1 {
        return layers.first().map(|v| (*v).clone());
    }
    let mut merged = Map::new();
    for layer in layers {
        let Some(object) = layer.as_object() else { continue };
        for (kind, rules) in object {
            // Where the set runs: the later layer's, when it says.
            if kind == "enableAt" {
                if !rules.is_null() {
                    merged.insert(kind.clone(), rules.clone());
                }
                continue;
            }
            let Some(rules) = rules.as_array() else { continue };
            let into = merged.entry(kind.clone()).or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(into) = into else { continue };
            for rule in rules {
                let name = rule.get("name");
                match into.iter_mut().find(|r| r.get("name") == name) {
                    Some(existing) => *existing = rule.clone(),
                    None => into.push(rule.clone()),
                }
            }
        }
    }
    Some(Value::Object(merged))
}
