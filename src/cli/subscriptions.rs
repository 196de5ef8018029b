//! `herald subscriptions …`: partner webhook subscriptions on a server, through its HTTP API
//! (`/topics/{t}/subscriptions`).

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::broker::{parse_duration_ms, ServerArg};
use super::client::{Client, Response};
use super::{CliError, Outcome};

#[derive(Debug, Args)]
pub struct SubscriptionsArgs {
    #[command(subcommand)]
    command: SubscriptionsCommand,
    #[command(flatten)]
    server: ServerArg,
}

/// The settings `create` and `update` take; unset ones keep their defaults (or values).
#[derive(Debug, Args)]
struct Settings {
    /// The endpoint: https://…, or http:// to a loopback host.
    #[arg(long)]
    url: Option<String>,
    /// json (the record decoded, in an envelope) or raw (the value's bytes as produced).
    #[arg(long)]
    format: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Records per second at most.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// The topic poison records go to (they pause the subscription without one).
    #[arg(long)]
    dead_letter_topic: Option<String>,
    /// Send only records this CEL expression is true for (over `key`, `value`, `headers`,
    /// `topic`, `partition`, `offset`, `timestamp`); an empty one removes the filter.
    #[arg(long)]
    filter: Option<String>,
    /// Tags whose fields deliveries redact, comma-separated (`PII,CONFIDENTIAL`); an empty
    /// value clears the list.
    #[arg(long)]
    redact: Option<String>,
    /// Attempts per record before it is dead-lettered or the subscription pauses.
    #[arg(long)]
    max_attempts: Option<u32>,
    /// The first retry's backoff bound (doubling up to --max-backoff): 500ms, 2s, …
    #[arg(long)]
    initial_backoff: Option<String>,
    #[arg(long)]
    max_backoff: Option<String>,
    /// How long one attempt may take, answer included.
    #[arg(long)]
    timeout: Option<String>,
}

impl Settings {
    fn body(&self) -> Result<Value, CliError> {
        let mut body = json!({});
        let mut set = |name: &str, value: Value| {
            body[name] = value;
        };
        if let Some(url) = &self.url {
            set("url", json!(url));
        }
        if let Some(format) = &self.format {
            set("format", json!(format));
        }
        if let Some(description) = &self.description {
            set("description", json!(description));
        }
        if let Some(limit) = self.rate_limit {
            set("rate_limit", json!(limit));
        }
        if let Some(topic) = &self.dead_letter_topic {
            set("dead_letter_topic", json!(topic));
        }
        if let Some(filter) = &self.filter {
            set("filter", if filter.is_empty() { Value::Null } else { json!(filter) });
        }
        if let Some(tags) = &self.redact {
            let tags: Vec<&str> = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
            set("redact", json!(tags));
        }
        if let Some(attempts) = self.max_attempts {
            set("max_attempts", json!(attempts));
        }
        for (name, text) in [
            ("initial_backoff_ms", &self.initial_backoff),
            ("max_backoff_ms", &self.max_backoff),
            ("timeout_ms", &self.timeout),
        ] {
            if let Some(text) = text {
                set(name, json!(positive_ms(text)?));
            }
        }
        Ok(body)
    }
}

fn positive_ms(text: &str) -> Result<i64, CliError> {
    match parse_duration_ms(text)? {
        -1 => Err(CliError(format!("duration {text:?} must be finite"))),
        ms => Ok(ms),
    }
}

#[derive(Debug, Subcommand)]
enum SubscriptionsCommand {
    /// Create a subscription; prints its signing secret, which is not shown again.
    Create {
        topic: String,
        name: String,
        /// Where delivery starts: latest (records from now on), earliest, or an offset.
        #[arg(long, default_value = "latest")]
        from: String,
        /// The signing secret (whsec_…); a new one is made when not given.
        #[arg(long, env = "HERALD_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
    /// List subscriptions (of one topic when given) with their state and lag.
    List { topic: Option<String> },
    /// Show one subscription: settings, state, last error, progress per partition.
    Show { topic: String, name: String },
    /// Change settings; the others stay.
    Update {
        topic: String,
        name: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// Stop deliveries until resumed.
    Pause {
        topic: String,
        name: String,
        /// What the topic page and the API show as the cause.
        #[arg(long)]
        cause: Option<String>,
    },
    /// Deliver again, from the record that caused the pause.
    Resume { topic: String, name: String },
    /// Make a new signing secret current; prints it. The previous one signs on for
    /// --previous-valid-for (24h unless given; 0s stops it at once).
    RotateSecret {
        topic: String,
        name: String,
        #[arg(long)]
        previous_valid_for: Option<String>,
        /// The new secret (whsec_…); a new one is made when not given.
        #[arg(long, env = "HERALD_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Delete a subscription and its consumer group.
    Delete { topic: String, name: String },
}

fn path(topic: &str, name: &str) -> String {
    format!("/topics/{topic}/subscriptions/{name}")
}

/// The answer's body when it is a success (the server's error, named, otherwise).
fn expect_ok(response: Response, what: &str) -> Result<Value, CliError> {
    super::broker::expect_ok(&response, what)?;
    Ok(response.body)
}

pub fn run_subscriptions(args: &SubscriptionsArgs) -> Result<Outcome, CliError> {
    let client = Client::new(&args.server.server)?;
    let mut out = std::io::stdout().lock();
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    match &args.command {
        SubscriptionsCommand::Create {
            topic,
            name,
            from,
            secret,
            settings,
        } => {
            let mut body = settings.body()?;
            body["name"] = json!(name);
            body["from"] = json!(from);
            if let Some(secret) = secret {
                body["secret"] = json!(secret);
            }
            let created = expect_ok(
                client.post(&format!("/topics/{topic}/subscriptions"), &body, "application/json")?,
                &format!("creating subscription {name} of topic {topic}"),
            )?;
            let _ = writeln!(
                out,
                "created subscription {name} of topic {topic}, delivering to {}",
                created["url"].as_str().unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "signing secret (shown once): {}",
                created["secret"].as_str().unwrap_or_default()
            );
        }
        SubscriptionsCommand::List { topic } => {
            let listed = match topic {
                Some(topic) => client.get(&format!("/topics/{topic}/subscriptions"))?,
                None => client.get("/subscriptions")?,
            };
            let listed = expect_ok(listed, "listing subscriptions")?;
            let _ = writeln!(out, "{:<24} {:<24} {:<9} {:>8}  URL", "TOPIC", "NAME", "STATE", "LAG");
            for view in listed.as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{:<24} {:<24} {:<9} {:>8}  {}",
                    view["topic"].as_str().unwrap_or_default(),
                    view["name"].as_str().unwrap_or_default(),
                    view["status"]["state"].as_str().unwrap_or_default(),
                    view["lag"],
                    view["url"].as_str().unwrap_or_default()
                );
            }
        }
        SubscriptionsCommand::Show { topic, name } => {
            let shown = expect_ok(client.get(&path(topic, name))?, &format!("showing subscription {name}"))?;
            let _ = writeln!(out, "{}", pretty(&shown));
        }
        SubscriptionsCommand::Update { topic, name, settings } => {
            let body = settings.body()?;
            if body.as_object().is_some_and(|o| o.is_empty()) {
                return Err(CliError("update: give at least one setting to change".to_string()));
            }
            let updated = expect_ok(
                client.put(&path(topic, name), &body)?,
                &format!("updating subscription {name}"),
            )?;
            let _ = writeln!(out, "{}", pretty(&updated));
        }
        SubscriptionsCommand::Pause { topic, name, cause } => {
            let body = match cause {
                Some(cause) => json!({"cause": cause}),
                None => json!({}),
            };
            expect_ok(
                client.post(&format!("{}/pause", path(topic, name)), &body, "application/json")?,
                &format!("pausing subscription {name}"),
            )?;
            let _ = writeln!(out, "paused subscription {name} of topic {topic}");
        }
        SubscriptionsCommand::Resume { topic, name } => {
            expect_ok(
                client.post(&format!("{}/resume", path(topic, name)), &json!({}), "application/json")?,
                &format!("resuming subscription {name}"),
            )?;
            let _ = writeln!(out, "resumed subscription {name} of topic {topic}");
        }
        SubscriptionsCommand::RotateSecret {
            topic,
            name,
            previous_valid_for,
            secret,
        } => {
            let mut body = json!({});
            if let Some(text) = previous_valid_for {
                body["previous_secret_valid_ms"] = json!(if text.trim() == "0s" || text.trim() == "0" {
                    0
                } else {
                    positive_ms(text)?
                });
            }
            if let Some(secret) = secret {
                body["secret"] = json!(secret);
            }
            let rotated = expect_ok(
                client.post(&format!("{}/secret", path(topic, name)), &body, "application/json")?,
                &format!("rotating the secret of subscription {name}"),
            )?;
            let _ = writeln!(
                out,
                "new signing secret (shown once): {}",
                rotated["secret"].as_str().unwrap_or_default()
            );
        }
        SubscriptionsCommand::Delete { topic, name } => {
            let response = client.delete(&path(topic, name))?;
            expect_ok(response, &format!("deleting subscription {name}"))?;
            let _ = writeln!(out, "deleted subscription {name} of topic {topic}");
        }
    }
    Ok(Outcome::Clean)
}
