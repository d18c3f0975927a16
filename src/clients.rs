//! The MCP clients people already use — Claude Code, Claude Desktop, Cursor,
//! VS Code, Codex, Zed — as `mcpmux import` reads them and `mcpmux install`
//! writes them: where each keeps its MCP servers, and each format's server
//! entries read into one neutral form, its variable syntax (`${VAR}`,
//! `${env:VAR}`, `${input:id}`, `${userHome}`) translated, and what mcpmux
//! cannot carry noted rather than dropped.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// A client mcpmux knows the configuration of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    ClaudeCode,
    ClaudeDesktop,
    Cursor,
    Vscode,
    Codex,
    Zed,
}

/// The directories clients keep their files in.
#[derive(Debug, Clone)]
pub struct Places {
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` (default `~/.config`).
    pub config: PathBuf,
    /// The project: the working directory.
    pub project: PathBuf,
    /// `$CODEX_HOME` (default `~/.codex`).
    pub codex: PathBuf,
}

impl Places {
    pub fn from_env() -> Places {
        let var = |n: &str| std::env::var_os(n).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = var("HOME").unwrap_or_else(|| PathBuf::from("/"));
        Places {
            config: var("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config")),
            project: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            codex: var("CODEX_HOME").unwrap_or_else(|| home.join(".codex")),
            home,
        }
    }
}

impl Client {
    pub const ALL: [Client; 6] = [
        Client::ClaudeCode,
        Client::ClaudeDesktop,
        Client::Cursor,
        Client::Vscode,
        Client::Codex,
        Client::Zed,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Client::ClaudeCode => "Claude Code",
            Client::ClaudeDesktop => "Claude Desktop",
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::Codex => "Codex",
            Client::Zed => "Zed",
        }
    }

    /// The files it may keep MCP servers in: the user's, then the project's.
    pub fn files(self, p: &Places) -> Vec<PathBuf> {
        let mac = p.home.join("Library/Application Support");
        match self {
            Client::ClaudeCode => vec![p.home.join(".claude.json"), p.project.join(".mcp.json")],
            Client::ClaudeDesktop => vec![
                p.config.join("Claude/claude_desktop_config.json"),
                mac.join("Claude/claude_desktop_config.json"),
            ],
            Client::Cursor => vec![p.home.join(".cursor/mcp.json"), p.project.join(".cursor/mcp.json")],
            Client::Vscode => vec![
                p.config.join("Code/User/mcp.json"),
                mac.join("Code/User/mcp.json"),
                p.project.join(".vscode/mcp.json"),
            ],
            Client::Codex => vec![p.codex.join("config.toml")],
            Client::Zed => vec![p.config.join("zed/settings.json"), p.project.join(".zed/settings.json")],
        }
    }

    /// The file `mcpmux install` registers mcpmux in (the user's).
    pub fn install_file(self, p: &Places) -> PathBuf {
        let files = self.files(p);
        // On a Mac the Library one, if that is the one in use.
        match self {
            Client::ClaudeDesktop | Client::Vscode if !files[0].exists() && files[1].exists() => files[1].clone(),
            _ => files[0].clone(),
        }
    }

    /// Whether it connects to streamable HTTP servers itself (else it only
    /// launches commands, and gets `mcpmux connect`).
    pub fn speaks_http(self) -> bool {
        matches!(self, Client::ClaudeCode | Client::Cursor | Client::Vscode)
    }
}

/// A string as mcpmux will hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// Plain text (a secret, where it is a credential).
    Literal(String),
    /// Text in mcpmux's own `${VAR}` syntax, referring to these variables.
    Refers(String, Vec<String>),
}

/// A server entry as mcpmux can carry it.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    Command {
        argv: Vec<String>,
        env: Vec<(String, Text)>,
        /// Variables the client passed on from its own environment.
        passthrough: Vec<String>,
    },
    Http {
        url: String,
        headers: Vec<(String, Text)>,
    },
}

/// One server found in a client's file.
#[derive(Debug, Clone)]
pub struct Found {
    pub client: Client,
    pub file: PathBuf,
    /// Where in the file (`mcpServers.github`, `projects./x.mcpServers.fs`).
    pub at: String,
    pub name: String,
    pub transport: Transport,
    /// Tool filters it had (Codex's enabled_tools / disabled_tools).
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    /// A per-call timeout it had, in seconds.
    pub timeout_secs: Option<u64>,
    /// VS Code inputs it uses: (variable made for it, input id, description).
    pub inputs: Vec<(String, String, String)>,
    /// What mcpmux cannot carry.
    pub dropped: Vec<String>,
}

/// An entry that could not be read at all (no command or URL, say).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub client: Client,
    pub file: PathBuf,
    pub at: String,
    pub why: String,
}

/// Why `text` is not valid TOML, by line and column: toml_edit's own
/// message quotes the line, which may hold a token.
pub fn toml_error(text: &str, e: &toml_edit::TomlError) -> String {
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(
        "not valid TOML: {} (line {line}, column {column})",
        e.message().trim_end()
    )
}

/// Reads the servers of `client`'s file `path`.
pub fn read(client: Client, path: &Path, text: &str, places: &Places) -> Result<(Vec<Found>, Vec<Skipped>), String> {
    let doc: Value = if client == Client::Codex {
        let table: toml_edit::DocumentMut = text.parse().map_err(|e| toml_error(text, &e))?;
        toml_to_json(table.as_item())
    } else {
        jsonc_parser::parse_to_serde_value::<Option<Value>>(text, &Default::default())
            .map_err(|e| format!("not valid JSON: {e}"))?
            .unwrap_or(Value::Null)
    };
    let mut out = Reader {
        client,
        file: path.to_path_buf(),
        places,
        project: path.parent().and_then(|d| {
            // `.vscode/mcp.json`, `.cursor/mcp.json`: the workspace is the parent's parent.
            let name = d.file_name()?.to_str()?;
            if name.starts_with('.') { d.parent() } else { Some(d) }
        }),
        found: Vec::new(),
        skipped: Vec::new(),
    };
    match client {
        Client::ClaudeCode | Client::ClaudeDesktop | Client::Cursor => {
            out.servers(&doc["mcpServers"], "mcpServers");
            if let Some(projects) = doc["projects"].as_object() {
                for (dir, p) in projects {
                    out.servers(&p["mcpServers"], &format!("projects.{dir}.mcpServers"));
                }
            }
        }
        Client::Vscode => {
            let inputs = doc["inputs"].as_array().cloned().unwrap_or_default();
            out.vscode(&doc["servers"], "servers", &inputs);
            // Servers in the user's settings.json (older VS Code).
            out.vscode(&doc["mcp"]["servers"], "mcp.servers", &inputs);
        }
        Client::Codex => out.servers(&doc["mcp_servers"], "mcp_servers"),
        Client::Zed => out.servers(&doc["context_servers"], "context_servers"),
    }
    Ok((out.found, out.skipped))
}

struct Reader<'a> {
    client: Client,
    file: PathBuf,
    places: &'a Places,
    project: Option<&'a Path>,
    found: Vec<Found>,
    skipped: Vec<Skipped>,
}

impl Reader<'_> {
    fn vscode(&mut self, servers: &Value, key: &str, inputs: &[Value]) {
        let Some(map) = servers.as_object() else { return };
        for (name, entry) in map {
            let before = self.found.len();
            self.servers(&Value::Object(Map::from_iter([(name.clone(), entry.clone())])), key);
            // Describe the inputs the new entry refers to.
            if let Some(f) = self.found.get_mut(before) {
                for (_, id, description) in &mut f.inputs {
                    if let Some(i) = inputs.iter().find(|i| i["id"] == **id) {
                        *description = i["description"].as_str().unwrap_or_default().to_string();
                    }
                }
            }
        }
    }

    fn servers(&mut self, servers: &Value, key: &str) {
        let Some(map) = servers.as_object() else { return };
        for (name, entry) in map {
            let at = format!("{key}.{name}");
            match self.server(name, entry) {
                Ok(Some(found)) => self.found.push(Found { at, ..found }),
                Ok(None) => {}
                Err(why) => self.skipped.push(Skipped {
                    client: self.client,
                    file: self.file.clone(),
                    at,
                    why,
                }),
            }
        }
    }

    fn server(&mut self, name: &str, e: &Value) -> Result<Option<Found>, String> {
        let mut f = Found {
            client: self.client,
            file: self.file.clone(),
            at: String::new(),
            name: name.to_string(),
            transport: Transport::Http {
                url: String::new(),
                headers: Vec::new(),
            },
            allow: None,
            deny: Vec::new(),
            timeout_secs: None,
            inputs: Vec::new(),
            dropped: Vec::new(),
        };
        if e["enabled"] == Value::Bool(false) || e["disabled"] == Value::Bool(true) {
            return Err("disabled in the client; not imported".into());
        }
        if e["source"] == "extension" {
            return Err("provided by a Zed extension, which only Zed can run".into());
        }
        // Zed's older form: "command": {"path", "args", "env"}.
        let (command, args, env) = match &e["command"] {
            Value::Object(c) => (c.get("path").cloned(), c.get("args").cloned(), c.get("env").cloned()),
            other => (Some(other.clone()), e.get("args").cloned(), e.get("env").cloned()),
        };
        let url = e["url"].as_str().or_else(|| e["serverUrl"].as_str());
        let kind = e["type"].as_str().or_else(|| e["transport"].as_str()).unwrap_or("");
        if kind == "sse" {
            f.dropped.push(
                "it used the older HTTP+SSE transport; mcpmux speaks streamable HTTP, so check that the endpoint serves it"
                    .into(),
            );
        }
        if let Some(url) = url {
            let mut headers = Vec::new();
            for (k, v) in e["headers"]
                .as_object()
                .or(e["http_headers"].as_object())
                .into_iter()
                .flatten()
            {
                headers.push((k.clone(), self.text(v.as_str().unwrap_or_default(), &mut f)));
            }
            // Codex: a header or bearer token from a variable.
            for (k, v) in e["env_http_headers"].as_object().into_iter().flatten() {
                let var = v.as_str().unwrap_or_default().to_string();
                headers.push((k.clone(), Text::Refers(format!("${{{var}}}"), vec![var])));
            }
            if let Some(var) = e["bearer_token_env_var"].as_str() {
                headers.push((
                    "Authorization".into(),
                    Text::Refers(format!("Bearer ${{{var}}}"), vec![var.to_string()]),
                ));
            }
            f.transport = Transport::Http {
                url: self.plain(url, &mut f),
                headers,
            };
        } else if let Some(command) = command.as_ref().and_then(Value::as_str).filter(|c| !c.is_empty()) {
            let mut argv = vec![self.plain(command, &mut f)];
            for a in args.as_ref().and_then(Value::as_array).into_iter().flatten() {
                argv.push(self.plain(&scalar(a), &mut f));
            }
            let mut vars = Vec::new();
            for (k, v) in env.as_ref().and_then(Value::as_object).into_iter().flatten() {
                vars.push((k.clone(), self.text(&scalar(v), &mut f)));
            }
            let passthrough = e["env_vars"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            f.transport = Transport::Command {
                argv,
                env: vars,
                passthrough,
            };
        } else {
            return Err("it has neither a command nor a url".into());
        }
        for key in ["cwd", "envFile"] {
            if let Some(v) = e[key].as_str() {
                f.dropped.push(format!(
                    "{key} {v:?} (mcpmux starts commands in its own working directory and environment)"
                ));
            }
        }
        if let Some(tools) = e["enabled_tools"].as_array() {
            f.allow = Some(tools.iter().filter_map(|t| t.as_str().map(String::from)).collect());
        }
        f.deny = e["disabled_tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(String::from))
            .collect();
        f.timeout_secs = e["tool_timeout_sec"]
            .as_f64()
            .map(|s| s.ceil() as u64)
            .filter(|s| *s > 0);
        Ok(Some(f))
    }

    /// Text that is no credential (a command, an argument, a URL): the
    /// client's variables resolved where they are paths, `$` escaped.
    fn plain(&self, s: &str, f: &mut Found) -> String {
        match self.text(s, f) {
            Text::Literal(l) => l.replace('$', "$$"),
            Text::Refers(t, _) => t,
        }
    }

    /// `s` in mcpmux's syntax: the client's variables translated.
    fn text(&self, s: &str, f: &mut Found) -> Text {
        let mut out = String::new();
        let mut vars = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else { break };
            let inner = &rest[start + 2..start + len];
            out.push_str(&rest[..start].replace('$', "$$"));
            rest = &rest[start + len + 1..];
            let home = self.places.home.display().to_string();
            match inner.split_once(':') {
                Some(("env", var)) => {
                    out.push_str(&format!("${{{var}}}"));
                    vars.push(var.to_string());
                }
                Some(("input", id)) => {
                    let var = env_name(&format!("{}_{id}", f.name));
                    out.push_str(&format!("${{{var}}}"));
                    vars.push(var.clone());
                    f.inputs.push((var, id.to_string(), String::new()));
                }
                None if inner == "userHome" => out.push_str(&home.replace('$', "$$")),
                None if inner == "workspaceFolder" && self.project.is_some() => {
                    out.push_str(
                        &self
                            .project
                            .unwrap_or(Path::new("."))
                            .display()
                            .to_string()
                            .replace('$', "$$"),
                    );
                }
                // Claude Code's ${VAR} and ${VAR:-default}: mcpmux's own syntax.
                _ if inner
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_') =>
                {
                    let var = inner.split(":-").next().unwrap_or(inner);
                    if var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        out.push_str(&format!("${{{inner}}}"));
                        vars.push(var.to_string());
                    } else {
                        f.dropped
                            .push(format!("the variable ${{{inner}}}, which mcpmux cannot resolve"));
                        out.push_str(&format!("$${{{inner}}}"));
                    }
                }
                _ => {
                    f.dropped
                        .push(format!("the variable ${{{inner}}}, which mcpmux cannot resolve"));
                    out.push_str(&format!("$${{{inner}}}"));
                }
            }
        }
        if vars.is_empty() && !out.contains("$$") && out.is_empty() {
            return Text::Literal(s.to_string());
        }
        out.push_str(&rest.replace('$', "$$"));
        if vars.is_empty() {
            // Only paths were resolved: plain text again.
            return Text::Literal(out.replace("$$", "$"));
        }
        Text::Refers(out, vars)
    }
}

/// A JSON scalar as text (an argument written as a number, say).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An environment variable name made from `s`: upper case, `_` for anything else.
pub fn env_name(s: &str) -> String {
    let mut name: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

fn toml_to_json(item: &toml_edit::Item) -> Value {
    use toml_edit::Item;
    match item {
        Item::None => Value::Null,
        Item::Value(v) => toml_value(v),
        Item::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.to_string(), toml_to_json(v))).collect()),
        Item::ArrayOfTables(a) => Value::Array(a.iter().map(|t| toml_to_json(&Item::Table(t.clone()))).collect()),
    }
}

fn toml_value(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match v {
        V::String(s) => Value::from(s.value().as_str()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => Value::from(*f.value()),
        V::Boolean(b) => Value::from(*b.value()),
        V::Datetime(d) => Value::from(d.value().to_string()),
        V::Array(a) => Value::Array(a.iter().map(toml_value).collect()),
        V::InlineTable(t) => Value::Object(t.iter().map(|(k, v)| (k.to_string(), toml_value(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places {
            home: "/home/u".into(),
            config: "/home/u/.config".into(),
            project: "/work/p".into(),
            codex: "/home/u/.codex".into(),
        }
    }

    #[test]
    fn a_toml_error_names_the_place_not_the_line() {
        let text = "[mcp_servers.gh]\nenv = { TOKEN = \"ghp_secret123\" \n";
        let e = text.parse::<toml_edit::DocumentMut>().unwrap_err();
        assert!(e.to_string().contains("ghp_secret123"), "toml_edit quotes it: {e}");
        let said = toml_error(text, &e);
        assert!(!said.contains("ghp_secret123") && said.contains("line 2"), "{said}");
    }

    #[test]
    fn variables_are_translated() {
        let p = places();
        let mut r = Reader {
            client: Client::Vscode,
            file: "/work/p/.vscode/mcp.json".into(),
            places: &p,
            project: Some(Path::new("/work/p")),
            found: Vec::new(),
            skipped: Vec::new(),
        };
        let mut f = r.server("gh", &serde_json::json!({"command": "x"})).unwrap().unwrap();
        assert_eq!(r.text("plain $5", &mut f), Text::Literal("plain $5".into()));
        assert_eq!(
            r.text("Bearer ${env:TOKEN}", &mut f),
            Text::Refers("Bearer ${TOKEN}".into(), vec!["TOKEN".into()])
        );
        assert_eq!(
            r.text("${input:api-key}", &mut f),
            Text::Refers("${GH_API_KEY}".into(), vec!["GH_API_KEY".into()])
        );
        assert_eq!(f.inputs[0].1, "api-key");
        assert_eq!(
            r.text("${userHome}/x and ${workspaceFolder}", &mut f),
            Text::Literal("/home/u/x and /work/p".into())
        );
        assert_eq!(r.plain("a$b", &mut f), "a$$b");
        assert_eq!(
            r.text("${HOME:-/tmp}/y", &mut f),
            Text::Refers("${HOME:-/tmp}/y".into(), vec!["HOME".into()])
        );
        assert_eq!(env_name("my-server_api.key"), "MY_SERVER_API_KEY");
    }
}
