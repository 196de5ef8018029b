//! Page models to HTML, through minijinja templates compiled into the binary.
//!
//! Templates end in `.html`, so minijinja escapes every value they print; only the
//! description, already sanitised by `markdown.rs`, is marked safe. Links are relative
//! (`root` climbs from the page back to the top of the UI), so the same pages work under
//! `/ui/` and as files written by `herald docs build`.

use std::sync::OnceLock;

use minijinja::value::Serde;
use minijinja::{context, Environment, Value};

use super::model::{Catalog, Changelog, SchemaPage, SubjectPage, TopicPage, VersionPage};
use crate::registry::Context;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("catalog.html", include_str!("templates/catalog.html")),
    ("topic.html", include_str!("templates/topic.html")),
    ("changelog.html", include_str!("templates/changelog.html")),
    ("subject.html", include_str!("templates/subject.html")),
    ("version.html", include_str!("templates/version.html")),
    ("schema.html", include_str!("templates/schema.html")),
    ("error.html", include_str!("templates/error.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests; a syntax error is
            // a build defect, not a runtime condition.
            env.add_template(name, source).expect("built-in template parses");
        }
        env.add_filter("segment", path_segment);
        env.set_formatter(visible_formatter);
        env
    })
}

/// minijinja's HTML-escaping formatter, after characters that would change how the page
/// reads without being seen are made visible: a subject named `a\u{202E}gnp.exe` must not
/// render as `aexe.png`. Applies to every printed value, names and schema text alike.
fn visible_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match value.as_str().filter(|text| has_invisible(text)) {
        Some(text) if value.is_safe() => {
            minijinja::escape_formatter(out, state, &Value::from_safe_string(show_invisible(text)))
        }
        Some(text) => minijinja::escape_formatter(out, state, &Value::from(show_invisible(text))),
        None => minijinja::escape_formatter(out, state, value),
    }
}

/// Characters a reader cannot see that reorder or hide text: bidirectional overrides,
/// embeddings, isolates and marks, and control characters other than tab and line breaks.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A cheap byte scan first: pages print thousands of values and almost none hold such
/// characters. Every invisible character is ASCII control, C1 (lead byte 0xC2), U+061C
/// (0xD8) or in U+2000–U+206F (0xE2 0x80/0x81).
fn has_invisible(text: &str) -> bool {
    let bytes = text.as_bytes();
    let suspicious = bytes
        .iter()
        .any(|&b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xd8 || b == 0xe2);
    suspicious && text.chars().any(is_invisible)
}

/// `text` with each invisible character written as `\u{…}`, Rust-style, which no name
/// contains by accident and every reader recognises as an escape.
pub fn show_invisible(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_invisible(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A value as one path segment of a page's file name (subject names may hold `/`, spaces,
/// anything). Bytes other than `[A-Za-z0-9._-]` become `~XX`: unlike `%XX`, a browser
/// never decodes that, so the same link names the same file on a server and on disk.
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("~{byte:02X}"));
        }
    }
    out
}

/// The name of a schema id's page (and raw text), without `.html`/`.json`: the id in the
/// default context (`7`), the encoded context name (dot left out, so that no page is a
/// hidden file) and the id elsewhere (`staging@7`), since ids are per context.
pub fn schema_file(context: &Context, id: i64) -> String {
    match context.as_str().strip_prefix('.').filter(|name| !name.is_empty()) {
        Some(name) => format!("{}@{id}", path_segment(name)),
        None => id.to_string(),
    }
}

/// The context and id a [`schema_file`] name stands for.
pub fn parse_schema_file(name: &str) -> Option<(Context, i64)> {
    let Some((context, id)) = name.rsplit_once('@') else {
        return Some((Context::default_context(), name.parse().ok()?));
    };
    let context = Context::parse(&format!(".{}", decode_segment(context)?)).ok()?;
    Some((context, id.parse().ok()?)).filter(|(c, _)| !c.is_default())
}

/// The value [`path_segment`] encoded, or `None` if `segment` is not such an encoding.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'~' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn render(template: &str, ctx: Value) -> String {
    match environment().get_template(template).and_then(|t| t.render(ctx)) {
        Ok(html) => html,
        // Only a template defect gets here; say so on the page rather than panic a worker.
        Err(e) => format!(
            "<!doctype html><title>Template error</title><pre>{}</pre>",
            escape(&e.to_string())
        ),
    }
}

/// `text` as the templates print it into a page (minijinja's HTML escaping, which also
/// escapes `/`): what to look for when a page's printed values are to be found again.
pub fn as_printed(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The catalog, at `index.html`.
pub fn catalog(catalog: &Catalog) -> String {
    render(
        "catalog.html",
        context! { root => Value::from_safe_string("".to_string()), catalog => Value::from(Serde(catalog)) },
    )
}

/// A topic, at `topics/<name>.html`.
pub fn topic(page: &TopicPage) -> String {
    render(
        "topic.html",
        context! { root => Value::from_safe_string("../".to_string()), page => Value::from(Serde(page)) },
    )
}

/// A changelog, at `topics/<name>/changelog/<from>-<to>.html`.
pub fn changelog(log: &Changelog) -> String {
    render(
        "changelog.html",
        context! { root => Value::from_safe_string("../../../".to_string()), log => Value::from(Serde(log)) },
    )
}

/// A subject, at `subjects/<subject>.html`.
pub fn subject(page: &SubjectPage) -> String {
    render(
        "subject.html",
        context! { root => Value::from_safe_string("../".to_string()), page => Value::from(Serde(page)) },
    )
}

/// A version, at `subjects/<subject>/versions/<n>.html`.
pub fn version(page: &VersionPage) -> String {
    render(
        "version.html",
        context! { root => Value::from_safe_string("../../../".to_string()), page => Value::from(Serde(page)) },
    )
}

/// A schema, at `schemas/<id>.html`.
pub fn schema(page: &SchemaPage) -> String {
    render(
        "schema.html",
        context! { root => Value::from_safe_string("../".to_string()), page => Value::from(Serde(page)) },
    )
}

/// An error page `depth` directories below the top of the UI.
pub fn error(depth: usize, title: &str, message: &str) -> String {
    render(
        "error.html",
        context! { root => Value::from_safe_string("../".repeat(depth)), title, message },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            environment().get_template(name).expect(name);
        }
    }

    #[test]
    fn schema_pages_are_named_by_context_and_id() {
        let staging = Context::parse(".staging").unwrap();
        let odd = Context::parse(".team a.b").unwrap();
        assert_eq!(schema_file(&Context::default_context(), 7), "7");
        assert_eq!(schema_file(&staging, 7), "staging@7");
        for (context, id) in [(Context::default_context(), 7), (staging, 12), (odd, 3)] {
            assert_eq!(parse_schema_file(&schema_file(&context, id)), Some((context, id)));
        }
        for bad in ["", "x", "staging@", "staging@x", "@7", "7.5", "a:b@7"] {
            assert_eq!(parse_schema_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn segments_are_encoded_for_files_and_back() {
        assert_eq!(path_segment("orders-value"), "orders-value");
        assert_eq!(path_segment("a/b c~"), "a~2Fb~20c~7E");
        for value in ["orders-value", "a/b c~", "ünï:code", "~~"] {
            assert_eq!(decode_segment(&path_segment(value)).as_deref(), Some(value));
        }
        assert_eq!(decode_segment("bad~2"), None);
        assert_eq!(decode_segment("bad~zz"), None);
    }

    #[test]
    fn invisible_characters_are_shown_escaped() {
        assert_eq!(show_invisible("a\u{202E}gnp.exe"), "a\\u{202E}gnp.exe");
        assert_eq!(
            show_invisible("x\u{2066}y\u{1}z\u{85}"),
            "x\\u{2066}y\\u{0001}z\\u{0085}"
        );
        assert_eq!(
            show_invisible("tabs\tand\nlines stay; ünï and 日本 too"),
            "tabs\tand\nlines stay; ünï and 日本 too"
        );
        assert!(!has_invisible("plain – text ‘quoted’"));
        let html = error(0, "Not found", "subject pay\u{202E}txt.exe");
        assert!(html.contains("pay\\u{202E}txt.exe"), "{html}");
        assert!(!html.contains('\u{202E}'), "{html}");
    }

    #[test]
    fn error_pages_escape_their_message() {
        let html = error(1, "Not found", "<script>alert(1)</script>");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains(r#"href="../index.html""#), "{html}");
    }
}
