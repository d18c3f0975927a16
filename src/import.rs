//! `mcpmux import`: the MCP servers of the clients a user already has
//! (`clients`) become mcpmux backends in one step: commands with their
//! arguments and env; URLs with headers become http backends with bearer or
//! header auth. Every credential (an env or header value, a key in an
//! argument or a URL) moves to the environment
//! file beside the configuration (mode 0600, read by `serve` and by the
//! systemd unit) and the configuration refers to it as `${VAR}`, so the
//! result validates at once — which is checked before anything is written;
//! a variable the servers read from the shell is copied there too (a daemon
//! does not share the shell's environment), or left empty to fill in.
//! New backends are added under the existing ones, the file's comments
//! kept; a server already there (by name) is left alone, so running it
//! twice changes nothing; whatever cannot be carried is listed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::clients::{Client, Found, Places, Skipped, Text, Transport, env_name};

/// What `import` is asked to do.
pub struct Request {
    /// The clients to read (all of them if empty).
    pub from: Vec<Client>,
    /// Read this file instead of the clients' usual places (its format: `from`'s one client).
    pub file: Option<PathBuf>,
    /// The mcpmux configuration to add to (created if missing).
    pub config: PathBuf,
    pub dry_run: bool,
}

/// A backend about to be written.
struct Planned {
    name: String,
    found: Found,
    entry: Value,
}

/// The environment file: its variables, and those to add.
struct EnvFile {
    existing: BTreeMap<String, String>,
    added: Vec<(String, String, Option<String>)>,
}

impl EnvFile {
    /// The name under which `value` is kept: `wanted` if free (or holding
    /// the same value), else `wanted` with a number.
    fn keep(&mut self, wanted: &str, value: &str, comment: Option<String>) -> String {
        for n in 1.. {
            let name = if n == 1 {
                wanted.to_string()
            } else {
                format!("{wanted}_{n}")
            };
            let current = self
                .existing
                .get(&name)
                .or_else(|| self.added.iter().find(|(k, _, _)| *k == name).map(|(_, v, _)| v));
            match current {
                Some(v) if v == value => return name,
                Some(_) => continue,
                None => {
                    self.added.push((name.clone(), value.to_string(), comment));
                    return name;
                }
            }
        }
        unreachable!("some numbered name is free")
    }

    fn has(&self, name: &str) -> bool {
        self.existing.contains_key(name) || self.added.iter().any(|(k, _, _)| k == name)
    }
}

/// Runs the import; writes the report to `out`.
pub fn run(req: &Request, out: &mut dyn Write) -> anyhow::Result<std::process::ExitCode> {
    let places = Places::from_env();
    let (found, skipped, read) = gather(req, &places)?;
    let text = match std::fs::read_to_string(&req.config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", req.config.display()),
    };
    let existing_names = existing_backends(&text, &req.config)?;
    let env_path = crate::config::env_file_beside(&req.config);
    let mut env = EnvFile {
        existing: crate::config::env_file_vars(&req.config)?.into_iter().collect(),
        added: Vec::new(),
    };
    let mut planned: Vec<Planned> = Vec::new();
    let mut already = Vec::new();
    let mut needs = Vec::new();
    for f in found {
        let name = backend_name(&f.name);
        if existing_names.contains(&name) {
            already.push((name, f));
            continue;
        }
        // The same server in two files (a user's and a project's): once; two
        // different servers of one name: the second gets a free `-N` name.
        // (Settled before `entry`, which moves the server's secrets.)
        let taken = |n: &str| planned.iter().any(|p| p.name == n) || existing_names.iter().any(|e| e == n);
        let name = match planned.iter().find(|p| p.name == name) {
            Some(p) if p.found.transport == f.transport => continue,
            Some(_) => (2..)
                .map(|n| format!("{name}-{n}"))
                .find(|n| !taken(n))
                .expect("a free name among endless candidates"),
            None => name,
        };
        let entry = entry(&name, &f, &mut env, &mut needs);
        planned.push(Planned { name, found: f, entry });
    }
    // Variables the servers refer to: the file gets the value this shell
    // has (a daemon does not share the shell's environment), or an empty
    // line to fill in (the configuration validates meanwhile).
    for (var, why) in &needs {
        if env.has(var) {
            continue;
        }
        match std::env::var(var) {
            Ok(v) => env.added.push((
                var.clone(),
                v,
                Some(format!("copied from the environment of mcpmux import: {why}")),
            )),
            Err(_) => env
                .added
                .push((var.clone(), String::new(), Some(format!("needs a value: {why}")))),
        }
    }
    let new_text = with_backends(&text, &planned)?;
    // The result must load: checked with the environment file it will have.
    let mut vars = env.existing.clone();
    vars.extend(env.added.iter().map(|(k, v, _)| (k.clone(), v.clone())));
    let lookup = |name: &str| std::env::var(name).ok().or_else(|| vars.get(name).cloned());
    if !planned.is_empty()
        && let Err(diagnostics) = crate::config::parse(&new_text, &req.config.display().to_string(), &lookup)
    {
        anyhow::bail!(
            "the imported configuration would not be valid (nothing was written):\n{}",
            diagnostics
                .iter()
                .map(|d| format!("  {d}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    report(out, req, &read, &planned, &already, &skipped, &env, &env_path)?;
    if req.dry_run {
        writeln!(out, "\n(dry run: nothing written)")?;
        write!(out, "{}", crate::install::diff(&req.config, &text, &new_text, true))?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if !env.added.is_empty() {
        append_env(&env_path, &env.added)?;
    }
    if !planned.is_empty() {
        if let Some(dir) = req.config.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if !text.is_empty() {
            crate::install::backup(&req.config)?;
        }
        std::fs::write(&req.config, new_text)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The servers of the requested clients' files.
#[allow(clippy::type_complexity)]
fn gather(req: &Request, places: &Places) -> anyhow::Result<(Vec<Found>, Vec<Skipped>, Vec<(Client, PathBuf)>)> {
    let clients = if req.from.is_empty() {
        Client::ALL.to_vec()
    } else {
        req.from.clone()
    };
    let files: Vec<(Client, PathBuf)> = match &req.file {
        Some(file) => {
            let [client] = clients[..] else {
                anyhow::bail!("--file needs --from CLIENT, the format of the file");
            };
            vec![(client, file.clone())]
        }
        None => clients
            .iter()
            .flat_map(|c| c.files(places).into_iter().map(move |f| (*c, f)))
            .filter(|(_, f)| f.is_file())
            .collect(),
    };
    let (mut found, mut skipped) = (Vec::new(), Vec::new());
    for (client, file) in &files {
        let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        let (f, s) = crate::clients::read(*client, file, &text, places)
            .map_err(|e| anyhow::anyhow!("{} ({}): {e}", file.display(), client.title()))?;
        found.extend(f);
        skipped.extend(s);
    }
    Ok((found, skipped, files))
}

/// The names of the backends the configuration text has now.
fn existing_backends(text: &str, file: &Path) -> anyhow::Result<Vec<String>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let doc = crate::config::load::parse_yaml(text, &file.display().to_string())
        .map_err(|d| anyhow::anyhow!("{}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
    Ok(doc["backends"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["name"].as_str().map(String::from))
        .collect())
}

/// A server's name as a backend name: lower case letters, digits, `-` and single `_`.
pub fn backend_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
            c
        } else {
            '-'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_matches('_');
    let mut out: String = out.chars().take(64).collect();
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() { "server".into() } else { out }
}

/// The backend entry for `f`, its credentials moved to the environment file.
fn entry(name: &str, f: &Found, env: &mut EnvFile, needs: &mut Vec<(String, String)>) -> Value {
    let from = format!("{} server {:?}", f.client.title(), f.name);
    let mut secret = |wanted: &str, t: &Text, env: &mut EnvFile| -> String {
        match t {
            Text::Literal(v) => format!("${{{}}}", env.keep(wanted, v, Some(from.clone()))),
            Text::Refers(text, vars) => {
                for v in vars {
                    let why = f
                        .inputs
                        .iter()
                        .find(|(var, _, _)| var == v)
                        .map(|(_, id, d)| format!("{} input {id:?} ({d}) of {from}", f.client.title()))
                        .unwrap_or_else(|| format!("{from} reads it from the environment"));
                    needs.push((v.clone(), why));
                }
                text.clone()
            }
        }
    };
    let mut e = serde_json::Map::new();
    e.insert("name".into(), json!(name));
    match &f.transport {
        Transport::Command {
            argv,
            env: vars,
            passthrough,
        } => {
            e.insert("transport".into(), json!("command"));
            // A credential in an argument (a password in a URL, the value
            // of --api-key, a token by its well-known prefix) moves too.
            let mut command = Vec::with_capacity(argv.len());
            for (i, arg) in argv.iter().enumerate() {
                let previous = i.checked_sub(1).map(|p| argv[p].as_str());
                match secret_in_arg(previous, arg) {
                    Some((kept, value)) => {
                        let var = secret(&format!("{}_ARG{i}", env_name(name)), &Text::Literal(value), env);
                        command.push(format!("{kept}{var}"));
                    }
                    None => command.push(arg.clone()),
                }
            }
            e.insert("command".into(), json!(command));
            if !vars.is_empty() {
                // Named after the backend: a variable of mcpmux's own
                // environment by the same name (PATH, say) must not win.
                let map: serde_json::Map<String, Value> = vars
                    .iter()
                    .map(|(k, t)| (k.clone(), json!(secret(&env_name(&format!("{name}_{k}")), t, env))))
                    .collect();
                e.insert("env".into(), Value::Object(map));
            }
            if !passthrough.is_empty() {
                e.insert("env_passthrough".into(), json!(passthrough));
            }
        }
        Transport::Http { url, headers } => {
            e.insert("transport".into(), json!("http"));
            let prefix = env_name(name);
            let endpoint = match secret_in_arg(None, url) {
                Some((_, _)) => secret(
                    &format!("{prefix}_ENDPOINT"),
                    &Text::Literal(url.replace("$$", "$")),
                    env,
                ),
                None => url.clone(),
            };
            e.insert("endpoint".into(), json!(endpoint));
            if let Some((header, value)) = headers.first() {
                let bearer = match value {
                    Text::Literal(v) => v.strip_prefix("Bearer ").map(|t| Text::Literal(t.trim().to_string())),
                    Text::Refers(t, vars) => t
                        .strip_prefix("Bearer ")
                        .map(|t| Text::Refers(t.trim().to_string(), vars.clone())),
                };
                let auth = match bearer {
                    Some(token) if header.eq_ignore_ascii_case("authorization") => {
                        json!({"type": "bearer", "token": secret(&format!("{prefix}_TOKEN"), &token, env)})
                    }
                    _ => json!({"type": "header", "header": header,
                                "value": secret(&format!("{prefix}_{}", env_name(header)), value, env)}),
                };
                e.insert("auth".into(), auth);
            }
        }
    }
    if f.allow.is_some() || !f.deny.is_empty() {
        let mut tools = serde_json::Map::new();
        if let Some(a) = &f.allow {
            tools.insert("allow".into(), json!(a));
        }
        if !f.deny.is_empty() {
            tools.insert("deny".into(), json!(f.deny));
        }
        e.insert("tools".into(), Value::Object(tools));
    }
    if let Some(s) = f.timeout_secs {
        e.insert("timeout".into(), json!(format!("{s}s")));
    }
    Value::Object(e)
}

/// Whether a name (a flag, a query parameter) is one credentials go by.
fn secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "credential",
        "pat",
    ]
    .iter()
    .any(|w| {
        n.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|part| part == *w || part.ends_with(w))
    })
}

/// A credential in a command argument or URL (a literal: no `${`), as the
/// part kept in place and the secret raw value; `previous` is the argument before.
fn secret_in_arg(previous: Option<&str>, arg: &str) -> Option<(String, String)> {
    if arg.contains("${") {
        return None;
    }
    let raw = arg.replace("$$", "$");
    // The value of --api-key VALUE, or of --api-key=VALUE.
    if let Some((flag, value)) = raw.split_once('=')
        && flag.starts_with('-')
        && secret_name(flag)
        && !value.is_empty()
    {
        return Some((format!("{}=", flag.replace('$', "$$")), value.to_string()));
    }
    if previous.is_some_and(|p| p.starts_with('-') && !p.contains('=') && secret_name(p)) && !raw.starts_with('-') {
        return Some((String::new(), raw));
    }
    // A URL with a password or a credential in its query.
    if let Ok(url) = url::Url::parse(&raw)
        && url.has_host()
        && (url.password().is_some() || url.query_pairs().any(|(k, _)| secret_name(&k)))
    {
        return Some((String::new(), raw));
    }
    // Tokens by their well-known prefixes.
    let prefixes = ["ghp_", "gho_", "github_pat_", "glpat-", "sk-", "xoxb-", "xoxp-", "AKIA"];
    prefixes
        .iter()
        .any(|p| raw.starts_with(p) && raw.len() >= p.len() + 12)
        .then(|| (String::new(), raw))
}

/// What an entry cannot carry beyond what reading found: headers past the first.
fn dropped(f: &Found) -> Vec<String> {
    let mut d = f.dropped.clone();
    if let Transport::Http { headers, .. } = &f.transport {
        for (h, _) in headers.iter().skip(1) {
            d.push(format!(
                "the header {h} (mcpmux sends one credential header per backend)"
            ));
        }
    }
    d
}

/// The configuration text with `planned` added under `backends:`, the rest
/// (comments included) as it was.
fn with_backends(text: &str, planned: &[Planned]) -> anyhow::Result<String> {
    if planned.is_empty() {
        return Ok(text.to_string());
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == "backends:");
    // The new items are indented like the existing ones (`- ` or `  - `).
    let indent = start
        .and_then(|s| lines[s + 1..].iter().find(|l| l.trim_start().starts_with("- ")))
        .map_or(2, |l| l.len() - l.trim_start().len());
    let pad = " ".repeat(indent);
    let mut block = String::new();
    for p in planned {
        block.push_str(&format!(
            "{pad}# imported from {} ({}: {})\n",
            p.found.client.title(),
            p.found.file.display(),
            p.found.at
        ));
        let yaml = yaml_serde::to_string(&p.entry)?;
        for (i, line) in yaml.lines().enumerate() {
            block.push_str(&pad);
            block.push_str(if i == 0 { "- " } else { "  " });
            block.push_str(line);
            block.push('\n');
        }
    }
    let Some(start) = start else {
        if lines.iter().any(|l| l.starts_with("backends:")) {
            anyhow::bail!(
                "the configuration's backends are not a block list (backends: [...]); write them as one and import again"
            );
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if out.is_empty() {
            out.push_str(
                "# mcpmux configuration: `mcpmux validate` checks it, `mcpmux schema` prints its JSON Schema.\n",
            );
        }
        out.push_str("backends:\n");
        out.push_str(&block);
        return Ok(out);
    };
    // The block ends before the next top-level key (or the end of the file).
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with([' ', '\t', '#', '-']))
        .map_or(lines.len(), |i| start + 1 + i);
    // Trailing blank and comment lines stay with what follows.
    let mut at = end;
    while at > start + 1 && (lines[at - 1].trim().is_empty() || lines[at - 1].starts_with('#')) {
        at -= 1;
    }
    let mut out = String::new();
    for l in &lines[..at] {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&block);
    for l in &lines[at..] {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

/// Appends variables to the environment file, created mode 0600 (and made
/// 0600 if it was not).
fn append_env(path: &Path, vars: &[(String, String, Option<String>)]) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let mut text = String::new();
    // A last line without its newline would run into ours.
    if std::fs::read(path).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n')) {
        text.push('\n');
    }
    for (k, v, comment) in vars {
        if let Some(c) = comment {
            text.push_str(&format!("# {}\n", c.replace(['\n', '\r'], " ")));
        }
        text.push_str(&format!("{k}={}\n", quoted(v)));
    }
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// A value as both systemd's EnvironmentFile and mcpmux read it back
/// unchanged (a line break stays a real one, inside double quotes).
fn quoted(v: &str) -> String {
    if !v.contains(['\'', '\n', '\\']) {
        format!("'{v}'")
    } else {
        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$");
        format!("\"{escaped}\"")
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    out: &mut dyn Write,
    req: &Request,
    read: &[(Client, PathBuf)],
    planned: &[Planned],
    already: &[(String, Found)],
    skipped: &[Skipped],
    env: &EnvFile,
    env_path: &Path,
) -> std::io::Result<()> {
    if read.is_empty() {
        writeln!(
            out,
            "no client configuration found (looked for the files of {})",
            if req.from.is_empty() {
                "every known client".to_string()
            } else {
                req.from.iter().map(|c| c.title()).collect::<Vec<_>>().join(", ")
            }
        )?;
    }
    for (c, f) in read {
        writeln!(out, "read {} ({})", f.display(), c.title())?;
    }
    if planned.is_empty() {
        writeln!(out, "nothing new to import into {}", req.config.display())?;
    } else {
        writeln!(out, "\nadded to {}:", req.config.display())?;
        for p in planned {
            let kind = match &p.found.transport {
                Transport::Command { .. } => "command",
                Transport::Http { .. } => "http",
            };
            writeln!(
                out,
                "  {:<20} {kind:<7} from {} ({})",
                p.name,
                p.found.client.title(),
                p.found.at
            )?;
        }
    }
    for (name, f) in already {
        writeln!(
            out,
            "  {name:<20} already in the configuration; {} ({}) left alone",
            f.client.title(),
            f.at
        )?;
    }
    let copied = |c: &Option<String>| c.as_deref().is_some_and(|c| c.starts_with("copied"));
    let moved: Vec<&str> = env
        .added
        .iter()
        .filter(|(_, v, c)| !v.is_empty() && !copied(c))
        .map(|(k, _, _)| k.as_str())
        .collect();
    if !moved.is_empty() {
        writeln!(
            out,
            "\ncredentials moved to {} (mode 0600): {}",
            env_path.display(),
            moved.join(", ")
        )?;
    }
    let from_shell: Vec<&str> = env
        .added
        .iter()
        .filter(|(_, _, c)| copied(c))
        .map(|(k, _, _)| k.as_str())
        .collect();
    if !from_shell.is_empty() {
        writeln!(
            out,
            "\ncopied from this environment to {} (a daemon does not see it): {}",
            env_path.display(),
            from_shell.join(", ")
        )?;
    }
    let empty: Vec<&(String, String, Option<String>)> = env.added.iter().filter(|(_, v, _)| v.is_empty()).collect();
    if !empty.is_empty() {
        writeln!(
            out,
            "\nneeds a value (set it in {} or the environment):",
            env_path.display()
        )?;
        for (k, _, why) in empty {
            writeln!(
                out,
                "  {k}: {}",
                why.as_deref().unwrap_or_default().trim_start_matches("needs a value: ")
            )?;
        }
    }
    let mut not_carried: Vec<String> = planned
        .iter()
        .flat_map(|p| dropped(&p.found).into_iter().map(move |d| format!("{}: {d}", p.name)))
        .collect();
    not_carried.extend(
        skipped
            .iter()
            .map(|s| format!("{} ({}: {}): {}", s.client.title(), s.file.display(), s.at, s.why)),
    );
    if !not_carried.is_empty() {
        writeln!(out, "\nnot carried over:")?;
        for n in not_carried {
            writeln!(out, "  - {n}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_backend_names() {
        assert_eq!(backend_name("GitHub Server"), "github-server");
        assert_eq!(backend_name("a__b_"), "a_b");
        assert_eq!(backend_name("@scope/pkg"), "-scope-pkg");
        assert_eq!(backend_name("___"), "server");
    }

    fn planned(name: &str) -> Planned {
        Planned {
            name: name.into(),
            found: Found {
                client: Client::Cursor,
                file: "/h/.cursor/mcp.json".into(),
                at: format!("mcpServers.{name}"),
                name: name.into(),
                transport: Transport::Command {
                    argv: vec!["x".into()],
                    env: Vec::new(),
                    passthrough: Vec::new(),
                },
                allow: None,
                deny: Vec::new(),
                timeout_secs: None,
                inputs: Vec::new(),
                dropped: Vec::new(),
            },
            entry: json!({"name": name, "transport": "command", "command": ["x"]}),
        }
    }

    #[test]
    fn new_backends_join_the_list_as_it_is_written() {
        let parse = |t: &str| crate::config::parse(t, "t.yaml", &|_| None).map(|c| c.backends.len());
        for (text, wanted) in [
            // Unindented items, a key after them, a comment between.
            (
                "backends:\n- {name: a, transport: command, command: [x]}\n\n# next\nlisten: {}\n",
                2,
            ),
            // Indented items, at the end of the file.
            (
                "# mine\nbackends:\n  - name: a\n    transport: command\n    command: [x]\n",
                2,
            ),
            // No backends yet.
            ("listen: {}\n", 1),
            ("", 1),
        ] {
            let out = with_backends(text, &[planned("new")]).unwrap();
            assert_eq!(parse(&out).ok(), Some(wanted), "{out}");
            assert!(out.starts_with(text.lines().next().unwrap_or("")), "{out}");
        }
        assert!(with_backends("backends: []\n", &[planned("new")]).is_err());
    }

    #[test]
    fn credentials_in_arguments_are_found() {
        let moved = |prev: Option<&str>, arg: &str| secret_in_arg(prev, arg);
        assert_eq!(
            moved(Some("--api-key"), "abc123"),
            Some((String::new(), "abc123".into()))
        );
        assert_eq!(
            moved(None, "--token=abc123"),
            Some(("--token=".into(), "abc123".into()))
        );
        assert!(moved(None, "postgresql://u:pw@h/db").is_some());
        assert!(moved(None, "https://x.example/mcp?api_key=1").is_some());
        assert!(moved(None, "ghp_abcdefghijklmnop1234").is_some());
        for (prev, arg) in [
            (None, "/Users/x/Desktop"),
            (Some("-y"), "@modelcontextprotocol/server-filesystem"),
            (Some("--port"), "8080"),
            (Some("--api-key"), "${KEY}"),
            (None, "https://x.example/mcp?page=2"),
            (None, "--keyboard=us"),
        ] {
            assert_eq!(moved(prev, arg), None, "{prev:?} {arg}");
        }
    }

    #[test]
    fn env_values_read_back_unchanged() {
        for v in [
            "plain",
            "with $dollar and \"quotes\"",
            "it's",
            "back\\slash",
            "",
            "-----BEGIN KEY-----\nabc$d\n-----END KEY-----",
        ] {
            let line = format!("K={}\n", quoted(v));
            let dir = std::env::temp_dir().join(format!("mcpmux-quoted-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("env"), &line).unwrap();
            let vars = crate::config::env_file_vars(&dir.join("config.yaml")).unwrap();
            assert_eq!(vars.get("K").map(String::as_str), Some(v), "{line}");
        }
    }
}
