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
    let mut out = String::with_capacity(base.len() + 4);
    out.push_str(base);
    out.push('/');
    out.push_str(itoa::Buffer::new().format(index));
    out
}

fn escape_into(out: &mut String, token: &str) {
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
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

/// A JSON pointer under construction, kept on the stack while a document is walked: each
/// step borrows its parent, so descending costs nothing and the text is only written out
/// when a node is stored or an error reported.
#[derive(Clone, Copy)]
pub struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    step: Step<'p>,
}

#[derive(Clone, Copy)]
enum Step<'p> {
    Root,
    Key(&'p str),
    Index(usize),
    /// A whole pointer, already escaped (where a walk starts at a `$ref` target).
    Raw(&'p str),
}

impl<'p> Path<'p> {
    pub const ROOT: Path<'static> = Path {
        parent: None,
        step: Step::Root,
    };

    /// A path that starts at an existing pointer text.
    pub fn raw(pointer: &'p str) -> Path<'p> {
        Path {
            parent: None,
            step: Step::Raw(pointer),
        }
    }

    pub fn key<'q>(&'q self, key: &'q str) -> Path<'q> {
        Path {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    pub fn index(&self, index: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            step: Step::Index(index),
        }
    }

    /// Appends the pointer's text to `out`.
    pub fn write_to(&self, out: &mut String) {
        if let Some(parent) = self.parent {
            parent.write_to(out);
        }
        match self.step {
            Step::Root => {}
            Step::Key(key) => {
                out.push('/');
                escape_into(out, key);
            }
            Step::Index(index) => {
                out.push('/');
                out.push_str(itoa::Buffer::new().format(index));
            }
            Step::Raw(pointer) => out.push_str(pointer),
        }
    }

    pub fn to_pointer(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }
}

/// A range of a buffer holding many pointers one after the other: parsed schemas keep all
/// their nodes' pointers in one string instead of a string per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// Appends `path` to `buffer` and returns where it is.
    pub fn record(buffer: &mut String, path: &Path<'_>) -> Span {
        let start = buffer.len() as u32;
        path.write_to(buffer);
        Span {
            start,
            end: buffer.len() as u32,
        }
    }

    pub fn get(self, buffer: &str) -> &str {
        &buffer[self.start as usize..self.end as usize]
    }
}

/// Shows a pointer the way reports do: the root is `/` rather than the empty string.
pub fn display(pointer: &str) -> &str {
    if pointer.is_empty() {
        "/"
    } else {
        pointer
    }
}

impl From<&Path<'_>> for String {
    fn from(path: &Path<'_>) -> String {
        path.to_pointer()
    }
}

impl From<Path<'_>> for String {
    fn from(path: Path<'_>) -> String {
        path.to_pointer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_write_pointers() {
        let root = Path::ROOT;
        let fields = root.key("fields");
        let third = fields.index(2);
        assert_eq!(third.key("a/b").to_pointer(), "/fields/2/a~1b");
        assert_eq!(root.to_pointer(), "");
    }

    #[test]
    fn escapes_special_characters() {
        assert_eq!(push("/properties", "a/b~c"), "/properties/a~1b~0c");
        assert_eq!(push(&push_index("/fields", 0), "type"), "/fields/0/type");
        assert_eq!(display(""), "/");
    }
}
