//! `herald serve` settings. Each comes, in order of precedence, from a command-line flag,
//! a `HERALD_*` environment variable, the `herald.toml` file, or its default.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::compat::CompatibilityLevel;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8081";
pub const DEFAULT_DATA_DIR: &str = "./herald-data";
pub const DEFAULT_CONFIG_FILE: &str = "herald.toml";
pub const DEFAULT_MAX_SCHEMA_BYTES: usize = 1024 * 1024;

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
    /// Log filter, as RUST_LOG (`info`, `herald=debug,sqlx=warn`) [default: info]
    #[arg(long, env = "HERALD_LOG")]
    pub log: Option<String>,
    /// The URL clients reach this server at (`https://herald.example.com`), used in every
    /// URL the server hands out (consumer instances' base_uri, the AsyncAPI server entry).
    /// Without it those URLs name the listening address, never the request's Host header
    /// [default: http://<listen address>]
    #[arg(long, env = "HERALD_PUBLIC_URL")]
    pub public_url: Option<String>,
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
    log: Option<String>,
    public_url: Option<String>,
    /// A schema repository's keys (`herald check` and `herald register` read them); one
    /// `herald.toml` may serve both, so `serve` accepts and ignores them.
    #[serde(default, rename = "registry")]
    _registry: Option<toml::Value>,
    #[serde(default, rename = "subjects")]
    _subjects: Option<toml::Value>,
    #[serde(default, rename = "lint")]
    _lint: Option<toml::Value>,
}

/// Settings resolved from every source.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub max_schema_bytes: usize,
    pub default_compatibility: CompatibilityLevel,
    pub log: String,
    /// Where clients reach the server, without a trailing slash; `None` until `serve` knows
    /// its listening address (then `http://<address>`).
    pub public_url: Option<String>,
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
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => FileSettings::default(),
        };
        let level_name = args
            .default_compatibility
            .or(file.default_compatibility)
            .unwrap_or_else(|| "BACKWARD".to_string());
        let default_compatibility = level_name
            .parse()
            .map_err(|e| ConfigError(format!("default_compatibility: {e}")))?;
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
        Ok(Settings {
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
            log: args.log.or(file.log).unwrap_or_else(|| "info".to_string()),
        })
    }
}

/// A public URL is an absolute http(s) URL with a host and nothing after the path; it is
/// kept without its trailing slash, as paths are appended to it.
fn check_public_url(url: &str) -> Result<String, ConfigError> {
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
        return Err(refuse("must not contain a query, a fragment, spaces or control characters"));
    }
    Ok(url.trim_end_matches('/').to_string())
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
