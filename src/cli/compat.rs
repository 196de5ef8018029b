//! `herald compat` and `herald diff`: the compatibility engine on local files.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::files::{self, LoadedReference};
use super::{CliError, Outcome, OutputFormat};
use crate::compat::diff::{self, Change};
use crate::compat::{self, CheckOptions, CompatibilityLevel, Policy, PreviousVersion, Report};
use crate::schema::{pointer, SchemaType};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TypeArg {
    Avro,
    Json,
    Protobuf,
}

impl From<TypeArg> for SchemaType {
    fn from(t: TypeArg) -> Self {
        match t {
            TypeArg::Avro => SchemaType::Avro,
            TypeArg::Json => SchemaType::Json,
            TypeArg::Protobuf => SchemaType::Protobuf,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum ProtobufRulesArg {
    #[default]
    Confluent,
    WireJson,
}

impl From<ProtobufRulesArg> for compat::ProtobufRules {
    fn from(rules: ProtobufRulesArg) -> Self {
        match rules {
            ProtobufRulesArg::Confluent => compat::ProtobufRules::Confluent,
            ProtobufRulesArg::WireJson => compat::ProtobufRules::WireJson,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum PolicyArg {
    #[default]
    Strict,
    Lenient,
}

#[derive(Debug, Args)]
pub struct CompatArgs {
    /// The new schema.
    new: PathBuf,
    /// A previous version; repeat for several, oldest first. None: the new schema is a
    /// first version, compatible as registering a first version is.
    #[arg(long = "previous", short = 'p', value_name = "OLD")]
    previous: Vec<PathBuf>,
    /// NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.
    #[arg(long, short = 'l', default_value = "BACKWARD", value_parser = parse_level)]
    level: CompatibilityLevel,
    /// Schema type; inferred from the extension (.avsc, .json, .proto) when omitted.
    #[arg(long = "type", short = 't', value_enum)]
    schema_type: Option<TypeArg>,
    /// JSON Schema policy: strict (Confluent's default) or lenient.
    #[arg(long, value_enum, default_value_t)]
    policy: PolicyArg,
    /// Protobuf rules: confluent (what Confluent's registry enforces) or wire-json (buf's
    /// WIRE_JSON rules on top, for consumers that also read JSON).
    #[arg(long, value_enum, default_value_t)]
    protobuf_rules: ProtobufRulesArg,
    /// A schema the others reference, as NAME=FILE (Avro: named types in scope; JSON
    /// Schema: a `$ref` target; Protobuf: an import path). Repeat in dependency order.
    #[arg(long = "reference", short = 'r', value_name = "NAME=FILE")]
    references: Vec<String>,
    /// Output: human-readable text, or JSON for scripts.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older version.
    old: PathBuf,
    /// The newer version.
    new: PathBuf,
    #[arg(long = "type", short = 't', value_enum)]
    schema_type: Option<TypeArg>,
    #[arg(long = "reference", short = 'r', value_name = "NAME=FILE")]
    references: Vec<String>,
    /// Output: human-readable text, or JSON for scripts.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

fn parse_level(s: &str) -> Result<CompatibilityLevel, String> {
    s.parse().map_err(|e: compat::UnknownLevel| e.to_string())
}

fn load_references(specs: &[String]) -> Result<Vec<LoadedReference>, CliError> {
    specs.iter().map(|s| files::parse_reference(s)).collect()
}

pub fn run_compat(args: &CompatArgs) -> Result<Outcome, CliError> {
    let explicit = args.schema_type.map(SchemaType::from);
    let references = load_references(&args.references)?;
    let new = files::load(&args.new, explicit, &references)?;
    let mut previous_schemas = Vec::with_capacity(args.previous.len());
    for path in &args.previous {
        previous_schemas.push(files::load(path, explicit, &references)?);
    }
    let previous: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&previous_schemas);
    let policy = match args.policy {
        PolicyArg::Strict => Policy::Strict,
        PolicyArg::Lenient => Policy::Lenient,
    };
    let options = CheckOptions {
        policy,
        protobuf_rules: args.protobuf_rules.into(),
    };
    let report = compat::check_with(args.level, &previous, &new, options).map_err(|e| CliError(e.to_string()))?;
    let file_of = |version: u32| args.previous[version as usize - 1].display().to_string();
    match args.format {
        OutputFormat::Human => print!(
            "{}",
            human_report(&report, previous.is_empty(), &args.new.display().to_string(), &file_of)
        ),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_report(&report, &previous, &file_of)).expect("serialisable")
        ),
    }
    Ok(if report.is_compatible() {
        Outcome::Clean
    } else {
        Outcome::Violations
    })
}

/// What a report with no previous version says.
const FIRST_VERSION: &str = "first version: nothing to be compatible with";

fn human_report(report: &Report, first_version: bool, new_file: &str, file_of: &dyn Fn(u32) -> String) -> String {
    let mut out = String::new();
    let versions: Vec<String> = report
        .checked_versions
        .iter()
        .map(|v| format!("v{v} ({})", file_of(*v)))
        .collect();
    if report.is_compatible() {
        if first_version {
            let _ = writeln!(out, "compatible: {new_file} ({FIRST_VERSION})");
        } else if report.checked_versions.is_empty() {
            let _ = writeln!(out, "compatible: {new_file} (level {}, nothing to check)", report.level);
        } else {
            let _ = writeln!(
                out,
                "compatible: {new_file} under {} against {}",
                report.level,
                versions.join(", ")
            );
        }
        return out;
    }
    let count = report.incompatibilities.len();
    let _ = writeln!(
        out,
        "INCOMPATIBLE: {new_file} under {}: {count} problem{}",
        report.level,
        if count == 1 { "" } else { "s" }
    );
    for inc in &report.incompatibilities {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  {} ({}, against v{}: {})",
            inc.rule,
            inc.direction.as_str(),
            inc.version,
            file_of(inc.version)
        );
        let _ = writeln!(out, "    field: {}", shown_field(inc.field.as_deref()));
        let _ = writeln!(out, "    new schema at {}", pointer::display(&inc.new_pointer));
        let _ = writeln!(out, "    old schema at {}", pointer::display(&inc.old_pointer));
        let _ = writeln!(out, "    {}", inc.message);
        let _ = writeln!(out, "    fix: {}", inc.hint);
    }
    out
}

fn json_report(report: &Report, previous: &[PreviousVersion<'_>], file_of: &dyn Fn(u32) -> String) -> Value {
    let mut value = json!({
        "compatible": report.is_compatible(),
        "level": report.level.as_str(),
        "checked": report.checked_versions.iter().map(|v| json!({"version": v, "file": file_of(*v)})).collect::<Vec<_>>(),
        "incompatibilities": report.incompatibilities.iter().map(|i| json!({
            "rule": i.rule,
            "direction": i.direction.as_str(),
            "version": i.version,
            "file": file_of(i.version),
            "old_pointer": i.old_pointer,
            "new_pointer": i.new_pointer,
            "field": i.field,
            "message": i.message,
            "hint": i.hint,
        })).collect::<Vec<_>>(),
        "confluent_messages": report.confluent_messages(previous),
        "first_version": previous.is_empty(),
    });
    if previous.is_empty() {
        value["message"] = json!(FIRST_VERSION);
    }
    value
}

pub fn run_diff(args: &DiffArgs) -> Result<Outcome, CliError> {
    let explicit = args.schema_type.map(SchemaType::from);
    let references = load_references(&args.references)?;
    let old = files::load(&args.old, explicit, &references)?;
    let new = files::load(&args.new, explicit, &references)?;
    let changes = diff::diff(&old, &new).map_err(|e| CliError(e.to_string()))?;
    match args.format {
        OutputFormat::Human => print!("{}", human_diff(&changes)),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_diff(&changes)).expect("serialisable")
        ),
    }
    // A diff is information, not a verdict: it succeeds whatever it finds.
    Ok(Outcome::Clean)
}

pub fn human_diff(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes\n".to_string();
    }
    let mut out = String::new();
    for c in changes {
        let _ = writeln!(
            out,
            "{:<28} {:<16} {:<15} {:<24} {}",
            c.kind,
            verdict_cell("backward", c.backward),
            verdict_cell("forward", c.forward),
            shown_field(c.field.as_deref()),
            c.description
        );
    }
    out
}

/// A field path for a column or a line: the path, or `(top level)` for the schema itself.
fn shown_field(field: Option<&str>) -> &str {
    field.unwrap_or("(top level)")
}

fn verdict_cell(label: &str, v: diff::Verdict) -> String {
    match v {
        diff::Verdict::Compatible => format!("{label}:ok"),
        diff::Verdict::Breaking => format!("{label}:BREAKS"),
    }
}

pub fn json_diff(changes: &[Change]) -> Value {
    json!({
        "changes": changes.iter().map(|c| json!({
            "kind": c.kind,
            "path": c.path,
            "field": c.field,
            "old_pointer": c.old_pointer,
            "new_pointer": c.new_pointer,
            "description": c.description,
            "backward": c.backward.as_str(),
            "forward": c.forward.as_str(),
        })).collect::<Vec<_>>(),
    })
}
