//! CEL expressions over decoded records: compiled once when an operator gives one (a
//! webhook or live-tail filter), evaluated per record. Pure: no I/O.
//!
//! A record is bound as CEL variables: `key` and `value` (decoded as the live tail shows
//! them), `headers` (a map, the last value of a repeated name winning), `topic`,
//! `partition`, `offset` and `timestamp` (milliseconds). Numbers that are whole become
//! CEL `int` (as Confluent's executors bind Avro and JSON integers), so `value.amount > 10`
//! compares as users expect; other numbers become `double`.
//!
//! An expression that cannot be evaluated on a record (a field it names is missing) does
//! not match it: `has(value.note)` is how an expression asks whether a field is there.
//!
//! Simple expressions (comparisons and string tests over fields) are evaluated by a shortcut
//! that agrees with the interpreter wherever it answers (module `fast`); what an expression can
//! read of a variable is known before any record is ([`Expression::reads`], [`Reads`]).

mod fast;
mod reads;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

pub use reads::{PartialRecord, Reads};

/// The variables a record binds; an expression naming any other is refused when compiled.
pub const VARIABLES: &[&str] = &["key", "value", "headers", "topic", "partition", "offset", "timestamp"];

/// The longest expression accepted.
const MAX_LENGTH: usize = 4096;

/// A compiled expression and its text.
pub struct Expression {
    text: String,
    program: cel::Program,
    /// The expression resolved for [`fast`]'s shortcut, when it is in its subset.
    fast: Option<fast::Fast>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expression({:?})", self.text)
    }
}

/// Why an expression was refused, with where in it when the parser says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpressionError {
    pub message: String,
    /// 1-based.
    pub line: Option<u32>,
    /// 1-based.
    pub column: Option<u32>,
}

impl std::fmt::Display for ExpressionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{} (line {line}, column {column})", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl Expression {
    /// An expression over a record ([`VARIABLES`]).
    pub fn compile(text: &str) -> Result<Expression, ExpressionError> {
        Expression::compile_with(text, VARIABLES)
    }

    /// An expression over the given variables; one naming any other is refused.
    pub fn compile_with(text: &str, variables: &[&str]) -> Result<Expression, ExpressionError> {
        let refuse = |message: String| ExpressionError {
            message,
            line: None,
            column: None,
        };
        if text.trim().is_empty() {
            return Err(refuse("the expression is empty".to_string()));
        }
        if text.len() > MAX_LENGTH {
            return Err(refuse(format!("the expression is longer than {MAX_LENGTH} bytes")));
        }
        // The parser recurses per nesting level: bound it before it sees the text.
        if nesting(text) > 64 {
            return Err(refuse("the expression nests more than 64 levels deep".to_string()));
        }
        let program = cel::Program::compile(text).map_err(|errors| {
            let first = errors.errors.first();
            ExpressionError {
                message: first.map_or_else(|| errors.to_string(), |e| e.msg.clone()),
                line: first.and_then(|e| u32::try_from(e.pos.0).ok()).map(|l| l.max(1)),
                column: first.and_then(|e| u32::try_from(e.pos.1).ok()).map(|c| c + 1),
            }
        })?;
        let references = program.references();
        let bound = comprehension_variables(text);
        let unknown: Vec<&str> = references
            .variables()
            .into_iter()
            .filter(|name| !variables.contains(name) && !bound.iter().any(|b| b == name))
            .collect();
        if let Some(name) = unknown.first() {
            return Err(refuse(format!(
                "undeclared reference to {name:?}: the expression may use {}",
                variables.join(", ")
            )));
        }
        Ok(Expression {
            text: text.to_string(),
            fast: fast::Fast::compile(program.expression()),
            program,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the expression can read of `variable`: the fields it selects on it, or the whole
    /// value when it uses it otherwise. A decoder may leave out everything else.
    pub fn reads(&self, variable: &str) -> Reads {
        reads::reads_of(&self.program.expression().expr, variable)
    }

    /// The expression's value in `scope`, whatever its type.
    pub fn value_in(&self, scope: &Scope) -> Result<cel::Value, String> {
        self.program.execute(&scope.0).map_err(|e| e.to_string())
    }

    /// The expression's value in `scope`: `true`, `false`, or why it has neither.
    pub fn evaluate_in(&self, scope: &Scope) -> Result<bool, String> {
        if let Some(result) = self.fast.as_ref().and_then(|fast| fast.evaluate(&scope.0)) {
            return Ok(result);
        }
        match self.program.execute(&scope.0) {
            Ok(cel::Value::Bool(result)) => Ok(result),
            Ok(other) => Err(format!("the expression gave {other:?}, not true or false")),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Whether the record matches: the expression is `true` for it. Anything but a boolean
    /// is an error, as is an evaluation that fails (the caller decides what that means).
    pub fn evaluate(&self, record: &Record<'_>) -> Result<bool, String> {
        let mut scope = Scope::new();
        scope.bind_json("key", record.key);
        scope.bind_json("value", record.value);
        scope.bind_map(
            "headers",
            record
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_ref())),
        );
        scope.bind("topic", cel::Value::String(Arc::new(record.topic.to_string())));
        scope.bind("partition", cel::Value::Int(i64::from(record.partition)));
        scope.bind("offset", cel::Value::Int(record.offset));
        scope.bind("timestamp", cel::Value::Int(record.timestamp));
        self.evaluate_in(&scope)
    }

    /// Whether the record matches; one the expression cannot be evaluated on does not.
    pub fn matches(&self, record: &Record<'_>) -> bool {
        self.evaluate(record).unwrap_or(false)
    }
}

/// Variables bound for evaluations: made once per record and shared by every expression run
/// on it (rebinding a name replaces its value). Values may borrow the record (`'v`).
pub struct Scope<'v>(cel::Context<'v, 'v>);

impl<'v> Scope<'v> {
    /// An empty scope over the standard library, which is built once per thread: building
    /// it costs far more than evaluating a simple expression.
    pub fn new() -> Scope<'v> {
        thread_local! {
            static STANDARD: Arc<cel::Env> = Arc::new(cel::Env::stdlib());
        }
        Scope(cel::Context::with_env(STANDARD.with(Arc::clone)))
    }

    /// Binds `name`, an identifier: never dotted, so that `a.b` in an expression always
    /// selects the field `b` of the variable `a` (as the `fast` shortcut reads it; the
    /// interpreter would first look for a variable named `a.b`).
    pub fn bind(&mut self, name: &str, value: cel::Value) {
        debug_assert!(!name.contains('.'), "{name}");
        self.0.add_variable_from_value(name, value);
    }

    /// Binds a CEL value already built, which may borrow the record (see
    /// [`crate::validate::avro::decode_cel`]). Names as for [`Scope::bind`].
    pub fn bind_val(&mut self, name: &str, value: Box<dyn cel::common::value::Val + 'v>) {
        debug_assert!(!name.contains('.'), "{name}");
        self.0.add_variable_as_val(name, value);
    }

    /// Binds JSON as CEL values that borrow it: no string is copied and no intermediate
    /// tree built (the crate's own conversion copies a value twice on the way in).
    pub fn bind_json(&mut self, name: &str, value: &'v Value) {
        self.bind_val(name, json_val(value));
    }

    /// Binds JSON as [`Scope::bind_json`] does, but only what `reads` asks for: an object
    /// read in part becomes a [`PartialRecord`] of the members read (see [`Reads`]), which
    /// costs no hashing to build or to look up.
    pub fn bind_json_reading(&mut self, name: &str, value: &'v Value, reads: &Reads) {
        self.bind_val(name, json_val_reading(value, reads));
    }

    /// Binds a map of JSON values (`None`: null), borrowed as [`Scope::bind_json`] does; a
    /// name given twice keeps its last value.
    pub fn bind_map(&mut self, name: &str, entries: impl Iterator<Item = (&'v str, Option<&'v Value>)>) {
        use cel::common::types::{CelMap, CelMapKey, CelNull};
        let map: HashMap<_, _> = entries
            .map(|(key, value)| {
                let value = value.map_or_else(|| Box::new(CelNull) as Box<dyn cel::common::value::Val>, json_val);
                (CelMapKey::from(key), value)
            })
            .collect();
        self.bind_val(name, Box::new(CelMap::from(map)));
    }
}

impl Default for Scope<'_> {
    fn default() -> Self {
        Scope::new()
    }
}

/// JSON as a CEL value borrowing its strings. Whole numbers are `int` (never `uint`, which
/// would not compare with `int` literals), others `double`.
fn json_val(value: &Value) -> Box<dyn cel::common::value::Val + '_> {
    use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt};
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => Box::new(CelList::from(items.iter().map(json_val).collect::<Vec<_>>())),
        Value::Object(members) => {
            let mut map = HashMap::with_capacity(members.len());
            for (k, v) in members {
                map.insert(CelMapKey::from(k.as_str()), json_val(v));
            }
            Box::new(CelMap::from(map))
        }
    }
}

/// [`json_val`], making of objects only the members `reads` asks for.
fn json_val_reading<'v>(value: &'v Value, reads: &Reads) -> Box<dyn cel::common::value::Val + 'v> {
    match (value, reads) {
        (Value::Object(members), Reads::Fields(_)) => Box::new(PartialRecord(
            members
                .iter()
                .filter_map(|(name, member)| Some((name.as_str(), json_val_reading(member, reads.field(name)?))))
                .collect(),
        )),
        _ => json_val(value),
    }
}

/// A record as an expression sees it.
pub struct Record<'a> {
    pub topic: &'a str,
    pub partition: u32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: &'a Value,
    pub value: &'a Value,
    pub headers: &'a [(String, Option<Value>)],
}

/// The names macros bind (`items.all(i, …)` binds `i`), which the parser lists among the
/// expression's variables.
fn comprehension_variables(text: &str) -> Vec<String> {
    const MACROS: &[&str] = &[
        "all",
        "exists",
        "exists_one",
        "map",
        "filter",
        "optMap",
        "optFlatMap",
        "bind",
    ];
    let mut names = Vec::new();
    for (at, _) in text.match_indices('(') {
        let before = &text[..at];
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        if !MACROS.contains(&&before[name_start..]) || !before[..name_start].ends_with('.') {
            continue;
        }
        let rest = text[at + 1..].trim_start();
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() && rest[ident.len()..].trim_start().starts_with(',') {
            names.push(ident);
        }
    }
    names
}

/// How deeply brackets nest in `text` (outside string literals, roughly: enough to bound
/// the parser's recursion).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record<'a>(key: &'a Value, value: &'a Value, headers: &'a [(String, Option<Value>)]) -> Record<'a> {
        Record {
            topic: "payments",
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_000,
            key,
            value,
            headers,
        }
    }

    #[test]
    fn expressions_select_records_by_their_decoded_fields() {
        let key = json!("customer-7");
        let value = json!({"amount": 120, "currency": "EUR", "note": null,
                           "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]});
        let headers = vec![("source".to_string(), Some(json!("web")))];
        let r = record(&key, &value, &headers);
        for (text, expected) in [
            ("value.amount > 100", true),
            ("value.amount > 100.5", true),
            ("value.currency in ['EUR', 'USD']", true),
            ("key.startsWith('customer-') && partition == 2", true),
            (
                "value.items.all(i, i.qty > 0) && value.items.exists(i, i.sku == 'b')",
                true,
            ),
            ("size(value.items) == 3", false),
            ("has(value.note)", true),
            ("has(value.missing)", false),
            (
                "headers['source'] == 'web' && topic == 'payments' && offset == 41",
                true,
            ),
            ("timestamp > 0", true),
        ] {
            let expression = Expression::compile(text).unwrap();
            assert_eq!(expression.evaluate(&r), Ok(expected), "{text}");
        }
        // A field that is not there: an error to evaluate, so no match.
        let missing = Expression::compile("value.missing == 1").unwrap();
        assert!(missing.evaluate(&r).is_err());
        assert!(!missing.matches(&r));
        let not_bool = Expression::compile("value.amount").unwrap();
        assert!(not_bool.evaluate(&r).unwrap_err().contains("not true or false"));
    }

    #[test]
    fn bad_expressions_are_refused_with_where() {
        let error = Expression::compile("value.amount >").unwrap_err();
        assert_eq!(error.line, Some(1), "{error:?}");
        assert!(error.column.is_some(), "{error:?}");
        let error = Expression::compile("value.items.all(i, i > 0) && j > 0").unwrap_err();
        assert!(error.message.contains("undeclared reference to \"j\""), "{error}");
        let error = Expression::compile("message.amount > 0").unwrap_err();
        assert!(error.message.contains("undeclared reference to \"message\""), "{error}");
        assert!(Expression::compile("  ").unwrap_err().message.contains("empty"));
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(Expression::compile(&deep).unwrap_err().message.contains("nests"));
        assert!(Expression::compile(&"a".repeat(5000))
            .unwrap_err()
            .message
            .contains("longer"));
    }
}
