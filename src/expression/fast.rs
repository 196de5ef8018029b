//! A shortcut past the CEL interpreter for the expressions most data-contract rules and
//! filters are: comparisons, `size`, string tests, `&&`, `||`, `!` and `?:` over literals and
//! fields of bound variables (`size(message.ssn) == 9`, `message.currency != "EUR" ||
//! message.amount < 1000`).
//!
//! The interpreter's cost per evaluation is mostly its own machinery (a qualified name
//! joined and looked up for every field read, overloads looked up by name, argument vectors),
//! far more than such an expression's work: a produce of three simple rules spent more time
//! there than in decoding and checking the record. Here the expression is resolved once, at
//! compile time, into a tree evaluated on the bound values directly.
//!
//! It answers only where it is certain to agree with the interpreter: on strings, ints,
//! doubles and booleans of matching types. Anything else (a missing field, a null, an `int`
//! compared with a `double`, a NaN, a value that is not a boolean where one is needed) gives
//! no answer, and the caller runs the interpreter, whose result or error is then the one
//! given. CEL has no side effects, so the attempt changes nothing but the time taken.

use std::cmp::Ordering;

use cel::common::ast::{operators, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelBool, CelDouble, CelInt, CelString};
use cel::common::value::{CowVal, Val};
use cel::Context;

/// An expression in the subset, resolved.
#[derive(Debug)]
pub(super) enum Fast {
    Literal(Literal),
    /// A bound variable, or field selections on one (`message.customer.id`). Bound names have
    /// no dots (see `Scope::bind`), so the interpreter's qualified-name resolution comes to
    /// the same: the variable, then each field in turn.
    Path(String, Vec<String>),
    /// `size(s)` or `s.size()`, for a string.
    Size(Box<Fast>),
    /// `s.startsWith(t)`, `s.endsWith(t)`, `s.contains(t)`.
    Text(TextTest, Box<Fast>, Box<Fast>),
    /// `a == b`, or with `negated`, `a != b`.
    Equals {
        negated: bool,
        left: Box<Fast>,
        right: Box<Fast>,
    },
    /// `a < b` and the like: true when the ordering of `a` against `b` is one of `accept`.
    Compare {
        accept: &'static [Ordering],
        left: Box<Fast>,
        right: Box<Fast>,
    },
    And(Box<Fast>, Box<Fast>),
    Or(Box<Fast>, Box<Fast>),
    Not(Box<Fast>),
    /// `c ? a : b`.
    Conditional(Box<Fast>, Box<Fast>, Box<Fast>),
}

#[derive(Debug)]
pub(super) enum Literal {
    String(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum TextTest {
    StartsWith,
    EndsWith,
    Contains,
}

/// A value the shortcut computes with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar<'a> {
    String(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl Fast {
    /// `expr` resolved, or `None` when it is not in the subset.
    pub(super) fn compile(expr: &IdedExpr) -> Option<Fast> {
        let fast = match &expr.expr {
            Expr::Literal(literal) => Fast::Literal(match literal {
                LiteralValue::String(s) => Literal::String(s.inner().to_string()),
                LiteralValue::Int(i) => Literal::Int(*i.inner()),
                LiteralValue::Double(d) => Literal::Double(*d.inner()),
                LiteralValue::Boolean(b) => Literal::Bool(*b.inner()),
                _ => return None,
            }),
            Expr::Ident(name) => Fast::Path(name.clone(), Vec::new()),
            Expr::Select(select) if !select.test => match Fast::compile(&select.operand)? {
                Fast::Path(variable, mut fields) => {
                    fields.push(select.field.clone());
                    Fast::Path(variable, fields)
                }
                _ => return None,
            },
            Expr::Call(call) => {
                let arg = |i: usize| Fast::compile(&call.args[i]).map(Box::new);
                let compare = |accept| {
                    Some(Fast::Compare {
                        accept,
                        left: arg(0)?,
                        right: arg(1)?,
                    })
                };
                let target = call.target.as_deref();
                match (call.func_name.as_str(), target, call.args.len()) {
                    (operators::LOGICAL_AND, None, 2) => Fast::And(arg(0)?, arg(1)?),
                    (operators::LOGICAL_OR, None, 2) => Fast::Or(arg(0)?, arg(1)?),
                    (operators::LOGICAL_NOT, None, 1) => Fast::Not(arg(0)?),
                    (operators::CONDITIONAL, None, 3) => Fast::Conditional(arg(0)?, arg(1)?, arg(2)?),
                    (operators::EQUALS | operators::NOT_EQUALS, None, 2) => Fast::Equals {
                        negated: call.func_name == operators::NOT_EQUALS,
                        left: arg(0)?,
                        right: arg(1)?,
                    },
                    (operators::LESS, None, 2) => compare(&[Ordering::Less])?,
                    (operators::LESS_EQUALS, None, 2) => compare(&[Ordering::Less, Ordering::Equal])?,
                    (operators::GREATER, None, 2) => compare(&[Ordering::Greater])?,
                    (operators::GREATER_EQUALS, None, 2) => compare(&[Ordering::Greater, Ordering::Equal])?,
                    ("size", None, 1) => Fast::Size(arg(0)?),
                    ("size", Some(target), 0) => Fast::Size(Box::new(Fast::compile(target)?)),
                    (name @ ("startsWith" | "endsWith" | "contains"), Some(target), 1) => {
                        let test = match name {
                            "startsWith" => TextTest::StartsWith,
                            "endsWith" => TextTest::EndsWith,
                            _ => TextTest::Contains,
                        };
                        Fast::Text(test, Box::new(Fast::compile(target)?), arg(0)?)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(fast)
    }

    /// The expression's boolean value in `context`, or `None`: the interpreter decides.
    pub(super) fn evaluate(&self, context: &Context<'_, '_>) -> Option<bool> {
        match self.value(context)? {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn value<'e>(&'e self, context: &'e Context<'_, '_>) -> Option<Scalar<'e>> {
        let bool = |b| Some(Scalar::Bool(b));
        match self {
            Fast::Literal(Literal::String(s)) => Some(Scalar::String(s)),
            Fast::Literal(Literal::Int(i)) => Some(Scalar::Int(*i)),
            Fast::Literal(Literal::Double(d)) => Some(Scalar::Double(*d)),
            Fast::Literal(Literal::Bool(b)) => bool(*b),
            Fast::Path(variable, fields) => {
                // Values the context owns or lends: one made on the fly (not borrowed)
                // cannot be, and is left to the interpreter.
                let CowVal::Borrowed(mut value) = context.get_variable(variable)? else {
                    return None;
                };
                for field in fields {
                    match value.as_indexer()?.get(&CelString::from(field.as_str())).ok()? {
                        CowVal::Borrowed(inner) => value = inner,
                        CowVal::Owned(_) => return None,
                    }
                }
                scalar(value)
            }
            Fast::Size(of) => match of.value(context)? {
                Scalar::String(s) => Some(Scalar::Int(i64::try_from(s.chars().count()).ok()?)),
                _ => None,
            },
            Fast::Text(test, text, needle) => match (text.value(context)?, needle.value(context)?) {
                (Scalar::String(text), Scalar::String(needle)) => bool(match test {
                    TextTest::StartsWith => text.starts_with(needle),
                    TextTest::EndsWith => text.ends_with(needle),
                    TextTest::Contains => text.contains(needle),
                }),
                _ => None,
            },
            Fast::Equals { negated, left, right } => {
                let equal = ordering(left.value(context)?, right.value(context)?)? == Ordering::Equal;
                bool(equal != *negated)
            }
            Fast::Compare { accept, left, right } => {
                bool(accept.contains(&ordering(left.value(context)?, right.value(context)?)?))
            }
            // As the interpreter: a false left side decides `&&` (a true one `||`) without
            // the right; otherwise both must be booleans. The interpreter also lets an
            // error on one side be decided by the other, which is left to it.
            Fast::And(left, right) => match left.value(context)? {
                Scalar::Bool(false) => bool(false),
                Scalar::Bool(true) => match right.value(context)? {
                    Scalar::Bool(b) => bool(b),
                    _ => None,
                },
                _ => None,
            },
            Fast::Or(left, right) => match left.value(context)? {
                Scalar::Bool(true) => bool(true),
                Scalar::Bool(false) => match right.value(context)? {
                    Scalar::Bool(b) => bool(b),
                    _ => None,
                },
                _ => None,
            },
            Fast::Not(inner) => match inner.value(context)? {
                Scalar::Bool(b) => bool(!b),
                _ => None,
            },
            Fast::Conditional(condition, then, otherwise) => match condition.value(context)? {
                Scalar::Bool(true) => then.value(context),
                Scalar::Bool(false) => otherwise.value(context),
                _ => None,
            },
        }
    }
}

/// A bound value as a scalar; `None` for any other kind of value.
fn scalar<'a>(value: &'a (dyn Val + '_)) -> Option<Scalar<'a>> {
    if let Some(s) = value.downcast_ref::<CelString>() {
        Some(Scalar::String(s.inner()))
    } else if let Some(i) = value.downcast_ref::<CelInt>() {
        Some(Scalar::Int(*i.inner()))
    } else if let Some(d) = value.downcast_ref::<CelDouble>() {
        Some(Scalar::Double(*d.inner()))
    } else {
        value.downcast_ref::<CelBool>().map(|b| Scalar::Bool(*b.inner()))
    }
}

/// How two values of the same type order, as CEL orders them; `None` for values of
/// different types and for NaN (the interpreter decides those).
fn ordering(left: Scalar<'_>, right: Scalar<'_>) -> Option<Ordering> {
    match (left, right) {
        (Scalar::String(a), Scalar::String(b)) => Some(a.cmp(b)),
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(&b)),
        (Scalar::Double(a), Scalar::Double(b)) => a.partial_cmp(&b),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::expression::{Expression, Scope};
    use serde_json::json;

    /// Every expression, on every record: wherever the shortcut answers, the interpreter
    /// answers the same.
    #[test]
    fn the_shortcut_agrees_with_the_interpreter_wherever_it_answers() {
        let records = [
            json!({"s": "0abc", "t": "abc", "e": "", "u": "héllo", "i": 3, "j": -7, "d": 2.5, "n": f64::MAX,
                   "b": true, "z": null, "o": {"s": "x", "i": 1}, "l": [1, 2]}),
            json!({"s": "abc", "t": "abc", "e": "x", "u": "", "i": 0, "j": 3, "d": -0.0, "b": false,
                   "z": 1, "o": {}, "l": []}),
            json!({}),
        ];
        let texts = [
            "size(message.s) > 3",
            "message.s.size() == 4",
            "size(message.u) == 5",
            "message.s != message.t",
            "message.s == message.t",
            "message.e != \"\" && message.s.startsWith(\"0\") || size(message.s) > 0",
            "message.s.endsWith('c') && message.s.contains('ab')",
            "message.i > 2 && message.i <= 3 && message.j < 0 && message.j >= -7",
            "message.i == 3",
            "message.i == 3.0",
            "message.d > 2.0",
            "message.d == 0.0",
            "message.d < 3",
            "message.b",
            "!message.b",
            "message.b == true",
            "message.b != false",
            "message.b > false",
            "message.z == null",
            "message.z > 0",
            "message.o.s == 'x' && message.o.i == 1",
            "message.o.missing == 1",
            "message.missing == 1 || true",
            "true || message.missing == 1",
            "false && message.missing == 1",
            "message.missing == 1 && false",
            "message.i > 1 ? message.s.startsWith('0') : message.e == 'x'",
            "message.i ? true : false",
            "message.s < message.t",
            "message.s >= 'abc'",
            "message.l == [1, 2]",
            "size(message.l) == 2",
            "message.i + 1 == 4",
            "message.s",
            "message",
            "1 == 1 && 'a' < 'b' && 2.5 >= 2.5",
            "message.s == 1",
        ];
        for text in texts {
            let expression = Expression::compile_with(text, &["message"]).unwrap();
            for record in &records {
                let mut scope = Scope::new();
                scope.bind_json("message", record);
                let interpreted = match expression.program.execute(&scope.0) {
                    Ok(cel::Value::Bool(b)) => Some(b),
                    _ => None,
                };
                if let Some(fast) = expression.fast.as_ref().and_then(|f| f.evaluate(&scope.0)) {
                    assert_eq!(Some(fast), interpreted, "{text} on {record}");
                }
                // And through the public door, whichever answers.
                let answered = expression.evaluate_in(&scope);
                assert_eq!(answered.as_ref().ok().copied(), interpreted, "{text} on {record}");
            }
        }
    }

    #[test]
    fn the_subset_is_what_compiles_to_a_shortcut() {
        let fast = |text: &str| Expression::compile_with(text, &["message"]).unwrap().fast.is_some();
        for text in [
            "size(message.f0) > 3",
            "message.f1 != message.f2",
            "message.f3 != \"\" && message.f4.startsWith(\"0\") || size(message.f4) > 0",
            "!(message.a.b <= 2.5) ? message.c : false",
        ] {
            assert!(fast(text), "{text}");
        }
        for text in [
            "message.a + 1 > 2",
            "message.a in ['x']",
            "has(message.a)",
            "message.a.matches('^x')",
            "message['a'] == 1",
            "message.l.all(x, x > 0)",
            "message.a == 1u",
            "message.a == null",
        ] {
            assert!(!fast(text), "{text}");
        }
    }
}
