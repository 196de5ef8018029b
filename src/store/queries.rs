//! The registry's SQL, one function per statement. Each takes a connection, so the same
//! function serves plain reads and reads inside a write transaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::StoreError;

/// A stored schema: content and identity, whatever subjects use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRow {
    /// The context the id belongs to: ids are unique per context.
    pub context: String,
    pub id: i64,
    pub fingerprint: String,
    /// Identity without metadata and rule set: what lookups match on.
    pub content: String,
    pub schema_type: String,
    pub schema: String,
    /// JSON array of `{name, subject, version}`.
    pub refs: String,
    pub metadata: Option<String>,
    pub rule_set: Option<String>,
}

/// One version of one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub subject: String,
    pub version: i64,
    pub schema_id: i64,
    pub deleted: bool,
    /// The context of `schema_id`.
    pub context: String,
}

/// Where a config or mode applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigScope {
    Global,
    Subject(String),
}

impl ConfigScope {
    /// The key stored: `__GLOBAL` cannot be a subject (the registry rejects it as one).
    fn key(&self) -> &str {
        match self {
            ConfigScope::Global => "__GLOBAL",
            ConfigScope::Subject(s) => s,
        }
    }
}

const SCHEMA_COLUMNS: &str = "context, id, fingerprint, content, schema_type, schema, refs, metadata, rule_set";

const VERSION_COLUMNS: &str = "subject, version, schema_id, deleted, context";

fn schema_row(row: &AnyRow) -> Result<SchemaRow, sqlx::Error> {
    schema_row_at(row, 0)
}

/// A schema row whose columns ([`SCHEMA_COLUMNS`]) start at `first`.
fn schema_row_at(row: &AnyRow, first: usize) -> Result<SchemaRow, sqlx::Error> {
    Ok(SchemaRow {
        context: row.try_get(first)?,
        id: row.try_get(first + 1)?,
        fingerprint: row.try_get(first + 2)?,
        content: row.try_get(first + 3)?,
        schema_type: row.try_get(first + 4)?,
        schema: row.try_get(first + 5)?,
        refs: row.try_get(first + 6)?,
        metadata: row.try_get(first + 7)?,
        rule_set: row.try_get(first + 8)?,
    })
}

fn version_row(row: &AnyRow) -> Result<VersionRow, sqlx::Error> {
    Ok(VersionRow {
        subject: row.try_get(0)?,
        version: row.try_get(1)?,
        schema_id: row.try_get(2)?,
        deleted: row.try_get::<i64, _>(3)? != 0,
        context: row.try_get(4)?,
    })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub async fn schema_by_id(conn: &mut AnyConnection, context: &str, id: i64) -> Result<Option<SchemaRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEMA_COLUMNS} FROM schemas WHERE context = $1 AND id = $2"
    ))
    .bind(context)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(schema_row).transpose()?)
}

pub async fn schema_by_fingerprint(
    conn: &mut AnyConnection,
    context: &str,
    fingerprint: &str,
) -> Result<Option<SchemaRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEMA_COLUMNS} FROM schemas WHERE context = $1 AND fingerprint = $2"
    ))
    .bind(context)
    .bind(fingerprint)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(schema_row).transpose()?)
}

/// A schema by id, only while some version (live or soft-deleted) uses it.
pub async fn schema_in_use(conn: &mut AnyConnection, context: &str, id: i64) -> Result<Option<SchemaRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SCHEMA_COLUMNS} FROM schemas s WHERE s.context = $1 AND s.id = $2 \
         AND EXISTS (SELECT 1 FROM subject_versions v WHERE v.context = s.context AND v.schema_id = s.id)"
    ))
    .bind(context)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(schema_row).transpose()?)
}

const VERSION_WITH_SCHEMA: &str = "SELECT v.subject, v.version, v.schema_id, v.deleted, v.context, \
     s.context, s.id, s.fingerprint, s.content, s.schema_type, s.schema, s.refs, s.metadata, s.rule_set \
     FROM subject_versions v JOIN schemas s ON s.context = v.context AND s.id = v.schema_id";

/// One version of a subject with its schema.
pub async fn version_with_schema(
    conn: &mut AnyConnection,
    subject: &str,
    version: i64,
) -> Result<Option<(VersionRow, SchemaRow)>, StoreError> {
    let row = sqlx::query(&format!(
        "{VERSION_WITH_SCHEMA} WHERE v.subject = $1 AND v.version = $2"
    ))
    .bind(subject)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(version_with_schema_row).transpose()
}

/// The latest live version of a subject with its schema.
pub async fn latest_live_with_schema(
    conn: &mut AnyConnection,
    subject: &str,
) -> Result<Option<(VersionRow, SchemaRow)>, StoreError> {
    let row = sqlx::query(&format!(
        "{VERSION_WITH_SCHEMA} WHERE v.subject = $1 AND v.deleted = 0 ORDER BY v.version DESC LIMIT 1"
    ))
    .bind(subject)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(version_with_schema_row).transpose()
}

/// The versions of `subject` that use schema `id` of `context`, oldest first. Asked by
/// schema first, so the index on (context, schema_id, subject) answers it however many
/// versions the subject has.
async fn versions_of_schema_in(
    conn: &mut AnyConnection,
    context: &str,
    id: i64,
    subject: &str,
) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM subject_versions WHERE context = $1 AND schema_id = $2 AND subject = $3"
    ))
    .bind(context)
    .bind(id)
    .bind(subject)
    .fetch_all(conn)
    .await?;
    let mut versions = rows.iter().map(version_row).collect::<Result<Vec<_>, _>>()?;
    versions.sort_by_key(|v| v.version);
    Ok(versions)
}

/// The live version of a subject whose schema has this identity in `context`, if any.
pub async fn live_version_with_fingerprint(
    conn: &mut AnyConnection,
    subject: &str,
    context: &str,
    fingerprint: &str,
) -> Result<Option<(VersionRow, SchemaRow)>, StoreError> {
    let Some(schema) = schema_by_fingerprint(conn, context, fingerprint).await? else {
        return Ok(None);
    };
    let versions = versions_of_schema_in(conn, context, schema.id, subject).await?;
    Ok(versions.into_iter().rev().find(|v| !v.deleted).map(|v| (v, schema)))
}

/// The versions of a subject whose schema has this content (type, text, references) in
/// `context`, newest first.
pub async fn versions_with_content(
    conn: &mut AnyConnection,
    subject: &str,
    context: &str,
    content: &str,
) -> Result<Vec<(VersionRow, SchemaRow)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SCHEMA_COLUMNS} FROM schemas WHERE context = $1 AND content = $2"
    ))
    .bind(context)
    .bind(content)
    .fetch_all(&mut *conn)
    .await?;
    let schemas = rows.iter().map(schema_row).collect::<Result<Vec<_>, _>>()?;
    let mut found = Vec::new();
    for schema in schemas {
        for version in versions_of_schema_in(conn, context, schema.id, subject).await? {
            found.push((version, schema.clone()));
        }
    }
    found.sort_by_key(|(v, _)| std::cmp::Reverse(v.version));
    Ok(found)
}

/// The highest version number of a subject, soft-deleted ones included.
pub async fn max_version(conn: &mut AnyConnection, subject: &str) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT version FROM subject_versions WHERE subject = $1 ORDER BY version DESC LIMIT 1")
        .bind(subject)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

/// The highest id given in `context`, 0 before the first.
pub async fn max_schema_id(conn: &mut AnyConnection, context: &str) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT MAX(id) FROM schemas WHERE context = $1")
        .bind(context)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
}

pub async fn insert_schema(conn: &mut AnyConnection, schema: &SchemaRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schemas \
         (context, id, fingerprint, content, schema_type, schema, refs, metadata, rule_set, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&schema.context)
    .bind(schema.id)
    .bind(&schema.fingerprint)
    .bind(&schema.content)
    .bind(&schema.schema_type)
    .bind(&schema.schema)
    .bind(&schema.refs)
    .bind(schema.metadata.as_deref())
    .bind(schema.rule_set.as_deref())
    .bind(now_millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps the text schema `id` of `context` was registered as (see
/// `migrations/*/0003_schema_sources.sql`).
pub async fn insert_schema_source(
    conn: &mut AnyConnection,
    context: &str,
    id: i64,
    source: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO schema_sources (context, id, source) VALUES ($1, $2, $3)")
        .bind(context)
        .bind(id)
        .bind(source)
        .execute(conn)
        .await?;
    Ok(())
}

/// The text schema `id` of `context` was registered as, when it was kept.
pub async fn schema_source(conn: &mut AnyConnection, context: &str, id: i64) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT source FROM schema_sources WHERE context = $1 AND id = $2")
        .bind(context)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get("source")).transpose()?)
}

/// Records that schema `schema_id` of `context` refers to `subject` (a stored key) at
/// `version`.
pub async fn insert_reference(
    conn: &mut AnyConnection,
    context: &str,
    schema_id: i64,
    position: i64,
    name: &str,
    subject: &str,
    version: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schema_references (context, schema_id, position, name, ref_subject, ref_version) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(context)
    .bind(schema_id)
    .bind(position)
    .bind(name)
    .bind(subject)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every version of a subject, soft-deleted ones included, oldest first.
pub async fn subject_versions(conn: &mut AnyConnection, subject: &str) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM subject_versions WHERE subject = $1 ORDER BY version"
    ))
    .bind(subject)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(version_row).collect::<Result<_, _>>()?)
}

/// Every version of a subject with its schema, oldest first.
pub async fn subject_versions_with_schemas(
    conn: &mut AnyConnection,
    subject: &str,
) -> Result<Vec<(VersionRow, SchemaRow)>, StoreError> {
    let rows = sqlx::query(&format!(
        "{VERSION_WITH_SCHEMA} WHERE v.subject = $1 ORDER BY v.version"
    ))
    .bind(subject)
    .fetch_all(conn)
    .await?;
    rows.iter().map(version_with_schema_row).collect()
}

fn version_with_schema_row(row: &AnyRow) -> Result<(VersionRow, SchemaRow), StoreError> {
    Ok((version_row(row)?, schema_row_at(row, 5)?))
}

/// Every version of every subject with its schema, by subject then version.
pub async fn all_versions_with_schemas(conn: &mut AnyConnection) -> Result<Vec<(VersionRow, SchemaRow)>, StoreError> {
    let rows = sqlx::query(&format!("{VERSION_WITH_SCHEMA} ORDER BY v.subject, v.version"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(version_with_schema_row).collect()
}

/// Every subject with whether it has live and soft-deleted versions, sorted by name.
pub async fn subjects(conn: &mut AnyConnection) -> Result<Vec<(String, bool, bool)>, StoreError> {
    let rows = sqlx::query("SELECT DISTINCT subject, deleted FROM subject_versions ORDER BY subject")
        .fetch_all(conn)
        .await?;
    let mut out: Vec<(String, bool, bool)> = Vec::new();
    for row in &rows {
        let subject: String = row.try_get(0)?;
        let deleted = row.try_get::<i64, _>(1)? != 0;
        match out.last_mut() {
            Some(last) if last.0 == subject => {
                if deleted {
                    last.2 = true;
                } else {
                    last.1 = true;
                }
            }
            _ => out.push((subject, !deleted, deleted)),
        }
    }
    Ok(out)
}

/// The versions, under any subject, that use schema `id` of `context`, by subject then
/// version.
pub async fn versions_of_schema(
    conn: &mut AnyConnection,
    context: &str,
    id: i64,
) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM subject_versions WHERE context = $1 AND schema_id = $2 \
         ORDER BY subject, version"
    ))
    .bind(context)
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(version_row).collect::<Result<_, _>>()?)
}

/// Adds `version` of `subject`, using schema `schema_id` of `context`.
pub async fn insert_version(
    conn: &mut AnyConnection,
    subject: &str,
    version: i64,
    context: &str,
    schema_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subject_versions (subject, version, context, schema_id, deleted, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5)",
    )
    .bind(subject)
    .bind(version)
    .bind(context)
    .bind(schema_id)
    .bind(now_millis())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn soft_delete_version(conn: &mut AnyConnection, subject: &str, version: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE subject_versions SET deleted = 1 WHERE subject = $1 AND version = $2")
        .bind(subject)
        .bind(version)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn hard_delete_version(conn: &mut AnyConnection, subject: &str, version: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM subject_versions WHERE subject = $1 AND version = $2")
        .bind(subject)
        .bind(version)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ids of the schemas that reference `subject` at `version`, with whether every version
/// using each of them is soft-deleted.
pub async fn referrers(
    conn: &mut AnyConnection,
    subject: &str,
    version: i64,
) -> Result<Vec<(i64, bool, String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.schema_id, v.deleted, v.subject, v.version FROM schema_references r \
         JOIN subject_versions v ON v.context = r.context AND v.schema_id = r.schema_id \
         WHERE r.ref_subject = $1 AND r.ref_version = $2 ORDER BY r.schema_id",
    )
    .bind(subject)
    .bind(version)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let deleted = row.try_get::<i64, _>(1)? != 0;
            Ok((row.try_get(0)?, deleted, row.try_get(2)?, row.try_get(3)?))
        })
        .collect()
}

pub async fn config(conn: &mut AnyConnection, scope: &ConfigScope) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT body FROM configs WHERE scope = $1")
        .bind(scope.key())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Every stored config: `(scope key, body)`, the global one under `__GLOBAL`.
pub async fn all_configs(conn: &mut AnyConnection) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT scope, body FROM configs").fetch_all(conn).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?)
}

pub async fn put_config(conn: &mut AnyConnection, scope: &ConfigScope, body: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO configs (scope, body) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET body = excluded.body",
    )
    .bind(scope.key())
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_config(conn: &mut AnyConnection, scope: &ConfigScope) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM configs WHERE scope = $1")
        .bind(scope.key())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mode(conn: &mut AnyConnection, scope: &ConfigScope) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT mode FROM modes WHERE scope = $1")
        .bind(scope.key())
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

pub async fn put_mode(conn: &mut AnyConnection, scope: &ConfigScope, mode: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO modes (scope, mode) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET mode = excluded.mode",
    )
    .bind(scope.key())
    .bind(mode)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_mode(conn: &mut AnyConnection, scope: &ConfigScope) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM modes WHERE scope = $1")
        .bind(scope.key())
        .execute(conn)
        .await?;
    Ok(())
}

/// The contexts other than the default one that exist, sorted.
pub async fn contexts(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT name FROM contexts ORDER BY name")
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, sqlx::Error>>()?)
}

/// Records that `context` exists; nothing if it already does.
pub async fn insert_context(conn: &mut AnyConnection, context: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO contexts (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(context)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets `context`; answers whether it existed.
pub async fn delete_context(conn: &mut AnyConnection, context: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM contexts WHERE name = $1")
        .bind(context)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Does any version, live or soft-deleted, belong to a subject of `context`?
pub async fn context_has_versions(conn: &mut AnyConnection, context: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 FROM subject_versions WHERE context = $1 LIMIT 1")
        .bind(context)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// A consumer group's declared contract on a subject (`migrations/*/…_consumer_contracts.sql`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    pub group: String,
    pub subject: String,
    pub body: String,
    /// Unix milliseconds of the last declaration.
    pub updated_at: i64,
}

fn contract_row(row: &sqlx::any::AnyRow) -> Result<ContractRow, sqlx::Error> {
    Ok(ContractRow {
        group: row.try_get(0)?,
        subject: row.try_get(1)?,
        body: row.try_get(2)?,
        updated_at: row.try_get(3)?,
    })
}

pub async fn put_contract(conn: &mut AnyConnection, contract: &ContractRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consumer_contracts (consumer_group, subject, body, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer_group, subject) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(&contract.group)
    .bind(&contract.subject)
    .bind(&contract.body)
    .bind(contract.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether there was a contract to delete.
pub async fn delete_contract(conn: &mut AnyConnection, group: &str, subject: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM consumer_contracts WHERE consumer_group = $1 AND subject = $2")
        .bind(group)
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes every contract on `subject` (its permanent deletion: a subject created again
/// under the name starts without readers promised fields of the old one).
pub async fn delete_contracts_of_subject(conn: &mut AnyConnection, subject: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM consumer_contracts WHERE subject = $1")
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(())
}

/// The contracts declared on `subject`, by group.
pub async fn contracts_of_subject(conn: &mut AnyConnection, subject: &str) -> Result<Vec<ContractRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT consumer_group, subject, body, updated_at FROM consumer_contracts WHERE subject = $1 ORDER BY consumer_group",
    )
    .bind(subject)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(contract_row).collect::<Result<_, _>>()?)
}

/// The contracts `group` declared, by subject.
pub async fn contracts_of_group(conn: &mut AnyConnection, group: &str) -> Result<Vec<ContractRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT consumer_group, subject, body, updated_at FROM consumer_contracts WHERE consumer_group = $1 ORDER BY subject",
    )
    .bind(group)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(contract_row).collect::<Result<_, _>>()?)
}

/// Every declared contract, by group and subject.
pub async fn all_contracts(conn: &mut AnyConnection) -> Result<Vec<ContractRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT consumer_group, subject, body, updated_at FROM consumer_contracts ORDER BY consumer_group, subject",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(contract_row).collect::<Result<_, _>>()?)
}
