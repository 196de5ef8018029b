//! Reading schema files for offline commands.

use std::path::Path;

use super::CliError;
use crate::schema::{Reference, Schema, SchemaType};

/// The schema type of a file: `--type` when given, else from the extension.
pub fn schema_type_of(path: &Path, explicit: Option<SchemaType>) -> Result<SchemaType, CliError> {
    if let Some(t) = explicit {
        return Ok(t);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("avsc") => Ok(SchemaType::Avro),
        Some("json") => Ok(SchemaType::Json),
        Some("proto") => Ok(SchemaType::Protobuf),
        _ => Err(CliError(format!(
            "{}: cannot tell the schema type from the extension (use .avsc, .json or .proto, or pass --type avro|json|protobuf)",
            path.display()
        ))),
    }
}

pub fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// A `NAME=FILE` reference given on the command line, read.
pub struct LoadedReference {
    pub name: String,
    pub text: String,
}

pub fn parse_reference(spec: &str) -> Result<LoadedReference, CliError> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| CliError(format!("--reference \"{spec}\": expected NAME=FILE")))?;
    Ok(LoadedReference {
        name: name.to_string(),
        text: read(Path::new(file))?,
    })
}

/// Reads and parses one schema file, naming the file in any error.
pub fn load(path: &Path, explicit: Option<SchemaType>, references: &[LoadedReference]) -> Result<Schema, CliError> {
    let schema_type = schema_type_of(path, explicit)?;
    let text = read(path)?;
    let refs: Vec<Reference<'_>> = references
        .iter()
        .map(|r| Reference {
            name: &r.name,
            schema: &r.text,
        })
        .collect();
    Schema::parse(schema_type, &text, &refs).map_err(|e| CliError(format!("{}: {e}", path.display())))
}
