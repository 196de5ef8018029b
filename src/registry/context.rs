//! Schema contexts: independent namespaces of subjects and schema ids inside one registry,
//! as schema linking and multi-tenant setups use them. A subject is qualified with its
//! context as `:.staging:orders-value`; unqualified subjects live in the default context
//! `.`, which behaves exactly as a registry without contexts.
//!
//! Subjects are stored by their key: the plain name in the default context, the qualified
//! name elsewhere, so every subject-keyed rule (versions, configs, modes, deletes) works
//! unchanged across contexts. What a context adds is its own id space: ids are allocated,
//! deduplicated and resolved within the subject's context.
//!
//! Pure naming rules; no I/O.

use std::fmt;

/// The default context's name.
pub const DEFAULT_CONTEXT: &str = ".";

/// What `subjectPrefix` means by "every context".
pub const ALL_CONTEXTS: &str = ":*:";

/// The context that holds only a config and a mode, applied in every context after the
/// context's own (Confluent's `:.__GLOBAL:`).
pub const GLOBAL_CONTEXT: &str = ".__GLOBAL";

/// A context's name: `.` or a dot followed by a name, like `.staging`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Context(String);

impl Context {
    pub fn default_context() -> Context {
        Context(DEFAULT_CONTEXT.to_string())
    }

    /// A context named as an API user writes it: `.staging`, `staging` (the dot is implied,
    /// as in Confluent's `/contexts/{context}/...` paths), `:.staging:`, or `.` (also `:.:`
    /// and the empty name) for the default one. A name may hold anything but a colon (it
    /// ends the context in a qualified subject) and control characters.
    pub fn parse(raw: &str) -> Result<Context, InvalidContext> {
        let bare = raw.strip_prefix(':').and_then(|r| r.strip_suffix(':')).unwrap_or(raw);
        if bare.contains(':') || bare.chars().any(char::is_control) {
            return Err(InvalidContext(raw.to_string()));
        }
        let name = if bare.starts_with('.') {
            bare.to_string()
        } else {
            format!(".{bare}")
        };
        Ok(Context(name))
    }

    /// A context name read back from the store, which only holds names [`Context::parse`]
    /// accepted.
    pub(crate) fn from_stored(name: String) -> Context {
        Context(name)
    }

    /// The context that holds only configs and modes for every context.
    pub fn is_global(&self) -> bool {
        self.0 == GLOBAL_CONTEXT
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_CONTEXT
    }

    /// The key of a subject of this context: the plain name in the default context,
    /// `:.ctx:name` elsewhere.
    pub fn subject_key(&self, name: &str) -> String {
        if self.is_default() {
            name.to_string()
        } else {
            format!(":{}:{name}", self.0)
        }
    }

    /// The key naming the context itself (`:.ctx:`), where its config and mode are kept.
    /// The default context's are the global ones, so it has none.
    pub fn scope_key(&self) -> Option<String> {
        (!self.is_default()).then(|| format!(":{}:", self.0))
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A context name that breaks the naming rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidContext(pub String);

/// A subject as named through the API: its context and its name there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedSubject {
    pub context: Context,
    pub name: String,
}

impl QualifiedSubject {
    /// Splits `:.ctx:name` into context and name (the name may hold colons); anything not
    /// starting with `:.` is a name in the default context. `:.ctx:` alone, or `:.ctx` with
    /// no closing colon, names the context itself (an empty name).
    pub fn parse(raw: &str) -> Result<QualifiedSubject, InvalidContext> {
        let Some(qualified) = raw.strip_prefix(":.") else {
            return Ok(QualifiedSubject {
                context: Context::default_context(),
                name: raw.to_string(),
            });
        };
        let (context, name) = qualified.split_once(':').unwrap_or((qualified, ""));
        Ok(QualifiedSubject {
            context: Context::parse(&format!(".{context}"))?,
            name: name.to_string(),
        })
    }

    /// Is the subject qualified with a context (even the default one)?
    pub fn is_qualified(raw: &str) -> bool {
        raw.starts_with(":.")
    }

    /// The stored key; see [`Context::subject_key`].
    pub fn key(&self) -> String {
        self.context.subject_key(&self.name)
    }

    /// Names only a context (`:.ctx:`), not a subject in it.
    pub fn is_context_only(&self) -> bool {
        self.name.is_empty() && !self.context.is_default()
    }
}

/// The context of a stored subject key.
pub fn context_of(key: &str) -> Context {
    QualifiedSubject::parse(key)
        .map(|q| q.context)
        .unwrap_or_else(|_| Context::default_context())
}

/// The key a reference's subject names, seen from a schema in `context`: a qualified
/// subject names its own context; an unqualified one is a subject of the referring
/// schema's context, so a set of schemas copied into another context keeps referring to
/// its own copies.
pub fn reference_key(context: &Context, subject: &str) -> String {
    match QualifiedSubject::parse(subject) {
        Ok(q) if QualifiedSubject::is_qualified(subject) => q.key(),
        _ => context.subject_key(subject),
    }
}

/// Which subjects a `subjectPrefix` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectFilter {
    /// `:*:` (with an optional name prefix after it): subjects of every context.
    AllContexts(String),
    /// A prefix of keys within one context.
    InContext(Context, String),
}

impl SubjectFilter {
    /// Reads a `subjectPrefix`: `:*:` (and the empty prefix, for `/subjects`) select every
    /// context; `:.ctx:prefix` one context; anything else a prefix in the default context.
    pub fn parse(prefix: &str) -> Result<SubjectFilter, InvalidContext> {
        if let Some(rest) = prefix.strip_prefix(ALL_CONTEXTS) {
            return Ok(SubjectFilter::AllContexts(rest.to_string()));
        }
        let q = QualifiedSubject::parse(prefix)?;
        Ok(SubjectFilter::InContext(q.context, q.name))
    }

    /// Does this filter select the stored subject `key`?
    pub fn matches(&self, key: &str) -> bool {
        match self {
            SubjectFilter::AllContexts(prefix) => match QualifiedSubject::parse(key) {
                Ok(q) => q.name.starts_with(prefix.as_str()),
                Err(_) => key.starts_with(prefix.as_str()),
            },
            SubjectFilter::InContext(context, prefix) => {
                context_of(key) == *context
                    && QualifiedSubject::parse(key).is_ok_and(|q| q.name.starts_with(prefix.as_str()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(name: &str) -> Context {
        Context::parse(name).unwrap()
    }

    #[test]
    fn qualified_subjects_split_into_context_and_name() {
        for (raw, context, name, key) in [
            ("orders-value", ".", "orders-value", "orders-value"),
            (":.:orders-value", ".", "orders-value", "orders-value"),
            (
                ":.staging:orders-value",
                ".staging",
                "orders-value",
                ":.staging:orders-value",
            ),
            (":.staging:", ".staging", "", ":.staging:"),
            (":.a.b:x:y", ".a.b", "x:y", ":.a.b:x:y"),
            (":.nocolon", ".nocolon", "", ":.nocolon:"),
            (":staging:x", ".", ":staging:x", ":staging:x"),
            ("::x", ".", "::x", "::x"),
            ("", ".", "", ""),
        ] {
            let q = QualifiedSubject::parse(raw).unwrap();
            assert_eq!(
                (q.context.as_str(), q.name.as_str(), q.key()),
                (context, name, key.to_string()),
                "{raw}"
            );
        }
        assert!(QualifiedSubject::parse(":.staging:").unwrap().is_context_only());
        assert!(!QualifiedSubject::parse(":.:").unwrap().is_context_only());
    }

    #[test]
    fn context_names_take_an_implied_dot_and_refuse_colons() {
        assert_eq!(ctx("staging").as_str(), ".staging");
        assert_eq!(ctx(".staging").as_str(), ".staging");
        assert_eq!(ctx(":.staging:").as_str(), ".staging");
        assert!(ctx(".").is_default());
        assert!(ctx(":.:").is_default());
        assert!(ctx("").is_default());
        assert_eq!(ctx("team a/1.prod").as_str(), ".team a/1.prod");
        for bad in ["a:b", "a\nb", ":.a:b:"] {
            assert!(Context::parse(bad).is_err(), "{bad:?}");
        }
        assert!(QualifiedSubject::parse(":.bad\u{1}ctx:orders").is_err());
    }

    #[test]
    fn contexts_keep_their_scope_keys_and_the_default_has_none() {
        assert_eq!(ctx(".staging").scope_key().as_deref(), Some(":.staging:"));
        assert_eq!(ctx(".").scope_key(), None);
        assert_eq!(context_of(":.staging:orders").as_str(), ".staging");
        assert_eq!(context_of("orders").as_str(), ".");
    }

    #[test]
    fn unqualified_references_stay_in_the_referring_context() {
        assert_eq!(reference_key(&ctx(".staging"), "customer"), ":.staging:customer");
        assert_eq!(reference_key(&ctx("."), "customer"), "customer");
        assert_eq!(reference_key(&ctx(".staging"), ":.prod:customer"), ":.prod:customer");
        assert_eq!(reference_key(&ctx(".staging"), ":.:customer"), "customer");
    }

    #[test]
    fn subject_prefixes_select_one_context_or_all() {
        let all = SubjectFilter::parse(":*:").unwrap();
        assert!(all.matches("orders") && all.matches(":.staging:orders"));
        let all_orders = SubjectFilter::parse(":*:ord").unwrap();
        assert!(all_orders.matches(":.staging:orders") && !all_orders.matches(":.staging:payments"));
        let staging = SubjectFilter::parse(":.staging:").unwrap();
        assert!(staging.matches(":.staging:orders") && !staging.matches("orders"));
        let default = SubjectFilter::parse("ord").unwrap();
        assert!(default.matches("orders") && !default.matches(":.staging:orders"));
        let everything_default = SubjectFilter::parse("").unwrap();
        assert!(everything_default.matches("orders") && !everything_default.matches(":.x:orders"));
    }
}
