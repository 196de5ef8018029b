//! Protobuf schemas: `.proto` text (proto2 and proto3) or a base64 `FileDescriptorProto`, as
//! Confluent's clients register them, compiled with protox (pure Rust, no `protoc`) against
//! the schemas they import (references, named by their import path), Google's well-known
//! types and the other files Confluent's registry knows ([`builtin`]). The stored text is
//! the file printed in Confluent's layout ([`print`]); the compiled descriptors, with every
//! type name resolved, are what compatibility and validation read.

mod aggregate;
pub mod builtin;
mod fast_parse;
mod meta;
pub mod print;
pub mod shape;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use base64_simd::STANDARD as BASE64;
use prost::Message;
use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};
use prost_types::FileDescriptorProto;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::Compiler;

use super::{Reference, SchemaError};
use crate::schema::ErrorLocation;
use print::Origin;

/// The largest field number (2^29 - 1); `max` in a message's `reserved` ranges.
const MAX_FIELD_NUMBER: i32 = 536_870_911;

/// Descriptor field numbers (descriptor.proto), as source-position paths use them: the
/// parser records positions under them and the printer reads them back.
mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_DEPENDENCY: i32 = 3;
    pub const FILE_MESSAGE: i32 = 4;
    pub const FILE_ENUM: i32 = 5;
    pub const FILE_OPTIONS: i32 = 8;
    pub const FILE_SYNTAX: i32 = 12;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED: i32 = 3;
    pub const MESSAGE_ENUM: i32 = 4;
    pub const MESSAGE_OPTIONS: i32 = 7;
    pub const MESSAGE_ONEOF: i32 = 8;
    pub const MESSAGE_RESERVED_RANGE: i32 = 9;
    pub const MESSAGE_RESERVED_NAME: i32 = 10;
    pub const ENUM_VALUE: i32 = 2;
    pub const ENUM_OPTIONS: i32 = 3;
    pub const ENUM_RESERVED_RANGE: i32 = 4;
    pub const ENUM_RESERVED_NAME: i32 = 5;
    pub const ONEOF_OPTIONS: i32 = 2;
    /// `uninterpreted_option` in every `*Options` message.
    pub const UNINTERPRETED: i32 = 999;
}

/// The name the schema being parsed is compiled under, when no reference already uses it.
const MAIN_FILE: &str = "schema.proto";

/// A parsed Protobuf schema: its stored text and its compiled file.
#[derive(Debug, Clone)]
pub struct ProtobufSchema {
    canonical: String,
    /// The compiled file, with the files it imports in the same pool.
    file: FileDescriptor,
    /// What the stored text was printed from, kept to print its other forms and to read
    /// comments and lines.
    written: Arc<Written>,
    /// Source lines by descriptor path, indexed on first use (compatibility reports ask for
    /// many).
    lines: std::sync::OnceLock<Arc<std::collections::HashMap<Vec<i32>, usize>>>,
    /// The types as plain data, built on first use (compatibility checks ask for it once
    /// per pair of versions; the registry keeps parsed schemas, so it is built once).
    shape: std::sync::OnceLock<Arc<shape::Shape>>,
}

/// What a schema was written as.
#[derive(Debug)]
enum Written {
    /// `.proto` text. Its parse went to the compiler; what the printer and the readers of
    /// comments and lines need is kept: the positions, and the text to parse again for
    /// the rarely asked forms (`normalize`, `ignore_extensions`).
    Text {
        name: &'static str,
        text: String,
        positions: Option<prost_types::SourceCodeInfo>,
        tree: OnceLock<FileDescriptorProto>,
    },
    Descriptor(FileDescriptorProto),
}

impl Written {
    /// The tree the stored text is printed from, with its source positions.
    fn tree(&self) -> (&FileDescriptorProto, Origin) {
        match self {
            Written::Text { name, text, tree, .. } => {
                let tree = tree.get_or_init(|| {
                    // The text parsed once already, and parsing is deterministic.
                    parse_text(name, text).unwrap_or_default()
                });
                (tree, Origin::Text)
            }
            Written::Descriptor(descriptor) => (descriptor, Origin::Descriptor),
        }
    }

    fn positions(&self) -> Option<&prost_types::SourceCodeInfo> {
        match self {
            Written::Text { positions, .. } => positions.as_ref(),
            Written::Descriptor(descriptor) => descriptor.source_code_info.as_ref(),
        }
    }
}

/// A schema's content as the compiler takes it: text, or a decoded descriptor.
enum Content {
    /// The text and its parse, handed to the compiler once (the text is parsed again only
    /// to place an error, or if the compiler asks twice).
    Text(String, std::cell::RefCell<Option<Box<FileDescriptorProto>>>),
    Descriptor(Box<FileDescriptorProto>),
}

impl Content {
    /// Text that parses as `.proto` is text; otherwise base64 that decodes to a descriptor
    /// is a descriptor; otherwise the text's own parse error is the answer.
    ///
    /// Text comes with the source positions of its parse, taken off the parse the compiler
    /// gets (they would cost it a third of the compile).
    fn read(name: &str, text: &str) -> Result<(Content, Option<prost_types::SourceCodeInfo>), SchemaError> {
        match parse_text(name, text) {
            Ok(mut parsed) => {
                let positions = parsed.source_code_info.take();
                Ok((
                    Content::Text(text.to_string(), std::cell::RefCell::new(Some(Box::new(parsed)))),
                    positions,
                ))
            }
            Err(parse_error) => match descriptor_from_base64(text) {
                Some(mut descriptor) => {
                    descriptor.name = Some(name.to_string());
                    Ok((Content::Descriptor(Box::new(descriptor)), None))
                }
                None => Err(located(&parse_error, name, text, name == MAIN_FILE)),
            },
        }
    }

    /// The imports the file declares, as written.
    fn imports(&self) -> Vec<String> {
        match self {
            Content::Text(text, parsed) => match &*parsed.borrow() {
                Some(parsed) => parsed.dependency.clone(),
                None => imports(text),
            },
            Content::Descriptor(descriptor) => descriptor.dependency.clone(),
        }
    }
}

/// The parse of `.proto` text: by the fast parser where it reads the text, else (and for
/// every error) by protox-parse, which gives the same result where both read it.
fn parse_text(name: &str, text: &str) -> Result<FileDescriptorProto, protox_parse::ParseError> {
    match fast_parse::parse(name, text) {
        Some(parsed) => Ok(parsed),
        None => protox_parse::parse(name, text),
    }
}

/// A `FileDescriptorProto` in standard base64, as confluent-kafka's serializers register
/// schemas. Only text made of the base64 alphabet is tried: almost any bytes decode as some
/// protobuf message, so the alphabet is what tells a descriptor from broken `.proto` text.
fn descriptor_from_base64(text: &str) -> Option<FileDescriptorProto> {
    let trimmed = text.trim();
    if trimmed.is_empty()
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        return None;
    }
    let bytes = BASE64.decode_to_vec(trimmed).ok()?;
    let mut descriptor = FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    meta::recover(&bytes, &mut descriptor);
    // A descriptor describes something: an empty decode is not one.
    let describes = !descriptor.message_type.is_empty()
        || !descriptor.enum_type.is_empty()
        || !descriptor.service.is_empty()
        || descriptor.package.is_some()
        || descriptor.syntax.is_some();
    describes.then_some(descriptor)
}

/// A compiler error placed on a line and column of the file it is about.
fn located(error: &(dyn miette::Diagnostic + Send + Sync), file: &str, text: &str, main: bool) -> SchemaError {
    let message = error.to_string();
    let offset = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    match (offset, main) {
        (Some(offset), true) => {
            let (line, column) = line_and_column(text, offset);
            SchemaError {
                location: ErrorLocation::Text { line, column },
                message,
            }
        }
        (Some(offset), false) => {
            let (line, column) = line_and_column(text, offset);
            SchemaError::general(format!("in {file}, line {line}, column {column}: {message}"))
        }
        (None, true) => SchemaError::general(message),
        (None, false) => SchemaError::general(format!("in {file}: {message}")),
    }
}

/// The 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Files by name: the schema and its references.
struct Files {
    files: std::rc::Rc<Vec<(String, Content)>>,
    /// Hand the compiler texts rather than their parses: slower (every text is parsed
    /// again), but its errors then point into the text. Used only once a compile failed.
    with_sources: bool,
}

impl FileResolver for Files {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.iter().find(|(n, _)| n == name) {
            Some((_, Content::Text(text, _))) if self.with_sources => File::from_source(name, text),
            Some((_, Content::Text(text, parsed))) => match parsed.borrow_mut().take() {
                Some(parsed) => Ok(File::from_file_descriptor_proto(*parsed)),
                None => File::from_source(name, text),
            },
            Some((_, Content::Descriptor(descriptor))) => Ok(File::from_file_descriptor_proto(*descriptor.clone())),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// The resolvers of the built-in files (Google's well-known ones, then the bundled ones),
/// chained after the schema's own files when compiling.
fn builtin_resolver() -> ChainFileResolver {
    let mut resolver = ChainFileResolver::new();
    resolver.add(GoogleFileResolver::new());
    resolver.add(builtin::BuiltinFileResolver);
    resolver
}

/// The imports of a built-in file, `None` for any other name. Read once, through the
/// resolvers the compiler uses, so the names are exactly the ones they serve.
fn builtin_imports(name: &str) -> Option<&'static [String]> {
    static IMPORTS: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    IMPORTS
        .get_or_init(|| {
            let resolver = builtin_resolver();
            let global = DescriptorPool::global();
            let google = global.files().map(|file| file.name().to_string());
            google
                .chain(builtin::names().map(str::to_string))
                .filter_map(|name| {
                    let file = resolver.open_file(&name).ok()?;
                    let imports = file.file_descriptor_proto().dependency.clone();
                    Some((name, imports))
                })
                .collect()
        })
        .get(name)
        .map(Vec::as_slice)
}

/// The files compiling `main` adds to its pool, in the compiler's order: each after the
/// files it imports, imports in the order written. `None` where the compiler refuses the
/// imports (a file missing, imported twice by one file, or in a cycle): it then says why.
fn compile_order(main: &str, files: &[(String, Content)]) -> Option<Vec<String>> {
    fn visit(name: &str, files: &[(String, Content)], stack: &mut Vec<String>, order: &mut Vec<String>) -> Option<()> {
        let imports = match files.iter().find(|(n, _)| n == name) {
            Some((_, content)) => content.imports(),
            None => builtin_imports(name)?.to_vec(),
        };
        stack.push(name.to_string());
        for (i, import) in imports.iter().enumerate() {
            if imports[..i].contains(import) || stack.contains(import) {
                return None;
            }
            if !order.contains(import) {
                visit(import, files, stack, order)?;
            }
        }
        stack.pop();
        order.push(name.to_string());
        Some(())
    }
    let mut order = Vec::new();
    visit(main, files, &mut Vec::new(), &mut order)?;
    Some(order)
}

/// A pool holding the built-in files `names` (each after those it imports), as the
/// compiler adds them. Pools are kept by their list of files, so that a schema's built-in
/// imports are not compiled again for every schema (`descriptor.proto`, which files with
/// custom options import, costs more to compile than most schemas). Adding the schema's
/// own files to a kept pool copies it, which costs less than compiling its files.
fn builtin_pool(names: &[String]) -> Option<DescriptorPool> {
    /// Distinct lists are few; past this many, pools are compiled and not kept.
    const KEPT: usize = 32;
    static POOLS: Mutex<Vec<(Vec<String>, DescriptorPool)>> = Mutex::new(Vec::new());
    if names.is_empty() {
        return Some(DescriptorPool::new());
    }
    let kept = |pools: &[(Vec<String>, DescriptorPool)]| {
        pools
            .iter()
            .find(|(kept, _)| kept == names)
            .map(|(_, pool)| pool.clone())
    };
    if let Some(pool) = kept(&POOLS.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Some(pool);
    }
    let mut compiler = Compiler::with_file_resolver(builtin_resolver());
    compiler.include_source_info(false).include_imports(true);
    for name in names {
        compiler.open_file(name).ok()?;
    }
    let pool = compiler.descriptor_pool();
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    if pools.len() < KEPT && kept(&pools).is_none() {
        pools.push((names.to_vec(), pool.clone()));
    }
    Some(pool)
}

/// The pool compiling `main` gives, built on a kept pool of the built-in files the
/// compiler adds first ([`builtin_pool`]), the other files added after it in the
/// compiler's order: the same files in the same order as from [`Compiler`]. `None` where
/// the compiler must decide: a reference named like a built-in file (it then stands for
/// that file, for the other built-in files too), imports the compiler refuses, or a file
/// the pool refuses (the compiler then places the error).
fn pool_on_builtins(main: &str, files: &std::rc::Rc<Vec<(String, Content)>>) -> Option<DescriptorPool> {
    if files.iter().any(|(name, _)| builtin_imports(name).is_some()) {
        return None;
    }
    let order = compile_order(main, files)?;
    let first = order.iter().take_while(|name| builtin_imports(name).is_some()).count();
    let mut pool = builtin_pool(&order[..first])?;
    let own = Files {
        files: files.clone(),
        with_sources: false,
    };
    let builtins = builtin_resolver();
    for name in &order[first..] {
        let file = match builtin_imports(name) {
            Some(_) => builtins.open_file(name),
            None => own.open_file(name),
        };
        pool.add_file_descriptor_proto(file.ok()?.into()).ok()?;
    }
    Some(pool)
}

/// The files a `.proto` text imports, as written; none when it does not parse (the parse
/// that follows says why).
pub fn imports(text: &str) -> Vec<String> {
    parse_text(MAIN_FILE, text)
        .map(|file| file.dependency)
        .unwrap_or_default()
}

/// Parses and compiles a Protobuf schema. `references` are the files it imports, each named
/// by its import path, in any order.
pub fn parse(text: &str, references: &[Reference<'_>]) -> Result<ProtobufSchema, SchemaError> {
    let main = match references.iter().any(|r| r.name == MAIN_FILE) {
        true => "herald-schema.proto",
        false => MAIN_FILE,
    };
    let (content, positions) = Content::read(main, text)?;
    // Printed before compiling, which takes the parse.
    let (canonical, syntax) = match &content {
        Content::Text(_, parsed) => {
            let parsed = parsed.borrow();
            let parsed = parsed
                .as_deref()
                .ok_or_else(|| SchemaError::general("the schema's parse is missing"))?;
            (print::print_parsed(parsed, positions.as_ref()), parsed.syntax.clone())
        }
        Content::Descriptor(descriptor) => (print::print(descriptor, Origin::Descriptor), descriptor.syntax.clone()),
    };
    if let Some(syntax) = syntax.filter(|s| s != "proto2" && s != "proto3") {
        return Err(SchemaError::general(format!(
            "syntax {syntax:?} is not supported: use proto2 or proto3 (editions are not read yet)"
        )));
    }
    let written = match &content {
        Content::Text(..) => Written::Text {
            name: main,
            text: text.to_string(),
            positions,
            tree: OnceLock::new(),
        },
        Content::Descriptor(descriptor) => Written::Descriptor(*descriptor.clone()),
    };
    let mut files = vec![(main.to_string(), content)];
    let mut texts: Vec<(&str, &str)> = vec![(main, text)];
    for reference in references {
        let (content, _) = Content::read(reference.name, reference.schema)?;
        texts.push((reference.name, reference.schema));
        files.push((reference.name.to_string(), content));
    }
    let files = std::rc::Rc::new(files);
    let compile = |with_sources: bool| {
        let mut resolver = ChainFileResolver::new();
        resolver.add(Files {
            files: files.clone(),
            with_sources,
        });
        // The built-in files come after the references: a reference named like one wins.
        resolver.add(builtin_resolver());
        let mut compiler = Compiler::with_file_resolver(resolver);
        // Positions come from the parse, which keeps them; the compiler need not redo them.
        compiler.include_source_info(false).include_imports(true);
        compiler.open_file(main)?;
        Ok::<DescriptorPool, protox::Error>(compiler.descriptor_pool())
    };
    // Errors are rare and placed by a second compile from the texts.
    let compiled = match pool_on_builtins(main, &files) {
        Some(pool) => Ok(pool),
        None => compile(false).or_else(|_| compile(true)),
    };
    let pool: DescriptorPool = match compiled {
        Ok(pool) => pool,
        Err(error) => {
            let file = error.file().unwrap_or(main).to_string();
            let source = texts.iter().find(|(n, _)| *n == file).map_or("", |(_, t)| t);
            let mut refused = located(&error, &file, source, file == main);
            if error.is_file_not_found() {
                refused.message.push_str(
                    ": give the imported file as a reference whose name is its import path \
                     (the built-in google/protobuf/, google/type/ and confluent/ files need none)",
                );
            }
            return Err(refused);
        }
    };
    let file = pool
        .get_file_by_name(main)
        .ok_or_else(|| SchemaError::general("the compiled schema is missing from its own pool"))?;
    let from_text = matches!(written, Written::Text { .. });
    // A descriptor is not checked for what text could not say (a name that is no
    // identifier, a oneof named like a synthetic one); the text printed from it is what is
    // stored, so it must compile again, as text, to the same thing.
    if !from_text {
        if let Err(error) = parse(&canonical, references) {
            return Err(SchemaError::general(format!(
                "the descriptor cannot be written as .proto text: the text printed from it does not compile: {error}"
            )));
        }
    }
    Ok(ProtobufSchema {
        canonical,
        file,
        written: Arc::new(written),
        lines: std::sync::OnceLock::new(),
        shape: std::sync::OnceLock::new(),
    })
}

impl ProtobufSchema {
    /// The text a registry stores and returns.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The text under `normalize=true`, as Confluent normalises Protobuf: type names fully
    /// qualified, imports, options, fields, oneofs, enum values and reserved values in
    /// order (see [`print::print_with`]); messages and enums keep theirs.
    pub fn normalized(&self) -> String {
        let (tree, origin) = self.written.tree();
        let mut tree = tree.clone();
        if origin == Origin::Text {
            let compiled = self.file.file_descriptor_proto();
            for (written, resolved) in tree.message_type.iter_mut().zip(&compiled.message_type) {
                qualify(written, resolved);
            }
            for (written, resolved) in tree.extension.iter_mut().zip(&compiled.extension) {
                written.type_name.clone_from(&resolved.type_name);
                written.extendee.clone_from(&resolved.extendee);
            }
        }
        print::print_with(&tree, origin, true)
    }

    /// The file's types as plain data (see [`shape`]).
    pub fn shape(&self) -> &shape::Shape {
        self.shape.get_or_init(|| Arc::new(shape::Shape::of(&self.file)))
    }

    /// The stored text without custom options (but Confluent's own), `extensions` ranges
    /// and `extend` blocks: `?format=ignore_extensions`.
    pub fn without_extensions(&self) -> String {
        let (tree, origin) = self.written.tree();
        print::print_without_extensions(tree, origin)
    }

    /// The compiled file.
    pub fn file(&self) -> &FileDescriptor {
        &self.file
    }

    /// The file as a base64 `FileDescriptorProto` (`?format=serialized`), compiled from the
    /// stored text: names resolved, no source positions.
    pub fn serialized(&self) -> String {
        // Custom options (`confluent.*_meta` among them) are extensions, kept only in the
        // compiled file's own encoding; they need descriptor.proto, so a pool without it
        // has none and the plain descriptor says everything.
        let pool = self.file.parent_pool();
        if let Some(descriptor) = pool.get_message_by_name("google.protobuf.FileDescriptorProto") {
            if let Ok(mut file) =
                prost_reflect::DynamicMessage::decode(descriptor, self.file.encode_to_vec().as_slice())
            {
                file.clear_field_by_name("source_code_info");
                drop_derived_dynamic_json_names(&mut file);
                return BASE64.encode_to_string(file.encode_to_vec());
            }
        }
        let mut proto = self.file.file_descriptor_proto().clone();
        proto.source_code_info = None;
        for message in &mut proto.message_type {
            drop_derived_json_names(message);
        }
        for field in &mut proto.extension {
            if field.json_name.as_deref() == Some(derived_json_name(field.name()).as_str()) {
                field.json_name = None;
            }
        }
        BASE64.encode_to_string(proto.encode_to_vec())
    }

    /// The package, empty when the file declares none.
    pub fn package(&self) -> &str {
        self.file.package_name()
    }

    /// Top-level messages in declaration order: the first elements of message-index paths.
    pub fn messages(&self) -> Vec<MessageDescriptor> {
        self.file.messages().collect()
    }

    /// The message a serializer's message-index path names: the index among top-level
    /// messages, then among that message's nested messages, and so on.
    pub fn message_at(&self, path: &[i32]) -> Option<MessageDescriptor> {
        let (&first, rest) = path.split_first()?;
        let mut message = self.file.messages().nth(usize::try_from(first).ok()?)?;
        for &index in rest {
            let child = message.child_messages().nth(usize::try_from(index).ok()?)?;
            message = child;
        }
        Some(message)
    }

    /// What the schema says of its event: the comment before its first message (when the
    /// schema was text with one).
    pub fn documentation(&self) -> Option<&str> {
        self.comment(&[4, 0])
    }

    /// Whether the text had any comment on its elements: the stored text drops them.
    pub fn has_comments(&self) -> bool {
        self.written.positions().is_some_and(|info| {
            info.location.iter().any(|l| {
                l.leading_comments.as_deref().is_some_and(|c| !c.trim().is_empty())
                    || l.trailing_comments.as_deref().is_some_and(|c| !c.trim().is_empty())
            })
        })
    }

    /// The comment written before (or else after) the element at a descriptor path.
    pub fn comment(&self, path: &[i32]) -> Option<&str> {
        let info = self.written.positions()?;
        let location = info.location.iter().find(|l| l.path == path)?;
        location
            .leading_comments
            .as_deref()
            .or(location.trailing_comments.as_deref())
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// The line of the element a compatibility path names (`/Order/2`, `/Order/pay/3`,
    /// `/Order/Line`): the deepest message, oneof, enum or field it reaches. `None` for a
    /// schema given as a descriptor, which has no lines.
    pub fn line_of_path(&self, path: &str) -> Option<usize> {
        let mut parts = path.trim_start_matches('#').trim_start_matches('/').split('/');
        let first = parts.next()?;
        let mut message = self.file.messages().find(|m| m.name() == first);
        let mut line = message.as_ref().and_then(|m| self.line_of(m.path()));
        for part in parts {
            let Some(current) = message.clone() else { break };
            if let Ok(number) = part.parse::<u32>() {
                if let Some(field) = current.get_field(number) {
                    line = self.line_of(field.path()).or(line);
                }
            } else if let Some(nested) = current.child_messages().find(|m| m.name() == part) {
                line = self.line_of(nested.path()).or(line);
                message = Some(nested);
            } else if let Some(oneof) = current.oneofs().find(|o| o.name() == part) {
                line = self.line_of(oneof.path()).or(line);
            } else if let Some(inner) = current.child_enums().find(|e| e.name() == part) {
                line = self.line_of(inner.path()).or(line);
            }
        }
        line
    }

    /// The 1-based line a descriptor element starts on, from the source positions of the
    /// text the schema was compiled from.
    pub fn line_of(&self, path: &[i32]) -> Option<usize> {
        let lines = self.lines.get_or_init(|| {
            let mut lines = std::collections::HashMap::new();
            // The parse and the compiled file have the same elements at the same paths.
            if let Some(info) = self.written.positions() {
                for location in &info.location {
                    if let Some(&line) = location.span.first() {
                        // The first position recorded for a path is the element's own.
                        lines.entry(location.path.clone()).or_insert(line as usize + 1);
                    }
                }
            }
            Arc::new(lines)
        });
        lines.get(path).copied()
    }
}

/// Gives the fields of a parsed message (and its nested ones) the fully qualified type names
/// the compiler resolved; the compiled message has the same fields and nested messages in
/// the same order.
fn qualify(written: &mut prost_types::DescriptorProto, resolved: &prost_types::DescriptorProto) {
    for (field, compiled) in written.field.iter_mut().zip(&resolved.field) {
        if field.type_name.is_some() {
            field.type_name.clone_from(&compiled.type_name);
            field.r#type = compiled.r#type;
        }
    }
    for (nested, compiled) in written.nested_type.iter_mut().zip(&resolved.nested_type) {
        qualify(nested, compiled);
    }
}

/// Clears `json_name` where the compiler derived it from the field's name, so that a
/// descriptor carries only the JSON names a schema's author wrote (as `protoc` embeds them
/// in generated code, and as the text printed from the descriptor should show).
fn drop_derived_json_names(message: &mut prost_types::DescriptorProto) {
    for field in message.field.iter_mut().chain(&mut message.extension) {
        if field.json_name.as_deref() == Some(derived_json_name(field.name()).as_str()) {
            field.json_name = None;
        }
    }
    for nested in &mut message.nested_type {
        drop_derived_json_names(nested);
    }
}

/// [`drop_derived_json_names`] for a `FileDescriptorProto` or `DescriptorProto` read as a
/// dynamic message.
fn drop_derived_dynamic_json_names(element: &mut prost_reflect::DynamicMessage) {
    use prost_reflect::Value;
    for list in ["field", "extension"] {
        let Some(Value::List(fields)) = element.get_field_by_name_mut(list) else {
            continue;
        };
        for field in fields.iter_mut().filter_map(Value::as_message_mut) {
            let derived = field
                .get_field_by_name("name")
                .and_then(|n| n.as_str().map(derived_json_name));
            let json_name = field.get_field_by_name("json_name");
            if derived.is_some() && json_name.as_deref().and_then(Value::as_str) == derived.as_deref() {
                field.clear_field_by_name("json_name");
            }
        }
    }
    for list in ["message_type", "nested_type"] {
        if let Some(Value::List(messages)) = element.get_field_by_name_mut(list) {
            messages
                .iter_mut()
                .filter_map(Value::as_message_mut)
                .for_each(drop_derived_dynamic_json_names);
        }
    }
}

/// protoc's JSON name: underscores dropped, the letter after each one upper-cased.
fn derived_json_name(name: &str) -> String {
    without_underscores(name, false)
}

/// `name` without its underscores, the letter after each one upper-cased, and the first
/// one too when `upper_first`: protoc's JSON names (camelCase) and the names of map entry
/// messages (PascalCase).
fn without_underscores(name: &str, upper_first: bool) -> String {
    let mut out = String::with_capacity(name.len() + 5);
    let mut upper = upper_first;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
