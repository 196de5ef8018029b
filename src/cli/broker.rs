//! `herald topics`, `herald produce` and `herald consume`: the broker from the command line,
//! through a server's HTTP API.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{json, Value};

use super::check::encode_segment;
use super::client::{Client, Response};
use super::repo::{locate, Contents};
use super::{CliError, Outcome};

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";

#[derive(Debug, Clone, Args)]
pub struct ServerArg {
    /// The Herald server.
    #[arg(long, env = "HERALD_SERVER", default_value = "http://127.0.0.1:8081", global = true)]
    pub server: String,
}

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    command: TopicsCommand,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// Create a topic.
    Create {
        name: String,
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// A tag; repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// How long records are kept: 7d, 12h, 30m, 45s, or "forever" [default: 7d]
        #[arg(long)]
        retention: Option<String>,
        /// off, id or full [default: full]
        #[arg(long)]
        validation: Option<String>,
        /// How the key's subject is named: topic (<topic>-key), record (the record's full
        /// name) or topic_record (<topic>-<record name>) [default: topic]
        #[arg(long)]
        key_subject_strategy: Option<String>,
        /// The same for the value's subject [default: topic]
        #[arg(long)]
        value_subject_strategy: Option<String>,
    },
    /// List the topics.
    List,
    /// Show a topic's settings and partitions.
    Describe { name: String },
    /// Delete a topic and all its records.
    Delete { name: String },
    /// Create the topics described by DIR/<topic>/topic.toml (with DIR/<topic>/examples/*.json)
    /// that do not exist yet, update the settings of those that do (all but partitions), and
    /// set each value subject to the compatibility level its file names. DIR may also be a
    /// repository root: the folder its herald.toml names with `schemas = "…"`, else its
    /// `schemas/`.
    Apply {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    topic: String,
    /// Files of JSON lines, one record value per line; standard input when none.
    files: Vec<PathBuf>,
    /// A key for every record (records with one key keep their order).
    #[arg(long)]
    key: Option<String>,
    /// Send every record to this partition.
    #[arg(long)]
    partition: Option<u32>,
    /// Records per request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    topic: String,
    /// The consumer group whose committed offsets to resume from and commit to.
    #[arg(long, default_value = "herald-cli")]
    group: String,
    /// Start from the oldest record when the group has no committed offset (else: only new
    /// records).
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many records.
    #[arg(long)]
    max: Option<usize>,
    /// Stop once no record has arrived for this many milliseconds [default: never]
    #[arg(long)]
    idle_ms: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    topic: String,
    /// Where to start in each partition: latest (only records that arrive from now on),
    /// earliest, or an offset.
    #[arg(long, default_value = "latest")]
    from: String,
    /// Follow this partition only.
    #[arg(long)]
    partition: Option<u32>,
    /// Show only records this CEL expression is true for, over `key`, `value`, `headers`,
    /// `topic`, `partition`, `offset` and `timestamp`: `value.amount > 100`.
    #[arg(long)]
    filter: Option<String>,
    /// Stop after this many records.
    #[arg(long)]
    max: Option<usize>,
    #[command(flatten)]
    server: ServerArg,
}

/// Reconnections tried in a row after a tail's stream ends or breaks off, a second apart.
const TAIL_RECONNECTS: u32 = 5;

/// Follows `GET /topics/{t}/live`, printing each record's JSON on a line of its own. When
/// the stream ends (the server restarts, the connection drops) it reconnects from the last
/// event's positions, so nothing is missed or printed twice.
pub fn run_tail(args: &TailArgs) -> Result<Outcome, CliError> {
    let client = Client::new(&args.server.server)?;
    let mut path = format!(
        "/topics/{}/live?from={}",
        encode_segment(&args.topic),
        encode_segment(&args.from)
    );
    if let Some(partition) = args.partition {
        path.push_str(&format!("&partition={partition}"));
    }
    if let Some(filter) = &args.filter {
        path.push_str(&format!("&filter={}", encode_segment(filter)));
    }
    let mut printed = 0usize;
    let mut last_id: Option<String> = None;
    let mut failures = 0;
    let stdout = std::io::stdout();
    loop {
        let headers: Vec<(&str, String)> = last_id.iter().map(|id| ("Last-Event-ID", id.clone())).collect();
        let mut event = SseEvent::default();
        let mut done = false;
        let streamed = client.stream_lines(&path, &headers, |line| {
            let Some(complete) = event.read(line) else {
                return Ok(true);
            };
            match complete.event.as_str() {
                "record" => {
                    let mut out = stdout.lock();
                    writeln!(out, "{}", complete.data)
                        .and_then(|()| out.flush())
                        .map_err(|e| CliError(format!("writing standard output: {e}")))?;
                    last_id = complete.id.or(last_id.take());
                    printed += 1;
                    done = args.max.is_some_and(|max| printed >= max);
                    Ok(!done)
                }
                "error" => Err(CliError(format!("the server stopped the tail: {}", complete.data))),
                _ => Ok(true),
            }
        });
        match streamed {
            Ok(()) if done => return Ok(Outcome::Clean),
            // The stream ended (the server stopped, or a proxy closed it): go on from there.
            Ok(()) => failures = 0,
            // A refusal (unknown topic, bad --from) will not change by asking again.
            Err(error) if error.0.starts_with("the server answered") || error.0.starts_with("the server stopped") => {
                return Err(error)
            }
            Err(error) => {
                failures += 1;
                if failures > TAIL_RECONNECTS {
                    return Err(error);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// One Server-Sent Event being read, line by line.
#[derive(Debug, Default)]
struct SseEvent {
    id: Option<String>,
    event: String,
    data: String,
}

impl SseEvent {
    /// Takes a line; at the blank line that ends an event, answers it (and starts anew).
    fn read(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let complete = std::mem::take(self);
            return (!complete.event.is_empty() || !complete.data.is_empty()).then_some(complete);
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = Some(value.to_string()),
            "event" => self.event = value.to_string(),
            "data" if self.data.is_empty() => self.data = value.to_string(),
            "data" => {
                self.data.push('\n');
                self.data.push_str(value);
            }
            // Comments (a leading colon) and retry hints.
            _ => {}
        }
        None
    }
}

/// `7d`, `12h`, `30m`, `45s`, `500ms` as milliseconds; `forever` as -1.
pub fn parse_duration_ms(text: &str) -> Result<i64, CliError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("forever") {
        return Ok(-1);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| CliError(format!("duration {text:?}: expected a number and a unit, like 7d")))?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(CliError(format!(
                "duration {text:?}: the unit must be ms, s, m, h or d"
            )))
        }
    };
    number
        .checked_mul(factor)
        .filter(|&ms| ms > 0)
        .ok_or_else(|| CliError(format!("duration {text:?} is out of range")))
}

pub(super) fn expect_ok(response: &Response, what: &str) -> Result<(), CliError> {
    if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(CliError(format!(
            "{what}: the server answered {}: {}",
            response.status,
            response.message()
        )))
    }
}

pub fn run_topics(args: &TopicsArgs) -> Result<Outcome, CliError> {
    let client = Client::new(&args.server.server)?;
    let mut out = std::io::stdout().lock();
    match &args.command {
        TopicsCommand::Create {
            name,
            partitions,
            description,
            owner,
            tags,
            retention,
            validation,
            key_subject_strategy,
            value_subject_strategy,
        } => {
            let mut body = json!({"name": name, "partitions": partitions, "tags": tags});
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            if let Some(o) = owner {
                body["owner"] = json!(o);
            }
            if let Some(r) = retention {
                body["retention_ms"] = json!(parse_duration_ms(r)?);
            }
            if let Some(v) = validation {
                body["validation"] = json!(v);
            }
            if let Some(v) = key_subject_strategy {
                body["key_subject_strategy"] = json!(v);
            }
            if let Some(v) = value_subject_strategy {
                body["value_subject_strategy"] = json!(v);
            }
            let response = client.post("/topics", &body, "application/json")?;
            expect_ok(&response, &format!("creating topic {name}"))?;
            let _ = writeln!(out, "created topic {name} with {partitions} partition(s)");
        }
        TopicsCommand::List => {
            for name in topic_names(&client)? {
                let _ = writeln!(out, "{name}");
            }
        }
        TopicsCommand::Describe { name } => {
            let response = client.get(&format!("/topics/{name}"))?;
            expect_ok(&response, &format!("describing topic {name}"))?;
            if !response.body.is_object() {
                return Err(not_herald(&client, "GET", &format!("/topics/{name}"), "a topic"));
            }
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&response.body).unwrap_or_default()
            );
        }
        TopicsCommand::Delete { name } => {
            let response = client.delete(&format!("/topics/{name}"))?;
            expect_ok(&response, &format!("deleting topic {name}"))?;
            let _ = writeln!(out, "deleted topic {name}");
        }
        TopicsCommand::Apply { dir } => apply(&client, dir, &mut out)?,
    }
    Ok(Outcome::Clean)
}

/// The keys of `topic.toml` this command reads.
#[derive(Debug, Deserialize)]
struct TopicFile {
    description: Option<String>,
    owner: Option<String>,
    contact: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    partitions: Option<u32>,
    retention: Option<String>,
    validation: Option<String>,
    /// `topic`, `record` or `topic_record` (see `broker::topic::SubjectStrategy`).
    key_subject_strategy: Option<String>,
    value_subject_strategy: Option<String>,
    compatibility: Option<String>,
}

/// The server's topics. An answer that is not a list of names is a server that is not
/// Herald, and must not pass for one that has no topics.
pub fn topic_names(client: &Client) -> Result<Vec<String>, CliError> {
    let response = client.get("/topics")?;
    expect_ok(&response, "listing topics")?;
    serde_json::from_value(response.body).map_err(|_| not_herald(client, "GET", "/topics", "a list of topics"))
}

/// A 2xx without the answer Herald gives: a server that answers anything must not pass
/// for a Herald server that has nothing.
fn not_herald(client: &Client, method: &str, path: &str, wanted: &str) -> CliError {
    CliError(format!(
        "the server at {} answered {method} {path} without {wanted}; is --server a Herald server's URL?",
        client.url()
    ))
}

fn apply(client: &Client, dir: &Path, out: &mut impl Write) -> Result<(), CliError> {
    let dir = locate(dir, Contents::TopicFiles)?.schemas;
    let existing = topic_names(client)?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| CliError(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("topic.toml").is_file())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let file = path.join("topic.toml");
        let text =
            std::fs::read_to_string(&file).map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
        let settings: TopicFile = toml::from_str(&text).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
        // The file is the topic's documentation: a key it leaves out is cleared (an empty
        // text clears), while retention, validation and the subject strategies left out keep
        // the topic's setting.
        let mut body = json!({
            "tags": settings.tags,
            "description": settings.description.as_deref().map(str::trim).unwrap_or_default(),
            "owner": settings.owner.as_deref().unwrap_or_default(),
            "contact": settings.contact.as_deref().map(str::trim).unwrap_or_default(),
            "examples": read_examples(&path.join("examples"))?,
        });
        if let Some(r) = &settings.retention {
            body["retention_ms"] =
                json!(parse_duration_ms(r).map_err(|e| CliError(format!("{}: retention: {e}", file.display())))?);
        }
        if let Some(v) = &settings.validation {
            body["validation"] = json!(v);
        }
        if let Some(v) = &settings.key_subject_strategy {
            body["key_subject_strategy"] = json!(v);
        }
        if let Some(v) = &settings.value_subject_strategy {
            body["value_subject_strategy"] = json!(v);
        }
        if existing.contains(&name) {
            // Partitions are fixed at creation: a different count in the file is reported,
            // not applied.
            let response = client.patch(&format!("/topics/{name}"), &body)?;
            expect_ok(&response, &format!("{}: updating topic {name}", file.display()))?;
            let _ = writeln!(out, "{name}: updated");
            let current = response.body["partitions"].as_array().map_or(0, Vec::len);
            if let Some(wanted) = settings.partitions.filter(|&p| p as usize != current) {
                let _ = writeln!(
                    out,
                    "{name}: keeps {current} partitions ({} says {wanted}; partitions are fixed when a topic is created)",
                    file.display()
                );
            }
        } else {
            body["name"] = json!(name);
            body["partitions"] = json!(settings.partitions.unwrap_or(1));
            let response = client.post("/topics", &body, "application/json")?;
            expect_ok(&response, &format!("{}: creating topic {name}", file.display()))?;
            let _ = writeln!(out, "{name}: created");
        }
        if let Some(level) = &settings.compatibility {
            let response = client.put(&format!("/config/{name}-value"), &json!({ "compatibility": level }))?;
            expect_ok(
                &response,
                &format!("{}: setting {name}-value to {level}", file.display()),
            )?;
            let _ = writeln!(out, "{name}-value: compatibility {level}");
        }
    }
    Ok(())
}

/// `DIR/examples/*.json`, each one event, named after its file, in name order.
fn read_examples(dir: &Path) -> Result<Vec<Value>, CliError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(file).map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
            let value: Value =
                serde_json::from_str(&text).map_err(|e| CliError(format!("{}: not JSON: {e}", file.display())))?;
            let name = file.file_stem().and_then(|n| n.to_str()).unwrap_or_default();
            Ok(json!({ "name": name, "value": value }))
        })
        .collect()
}

pub fn run_produce(args: &ProduceArgs) -> Result<Outcome, CliError> {
    let client = Client::new(&args.server.server)?;
    let mut lines: Vec<(String, usize, String)> = Vec::new();
    if args.files.is_empty() {
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
            lines.push(("stdin".to_string(), n + 1, line));
        }
    } else {
        for file in &args.files {
            let text =
                std::fs::read_to_string(file).map_err(|e| CliError(format!("cannot read {}: {e}", file.display())))?;
            for (n, line) in text.lines().enumerate() {
                lines.push((file.display().to_string(), n + 1, line.to_string()));
            }
        }
    }
    let mut records = Vec::new();
    for (source, n, line) in &lines {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| CliError(format!("{source}:{n}: not JSON: {e}")))?;
        let mut record = json!({ "value": value });
        if let Some(key) = &args.key {
            record["key"] = json!(key);
        }
        if let Some(p) = args.partition {
            record["partition"] = json!(p);
        }
        records.push((source.clone(), *n, record));
    }
    let mut produced = 0;
    let mut refused = false;
    for chunk in records.chunks(args.batch.max(1)) {
        let body = json!({ "records": chunk.iter().map(|(_, _, r)| r.clone()).collect::<Vec<_>>() });
        let response = client.post(&format!("/topics/{}", args.topic), &body, JSON_V2)?;
        if response.status == 422 {
            refused = true;
            for error in response.body["errors"].as_array().into_iter().flatten() {
                let index = error["index"].as_u64().unwrap_or(0) as usize;
                let (source, line, _) = &chunk[index.min(chunk.len() - 1)];
                let path = error["path"].as_str().filter(|p| !p.is_empty()).unwrap_or("");
                eprintln!(
                    "{source}:{line}: {}{path}: {}",
                    error["field"].as_str().unwrap_or("record"),
                    error["reason"].as_str().unwrap_or_default()
                );
            }
            if response.body["errors"].as_array().is_none_or(|e| e.is_empty()) {
                eprintln!("refused: {}", response.message());
            }
            continue;
        }
        expect_ok(&response, &format!("producing to {}", args.topic))?;
        // Each record written has its offset in the answer; a server that answers without
        // them has not written them.
        if response.body["offsets"].as_array().map(Vec::len) != Some(chunk.len()) {
            return Err(CliError(format!(
                "producing to {}: the server at {} answered without the records' offsets; is --server a Herald server's URL?",
                args.topic,
                client.url()
            )));
        }
        produced += chunk.len();
    }
    eprintln!("produced {produced} record(s) to {}", args.topic);
    Ok(if refused { Outcome::Violations } else { Outcome::Clean })
}

pub fn run_consume(args: &ConsumeArgs) -> Result<Outcome, CliError> {
    let client = Client::new(&args.server.server)?;
    let created = client.post(
        &format!("/consumers/{}", args.group),
        &json!({
            "format": "json",
            "auto.offset.reset": if args.from_beginning { "earliest" } else { "latest" },
            "auto.commit.enable": "false",
        }),
        "application/json",
    )?;
    expect_ok(&created, &format!("joining group {}", args.group))?;
    let instance = created.body["instance_id"]
        .as_str()
        .ok_or_else(|| {
            not_herald(
                &client,
                "POST",
                &format!("/consumers/{}", args.group),
                "a consumer instance",
            )
        })?
        .to_string();
    let base = format!("/consumers/{}/instances/{instance}", args.group);
    let result = consume_loop(&client, &base, args);
    let _ = client.delete(&base);
    result
}

fn consume_loop(client: &Client, base: &str, args: &ConsumeArgs) -> Result<Outcome, CliError> {
    let subscribed = client.post(
        &format!("{base}/subscription"),
        &json!({"topics": [args.topic]}),
        "application/json",
    )?;
    expect_ok(&subscribed, &format!("subscribing to {}", args.topic))?;
    let mut out = std::io::stdout().lock();
    let mut seen = 0usize;
    let mut idle_since = std::time::Instant::now();
    loop {
        let batch = client.get(&format!("{base}/records"))?;
        expect_ok(&batch, "fetching records")?;
        // No list is not "no records yet": waiting on it would wait forever.
        let records = batch
            .body
            .as_array()
            .cloned()
            .ok_or_else(|| not_herald(client, "GET", &format!("{base}/records"), "a list of records"))?;
        if records.is_empty() {
            if args
                .idle_ms
                .is_some_and(|ms| idle_since.elapsed().as_millis() as u64 >= ms)
            {
                return Ok(Outcome::Clean);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        }
        idle_since = std::time::Instant::now();
        let take = args.max.map_or(records.len(), |max| (max - seen).min(records.len()));
        let mut commits = Vec::new();
        for record in &records[..take] {
            let _ = writeln!(out, "{}", record["value"]);
            commits.push(json!({"topic": record["topic"], "partition": record["partition"],
                                "offset": record["offset"].as_i64().unwrap_or(0) + 1}));
        }
        let _ = out.flush();
        seen += take;
        // Commit what was printed: the next consumer in the group starts after it.
        let committed = client.post(
            &format!("{base}/offsets"),
            &json!({ "offsets": commits }),
            "application/json",
        )?;
        expect_ok(&committed, "committing offsets")?;
        if args.max.is_some_and(|max| seen >= max) {
            return Ok(Outcome::Clean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_in_topic_files() {
        assert_eq!(parse_duration_ms("14d").unwrap(), 14 * 86_400_000);
        assert_eq!(parse_duration_ms("12h").unwrap(), 12 * 3_600_000);
        assert_eq!(parse_duration_ms("500ms").unwrap(), 500);
        assert_eq!(parse_duration_ms("forever").unwrap(), -1);
        for bad in ["", "d", "7", "7w", "-1d", "0s", "99999999999999999d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
