//! `herald serve`: the registry API on SQLite in a data directory, or on PostgreSQL, and
//! the broker with its logs under `<data dir>/topics`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing_subscriber::EnvFilter;

use super::{CliError, Outcome};
use crate::broker::log::LogConfig;
use crate::broker::Broker;
use crate::config::{ServeArgs, Settings};
use crate::delivery::webhook::Webhooks;
use crate::http::read_budget::{ReadBudget, READ_BUDGET_WAIT};
use crate::http::server::{self, Limits};
use crate::http::{self, AppState};
use crate::registry::{Registry, RegistrySettings};
use crate::security::tls::Tls;
use crate::security::{check_exposure, Security};
use crate::store::Store;

/// How often the users file (and the TLS files) are checked for changes.
const USERS_FILE_POLL: Duration = Duration::from_secs(1);

pub fn run_serve(args: ServeArgs) -> Result<Outcome, CliError> {
    let settings = Settings::resolve(args).map_err(|e| CliError(e.to_string()))?;
    let filter =
        EnvFilter::try_new(&settings.log).map_err(|e| CliError(format!("log filter {:?}: {e}", settings.log)))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(settings))?;
    Ok(Outcome::Clean)
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    // Security first: nothing is opened for a server that must not start.
    let security = match &settings.security {
        Some(security_settings) => {
            let security = Security::open(security_settings.clone(), &settings.data_dir).map_err(CliError)?;
            Some(Arc::new(security))
        }
        None => None,
    };
    let tls = match settings.security.as_ref().and_then(|s| s.tls.clone()) {
        Some(tls_settings) => Some(Arc::new(Tls::open(tls_settings, &[b"http/1.1"]).map_err(CliError)?)),
        None => None,
    };
    let kafka_tls = match settings.security.as_ref().and_then(|s| s.kafka_tls.clone()) {
        Some(tls_settings) => Some(Arc::new(
            Tls::open(tls_settings, &[]).map_err(|why| CliError(format!("kafka_tls: {why}")))?,
        )),
        None => None,
    };
    check_exposure(
        settings.security.as_ref(),
        security.as_ref().is_some_and(|s| s.has_credentials()),
        &settings.listen,
        settings.kafka_listen.as_deref(),
    )
    .map_err(CliError)?;
    let store = match &settings.database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Store::open_postgres(url).await
        }
        Some(url) => {
            return Err(CliError(format!(
                "unsupported database URL {url:?}: use postgres://…, or no URL for SQLite in the data directory"
            )))
        }
        None => Store::open_sqlite(&settings.data_dir).await,
    }
    .map_err(|e| CliError(e.to_string()))?;
    match &settings.database_url {
        Some(_) => tracing::info!("registry state in PostgreSQL"),
        None => tracing::info!(data_dir = %settings.data_dir.display(), "registry state in SQLite"),
    }
    let registry = Registry::new(
        store.clone(),
        RegistrySettings {
            default_compatibility: settings.default_compatibility,
            max_schema_bytes: settings.max_schema_bytes,
            validate_avro_defaults: settings.validate_avro_defaults,
            reader_activity_window: std::time::Duration::from_secs(u64::from(settings.reader_activity_days) * 86_400),
        },
    );
    let broker = {
        let data_dir = settings.data_dir.clone();
        tokio::task::spawn_blocking(move || Broker::open(&data_dir, LogConfig::default()))
            .await
            .map_err(|e| CliError(format!("cannot open the broker: {e}")))?
            .map_err(|e| CliError(format!("cannot open the broker: {e}")))?
    };
    let broker = Arc::new(broker);
    tracing::info!(topics = broker.topics().len(), log_dir = %settings.data_dir.join("topics").display(), "broker ready");
    let retention = tokio::spawn(enforce_retention(broker.clone()));
    let expiry = tokio::spawn(expire_idle_consumers(broker.clone()));
    let listener = server::bind(&settings.listen)
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", settings.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError(format!("cannot read the listening address: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{address}"));
    for tls in tls.iter().chain(&kafka_tls) {
        tls.watch(USERS_FILE_POLL);
    }
    let max_request_bytes = settings
        .max_request_bytes
        .unwrap_or_else(|| http::default_max_request_bytes(settings.max_schema_bytes));
    let webhooks = Webhooks::start_with(
        &settings.data_dir,
        broker.clone(),
        registry.clone(),
        settings.webhook_ca_file.as_deref(),
        settings.webhook_private_endpoints,
    )
    .map_err(|e| CliError(format!("cannot start webhook deliveries: {e}")))?;
    tracing::info!(subscriptions = webhooks.list(None).len(), "webhook deliveries ready");
    let state = AppState::with_broker(registry, broker.clone())
        .with_webhooks(webhooks.clone())
        .with_public_url(public_url)
        .with_max_request_bytes(max_request_bytes)
        .with_api_profile(settings.api_profile)
        .with_read_budget(ReadBudget::new(settings.read_budget_bytes, READ_BUDGET_WAIT));
    let state = match &security {
        Some(security) => {
            security.watch(USERS_FILE_POLL);
            tracing::info!(
                anonymous = ?security.settings().allow_anonymous,
                users_file = ?security.settings().users_file,
                "security on: requests need a principal"
            );
            state.with_security(security.clone())
        }
        None => state,
    };
    tracing::info!(api_profile = %settings.api_profile, "registry API answers as Confluent {}.x", settings.api_profile);
    let limits = Limits {
        header_read_timeout: settings.header_read_timeout,
        idle_timeout: settings.idle_timeout,
        body_read_timeout: settings.body_read_timeout,
        max_connections: settings.max_connections.unwrap_or_else(server::default_max_connections),
        tls: tls.clone().map(server::TlsListener),
    };
    tracing::info!(
        max_connections = limits.max_connections,
        max_request_bytes,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        body_read_timeout = ?limits.body_read_timeout,
        "connection limits"
    );
    let kafka = match &settings.kafka_listen {
        Some(listen) => Some(
            start_kafka(
                listen,
                &settings,
                broker.clone(),
                state.gate.clone(),
                limits.max_connections,
                state.security.clone(),
                kafka_tls.clone(),
            )
            .await?,
        ),
        None => None,
    };
    // The docs hand Kafka clients the advertised address (an IPv6 host in brackets).
    let state = state.with_kafka_bootstrap(kafka.as_ref().map(|(_, kafka)| {
        let host = &kafka.advertised_host;
        match host.contains(':') {
            true => format!("[{host}]:{}", kafka.advertised_port),
            false => format!("{host}:{}", kafka.advertised_port),
        }
    }));
    // One signal stops both doors; each finishes what it has in flight.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let kafka = kafka.map(|(listener, kafka)| {
        tokio::spawn(crate::kafka::connection::serve(
            listener,
            kafka,
            stopped(stopping.clone()),
        ))
    });
    tracing::info!("herald listening on {scheme}://{address}");
    server::serve(listener, http::app(state), limits, stopped(stopping)).await;
    if let Some(kafka) = kafka {
        let _ = kafka.await;
    }
    // Deliveries stop after the doors, committing what their endpoints acknowledged.
    webhooks.shut_down().await;
    retention.abort();
    expiry.abort();
    let closing = broker.clone();
    match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(Ok(())) => tracing::info!("broker logs closed cleanly"),
        Ok(Err(err)) => tracing::error!(error = %err, "closing the broker's logs failed"),
        Err(err) => tracing::error!(error = %err, "closing the broker's logs failed"),
    }
    store.close().await;
    tracing::info!("herald stopped");
    Ok(())
}

/// Binds the Kafka listener and sets up what its handlers share.
async fn start_kafka(
    listen: &str,
    settings: &Settings,
    broker: Arc<Broker>,
    gate: Arc<crate::gate::Gate>,
    max_connections: usize,
    security: Option<Arc<Security>>,
    tls: Option<Arc<Tls>>,
) -> Result<(tokio::net::TcpListener, Arc<crate::kafka::Kafka>), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError(format!("cannot listen for Kafka clients on {listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError(format!("cannot read the Kafka listener's address: {e}")))?;
    let advertised = match &settings.kafka_advertised {
        Some(text) => crate::kafka::Advertised::parse(text)
            .ok_or_else(|| CliError(format!("kafka_advertised {text:?}: expected HOST:PORT")))?,
        None => crate::kafka::Advertised::from_addr(bound),
    };
    let limits = crate::kafka::Limits {
        max_connections,
        ..crate::kafka::Limits::default()
    };
    let cluster_id = crate::kafka::cluster_id(&settings.data_dir);
    tracing::info!(advertised = %format!("{}:{}", advertised.host, advertised.port), cluster_id = %cluster_id, "kafka listening on {bound}");
    match (&security, &tls) {
        (Some(_), Some(_)) => tracing::info!("kafka listener takes TLS, and SASL or client certificates"),
        (Some(_), None) => tracing::info!("kafka listener requires SASL (PLAIN or SCRAM)"),
        _ => {}
    }
    let kafka = crate::kafka::Kafka::new(broker, gate, advertised, cluster_id, limits)
        .with_security(security)
        .with_tls(tls);
    Ok((listener, Arc::new(kafka)))
}

/// Deletes segments past their topic's retention, every five minutes, off the async threads.
async fn enforce_retention(broker: Arc<Broker>) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        every.tick().await;
        let broker = broker.clone();
        match tokio::task::spawn_blocking(move || broker.apply_retention(SystemTime::now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(segments = removed, "retention deleted old segments"),
            Ok(Err(err)) => tracing::error!(error = %err, "retention failed"),
            Err(err) => tracing::error!(error = %err, "retention task failed"),
        }
    }
}

/// Removes consumer instances past their idle timeout every few seconds, so an abandoned
/// instance is freed even when no consumer call arrives to sweep on its way.
async fn expire_idle_consumers(broker: Arc<Broker>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        broker.groups().expire_idle();
    }
}

/// Resolves on ctrl-c or SIGTERM; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
