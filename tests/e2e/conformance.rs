//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! installed by `scripts/test-deps` with the Node 22 its CLI needs) run
//! against the reference backend (`reference`): directly, where every active
//! server scenario must pass, and — once mcpmux carries resources, prompts,
//! completions, logging, sampling and elicitation — through mcpmux, where a
//! transparent proxy must score exactly the same. Where a scenario accepts
//! too much (any text, any `isError`, any non-empty answer), the exact
//! contents are checked here with rmcp clients. The suite's client auth
//! scenarios (all but the extensions) run against `mcpmux probe`.

// Sampling, which the suite tests, is deprecated in rmcp by SEP-2577.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;
use rmcp::model::{
    CallToolResult, ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, ElicitationAction, GetPromptRequestParams, Implementation, ProtocolVersion,
    ReadResourceRequestParams, ResourceContents, SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData, RoleClient};
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("conformance/direct", direct),
        trial("conformance/through-mcpmux-command", through_mcpmux_command),
        trial("conformance/through-mcpmux-http", through_mcpmux_http),
        trial("conformance/auth-client-probe", auth_client),
    ]
}

/// The suite's client auth scenarios that are not extensions (2025-11-25,
/// 2025-03-26 and draft), plus the client credentials extension with a
/// client secret, each run against `mcpmux probe` — mcpmux's own backend
/// client stack with its OAuth — through `tests/conformance/probe-client.sh`.
/// Not run: the private-key-JWT client credentials and cross-app access
/// extensions (mcpmux implements neither).
const AUTH_CLIENT: &[&str] = &[
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-basic",
];

/// Every non-extension client auth scenario passes against `mcpmux probe`:
/// discovery variants, CIMD, dynamic and pre-registration, scope selection
/// and step-up with its retry limit, the token endpoint's auth methods with
/// the resource parameter, the 2025-03-26 fallbacks, a resource mismatch
/// refused, offline access. The suite's authorization server approves at
/// once; `$BROWSER` (tests/conformance/browser.py) fetches the
/// authorization URL as a browser would and lands on mcpmux's callback.
fn auth_client() -> Result {
    block_on(async {
        let s = Scratch::new("conformance-auth");
        let (node, cli) = suite()?;
        let out_dir = s.dir.join("results");
        let started = Instant::now();
        let mut outputs = String::new();
        for scenario in AUTH_CLIENT {
            let output = tokio::time::timeout(
                Duration::from_secs(90),
                tokio::process::Command::new(&node)
                    .arg(&cli)
                    .args(["client", "--scenario", scenario, "--timeout", "60000", "--command"])
                    .arg(root().join("tests/conformance/probe-client.sh"))
                    .arg("-o")
                    .arg(&out_dir)
                    .env("MCPMUX", env!("CARGO_BIN_EXE_mcpmux"))
                    .env("BROWSER", root().join("tests/conformance/browser.py"))
                    .env("XDG_STATE_HOME", s.dir.join("state"))
                    .env("MCPMUX_LOG", "info")
                    .stdin(Stdio::null())
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .map_err(|_| format!("{scenario}: the conformance suite did not finish within 90 s"))??;
            outputs.push_str(&format!(
                "=== {scenario}\n{}{}",
                summary(&String::from_utf8_lossy(&output.stdout)),
                tail(&String::from_utf8_lossy(&output.stderr), 10)
            ));
        }
        let results = read_results_in(&out_dir.join("auth"), "", "auth/")?;
        let mut problems = Vec::new();
        for scenario in AUTH_CLIENT {
            problems.extend(scenario_problems(scenario, results.get(*scenario)));
        }
        if !problems.is_empty() {
            return Err(format!(
                "{} problem(s) in the client auth scenarios against mcpmux probe ({:.1?}):\n  {}\n--- suite output ---\n{outputs}",
                problems.len(),
                started.elapsed(),
                problems.join("\n  "),
            )
            .into());
        }
        Ok(())
    })
}

/// Scenarios that do not pass through mcpmux yet, and why. Each must fail
/// (a scenario that starts passing must leave this list), every other one
/// must pass: the baseline only shrinks.
const NOT_YET_THROUGH_MCPMUX: &[(&str, &str)] = &[];

/// The active server scenarios of the pinned suite (0.1.16,
/// `tests/conformance/package.json`): `conformance list --server` without
/// the pending `json-schema-2020-12` and `server-sse-polling`.
const ACTIVE: &[&str] = &[
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
];

/// The suite, directly against the reference backend over HTTP.
fn direct() -> Result {
    block_on(async {
        let s = Scratch::new("conformance-direct");
        let reference = ReferenceHttp::start().await?;
        suite_and_exact_contents(&s, &reference.url, &[]).await
    })
}

/// The suite against mcpmux, in front of the reference backend as a command
/// (this binary with `--stdio`), exposed unprefixed.
fn through_mcpmux_command() -> Result {
    block_on(async {
        let s = Scratch::new("conformance-mux-command");
        let backend = json!({
            "name": "reference",
            "prefix": "",
            "transport": "command",
            "command": [std::env::current_exe()?.display().to_string(), "--stdio"],
            "env": { "MCPMUX_TEST_BACKEND": "reference" },
        });
        through_mcpmux(&s, backend).await
    })
}

/// The suite against mcpmux, in front of the reference backend over HTTP,
/// exposed unprefixed.
fn through_mcpmux_http() -> Result {
    block_on(async {
        let s = Scratch::new("conformance-mux-http");
        let reference = ReferenceHttp::start().await?;
        let backend = json!({
            "name": "reference",
            "prefix": "",
            "transport": "http",
            "endpoint": reference.url,
        });
        through_mcpmux(&s, backend).await
    })
}

async fn through_mcpmux(s: &Scratch, backend: Value) -> Result {
    let config = s.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0" },
        "backends": [backend],
    }));
    let mux = MuxHttp::start(&config).await?;
    let not_yet: Vec<&str> = NOT_YET_THROUGH_MCPMUX.iter().map(|(s, _)| *s).collect();
    let result = suite_and_exact_contents(s, &mux.url, &not_yet).await;
    with_log(result, &mux)
}

/// The suite, then the exact contents; fails with what either found wrong.
async fn suite_and_exact_contents(s: &Scratch, url: &str, not_yet: &[&str]) -> Result {
    let server_requests = !not_yet.contains(&"tools-call-sampling");
    let problems: Vec<String> = [
        run_suite(s, url, not_yet).await,
        exact_contents(url, server_requests)
            .await
            .map_err(|e| format!("exact contents against {url}: {e}").into()),
    ]
    .into_iter()
    .filter_map(|r| r.err().map(|e| e.to_string()))
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n\n").into())
    }
}

/// The reference backend serving streamable HTTP; killed when dropped.
struct ReferenceHttp;

impl ReferenceHttp {
    async fn start() -> Result<HttpServer> {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.env("MCPMUX_TEST_BACKEND", "reference");
        HttpServer::announced(cmd).await
    }
}

/// The suite's installation by `scripts/test-deps`: its Node 22 and its CLI.
fn suite() -> Result<(PathBuf, PathBuf)> {
    let dir = root().join(".cache/conformance/node_modules");
    let node = dir.join(".bin/node");
    let cli = dir.join("@modelcontextprotocol/conformance/dist/index.js");
    for path in [&node, &cli] {
        if !path.exists() {
            return Err(format!(
                "{} is missing: run scripts/test-deps (scripts/test does)",
                path.display()
            )
            .into());
        }
    }
    Ok((node, cli))
}

/// Runs the active server suite against `url` and fails, naming each failing
/// scenario with its failing checks, unless every active scenario ran and
/// every one of its checks succeeded (a WARNING counts as a failure).
async fn run_suite(s: &Scratch, url: &str, not_yet: &[&str]) -> Result {
    let (node, cli) = suite()?;
    let out_dir = s.dir.join("conformance-results");
    let started = Instant::now();
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(&node)
            .arg(&cli)
            .args(["server", "--url", url, "--suite", "active", "-o"])
            .arg(&out_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "the conformance suite did not finish within 180 s")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let results = read_results(&out_dir)?;

    let mut problems = Vec::new();
    for scenario in ACTIVE {
        if not_yet.contains(scenario) {
            let failed = results.get(*scenario).is_some_and(|checks| {
                checks
                    .iter()
                    .any(|c| !matches!(c["status"].as_str(), Some("SUCCESS" | "INFO")))
            });
            if !failed {
                problems.push(format!("{scenario}: passes now; take it out of NOT_YET_THROUGH_MCPMUX"));
            }
            continue;
        }
        problems.extend(scenario_problems(scenario, results.get(*scenario)));
    }
    for scenario in results.keys() {
        if !ACTIVE.contains(&scenario.as_str()) {
            problems.push(format!("{scenario}: ran but is not in the expected active list"));
        }
    }
    if !output.status.success() && problems.is_empty() && not_yet.is_empty() {
        problems.push(format!("the CLI exited with {}", output.status));
    }
    if !problems.is_empty() {
        return Err(format!(
            "{} problem(s) in the conformance suite against {url} ({:.1?}):\n  {}\n--- suite output ---\n{}{}",
            problems.len(),
            started.elapsed(),
            problems.join("\n  "),
            summary(&stdout),
            match tail(&stderr, 30).trim() {
                "" => String::new(),
                t => format!("\n--- suite stderr ---\n{t}"),
            },
        )
        .into());
    }
    Ok(())
}

/// The CLI's summary (one line per scenario), or the end of its output.
fn summary(stdout: &str) -> String {
    match stdout.find("=== SUMMARY ===") {
        Some(at) => stdout[at..].trim_end().to_string(),
        None => tail(stdout, 40),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Each scenario's checks, from the `<dir>/server-<scenario>-<timestamp>/checks.json`
/// files the CLI writes.
/// What is wrong with one scenario's results: it did not run, it made no
/// checks, or a check is neither SUCCESS nor INFO (a WARNING counts).
fn scenario_problems(scenario: &str, checks: Option<&Vec<Value>>) -> Vec<String> {
    match checks {
        None => vec![format!("{scenario}: did not run")],
        Some(checks) if checks.is_empty() => vec![format!("{scenario}: no checks")],
        Some(checks) => checks
            .iter()
            .filter(|c| !matches!(c["status"].as_str(), Some("SUCCESS" | "INFO")))
            .map(|c| {
                format!(
                    "{scenario}: {} {}: {}{}",
                    c["id"].as_str().unwrap_or("?"),
                    c["status"].as_str().unwrap_or("?"),
                    c["description"].as_str().unwrap_or(""),
                    c["errorMessage"]
                        .as_str()
                        .map(|e| format!(" — {e}"))
                        .unwrap_or_default(),
                )
            })
            .collect(),
    }
}

fn read_results(dir: &Path) -> Result<BTreeMap<String, Vec<Value>>> {
    read_results_in(dir, "server-", "")
}

/// The results under `dir` whose directory names start with `prefix`, keyed
/// by scenario name (`name_prefix` + the name between prefix and timestamp).
fn read_results_in(dir: &Path, prefix: &str, name_prefix: &str) -> Result<BTreeMap<String, Vec<Value>>> {
    // The suffix is an ISO timestamp with ':' and '.' replaced: -2025-01-01T00-00-00-000Z.
    const STAMP: usize = "-2025-01-01T00-00-00-000Z".len();
    let mut results = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("no results in {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let scenario = rest
            .get(..rest.len().saturating_sub(STAMP))
            .ok_or(format!("unexpected result directory {name}"))?;
        let checks: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(entry.path().join("checks.json"))?)?;
        results.insert(format!("{name_prefix}{scenario}"), checks);
    }
    Ok(results)
}

/// Exact contents where the suite accepts too much: it passes
/// `tools-call-simple-text` on any text, `tools-call-error` on any
/// `isError: true` (a "tool not found" passes both), sampling and elicitation
/// on any non-empty answer, and reads and prompts that merely contain the
/// arguments.
async fn exact_contents(url: &str, server_requests: bool) -> Result {
    let client = connect_http(url, Era::Legacy).await?;
    let r = call(&client, "test_simple_text", json!({})).await?;
    expect_texts(&r, false, &["This is a simple text response for testing."])?;
    let r = call(&client, "test_error_handling", json!({})).await?;
    expect_texts(&r, true, &["This tool intentionally returns an error for testing"])?;

    let read = client
        .peer()
        .read_resource(ReadResourceRequestParams::new("test://template/123/data"))
        .await?;
    match read.contents.as_slice() {
        [
            ResourceContents::TextResourceContents {
                uri, mime_type, text, ..
            },
        ] if uri == "test://template/123/data"
            && mime_type.as_deref() == Some("application/json")
            && text == r#"{"id":"123","templateTest":true,"data":"Data for ID: 123"}"# => {}
        other => return Err(format!("test://template/123/data read as {other:?}").into()),
    }
    let mut get = GetPromptRequestParams::new("test_prompt_with_arguments");
    get.arguments = json!({ "arg1": "hello", "arg2": "world" }).as_object().cloned();
    let prompt = client.peer().get_prompt(get).await?;
    let texts: Vec<_> = prompt
        .messages
        .iter()
        .map(|m| m.content.as_text().map(|t| t.text.as_str()))
        .collect();
    if texts != [Some("Prompt with arguments: arg1='hello', arg2='world'")] {
        return Err(format!("test_prompt_with_arguments gave {:?}", prompt.messages).into());
    }
    client.cancel().await?;
    if !server_requests {
        return Ok(());
    }

    // Sampling and elicitation, answered by a client that records what it was asked.
    let answerer = Answerer::default();
    let client = answerer
        .clone()
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_uri(url.to_string()),
            ClientLifecycleMode::Initialize,
        )
        .await?;
    let sampled = client
        .peer()
        .call_tool(
            rmcp::model::CallToolRequestParams::new("test_sampling").with_arguments(
                json!({ "prompt": "Test prompt for sampling" })
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await?;
    expect_texts(
        &sampled,
        false,
        &["LLM response: This is a test response from the client"],
    )?;
    let elicited = client
        .peer()
        .call_tool(
            rmcp::model::CallToolRequestParams::new("test_elicitation").with_arguments(
                json!({ "message": "Please provide your information" })
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
        )
        .await?;
    expect_texts(
        &elicited,
        false,
        &[r#"User response: action=accept, content={"username":"testuser","email":"test@example.com"}"#],
    )?;
    client.cancel().await?;

    let asked = answerer.asked.lock().unwrap().clone();
    let expected = [
        json!({
            "sampling": {
                "messages": [{ "role": "user", "content": { "type": "text", "text": "Test prompt for sampling" } }],
                "maxTokens": 100,
            },
        }),
        json!({
            "elicitation": {
                "mode": "form",
                "message": "Please provide your information",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" },
                    },
                    "required": ["username", "email"],
                },
            },
        }),
    ];
    if asked != expected {
        return Err(format!(
            "the client was asked\n{}\ninstead of\n{}",
            serde_json::to_string_pretty(&asked)?,
            serde_json::to_string_pretty(&expected)?
        )
        .into());
    }
    Ok(())
}

/// `r` is (or is not) an error and its content is exactly these text blocks.
fn expect_texts(r: &CallToolResult, is_error: bool, texts: &[&str]) -> Result {
    let got: Vec<Option<&str>> = r.content.iter().map(|c| c.as_text().map(|t| t.text.as_str())).collect();
    let want: Vec<Option<&str>> = texts.iter().map(|t| Some(*t)).collect();
    if r.is_error.unwrap_or(false) != is_error || got != want {
        return Err(format!("expected isError {is_error} and texts {texts:?}, got {r:?}").into());
    }
    Ok(())
}

/// A client that answers sampling and elicitation as the suite's client does
/// and records each request's parameters (without `_meta`).
#[derive(Clone, Default)]
struct Answerer {
    asked: Arc<Mutex<Vec<Value>>>,
}

impl Answerer {
    fn record(&self, kind: &str, params: impl serde::Serialize) {
        let mut params = serde_json::to_value(params).unwrap_or_default();
        if let Some(map) = params.as_object_mut() {
            map.remove("_meta");
        }
        self.asked.lock().unwrap().push(json!({ kind: params }));
    }
}

impl ClientHandler for Answerer {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities =
            serde_json::from_value(json!({ "sampling": {}, "elicitation": {} })).unwrap();
        ClientConfig::new(capabilities, Implementation::new("e2e-conformance-client", "1.0.0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _: RequestContext<RoleClient>,
    ) -> std::result::Result<CreateMessageResult, ErrorData> {
        self.record("sampling", &params);
        let mut result = CreateMessageResult::new(
            SamplingMessage::assistant_text("This is a test response from the client"),
            "test-model".into(),
        );
        result.stop_reason = Some(CreateMessageResult::STOP_REASON_END_TURN.into());
        Ok(result)
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _: RequestContext<RoleClient>,
    ) -> std::result::Result<ElicitResult, ErrorData> {
        self.record("elicitation", &params);
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(json!({ "username": "testuser", "email": "test@example.com" }));
        Ok(result)
    }
}
