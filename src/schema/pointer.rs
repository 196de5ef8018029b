//! JSON pointers (RFC 6901) as plain strings.

use std::cell::Cell;

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
    if !needs_escape(token.as_bytes()) {
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

/// Whether a token holds `~` or `/`, eight bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    use crate::schema::tree::word;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        if word::has_byte(w, b'~') || word::has_byte(w, b'/') {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == b'~' || b == b'/')
}

/// A JSON pointer under construction, kept on the stack while a document is walked: each
/// step borrows its parent, so descending costs nothing and the text is only written out
/// when a node is stored or an error reported. Once written into a buffer (`Span::record`),
/// a path remembers where, and deeper paths copy that prefix instead of walking up again.
pub struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    step: Step<'p>,
    written: Cell<Option<Span>>,
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
    pub fn root() -> Path<'static> {
        Path {
            parent: None,
            step: Step::Root,
            written: Cell::new(None),
        }
    }

    /// A path that starts at an existing pointer text.
    pub fn raw(pointer: &'p str) -> Path<'p> {
        Path {
            parent: None,
            step: Step::Raw(pointer),
            written: Cell::new(None),
        }
    }

    pub fn key<'q>(&'q self, key: &'q str) -> Path<'q> {
        Path {
            parent: Some(self),
            step: Step::Key(key),
            written: Cell::new(None),
        }
    }

    pub fn index(&self, index: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            step: Step::Index(index),
            written: Cell::new(None),
        }
    }

    /// Appends the pointer's text to `out`. `out` must be the buffer the path (or its
    /// parents) were recorded in, if they were recorded at all.
    fn write_into_buffer(&self, out: &mut String) {
        if let Some(span) = self.written.get() {
            out.extend_from_within(span.start as usize..span.end as usize);
            return;
        }
        if let Some(parent) = self.parent {
            parent.write_into_buffer(out);
        }
        self.write_step(out);
    }

    fn write_step(&self, out: &mut String) {
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

    /// The pointer's text, on its own.
    pub fn to_pointer(&self) -> String {
        let mut steps = Vec::new();
        let mut current = Some(self);
        while let Some(path) = current {
            steps.push(path);
            current = path.parent;
        }
        let mut out = String::new();
        for path in steps.iter().rev() {
            path.write_step(&mut out);
        }
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
    /// Appends `path` to `buffer` and returns where it is. Paths below it will copy it.
    pub fn record(buffer: &mut String, path: &Path<'_>) -> Span {
        // Several nodes can stand for one place (a schema object split into parts): they
        // share its text.
        if let Some(span) = path.written.get() {
            return span;
        }
        let start = buffer.len() as u32;
        path.write_into_buffer(buffer);
        let span = Span {
            start,
            end: buffer.len() as u32,
        };
        path.written.set(Some(span));
        span
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
        let root = Path::root();
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
