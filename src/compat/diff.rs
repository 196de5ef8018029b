//! What changed between two versions of a schema, for changelogs.
//!
//! Each [`Change`] says what happened where (a field added, a type widened, an enum symbol
//! removed) and whether it is compatible in each direction. The verdicts come from the same
//! rules as [`super::check`]: a change is breaking in a direction when an incompatibility of
//! that direction lies at or under the change's place.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::avro::AvroIncompatibility;
use super::json::{self, Difference, Policy};
use super::{Budget, TooComplex};
use crate::schema::avro::{AvroSchema, Kind, NodeId};
use crate::schema::field_path::{self, Step};
use crate::schema::pointer;
use crate::schema::Schema;

/// Compatible or breaking, for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Compatible,
    Breaking,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compatible => "compatible",
            Verdict::Breaking => "breaking",
        }
    }

    fn from_ok(ok: bool) -> Verdict {
        if ok {
            Verdict::Compatible
        } else {
            Verdict::Breaking
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What kind of change: `FIELD_ADDED`, `TYPE_CHANGED`, … for Avro; Confluent's
    /// difference names for JSON Schema.
    pub kind: &'static str,
    /// Where, as earlier releases showed it: the dotted field path (`(root)` for the top)
    /// for Avro, a JSON pointer for JSON Schema. [`Change::field`] names the field in both.
    pub path: String,
    /// The field concerned as a dotted path (`customer.address.city`, `items[].sku`;
    /// [`crate::schema::field_path`]); `None` for a change at the top level of the schema.
    pub field: Option<String>,
    /// Pointer into the old schema; `None` for an addition.
    pub old_pointer: Option<String>,
    /// Pointer into the new schema; `None` for a removal.
    pub new_pointer: Option<String>,
    pub description: String,
    /// Can consumers on the new schema read events written with the old one?
    pub backward: Verdict,
    /// Can consumers on the old schema read events written with the new one?
    pub forward: Verdict,
}

/// Every change from `old` to `new`, in schema order; [`TooComplex`] when the walk or one
/// of the two compatibility checks behind the verdicts would go past [`super::MAX_STEPS`].
pub fn diff(old: &Schema, new: &Schema) -> Result<Vec<Change>, TooComplex> {
    match (old, new) {
        (Schema::Avro(old), Schema::Avro(new)) => avro_diff(old, new),
        (Schema::Json(old), Schema::Json(new)) => json_diff(old, new),
        (Schema::Protobuf(old), Schema::Protobuf(new)) => protobuf_diff(old, new),
        (old, new) => Ok(vec![Change {
            kind: "SCHEMA_TYPE_CHANGED",
            path: String::new(),
            field: None,
            old_pointer: Some(String::new()),
            new_pointer: Some(String::new()),
            description: format!(
                "the schema type changed from {} to {}",
                old.schema_type(),
                new.schema_type()
            ),
            backward: Verdict::Breaking,
            forward: Verdict::Breaking,
        }]),
    }
}

/// Protobuf changes: every difference of the backward comparison (old → new), breaking
/// backward when Confluent refuses it, breaking forward when the reverse comparison refuses
/// something at the same place.
fn protobuf_diff(
    old: &crate::schema::ProtobufSchema,
    new: &crate::schema::ProtobufSchema,
) -> Result<Vec<Change>, TooComplex> {
    use super::protobuf::{differences, DiffKind};
    let backward = differences(old, new)?;
    let forward = differences(new, old)?;
    let broken_forward: HashSet<&str> = forward
        .iter()
        .filter(|d| !d.kind.is_compatible())
        .map(|d| d.path.as_str())
        .collect();
    let mut changes: Vec<Change> = backward
        .iter()
        .map(|d| {
            let pointer = d.path.trim_start_matches('#').to_string();
            let added = matches!(
                d.kind,
                DiffKind::MessageAdded
                    | DiffKind::EnumAdded
                    | DiffKind::EnumConstAdded
                    | DiffKind::FieldAdded
                    | DiffKind::RequiredFieldAdded
                    | DiffKind::OneofAdded
                    | DiffKind::OneofFieldAdded
            );
            let removed = matches!(
                d.kind,
                DiffKind::MessageRemoved
                    | DiffKind::EnumRemoved
                    | DiffKind::EnumConstRemoved
                    | DiffKind::FieldRemoved
                    | DiffKind::RequiredFieldRemoved
                    | DiffKind::OneofRemoved
                    | DiffKind::OneofFieldRemoved
            );
            let words = match (d.was.as_deref(), d.became.as_deref()) {
                (Some(was), Some(became)) if was != became => format!(": {was} → {became}"),
                (None, Some(became)) => format!(": {became}"),
                (Some(was), None) => format!(": {was}"),
                _ => String::new(),
            };
            let subject = d.field.as_deref().unwrap_or(d.path.as_str());
            Change {
                kind: d.kind.id(),
                path: d.path.clone(),
                field: d.field.clone(),
                old_pointer: (!added).then(|| pointer.clone()),
                new_pointer: (!removed).then_some(pointer),
                description: format!("{} {subject}{words}", d.kind.id().to_lowercase().replace('_', " ")),
                backward: Verdict::from_ok(d.kind.is_compatible()),
                forward: Verdict::from_ok(!broken_forward.contains(d.path.as_str())),
            }
        })
        .collect();
    // Changes the backward comparison does not see as such (the inverse of a compatible
    // addition) still break forward: a message added is one older readers lack.
    for d in forward.iter().filter(|d| !d.kind.is_compatible()) {
        if !changes.iter().any(|c| c.path == d.path) {
            changes.push(Change {
                kind: d.kind.id(),
                path: d.path.clone(),
                field: d.field.clone(),
                old_pointer: None,
                new_pointer: Some(d.path.trim_start_matches('#').to_string()),
                description: format!(
                    "{} {}",
                    d.kind.id().to_lowercase().replace('_', " "),
                    d.field.as_deref().unwrap_or(&d.path)
                ),
                backward: Verdict::Compatible,
                forward: Verdict::Breaking,
            });
        }
    }
    Ok(changes)
}

fn json_diff(old: &crate::schema::JsonSchema, new: &crate::schema::JsonSchema) -> Result<Vec<Change>, TooComplex> {
    let policy = Policy::Strict;
    let backward = json::compare(old, new, policy)?;
    let forward = json::compare(new, old, policy)?;
    let mut used = vec![false; forward.len()];
    // The forward differences at each pair of places, to pair them with the backward ones
    // without comparing every pair.
    let mut forward_at: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, f) in forward.iter().enumerate() {
        forward_at
            .entry((f.original_pointer.as_str(), f.update_pointer.as_str()))
            .or_default()
            .push(i);
    }
    let mut changes = Vec::with_capacity(backward.len());
    for b in &backward {
        let mut forward_ok = true;
        let key = (b.update_pointer.as_str(), b.original_pointer.as_str());
        for &i in forward_at.get(&key).into_iter().flatten() {
            used[i] = true;
            forward_ok &= forward[i].kind.is_compatible(policy);
        }
        changes.push(json_change(
            b,
            Verdict::from_ok(b.kind.is_compatible(policy)),
            Verdict::from_ok(forward_ok),
            false,
        ));
    }
    for (f, used) in forward.iter().zip(used) {
        if !used {
            let mut change = json_change(
                f,
                Verdict::Compatible,
                Verdict::from_ok(f.kind.is_compatible(policy)),
                true,
            );
            // The forward comparison runs from the new schema to the old one.
            std::mem::swap(&mut change.old_pointer, &mut change.new_pointer);
            change.description = format!("read from the new schema back to the old one: {}", change.description);
            changes.push(change);
        }
    }
    Ok(dedup(changes))
}

/// `d` as a change; `reversed` when `d` comes from comparing the new schema to the old one.
fn json_change(d: &Difference, backward: Verdict, forward: Verdict, reversed: bool) -> Change {
    let mut description = d.detail.clone();
    if let Some((from, to)) = &d.renamed {
        let (old, new) = if reversed { (to, from) } else { (from, to) };
        description.push_str(&format!(
            " (it looks like property {old} renamed to {new}; JSON Schema has no aliases, so keep the old property beside the new one)"
        ));
    }
    Change {
        kind: d.kind.id(),
        path: pointer::display(d.path.trim_start_matches('#')).to_string(),
        field: d.field.clone(),
        old_pointer: Some(d.original_pointer.clone()),
        new_pointer: Some(d.update_pointer.clone()),
        description,
        backward,
        forward,
    }
}

fn dedup(changes: Vec<Change>) -> Vec<Change> {
    let mut seen = HashSet::new();
    changes
        .into_iter()
        .filter(|c| {
            seen.insert((
                c.kind,
                c.old_pointer.clone(),
                c.new_pointer.clone(),
                c.description.clone(),
            ))
        })
        .collect()
}

fn avro_diff(old: &AvroSchema, new: &AvroSchema) -> Result<Vec<Change>, TooComplex> {
    let mut walker = AvroWalker {
        old,
        new,
        changes: Vec::new(),
        visited: HashSet::new(),
        budget: Budget::default(),
    };
    walker.walk(old.root(), new.root(), "");
    let mut changes = walker.budget.verdict(walker.changes)?;
    // Backward: the new schema reads old data. Forward: the old schema reads new data.
    let backward = super::avro::check(new, old)?;
    let forward = super::avro::check(old, new)?;
    let owners = Owners::of(&changes);
    let mut attributed_backward = vec![false; backward.len()];
    let mut attributed_forward = vec![false; forward.len()];
    let mut breaks_backward = Vec::new();
    let mut breaks_forward = Vec::new();
    for (i, inc) in backward.iter().enumerate() {
        // Backward: reader = new, writer = old.
        let owning = owners.of_pointers(&inc.writer_pointer, &inc.reader_pointer);
        attributed_backward[i] = !owning.is_empty();
        breaks_backward.extend(owning);
    }
    for (i, inc) in forward.iter().enumerate() {
        // Forward: reader = old, writer = new.
        let owning = owners.of_pointers(&inc.reader_pointer, &inc.writer_pointer);
        attributed_forward[i] = !owning.is_empty();
        breaks_forward.extend(owning);
    }
    drop(owners);
    name_renames(&mut changes, &backward);
    for index in breaks_backward {
        changes[index].backward = Verdict::Breaking;
    }
    for index in breaks_forward {
        changes[index].forward = Verdict::Breaking;
    }
    // Anything the walk did not name still shows, so the changelog never reads "all
    // compatible" for a breaking change.
    let leftovers = |found: &[AvroIncompatibility], attributed: &[bool], backward: bool| -> Vec<Change> {
        found
            .iter()
            .zip(attributed)
            .filter(|(_, a)| !**a)
            .map(|(inc, _)| {
                let (old_ptr, new_ptr) = if backward {
                    (&inc.writer_pointer, &inc.reader_pointer)
                } else {
                    (&inc.reader_pointer, &inc.writer_pointer)
                };
                Change {
                    kind: inc.rule.id(),
                    path: pointer::display(&inc.location).to_string(),
                    field: inc.path.clone(),
                    old_pointer: Some(old_ptr.clone()),
                    new_pointer: Some(new_ptr.clone()),
                    description: inc.message.clone(),
                    backward: if backward {
                        Verdict::Breaking
                    } else {
                        Verdict::Compatible
                    },
                    forward: if backward {
                        Verdict::Compatible
                    } else {
                        Verdict::Breaking
                    },
                }
            })
            .collect()
    };
    let extra_backward = leftovers(&backward, &attributed_backward, true);
    let extra_forward = leftovers(&forward, &attributed_forward, false);
    changes.extend(extra_backward);
    changes.extend(extra_forward);
    Ok(dedup(changes))
}

/// A field added without a default that the checker found standing where an old field of a
/// readable type was (a probable rename) says so, with the alias that makes it one.
fn name_renames(changes: &mut [Change], backward: &[AvroIncompatibility]) {
    let mut added: HashMap<&str, usize> = HashMap::new();
    for (index, change) in changes.iter().enumerate() {
        if let (true, Some(pointer)) = (change.kind == "FIELD_ADDED", &change.new_pointer) {
            added.insert(pointer.as_str(), index);
        }
    }
    let mut notes = Vec::new();
    for inc in backward {
        if let Some(old_name) = &inc.renamed {
            if let Some(&index) = added.get(inc.reader_pointer.as_str()) {
                notes.push((index, old_name));
            }
        }
    }
    for (index, old_name) in notes {
        changes[index].description.push_str(&format!(
            "; it looks like {old_name} renamed (same position, readable type): add \"aliases\": [\"{old_name}\"] to it"
        ));
    }
}

/// Which changes own an incompatibility (pointers in the old and new schema): those whose
/// old pointer is the incompatibility's old pointer or a prefix of it at a `/`, or likewise
/// for the new pointers. Changes are indexed by pointer and each prefix looked up, so
/// attributing costs the pointers' depth rather than the number of changes.
struct Owners<'c> {
    by_old: HashMap<&'c str, Vec<usize>>,
    by_new: HashMap<&'c str, Vec<usize>>,
}

impl<'c> Owners<'c> {
    fn of(changes: &'c [Change]) -> Owners<'c> {
        let mut owners = Owners {
            by_old: HashMap::new(),
            by_new: HashMap::new(),
        };
        for (index, change) in changes.iter().enumerate() {
            if let Some(old) = &change.old_pointer {
                owners.by_old.entry(old.as_str()).or_default().push(index);
            }
            if let Some(new) = &change.new_pointer {
                owners.by_new.entry(new.as_str()).or_default().push(index);
            }
        }
        owners
    }

    /// The changes owning an incompatibility at `old_ptr` / `new_ptr`, each once, in order.
    fn of_pointers(&self, old_ptr: &str, new_ptr: &str) -> Vec<usize> {
        let mut found = Vec::new();
        for (index, ptr) in [(&self.by_old, old_ptr), (&self.by_new, new_ptr)] {
            for prefix in prefixes(ptr) {
                found.extend(index.get(prefix).into_iter().flatten());
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// `ptr` and every prefix of it that ends just before a `/`: the pointers `ptr` lies under.
fn prefixes(ptr: &str) -> impl Iterator<Item = &str> {
    ptr.match_indices('/')
        .map(move |(at, _)| &ptr[..at])
        .chain(std::iter::once(ptr))
}

struct AvroWalker<'a> {
    old: &'a AvroSchema,
    new: &'a AvroSchema,
    changes: Vec<Change>,
    visited: HashSet<(NodeId, NodeId)>,
    budget: Budget,
}

impl AvroWalker<'_> {
    fn push(&mut self, kind: &'static str, path: &str, old: Option<String>, new: Option<String>, description: String) {
        self.changes.push(Change {
            kind,
            path: if path.is_empty() {
                "(root)".into()
            } else {
                path.to_string()
            },
            field: field_path::named(path.to_string()),
            old_pointer: old,
            new_pointer: new,
            description,
            backward: Verdict::Compatible,
            forward: Verdict::Compatible,
        });
    }

    fn walk(&mut self, o: NodeId, n: NodeId, path: &str) {
        if !self.budget.spend(1) || !self.visited.insert((o, n)) {
            return;
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.walk_pair(o, n, path));
    }

    fn walk_pair(&mut self, o: NodeId, n: NodeId, path: &str) {
        let (old, new) = (self.old, self.new);
        let (ok, nk) = (old.kind(o), new.kind(n));
        let (op, np) = (old.location(o), new.location(n));

        if old.logical_type(o) != new.logical_type(n) {
            let show = |l: Option<&str>| {
                l.map(|s| format!("logical type {s}"))
                    .unwrap_or_else(|| "no logical type".into())
            };
            self.push(
                "LOGICAL_TYPE_CHANGED",
                path,
                Some(op.clone()),
                Some(np.clone()),
                format!("{} became {}", show(old.logical_type(o)), show(new.logical_type(n))),
            );
        }
        if !ok.same_type(nk) {
            self.push(
                "TYPE_CHANGED",
                path,
                Some(op),
                Some(np),
                format!("type changed from {} to {}", type_label(old, o), type_label(new, n)),
            );
            return;
        }
        if let (Some(on), Some(nn)) = (ok.name(), nk.name()) {
            if on.full() != nn.full() {
                let kind = if on.name == nn.name {
                    "NAMESPACE_CHANGED"
                } else {
                    "NAME_CHANGED"
                };
                self.push(
                    kind,
                    path,
                    Some(pointer::push(&op, "name")),
                    Some(pointer::push(&np, "name")),
                    format!("{} renamed to {}", on.full(), nn.full()),
                );
            }
        }
        match (ok, nk) {
            (Kind::Record(or), Kind::Record(nr)) => {
                if !self.budget.spend((or.fields.len() + nr.fields.len()) as u64) {
                    return;
                }
                let mut matched_old = HashSet::new();
                let old_by_name: HashMap<&str, usize> = or
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.name.as_str(), i))
                    .collect();
                for (new_index, nf) in nr.fields.iter().enumerate() {
                    let old_index = old_by_name
                        .get(nf.name.as_str())
                        .or_else(|| nf.aliases.iter().find_map(|alias| old_by_name.get(alias.as_str())))
                        .copied();
                    let field = field_path::push(path, Step::Field(&nf.name));
                    let new_field_ptr = new.field_location(n, new_index);
                    let of = old_index.map(|i| (i, &or.fields[i]));
                    match of {
                        None => {
                            // A rename is told from the checker's findings, in `avro_diff`.
                            let described = match &nf.default {
                                Some(d) => format!("field {} added with default {}", nf.name, d),
                                None => format!("field {} added without a default", nf.name),
                            };
                            self.push("FIELD_ADDED", &field, None, Some(new_field_ptr), described);
                        }
                        Some((old_index, of)) => {
                            matched_old.insert(of.name.clone());
                            let old_field_ptr = old.field_location(o, old_index);
                            if of.name != nf.name {
                                self.push(
                                    "FIELD_RENAMED",
                                    &field,
                                    Some(old_field_ptr.clone()),
                                    Some(new_field_ptr.clone()),
                                    format!("field {} renamed to {} (with an alias)", of.name, nf.name),
                                );
                            }
                            match (&of.default, &nf.default) {
                                (None, Some(d)) => self.push(
                                    "DEFAULT_ADDED",
                                    &field,
                                    Some(old_field_ptr.clone()),
                                    Some(new_field_ptr.clone()),
                                    format!("default {d} added"),
                                ),
                                (Some(d), None) => self.push(
                                    "DEFAULT_REMOVED",
                                    &field,
                                    Some(old_field_ptr.clone()),
                                    Some(new_field_ptr.clone()),
                                    format!("default {d} removed"),
                                ),
                                (Some(a), Some(b)) if a != b => self.push(
                                    "DEFAULT_CHANGED",
                                    &field,
                                    Some(old_field_ptr.clone()),
                                    Some(new_field_ptr.clone()),
                                    format!("default changed from {a} to {b}"),
                                ),
                                _ => {}
                            }
                            if of.doc != nf.doc {
                                self.push(
                                    "DOC_CHANGED",
                                    &field,
                                    Some(old_field_ptr.clone()),
                                    Some(new_field_ptr.clone()),
                                    "documentation changed".into(),
                                );
                            }
                            if is_deprecated(&nf.props) && !is_deprecated(&of.props) {
                                self.push(
                                    "FIELD_DEPRECATED",
                                    &field,
                                    Some(old_field_ptr),
                                    Some(new_field_ptr),
                                    format!("field {} deprecated", nf.name),
                                );
                            }
                            self.walk(of.schema, nf.schema, &field);
                        }
                    }
                }
                for (old_index, of) in or.fields.iter().enumerate() {
                    if !matched_old.contains(&of.name) {
                        let described = match &of.default {
                            Some(_) => format!("field {} removed (it had a default)", of.name),
                            None => format!("field {} removed", of.name),
                        };
                        let old_field_ptr = old.field_location(o, old_index);
                        self.push(
                            "FIELD_REMOVED",
                            &field_path::push(path, Step::Field(&of.name)),
                            Some(old_field_ptr),
                            None,
                            described,
                        );
                    }
                }
                if or.doc != nr.doc {
                    self.push(
                        "DOC_CHANGED",
                        path,
                        Some(op),
                        Some(np),
                        "record documentation changed".into(),
                    );
                }
            }
            (Kind::Enum(oe), Kind::Enum(ne)) => {
                if !self.budget.spend((oe.symbols.len() + ne.symbols.len()) as u64) {
                    return;
                }
                // Pointers name the symbol list: that is where the checker reports.
                for s in ne.symbols.iter().filter(|s| !oe.has_symbol(s)) {
                    self.push(
                        "ENUM_SYMBOL_ADDED",
                        path,
                        None,
                        Some(pointer::push(&np, "symbols")),
                        format!("symbol {s} added"),
                    );
                }
                for s in oe.symbols.iter().filter(|s| !ne.has_symbol(s)) {
                    self.push(
                        "ENUM_SYMBOL_REMOVED",
                        path,
                        Some(pointer::push(&op, "symbols")),
                        None,
                        format!("symbol {s} removed"),
                    );
                }
                if oe.default != ne.default {
                    let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
                    self.push(
                        "ENUM_DEFAULT_CHANGED",
                        path,
                        Some(pointer::push(&op, "symbols")),
                        Some(pointer::push(&np, "symbols")),
                        format!(
                            "enum default changed from {} to {}",
                            show(&oe.default),
                            show(&ne.default)
                        ),
                    );
                }
            }
            (Kind::Fixed(of), Kind::Fixed(nf)) if of.size != nf.size => {
                self.push(
                    "FIXED_SIZE_CHANGED",
                    path,
                    Some(pointer::push(&op, "size")),
                    Some(pointer::push(&np, "size")),
                    format!("size changed from {} to {}", of.size, nf.size),
                );
            }
            (Kind::Array { items: oi }, Kind::Array { items: ni }) => {
                self.walk(*oi, *ni, &field_path::push(path, Step::Items))
            }
            (Kind::Map { values: ov }, Kind::Map { values: nv }) => {
                self.walk(*ov, *nv, &field_path::push(path, Step::Values))
            }
            (Kind::Union { branches: ob }, Kind::Union { branches: nb }) => {
                if !self.budget.spend((ob.len() + nb.len()) as u64) {
                    return;
                }
                // Branches pair up by unqualified name (named types) or type name; the old
                // ones are indexed so that unions of thousands of branches pair in linear time.
                let key = |schema: &AvroSchema, id: NodeId| match schema.kind(id).name() {
                    Some(name) => name.name.clone(),
                    None => schema.kind(id).type_name().to_string(),
                };
                let mut old_by_key: HashMap<String, NodeId> = HashMap::with_capacity(ob.len());
                for &obr in ob {
                    old_by_key.entry(key(old, obr)).or_insert(obr);
                }
                let new_keys: HashSet<String> = nb.iter().map(|&nbr| key(new, nbr)).collect();
                for &nbr in nb {
                    match old_by_key.get(&key(new, nbr)) {
                        Some(&obr) => self.walk(obr, nbr, path),
                        None => self.push(
                            "UNION_BRANCH_ADDED",
                            path,
                            None,
                            Some(new.location(nbr)),
                            format!("union branch {} added", type_label(new, nbr)),
                        ),
                    }
                }
                for &obr in ob {
                    if !new_keys.contains(&key(old, obr)) {
                        self.push(
                            "UNION_BRANCH_REMOVED",
                            path,
                            Some(old.location(obr)),
                            None,
                            format!("union branch {} removed", type_label(old, obr)),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_deprecated(props: &[(String, Value)]) -> bool {
    props.iter().any(|(k, v)| k == "deprecated" && v != &Value::Bool(false))
}

/// `long`, `record Payment`, `array<string>`, `["null","string"]`.
fn type_label(schema: &AvroSchema, id: NodeId) -> String {
    let kind = schema.kind(id);
    match kind {
        Kind::Record(r) => format!("record {}", r.name.name),
        Kind::Enum(e) => format!("enum {}", e.name.name),
        Kind::Fixed(f) => format!("fixed {}", f.name.name),
        Kind::Array { items } => format!("array<{}>", type_label(schema, *items)),
        Kind::Map { values } => format!("map<{}>", type_label(schema, *values)),
        Kind::Union { branches } => {
            let parts: Vec<String> = branches.iter().map(|b| type_label(schema, *b)).collect();
            format!("union [{}]", parts.join(", "))
        }
        _ => kind.type_name().to_lowercase(),
    }
}
