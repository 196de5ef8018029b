//! Query parameters read as Confluent's Jersey reads them: booleans are true only for
//! `true` in any case (the Python client sends `True`/`False`), everything else is false and
//! never an error; numbers that do not parse fall back to their default; unknown names are
//! ignored. The broker's reads are stricter ([`Params::whole_number`]): a position or a size
//! that does not parse must not quietly become another read.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use super::error::ApiError;

#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
            Ok(Query(pairs)) => Ok(Params(pairs)),
            Err(err) => Err(ApiError::bad_request(format!("Invalid query string: {err}"))),
        }
    }
}

impl Params {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.text(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub fn number(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|v| v.trim().parse().ok())
    }

    /// A whole-number parameter that must lie in `range`, `None` when absent. A value that
    /// does not parse or lies outside is refused (422/42201) with the parameter's name and
    /// range, never read as another value. Checks without allocating unless it refuses.
    pub fn whole_number(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        match text.trim().parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::unprocessable(
                42201,
                format!(
                    "Invalid parameter {name}={text:?}: must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// `offset` and `limit` applied to a list: a negative or absent limit means all, and
    /// `max` (when given) caps it.
    pub fn page<T>(&self, items: Vec<T>, max: Option<usize>) -> Vec<T> {
        let offset = self.number("offset").unwrap_or(0).max(0) as usize;
        let limit = match self.number("limit") {
            Some(n) if n > 0 => Some(n as usize),
            _ => None,
        };
        let limit = match (limit, max) {
            (Some(l), Some(m)) => l.min(m),
            (Some(l), None) => l,
            (None, m) => m.unwrap_or(usize::MAX),
        };
        items.into_iter().skip(offset).take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn booleans_are_lenient() {
        let p = params(&[("a", "True"), ("b", "FALSE"), ("c", "yes"), ("d", ""), ("e", "true ")]);
        assert!(p.flag("a"));
        assert!(!p.flag("b"));
        assert!(!p.flag("c"));
        assert!(!p.flag("d"));
        assert!(p.flag("e"));
        assert!(!p.flag("missing"));
    }

    #[test]
    fn whole_numbers_are_checked_not_guessed() {
        let p = params(&[
            ("offset", "7"),
            ("neg", "-1"),
            ("junk", "1e3"),
            ("huge", "99999999999999999999"),
        ]);
        assert_eq!(p.whole_number("offset", 0..=i64::MAX).unwrap(), Some(7));
        assert_eq!(p.whole_number("absent", 0..=10).unwrap(), None);
        for name in ["neg", "junk", "huge"] {
            let err = p.whole_number(name, 0..=i64::MAX).unwrap_err();
            assert_eq!((err.status.as_u16(), err.code), (422, 42201));
            assert!(
                err.message.contains(name) && err.message.contains("from 0 to"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn pages_skip_and_cap() {
        let items: Vec<i32> = (1..=10).collect();
        assert_eq!(
            params(&[("offset", "2"), ("limit", "3")]).page(items.clone(), None),
            vec![3, 4, 5]
        );
        assert_eq!(params(&[("limit", "-1")]).page(items.clone(), None).len(), 10);
        assert_eq!(params(&[("limit", "junk")]).page(items.clone(), Some(4)).len(), 4);
        assert_eq!(params(&[("offset", "20")]).page(items, None), Vec::<i32>::new());
    }
}
