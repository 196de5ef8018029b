//! The documentation UI under `/ui/` and the AsyncAPI export: thin handlers over
//! [`crate::docs`]. Every page path ends in `.html` and every link is relative, so
//! `herald docs build` can save the pages as they are.

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::Caller;
use super::AppState;
use crate::docs::{self, render, CatalogQuery, DocsError};
use crate::security::{Operation, Resource, ResourceKind};

const HTML: &str = "text/html; charset=utf-8";

fn html(body: String) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, HTML)], body).into_response()
}

/// A docs failure as a page, `depth` directories below `/ui/` (for its links).
fn failure(depth: usize, error: DocsError) -> Response {
    let (status, title) = match &error {
        DocsError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        DocsError::Registry(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
    };
    if status.is_server_error() {
        tracing::error!(%error, "docs page failed");
    }
    let message = error.to_string();
    (status, [(CONTENT_TYPE, HTML)], render::error(depth, title, &message)).into_response()
}

fn not_found(depth: usize, what: &str) -> Response {
    failure(depth, DocsError::NotFound(what.to_string()))
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, to.to_string())]).into_response()
}

/// Any other address under `/ui/`: an HTML page saying so, with a way back.
pub async fn missing_page(Path(rest): Path<String>) -> Response {
    not_found(rest.matches('/').count(), &format!("page {rest}"))
}

/// `/ui` and `/ui/`: the catalog lives at `/ui/index.html`, where its relative links work.
pub async fn home() -> Response {
    redirect("/ui/index.html")
}

/// Whether the caller may see a topic's documentation; a topic it may not is answered as
/// one that does not exist.
fn shows_topic(caller: &Caller, topic: &str) -> bool {
    caller.may(Operation::Describe, &Resource::topic(topic))
}

fn shows_subject(caller: &Caller, subject: &str) -> bool {
    caller.may(Operation::Read, &Resource::subject(subject))
}

pub async fn catalog(State(state): State<AppState>, caller: Caller, Query(query): Query<CatalogQuery>) -> Response {
    match state.docs.catalog(query, &|topic| shows_topic(&caller, topic)).await {
        Ok(catalog) => html(render::catalog(&catalog)),
        Err(e) => failure(0, e),
    }
}

pub async fn topic(State(state): State<AppState>, caller: Caller, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".html").filter(|name| shows_topic(&caller, name)) else {
        return not_found(1, &format!("page topics/{file}"));
    };
    match state.docs.topic_page(name, &state.endpoints()).await {
        Ok(page) => html(render::topic(&page)),
        Err(e) => failure(1, e),
    }
}

pub async fn changelog(
    State(state): State<AppState>,
    caller: Caller,
    Path((topic, file)): Path<(String, String)>,
) -> Response {
    if !shows_topic(&caller, &topic) {
        return not_found(3, &format!("topic {topic}"));
    }
    let pair = file
        .strip_suffix(".html")
        .and_then(|p| p.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)));
    let Some((from, to)) = pair else {
        return not_found(
            3,
            &format!("changelog {file} (expected FROM-TO.html, two version numbers)"),
        );
    };
    match state.docs.changelog(&topic, from, to).await {
        Ok(log) => html(render::changelog(&log)),
        Err(e) => failure(3, e),
    }
}

#[derive(Deserialize)]
pub struct Pair {
    from: Option<String>,
    to: Option<String>,
}

/// The compare form's target without JavaScript: sends the browser to the pair's page.
pub async fn changelog_form(Path(topic): Path<String>, Query(pair): Query<Pair>) -> Response {
    let number = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
    match (number(&pair.from), number(&pair.to)) {
        (Some(from), Some(to)) => redirect(&format!("changelog/{from}-{to}.html")),
        _ => (
            StatusCode::BAD_REQUEST,
            [(CONTENT_TYPE, HTML)],
            render::error(
                2,
                "Bad request",
                &format!("choose two versions of {topic} to compare: from and to must be version numbers"),
            ),
        )
            .into_response(),
    }
}

pub async fn subject(State(state): State<AppState>, caller: Caller, Path(file): Path<String>) -> Response {
    let readable = file
        .strip_suffix(".html")
        .and_then(render::decode_segment)
        .filter(|subject| shows_subject(&caller, subject));
    let Some(subject) = readable else {
        return not_found(1, &format!("page subjects/{file}"));
    };
    match state.docs.subject_page(&subject).await {
        Ok(page) => html(render::subject(&page)),
        Err(e) => failure(1, e),
    }
}

pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((subject, file)): Path<(String, String)>,
) -> Response {
    let Some(version) = file.strip_suffix(".html").and_then(|v| v.parse::<i64>().ok()) else {
        return not_found(3, &format!("version page {file} (expected N.html)"));
    };
    let Some(subject) = render::decode_segment(&subject).filter(|s| shows_subject(&caller, s)) else {
        return not_found(3, &format!("subject {subject}"));
    };
    match state.docs.version_page(&subject, version).await {
        Ok(page) => html(render::version(&page)),
        Err(e) => failure(3, e),
    }
}

/// `schemas/<name>.html` (the page) and `schemas/<name>.json` (the schema itself), the name
/// being the id, or the context and the id (`render::schema_file`).
pub async fn schema(State(state): State<AppState>, caller: Caller, Path(file): Path<String>) -> Response {
    // A schema is shown to those who may read a subject using it.
    let named = file
        .strip_suffix(".json")
        .or_else(|| file.strip_suffix(".html"))
        .and_then(render::parse_schema_file);
    if let Some((context, id)) = named {
        if !caller.may_all(Operation::Read, ResourceKind::Subject) {
            let users = state
                .registry
                .versions_of_id(&context, id, None, true)
                .await
                .unwrap_or_default();
            if !users.iter().any(|(subject, _)| shows_subject(&caller, subject)) {
                return not_found(1, &format!("schema {file}"));
            }
        }
    }
    if let Some((context, id)) = file.strip_suffix(".json").and_then(render::parse_schema_file) {
        return match state.docs.schema_text(&context, id).await {
            Ok(text) => (StatusCode::OK, [(CONTENT_TYPE, "application/json")], text).into_response(),
            Err(e) => failure(1, e),
        };
    }
    let Some((context, id)) = file.strip_suffix(".html").and_then(render::parse_schema_file) else {
        return not_found(1, &format!("schema page {file} (expected ID.html or ID.json)"));
    };
    match state.docs.schema_page(&context, id).await {
        Ok(page) => html(render::schema(&page)),
        Err(e) => failure(1, e),
    }
}

async fn asyncapi_document(state: &AppState, caller: &Caller, topic: Option<&str>, format: &str) -> Response {
    if topic.is_some_and(|t| !shows_topic(caller, t)) {
        return not_found(1, &format!("document for topic {}", topic.unwrap_or_default()));
    }
    let visible = |topic: &str| shows_topic(caller, topic);
    let document = match state.docs.asyncapi(topic, &state.endpoints(), &visible).await {
        Ok(document) => document,
        Err(e) => return failure(0, e),
    };
    match format {
        "json" => (
            StatusCode::OK,
            [(CONTENT_TYPE, "application/json")],
            serde_json::to_string_pretty(&document).unwrap_or_default(),
        )
            .into_response(),
        "yaml" => (
            StatusCode::OK,
            [(CONTENT_TYPE, "application/yaml")],
            docs::to_yaml(&document),
        )
            .into_response(),
        _ => not_found(0, "document (use .json or .yaml)"),
    }
}

/// `/asyncapi.json`, `/asyncapi.yaml` and their `/ui/` copies: the whole catalog.
pub async fn asyncapi_json(State(state): State<AppState>, caller: Caller) -> Response {
    asyncapi_document(&state, &caller, None, "json").await
}

pub async fn asyncapi_yaml(State(state): State<AppState>, caller: Caller) -> Response {
    asyncapi_document(&state, &caller, None, "yaml").await
}

/// `/asyncapi/<topic>.json|yaml`: one topic.
pub async fn asyncapi_topic(State(state): State<AppState>, caller: Caller, Path(file): Path<String>) -> Response {
    match file.rsplit_once('.') {
        Some((topic, format @ ("json" | "yaml"))) => asyncapi_document(&state, &caller, Some(topic), format).await,
        _ => not_found(1, &format!("document {file} (expected TOPIC.json or TOPIC.yaml)")),
    }
}
