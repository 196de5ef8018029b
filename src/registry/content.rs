//! Schema content as the registry handles it: parsing a request with its references
//! resolved, the normalised form, the identity that deduplicates ids, and a cache of parsed
//! stored schemas for compatibility checks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use md5::{Digest, Md5};
use serde_json::Value;
use sqlx::AnyConnection;

use super::context::{context_of, reference_key, Context};
use super::{corrupt, parse_refs, Core, RegistryError, SchemaReference};
use crate::schema::{sort_keys, ParseOptions, Reference, Schema, SchemaType};
use crate::store::queries::{self, SchemaRow, VersionRow};

/// A request's schema, parsed and validated, with its references pinned to versions.
pub(super) struct Parsed {
    pub schema: Schema,
    pub schema_type: SchemaType,
    /// The text to store: canonical, and normalised when asked.
    pub canonical: String,
    /// The references with `-1` replaced by the version it meant.
    pub references: Vec<SchemaReference>,
    /// Whether `canonical` is the normalised text (`normalize=true` or the subject's
    /// setting): versions stored without normalisation are then matched by their
    /// normalised form too (see [`Core::normalized_matches`]).
    pub normalized: bool,
    /// The text as sent, kept beside the stored one when it holds comments the stored text
    /// drops (Protobuf): the docs show them as descriptions.
    pub source: Option<String>,
}

/// Parsed stored schemas by id, per context. Stored content never changes under an id, so
/// entries never go stale; the cache is emptied when full rather than tracking use.
#[derive(Clone, Default)]
pub(super) struct ParsedCache(Arc<Mutex<ParsedById>>);

#[derive(Default)]
struct ParsedById {
    entries: usize,
    by_context: HashMap<String, HashMap<i64, Arc<Schema>>>,
}

const PARSED_CACHE_ENTRIES: usize = 1024;

impl ParsedCache {
    pub(super) fn get(&self, context: &str, id: i64) -> Option<Arc<Schema>> {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.by_context.get(context)?.get(&id).cloned()
    }

    fn put(&self, context: &str, id: i64, schema: Arc<Schema>) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.entries >= PARSED_CACHE_ENTRIES {
            *cache = ParsedById::default();
        }
        let added = cache
            .by_context
            .entry(context.to_string())
            .or_default()
            .insert(id, schema)
            .is_none();
        cache.entries += usize::from(added);
    }
}

/// How a client's schema is read.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadAs {
    /// Store (and match) the normalised text.
    pub normalize: bool,
    /// Check Avro field defaults against their types (new schemas only).
    pub check_defaults: bool,
}

impl Core {
    /// Parses a schema sent by a client for a subject of `context`, resolving its
    /// references through the store from that context.
    pub(super) async fn parse_request(
        &self,
        conn: &mut AnyConnection,
        context: &Context,
        (schema_type, text, references): (SchemaType, &str, &[SchemaReference]),
        read_as: ReadAs,
    ) -> Result<Parsed, RegistryError> {
        let ReadAs {
            normalize,
            check_defaults,
        } = read_as;
        let limit = self.settings.max_schema_bytes;
        if text.len() > limit {
            return Err(RegistryError::SchemaTooLarge {
                size: text.len(),
                limit,
            });
        }
        let (pinned, documents) = resolve_references(conn, context, references).await?;
        let refs: Vec<Reference<'_>> = documents
            .iter()
            .map(|(name, text)| Reference { name, schema: text })
            .collect();
        let options = ParseOptions { check_defaults };
        let schema = Schema::parse_with(schema_type, text, &refs, options).map_err(|err| {
            RegistryError::InvalidSchema(format!("Invalid schema of type {schema_type}, details: {err}"))
        })?;
        let canonical = if normalize {
            normalized(&schema)
        } else {
            schema.canonical().to_string()
        };
        let mut references = pinned;
        if normalize {
            references.sort_by(|a, b| (&a.name, &a.subject, a.version).cmp(&(&b.name, &b.subject, b.version)));
            references.dedup();
        }
        let source = match &schema {
            Schema::Protobuf(proto) if proto.has_comments() => Some(text.to_string()),
            _ => None,
        };
        Ok(Parsed {
            schema,
            schema_type,
            canonical,
            references,
            normalized: normalize,
            source,
        })
    }

    /// The versions of `subject` (deleted ones too), newest first, whose content is
    /// `parsed`'s: by the stored text, and for a normalised request also by the normalised
    /// form of each stored version, which may have been stored before normalisation was
    /// asked for (Confluent matches those too). A stored version that no longer parses is
    /// passed over with a warning rather than failing the whole search.
    pub(super) async fn versions_with_content(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
        parsed: &Parsed,
    ) -> Result<Vec<(VersionRow, SchemaRow)>, RegistryError> {
        let content = content_key(parsed.schema_type, &parsed.canonical, &parsed.references);
        let context = context_of(subject);
        let exact = queries::versions_with_content(conn, subject, context.as_str(), &content).await?;
        if !exact.is_empty() || !parsed.normalized {
            return Ok(exact);
        }
        let mut matching = Vec::new();
        for (version, stored) in queries::subject_versions_with_schemas(conn, subject)
            .await?
            .into_iter()
            .rev()
        {
            if stored.schema_type != parsed.schema_type.as_str() {
                continue;
            }
            match self.stored_parsed(conn, &stored.context, stored.id).await {
                Ok(schema) if normalized(&schema) == parsed.canonical => matching.push((version, stored)),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(subject, id = stored.id, error = %err, "a stored version does not parse; passed over")
                }
            }
        }
        Ok(matching)
    }

    /// A stored schema, parsed (with its references) for a compatibility check.
    pub(super) async fn stored_parsed(
        &self,
        conn: &mut AnyConnection,
        context: &str,
        id: i64,
    ) -> Result<Arc<Schema>, RegistryError> {
        if let Some(found) = self.parsed.get(context, id) {
            return Ok(found);
        }
        let row = queries::schema_by_id(conn, context, id).await?.ok_or_else(|| {
            corrupt(format!(
                "schema {id} of context {context} is used by a version but missing"
            ))
        })?;
        let schema_type: SchemaType = row
            .schema_type
            .parse()
            .map_err(|e| corrupt(format!("schema {}: {e}", row.id)))?;
        let schema = Arc::new(parse_stored(conn, &row, schema_type, &row.schema).await?);
        self.parsed.put(context, row.id, schema.clone());
        Ok(schema)
    }

    /// A stored schema parsed from the text it was registered as, when that was kept for
    /// the comments it holds (see [`Parsed::source`]); otherwise as [`Self::stored_parsed`].
    /// For the docs, which show comments as descriptions.
    pub(super) async fn documented_parsed(
        &self,
        conn: &mut AnyConnection,
        context: &str,
        id: i64,
    ) -> Result<Arc<Schema>, RegistryError> {
        // Only Protobuf texts are kept beside the stored one: other schemas need no lookup.
        if let Some(found) = self.parsed.get(context, id) {
            if !matches!(found.as_ref(), Schema::Protobuf(_)) {
                return Ok(found);
            }
        }
        if let Some(found) = self.documented.get(context, id) {
            return Ok(found);
        }
        let Some(source) = queries::schema_source(conn, context, id).await? else {
            return self.stored_parsed(conn, context, id).await;
        };
        let Some(row) = queries::schema_by_id(conn, context, id).await? else {
            return self.stored_parsed(conn, context, id).await;
        };
        let schema_type: SchemaType = row
            .schema_type
            .parse()
            .map_err(|e| corrupt(format!("schema {}: {e}", row.id)))?;
        match parse_stored(conn, &row, schema_type, &source).await {
            Ok(schema) => {
                let schema = Arc::new(schema);
                self.documented.put(context, id, schema.clone());
                Ok(schema)
            }
            Err(err) => {
                tracing::warn!(context, id, error = %err, "a schema's registered text does not parse; its stored text is shown");
                self.stored_parsed(conn, context, id).await
            }
        }
    }
}

/// `text` (a stored schema's, or the text it was registered as) parsed with the stored
/// schema's references. Stored schemas are read as they were taken: never re-validated
/// (Confluent's rule).
async fn parse_stored(
    conn: &mut AnyConnection,
    row: &queries::SchemaRow,
    schema_type: SchemaType,
    text: &str,
) -> Result<Schema, RegistryError> {
    let row_context = Context::from_stored(row.context.clone());
    let (_, documents) = resolve_references(conn, &row_context, &parse_refs(&row.refs)?).await?;
    let refs: Vec<Reference<'_>> = documents
        .iter()
        .map(|(name, text)| Reference { name, schema: text })
        .collect();
    Schema::parse_with(schema_type, text, &refs, ParseOptions::LENIENT)
        .map_err(|e| corrupt(format!("stored schema {} no longer parses: {e}", row.id)))
}

impl Core {
    /// The `(name, text)` of every schema reachable through `references` of a schema in
    /// `context`, dependencies first: what a validator needs beside a stored schema's own
    /// text.
    pub async fn reference_texts(
        &self,
        context: &Context,
        references: &[SchemaReference],
    ) -> Result<Vec<(String, String)>, RegistryError> {
        if references.is_empty() {
            return Ok(Vec::new());
        }
        let mut reader = self.store.read().await?;
        Ok(resolve_references(reader.conn(), context, references).await?.1)
    }
}

/// Pins each reference of a schema in `context` to a version and fetches the texts of every
/// schema reachable through them, dependencies before the schemas that use them (the order
/// the Avro parser needs). An unqualified reference names a subject of the referring
/// schema's own context.
async fn resolve_references(
    conn: &mut AnyConnection,
    context: &Context,
    references: &[SchemaReference],
) -> Result<(Vec<SchemaReference>, Vec<(String, String)>), RegistryError> {
    // (subject key, version)
    type Key = (String, i64);
    // First every reachable schema, fetched once: (name, text, what it references).
    let mut reachable: HashMap<Key, (String, String, Vec<Key>)> = HashMap::new();
    let mut pinned = Vec::with_capacity(references.len());
    let mut to_fetch: Vec<(String, SchemaReference)> = Vec::new();
    for reference in references {
        if reference.name.is_empty() || reference.subject.is_empty() {
            return Err(RegistryError::InvalidSchema(
                "Invalid schema reference: \"name\" and \"subject\" must not be empty".to_string(),
            ));
        }
        if pinned.iter().any(|p: &SchemaReference| p.name == reference.name) {
            return Err(RegistryError::InvalidSchema(format!(
                "Invalid schema reference: the name \"{}\" is used twice",
                reference.name
            )));
        }
        let key = reference_key(context, &reference.subject);
        let (version, _) = fetch_reference(conn, &key, reference).await?;
        let reference = SchemaReference {
            version,
            ..reference.clone()
        };
        pinned.push(reference.clone());
        to_fetch.push((key, reference));
    }
    while let Some((subject_key, reference)) = to_fetch.pop() {
        let key = (subject_key, reference.version);
        if reachable.contains_key(&key) {
            continue;
        }
        let (_, row) = fetch_reference(conn, &key.0, &reference).await?;
        let nested_context = context_of(&key.0);
        let nested: Vec<(String, SchemaReference)> = parse_refs(&row.refs)?
            .into_iter()
            .map(|r| (reference_key(&nested_context, &r.subject), r))
            .collect();
        let children = nested.iter().map(|(k, r)| (k.clone(), r.version)).collect();
        to_fetch.extend(nested);
        reachable.insert(key, (reference.name.clone(), row.schema, children));
    }
    // Then a depth-first walk emitting each schema after what it references.
    let mut documents = Vec::with_capacity(reachable.len());
    let mut emitted: HashSet<Key> = HashSet::new();
    for reference in &pinned {
        let root = (reference_key(context, &reference.subject), reference.version);
        let mut stack: Vec<(Key, bool)> = vec![(root, false)];
        let mut open: HashSet<Key> = HashSet::new();
        while let Some((key, expanded)) = stack.pop() {
            if emitted.contains(&key) {
                continue;
            }
            let (name, text, children) = &reachable[&key];
            if expanded {
                open.remove(&key);
                emitted.insert(key.clone());
                documents.push((name.clone(), text.clone()));
                continue;
            }
            if !open.insert(key.clone()) {
                return Err(RegistryError::InvalidSchema(format!(
                    "Invalid schema reference: subject \"{}\" version {} refers back to itself through its references",
                    key.0, key.1
                )));
            }
            stack.push((key.clone(), true));
            for child in children.iter().rev() {
                if !emitted.contains(child) {
                    stack.push((child.clone(), false));
                }
            }
        }
    }
    Ok((pinned, documents))
}

/// The version a reference names (`-1`: the latest live one) and its schema, under the
/// subject key it resolves to.
async fn fetch_reference(
    conn: &mut AnyConnection,
    subject_key: &str,
    reference: &SchemaReference,
) -> Result<(i64, SchemaRow), RegistryError> {
    let rows = queries::subject_versions_with_schemas(conn, subject_key).await?;
    let found = if reference.version == -1 {
        rows.iter().rev().find(|(v, _)| !v.deleted)
    } else {
        rows.iter().find(|(v, _)| v.version == reference.version)
    };
    match found {
        Some((version, schema)) => Ok((version.version, schema.clone())),
        None => Err(RegistryError::InvalidSchema(format!(
            "No schema reference found for subject \"{}\" and version {}",
            reference.subject, reference.version
        ))),
    }
}

/// The normalised text (`normalize=true`): JSON Schema with object keys sorted at every
/// level; Avro in Confluent's normalised form (see `schema::avro::normalize`).
pub(super) fn normalized(schema: &Schema) -> String {
    match schema {
        Schema::Avro(avro) => avro.normalized(),
        Schema::Json(json) => match serde_json::from_str::<Value>(json.canonical()) {
            Ok(mut value) => {
                sort_keys(&mut value);
                value.to_string()
            }
            Err(_) => json.canonical().to_string(),
        },
        Schema::Protobuf(proto) => proto.normalized(),
    }
}

/// JSON text with keys sorted, so equal metadata sent in another key order has one identity.
pub(super) fn sorted_json(value: &Value) -> String {
    let mut value = value.clone();
    sort_keys(&mut value);
    value.to_string()
}

/// A schema's identity: MD5 over type, text, references, metadata and rule set, as hex.
/// Equal identities share one id, in every subject.
pub(super) fn identity(
    schema_type: SchemaType,
    canonical: &str,
    references: &[SchemaReference],
    metadata: Option<&Value>,
    rule_set: Option<&Value>,
) -> String {
    md5_hex(&[
        schema_type.as_str(),
        canonical,
        &serde_json::to_string(references).unwrap_or_default(),
        &metadata.map(sorted_json).unwrap_or_default(),
        &rule_set.map(sorted_json).unwrap_or_default(),
    ])
}

/// The content alone (type, text, references): what a lookup without metadata matches.
pub(super) fn content_key(schema_type: SchemaType, canonical: &str, references: &[SchemaReference]) -> String {
    md5_hex(&[
        schema_type.as_str(),
        canonical,
        &serde_json::to_string(references).unwrap_or_default(),
    ])
}

fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
