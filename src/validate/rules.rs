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

use serde_json::Value;

use crate::expression::{Expression, ExpressionError, Scope};

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
    Ok(WriteRules { rules })
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
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Runs every rule on a record's decoded value; answers the failures, in rule order.
    pub fn check(&self, message: &Value) -> Vec<Failure> {
        // One scope per record: the record is converted and bound once for every rule.
        let mut scope = Scope::new();
        scope.bind_json("message", message);
        let mut failures = Vec::new();
        let mut fields = None;
        for rule in &self.rules {
            if !rule.field {
                if let Some(message) = rule.fails(&scope) {
                    failures.push(rule.failure(None, message));
                }
                continue;
            }
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
