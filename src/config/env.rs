//! `${VAR}` expansion inside the string values of a parsed configuration:
//! `${VAR}` (an error naming the variable and the JSON pointer when unset),
//! `${VAR:-default}` (the default when unset or empty) and `$$` for a literal
//! `$`; any other `$` stays as written. It runs after YAML parsing, so a `$`
//! inside a secret can never break the document's structure.

use serde_json::Value;

use super::support::pointer::escape;
use super::support::{Target, ValidationError};

/// Expands every string value in `value` in place (mapping keys are left as
/// written); returns one error per unset variable or malformed reference.
pub fn expand(value: &mut Value, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    walk(value, &mut String::new(), lookup, &mut errors);
    errors
}

fn walk(
    value: &mut Value,
    pointer: &mut String,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ValidationError>,
) {
    let len = pointer.len();
    match value {
        Value::String(s) if s.contains('$') => match expand_str(s, lookup) {
            Ok(expanded) => *s = expanded,
            Err((message, hint)) => errors.push(ValidationError {
                pointer: pointer.clone(),
                message,
                hint: Some(hint),
                keyword: "x-env",
                target: Target::Value,
            }),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                pointer.push_str(&format!("/{i}"));
                walk(item, pointer, lookup, errors);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                pointer.push('/');
                pointer.push_str(&escape(k));
                walk(item, pointer, lookup, errors);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands one string; the error is (message, hint) and never contains the
/// string itself, which may be a secret.
pub fn expand_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, (String, String)> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| {
                (
                    "unterminated ${ (no closing })".to_string(),
                    "close it as ${NAME}, or write $$ for a literal $".to_string(),
                )
            })?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if !valid_name(name) {
                return Err((
                    format!("${{{name}}} is not a valid variable reference"),
                    "use ${NAME} with letters, digits and _, or $$ for a literal $".to_string(),
                ));
            }
            match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err((
                        format!("environment variable {name} is not set"),
                        format!("export {name}, or write ${{{name}:-default}} to fall back to a default"),
                    ));
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr$t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_references_and_keeps_lone_dollars() {
        assert_eq!(expand_str("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cr$t");
        assert_eq!(expand_str("${MISSING:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(expand_str("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(expand_str("${TOKEN:-x}", &env).unwrap(), "s3cr$t");
        assert_eq!(expand_str("pa$$word", &env).unwrap(), "pa$word");
        assert_eq!(expand_str("pa$word $ 5$", &env).unwrap(), "pa$word $ 5$");
        assert_eq!(expand_str("$${TOKEN}", &env).unwrap(), "${TOKEN}");
    }

    #[test]
    fn unset_and_malformed_references_are_errors_without_the_value() {
        let (msg, hint) = expand_str("x-${MISSING}-secretstuff", &env).unwrap_err();
        assert_eq!(msg, "environment variable MISSING is not set");
        assert!(hint.contains("${MISSING:-default}"));
        assert!(!msg.contains("secretstuff") && !hint.contains("secretstuff"));
        assert!(expand_str("${TOKEN", &env).unwrap_err().0.contains("unterminated"));
        assert!(expand_str("${1X}", &env).unwrap_err().0.contains("not a valid"));
    }

    #[test]
    fn errors_name_the_json_pointer() {
        let mut v = serde_json::json!({"backends": [{"env": {"A": "${NOPE}", "B": "${TOKEN}"}}]});
        let errors = expand(&mut v, &env);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/backends/0/env/A");
        assert_eq!(v["backends"][0]["env"]["B"], "s3cr$t");
    }
}
