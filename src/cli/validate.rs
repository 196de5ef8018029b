//! `herald validate`: events (JSON lines) checked against a subject's schema on the registry
//! or a schema file, before anything is produced. Each bad event is reported with its file,
//! line, field path and reason.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::check::{encode_segment, example_problem};
use super::client::Client;
use super::files;
use super::findings::{render, Finding, Report, ReportFormat, Severity};
use super::{CliError, Outcome};
use crate::schema::{Reference, Schema, SchemaType};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Validate against this subject's latest version on the registry.
    #[arg(long, required_unless_present = "schema", conflicts_with = "schema")]
    subject: Option<String>,
    /// Validate against a schema file (`.avsc` or `.json`).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// The subject's version to use instead of the latest.
    #[arg(long, requires = "subject")]
    version: Option<u32>,
    /// Files of JSON lines, one event per line; standard input when none or `-`.
    files: Vec<PathBuf>,
    /// The registry, for `--subject`.
    #[arg(long, env = "HERALD_SERVER", default_value = "http://127.0.0.1:8081")]
    server: String,
    #[arg(long, value_enum, default_value_t)]
    format: ReportFormat,
}

pub fn run_validate(args: &ValidateArgs) -> Result<Outcome, CliError> {
    let (schema, label) = match (&args.subject, &args.schema) {
        (Some(subject), _) => (fetch(&args.server, subject, args.version)?, subject.clone()),
        (None, Some(file)) => (files::load(file, None, &[])?, file.display().to_string()),
        (None, None) => unreachable!("clap requires --subject or --schema"),
    };
    let mut inputs: Vec<(String, String)> = Vec::new();
    if args.files.is_empty() || args.files.iter().any(|f| f.as_os_str() == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
        inputs.push(("stdin".to_string(), text));
    }
    for file in args.files.iter().filter(|f| f.as_os_str() != "-") {
        inputs.push((file.display().to_string(), files::read(file)?));
    }
    let mut report = Report {
        tool: "herald validate".to_string(),
        ..Report::default()
    };
    for (name, text) in &inputs {
        report.checked.push((name.clone(), Some(label.clone())));
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let problem = match serde_json::from_str::<Value>(line) {
                Err(e) => Some((None, format!("not JSON: {e}"))),
                Ok(event) => example_problem(&schema, &event).map(|(path, reason)| (Some(path), reason)),
            };
            if let Some((pointer, reason)) = problem {
                let at = match pointer.as_deref() {
                    Some("") => " (the event)".to_string(),
                    Some(path) => format!(" at {path}"),
                    None => String::new(),
                };
                report.findings.push(Finding {
                    severity: Severity::Error,
                    rule: "EVENT_INVALID".to_string(),
                    file: name.clone(),
                    line: Some(index + 1),
                    subject: Some(label.clone()),
                    pointer,
                    message: format!("event does not match {label}{at}: {reason}"),
                    hint: None,
                });
            }
        }
    }
    print!("{}", render(&report, args.format));
    Ok(if report.errors() > 0 {
        Outcome::Violations
    } else {
        Outcome::Clean
    })
}

/// A subject's version from the registry, parsed with its references.
fn fetch(server: &str, subject: &str, version: Option<u32>) -> Result<Schema, CliError> {
    let client = Client::new(server)?;
    let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
    let response = client.get(&format!("/subjects/{}/versions/{version}", encode_segment(subject)))?;
    match response.status {
        200 => {}
        404 => {
            return Err(CliError(format!(
                "{}: {}",
                subject,
                response.body["message"].as_str().unwrap_or("not found on the registry")
            )))
        }
        status => {
            return Err(CliError(format!(
                "the registry answered {status} for {subject}: {}",
                response.message()
            )))
        }
    }
    let schema_type: SchemaType = response.body["schemaType"]
        .as_str()
        .unwrap_or("AVRO")
        .parse()
        .map_err(|_| CliError(format!("{subject}: unknown schema type")))?;
    let mut references = Vec::new();
    for reference in response.body["references"].as_array().into_iter().flatten() {
        let (Some(name), Some(ref_subject), Some(ref_version)) = (
            reference["name"].as_str(),
            reference["subject"].as_str(),
            reference["version"].as_i64(),
        ) else {
            continue;
        };
        let found = client.get(&format!(
            "/subjects/{}/versions/{ref_version}",
            encode_segment(ref_subject)
        ))?;
        if found.status != 200 {
            return Err(CliError(format!("{subject}: reference {name}: {}", found.message())));
        }
        references.push((
            name.to_string(),
            found.body["schema"].as_str().unwrap_or_default().to_string(),
        ));
    }
    let refs: Vec<Reference<'_>> = references
        .iter()
        .map(|(name, text)| Reference { name, schema: text })
        .collect();
    Schema::parse(schema_type, response.body["schema"].as_str().unwrap_or_default(), &refs)
        .map_err(|e| CliError(format!("{subject} on the registry does not parse: {e}")))
}
