//! The `herald` command line.
//!
//! Exit codes, for every command: 0 success, 1 violations found (an incompatible change),
//! 2 usage, parse, network or server error.

mod access;
mod broker;
mod check;
mod client;
mod compat;
mod consumers;
mod docs;
mod files;
mod findings;
mod register;
mod repo;
mod serve;
mod subscriptions;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Schema registry and event-contract governance.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The user client commands authenticate as (Basic), with the password in
    /// HERALD_PASSWORD; or set HERALD_TOKEN for a bearer token
    #[arg(long, global = true, env = "HERALD_USER")]
    user: Option<String>,
    /// CA certificates (PEM) that sign an https:// server's certificate, instead of the
    /// public web's
    #[arg(long, global = true, env = "HERALD_CA_CERT")]
    ca_cert: Option<std::path::PathBuf>,
    /// A client certificate chain (PEM) for servers that take them (mTLS), with --client-key
    #[arg(long, global = true, env = "HERALD_CLIENT_CERT", requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM)
    #[arg(long, global = true, env = "HERALD_CLIENT_KEY", requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a schema against previous versions under a compatibility level, offline.
    Compat(compat::CompatArgs),
    /// Show what changed between two versions of a schema, and whether each change is
    /// compatible in each direction.
    Diff(compat::DiffArgs),
    /// Run the registry: the Confluent Schema Registry API, health and metrics.
    Serve(crate::config::ServeArgs),
    /// Create, list, describe, delete and apply topics on a server.
    Topics(broker::TopicsArgs),
    /// Produce JSON lines (from files or standard input) to a topic.
    Produce(broker::ProduceArgs),
    /// Print a topic's records as JSON lines, as a member of a consumer group.
    Consume(broker::ConsumeArgs),
    /// Watch a topic's records arrive, decoded with the registry's schemas, as JSON lines
    /// (no consumer group, nothing committed).
    Tail(broker::TailArgs),
    /// Manage partner webhook subscriptions: create, list, show, update, pause, resume,
    /// rotate-secret, delete.
    Subscriptions(subscriptions::SubscriptionsArgs),
    /// Build the documentation site of a server as static files.
    Docs(docs::DocsArgs),
    /// Check a repository of schemas before merge: compatibility (against a registry or git
    /// history), examples and lint rules.
    Check(check::CheckArgs),
    /// Register a repository's new and changed schemas on a registry.
    Register(register::RegisterArgs),
    /// Validate events (JSON lines) against a subject or a schema file.
    Validate(validate::ValidateArgs),
    /// Manage the users of a users file.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage the bearer tokens of a users file.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user with an argon2id hash of its password (from HERALD_PASSWORD, else standard input).
    Add(access::UsersAddArgs),
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create a bearer token; it is printed once and only its SHA-256 is stored.
    Create(access::TokensCreateArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

/// What a command found, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Violations,
}

/// A failure that is not a finding: bad input, unreadable files.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Only the commands that talk to a server read the client credentials.
    let offline = matches!(
        cli.command,
        Command::Serve(_) | Command::Compat(_) | Command::Diff(_) | Command::Users(_) | Command::Tokens(_)
    );
    if !offline {
        let tls = client::ClientTls {
            ca_cert: cli.ca_cert,
            client_cert: cli.client_cert.zip(cli.client_key),
        };
        if let Err(err) = access::set_client_credentials(cli.user).and_then(|()| client::set_client_tls(tls)) {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Compat(args) => compat::run_compat(&args),
        Command::Diff(args) => compat::run_diff(&args),
        Command::Serve(args) => serve::run_serve(args),
        Command::Topics(args) => broker::run_topics(&args),
        Command::Produce(args) => broker::run_produce(&args),
        Command::Consume(args) => broker::run_consume(&args),
        Command::Tail(args) => broker::run_tail(&args),
        Command::Subscriptions(args) => subscriptions::run_subscriptions(&args),
        Command::Docs(args) => docs::run_docs(&args),
        Command::Check(args) => check::run_check(&args),
        Command::Register(args) => register::run_register(&args),
        Command::Validate(args) => validate::run_validate(&args),
        Command::Users(UsersCommand::Add(args)) => access::run_users_add(&args),
        Command::Tokens(TokensCommand::Create(args)) => access::run_tokens_create(&args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Violations) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
