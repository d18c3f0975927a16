//! `Errors`: the collector the generated validator fills, one method per
//! schema check, each recording a located `ValidationError` with a message a
//! person can act on (and a hint where one is known).

use serde_json::{Map, Value};

use crate::duration;
use crate::error::{Target, ValidationError};
use crate::pointer::Path;
use regex_lite::Regex;

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The integer a float without a fraction stands for (`None` if it has
/// one, or is too large for an `i128`).
fn integral(f: f64) -> Option<i128> {
    (f.fract() == 0.0 && f.abs() < 1e38).then_some(f as i128)
}

/// Turns every float without a fraction that fits an `i64` or `u64` into
/// that integer, so that serde reads an integer the validator accepted
/// (JSON Schema's `integer` includes `1.0`) into an integer field.
pub fn integral_numbers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(i) = n.as_f64().and_then(integral) {
                if let Ok(i) = i64::try_from(i) {
                    *v = Value::from(i);
                } else if let Ok(u) = u64::try_from(i) {
                    *v = Value::from(u);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn quoted_list(values: &[&str]) -> String {
    values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
}

/// What the generated validator records errors into.
#[derive(Debug, Default)]
pub struct Errors(Vec<ValidationError>);

impl Errors {
    pub fn into_vec(self) -> Vec<ValidationError> {
        self.0
    }

    /// A position to attach hints from (see [`Errors::hint_since`]).
    pub fn mark(&self) -> usize {
        self.0.len()
    }

    /// Gives every error recorded since `mark` that has no hint this one.
    pub fn hint_since(&mut self, mark: usize, hint: &str) {
        for e in &mut self.0[mark..] {
            e.hint.get_or_insert_with(|| hint.to_string());
        }
    }

    fn push(&mut self, pointer: String, keyword: &'static str, target: Target, message: String, hint: Option<String>) {
        self.0.push(ValidationError {
            pointer,
            message,
            hint,
            keyword,
            target,
        });
    }

    fn wrong_type(&mut self, v: &Value, p: &Path, expected: &str) {
        self.push(
            p.pointer(),
            "type",
            Target::Value,
            format!("expected {expected}, found {}", type_name(v)),
            None,
        );
    }

    pub fn object<'v>(&mut self, v: &'v Value, p: &Path) -> Option<&'v Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.wrong_type(v, p, "a mapping");
        }
        o
    }

    pub fn array<'v>(&mut self, v: &'v Value, p: &Path) -> Option<&'v Vec<Value>> {
        let a = v.as_array();
        if a.is_none() {
            self.wrong_type(v, p, "a list");
        }
        a
    }

    pub fn string<'v>(&mut self, v: &'v Value, p: &Path) -> Option<&'v str> {
        let s = v.as_str();
        if s.is_none() {
            let hint = matches!(v, Value::Number(_) | Value::Bool(_)).then(|| "put it in quotes".to_string());
            self.push(
                p.pointer(),
                "type",
                Target::Value,
                format!("expected a string, found {}", type_name(v)),
                hint,
            );
        }
        s
    }

    /// Reads an integer: as JSON Schema has it, any number without a
    /// fraction (YAML's `1.0` or `1e3` too).
    pub fn integer(&mut self, v: &Value, p: &Path) -> Option<i128> {
        let n = v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
            .or_else(|| v.as_f64().and_then(integral));
        if n.is_none() {
            self.wrong_type(v, p, "an integer");
        }
        n
    }

    pub fn boolean(&mut self, v: &Value, p: &Path) {
        if !v.is_boolean() {
            let hint = v
                .as_str()
                .filter(|s| matches!(*s, "true" | "false" | "yes" | "no" | "on" | "off"))
                .map(|_| "write true or false, without quotes".to_string());
            self.push(
                p.pointer(),
                "type",
                Target::Value,
                format!("expected true or false, found {}", type_name(v)),
                hint,
            );
        }
    }

    pub fn unknown_keys(&mut self, o: &Map<String, Value>, p: &Path, known: &[&str]) {
        for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
            let hint = match did_you_mean(k, known.iter().copied()) {
                Some(m) => format!("did you mean {m}?"),
                None if known.is_empty() => "this mapping takes no keys".to_string(),
                None => format!("known keys here: {}", known.join(", ")),
            };
            self.push(
                p.child(k),
                "additionalProperties",
                Target::Key,
                format!("unknown key {k:?}"),
                Some(hint),
            );
        }
    }

    pub fn required(&mut self, o: &Map<String, Value>, p: &Path, names: &[&str]) {
        for n in names.iter().filter(|n| !o.contains_key(**n)) {
            self.push(
                p.child(n),
                "required",
                Target::Parent,
                format!("missing required key {n:?}"),
                None,
            );
        }
    }

    pub fn exclusive(&mut self, o: &Map<String, Value>, p: &Path, group: &[&str]) {
        let set: Vec<&str> = group.iter().copied().filter(|k| o.contains_key(*k)).collect();
        if set.len() > 1 {
            self.push(
                p.child(set[1]),
                "not",
                Target::Key,
                format!("{} and {} cannot both be set", set[0], set[1]),
                Some(format!("keep only one of {}", group.join(", "))),
            );
        }
    }

    /// A tagged object without its tag; `keys` are each variant's keys, to guess the intent.
    pub fn missing_tag(&mut self, o: &Map<String, Value>, p: &Path, tag: &str, values: &[&str], keys: &[&[&str]]) {
        let score = |ks: &[&str]| o.keys().filter(|k| ks.contains(&k.as_str())).count();
        let best = keys.iter().map(|ks| score(ks)).max().unwrap_or(0);
        let likely: Vec<&str> = values
            .iter()
            .zip(keys)
            .filter(|(_, ks)| best > 0 && score(ks) == best)
            .map(|(v, _)| *v)
            .collect();
        let hint = match likely.as_slice() {
            [one] => format!("add `{tag}: {one}`"),
            _ => format!("add `{tag}:` with one of {}", quoted_list(values)),
        };
        self.push(
            p.child(tag),
            "oneOf",
            Target::Parent,
            format!("missing required key {tag:?}"),
            Some(hint),
        );
    }

    pub fn bad_tag(&mut self, t: &Value, p: &Path, values: &[&str]) {
        let (message, hint) = match t.as_str() {
            Some(s) => (
                format!("unknown value {s:?}; expected one of {}", quoted_list(values)),
                did_you_mean(s, values.iter().copied()).map(|m| format!("did you mean {m}?")),
            ),
            None => (
                format!("expected one of {}, found {}", quoted_list(values), type_name(t)),
                None,
            ),
        };
        self.push(p.pointer(), "oneOf", Target::Value, message, hint);
    }

    pub fn string_enum(&mut self, v: &Value, p: &Path, values: &[&str]) {
        match v.as_str() {
            Some(s) if values.contains(&s) => {}
            Some(s) => {
                let hint = did_you_mean(s, values.iter().copied()).map(|m| format!("did you mean {m}?"));
                self.push(
                    p.pointer(),
                    "enum",
                    Target::Value,
                    format!("unknown value {s:?}; expected one of {}", quoted_list(values)),
                    hint,
                );
            }
            None => self.wrong_type(v, p, &format!("one of {}", quoted_list(values))),
        }
    }

    pub fn constant(&mut self, v: &Value, p: &Path, c: &str) {
        if v.as_str() != Some(c) {
            self.push(p.pointer(), "const", Target::Value, format!("must be {c:?}"), None);
        }
    }

    pub fn min_length(&mut self, s: &str, p: &Path, n: u64) {
        if (s.chars().count() as u64) < n {
            let message = if n == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {n} characters long")
            };
            self.push(p.pointer(), "minLength", Target::Value, message, None);
        }
    }

    pub fn max_length(&mut self, s: &str, p: &Path, n: u64) {
        if s.chars().count() as u64 > n {
            self.push(
                p.pointer(),
                "maxLength",
                Target::Value,
                format!("must be at most {n} characters long"),
                None,
            );
        }
    }

    fn shown(s: &str, show: bool, message: &str) -> String {
        if show {
            format!("{s:?} {message}")
        } else {
            format!("the value {message}")
        }
    }

    /// Checks `s` against `re`; returns whether it matches.
    pub fn pattern(&mut self, s: &str, p: &Path, re: &Regex, message: &str, show: bool) -> bool {
        let ok = re.is_match(s);
        if !ok {
            self.push(
                p.pointer(),
                "pattern",
                Target::Value,
                Self::shown(s, show, message),
                None,
            );
        }
        ok
    }

    /// Reads duration text (already of the right shape): it must fit, and
    /// stay within `max` (the bound and its text as the schema writes it, the
    /// `x-max-duration` annotation), so no timer or deadline computed from a
    /// valid configuration can overflow.
    pub fn duration(&mut self, s: &str, p: &Path, max: Option<(std::time::Duration, &str)>) {
        let over = |max: &str| {
            (
                "x-max-duration",
                format!("{s:?} is longer than the maximum, {max}"),
                Some(format!("use {max} or less")),
            )
        };
        let (keyword, message, hint) = match (duration::parse(s), max) {
            (Ok(d), Some((limit, text))) if d > limit => over(text),
            (Ok(_), _) => return,
            (Err(duration::DurationError::TooLarge { .. }), Some((_, text))) => over(text),
            (Err(e), _) => ("x-type", e.to_string(), None),
        };
        self.push(p.pointer(), keyword, Target::Value, message, hint);
    }

    /// Checks an absolute URI; returns whether it is one: a URI by RFC 3986
    /// (what `format: uri` means, so that mcpmux refuses nothing less than
    /// an editor checking the schema does) that the HTTP client's URL parser
    /// (WHATWG rules) also reads, which refuses a few more, such as ports
    /// past 65535.
    pub fn uri(&mut self, s: &str, p: &Path, message: &str, show: bool) -> bool {
        let ok = fluent_uri::Uri::parse(s).is_ok() && url::Url::parse(s).is_ok();
        if !ok {
            self.push(
                p.pointer(),
                "format",
                Target::Value,
                Self::shown(s, show, message),
                None,
            );
        }
        ok
    }

    pub fn key_pattern(&mut self, k: &str, p: &Path, re: &Regex, message: &str, hint: Option<&str>) {
        if !re.is_match(k) {
            self.push(
                p.child(k),
                "propertyNames",
                Target::Key,
                format!("{k:?} {message}"),
                hint.map(str::to_string),
            );
        }
    }

    pub fn minimum(&mut self, n: i128, p: &Path, min: i64) {
        if n < i128::from(min) {
            self.push(
                p.pointer(),
                "minimum",
                Target::Value,
                format!("must be at least {min}"),
                None,
            );
        }
    }

    pub fn maximum(&mut self, n: i128, p: &Path, max: i64) {
        if n > i128::from(max) {
            self.push(
                p.pointer(),
                "maximum",
                Target::Value,
                format!("must be at most {max}"),
                None,
            );
        }
    }

    pub fn min_items(&mut self, a: &[Value], p: &Path, n: u64) {
        if (a.len() as u64) < n {
            let message = if n == 1 {
                "must not be empty".to_string()
            } else {
                format!("needs at least {n} entries")
            };
            self.push(p.pointer(), "minItems", Target::Value, message, None);
        }
    }

    pub fn max_items(&mut self, a: &[Value], p: &Path, n: u64) {
        if a.len() as u64 > n {
            self.push(
                p.pointer(),
                "maxItems",
                Target::Value,
                format!("takes at most {n} entries"),
                None,
            );
        }
    }

    /// No two entries of `a` may have the same string at `key`.
    pub fn unique_by(&mut self, a: &[Value], p: &Path, key: &str) {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (i, item) in a.iter().enumerate() {
            let Some(v) = item.get(key).and_then(Value::as_str) else {
                continue;
            };
            match seen.iter().find(|(s, _)| *s == v) {
                Some((_, first)) => {
                    let mut at = p.clone();
                    at.index(i);
                    self.push(
                        at.child(key),
                        "x-unique-by",
                        Target::Value,
                        format!("duplicate {key} {v:?}; it is already used at {}/{first}", p.pointer()),
                        Some(format!("give every entry its own {key}")),
                    );
                }
                None => seen.push((v, i)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Errors;
    use crate::pointer::Path;
    use std::time::Duration;

    #[test]
    fn durations_beyond_the_maximum_are_located_errors() {
        let max = Some((Duration::from_secs(168 * 3600), "168h"));
        let mut p = Path::default();
        p.key("timeout");
        let mut e = Errors::default();
        for ok in ["168h", "167h59m59.999999999s", "0", "1ms"] {
            e.duration(ok, &p, max);
        }
        assert!(e.mark() == 0, "{:?}", e.into_vec());
        let mut e = Errors::default();
        e.duration("168h1ns", &p, max);
        e.duration("4000000000000000h", &p, max);
        e.duration("99999999999999999999999999999999999999999h", &p, max);
        e.duration("99999999999999999999999999999999999999999h", &p, None);
        let shown: Vec<String> = e.into_vec().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/timeout: \"168h1ns\" is longer than the maximum, 168h (hint: use 168h or less)",
                "/timeout: \"4000000000000000h\" is longer than the maximum, 168h (hint: use 168h or less)",
                "/timeout: \"99999999999999999999999999999999999999999h\" is longer than the maximum, 168h (hint: use 168h or less)",
                "/timeout: duration \"99999999999999999999999999999999999999999h\" is too large",
            ]
        );
    }
}
