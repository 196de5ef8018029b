//! Which parts of a variable an expression can read, worked out from its syntax tree, so that
//! a record's decoder can leave out what no expression will look at.
//!
//! The analysis is conservative: a field selection on the variable (`message.amount`, also
//! under `has()`) reads that field; any other use of the variable (passed whole to a function
//! or an operator, indexed, iterated, or shadowed by a macro's variable) reads all of it.

use std::collections::BTreeMap;

use cel::common::ast::{EntryExpr, Expr};
use cel::common::traits::Indexer;
use cel::common::types::{CelMap, CelString, Type, MAP_TYPE};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;

/// What of a value an expression reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// All of it: the expression may use any part.
    Whole,
    /// Only some fields, each read whole or in part; none at all when empty.
    Fields(ReadFields),
}

/// The fields read of a value, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadFields {
    by_name: BTreeMap<String, Reads>,
    /// One bit per name read ([`sieve_bit`]): a decoder asks about every field of a record,
    /// and most fields of a wide record are not read, so most are told apart without a
    /// lookup.
    sieve: u64,
}

/// A name's bit in [`ReadFields::sieve`], from its length and last byte (`f1` and `f2`,
/// `id` and `sku` differ there).
fn sieve_bit(name: &str) -> u64 {
    let last = name.as_bytes().last().copied().unwrap_or_default();
    let mixed =
        (name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(last).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    1 << (mixed >> 58)
}

impl ReadFields {
    /// How many fields are read.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    fn get(&self, name: &str) -> Option<&Reads> {
        if self.sieve & sieve_bit(name) == 0 {
            return None;
        }
        self.by_name.get(name)
    }

    /// The entry for `name`, added (as nothing read) if missing.
    fn entry(&mut self, name: &str) -> &mut Reads {
        self.sieve |= sieve_bit(name);
        self.by_name.entry(name.to_string()).or_default()
    }
}

impl Default for Reads {
    /// Nothing.
    fn default() -> Self {
        Reads::Fields(ReadFields::default())
    }
}

impl Reads {
    /// What is read of the field `name`: `None` when nothing is.
    pub fn field(&self, name: &str) -> Option<&Reads> {
        match self {
            Reads::Whole => Some(&Reads::Whole),
            Reads::Fields(fields) => fields.get(name),
        }
    }

    pub fn is_whole(&self) -> bool {
        matches!(self, Reads::Whole)
    }

    /// Adds what `other` reads.
    pub fn merge(&mut self, other: Reads) {
        match (&mut *self, other) {
            (Reads::Whole, _) => {}
            (this, Reads::Whole) => *this = Reads::Whole,
            (Reads::Fields(mine), Reads::Fields(theirs)) => {
                for (name, reads) in theirs.by_name {
                    mine.entry(&name).merge(reads);
                }
            }
        }
    }

    /// Adds the value at `path` (field names from the root), read whole.
    fn add_path(&mut self, path: &[&str]) {
        let Some((first, rest)) = path.split_first() else {
            *self = Reads::Whole;
            return;
        };
        if let Reads::Fields(fields) = self {
            fields.entry(first).add_path(rest);
        }
    }
}

/// A record made under [`Reads::Fields`]: only the fields read are there, in a short list
/// (looked up by comparing names, cheaper than hashing them for a map built per record).
///
/// It is a CEL `map` that supports field selection alone (`.f`, `has(.f)`): [`Reads`] lets
/// a record be made in part only where every use of it is one, and any other use reads it
/// whole, made as an ordinary map. A field not there fails as a map's missing key does.
#[derive(Debug, Clone)]
pub struct PartialRecord<'v>(pub Vec<(&'v str, Box<dyn Val + 'v>)>);

impl Val for PartialRecord<'_> {
    fn get_type(&self) -> &Type {
        <Self as Val>::cel_type()
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn into_indexer<'w>(self: Box<Self>) -> Option<Box<dyn Indexer + 'w>>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }
}

impl Indexer for PartialRecord<'_> {
    fn get<'b, 'w>(&'b self, key: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        let name = key.downcast_ref::<CelString>().map(|k| k.inner());
        match self.0.iter().find(|(field, _)| Some(*field) == name) {
            Some((_, value)) => Ok(CowVal::Borrowed(value.as_ref())),
            None => Err(missing(key)),
        }
    }

    fn steal<'w>(self: Box<Self>, key: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(key).map(CowVal::into_owned)
    }
}

/// What a map without `key` answers when asked for it, for every kind of key.
fn missing(key: &dyn Val) -> ExecutionError {
    match CelMap::default().get(key) {
        Err(error) => error,
        Ok(_) => unreachable!("an empty map has no keys"),
    }
}

/// What `expr` reads of `variable`.
pub(super) fn reads_of(expr: &Expr, variable: &str) -> Reads {
    let mut reads = Reads::default();
    collect(expr, variable, &mut reads);
    reads
}

fn collect(expr: &Expr, variable: &str, reads: &mut Reads) {
    if reads.is_whole() {
        return;
    }
    if let Some(path) = selected_path(expr, variable) {
        reads.add_path(&path);
        return;
    }
    match expr {
        Expr::Ident(name) if name == variable => *reads = Reads::Whole,
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        Expr::Select(select) => collect(&select.operand.expr, variable, reads),
        Expr::Call(call) => {
            for e in call.target.iter().map(|t| &**t).chain(&call.args) {
                collect(&e.expr, variable, reads);
            }
        }
        Expr::Comprehension(c) => {
            // A macro variable of the same name hides the record inside the macro: rather
            // than follow scopes, read all of it.
            let shadows = c.iter_var == variable || c.accu_var == variable || c.iter_var2.as_deref() == Some(variable);
            if shadows {
                *reads = Reads::Whole;
                return;
            }
            for e in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                collect(&e.expr, variable, reads);
            }
        }
        Expr::List(list) => {
            for e in &list.elements {
                collect(&e.expr, variable, reads);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(e) => {
                        collect(&e.key.expr, variable, reads);
                        collect(&e.value.expr, variable, reads);
                    }
                    EntryExpr::StructField(f) => collect(&f.value.expr, variable, reads),
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(e) => {
                        collect(&e.key.expr, variable, reads);
                        collect(&e.value.expr, variable, reads);
                    }
                    EntryExpr::StructField(f) => collect(&f.value.expr, variable, reads),
                }
            }
        }
    }
}

/// The fields `variable.a.b` selects (`["a", "b"]`), also as `has(variable.a.b)`; `None`
/// for anything else, the bare variable included.
fn selected_path<'e>(expr: &'e Expr, variable: &str) -> Option<Vec<&'e str>> {
    let mut path = Vec::new();
    let mut at = expr;
    loop {
        match at {
            Expr::Select(select) => {
                path.push(select.field.as_str());
                at = &select.operand.expr;
            }
            Expr::Ident(name) if name == variable && !path.is_empty() => {
                path.reverse();
                return Some(path);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expression::Expression;

    fn reads(text: &str) -> Reads {
        Expression::compile_with(text, &["message", "other"])
            .unwrap()
            .reads("message")
    }

    fn fields(entries: &[(&str, Reads)]) -> Reads {
        let mut reads = Reads::default();
        for (name, read) in entries {
            if let Reads::Fields(fields) = &mut reads {
                fields.entry(name).merge(read.clone());
            }
        }
        reads
    }

    #[test]
    fn field_selections_read_those_fields_only() {
        assert_eq!(
            reads("size(message.f0) > 3 && message.f1 != message.f2"),
            fields(&[("f0", Reads::Whole), ("f1", Reads::Whole), ("f2", Reads::Whole)])
        );
        // A nested selection reads the inner field; a selection and a use of the same field
        // whole read it whole.
        assert_eq!(
            reads("message.customer.id == 'c' && has(message.note)"),
            fields(&[("customer", fields(&[("id", Reads::Whole)])), ("note", Reads::Whole)])
        );
        assert_eq!(
            reads("message.customer.id == 'c' && message.customer != null"),
            fields(&[("customer", Reads::Whole)])
        );
        // A macro over a field reads that field whole, and the macro's own variable nothing.
        assert_eq!(
            reads("message.lines.all(l, l.qty > 0)"),
            fields(&[("lines", Reads::Whole)])
        );
        // Other variables are not this one.
        assert_eq!(reads("other.x == 1 && true"), Reads::default());
    }

    #[test]
    fn other_uses_read_the_whole_value() {
        for text in [
            "message == {}",
            "size(message) > 2",
            "'f0' in message",
            "message['f0'] == 'x'",
            "string(message) != ''",
            "message.all(k, k != '')",
            "[1].all(message, message > 0)",
            "[message][0].f0 == 'x'",
        ] {
            assert_eq!(reads(text), Reads::Whole, "{text}");
        }
    }

    #[test]
    fn merging_keeps_everything_either_side_reads() {
        let mut a = fields(&[("x", fields(&[("y", Reads::Whole)]))]);
        a.merge(fields(&[("x", fields(&[("z", Reads::Whole)])), ("w", Reads::Whole)]));
        assert_eq!(
            a,
            fields(&[
                ("w", Reads::Whole),
                ("x", fields(&[("y", Reads::Whole), ("z", Reads::Whole)]))
            ])
        );
        assert_eq!(a.field("q"), None);
        a.merge(Reads::Whole);
        assert!(a.is_whole());
        assert_eq!(a.field("q"), Some(&Reads::Whole));
    }

    #[test]
    fn the_sieve_never_hides_a_field_read() {
        let read: Vec<String> = (0..300).step_by(3).map(|i| format!("field_{i}")).collect();
        let entries: Vec<(&str, Reads)> = read.iter().map(|n| (n.as_str(), Reads::Whole)).collect();
        let reads = fields(&entries);
        for i in 0..300 {
            let name = format!("field_{i}");
            assert_eq!(reads.field(&name).is_some(), i % 3 == 0, "{name}");
        }
        assert_eq!(reads.field(""), None);
    }
}
