//! `mcpmux install --client NAME`: registers mcpmux in a client's own
//! configuration — the daemon's URL for clients that speak streamable HTTP,
//! a command (`mcpmux connect`, or `mcpmux serve` for a stdio
//! configuration) for those that only launch commands. The file is edited
//! in place, its comments and layout kept (JSONC and TOML alike), after a
//! backup; running it again changes nothing; `--dry-run` shows the diff;
//! `--replace` also removes the client's servers that mcpmux now serves
//! (by backend name), and nothing is ever removed without it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::clients::{Client, Places};
use crate::config::Config;

pub struct Request {
    pub client: Client,
    /// The mcpmux configuration in force, and where it is.
    pub config: Config,
    pub config_path: PathBuf,
    /// The client's file (default: its usual one).
    pub file: Option<PathBuf>,
    pub dry_run: bool,
    pub replace: bool,
}

/// How the client reaches mcpmux.
enum Reach {
    Url(String),
    Command(Vec<String>),
}

/// The name mcpmux is registered under.
const NAME: &str = "mcpmux";

pub fn run(req: &Request, out: &mut dyn Write) -> anyhow::Result<std::process::ExitCode> {
    let places = Places::from_env();
    let file = req.file.clone().unwrap_or_else(|| req.client.install_file(&places));
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", file.display()),
    };
    let reach = reach(req)?;
    let imported: Vec<String> = req.config.backends.iter().map(|b| b.name().to_string()).collect();
    let (new_text, removed) = match req.client {
        Client::Codex => edit_toml(&text, &reach, req.replace.then_some(&imported[..]))?,
        client => edit_json(client, &text, &reach, req.replace.then_some(&imported[..]))
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
    };
    let how = match &reach {
        Reach::Url(u) => format!("at {u}"),
        Reach::Command(argv) => format!("by running {}", argv.join(" ")),
    };
    if new_text == text {
        writeln!(
            out,
            "{} already reaches mcpmux {how} ({}); nothing to do",
            req.client.title(),
            file.display()
        )?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    writeln!(out, "{}: {} reaches mcpmux {how}", file.display(), req.client.title())?;
    for r in &removed {
        writeln!(out, "  removed {r:?} (imported into mcpmux)")?;
    }
    if let Some(note) = token_note(req) {
        writeln!(out, "{note}")?;
    }
    if req.dry_run {
        writeln!(out, "(dry run: nothing written)")?;
        write!(out, "{}", diff(&file, &text, &new_text, false))?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if !text.is_empty() {
        let b = backup(&file)?;
        writeln!(out, "backup: {}", b.display())?;
    } else if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&file, new_text)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The client's way to mcpmux, from the configuration's listen section.
fn reach(req: &Request) -> anyhow::Result<Reach> {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "mcpmux".into());
    let config = req.config_path.display().to_string();
    let listen = &req.config.listen;
    let tokens = matches!(listen.auth, crate::config::ClientAuth::Bearer(_));
    Ok(match listen.transport {
        crate::config::ListenTransport::Stdio => Reach::Command(vec![exe, "serve".into(), "--config".into(), config]),
        crate::config::ListenTransport::Http => {
            if req.client.speaks_http() && !listen.address.starts_with("unix:") && !tokens {
                // The URL `mcpmux connect` would reach it at.
                Reach::Url(crate::connect::target_of(&req.config)?)
            } else {
                Reach::Command(vec![exe, "connect".into(), "--config".into(), config])
            }
        }
    })
}

fn token_note(req: &Request) -> Option<String> {
    matches!(req.config.listen.auth, crate::config::ClientAuth::Bearer(_)).then(|| {
        format!(
            "mcpmux asks clients for a token: {} must run mcpmux connect with MCPMUX_CLIENT_TOKEN in its environment",
            req.client.title()
        )
    })
}

/// The client's entry for mcpmux.
fn entry(client: Client, reach: &Reach) -> Value {
    match (client, reach) {
        (Client::ClaudeCode | Client::Vscode, Reach::Url(u)) => json!({"type": "http", "url": u}),
        (_, Reach::Url(u)) => json!({"url": u}),
        (Client::ClaudeCode | Client::Vscode, Reach::Command(argv)) => {
            json!({"type": "stdio", "command": argv[0], "args": argv[1..]})
        }
        (Client::Zed, Reach::Command(argv)) => {
            json!({"source": "custom", "command": argv[0], "args": argv[1..], "env": {}})
        }
        (_, Reach::Command(argv)) => json!({"command": argv[0], "args": argv[1..]}),
    }
}

fn servers_key(client: Client) -> &'static str {
    match client {
        Client::Vscode => "servers",
        Client::Zed => "context_servers",
        _ => "mcpServers",
    }
}

/// The JSON(C) file with mcpmux's entry set (and, with `remove`, the
/// imported servers gone), comments and layout kept.
fn edit_json(
    client: Client,
    text: &str,
    reach: &Reach,
    remove: Option<&[String]>,
) -> Result<(String, Vec<String>), String> {
    use jsonc_parser::cst::CstRootNode;
    let source = if text.trim().is_empty() { "{}\n" } else { text };
    let root = CstRootNode::parse(source, &Default::default()).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = root.object_value_or_set();
    let servers = obj.object_value_or_set(servers_key(client));
    let wanted = entry(client, reach);
    match servers.get(NAME) {
        Some(prop) => {
            let current: Option<Value> = prop
                .value()
                .and_then(|v| jsonc_parser::parse_to_serde_value(&v.to_string(), &Default::default()).ok());
            let same_shape = current
                .as_ref()
                .is_some_and(|c| c.get("url").is_some() == wanted.get("url").is_some());
            match (prop.object_value(), same_shape) {
                // Only mcpmux's own keys are set: what the user added (an
                // env with a token, say) stays.
                (Some(obj), true) => {
                    for (k, v) in wanted.as_object().into_iter().flatten() {
                        if current.as_ref().and_then(|c| c.get(k)) == Some(v) {
                            continue;
                        }
                        match obj.get(k) {
                            Some(p) => p.set_value(cst_value(v)),
                            None => {
                                obj.append(k, cst_value(v));
                            }
                        }
                    }
                }
                _ => prop.set_value(cst_value(&wanted)),
            }
        }
        None => {
            servers.append(NAME, cst_value(&wanted));
        }
    }
    let mut removed = Vec::new();
    if let Some(names) = remove {
        let mut lists = vec![(String::new(), servers)];
        if client == Client::ClaudeCode
            && let Some(projects) = obj.object_value("projects")
        {
            for p in projects.properties() {
                if let (Some(dir), Some(o)) = (p.name().and_then(|n| n.decoded_value().ok()), p.object_value())
                    && let Some(s) = o.object_value("mcpServers")
                {
                    lists.push((format!("projects.{dir}."), s));
                }
            }
        }
        for (at, list) in lists {
            for prop in list.properties() {
                let Some(name) = prop.name().and_then(|n| n.decoded_value().ok()) else {
                    continue;
                };
                if name != NAME && names.contains(&crate::import::backend_name(&name)) {
                    removed.push(format!("{at}{}.{name}", servers_key(client)));
                    prop.remove();
                }
            }
        }
    }
    let out = root.to_string();
    // A file that held nothing before keeps a final newline.
    Ok((if out.ends_with('\n') { out } else { out + "\n" }, removed))
}

/// Codex's config.toml with `[mcp_servers.mcpmux]` set (and, with
/// `remove`, the imported servers' tables gone), the rest as written.
fn edit_toml(text: &str, reach: &Reach, remove: Option<&[String]>) -> anyhow::Result<(String, Vec<String>)> {
    use toml_edit::{Array, DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| anyhow::anyhow!(crate::clients::toml_error(text, &e)))?;
    let servers = doc
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| anyhow::anyhow!("mcp_servers is not a table"))?;
    let mut removed = Vec::new();
    if let Some(names) = remove {
        let gone: Vec<String> = servers
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| k != NAME && names.contains(&crate::import::backend_name(k)))
            .collect();
        for k in gone {
            servers.remove(&k);
            removed.push(format!("mcp_servers.{k}"));
        }
    }
    let mut wanted = Table::new();
    match reach {
        Reach::Url(u) => {
            wanted.insert("url", value(u.as_str()));
        }
        Reach::Command(argv) => {
            wanted.insert("command", value(argv[0].as_str()));
            wanted.insert("args", value(argv[1..].iter().map(String::as_str).collect::<Array>()));
        }
    }
    // Only mcpmux's own keys are set in a table of the same kind (url, or
    // command and args): what the user added stays.
    let text = |i: &Item| i.to_string().trim().to_string();
    match servers.get_mut(NAME).and_then(Item::as_table_mut) {
        Some(t) if t.contains_key("url") == wanted.contains_key("url") => {
            for (k, v) in wanted.iter() {
                if t.get(k).map(text) != Some(text(v)) {
                    t.insert(k, v.clone());
                }
            }
        }
        _ => {
            servers.insert(NAME, Item::Table(wanted));
        }
    }
    Ok((doc.to_string(), removed))
}

/// A JSON value as the CST editor takes it.
fn cst_value(v: &Value) -> jsonc_parser::cst::CstInputValue {
    use jsonc_parser::cst::CstInputValue as C;
    match v {
        Value::Null => C::Null,
        Value::Bool(b) => C::Bool(*b),
        Value::Number(n) => C::Number(n.to_string()),
        Value::String(s) => C::String(s.clone()),
        Value::Array(a) => C::Array(a.iter().map(cst_value).collect()),
        Value::Object(o) => C::Object(o.iter().map(|(k, v)| (k.clone(), cst_value(v))).collect()),
    }
}

/// A unified diff of a file's text before and after, every value masked
/// (files like these hold credentials) but on the added lines when
/// `show_added` (lines mcpmux wrote, which hold none).
pub fn diff(file: &Path, before: &str, after: &str, show_added: bool) -> String {
    let name = file.display().to_string();
    let text = similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string();
    text.lines()
        .map(|l| {
            let keep = l.starts_with("+++")
                || l.starts_with("---")
                || l.starts_with("@@")
                || (show_added && l.starts_with('+'));
            if keep { l.to_string() } else { mask(l) }
        })
        .map(|l| l + "\n")
        .collect()
}

/// A line of JSON, TOML or YAML with its values masked and its keys kept.
fn mask(line: &str) -> String {
    use std::sync::LazyLock;
    static QUOTED: LazyLock<regex_lite::Regex> =
        LazyLock::new(|| regex_lite::Regex::new(r#""(?:[^"\\]|\\.)*"(\s*:)?|'[^']*'(\s*:)?"#).expect("valid"));
    static PLAIN: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
        regex_lite::Regex::new(r#"^([-+ ]\s*(?:- )?[A-Za-z0-9_.-]+:\s+|[-+ ]\s*- )([^\s"'\[{#].*)$"#).expect("valid")
    });
    let quoted = QUOTED.replace_all(line, |c: &regex_lite::Captures<'_>| {
        if c.get(1).is_some() || c.get(2).is_some() {
            c[0].to_string()
        } else {
            "\"…\"".to_string()
        }
    });
    PLAIN.replace(&quoted, "${1}…").into_owned()
}

/// Copies `file` to `<file>.mcpmux-backup` (or, if that exists, a numbered
/// one), so the first original is never overwritten; returns the copy's path.
pub fn backup(file: &Path) -> std::io::Result<PathBuf> {
    let mut name = file.as_os_str().to_owned();
    name.push(".mcpmux-backup");
    let mut path = PathBuf::from(&name);
    let mut n = 1;
    while path.exists() {
        n += 1;
        let mut numbered = name.clone();
        numbered.push(format!(".{n}"));
        path = PathBuf::from(numbered);
    }
    std::fs::copy(file, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_edits_keep_comments_and_are_idempotent() {
        let text = "{\n  // mine\n  \"servers\": {\n    \"gh\": {\"command\": \"x\"}, // keep\n    \"fs\": {\"command\": \"y\"}\n  }\n}\n";
        let reach = Reach::Url("http://127.0.0.1:8080/mcp".into());
        let (once, removed) = edit_json(Client::Vscode, text, &reach, None).unwrap();
        assert!(removed.is_empty());
        assert!(once.contains("// mine") && once.contains("// keep"), "{once}");
        assert!(once.contains("\"mcpmux\""), "{once}");
        let (twice, _) = edit_json(Client::Vscode, &once, &reach, None).unwrap();
        assert_eq!(once, twice);
        // What the user added to mcpmux's entry stays.
        let edited = once.replace("\"type\": \"http\"", "\"type\": \"http\", \"headers\": {\"X\": \"y\"}");
        let (again, _) = edit_json(Client::Vscode, &edited, &reach, None).unwrap();
        assert_eq!(again, edited);
        let moved = Reach::Url("http://127.0.0.1:9/mcp".into());
        let (updated, _) = edit_json(Client::Vscode, &edited, &moved, None).unwrap();
        assert!(
            updated.contains("\"X\": \"y\"") && updated.contains("127.0.0.1:9/mcp"),
            "{updated}"
        );
        let (replaced, removed) = edit_json(Client::Vscode, &once, &reach, Some(&["gh".to_string()])).unwrap();
        assert_eq!(removed, ["servers.gh"]);
        assert!(
            !replaced.contains("\"gh\"") && replaced.contains("\"fs\""),
            "{replaced}"
        );
    }

    #[test]
    fn diffs_show_no_values() {
        let before = "{\n  \"mcpServers\": {\"gh\": {\"env\": {\"TOKEN\": \"ghp_secret\"}}}\n}\n";
        let after = "{\n  \"mcpServers\": {\"gh\": {\"env\": {\"TOKEN\": \"ghp_secret\"}}},\n  \"x\": 1\n}\n";
        let d = diff(Path::new("f.json"), before, after, false);
        assert!(!d.contains("ghp_secret") && d.contains("\"TOKEN\":"), "{d}");
        let yaml = "env:\n  TOKEN: ghp_secret\nargs:\n  - ghp_other\n";
        let d = diff(Path::new("c.yaml"), yaml, &format!("{yaml}x: 1\n"), true);
        assert!(!d.contains("ghp_") && d.contains("+x: 1"), "{d}");
    }

    #[test]
    fn toml_edits_keep_the_rest_and_are_idempotent() {
        let text = "# my codex\nmodel = \"o3\"\n\n[mcp_servers.gh]\ncommand = \"x\"\n";
        let reach = Reach::Command(vec!["/bin/mcpmux".into(), "connect".into()]);
        let (once, _) = edit_toml(text, &reach, None).unwrap();
        assert!(once.starts_with("# my codex\nmodel = \"o3\""), "{once}");
        assert!(once.contains("[mcp_servers.mcpmux]"), "{once}");
        let (twice, _) = edit_toml(&once, &reach, None).unwrap();
        assert_eq!(once, twice);
        let edited = once.replace("[mcp_servers.mcpmux]\n", "[mcp_servers.mcpmux]\nenv = { T = \"1\" }\n");
        let (again, _) = edit_toml(&edited, &reach, None).unwrap();
        assert_eq!(again, edited);
        let (replaced, removed) = edit_toml(&once, &reach, Some(&["gh".to_string()])).unwrap();
        assert_eq!(removed, ["mcp_servers.gh"]);
        assert!(!replaced.contains("[mcp_servers.gh]"), "{replaced}");
    }
}
