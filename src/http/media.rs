//! Media types as Confluent's registry negotiates them (registry-api.md §1.1): responses in
//! `application/vnd.schemaregistry.v1+json` unless the client prefers one of the two other
//! JSON types; 406 for an `Accept` none of them satisfies; 415 for a request body in a type
//! the API does not read.

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

pub const V1: &str = "application/vnd.schemaregistry.v1+json";

/// The `Accept` header of Confluent's Python and Java clients.
const CLIENT_ACCEPT: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// What responses can be, with the server's preference (Jersey's `qs`).
const OFFERED: [(&str, f32); 3] = [
    (V1, 1.0),
    ("application/vnd.schemaregistry+json", 0.9),
    ("application/json", 0.5),
];

/// What request bodies can be; octet-stream is read as JSON, for ad-hoc curl.
const READABLE: [&str; 4] = [
    V1,
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// A JSON body, typed as the default response type; [`negotiate`] retypes it.
pub fn json_body(bytes: Vec<u8>) -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static(V1))], bytes)
}

/// The API a request body is for: each reads its own JSON family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The registry: [`READABLE`], as Confluent's resources consume.
    Registry,
    /// The broker's REST Proxy-shaped routes: `application/json`, REST Proxy's
    /// `application/vnd.kafka.*+json`, and the registry's two JSON types.
    Broker,
}

/// Checks a registry request's `Accept` and `Content-Type`: the response type to use, or
/// the 406 or 415 to answer instead. `typed_body` says whether the route takes a body (an
/// unknown path answers 404, whatever its type).
pub fn negotiate(request: &Request, typed_body: bool) -> Result<&'static str, ApiError> {
    let Some(chosen) = choose(request.headers()) else {
        return Err(ApiError::plain(StatusCode::NOT_ACCEPTABLE, "HTTP 406 Not Acceptable"));
    };
    if typed_body {
        check_body_type(request, Door::Registry)?;
    }
    Ok(chosen)
}

/// Refuses a mutating request whose body is not of its door's JSON family: 415 for forms,
/// `text/plain` and a missing `Content-Type`. Those are what any web page can send
/// cross-site without the browser asking first (a CORS "simple request"), so accepting them
/// would let a page change the registry or produce records through a visitor's browser.
/// POST and PUT always declare a type, as does PATCH on the broker; DELETE only when it
/// carries a body. (The registry has no PATCH route: a PATCH there is answered 405, as
/// Confluent answers it, before any question of type.)
pub fn check_body_type(request: &Request, door: Door) -> Result<(), ApiError> {
    let headers = request.headers();
    let declares = match *request.method() {
        Method::POST | Method::PUT => true,
        Method::PATCH => door == Door::Broker,
        Method::DELETE => !request.body().is_end_stream(),
        _ => false,
    };
    if !declares || readable(headers, door) {
        return Ok(());
    }
    Err(ApiError::plain(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "HTTP 415 Unsupported Media Type",
    ))
}

/// Gives a JSON response the negotiated type.
pub fn retype(mut response: Response, chosen: &'static str) -> Response {
    if chosen != V1 && response.headers().get(CONTENT_TYPE).is_some_and(|t| t == V1) {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(chosen));
    }
    response
}

/// The response type for an `Accept` header, or `None` when nothing offered is acceptable.
fn choose(headers: &HeaderMap) -> Option<&'static str> {
    // What the official clients send, answered without parsing.
    let mut values = headers.get_all(ACCEPT).iter();
    match (values.next(), values.next()) {
        (None, _) => return Some(V1),
        (Some(only), None) if only == CLIENT_ACCEPT || only == "*/*" || only == V1 => return Some(V1),
        _ => {}
    }
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Some(V1);
    }
    let ranges: Vec<(String, f32)> = accept.split(',').filter_map(media_range).collect();
    // Jersey's order (JAX-RS's combined media types): every offered type is concrete, so
    // the client's q decides first, the server's qs breaks ties. Each offered type takes the
    // best q of the ranges it matches; q=0 means "not this one".
    let mut best: Option<(&'static str, f32)> = None;
    for (offered, _qs) in OFFERED {
        let q = ranges
            .iter()
            .filter(|(range, _)| matches_range(range, offered))
            .map(|(_, q)| *q)
            .fold(0.0, f32::max);
        // OFFERED is in descending qs: a later type wins only with a higher q.
        if q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((offered, q));
        }
    }
    best.map(|(offered, _)| offered)
}

/// `type/subtype;q=0.5` → (`type/subtype`, 0.5). A bare `*` counts as `*/*`.
fn media_range(text: &str) -> Option<(String, f32)> {
    let mut parts = text.split(';');
    let range = parts.next()?.trim().to_ascii_lowercase();
    if range.is_empty() {
        return None;
    }
    let range = if range == "*" { "*/*".to_string() } else { range };
    let q = parts
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim().eq_ignore_ascii_case("q").then_some(value)
        })
        .filter_map(|q| q.trim().parse::<f32>().ok())
        .next()
        .unwrap_or(1.0);
    Some((range, q))
}

fn matches_range(range: &str, offered: &str) -> bool {
    range == "*/*" || range == offered || (range == "application/*" && offered.starts_with("application/"))
}

/// May the request body be read through `door`? Parameters (`; charset=utf-8`) are ignored,
/// the type compared without case; a missing type is not readable.
fn readable(headers: &HeaderMap, door: Door) -> bool {
    let Some(text) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    match door {
        Door::Registry => READABLE.into_iter().any(is),
        Door::Broker => {
            is("application/json") || is(V1) || is("application/vnd.schemaregistry+json") || is_kafka_json(essence)
        }
    }
}

/// REST Proxy's types: `application/vnd.kafka.v2+json`, `application/vnd.kafka.json.v2+json`, …
fn is_kafka_json(essence: &str) -> bool {
    const PREFIX: &str = "application/vnd.kafka.";
    const SUFFIX: &str = "+json";
    essence.len() > PREFIX.len() + SUFFIX.len()
        && essence.is_char_boundary(PREFIX.len())
        && essence.is_char_boundary(essence.len() - SUFFIX.len())
        && essence[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
        && essence[essence.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<&'static str> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        choose(&headers)
    }

    #[test]
    fn accept_headers_pick_the_best_offered_type() {
        assert_eq!(choose(&HeaderMap::new()), Some(V1));
        assert_eq!(accept("*/*"), Some(V1));
        assert_eq!(accept("*"), Some(V1));
        assert_eq!(accept("application/*"), Some(V1));
        assert_eq!(accept("application/json"), Some("application/json"));
        assert_eq!(
            accept("application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"),
            Some(V1)
        );
        assert_eq!(
            accept("application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5"),
            Some("application/vnd.schemaregistry+json")
        );
        assert_eq!(accept("application/json, */*;q=0.1"), Some("application/json"));
        // The client's q first, the server's qs only between equals.
        assert_eq!(accept("application/json;q=0.9, */*;q=0.8"), Some("application/json"));
        assert_eq!(
            accept("application/json;q=0.5, application/vnd.schemaregistry+json;q=0.5"),
            Some("application/vnd.schemaregistry+json")
        );
        assert_eq!(accept("text/html, application/*;q=0.2"), Some(V1));
        assert_eq!(accept("application/json;q=0, */*"), Some(V1));
        assert_eq!(accept("APPLICATION/JSON"), Some("application/json"));
        assert_eq!(
            accept("text/html;level=1, application/json;charset=utf-8"),
            Some("application/json")
        );
    }

    fn body_typed(method: Method, content_type: Option<&str>, door: Door) -> bool {
        let mut request = Request::builder().method(method).uri("/x");
        if let Some(t) = content_type {
            request = request.header(CONTENT_TYPE, t);
        }
        check_body_type(&request.body(axum::body::Body::empty()).unwrap(), door).is_ok()
    }

    #[test]
    fn mutating_requests_need_a_json_family_type() {
        for door in [Door::Registry, Door::Broker] {
            for method in [Method::POST, Method::PUT] {
                for refused in [
                    None,
                    Some("text/plain"),
                    Some("text/plain;charset=UTF-8"),
                    Some("application/x-www-form-urlencoded"),
                    Some("multipart/form-data; boundary=x"),
                    Some(""),
                ] {
                    assert!(
                        !body_typed(method.clone(), refused, door),
                        "{method} {refused:?} {door:?}"
                    );
                }
                for accepted in ["application/json", "Application/JSON; charset=utf-8", V1] {
                    assert!(
                        body_typed(method.clone(), Some(accepted), door),
                        "{method} {accepted} {door:?}"
                    );
                }
            }
            assert!(
                body_typed(Method::DELETE, None, door),
                "a DELETE without a body needs no type"
            );
            assert!(body_typed(Method::GET, Some("text/plain"), door));
        }
        assert!(!body_typed(Method::PATCH, None, Door::Broker));
        assert!(
            body_typed(Method::PATCH, None, Door::Registry),
            "left to the registry's 405"
        );
        assert!(body_typed(
            Method::POST,
            Some("application/octet-stream"),
            Door::Registry
        ));
        assert!(!body_typed(
            Method::POST,
            Some("application/octet-stream"),
            Door::Broker
        ));
        assert!(body_typed(
            Method::POST,
            Some("application/vnd.kafka.binary.v2+json"),
            Door::Broker
        ));
        assert!(!body_typed(
            Method::POST,
            Some("application/vnd.kafka.binary.v2+json"),
            Door::Registry
        ));
        assert!(!body_typed(
            Method::POST,
            Some("application/vnd.kafka.+json"),
            Door::Broker
        ));
    }

    #[test]
    fn a_delete_with_a_body_declares_its_type() {
        let request = Request::builder()
            .method(Method::DELETE)
            .uri("/x")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        assert!(check_body_type(&request, Door::Broker).is_err());
    }

    #[test]
    fn unacceptable_accept_headers_are_refused() {
        for value in [
            "application/vnd.schemaregistry.v2+json",
            "text/*",
            "text/html",
            "application/octet-stream",
            "application/json;q=0",
        ] {
            assert_eq!(accept(value), None, "{value}");
        }
    }
}
