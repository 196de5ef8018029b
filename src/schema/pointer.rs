//! JSON pointers (RFC 6901) as plain strings.

/// Appends one reference token to `base`, escaping `~` and `/` the RFC 6901 way.
pub fn push(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    escape_into(&mut out, token);
    out
}

/// Appends a numeric token (an array index).
pub fn push_index(base: &str, index: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(base.len() + 4);
    out.push_str(base);
    let _ = write!(out, "/{index}");
    out
}

fn escape_into(out: &mut String, token: &str) {
    if !token.contains(['~', '/']) {
        out.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Joins tokens into a pointer; the empty list is the root `""`.
pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for token in tokens {
        out.push('/');
        escape_into(&mut out, token);
    }
    out
}

/// Shows a pointer the way reports do: the root is `/` rather than the empty string.
pub fn display(pointer: &str) -> &str {
    if pointer.is_empty() {
        "/"
    } else {
        pointer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_special_characters() {
        assert_eq!(push("/properties", "a/b~c"), "/properties/a~1b~0c");
        assert_eq!(from_tokens(["fields", "0", "type"]), "/fields/0/type");
        assert_eq!(display(""), "/");
    }
}
