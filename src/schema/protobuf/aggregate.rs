//! Message-valued option values (`(confluent.field_meta) = { tags: ["PII"] }`): read from
//! the protobuf text format an aggregate is written in, and printed in the layout
//! Confluent's registry prints a map-valued option in. That layout is always several lines,
//! one entry per line:
//!
//! ```text
//! (confluent.field_meta) = {
//!   doc: "the card",
//!   tags: [
//!     "PII"
//!   ]
//! }
//! ```
//!
//! Under `normalize`, keys are sorted, empty lists dropped and lists of one value written as
//! the value, as Confluent normalises them.
//!
//! Pure code: text in, text out.

use super::print::quoted;

/// An option value inside an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, unescaped.
    Str(String),
    /// A number, identifier or enum value name, as written.
    Literal(String),
    List(Vec<Value>),
    /// Fields in the order written; a field given several times is one list.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// The fields of an aggregate (the text between its braces); `None` where the text is
    /// not the text format this reads (it is then printed as written).
    pub fn parse_fields(text: &str) -> Option<Value> {
        let mut reader = Reader { text, at: 0 };
        let fields = reader.fields(None)?;
        reader.skip_space();
        (reader.at == text.len()).then_some(fields)
    }

    /// The value in Confluent's layout, lines after the first relative to the first.
    pub fn layout(&self, normalize: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, normalize);
        out
    }

    fn write(&self, out: &mut String, normalize: bool) {
        match self {
            Value::Str(text) => out.push_str(&quoted(text)),
            Value::Literal(text) => out.push_str(text),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(|item| item.layout(normalize)).collect();
                block(out, '[', ']', &items);
            }
            Value::Map(fields) => {
                let mut fields: Vec<(&String, &Value)> = fields.iter().map(|(k, v)| (k, v)).collect();
                if normalize {
                    fields.retain(|(_, value)| !matches!(value, Value::List(items) if items.is_empty()));
                    fields.sort_by(|a, b| a.0.cmp(b.0));
                }
                let entries: Vec<String> = fields
                    .into_iter()
                    .map(|(key, value)| {
                        let value = match value {
                            Value::List(items) if normalize && items.len() == 1 => &items[0],
                            value => value,
                        };
                        format!("{key}: {}", value.layout(normalize))
                    })
                    .collect();
                block(out, '{', '}', &entries);
            }
        }
    }
}

/// `open`, then each item on a line of its own two spaces in (comma-separated), then `close`
/// on a line of its own.
fn block(out: &mut String, open: char, close: char, items: &[String]) {
    out.push(open);
    out.push('\n');
    for (i, item) in items.iter().enumerate() {
        for (n, line) in item.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
        if i + 1 < items.len() {
            out.push(',');
        }
        out.push('\n');
    }
    out.push(close);
}

/// A reader of the protobuf text format, as far as option aggregates use it.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                self.at += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                return;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Fields up to `close` (or the end of the text when `None`).
    fn fields(&mut self, close: Option<char>) -> Option<Value> {
        let mut fields: Vec<(String, Value)> = Vec::new();
        loop {
            self.skip_space();
            match close {
                Some(close) if self.eat(close) => break,
                None if self.rest().is_empty() => break,
                _ => {}
            }
            let name = self.field_name()?;
            let value = if self.eat(':') {
                self.value()?
            } else {
                // `name { … }` needs no colon.
                self.skip_space();
                let open = self.rest().chars().next()?;
                self.message(open)?
            };
            match fields.iter_mut().find(|(known, _)| *known == name) {
                Some((_, Value::List(items))) => match value {
                    Value::List(more) => items.extend(more),
                    value => items.push(value),
                },
                Some((_, first)) => {
                    let earlier = std::mem::replace(first, Value::List(Vec::new()));
                    *first = Value::List(vec![earlier, value]);
                }
                None => fields.push((name, value)),
            }
            if !self.eat(',') {
                self.eat(';');
            }
        }
        Some(Value::Map(fields))
    }

    /// A field name, or an extension's `[full.name]`.
    fn field_name(&mut self) -> Option<String> {
        self.skip_space();
        if self.eat('[') {
            let name = self.word(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '/')?;
            self.eat(']').then(|| format!("[{name}]"))
        } else {
            self.word(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    }

    fn word(&mut self, allowed: impl Fn(char) -> bool) -> Option<String> {
        self.skip_space();
        let rest = self.rest();
        let end = rest.find(|c: char| !allowed(c)).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        self.at += end;
        Some(rest[..end].to_string())
    }

    fn message(&mut self, open: char) -> Option<Value> {
        let close = match open {
            '{' => '}',
            '<' => '>',
            _ => return None,
        };
        self.eat(open).then_some(())?;
        self.fields(Some(close))
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        match self.rest().chars().next()? {
            '{' | '<' => {
                let open = self.rest().chars().next()?;
                self.message(open)
            }
            '[' => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(']') {
                            break;
                        }
                        self.eat(',').then_some(())?;
                    }
                }
                Some(Value::List(items))
            }
            '"' | '\'' => {
                // Adjacent strings are one.
                let mut text = self.string()?;
                while matches!(self.rest().trim_start().chars().next(), Some('"' | '\'')) {
                    self.skip_space();
                    text.push_str(&self.string()?);
                }
                Some(Value::Str(text))
            }
            _ => self
                .word(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '+'))
                .map(Value::Literal),
        }
    }

    /// A quoted string, unescaped. Escapes beyond the simple ones (octal, hex, unicode) are
    /// not read: such text is printed as written.
    fn string(&mut self) -> Option<String> {
        let mut chars = self.rest().char_indices();
        let (_, quote) = chars.next()?;
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.at += i + c.len_utf8();
                    return Some(out);
                }
                '\n' => return None,
                '\\' => out.push(match chars.next()?.1 {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    c @ ('\\' | '\'' | '"' | '?') => c,
                    _ => return None,
                }),
                c => out.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laid_out(text: &str, normalize: bool) -> String {
        Value::parse_fields(text).unwrap().layout(normalize)
    }

    #[test]
    fn maps_and_lists_take_a_line_per_entry() {
        assert_eq!(
            laid_out(r#"doc: "file meta" params: [{ key: "my_key", value: "my_value" }] tags: ["PII", "PRIVATE"]"#, false),
            "{\n  doc: \"file meta\",\n  params: [\n    {\n      key: \"my_key\",\n      value: \"my_value\"\n    }\n  ],\n  tags: [\n    \"PII\",\n    \"PRIVATE\"\n  ]\n}"
        );
        assert_eq!(laid_out("tags: \"PII\"", false), "{\n  tags: \"PII\"\n}");
    }

    #[test]
    fn normalising_sorts_keys_unwraps_single_values_and_drops_empty_lists() {
        assert_eq!(
            laid_out(
                r#"tags: ["PII"] params { value: "5" key: "precision" } doc: "x" rules: []"#,
                true
            ),
            "{\n  doc: \"x\",\n  params: {\n    key: \"precision\",\n    value: \"5\"\n  },\n  tags: \"PII\"\n}"
        );
    }

    #[test]
    fn the_text_format_reads_its_variants() {
        // Repeated fields given one by one, colons left out before messages, `<>`, `;`
        // separators, extension names, comments, escapes and adjacent strings.
        let value =
            Value::parse_fields("tags: 'a' tags: \"b\\n\" # why\n m < n: -1.5; [pkg.ext]: ENUM_A > s: \"x\" 'y'")
                .unwrap();
        assert_eq!(
            value,
            Value::Map(vec![
                (
                    "tags".into(),
                    Value::List(vec![Value::Str("a".into()), Value::Str("b\n".into())])
                ),
                (
                    "m".into(),
                    Value::Map(vec![
                        ("n".into(), Value::Literal("-1.5".into())),
                        ("[pkg.ext]".into(), Value::Literal("ENUM_A".into())),
                    ])
                ),
                ("s".into(), Value::Str("xy".into())),
            ])
        );
    }

    #[test]
    fn what_it_does_not_read_is_refused() {
        for text in [
            "tags: ",
            "tags \"x\"",
            "m { n: 1",
            "tags: [\"a\" \"b\"",
            "s: \"\\x41\"",
            ": 1",
            "a: 1 }",
        ] {
            assert_eq!(Value::parse_fields(text), None, "{text}");
        }
    }
}
