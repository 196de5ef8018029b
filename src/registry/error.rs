//! The one error type of the registry layer. Each variant is one of Confluent's documented
//! outcomes; the HTTP edge maps them to status codes and error codes.

use std::fmt;

use crate::store::StoreError;

#[derive(Debug)]
pub enum RegistryError {
    SubjectNotFound(String),
    /// The version as the caller named it (a number, or `latest`).
    VersionNotFound(String),
    /// `None` when the lookup was by content, not by id.
    SchemaNotFound(Option<i64>),
    SubjectSoftDeleted(String),
    SubjectNotSoftDeleted(String),
    VersionSoftDeleted(String, i64),
    VersionNotSoftDeleted(String, i64),
    NoSubjectConfig(String),
    NoSubjectMode(String),
    /// The incompatibilities, as Confluent's verbose messages and as explanations.
    Incompatible {
        subject: String,
        messages: Vec<String>,
        explained: Vec<String>,
    },
    InvalidSchema(String),
    InvalidVersion(String),
    InvalidCompatibility(String),
    InvalidMode(String),
    NotPermitted(String),
    Referenced {
        subject: String,
        version: i64,
    },
    ImportIdMismatch(String),
    InvalidSubject(String),
    SchemaTooLarge {
        size: usize,
        limit: usize,
    },
    InvalidRuleSet(String),
    /// A compatibility check that would take more than its step budget: no verdict.
    TooComplex(String),
    /// `DELETE /contexts/{c}` of a context that still has subjects.
    ContextNotEmpty(String),
    /// A consumer contract that cannot be declared as given: the message names the field.
    InvalidContract(String),
    /// No contract of this group on this subject.
    ContractNotFound {
        group: String,
        subject: String,
    },
    Store(StoreError),
}

impl From<StoreError> for RegistryError {
    fn from(err: StoreError) -> Self {
        RegistryError::Store(err)
    }
}

impl fmt::Display for RegistryError {
    /// Confluent's message texts, quirks included: clients and scripts match on them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RegistryError::*;
        match self {
            SubjectNotFound(s) => write!(f, "Subject '{s}' not found."),
            // Confluent names `latest` by its number, -1.
            VersionNotFound(v) if v == "latest" => f.write_str("Version -1 not found."),
            VersionNotFound(v) => write!(f, "Version {v} not found."),
            SchemaNotFound(Some(id)) => write!(f, "Schema {id} not found"),
            SchemaNotFound(None) => f.write_str("Schema not found"),
            SubjectSoftDeleted(s) => {
                write!(f, "Subject '{s}' was soft deleted.Set permanent=true to delete permanently")
            }
            SubjectNotSoftDeleted(s) => {
                write!(f, "Subject '{s}' was not deleted first before being permanently deleted")
            }
            VersionSoftDeleted(s, v) => write!(
                f,
                "Subject '{s}' Version {v} was soft deleted.Set permanent=true to delete permanently"
            ),
            VersionNotSoftDeleted(s, v) => write!(
                f,
                "Subject '{s}' Version {v} was not deleted first before being permanently deleted"
            ),
            NoSubjectConfig(s) => write!(f, "Subject '{s}' does not have subject-level compatibility configured"),
            NoSubjectMode(s) => write!(f, "Subject '{s}' does not have subject-level mode configured"),
            Incompatible {
                subject,
                messages,
                explained,
            } => {
                write!(
                    f,
                    "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                    messages.join(", ")
                )?;
                if !explained.is_empty() {
                    write!(f, "; explained: [{}]", explained.join("; "))?;
                }
                Ok(())
            }
            InvalidSchema(detail) => f.write_str(detail),
            InvalidVersion(v) => write!(
                f,
                "The specified version '{v}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
            InvalidCompatibility(_) => f.write_str(
                "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
            ),
            InvalidMode(_) => f.write_str("Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT."),
            NotPermitted(detail) => f.write_str(detail),
            Referenced { subject, version } => write!(
                f,
                "One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={version}}}."
            ),
            ImportIdMismatch(detail) => f.write_str(detail),
            InvalidSubject(s) => write!(f, "The specified subject '{s}' is not a valid."),
            SchemaTooLarge { size, limit } => write!(
                f,
                "Register operation failed because schema is too large: {size} bytes, the limit is {limit} bytes"
            ),
            InvalidRuleSet(detail) => f.write_str(detail),
            TooComplex(detail) => write!(f, "Compatibility could not be judged: {detail}"),
            ContextNotEmpty(context) => write!(f, "The specified context '{context}' is not empty."),
            InvalidContract(detail) => write!(f, "Invalid consumer contract: {detail}"),
            ContractNotFound { group, subject } => {
                write!(f, "Consumer group '{group}' has declared no contract on subject '{subject}'.")
            }
            Store(err) => write!(f, "Error in the backend data store: {err}"),
        }
    }
}

impl std::error::Error for RegistryError {}
