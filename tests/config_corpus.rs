//! The configuration corpus under `tests/corpus/`: every valid file loads,
//! every invalid file reports exactly the diagnostics its `# expect:` lines
//! name (line, column, JSON pointer, message), no diagnostic shows a secret,
//! and the generated validator reaches the same verdict as an independent
//! JSON Schema validator (the `jsonschema` crate) on every corpus file and on
//! thousands of mutations of the valid ones. The README's and `examples/`'s
//! configurations are part of the corpus.

mod support;

use std::path::{Path, PathBuf};

use mcpmux::config::support::pointer::escape;
use mcpmux::config::{self, Config, Diagnostic};
use serde_json::{Value, json};
use support::independent_validator;

const SECRETS: &[&str] = &["tok-123-secret", "key-456-secret"];

/// The environment `${VAR}` sees in these tests.
fn test_env(name: &str) -> Option<String> {
    Some(
        match name {
            "TEST_TOKEN" => SECRETS[0],
            "TEST_API_KEY" => SECRETS[1],
            "TEST_CLIENT_ID" => "client-1",
            "TEST_EMPTY" => "",
            "HOME" => "/home/tester",
            // Referenced by the README's example.
            "GITHUB_TOKEN" | "SERVICE_A_TOKEN" | "SERVICE_E_CLIENT_SECRET" => "readme-example-token",
            _ => return None,
        }
        .to_string(),
    )
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    files
}

/// The first ```yaml block of the README.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```yaml\n").expect("README.md has a ```yaml block") + "```yaml\n".len();
    let len = readme[start..].find("```").expect("closed block");
    readme[start..start + len].to_string()
}

/// Every configuration that must be valid: the corpus, the README's and the examples.
fn valid_sources() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = yaml_files(&root().join("tests/corpus/valid"))
        .into_iter()
        .chain(yaml_files(&root().join("examples")))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.push(("README.md".into(), readme_example()));
    out
}

#[test]
fn valid_configurations_load() {
    for (name, text) in valid_sources() {
        if let Err(diags) = config::parse(&text, &name, &test_env) {
            let lines: Vec<String> = diags.iter().map(Diagnostic::to_string).collect();
            panic!("{name} should be valid:\n{}", lines.join("\n"));
        }
    }
}

#[test]
fn loaded_values_have_their_defaults_and_expansions() {
    let text = std::fs::read_to_string(root().join("tests/corpus/valid/durations-and-env.yaml")).unwrap();
    let cfg = config::parse(&text, "x", &test_env).unwrap();
    assert_eq!(cfg.connect_retry.max_delay.as_secs(), 5400);
    assert_eq!(cfg.connect_retry.attempt_timeout.as_millis(), 1500);
    assert_eq!(cfg.listen.address, "127.0.0.1:8080");
    assert_eq!(cfg.listen.path, "/mcp");
    assert!(cfg.token_store.enabled);
    let config::Backend::Http(a) = &cfg.backends[0] else {
        panic!("http")
    };
    assert_eq!(a.endpoint, "https://fallback.example.com/mcp");
    let config::Auth::Command(helper) = &a.auth else {
        panic!("command auth")
    };
    assert_eq!(helper.command[2], "echo $HOME costs 5$ /home/tester");
    assert_eq!(helper.ttl.as_millis(), 250);
    let config::Backend::Command(b) = &cfg.backends[1] else {
        panic!("command")
    };
    assert_eq!(b.env["_UNDER"].expose(), "pa$word");
    assert_eq!(b.env["EMPTY_FALLBACK"].expose(), "used");
    // Secret values never print.
    assert!(!format!("{cfg:?}").contains("pa$word"));
}

#[test]
fn integers_with_a_zero_fraction_load_as_integers() {
    let text = std::fs::read_to_string(root().join("tests/corpus/valid/integral-floats.yaml")).unwrap();
    let cfg = config::parse(&text, "x", &test_env).unwrap();
    assert_eq!((cfg.listen.page_size, cfg.listen.max_body_bytes), (1, 1024));
    let config::Backend::Http(b) = &cfg.backends[0] else {
        panic!("http")
    };
    let config::Auth::Oauth(o) = &b.auth else {
        panic!("oauth")
    };
    assert_eq!(o.callback_port, 8080);
}

/// `# expect: LINE:COL /pointer: message fragment` lines at the top of a file.
fn expectations(text: &str) -> Vec<(usize, usize, String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|e| {
            let (pos, rest) = e.split_once(' ').expect("LINE:COL then the rest");
            let (line, col) = pos.split_once(':').expect("LINE:COL");
            let (pointer, message) = rest.split_once(": ").expect("/pointer: message");
            (
                line.parse().unwrap(),
                col.parse().unwrap(),
                pointer.to_string(),
                message.to_string(),
            )
        })
        .collect()
}

#[test]
fn invalid_configurations_report_every_error_in_place() {
    for path in yaml_files(&root().join("tests/corpus/invalid")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let expected = expectations(&text);
        assert!(!expected.is_empty(), "{name} has no # expect: lines");
        let diags = config::parse(&text, &name, &test_env).expect_err(&name);
        let shown: Vec<String> = diags.iter().map(Diagnostic::to_string).collect();
        assert_eq!(diags.len(), expected.len(), "{name}: got\n{}", shown.join("\n"));
        for (d, (line, col, pointer, message)) in diags.iter().zip(&expected) {
            assert!(
                d.line == *line && d.column == *col && d.pointer == *pointer && d.message.contains(message.as_str()),
                "{name}: expected {line}:{col} {pointer}: {message}\n got: {d}\n all:\n{}",
                shown.join("\n")
            );
            assert_eq!(d.file, name);
            // The text form is FILE:LINE:COL: POINTER: MESSAGE.
            assert!(d.to_string().starts_with(&format!("{name}:{line}:{col}: ")));
        }
    }
}

#[test]
fn diagnostics_never_show_a_secret() {
    for path in yaml_files(&root().join("tests/corpus/invalid")) {
        let text = std::fs::read_to_string(&path).unwrap();
        for d in config::parse(&text, "f", &test_env).unwrap_err() {
            let line = d.to_string();
            for s in SECRETS {
                assert!(!line.contains(s), "{} shows a secret: {line}", path.display());
            }
        }
    }
    // A secret that breaks the schema is still not shown: the header value here is a list.
    let text = "backends:\n- name: a\n  transport: http\n  endpoint: https://a.example.com\n  auth: {type: header, header: X, value: [\"${TEST_API_KEY}\"]}\n";
    let diags = config::parse(text, "f", &test_env).unwrap_err();
    assert_eq!(diags.len(), 1);
    assert!(!diags[0].to_string().contains(SECRETS[1]));
}

/// The generated validator's verdict on the standard keywords (mcpmux's `x-`
/// extensions, such as unique backend names, are not JSON Schema's to judge).
fn generated_verdict(value: &Value) -> bool {
    Config::validate(value).iter().all(|e| e.keyword.starts_with("x-"))
}

fn expanded(text: &str) -> Option<Value> {
    let mut v = config::load::parse_yaml(text, "f").ok()?;
    mcpmux::config::expand_env(&mut v, &test_env);
    Some(v)
}

#[test]
fn differential_against_jsonschema_on_the_corpus() {
    let independent = independent_validator();
    let mut compared = 0;
    let invalid = yaml_files(&root().join("tests/corpus/invalid"));
    for path in invalid.iter() {
        let Some(value) = expanded(&std::fs::read_to_string(path).unwrap()) else {
            continue;
        };
        assert_eq!(
            generated_verdict(&value),
            independent.is_valid(&value),
            "{}",
            path.display()
        );
        compared += 1;
    }
    for (name, text) in valid_sources() {
        let value = expanded(&text).unwrap();
        assert!(
            independent.is_valid(&value),
            "{name} is valid for mcpmux but not for jsonschema"
        );
        compared += 1;
    }
    assert!(compared >= 10);
}

/// Every way of breaking one spot of a document: each value replaced by each
/// kind of value, each key removed, an unknown key added, each list emptied.
fn mutations(value: &Value) -> Vec<Value> {
    let replacements = [
        json!(null),
        json!(true),
        json!(7),
        json!(70000),
        json!("x"),
        json!("/x"),
        json!([]),
        json!({}),
    ];
    let mut out = Vec::new();
    let mut pointers = Vec::new();
    collect_pointers(value, String::new(), &mut pointers);
    for p in &pointers {
        for r in &replacements {
            let mut m = value.clone();
            *m.pointer_mut(p).unwrap() = r.clone();
            out.push(m);
        }
        let (parent, last) = p.rsplit_once('/').unwrap();
        let mut m = value.clone();
        match m.pointer_mut(parent).unwrap() {
            Value::Object(o) => {
                o.remove(last);
            }
            Value::Array(a) => {
                a.remove(last.parse::<usize>().unwrap());
            }
            _ => unreachable!(),
        }
        out.push(m);
        if let Some(Value::Object(o)) = value.pointer(p).cloned().as_mut() {
            o.insert("unknown_key".into(), json!(1));
            let mut m = value.clone();
            *m.pointer_mut(p).unwrap() = Value::Object(o.clone());
            out.push(m);
        }
    }
    out
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            let p = format!("{at}/{}", escape(k));
            out.push(p.clone());
            collect_pointers(x, p, out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
            let p = format!("{at}/{i}");
            out.push(p.clone());
            collect_pointers(x, p, out);
        }),
        _ => {}
    }
}

#[test]
fn differential_against_jsonschema_on_mutations() {
    let independent = independent_validator();
    let (mut total, mut rejected) = (0, 0);
    for (name, text) in valid_sources() {
        let value = expanded(&text).unwrap();
        for m in mutations(&value) {
            let ours = generated_verdict(&m);
            assert_eq!(ours, independent.is_valid(&m), "{name}: verdicts differ on {m}");
            total += 1;
            rejected += usize::from(!ours);
        }
    }
    // The mutations must exercise both verdicts, plenty of each.
    assert!(
        total > 1000 && rejected > 500 && total - rejected > 100,
        "{total} mutations, {rejected} rejected"
    );
}
