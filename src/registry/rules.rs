//! Rule sets as Confluent validates them (its `RuleSet.validate` and `Rule.validate`), with
//! its message texts: a registration or a config whose rule set breaks one of these rules is
//! refused with 42210. Domain rules in CEL are also compiled here (a bad expression is refused
//! with the CEL error and its line and column); the contract gate runs those the server
//! enforces, clients run the rest.

use std::collections::HashSet;

use serde_json::Value;

use super::RegistryError;

/// The longest rule name Confluent accepts.
const NAME_MAX_LENGTH: usize = 256;

/// Modes each kind of list may use; a rule without a mode is WRITEREAD.
const MIGRATION_MODES: [&str; 3] = ["UPGRADE", "DOWNGRADE", "UPDOWN"];
const DOMAIN_MODES: [&str; 3] = ["WRITE", "READ", "WRITEREAD"];

/// Checks a rule set (`{"migrationRules": [...], "domainRules": [...], ...}`) as Confluent
/// does: names unique across the set and well formed, a type on every rule, modes that suit
/// the list, several actions only for two-way modes.
pub fn validate_rule_set(rule_set: &Value) -> Result<(), RegistryError> {
    let invalid = |message: String| Err(RegistryError::InvalidRuleSet(message));
    let Some(lists) = rule_set.as_object() else {
        return invalid("Invalid ruleSet: \"ruleSet\" must be an object".to_string());
    };
    let mut names: HashSet<&str> = HashSet::new();
    for (kind, rules) in lists {
        if rules.is_null() || kind == "enableAt" {
            continue;
        }
        let Some(rules) = rules.as_array() else {
            return invalid(format!("Invalid ruleSet: \"{kind}\" must be an array of rules"));
        };
        let allowed_modes: Option<&[&str]> = match kind.as_str() {
            "migrationRules" => Some(&MIGRATION_MODES),
            "domainRules" => Some(&DOMAIN_MODES),
            _ => None,
        };
        for (index, rule) in rules.iter().enumerate() {
            let at = format!("rule {index} of \"{kind}\"");
            let name = rule.get("name").and_then(Value::as_str);
            if let Some(name) = name {
                if !names.insert(name) {
                    return invalid(format!("Found rule with duplicate name '{name}'"));
                }
            }
            check_name(name).map_err(|problem| RegistryError::InvalidRuleSet(format!("{problem} ({at})")))?;
            if rule.get("type").is_none_or(Value::is_null) {
                return invalid(format!("Missing rule type ({at})"));
            }
            let mode = rule.get("mode").and_then(Value::as_str).unwrap_or("WRITEREAD");
            let two_way = matches!(mode, "WRITEREAD" | "UPDOWN");
            for action in ["onSuccess", "onFailure"] {
                let several = rule
                    .get(action)
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.contains(','));
                if several && !two_way {
                    return invalid(format!("Multiple actions only valid with WRITEREAD and UPDOWN ({at})"));
                }
            }
            if let Some(allowed) = allowed_modes {
                if !allowed.contains(&mode) {
                    let list = if kind == "migrationRules" {
                        "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN"
                    } else {
                        "Domain rules can only be WRITE, READ, WRITEREAD"
                    };
                    return invalid(format!("{list} ({at} is {mode})"));
                }
            }
        }
    }
    // CEL expressions are compiled now, so a bad one is refused with where it fails rather
    // than found by the first record (the server runs them: see `validate::rules`).
    crate::validate::rules::compile(rule_set)
        .map_err(|error| RegistryError::InvalidRuleSet(format!("Invalid ruleSet: {error}")))?;
    Ok(())
}

/// Confluent's rule-name rule: a letter or `_`, then letters, digits, `_` or `-`.
fn check_name(name: Option<&str>) -> Result<(), String> {
    let Some(name) = name else {
        return Err("Missing rule name".to_string());
    };
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("Empty rule name".to_string());
    };
    if name.chars().count() > NAME_MAX_LENGTH {
        return Err("Rule name too long".to_string());
    }
    if !(first.is_alphabetic() || first == '_') {
        return Err(format!("Illegal initial character in rule name: {name}"));
    }
    if !chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("Illegal character in rule name: {name}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(rule_set: Value) -> String {
        match validate_rule_set(&rule_set) {
            Err(RegistryError::InvalidRuleSet(message)) => message,
            other => panic!("{rule_set}: {other:?}"),
        }
    }

    #[test]
    fn rule_sets_are_checked_with_confluents_texts() {
        let good = json!({"domainRules": [{"name": "checkAmount", "type": "CEL", "mode": "WRITE", "onFailure": "DLQ"}],
                          "migrationRules": [{"name": "up_1", "type": "JSONATA", "mode": "UPGRADE"}]});
        assert!(validate_rule_set(&good).is_ok());
        assert!(validate_rule_set(&json!({"domainRules": [{"name": "r", "type": "CEL"}]})).is_ok());
        assert!(validate_rule_set(&json!({"domainRules": null})).is_ok());
        for (rule_set, start) in [
            (json!({"domainRules": [{"type": "CEL"}]}), "Missing rule name"),
            (json!({"domainRules": [{"name": "", "type": "CEL"}]}), "Empty rule name"),
            (
                json!({"domainRules": [{"name": "9lives", "type": "CEL"}]}),
                "Illegal initial character in rule name: 9lives",
            ),
            (
                json!({"domainRules": [{"name": "a b", "type": "CEL"}]}),
                "Illegal character in rule name: a b",
            ),
            (
                json!({"domainRules": [{"name": "x".repeat(257), "type": "CEL"}]}),
                "Rule name too long",
            ),
            (json!({"domainRules": [{"name": "r"}]}), "Missing rule type"),
            (
                json!({"domainRules": [{"name": "r", "type": "CEL"}], "migrationRules": [{"name": "r", "type": "CEL", "mode": "UPGRADE"}]}),
                "Found rule with duplicate name 'r'",
            ),
            (
                json!({"migrationRules": [{"name": "r", "type": "CEL"}]}),
                "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN",
            ),
            (
                json!({"domainRules": [{"name": "r", "type": "CEL", "mode": "UPGRADE"}]}),
                "Domain rules can only be WRITE, READ, WRITEREAD",
            ),
            (
                json!({"domainRules": [{"name": "r", "type": "CEL", "mode": "WRITE", "onFailure": "DLQ,ERROR"}]}),
                "Multiple actions only valid with WRITEREAD and UPDOWN",
            ),
            (json!([]), "Invalid ruleSet"),
        ] {
            let found = message(rule_set.clone());
            assert!(found.starts_with(start), "{rule_set}: {found}");
        }
    }
}
