//! `mcpmux import` and `mcpmux install`, on sample files of every client
//! format written from each client's published documentation (Claude
//! Code's `~/.claude.json` with per-project servers and its `.mcp.json`,
//! Claude Desktop, Cursor, VS Code's JSONC `mcp.json` with `${input:}` and
//! `cwd`, Codex's `config.toml`, Zed's JSONC settings), in a scratch home:
//! the servers become backends that really serve (real test backends, two
//! of them over HTTP demanding the imported credentials), every credential
//! lands in the 0600 environment file and none in the configuration, what
//! cannot be carried is listed, a second import changes nothing; install
//! edits a client's file in place (comments kept, a backup made),
//! idempotently, shows a diff with --dry-run, and removes imported servers
//! only with --replace.

use std::path::PathBuf;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![trial(
        "import/every_client_format_imported_served_and_installed",
        import_and_install,
    )]
}

const SECRETS: &[&str] = &[
    "sk-literal-secret-1",
    "literal-bearer-2",
    "cursor-key-3",
    "codex-secret-4",
    "arg-secret-5",
];

/// A scratch home with a project directory, and `mcpmux` run inside it.
struct Home {
    root: PathBuf,
}

impl Home {
    fn project(&self) -> PathBuf {
        self.root.join("work/p")
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_default()
    }

    async fn mcpmux(&self, args: &[&str]) -> Result<(i32, String)> {
        let out = mcpmux()
            .args(args)
            .env("HOME", &self.root)
            .env("XDG_CONFIG_HOME", self.root.join(".config"))
            .env("CODEX_HOME", self.root.join(".codex"))
            .env_remove("MCPMUX_CONFIG")
            .current_dir(self.project())
            .stdin(std::process::Stdio::null())
            .output()
            .await?;
        Ok((out.status.code().unwrap_or(-1), output_text(&out)))
    }
}

/// A test backend's command line as a client file writes it: command and args.
fn launch(s: &Scratch, name: &str, args: &[&str]) -> (Value, Value) {
    let entry = s.backend(name, args);
    let argv = entry["command"].as_array().cloned().unwrap_or_default();
    (argv[0].clone(), Value::Array(argv[1..].to_vec()))
}

fn import_and_install() -> Result {
    block_on(async {
        let s = Scratch::new("import");
        let home = Home {
            root: s.dir.join("home"),
        };
        std::fs::create_dir_all(home.project())?;
        let bearer = HttpServer::test_backend(
            &s,
            "remote",
            &["--require-header", "authorization=Bearer literal-bearer-2"],
        )
        .await?;
        let keyed = HttpServer::test_backend(&s, "web", &["--require-header", "x-api-key=cursor-key-3"]).await?;
        let events = s.events().display().to_string();
        let (bin, one_args) = launch(&s, "one", &[]);
        // A credential as a command argument, too.
        let (_, two_args) = launch(&s, "two", &["--api-key", SECRETS[4]]);
        let (_, vsc_args) = launch(&s, "vsc", &[]);
        let (_, codex_args) = launch(&s, "codex-one", &["--tools", "3"]);
        let (_, zed_args) = launch(&s, "zed-one", &[]);
        let project = home.project().display().to_string();
        // Claude Code: user servers and a project's, in ~/.claude.json (with
        // the other state that file holds), and the project's .mcp.json.
        home.write(
            ".claude.json",
            &serde_json::to_string_pretty(&json!({
                "numStartups": 7,
                "mcpServers": {"One": {"type": "stdio", "command": bin, "args": one_args,
                    "env": {"API_KEY": SECRETS[0], "MCPMUX_TEST_BACKEND": "1", "MCPMUX_TEST_EVENTS": events}}},
                "projects": {project.clone(): {"allowedTools": [], "mcpServers": {
                    "remote": {"type": "http", "url": bearer.url, "headers": {"Authorization": format!("Bearer {}", SECRETS[1])}}}}},
            }))?,
        );
        home.write(
            "work/p/.mcp.json",
            &serde_json::to_string_pretty(&json!({"mcpServers": {"two": {"command": bin, "args": two_args,
                "env": {"MY_TOKEN": "${MY_TOKEN}", "MCPMUX_TEST_BACKEND": "1", "MCPMUX_TEST_EVENTS": events}}}}))?,
        );
        // Claude Desktop: the same server as Claude Code's (imported once).
        home.write(
            ".config/Claude/claude_desktop_config.json",
            &serde_json::to_string_pretty(&json!({"mcpServers": {"One": {"command": bin, "args": one_args,
                "env": {"API_KEY": SECRETS[0], "MCPMUX_TEST_BACKEND": "1", "MCPMUX_TEST_EVENTS": events}}}}))?,
        );
        // Cursor: a remote server with a custom header.
        home.write(
            ".cursor/mcp.json",
            &serde_json::to_string_pretty(
                &json!({"mcpServers": {"web": {"url": keyed.url, "headers": {"X-Api-Key": SECRETS[2]}}}}),
            )?,
        );
        // VS Code: JSONC, an input prompt, a working directory.
        home.write(
            "work/p/.vscode/mcp.json",
            &format!(
                r#"{{
  // Ask for the key once; VS Code keeps it.
  "inputs": [
    {{"type": "promptString", "id": "api-key", "description": "Your API key", "password": true}},
  ],
  "servers": {{
    "vsc": {{
      "type": "stdio",
      "command": {bin},
      "args": {vsc_args},
      "cwd": "${{workspaceFolder}}",
      "env": {{"KEY": "${{input:api-key}}", "MCPMUX_TEST_BACKEND": "1", "MCPMUX_TEST_EVENTS": {events:?}}},
    }},
  }},
}}
"#
            ),
        );
        // Codex: TOML, tool filters, a timeout, a disabled server.
        let toml_args: Vec<String> = codex_args.as_array().unwrap().iter().map(|a| a.to_string()).collect();
        home.write(
            ".codex/config.toml",
            &format!(
                "model = \"o3\"\n\n[mcp_servers.codex-one]\ncommand = {bin}\nargs = [{}]\ntool_timeout_sec = 30\n\
                 enabled_tools = [\"t000\", \"echo\"]\n\n[mcp_servers.codex-one.env]\nX = \"{}\"\nMCPMUX_TEST_BACKEND = \"1\"\n\
                 MCPMUX_TEST_EVENTS = {events:?}\n\n[mcp_servers.off]\ncommand = \"x\"\nenabled = false\n",
                toml_args.join(", "),
                SECRETS[3]
            ),
        );
        // Zed: JSONC settings with a custom server and an extension's.
        home.write(
            ".config/zed/settings.json",
            &format!(
                "// Zed settings\n{{\n  \"theme\": \"One Dark\",\n  \"context_servers\": {{\n    \"zed-one\": {{\"source\": \"custom\", \"command\": {bin}, \"args\": {zed_args}, \
                 \"env\": {{\"MCPMUX_TEST_BACKEND\": \"1\", \"MCPMUX_TEST_EVENTS\": {events:?}}}}},\n    \"ext\": {{\"source\": \"extension\", \"settings\": {{}}}},\n  }},\n}}\n"
            ),
        );
        // An existing mcpmux configuration, with a comment and a listen section.
        let config_rel = ".config/mcpmux/config.yaml";
        home.write(
            config_rel,
            "# my mcpmux\nlisten:\n  transport: http\n  address: 127.0.0.1:18080\nbackends:\n  # already here\n  - name: local\n    transport: command\n    command: [\"true\"]\n\nconnect_retry:\n  attempt_timeout: 20s\n",
        );
        let before = home.read(config_rel);

        // A dry run writes nothing and shows the diff.
        let (code, out) = home.mcpmux(&["import", "--dry-run"]).await?;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("+  - name: one") && out.contains("(dry run"), "{out}");
        assert_eq!(home.read(config_rel), before);
        assert!(!home.root.join(".config/mcpmux/env").exists());

        let (code, out) = home.mcpmux(&["import"]).await?;
        assert_eq!(code, 0, "{out}");
        for f in [
            ".claude.json",
            ".mcp.json",
            "claude_desktop_config.json",
            ".cursor/mcp.json",
            ".vscode/mcp.json",
            "config.toml",
            "zed/settings.json",
        ] {
            assert!(out.contains(f), "{f} not read: {out}");
        }
        for line in [
            "MY_TOKEN: Claude Code server \"two\" reads it from the environment",
            "VSC_API_KEY: VS Code input \"api-key\" (Your API key)",
            "vsc: cwd",
            "off): disabled in the client",
            "ext): provided by a Zed extension",
        ] {
            assert!(out.contains(line), "{line:?} missing: {out}");
        }
        for secret in SECRETS {
            assert!(!out.contains(secret), "{secret} shown: {out}");
        }
        let config = home.read(config_rel);
        assert!(
            config.starts_with("# my mcpmux\n") && config.contains("  # already here\n"),
            "{config}"
        );
        assert!(config.contains("connect_retry:\n  attempt_timeout: 20s"), "{config}");
        for secret in SECRETS {
            assert!(!config.contains(secret), "{secret} in the configuration: {config}");
        }
        let env_path = home.root.join(".config/mcpmux/env");
        let env = std::fs::read_to_string(&env_path)?;
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&env_path)?.permissions().mode() & 0o777, 0o600);
        for secret in SECRETS {
            assert!(env.contains(secret), "{secret} not in the env file: {env}");
        }
        assert!(
            env.contains("\nVSC_API_KEY=''") || env.starts_with("VSC_API_KEY=''"),
            "{env}"
        );
        assert!(std::path::Path::new(&format!("{}.mcpmux-backup", home.root.join(config_rel).display())).exists());

        // The result validates at once and serves: every backend ready, the
        // HTTP ones with the credentials they demand, Codex's filter kept.
        let config_path = home.root.join(config_rel);
        let (code, out) = home
            .mcpmux(&["validate", "-c", &config_path.display().to_string()])
            .await?;
        assert_eq!(code, 0, "{out}");
        // The existing `local` runs `true`: list the rest without it.
        let mut doc: Value = yaml_serde::from_str(&home.read(config_rel))?;
        doc["backends"].as_array_mut().unwrap().retain(|b| b["name"] != "local");
        let served = s.dir.join("served/config.yaml");
        std::fs::create_dir_all(served.parent().unwrap())?;
        std::fs::write(&served, yaml_serde::to_string(&doc)?)?;
        std::fs::copy(&env_path, served.with_file_name("env"))?;
        let listing = list_json(&served).await?;
        assert_eq!(listing.code, Some(0), "{}", listing.output);
        for b in ["one", "two", "remote", "web", "vsc", "codex-one", "zed-one"] {
            assert!(listing.status(b).starts_with("ready"), "{b}: {}", listing.output);
        }
        let mut codex: Vec<&String> = listing.tools.iter().filter(|t| t.starts_with("codex-one__")).collect();
        codex.sort();
        assert_eq!(codex, ["codex-one__echo", "codex-one__t000"]);
        assert!(
            listing.has_tool("remote__echo") && listing.has_tool("web__echo"),
            "{}",
            listing.output
        );

        // A second import finds nothing new and changes nothing.
        let config_now = home.read(config_rel);
        let env_now = std::fs::read_to_string(&env_path)?;
        let (code, out) = home.mcpmux(&["import"]).await?;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("nothing new to import"), "{out}");
        assert!(
            out.contains("two                  already in the configuration"),
            "{out}"
        );
        assert_eq!(
            (home.read(config_rel), std::fs::read_to_string(&env_path)?),
            (config_now, env_now)
        );

        install(&home).await?;
        Ok(())
    })
}

async fn install(home: &Home) -> Result {
    let claude = home.read(".claude.json");
    // Dry run: a diff, nothing written.
    let (code, out) = home
        .mcpmux(&["install", "--client", "claude-code", "--dry-run"])
        .await?;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("+  \"mcpServers\"") || out.contains("+    \"mcpmux\""),
        "{out}"
    );
    assert_eq!(home.read(".claude.json"), claude);
    // Installed: the daemon's URL, the rest of the file as it was, a backup.
    let (code, out) = home.mcpmux(&["install", "--client", "claude-code"]).await?;
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&home.read(".claude.json"))?;
    assert_eq!(
        doc["mcpServers"]["mcpmux"],
        json!({"type": "http", "url": "http://127.0.0.1:18080/mcp"})
    );
    assert_eq!(doc["numStartups"], 7);
    assert!(
        doc["mcpServers"]["One"].is_object(),
        "nothing is removed without --replace"
    );
    assert_eq!(
        std::fs::read_to_string(home.root.join(".claude.json.mcpmux-backup"))?,
        claude
    );
    // Again: nothing to do.
    let installed = home.read(".claude.json");
    let (code, out) = home.mcpmux(&["install", "--client", "claude-code"]).await?;
    assert_eq!((code, home.read(".claude.json")), (0, installed), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    // --replace: the imported servers go, user's and project's.
    let (code, out) = home
        .mcpmux(&["install", "--client", "claude-code", "--replace"])
        .await?;
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&home.read(".claude.json"))?;
    let project = home.project().display().to_string();
    assert!(doc["mcpServers"].get("One").is_none(), "{doc}");
    assert!(doc["projects"][&project]["mcpServers"].get("remote").is_none(), "{doc}");
    assert!(doc["mcpServers"]["mcpmux"].is_object());
    // A client that only launches commands: `mcpmux connect`; Zed's
    // comments kept; Codex's TOML kept.
    for (client, file) in [
        ("claude-desktop", ".config/Claude/claude_desktop_config.json"),
        ("zed", ".config/zed/settings.json"),
        ("codex", ".codex/config.toml"),
    ] {
        let (code, out) = home.mcpmux(&["install", "--client", client]).await?;
        assert_eq!(code, 0, "{client}: {out}");
        let text = home.read(file);
        assert!(text.contains("connect") && text.contains("mcpmux"), "{client}: {text}");
        if client == "zed" {
            assert!(
                text.starts_with("// Zed settings") && text.contains("\"theme\": \"One Dark\""),
                "{text}"
            );
        }
        if client == "codex" {
            assert!(
                text.starts_with("model = \"o3\"") && text.contains("[mcp_servers.mcpmux]"),
                "{text}"
            );
        }
    }
    Ok(())
}
