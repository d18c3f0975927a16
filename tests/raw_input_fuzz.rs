//! Raw input for the configuration loader and the `${VAR}` expander, as a
//! property test: arbitrary bytes, YAML-ish token soup and byte-level
//! mutations of the corpus's valid files go through every text stage of the
//! loader (parse, `--no-env` check, secret scan, redaction, resolving what
//! loads) without a panic and with every diagnostic placed in the text; the
//! expander is checked against a model of its grammar on strings built from
//! its pieces, and on arbitrary strings and JSON values for no panic and
//! errors that point at the strings that caused them. `PROPTEST_CASES` sets
//! the number of cases per test (default 300); `scripts/fuzz` raises it.

use mcpmux::config::{self, Diagnostic};
use mcpmux::resolve::{Mode, Resolved};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::Value;

fn test_env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("tok-s3cr$t-value".into()),
        "EMPTY" => Some(String::new()),
        "BRACE" => Some("}{".into()),
        _ => None,
    }
}

fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

fn run<S: Strategy>(default_cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(default_cases).run(&strategy, test) {
        panic!("{e}");
    }
}

/// Every text stage of the loader on `text`; each diagnostic must name a
/// place inside the text (a line that exists, or the line after the last;
/// YAML ends a line at `\n`, `\r\n` or a lone `\r`).
fn load_everything(text: &str) -> Result<(), TestCaseError> {
    let lines = text.replace("\r\n", "\n").replace('\r', "\n").split('\n').count();
    let placed = |diags: &[Diagnostic]| -> Result<(), TestCaseError> {
        for d in diags {
            prop_assert!(
                d.line >= 1 && d.line <= lines + 1 && d.column >= 1,
                "diagnostic outside the text ({lines} lines): {d}"
            );
            let _ = d.to_string();
        }
        Ok(())
    };
    match config::parse(text, "fuzz.yaml", &test_env) {
        Ok(cfg) => {
            for mode in [Mode::Serve, Mode::List] {
                let r = Resolved::new(&cfg, mode);
                let _ = r.list_wait();
                r.backends.iter().for_each(|b| drop(b.target()));
            }
        }
        Err(diags) => {
            prop_assert!(!diags.is_empty(), "refused without a diagnostic");
            placed(&diags)?;
        }
    }
    if let Err(diags) = config::check_no_env(text, "fuzz.yaml") {
        placed(&diags)?;
    }
    match config::literal_secrets(text, "fuzz.yaml") {
        Ok(diags) | Err(diags) => placed(&diags)?,
    }
    let _ = config::written_redacted(text, "fuzz.yaml");
    Ok(())
}

#[test]
fn arbitrary_bytes_never_crash_the_loader() {
    run(300, proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
        load_everything(&String::from_utf8_lossy(&bytes))
    });
}

/// Pieces of YAML syntax and of mcpmux configurations, so that random
/// sequences of them reach past the YAML parser into validation.
const TOKENS: &[&str] = &[
    "backends:",
    "listen:",
    "connect_retry:",
    "token_store:",
    "eager_auth:",
    "\n",
    "\n  ",
    "\n    ",
    "- ",
    "  ",
    ": ",
    ":",
    ",",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!int ",
    "!tag ",
    "---\n",
    "...\n",
    "? ",
    "| ",
    "> ",
    "\t",
    "%YAML 1.2\n",
    "~",
    "null",
    "true",
    "1e999",
    "0x10",
    "-.inf",
    ".nan",
    "0o7",
    "\u{feff}",
    "\0",
    "\\u0000",
    "name: a",
    "name: b",
    "transport: command",
    "transport: http",
    "command: [true]",
    "endpoint: http://127.0.0.1:1/mcp",
    "endpoint: 'http://[::1",
    "prefix: ''",
    "timeout: 168h",
    "timeout: 169h",
    "timeout: 99999999999999999999h",
    "attempt_timeout: 0",
    "max_delay: 1.5h",
    "page_size: 0",
    "page_size: 100000",
    "page_size: 1e3",
    "max_body_bytes: 1024.0",
    "auth: {type: oauth}",
    "auth: {type: command, command: [true]}",
    "auth: {type: bearer, tokens: ['${TOKEN}']}",
    "address: unix:/x",
    "address: :65535",
    "${TOKEN}",
    "${MISSING}",
    "${MISSING:-x}",
    "${",
    "$$",
    "$",
    "${1}",
    "${BRACE}",
    "é",
    "😀",
    "\r\n",
    "\r",
];

#[test]
fn yaml_token_soup_never_crashes_the_loader() {
    run(
        300,
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..60),
        |tokens| load_everything(&tokens.concat()),
    );
}

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    for sub in ["valid", "invalid"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    assert!(out.len() >= 5, "the corpus is missing");
    out
}

/// One byte-level edit: at a fraction of the length, delete a span, insert
/// bytes or a token, or duplicate a span.
#[derive(Debug, Clone)]
enum Edit {
    Delete(f64, usize),
    Insert(f64, Vec<u8>),
    Token(f64, &'static str),
    Duplicate(f64, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, 1usize..8).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0, proptest::collection::vec(any::<u8>(), 1..4)).prop_map(|(at, b)| Edit::Insert(at, b)),
        (0.0..1.0, proptest::sample::select(TOKENS)).prop_map(|(at, t)| Edit::Token(at, t)),
        (0.0..1.0, 1usize..40).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    for e in edits {
        let len = bytes.len();
        match e {
            Edit::Delete(f, n) => {
                let i = at(*f, len);
                bytes.drain(i..(i + n).min(len));
            }
            Edit::Insert(f, b) => {
                let i = at(*f, len);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Token(f, t) => {
                let i = at(*f, len);
                bytes.splice(i..i, t.bytes());
            }
            Edit::Duplicate(f, n) => {
                let i = at(*f, len);
                let span: Vec<u8> = bytes[i..(i + n).min(len)].to_vec();
                bytes.splice(i..i, span);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_corpus_files_never_crash_the_loader() {
    let corpus = corpus();
    let n = corpus.len();
    run(300, (0..n, proptest::collection::vec(edit(), 1..6)), |(i, edits)| {
        load_everything(&apply(&corpus[i], &edits))
    });
}

// ------------------------------------------------------------ the expander

/// Expands one string through the public expander, as (message, hint) on error.
fn expand_one(s: &str) -> Result<String, (String, String)> {
    let mut v = Value::String(s.to_string());
    let errors = config::expand_env(&mut v, &test_env);
    match errors.into_iter().next() {
        None => Ok(v.as_str().unwrap().to_string()),
        Some(e) => {
            assert_eq!(e.pointer, "");
            Err((e.message, e.hint.unwrap_or_default()))
        }
    }
}

/// A piece of a string with `$` in it, and what it should expand to.
#[derive(Debug, Clone)]
enum Piece {
    /// Text without `$`.
    Literal(String),
    /// `$$`: a literal `$`.
    Escaped,
    /// A `$` not followed by `$` or `{` (the next piece starts with neither).
    Lone,
    /// `${NAME}`.
    Ref(&'static str),
    /// `${NAME:-default}` (the default without `}`).
    RefDefault(&'static str, String),
}

const NAMES: &[&str] = &["TOKEN", "EMPTY", "BRACE", "MISSING", "_x1", "A"];

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => "[^$]{1,8}".prop_map(Piece::Literal),
        1 => Just(Piece::Escaped),
        1 => Just(Piece::Lone),
        2 => proptest::sample::select(NAMES).prop_map(Piece::Ref),
        2 => (proptest::sample::select(NAMES), "[^}]{0,8}").prop_map(|(n, d)| Piece::RefDefault(n, d)),
    ]
}

/// The written string and the model's expansion (`None`: an unset variable
/// without a default, which must be an error).
fn model(pieces: &[Piece]) -> (String, Option<String>) {
    let mut written = String::new();
    let mut expanded = Some(String::new());
    for (i, p) in pieces.iter().enumerate() {
        let (w, e) = match p {
            Piece::Literal(s) => (s.clone(), Some(s.clone())),
            Piece::Escaped => ("$$".into(), Some("$".into())),
            Piece::Lone => {
                // Only lone when what follows cannot continue it.
                let next = pieces.get(i + 1);
                let ok = matches!(next, None | Some(Piece::Literal(_)))
                    && !matches!(next, Some(Piece::Literal(s)) if s.starts_with(['$', '{']));
                if !ok {
                    continue;
                }
                ("$".into(), Some("$".into()))
            }
            Piece::Ref(n) => (format!("${{{n}}}"), test_env(n)),
            Piece::RefDefault(n, d) => (
                format!("${{{n}:-{d}}}"),
                Some(test_env(n).filter(|v| !v.is_empty()).unwrap_or_else(|| d.clone())),
            ),
        };
        written.push_str(&w);
        expanded = expanded.zip(e).map(|(a, b)| a + &b);
    }
    (written, expanded)
}

#[test]
fn the_expander_follows_its_grammar() {
    run(1000, proptest::collection::vec(piece(), 0..8), |pieces| {
        let (written, expected) = model(&pieces);
        let got = expand_one(&written);
        match expected {
            Some(e) => prop_assert_eq!(got, Ok(e), "{:?}", written),
            None => {
                let (message, hint) = got.expect_err("an unset variable without a default");
                prop_assert!(message.contains("is not set"), "{}", message);
                prop_assert!(!message.contains("tok-s3cr") && !hint.contains("tok-s3cr"));
            }
        }
        Ok(())
    });
}

#[test]
fn the_expander_survives_any_string() {
    let alphabet = prop_oneof![
        4 => proptest::sample::select(vec!["$", "{", "}", ":-", ":", "-", "$$", "${"]).prop_map(String::from),
        2 => proptest::sample::select(NAMES).prop_map(String::from),
        2 => "\\PC{0,3}",
        1 => any::<String>(),
    ];
    run(1000, proptest::collection::vec(alphabet, 0..16), |parts| {
        let s = parts.concat();
        match expand_one(&s) {
            Ok(out) => {
                if !s.contains('$') {
                    prop_assert_eq!(&out, &s);
                }
            }
            Err((message, hint)) => {
                prop_assert!(!message.is_empty() && !hint.is_empty());
                prop_assert!(!message.contains("tok-s3cr") && !hint.contains("tok-s3cr"));
            }
        }
        Ok(())
    });
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "(\\$|\\{|\\}|[a-zA-Z_]|:-|é){0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            proptest::collection::vec(("(\\$|/|~|[a-z]){0,4}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn expansion_errors_point_at_the_strings_that_caused_them() {
    run(500, json_value(), |original| {
        let mut v = original.clone();
        let errors = config::expand_env(&mut v, &test_env);
        for e in &errors {
            prop_assert_eq!(e.keyword, "x-env");
            let at = original.pointer(&e.pointer);
            prop_assert!(
                at.and_then(Value::as_str).is_some_and(|s| s.contains('$')),
                "{} points at {:?}",
                e.pointer,
                at
            );
            // The string at fault stays as written.
            prop_assert_eq!(v.pointer(&e.pointer), at);
        }
        Ok(())
    });
}
