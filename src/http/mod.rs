//! The HTTP surface: the Confluent Schema Registry REST API, health probes and metrics.
//!
//! [`app`] builds the whole service; `herald serve` and the tests use the same function, so
//! what the tests exercise is what runs. Handlers are thin: they read parameters and bodies
//! ([`params`], [`wire`]), call the [`Registry`], and shape the answer; status and error
//! codes are decided in [`error`] alone.

pub mod access;
mod api;
mod broker_api;
pub use broker_api::produce_body_records;
mod consumer_api;
mod contexts;
mod contracts_api;
mod docs_ui;
mod encoding;
pub mod error;
mod live;
pub mod media;
pub mod metrics;
mod params;
pub mod profile;
pub mod read_budget;
mod records_json;
pub mod server;
mod subscriptions_api;
pub mod wire;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::Router;
use serde_json::json;
use tower::util::MapRequest;

use crate::broker::Broker;
use crate::registry::Registry;
use crate::security::{AuditEvent, AuthError, Security};
use error::ApiError;
use metrics::Metrics;
pub use profile::ApiProfile;

/// What every handler can reach; one `Arc`, as it is cloned for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub registry: Registry,
    pub metrics: Metrics,
    /// `None` for a registry without a broker (some tests).
    pub broker: Option<Arc<Broker>>,
    /// The contract gate produced records pass before they are written; the same one the
    /// Kafka listener uses, so both doors give the same verdicts.
    pub gate: Arc<crate::gate::Gate>,
    /// The documentation pages' models, over the same registry and broker.
    pub docs: crate::docs::Docs,
    /// Where clients reach this server (`http://127.0.0.1:8081`, no trailing slash): the
    /// base of every URL the server hands out. Never taken from a request's `Host` header,
    /// which the client controls.
    pub public_url: String,
    /// The Kafka listener's advertised `HOST:PORT`, for the docs' client snippets and the
    /// AsyncAPI servers; `None` when the listener is off.
    pub kafka_bootstrap: Option<String>,
    /// The largest request body any route reads (`max_request_bytes`), the produce routes
    /// included; larger ones are answered 413 before they are buffered.
    pub max_request_bytes: usize,
    /// The bytes concurrent record reads may hold together.
    pub read_budget: read_budget::ReadBudget,
    /// Which Confluent release the registry's answers look like (`api_profile`).
    pub api_profile: ApiProfile,
    /// Authentication, grants and the audit log; `None`: no `[security]` configured, every
    /// caller may do everything (served on loopback addresses only).
    pub security: Option<Arc<Security>>,
    /// Partner webhooks over the broker; `None` when the server delivers none (tests
    /// without a data directory).
    pub webhooks: Option<crate::delivery::webhook::Webhooks>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(registry: Registry) -> AppState {
        AppState(Arc::new(Shared {
            docs: crate::docs::Docs::new(registry.clone(), None),
            gate: Arc::new(crate::gate::Gate::new(registry.clone())),
            registry,
            metrics: Metrics::default(),
            broker: None,
            public_url: DEFAULT_PUBLIC_URL.to_string(),
            kafka_bootstrap: None,
            max_request_bytes: 0,
            read_budget: Default::default(),
            api_profile: ApiProfile::default(),
            security: None,
            webhooks: None,
        }))
        .with_default_body_limit()
    }

    pub fn with_broker(registry: Registry, broker: Arc<Broker>) -> AppState {
        registry.set_group_activity(Arc::new(crate::gate::readers::BrokerActivity(broker.clone())));
        AppState(Arc::new(Shared {
            docs: crate::docs::Docs::new(registry.clone(), Some(broker.clone())),
            gate: Arc::new(crate::gate::Gate::new(registry.clone())),
            registry,
            metrics: Metrics::default(),
            broker: Some(broker),
            public_url: DEFAULT_PUBLIC_URL.to_string(),
            kafka_bootstrap: None,
            max_request_bytes: 0,
            read_budget: Default::default(),
            api_profile: ApiProfile::default(),
            security: None,
            webhooks: None,
        }))
        .with_default_body_limit()
    }

    fn with_default_body_limit(self) -> AppState {
        let limit = default_max_request_bytes(self.registry.settings().max_schema_bytes);
        self.with_max_request_bytes(limit)
    }

    /// Sets the URL clients reach the server at; call before the state is shared.
    pub fn with_public_url(mut self, url: String) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.public_url = url;
        }
        self
    }

    /// Sets the Kafka listener's advertised address (`None`: the listener is off), which the
    /// docs hand to Kafka clients; call before the state is shared.
    pub fn with_kafka_bootstrap(mut self, bootstrap: Option<String>) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.kafka_bootstrap = bootstrap;
        }
        self
    }

    /// Where the docs tell clients to connect.
    pub fn endpoints(&self) -> crate::docs::Endpoints {
        crate::docs::Endpoints {
            public_url: self.public_url.clone(),
            kafka_bootstrap: self.kafka_bootstrap.clone(),
        }
    }

    /// Sets the largest request body; call before the state is shared.
    pub fn with_max_request_bytes(mut self, limit: usize) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.max_request_bytes = limit.max(1);
        }
        self
    }
}

/// The body limit unless configured: room for the largest schema the registry accepts,
/// JSON-escaped inside a request body.
pub fn default_max_request_bytes(max_schema_bytes: usize) -> usize {
    max_schema_bytes.saturating_mul(2).saturating_add(64 * 1024)
}

impl AppState {
    /// Sets the response profile; call before the state is shared.
    pub fn with_api_profile(mut self, profile: ApiProfile) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.api_profile = profile;
        }
        self
    }

    /// Turns security on; call before the state is shared.
    pub fn with_security(mut self, security: Arc<Security>) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.security = Some(security);
        }
        self
    }

    /// Turns partner webhooks on; call before the state is shared.
    pub fn with_webhooks(mut self, webhooks: crate::delivery::webhook::Webhooks) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.docs.set_webhooks(webhooks.clone());
            shared.webhooks = Some(webhooks);
        }
        self
    }

    /// Sets the budget concurrent reads share; call before the state is shared.
    pub fn with_read_budget(mut self, budget: read_budget::ReadBudget) -> AppState {
        if let Some(shared) = Arc::get_mut(&mut self.0) {
            shared.read_budget = budget;
        }
        self
    }
}

/// The public URL of a server built without one (tests): the default listening address.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8081";

/// The service as served: the router behind path normalisation.
pub type App = MapRequest<Router, fn(Request) -> Request>;

/// Builds the service. Routing sees paths without a trailing slash (`/versions/` is
/// `/versions`: the Java client sends the former), and without a context prefix
/// (`/contexts/.staging/subjects/s` is `/subjects/:.staging:s`, see [`contexts`]).
pub fn app(state: AppState) -> App {
    MapRequest::new(router(state), normalize_path as fn(Request) -> Request)
}

fn router(state: AppState) -> Router {
    let body_limit = state.max_request_bytes;
    let registry_api = Router::new()
        .route("/", get(api::root).post(api::root))
        .route("/schemas", get(api::list_schemas))
        .route("/schemas/types", get(api::schema_types))
        .route("/schemas/ids/{id}", get(api::schema_by_id))
        .route("/schemas/ids/{id}/schema", get(api::schema_text_by_id))
        .route("/schemas/ids/{id}/subjects", get(api::subjects_of_id))
        .route("/schemas/ids/{id}/versions", get(api::versions_of_id))
        .route("/subjects", get(api::subjects))
        .route("/subjects/{subject}", post(api::lookup).delete(api::delete_subject))
        .route("/subjects/{subject}/versions", get(api::versions).post(api::register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(api::get_version).delete(api::delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(api::get_version_text),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(api::referenced_by),
        )
        .route("/subjects/{subject}/metadata", get(api::subject_metadata))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(api::check_version),
        )
        .route("/compatibility/subjects/{subject}/versions", post(api::check_all))
        .route(
            "/config",
            get(api::get_global_config)
                .put(api::put_global_config)
                .delete(api::delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(api::get_config)
                .put(api::put_subject_config)
                .delete(api::delete_subject_config),
        )
        .route(
            "/mode",
            get(api::get_global_mode)
                .put(api::put_global_mode)
                .delete(api::delete_global_mode),
        )
        .route(
            "/mode/{subject}",
            get(api::get_mode)
                .put(api::put_subject_mode)
                .delete(api::delete_subject_mode),
        )
        .route("/contexts", get(api::contexts))
        .route("/contexts/{context}", delete(api::delete_context))
        // Valid context prefixes were rewritten away before routing (`normalize_path`).
        .route("/contexts/{context}/{*rest}", any(api::invalid_context_path))
        .route("/herald/v1/contracts", get(contracts_api::list))
        .route("/herald/v1/consumers/{group}/contracts", get(contracts_api::of_group))
        .route(
            "/herald/v1/consumers/{group}/contracts/{subject}",
            get(contracts_api::show)
                .put(contracts_api::put)
                .delete(contracts_api::delete),
        )
        .route("/v1/metadata/id", get(api::cluster_id))
        .route("/v1/metadata/version", get(api::server_version));
    let broker_api = Router::new()
        .route("/topics", get(broker_api::list_topics).post(broker_api::create_topic))
        .route(
            "/topics/{topic}",
            get(broker_api::describe_topic)
                .post(broker_api::produce)
                .patch(broker_api::update_topic)
                .delete(broker_api::delete_topic),
        )
        .route("/topics/{topic}/partitions", get(broker_api::list_partitions))
        .route(
            "/topics/{topic}/partitions/{partition}",
            post(broker_api::produce_partition),
        )
        .route(
            "/topics/{topic}/partitions/{partition}/offsets",
            get(broker_api::partition_offsets),
        )
        .route(
            "/topics/{topic}/partitions/{partition}/records",
            get(broker_api::read_partition),
        )
        .route("/topics/{topic}/live", get(live::live))
        .route("/subscriptions", get(subscriptions_api::list_all))
        .route(
            "/topics/{topic}/subscriptions",
            get(subscriptions_api::list).post(subscriptions_api::create),
        )
        .route(
            "/topics/{topic}/subscriptions/{name}",
            get(subscriptions_api::show)
                .put(subscriptions_api::update)
                .delete(subscriptions_api::delete),
        )
        .route(
            "/topics/{topic}/subscriptions/{name}/pause",
            post(subscriptions_api::pause),
        )
        .route(
            "/topics/{topic}/subscriptions/{name}/resume",
            post(subscriptions_api::resume),
        )
        .route(
            "/topics/{topic}/subscriptions/{name}/secret",
            post(subscriptions_api::rotate_secret),
        )
        .route("/consumers/{group}", post(consumer_api::create_consumer))
        .route(
            "/consumers/{group}/instances/{instance}",
            delete(consumer_api::delete_consumer),
        )
        .route(
            "/consumers/{group}/instances/{instance}/subscription",
            get(consumer_api::subscription)
                .post(consumer_api::subscribe)
                .delete(consumer_api::unsubscribe),
        )
        .route(
            "/consumers/{group}/instances/{instance}/assignments",
            get(consumer_api::assignments),
        )
        .route(
            "/consumers/{group}/instances/{instance}/records",
            get(consumer_api::records),
        )
        .route(
            "/consumers/{group}/instances/{instance}/offsets",
            get(consumer_api::committed).post(consumer_api::commit),
        )
        .route(
            "/consumers/{group}/instances/{instance}/positions",
            post(consumer_api::seek),
        )
        .route(
            "/consumers/{group}/instances/{instance}/positions/beginning",
            post(consumer_api::seek_beginning),
        )
        .route(
            "/consumers/{group}/instances/{instance}/positions/end",
            post(consumer_api::seek_end),
        )
        .route("/consumer-groups", get(consumer_api::list_groups))
        .route("/consumer-groups/{group}", get(consumer_api::describe_group));
    let operations = Router::new()
        .route("/health", get(live))
        .route("/ui", get(docs_ui::home))
        .route("/ui/index.html", get(docs_ui::catalog))
        .route("/ui/topics/{file}", get(docs_ui::topic))
        .route("/ui/topics/{topic}/changelog.html", get(docs_ui::changelog_form))
        .route("/ui/topics/{topic}/changelog/{file}", get(docs_ui::changelog))
        .route("/ui/subjects/{file}", get(docs_ui::subject))
        .route("/ui/subjects/{subject}/versions/{file}", get(docs_ui::version))
        .route("/ui/schemas/{file}", get(docs_ui::schema))
        .route("/ui/asyncapi.json", get(docs_ui::asyncapi_json))
        .route("/ui/asyncapi.yaml", get(docs_ui::asyncapi_yaml))
        .route("/ui/asyncapi/{file}", get(docs_ui::asyncapi_topic))
        .route("/ui/{*rest}", get(docs_ui::missing_page))
        .route("/asyncapi.json", get(docs_ui::asyncapi_json))
        .route("/asyncapi.yaml", get(docs_ui::asyncapi_yaml))
        .route("/asyncapi/{file}", get(docs_ui::asyncapi_topic))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render_metrics));
    registry_api
        .merge(broker_api)
        .merge(operations)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

fn normalize_path(mut request: Request) -> Request {
    let path = request.uri().path();
    let trimmed = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let rebuilt = match contexts::rewrite(trimmed, request.uri().query()) {
        Some(rewritten) => Some(rewritten),
        None if trimmed.len() < path.len() => Some(match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_string(),
        }),
        None => None,
    };
    if let Some(uri) = rebuilt.and_then(|r| r.parse::<Uri>().ok()) {
        *request.uri_mut() = uri;
    }
    request
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::plain(StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed")
}

/// Which part of the service a path belongs to, for what `edge` checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    /// The registry API: Confluent's media-type negotiation.
    Registry,
    /// The broker's REST Proxy-shaped routes: they negotiate REST Proxy's types themselves;
    /// `edge` only refuses bodies outside the JSON family.
    Broker,
    /// Docs pages (HTML), AsyncAPI documents, health and metrics: read-only, own types.
    Pages,
}

fn area_of(path: &str) -> Area {
    let first = path.get(1..).unwrap_or("").split('/').next().unwrap_or("");
    match first {
        "topics" | "consumers" | "consumer-groups" => Area::Broker,
        "ui" | "metrics" | "health" | "asyncapi" | "asyncapi.json" | "asyncapi.yaml" => Area::Pages,
        _ => Area::Registry,
    }
}

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");

/// The docs pages' Content-Security-Policy: nothing but the pages' own inline script and
/// style blocks (by hash: see `csp_hashes_match_the_templates` in the tests, which fails when
/// a template's block changes), images from the server itself or from descriptions' https
/// links, the topic page's live events from the server itself, forms posting back to the
/// server, and no framing by other sites.
const DOCS_CSP: HeaderValue = HeaderValue::from_static(concat!(
    "default-src 'none'; ",
    "script-src 'sha256-uowSLI3kcYLqIeybkIi65569BclRL2lBlVKPd/hMXD4=' 'sha256-gm+PGH22cG+zh0agG1Oyo45DS3znJXG89r/5K+LbFv0=' 'sha256-L5nj+czV2j6fzN1+IgxvxR2IfOZc5biv0p83K8GJh04='; ",
    "style-src 'sha256-nDq3G7etwN/Zt+Thbzso8uiJ5u/8VOIlvysDD/Ak36o='; ",
    "img-src 'self' data: https:; ",
    "connect-src 'self'; ",
    "form-action 'self'; ",
    "base-uri 'none'; ",
    "frame-ancestors 'none'"
));

/// The one middleware, kept single because each layer costs a service clone per request:
/// media-type negotiation on registry routes and body types on broker routes (415 for
/// anything a web page could send cross-site), panics answered 500 instead of dropping the
/// connection, the API's error shape for axum's own rejections, security headers, and metrics
/// under the route's template (so `/subjects/a/versions` and `/subjects/b/versions` are one
/// series) and a bounded method label.
async fn edge(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = metrics::method_label(request.method());
    let area = area_of(request.uri().path());
    // A web page of a configured origin: its preflight is answered here, unauthenticated
    // (browsers send none), and its answers say the origin may read them.
    let cors = state
        .security
        .as_ref()
        .and_then(|s| access::cors_origin(s, request.headers()));
    if let Some(origin) = &cors {
        if request.method() == axum::http::Method::OPTIONS {
            return access::preflight(origin);
        }
    }
    let (request, admitted) = match &state.security {
        None => (request, None),
        Some(security) => match admit(&state, security, request, route.as_ref()).await {
            Ok(admitted) => admitted,
            Err(refusal) => return finish(&state, refusal, area, route.as_ref(), method, started).await,
        },
    };
    let response = match area {
        Area::Pages => catch_panic(next.run(request)).await,
        Area::Broker => match media::check_body_type(&request, media::Door::Broker) {
            Err(refusal) if route.is_some() => refusal.into_response(),
            _ => catch_panic(next.run(request)).await,
        },
        Area::Registry => match media::negotiate(&request, route.is_some()) {
            Ok(chosen) => media::retype(catch_panic(next.run(request)).await, chosen),
            Err(refusal) => refusal.into_response(),
        },
    };
    if let (Some(security), Some(admitted)) = (&state.security, admitted) {
        admitted.audit(security, response.status());
    }
    let mut response = response;
    if let Some(origin) = cors {
        access::allow_origin(&mut response, origin);
    }
    finish(&state, response, area, route.as_ref(), method, started).await
}

/// What every answer gets, refusals included: the API's shape for axum's rejections,
/// security headers, metrics and the debug log line.
async fn finish(
    state: &AppState,
    response: Response,
    area: Area,
    route: Option<&MatchedPath>,
    method: &'static str,
    started: Instant,
) -> Response {
    let mut response = if is_plain_rejection(&response) {
        framework_rejection(response, state.max_request_bytes, area).await
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    if area == Area::Pages
        && headers
            .get(CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
    {
        headers.insert(CONTENT_SECURITY_POLICY, DOCS_CSP);
        headers.insert(REFERRER_POLICY, NO_REFERRER);
    }
    let route = route.map_or("unmatched", MatchedPath::as_str);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics
        .record_request(route, method, status, elapsed.as_secs_f64());
    tracing::debug!(method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// A request let in: who sent it and, for a change, what to write in the audit log once it
/// is answered.
struct Admitted {
    principal: String,
    client: Option<String>,
    /// `POST /subjects/{subject}/versions`.
    change: String,
    resource: Option<String>,
}

impl Admitted {
    fn audit(self, security: &Security, status: StatusCode) {
        let mut event = AuditEvent::request(&self.principal, self.client, self.change, self.resource);
        event.outcome = if status.is_success() { "allowed" } else { "failed" }.to_string();
        event.status = Some(status.as_u16());
        security.record(event);
    }
}

/// Authenticates and authorises a request before its handler runs (so before its body is
/// read), by its route and path parameters. The principal goes into the request's
/// extensions for handlers that filter what they answer ([`access::Caller`]).
async fn admit(
    state: &AppState,
    security: &Arc<Security>,
    request: Request,
    route: Option<&MatchedPath>,
) -> Result<(Request, Option<Admitted>), Response> {
    use access::Requirement;
    let Some(route) = route else {
        // No route: a 404 that names nothing.
        return Ok((request, None));
    };
    let (mut parts, body) = request.into_parts();
    let params = axum::extract::RawPathParams::from_request_parts(&mut parts, state)
        .await
        .ok();
    let param = |name: &str| {
        let raw = params.as_ref()?.iter().find(|(key, _)| *key == name)?.1;
        // Subjects are checked by the key they are stored under (`:.:s` is `s`).
        Some(match name {
            "subject" => crate::registry::subject_name(raw).unwrap_or_else(|_| raw.to_string()),
            _ => raw.to_string(),
        })
    };
    let requirement = access::requirement(&parts.method, route.as_str(), param);
    if requirement == Requirement::Public {
        return Ok((Request::from_parts(parts, body), None));
    }
    // What the audit log and the login throttle need is made only when they need it: a
    // read that is let in allocates nothing for them.
    let peer = parts.extensions.get::<server::ClientAddr>().map(|a| a.0);
    let client = || peer.map(|a| a.to_string());
    let address = || peer.map(|a| a.ip().to_string());
    let operation = || format!("{} {}", parts.method, route.as_str());
    // A client certificate first: the handshake has verified it, and a client that has one
    // may still send a header meant for another hop.
    let given = match parts.extensions.get::<server::ClientCertificate>() {
        Some(certificate) => Ok(Some(access::OwnedCredentials::Certificate(certificate.0.clone()))),
        None => access::credentials(&parts.headers),
    };
    let user = match &given {
        Ok(Some(credentials)) => credentials.user(),
        _ => None,
    };
    // Too many failed logins for this user or from this address: refused before any check,
    // right or wrong, so guessing gains nothing.
    let guessable = match &given {
        Ok(Some(credentials)) => credentials.guessable(),
        Ok(None) => false,
        Err(_) => true,
    };
    if guessable && security.any_failed_login() {
        if let Some(wait) = security.login_blocked(user, address().as_deref()) {
            return Err(access::too_many(wait, "too many failed logins"));
        }
    }
    let checked = match &given {
        Ok(given) => access::authenticate(security, given.as_ref()).await,
        Err(err) => Err(err.clone()),
    };
    let principal = match checked {
        Ok(principal) => principal,
        Err(AuthError::Invalid) => {
            security.login_failed(user, address().as_deref());
            security.record(AuditEvent::failed_login(user, client(), operation()));
            return Err(access::unauthorized(security));
        }
        Err(AuthError::Expired(name)) => {
            // A genuine token past its date: not a guess, so not counted as one, but audited
            // so that whoever runs the server sees which client still uses it.
            let mut event = AuditEvent::failed_login(Some(&name), client(), operation());
            event.outcome = "expired".to_string();
            security.record(event);
            return Err(access::expired(security));
        }
        Err(AuthError::Missing) => return Err(access::unauthorized(security)),
    };
    if let Err(wait) = security.admit_request(&principal) {
        return Err(access::too_many(wait, "over this principal's request rate"));
    }
    // A consumer instance is its creator's: to anyone else it does not exist.
    if route.as_str().starts_with("/consumers/{group}/instances/{instance}") {
        if let (Some(broker), Some(group), Some(instance)) = (&state.broker, param("group"), param("instance")) {
            if broker
                .groups()
                .owner(&group, &instance)
                .is_some_and(|owner| *owner != *principal.name)
            {
                let unknown = crate::broker::groups::GroupError::UnknownMember {
                    group,
                    member: instance,
                };
                return Err(ApiError::from(unknown).into_response());
            }
        }
    }
    let resource = match &requirement {
        Requirement::Needs(needed, resource) => {
            if !security.permits(&principal, *needed, resource) {
                let mut event = AuditEvent::denied(&principal.name, *needed, resource);
                event.client = client();
                event.operation = Some(operation());
                security.record(event);
                return Err(access::forbidden(*needed, resource).into_response());
            }
            Some(resource)
        }
        _ => None,
    };
    // Changes are audited once answered; reads, lookups, checks and records are not.
    let admitted = access::audited(&parts.method, route.as_str(), &requirement).then(|| Admitted {
        principal: principal.name.to_string(),
        client: client(),
        change: operation(),
        resource: resource.map(|r| r.to_string()),
    });
    parts
        .extensions
        .insert(access::Caller::new(principal, security.clone()));
    Ok((Request::from_parts(parts, body), admitted))
}

/// Runs a request's handler; a panic in it is logged and answered 500 in the API's error
/// shape, instead of dropping the connection without an answer. Nothing is allocated unless
/// the handler panics. Locks a panicking handler held are taken again with
/// `unwrap_or_else(PoisonError::into_inner)` everywhere, so later requests are not wedged.
pub async fn catch_panic(handler: impl Future<Output = Response>) -> Response {
    let mut handler = std::pin::pin!(handler);
    let outcome =
        std::future::poll_fn(
            |cx| match std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(cx))) {
                Ok(Poll::Ready(response)) => Poll::Ready(Ok(response)),
                Ok(Poll::Pending) => Poll::Pending,
                Err(payload) => Poll::Ready(Err(payload)),
            },
        )
        .await;
    outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message");
        tracing::error!(panic = what, "a request handler panicked; answered 500");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal Server Error: the request failed unexpectedly and was logged",
        )
        .into_response()
    })
}

/// axum's extractors answer their rejections in plain text: a body over the limit (413), a
/// body that could not be read because it came too slowly or was cut short, a path or query
/// that does not decode (400). Give them the API's error shape, keeping their words; docs
/// pages keep theirs. Only the rare rejection pays for reading its (short) text; the check
/// is made outside the `async fn`, so other answers are not moved through its state.
fn is_plain_rejection(response: &Response) -> bool {
    response.status().is_client_error()
        && response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/plain"))
}

/// Rewrites a rejection [`is_plain_rejection`] found in the API's error shape.
async fn framework_rejection(response: Response, limit: usize, area: Area) -> Response {
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::plain(
            status,
            format!("Request body too large: at most {limit} bytes are accepted (max_request_bytes)"),
        )
        .into_response();
    }
    if area == Area::Pages {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    ApiError::plain(status, text).into_response()
}

/// Liveness: the process answers.
async fn live() -> impl IntoResponse {
    axum::Json(json!({"status": "UP"}))
}

/// Readiness: the database answers too.
async fn ready(State(state): State<AppState>) -> Response {
    match state.registry.store().ping().await {
        Ok(()) => axum::Json(json!({"status": "UP", "database": "UP"})).into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "DOWN", "database": err.to_string()})),
        )
            .into_response(),
    }
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    metrics::render_rule_counts(&mut text, &state.gate.rule_counts());
    metrics::render_sunset_counts(&mut text, &state.gate.sunset_counts());
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
