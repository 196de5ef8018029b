//! The text a registry stores for a Protobuf schema: the `.proto` file printed back in the
//! layout Confluent's registry prints (so that clients comparing texts, and people reading
//! both registries, see the same thing). Comments are dropped, so texts that differ only in
//! comments or whitespace get one id.
//!
//! The layout: `syntax`, `package`, a blank line and the imports (plain, then public), a blank
//! line and the file options, a blank line and every top-level message (as declared) then
//! every top-level enum, then `extend` blocks and services. Inside a message the sections are
//! reserved ranges and names, options, plain fields, oneofs, extension ranges, `extend`
//! blocks, nested messages then nested enums, each section after a blank line, indented by
//! two spaces (blank lines included, as Confluent indents them).
//!
//! Two inputs: a parse of `.proto` text (type names as written, options as written, reserved
//! statements grouped as written, read from the source positions) and a descriptor decoded
//! from base64 (type names fully qualified with a leading dot, map entries kept as the nested
//! messages they are, one reserved statement per range and name).

use std::fmt::Write as _;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto, ServiceDescriptorProto,
    SourceCodeInfo, UninterpretedOption,
};

use super::{aggregate, tag, MAX_FIELD_NUMBER};

/// Where the file being printed came from, which decides how some of it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `.proto` text: names and options as written, map fields as `map<K, V>`.
    Text,
    /// A `FileDescriptorProto`: names fully qualified, map entries as messages.
    Descriptor,
}

/// Prints `file` in Confluent's layout.
pub fn print(file: &FileDescriptorProto, origin: Origin) -> String {
    print_with(file, origin, false)
}

/// Prints the parse of `.proto` text in Confluent's layout, its source positions (which
/// group `reserved` values as written) given apart from it.
pub fn print_parsed(file: &FileDescriptorProto, positions: Option<&SourceCodeInfo>) -> String {
    let mut printer = Printer::new(file, Origin::Text, false);
    printer.positions = positions;
    printer.file()
}

/// Prints `file` in Confluent's layout, normalised when `normalize` (`normalize=true`):
/// `syntax` only for proto3, imports sorted and once each, options sorted, fields by number,
/// oneofs by their first member's number, enum values by number then name, one reserved
/// value per statement in order, map entry messages hidden behind `map<K, V>`. Type names
/// must be fully qualified already (`.pkg.Type`); messages and enums keep their order, which
/// serializers' message indexes depend on.
pub fn print_with(file: &FileDescriptorProto, origin: Origin, normalize: bool) -> String {
    Printer::new(file, origin, normalize).file()
}

/// Prints `file` in Confluent's layout without what extends it: custom options (other than
/// Confluent's own `confluent.*` ones), `extensions` ranges and `extend` blocks; the
/// `?format=ignore_extensions` form, for tools that cannot resolve extensions.
pub fn print_without_extensions(file: &FileDescriptorProto, origin: Origin) -> String {
    let mut printer = Printer::new(file, origin, false);
    printer.ignore_extensions = true;
    printer.file()
}

struct Printer<'a> {
    file: &'a FileDescriptorProto,
    origin: Origin,
    proto3: bool,
    positions: Option<&'a SourceCodeInfo>,
    normalize: bool,
    ignore_extensions: bool,
}

impl<'a> Printer<'a> {
    fn new(file: &'a FileDescriptorProto, origin: Origin, normalize: bool) -> Printer<'a> {
        Printer {
            file,
            origin,
            proto3: file.syntax.as_deref() == Some("proto3"),
            positions: file.source_code_info.as_ref(),
            normalize,
            ignore_extensions: false,
        }
    }
}

/// Adds `text` (whole lines) to `out`, every line `depth` levels (two spaces each) in,
/// blank ones too.
fn indented_by(out: &mut String, depth: usize, text: &str) {
    let mut rest = text.strip_suffix('\n').unwrap_or(text);
    while let Some(end) = rest.bytes().position(|b| b == b'\n') {
        pad(out, depth);
        out.push_str(&rest[..=end]);
        rest = &rest[end + 1..];
    }
    pad(out, depth);
    out.push_str(rest);
    out.push('\n');
}

/// Adds `text` to `out` where `out` is, its lines after the first `depth` levels in (an
/// option value over several lines, inside a line that is `depth` levels in).
fn push_continued(out: &mut String, depth: usize, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            pad(out, depth);
        }
        out.push_str(line);
    }
}

/// Adds a number in decimal, without the formatting machinery (a schema prints many).
fn push_number(out: &mut String, number: i64) {
    if number < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = number.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Two spaces per level.
fn pad(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Starts a section of a block at `depth`: ends the block's opening line, or else leaves
/// a blank line (indented like the block's lines, as Confluent prints it).
fn section(out: &mut String, depth: usize) {
    if out.ends_with('\n') {
        pad(out, depth);
    }
    out.push('\n');
}

/// Adds `text` (whole lines) to `out`, every line two spaces in, blank ones too.
fn indented(out: &mut String, text: &str) {
    indented_by(out, 1, text);
}

/// A string in double quotes, escaped as Confluent escapes option values.
pub(super) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The lowercase name of a scalar type, as written in `.proto` files.
fn scalar_name(kind: Type) -> &'static str {
    match kind {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

/// An option as `name = value`, from the parse tree of `.proto` text.
fn uninterpreted(option: &UninterpretedOption) -> String {
    format!("{} = {}", option_name(option), uninterpreted_value(option))
}

/// An option's name as written: `name`, `(extension)`, `(extension).field`.
fn option_name(option: &UninterpretedOption) -> String {
    let mut name = String::new();
    for (i, part) in option.name.iter().enumerate() {
        if i > 0 {
            name.push('.');
        }
        if part.is_extension {
            name.push('(');
            name.push_str(&part.name_part);
            name.push(')');
        } else {
            name.push_str(&part.name_part);
        }
    }
    name
}

/// An option's value as written in `.proto` text.
fn uninterpreted_value(option: &UninterpretedOption) -> String {
    if let Some(identifier) = &option.identifier_value {
        identifier.clone()
    } else if let Some(n) = option.positive_int_value {
        n.to_string()
    } else if let Some(n) = option.negative_int_value {
        n.to_string()
    } else if let Some(x) = option.double_value {
        format_double(x)
    } else if let Some(bytes) = &option.string_value {
        quoted(&String::from_utf8_lossy(bytes))
    } else if let Some(aggregate) = &option.aggregate_value {
        format!("{{ {} }}", aggregate.trim())
    } else {
        String::new()
    }
}

fn format_double(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if x.is_nan() {
        "nan".to_string()
    } else {
        x.to_string()
    }
}

/// Options in brackets after a field or enum value: one inline, several one per line.
fn bracketed(options: &[String]) -> String {
    match options {
        [] => String::new(),
        [one] => format!(" [{one}]"),
        many => {
            let mut out = String::from(" [\n");
            for (i, option) in many.iter().enumerate() {
                let comma = if i + 1 < many.len() { "," } else { "" };
                indented(&mut out, &format!("{option}{comma}"));
            }
            out.push(']');
            out
        }
    }
}

/// A statement of `reserved` (or `extensions`) values.
enum Reserved {
    Range(i32, i32),
    Name(String),
}

impl Reserved {
    fn text(&self, max: i32) -> String {
        match self {
            Reserved::Range(start, end) if end - start == 1 => start.to_string(),
            Reserved::Range(start, end) if *end > max => format!("{start} to max"),
            Reserved::Range(start, end) => format!("{start} to {}", end - 1),
            Reserved::Name(name) => quoted(name),
        }
    }
}

impl Printer<'_> {
    fn file(&self) -> String {
        let file = self.file;
        let mut out = String::new();
        // A parse leaves `syntax` unset for proto2 even when the file declares it; the
        // declaration's position says it was written.
        let declared = self
            .positions
            .is_some_and(|p| p.location.iter().any(|l| l.path == [tag::FILE_SYNTAX]));
        let syntax = file
            .syntax
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(declared.then_some("proto2"))
            .filter(|s| !self.normalize || *s == "proto3");
        if let Some(syntax) = syntax {
            out.push_str(&format!("syntax = \"{syntax}\";\n"));
        }
        if let Some(package) = file.package.as_deref().filter(|p| !p.is_empty()) {
            out.push_str(&format!("package {package};\n"));
        }
        if !file.dependency.is_empty() {
            out.push('\n');
            let public: Vec<usize> = file.public_dependency.iter().map(|&i| i as usize).collect();
            let mut plain: Vec<&String> = file
                .dependency
                .iter()
                .enumerate()
                .filter(|(i, _)| !public.contains(i))
                .map(|(_, import)| import)
                .collect();
            let mut public: Vec<&String> = public.iter().filter_map(|&i| file.dependency.get(i)).collect();
            if self.normalize {
                plain.sort();
                plain.dedup();
                public.sort();
                public.dedup();
            }
            for import in plain {
                out.push_str(&format!("import {};\n", quoted(import)));
            }
            for import in public {
                out.push_str(&format!("import public {};\n", quoted(import)));
            }
        }
        let options = self.options_of(file.options.as_ref().map(|o| &o.uninterpreted_option), || {
            typed_options(file.options.as_ref(), "google.protobuf.FileOptions")
        });
        if !options.is_empty() {
            out.push('\n');
            for option in options {
                out.push_str(&format!("option {option};\n"));
            }
        }
        if !file.message_type.is_empty() || !file.enum_type.is_empty() {
            out.push('\n');
            for (i, message) in file.message_type.iter().enumerate() {
                self.message(&mut out, 0, message, &[tag::FILE_MESSAGE, i as i32]);
            }
            for (i, enumeration) in file.enum_type.iter().enumerate() {
                self.enumeration(&mut out, 0, enumeration, &[tag::FILE_ENUM, i as i32]);
            }
        }
        if !file.extension.is_empty() && !self.ignore_extensions {
            out.push('\n');
            out.push_str(&self.extends(&file.extension));
        }
        if !file.service.is_empty() {
            out.push('\n');
            for service in &file.service {
                out.push_str(&self.service(service));
            }
        }
        out
    }

    /// Options as written (text) or as set (descriptor); sorted when normalising.
    fn options_of(
        &self,
        written: Option<&Vec<UninterpretedOption>>,
        typed: impl FnOnce() -> Vec<String>,
    ) -> Vec<String> {
        let mut options = match self.origin {
            Origin::Text => written
                .map(|o| o.iter().map(uninterpreted).collect())
                .unwrap_or_default(),
            // The options a descriptor sets, then the extensions it carries: Confluent's
            // `confluent.*_meta` ones, put back on the tree by `meta::recover` in the form
            // text gives them, and printed as Confluent prints a descriptor's options.
            Origin::Descriptor => {
                let mut options = typed();
                options.extend(written.into_iter().flatten().map(|o| self.laid_out(o)));
                options
            }
        };
        if self.ignore_extensions {
            options.retain(|o| !o.starts_with('(') || o.starts_with("(confluent."));
        }
        if self.normalize {
            options.sort();
        }
        options
    }

    /// An option whose aggregate value is laid out as Confluent lays out a map-valued
    /// option, one entry per line (lines after the first relative to the option's).
    fn laid_out(&self, option: &UninterpretedOption) -> String {
        let value = option
            .aggregate_value
            .as_deref()
            .and_then(aggregate::Value::parse_fields);
        match value {
            Some(value) => format!("{} = {}", option_name(option), value.layout(self.normalize)),
            None => uninterpreted(option),
        }
    }

    /// Prints a message into `out`, `depth` levels in.
    fn message(&self, out: &mut String, depth: usize, message: &DescriptorProto, path: &[i32]) {
        pad(out, depth);
        out.push_str("message ");
        out.push_str(message.name());
        out.push_str(" {");
        let reserved = self.reserved(
            path,
            (tag::MESSAGE_RESERVED_RANGE, tag::MESSAGE_RESERVED_NAME),
            message.reserved_range.iter().map(|r| (r.start(), r.end())),
            &message.reserved_name,
        );
        if !reserved.is_empty() {
            section(out, depth);
            for statement in reserved {
                indented_by(out, depth + 1, &statement);
            }
        }
        let options = self.options_of(message.options.as_ref().map(|o| &o.uninterpreted_option), || {
            typed_options(message.options.as_ref(), "google.protobuf.MessageOptions")
        });
        if !options.is_empty() {
            section(out, depth);
            for option in options {
                indented_by(out, depth + 1, &format!("option {option};\n"));
            }
        }
        // In text, map fields read `map<K, V>` and their entry messages are not printed.
        let map_entries: Vec<&DescriptorProto> = match self.origin == Origin::Text || self.normalize {
            true => message
                .nested_type
                .iter()
                .filter(|n| n.options.as_ref().and_then(|o| o.map_entry) == Some(true))
                .collect(),
            false => Vec::new(),
        };
        let groups: Vec<&str> = message
            .field
            .iter()
            .filter(|f| f.r#type() == Type::Group && f.r#type.is_some())
            .filter_map(|f| f.type_name.as_deref())
            .collect();
        let plain: Vec<&FieldDescriptorProto> = message
            .field
            .iter()
            .filter(|f| f.oneof_index.is_none() || f.proto3_optional())
            .collect();
        let mut plain_fields: Vec<&FieldDescriptorProto> = plain.iter().copied().filter(|f| !is_group(f)).collect();
        if self.normalize {
            plain_fields.sort_by_key(|f| f.number());
        }
        if !plain_fields.is_empty() {
            section(out, depth);
            for field in plain_fields {
                self.field(out, depth + 1, field, false, &map_entries);
            }
        }
        let mut oneofs = 0;
        let mut declared: Vec<(&str, Vec<&FieldDescriptorProto>)> = Vec::new();
        for (index, oneof) in message.oneof_decl.iter().enumerate() {
            let mut members: Vec<&FieldDescriptorProto> = message
                .field
                .iter()
                .filter(|f| f.oneof_index == Some(index as i32) && !f.proto3_optional())
                .collect();
            if members.is_empty() {
                continue;
            }
            if self.normalize {
                members.sort_by_key(|f| f.number());
            }
            declared.push((oneof.name(), members));
        }
        if self.normalize {
            declared.sort_by_key(|(_, members)| members[0].number());
        }
        for (name, members) in declared {
            if oneofs == 0 {
                section(out, depth);
            }
            oneofs += 1;
            pad(out, depth + 1);
            out.push_str("oneof ");
            out.push_str(name);
            out.push_str(" {\n");
            for field in members {
                self.field(out, depth + 2, field, true, &map_entries);
            }
            pad(out, depth + 1);
            out.push_str("}\n");
        }
        let group_fields: Vec<&FieldDescriptorProto> = plain.iter().copied().filter(|f| is_group(f)).collect();
        if !group_fields.is_empty() {
            section(out, depth);
            for field in group_fields {
                indented_by(out, depth + 1, &self.group(message, field));
            }
        }
        if !message.extension_range.is_empty() && !self.ignore_extensions {
            section(out, depth);
            for range in &message.extension_range {
                let text = Reserved::Range(range.start(), range.end()).text(MAX_FIELD_NUMBER);
                indented_by(out, depth + 1, &format!("extensions {text};\n"));
            }
        }
        if !message.extension.is_empty() && !self.ignore_extensions {
            section(out, depth);
            indented_by(out, depth + 1, &self.extends(&message.extension));
        }
        let nested: Vec<(usize, &DescriptorProto)> = message
            .nested_type
            .iter()
            .enumerate()
            .filter(|(_, n)| !map_entries.iter().any(|e| std::ptr::eq(*e, *n)))
            .filter(|(_, n)| !(self.origin == Origin::Text && groups.iter().any(|g| last_name(g) == n.name())))
            .collect();
        if !nested.is_empty() || !message.enum_type.is_empty() {
            section(out, depth);
            for (i, inner) in nested {
                let inner_path = [path, &[tag::MESSAGE_NESTED, i as i32]].concat();
                self.message(out, depth + 1, inner, &inner_path);
            }
            for (i, inner) in message.enum_type.iter().enumerate() {
                let inner_path = [path, &[tag::MESSAGE_ENUM, i as i32]].concat();
                self.enumeration(out, depth + 1, inner, &inner_path);
            }
        }
        pad(out, depth);
        out.push_str("}\n");
    }

    /// Prints a field's line into `out`, `depth` levels in.
    fn field(
        &self,
        out: &mut String,
        depth: usize,
        field: &FieldDescriptorProto,
        in_oneof: bool,
        map_entries: &[&DescriptorProto],
    ) {
        let entry = field
            .type_name
            .as_deref()
            .filter(|_| field.label() == Label::Repeated)
            .and_then(|name| map_entries.iter().find(|e| e.name() == last_name(name)));
        pad(out, depth);
        let line = out;
        match entry {
            Some(entry) => {
                let key = entry.field.iter().find(|f| f.number() == 1);
                let value = entry.field.iter().find(|f| f.number() == 2);
                let _ = write!(
                    line,
                    "map<{}, {}>",
                    key.map(type_of).unwrap_or_default(),
                    value.map(type_of).unwrap_or_default()
                );
            }
            None => {
                if let Some(label) = self.label(field, in_oneof) {
                    line.push_str(label);
                    line.push(' ');
                }
                line.push_str(type_of(field));
            }
        }
        line.push(' ');
        line.push_str(field.name());
        line.push_str(" = ");
        push_number(line, field.number().into());
        let mut options = self.options_of(field.options.as_ref().map(|o| &o.uninterpreted_option), || {
            typed_options(field.options.as_ref(), "google.protobuf.FieldOptions")
        });
        let proto3_descriptor = self.origin == Origin::Descriptor && self.proto3;
        if let Some(default) = field.default_value.as_deref().filter(|_| !proto3_descriptor) {
            let value = match field.r#type.map(|_| field.r#type()) {
                Some(Type::String) => quoted(default),
                Some(Type::Bytes) => quoted(default),
                _ => default.to_string(),
            };
            options.push(format!("default = {value}"));
        }
        if let Some(json_name) = &field.json_name {
            options.push(format!("json_name = {}", quoted(json_name)));
        }
        match options.as_slice() {
            [] => {}
            [one] => {
                line.push_str(" [");
                push_continued(line, depth, one);
                line.push(']');
            }
            // Several options, one per line.
            many => {
                line.push_str(" [\n");
                for (i, option) in many.iter().enumerate() {
                    pad(line, depth + 1);
                    push_continued(line, depth + 1, option);
                    if i + 1 < many.len() {
                        line.push(',');
                    }
                    line.push('\n');
                }
                pad(line, depth);
                line.push(']');
            }
        }
        line.push_str(";\n");
    }

    /// A field's label as Confluent prints it: none inside a oneof, none for proto3's
    /// implicit presence, `optional` for proto3's explicit presence.
    fn label(&self, field: &FieldDescriptorProto, in_oneof: bool) -> Option<&'static str> {
        if in_oneof {
            return None;
        }
        if field.proto3_optional() {
            return Some("optional");
        }
        match field.label() {
            Label::Repeated => Some("repeated"),
            Label::Required if !self.proto3 => Some("required"),
            Label::Optional if !self.proto3 => Some("optional"),
            _ => None,
        }
    }

    fn group(&self, message: &DescriptorProto, field: &FieldDescriptorProto) -> String {
        let mut out = String::new();
        if let Some(label) = self.label(field, false) {
            out.push_str(label);
            out.push(' ');
        }
        let type_name = field.type_name.as_deref().unwrap_or_default();
        out.push_str(&format!("group {} = {} {{", last_name(type_name), field.number()));
        if let Some(body) = message.nested_type.iter().find(|n| n.name() == last_name(type_name)) {
            if !body.field.is_empty() {
                out.push('\n');
                for inner in &body.field {
                    self.field(&mut out, 1, inner, false, &[]);
                }
            }
        }
        out.push_str("}\n");
        out
    }

    /// Prints an enum into `out`, `depth` levels in.
    fn enumeration(&self, out: &mut String, depth: usize, enumeration: &EnumDescriptorProto, path: &[i32]) {
        pad(out, depth);
        out.push_str("enum ");
        out.push_str(enumeration.name());
        out.push_str(" {");
        let reserved = self.reserved(
            path,
            (tag::ENUM_RESERVED_RANGE, tag::ENUM_RESERVED_NAME),
            // Enum ranges include their end.
            enumeration
                .reserved_range
                .iter()
                .map(|r| (r.start(), r.end().saturating_add(1))),
            &enumeration.reserved_name,
        );
        let options = self.options_of(enumeration.options.as_ref().map(|o| &o.uninterpreted_option), || {
            typed_options(enumeration.options.as_ref(), "google.protobuf.EnumOptions")
        });
        if !reserved.is_empty() {
            section(out, depth);
            for statement in &reserved {
                indented_by(out, depth + 1, statement);
            }
        } else if !options.is_empty() || !enumeration.value.is_empty() {
            section(out, depth);
        }
        for option in options {
            indented_by(out, depth + 1, &format!("option {option};\n"));
        }
        let mut values: Vec<&prost_types::EnumValueDescriptorProto> = enumeration.value.iter().collect();
        if self.normalize {
            values.sort_by(|a, b| (a.number(), a.name()).cmp(&(b.number(), b.name())));
        }
        for value in values {
            let options = self.options_of(value.options.as_ref().map(|o| &o.uninterpreted_option), || {
                typed_options(value.options.as_ref(), "google.protobuf.EnumValueOptions")
            });
            let options = bracketed(&options);
            // Several options spread over lines, which all need indenting.
            if options.contains('\n') {
                indented_by(
                    out,
                    depth + 1,
                    &format!("{} = {}{options};\n", value.name(), value.number()),
                );
            } else {
                pad(out, depth + 1);
                let _ = writeln!(out, "{} = {}{options};", value.name(), value.number());
            }
        }
        pad(out, depth);
        out.push_str("}\n");
    }

    /// `reserved` statements. From text, grouped as written (the source positions say which
    /// values one statement held); from a descriptor, one per range then one per name.
    fn reserved(
        &self,
        path: &[i32],
        (range_tag, name_tag): (i32, i32),
        ranges: impl Iterator<Item = (i32, i32)>,
        names: &[String],
    ) -> Vec<String> {
        // `max`: the last field number, or for enums the last int32 (ranges here end one past).
        let max = if range_tag == tag::MESSAGE_RESERVED_RANGE {
            MAX_FIELD_NUMBER
        } else {
            i32::MAX - 1
        };
        let values: Vec<(Reserved, Option<Span>)> = ranges
            .enumerate()
            .map(|(i, (start, end))| (Reserved::Range(start, end), self.span(path, &[range_tag, i as i32])))
            .chain(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (Reserved::Name(name.clone()), self.span(path, &[name_tag, i as i32]))),
            )
            .collect();
        if values.is_empty() {
            return Vec::new();
        }
        if self.normalize {
            // One value per statement, numbers in order, then names.
            let mut single: Vec<&Reserved> = values.iter().map(|(v, _)| v).collect();
            single.sort_by_key(|v| match v {
                Reserved::Range(start, _) => (*start, String::new()),
                Reserved::Name(name) => (i32::MAX, name.clone()),
            });
            return single.iter().map(|v| format!("reserved {};\n", v.text(max))).collect();
        }
        // The statements are the positions of the list fields themselves, one per `reserved`.
        let mut statements: Vec<Span> = self
            .spans(path, range_tag)
            .into_iter()
            .chain(self.spans(path, name_tag))
            .collect();
        statements.sort();
        let mut grouped: Vec<Vec<&Reserved>> = vec![Vec::new(); statements.len()];
        let mut loose: Vec<&Reserved> = Vec::new();
        for (value, span) in &values {
            match span.and_then(|s| statements.iter().position(|statement| statement.contains(&s))) {
                Some(at) => grouped[at].push(value),
                None => loose.push(value),
            }
        }
        grouped
            .into_iter()
            .filter(|g| !g.is_empty())
            .chain(loose.into_iter().map(|v| vec![v]))
            .map(|group| {
                let texts: Vec<String> = group.iter().map(|v| v.text(max)).collect();
                format!("reserved {};\n", texts.join(", "))
            })
            .collect()
    }

    /// The position of the element at `path` + `more`, if the parse kept positions.
    fn span(&self, path: &[i32], more: &[i32]) -> Option<Span> {
        let full: Vec<i32> = [path, more].concat();
        self.positions?
            .location
            .iter()
            .find(|l| l.path == full)
            .and_then(|l| Span::of(&l.span))
    }

    /// Every position recorded for the list field `field` of the element at `path`.
    fn spans(&self, path: &[i32], field: i32) -> Vec<Span> {
        let full: Vec<i32> = [path, &[field]].concat();
        let Some(positions) = self.positions else {
            return Vec::new();
        };
        positions
            .location
            .iter()
            .filter(|l| l.path == full)
            .filter_map(|l| Span::of(&l.span))
            .collect()
    }

    fn extends(&self, fields: &[FieldDescriptorProto]) -> String {
        let mut out = String::new();
        let mut at = 0;
        while at < fields.len() {
            let extendee = fields[at].extendee.as_deref().unwrap_or_default();
            let mut block = format!("extend {extendee} {{\n");
            while at < fields.len() && fields[at].extendee.as_deref().unwrap_or_default() == extendee {
                self.field(&mut block, 1, &fields[at], false, &[]);
                at += 1;
            }
            block.push_str("}\n");
            out.push_str(&block);
        }
        out
    }

    fn service(&self, service: &ServiceDescriptorProto) -> String {
        let mut out = format!("service {} {{", service.name());
        let options = self.options_of(service.options.as_ref().map(|o| &o.uninterpreted_option), || {
            typed_options(service.options.as_ref(), "google.protobuf.ServiceOptions")
        });
        if !options.is_empty() {
            out.push('\n');
            for option in options {
                indented(&mut out, &format!("option {option};\n"));
            }
        }
        if !service.method.is_empty() {
            out.push('\n');
            for method in &service.method {
                let stream = |yes: bool| if yes { "stream " } else { "" };
                let mut rpc = format!(
                    "rpc {} ({}{}) returns ({}{})",
                    method.name(),
                    stream(method.client_streaming()),
                    method.input_type(),
                    stream(method.server_streaming()),
                    method.output_type()
                );
                let options = self.options_of(method.options.as_ref().map(|o| &o.uninterpreted_option), || {
                    typed_options(method.options.as_ref(), "google.protobuf.MethodOptions")
                });
                if !options.is_empty() {
                    rpc.push_str(" {\n");
                    for option in options {
                        indented(&mut rpc, &format!("option {option};\n"));
                    }
                    rpc.push('}');
                }
                rpc.push_str(";\n");
                indented(&mut out, &rpc);
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A field's type as written: the type name, or the scalar's.
fn type_of(field: &FieldDescriptorProto) -> &str {
    match (&field.type_name, field.r#type) {
        (Some(name), _) => name,
        (None, Some(_)) => scalar_name(field.r#type()),
        (None, None) => "",
    }
}

fn is_group(field: &FieldDescriptorProto) -> bool {
    field.r#type.is_some() && field.r#type() == Type::Group
}

fn last_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// A source position as (start line, start column, end line, end column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span(i32, i32, i32, i32);

impl Span {
    fn of(span: &[i32]) -> Option<Span> {
        match *span {
            [line, column, end] => Some(Span(line, column, line, end)),
            [line, column, end_line, end] => Some(Span(line, column, end_line, end)),
            _ => None,
        }
    }

    fn contains(&self, other: &Span) -> bool {
        (self.0, self.1) <= (other.0, other.1) && (other.2, other.3) <= (self.2, self.3)
    }
}

/// The options a descriptor sets, in field-number order, read through descriptor.proto's
/// own description (so every standard option prints without a table of them here).
fn typed_options<M: prost::Message>(options: Option<&M>, full_name: &str) -> Vec<String> {
    use prost_reflect::{DescriptorPool, DynamicMessage, Value};
    let Some(options) = options else { return Vec::new() };
    let Some(descriptor) = DescriptorPool::global().get_message_by_name(full_name) else {
        return Vec::new();
    };
    let Ok(message) = DynamicMessage::decode(descriptor, options.encode_to_vec().as_slice()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (field, value) in message.fields() {
        if field.name() == "uninterpreted_option" {
            continue;
        }
        let text = match value {
            Value::Bool(b) => b.to_string(),
            Value::I32(n) => n.to_string(),
            Value::I64(n) => n.to_string(),
            Value::U32(n) => n.to_string(),
            Value::U64(n) => n.to_string(),
            Value::F32(x) => format_double(f64::from(*x)),
            Value::F64(x) => format_double(*x),
            Value::String(s) => quoted(s),
            Value::Bytes(b) => quoted(&String::from_utf8_lossy(b)),
            Value::EnumNumber(n) => match field.kind().as_enum().and_then(|e| e.get_value(*n)) {
                Some(value) => value.name().to_string(),
                None => n.to_string(),
            },
            // Repeated and message-valued standard options (features, targets) are rare in
            // event schemas; they are left out of the text rather than printed wrong.
            Value::List(_) | Value::Map(_) | Value::Message(_) => continue,
        };
        out.push(format!("{} = {text}", field.name()));
    }
    out
}
