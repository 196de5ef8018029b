//! `herald serve` settings. Each comes, in order of precedence, from a command-line flag,
//! a `HERALD_*` environment variable, the `herald.toml` file, or its default.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::compat::CompatibilityLevel;
use crate::http::ApiProfile;
use crate::security::SecuritySettings;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8081";
pub const DEFAULT_KAFKA_LISTEN: &str = "127.0.0.1:9092";
pub const DEFAULT_DATA_DIR: &str = "./herald-data";
pub const DEFAULT_CONFIG_FILE: &str = "herald.toml";
pub const DEFAULT_MAX_SCHEMA_BYTES: usize = 1024 * 1024;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is logged)
    /// [default: 127.0.0.1:8081]
    #[arg(long, env = "HERALD_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the embedded SQLite database [default: ./herald-data]
    #[arg(long, env = "HERALD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); when set, the registry keeps its state there instead
    /// of in the data directory
    #[arg(long, env = "HERALD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Settings file [default: ./herald.toml, if it exists]
    #[arg(long, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Largest schema text accepted, in bytes [default: 1048576]
    #[arg(long, env = "HERALD_MAX_SCHEMA_BYTES")]
    pub max_schema_bytes: Option<usize>,
    /// Compatibility level of subjects without one, until `PUT /config` sets another
    /// [default: BACKWARD]
    #[arg(long, env = "HERALD_DEFAULT_COMPATIBILITY")]
    pub default_compatibility: Option<String>,
    /// Refuse new Avro schemas whose field defaults do not match their types (`true` or
    /// `false`), as Confluent's `schema.providers.avro.validate.defaults` does; off, they
    /// register as Confluent 7.x takes them and `herald check` reports them as a lint
    /// [default: false]
    #[arg(long, env = "HERALD_VALIDATE_AVRO_DEFAULTS", num_args = 0..=1, default_missing_value = "true")]
    pub validate_avro_defaults: Option<bool>,
    /// How many days back a consumer group's reading of a subject's topics counts for the
    /// READER_AWARE compatibility policy: every group seen within it must have declared a
    /// contract before the policy accepts a change the level refuses [default: 7]
    #[arg(long, env = "HERALD_READER_ACTIVITY_DAYS")]
    pub reader_activity_days: Option<u32>,
    /// Which Confluent Schema Registry release the API's answers look like: `7` (AVRO
    /// schemas without `schemaType`, `{"id":N}` for a registration, 409/409 for an
    /// incompatible schema) or `8` (`schemaType` always, the whole schema for a
    /// registration, 409/40901) [default: 7]
    #[arg(long, env = "HERALD_API_PROFILE")]
    pub api_profile: Option<String>,
    /// Log filter, as RUST_LOG (`info`, `herald=debug,sqlx=warn`) [default: info]
    #[arg(long, env = "HERALD_LOG")]
    pub log: Option<String>,
    /// The URL clients reach this server at (`https://herald.example.com`), used in every
    /// URL the server hands out (consumer instances' base_uri, the AsyncAPI server entry).
    /// Without it those URLs name the listening address, never the request's Host header
    /// [default: http://<listen address>]
    #[arg(long, env = "HERALD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest request body any route reads, in bytes (produce batches included); larger
    /// ones are answered 413 [default: 2 × max_schema_bytes + 65536]
    #[arg(long, env = "HERALD_MAX_REQUEST_BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Bytes that partition reads and consumer fetches in progress may hold together, their
    /// answers waiting to be sent included; a read that finds no room within 10 s is
    /// answered 429 [default: 268435456]
    #[arg(long, env = "HERALD_READ_BUDGET_BYTES")]
    pub read_budget_bytes: Option<usize>,
    /// A PEM file of CAs that webhook endpoints' certificates may chain to besides the
    /// public web's (endpoints behind a private CA)
    #[arg(long, env = "HERALD_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<PathBuf>,
    /// Let webhook subscriptions deliver to private and link-local networks (10/8,
    /// 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10): off, an endpoint
    /// there is refused, so subscriptions cannot reach the server's own network
    /// [default: false]
    #[arg(long, env = "HERALD_WEBHOOK_PRIVATE_ENDPOINTS", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_private_endpoints: Option<bool>,
    /// Client connections open at once. At the cap, the connection that has waited longest
    /// for its client is closed to admit a new one; when all are busy answering, the new one
    /// is answered 503 [default: the quarter of the descriptor limit the broker's segment
    /// files leave, less 48, at most 10000]
    #[arg(long, env = "HERALD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Time a client has to send a request's line and headers, from when the server starts
    /// waiting for them (`10s`, `500ms`, `2m`) [default: 10s]
    #[arg(long, env = "HERALD_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// Time a kept-alive connection may wait for its next request [default: 60s]
    #[arg(long, env = "HERALD_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// Time a client has to send a request's body, from when the server first waits for it
    /// [default: 30s]
    #[arg(long, env = "HERALD_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<String>,
    /// Address of the Kafka protocol listener (`off` disables it); port 0 picks a free port
    /// (the chosen address is logged) [default: 127.0.0.1:9092]
    #[arg(long, env = "HERALD_KAFKA_LISTEN")]
    pub kafka_listen: Option<String>,
    /// The HOST:PORT Kafka clients are told to connect to (Metadata names it as the one
    /// broker); clients reconnect there after bootstrapping, so it must be reachable from
    /// them [default: the Kafka listener's bound address]
    #[arg(long, env = "HERALD_KAFKA_ADVERTISED")]
    pub kafka_advertised: Option<String>,
}

/// A duration in `herald.toml`: whole seconds, or text as on the command line (`"500ms"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileDuration {
    Seconds(u64),
    Text(String),
}

impl FileDuration {
    fn into_text(self) -> String {
        match self {
            FileDuration::Seconds(n) => format!("{n}s"),
            FileDuration::Text(text) => text,
        }
    }
}

/// `api_profile` in `herald.toml`: `"8"`, or the bare number `8`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileProfile {
    Number(i64),
    Text(String),
}

impl FileProfile {
    fn into_text(self) -> String {
        match self {
            FileProfile::Number(n) => n.to_string(),
            FileProfile::Text(text) => text,
        }
    }
}

/// The `herald.toml` keys: the flags' names with underscores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    max_schema_bytes: Option<usize>,
    default_compatibility: Option<String>,
    validate_avro_defaults: Option<bool>,
    reader_activity_days: Option<u32>,
    api_profile: Option<FileProfile>,
    log: Option<String>,
    public_url: Option<String>,
    max_request_bytes: Option<usize>,
    read_budget_bytes: Option<usize>,
    webhook_ca_file: Option<PathBuf>,
    webhook_private_endpoints: Option<bool>,
    max_connections: Option<usize>,
    header_read_timeout: Option<FileDuration>,
    idle_timeout: Option<FileDuration>,
    body_read_timeout: Option<FileDuration>,
    kafka_listen: Option<String>,
    kafka_advertised: Option<String>,
    /// Authentication, grants and the audit log (`security::SecuritySettings`).
    security: Option<SecuritySettings>,
    /// A schema repository's keys (`herald check` and `herald register` read them); one
    /// `herald.toml` may serve both, so `serve` accepts and ignores them.
    #[serde(default, rename = "registry")]
    _registry: Option<toml::Value>,
    #[serde(default, rename = "subjects")]
    _subjects: Option<toml::Value>,
    #[serde(default, rename = "lint")]
    _lint: Option<toml::Value>,
    #[serde(default, rename = "schemas")]
    _schemas: Option<toml::Value>,
}

/// Settings resolved from every source.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    /// The Kafka listener's address; `None` when it is `off`.
    pub kafka_listen: Option<String>,
    /// The address Metadata advertises; `None`: the listener's bound address.
    pub kafka_advertised: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub max_schema_bytes: usize,
    pub default_compatibility: CompatibilityLevel,
    /// `RegistrySettings::validate_avro_defaults`.
    pub validate_avro_defaults: bool,
    /// `RegistrySettings::reader_activity_window`, in days (at least 1).
    pub reader_activity_days: u32,
    /// `http::ApiProfile`: which Confluent release the answers look like.
    pub api_profile: ApiProfile,
    pub log: String,
    /// Where clients reach the server, without a trailing slash; `None` until `serve` knows
    /// its listening address (then `http://<address>`).
    pub public_url: Option<String>,
    /// `None`: derived from `max_schema_bytes` (`http::default_max_request_bytes`).
    pub max_request_bytes: Option<usize>,
    /// The read budget in bytes (`http::read_budget`).
    pub read_budget_bytes: usize,
    /// CAs webhook endpoints may chain to besides the public web's.
    pub webhook_ca_file: Option<PathBuf>,
    /// Whether webhook deliveries may reach private and link-local networks.
    pub webhook_private_endpoints: bool,
    /// `None`: sized from the descriptor limit when the server starts.
    pub max_connections: Option<usize>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    /// `None`: no `[security]` section, so no authentication (loopback only).
    pub security: Option<SecuritySettings>,
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    pub fn resolve(args: ServeArgs) -> Result<Settings, ConfigError> {
        let config_path = match &args.config {
            Some(path) => Some(path.clone()),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
            None => None,
        };
        let mut file = match &config_path {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        // A users file is found beside the settings file that names it.
        if let (Some(security), Some(config)) = (file.security.as_mut(), &config_path) {
            let beside = |path: &mut PathBuf| {
                if path.is_relative() {
                    *path = config.parent().unwrap_or(Path::new(".")).join(&*path);
                }
            };
            if let Some(users) = security.users_file.as_mut() {
                beside(users);
            }
            for tls in [security.tls.as_mut(), security.kafka_tls.as_mut()]
                .into_iter()
                .flatten()
            {
                beside(&mut tls.cert);
                beside(&mut tls.key);
                if let Some(ca) = tls.client_ca.as_mut() {
                    beside(ca);
                }
            }
        }
        let level_name = args
            .default_compatibility
            .or(file.default_compatibility)
            .unwrap_or_else(|| "BACKWARD".to_string());
        let default_compatibility = level_name
            .parse()
            .map_err(|e| ConfigError(format!("default_compatibility: {e}")))?;
        let api_profile = match args.api_profile.or(file.api_profile.map(FileProfile::into_text)) {
            Some(text) => text.parse().map_err(|why| ConfigError(format!("api_profile: {why}")))?,
            None => ApiProfile::default(),
        };
        let max_schema_bytes = args
            .max_schema_bytes
            .or(file.max_schema_bytes)
            .unwrap_or(DEFAULT_MAX_SCHEMA_BYTES);
        if max_schema_bytes == 0 {
            return Err(ConfigError("max_schema_bytes must be at least 1".to_string()));
        }
        let public_url = match args.public_url.or(file.public_url).filter(|u| !u.is_empty()) {
            Some(url) => Some(check_public_url(&url)?),
            None => None,
        };
        let read_budget_bytes = args
            .read_budget_bytes
            .or(file.read_budget_bytes)
            .unwrap_or(crate::http::read_budget::READ_BUDGET_BYTES);
        if read_budget_bytes == 0 {
            return Err(ConfigError("read_budget_bytes must be at least 1".to_string()));
        }
        let max_request_bytes = args.max_request_bytes.or(file.max_request_bytes);
        if max_request_bytes == Some(0) {
            return Err(ConfigError("max_request_bytes must be at least 1".to_string()));
        }
        let max_connections = args.max_connections.or(file.max_connections);
        if max_connections == Some(0) {
            return Err(ConfigError("max_connections must be at least 1".to_string()));
        }
        let duration = |name: &str, flag: Option<String>, file: Option<FileDuration>, default: Duration| match flag
            .or(file.map(FileDuration::into_text))
        {
            Some(text) => parse_duration(&text).map_err(|why| ConfigError(format!("{name} {text:?}: {why}"))),
            None => Ok(default),
        };
        let kafka_listen = match args.kafka_listen.or(file.kafka_listen) {
            Some(text) if text.trim().eq_ignore_ascii_case("off") => None,
            Some(text) if text.trim().is_empty() => {
                return Err(ConfigError("kafka_listen is empty: give HOST:PORT, or off".to_string()))
            }
            Some(text) => Some(text.trim().to_string()),
            None => Some(DEFAULT_KAFKA_LISTEN.to_string()),
        };
        let kafka_advertised = match args.kafka_advertised.or(file.kafka_advertised) {
            Some(text) => Some(check_advertised(&text)?),
            None => None,
        };
        Ok(Settings {
            kafka_listen,
            kafka_advertised,
            header_read_timeout: duration(
                "header_read_timeout",
                args.header_read_timeout,
                file.header_read_timeout,
                DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            idle_timeout: duration(
                "idle_timeout",
                args.idle_timeout,
                file.idle_timeout,
                DEFAULT_IDLE_TIMEOUT,
            )?,
            body_read_timeout: duration(
                "body_read_timeout",
                args.body_read_timeout,
                file.body_read_timeout,
                DEFAULT_BODY_READ_TIMEOUT,
            )?,
            max_request_bytes,
            read_budget_bytes,
            webhook_ca_file: args.webhook_ca_file.clone().or_else(|| {
                // A relative path in the settings file is read beside it.
                file.webhook_ca_file
                    .clone()
                    .map(|path| match (&config_path, path.is_relative()) {
                        (Some(config), true) => config.parent().unwrap_or(Path::new(".")).join(path),
                        _ => path,
                    })
            }),
            webhook_private_endpoints: args
                .webhook_private_endpoints
                .or(file.webhook_private_endpoints)
                .unwrap_or(false),
            max_connections,
            public_url,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url: args.database_url.or(file.database_url).filter(|u| !u.is_empty()),
            max_schema_bytes,
            default_compatibility,
            validate_avro_defaults: args
                .validate_avro_defaults
                .or(file.validate_avro_defaults)
                .unwrap_or(false),
            reader_activity_days: args
                .reader_activity_days
                .or(file.reader_activity_days)
                .unwrap_or(7)
                .max(1),
            api_profile,
            log: args.log.or(file.log).unwrap_or_else(|| "info".to_string()),
            security: file.security,
        })
    }
}

/// An advertised address is `HOST:PORT` with a port from 1 to 65535: it is what Kafka
/// clients connect to, so a typo here would only show as clients hanging.
pub fn check_advertised(text: &str) -> Result<String, ConfigError> {
    let refuse = |why: &str| ConfigError(format!("kafka_advertised {text:?}: {why}"));
    let (host, port) = text.rsplit_once(':').ok_or_else(|| refuse("expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(refuse("the host is empty"));
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(refuse("the port must be a number from 1 to 65535")),
        Ok(_) => Ok(text.to_string()),
    }
}

/// A public URL is an absolute http(s) URL with a host and nothing after the path; it is
/// kept without its trailing slash, as paths are appended to it.
pub fn check_public_url(url: &str) -> Result<String, ConfigError> {
    let refuse = |why: &str| ConfigError(format!("public_url {url:?}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| refuse("must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(refuse("names no host"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse(
            "must not contain a query, a fragment, spaces or control characters",
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| "expected a whole number with a unit: 500ms, 10s, 2m".to_string())?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        other => return Err(format!("unknown unit {other:?}: use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("must be more than zero".to_string());
    }
    Ok(duration)
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("herald-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nmax_schema_bytes = 2048\ndefault_compatibility = \"full\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            listen: Some("127.0.0.1:0".to_string()),
            ..ServeArgs::default()
        };
        let settings = Settings::resolve(args).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:0");
        assert_eq!(settings.max_schema_bytes, 2048);
        assert_eq!(settings.default_compatibility, CompatibilityLevel::Full);
        assert_eq!(settings.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(settings.database_url, None);
    }

    #[test]
    fn a_schema_repository_keys_are_accepted_and_ignored() {
        let dir = std::env::temp_dir().join(format!("herald-config-repo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        std::fs::write(
            &file,
            "schemas = \"contracts\"\nregistry = \"http://r:8081\"\ndefault_compatibility = \"FULL\"\n\
             [subjects.a]\nvalue = \"a.v1\"\n[lint]\nFIELD_UNDOCUMENTED = \"error\"\n",
        )
        .unwrap();
        let settings = Settings::resolve(ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(settings.default_compatibility, CompatibilityLevel::Full);
    }

    #[test]
    fn avro_defaults_are_validated_only_when_asked() {
        let dir = std::env::temp_dir().join(format!("herald-config-defaults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        let resolve = |flag: Option<bool>| {
            Settings::resolve(ServeArgs {
                config: Some(file.clone()),
                validate_avro_defaults: flag,
                ..ServeArgs::default()
            })
            .unwrap()
            .validate_avro_defaults
        };
        std::fs::write(&file, "").unwrap();
        assert!(!resolve(None), "off by default, as in Confluent 7.x");
        std::fs::write(&file, "validate_avro_defaults = true\n").unwrap();
        assert!(resolve(None));
        assert!(!resolve(Some(false)), "the flag wins over the file");
        std::fs::write(&file, "validate_avro_defaults = \"yes\"\n").unwrap();
        assert!(Settings::resolve(ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        })
        .is_err());
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let parsed = Cli::try_parse_from(["herald", "--validate-avro-defaults"]).unwrap();
        assert_eq!(parsed.serve.validate_avro_defaults, Some(true));
        let parsed = Cli::try_parse_from(["herald", "--validate-avro-defaults=false"]).unwrap();
        assert_eq!(parsed.serve.validate_avro_defaults, Some(false));
    }

    #[test]
    fn the_api_profile_is_7_unless_set_to_8() {
        let dir = std::env::temp_dir().join(format!("herald-config-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        let resolve = |flag: Option<&str>| {
            Settings::resolve(ServeArgs {
                config: Some(file.clone()),
                api_profile: flag.map(str::to_string),
                ..ServeArgs::default()
            })
        };
        std::fs::write(&file, "").unwrap();
        assert_eq!(resolve(None).unwrap().api_profile, ApiProfile::V7);
        assert_eq!(resolve(Some("8")).unwrap().api_profile, ApiProfile::V8);
        std::fs::write(&file, "api_profile = \"8\"\n").unwrap();
        assert_eq!(resolve(None).unwrap().api_profile, ApiProfile::V8);
        assert_eq!(resolve(Some("7")).unwrap().api_profile, ApiProfile::V7, "the flag wins");

        for bad in ["9", "", "8.x", "latest"] {
            let err = resolve(Some(bad)).unwrap_err();
            assert!(
                err.0.starts_with("api_profile:") && err.0.contains("\"7\" or \"8\""),
                "{bad:?}: {err}"
            );
        }
        std::fs::write(&file, "api_profile = \"6\"\n").unwrap();
        let err = resolve(None).unwrap_err();
        assert!(err.0.contains("api_profile") && err.0.contains("\"6\""), "{err}");
        // A bare number in the file reads as its text.
        std::fs::write(&file, "api_profile = 8\n").unwrap();
        assert_eq!(resolve(None).unwrap().api_profile, ApiProfile::V8);
        std::fs::write(&file, "api_profile = 80\n").unwrap();
        let err = resolve(None).unwrap_err();
        assert!(err.0.contains("api_profile") && err.0.contains("\"80\""), "{err}");

        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let parsed = Cli::try_parse_from(["herald", "--api-profile", "8"]).unwrap();
        assert_eq!(parsed.serve.api_profile.as_deref(), Some("8"));
    }

    #[test]
    fn connection_limits_come_from_flags_or_the_file() {
        let dir = std::env::temp_dir().join(format!("herald-config-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        std::fs::write(
            &file,
            "header_read_timeout = 5\nidle_timeout = \"1500ms\"\nmax_connections = 50\nmax_request_bytes = 4096\n",
        )
        .unwrap();
        let settings = Settings::resolve(ServeArgs {
            config: Some(file.clone()),
            idle_timeout: Some("2m".to_string()),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(settings.header_read_timeout, Duration::from_secs(5));
        assert_eq!(settings.idle_timeout, Duration::from_secs(120));
        assert_eq!(settings.body_read_timeout, DEFAULT_BODY_READ_TIMEOUT);
        assert_eq!(settings.max_connections, Some(50));
        assert_eq!(settings.max_request_bytes, Some(4096));

        for bad in ["0s", "ten", "5h", ""] {
            let err = Settings::resolve(ServeArgs {
                config: Some(file.clone()),
                body_read_timeout: Some(bad.to_string()),
                ..ServeArgs::default()
            })
            .unwrap_err();
            assert!(err.0.contains("body_read_timeout"), "{bad}: {err}");
        }
        let err = Settings::resolve(ServeArgs {
            config: Some(file),
            max_connections: Some(0),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.0.contains("max_connections"), "{err}");
    }

    #[test]
    fn the_kafka_listener_is_on_by_default_set_from_the_file_or_off() {
        let dir = std::env::temp_dir().join(format!("herald-config-kafka-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        std::fs::write(&file, "").unwrap();
        let resolve = |args: ServeArgs| {
            Settings::resolve(ServeArgs {
                config: Some(file.clone()),
                ..args
            })
        };
        let defaults = resolve(ServeArgs::default()).unwrap();
        assert_eq!(defaults.kafka_listen.as_deref(), Some(DEFAULT_KAFKA_LISTEN));
        assert_eq!(defaults.kafka_advertised, None);
        for off in ["off", "OFF", " off "] {
            let settings = resolve(ServeArgs {
                kafka_listen: Some(off.to_string()),
                ..ServeArgs::default()
            })
            .unwrap();
            assert_eq!(settings.kafka_listen, None, "{off:?}");
        }
        std::fs::write(
            &file,
            "kafka_listen = \"0.0.0.0:19092\"\nkafka_advertised = \"broker.example.com:19092\"\n",
        )
        .unwrap();
        let from_file = resolve(ServeArgs::default()).unwrap();
        assert_eq!(from_file.kafka_listen.as_deref(), Some("0.0.0.0:19092"));
        assert_eq!(from_file.kafka_advertised.as_deref(), Some("broker.example.com:19092"));
        for bad in ["broker.example.com", ":9092", "host:0", "host:99999", "host:port"] {
            let err = resolve(ServeArgs {
                kafka_advertised: Some(bad.to_string()),
                ..ServeArgs::default()
            })
            .unwrap_err();
            assert!(err.0.contains("kafka_advertised"), "{bad}: {err}");
        }
        let err = resolve(ServeArgs {
            kafka_listen: Some("  ".to_string()),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.0.contains("kafka_listen"), "{err}");
    }

    #[test]
    fn bad_files_name_the_problem() {
        let dir = std::env::temp_dir().join(format!("herald-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("herald.toml");
        std::fs::write(&file, "listen = 8081\n").unwrap();
        let err = Settings::resolve(ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.0.contains("herald.toml") && err.0.contains("listen"), "{err}");

        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let err = Settings::resolve(ServeArgs {
            config: Some(file.clone()),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.0.contains("lisen"), "{err}");

        std::fs::write(&file, "default_compatibility = \"sideways\"\n").unwrap();
        let err = Settings::resolve(ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.0.contains("sideways"), "{err}");
    }
}
