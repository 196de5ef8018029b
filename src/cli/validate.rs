//! `herald validate`: events (JSON lines) checked against a subject's schema on the registry
//! or a schema file, before anything is produced. Each bad event is reported with its file,
//! line, field path and reason.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::check::fetch_schema_with_references;
use super::client::Client;
use super::files;
use super::findings::{render, Finding, Report, ReportFormat, Severity};
use super::{CliError, Outcome};
use crate::schema::Schema;
use crate::validate::EventChecker;

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

const TOOL: &str = "herald validate";

pub fn run_validate(args: &ValidateArgs) -> Result<Outcome, CliError> {
    match validated(args) {
        Ok(report) => {
            print!("{}", render(&report, args.format));
            Ok(if report.errors() > 0 {
                Outcome::Violations
            } else {
                Outcome::Clean
            })
        }
        Err(error) => {
            // The report says the run failed, in the format CI reads.
            print!("{}", render(&Report::failed(TOOL, &error.0), args.format));
            Err(error)
        }
    }
}

fn validated(args: &ValidateArgs) -> Result<Report, CliError> {
    let (schema, references, label) = match (&args.subject, &args.schema) {
        (Some(subject), _) => {
            let (schema, references) = fetch(&args.server, subject, args.version)?;
            (schema, references, subject.clone())
        }
        (None, Some(file)) => (files::load(file, None, &[])?, Vec::new(), file.display().to_string()),
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
        tool: TOOL.to_string(),
        ..Report::default()
    };
    let pairs: Vec<(&str, &str)> = references.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let checker = EventChecker::with_references(&schema, &pairs);
    let mut events = 0;
    for (name, text) in &inputs {
        report.checked.push((name.clone(), Some(label.clone())));
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            events += 1;
            let problem = match serde_json::from_str::<Value>(line) {
                Err(e) => Some((None, format!("not JSON: {e}"))),
                Ok(event) => checker.violation(&event).map(|v| (Some(v.path), v.reason)),
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
                    field: None,
                    message: format!("event does not match {label}{at}: {reason}"),
                    hint: None,
                });
            }
        }
    }
    if events == 0 {
        // Nothing validated is not valid: an empty file is a broken pipeline, not a pass.
        let names: Vec<&str> = inputs.iter().map(|(name, _)| name.as_str()).collect();
        return Err(CliError(format!(
            "no events to validate: {} {} no event (one JSON value per line)",
            names.join(", "),
            if names.len() == 1 { "holds" } else { "hold" }
        )));
    }
    Ok(report)
}

/// A subject's version from the registry (the latest unless `version` names one), with the
/// schemas it references.
fn fetch(server: &str, subject: &str, version: Option<u32>) -> Result<(Schema, Vec<(String, String)>), CliError> {
    let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
    fetch_schema_with_references(&Client::new(server)?, subject, &version)
}
