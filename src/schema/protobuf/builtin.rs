//! The imports a schema may use without a reference, besides Google's well-known
//! `google/protobuf/` types (which protox resolves): Google's common `google/type/` types
//! and Confluent's `confluent/` files (field metadata, decimals, variants). Confluent's
//! registry compiles every schema against these, so its clients never send a reference for
//! them, and a schema importing one must compile here without one too. A reference of the
//! same name is still taken first (see `parse`): a client told not to skip known types
//! registers the file as a subject of its own.
//!
//! The files are bundled as data under `builtin/` (see its README for where each came
//! from) and parsed once, on first use.

use std::sync::OnceLock;

use prost_types::FileDescriptorProto;
use protox::file::{File, FileResolver};

/// A bundled file: its import path, its text, and its parse once made.
struct Bundled {
    name: &'static str,
    text: &'static str,
    parsed: OnceLock<FileDescriptorProto>,
}

impl Bundled {
    const fn new(name: &'static str, text: &'static str) -> Self {
        Bundled {
            name,
            text,
            parsed: OnceLock::new(),
        }
    }

    /// The parse, without source positions: the compiler is told not to keep them, and
    /// errors are never placed in these files.
    fn parsed(&self) -> &FileDescriptorProto {
        self.parsed.get_or_init(|| {
            let mut file = protox_parse::parse(self.name, self.text)
                .unwrap_or_else(|error| panic!("the bundled {} does not parse: {error}", self.name));
            file.source_code_info = None;
            file
        })
    }
}

/// The bundled files for the import paths given, each read from `builtin/<import path>`.
macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        [$(Bundled::new($name, include_str!(concat!("builtin/", $name)))),*]
    };
}

/// Every bundled file.
static BUNDLED: [Bundled; 19] = bundled![
    "confluent/meta.proto",
    "confluent/type/decimal.proto",
    "confluent/type/variant.proto",
    "google/type/calendar_period.proto",
    "google/type/color.proto",
    "google/type/date.proto",
    "google/type/datetime.proto",
    "google/type/dayofweek.proto",
    "google/type/decimal.proto",
    "google/type/expr.proto",
    "google/type/fraction.proto",
    "google/type/interval.proto",
    "google/type/latlng.proto",
    "google/type/money.proto",
    "google/type/month.proto",
    "google/type/phone_number.proto",
    "google/type/postal_address.proto",
    "google/type/quaternion.proto",
    "google/type/timeofday.proto",
];

/// The import paths of the bundled files (Google's `google/protobuf/` files are not among
/// them: protox resolves those).
pub fn names() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|file| file.name)
}

/// Whether an import is one of the bundled files.
pub fn is_bundled(name: &str) -> bool {
    names().any(|bundled| bundled == name)
}

/// Resolves the bundled files; any other name is not found, for the next resolver.
#[derive(Debug, Default)]
pub struct BuiltinFileResolver;

impl FileResolver for BuiltinFileResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match BUNDLED.iter().find(|file| file.name == name) {
            Some(file) => Ok(File::from_file_descriptor_proto(file.parsed().clone())),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}
