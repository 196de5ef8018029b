//! Confluent's `confluent.*_meta` options (`confluent/meta.proto`: a doc, params, tags and
//! rules on a file, message, field, enum or enum value) carried by a base64 descriptor.
//!
//! Decoding a descriptor into `prost_types` drops every extension, and these options are
//! extensions: without this, a schema registered by a serializer (which sends the
//! descriptor) would lose its `(confluent.field_meta).tags = "PII"`, and with it the tags
//! that redaction and data-contract rules match on. Confluent's registry reads exactly
//! these extensions from a descriptor and no others (users' own extensions are dropped
//! there too), so these are the ones recovered.
//!
//! The options are read from the descriptor's bytes with a small mirror of its shape that
//! keeps only where options sit, then put back on the decoded tree as aggregate options,
//! the form a parse of `.proto` text gives them: the compiler interprets them, and the
//! printer prints them in Confluent's layout.
//!
//! Pure code: bytes in, tree out.

use prost::Message as _;
use prost_types::uninterpreted_option::NamePart;
use prost_types::{FileDescriptorProto, UninterpretedOption};

use super::print::quoted;

/// The import that declares the options: without it they cannot be written as text.
pub const META_FILE: &str = "confluent/meta.proto";

/// Puts the `confluent.*_meta` options that `bytes` (the descriptor `tree` was decoded
/// from) carries back on `tree`'s elements. Does nothing for a file that does not import
/// [`META_FILE`].
pub fn recover(bytes: &[u8], tree: &mut FileDescriptorProto) {
    if !tree.dependency.iter().any(|d| d == META_FILE) {
        return;
    }
    let Ok(shape) = File::decode(bytes) else { return };
    with_options(
        &mut tree.options,
        |o| &mut o.uninterpreted_option,
        |options| attach(shape.options.as_ref(), "file_meta", options),
    );
    for (message, shape) in tree.message_type.iter_mut().zip(&shape.messages) {
        recover_message(shape, message);
    }
    for (enumeration, shape) in tree.enum_type.iter_mut().zip(&shape.enums) {
        recover_enum(shape, enumeration);
    }
    for (field, shape) in tree.extension.iter_mut().zip(&shape.extensions) {
        recover_field(shape, field);
    }
}

fn recover_message(shape: &MessageShape, message: &mut prost_types::DescriptorProto) {
    with_options(
        &mut message.options,
        |o| &mut o.uninterpreted_option,
        |options| attach(shape.options.as_ref(), "message_meta", options),
    );
    for (field, shape) in message.field.iter_mut().zip(&shape.fields) {
        recover_field(shape, field);
    }
    for (field, shape) in message.extension.iter_mut().zip(&shape.extensions) {
        recover_field(shape, field);
    }
    for (nested, shape) in message.nested_type.iter_mut().zip(&shape.nested) {
        recover_message(shape, nested);
    }
    for (enumeration, shape) in message.enum_type.iter_mut().zip(&shape.enums) {
        recover_enum(shape, enumeration);
    }
}

fn recover_field(shape: &FieldShape, field: &mut prost_types::FieldDescriptorProto) {
    with_options(
        &mut field.options,
        |o| &mut o.uninterpreted_option,
        |options| attach(shape.options.as_ref(), "field_meta", options),
    );
}

fn recover_enum(shape: &EnumShape, enumeration: &mut prost_types::EnumDescriptorProto) {
    with_options(
        &mut enumeration.options,
        |o| &mut o.uninterpreted_option,
        |options| attach(shape.options.as_ref(), "enum_meta", options),
    );
    for (value, shape) in enumeration.value.iter_mut().zip(&shape.values) {
        with_options(
            &mut value.options,
            |o| &mut o.uninterpreted_option,
            |options| attach(shape.options.as_ref(), "enum_value_meta", options),
        );
    }
}

/// Runs `edit` on the uninterpreted options of `options`, made if missing and dropped
/// again if they stay empty.
fn with_options<O: Default + PartialEq>(
    options: &mut Option<O>,
    uninterpreted: impl Fn(&mut O) -> &mut Vec<UninterpretedOption>,
    edit: impl FnOnce(&mut Vec<UninterpretedOption>),
) {
    let made = options.is_none();
    let present = options.get_or_insert_with(O::default);
    edit(uninterpreted(present));
    if made && *present == O::default() {
        *options = None;
    }
}

/// Adds `(confluent.<extension>) = { … }` when the element's options carry a meta with
/// anything in it.
fn attach(options: Option<&Options>, extension: &str, to: &mut Vec<UninterpretedOption>) {
    let Some(aggregate) = options.and_then(|o| o.meta.as_ref()).and_then(Meta::aggregate) else {
        return;
    };
    to.push(UninterpretedOption {
        name: vec![NamePart {
            name_part: format!("confluent.{extension}"),
            is_extension: true,
        }],
        aggregate_value: Some(aggregate),
        ..Default::default()
    });
}

impl Meta {
    /// The meta as the text of an aggregate, fields in the order Confluent prints them
    /// (doc, params, tags, rules; only those set). Params keep their order in the
    /// descriptor; Confluent writes `precision` and `scale` value first, which is kept for
    /// the same text.
    fn aggregate(&self) -> Option<String> {
        let mut fields: Vec<String> = Vec::new();
        if !self.doc.is_empty() {
            fields.push(format!("doc: {}", quoted(&self.doc)));
        }
        if !self.params.is_empty() {
            let params: Vec<String> = self
                .params
                .iter()
                .map(|p| {
                    let (key, value) = (quoted(&p.key), quoted(&p.value));
                    match p.key.as_str() {
                        "precision" | "scale" => format!("{{ value: {value}, key: {key} }}"),
                        _ => format!("{{ key: {key}, value: {value} }}"),
                    }
                })
                .collect();
            fields.push(format!("params: [{}]", params.join(", ")));
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| quoted(t)).collect();
            fields.push(format!("tags: [{}]", tags.join(", ")));
        }
        if !self.rules.is_empty() {
            let rules: Vec<String> = self.rules.iter().map(Rule::aggregate).collect();
            fields.push(format!("rules: [{}]", rules.join(", ")));
        }
        (!fields.is_empty()).then(|| fields.join(" "))
    }
}

impl Rule {
    fn aggregate(&self) -> String {
        let fields: Vec<String> = [
            ("name", &self.name),
            ("doc", &self.doc),
            ("expr", &self.expr),
            ("sql", &self.sql),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}: {}", quoted(value)))
        .collect();
        format!("{{ {} }}", fields.join(", "))
    }
}

// The descriptor's shape, as far as options go: descriptor.proto's field numbers, every
// other field skipped by the decode. Each list lines up with the decoded tree's.

#[derive(Clone, PartialEq, prost::Message)]
struct File {
    #[prost(message, repeated, tag = "4")]
    messages: Vec<MessageShape>,
    #[prost(message, repeated, tag = "5")]
    enums: Vec<EnumShape>,
    #[prost(message, repeated, tag = "7")]
    extensions: Vec<FieldShape>,
    #[prost(message, optional, tag = "8")]
    options: Option<Options>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MessageShape {
    #[prost(message, repeated, tag = "2")]
    fields: Vec<FieldShape>,
    #[prost(message, repeated, tag = "3")]
    nested: Vec<MessageShape>,
    #[prost(message, repeated, tag = "4")]
    enums: Vec<EnumShape>,
    #[prost(message, repeated, tag = "6")]
    extensions: Vec<FieldShape>,
    #[prost(message, optional, tag = "7")]
    options: Option<Options>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FieldShape {
    #[prost(message, optional, tag = "8")]
    options: Option<Options>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EnumShape {
    #[prost(message, repeated, tag = "2")]
    values: Vec<EnumValueShape>,
    #[prost(message, optional, tag = "3")]
    options: Option<Options>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EnumValueShape {
    #[prost(message, optional, tag = "3")]
    options: Option<Options>,
}

/// Any `*Options` message: every `confluent.*_meta` extension has number 1088.
#[derive(Clone, PartialEq, prost::Message)]
struct Options {
    #[prost(message, optional, tag = "1088")]
    meta: Option<Meta>,
}

/// `confluent.Meta`. `params` is a map, read as its entries so that their order is kept.
#[derive(Clone, PartialEq, prost::Message)]
struct Meta {
    #[prost(string, tag = "1")]
    doc: String,
    #[prost(message, repeated, tag = "2")]
    params: Vec<Param>,
    #[prost(string, repeated, tag = "3")]
    tags: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    rules: Vec<Rule>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Param {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `confluent.Rule`.
#[derive(Clone, PartialEq, prost::Message)]
struct Rule {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    doc: String,
    #[prost(string, tag = "3")]
    expr: String,
    #[prost(string, tag = "4")]
    sql: String,
}
