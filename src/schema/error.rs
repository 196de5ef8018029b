//! The one error type of the schema layer.

use std::fmt;

/// Why a schema text was rejected, and where.
///
/// `location` is a JSON pointer into the offending document (`/fields/2/type`) when the
/// problem is structural, or a line and column when the text is not JSON at all. CI output
/// maps both back to a file line, so every error carries one when it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub location: ErrorLocation,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorLocation {
    /// The text is not valid JSON: where the JSON parser stopped.
    Text { line: usize, column: usize },
    /// A JSON pointer into the schema document (`""` is the whole document). `document` names
    /// a referenced schema when the problem is inside one rather than in the main text.
    Pointer { document: Option<String>, pointer: String },
    /// The problem is not tied to one place (an unsupported schema type, say).
    Nowhere,
}

impl SchemaError {
    pub fn at(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        SchemaError {
            location: ErrorLocation::Pointer {
                document: None,
                pointer: pointer.into(),
            },
            message: message.into(),
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        SchemaError {
            location: ErrorLocation::Nowhere,
            message: message.into(),
        }
    }

    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; keep only the reason.
        let full = err.to_string();
        let reason = match full.rfind(" at line ") {
            Some(idx) => full[..idx].to_string(),
            None => full,
        };
        let message = if reason.contains("recursion limit exceeded") {
            "the document nests deeper than 128 levels".to_string()
        } else {
            format!("invalid JSON: {reason}")
        };
        SchemaError {
            location: ErrorLocation::Text {
                line: err.line(),
                column: err.column(),
            },
            message,
        }
    }

    /// Marks the error as coming from the referenced document `name`.
    pub(crate) fn in_document(mut self, name: &str) -> Self {
        if let ErrorLocation::Pointer { document, .. } = &mut self.location {
            if document.is_none() {
                *document = Some(name.to_string());
            }
        }
        self
    }

    /// The JSON pointer of the error, when it has one.
    pub fn pointer(&self) -> Option<&str> {
        match &self.location {
            ErrorLocation::Pointer { pointer, .. } => Some(pointer),
            _ => None,
        }
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            ErrorLocation::Text { line, column } => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            ErrorLocation::Pointer { document, pointer } => {
                let shown = if pointer.is_empty() { "/" } else { pointer.as_str() };
                match document {
                    Some(doc) => write!(f, "{doc} at {shown}: {}", self.message),
                    None => write!(f, "at {shown}: {}", self.message),
                }
            }
            ErrorLocation::Nowhere => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SchemaError {}
