//! A parser for the `.proto` text most schemas are written in, giving exactly the
//! `FileDescriptorProto` protox-parse gives (the same descriptor, and the same source
//! positions and comments for the locations Herald reads) in a fraction of the time.
//!
//! Registration parses every schema, and protox-parse spends most of its time on what Herald
//! never reads (a source position for every name, number and type). This parser covers the
//! common grammar: `syntax`, `package`, `import`, messages (nested), enums, fields with or
//! without labels, `map<K, V>`, oneofs, `reserved` and options whose values are identifiers,
//! integers or plain strings, with `//` and `/* */` comments. Anything else (groups,
//! `extend`, services, `extensions`, `default`, aggregate or float option values, escapes in
//! strings, `#` comments, nested or non-ASCII block comments, CR in comments) and anything
//! malformed is declined: [`parse`] answers `None` and the caller hands the text to
//! protox-parse, which reads all of it and explains every error.
//! Whatever this parser accepts, protox-parse accepts too, to the same result; the
//! differential tests in `tests.rs` hold it to that.
//!
//! Comments are attributed as protoc attributes them: a comment on the line of a
//! statement's last token trails it, a comment block directly above a statement leads it,
//! a blank line detaches, and a block comment is a block of its own.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::source_code_info::Location;
use prost_types::uninterpreted_option::NamePart;
use prost_types::{
    descriptor_proto, enum_descriptor_proto, DescriptorProto, EnumDescriptorProto, EnumOptions,
    EnumValueDescriptorProto, EnumValueOptions, FieldDescriptorProto, FieldOptions, FileDescriptorProto, FileOptions,
    MessageOptions, OneofDescriptorProto, OneofOptions, SourceCodeInfo, UninterpretedOption,
};

use super::{tag, MAX_FIELD_NUMBER};

/// The bytes of names: ASCII letters, digits and underscores.
const WORD: [bool; 256] = {
    let mut word = [false; 256];
    let mut b = 0;
    while b < 256 {
        word[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    word
};

/// Messages nest at most this deep here (protoc's limit is 31; deeper text goes to the
/// full parser, which says so).
const MAX_DEPTH: u32 = 30;

/// Parses `text` as the file `name`, or declines (`None`) when the text is outside the
/// grammar this parser covers or is not valid `.proto`.
pub fn parse(name: &str, text: &str) -> Option<FileDescriptorProto> {
    Parser::new(text).file(name).ok()
}

/// The text is outside this parser's grammar, or malformed: protox-parse decides.
#[derive(Debug)]
struct Decline;

type Parsed<T> = Result<T, Decline>;

/// A token that is not a comment or a line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Int(u64),
    /// A string literal without escapes: its content.
    Str(&'a str),
    Punct(u8),
    End,
}

/// A line and a column (bytes from the line's start), both from zero, as in source positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    line: i32,
    column: i32,
}

/// What the lexer finds between tokens.
enum Piece<'a> {
    Token(Token<'a>),
    /// A `//` comment's text after the slashes, with its line end when it has one.
    LineComment(&'a str),
    /// A `/* */` comment's text, as protoc reads it (a continuation line's indent and
    /// leading `*` dropped), and whether its line ended right after it (that line end is
    /// read with it).
    BlockComment(String, bool),
    LineEnd,
}

/// The comments found between two tokens, attributed as protoc attributes them.
#[derive(Debug, Default)]
struct Gap {
    /// The comment trailing the token before the gap.
    trailing: Option<String>,
    /// Comment blocks separated from the next token by a blank line.
    detached: Vec<String>,
    /// The comment block directly above the next token.
    leading: Option<String>,
}

impl Gap {
    fn is_empty(&self) -> bool {
        self.trailing.is_none() && self.detached.is_empty() && self.leading.is_none()
    }
}

/// protoc's comment attribution, fed the comments and line ends of one gap.
struct Attribution {
    gap: Gap,
    /// The comment block being read, not yet attributed: consecutive line comments, or one
    /// block comment.
    block: Option<String>,
    /// Whether `block` is made of line comments (a block comment stands alone).
    block_of_lines: bool,
    /// Whether the next block settled trails the previous token.
    may_trail: bool,
}

impl Attribution {
    fn new(after_token: bool) -> Attribution {
        Attribution {
            gap: Gap::default(),
            block: None,
            block_of_lines: false,
            may_trail: after_token,
        }
    }

    fn line_comment(&mut self, text: &str) {
        if self.block.is_some() && !self.block_of_lines {
            self.settle();
        }
        match &mut self.block {
            Some(block) => block.push_str(text),
            None => self.block = Some(text.to_string()),
        }
        self.block_of_lines = true;
    }

    fn block_comment(&mut self, text: String) {
        if self.block.is_some() {
            self.settle();
        }
        self.block = Some(text);
    }

    /// Attributes the block read so far: to the previous token if it may still trail it,
    /// else as a detached comment.
    fn settle(&mut self) {
        if self.may_trail {
            self.gap.trailing = self.block.take();
            self.may_trail = false;
        } else if let Some(block) = self.block.take() {
            self.gap.detached.push(block);
        }
        self.block_of_lines = false;
    }

    fn line_end(&mut self) {
        self.settle();
        self.may_trail = false;
    }

    /// The gap, once the token after it is read: a closing bracket or the end of the text
    /// settles the block read last.
    fn finish(mut self, before: Token<'_>) -> Gap {
        if matches!(before, Token::End | Token::Punct(b'}' | b']' | b')')) {
            self.settle();
        }
        self.gap.leading = self.block;
        self.gap
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: i32,
    line_start: usize,
    /// The next token, its start and end.
    token: Token<'a>,
    start: Position,
    end: Position,
    /// The end of the token consumed last.
    last_end: Position,
    /// The comments before `token`.
    gap: Gap,
    syntax_proto3: bool,
    depth: u32,
    path: Vec<i32>,
    locations: Vec<Location>,
}

/// The comments that lead a statement, taken at its first token.
struct Leading {
    detached: Vec<String>,
    leading: Option<String>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            bytes: text.as_bytes(),
            at: 0,
            line: 0,
            line_start: 0,
            token: Token::End,
            start: Position { line: 0, column: 0 },
            end: Position { line: 0, column: 0 },
            last_end: Position { line: 0, column: 0 },
            gap: Gap::default(),
            syntax_proto3: false,
            depth: 0,
            path: Vec::with_capacity(8),
            locations: Vec::new(),
        }
    }

    fn position(&self, offset: usize) -> Position {
        Position {
            line: self.line,
            column: (offset - self.line_start) as i32,
        }
    }

    /// The next piece of text, or a decline for what this parser does not read.
    fn piece(&mut self) -> Parsed<Piece<'a>> {
        let bytes = self.bytes;
        while let Some(&b) = bytes.get(self.at) {
            if matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
                self.at += 1;
            } else {
                break;
            }
        }
        let start = self.at;
        let Some(&first) = bytes.get(start) else {
            self.start = self.position(start);
            self.end = self.start;
            return Ok(Piece::Token(Token::End));
        };
        if first == b'\n' {
            self.at += 1;
            self.line += 1;
            self.line_start = self.at;
            return Ok(Piece::LineEnd);
        }
        if first == b'/' {
            if bytes.get(start + 1) == Some(&b'*') {
                return self.block_comment(start + 2);
            }
            if bytes.get(start + 1) != Some(&b'/') {
                return Err(Decline);
            }
            let mut end = start + 2;
            while let Some(&b) = bytes.get(end) {
                end += 1;
                match b {
                    b'\n' => break,
                    b'\r' => return Err(Decline),
                    _ => {}
                }
            }
            let comment = &self.text[start + 2..end];
            self.at = end;
            if comment.ends_with('\n') {
                self.line += 1;
                self.line_start = end;
            }
            return Ok(Piece::LineComment(comment));
        }
        let mut end = start + 1;
        let token = if WORD[first as usize] && !first.is_ascii_digit() {
            while end < bytes.len() && WORD[bytes[end] as usize] {
                end += 1;
            }
            Token::Ident(&self.text[start..end])
        } else if first.is_ascii_digit() {
            let mut value = u64::from(first - b'0');
            while let Some(digit @ b'0'..=b'9') = bytes.get(end) {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                    .ok_or(Decline)?;
                end += 1;
            }
            // Octal, hex, floats and numbers run into names are the full parser's.
            let next = bytes.get(end).copied().unwrap_or(b' ');
            if (end - start > 1 && first == b'0') || WORD[next as usize] || next == b'.' {
                return Err(Decline);
            }
            Token::Int(value)
        } else if first == b'"' || first == b'\'' {
            let content = start + 1;
            let close = bytes[content..]
                .iter()
                .position(|&b| b == first || b == b'\\' || b == b'\n' || b == 0)
                .ok_or(Decline)?;
            if bytes[content + close] != first {
                return Err(Decline);
            }
            end = content + close + 1;
            Token::Str(&self.text[content..content + close])
        } else if b"{}[]()<>=;,.-".contains(&first) {
            if first == b'.' && bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
                return Err(Decline);
            }
            Token::Punct(first)
        } else {
            return Err(Decline);
        };
        self.start = self.position(start);
        self.end = self.position(end);
        self.at = end;
        Ok(Piece::Token(token))
    }

    /// The block comment whose text starts at `at`. Nested, unterminated and non-ASCII
    /// comments, and ones holding CR, VT or FF, are the full parser's.
    fn block_comment(&mut self, mut at: usize) -> Parsed<Piece<'a>> {
        let bytes = self.bytes;
        let mut text = String::new();
        loop {
            match bytes.get(at) {
                None => return Err(Decline),
                Some(b'*') if bytes.get(at + 1) == Some(&b'/') => {
                    at += 2;
                    break;
                }
                Some(b'/') if bytes.get(at + 1) == Some(&b'*') => return Err(Decline),
                Some(b'\n') => {
                    text.push('\n');
                    at += 1;
                    self.line += 1;
                    self.line_start = at;
                    // The next line's indent (blank lines too) and a leading `*` are not
                    // part of the text.
                    while let Some(&b) = bytes.get(at).filter(|b| matches!(b, b' ' | b'\t' | b'\n')) {
                        at += 1;
                        if b == b'\n' {
                            self.line += 1;
                            self.line_start = at;
                        }
                    }
                    if bytes.get(at) == Some(&b'*') && bytes.get(at + 1) != Some(&b'/') {
                        at += 1;
                    }
                }
                Some(&b) if b >= 0x80 || matches!(b, b'\r' | 0x0b | 0x0c) => return Err(Decline),
                Some(&b) => {
                    text.push(char::from(b));
                    at += 1;
                }
            }
        }
        // Spaces after the comment belong to it; so does the line end, if it comes next.
        while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\r' | 0x0b | 0x0c)) {
            at += 1;
        }
        let line_ends = bytes.get(at) == Some(&b'\n');
        if line_ends {
            at += 1;
            self.line += 1;
            self.line_start = at;
        }
        self.at = at;
        Ok(Piece::BlockComment(text, line_ends))
    }

    /// Reads the comments up to the next token and that token.
    fn advance(&mut self, after_token: bool) -> Parsed<()> {
        // Most gaps hold no comment: spaces and line ends are skipped (line ends counted),
        // and comments are attributed only where one turns up.
        let mut line_ends = 0;
        loop {
            match self.bytes.get(self.at) {
                Some(b' ' | b'\t' | b'\r' | 0x0b | 0x0c) => self.at += 1,
                Some(b'\n') => {
                    self.at += 1;
                    self.line += 1;
                    self.line_start = self.at;
                    line_ends += 1;
                }
                _ => break,
            }
        }
        if self.bytes.get(self.at) != Some(&b'/') {
            let Piece::Token(token) = self.piece()? else {
                return Err(Decline);
            };
            if !self.gap.is_empty() {
                self.gap = Gap::default();
            }
            self.token = token;
            return Ok(());
        }
        // A comment: the gap is read again piece by piece, as protoc reads it. Its first
        // piece after a token is special: a comment there trails the token, and a line
        // end there does not yet detach.
        let mut attribution = Attribution::new(after_token);
        let mut first = after_token;
        for _ in 0..line_ends {
            if !first {
                attribution.line_end();
            }
            first = false;
        }
        loop {
            match self.piece()? {
                Piece::Token(token) => {
                    self.gap = attribution.finish(token);
                    self.token = token;
                    return Ok(());
                }
                Piece::LineComment(text) if first => {
                    attribution.line_comment(text);
                    attribution.settle();
                }
                Piece::LineComment(text) => attribution.line_comment(text),
                // A block comment sharing its last line with the next token, right after
                // the previous one: protoc drops it and every comment up to that token.
                Piece::BlockComment(_, false) if first => loop {
                    if let Piece::Token(token) = self.piece()? {
                        self.gap = Gap::default();
                        self.token = token;
                        return Ok(());
                    }
                },
                Piece::BlockComment(text, _) => attribution.block_comment(text),
                Piece::LineEnd if first => {}
                Piece::LineEnd => attribution.line_end(),
            }
            first = false;
        }
    }

    /// Consumes the next token.
    fn bump(&mut self) -> Parsed<()> {
        self.last_end = self.end;
        self.advance(true)
    }

    fn is(&self, punct: u8) -> bool {
        self.token == Token::Punct(punct)
    }

    fn is_word(&self, word: &str) -> bool {
        self.token == Token::Ident(word)
    }

    fn expect(&mut self, punct: u8) -> Parsed<()> {
        if !self.is(punct) {
            return Err(Decline);
        }
        self.bump()
    }

    fn ident(&mut self) -> Parsed<&'a str> {
        match self.token {
            Token::Ident(name) => {
                self.bump()?;
                Ok(name)
            }
            _ => Err(Decline),
        }
    }

    /// A string literal (one: adjacent literals, which concatenate, are declined).
    fn string(&mut self) -> Parsed<&'a str> {
        match self.token {
            Token::Str(text) => {
                self.bump()?;
                match self.token {
                    Token::Str(_) => Err(Decline),
                    _ => Ok(text),
                }
            }
            _ => Err(Decline),
        }
    }

    /// `a.b.c`, with a leading dot when `dotted` allows one.
    fn full_name(&mut self, dotted: bool) -> Parsed<String> {
        let mut name = String::new();
        if dotted && self.is(b'.') {
            self.bump()?;
            name.push('.');
        }
        name.push_str(self.ident()?);
        while self.is(b'.') {
            self.bump()?;
            name.push('.');
            name.push_str(self.ident()?);
        }
        Ok(name)
    }

    /// An integer with an optional minus sign.
    fn int(&mut self) -> Parsed<(bool, u64)> {
        let negative = self.is(b'-');
        if negative {
            self.bump()?;
        }
        match self.token {
            Token::Int(value) => {
                self.bump()?;
                Ok((negative, value))
            }
            _ => Err(Decline),
        }
    }

    fn field_number(&mut self) -> Parsed<i32> {
        match self.int()? {
            (false, n @ 1..) if n <= MAX_FIELD_NUMBER as u64 => Ok(n as i32),
            _ => Err(Decline),
        }
    }

    fn enum_number(&mut self) -> Parsed<i32> {
        let (negative, value) = self.int()?;
        as_i32(negative, value).ok_or(Decline)
    }

    fn take_leading(&mut self) -> Leading {
        Leading {
            detached: std::mem::take(&mut self.gap.detached),
            leading: self.gap.leading.take(),
        }
    }

    fn path_with(&self, more: &[i32]) -> Vec<i32> {
        let mut path = Vec::with_capacity(self.path.len() + more.len());
        path.extend_from_slice(&self.path);
        path.extend_from_slice(more);
        path
    }

    /// Records the location of the statement at `path` + `more` that started at `start`
    /// and ended with the token consumed last, with its comments (the trailing one is
    /// read here, after that token).
    fn statement(&mut self, more: &[i32], start: Position, leading: Leading) {
        let trailing = self.gap.trailing.take();
        self.locations.push(Location {
            path: self.path_with(more),
            span: span(start, self.last_end),
            leading_comments: leading.leading,
            trailing_comments: trailing,
            leading_detached_comments: leading.detached,
        });
    }

    /// Records the position of the element at `path` + `more`.
    fn span_at(&mut self, more: &[i32], start: Position, end: Position) {
        self.locations.push(Location {
            path: self.path_with(more),
            span: span(start, end),
            ..Location::default()
        });
    }

    fn file(mut self, name: &str) -> Parsed<FileDescriptorProto> {
        self.advance(false)?;
        let mut file = FileDescriptorProto {
            name: Some(name.to_string()),
            ..FileDescriptorProto::default()
        };
        if self.is_word("syntax") {
            let leading = self.take_leading();
            let start = self.start;
            self.bump()?;
            self.expect(b'=')?;
            match self.string()? {
                "proto2" => {}
                "proto3" => {
                    self.syntax_proto3 = true;
                    file.syntax = Some("proto3".to_string());
                }
                _ => return Err(Decline),
            }
            self.expect(b';')?;
            self.statement(&[tag::FILE_SYNTAX], start, leading);
        }
        let mut options = Vec::new();
        loop {
            match self.token {
                Token::End => break,
                Token::Punct(b';') => self.bump()?,
                Token::Ident("package") => {
                    if file.package.is_some() {
                        return Err(Decline);
                    }
                    let leading = self.take_leading();
                    let start = self.start;
                    self.bump()?;
                    file.package = Some(self.full_name(false)?);
                    self.expect(b';')?;
                    self.statement(&[tag::FILE_PACKAGE], start, leading);
                }
                Token::Ident("import") => {
                    let leading = self.take_leading();
                    let start = self.start;
                    self.bump()?;
                    let index = file.dependency.len() as i32;
                    if self.is_word("public") {
                        self.bump()?;
                        file.public_dependency.push(index);
                    } else if self.is_word("weak") {
                        self.bump()?;
                        file.weak_dependency.push(index);
                    }
                    let path = self.string()?;
                    if !is_valid_import(path) {
                        return Err(Decline);
                    }
                    file.dependency.push(path.to_string());
                    self.expect(b';')?;
                    self.statement(&[tag::FILE_DEPENDENCY, index], start, leading);
                }
                Token::Ident("option") => {
                    self.option_statement(tag::FILE_OPTIONS, &mut options)?;
                }
                Token::Ident("message") => {
                    let index = file.message_type.len() as i32;
                    self.path.extend([tag::FILE_MESSAGE, index]);
                    let message = self.message()?;
                    self.path.truncate(0);
                    file.message_type.push(message);
                }
                Token::Ident("enum") => {
                    let index = file.enum_type.len() as i32;
                    self.path.extend([tag::FILE_ENUM, index]);
                    let enumeration = self.enumeration()?;
                    self.path.truncate(0);
                    file.enum_type.push(enumeration);
                }
                _ => return Err(Decline),
            }
        }
        if !options.is_empty() {
            file.options = Some(FileOptions {
                uninterpreted_option: options,
                ..FileOptions::default()
            });
        }
        let mut locations = self.locations;
        locations.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        file.source_code_info = Some(SourceCodeInfo { location: locations });
        Ok(file)
    }

    /// `option name = value;` in the element at `path`, added to its `options` (located
    /// under the element's options field, `options_tag`).
    fn option_statement(&mut self, options_tag: i32, options: &mut Vec<UninterpretedOption>) -> Parsed<()> {
        let leading = self.take_leading();
        let start = self.start;
        self.bump()?;
        let option = self.option()?;
        self.expect(b';')?;
        let index = options.len() as i32;
        self.statement(&[options_tag, tag::UNINTERPRETED, index], start, leading);
        options.push(option);
        Ok(())
    }

    /// `name = value`, where the name is plain parts and `(extension)` parts joined by dots.
    fn option(&mut self) -> Parsed<UninterpretedOption> {
        let mut name = Vec::new();
        loop {
            let part = if self.is(b'(') {
                self.bump()?;
                let part = self.full_name(true)?;
                self.expect(b')')?;
                NamePart {
                    name_part: part,
                    is_extension: true,
                }
            } else {
                NamePart {
                    name_part: self.ident()?.to_string(),
                    is_extension: false,
                }
            };
            name.push(part);
            if self.is(b'.') {
                self.bump()?;
            } else {
                break;
            }
        }
        self.expect(b'=')?;
        let mut option = UninterpretedOption {
            name,
            ..UninterpretedOption::default()
        };
        match self.token {
            Token::Ident(value) => {
                self.bump()?;
                option.identifier_value = Some(value.to_string());
            }
            Token::Int(value) => {
                self.bump()?;
                option.positive_int_value = Some(value);
            }
            Token::Str(_) => option.string_value = Some(self.string()?.as_bytes().to_vec()),
            Token::Punct(b'-') => {
                self.bump()?;
                let Token::Int(value) = self.token else {
                    return Err(Decline);
                };
                self.bump()?;
                option.negative_int_value = Some(as_i64_negative(value).ok_or(Decline)?);
            }
            _ => return Err(Decline),
        }
        Ok(option)
    }

    /// `[name = value, ...]` after a field or an enum value.
    fn option_list(&mut self) -> Parsed<Vec<UninterpretedOption>> {
        let mut options = Vec::new();
        if self.is(b'[') {
            self.bump()?;
            loop {
                options.push(self.option()?);
                if self.is(b',') {
                    self.bump()?;
                } else {
                    break;
                }
            }
            self.expect(b']')?;
        }
        Ok(options)
    }

    /// A message, its location path in `self.path`.
    fn message(&mut self) -> Parsed<DescriptorProto> {
        if self.depth >= MAX_DEPTH {
            return Err(Decline);
        }
        let leading = self.take_leading();
        let start = self.start;
        self.bump()?;
        let name = self.ident()?;
        self.expect(b'{')?;
        let trailing = self.gap.trailing.take();
        let mut message = DescriptorProto {
            name: Some(name.to_string()),
            ..DescriptorProto::default()
        };
        self.depth += 1;
        let body = self.message_body(&mut message);
        self.depth -= 1;
        body?;
        // The message's location spans to its closing brace, consumed last.
        self.gap.trailing = trailing;
        self.statement(&[], start, leading);
        Ok(message)
    }

    fn message_body(&mut self, message: &mut DescriptorProto) -> Parsed<()> {
        let mut options = Vec::new();
        let mut synthetic = Vec::new();
        loop {
            match self.token {
                Token::Punct(b'}') => {
                    self.bump()?;
                    break;
                }
                Token::Punct(b';') => self.bump()?,
                Token::Ident("message") => {
                    let index = message.nested_type.len() as i32;
                    self.path.extend([tag::MESSAGE_NESTED, index]);
                    let nested = self.message()?;
                    self.path.truncate(self.path.len() - 2);
                    message.nested_type.push(nested);
                }
                Token::Ident("enum") => {
                    let index = message.enum_type.len() as i32;
                    self.path.extend([tag::MESSAGE_ENUM, index]);
                    let enumeration = self.enumeration()?;
                    self.path.truncate(self.path.len() - 2);
                    message.enum_type.push(enumeration);
                }
                Token::Ident("option") => {
                    self.option_statement(tag::MESSAGE_OPTIONS, &mut options)?;
                }
                Token::Ident("reserved") => {
                    let Reserved { ranges, names } = self.reserved(
                        [tag::MESSAGE_RESERVED_RANGE, tag::MESSAGE_RESERVED_NAME],
                        message.reserved_range.len(),
                        message.reserved_name.len(),
                        true,
                    )?;
                    message.reserved_range.extend(ranges.into_iter().map(|(start, end)| {
                        descriptor_proto::ReservedRange {
                            start: Some(start),
                            end: Some(end + 1),
                        }
                    }));
                    message.reserved_name.extend(names);
                }
                Token::Ident("oneof") => self.oneof(message)?,
                Token::Ident("extend" | "extensions" | "group") => return Err(Decline),
                Token::Ident(_) | Token::Punct(b'.') => {
                    let field = self.field(message, Scope::Message(&mut synthetic))?;
                    message.field.push(field);
                }
                _ => return Err(Decline),
            }
        }
        // Real oneofs come first, in order; the synthetic ones of proto3 `optional` fields
        // follow them.
        for (field, oneof) in synthetic {
            let index = message.oneof_decl.len() as i32;
            message.field[field].oneof_index = Some(index);
            message.oneof_decl.push(oneof);
        }
        if options
            .iter()
            .any(|o: &UninterpretedOption| is_named(o, "message_set_wire_format"))
        {
            // `max` in reserved ranges means something else in message sets.
            return Err(Decline);
        }
        if !options.is_empty() {
            message.options = Some(MessageOptions {
                uninterpreted_option: options,
                ..MessageOptions::default()
            });
        }
        Ok(())
    }

    fn oneof(&mut self, message: &mut DescriptorProto) -> Parsed<()> {
        let index = message.oneof_decl.len();
        let leading = self.take_leading();
        let start = self.start;
        self.bump()?;
        let name = self.ident()?;
        self.expect(b'{')?;
        let trailing = self.gap.trailing.take();
        self.path.extend([tag::MESSAGE_ONEOF, index as i32]);
        let mut options = Vec::new();
        let mut fields = 0;
        loop {
            match self.token {
                Token::Punct(b'}') => {
                    self.bump()?;
                    break;
                }
                Token::Punct(b';') => self.bump()?,
                Token::Ident("option") => {
                    self.option_statement(tag::ONEOF_OPTIONS, &mut options)?;
                }
                Token::Ident("group") => return Err(Decline),
                Token::Ident(_) | Token::Punct(b'.') => {
                    self.path.truncate(self.path.len() - 2);
                    let mut field = self.field(message, Scope::Oneof)?;
                    self.path.extend([tag::MESSAGE_ONEOF, index as i32]);
                    field.oneof_index = Some(index as i32);
                    message.field.push(field);
                    fields += 1;
                }
                _ => return Err(Decline),
            }
        }
        if fields == 0 {
            return Err(Decline);
        }
        self.gap.trailing = trailing;
        self.statement(&[], start, leading);
        self.path.truncate(self.path.len() - 2);
        message.oneof_decl.push(OneofDescriptorProto {
            name: Some(name.to_string()),
            options: (!options.is_empty()).then_some(OneofOptions {
                uninterpreted_option: options,
            }),
        });
        Ok(())
    }

    /// A field of `message` (its index there is the next one); a map field adds its entry
    /// message to `message`'s nested types.
    fn field(&mut self, message: &mut DescriptorProto, scope: Scope<'_>) -> Parsed<FieldDescriptorProto> {
        let index = message.field.len() as i32;
        let leading = self.take_leading();
        let start = self.start;
        let label = match self.token {
            Token::Ident("optional") => Some(Label::Optional),
            Token::Ident("required") => Some(Label::Required),
            Token::Ident("repeated") => Some(Label::Repeated),
            _ => None,
        };
        if label.is_some() {
            self.bump()?;
        }
        let mut field = FieldDescriptorProto::default();
        let mut map_entry = None;
        if self.is_word("map") {
            self.bump()?;
            if label.is_some() || matches!(scope, Scope::Oneof) {
                return Err(Decline);
            }
            self.expect(b'<')?;
            let key = match self.field_type()? {
                FieldType::Scalar(
                    key @ (Type::Int32
                    | Type::Int64
                    | Type::Uint32
                    | Type::Uint64
                    | Type::Sint32
                    | Type::Sint64
                    | Type::Fixed32
                    | Type::Fixed64
                    | Type::Sfixed32
                    | Type::Sfixed64
                    | Type::Bool
                    | Type::String),
                ) => key,
                _ => return Err(Decline),
            };
            self.expect(b',')?;
            let value = self.field_type()?;
            self.expect(b'>')?;
            map_entry = Some((key, value));
            field.label = Some(Label::Repeated as i32);
            field.r#type = Some(Type::Message as i32);
        } else {
            if self.is_word("group") {
                return Err(Decline);
            }
            // What protox-parse refuses: labels in oneofs, proto2 fields without one,
            // `required` in proto3.
            match (&scope, label) {
                (Scope::Oneof, Some(_)) => return Err(Decline),
                (Scope::Message(_), None) if !self.syntax_proto3 => return Err(Decline),
                (_, Some(Label::Required)) if self.syntax_proto3 => return Err(Decline),
                _ => {}
            }
            match self.field_type()? {
                FieldType::Scalar(kind) => field.r#type = Some(kind as i32),
                FieldType::Named(name) => field.type_name = Some(name),
            }
            field.label = Some(label.unwrap_or(Label::Optional) as i32);
        }
        let name = self.ident()?;
        self.expect(b'=')?;
        field.number = Some(self.field_number()?);
        let mut options = self.option_list()?;
        self.expect(b';')?;
        if let Some(at) = options.iter().position(|o| is_named(o, "json_name")) {
            let json_name = options.remove(at);
            if options.iter().any(|o| is_named(o, "json_name")) {
                return Err(Decline);
            }
            let Some(value) = json_name.string_value else {
                return Err(Decline);
            };
            field.json_name = Some(String::from_utf8(value).map_err(|_| Decline)?);
        }
        if options.iter().any(|o| is_named(o, "default")) {
            return Err(Decline);
        }
        if !options.is_empty() {
            field.options = Some(FieldOptions {
                uninterpreted_option: options,
                ..FieldOptions::default()
            });
        }
        if let Some((key, value)) = map_entry {
            let entry = map_entry_message(name, key, value);
            field.type_name.clone_from(&entry.name);
            message.nested_type.push(entry);
        }
        if let (Scope::Message(synthetic), Some(Label::Optional)) = (scope, label) {
            if self.syntax_proto3 {
                field.proto3_optional = Some(true);
                let oneof = match name.strip_prefix('_') {
                    Some(_) => format!("X{name}"),
                    None => format!("_{name}"),
                };
                synthetic.push((
                    index as usize,
                    OneofDescriptorProto {
                        name: Some(oneof),
                        options: None,
                    },
                ));
            }
        }
        field.name = Some(name.to_string());
        self.statement(&[tag::MESSAGE_FIELD, index], start, leading);
        Ok(field)
    }

    fn field_type(&mut self) -> Parsed<FieldType> {
        let scalar = match self.token {
            Token::Ident("double") => Type::Double,
            Token::Ident("float") => Type::Float,
            Token::Ident("int32") => Type::Int32,
            Token::Ident("int64") => Type::Int64,
            Token::Ident("uint32") => Type::Uint32,
            Token::Ident("uint64") => Type::Uint64,
            Token::Ident("sint32") => Type::Sint32,
            Token::Ident("sint64") => Type::Sint64,
            Token::Ident("fixed32") => Type::Fixed32,
            Token::Ident("fixed64") => Type::Fixed64,
            Token::Ident("sfixed32") => Type::Sfixed32,
            Token::Ident("sfixed64") => Type::Sfixed64,
            Token::Ident("bool") => Type::Bool,
            Token::Ident("string") => Type::String,
            Token::Ident("bytes") => Type::Bytes,
            _ => return Ok(FieldType::Named(self.full_name(true)?)),
        };
        self.bump()?;
        Ok(FieldType::Scalar(scalar))
    }

    /// `reserved 1, 4 to 9, 20 to max;` or `reserved "a", "b";`: the ranges (inclusive)
    /// and names, their locations under `tags` (ranges, names) from the given indexes.
    fn reserved(
        &mut self,
        tags: [i32; 2],
        first_range: usize,
        first_name: usize,
        in_message: bool,
    ) -> Parsed<Reserved> {
        let leading = self.take_leading();
        let start = self.start;
        self.bump()?;
        let mut ranges = Vec::new();
        let mut names = Vec::new();
        let mut spans = Vec::new();
        if let Token::Str(_) = self.token {
            loop {
                let name_start = self.start;
                let name = self.string()?;
                if !is_valid_name(name) {
                    return Err(Decline);
                }
                spans.push((name_start, self.last_end));
                names.push(name.to_string());
                if self.is(b',') {
                    self.bump()?;
                } else {
                    break;
                }
            }
        } else {
            loop {
                let range_start = self.start;
                let number = |parser: &mut Self| match in_message {
                    true => parser.field_number(),
                    false => parser.enum_number(),
                };
                let low = number(self)?;
                let high = if self.is_word("to") {
                    self.bump()?;
                    if self.is_word("max") {
                        self.bump()?;
                        if in_message {
                            MAX_FIELD_NUMBER
                        } else {
                            i32::MAX
                        }
                    } else {
                        number(self)?
                    }
                } else {
                    low
                };
                spans.push((range_start, self.last_end));
                ranges.push((low, high));
                if self.is(b',') {
                    self.bump()?;
                } else {
                    break;
                }
            }
        }
        self.expect(b';')?;
        let (tag, first) = match names.is_empty() {
            true => (tags[0], first_range),
            false => (tags[1], first_name),
        };
        self.statement(&[tag], start, leading);
        for (i, (start, end)) in spans.into_iter().enumerate() {
            self.span_at(&[tag, (first + i) as i32], start, end);
        }
        Ok(Reserved { ranges, names })
    }

    /// An enum, its location path in `self.path`.
    fn enumeration(&mut self) -> Parsed<EnumDescriptorProto> {
        let leading = self.take_leading();
        let start = self.start;
        self.bump()?;
        let name = self.ident()?;
        self.expect(b'{')?;
        let trailing = self.gap.trailing.take();
        let mut enumeration = EnumDescriptorProto {
            name: Some(name.to_string()),
            ..EnumDescriptorProto::default()
        };
        let mut options = Vec::new();
        loop {
            match self.token {
                Token::Punct(b'}') => {
                    self.bump()?;
                    break;
                }
                Token::Punct(b';') => self.bump()?,
                Token::Ident("option") => {
                    self.option_statement(tag::ENUM_OPTIONS, &mut options)?;
                }
                Token::Ident("reserved") => {
                    let Reserved { ranges, names } = self.reserved(
                        [tag::ENUM_RESERVED_RANGE, tag::ENUM_RESERVED_NAME],
                        enumeration.reserved_range.len(),
                        enumeration.reserved_name.len(),
                        false,
                    )?;
                    enumeration
                        .reserved_range
                        .extend(
                            ranges
                                .into_iter()
                                .map(|(start, end)| enum_descriptor_proto::EnumReservedRange {
                                    start: Some(start),
                                    end: Some(end),
                                }),
                        );
                    enumeration.reserved_name.extend(names);
                }
                Token::Ident(value_name) => {
                    let index = enumeration.value.len() as i32;
                    let leading = self.take_leading();
                    let value_start = self.start;
                    self.bump()?;
                    self.expect(b'=')?;
                    let number = self.enum_number()?;
                    let value_options = self.option_list()?;
                    self.expect(b';')?;
                    self.statement(&[tag::ENUM_VALUE, index], value_start, leading);
                    enumeration.value.push(EnumValueDescriptorProto {
                        name: Some(value_name.to_string()),
                        number: Some(number),
                        options: (!value_options.is_empty()).then(|| EnumValueOptions {
                            uninterpreted_option: value_options,
                            ..EnumValueOptions::default()
                        }),
                    });
                }
                _ => return Err(Decline),
            }
        }
        if !options.is_empty() {
            enumeration.options = Some(EnumOptions {
                uninterpreted_option: options,
                ..EnumOptions::default()
            });
        }
        self.gap.trailing = trailing;
        self.statement(&[], start, leading);
        Ok(enumeration)
    }
}

/// Where a field is declared: directly in a message (proto3 `optional` fields there get a
/// synthetic oneof, collected by field index) or in a oneof.
enum Scope<'s> {
    Message(&'s mut Vec<(usize, OneofDescriptorProto)>),
    Oneof,
}

/// What a `reserved` statement reserves: inclusive number ranges, or names.
struct Reserved {
    ranges: Vec<(i32, i32)>,
    names: Vec<String>,
}

enum FieldType {
    Scalar(Type),
    Named(String),
}

/// The message a `map<K, V>` field's entries are: `key` and `value` fields, named after
/// the field in PascalCase with `Entry` appended.
fn map_entry_message(field: &str, key: Type, value: FieldType) -> DescriptorProto {
    let mut name = super::without_underscores(field, true);
    name.push_str("Entry");
    let entry_field = |name: &str, number: i32| FieldDescriptorProto {
        name: Some(name.to_string()),
        json_name: Some(name.to_string()),
        label: Some(Label::Optional as i32),
        number: Some(number),
        ..FieldDescriptorProto::default()
    };
    let mut value_field = entry_field("value", 2);
    match value {
        FieldType::Scalar(kind) => value_field.r#type = Some(kind as i32),
        FieldType::Named(name) => value_field.type_name = Some(name),
    }
    DescriptorProto {
        name: Some(name),
        field: vec![
            FieldDescriptorProto {
                r#type: Some(key as i32),
                ..entry_field("key", 1)
            },
            value_field,
        ],
        options: Some(MessageOptions {
            map_entry: Some(true),
            ..MessageOptions::default()
        }),
        ..DescriptorProto::default()
    }
}

/// Whether an option is the plain (not extension) option `name`.
fn is_named(option: &UninterpretedOption, name: &str) -> bool {
    matches!(option.name.as_slice(), [part] if !part.is_extension && part.name_part == name)
}

fn as_i32(negative: bool, value: u64) -> Option<i32> {
    if negative {
        if value == i32::MAX as u64 + 1 {
            Some(i32::MIN)
        } else {
            i32::try_from(value).ok().map(|v| -v)
        }
    } else {
        i32::try_from(value).ok()
    }
}

fn as_i64_negative(value: u64) -> Option<i64> {
    if value == i64::MAX as u64 + 1 {
        Some(i64::MIN)
    } else {
        i64::try_from(value).ok().map(|v| -v)
    }
}

/// A name as `reserved` takes it: a letter, then letters, digits and underscores.
fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An import path: relative, `/`-separated, without empty, `.` or `..` parts or backslashes.
fn is_valid_import(path: &str) -> bool {
    path.split('/')
        .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'))
}

/// A span as source positions write it: start line and column, then the end line only
/// when it differs, then the end column.
fn span(start: Position, end: Position) -> Vec<i32> {
    if start.line == end.line {
        vec![start.line, start.column, end.column]
    } else {
        vec![start.line, start.column, end.line, end.column]
    }
}
