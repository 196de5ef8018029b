//! The stored text of an Avro schema: Java's `Schema.toString()` form, which Confluent keeps
//! and returns from `GET /schemas/ids/{id}`.
//!
//! Unlike Avro's Parsing Canonical Form it keeps `doc`, defaults, aliases, `order`, logical
//! types and custom properties; it drops whitespace, prints a primitive without properties as
//! a bare name, writes `namespace` only where it differs from the enclosing one, defines each
//! named type once (later uses print its name, short when in the current namespace) and never
//! inlines types that belong to referenced schemas.

use rustc_hash::FxHashSet as HashSet;
use std::fmt::Write;

use serde_json::Value;

use super::{AvroSchema, FieldOrder, Kind, Name, NodeId};

pub(super) fn print(schema: &AvroSchema, size_hint: usize) -> String {
    let mut printer = Printer {
        schema,
        known: schema.referenced_names.iter().cloned().collect(),
        out: String::with_capacity(size_hint),
    };
    printer.write_type(schema.root, None);
    printer.out
}

struct Printer<'a> {
    schema: &'a AvroSchema,
    /// Full names already written (or owned by a reference).
    known: HashSet<String>,
    out: String,
}

impl Printer<'_> {
    fn write_type(&mut self, id: NodeId, namespace: Option<&str>) {
        let node = self.schema.node(id);
        match &node.kind {
            Kind::Union { branches } => {
                self.out.push('[');
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.write_type(*branch, namespace);
                }
                self.out.push(']');
            }
            Kind::Array { items } => {
                self.out.push_str("{\"type\":\"array\",\"items\":");
                self.write_type(*items, namespace);
                self.write_props(&node.props);
                self.out.push('}');
            }
            Kind::Map { values } => {
                self.out.push_str("{\"type\":\"map\",\"values\":");
                self.write_type(*values, namespace);
                self.write_props(&node.props);
                self.out.push('}');
            }
            kind if kind.name().is_some() => self.write_named(id, namespace),
            kind => {
                let name = kind.primitive_name().expect("every other kind is a primitive");
                if node.props.is_empty() {
                    self.write_str(name);
                } else {
                    self.out.push_str("{\"type\":");
                    self.write_str(name);
                    self.write_props(&node.props);
                    self.out.push('}');
                }
            }
        }
    }

    fn write_named(&mut self, id: NodeId, namespace: Option<&str>) {
        let node = self.schema.node(id);
        let name = node.kind.name().expect("named kind");
        let full = name.full();
        if self.known.contains(&full) {
            // Java's `getQualified(space)`: the short name when the namespaces agree (or the
            // type has none), else the full name.
            if name.namespace.is_none() || name.namespace.as_deref() == namespace {
                self.write_str(&name.name);
            } else {
                self.write_str(&full);
            }
            return;
        }
        self.known.insert(full);
        let own_namespace = name.namespace.as_deref();
        match &node.kind {
            Kind::Record(record) => {
                self.out.push_str("{\"type\":");
                self.write_str(if record.is_error { "error" } else { "record" });
                self.write_name(name, namespace);
                self.write_doc(record.doc.as_deref());
                self.out.push_str(",\"fields\":[");
                for (i, field) in record.fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str("{\"name\":");
                    self.write_str(&field.name);
                    self.out.push_str(",\"type\":");
                    self.write_type(field.schema, own_namespace);
                    self.write_doc(field.doc.as_deref());
                    if let Some(default) = &field.default {
                        self.out.push_str(",\"default\":");
                        self.write_value(default);
                    }
                    match field.order {
                        FieldOrder::Ascending => {}
                        FieldOrder::Descending => self.out.push_str(",\"order\":\"descending\""),
                        FieldOrder::Ignore => self.out.push_str(",\"order\":\"ignore\""),
                    }
                    if !field.aliases.is_empty() {
                        self.out.push_str(",\"aliases\":");
                        self.write_string_list(field.aliases.iter().map(String::as_str));
                    }
                    self.write_props(&field.props);
                    self.out.push('}');
                }
                self.out.push(']');
                self.write_props(&node.props);
                self.write_aliases(&record.aliases, name);
                self.out.push('}');
            }
            Kind::Enum(e) => {
                self.out.push_str("{\"type\":\"enum\"");
                self.write_name(name, namespace);
                self.write_doc(e.doc.as_deref());
                self.out.push_str(",\"symbols\":");
                self.write_string_list(e.symbols.iter().map(String::as_str));
                if let Some(default) = &e.default {
                    self.out.push_str(",\"default\":");
                    self.write_str(default);
                }
                self.write_props(&node.props);
                self.write_aliases(&e.aliases, name);
                self.out.push('}');
            }
            Kind::Fixed(f) => {
                self.out.push_str("{\"type\":\"fixed\"");
                self.write_name(name, namespace);
                self.write_doc(f.doc.as_deref());
                let _ = write!(self.out, ",\"size\":{}", f.size);
                self.write_props(&node.props);
                self.write_aliases(&f.aliases, name);
                self.out.push('}');
            }
            _ => unreachable!("only named kinds reach write_named"),
        }
    }

    fn write_name(&mut self, name: &Name, enclosing: Option<&str>) {
        self.out.push_str(",\"name\":");
        self.write_str(&name.name);
        match (&name.namespace, enclosing) {
            (Some(ns), enclosing) if Some(ns.as_str()) != enclosing => {
                self.out.push_str(",\"namespace\":");
                self.write_str(ns);
            }
            (None, Some(_)) => self.out.push_str(",\"namespace\":\"\""),
            _ => {}
        }
    }

    fn write_doc(&mut self, doc: Option<&str>) {
        if let Some(doc) = doc {
            self.out.push_str(",\"doc\":");
            self.write_str(doc);
        }
    }

    /// Aliases print relative to the type's own namespace, as Java's `getQualified` does.
    fn write_aliases(&mut self, aliases: &[String], name: &Name) {
        if aliases.is_empty() {
            return;
        }
        let prefix = name.namespace.as_ref().map(|ns| format!("{ns}."));
        let relative = aliases.iter().map(|alias| match &prefix {
            Some(p) if alias.starts_with(p.as_str()) && !alias[p.len()..].contains('.') => &alias[p.len()..],
            _ => alias.as_str(),
        });
        let relative: Vec<&str> = relative.collect();
        self.out.push_str(",\"aliases\":");
        self.write_string_list(relative.into_iter());
    }

    fn write_props(&mut self, props: &[(String, Value)]) {
        for (key, value) in props {
            self.out.push(',');
            self.write_str(key);
            self.out.push(':');
            self.write_value(value);
        }
    }

    fn write_string_list<'s>(&mut self, items: impl Iterator<Item = &'s str>) {
        self.out.push('[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.write_str(item);
        }
        self.out.push(']');
    }

    fn write_str(&mut self, s: &str) {
        crate::schema::tree::write_escaped(&mut self.out, s);
    }

    fn write_value(&mut self, value: &Value) {
        let text = serde_json::to_string(value).expect("JSON values always serialise");
        self.out.push_str(&text);
    }
}
