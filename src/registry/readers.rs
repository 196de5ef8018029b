//! Consumer-declared contracts in the registry: consumer groups declare what they read of a
//! subject (`PUT /herald/v1/consumers/{group}/contracts/{subject}`, or `consumers/*.toml`
//! through `herald register`), and registration judges every change against them too.
//!
//! - A change that breaks a declared reader is refused at every level, NONE included, naming
//!   the group, the field and the version its contract is against ([`compat::readers`]).
//! - Under `compatibilityPolicy: READER_AWARE` a change the level refuses is accepted when no
//!   refused finding touches a field a declared reader reads, and every consumer group seen
//!   on the subject's topics recently has declared a contract ([`GroupActivity`], which the
//!   broker answers). Without that knowledge the level stands.
//!
//! Contracts are read in the registering transaction, never cached: a registration sees
//! every contract committed before it, on every instance.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{corrupt, subject_name, CompatibilityPolicy, Config, Core, Findings, RegistryError, VersionSpec};
use crate::compat::readers::{self, ReadSet, ReaderBreak, Reads};
use crate::compat::{CheckOptions, Direction, PreviousVersion};
use crate::schema::{Schema, SchemaType};
use crate::store::queries::{self, ContractRow};
use crate::store::Changed;

/// Which consumer groups read a subject's records: the broker knows, the registry asks.
pub trait GroupActivity: Send + Sync {
    /// The groups that read, within `window` of now, a topic whose records `subject`
    /// governs (a committed offset there, or members subscribed to it now).
    fn groups_reading(&self, subject: &str, window: Duration) -> Vec<String>;
}

/// What a group asks to declare.
#[derive(Debug, Clone, Default)]
pub struct ContractRequest {
    /// The subject's version the reader is written against; the latest when absent.
    pub version: Option<VersionSpec>,
    /// The fields read, as dotted paths (`$.order.id` and `/order/id` read too).
    pub fields: Option<Vec<String>>,
    /// Or a reader schema, of the subject's format unless `schema_type` says.
    pub schema: Option<String>,
    pub schema_type: Option<SchemaType>,
}

/// A declared contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub group: String,
    pub subject: String,
    pub version: i64,
    pub reads: ContractReads,
    /// Unix milliseconds of the declaration.
    pub updated_at: i64,
}

/// What a contract says the group reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractReads {
    Fields(Vec<String>),
    Schema { schema_type: SchemaType, schema: String },
}

impl Contract {
    fn parsed_reads(&self) -> Result<Reads, String> {
        match &self.reads {
            ContractReads::Fields(fields) => Ok(Reads::Fields(fields.clone())),
            ContractReads::Schema { schema_type, schema } => Schema::parse(*schema_type, schema, &[])
                .map(Reads::Schema)
                .map_err(|e| e.to_string()),
        }
    }
}

/// The stored form of a contract (`consumer_contracts.body`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredContract {
    version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
}

impl Contract {
    fn from_row(row: ContractRow) -> Result<Contract, RegistryError> {
        let stored: StoredContract = serde_json::from_str(&row.body)
            .map_err(|e| corrupt(format!("the contract of group {} on {}: {e}", row.group, row.subject)))?;
        let reads = match (stored.fields, stored.schema) {
            (Some(fields), None) => ContractReads::Fields(fields),
            (None, Some(schema)) => ContractReads::Schema {
                schema_type: stored
                    .schema_type
                    .as_deref()
                    .unwrap_or("AVRO")
                    .parse()
                    .map_err(|e| corrupt(format!("the contract of group {}: {e}", row.group)))?,
                schema,
            },
            _ => return Err(corrupt(format!("the contract of group {} reads nothing", row.group))),
        };
        Ok(Contract {
            group: row.group,
            subject: row.subject,
            version: stored.version,
            reads,
            updated_at: row.updated_at,
        })
    }

    fn to_row(&self) -> ContractRow {
        let stored = match &self.reads {
            ContractReads::Fields(fields) => StoredContract {
                version: self.version,
                fields: Some(fields.clone()),
                schema_type: None,
                schema: None,
            },
            ContractReads::Schema { schema_type, schema } => StoredContract {
                version: self.version,
                fields: None,
                schema_type: Some(schema_type.as_str().to_string()),
                schema: Some(schema.clone()),
            },
        };
        ContractRow {
            group: self.group.clone(),
            subject: self.subject.clone(),
            body: serde_json::to_string(&stored).expect("a contract serializes"),
            updated_at: self.updated_at,
        }
    }
}

/// Consumer group names as Kafka takes them: 1 to 255 characters, no control characters.
fn group_name(group: &str) -> Result<String, RegistryError> {
    if group.is_empty() || group.len() > 255 || group.chars().any(char::is_control) {
        return Err(RegistryError::InvalidContract(format!(
            "{group:?} is not a consumer group name: 1 to 255 characters, none of them control characters"
        )));
    }
    Ok(group.to_string())
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A declared reader of a subject, loaded for judging a change.
pub(crate) struct LoadedReader {
    pub(crate) contract: Contract,
    reads: Reads,
    written_against: Arc<Schema>,
}

impl LoadedReader {
    fn reader(&self) -> readers::Reader<'_> {
        readers::Reader {
            group: &self.contract.group,
            version: self.contract.version as u32,
            written_against: &self.written_against,
            reads: &self.reads,
        }
    }
}

impl Core {
    /// The group activity source; the broker sets it when it runs in the same process.
    pub fn set_group_activity(&self, activity: Arc<dyn GroupActivity>) {
        let _ = self.activity.set(activity);
    }

    /// Declares (or replaces) `group`'s contract on `subject`. The version must be live;
    /// every field must be one of its fields; a reader schema must parse, be of the
    /// subject's format and read that version.
    pub async fn put_contract(
        &self,
        group: &str,
        subject: &str,
        request: &ContractRequest,
    ) -> Result<Contract, RegistryError> {
        let group = group_name(group)?;
        let subject = subject_name(subject)?;
        let mut writer = self.write().await?;
        let conn = writer.conn();
        let (version, _) = match request.version.unwrap_or(VersionSpec::Latest) {
            VersionSpec::Latest => queries::latest_live_with_schema(conn, &subject)
                .await?
                .ok_or_else(|| RegistryError::SubjectNotFound(subject.clone()))?,
            VersionSpec::Number(n) => match queries::version_with_schema(conn, &subject, n).await? {
                Some(found) if !found.0.deleted => found,
                _ if queries::max_version(conn, &subject).await?.is_none() => {
                    return Err(RegistryError::SubjectNotFound(subject))
                }
                _ => return Err(RegistryError::VersionNotFound(n.to_string())),
            },
        };
        let against = self.stored_parsed(conn, &version.context, version.schema_id).await?;
        let reads = match (&request.fields, &request.schema) {
            (Some(_), Some(_)) | (None, None) => return Err(RegistryError::InvalidContract(
                "give either fields (the fields the group reads) or schema (its reader schema), not both or neither"
                    .to_string(),
            )),
            (Some(fields), None) => ContractReads::Fields(checked_fields(fields, &against, &subject, version.version)?),
            (None, Some(text)) => {
                let schema_type = request.schema_type.unwrap_or(against.schema_type());
                checked_reader_schema(schema_type, text, &against, version.version)?;
                ContractReads::Schema {
                    schema_type,
                    schema: text.clone(),
                }
            }
        };
        let contract = Contract {
            group,
            subject,
            version: version.version,
            reads,
            updated_at: now_millis(),
        };
        queries::put_contract(writer.conn(), &contract.to_row()).await?;
        writer.commit(Changed::Schemas).await?;
        tracing::info!(group = %contract.group, subject = %contract.subject, version = contract.version, "consumer contract declared");
        Ok(contract)
    }

    pub async fn contract(&self, group: &str, subject: &str) -> Result<Contract, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        queries::contracts_of_group(reader.conn(), group)
            .await?
            .into_iter()
            .find(|row| row.subject == subject)
            .map(Contract::from_row)
            .unwrap_or_else(|| {
                Err(RegistryError::ContractNotFound {
                    group: group.to_string(),
                    subject,
                })
            })
    }

    pub async fn delete_contract(&self, group: &str, subject: &str) -> Result<(), RegistryError> {
        let subject = subject_name(subject)?;
        let mut writer = self.write().await?;
        if !queries::delete_contract(writer.conn(), group, &subject).await? {
            return Err(RegistryError::ContractNotFound {
                group: group.to_string(),
                subject,
            });
        }
        writer.commit(Changed::Schemas).await?;
        Ok(())
    }

    pub async fn contracts_of_group(&self, group: &str) -> Result<Vec<Contract>, RegistryError> {
        let mut reader = self.store.read().await?;
        let rows = queries::contracts_of_group(reader.conn(), group).await?;
        rows.into_iter().map(Contract::from_row).collect()
    }

    pub async fn contracts_of_subject(&self, subject: &str) -> Result<Vec<Contract>, RegistryError> {
        let subject = subject_name(subject)?;
        let mut reader = self.store.read().await?;
        let rows = queries::contracts_of_subject(reader.conn(), &subject).await?;
        rows.into_iter().map(Contract::from_row).collect()
    }

    pub async fn all_contracts(&self) -> Result<Vec<Contract>, RegistryError> {
        let mut reader = self.store.read().await?;
        let rows = queries::all_contracts(reader.conn()).await?;
        rows.into_iter().map(Contract::from_row).collect()
    }

    /// The declared readers of `subject`, each with the schema of the version its contract
    /// is against (the latest live one if that version has been deleted since).
    pub(crate) async fn declared_readers(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
    ) -> Result<Vec<LoadedReader>, RegistryError> {
        let rows = queries::contracts_of_subject(conn, subject).await?;
        let mut loaded = Vec::with_capacity(rows.len());
        for row in rows {
            let contract = Contract::from_row(row)?;
            let version = match queries::version_with_schema(conn, subject, contract.version).await? {
                Some(found) if !found.0.deleted => Some(found),
                _ => queries::latest_live_with_schema(conn, subject).await?,
            };
            let Some((version, _)) = version else { continue };
            let written_against = self.stored_parsed(conn, &version.context, version.schema_id).await?;
            let reads = contract
                .parsed_reads()
                .map_err(|why| corrupt(format!("the reader schema of group {}: {why}", contract.group)))?;
            loaded.push(LoadedReader {
                contract,
                reads,
                written_against,
            });
        }
        Ok(loaded)
    }

    /// What declared readers and the policy make of a change: `level` is what the level
    /// found. Answers what to refuse (empty: accept): the level's findings unless the
    /// reader-aware policy waives them, with the reason it could not, and every break of a
    /// declared reader.
    pub(crate) fn judge_readers(
        &self,
        subject: &str,
        config: &Config,
        level: Findings,
        readers: &[LoadedReader],
        new: &Schema,
        options: CheckOptions,
    ) -> Result<Findings, RegistryError> {
        let mut breaks: Vec<ReaderBreak> = Vec::new();
        for reader in readers {
            breaks.extend(
                readers::breaks(&reader.reader(), new, options)
                    .map_err(|e| RegistryError::TooComplex(e.to_string()))?,
            );
        }
        let mut refused = if level.is_empty() {
            Findings::default()
        } else if config.compatibility_policy == Some(CompatibilityPolicy::ReaderAware) {
            match self.waiver(subject, &level, readers) {
                Ok(()) => {
                    tracing::info!(
                        subject,
                        "change accepted under READER_AWARE: no declared reader reads what it touches"
                    );
                    Findings::default()
                }
                Err(why) => {
                    let mut kept = level;
                    kept.explained.push(why);
                    kept
                }
            }
        } else {
            level
        };
        refused.confluent.extend(breaks.iter().map(ReaderBreak::line));
        Ok(refused)
    }

    /// Why the reader-aware policy cannot waive `level`'s findings, if it cannot.
    fn waiver(&self, subject: &str, level: &Findings, readers: &[LoadedReader]) -> Result<(), String> {
        if level.fields.iter().any(Option::is_none) {
            return Err("READER_AWARE does not apply: a finding concerns the whole schema, not a field no declared reader reads".to_string());
        }
        let read_by: Vec<(ReadSet, &str)> = readers
            .iter()
            .map(|reader| {
                let read = ReadSet::new(&reader.written_against, readers::read_fields(&reader.reader()));
                (read, reader.contract.group.as_str())
            })
            .collect();
        let mut touched: BTreeSet<&str> = BTreeSet::new();
        let mut groups: BTreeSet<&str> = BTreeSet::new();
        for field in level.fields.iter().flatten() {
            for (read, group) in &read_by {
                if read.touches(Some(field)) {
                    touched.insert(field);
                    groups.insert(group);
                }
            }
        }
        if !touched.is_empty() {
            return Err(format!(
                "READER_AWARE does not apply: declared readers read the fields the change breaks ({}; read by group {})",
                touched.into_iter().collect::<Vec<_>>().join(", "),
                groups.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let Some(activity) = self.activity.get() else {
            return Err("READER_AWARE does not apply: this registry does not run beside the broker, so it cannot tell which consumer groups read the subject".to_string());
        };
        let window = self.settings.reader_activity_window;
        let declared: BTreeSet<&str> = readers.iter().map(|r| r.contract.group.as_str()).collect();
        let undeclared: Vec<String> = activity
            .groups_reading(subject, window)
            .into_iter()
            .filter(|g| !declared.contains(g.as_str()))
            .collect();
        if !undeclared.is_empty() {
            return Err(format!(
                "READER_AWARE does not apply: consumer groups read this subject's topics in the last {} days without declaring a contract: {} (declare one with PUT /herald/v1/consumers/{{group}}/contracts/{subject})",
                window.as_secs() / 86_400,
                undeclared.join(", ")
            ));
        }
        Ok(())
    }
}

/// The declared fields, normalised, each a field of the version the contract is against.
fn checked_fields(
    fields: &[String],
    against: &Schema,
    subject: &str,
    version: i64,
) -> Result<Vec<String>, RegistryError> {
    if fields.is_empty() {
        return Err(RegistryError::InvalidContract(
            "fields is empty: list the fields the group reads, or delete the contract".to_string(),
        ));
    }
    let mut paths = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let path = readers::normalize_path(field)
            .map_err(|why| RegistryError::InvalidContract(format!("fields[{i}]: {why}")))?;
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    if let Some(unknown) = readers::unknown_fields(&paths, against).first() {
        let known = readers::field_paths(against);
        let shown: Vec<&str> = known.iter().take(20).map(String::as_str).collect();
        return Err(RegistryError::InvalidContract(format!(
            "field '{unknown}' is not a field of subject '{subject}' version {version}; its fields are {}{}",
            shown.join(", "),
            if known.len() > shown.len() { ", …" } else { "" }
        )));
    }
    Ok(paths)
}

/// A reader schema must parse, be of the subject's format, and read the version it is
/// declared against: a reader that cannot read today's records declares nothing useful.
fn checked_reader_schema(
    schema_type: SchemaType,
    text: &str,
    against: &Schema,
    version: i64,
) -> Result<(), RegistryError> {
    if schema_type != against.schema_type() {
        return Err(RegistryError::InvalidContract(format!(
            "schemaType {} differs from the subject's {}",
            schema_type.as_str(),
            against.schema_type().as_str()
        )));
    }
    let reader =
        Schema::parse(schema_type, text, &[]).map_err(|e| RegistryError::InvalidContract(format!("schema: {e}")))?;
    let previous = PreviousVersion {
        version: version as u32,
        schema: &reader,
    };
    let findings = crate::compat::compare(&previous, against, Direction::Forward, CheckOptions::default())
        .map_err(|e| RegistryError::TooComplex(e.to_string()))?;
    if let Some(first) = findings.first() {
        return Err(RegistryError::InvalidContract(format!(
            "schema: the reader schema cannot read version {version} of the subject: {}",
            first.message
        )));
    }
    Ok(())
}
