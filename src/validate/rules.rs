//! Data-contract rules the server enforces: a schema's `ruleSet.domainRules` of kind
//! `CONDITION` and type `CEL` or `CEL_FIELD`, in mode `WRITE` or `WRITEREAD`, compiled once
//! per schema and run on every produced record's decoded value. Pure: no I/O.
//!
//! Semantics follow Confluent's executors:
//! - `CEL` binds the record as `message`; `CEL_FIELD` runs once per primitive field with
//!   `name`, `fullName` (the dotted path), `value`, `typeName` and `message` bound.
//! - `"guard ; expr"`: when the guard is false the rule does not apply (`params`
//!   `cel.ignore.guard.separator: "true"` reads the whole text as one expression).
//! - A rule fails when its expression is false or cannot be evaluated. The failure's message
//!   is the rule's `doc`, else `Rule expr failed: <expr>`.
//! - `onFailure`/`onSuccess` may be `"A,B"` for WRITEREAD rules: the first is the write side's.
//!   Unset: `ERROR` on failure, `NONE` on success.
//! - A rule set whose `enableAt` is `CLIENT`, `GATEWAY` or `NONE` is left to others; absent,
//!   `ALL` or `SERVER`, the server runs it. `disabled` rules never run. Rules of other kinds,
//!   types or modes (transforms, encryption, migrations) are the clients' business.
//!
//! What the rules read of `message` is worked out when they are compiled
//! ([`WriteRules::reads`]), so that an Avro payload is decoded only as far as they look
//! ([`WriteRules::decode_avro`]): straight into CEL values borrowing the payload, with the
//! fields no rule selects walked and checked but not made.

use std::borrow::Cow;

use serde_json::Value;

use crate::expression::{Expression, ExpressionError, Reads, Scope};
use crate::schema::avro::AvroSchema;
use crate::validate::Violation;

/// What a failing (or passing) rule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Refuse the record.
    Error,
    /// Write the record to the rule's dead-letter topic instead.
    DeadLetter,
    /// Count it, nothing more.
    None,
}

/// One rule, compiled.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub expr: String,
    doc: Option<String>,
    field: bool,
    guard: Option<Expression>,
    /// `None` for a rule without an expression: Confluent accepts it at registration, and
    /// it fails every record it runs on.
    body: Option<Expression>,
    pub on_failure: Action,
    /// `params["dlq.topic"]`.
    pub dead_letter_topic: Option<String>,
}

/// The rules a schema asks the server to enforce on write.
#[derive(Debug, Default)]
pub struct WriteRules {
    pub rules: Vec<Rule>,
    /// The schema's own `confluent:rules`.
    pub inline: Vec<InlineRule>,
    /// What the rules can read of `message`: the whole record as soon as a `CEL_FIELD` or
    /// inline rule walks it, else what the CEL expressions select on it. Worked out by
    /// [`compile`] and [`WriteRules::with_inline`].
    reads: Reads,
}

/// A record's value as the rules are given it.
pub enum Message<'a> {
    /// Decoded to plain JSON: JSON payloads, Protobuf, and Avro for rules that walk the whole
    /// record (`CEL_FIELD`, inline rules).
    Json(Cow<'a, Value>),
    /// Decoded straight to CEL values ([`crate::validate::avro::decode_cel`]): no rule walks
    /// the record, and only what the CEL rules read of it is there.
    Cel(Box<dyn cel::common::value::Val + 'a>),
}

impl<'a> From<&'a Value> for Message<'a> {
    fn from(value: &'a Value) -> Self {
        Message::Json(Cow::Borrowed(value))
    }
}

/// A step from a record's root to where an inline rule applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    /// Every item of an array.
    Items,
    /// Every value of a map.
    Values,
}

/// An inline validation rule (`"confluent:rules": [{"name", "doc", "expr"}]` on an Avro
/// record or field or a JSON Schema object or property; `rules` of a Protobuf message's or
/// field's `confluent.message_meta` / `confluent.field_meta` option): CEL with `this` bound
/// to the value there, failing when it is false, a non-empty string (the message) or cannot
/// be evaluated. Null values are skipped. Always refuses (inline rules have no actions).
#[derive(Debug)]
pub struct InlineRule {
    pub name: String,
    doc: Option<String>,
    expr: String,
    path: Vec<Step>,
    /// The Protobuf message type whose records it applies to (a file holds several; the
    /// record's message index picks one); `None`: every record.
    message: Option<String>,
    compiled: Expression,
}

/// A rule that failed on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: String,
    /// The dotted path of the field a `CEL_FIELD` rule failed on.
    pub field: Option<String>,
    pub message: String,
    pub action: Action,
    pub dead_letter_topic: Option<String>,
}

/// Why a rule set cannot be compiled, naming the rule and where in its expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub rule: String,
    pub error: ExpressionError,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule {:?}: {}", self.rule, self.error)
    }
}

const MESSAGE_VARIABLES: &[&str] = &["message"];
const FIELD_VARIABLES: &[&str] = &["message", "name", "fullName", "value", "typeName", "tags"];

/// Compiles every CEL and CEL_FIELD expression of a rule set's domain rules (so a bad one is
/// refused at registration, whether or not the server runs it), and answers those the
/// server enforces on write.
pub fn compile(rule_set: &Value) -> Result<WriteRules, RuleError> {
    let enabled_here = match rule_set.get("enableAt").and_then(Value::as_str) {
        None => true,
        Some(place) => place.eq_ignore_ascii_case("ALL") || place.eq_ignore_ascii_case("SERVER"),
    };
    let mut rules = Vec::new();
    for rule in rule_set
        .get("domainRules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |key: &str| rule.get(key).and_then(Value::as_str);
        let kind = text("type").unwrap_or_default();
        let field = match kind {
            "CEL" => false,
            "CEL_FIELD" => true,
            _ => continue,
        };
        let name = text("name").unwrap_or_default().to_string();
        let expr = text("expr").unwrap_or_default().to_string();
        let ignore_guard = rule
            .pointer("/params/cel.ignore.guard.separator")
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let variables = if field { FIELD_VARIABLES } else { MESSAGE_VARIABLES };
        let compile = |text: &str| {
            Expression::compile_with(text, variables).map_err(|error| RuleError {
                rule: name.clone(),
                error,
            })
        };
        let (guard, body) = match expr.split_once(';').filter(|_| !ignore_guard) {
            _ if expr.trim().is_empty() => (None, None),
            Some((guard, body)) => (Some(compile(guard)?), Some(compile(body)?)),
            None => (None, Some(compile(&expr)?)),
        };
        let mode = text("mode").unwrap_or("WRITEREAD");
        let condition = text("kind").unwrap_or("TRANSFORM") == "CONDITION";
        let disabled = rule.get("disabled").and_then(Value::as_bool).unwrap_or(false);
        if !enabled_here || !condition || disabled || !matches!(mode, "WRITE" | "WRITEREAD") {
            continue;
        }
        rules.push(Rule {
            on_failure: action(text("onFailure"), Action::Error),
            dead_letter_topic: rule
                .pointer("/params/dlq.topic")
                .and_then(Value::as_str)
                .map(str::to_string),
            doc: text("doc").map(str::to_string),
            name,
            expr,
            field,
            guard,
            body,
        });
    }
    let mut reads = Reads::default();
    for rule in &rules {
        if rule.field {
            reads = Reads::Whole;
        }
        for expression in rule.guard.iter().chain(&rule.body) {
            reads.merge(expression.reads("message"));
        }
    }
    Ok(WriteRules {
        rules,
        inline: Vec::new(),
        reads,
    })
}

/// The inline `confluent:rules` of a schema's text (Avro or JSON Schema; a Protobuf schema's
/// are in its options: [`compile_inline_protobuf`]), compiled.
pub fn compile_inline(schema_type: crate::schema::SchemaType, text: &str) -> Result<Vec<InlineRule>, RuleError> {
    use crate::schema::SchemaType;
    let Ok(document) = serde_json::from_str::<Value>(text) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    match schema_type {
        SchemaType::Avro => {
            let mut named = std::collections::HashMap::new();
            avro_rules(&document, &mut Vec::new(), &mut named, &mut found, 0);
        }
        SchemaType::Json => json_rules(&document, &mut Vec::new(), &mut found, 0),
        SchemaType::Protobuf => {}
    }
    found
        .into_iter()
        .map(|(path, rule)| {
            let text = |key: &str| rule.get(key).and_then(Value::as_str).map(str::to_string);
            inline_rule(text("name"), text("doc"), text("expr"), path, None)
        })
        .collect()
}

fn inline_rule(
    name: Option<String>,
    doc: Option<String>,
    expr: Option<String>,
    path: Vec<Step>,
    message: Option<String>,
) -> Result<InlineRule, RuleError> {
    let name = name.filter(|n| !n.is_empty()).unwrap_or_else(|| "inline".to_string());
    let expr = expr.unwrap_or_default();
    let compiled = Expression::compile_with(&expr, &["this"]).map_err(|error| RuleError {
        rule: name.clone(),
        error,
    })?;
    Ok(InlineRule {
        doc: doc.filter(|d| !d.is_empty()),
        name,
        expr,
        path,
        message,
        compiled,
    })
}

/// The inline rules of a Protobuf schema: the `rules` of `(confluent.message_meta)` and
/// `(confluent.field_meta)` options (Confluent's `meta.proto`), compiled once for every
/// message type of the file as a record's root, each applying to records of that type (a
/// nested type's rules also apply where a field of that type stands).
pub fn compile_inline_protobuf(proto: &crate::schema::protobuf::ProtobufSchema) -> Result<Vec<InlineRule>, RuleError> {
    let pool = proto.file().parent_pool();
    let (Some(message_meta), Some(field_meta)) = (
        pool.get_extension_by_name("confluent.message_meta"),
        pool.get_extension_by_name("confluent.field_meta"),
    ) else {
        return Ok(Vec::new());
    };
    let metas = ProtoMetas {
        message_meta,
        field_meta,
    };
    let mut roots: Vec<prost_reflect::MessageDescriptor> = proto.file().messages().collect();
    let mut found = Vec::new();
    while let Some(root) = roots.pop() {
        roots.extend(root.child_messages().filter(|m| !m.is_map_entry()));
        let mut at_root = Vec::new();
        metas.walk(&root, &mut Vec::new(), &mut at_root, 0);
        found.extend(
            at_root
                .into_iter()
                .map(|(path, rule)| (path, rule, root.full_name().to_string())),
        );
    }
    found
        .into_iter()
        .map(|(path, (name, doc, expr), message)| inline_rule(name, doc, expr, path, Some(message)))
        .collect()
}

/// The `confluent.*_meta` extensions of a schema's descriptor pool.
struct ProtoMetas {
    message_meta: prost_reflect::ExtensionDescriptor,
    field_meta: prost_reflect::ExtensionDescriptor,
}

/// A rule as an option holds it: name, doc, expr.
type OptionRule = (Option<String>, Option<String>, Option<String>);

impl ProtoMetas {
    fn walk(
        &self,
        message: &prost_reflect::MessageDescriptor,
        path: &mut Vec<Step>,
        out: &mut Vec<(Vec<Step>, OptionRule)>,
        depth: usize,
    ) {
        use prost_reflect::Kind;
        if depth > MAX_RULE_DEPTH {
            return;
        }
        out.extend(
            rules_in(&message.options(), &self.message_meta)
                .into_iter()
                .map(|r| (path.clone(), r)),
        );
        for field in message.fields() {
            path.push(Step::Field(field.name().to_string()));
            out.extend(
                rules_in(&field.options(), &self.field_meta)
                    .into_iter()
                    .map(|r| (path.clone(), r)),
            );
            if field.is_map() {
                if let Kind::Message(entry) = field.kind() {
                    if let Kind::Message(value) = entry.map_entry_value_field().kind() {
                        path.push(Step::Values);
                        self.walk(&value, path, out, depth + 1);
                        path.pop();
                    }
                }
            } else if let Kind::Message(inner) = field.kind() {
                if field.is_list() {
                    path.push(Step::Items);
                    self.walk(&inner, path, out, depth + 1);
                    path.pop();
                } else {
                    self.walk(&inner, path, out, depth + 1);
                }
            }
            path.pop();
        }
    }
}

/// The `rules` of the `Meta` an options message holds under `extension`.
fn rules_in(
    options: &prost_reflect::DynamicMessage,
    extension: &prost_reflect::ExtensionDescriptor,
) -> Vec<OptionRule> {
    if !options.has_extension(extension) {
        return Vec::new();
    }
    let meta = options.get_extension(extension);
    let Some(meta) = meta.as_message() else {
        return Vec::new();
    };
    let Some(rules) = meta.get_field_by_name("rules") else {
        return Vec::new();
    };
    let Some(rules) = rules.as_list() else {
        return Vec::new();
    };
    rules
        .iter()
        .filter_map(|rule| rule.as_message())
        .map(|rule| {
            let text = |name: &str| {
                rule.get_field_by_name(name)
                    .and_then(|v| v.as_str().map(str::to_string))
            };
            (text("name"), text("doc"), text("expr"))
        })
        .collect()
}

/// Nesting past this is not walked for rules (recursive types end here).
const MAX_RULE_DEPTH: usize = 32;

fn rules_of(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("confluent:rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn avro_rules<'d>(
    node: &'d Value,
    path: &mut Vec<Step>,
    named: &mut std::collections::HashMap<String, &'d Value>,
    out: &mut Vec<(Vec<Step>, Value)>,
    depth: usize,
) {
    if depth > MAX_RULE_DEPTH {
        return;
    }
    match node {
        Value::String(name) => {
            if let Some(&definition) = named.get(name.as_str()) {
                avro_rules(definition, path, named, out, depth + 1);
            }
        }
        Value::Array(branches) => {
            for branch in branches {
                avro_rules(branch, path, named, out, depth + 1);
            }
        }
        Value::Object(members) => {
            if let Some(name) = members.get("name").and_then(Value::as_str) {
                let full = match (members.get("namespace").and_then(Value::as_str), name.contains('.')) {
                    (Some(ns), false) if !ns.is_empty() => format!("{ns}.{name}"),
                    _ => name.to_string(),
                };
                named.entry(full).or_insert(node);
                named.entry(name.to_string()).or_insert(node);
            }
            out.extend(rules_of(node).map(|r| (path.clone(), r.clone())));
            match members.get("type").and_then(Value::as_str) {
                Some("record") | Some("error") => {
                    for field in members.get("fields").and_then(Value::as_array).into_iter().flatten() {
                        let Some(name) = field.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        path.push(Step::Field(name.to_string()));
                        out.extend(rules_of(field).map(|r| (path.clone(), r.clone())));
                        if let Some(inner) = field.get("type") {
                            avro_rules(inner, path, named, out, depth + 1);
                        }
                        path.pop();
                    }
                }
                Some("array") => {
                    if let Some(items) = members.get("items") {
                        path.push(Step::Items);
                        avro_rules(items, path, named, out, depth + 1);
                        path.pop();
                    }
                }
                Some("map") => {
                    if let Some(values) = members.get("values") {
                        path.push(Step::Values);
                        avro_rules(values, path, named, out, depth + 1);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

fn json_rules(node: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>, depth: usize) {
    if depth > MAX_RULE_DEPTH || !node.is_object() {
        return;
    }
    out.extend(rules_of(node).map(|r| (path.clone(), r.clone())));
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            path.push(Step::Field(name.clone()));
            json_rules(property, path, out, depth + 1);
            path.pop();
        }
    }
    if let Some(items) = node.get("items") {
        path.push(Step::Items);
        json_rules(items, path, out, depth + 1);
        path.pop();
    }
}

/// The values at `path` under `value`, with their dotted paths (`addr.zip`, `tags[3]`,
/// `scores["foo"]`).
fn values_at<'v>(value: &'v Value, path: &[Step], at: String, out: &mut Vec<(String, &'v Value)>) {
    let Some((step, rest)) = path.split_first() else {
        out.push((at, value));
        return;
    };
    match (step, value) {
        (Step::Field(name), Value::Object(members)) => {
            if let Some(member) = members.get(name) {
                let next = if at.is_empty() {
                    name.clone()
                } else {
                    format!("{at}.{name}")
                };
                values_at(member, rest, next, out);
            }
        }
        (Step::Items, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                values_at(item, rest, format!("{at}[{i}]"), out);
            }
        }
        (Step::Values, Value::Object(members)) => {
            for (key, member) in members {
                values_at(member, rest, format!("{at}[{key:?}]"), out);
            }
        }
        // A union's null, or a shape the rule's path does not reach: nothing to check.
        _ => {}
    }
}

impl InlineRule {
    fn check(&self, message: &Value, record_type: Option<&str>, out: &mut Vec<Failure>) {
        if let (Some(mine), Some(record)) = (&self.message, record_type) {
            if mine != record {
                return;
            }
        }
        let mut found = Vec::new();
        values_at(message, &self.path, String::new(), &mut found);
        for (path, value) in found {
            if value.is_null() {
                continue;
            }
            let mut scope = Scope::new();
            scope.bind_json("this", value);
            let problem = match self.compiled.value_in(&scope) {
                Ok(cel::Value::Bool(true)) => None,
                Ok(cel::Value::String(s)) if s.is_empty() => None,
                Ok(cel::Value::String(s)) => Some(s.to_string()),
                Ok(cel::Value::Bool(false)) => Some(
                    self.doc
                        .clone()
                        .unwrap_or_else(|| format!("Rule expr failed: {}", self.expr)),
                ),
                Ok(other) => Some(format!("the rule gave {other:?}, not true, false or a message")),
                Err(error) => Some(format!("Rule expr failed: {} ({error})", self.expr)),
            };
            if let Some(message) = problem {
                out.push(Failure {
                    rule: self.name.clone(),
                    field: (!path.is_empty()).then_some(path),
                    message,
                    action: Action::Error,
                    dead_letter_topic: None,
                });
            }
        }
    }
}

/// The write side of an action: `"DLQ,NONE"` is DLQ on write.
fn action(text: Option<&str>, default: Action) -> Action {
    match text.map(|t| t.split(',').next().unwrap_or_default().trim()) {
        Some("ERROR") => Action::Error,
        Some("DLQ") => Action::DeadLetter,
        Some("NONE") => Action::None,
        _ => default,
    }
}

impl WriteRules {
    /// What the rules can read of a record: a decoder may leave out the rest.
    pub fn reads(&self) -> &Reads {
        &self.reads
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.inline.is_empty()
    }

    /// Every rule's name: the rule set's, then the inline ones.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .map(|r| r.name.as_str())
            .chain(self.inline.iter().map(|r| r.name.as_str()))
    }

    /// A rule set's rules together with the schema's inline ones.
    pub fn with_inline(mut self, inline: Vec<InlineRule>) -> WriteRules {
        if !inline.is_empty() {
            self.reads = Reads::Whole;
        }
        self.inline = inline;
        self
    }

    /// Whether the rules walk the whole record as JSON: `CEL_FIELD` rules (every primitive
    /// field) and inline ones (values at their paths) do.
    fn walks_json(&self) -> bool {
        !self.inline.is_empty() || self.rules.iter().any(|r| r.field)
    }

    /// Decodes an Avro body for these rules, checking it as
    /// [`crate::validate::avro::check_binary`] does (one walk for both): to CEL values of
    /// only the fields the rules read, or to plain JSON when rules walk the whole record.
    pub fn decode_avro<'a>(&self, schema: &'a AvroSchema, body: &'a [u8]) -> Result<Message<'a>, Violation> {
        if self.walks_json() {
            crate::validate::avro::decode_plain(schema, body).map(|value| Message::Json(Cow::Owned(value)))
        } else {
            crate::validate::avro::decode_cel(schema, body, &self.reads).map(Message::Cel)
        }
    }

    /// Runs every rule on a record's decoded value; answers the failures, in rule order.
    /// A [`Message::Cel`] must come from [`WriteRules::decode_avro`] (it holds only what these
    /// rules read, and no rule that walks the record as JSON may be among them).
    pub fn check<'m>(&self, message: impl Into<Message<'m>>) -> Vec<Failure> {
        self.check_as(message, None)
    }

    /// [`WriteRules::check`] for a record of a named Protobuf message type: inline rules of
    /// the schema's other message types do not apply to it.
    pub fn check_as<'m>(&self, message: impl Into<Message<'m>>, record_type: Option<&str>) -> Vec<Failure> {
        let (json, cel) = match message.into() {
            Message::Json(value) => (Some(value), None),
            Message::Cel(value) => (None, Some(value)),
        };
        let json = json.as_deref();
        // One scope per record: the record is converted and bound once for every rule.
        let mut scope = Scope::new();
        if let Some(value) = json {
            scope.bind_json_reading("message", value, &self.reads);
        }
        if let Some(value) = cel {
            debug_assert!(!self.walks_json(), "rules that walk the record are given JSON");
            scope.bind_val("message", value);
        }
        let mut failures = Vec::new();
        let mut fields = None;
        for rule in &self.rules {
            if !rule.field {
                if let Some(message) = rule.fails(&scope) {
                    failures.push(rule.failure(None, message));
                }
                continue;
            }
            let Some(message) = json else {
                continue;
            };
            let fields = fields.get_or_insert_with(|| {
                let mut found = Vec::new();
                primitive_fields(message, String::new(), &mut found);
                found
            });
            scope.bind("tags", cel::Value::List(Vec::new().into()));
            for (path, value) in fields.iter() {
                let name = path.rsplit('.').next().unwrap_or_default();
                scope.bind("name", cel::Value::String(name.to_string().into()));
                scope.bind("fullName", cel::Value::String(path.clone().into()));
                scope.bind_json("value", value);
                scope.bind("typeName", cel::Value::String(type_name(value).to_string().into()));
                if let Some(message) = rule.fails(&scope) {
                    failures.push(rule.failure(Some(path.clone()), message));
                }
            }
        }
        if let Some(message) = json {
            for rule in &self.inline {
                rule.check(message, record_type, &mut failures);
            }
        }
        failures
    }
}

impl Rule {
    /// `None` when the rule holds (or its guard says it does not apply); else the message.
    fn fails(&self, scope: &Scope) -> Option<String> {
        if let Some(guard) = &self.guard {
            match guard.evaluate_in(scope) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) => return Some(self.message(Some(&error))),
            }
        }
        let Some(body) = &self.body else {
            return Some(self.message(Some("the rule has no expr")));
        };
        match body.evaluate_in(scope) {
            Ok(true) => None,
            Ok(false) => Some(self.message(None)),
            Err(error) => Some(self.message(Some(&error))),
        }
    }

    fn message(&self, error: Option<&str>) -> String {
        let base = match &self.doc {
            Some(doc) => doc.clone(),
            None => format!("Rule expr failed: {}", self.expr),
        };
        match error {
            Some(error) => format!("{base} ({error})"),
            None => base,
        }
    }

    fn failure(&self, field: Option<String>, message: String) -> Failure {
        Failure {
            rule: self.name.clone(),
            field,
            message,
            action: self.on_failure.clone(),
            dead_letter_topic: self.dead_letter_topic.clone(),
        }
    }
}

/// Every primitive (non-object, non-array) value with its dotted path; array items are
/// walked into (`items[]`) for the records they hold.
fn primitive_fields<'v>(value: &'v Value, path: String, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                primitive_fields(member, at, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                if item.is_object() {
                    primitive_fields(item, format!("{path}[]"), out);
                }
            }
        }
        Value::Null => {}
        _ if !path.is_empty() => out.push((path, value)),
        _ => {}
    }
}

/// Confluent's `RuleContext.Type` names for a primitive value.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "BOOLEAN",
        Value::Number(n) if n.is_i64() || n.is_u64() => "LONG",
        Value::Number(_) => "DOUBLE",
        Value::String(_) => "STRING",
        _ => "NULL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::schema::Schema;

    fn rules(domain: Value) -> WriteRules {
        compile(&json!({"domainRules": domain})).unwrap()
    }

    #[test]
    fn condition_rules_refuse_records_they_are_false_for_naming_the_rule() {
        let set = rules(json!([
            {"name": "checkSsnLen", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "size(message.ssn) == 9"},
            {"name": "positiveAmount", "kind": "CONDITION", "type": "CEL", "mode": "WRITEREAD",
             "doc": "amounts are positive", "expr": "message.amount > 0", "onFailure": "DLQ,NONE",
             "params": {"dlq.topic": "bad-payments"}},
        ]));
        assert!(set.check(&json!({"ssn": "123456789", "amount": 5})).is_empty());
        let failures = set.check(&json!({"ssn": "1234", "amount": -1}));
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].rule, "checkSsnLen");
        assert_eq!(failures[0].message, "Rule expr failed: size(message.ssn) == 9");
        assert_eq!(failures[0].action, Action::Error);
        assert_eq!(failures[1].message, "amounts are positive");
        assert_eq!(failures[1].action, Action::DeadLetter);
        assert_eq!(failures[1].dead_letter_topic.as_deref(), Some("bad-payments"));
        // A field that is not there: the rule cannot be evaluated, which is a failure.
        let failures = set.check(&json!({"amount": 1}));
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0]
                .message
                .starts_with("Rule expr failed: size(message.ssn) == 9 ("),
            "{failures:?}"
        );
    }

    #[test]
    fn guards_field_rules_and_what_the_server_leaves_to_clients() {
        let set = rules(json!([
            {"name": "ssnDigits", "kind": "CONDITION", "type": "CEL_FIELD", "mode": "WRITE",
             "expr": "name == 'ssn' ; value.matches('^[0-9]+$')"},
            {"name": "onlyEur", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "message.currency == 'EUR' ; message.amount < 1000"},
            {"name": "transform", "kind": "TRANSFORM", "type": "CEL_FIELD", "mode": "WRITE",
             "expr": "name == 'x' ; 'y'"},
            {"name": "readOnly", "kind": "CONDITION", "type": "CEL", "mode": "READ", "expr": "false"},
            {"name": "off", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "false", "disabled": true},
            {"name": "jsonata", "kind": "CONDITION", "type": "JSONATA", "mode": "WRITE", "expr": "$x"},
        ]));
        assert_eq!(
            set.rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["ssnDigits", "onlyEur"]
        );
        assert!(set
            .check(&json!({"ssn": "123", "currency": "USD", "amount": 5000}))
            .is_empty());
        let failures = set.check(&json!({"customer": {"ssn": "12a"}, "currency": "EUR", "amount": 5000}));
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert_eq!(failures[0].field.as_deref(), Some("customer.ssn"));
        assert_eq!(failures[1].rule, "onlyEur");
        // Rule sets for clients only are not the server's to run.
        for place in ["CLIENT", "GATEWAY", "NONE"] {
            let set = compile(&json!({"enableAt": place, "domainRules": [
                {"name": "r", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "false"}]}))
            .unwrap();
            assert!(set.is_empty(), "{place}");
        }
        let set = compile(&json!({"enableAt": "SERVER", "domainRules": [
            {"name": "r", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "false"}]}))
        .unwrap();
        assert_eq!(set.check(&json!({})).len(), 1);
    }

    #[test]
    fn protobuf_meta_rules_apply_to_records_of_their_message_type() {
        let text = r#"syntax = "proto3";
package shop;
import "confluent/meta.proto";
message Order {
  option (confluent.message_meta) = { rules: [{ name: "hasLines", expr: "size(this.lines) > 0" }] };
  string id = 1 [(confluent.field_meta) = { rules: [{ name: "idShape", expr: "this.startsWith('o-') ? '' : 'ids start with o-'" }] }];
  repeated Line lines = 2;
  map<string, Line> by_sku = 3;
}
message Line {
  int32 qty = 1 [(confluent.field_meta) = { rules: [{ name: "positiveQty", doc: "quantities are positive", expr: "this > 0" }] }];
}
"#;
        let Schema::Protobuf(proto) = Schema::parse(crate::schema::SchemaType::Protobuf, text, &[]).unwrap() else {
            unreachable!()
        };
        let rules = WriteRules::default().with_inline(compile_inline_protobuf(&proto).unwrap());
        let order = json!({"id": "x-1", "lines": [{"qty": 1}, {"qty": 0}], "by_sku": {"A": {"qty": -2}}});
        let failures = rules.check_as(&order, Some("shop.Order"));
        let seen: Vec<(String, Option<String>)> = failures.into_iter().map(|f| (f.rule, f.field)).collect();
        assert_eq!(
            seen,
            [
                ("idShape".to_string(), Some("id".to_string())),
                ("positiveQty".to_string(), Some("lines[1].qty".to_string())),
                ("positiveQty".to_string(), Some("by_sku[\"A\"].qty".to_string())),
            ]
        );
        // A Line record is judged by Line's own rules only.
        let failures = rules.check_as(&json!({"qty": 0}), Some("shop.Line"));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].message, "quantities are positive");
        assert!(rules.check_as(&json!({"qty": 3}), Some("shop.Line")).is_empty());
        // A bad expression is refused naming the rule.
        let bad = text.replace("this > 0", "this >");
        let Schema::Protobuf(proto) = Schema::parse(crate::schema::SchemaType::Protobuf, &bad, &[]).unwrap() else {
            unreachable!()
        };
        assert_eq!(compile_inline_protobuf(&proto).unwrap_err().rule, "positiveQty");
    }

    #[test]
    fn inline_rules_apply_where_they_stand_with_this_bound_there() {
        use crate::schema::SchemaType;
        let avro = r#"{"type": "record", "name": "Order", "namespace": "acme",
            "confluent:rules": [{"name": "hasLines", "expr": "size(this.lines) > 0"}],
            "fields": [
              {"name": "id", "type": "string", "confluent:rules": [{"name": "idShape", "expr": "this.startsWith('o-') ? '' : 'ids start with o-'"}]},
              {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
                {"name": "qty", "type": "int", "confluent:rules": [{"name": "positiveQty", "doc": "quantities are positive", "expr": "this > 0"}]}]}}},
              {"name": "note", "type": ["null", "string"], "default": null, "confluent:rules": [{"name": "shortNote", "expr": "size(this) < 5"}]}]}"#;
        let inline = compile_inline(SchemaType::Avro, avro).unwrap();
        assert_eq!(
            inline.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["hasLines", "idShape", "positiveQty", "shortNote"]
        );
        let rules = WriteRules::default().with_inline(inline);
        assert!(rules
            .check(&json!({"id": "o-1", "lines": [{"qty": 1}], "note": null}))
            .is_empty());
        let failures = rules.check(&json!({"id": "x-1", "lines": [{"qty": 1}, {"qty": 0}], "note": "too long"}));
        let seen: Vec<(String, Option<String>, String)> =
            failures.into_iter().map(|f| (f.rule, f.field, f.message)).collect();
        assert_eq!(
            seen,
            vec![
                (
                    "idShape".to_string(),
                    Some("id".to_string()),
                    "ids start with o-".to_string()
                ),
                (
                    "positiveQty".to_string(),
                    Some("lines[1].qty".to_string()),
                    "quantities are positive".to_string()
                ),
                (
                    "shortNote".to_string(),
                    Some("note".to_string()),
                    "Rule expr failed: size(this) < 5".to_string()
                ),
            ]
        );
        let json = r#"{"type": "object", "properties": {"amount": {"type": "number",
            "confluent:rules": [{"name": "positive", "expr": "this > 0"}]}}}"#;
        let rules = WriteRules::default().with_inline(compile_inline(SchemaType::Json, json).unwrap());
        assert_eq!(rules.check(&json!({"amount": -1})).len(), 1);
        assert!(rules.check(&json!({"amount": 3})).is_empty());
        let bad = compile_inline(
            SchemaType::Json,
            r#"{"confluent:rules": [{"name": "b", "expr": "this >"}]}"#,
        )
        .unwrap_err();
        assert_eq!(bad.rule, "b");
    }

    #[test]
    fn rules_read_what_they_select_and_answer_the_same_on_avro_decoded_that_far() {
        use crate::schema::SchemaType;
        let avro = r#"{"type": "record", "name": "Payment", "fields": [
            {"name": "id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "note", "type": ["null", "string"], "default": null},
            {"name": "customer", "type": ["null", {"type": "record", "name": "Customer", "fields": [
              {"name": "name", "type": "string"}, {"name": "ssn", "type": "string"}]}], "default": null},
            {"name": "pad", "type": "string"}]}"#;
        let schema = crate::schema::avro::parse(avro, &[]).unwrap();
        let set = rules(json!([
            {"name": "ssn", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "size(message.customer.ssn) == 9"},
            {"name": "positive", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "message.amount > 0.0 ; message.amount < 100.0"},
            {"name": "noted", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "has(message.note) && message.note.startsWith('n')"},
            {"name": "typo", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "doc": "no such field", "expr": "message.amonut > 0"},
        ]));
        let mut expected = Reads::default();
        for text in [
            "message.customer.ssn",
            "message.amount",
            "message.note",
            "message.amonut",
        ] {
            expected.merge(Expression::compile_with(text, &["message"]).unwrap().reads("message"));
        }
        assert_eq!(set.reads(), &expected);
        assert_eq!(set.reads().field("pad"), None);
        for record in [
            json!({"id": "a", "amount": 5.0, "note": "nice", "customer": {"name": "x", "ssn": "123456789"}, "pad": "p"}),
            json!({"id": "b", "amount": 500.0, "note": null, "customer": null, "pad": "p"}),
            json!({"id": "c", "amount": -1.0, "note": "bad", "customer": {"name": "x", "ssn": "1"}, "pad": "p"}),
        ] {
            let bytes = crate::validate::avro::encode_json(&schema, &record).unwrap();
            let message = set.decode_avro(&schema, &bytes).unwrap();
            assert!(matches!(message, Message::Cel(_)));
            let plain = crate::validate::avro::decode_plain(&schema, &bytes).unwrap();
            let expected = set.check(&plain);
            assert!(!expected.is_empty());
            assert_eq!(set.check(message), expected, "{record}");
        }
        // Rules that walk the whole record are given it as JSON.
        let field = rules(
            json!([{"name": "f", "kind": "CONDITION", "type": "CEL_FIELD", "mode": "WRITE",
                                  "expr": "name == 'ssn' ; size(value) == 9"}]),
        );
        assert!(field.reads().is_whole());
        let inline = WriteRules::default().with_inline(
            compile_inline(
                SchemaType::Avro,
                r#"{"type": "record", "name": "R", "fields": [{"name": "id", "type": "string",
                    "confluent:rules": [{"name": "i", "expr": "this != ''"}]}]}"#,
            )
            .unwrap(),
        );
        assert!(inline.reads().is_whole());
        let bytes = crate::validate::avro::encode_json(
            &schema,
            &json!({"id": "a", "amount": 1.0, "customer": {"name": "x", "ssn": "12"}, "pad": ""}),
        )
        .unwrap();
        let message = field.decode_avro(&schema, &bytes).unwrap();
        assert!(matches!(message, Message::Json(_)));
        assert_eq!(field.check(message)[0].field.as_deref(), Some("customer.ssn"));
        // A damaged payload is refused as the check refuses it.
        assert_eq!(
            set.decode_avro(&schema, &bytes[..bytes.len() - 1]).err(),
            crate::validate::avro::check_binary(&schema, &bytes[..bytes.len() - 1]).err()
        );
    }

    #[test]
    fn bad_expressions_name_the_rule_and_the_place() {
        let error = compile(&json!({"domainRules": [
            {"name": "broken", "kind": "CONDITION", "type": "CEL", "mode": "READ", "expr": "message.amount >"}]}))
        .unwrap_err();
        assert_eq!(error.rule, "broken");
        assert_eq!(error.error.line, Some(1));
        assert!(error.to_string().starts_with("rule \"broken\": "), "{error}");
        let error = compile(&json!({"domainRules": [
            {"name": "wrongVar", "kind": "CONDITION", "type": "CEL", "expr": "record.amount > 0"}]}))
        .unwrap_err();
        assert!(
            error.to_string().contains("undeclared reference to \"record\""),
            "{error}"
        );
    }
}
