//! Loading a configuration file: find it (`--config`, `./mcpmux.yaml`, then
//! the XDG config directory), parse the YAML with yaml_serde, expand
//! `${VAR}` references (the process environment, else the `env` file beside
//! the configuration), validate against the schema-generated validator and
//! build the generated `Config`. Every problem comes back as a [`Diagnostic`]
//! naming file, line, column and JSON pointer, never a secret value.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::env;
use super::locate::Locator;
use super::support::ValidationError;
use super::support::pointer::escape;
use super::types::Config;

/// One problem in a configuration file, with its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// JSON pointer of the offending value (empty for the whole document).
    pub pointer: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The schema keyword that failed (`yaml` for syntax, `x-env` for `${VAR}`).
    pub keyword: &'static str,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // Not from a file: a command-line argument.
            write!(f, "{}: ", self.file)?;
        } else {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        if self.keyword != "yaml" {
            let at = if self.pointer.is_empty() {
                "(root)"
            } else {
                &self.pointer
            };
            write!(f, "{at}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Why no configuration came out of a file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no configuration file found (looked in {}); pass --config FILE, or start from the README's example",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotFound { looked: Vec<PathBuf> },
    #[error("cannot read {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration:\n{}", diagnostics.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Invalid { diagnostics: Vec<Diagnostic> },
    #[error("cannot read the environment file {}: {message}", path.display())]
    EnvFile { path: PathBuf, message: String },
}

/// Where a configuration is looked for when `--config` is not given, in order.
pub fn search_paths(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("mcpmux.yaml")];
    let xdg = lookup("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| lookup("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = xdg {
        paths.push(dir.join("mcpmux").join("config.yaml"));
        paths.push(dir.join("mcpmux.yaml"));
    }
    paths
}

/// The file to load: `explicit` if given, else the first search path that exists.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, LoadError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let looked = search_paths(&process_env);
    looked
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(LoadError::NotFound { looked })
}

/// The process environment, as `${VAR}` expansion sees it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The environment file beside the configuration at `config`: `env` in
/// its directory (`~/.config/mcpmux/env`, the systemd unit's
/// `EnvironmentFile`), where `mcpmux import` puts the secrets it moves.
pub fn env_file_beside(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).join("env")
}

/// The variables of the environment file beside `config` (none if there
/// is no such file), in `KEY=value` lines as systemd's `EnvironmentFile`
/// reads them.
pub fn env_file_vars(config: &Path) -> Result<HashMap<String, String>, LoadError> {
    let path = env_file_beside(config);
    if !path.is_file() {
        return Ok(HashMap::new());
    }
    let error = |e: dotenvy::Error| LoadError::EnvFile {
        path: path.clone(),
        message: env_file_error(&e),
    };
    let read: Result<HashMap<String, String>, LoadError> = dotenvy::from_path_iter(&path)
        .map_err(error)?
        .map(|item| item.map_err(error))
        .collect();
    // systemd reads some lines dotenvy does not (`K=a b`): under the unit
    // the variables are in the environment anyway, so a file mcpmux cannot
    // read is reported, not fatal; a variable it lacks is then named as unset.
    read.or_else(|e| {
        eprintln!("mcpmux: warning: {e}; its variables are not used");
        Ok(HashMap::new())
    })
}

/// What went wrong reading an environment file, without its values:
/// dotenvy's own message quotes the line, secret and all.
fn env_file_error(e: &dotenvy::Error) -> String {
    match e {
        dotenvy::Error::LineParse(line, at) => {
            let key = line.split('=').next().unwrap_or_default().trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                format!("cannot parse the line of {key} (at character {at})")
            } else {
                "cannot parse a line that is not KEY=value".to_string()
            }
        }
        e => e.to_string(),
    }
}

/// `${VAR}` as a run sees it: the process environment, else the
/// environment file beside the configuration.
fn lookup_with(file: HashMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |name| process_env(name).or_else(|| file.get(name).cloned())
}

/// Reads, expands, validates and builds the configuration at `path`.
pub fn load_file(path: &Path) -> Result<Config, LoadError> {
    let lookup = lookup_with(env_file_vars(path)?);
    parse(&read(path)?, &path.display().to_string(), &lookup).map_err(|diagnostics| LoadError::Invalid { diagnostics })
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses configuration text; `file` names it in diagnostics, `lookup` answers `${VAR}`.
pub fn parse(text: &str, file: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<Diagnostic>> {
    parse_with(text, file, lookup, &Overrides::default())
}

/// What the command line adds to a configuration file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--backend NAME=COMMAND` / `--backend NAME=URL`, as given.
    pub backends: Vec<String>,
    /// `--http ADDRESS`: serve streamable HTTP there.
    pub http: Option<String>,
}

impl Overrides {
    /// The backend entry an ad-hoc `NAME=COMMAND` or `NAME=URL` argument stands for.
    fn backend(arg: &str) -> Value {
        let (name, spec) = arg.split_once('=').unwrap_or((arg, ""));
        let lower = spec.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            serde_json::json!({ "name": name, "transport": "http", "endpoint": spec })
        } else {
            // shlex splits like a POSIX shell; unbalanced quotes leave the command empty.
            let argv = shlex::split(spec).unwrap_or_default();
            serde_json::json!({ "name": name, "transport": "command", "command": argv })
        }
    }
}

/// Like [`parse`], with the command line's additions applied before validation,
/// so ad-hoc backends obey the same schema; their errors name the argument.
pub fn parse_with(
    text: &str,
    file: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    overrides: &Overrides,
) -> Result<Config, Vec<Diagnostic>> {
    let mut value = parse_yaml(text, file)?;
    let mut errors = env::expand(&mut value, lookup);
    let from_file = value.get("backends").and_then(Value::as_array).map_or(0, Vec::len);
    if let Some(obj) = value.as_object_mut() {
        if let Some(address) = &overrides.http {
            let listen = obj.entry("listen").or_insert_with(|| serde_json::json!({}));
            if let Some(l) = listen.as_object_mut() {
                l.insert("transport".into(), "http".into());
                l.insert("address".into(), address.as_str().into());
            }
        }
        if !overrides.backends.is_empty() {
            let list = obj.entry("backends").or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = list.as_array_mut() {
                list.extend(overrides.backends.iter().map(|a| Overrides::backend(a)));
            }
        }
    }
    errors.extend(Config::validate(&value));
    errors.extend(cross_checks(&value));
    if errors.is_empty() {
        return Config::from_value(value).map_err(|e| locate(text, file, e));
    }
    let mut diagnostics = locate(text, file, errors);
    for d in &mut diagnostics {
        relabel_override(d, from_file, overrides);
    }
    Err(diagnostics)
}

/// Points a diagnostic about an ad-hoc backend or `--http` at its argument.
fn relabel_override(d: &mut Diagnostic, from_file: usize, overrides: &Overrides) {
    if let Some(rest) = d.pointer.strip_prefix("/backends/") {
        let (index, inner) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(arg) = index
            .parse::<usize>()
            .ok()
            .and_then(|i| i.checked_sub(from_file))
            .and_then(|i| overrides.backends.get(i))
        {
            // The name only: the rest may carry a URL with a key, or a command's secrets.
            let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
            d.file = format!("--backend {name}=…");
            d.pointer = format!("/{inner}");
            (d.line, d.column) = (0, 0);
        }
    } else if let Some(address) = overrides.http.as_ref().filter(|_| d.pointer == "/listen/address") {
        d.file = format!("--http {address}");
        (d.line, d.column) = (0, 0);
    }
}

/// The configuration a run uses: `explicit` (or the search path), with the
/// command line's additions. With ad-hoc backends and no `--config`, no file
/// is needed.
pub fn load_for_run(explicit: Option<&Path>, overrides: &Overrides) -> Result<Config, LoadError> {
    let (text, file, vars) = if explicit.is_none() && !overrides.backends.is_empty() {
        (String::new(), "(command line)".to_string(), HashMap::new())
    } else {
        let path = resolve(explicit)?;
        (read(&path)?, path.display().to_string(), env_file_vars(&path)?)
    };
    parse_with(&text, &file, &lookup_with(vars), overrides).map_err(|diagnostics| LoadError::Invalid { diagnostics })
}

/// Rules across entries that the schema cannot state: no two backends may
/// expose their tools under the same non-empty prefix (their `prefix`, else
/// their `name`) — clashes of unprefixed tools can only be known when the
/// backends list them — and profiles name configured backends (`profile_checks`).
pub fn cross_checks(value: &Value) -> Vec<ValidationError> {
    let mut errors = prefix_checks(value);
    errors.extend(profile_checks(value));
    errors
}

fn prefix_checks(value: &Value) -> Vec<ValidationError> {
    let Some(backends) = value.get("backends").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    // (prefix, index, whether it was set explicitly)
    let mut seen: Vec<(&str, usize, bool)> = Vec::new();
    for (i, b) in backends.iter().enumerate() {
        let name = b.get("name").and_then(Value::as_str);
        let (key, prefix) = match b.get("prefix").and_then(Value::as_str) {
            Some(p) => ("prefix", p),
            None => ("name", name.unwrap_or_default()),
        };
        if prefix.is_empty() {
            continue;
        }
        let explicit = key == "prefix";
        match seen.iter().find(|(p, _, _)| *p == prefix) {
            // Two equal names: the duplicate-name check reports it already.
            Some((_, _, false)) if !explicit => {}
            Some((_, first, _)) => errors.push(ValidationError {
                pointer: format!("/backends/{i}/{key}"),
                message: format!(
                    "backend {:?} would expose its tools under the prefix {prefix:?}, which backend {:?} (/backends/{first}) already uses",
                    name.unwrap_or_default(),
                    backends[*first].get("name").and_then(Value::as_str).unwrap_or_default()
                ),
                hint: Some("set a distinct prefix on one of them".into()),
                keyword: "x-prefix",
                target: super::support::Target::Value,
            }),
            None => seen.push((prefix, i, explicit)),
        }
    }
    errors
}

/// Profiles name configured backends and are not called `all` (the path of
/// the full list in search mode); a profile's tokens name a profile; bearer
/// client authentication has at least one token.
fn profile_checks(value: &Value) -> Vec<ValidationError> {
    use super::support::pointer::escape;
    let error = |pointer: String, message: String, hint: &str, target| ValidationError {
        pointer,
        message,
        hint: Some(hint.into()),
        keyword: "x-profile",
        target,
    };
    let mut errors = Vec::new();
    let backends: Vec<&str> = value
        .get("backends")
        .and_then(Value::as_array)
        .map(|b| b.iter().filter_map(|b| b.get("name").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let profiles = value.get("profiles").and_then(Value::as_object);
    for (name, profile) in profiles.into_iter().flatten() {
        let at = format!("/profiles/{}", escape(name));
        if name == "all" {
            errors.push(error(
                at.clone(),
                "a profile cannot be called \"all\": <path>/all serves the full list in search mode".into(),
                "choose another name, such as everything",
                super::support::Target::Key,
            ));
        }
        let listed = profile.get("backends").and_then(Value::as_array);
        for (i, b) in listed.into_iter().flatten().enumerate() {
            if let Some(b) = b.as_str()
                && !backends.contains(&b)
            {
                errors.push(error(
                    format!("{at}/backends/{i}"),
                    format!("profile {name:?} names backend {b:?}, which is not configured"),
                    &match (
                        super::support::did_you_mean(b, backends.iter().copied()),
                        backends.as_slice(),
                    ) {
                        (Some(close), _) => format!("did you mean {close:?}?"),
                        (None, []) => "add the backend under backends first".to_string(),
                        (None, names) => format!("configured backends: {}", names.join(", ")),
                    },
                    super::support::Target::Value,
                ));
            }
        }
    }
    let auth = value.get("listen").and_then(|l| l.get("auth"));
    if let Some(auth) = auth
        && auth.get("type").and_then(Value::as_str) == Some("bearer")
    {
        let bound = auth.get("profiles").and_then(Value::as_object);
        for name in bound.into_iter().flatten().map(|(k, _)| k) {
            if !profiles.is_some_and(|p| p.contains_key(name)) {
                errors.push(error(
                    format!("/listen/auth/profiles/{}", escape(name)),
                    format!("listen.auth names profile {name:?}, which is not defined"),
                    &match super::support::did_you_mean(name, profiles.into_iter().flatten().map(|(k, _)| k.as_str())) {
                        Some(close) => format!("did you mean {close:?}?"),
                        None => "define it under the top-level profiles key".to_string(),
                    },
                    super::support::Target::Key,
                ));
            }
        }
        let some = |key: &str| {
            auth.get(key).is_some_and(|v| match v {
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            })
        };
        if !some("tokens") && !some("profiles") {
            errors.push(error(
                "/listen/auth".into(),
                "bearer client authentication needs at least one token".into(),
                "add tokens: [\"${MCPMUX_CLIENT_TOKEN}\"] (or tokens for a profile under profiles)",
                super::support::Target::Value,
            ));
        }
    }
    errors
}

/// The YAML document as a JSON value (an empty document is an empty mapping).
pub fn parse_yaml(text: &str, file: &str) -> Result<Value, Vec<Diagnostic>> {
    match yaml_serde::from_str::<Value>(text) {
        Ok(Value::Null) => Ok(Value::Object(Default::default())),
        Ok(v) => Ok(v),
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            // yaml_serde appends " at line L column C"; the diagnostic says it already.
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            Err(vec![Diagnostic {
                file: file.to_string(),
                line,
                column,
                pointer: String::new(),
                message: format!("YAML syntax error: {message}"),
                hint: None,
                keyword: "yaml",
            }])
        }
    }
}

fn locate(text: &str, file: &str, errors: Vec<ValidationError>) -> Vec<Diagnostic> {
    let locator = Locator::new(text);
    let mut out: Vec<Diagnostic> = errors
        .into_iter()
        .map(|e| {
            let at = locator.locate(&e.pointer, e.target);
            Diagnostic {
                file: file.to_string(),
                line: at.line,
                column: at.column,
                pointer: e.pointer,
                message: e.message,
                hint: e.hint,
                keyword: e.keyword,
            }
        })
        .collect();
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// What `${VAR}` stands for when a configuration is checked without the
/// environment (`mcpmux validate --no-env`, a baked build): the reference
/// itself, so every variable counts as set and stays a reference.
pub fn no_env(name: &str) -> Option<String> {
    Some(format!("${{{name}}}"))
}

/// Checks a configuration whose variables are not set (`mcpmux validate
/// --no-env`, a baked build): every rule of the schema and across backends,
/// except on the values built from a `${VAR}` (unknown until mcpmux runs;
/// checked then). Returns the document as written, references intact.
pub fn check_no_env(text: &str, file: &str) -> Result<Value, Vec<Diagnostic>> {
    let written = parse_yaml(text, file)?;
    let mut refs = std::collections::BTreeSet::new();
    references(&written, &mut String::new(), &mut refs);
    let mut value = written.clone();
    let mut errors = env::expand(&mut value, &no_env);
    errors.extend(Config::validate(&value));
    errors.extend(cross_checks(&value));
    errors.retain(|e| !refs.contains(&e.pointer));
    if errors.is_empty() {
        Ok(written)
    } else {
        Err(locate(text, file, errors))
    }
}

/// The pointers of the strings that contain a `${` reference.
fn references(value: &Value, pointer: &mut String, out: &mut std::collections::BTreeSet<String>) {
    let len = pointer.len();
    match value {
        Value::String(s) if s.contains("${") => {
            out.insert(pointer.clone());
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointer.push_str(&format!("/{i}"));
                references(item, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                pointer.push('/');
                pointer.push_str(&escape(k));
                references(item, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The values in secret fields (the schema's `x-type: secret`) written as
/// literals rather than one `${VAR}` reference: a baked binary must not
/// carry them, since anyone who can read the binary (in a Nix store, say)
/// could read them.
pub fn literal_secrets(text: &str, file: &str) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let doc = parse_yaml(text, file)?;
    let schema: Value = serde_json::from_str(Config::SCHEMA).unwrap_or_default();
    let mut found = std::collections::BTreeSet::new();
    secret_values(&schema, &schema, &doc, &mut String::new(), &mut found);
    let errors = found
        .into_iter()
        .map(|pointer| ValidationError {
            pointer,
            message: "is a literal secret; a baked binary is readable by anyone who can read the file".into(),
            hint: Some(
                "write it as ${VAR} and set VAR in the environment mcpmux runs in (an EnvironmentFile, say)".into(),
            ),
            keyword: "x-baked-secret",
            target: super::support::Target::Value,
        })
        .collect();
    Ok(locate(text, file, errors))
}

/// The document as written, with every literal secret replaced by
/// `[redacted]` (for `mcpmux config`).
pub fn written_redacted(text: &str, file: &str) -> Result<Value, Vec<Diagnostic>> {
    let mut doc = parse_yaml(text, file)?;
    for d in literal_secrets(text, file)? {
        if let Some(v) = doc.pointer_mut(&d.pointer) {
            *v = Value::String("[redacted]".into());
        }
    }
    Ok(doc)
}

/// Whether `s` is exactly one `${VAR}` or `${VAR:-default}` reference.
fn is_reference(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(|inner| inner.split_once(":-").map_or(inner, |(name, _)| name))
        .is_some_and(|name| {
            let mut chars = name.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The schemas `schema` stands for: itself, what its `$ref` names, and the
/// branches of its `oneOf`/`anyOf`/`allOf`, recursively.
fn branches<'a>(root: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    if out.len() > 64 {
        return;
    }
    out.push(schema);
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        && let Some(target) = root.get("$defs").and_then(|d| d.get(name))
    {
        branches(root, target, out);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            branches(root, branch, out);
        }
    }
}

/// Collects the pointers of literal values in `doc` that any branch of
/// `schema` marks secret.
fn secret_values(
    root: &Value,
    schema: &Value,
    doc: &Value,
    pointer: &mut String,
    found: &mut std::collections::BTreeSet<String>,
) {
    let mut all = Vec::new();
    branches(root, schema, &mut all);
    let secret = all
        .iter()
        .any(|s| s.get("x-type").and_then(Value::as_str) == Some("secret"));
    let len = pointer.len();
    match doc {
        Value::String(s) if secret && !is_reference(s) => {
            found.insert(pointer.clone());
        }
        Value::Object(map) => {
            for (k, v) in map {
                pointer.push('/');
                pointer.push_str(&escape(k));
                for s in &all {
                    let sub = s
                        .get("properties")
                        .and_then(|p| p.get(k))
                        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()));
                    if let Some(sub) = sub {
                        secret_values(root, sub, v, pointer, found);
                    }
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointer.push_str(&format!("/{i}"));
                for s in &all {
                    if let Some(sub) = s.get("items") {
                        secret_values(root, sub, item, pointer, found);
                    }
                }
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod baked_tests {
    use super::*;

    #[test]
    fn an_env_file_error_does_not_quote_the_value() {
        let error = dotenvy::from_read_iter("GOOD=1\nAPI_KEY='sk-secret-value\n".as_bytes())
            .find_map(Result::err)
            .expect("dotenvy refuses the line");
        assert!(error.to_string().contains("sk-secret"), "dotenvy quotes it: {error}");
        let said = env_file_error(&error);
        assert!(!said.contains("sk-secret") && said.contains("API_KEY"), "{said}");
    }

    #[test]
    fn literal_secrets_are_found_where_the_schema_says_secret() {
        let text = "listen: {auth: {type: bearer, tokens: ['${OK_TOKEN}', 'literal-client-token-123']}}\n\
                    backends:\n\
                    - {name: a, transport: command, command: [x], env: {KEY: literal, OK: '${KEY}'}}\n\
                    - {name: b, transport: http, endpoint: 'https://h/mcp', auth: {type: bearer, token: 'abc'}}\n\
                    - {name: c, transport: http, endpoint: 'https://h/mcp', auth: {type: header, header: X-K, value: '${K:-none}'}}\n";
        let mut found: Vec<String> = literal_secrets(text, "t.yaml")
            .unwrap()
            .into_iter()
            .map(|d| d.pointer)
            .collect();
        found.sort();
        assert_eq!(
            found,
            ["/backends/0/env/KEY", "/backends/1/auth/token", "/listen/auth/tokens/1"]
        );
        let written = check_no_env(text, "t.yaml").unwrap();
        assert_eq!(
            written["listen"]["auth"]["tokens"][0], "${OK_TOKEN}",
            "references stay as written"
        );
        let bad = check_no_env(
            "backends: [{name: a, transport: command, command: [x], timeout: soon}]\n",
            "t.yaml",
        );
        assert_eq!(
            bad.unwrap_err()[0].pointer,
            "/backends/0/timeout",
            "what is not a reference is still checked"
        );
        assert!(is_reference("${A_1}") && is_reference("${A:-x}") && !is_reference("x${A}") && !is_reference("${1A}"));
    }
}
