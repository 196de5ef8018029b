//! Avro schema resolution: can a reader schema read what a writer schema wrote?
//!
//! The verdicts follow Java's `org.apache.avro.SchemaCompatibility`, which Confluent runs:
//! promotions (int→long→float→double, string↔bytes), record fields matched by name and by
//! the *reader's* field aliases, reader-only fields needing defaults, enums absorbing unknown
//! symbols only through the enum's own default, every writer union branch needing a home in
//! the reader, fixed sizes, named types matched by unqualified name or reader alias, and
//! logical types ignored. Every incompatibility is collected (no short-circuit), each with
//! Java's location path and the JSON pointers of both sides.
//!
//! Recursion terminates through a memo keyed by (reader node, writer node): a pair met again
//! while still being checked counts as compatible, as in Java.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Budget, TooComplex};
use crate::schema::avro::{AvroSchema, Field, Kind, NodeId, Record};
use crate::schema::field_path::{self, Step};
use crate::schema::pointer;

/// Java's `SchemaIncompatibilityType`, plus the one case where Java throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvroRule {
    NameMismatch,
    FixedSizeMismatch,
    MissingEnumSymbols,
    ReaderFieldMissingDefaultValue,
    TypeMismatch,
    MissingUnionBranch,
    /// A reader field whose name and aliases match more than one writer field. Java throws
    /// here and Confluent reports the exception as an incompatibility.
    AmbiguousFieldAlias,
    /// The schemas are nested deeper than the checker will follow.
    NestingTooDeep,
}

impl AvroRule {
    pub fn id(self) -> &'static str {
        match self {
            AvroRule::NameMismatch => "NAME_MISMATCH",
            AvroRule::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            AvroRule::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            AvroRule::ReaderFieldMissingDefaultValue => "READER_FIELD_MISSING_DEFAULT_VALUE",
            AvroRule::TypeMismatch => "TYPE_MISMATCH",
            AvroRule::MissingUnionBranch => "MISSING_UNION_BRANCH",
            AvroRule::AmbiguousFieldAlias => "AMBIGUOUS_FIELD_ALIAS",
            AvroRule::NestingTooDeep => "NESTING_TOO_DEEP",
        }
    }
}

/// One reason a reader cannot read a writer's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroIncompatibility {
    pub rule: AvroRule,
    /// Java's message (`reader type: INT not compatible with writer type: LONG`).
    pub message: String,
    /// Java's location: a path through the *reader* schema, e.g. `/fields/1/type`.
    pub location: String,
    /// Where the problem is in the reader schema's document.
    pub reader_pointer: String,
    /// Where the problem is in the writer schema's document.
    pub writer_pointer: String,
    /// The reader field at fault, for READER_FIELD_MISSING_DEFAULT_VALUE.
    pub field: Option<String>,
    /// The field concerned as a dotted path through the reader schema as the check walked
    /// it ([`crate::schema::field_path`]); `None` at the top level, which has no field name.
    /// A named type used in several places is named by the first, where it is reported.
    pub path: Option<String>,
    /// For READER_FIELD_MISSING_DEFAULT_VALUE: the writer field that looks like this field
    /// under another name (same position, a type the reader field can read, and a name the
    /// reader record does not know), i.e. a probable rename.
    pub renamed: Option<String>,
}

/// A sanity bound on recursion. Parsed documents nest at most 128 JSON levels, so only long
/// chains of distinct named types go deep; the stack grows on demand (`stacker`) up to here.
const MAX_DEPTH: usize = 10_000;

/// Every reason `reader` cannot read data written with `writer`; empty means compatible.
/// [`TooComplex`] when the comparison would take more than [`super::MAX_STEPS`].
pub fn check(reader: &AvroSchema, writer: &AvroSchema) -> Result<Vec<AvroIncompatibility>, TooComplex> {
    let mut checker = Checker {
        reader,
        writer,
        memo: HashMap::default(),
        field_index: HashMap::default(),
        reader_names: HashMap::default(),
        union_index: HashMap::default(),
        location: Vec::new(),
        depth: 0,
        silent: 0,
        budget: Budget::default(),
    };
    let mut found = checker.compatibility(reader.root(), writer.root());
    if checker.budget.exhausted() {
        return Err(TooComplex);
    }
    // A named type reached through several paths is reported once, at its first location.
    let mut seen = HashSet::default();
    found.retain(|i| {
        seen.insert((
            i.rule,
            i.reader_pointer.clone(),
            i.writer_pointer.clone(),
            i.message.clone(),
        ))
    });
    Ok(found)
}

#[derive(Clone, Copy)]
enum Token<'a> {
    Keyword(&'static str),
    /// A union branch.
    Index(usize),
    /// A record field: its position (for Java's location) and name (for the field path).
    Field(usize, &'a str),
}

enum Memo {
    InProgress,
    Done {
        found: Vec<AvroIncompatibility>,
        silent: bool,
    },
}

struct Checker<'a> {
    reader: &'a AvroSchema,
    writer: &'a AvroSchema,
    memo: HashMap<(NodeId, NodeId), Memo>,
    /// Field name → position, for large writer records.
    field_index: HashMap<NodeId, HashMap<&'a str, usize>>,
    /// Field names and aliases of large reader records, for telling renames.
    reader_names: HashMap<NodeId, HashSet<&'a str>>,
    /// Java's location stack, as tokens (no allocation per step: most checks find nothing).
    location: Vec<Token<'a>>,
    depth: usize,
    /// Non-zero while trying whether something *could* match (a reader union's branches): only
    /// the verdict is used there, so findings are not described.
    silent: usize,
    /// Branches of large reader unions by name, built once per union and check.
    union_index: HashMap<NodeId, UnionIndex<'a>>,
    budget: Budget,
}

/// The branches of a reader union that could read a writer type: named branches by
/// unqualified name and by alias, and the unnamed ones (at most one of each unnamed type).
/// A named writer type can only be read by a branch of its own kind whose name or alias
/// matches, so only those need trying: a union of thousands of records is checked against
/// another in linear time instead of trying every pair.
#[derive(Default)]
struct UnionIndex<'a> {
    by_name: HashMap<&'a str, Vec<NodeId>>,
    by_alias: HashMap<&'a str, Vec<NodeId>>,
    unnamed: Vec<NodeId>,
}

impl<'a> Checker<'a> {
    fn compatibility(&mut self, r: NodeId, w: NodeId) -> Vec<AvroIncompatibility> {
        // Out of budget: unwind without judging; `check` reports it.
        if !self.budget.spend(1) {
            return Vec::new();
        }
        // Only named types can recur, so only they need the memo; other nodes are visited
        // once per path, which keeps the common case free of hashing.
        let memoise = self.reader.kind(r).name().is_some() || self.writer.kind(w).name().is_some();
        if memoise {
            match self.memo.get(&(r, w)) {
                Some(Memo::InProgress) => return Vec::new(),
                // A silent result has no details; recompute it when details are wanted.
                Some(Memo::Done { found, silent }) if !*silent || self.silent > 0 => return found.clone(),
                _ => {}
            }
            self.memo.insert((r, w), Memo::InProgress);
        }
        let found = if self.depth >= MAX_DEPTH {
            vec![self.incompatible(
                AvroRule::NestingTooDeep,
                r,
                w,
                || format!("schemas nest deeper than {MAX_DEPTH} levels"),
                None,
            )]
        } else {
            self.depth += 1;
            let found = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.calculate(r, w));
            self.depth -= 1;
            found
        };
        if memoise {
            self.memo.insert(
                (r, w),
                Memo::Done {
                    found: found.clone(),
                    silent: self.silent > 0,
                },
            );
        }
        found
    }

    fn calculate(&mut self, r: NodeId, w: NodeId) -> Vec<AvroIncompatibility> {
        let reader_kind = self.reader.kind(r);
        let writer_kind = self.writer.kind(w);
        if reader_kind.same_type(writer_kind) {
            return match (reader_kind, writer_kind) {
                (Kind::Array { items: ri }, Kind::Array { items: wi }) => self.nested("items", *ri, *wi),
                (Kind::Map { values: rv }, Kind::Map { values: wv }) => self.nested("values", *rv, *wv),
                (Kind::Fixed(rf), Kind::Fixed(wf)) => {
                    let mut found = self.check_names(r, w);
                    if rf.size != wf.size {
                        self.location.push(Token::Keyword("size"));
                        found.push(self.incompatible(
                            AvroRule::FixedSizeMismatch,
                            r,
                            w,
                            || format!("expected: {}, found: {}", wf.size, rf.size),
                            Some("size"),
                        ));
                        self.location.pop();
                    }
                    found
                }
                (Kind::Enum(re), Kind::Enum(we)) => {
                    let mut found = self.check_names(r, w);
                    if !self.budget.spend((re.symbols.len() + we.symbols.len()) as u64) {
                        return found;
                    }
                    let mut missing: Vec<&String> = we.symbols.iter().filter(|s| !re.has_symbol(s)).collect();
                    let reader_default_absorbs = re.default.as_ref().is_some_and(|d| re.has_symbol(d));
                    if !missing.is_empty() && !reader_default_absorbs {
                        missing.sort();
                        let list = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                        self.location.push(Token::Keyword("symbols"));
                        found.push(self.incompatible(
                            AvroRule::MissingEnumSymbols,
                            r,
                            w,
                            || format!("[{list}]"),
                            Some("symbols"),
                        ));
                        self.location.pop();
                    }
                    found
                }
                (Kind::Record(_), Kind::Record(_)) => {
                    let mut found = self.check_names(r, w);
                    found.extend(self.check_fields(r, w));
                    found
                }
                (Kind::Union { .. }, Kind::Union { branches }) => {
                    let mut found = Vec::new();
                    for (i, branch) in branches.iter().enumerate() {
                        self.location.push(Token::Index(i));
                        // The reason a branch fails is dropped, as Java drops it: the
                        // report says which writer branch has no home in the reader.
                        if !self.trial(r, *branch) {
                            let message = format!(
                                "reader union lacking writer type: {}",
                                self.writer.kind(*branch).type_name()
                            );
                            found.push(self.incompatible(AvroRule::MissingUnionBranch, r, *branch, || message, None));
                        }
                        self.location.pop();
                    }
                    found
                }
                // Same primitive type.
                _ => Vec::new(),
            };
        }

        if let Kind::Union { branches } = writer_kind {
            // Every value the writer's union can hold must be readable.
            let mut found = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                self.location.push(Token::Index(i));
                found.extend(self.compatibility(r, *branch));
                self.location.pop();
            }
            return found;
        }

        if let Kind::Union { branches } = reader_kind {
            // Any reader branch that can read the writer will do.
            let candidates = self.candidate_branches(r, branches, w);
            if candidates.into_iter().any(|b| self.trial(b, w)) {
                return Vec::new();
            }
            let message = format!("reader union lacking writer type: {}", writer_kind.type_name());
            return vec![self.incompatible(AvroRule::MissingUnionBranch, r, w, || message, None)];
        }

        if promotes(writer_kind, reader_kind) {
            return Vec::new();
        }
        let message = format!(
            "reader type: {} not compatible with writer type: {}",
            reader_kind.type_name(),
            writer_kind.type_name()
        );
        vec![self.incompatible(AvroRule::TypeMismatch, r, w, || message, None)]
    }

    /// The branches of reader union `union` that could read writer type `w`, in union order;
    /// every other branch certainly cannot (a different kind, or a named type of another
    /// name), so trying only these gives the same verdict.
    fn candidate_branches(&mut self, union: NodeId, branches: &'a [NodeId], w: NodeId) -> Vec<NodeId> {
        let reader = self.reader;
        let writer_kind = self.writer.kind(w);
        let could_read = |b: &NodeId| {
            let kind = reader.kind(*b);
            kind.same_type(writer_kind) || promotes(writer_kind, kind)
        };
        if branches.len() <= 16 {
            return branches.iter().copied().filter(could_read).collect();
        }
        let index = self
            .union_index
            .entry(union)
            .or_insert_with(|| UnionIndex::of(reader, branches));
        let mut found: Vec<NodeId> = match writer_kind.name() {
            Some(name) => {
                let full = name.full();
                let by_name = index.by_name.get(name.name.as_str()).into_iter().flatten();
                let by_alias = index.by_alias.get(full.as_str()).into_iter().flatten();
                by_name.chain(by_alias).copied().filter(could_read).collect()
            }
            None => index.unnamed.iter().copied().filter(could_read).collect(),
        };
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Whether `r` can read `w`, without describing why not.
    fn trial(&mut self, r: NodeId, w: NodeId) -> bool {
        self.silent += 1;
        let ok = self.compatibility(r, w).is_empty();
        self.silent -= 1;
        ok
    }

    fn nested(&mut self, token: &'static str, r: NodeId, w: NodeId) -> Vec<AvroIncompatibility> {
        self.location.push(Token::Keyword(token));
        let found = self.compatibility(r, w);
        self.location.pop();
        found
    }

    /// Named types match on their unqualified names, or when one of the reader's aliases is
    /// the writer's full name. The writer's aliases never count.
    fn check_names(&mut self, r: NodeId, w: NodeId) -> Vec<AvroIncompatibility> {
        let reader_kind = self.reader.kind(r);
        let writer_kind = self.writer.kind(w);
        let (Some(reader_name), Some(writer_name)) = (reader_kind.name(), writer_kind.name()) else {
            return Vec::new();
        };
        if reader_name.name == writer_name.name || reader_kind.aliases().iter().any(|alias| writer_name.is(alias)) {
            return Vec::new();
        }
        self.location.push(Token::Keyword("name"));
        let message = format!("expected: {}", writer_name.full());
        let found = self.incompatible(AvroRule::NameMismatch, r, w, || message, Some("name"));
        self.location.pop();
        vec![found]
    }

    fn check_fields(&mut self, r: NodeId, w: NodeId) -> Vec<AvroIncompatibility> {
        let (Kind::Record(reader_record), Kind::Record(writer_record)) = (self.reader.kind(r), self.writer.kind(w))
        else {
            return Vec::new();
        };
        if !self.budget.spend(reader_record.fields.len() as u64) {
            return Vec::new();
        }
        let mut found = Vec::new();
        self.location.push(Token::Keyword("fields"));
        for (position, reader_field) in reader_record.fields.iter().enumerate() {
            self.location.push(Token::Field(position, &reader_field.name));
            // The writer field with the reader field's name (checked at the same position
            // first: most evolutions keep field order) and with each of its aliases.
            let by_name = match writer_record.fields.get(position) {
                Some(f) if f.name == reader_field.name => Some(f),
                _ => self.writer_field(w, &reader_field.name),
            };
            let mut matches: Vec<_> = by_name.into_iter().collect();
            for alias in &reader_field.aliases {
                matches.extend(self.writer_field(w, alias));
            }
            match matches.as_slice() {
                [] => {
                    if reader_field.default.is_none() {
                        let enum_with_default =
                            matches!(self.reader.kind(reader_field.schema), Kind::Enum(e) if e.default.is_some());
                        if enum_with_default {
                            // Java compares the field's enum with the writer *record* here,
                            // which is a type mismatch; the verdict is the same.
                            found.extend(self.nested("type", reader_field.schema, w));
                        } else {
                            let mut incompatibility = self.incompatible(
                                AvroRule::ReaderFieldMissingDefaultValue,
                                r,
                                w,
                                || reader_field.name.clone(),
                                None,
                            );
                            incompatibility.reader_pointer = self.reader.field_location(r, position);
                            incompatibility.field = Some(reader_field.name.clone());
                            if self.silent == 0 {
                                incompatibility.renamed = self.renamed_from(r, reader_record, writer_record, position);
                            }
                            found.push(incompatibility);
                        }
                    }
                }
                [writer_field] => {
                    let (rs, ws) = (reader_field.schema, writer_field.schema);
                    found.extend(self.nested("type", rs, ws));
                }
                _ => {
                    let message = format!(
                        "Reader record field {} matches multiple fields in writer record schema {}",
                        reader_field.name,
                        writer_record.name.full()
                    );
                    let mut incompatibility = self.incompatible(AvroRule::AmbiguousFieldAlias, r, w, || message, None);
                    incompatibility.reader_pointer = self.reader.field_location(r, position);
                    found.push(incompatibility);
                }
            }
            self.location.pop();
        }
        self.location.pop();
        found
    }

    /// The writer field a reader field without a match was probably renamed from: the one at
    /// the same position, when the reader record has no field or alias of that name and
    /// the reader field's type can read it. An alias would then make the field match.
    fn renamed_from(&mut self, r: NodeId, reader: &'a Record, writer: &'a Record, position: usize) -> Option<String> {
        let candidate = writer.fields.get(position)?;
        let known = if reader.fields.len() <= 16 {
            reader
                .fields
                .iter()
                .any(|f| f.name == candidate.name || f.aliases.contains(&candidate.name))
        } else {
            // Large records: names and aliases indexed once per record and check, so that
            // thousands of missing fields cost linear time.
            self.reader_names
                .entry(r)
                .or_insert_with(|| {
                    reader
                        .fields
                        .iter()
                        .flat_map(|f| std::iter::once(&f.name).chain(&f.aliases))
                        .map(String::as_str)
                        .collect()
                })
                .contains(candidate.name.as_str())
        };
        if known {
            return None;
        }
        let reader_field = &reader.fields[position];
        self.trial(reader_field.schema, candidate.schema)
            .then(|| candidate.name.clone())
    }

    /// The writer record's field called `name`. Small records are scanned; large ones get
    /// a name index, built once per record and check.
    fn writer_field(&mut self, w: NodeId, name: &str) -> Option<&'a Field> {
        let writer = self.writer;
        let Kind::Record(record) = writer.kind(w) else {
            return None;
        };
        if record.fields.len() <= 16 {
            return record.fields.iter().find(|f| f.name == name);
        }
        let index = self.field_index.entry(w).or_insert_with(|| {
            record
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.as_str(), i))
                .collect()
        });
        index.get(name).map(|&i| &record.fields[i])
    }

    /// Builds a finding. Inside a trial (`silent`) only the verdict matters, so nothing is
    /// formatted: most union branches tried are expected not to match.
    fn incompatible(
        &self,
        rule: AvroRule,
        r: NodeId,
        w: NodeId,
        message: impl FnOnce() -> String,
        suffix: Option<&str>,
    ) -> AvroIncompatibility {
        if self.silent > 0 {
            return AvroIncompatibility {
                rule,
                message: String::new(),
                location: String::new(),
                reader_pointer: String::new(),
                writer_pointer: String::new(),
                field: None,
                path: None,
                renamed: None,
            };
        }
        let message = message();
        let with_suffix = |location: String| match suffix {
            Some(token) => pointer::push(&location, token),
            None => location,
        };
        AvroIncompatibility {
            rule,
            message,
            location: java_location(&self.location),
            reader_pointer: with_suffix(self.reader.location(r)),
            writer_pointer: with_suffix(self.writer.location(w)),
            field: None,
            path: field_path::named(dotted_path(&self.location)),
            renamed: None,
        }
    }
}

impl<'a> UnionIndex<'a> {
    fn of(schema: &'a AvroSchema, branches: &[NodeId]) -> UnionIndex<'a> {
        let mut index = UnionIndex::default();
        for &branch in branches {
            let kind = schema.kind(branch);
            match kind.name() {
                Some(name) => {
                    index.by_name.entry(name.name.as_str()).or_default().push(branch);
                    for alias in kind.aliases() {
                        index.by_alias.entry(alias.as_str()).or_default().push(branch);
                    }
                }
                None => index.unnamed.push(branch),
            }
        }
        index
    }
}

/// Java's location string: `/` for the root, tokens joined the JSON-pointer way otherwise.
fn java_location(tokens: &[Token<'_>]) -> String {
    if tokens.is_empty() {
        return "/".to_string();
    }
    let mut out = String::new();
    for token in tokens {
        match token {
            Token::Keyword(k) => out = pointer::push(&out, k),
            Token::Index(i) | Token::Field(i, _) => out = pointer::push_index(&out, *i),
        }
    }
    out
}

/// The dotted field path of a location: field names, `[]` for `items`, `{}` for `values`;
/// union branches and the `fields`/`type` keywords add nothing.
fn dotted_path(tokens: &[Token<'_>]) -> String {
    field_path::of_steps(tokens.iter().filter_map(|token| match token {
        Token::Field(_, name) => Some(Step::Field(name)),
        Token::Keyword("items") => Some(Step::Items),
        Token::Keyword("values") => Some(Step::Values),
        _ => None,
    }))
}

/// Avro's promotions: the writer's type can be read as the reader's.
fn promotes(writer: &Kind, reader: &Kind) -> bool {
    matches!(
        (writer, reader),
        (Kind::Int, Kind::Long | Kind::Float | Kind::Double)
            | (Kind::Long, Kind::Float | Kind::Double)
            | (Kind::Float, Kind::Double)
            | (Kind::String, Kind::Bytes)
            | (Kind::Bytes, Kind::String)
    )
}
