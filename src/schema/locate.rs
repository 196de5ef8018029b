//! From a JSON pointer back to a line of the file it points into, so CI annotations land on
//! the offending field in the pull request.
//!
//! Schemas are parsed into trees that keep no positions (that is what makes parsing fast),
//! so this is a separate, small scanner over the text that only walks the containers on the
//! pointer's path and skips everything else.

/// The 1-based line where the value at `pointer` starts in `text`, or where the nearest
/// existing ancestor starts when the pointer goes past what the text holds (a removed
/// field is reported at the object that no longer has it, and text that is not JSON at all
/// at line 1). `None` when the text ends inside the path (truncated JSON).
pub fn line_of(text: &str, pointer: &str) -> Option<usize> {
    let tokens: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer
            .strip_prefix('/')?
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.skip_space();
    let mut line_start = scanner.at;
    for token in &tokens {
        match scanner.bytes.get(scanner.at)? {
            b'{' => {
                if !scanner.find_member(token)? {
                    break;
                }
            }
            b'[' => {
                let Ok(index) = token.parse::<usize>() else {
                    break;
                };
                if !scanner.find_item(index)? {
                    break;
                }
            }
            _ => break,
        }
        line_start = scanner.at;
    }
    Some(1 + text.as_bytes()[..line_start].iter().filter(|&&b| b == b'\n').count())
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// Reads a string at the cursor (which is on its opening quote); answers its contents
    /// with escapes resolved.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.bytes.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    break;
                }
                _ => self.at += 1,
            }
        }
        serde_json::from_slice(&self.bytes[start..self.at]).ok()
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_space();
        match self.bytes.get(self.at)? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.bytes.get(self.at)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.at += 1;
                }
            }
        }
        Some(())
    }

    /// On an object's `{`: moves to the value of member `key`; `false` if it has none.
    fn find_member(&mut self, key: &str) -> Option<bool> {
        let open = self.at;
        self.at += 1;
        loop {
            self.skip_space();
            match self.bytes.get(self.at)? {
                b'}' => {
                    self.at = open;
                    return Some(false);
                }
                b',' => {
                    self.at += 1;
                    continue;
                }
                b'"' => {
                    let name = self.string()?;
                    self.skip_space();
                    if self.bytes.get(self.at)? != &b':' {
                        return None;
                    }
                    self.at += 1;
                    self.skip_space();
                    if name == key {
                        return Some(true);
                    }
                    self.skip_value()?;
                }
                _ => return None,
            }
        }
    }

    /// On an array's `[`: moves to item `index`; `false` if it is shorter.
    fn find_item(&mut self, index: usize) -> Option<bool> {
        let open = self.at;
        self.at += 1;
        let mut current = 0;
        loop {
            self.skip_space();
            match self.bytes.get(self.at)? {
                b']' => {
                    self.at = open;
                    return Some(false);
                }
                b',' => {
                    self.at += 1;
                    current += 1;
                    continue;
                }
                _ if current == index => return Some(true),
                _ => self.skip_value()?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVRO: &str = r#"{
  "type": "record",
  "name": "Payment",
  "fields": [
    {"name": "id", "type": "string"},
    {
      "name": "amount",
      "type": {"type": "record", "name": "Money", "fields": [
        {"name": "units", "type": "long"}
      ]}
    }
  ]
}"#;

    #[test]
    fn pointers_map_to_the_line_of_their_value() {
        assert_eq!(line_of(AVRO, ""), Some(1));
        assert_eq!(line_of(AVRO, "/fields"), Some(4));
        assert_eq!(line_of(AVRO, "/fields/0"), Some(5));
        assert_eq!(line_of(AVRO, "/fields/1"), Some(6));
        assert_eq!(line_of(AVRO, "/fields/1/type"), Some(8));
        assert_eq!(line_of(AVRO, "/fields/1/type/fields/0/type"), Some(9));
    }

    #[test]
    fn missing_places_fall_back_to_the_nearest_ancestor() {
        assert_eq!(line_of(AVRO, "/fields/7/type"), Some(4));
        assert_eq!(line_of(AVRO, "/nothing/here"), Some(1));
        assert_eq!(line_of(AVRO, "/fields/x"), Some(4));
    }

    #[test]
    fn escaped_keys_and_strings_with_brackets_are_handled() {
        let text = "{\n \"a/b\": {\"x\": \"}]\\\"{\",\n \"y\": 1}}";
        assert_eq!(line_of(text, "/a~1b/y"), Some(3));
        assert_eq!(line_of("not json", "/a"), Some(1));
        assert_eq!(line_of("{\"a\": ", "/a/b"), None);
    }
}
