//! The context-prefixed form of the registry API: `/contexts/{context}/...` is the same
//! request with every subject it names qualified with that context, as Confluent's
//! registry rewrites it. So `/contexts/.staging/subjects/orders/versions` is
//! `/subjects/:.staging:orders/versions`, `/contexts/.staging/config` is
//! `/config/:.staging:`, and `/contexts/.staging/schemas/ids/3` is
//! `/schemas/ids/3?subject=:.staging:`. Subjects already qualified are left alone.
//!
//! Pure: a path and query in, a path and query out. `DELETE /contexts/{context}` is not a
//! prefix and is routed as it is.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::registry::context::{Context, ALL_CONTEXTS};

/// What must be escaped in a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The path and query a `/contexts/{context}/...` request stands for; `None` for any other
/// path, and for a context name that is not one (left to the router, which answers 400).
pub fn rewrite(path: &str, query: Option<&str>) -> Option<String> {
    let rest = path.strip_prefix("/contexts/")?;
    let (raw_context, tail) = rest.split_once('/')?;
    let context = Context::parse(&decode(raw_context)).ok()?;
    // `:.ctx:`, or nothing at all for the default context.
    let prefix = context.scope_key().unwrap_or_default();
    let mut segments: Vec<String> = tail.split('/').map(str::to_string).collect();
    let mut pairs: Vec<(String, String)> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    for i in 0..segments.len().saturating_sub(1) {
        if segments[i] == "subjects" {
            segments[i + 1] = qualify_segment(&prefix, &segments[i + 1]);
        }
    }
    match (segments[0].as_str(), segments.len()) {
        ("config" | "mode", 1) if !prefix.is_empty() => segments.push(encode(&prefix)),
        ("config" | "mode", 2..) => segments[1] = qualify_segment(&prefix, &segments[1]),
        ("subjects" | "schemas", 1) => qualify_param(&mut pairs, "subjectPrefix", &prefix),
        ("schemas", _) if segments[1] == "ids" => qualify_param(&mut pairs, "subject", &prefix),
        _ => {}
    }

    let mut rewritten = format!("/{}", segments.join("/"));
    if !pairs.is_empty() {
        rewritten.push('?');
        rewritten.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish(),
        );
    }
    Some(rewritten)
}

/// The context name of a `/contexts/{context}/...` path whose context is not a valid name,
/// for the router's 400 answer.
pub fn invalid_context(raw: &str) -> String {
    decode(raw)
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// `prefix` before a subject path segment, unless it already names a context.
fn qualify_segment(prefix: &str, segment: &str) -> String {
    if is_qualified(&decode(segment)) {
        segment.to_string()
    } else {
        format!("{}{segment}", encode(prefix))
    }
}

/// `prefix` before every value of a query parameter, and the parameter set to the prefix
/// when absent.
fn qualify_param(pairs: &mut Vec<(String, String)>, name: &str, prefix: &str) {
    let mut seen = false;
    for (_, value) in pairs.iter_mut().filter(|(k, _)| k == name) {
        seen = true;
        if !is_qualified(value) {
            *value = format!("{prefix}{value}");
        }
    }
    if !seen {
        pairs.push((name.to_string(), prefix.to_string()));
    }
}

fn is_qualified(subject: &str) -> bool {
    subject.starts_with(":.") || subject.starts_with(ALL_CONTEXTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(path: &str, query: Option<&str>) -> Option<String> {
        rewrite(path, query)
    }

    #[test]
    fn subject_paths_gain_the_context() {
        for (path, expected) in [
            (
                "/contexts/.staging/subjects/orders/versions",
                "/subjects/:.staging:orders/versions",
            ),
            (
                "/contexts/staging/subjects/orders/versions/1",
                "/subjects/:.staging:orders/versions/1",
            ),
            ("/contexts/:.staging:/subjects/orders", "/subjects/:.staging:orders"),
            (
                "/contexts/.staging/compatibility/subjects/orders/versions/latest",
                "/compatibility/subjects/:.staging:orders/versions/latest",
            ),
            ("/contexts/.staging/subjects/:.other:orders", "/subjects/:.other:orders"),
            ("/contexts/./subjects/orders/versions", "/subjects/orders/versions"),
            ("/contexts/.team%20a/subjects/orders", "/subjects/:.team%20a:orders"),
            ("/contexts/.staging/schemas/types", "/schemas/types"),
        ] {
            assert_eq!(rewritten(path, None).as_deref(), Some(expected), "{path}");
        }
    }

    #[test]
    fn configs_and_modes_address_the_context_or_a_subject_in_it() {
        assert_eq!(
            rewritten("/contexts/.staging/config", None).unwrap(),
            "/config/:.staging:"
        );
        assert_eq!(rewritten("/contexts/.staging/mode", None).unwrap(), "/mode/:.staging:");
        assert_eq!(
            rewritten("/contexts/.staging/config/orders", None).unwrap(),
            "/config/:.staging:orders"
        );
        assert_eq!(rewritten("/contexts/./config", None).unwrap(), "/config");
        assert_eq!(rewritten("/contexts/./mode/orders", None).unwrap(), "/mode/orders");
    }

    #[test]
    fn listings_and_id_reads_are_scoped_by_query() {
        assert_eq!(
            rewritten("/contexts/.staging/subjects", None).unwrap(),
            "/subjects?subjectPrefix=%3A.staging%3A"
        );
        assert_eq!(
            rewritten("/contexts/.staging/subjects", Some("subjectPrefix=ord&deleted=true")).unwrap(),
            "/subjects?subjectPrefix=%3A.staging%3Aord&deleted=true"
        );
        assert_eq!(
            rewritten("/contexts/.staging/schemas", Some("subjectPrefix=%3A*%3A")).unwrap(),
            "/schemas?subjectPrefix=%3A*%3A"
        );
        assert_eq!(
            rewritten("/contexts/.staging/schemas/ids/3", None).unwrap(),
            "/schemas/ids/3?subject=%3A.staging%3A"
        );
        assert_eq!(
            rewritten("/contexts/.staging/schemas/ids/3/versions", Some("subject=orders")).unwrap(),
            "/schemas/ids/3/versions?subject=%3A.staging%3Aorders"
        );
        assert_eq!(
            rewritten("/contexts/./subjects", None).unwrap(),
            "/subjects?subjectPrefix="
        );
    }

    #[test]
    fn other_paths_and_bad_contexts_are_left_to_the_router() {
        assert_eq!(rewritten("/contexts", None), None);
        assert_eq!(rewritten("/contexts/.staging", None), None);
        assert_eq!(rewritten("/subjects/orders", None), None);
        assert_eq!(rewritten("/contexts/a:b/subjects", None), None);
        assert_eq!(invalid_context("a%3Ab"), "a:b");
    }
}
