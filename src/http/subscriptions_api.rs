//! Webhook subscriptions over HTTP: thin handlers over [`crate::delivery::webhook`].
//!
//! - `GET /subscriptions`: every subscription the caller may see;
//! - `GET|POST /topics/{t}/subscriptions`: a topic's, and a new one (answered with its
//!   secret, the only time it is shown);
//! - `GET|PUT|DELETE /topics/{t}/subscriptions/{name}`: one, changed (fields given change,
//!   `null` clears `rate_limit` and `dead_letter_topic`), removed;
//! - `POST …/{name}/pause`, `…/resume`, `…/secret` (rotation: the new secret answered, the
//!   previous one signing on for `previous_secret_valid_ms`, 24 hours unless given).
//!
//! Errors: 404/40401 unknown topic, 404/40403 unknown subscription, 409/40905 a name in use,
//! 422/42201 a setting refused (the message names it).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use super::access::Caller;
use super::broker_api::reply;
use super::error::ApiError;
use super::wire::parse_body;
use super::AppState;
use crate::delivery::tail::Start;
use crate::delivery::webhook::{Format, Spec, View, WebhookError, Webhooks};
use crate::security::{Operation, Resource};

type Reply = Result<Response, ApiError>;

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> ApiError {
        let (status, code) = match &error {
            WebhookError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
            WebhookError::UnknownTopic(_) => (StatusCode::NOT_FOUND, 40401),
            WebhookError::NotFound { .. } => (StatusCode::NOT_FOUND, 40403),
            WebhookError::Exists { .. } => (StatusCode::CONFLICT, 40905),
            WebhookError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        };
        ApiError::new(status, code, error.to_string())
    }
}

fn webhooks(state: &AppState) -> Result<&Webhooks, ApiError> {
    state.webhooks.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            404,
            "HTTP 404 Not Found: this server delivers no webhooks",
        )
    })
}

/// A body's settings. Unknown fields are refused, so a misspelt setting is not ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SubscriptionBody {
    name: Option<String>,
    url: Option<String>,
    format: Option<String>,
    /// Where a new subscription starts: `latest` (the default), `earliest` or an offset.
    from: Option<Value>,
    secret: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    rate_limit: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    dead_letter_topic: Option<Option<String>>,
    /// A CEL expression; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    filter: Option<Option<String>>,
    /// Sensitive tags whose fields deliveries redact (replacing the list).
    redact: Option<Vec<String>>,
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

/// Tells `"field": null` (clear it) from a field left out (keep it).
fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

impl SubscriptionBody {
    /// The spec, with the tags `caller` may not read always redacted: a subscription sends
    /// records to someone else, so no one may point one at fields they could not read.
    fn spec(&self, caller: &Caller) -> Result<Spec, ApiError> {
        let format = self
            .format
            .as_deref()
            .map(str::parse::<Format>)
            .transpose()
            .map_err(|why| ApiError::unprocessable(42201, why))?;
        Ok(Spec {
            url: self.url.clone(),
            format,
            description: self.description.clone(),
            rate_limit: self.rate_limit,
            dead_letter_topic: self.dead_letter_topic.clone(),
            filter: self.filter.clone(),
            redact: self.redact.clone(),
            always_redact: caller.hidden_tags(),
            max_attempts: self.max_attempts,
            initial_backoff_ms: self.initial_backoff_ms,
            max_backoff_ms: self.max_backoff_ms,
            timeout_ms: self.timeout_ms,
        })
    }

    fn start(&self) -> Result<Start, ApiError> {
        let text = match &self.from {
            None => return Ok(Start::Latest),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(other) => {
                return Err(ApiError::unprocessable(
                    42201,
                    format!("from must be latest, earliest or an offset, not {other}"),
                ))
            }
        };
        text.parse().map_err(|why: String| ApiError::unprocessable(42201, why))
    }
}

/// A view with its secret: the answer of a creation or rotation, the only ones that show it.
fn with_secret(view: &crate::delivery::webhook::View, secret: String) -> Result<Value, ApiError> {
    let mut answer =
        serde_json::to_value(view).map_err(|e| ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    answer["secret"] = Value::String(secret);
    Ok(answer)
}

/// A body that may be empty (pause, resume, rotation take optional settings).
fn optional_body<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_body(body)
    }
}

/// A view as `caller` may see it: an endpoint's query (where partners put access tokens)
/// and fragment are shown only to the topic's administrators, who may change them anyway.
fn shown_to(caller: &Caller, mut view: View) -> View {
    if !caller.may(Operation::Admin, &Resource::topic(view.topic.as_str())) {
        if let Some(cut) = view.url.find(['?', '#']) {
            view.url.truncate(cut);
            view.url.push_str("?…");
        }
    }
    view
}

pub async fn list_all(State(state): State<AppState>, caller: Caller) -> Reply {
    let views: Vec<_> = webhooks(&state)?
        .list(None)
        .into_iter()
        .filter(|view| caller.may(Operation::Describe, &Resource::topic(view.topic.as_str())))
        .map(|view| shown_to(&caller, view))
        .collect();
    reply(StatusCode::OK, &views)
}

pub async fn list(State(state): State<AppState>, caller: Caller, Path(topic): Path<String>) -> Reply {
    super::broker_api::broker(&state)?.topic(&topic)?;
    let views: Vec<_> = webhooks(&state)?
        .list(Some(&topic))
        .into_iter()
        .map(|view| shown_to(&caller, view))
        .collect();
    reply(StatusCode::OK, &views)
}

pub async fn create(State(state): State<AppState>, caller: Caller, Path(topic): Path<String>, body: Bytes) -> Reply {
    let request: SubscriptionBody = parse_body(&body)?;
    let Some(name) = request.name.clone() else {
        return Err(ApiError::unprocessable(42201, "name is required"));
    };
    let (view, secret) = webhooks(&state)?
        .create(
            &topic,
            &name,
            request.spec(&caller)?,
            request.secret.clone(),
            request.start()?,
        )
        .await?;
    reply(StatusCode::CREATED, &with_secret(&view, secret)?)
}

pub async fn show(State(state): State<AppState>, caller: Caller, Path((topic, name)): Path<(String, String)>) -> Reply {
    reply(
        StatusCode::OK,
        &shown_to(&caller, webhooks(&state)?.view(&topic, &name)?),
    )
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((topic, name)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: SubscriptionBody = parse_body(&body)?;
    for (given, field) in [
        (request.name.as_ref().is_some_and(|n| *n != name), "name"),
        (request.from.is_some(), "from"),
        (request.secret.is_some(), "secret"),
    ] {
        if given {
            return Err(ApiError::unprocessable(
                42201,
                format!("{field} cannot change here: a subscription's name is its identity, its position is its group's offsets, its secret rotates through POST …/secret"),
            ));
        }
    }
    reply(
        StatusCode::OK,
        &webhooks(&state)?.update(&topic, &name, request.spec(&caller)?).await?,
    )
}

pub async fn delete(State(state): State<AppState>, Path((topic, name)): Path<(String, String)>) -> Reply {
    webhooks(&state)?.delete(&topic, &name).await?;
    Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PauseBody {
    cause: Option<String>,
}

pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path((topic, name)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: PauseBody = optional_body(&body)?;
    let cause = request.cause.unwrap_or_else(|| match caller.name() {
        Some(who) => format!("paused by {who}"),
        None => "paused by an operator".to_string(),
    });
    reply(StatusCode::OK, &webhooks(&state)?.pause(&topic, &name, cause).await?)
}

pub async fn resume(State(state): State<AppState>, Path((topic, name)): Path<(String, String)>) -> Reply {
    reply(StatusCode::OK, &webhooks(&state)?.resume(&topic, &name).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    secret: Option<String>,
    previous_secret_valid_ms: Option<u64>,
}

/// How long a replaced secret signs on unless the request says.
const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

pub async fn rotate_secret(
    State(state): State<AppState>,
    Path((topic, name)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let request: RotateBody = optional_body(&body)?;
    let overlap = match request.previous_secret_valid_ms {
        None => DEFAULT_OVERLAP,
        Some(ms) if ms <= 30 * 24 * 3600 * 1000 => Duration::from_millis(ms),
        Some(ms) => {
            return Err(ApiError::unprocessable(
                42201,
                format!("previous_secret_valid_ms must be at most 30 days (2592000000), not {ms}"),
            ))
        }
    };
    let (view, secret) = webhooks(&state)?
        .rotate_secret(&topic, &name, request.secret, overlap)
        .await?;
    reply(StatusCode::OK, &with_secret(&view, secret)?)
}
