//! A repository of event contracts, as `herald check`, `register` and `topics apply` read it:
//!
//! ```text
//! herald.toml                   registry URL, default level, subject names, lint severities
//! schemas/<topic>/value.avsc | value.json | value.proto
//! schemas/<topic>/key.avsc | key.json | key.proto   (optional)
//! schemas/<dir>/<file>.proto                 files `.proto` schemas import, by import path
//! schemas/<topic>/topic.toml                 description, owner, …, compatibility
//! schemas/<topic>/examples/*.json            example events
//! schemas/<topic>/history/v1.avsc, v2.avsc…  earlier versions, oldest first (optional)
//! ```
//!
//! The same layout is read from the working tree or from a git revision (one `git cat-file
//! --batch` process for every file, so a check of hundreds of schemas stays fast).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::CliError;
use crate::compat::CompatibilityLevel;
use crate::schema::SchemaType;

/// How strictly a lint rule is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleSetting {
    Off,
    #[default]
    Warning,
    Error,
}

/// The repository's `herald.toml`. The same file may configure `herald serve`; each reads
/// its own keys.
#[derive(Debug, Default, Deserialize)]
pub struct RepoConfig {
    /// The schema folder, relative to the `herald.toml` that names it (default: `schemas`).
    pub schemas: Option<PathBuf>,
    /// The registry `--server` defaults to.
    pub registry: Option<String>,
    /// The level for subjects whose `topic.toml` names none (offline checks).
    pub default_compatibility: Option<String>,
    /// Subject names that differ from `<topic>-value` / `<topic>-key`.
    #[serde(default)]
    pub subjects: BTreeMap<String, SubjectNames>,
    /// Lint rule severities, by rule id (`FIELD_UNDOCUMENTED = "error"`).
    #[serde(default)]
    pub lint: BTreeMap<String, RuleSetting>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubjectNames {
    pub value: Option<String>,
    pub key: Option<String>,
}

impl RepoConfig {
    /// `herald.toml` in `dir` or its parent (the repository root above `schemas/`).
    pub fn find(dir: &Path) -> Result<(RepoConfig, Option<PathBuf>), CliError> {
        // `.` and `..` name no parent of their own: theirs is found from the absolute path.
        let parent = match dir.file_name() {
            Some(_) => dir.parent().map(|p| p.join("herald.toml")),
            None => dir
                .canonicalize()
                .ok()
                .and_then(|absolute| absolute.parent().map(|p| p.join("herald.toml"))),
        };
        let candidates = [Some(dir.join("herald.toml")), parent];
        for file in candidates.into_iter().flatten() {
            if file.is_file() {
                return Ok((RepoConfig::read(&file)?, Some(file)));
            }
        }
        Ok((RepoConfig::default(), None))
    }

    fn read(file: &Path) -> Result<RepoConfig, CliError> {
        let text = std::fs::read_to_string(file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
        toml::from_str(&text).map_err(|e| CliError(format!("{}: {e}", file.display())))
    }

    pub fn default_level(&self) -> Result<CompatibilityLevel, CliError> {
        match &self.default_compatibility {
            None => Ok(CompatibilityLevel::default()),
            Some(level) => level
                .parse()
                .map_err(|e: crate::compat::UnknownLevel| CliError(format!("herald.toml: default_compatibility: {e}"))),
        }
    }

    pub fn subject(&self, topic: &str, role: Role) -> String {
        let names = self.subjects.get(topic);
        let named = match role {
            Role::Value => names.and_then(|n| n.value.clone()),
            Role::Key => names.and_then(|n| n.key.clone()),
        };
        named.unwrap_or_else(|| format!("{topic}-{}", role.as_str()))
    }

    pub fn rule(&self, rule: &str) -> RuleSetting {
        self.lint.get(rule).copied().unwrap_or_default()
    }
}

/// What a command needs to find in a schema folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// A schema file: `<topic>/value.avsc`, `value.json`, `key.avsc` or `key.json`.
    Schemas,
    /// A `<topic>/topic.toml` (`herald topics apply`).
    TopicFiles,
}

impl Contents {
    fn found_in(self, dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.filter_map(Result::ok).any(|entry| {
            let topic = entry.path();
            match self {
                Contents::Schemas => SCHEMA_FILES.iter().any(|(name, _, _)| topic.join(name).is_file()),
                Contents::TopicFiles => topic.join("topic.toml").is_file(),
            }
        })
    }

    fn describe(self) -> String {
        match self {
            Contents::Schemas => format!("no schema file found ({SCHEMA_FILE_NAMES})"),
            Contents::TopicFiles => "no topic file found (<topic>/topic.toml)".to_string(),
        }
    }
}

/// Where a command found a repository's contracts, and the `herald.toml` that applies.
#[derive(Debug)]
pub struct Repository {
    /// The schema folder, holding one directory per topic.
    pub schemas: PathBuf,
    pub config: RepoConfig,
}

/// The schema folder a user pointed at: the folder a `herald.toml` in `dir` names
/// (`schemas = "…"`), else `dir/schemas`, else `dir` itself. Finding nothing is
/// an error naming every place looked at: a check that found no schema has checked nothing,
/// and must not pass.
pub fn locate(dir: &Path, wanted: Contents) -> Result<Repository, CliError> {
    if !dir.is_dir() {
        return Err(CliError(format!("{}: no such directory", dir.display())));
    }
    let root_file = dir.join("herald.toml");
    let root_config = if root_file.is_file() {
        Some(RepoConfig::read(&root_file)?)
    } else {
        None
    };
    let mut tried = Vec::new();
    let shown = |path: &Path| {
        if path.is_dir() {
            path.display().to_string()
        } else {
            format!("{} (no such directory)", path.display())
        }
    };
    if let Some(named) = root_config.as_ref().and_then(|c| c.schemas.clone()) {
        // The repository says where its schemas are: there and nowhere else.
        let schemas = join(dir, &named);
        if wanted.found_in(&schemas) {
            let config = root_config.unwrap_or_default();
            return Ok(Repository { schemas, config });
        }
        let missing = if schemas.is_dir() { "" } else { "; no such directory" };
        tried.push(format!(
            "{} (named by {}{missing})",
            schemas.display(),
            root_file.display()
        ));
    } else {
        // A repository root's `schemas/` first: a root may hold other folders with a
        // `value.json` in them, while a schema folder's topics hold no `schemas/` of schemas.
        let schemas = join(dir, Path::new("schemas"));
        if wanted.found_in(&schemas) {
            let config = root_config.unwrap_or_default();
            return Ok(Repository { schemas, config });
        }
        if wanted.found_in(dir) {
            let (config, _) = RepoConfig::find(dir)?;
            return Ok(Repository {
                schemas: dir.to_path_buf(),
                config,
            });
        }
        tried.push(shown(dir));
        tried.push(shown(&schemas));
    }
    Err(CliError(format!(
        "{}; looked in {}",
        wanted.describe(),
        tried.join(" and ")
    )))
}

/// `dir/relative`, without a leading `./` when `dir` is the current directory (paths in
/// reports stay as the user would type them).
pub fn join(dir: &Path, relative: &Path) -> PathBuf {
    if dir == Path::new(".") {
        relative.to_path_buf()
    } else {
        dir.join(relative)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Value,
    Key,
}

/// The schema files a topic directory may hold, by role and type, in the order a directory
/// holding more than one is read.
const SCHEMA_FILES: [(&str, Role, SchemaType); 6] = [
    ("value.avsc", Role::Value, SchemaType::Avro),
    ("value.json", Role::Value, SchemaType::Json),
    ("value.proto", Role::Value, SchemaType::Protobuf),
    ("key.avsc", Role::Key, SchemaType::Avro),
    ("key.json", Role::Key, SchemaType::Json),
    ("key.proto", Role::Key, SchemaType::Protobuf),
];

/// What error messages say the schema files are.
const SCHEMA_FILE_NAMES: &str = "<topic>/value.avsc, value.json, value.proto or key.*";

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Value => "value",
            Role::Key => "key",
        }
    }
}

/// The files of a schemas directory: from disk or from a git revision, keyed by their path
/// relative to the directory (`payment-completed/value.avsc`).
pub struct Tree {
    /// For messages: the directory, or `REF:dir`.
    pub label: String,
    files: BTreeMap<String, String>,
}

impl Tree {
    /// Every file under `dir` (two levels: `<topic>/<file>` and `<topic>/<sub>/<file>`).
    pub fn from_dir(dir: &Path) -> Result<Tree, CliError> {
        if !dir.is_dir() {
            return Err(CliError(format!("{}: no such directory", dir.display())));
        }
        let mut files = BTreeMap::new();
        let mut stack = vec![(dir.to_path_buf(), String::new(), 0)];
        while let Some((current, prefix, depth)) = stack.pop() {
            let entries = std::fs::read_dir(&current).map_err(|e| CliError(format!("{}: {e}", current.display())))?;
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let relative = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                };
                if path.is_dir() {
                    if depth < 2 {
                        stack.push((path.clone(), relative, depth + 1));
                    }
                } else if depth >= 1 && is_contract_file(&relative) {
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
                    files.insert(relative, text);
                }
            }
        }
        Ok(Tree {
            label: dir.display().to_string(),
            files,
        })
    }

    /// The same files as they were at git revision `rev`.
    pub fn from_git(dir: &Path, rev: &str) -> Result<Tree, CliError> {
        let git = |args: &[&str]| -> Result<String, CliError> {
            let output = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .map_err(|e| CliError(format!("cannot run git: {e}")))?;
            if !output.status.success() {
                return Err(CliError(format!(
                    "git {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        };
        let prefix = git(&["rev-parse", "--show-prefix"])?.trim().to_string();
        git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .map_err(|_| CliError(format!("git revision {rev:?} not found in {}", dir.display())))?;
        let listing = git(&["ls-tree", "-r", "-z", "--name-only", "--full-name", rev, "--", "."])?;
        let paths: Vec<&str> = listing
            .split('\0')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let relative = &p[prefix.len().min(p.len())..];
                let depth = relative.matches('/').count();
                (1..=2).contains(&depth) && is_contract_file(relative)
            })
            .collect();
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| CliError(format!("cannot run git: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let requests: String = paths.iter().map(|p| format!("{rev}:{p}\n")).collect();
        // Write from a thread: git answers while it reads, and both pipes have limits.
        let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut files = BTreeMap::new();
        for path in &paths {
            let mut header = String::new();
            reader
                .read_line(&mut header)
                .map_err(|e| CliError(format!("git cat-file: {e}")))?;
            let size: usize = header
                .split_whitespace()
                .nth(2)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| CliError(format!("git cat-file: unexpected answer {header:?} for {path}")))?;
            let mut content = vec![0u8; size + 1];
            reader
                .read_exact(&mut content)
                .map_err(|e| CliError(format!("git cat-file: {e}")))?;
            content.truncate(size);
            let relative = path[prefix.len()..].to_string();
            files.insert(relative, String::from_utf8_lossy(&content).into_owned());
        }
        let _ = writer.join();
        let _ = child.wait();
        Ok(Tree {
            label: format!("{rev}:{}", dir.display()),
            files,
        })
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The baseline must hold something to compare with: a tree without a schema file (a
    /// revision before the schemas existed, a folder laid out differently) is an error, not
    /// a pass.
    pub fn require_schemas(self) -> Result<Tree, CliError> {
        if self.topics().is_empty() {
            return Err(CliError(format!(
                "nothing to check against: {} holds no schema file ({SCHEMA_FILE_NAMES}); if this change \
                 adds the first schemas, pass --allow-empty-baseline (or check against a registry with --server)",
                self.label
            )));
        }
        Ok(self)
    }

    /// The topic directories that hold a value or key schema.
    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self
            .files
            .keys()
            .filter_map(|p| p.split_once('/'))
            .filter(|(_, file)| schema_file_role(file).is_some())
            .map(|(topic, _)| topic.to_string())
            .collect();
        topics.dedup();
        topics
    }

    /// The schema file of `topic` for `role`, with its type.
    pub fn schema(&self, topic: &str, role: Role) -> Option<(String, SchemaType, &str)> {
        SCHEMA_FILES
            .iter()
            .filter(|(_, r, _)| *r == role)
            .find_map(|(name, _, schema_type)| {
                let path = format!("{topic}/{name}");
                self.get(&path).map(|text| (path, *schema_type, text))
            })
    }

    /// Every file whose path starts with `prefix`, by path.
    pub fn starting_with<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.files
            .range(prefix.to_string()..)
            .take_while(move |(p, _)| p.starts_with(prefix))
            .map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// Files in `topic/<sub>/`, in version order (`v2` before `v10`).
    pub fn under(&self, topic: &str, sub: &str) -> Vec<(&str, &str)> {
        let prefix = format!("{topic}/{sub}/");
        let mut found: Vec<(&str, &str)> = self
            .files
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        found.sort_by_key(|(p, _)| natural_key(p));
        found
    }
}

/// `v10` after `v9`: the file name's first run of digits compares as a number, then the
/// name decides (`v2.avsc` and `v2.json` stay together).
fn natural_key(path: &str) -> (u64, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.parse().unwrap_or(0), name.to_string())
}

/// A file of the repository the commands read, by its path under the schema folder: schema
/// files, `topic.toml`, and consumer contracts (`consumers/<group>.toml`).
fn is_contract_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or_default();
    name.ends_with(".avsc")
        || name.ends_with(".json")
        || name.ends_with(".proto")
        || name == "topic.toml"
        || (relative.starts_with("consumers/") && name.ends_with(".toml"))
}

fn schema_file_role(name: &str) -> Option<Role> {
    SCHEMA_FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, role, _)| *role)
}

/// The keys of `topic.toml` the checks read.
#[derive(Debug, Default, Deserialize)]
pub struct TopicSettings {
    pub compatibility: Option<String>,
    /// The value subject's `compatibilityPolicy` (`DEFAULT` or `READER_AWARE`), which
    /// `herald register` sets with the level.
    pub compatibility_policy: Option<String>,
    /// Schemas the value schema uses (Avro named types, JSON Schema `$ref` documents).
    #[serde(default)]
    pub references: Vec<ReferenceSpec>,
    /// The same for the key schema.
    #[serde(default)]
    pub key_references: Vec<ReferenceSpec>,
    /// The value subject's metadata, as Confluent's API takes it (`properties`, `tags`,
    /// `sensitive`): `herald register` sends it with the schema, `herald check` reads
    /// deprecations (`herald.deprecated.<field>` properties) from it.
    pub metadata: Option<toml::Table>,
}

impl TopicSettings {
    /// The value subject's metadata as JSON.
    pub fn metadata_json(&self) -> Option<serde_json::Value> {
        self.metadata
            .as_ref()
            .and_then(|table| serde_json::to_value(table).ok())
    }
}

/// `[[references]]` in `topic.toml`: another schema of the repository, by topic and role,
/// under the name the referring schema uses for it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceSpec {
    /// Avro: the referenced type's full name; JSON Schema: the `$ref` address.
    pub name: String,
    pub topic: String,
    #[serde(default = "value_role")]
    pub role: String,
}

fn value_role() -> String {
    "value".to_string()
}

/// A reference resolved in a tree.
#[derive(Debug, Clone)]
pub struct ResolvedReference {
    pub name: String,
    /// The topic whose schema it is; for an imported `.proto` file, its path.
    pub topic: String,
    pub role: Role,
    pub text: String,
    /// A `.proto` file imported by path rather than a topic's schema named in `topic.toml`:
    /// `herald register` registers it under a subject named by that path, as Confluent's
    /// serializers do.
    pub imported: bool,
}

/// Every schema `topic`'s `role` schema needs, dependencies before the schemas that use
/// them (the order the parser and the registry need). The error names what is missing.
pub fn resolve_references(tree: &Tree, topic: &str, role: Role) -> Result<Vec<ResolvedReference>, String> {
    let mut resolved = Vec::new();
    let mut visiting = Vec::new();
    visit(tree, topic, role, &mut visiting, &mut resolved)?;
    if let Some((path, SchemaType::Protobuf, text)) = tree.schema(topic, role) {
        imported_files(tree, &path, text, &mut resolved)?;
    }
    Ok(resolved)
}

/// The files a `.proto` schema imports, found in the schema folder by their import path
/// (`import "common/money.proto";` is `schemas/common/money.proto`), and theirs in turn.
/// Imports named by a `[[references]]` entry need no file, nor do the files the registry
/// builds in (Google's well-known types, `google/type/`, `confluent/`) unless the tree has
/// its own copy, which then wins as a reference would.
fn imported_files(tree: &Tree, path: &str, text: &str, resolved: &mut Vec<ResolvedReference>) -> Result<(), String> {
    use crate::schema::protobuf::builtin;
    for import in crate::schema::protobuf::imports(text) {
        if resolved.iter().any(|r| r.name == import) {
            continue;
        }
        let built_in = import.starts_with("google/protobuf/") || builtin::is_bundled(&import);
        let Some(imported) = tree.get(&import) else {
            if built_in {
                continue;
            }
            return Err(format!(
                "{path}: imports {import:?}, which is neither a file of {} nor a [[references]] entry in topic.toml",
                tree.label
            ));
        };
        resolved.push(ResolvedReference {
            name: import.clone(),
            topic: import.clone(),
            role: Role::Value,
            text: imported.to_string(),
            imported: true,
        });
        imported_files(tree, &import, imported, resolved)?;
    }
    Ok(())
}

fn visit(
    tree: &Tree,
    topic: &str,
    role: Role,
    visiting: &mut Vec<(String, Role)>,
    resolved: &mut Vec<ResolvedReference>,
) -> Result<(), String> {
    if visiting.iter().any(|(t, r)| t == topic && *r == role) {
        let chain: Vec<String> = visiting.iter().map(|(t, r)| format!("{t}/{}", r.as_str())).collect();
        return Err(format!(
            "references form a cycle: {} -> {topic}/{}",
            chain.join(" -> "),
            role.as_str()
        ));
    }
    let settings = TopicSettings::read(tree, topic).map_err(|e| e.0)?;
    let specs = match role {
        Role::Value => settings.references,
        Role::Key => settings.key_references,
    };
    visiting.push((topic.to_string(), role));
    for spec in specs {
        let ref_role = match spec.role.as_str() {
            "value" => Role::Value,
            "key" => Role::Key,
            other => {
                return Err(format!(
                    "{topic}/topic.toml: reference {}: role must be value or key, not {other:?}",
                    spec.name
                ))
            }
        };
        let Some((_, _, text)) = tree.schema(&spec.topic, ref_role) else {
            return Err(format!(
                "{topic}/topic.toml: reference {} names {}/{}, which has no schema in {}",
                spec.name,
                spec.topic,
                ref_role.as_str(),
                tree.label
            ));
        };
        let text = text.to_string();
        visit(tree, &spec.topic, ref_role, visiting, resolved)?;
        match resolved.iter().find(|r| r.name == spec.name) {
            // The same schema reached twice (a diamond) is one reference.
            Some(seen) if seen.topic == spec.topic && seen.role == ref_role => {}
            Some(seen) => {
                return Err(format!(
                    "{topic}/topic.toml: reference {} names {}/{}, but {}/{} already goes by that name",
                    spec.name,
                    spec.topic,
                    ref_role.as_str(),
                    seen.topic,
                    seen.role.as_str()
                ))
            }
            None => resolved.push(ResolvedReference {
                name: spec.name,
                topic: spec.topic,
                role: ref_role,
                text,
                imported: false,
            }),
        }
    }
    visiting.pop();
    Ok(())
}

impl TopicSettings {
    pub fn read(tree: &Tree, topic: &str) -> Result<TopicSettings, CliError> {
        match tree.get(&format!("{topic}/topic.toml")) {
            None => Ok(TopicSettings::default()),
            Some(text) => toml::from_str(text).map_err(|e| CliError(format!("{topic}/topic.toml: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_files_sort_by_number() {
        let mut names = vec!["t/history/v10.avsc", "t/history/v2.avsc", "t/history/v1.avsc"];
        names.sort_by_key(|p| natural_key(p));
        assert_eq!(names, ["t/history/v1.avsc", "t/history/v2.avsc", "t/history/v10.avsc"]);
    }

    #[test]
    fn subject_names_follow_the_topic_unless_overridden() {
        let config: RepoConfig = toml::from_str(
            "default_compatibility = \"FULL\"\n[subjects.payments]\nvalue = \"payments.v1\"\n[lint]\nFIELD_UNDOCUMENTED = \"error\"\n",
        )
        .unwrap();
        assert_eq!(config.subject("payments", Role::Value), "payments.v1");
        assert_eq!(config.subject("payments", Role::Key), "payments-key");
        assert_eq!(config.subject("orders", Role::Value), "orders-value");
        assert_eq!(config.default_level().unwrap(), CompatibilityLevel::Full);
        assert_eq!(config.rule("FIELD_UNDOCUMENTED"), RuleSetting::Error);
        assert_eq!(config.rule("INCONSISTENT_NAMING"), RuleSetting::Warning);
    }
}
