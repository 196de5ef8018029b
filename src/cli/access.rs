//! `herald users add` and `herald tokens create`: entries for the users file, written so
//! that no password or token is ever stored in the clear; and the credentials the client
//! commands send.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Args;

use super::{CliError, Outcome};
use crate::security::expiry;
use crate::security::users::{hash_password, new_token, scram_credentials, sha256, to_hex, Rules};

#[derive(Debug, Args)]
pub struct UsersAddArgs {
    /// The user's name, as Basic credentials give it.
    pub name: String,
    /// Roles: admin, developer, readonly, or roles named by grants (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The users file to add the user to (created if missing).
    #[arg(long, default_value = "herald-users.toml", env = "HERALD_USERS_FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct TokensCreateArgs {
    /// The token's principal name.
    pub name: String,
    /// Roles, as for users (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// How long the token works, in days, hours or minutes (`90d`, `12h`, `30m`); without
    /// it, until its entry is removed.
    #[arg(long, value_name = "LIFETIME")]
    pub expires_in: Option<String>,
    /// The users file to add the token to (created if missing).
    #[arg(long, default_value = "herald-users.toml", env = "HERALD_USERS_FILE")]
    pub file: PathBuf,
}

/// Adds a user: the password from `HERALD_PASSWORD`, else the first line of standard
/// input; only its argon2id hash is written.
pub fn run_users_add(args: &UsersAddArgs) -> Result<Outcome, CliError> {
    let password = match std::env::var("HERALD_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password for {} (one line on standard input):", args.name);
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError(format!("cannot read the password: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.len() < 8 {
        return Err(CliError("the password must have at least 8 characters".to_string()));
    }
    let hash = hash_password(&password).map_err(CliError)?;
    let (scram_sha256, scram_sha512) = scram_credentials(&password).map_err(CliError)?;
    let entry = format!(
        "\n[[users]]\nname = {}\npassword_hash = {}\nscram_sha256 = {}\nscram_sha512 = {}\nroles = {}\n",
        toml_string(&args.name),
        toml_string(&hash),
        toml_string(&scram_sha256),
        toml_string(&scram_sha512),
        toml_list(&args.roles)
    );
    append_entry(&args.file, &entry, "users", &args.name)?;
    println!("added user {} to {}", args.name, args.file.display());
    Ok(Outcome::Clean)
}

/// Creates a bearer token, prints it once, and writes only its SHA-256.
pub fn run_tokens_create(args: &TokensCreateArgs) -> Result<Outcome, CliError> {
    let expires = match &args.expires_in {
        Some(lifetime) => {
            let seconds = expiry::duration(lifetime).map_err(|why| CliError(format!("--expires-in {why}")))?;
            Some(expiry::rfc3339(expiry::now().saturating_add(seconds)))
        }
        None => None,
    };
    let token = new_token().map_err(CliError)?;
    let mut entry = format!(
        "\n[[tokens]]\nname = {}\nsha256 = \"{}\"\nroles = {}\n",
        toml_string(&args.name),
        to_hex(&sha256(token.as_bytes())),
        toml_list(&args.roles)
    );
    if let Some(expires) = &expires {
        entry.push_str(&format!("expires = {expires}\n"));
    }
    append_entry(&args.file, &entry, "tokens", &args.name)?;
    let until = expires.map(|e| format!(" (expires {e})")).unwrap_or_default();
    eprintln!(
        "added token {}{until} to {}; it is shown once, here:",
        args.name,
        args.file.display()
    );
    println!("{token}");
    Ok(Outcome::Clean)
}

/// Appends an entry, keeping the file's comments and layout, once the whole file with it
/// still reads as a users file (no second entry of the same name). Written to a temporary
/// file and renamed, so a running server never reads half of it.
fn append_entry(path: &Path, entry: &str, kind: &str, name: &str) -> Result<(), CliError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CliError(format!("cannot read {}: {e}", path.display()))),
    };
    let updated = format!("{existing}{entry}");
    Rules::parse(&updated).map_err(|why| match why.contains("listed twice") || why.contains("same hash") {
        true => CliError(format!(
            "{} already has {kind} entry {name:?}: remove it first",
            path.display()
        )),
        false => CliError(format!("{} would not read as a users file: {why}", path.display())),
    })?;
    let temporary = path.with_extension("toml.tmp");
    std::fs::write(&temporary, updated).map_err(|e| CliError(format!("cannot write {}: {e}", temporary.display())))?;
    std::fs::rename(&temporary, path).map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| toml_string(i)).collect::<Vec<_>>().join(", ")
    )
}

/// What the client commands authenticate with: `--user` (or `HERALD_USER`) with
/// `HERALD_PASSWORD`, or `HERALD_TOKEN`.
#[derive(Debug, Clone, Default)]
pub enum ClientCredentials {
    #[default]
    None,
    Basic {
        user: String,
        password: String,
    },
    Token(String),
}

static CREDENTIALS: OnceLock<ClientCredentials> = OnceLock::new();

/// Reads the client credentials once, at start.
pub fn set_client_credentials(user: Option<String>) -> Result<(), CliError> {
    let credentials = match (user, std::env::var("HERALD_TOKEN").ok().filter(|t| !t.is_empty())) {
        (Some(user), _) => {
            let password = std::env::var("HERALD_PASSWORD")
                .map_err(|_| CliError(format!("--user {user}: set HERALD_PASSWORD to the password")))?;
            ClientCredentials::Basic { user, password }
        }
        (None, Some(token)) => ClientCredentials::Token(token),
        (None, None) => ClientCredentials::None,
    };
    let _ = CREDENTIALS.set(credentials);
    Ok(())
}

/// The `Authorization` header value to send, if any.
pub fn authorization() -> Option<String> {
    match CREDENTIALS.get()? {
        ClientCredentials::None => None,
        ClientCredentials::Basic { user, password } => Some(format!(
            "Basic {}",
            base64_simd::STANDARD.encode_to_string(format!("{user}:{password}"))
        )),
        ClientCredentials::Token(token) => Some(format!("Bearer {token}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_written_as_toml_strings() {
        assert_eq!(toml_string("plain"), "\"plain\"");
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
        assert_eq!(toml_list(&["a".to_string(), "b".to_string()]), "[\"a\", \"b\"]");
    }
}
