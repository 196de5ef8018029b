//! Media types as Confluent's registry negotiates them (registry-api.md §1.1): responses in
//! `application/vnd.schemaregistry.v1+json` unless the client prefers one of the two other
//! JSON types; 406 for an `Accept` none of them satisfies; 415 for a request body in a type
//! the API does not read.

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

/// Checks a registry request's `Accept` and `Content-Type`: the response type to use, or
/// the 406 or 415 to answer instead.
pub fn negotiate(request: &Request) -> Result<&'static str, ApiError> {
    let Some(chosen) = choose(request.headers()) else {
        return Err(ApiError::plain(StatusCode::NOT_ACCEPTABLE, "HTTP 406 Not Acceptable"));
    };
    if matches!(*request.method(), Method::POST | Method::PUT) && !readable(request.headers()) {
        return Err(ApiError::plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "HTTP 415 Unsupported Media Type",
        ));
    }
    Ok(chosen)
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
    let mut best: Option<(&'static str, f32)> = None;
    for (offered, qs) in OFFERED {
        let q = ranges
            .iter()
            .filter(|(range, _)| matches_range(range, offered))
            .map(|(range, q)| (specificity(range), *q))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map_or(0.0, |(_, q)| q);
        let score = q * qs;
        if score > 0.0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((offered, score));
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
        .filter_map(|p| p.trim().strip_prefix("q="))
        .filter_map(|q| q.trim().parse::<f32>().ok())
        .next()
        .unwrap_or(1.0);
    Some((range, q))
}

fn matches_range(range: &str, offered: &str) -> bool {
    range == "*/*" || range == offered || (range == "application/*" && offered.starts_with("application/"))
}

fn specificity(range: &str) -> u8 {
    match range {
        "*/*" => 0,
        "application/*" => 1,
        _ => 2,
    }
}

/// May the request body be read? A request without a `Content-Type` is read as JSON.
fn readable(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    READABLE.contains(&essence.as_str())
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
