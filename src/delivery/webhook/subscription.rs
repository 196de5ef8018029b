//! A subscription's settings as an operator gives them, checked; and as they are kept on
//! disk. Pure: no I/O.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::policy::RetryPolicy;
use super::sign::Secret;

/// What a request body is: the record decoded as JSON in an envelope, or its value's bytes
/// exactly as produced (Confluent framing included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Raw,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Raw => "raw",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "json" => Ok(Format::Json),
            "raw" => Ok(Format::Raw),
            other => Err(format!("format must be json or raw, not {other:?}")),
        }
    }
}

/// Why a subscription stopped delivering, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub cause: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A secret in use, with when it stops signing (set when a newer one replaced it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSecret {
    pub secret: String,
    /// Unix milliseconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A subscription as kept in `<data dir>/webhooks/<topic>/<name>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub name: String,
    pub topic: String,
    pub url: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Records per second at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Where poison records go; without one a poison record pauses the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    /// A CEL expression over the decoded record: only records it is true for are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Sensitive tags whose fields deliveries redact (see [`crate::delivery::redaction`]):
    /// those asked for, and always those the principal who created or last changed the
    /// subscription may not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long one attempt may take, answer included.
    pub timeout_ms: u64,
    /// Newest first.
    pub secrets: Vec<StoredSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    pub created_at: i64,
}

/// What an operator asks for; unset fields take the defaults (or, for an update, stay).
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub url: Option<String>,
    pub format: Option<Format>,
    pub description: Option<String>,
    pub rate_limit: Option<Option<u32>>,
    pub dead_letter_topic: Option<Option<String>>,
    pub filter: Option<Option<String>>,
    /// The tags to redact (replacing the list).
    pub redact: Option<Vec<String>>,
    /// Tags redacted whatever `redact` says: those the principal making the change may not
    /// read, so no one sends elsewhere what they could not read themselves.
    pub always_redact: Vec<String>,
    pub max_attempts: Option<u32>,
    pub initial_backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
}

/// The consumer group whose committed offsets record a subscription's progress.
pub fn group_name(topic: &str, name: &str) -> String {
    format!("herald.webhook.{topic}.{name}")
}

/// Names: what topic names allow (they end up in a group name and a file name), at most 64.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("name must be 1 to 64 characters, {name:?} has {}", name.len()));
    }
    if name == "."
        || name == ".."
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "name {name:?} may contain only ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// An endpoint URL: `https://`, or `http://` to a loopback host only (a receiver on the same
/// machine; anything else would send signed events in clear text). No user information
/// (credentials in a URL end up in logs) and no fragment.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("url {url:?} is not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let Some(authority) = uri.authority() else {
        return Err(format!("url {url:?} needs a scheme and a host (https://host/path)"));
    };
    if authority.as_str().contains('@') {
        return Err(format!(
            "url {url:?} must not carry credentials: use the signing secret"
        ));
    }
    if url.contains('#') {
        return Err(format!("url {url:?} must not have a fragment"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(format!(
            "url {url:?} must use https: plain http is allowed only to loopback hosts"
        )),
        other => Err(format!("url {url:?} must use https, not {other:?}")),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Subscription {
    /// A new subscription from a spec, checked; `secret` is the one given, or a new one.
    pub fn create(
        topic: &str,
        name: &str,
        spec: Spec,
        secret: Option<Secret>,
        now: i64,
    ) -> Result<Subscription, String> {
        check_name(name)?;
        let Some(url) = spec.url.clone() else {
            return Err("url is required".to_string());
        };
        let secret = match secret {
            Some(secret) => secret,
            None => Secret::generate()?,
        };
        let defaults = RetryPolicy::default();
        let mut subscription = Subscription {
            name: name.to_string(),
            topic: topic.to_string(),
            url,
            format: Format::Json,
            description: None,
            rate_limit: None,
            dead_letter_topic: None,
            filter: None,
            redact: Vec::new(),
            max_attempts: defaults.max_attempts,
            initial_backoff_ms: defaults.initial_backoff.as_millis() as u64,
            max_backoff_ms: defaults.max_backoff.as_millis() as u64,
            timeout_ms: 10_000,
            secrets: vec![StoredSecret {
                secret: secret.expose(),
                created_at: now,
                expires_at: None,
            }],
            paused: None,
            created_at: now,
        };
        subscription.apply(spec)?;
        Ok(subscription)
    }

    /// Applies what a spec sets and checks the result.
    pub fn apply(&mut self, spec: Spec) -> Result<(), String> {
        let Spec {
            url,
            format,
            description,
            rate_limit,
            dead_letter_topic,
            filter,
            redact,
            always_redact,
            max_attempts,
            initial_backoff_ms,
            max_backoff_ms,
            timeout_ms,
        } = spec;
        if let Some(redact) = redact {
            self.redact = redact;
        }
        self.redact.extend(always_redact);
        self.redact.retain(|tag| !tag.trim().is_empty());
        self.redact.sort();
        self.redact.dedup();
        if let Some(url) = url {
            self.url = url;
        }
        if let Some(format) = format {
            self.format = format;
        }
        if let Some(description) = description {
            self.description = Some(description).filter(|d| !d.is_empty());
        }
        if let Some(rate_limit) = rate_limit {
            self.rate_limit = rate_limit;
        }
        if let Some(dead_letter_topic) = dead_letter_topic {
            self.dead_letter_topic = dead_letter_topic.filter(|t| !t.is_empty());
        }
        if let Some(filter) = filter {
            self.filter = filter.filter(|f| !f.trim().is_empty());
        }
        if let Some(max_attempts) = max_attempts {
            self.max_attempts = max_attempts;
        }
        if let Some(ms) = initial_backoff_ms {
            self.initial_backoff_ms = ms;
        }
        if let Some(ms) = max_backoff_ms {
            self.max_backoff_ms = ms;
        }
        if let Some(ms) = timeout_ms {
            self.timeout_ms = ms;
        }
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        check_url(&self.url)?;
        if let Some(limit) = self.rate_limit {
            if !(1..=100_000).contains(&limit) {
                return Err(format!(
                    "rate_limit must be 1 to 100000 records per second, not {limit}"
                ));
            }
        }
        if self.dead_letter_topic.as_deref() == Some(self.topic.as_str()) {
            return Err("dead_letter_topic must be another topic than the one subscribed to".to_string());
        }
        if let Some(filter) = &self.filter {
            crate::expression::Expression::compile(filter).map_err(|e| format!("filter: {e}"))?;
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err(format!("max_attempts must be 1 to 100, not {}", self.max_attempts));
        }
        if !(1..=3_600_000).contains(&self.initial_backoff_ms) {
            return Err(format!(
                "initial_backoff_ms must be 1 to 3600000, not {}",
                self.initial_backoff_ms
            ));
        }
        if !(self.initial_backoff_ms..=86_400_000).contains(&self.max_backoff_ms) {
            return Err(format!(
                "max_backoff_ms must be from initial_backoff_ms ({}) to 86400000, not {}",
                self.initial_backoff_ms, self.max_backoff_ms
            ));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(format!("timeout_ms must be 100 to 60000, not {}", self.timeout_ms));
        }
        if let Some(description) = &self.description {
            if description.len() > 1000 {
                return Err("description must be at most 1000 characters".to_string());
            }
        }
        Ok(())
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            initial_backoff: Duration::from_millis(self.initial_backoff_ms),
            max_backoff: Duration::from_millis(self.max_backoff_ms),
        }
    }

    /// The secrets that sign at `now`: the current one and any not yet expired.
    pub fn signing_secrets(&self, now: i64) -> Vec<Secret> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .filter_map(|s| Secret::parse(&s.secret).ok())
            .collect()
    }

    /// Makes `secret` the current one; the previous ones sign on until `now + overlap`
    /// (or stop at once for a zero overlap). Expired secrets are forgotten.
    pub fn rotate(&mut self, secret: Secret, overlap: Duration, now: i64) {
        let until = now.saturating_add(overlap.as_millis().min(i64::MAX as u128) as i64);
        for old in &mut self.secrets {
            old.expires_at = Some(old.expires_at.map_or(until, |at| at.min(until)));
        }
        self.secrets.retain(|s| s.expires_at.is_none_or(|at| at > now));
        self.secrets.insert(
            0,
            StoredSecret {
                secret: secret.expose(),
                created_at: now,
                expires_at: None,
            },
        );
    }

    pub fn group(&self) -> String {
        group_name(&self.topic, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> Spec {
        Spec {
            url: Some(url.to_string()),
            ..Spec::default()
        }
    }

    #[test]
    fn urls_must_be_https_or_loopback_http_without_credentials() {
        for good in [
            "https://partner.example/hooks",
            "http://127.0.0.1:9000/in",
            "http://localhost/in",
            "http://[::1]:8080/",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("http://partner.example/hooks", "must use https"),
            ("ftp://partner.example/", "must use https, not \"ftp\""),
            ("https://user:pw@partner.example/", "must not carry credentials"),
            ("/hooks", "needs a scheme and a host"),
            ("https://partner.example/#x", "fragment"),
            ("https://exa mple/", "is not a URL"),
        ] {
            let error = check_url(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn creation_checks_every_setting_and_names_it() {
        let made = Subscription::create("orders", "acme", spec("https://a.example/"), None, 1).unwrap();
        assert_eq!(made.max_attempts, 8);
        assert_eq!(made.group(), "herald.webhook.orders.acme");
        assert_eq!(made.signing_secrets(1).len(), 1);
        let bad = |change: fn(&mut Spec)| {
            let mut s = spec("https://a.example/");
            change(&mut s);
            Subscription::create("orders", "acme", s, None, 1).unwrap_err()
        };
        assert!(bad(|s| s.rate_limit = Some(Some(0))).contains("rate_limit"));
        assert!(bad(|s| s.max_attempts = Some(0)).contains("max_attempts"));
        assert!(bad(|s| s.timeout_ms = Some(5)).contains("timeout_ms"));
        assert!(bad(|s| s.max_backoff_ms = Some(1)).contains("max_backoff_ms"));
        assert!(bad(|s| s.dead_letter_topic = Some(Some("orders".into()))).contains("another topic"));
        assert!(bad(|s| s.url = None).contains("url is required"));
        assert!(bad(|s| s.filter = Some(Some("value.amount >".into()))).contains("filter: "));
        assert!(
            Subscription::create("orders", "a/b", spec("https://a.example/"), None, 1)
                .unwrap_err()
                .contains("may contain only")
        );
    }

    #[test]
    fn tags_the_changer_may_not_read_stay_redacted_whatever_the_list_says() {
        let mut created = Subscription::create(
            "payments",
            "partner",
            Spec {
                redact: Some(vec!["CONFIDENTIAL".to_string()]),
                always_redact: vec!["PII".to_string()],
                ..spec("https://partner.example/hooks")
            },
            None,
            0,
        )
        .unwrap();
        assert_eq!(created.redact, ["CONFIDENTIAL", "PII"]);
        // Someone who may read PII may clear the list; someone who may not cannot, even by
        // pointing the subscription elsewhere.
        created
            .apply(Spec {
                redact: Some(Vec::new()),
                url: Some("https://elsewhere.example/hooks".to_string()),
                always_redact: vec!["PII".to_string()],
                ..Spec::default()
            })
            .unwrap();
        assert_eq!(created.redact, ["PII"]);
        created
            .apply(Spec {
                redact: Some(Vec::new()),
                ..Spec::default()
            })
            .unwrap();
        assert!(created.redact.is_empty());
    }

    #[test]
    fn rotation_keeps_the_previous_secret_signing_for_the_overlap() {
        let mut sub = Subscription::create("orders", "acme", spec("https://a.example/"), None, 0).unwrap();
        let first = sub.signing_secrets(0).remove(0);
        let second = Secret::generate().unwrap();
        sub.rotate(second.clone(), Duration::from_secs(60), 1_000);
        assert_eq!(sub.signing_secrets(1_000), vec![second.clone(), first]);
        assert_eq!(sub.signing_secrets(61_000), vec![second.clone()]);
        let third = Secret::generate().unwrap();
        sub.rotate(third.clone(), Duration::ZERO, 2_000);
        assert_eq!(sub.signing_secrets(2_000), vec![third]);
        assert_eq!(sub.secrets.len(), 1, "expired secrets are forgotten");
    }
}
