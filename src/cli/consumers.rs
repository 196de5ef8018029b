//! Consumer contracts kept in the schema repository, one file per consumer group:
//!
//! ```toml
//! # consumers/fraud-detection.toml
//! group = "fraud-detection"        # default: the file's name
//!
//! [[reads]]
//! topic = "payments"               # its value subject (herald.toml may rename it), or:
//! # subject = "payments-value"
//! fields = ["amount", "customer.email"]
//!
//! [[reads]]
//! topic = "refunds"
//! schema = "consumers/fraud-detection/refund.avsc"   # a reader schema, from the schema folder
//! ```
//!
//! `herald register` declares them on the registry; `herald check` judges a change against
//! them (and, with `--server`, against the contracts the registry holds).

use serde::Deserialize;

use super::client::Client;
use super::repo::{RepoConfig, Role, Tree};
use super::CliError;
use crate::compat::readers::{normalize_path, Reads};
use crate::schema::{Schema, SchemaType};

/// One group's reading of one subject, as declared.
#[derive(Debug, Clone)]
pub struct Declared {
    pub group: String,
    pub subject: String,
    /// Where it was declared: the consumers file, or the registry.
    pub source: String,
    pub reads: DeclaredReads,
}

#[derive(Debug, Clone)]
pub enum DeclaredReads {
    Fields(Vec<String>),
    Schema { schema_type: SchemaType, text: String },
}

impl Declared {
    /// What the group reads, ready for [`crate::compat::readers::breaks`]; a reader schema
    /// that does not parse is an error naming where it was declared.
    pub fn reads(&self) -> Result<Reads, String> {
        match &self.reads {
            DeclaredReads::Fields(fields) => Ok(Reads::Fields(fields.clone())),
            DeclaredReads::Schema { schema_type, text } => Schema::parse(*schema_type, text, &[])
                .map(Reads::Schema)
                .map_err(|e| format!("{}: the reader schema of group {}: {e}", self.source, self.group)),
        }
    }

    /// The body of `PUT /herald/v1/consumers/{group}/contracts/{subject}`.
    pub fn body(&self) -> serde_json::Value {
        match &self.reads {
            DeclaredReads::Fields(fields) => serde_json::json!({ "fields": fields }),
            DeclaredReads::Schema { schema_type, text } => {
                serde_json::json!({ "schema": text, "schemaType": schema_type.as_str() })
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerFile {
    group: Option<String>,
    #[serde(default)]
    reads: Vec<ReadSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadSpec {
    topic: Option<String>,
    subject: Option<String>,
    fields: Option<Vec<String>>,
    schema: Option<String>,
}

/// Every contract under `consumers/` in `tree`. A file that does not read is an error naming
/// it and the entry.
pub fn from_tree(tree: &Tree, config: &RepoConfig) -> Result<Vec<Declared>, CliError> {
    let mut declared = Vec::new();
    for (path, text) in tree.starting_with("consumers/") {
        let Some(stem) = path
            .strip_prefix("consumers/")
            .and_then(|name| name.strip_suffix(".toml"))
            .filter(|name| !name.contains('/'))
        else {
            continue;
        };
        let shown = format!("{}/{path}", tree.label);
        let file: ConsumerFile = toml::from_str(text).map_err(|e| CliError(format!("{shown}: {e}")))?;
        let group = file.group.unwrap_or_else(|| stem.to_string());
        for (i, read) in file.reads.into_iter().enumerate() {
            let entry = |why: String| CliError(format!("{shown}: reads[{i}]: {why}"));
            let subject = match (read.topic, read.subject) {
                (Some(topic), None) => config.subject(&topic, Role::Value),
                (None, Some(subject)) => subject,
                _ => return Err(entry("name either topic or subject".to_string())),
            };
            let reads = match (read.fields, read.schema) {
                (Some(fields), None) => DeclaredReads::Fields(
                    fields
                        .iter()
                        .map(|f| normalize_path(f))
                        .collect::<Result<_, _>>()
                        .map_err(entry)?,
                ),
                (None, Some(file)) => {
                    let schema_type = match file.rsplit('.').next() {
                        Some("avsc") => SchemaType::Avro,
                        Some("json") => SchemaType::Json,
                        Some("proto") => SchemaType::Protobuf,
                        _ => {
                            return Err(entry(format!(
                                "{file}: a reader schema is a .avsc, .json or .proto file"
                            )))
                        }
                    };
                    let text = tree
                        .get(&file)
                        .ok_or_else(|| entry(format!("{file}: no such file in the schema folder")))?;
                    DeclaredReads::Schema {
                        schema_type,
                        text: text.to_string(),
                    }
                }
                _ => return Err(entry("give either fields or schema".to_string())),
            };
            declared.push(Declared {
                group: group.clone(),
                subject,
                source: shown.clone(),
                reads,
            });
        }
    }
    Ok(declared)
}

/// The contracts a registry holds on `subject`; none from a registry that keeps none (a
/// Confluent registry answers 404).
pub fn from_registry(client: &Client, subject: &str) -> Result<Vec<Declared>, CliError> {
    let path = format!("/herald/v1/contracts?subject={}", super::check::encode_segment(subject));
    let answer = client.get(&path)?;
    match answer.status {
        200 => {}
        404 => return Ok(Vec::new()),
        status => {
            return Err(CliError(format!(
                "the registry at {} answered {status} for {path}: {}",
                client.url(),
                answer.message()
            )))
        }
    }
    let Some(items) = answer.body.as_array() else {
        return Err(super::check::not_a_registry(client, "GET", &path));
    };
    let mut declared = Vec::with_capacity(items.len());
    for item in items {
        let group = item["group"].as_str().unwrap_or_default().to_string();
        let reads = match (item["fields"].as_array(), item["schema"].as_str()) {
            (Some(fields), _) => {
                DeclaredReads::Fields(fields.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
            }
            (None, Some(text)) => DeclaredReads::Schema {
                schema_type: item["schemaType"]
                    .as_str()
                    .unwrap_or("AVRO")
                    .parse()
                    .map_err(|e| CliError(format!("{path}: group {group}: {e}")))?,
                text: text.to_string(),
            },
            (None, None) => continue,
        };
        declared.push(Declared {
            group,
            subject: subject.to_string(),
            source: format!("{} (declared on the registry)", client.url()),
            reads,
        });
    }
    Ok(declared)
}
