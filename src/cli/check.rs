//! `herald check`: every schema of a repository checked as registration would check it,
//! before merge. Against a live registry (`--server`: the subject's level and live versions)
//! or offline (`--against git:REF` or `--against DIR`: previous versions from the files
//! there, levels from `topic.toml` and `herald.toml`). Examples must validate against their
//! schema, and lint rules report habits that make contracts hard to use.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};

use super::client::Client;
use super::consumers::{self, Declared};
use super::findings::{render, Finding, Report, ReportFormat, Severity};
use super::repo::{
    join, locate, resolve_references, Contents, RepoConfig, ResolvedReference, Role, RuleSetting, TopicSettings, Tree,
};
use super::{CliError, Outcome};
use crate::compat::readers::{self, Reads};
use crate::compat::{self, CompatibilityLevel, PreviousVersion};
use crate::schema::deprecation::{self, Date};
use crate::schema::field_path;
use crate::schema::lint::lint_schema;
use crate::schema::locate::line_of;
use crate::schema::{ErrorLocation, ParseOptions, Reference, Schema, SchemaType};
use crate::validate::EventChecker;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The schema folder (`<topic>/value.avsc`, …), or a repository root: the folder its
    /// herald.toml names with `schemas = "…"`, else its `schemas/`.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Check against a live registry: the subject's level and its live versions.
    #[arg(long, env = "HERALD_SERVER", conflicts_with = "against")]
    server: Option<String>,
    /// Check offline against previous files: `git:REF` (a branch, tag or commit) or a
    /// directory laid out the same way (a schema folder or a repository root).
    #[arg(long)]
    against: Option<String>,
    /// Let a `git:REF` baseline hold no schema at all: the change adds the repository's
    /// first schemas, which are then checked as first versions (parsed, linted, examples
    /// validated). Without it such a baseline is an error, since it also means a wrong REF
    /// or a moved schema folder.
    #[arg(long, requires = "against")]
    allow_empty_baseline: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: ReportFormat,
    /// The date deprecations' sunsets are judged by (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, env = "HERALD_NOW")]
    today: Option<String>,
}

/// Where previous versions and levels come from.
enum Baseline {
    Registry(Client),
    Files(Tree),
}

const TOOL: &str = "herald check";

pub fn run_check(args: &CheckArgs) -> Result<Outcome, CliError> {
    let mut report = match checked(args) {
        Ok(report) => report,
        Err(error) => {
            // The report says the run failed, in the format CI reads.
            print!("{}", render(&Report::failed(TOOL, &error.0), args.format));
            return Err(error);
        }
    };
    // A file that is not a schema is a broken input, not a finding about a contract: the
    // report places it, and the exit code says the check could not be made.
    let broken = report.findings.iter().filter(|f| f.rule == "SCHEMA_INVALID").count();
    if broken > 0 {
        let error = CliError(format!(
            "{broken} schema file{} could not be parsed; nothing was checked against {}",
            if broken == 1 { "" } else { "s" },
            if broken == 1 { "it" } else { "them" }
        ));
        report.error = Some(error.0.clone());
        print!("{}", render(&report, args.format));
        return Err(error);
    }
    print!("{}", render(&report, args.format));
    Ok(if report.errors() > 0 {
        Outcome::Violations
    } else {
        Outcome::Clean
    })
}

/// Finds the schemas and their baseline, and checks them.
fn checked(args: &CheckArgs) -> Result<Report, CliError> {
    let repository = locate(&args.dir, Contents::Schemas)?;
    let (dir, config) = (&repository.schemas, &repository.config);
    let baseline = match (&args.server, &args.against, &config.registry) {
        (_, Some(against), _) => Baseline::Files(match against.strip_prefix("git:") {
            Some(rev) if args.allow_empty_baseline => Tree::from_git(dir, rev)?,
            Some(rev) => Tree::from_git(dir, rev)?.require_schemas()?,
            None => {
                let previous = locate(Path::new(against), Contents::Schemas)
                    .map_err(|e| CliError(format!("--against {against}: {e}")))?;
                Tree::from_dir(&previous.schemas)?
            }
        }),
        (Some(server), None, _) | (None, None, Some(server)) => Baseline::Registry(Client::new(server)?),
        (None, None, None) => {
            return Err(CliError(
                "say what to check against: --server URL (a registry), --against git:REF or --against DIR \
                 (or set `registry` in herald.toml)"
                    .to_string(),
            ))
        }
    };
    let current = Tree::from_dir(dir)?;
    let today = match &args.today {
        Some(text) => text.parse().map_err(|e| CliError(format!("--today: {e}")))?,
        None => Date::today(),
    };
    check(&current, dir, &baseline, config, today)
}

fn check(
    current: &Tree,
    dir: &Path,
    baseline: &Baseline,
    config: &RepoConfig,
    today: Date,
) -> Result<Report, CliError> {
    let default_level = config.default_level()?;
    let mut report = Report {
        tool: TOOL.to_string(),
        ..Report::default()
    };
    let shown = |relative: &str| join(dir, Path::new(relative)).display().to_string();
    let consumers = consumers::from_tree(current, config)?;
    for topic in current.topics() {
        let settings = TopicSettings::read(current, &topic)?;
        for role in [Role::Value, Role::Key] {
            let Some((path, schema_type, text)) = current.schema(&topic, role) else {
                continue;
            };
            let file = shown(&path);
            let subject = config.subject(&topic, role);
            report.checked.push((file.clone(), Some(subject.clone())));
            let finding = |severity, rule: &str, line, pointer: Option<String>, message: String, hint| Finding {
                severity,
                rule: rule.to_string(),
                file: file.clone(),
                line,
                subject: Some(subject.clone()),
                pointer,
                field: None,
                message,
                hint,
            };
            let references = match resolve_references(current, &topic, role) {
                Ok(references) => references,
                Err(reason) => {
                    report.findings.push(Finding {
                        file: shown(&format!("{topic}/topic.toml")),
                        ..finding(
                            Severity::Error,
                            "REFERENCE_UNRESOLVED",
                            None,
                            None,
                            reason,
                            Some("Name an existing topic and role under [[references]] in topic.toml.".to_string()),
                        )
                    });
                    continue;
                }
            };
            let refs = as_references(&references);
            // Defaults that do not fit their types are a lint (`DEFAULT_MISMATCH`) rather than
            // a parse error: a registry accepts them unless told to validate defaults.
            let schema = match Schema::parse_with(schema_type, text, &refs, ParseOptions::LENIENT) {
                Ok(schema) => schema,
                Err(e) => {
                    let (line, pointer) = match &e.location {
                        ErrorLocation::Text { line, .. } => (Some(*line), None),
                        ErrorLocation::Pointer { pointer, .. } => (line_of(text, pointer), Some(pointer.clone())),
                        ErrorLocation::Nowhere => (None, None),
                    };
                    report.findings.push(finding(
                        Severity::Error,
                        "SCHEMA_INVALID",
                        line,
                        pointer,
                        e.message.clone(),
                        None,
                    ));
                    continue;
                }
            };

            // Compatibility, as registration would judge it.
            let level_named = match role {
                Role::Value => settings.compatibility.as_deref(),
                Role::Key => None,
            };
            // `herald register` sets the level topic.toml names before registering, so that
            // is the level registration will judge by, on either baseline.
            let named_level: Option<CompatibilityLevel> = level_named
                .map(|name| {
                    name.parse()
                        .map_err(|e: compat::UnknownLevel| CliError(format!("{topic}/topic.toml: compatibility: {e}")))
                })
                .transpose()?;
            let (level, previous, labels, previous_metadata) = match baseline {
                Baseline::Files(tree) => {
                    // The previous versions' references as they were, else as they are now.
                    let old_references = resolve_references(tree, &topic, role).unwrap_or_else(|_| references.clone());
                    let (previous, labels) =
                        previous_files(tree, &topic, role, schema_type, &as_references(&old_references))?;
                    let metadata = match role {
                        Role::Value => TopicSettings::read(tree, &topic)?.metadata_json(),
                        Role::Key => None,
                    };
                    (named_level.unwrap_or(default_level), previous, labels, metadata)
                }
                Baseline::Registry(client) => {
                    let (level, previous, labels) = registry_history(client, &subject, named_level)?;
                    let metadata = match previous.is_empty() {
                        true => None,
                        false => registry_metadata(client, &subject)?,
                    };
                    (level, previous, labels, metadata)
                }
            };
            let numbered: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&previous);
            let verdict = compat::check(level, &numbered, &schema).map_err(|e| CliError(format!("{subject}: {e}")))?;
            // Under READER_AWARE the registry may accept what the level refuses: only it
            // knows which groups read the topic, so it is asked.
            let waived = match (baseline, verdict.is_compatible(), references.is_empty()) {
                (Baseline::Registry(client), false, true) => {
                    reader_aware_verdict(client, &subject, schema_type, text, level)?
                }
                _ => None,
            };
            if let Some(Err(why)) = &waived {
                report.findings.push(finding(
                    Severity::Error,
                    "READER_AWARE_NOT_APPLIED",
                    None,
                    None,
                    why.clone(),
                    Some("Have every group reading the topic declare a contract (consumers/<group>.toml), or keep the change within the level.".to_string()),
                ));
            }
            let accepted = matches!(waived, Some(Ok(())));
            for inc in &verdict.incompatibilities {
                let against = labels.get(inc.version as usize - 1).cloned().unwrap_or_default();
                let accepted_note = if accepted {
                    "; accepted under READER_AWARE: no declared reader reads it, and every group reading the topic has declared a contract"
                } else {
                    ""
                };
                report.findings.push(Finding {
                    field: inc.field.clone(),
                    ..finding(
                        if accepted { Severity::Warning } else { Severity::Error },
                        inc.rule,
                        match &schema {
                            Schema::Protobuf(proto) => proto.line_of_path(&inc.new_pointer),
                            _ => line_of(text, &inc.new_pointer),
                        },
                        Some(inc.new_pointer.clone()),
                        format!("{} (under {level}, against {against}{accepted_note})", inc.message),
                        Some(inc.hint.clone()),
                    )
                });
            }

            // Declared readers (the repository's consumers/*.toml, and the registry's
            // contracts when checking against one): registration refuses a change that breaks
            // one at every level.
            let mut declared: Vec<Declared> = consumers.iter().filter(|d| d.subject == subject).cloned().collect();
            if let Baseline::Registry(client) = baseline {
                for held in consumers::from_registry(client, &subject)? {
                    if !declared.iter().any(|d| d.group == held.group) {
                        declared.push(held);
                    }
                }
            }
            for found in reader_findings(&declared, &previous, &schema, &subject)? {
                report.findings.push(found.into_finding(&finding));
            }

            // Deprecations: the metadata topic.toml gives must read, and a deprecated field
            // stays until its sunset.
            let metadata = match role {
                Role::Value => settings.metadata_json(),
                Role::Key => None,
            };
            let before = previous.last().map(|old| (old, previous_metadata.as_ref()));
            match deprecation::check_version(before, &schema, metadata.as_ref(), today) {
                Err(why) => report.findings.push(Finding {
                    file: shown(&format!("{topic}/topic.toml")),
                    ..finding(
                        Severity::Error,
                        "METADATA_INVALID",
                        None,
                        None,
                        why,
                        Some("Write deprecations as since=YYYY-MM-DD;sunset=YYYY-MM-DD;replacement=…;reason=… under a field the schema has.".to_string()),
                    )
                }),
                Ok(found) => report.findings.extend(found.into_iter().map(|f| Finding {
                    field: Some(f.field),
                    ..finding(
                        if f.is_error { Severity::Error } else { Severity::Warning },
                        f.rule,
                        None,
                        None,
                        f.message,
                        Some(f.hint),
                    )
                })),
            }

            // Examples of the value must match it.
            if role == Role::Value {
                let pairs: Vec<(&str, &str)> = references.iter().map(|r| (r.name.as_str(), r.text.as_str())).collect();
                let checker = EventChecker::with_references(&schema, &pairs);
                for (example_path, example_text) in current.under(&topic, "examples") {
                    let example_file = shown(example_path);
                    let problem = match serde_json::from_str::<Value>(example_text) {
                        Err(e) => Some((Some(e.line()), None, format!("not JSON: {e}"))),
                        Ok(event) => checker
                            .violation(&event)
                            .map(|v| (line_of(example_text, &v.path), Some(v.path), v.reason)),
                    };
                    if let Some((line, pointer, reason)) = problem {
                        report.findings.push(Finding {
                            severity: Severity::Error,
                            rule: "EXAMPLE_INVALID".to_string(),
                            file: example_file,
                            line,
                            subject: Some(subject.clone()),
                            pointer,
                            field: None,
                            message: format!("the example does not match {subject}: {reason}"),
                            hint: Some(
                                "Update the example to the schema, or fix the schema if the example is right."
                                    .to_string(),
                            ),
                        });
                    }
                }
            }

            // Lint rules, at their configured severity.
            for found in lint_schema(&schema) {
                let severity = match config.rule(found.rule) {
                    RuleSetting::Off => continue,
                    RuleSetting::Warning => Severity::Warning,
                    RuleSetting::Error => Severity::Error,
                };
                report.findings.push(Finding {
                    field: field_path::named(found.path),
                    ..finding(
                        severity,
                        found.rule,
                        match &schema {
                            Schema::Protobuf(proto) => proto.line_of_path(&found.pointer),
                            _ => line_of(text, &found.pointer),
                        },
                        Some(found.pointer),
                        found.message,
                        Some(found.hint),
                    )
                });
            }
        }
    }
    Ok(report)
}

/// A finding about a declared reader: on the schema file, or (`contract_file`) on the
/// consumers file that declares it.
struct ReaderFinding {
    rule: &'static str,
    field: Option<String>,
    message: String,
    hint: String,
    contract_file: Option<String>,
}

impl ReaderFinding {
    fn into_finding(
        self,
        make: &impl Fn(Severity, &str, Option<usize>, Option<String>, String, Option<String>) -> Finding,
    ) -> Finding {
        let made = make(Severity::Error, self.rule, None, None, self.message, Some(self.hint));
        Finding {
            field: self.field,
            file: self.contract_file.unwrap_or(made.file.clone()),
            ..made
        }
    }
}

/// What `schema` does to the `declared` readers of `subject`, judged against the latest of
/// `previous` (the version they read today). Fields a contract names that neither that
/// version nor the new schema has are the contract's mistake, reported on its file.
fn reader_findings(
    declared: &[Declared],
    previous: &[Schema],
    schema: &Schema,
    subject: &str,
) -> Result<Vec<ReaderFinding>, CliError> {
    let mut found = Vec::new();
    for contract in declared {
        let reads = match contract.reads() {
            Ok(reads) => reads,
            Err(why) => {
                found.push(ReaderFinding {
                    rule: "CONTRACT_INVALID",
                    field: None,
                    message: why,
                    hint: "Fix the reader schema the consumers file names.".to_string(),
                    contract_file: Some(contract.source.clone()),
                });
                continue;
            }
        };
        if let Reads::Fields(fields) = &reads {
            let known: Vec<String> = previous
                .last()
                .map(readers::field_paths)
                .unwrap_or_default()
                .into_iter()
                .chain(readers::field_paths(schema))
                .collect();
            for unknown in fields.iter().filter(|f| !known.contains(f)) {
                found.push(ReaderFinding {
                    rule: "CONTRACT_INVALID",
                    field: Some(unknown.clone()),
                    message: format!(
                        "consumer group '{}' declares it reads field '{unknown}' of {subject}, which has no such field",
                        contract.group
                    ),
                    hint: "Name fields by their dotted path from the top of the record (customer.email, lines[].sku)."
                        .to_string(),
                    contract_file: Some(contract.source.clone()),
                });
            }
        }
        let Some(written_against) = previous.last() else {
            continue;
        };
        let reader = readers::Reader {
            group: &contract.group,
            version: previous.len() as u32,
            written_against,
            reads: &reads,
        };
        let breaks = readers::breaks(&reader, schema, compat::CheckOptions::default())
            .map_err(|e| CliError(format!("{subject}: {e}")))?;
        found.extend(breaks.into_iter().map(|b| ReaderFinding {
            rule: b.rule,
            field: b.field,
            message: format!("{} (declared in {})", b.message, contract.source),
            hint: b.hint,
            contract_file: None,
        }));
    }
    Ok(found)
}

/// The previous versions in a baseline tree: `history/` oldest first, then the schema file
/// itself; each labelled with its file for messages.
fn previous_files(
    tree: &Tree,
    topic: &str,
    role: Role,
    schema_type: SchemaType,
    references: &[Reference<'_>],
) -> Result<(Vec<Schema>, Vec<String>), CliError> {
    let mut texts: Vec<(String, &str)> = Vec::new();
    if role == Role::Value {
        for (path, text) in tree.under(topic, "history") {
            texts.push((path.to_string(), text));
        }
    }
    if let Some((path, _, text)) = tree.schema(topic, role) {
        texts.push((path, text));
    }
    texts.dedup_by(|a, b| a.1.trim() == b.1.trim());
    let mut schemas = Vec::with_capacity(texts.len());
    let mut labels = Vec::with_capacity(texts.len());
    for (path, text) in texts {
        let schema = Schema::parse_with(schema_type, text, references, ParseOptions::LENIENT).map_err(|e| {
            CliError(format!(
                "{}/{path}: the previous version does not parse: {e}",
                tree.label
            ))
        })?;
        schemas.push(schema);
        labels.push(format!("{}/{path}", tree.label));
    }
    Ok((schemas, labels))
}

pub fn as_references(resolved: &[ResolvedReference]) -> Vec<Reference<'_>> {
    resolved
        .iter()
        .map(|r| Reference {
            name: &r.name,
            schema: &r.text,
        })
        .collect()
}

/// The subject's level and live versions on the registry, as registration would use them:
/// every live version for transitive levels, the latest otherwise.
pub fn registry_history(
    client: &Client,
    subject: &str,
    named_level: Option<CompatibilityLevel>,
) -> Result<(CompatibilityLevel, Vec<Schema>, Vec<String>), CliError> {
    let encoded = encode_segment(subject);
    let level: CompatibilityLevel = match named_level {
        Some(level) => level,
        None => {
            let path = format!("/config/{encoded}?defaultToGlobal=true");
            let config = client.get(&path)?;
            if config.status != 200 {
                return Err(server_error(client, config.status, &config.message(), subject));
            }
            config.body["compatibilityLevel"]
                .as_str()
                .ok_or_else(|| not_a_registry(client, "GET", &path))?
                .parse()
                .map_err(|e: compat::UnknownLevel| CliError(format!("the registry's level for {subject}: {e}")))?
        }
    };
    let path = format!("/subjects/{encoded}/versions");
    let versions = client.get(&path)?;
    let numbers: Vec<i64> = match versions.status {
        200 => serde_json::from_value(versions.body).map_err(|_| not_a_registry(client, "GET", &path))?,
        // A subject the registry does not have yet (error code 40401): its first version has
        // nothing to break. Any other 404 is a server that is not a registry.
        404 if versions.body["error_code"].as_i64() == Some(40401) => return Ok((level, Vec::new(), Vec::new())),
        status => return Err(server_error(client, status, &versions.message(), subject)),
    };
    let wanted: Vec<i64> = if level.is_transitive() {
        numbers
    } else {
        numbers.last().copied().into_iter().collect()
    };
    let mut schemas = Vec::with_capacity(wanted.len());
    let mut labels = Vec::with_capacity(wanted.len());
    for number in wanted {
        schemas.push(fetch_schema(client, subject, &number.to_string())?);
        labels.push(format!("{subject} version {number}"));
    }
    Ok((level, schemas, labels))
}

/// Under the subject's `compatibilityPolicy: READER_AWARE`, what the registry says of a
/// change its `level` refuses: `Ok(())` accepted, `Err(why)` not. `None` when the policy is
/// not in force (or the registry judges by another level than the check, or keeps no such
/// policy).
fn reader_aware_verdict(
    client: &Client,
    subject: &str,
    schema_type: SchemaType,
    text: &str,
    level: CompatibilityLevel,
) -> Result<Option<Result<(), String>>, CliError> {
    let encoded = encode_segment(subject);
    let config = client.get(&format!("/config/{encoded}?defaultToGlobal=true"))?;
    let policy = config.body["compatibilityPolicy"].as_str().unwrap_or("DEFAULT");
    let server_level = config.body["compatibilityLevel"].as_str().unwrap_or_default();
    if config.status != 200 || policy != "READER_AWARE" || server_level != level.as_str() {
        return Ok(None);
    }
    let path = format!("/compatibility/subjects/{encoded}/versions/latest?verbose=true");
    let answer = client.post(
        &path,
        &registration_body(schema_type, text),
        "application/vnd.schemaregistry.v1+json",
    )?;
    if answer.status != 200 {
        return Err(server_error(client, answer.status, &answer.message(), subject));
    }
    if answer.body["is_compatible"].as_bool() == Some(true) {
        return Ok(Some(Ok(())));
    }
    let messages: Vec<&str> = answer.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|m| m.starts_with("READER_AWARE"))
        .collect();
    // Without a reason the policy was not applied, the level's findings were waived: what
    // the registry still refuses is a declared reader's break, which the check reports
    // itself.
    Ok(Some(match messages.is_empty() {
        true => Ok(()),
        false => Err(messages.join("; ")),
    }))
}

/// The metadata of a subject's latest version on the registry (where its deprecations are).
fn registry_metadata(client: &Client, subject: &str) -> Result<Option<Value>, CliError> {
    let path = format!("/subjects/{}/versions/latest", encode_segment(subject));
    let latest = client.get(&path)?;
    if latest.status != 200 {
        return Err(server_error(client, latest.status, &latest.message(), subject));
    }
    Ok(latest.body.get("metadata").filter(|m| !m.is_null()).cloned())
}

/// A subject's version on the registry (`latest` or a number), parsed with the schemas it
/// references.
pub fn fetch_schema(client: &Client, subject: &str, version: &str) -> Result<Schema, CliError> {
    fetch_schema_with_references(client, subject, version).map(|(schema, _)| schema)
}

/// The same, with the `(name, text)` of each schema it references.
pub fn fetch_schema_with_references(
    client: &Client,
    subject: &str,
    version: &str,
) -> Result<(Schema, Vec<(String, String)>), CliError> {
    let path = format!("/subjects/{}/versions/{version}", encode_segment(subject));
    let response = client.get(&path)?;
    if response.status != 200 {
        return Err(server_error(client, response.status, &response.message(), subject));
    }
    let text = response.body["schema"]
        .as_str()
        .ok_or_else(|| not_a_registry(client, "GET", &path))?;
    let schema_type: SchemaType = response.body["schemaType"]
        .as_str()
        .unwrap_or("AVRO")
        .parse()
        .map_err(|_| CliError(format!("{subject} version {version}: unknown schema type")))?;
    let references = fetch_references(client, &response.body["references"])?;
    let refs: Vec<Reference<'_>> = references
        .iter()
        .map(|(name, text)| Reference { name, schema: text })
        .collect();
    let schema = Schema::parse_with(schema_type, text, &refs, ParseOptions::LENIENT).map_err(|e| {
        CliError(format!(
            "{subject} version {version} on the registry does not parse: {e}"
        ))
    })?;
    Ok((schema, references))
}

/// The texts of a registered version's references (one level deep).
fn fetch_references(client: &Client, references: &Value) -> Result<Vec<(String, String)>, CliError> {
    let mut found = Vec::new();
    for reference in references.as_array().into_iter().flatten() {
        let (Some(name), Some(subject), Some(version)) = (
            reference["name"].as_str(),
            reference["subject"].as_str(),
            reference["version"].as_i64(),
        ) else {
            continue;
        };
        let response = client.get(&format!("/subjects/{}/versions/{version}", encode_segment(subject)))?;
        if response.status != 200 {
            return Err(server_error(client, response.status, &response.message(), subject));
        }
        let text = response.body["schema"]
            .as_str()
            .ok_or_else(|| not_a_registry(client, "GET", &format!("/subjects/{subject}/versions/{version}")))?;
        found.push((name.to_string(), text.to_string()));
    }
    Ok(found)
}

fn server_error(client: &Client, status: u16, message: &str, subject: &str) -> CliError {
    CliError(format!(
        "the registry at {} answered {status} for {subject}: {message}",
        client.url()
    ))
}

/// A 200 without the answer a schema registry gives: a server that answers anything (a
/// proxy's page, a wrong port) must not pass for a registry that holds nothing.
pub fn not_a_registry(client: &Client, method: &str, path: &str) -> CliError {
    CliError(format!(
        "the server at {} answered {method} {path} without a schema registry's answer; is --server the registry's URL?",
        client.url()
    ))
}

/// Percent-encodes a subject for a URL path segment.
pub fn encode_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The JSON a registration of this file would send (used by `herald register`).
pub fn registration_body(schema_type: SchemaType, text: &str) -> Value {
    match schema_type {
        SchemaType::Avro => json!({ "schema": text }),
        other => json!({ "schemaType": other.as_str(), "schema": text }),
    }
}
