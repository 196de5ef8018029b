//! Who may call what over HTTP: each route's operation on the resource its path names,
//! decided from the route and its path parameters alone, before any lookup or body read,
//! so that a refusal never tells whether the resource exists. Listings and by-id reads ask
//! for a principal only, and their handlers answer just what it may see.

use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use std::sync::Arc;

use crate::security::{AuthError, Credentials, Operation, Principal, Resource, Security};

/// What a route asks of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: health probes and the list of schema types.
    Public,
    /// A principal; the handler answers only what it may see (listings, reads by schema
    /// id), or checks once it has read which resource the body names (topic creation).
    Principal,
    /// A principal allowed this operation on this resource.
    Needs(Operation, Resource),
}

/// The requirement of `method` on the route template `route`, with its path parameters.
pub fn requirement(method: &Method, route: &str, param: impl Fn(&str) -> Option<String>) -> Requirement {
    use Operation::*;
    let reading = matches!(*method, Method::GET | Method::HEAD);
    let subject = || Resource::subject(param("subject").unwrap_or_default());
    let topic = || Resource::topic(param("topic").unwrap_or_default());
    let group = || Resource::group(param("group").unwrap_or_default());
    let needs = |operation, resource| Requirement::Needs(operation, resource);
    match route {
        "/health" | "/health/live" | "/health/ready" | "/schemas/types" => Requirement::Public,
        "/" | "/schemas" | "/subjects" | "/contexts" | "/v1/metadata/id" | "/v1/metadata/version" => {
            Requirement::Principal
        }
        r if r.starts_with("/schemas/ids/") => Requirement::Principal,
        "/subjects/{subject}" if *method == Method::POST => needs(Read, subject()),
        "/subjects/{subject}" | "/subjects/{subject}/versions/{version}" if *method == Method::DELETE => {
            needs(Delete, subject())
        }
        "/subjects/{subject}/versions" if *method == Method::POST => needs(Write, subject()),
        r if r.starts_with("/subjects/{subject}") => needs(Read, subject()),
        // A compatibility check reads: CI jobs that may not register still check.
        r if r.starts_with("/compatibility/subjects/{subject}") => needs(Read, subject()),
        "/config" | "/mode" if reading => needs(Read, Resource::registry()),
        "/config" | "/mode" => needs(Configure, Resource::registry()),
        "/config/{subject}" | "/mode/{subject}" if reading => needs(Read, subject()),
        "/config/{subject}" | "/mode/{subject}" => needs(Configure, subject()),
        "/contexts/{context}" | "/contexts/{context}/{*rest}" => needs(Admin, Resource::registry()),
        // Topic creation names its topic in the body: checked by the handler.
        "/topics" => Requirement::Principal,
        "/topics/{topic}" => match *method {
            Method::POST => needs(Produce, topic()),
            Method::GET | Method::HEAD => needs(Describe, topic()),
            _ => needs(Admin, topic()),
        },
        "/topics/{topic}/partitions/{partition}" => needs(Produce, topic()),
        "/topics/{topic}/partitions/{partition}/records" | "/topics/{topic}/live" => needs(Consume, topic()),
        // A subscription sends the topic's records to an address outside: making or changing
        // one is the topic's administrators' call; seeing them is describing the topic.
        r if r.starts_with("/topics/{topic}/subscriptions") && !reading => needs(Admin, topic()),
        "/subscriptions" => Requirement::Principal,
        r if r.starts_with("/topics/{topic}") => needs(Describe, topic()),
        // Joining, reading and committing as a group; the topics subscribed to are checked
        // by the handlers.
        r if r.starts_with("/consumers/{group}") => needs(Consume, group()),
        // Declaring what a group reads speaks for the group (and reads the subject, which
        // the handler checks); seeing its contracts is describing it.
        "/herald/v1/consumers/{group}/contracts/{subject}" if !reading => needs(Consume, group()),
        r if r.starts_with("/herald/v1/consumers/{group}") => needs(Describe, group()),
        "/herald/v1/contracts" => Requirement::Principal,
        "/consumer-groups" => Requirement::Principal,
        "/consumer-groups/{group}" => needs(Describe, group()),
        "/metrics" => needs(Describe, Resource::cluster()),
        // Docs pages and AsyncAPI documents: each shows only the topics the principal may
        // describe and the subjects it may read.
        _ => Requirement::Principal,
    }
}

/// Whether a request changes what the audit log records: registrations, deletes, configs
/// and modes, topics, contexts, consumer offset resets. Reads are not, nor are lookups and
/// compatibility checks (POSTs that read), produced records (data, not configuration), or a
/// REST consumer's own reading and committing.
pub fn audited(method: &Method, route: &str, requirement: &Requirement) -> bool {
    use Operation::*;
    if matches!(*method, Method::GET | Method::HEAD) {
        return false;
    }
    // Declaring or withdrawing a consumer contract changes what registration accepts.
    if route.starts_with("/herald/v1/consumers/") {
        return true;
    }
    if route.starts_with("/consumers/") {
        return route.contains("/positions");
    }
    !matches!(requirement, Requirement::Needs(Read | Describe | Produce | Consume, _))
}

/// The credentials a request carries. Malformed ones are invalid credentials, not none.
pub fn credentials(headers: &HeaderMap) -> Result<Option<OwnedCredentials>, AuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Invalid)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::Invalid)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_simd::STANDARD
            .decode_to_vec(rest.as_bytes())
            .map_err(|_| AuthError::Invalid)?;
        let text = String::from_utf8(decoded).map_err(|_| AuthError::Invalid)?;
        let colon = text.find(':').ok_or(AuthError::Invalid)?;
        Ok(Some(OwnedCredentials::Basic { text, colon }))
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Ok(Some(OwnedCredentials::Bearer(rest.to_string())))
    } else {
        Err(AuthError::Invalid)
    }
}

/// Credentials as read from a header: Basic's `user:password` (split at the first colon,
/// as clients split `basic.auth.user.info`), or a bearer token.
#[derive(Debug, Clone)]
pub enum OwnedCredentials {
    Basic {
        text: String,
        colon: usize,
    },
    Bearer(String),
    /// The principal the connection's client certificate names (verified by TLS).
    Certificate(Arc<str>),
}

impl OwnedCredentials {
    pub fn borrow(&self) -> Credentials<'_> {
        match self {
            OwnedCredentials::Basic { text, colon } => Credentials::Basic {
                user: &text[..*colon],
                password: &text[*colon + 1..],
            },
            OwnedCredentials::Bearer(token) => Credentials::Bearer(token),
            OwnedCredentials::Certificate(name) => Credentials::Certificate(name),
        }
    }

    /// Whether these credentials could be a guess: a password or a token, which failed
    /// logins throttle; a certificate the handshake verified is not.
    pub fn guessable(&self) -> bool {
        !matches!(self, OwnedCredentials::Certificate(_))
    }

    /// The user name given, for the audit log (never the password or token).
    pub fn user(&self) -> Option<&str> {
        match self {
            OwnedCredentials::Basic { text, colon } => Some(&text[..*colon]),
            OwnedCredentials::Bearer(_) | OwnedCredentials::Certificate(_) => None,
        }
    }
}

/// The principal of credentials read from a request. A password not verified recently is
/// checked on a blocking thread: argon2 is slow by design, and a flood of guesses must not
/// hold up the async workers answering everyone else.
pub async fn authenticate(security: &Arc<Security>, given: Option<&OwnedCredentials>) -> Result<Principal, AuthError> {
    let Some(given) = given else {
        return security.authenticate(Credentials::None);
    };
    if let Some(quick) = security.authenticate_quickly(given.borrow()) {
        return quick;
    }
    let (security, given) = (security.clone(), given.clone());
    tokio::task::spawn_blocking(move || security.authenticate(given.borrow()))
        .await
        .unwrap_or(Err(AuthError::Invalid))
}

/// The request's `Origin`, if it is one of the configured CORS origins. Without configured
/// origins no answer carries CORS headers, so no other site's page can read them.
pub fn cors_origin(security: &Security, headers: &HeaderMap) -> Option<HeaderValue> {
    let origins = &security.settings().cors_origins;
    if origins.is_empty() {
        return None;
    }
    let origin = headers.get(axum::http::header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    origins.iter().any(|o| o == text).then(|| origin.clone())
}

/// The answer to a CORS preflight from an allowed origin.
pub fn preflight(origin: &HeaderValue) -> Response {
    use axum::http::header::{ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE};
    let mut response = StatusCode::NO_CONTENT.into_response();
    allow_origin(&mut response, origin.clone());
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, Accept"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// Lets `origin`'s pages read this answer (with credentials: never for `*`).
pub fn allow_origin(response: &mut Response, origin: HeaderValue) {
    use axum::http::header::{ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, VARY};
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    headers.append(VARY, HeaderValue::from_static("Origin"));
}

/// 429 with `Retry-After`, in the REST Proxy family's code.
pub fn too_many(wait: std::time::Duration, what: &str) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        42901,
        format!("Too many requests: {what}; try again in {seconds} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}

/// 401 with the challenge Basic clients answer (and Bearer's when tokens may be used).
pub fn unauthorized(security: &Security) -> Response {
    challenge(security, "Unauthorized", "")
}

/// 401 for a bearer token past its `expires`: the message says so, and the Bearer
/// challenge carries RFC 6750's `invalid_token`, so that a client knows to get a new one
/// rather than retry.
pub fn expired(security: &Security) -> Response {
    challenge(
        security,
        "Token expired",
        ", error=\"invalid_token\", error_description=\"The token expired\"",
    )
}

fn challenge(security: &Security, message: &str, bearer_error: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, 40101, message).into_response();
    let realm = security.realm().replace(['"', '\\'], "");
    let headers = response.headers_mut();
    if let Ok(basic) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\"")) {
        headers.append(WWW_AUTHENTICATE, basic);
    }
    if let Ok(bearer) = HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"{bearer_error}")) {
        headers.append(WWW_AUTHENTICATE, bearer);
    }
    response
}

/// 403 in Confluent's words: `User is denied operation Write on Subject: orders-value`.
pub fn forbidden(operation: Operation, resource: &Resource) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        40301,
        format!("User is denied operation {} on {resource}", operation.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    fn req(method: Method, route: &str) -> Requirement {
        requirement(&method, route, |name| Some(format!("<{name}>")))
    }

    #[test]
    fn routes_need_what_they_do() {
        let subject = Resource::subject("<subject>");
        let topic = Resource::topic("<topic>");
        for (method, route, expected) in [
            (Method::GET, "/health/ready", Requirement::Public),
            (Method::GET, "/schemas/types", Requirement::Public),
            (Method::GET, "/subjects", Requirement::Principal),
            (Method::GET, "/schemas/ids/{id}", Requirement::Principal),
            (
                Method::POST,
                "/subjects/{subject}",
                Requirement::Needs(Read, subject.clone()),
            ),
            (
                Method::DELETE,
                "/subjects/{subject}",
                Requirement::Needs(Delete, subject.clone()),
            ),
            (
                Method::POST,
                "/subjects/{subject}/versions",
                Requirement::Needs(Write, subject.clone()),
            ),
            (
                Method::GET,
                "/subjects/{subject}/versions/{version}",
                Requirement::Needs(Read, subject.clone()),
            ),
            (
                Method::DELETE,
                "/subjects/{subject}/versions/{version}",
                Requirement::Needs(Delete, subject.clone()),
            ),
            (
                Method::POST,
                "/compatibility/subjects/{subject}/versions",
                Requirement::Needs(Read, subject.clone()),
            ),
            (
                Method::PUT,
                "/config",
                Requirement::Needs(Configure, Resource::registry()),
            ),
            (Method::GET, "/mode", Requirement::Needs(Read, Resource::registry())),
            (
                Method::PUT,
                "/config/{subject}",
                Requirement::Needs(Configure, subject.clone()),
            ),
            (
                Method::DELETE,
                "/mode/{subject}",
                Requirement::Needs(Configure, subject),
            ),
            // Declaring what a group reads speaks for the group; the handler also wants
            // read on the subject.
            (
                Method::PUT,
                "/herald/v1/consumers/{group}/contracts/{subject}",
                Requirement::Needs(Consume, Resource::group("<group>")),
            ),
            (
                Method::DELETE,
                "/herald/v1/consumers/{group}/contracts/{subject}",
                Requirement::Needs(Consume, Resource::group("<group>")),
            ),
            (
                Method::GET,
                "/herald/v1/consumers/{group}/contracts/{subject}",
                Requirement::Needs(Describe, Resource::group("<group>")),
            ),
            (
                Method::GET,
                "/herald/v1/consumers/{group}/contracts",
                Requirement::Needs(Describe, Resource::group("<group>")),
            ),
            (Method::GET, "/herald/v1/contracts", Requirement::Principal),
            (
                Method::POST,
                "/topics/{topic}",
                Requirement::Needs(Produce, topic.clone()),
            ),
            (
                Method::PATCH,
                "/topics/{topic}",
                Requirement::Needs(Admin, topic.clone()),
            ),
            (
                Method::GET,
                "/topics/{topic}/partitions/{partition}/records",
                Requirement::Needs(Consume, topic.clone()),
            ),
            (
                Method::GET,
                "/topics/{topic}/live",
                Requirement::Needs(Consume, topic.clone()),
            ),
            (
                Method::POST,
                "/topics/{topic}/subscriptions",
                Requirement::Needs(Admin, topic.clone()),
            ),
            (
                Method::POST,
                "/topics/{topic}/subscriptions/{name}/resume",
                Requirement::Needs(Admin, topic.clone()),
            ),
            (
                Method::DELETE,
                "/topics/{topic}/subscriptions/{name}",
                Requirement::Needs(Admin, topic.clone()),
            ),
            (
                Method::GET,
                "/topics/{topic}/subscriptions/{name}",
                Requirement::Needs(Describe, topic.clone()),
            ),
            (Method::GET, "/subscriptions", Requirement::Principal),
            (
                Method::GET,
                "/topics/{topic}/partitions/{partition}/offsets",
                Requirement::Needs(Describe, topic),
            ),
            (
                Method::POST,
                "/consumers/{group}",
                Requirement::Needs(Consume, Resource::group("<group>")),
            ),
            (
                Method::GET,
                "/metrics",
                Requirement::Needs(Describe, Resource::cluster()),
            ),
            (Method::GET, "/ui/index.html", Requirement::Principal),
        ] {
            assert_eq!(req(method.clone(), route), expected, "{method} {route}");
        }
    }

    #[test]
    fn only_changes_are_audited() {
        let audited_route = |method: Method, route: &str| audited(&method, route, &req(method.clone(), route));
        assert!(audited_route(Method::POST, "/subjects/{subject}/versions"));
        assert!(audited_route(Method::DELETE, "/subjects/{subject}"));
        assert!(audited_route(Method::PUT, "/config"));
        assert!(audited_route(Method::POST, "/topics"));
        assert!(audited_route(Method::PATCH, "/topics/{topic}"));
        assert!(audited_route(Method::POST, "/topics/{topic}/subscriptions"));
        assert!(audited_route(
            Method::POST,
            "/topics/{topic}/subscriptions/{name}/secret"
        ));
        assert!(!audited_route(Method::GET, "/topics/{topic}/subscriptions"));
        assert!(audited_route(
            Method::POST,
            "/consumers/{group}/instances/{instance}/positions"
        ));
        assert!(audited_route(
            Method::PUT,
            "/herald/v1/consumers/{group}/contracts/{subject}"
        ));
        assert!(audited_route(
            Method::DELETE,
            "/herald/v1/consumers/{group}/contracts/{subject}"
        ));
        assert!(!audited_route(Method::GET, "/herald/v1/consumers/{group}/contracts"));
        assert!(!audited_route(Method::GET, "/subjects"));
        assert!(!audited_route(Method::POST, "/subjects/{subject}"));
        assert!(!audited_route(
            Method::POST,
            "/compatibility/subjects/{subject}/versions"
        ));
        assert!(!audited_route(Method::POST, "/topics/{topic}"));
        assert!(!audited_route(
            Method::POST,
            "/consumers/{group}/instances/{instance}/offsets"
        ));
    }

    #[test]
    fn credentials_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert!(matches!(credentials(&headers), Ok(None)));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYTpzcw=="));
        match credentials(&headers).unwrap() {
            Some(basic @ OwnedCredentials::Basic { .. }) => {
                assert!(matches!(
                    basic.borrow(),
                    Credentials::Basic {
                        user: "user",
                        password: "pa:ss"
                    }
                ))
            }
            other => panic!("{other:?}"),
        }
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(matches!(credentials(&headers).unwrap(), Some(OwnedCredentials::Bearer(t)) if t == "abc"));
        for bad in ["Basic !!!", "Basic dXNlcg==", "Digest x", "Bearer", "garbage"] {
            headers.insert(AUTHORIZATION, HeaderValue::from_static(bad));
            assert_eq!(credentials(&headers).unwrap_err(), AuthError::Invalid, "{bad}");
        }
    }
}

/// Who is calling, for handlers that answer only what the caller may see. Without security
/// configured there is no principal and everything may be seen.
#[derive(Clone, Default)]
pub struct Caller {
    principal: Option<Principal>,
    security: Option<std::sync::Arc<Security>>,
}

impl Caller {
    pub fn new(principal: Principal, security: std::sync::Arc<Security>) -> Caller {
        Caller {
            principal: Some(principal),
            security: Some(security),
        }
    }

    /// The principal's name; `None` without security.
    pub fn name(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| &*p.name)
    }

    /// May the caller do `operation` on `resource`?
    pub fn may(&self, operation: Operation, resource: &Resource) -> bool {
        match (&self.principal, &self.security) {
            (Some(principal), Some(security)) => security.permits(principal, operation, resource),
            _ => true,
        }
    }

    /// The sensitive tags whose fields the caller may not read (none without security).
    pub fn hidden_tags(&self) -> Vec<String> {
        match (&self.principal, &self.security) {
            (Some(principal), Some(security)) => security.hidden_tags(principal),
            _ => Vec::new(),
        }
    }

    /// May the caller do `operation` on every resource of `kind`? Lets a listing skip the
    /// check per name, and a by-id read skip finding the subjects that use the id.
    pub fn may_all(&self, operation: Operation, kind: crate::security::ResourceKind) -> bool {
        match (&self.principal, &self.security) {
            (Some(principal), Some(security)) => security.permits_every(principal, operation, kind),
            _ => true,
        }
    }

    /// The refusal for `operation` on `resource`, if the caller may not do it.
    pub fn check(&self, operation: Operation, resource: &Resource) -> Result<(), ApiError> {
        if self.may(operation, resource) {
            Ok(())
        } else {
            if let (Some(principal), Some(security)) = (&self.principal, &self.security) {
                security.record(crate::security::AuditEvent::denied(
                    &principal.name,
                    operation,
                    resource,
                ));
            }
            Err(forbidden(operation, resource))
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or_default())
    }
}
