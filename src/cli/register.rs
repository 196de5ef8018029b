//! `herald register`: every new or changed schema of a repository registered on a server,
//! after the merge that reviewed it. Idempotent: a schema the subject already holds is
//! reported unchanged. Schemas go in reference-dependency order (what a schema references
//! is registered first, and the registration names the version it got), otherwise topics in
//! name order, each value before its key.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::check::{as_references, encode_segment, not_a_registry, registration_body, registry_history};
use super::client::Client;
use super::consumers::{self, Declared};
use super::repo::{join, locate, resolve_references, Contents, ResolvedReference, Role, TopicSettings, Tree};
use super::{CliError, Outcome, OutputFormat};
use crate::compat::{self, CompatibilityLevel, PreviousVersion};
use crate::schema::{ParseOptions, Schema, SchemaType};

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The schema folder, or a repository root: the folder its herald.toml names with
    /// `schemas = "…"`, else its `schemas/`.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The registry (default: `registry` in herald.toml, else http://127.0.0.1:8081).
    #[arg(long, env = "HERALD_SERVER")]
    server: Option<String>,
    /// Say what would be registered, and whether the registry would accept it, without
    /// registering anything.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

const REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// The subject's version holding exactly this schema, if any (`POST /subjects/{s}`). A
/// registry answers a version and an id, or 404 with code 40401 (no such subject) or 40403
/// (not in it); anything else is a server that is not a registry, and must not pass for
/// one that holds every schema already.
fn lookup(
    client: &Client,
    encoded_subject: &str,
    body: &serde_json::Value,
) -> Result<super::client::Response, CliError> {
    let path = format!("/subjects/{encoded_subject}");
    let found = client.post(&path, body, REGISTRY_JSON)?;
    let answered = match found.status {
        200 => found.body["version"].is_i64() && found.body["id"].is_i64(),
        404 => matches!(found.body["error_code"].as_i64(), Some(40401 | 40403)),
        _ => true,
    };
    if !answered {
        return Err(not_a_registry(client, "POST", &path));
    }
    Ok(found)
}

/// What happened to one schema file.
struct Row {
    subject: String,
    file: String,
    outcome: &'static str,
    version: Option<i64>,
    id: Option<i64>,
    detail: String,
}

pub fn run_register(args: &RegisterArgs) -> Result<Outcome, CliError> {
    let result = register(args);
    if let (Err(error), OutputFormat::Json) = (&result, args.format) {
        // The JSON report says the run failed, for scripts that read only it.
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"dry_run": args.dry_run, "error": error.0, "results": []}))
                .unwrap_or_default()
        );
    }
    result
}

fn register(args: &RegisterArgs) -> Result<Outcome, CliError> {
    let repository = locate(&args.dir, Contents::Schemas)?;
    let (dir, config) = (&repository.schemas, &repository.config);
    let server = args
        .server
        .clone()
        .or_else(|| config.registry.clone())
        .unwrap_or_else(|| "http://127.0.0.1:8081".to_string());
    let client = Client::new(&server)?;
    let tree = Tree::from_dir(dir)?;
    let work = work_in_order(&tree, config)?;
    let declared = consumers::from_tree(&tree, config)?;
    // Contracts first, so that a change that stops reading a field and the schema change
    // that removes it land together; one naming what is not registered yet waits.
    let mut contract_rows = Vec::new();
    let mut waiting_contracts = Vec::new();
    for contract in &declared {
        match declare(&client, contract, args.dry_run)? {
            Declaration::Waits(_) => waiting_contracts.push(contract),
            Declaration::Done(row) => contract_rows.push(row),
        }
    }
    // Versions the registry holds for this run's subjects, for references to name.
    let mut versions: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let progress = std::io::stderr().is_terminal() && args.format == OutputFormat::Human;
    let mut rows = Vec::with_capacity(work.len());
    for (index, item) in work.iter().enumerate() {
        let subject = &item.subject;
        if progress {
            eprint!("\r\u{1b}[K[{}/{}] {subject}", index + 1, work.len());
            let _ = std::io::stderr().flush();
        }
        let file = join(dir, Path::new(&item.path)).display().to_string();
        let mut body = registration_body(item.schema_type, &item.text);
        let encoded = encode_segment(subject);
        let mut row = Row {
            subject: subject.clone(),
            file,
            outcome: "",
            version: None,
            id: None,
            detail: String::new(),
        };
        let mut named = Vec::new();
        let mut waiting = None;
        for (name, ref_subject) in &item.direct {
            match versions.get(ref_subject) {
                Some(version) => named.push(json!({"name": name, "subject": ref_subject, "version": version})),
                None => waiting = Some(ref_subject.clone()),
            }
        }
        if let Some(ref_subject) = waiting {
            // What it references is not on the registry: in a dry run because it would be
            // registered first, otherwise because the registry refused it.
            row.outcome = if args.dry_run { "would register" } else { "refused" };
            row.detail = format!("after {ref_subject}, which it references");
            rows.push(row);
            continue;
        }
        if !named.is_empty() {
            body["references"] = serde_json::Value::Array(named);
        }
        if let Some(metadata) = &item.metadata {
            body["metadata"] = metadata.clone();
        }
        // The level topic.toml names is the subject's, whether or not its schema changed;
        // set first, so a new version is judged by it (a dry run changes nothing, and judges
        // by that level itself).
        let level = &item.level;
        let mut settings = serde_json::Map::new();
        if let Some(level) = level {
            settings.insert("compatibility".to_string(), json!(level));
        }
        if let Some(policy) = &item.policy {
            settings.insert("compatibilityPolicy".to_string(), json!(policy));
        }
        if !settings.is_empty() && !args.dry_run {
            let set = client.put(&format!("/config/{encoded}"), &serde_json::Value::Object(settings))?;
            if set.status != 200 {
                let wanted = match (level, &item.policy) {
                    (Some(level), Some(policy)) => format!("{level} ({policy})"),
                    (Some(level), None) => level.clone(),
                    (None, Some(policy)) => format!("policy {policy}"),
                    (None, None) => unreachable!("settings are not empty"),
                };
                return Err(CliError(format!(
                    "setting {subject} to {wanted}: the registry at {} answered {}: {}",
                    client.url(),
                    set.status,
                    set.message()
                )));
            }
        }
        let found = lookup(&client, &encoded, &body)?;
        match found.status {
            200 => {
                row.outcome = "unchanged";
                row.version = found.body["version"].as_i64();
                row.id = found.body["id"].as_i64();
                versions.extend(row.version.map(|v| (subject.clone(), v)));
                rows.push(row);
                continue;
            }
            404 => {}
            422 => {
                row.outcome = "invalid";
                row.detail = found.message();
                rows.push(row);
                continue;
            }
            status => {
                return Err(CliError(format!(
                    "the registry answered {status} for {subject}: {}",
                    found.message()
                )))
            }
        }
        if args.dry_run {
            // The same judgement `herald check --server` makes: the level topic.toml names
            // (which a real run sets first), else the registry's, against its live versions.
            let named_level = level
                .as_deref()
                .map(|name| {
                    name.parse::<CompatibilityLevel>().map_err(|e| {
                        CliError(format!(
                            "{}/topic.toml: compatibility: {e}",
                            item.topic.as_deref().unwrap_or(subject)
                        ))
                    })
                })
                .transpose()?;
            let (judged_by, previous, _) = registry_history(&client, subject, named_level)?;
            let refs = as_references(&item.references);
            match Schema::parse_with(item.schema_type, &item.text, &refs, ParseOptions::LENIENT) {
                Err(e) => {
                    row.outcome = "would be refused";
                    row.detail = format!("not a valid schema: {e}");
                }
                Ok(schema) => match compat::check(judged_by, &PreviousVersion::numbered(&previous), &schema) {
                    Err(too_complex) => {
                        row.outcome = "would be refused";
                        row.detail = too_complex.to_string();
                    }
                    Ok(verdict) if verdict.is_compatible() => {
                        row.outcome = "would register";
                    }
                    Ok(verdict) => {
                        row.outcome = "would be refused";
                        row.detail = verdict
                            .incompatibilities
                            .iter()
                            .map(|i| {
                                format!(
                                    "{} (under {judged_by}, against version {}): {}",
                                    i.rule, i.version, i.message
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; ");
                    }
                },
            }
            rows.push(row);
            continue;
        }
        let registered = client.post(&format!("/subjects/{encoded}/versions"), &body, REGISTRY_JSON)?;
        match registered.status {
            200 if registered.body["id"].is_i64() => {
                row.outcome = "registered";
                row.id = registered.body["id"].as_i64();
                // Registration answers the id only; the lookup says which version it became.
                row.version = lookup(&client, &encoded, &body)?.body["version"].as_i64();
                versions.extend(row.version.map(|v| (subject.clone(), v)));
            }
            200 => {
                return Err(not_a_registry(
                    &client,
                    "POST",
                    &format!("/subjects/{encoded}/versions"),
                ))
            }
            409 | 422 => {
                row.outcome = "refused";
                row.detail = registered.message();
            }
            status => {
                return Err(CliError(format!(
                    "the registry answered {status} registering {subject}: {}",
                    registered.message()
                )))
            }
        }
        rows.push(row);
    }
    if progress {
        eprint!("\r\u{1b}[K");
    }
    for contract in waiting_contracts {
        match declare(&client, contract, args.dry_run)? {
            Declaration::Done(row) => contract_rows.push(row),
            Declaration::Waits(why) => contract_rows.push(Row {
                subject: contract.subject.clone(),
                file: contract.source.clone(),
                outcome: "refused",
                version: None,
                id: None,
                detail: format!("consumer group {}: {why}", contract.group),
            }),
        }
    }
    rows.extend(contract_rows);
    match args.format {
        OutputFormat::Human => print!("{}", table(&rows, args.dry_run)),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "dry_run": args.dry_run,
                "error": null,
                "results": rows.iter().map(|r| json!({
                    "subject": r.subject, "file": r.file, "outcome": r.outcome,
                    "version": r.version, "id": r.id, "detail": r.detail,
                })).collect::<Vec<_>>(),
            }))
            .unwrap_or_default()
        ),
    }
    let refused = rows
        .iter()
        .any(|r| matches!(r.outcome, "refused" | "would be refused" | "invalid"));
    Ok(if refused { Outcome::Violations } else { Outcome::Clean })
}

/// What declaring a consumer contract came to.
enum Declaration {
    Done(Row),
    /// It names a subject or field the registry does not have yet (why): after the schemas.
    Waits(String),
}

fn contract_path(contract: &Declared) -> String {
    format!(
        "/herald/v1/consumers/{}/contracts/{}",
        encode_segment(&contract.group),
        encode_segment(&contract.subject)
    )
}

/// Declares `contract` (reports it unchanged when the registry holds the same one).
fn declare(client: &Client, contract: &Declared, dry_run: bool) -> Result<Declaration, CliError> {
    let path = contract_path(contract);
    let body = contract.body();
    let row = |outcome: &'static str, version: Option<i64>, detail: String| Row {
        subject: contract.subject.clone(),
        file: contract.source.clone(),
        outcome,
        version,
        id: None,
        detail: format!(
            "consumer group {}{}{detail}",
            contract.group,
            if detail.is_empty() { "" } else { ": " }
        ),
    };
    let held = client.get(&path)?;
    let same = held.status == 200
        && ["fields", "schema"]
            .iter()
            .all(|key| held.body.get(*key) == body.get(*key));
    if same {
        return Ok(Declaration::Done(row(
            "unchanged",
            held.body["version"].as_i64(),
            String::new(),
        )));
    }
    if dry_run {
        return Ok(Declaration::Done(row("would declare", None, String::new())));
    }
    let answer = client.put(&path, &body)?;
    Ok(match (answer.status, answer.body["error_code"].as_i64()) {
        (200, _) => Declaration::Done(row("declared", answer.body["version"].as_i64(), String::new())),
        (404, Some(40401)) | (422, Some(42212)) => Declaration::Waits(answer.message()),
        (404 | 422, _) => Declaration::Done(row("refused", None, answer.message())),
        (status, _) => {
            return Err(CliError(format!(
                "the registry answered {status} declaring the contract of group {} on {}: {}",
                contract.group,
                contract.subject,
                answer.message()
            )))
        }
    })
}

/// One schema to register: a topic's value or key schema, or a `.proto` file one imports.
struct Work {
    subject: String,
    /// The file, relative to the schema folder.
    path: String,
    schema_type: SchemaType,
    text: String,
    /// Everything it needs to be parsed, dependencies first.
    references: Vec<ResolvedReference>,
    /// The references it names itself: (name, the subject registered for it).
    direct: Vec<(String, String)>,
    /// The level its topic.toml names.
    level: Option<String>,
    /// The compatibility policy its topic.toml names.
    policy: Option<String>,
    /// Its topic; `None` for an imported file.
    topic: Option<String>,
    /// The metadata its topic.toml gives (value schemas only).
    metadata: Option<serde_json::Value>,
}

/// Every schema of the tree, each after the schemas it references: topics in name order,
/// each value before its key. A `.proto` file a schema imports by path is registered under a
/// subject named by that path (Confluent's serializers' default), after the files it
/// imports itself.
fn work_in_order(tree: &Tree, config: &super::repo::RepoConfig) -> Result<Vec<Work>, CliError> {
    let mut order: Vec<(String, Role)> = Vec::new();
    let mut work: Vec<Work> = Vec::new();
    for topic in tree.topics() {
        for role in [Role::Value, Role::Key] {
            if tree.schema(&topic, role).is_none() {
                continue;
            }
            let references = resolve_references(tree, &topic, role).map_err(CliError)?;
            for imported in references.iter().filter(|r| r.imported) {
                push_imported(tree, &imported.name, &mut work)?;
            }
            for r in references
                .iter()
                .filter(|r| !r.imported)
                .map(|r| (r.topic.clone(), r.role))
                .chain([(topic.clone(), role)])
            {
                if !order.contains(&r) {
                    order.push(r);
                }
            }
        }
    }
    for (topic, role) in order {
        let Some((path, schema_type, text)) = tree.schema(&topic, role) else {
            continue;
        };
        let references = resolve_references(tree, &topic, role).map_err(CliError)?;
        // Only the references this schema names itself; theirs travel with their versions.
        let settings = TopicSettings::read(tree, &topic)?;
        let metadata = (role == Role::Value).then(|| settings.metadata_json()).flatten();
        let (specs, level, policy) = match role {
            Role::Value => (
                settings.references,
                settings.compatibility,
                settings.compatibility_policy,
            ),
            Role::Key => (settings.key_references, None, None),
        };
        let mut direct: Vec<(String, String)> = specs
            .iter()
            .filter_map(|spec| references.iter().find(|r| r.name == spec.name && !r.imported))
            .map(|r| (r.name.clone(), config.subject(&r.topic, r.role)))
            .collect();
        if schema_type == SchemaType::Protobuf {
            for import in crate::schema::protobuf::imports(text) {
                let is_file = references.iter().any(|r| r.imported && r.name == import);
                if is_file && !direct.iter().any(|(name, _)| *name == import) {
                    direct.push((import.clone(), import));
                }
            }
        }
        work.push(Work {
            subject: config.subject(&topic, role),
            path,
            schema_type,
            text: text.to_string(),
            references,
            direct,
            level,
            policy,
            topic: Some(topic),
            metadata,
        });
    }
    Ok(work)
}

/// Adds an imported `.proto` file, after the files it imports from the tree, once.
fn push_imported(tree: &Tree, name: &str, work: &mut Vec<Work>) -> Result<(), CliError> {
    if work.iter().any(|w| w.topic.is_none() && w.subject == name) {
        return Ok(());
    }
    let Some(text) = tree.get(name) else {
        return Ok(());
    };
    let mut direct = Vec::new();
    let mut references = Vec::new();
    for import in crate::schema::protobuf::imports(text) {
        if tree.get(&import).is_none() {
            // Built in on the registry (the tree's own copy would win, as a reference).
            continue;
        }
        push_imported(tree, &import, work)?;
        if let Some(dependency) = work.iter().find(|w| w.topic.is_none() && w.subject == import) {
            references.extend(dependency.references.iter().cloned());
            references.push(ResolvedReference {
                name: import.clone(),
                topic: import.clone(),
                role: Role::Value,
                text: dependency.text.clone(),
                imported: true,
            });
        }
        direct.push((import.clone(), import));
    }
    work.push(Work {
        subject: name.to_string(),
        path: name.to_string(),
        schema_type: SchemaType::Protobuf,
        text: text.to_string(),
        references,
        direct,
        level: None,
        policy: None,
        topic: None,
        metadata: None,
    });
    Ok(())
}

fn table(rows: &[Row], dry_run: bool) -> String {
    let cell = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let subject_width = rows.iter().map(|r| r.subject.len()).max().unwrap_or(7).max(7);
    let outcome_width = rows.iter().map(|r| r.outcome.len()).max().unwrap_or(7).max(7);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<subject_width$}  {:<outcome_width$}  {:>7}  {:>5}  FILE",
        "SUBJECT", "RESULT", "VERSION", "ID"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<subject_width$}  {:<outcome_width$}  {:>7}  {:>5}  {}",
            r.subject,
            r.outcome,
            cell(r.version),
            cell(r.id),
            r.file
        );
        if !r.detail.is_empty() {
            let _ = writeln!(out, "    {}", r.detail);
        }
    }
    let count = |name: &str| rows.iter().filter(|r| r.outcome == name).count();
    if dry_run {
        let _ = writeln!(
            out,
            "dry run: {} would register, {} unchanged, {} would be refused{}",
            count("would register"),
            count("unchanged"),
            count("would be refused") + count("invalid"),
            match count("would declare") {
                0 => String::new(),
                n => format!(", {n} consumer contract(s) would be declared"),
            }
        );
    } else {
        let _ = writeln!(
            out,
            "{} registered, {} unchanged, {} refused{}",
            count("registered"),
            count("unchanged"),
            count("refused") + count("invalid"),
            match count("declared") {
                0 => String::new(),
                n => format!(", {n} consumer contract(s) declared"),
            }
        );
    }
    out
}
