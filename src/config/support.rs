//! The runtime the generated configuration code calls into: the redacting
//! `Secret` type, Go-style duration text, and the error collector the
//! generated validator fills (JSON pointers, messages, hints, keywords).
//! Nothing here knows the schema; it is the vocabulary the generator speaks.

use std::fmt;

use serde_json::{Map, Value};

pub use regex_lite::Regex;

/// A configuration value that must never be printed: `Debug`, `Display` and
/// `Serialize` all show `***`. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself, for the one place that hands it to a backend.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

/// Durations written as Go writes them: `90s`, `5m`, `1h30m`, `1.5h`, `250ms`, `0`.
pub mod duration {
    use std::time::Duration;

    /// Why duration text could not be read.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[non_exhaustive]
    pub enum DurationError {
        #[error("empty duration")]
        Empty,
        #[error("unknown unit {unit:?} in duration {text:?}")]
        UnknownUnit { unit: String, text: String },
        #[error("malformed number in duration {text:?}")]
        Malformed { text: String },
        /// Larger than `std::time::Duration` holds (some 584 billion years).
        #[error("duration {text:?} is too large")]
        TooLarge { text: String },
    }

    /// Parses duration text; the schema's pattern admits exactly what this
    /// accepts, short of values too large to hold. All arithmetic is checked:
    /// no text makes this panic.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        if text == "0" {
            return Ok(Duration::ZERO);
        }
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let too_large = || DurationError::TooLarge { text: text.into() };
        let malformed = || DurationError::Malformed { text: text.into() };
        let mut rest = text;
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (num, tail) = rest.split_at(num_len);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let nanos_per: u128 = match unit {
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => {
                    return Err(DurationError::UnknownUnit {
                        unit: unit.into(),
                        text: text.into(),
                    });
                }
            };
            let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
            if whole.is_empty() || (num.contains('.') && frac.is_empty()) || frac.contains('.') {
                return Err(malformed());
            }
            // Only digits are left, so a failed parse means too many of them.
            let whole: u128 = whole.parse().map_err(|_| too_large())?;
            let mut value = whole.checked_mul(nanos_per).ok_or_else(too_large)?;
            let mut scale = nanos_per;
            for d in frac.chars() {
                scale /= 10;
                let digit = u128::from(d.to_digit(10).ok_or_else(malformed)?);
                value = value.checked_add(digit * scale).ok_or_else(too_large)?;
            }
            total = total.checked_add(value).ok_or_else(too_large)?;
            rest = tail;
        }
        let secs = u64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
        Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
    }

    /// Formats as the shortest `1h30m`/`90s`/`250ms` text that parses back to `d`.
    pub fn format(d: Duration) -> String {
        if d.is_zero() {
            return "0".into();
        }
        if d.subsec_nanos() != 0 {
            return if d.subsec_nanos().is_multiple_of(1_000_000) {
                format!("{}ms", d.as_millis())
            } else {
                format!("{}ns", d.as_nanos())
            };
        }
        let s = d.as_secs();
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if sec > 0 {
            out.push_str(&format!("{sec}s"));
        }
        out
    }

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Duration>` fields.
    pub mod option {
        use std::time::Duration;

        pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            let text = <Option<String> as serde::Deserialize>::deserialize(d)?;
            text.map(|t| super::parse(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// Which part of the YAML an error is about, for its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value at the pointer.
    Value,
    /// The key of the entry at the pointer (an unknown or misnamed key).
    Key,
    /// The object containing the pointer (a missing key).
    Parent,
}

/// One violation of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON pointer (RFC 6901) of the offending value.
    pub pointer: String,
    pub message: String,
    /// How to fix it, where the schema or the context knows.
    pub hint: Option<String>,
    /// The schema keyword that failed (`x-` ones are mcpmux extensions).
    pub keyword: &'static str,
    pub target: Target,
}

impl ValidationError {
    /// Serde disagreed with a value the validator accepted: a generator bug.
    pub fn internal(e: serde_json::Error) -> ValidationError {
        ValidationError {
            pointer: String::new(),
            message: format!(
                "internal error: the validated configuration did not deserialize ({e}); please report this"
            ),
            hint: None,
            keyword: "internal",
            target: Target::Value,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Where the validator is in the document.
#[derive(Debug, Clone, Default)]
pub struct Path(Vec<Segment>);

impl Path {
    pub fn key(&mut self, k: &str) {
        self.0.push(Segment::Key(k.to_string()));
    }

    pub fn index(&mut self, i: usize) {
        self.0.push(Segment::Index(i));
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// The JSON pointer of this place.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    fn child(&self, k: &str) -> String {
        let mut p = self.clone();
        p.key(k);
        p.pointer()
    }
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
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

    pub fn integer(&mut self, v: &Value, p: &Path) -> Option<i128> {
        let n = v.as_i64().map(i128::from).or_else(|| v.as_u64().map(i128::from));
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

    /// Checks an absolute URI; returns whether it is one.
    pub fn uri(&mut self, s: &str, p: &Path, message: &str, show: bool) -> bool {
        let ok = url::Url::parse(s).is_ok();
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
    use super::duration::{format, parse};
    use std::time::Duration;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2us"), Ok(Duration::from_micros(2)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert!(parse("5").is_err());
        assert!(parse("5d").is_err());
        assert!(parse("").is_err());
        assert!(parse("1.h").is_err());
    }

    #[test]
    fn durations_too_large_are_errors_not_panics() {
        use super::duration::DurationError;
        let too_large = |t: &str| Err(DurationError::TooLarge { text: t.into() });
        // 4e15 hours still fits a Duration (it is what overflowed `* 2` downstream).
        assert_eq!(
            parse("4000000000000000h"),
            Ok(Duration::from_secs(4_000_000_000_000_000 * 3600))
        );
        for t in [
            "5200000000000000h".to_string(),
            "99999999999999999999999999999999999999999h".to_string(),
            format!("{}h", u128::MAX / 3_600_000_000_000),
            format!("{}.9h", u128::MAX / 3_600_000_000_000),
            format!("{}ns{}ns", u128::MAX, u128::MAX),
            format!("{}s1s", u64::MAX),
        ] {
            assert_eq!(parse(&t), too_large(&t), "{t}");
        }
        assert_eq!(parse(&format!("{}s", u64::MAX)), Ok(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn durations_beyond_the_maximum_are_located_errors() {
        use super::{Errors, Path};
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

    #[test]
    fn durations_format_round_trip() {
        for text in ["15m", "2m", "1h30m", "90s", "250ms", "0", "1h0m1s"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)), Ok(d), "{text}");
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(900)), "15m");
    }
}
