//! The registry routes' handlers: read the request, call the registry, shape the answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::access::Caller;
use super::error::ApiError;
use super::media::json_body;
use super::params::Params;
use super::wire::{
    parse_registry_body, to_json, CompatibilityView, ConfigBody, ConfigView, IdView, ModeBody, RegisteredView,
    SchemaBody, SchemaStringView, SchemaView, SubjectVersionView,
};
use super::AppState;
use crate::registry::context::{context_of, ALL_CONTEXTS, DEFAULT_CONTEXT};
use crate::registry::{
    schema_id_in_range, Context, Mode, RegistryError, StoredSchema, SubjectFilter, SubjectSchema, VersionSpec, MAX_ID,
};
use crate::schema::{Schema, SchemaType};
use crate::security::{Operation, Resource, ResourceKind};

type Reply = Result<Response, ApiError>;

pub(super) fn reply<T: serde::Serialize>(value: &T) -> Reply {
    Ok(json_body(to_json(value)?).into_response())
}

/// The stored schema text itself, not JSON-quoted.
fn raw(text: &str) -> Reply {
    Ok(json_body(text.as_bytes().to_vec()).into_response())
}

/// A schema id from a path: not a number is an unknown route (404/404), as Jersey answers
/// for an `int` parameter; a number no schema id can have (1 to 2^31-1) is answered as an
/// unknown schema without asking the store, and the message says why.
fn schema_id(text: &str) -> Result<i64, ApiError> {
    let id: i64 = text.trim().parse().map_err(|_| ApiError::not_found())?;
    if !schema_id_in_range(id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            40403,
            format!("Schema {id} not found: schema ids are between 1 and {MAX_ID} (2^31-1)"),
        ));
    }
    Ok(id)
}

fn version(text: &str) -> Result<VersionSpec, ApiError> {
    Ok(text.parse::<VersionSpec>()?)
}

/// `/schemas` answers at most this many schemas per page, as Confluent's default limit.
const SCHEMA_PAGE_MAX: usize = 1000;

pub async fn root() -> Reply {
    reply(&json!({}))
}

pub async fn schema_types() -> Reply {
    reply(&["JSON", "AVRO"])
}

/// `GET /contexts`. A caller who may not read every subject sees the default context and
/// the contexts holding a subject it may read: a context's name (often a tenant's) is not
/// told to callers who can read nothing in it.
pub async fn contexts(State(state): State<AppState>, caller: Caller, params: Params) -> Reply {
    let prefix = params.text("contextPrefix").unwrap_or("");
    let mut contexts: Vec<String> = state
        .registry
        .contexts()
        .await?
        .into_iter()
        .map(|c| c.as_str().to_string())
        .filter(|c| c.starts_with(prefix))
        .collect();
    if !caller.may_all(Operation::Read, ResourceKind::Subject) {
        let every = subject_filter(ALL_CONTEXTS)?;
        let shown: std::collections::HashSet<String> = state
            .registry
            .subjects(&every, true, false)
            .await?
            .iter()
            .filter(|subject| readable(&caller, subject))
            .map(|subject| context_of(subject).as_str().to_string())
            .collect();
        contexts.retain(|c| c == DEFAULT_CONTEXT || shown.contains(c));
    }
    reply(&params.page(contexts, None))
}

/// `DELETE /contexts/{context}`: forgets an empty context; 204 with no body.
pub async fn delete_context(State(state): State<AppState>, Path(raw): Path<String>) -> Result<StatusCode, ApiError> {
    let context = parse_context(&raw)?;
    state.registry.delete_context(&context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A `/contexts/{context}/...` path that was not rewritten: its context is no name.
pub async fn invalid_context_path(Path((raw, _rest)): Path<(String, String)>) -> ApiError {
    match parse_context(&raw) {
        Err(err) => err,
        // A valid name is always rewritten; reaching here it names no route.
        Ok(_) => ApiError::not_found(),
    }
}

fn parse_context(raw: &str) -> Result<Context, ApiError> {
    Context::parse(raw).map_err(|_| {
        let shown = super::contexts::invalid_context(raw);
        ApiError::bad_request(if shown.contains(':') {
            format!("Context name '{shown}' cannot contain a colon")
        } else {
            format!("Context name '{shown}' is not valid: it must not hold control characters")
        })
    })
}

/// A `subjectPrefix` as a filter; a prefix naming no valid context is an invalid subject.
fn subject_filter(prefix: &str) -> Result<SubjectFilter, ApiError> {
    SubjectFilter::parse(prefix).map_err(|_| RegistryError::InvalidSubject(prefix.to_string()).into())
}

pub async fn cluster_id() -> Reply {
    reply(&json!({
        "scope": {"path": [], "clusters": {"kafka-cluster": "herald", "schema-registry-cluster": "herald"}},
        "id": ""
    }))
}

pub async fn server_version() -> Reply {
    reply(&json!({"version": env!("CARGO_PKG_VERSION"), "commitId": ""}))
}

/// Whether the caller may read the subject: listings keep only those.
fn readable(caller: &Caller, subject: &str) -> bool {
    caller.may(Operation::Read, &Resource::subject(subject))
}

/// A schema id is the caller's to read if it may read a subject that uses it (Confluent's
/// implicit schema read); otherwise it is answered as unknown, telling nothing.
async fn check_id_readable(state: &AppState, caller: &Caller, context: &Context, id: i64) -> Result<(), ApiError> {
    if caller.may_all(Operation::Read, ResourceKind::Subject) {
        return Ok(());
    }
    let versions = state.registry.versions_of_id(context, id, None, true).await?;
    if versions.iter().any(|(subject, _)| readable(caller, subject)) {
        Ok(())
    } else {
        Err(RegistryError::SchemaNotFound(Some(id)).into())
    }
}

pub async fn list_schemas(State(state): State<AppState>, caller: Caller, params: Params) -> Reply {
    // The default context unless the prefix names another, or every one (`:*:`).
    let filter = subject_filter(params.text("subjectPrefix").unwrap_or(""))?;
    let mut schemas = state
        .registry
        .list_schemas(&filter, params.flag("deleted"), params.flag("latestOnly"))
        .await?;
    if !caller.may_all(Operation::Read, ResourceKind::Subject) {
        schemas.retain(|s| readable(&caller, &s.subject));
    }
    let schemas = params.page(schemas, Some(SCHEMA_PAGE_MAX));
    reply(
        &schemas
            .iter()
            .map(|s| SchemaView::new(s, state.api_profile))
            .collect::<Vec<_>>(),
    )
}

pub async fn schema_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let id = schema_id(&id)?;
    let (context, found_under) = state.registry.locate_id(id, params.text("subject")).await?;
    let schema = state.registry.schema_by_id(&context, id).await?;
    check_id_readable(&state, &caller, &context, id).await?;
    let schema = formatted(&state, schema, &params).await?;
    let max_id = if params.flag("fetchMaxId") {
        Some(state.registry.max_schema_id(&context).await?)
    } else {
        None
    };
    let view = SchemaStringView::new(&schema, max_id, state.api_profile);
    // 8.x names where the id sits in the subject asked about: its newest live version there.
    let subject = found_under.filter(|_| state.api_profile.names_subject_version());
    let placed = match subject {
        Some(subject) => match state.registry.versions_of_id(&context, id, Some(&subject), false).await {
            Ok(mut versions) => versions.pop(),
            // Every version using the id is gone: the schema alone answers.
            Err(RegistryError::SchemaNotFound(_)) => None,
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    match &placed {
        Some((subject, version)) => reply(&view.in_subject(subject, *version)),
        None => reply(&view),
    }
}

pub async fn schema_text_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let id = schema_id(&id)?;
    let (context, _) = state.registry.locate_id(id, params.text("subject")).await?;
    let schema = state.registry.schema_by_id(&context, id).await?;
    check_id_readable(&state, &caller, &context, id).await?;
    raw(&formatted(&state, schema, &params).await?.schema)
}

/// A schema in the `format` a client asks for: `serialized` gives a Protobuf schema as a
/// base64 `FileDescriptorProto` (confluent-kafka's deserializers ask for it with
/// `use.latest.version`), `ignore_extensions` its text without custom options and
/// extensions; any other format, and any other type, reads as stored.
async fn formatted(
    state: &AppState,
    schema: Arc<StoredSchema>,
    params: &Params,
) -> Result<Arc<StoredSchema>, ApiError> {
    let format = params.text("format");
    if schema.schema_type != SchemaType::Protobuf || !matches!(format, Some("serialized" | "ignore_extensions")) {
        // Any other format is the stored text, as Confluent answers unknown ones.
        return Ok(schema);
    }
    let parsed = state.registry.parsed_schema(&schema.context, schema.id).await?;
    let Schema::Protobuf(proto) = parsed.as_ref() else {
        return Ok(schema);
    };
    let mut answered = StoredSchema::clone(&schema);
    answered.schema = match format {
        Some("serialized") => proto.serialized(),
        _ => proto.without_extensions(),
    };
    Ok(Arc::new(answered))
}

/// Every version using the id in the context `subject` locates it in (as
/// `/schemas/ids/{id}` does), whatever their subject; only those the caller may read, and
/// the id unknown if that is none.
async fn versions_of_located_id(
    state: &AppState,
    caller: &Caller,
    id: i64,
    params: &Params,
) -> Result<Vec<(String, i64)>, ApiError> {
    let (context, _) = state.registry.locate_id(id, params.text("subject")).await?;
    check_id_readable(state, caller, &context, id).await?;
    let mut versions = state
        .registry
        .versions_of_id(&context, id, None, params.flag("deleted"))
        .await?;
    versions.retain(|(subject, _)| readable(caller, subject));
    Ok(versions)
}

pub async fn subjects_of_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let id = schema_id(&id)?;
    let mut subjects: Vec<String> = versions_of_located_id(&state, &caller, id, &params)
        .await?
        .into_iter()
        .map(|(subject, _)| subject)
        .collect();
    subjects.dedup();
    reply(&params.page(subjects, None))
}

pub async fn versions_of_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Reply {
    let id = schema_id(&id)?;
    let versions = versions_of_located_id(&state, &caller, id, &params).await?;
    let versions = params.page(versions, None);
    reply(
        &versions
            .iter()
            .map(|(subject, version)| SubjectVersionView {
                subject,
                version: *version,
            })
            .collect::<Vec<_>>(),
    )
}

pub async fn subjects(State(state): State<AppState>, caller: Caller, params: Params) -> Reply {
    // Every context (`:*:`) unless the prefix names one.
    let filter = subject_filter(params.text("subjectPrefix").unwrap_or(ALL_CONTEXTS))?;
    let mut subjects = state
        .registry
        .subjects(&filter, params.flag("deleted"), params.flag("deletedOnly"))
        .await?;
    if !caller.may_all(Operation::Read, ResourceKind::Subject) {
        subjects.retain(|s| readable(&caller, s));
    }
    reply(&params.page(subjects, None))
}

pub async fn lookup(State(state): State<AppState>, Path(subject): Path<String>, params: Params, body: Bytes) -> Reply {
    let request = parse_registry_body::<SchemaBody>(&body)?.into_request()?;
    let found = state
        .registry
        .lookup(&subject, &request, params.flag("normalize"), params.flag("deleted"))
        .await?;
    reply(&SchemaView::new(found.as_ref(), state.api_profile))
}

pub async fn delete_subject(State(state): State<AppState>, Path(subject): Path<String>, params: Params) -> Reply {
    let versions = state
        .registry
        .delete_subject(&subject, params.flag("permanent"))
        .await?;
    reply(&versions)
}

pub async fn versions(State(state): State<AppState>, Path(subject): Path<String>, params: Params) -> Reply {
    let versions = state
        .registry
        .versions(&subject, params.flag("deleted"), params.flag("deletedOnly"))
        .await?;
    reply(&params.page(versions, None))
}

pub async fn register(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    body: Bytes,
) -> Reply {
    let profile = state.api_profile;
    let outcome = async {
        let request = parse_registry_body::<SchemaBody>(&body)?.into_request()?;
        state
            .registry
            .register(&subject, &request, params.flag("normalize"))
            .await
            .map_err(|err| profile.error(err))
    }
    .await;
    let registered = match outcome {
        Ok(registered) => registered,
        Err(err) => {
            state.metrics.record_rejection(match err.code {
                _ if err.status == StatusCode::CONFLICT => "incompatible",
                42205 => "mode",
                50001 => "error",
                c if c >= 42200 => "invalid",
                _ => "malformed",
            });
            return Err(err);
        }
    };
    state
        .metrics
        .record_registration(if registered.created { "created" } else { "existing" });
    if registered.rewritten || profile.full_registration() {
        reply(&RegisteredView::new(
            registered.id,
            registered.version,
            &registered.schema,
            profile,
        ))
    } else {
        reply(&IdView { id: registered.id })
    }
}

/// The version a `/subjects/{s}/versions/{v}` path names, with `deleted` honoured.
async fn named_version(state: &AppState, subject: &str, v: &str, params: &Params) -> Result<SubjectSchema, ApiError> {
    Ok(state
        .registry
        .version(subject, version(v)?, params.flag("deleted"))
        .await?)
}

pub async fn get_version(
    State(state): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let mut found = named_version(&state, &subject, &v, &params).await?;
    found.schema = StoredSchema::clone(&*formatted(&state, Arc::new(found.schema), &params).await?);
    reply(&SchemaView::new(&found, state.api_profile))
}

pub async fn get_version_text(
    State(state): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let found = named_version(&state, &subject, &v, &params).await?;
    raw(&formatted(&state, Arc::new(found.schema), &params).await?.schema)
}

pub async fn referenced_by(
    State(state): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let ids = state
        .registry
        .referenced_by(&subject, version(&v)?, params.flag("deleted"))
        .await?;
    reply(&params.page(ids, None))
}

pub async fn delete_version(
    State(state): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let deleted = state
        .registry
        .delete_version(&subject, version(&v)?, params.flag("permanent"))
        .await?;
    reply(&deleted)
}

pub async fn subject_metadata(State(state): State<AppState>, Path(subject): Path<String>, params: Params) -> Reply {
    let keys: Vec<&str> = params.all("key").collect();
    let values: Vec<&str> = params.all("value").collect();
    if keys.len() != values.len() {
        return Err(ApiError::bad_request(
            "Each \"key\" parameter needs a \"value\" parameter",
        ));
    }
    let pairs: Vec<(&str, &str)> = keys.into_iter().zip(values).collect();
    let found = state
        .registry
        .latest_with_metadata(&subject, &pairs, params.flag("deleted"))
        .await?;
    reply(&SchemaView::new(&found, state.api_profile))
}

async fn check(state: &AppState, subject: &str, v: Option<VersionSpec>, params: &Params, body: &Bytes) -> Reply {
    let request = parse_registry_body::<SchemaBody>(body)?.into_request()?;
    let verbose = params.flag("verbose");
    let verdict = state
        .registry
        .check_compatibility(subject, v, &request, params.flag("normalize"), verbose)
        .await?;
    reply(&CompatibilityView {
        is_compatible: verdict.is_compatible,
        messages: verbose.then_some(verdict.messages),
    })
}

pub async fn check_version(
    State(state): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
    body: Bytes,
) -> Reply {
    let v = version(&v)?;
    check(&state, &subject, Some(v), &params, &body).await
}

pub async fn check_all(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    body: Bytes,
) -> Reply {
    check(&state, &subject, None, &params, &body).await
}

pub async fn get_global_config(State(state): State<AppState>) -> Reply {
    reply(&ConfigView::from(&state.registry.config(None, true).await?))
}

pub async fn get_config(State(state): State<AppState>, Path(subject): Path<String>, params: Params) -> Reply {
    let config = state
        .registry
        .config(Some(&subject), params.flag("defaultToGlobal"))
        .await?;
    reply(&ConfigView::from(&config))
}

async fn put_config(state: &AppState, subject: Option<&str>, body: &Bytes) -> Reply {
    let update = parse_registry_body::<ConfigBody>(body)?;
    state.registry.set_config(subject, update.to_config()?).await?;
    reply(&update)
}

pub async fn put_global_config(State(state): State<AppState>, body: Bytes) -> Reply {
    put_config(&state, None, &body).await
}

pub async fn put_subject_config(State(state): State<AppState>, Path(subject): Path<String>, body: Bytes) -> Reply {
    put_config(&state, Some(&subject), &body).await
}

pub async fn delete_global_config(State(state): State<AppState>) -> Reply {
    reply(&ConfigView::from(&state.registry.delete_config(None).await?))
}

pub async fn delete_subject_config(State(state): State<AppState>, Path(subject): Path<String>) -> Reply {
    reply(&ConfigView::from(&state.registry.delete_config(Some(&subject)).await?))
}

fn mode_view(mode: Mode) -> Reply {
    reply(&ModeBody {
        mode: mode.as_str().to_string(),
    })
}

pub async fn get_global_mode(State(state): State<AppState>) -> Reply {
    mode_view(state.registry.mode(None, true).await?)
}

pub async fn get_mode(State(state): State<AppState>, Path(subject): Path<String>, params: Params) -> Reply {
    mode_view(
        state
            .registry
            .mode(Some(&subject), params.flag("defaultToGlobal"))
            .await?,
    )
}

async fn put_mode(state: &AppState, subject: Option<&str>, params: &Params, body: &Bytes) -> Reply {
    let body = parse_registry_body::<ModeBody>(body)?;
    let mode: Mode = body.mode.parse::<Mode>().map_err(ApiError::from)?;
    let mode = state.registry.set_mode(subject, mode, params.flag("force")).await?;
    mode_view(mode)
}

pub async fn put_global_mode(State(state): State<AppState>, params: Params, body: Bytes) -> Reply {
    put_mode(&state, None, &params, &body).await
}

pub async fn put_subject_mode(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    body: Bytes,
) -> Reply {
    put_mode(&state, Some(&subject), &params, &body).await
}

pub async fn delete_global_mode(State(state): State<AppState>) -> Reply {
    mode_view(state.registry.delete_mode(None).await?)
}

pub async fn delete_subject_mode(State(state): State<AppState>, Path(subject): Path<String>) -> Reply {
    mode_view(state.registry.delete_mode(Some(&subject)).await?)
}
