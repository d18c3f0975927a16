//! The client × backend interop matrix (issue 6): four clients — rmcp in
//! each protocol era and the official Python SDK's `Client` in its "legacy"
//! and default "auto" (2026-07-28) modes — each against one mcpmux (HTTP
//! front) in front of seven backends: rmcp test backends of each era over
//! stdio and HTTP, the Python SDK's server (`py_backend.py`) over stdio and
//! HTTP, and the npm "everything" server over stdio. Every cell is checked:
//! the paginated catalog, a call, progress, cancellation, a list change and a
//! passed-through JSON-RPC error; the two Python rows (issue 7) also check
//! prompts, resources and templates under their public `mcpmux://` URIs,
//! completions, and a backend asking the client for sampling and elicitation
//! mid-call. Only the cells in `EXPECTED_EXCEPTIONS` are skipped, with their
//! reason. One trial per client reports every failing cell as
//! `client × backend: check: why`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use libtest_mimic::Trial;
use rmcp::model::{CallToolRequestParams, PaginatedRequestParams};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("matrix/rmcp-legacy", || row(CLIENTS[0], true)),
        trial("matrix/rmcp-modern", || row(CLIENTS[1], true)),
        trial("matrix/python-legacy", || row(CLIENTS[2], true)),
        trial("matrix/python-auto", || row(CLIENTS[3], true)),
        // The 2025-11-25 rows again with every call through rmcp's session
        // layer (MCPMUX_LANE=0), the path the fast lane leaves to rmcp.
        trial("matrix/rmcp-legacy-no-lane", || row(CLIENTS[0], false)),
        trial("matrix/python-legacy-no-lane", || row(CLIENTS[2], false)),
    ]
}

/// mcpmux's page size: small, so every backend's tools span pages.
const PAGE_SIZE: usize = 7;
/// Generated tools (`t000`...) of each rmcp and Python backend.
const GENERATED: usize = 5;
/// Progress steps asked of every backend.
const STEPS: u64 = 5;
/// How long a cell waits for what it expects to arrive (progress, a
/// cancellation, a list change).
const WAIT: Duration = Duration::from_secs(5);
/// How long the client waits for every backend to be listed at first.
const STARTUP: Duration = Duration::from_secs(25);
/// JSON-RPC's invalid params, which both test backends' `fail` raise.
const INVALID_PARAMS: i64 = -32602;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    Rmcp(Era),
    /// The Python SDK's `Client(mode=...)`.
    Python(&'static str),
}

const CLIENTS: [ClientKind; 4] = [
    ClientKind::Rmcp(Era::Legacy),
    ClientKind::Rmcp(Era::Modern),
    ClientKind::Python("legacy"),
    ClientKind::Python("auto"),
];

impl ClientKind {
    fn label(self) -> &'static str {
        match self {
            ClientKind::Rmcp(Era::Legacy) => "rmcp-legacy",
            ClientKind::Rmcp(Era::Modern) => "rmcp-modern",
            ClientKind::Python("legacy") => "python-legacy",
            ClientKind::Python(_) => "python-auto",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// This binary as the rmcp test backend (backend.rs).
    Rmcp,
    /// tests/e2e/py_backend.py.
    Python,
    /// The npm reference server.
    Everything,
}

#[derive(Debug, Clone, Copy)]
struct Backend {
    name: &'static str,
    kind: Kind,
}

const BACKENDS: [Backend; 7] = [
    Backend {
        name: "rmcp-legacy-stdio",
        kind: Kind::Rmcp,
    },
    Backend {
        name: "rmcp-legacy-http",
        kind: Kind::Rmcp,
    },
    Backend {
        name: "rmcp-modern-stdio",
        kind: Kind::Rmcp,
    },
    Backend {
        name: "rmcp-modern-http",
        kind: Kind::Rmcp,
    },
    Backend {
        name: "py-stdio",
        kind: Kind::Python,
    },
    Backend {
        name: "py-http",
        kind: Kind::Python,
    },
    Backend {
        name: "everything",
        kind: Kind::Everything,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    Catalog,
    Call,
    Progress,
    Cancel,
    ListChange,
    Error,
    Prompt,
    Resource,
    Complete,
    Ask,
}

const CHECKS: [Check; 10] = [
    Check::Catalog,
    Check::Call,
    Check::Progress,
    Check::Cancel,
    Check::ListChange,
    Check::Error,
    Check::Prompt,
    Check::Resource,
    Check::Complete,
    Check::Ask,
];

/// The checks of a client's row: every one for the Python SDK's client; the
/// first six (a to f) for rmcp's.
fn checks(client: ClientKind) -> &'static [Check] {
    match client {
        ClientKind::Rmcp(_) => &CHECKS[..6],
        ClientKind::Python(_) => &CHECKS,
    }
}

impl Check {
    fn label(self) -> &'static str {
        match self {
            Check::Catalog => "a.catalog",
            Check::Call => "b.call",
            Check::Progress => "c.progress",
            Check::Cancel => "d.cancel",
            Check::ListChange => "e.list-change",
            Check::Error => "f.error",
            Check::Prompt => "g.prompt",
            Check::Resource => "h.resource",
            Check::Complete => "i.complete",
            Check::Ask => "j.ask",
        }
    }

    /// The key of the cell in the Python client's spec and output.
    fn key(self) -> &'static str {
        match self {
            Check::Catalog => "catalog",
            Check::Call => "call",
            Check::Progress => "progress",
            Check::Cancel => "cancel",
            Check::ListChange => "list_change",
            Check::Error => "error",
            Check::Prompt => "prompt",
            Check::Resource => "resource",
            Check::Complete => "complete",
            Check::Ask => "ask",
        }
    }
}

/// The cells no client can show, and why: they are skipped, and only they.
const EXPECTED_EXCEPTIONS: &[(&str, Check, &str)] = &[
    (
        "everything",
        Check::Cancel,
        "the npm server's only long-running tool (trigger-long-running-operation) ignores cancellation: it never \
         looks at the request's abort signal, so nothing it does can show that a cancellation reached it",
    ),
    (
        "everything",
        Check::ListChange,
        "the npm server announces its one list change (its client-dependent tools) right after its handshake; no \
         tool of it adds or removes a tool later, so no list change can be triggered",
    ),
    (
        "everything",
        Check::Error,
        "the npm server's McpServer (TS SDK 1.32.2) turns every tool failure, unknown arguments included, into an \
         isError result; its one exception (URL elicitation required, -32042) belongs to a tool it registers only \
         for clients that declare URL elicitation, which mcpmux does not",
    ),
    (
        "everything",
        Check::Prompt,
        "the npm server's prompts (simple-prompt, args-prompt, ...) are its own, not the test backends' `greet` \
         with its embedded `test://<name>/static` that this cell checks",
    ),
    (
        "everything",
        Check::Resource,
        "the npm server's resources (demo://resource/...) are its own, not the test backends' \
         `test://<name>/static` and `test://<name>/item/{id}` that this cell checks",
    ),
    (
        "everything",
        Check::Complete,
        "the npm server completes its own prompt and template arguments, not the test backends' `greet`/`who` and \
         `item/{id}` that this cell checks",
    ),
    (
        "everything",
        Check::Ask,
        "the npm server has no tool that asks for sampling and an elicitation in one call and echoes both answers",
    ),
    (
        "py-stdio",
        Check::Ask,
        "py_backend.py has no tool that asks the client for sampling or an elicitation",
    ),
    (
        "py-http",
        Check::Ask,
        "py_backend.py has no tool that asks the client for sampling or an elicitation",
    ),
];

fn exception(backend: &str, check: Check) -> Option<&'static str> {
    EXPECTED_EXCEPTIONS
        .iter()
        .find(|(b, c, _)| *b == backend && *c == check)
        .map(|(_, _, why)| *why)
}

/// The tools of the npm "everything" server 2026.8.31 offered to a client
/// with sampling, elicitation and roots — mcpmux offers all three, so the
/// server also shows the four tools that need them.
const EVERYTHING_TOOLS: &[&str] = &[
    "get-roots-list",
    "trigger-elicitation-request",
    "trigger-url-elicitation",
    "trigger-sampling-request",
    "echo",
    "get-annotated-message",
    "get-env",
    "get-resource-links",
    "get-resource-reference",
    "get-structured-content",
    "get-sum",
    "get-tiny-image",
    "gzip-file-as-resource",
    "toggle-simulated-logging",
    "toggle-subscriber-updates",
    "trigger-long-running-operation",
    "simulate-research-query",
];

/// The tools of `py_backend.py`, before its generated ones.
const PYTHON_TOOLS: &[&str] = &["echo", "progress", "sleep", "fail", "add_tool"];

/// One call a cell makes: the public tool name and its arguments.
struct Call {
    tool: String,
    args: Value,
}

impl Backend {
    fn public(&self, tool: &str) -> String {
        format!("{}__{tool}", self.name)
    }

    fn call(&self, tool: &str, args: Value) -> Call {
        Call {
            tool: self.public(tool),
            args,
        }
    }

    /// Every tool the backend offers at first, by its own name.
    fn tools(&self) -> Vec<String> {
        let generated = (0..GENERATED).map(|i| format!("t{i:03}"));
        match self.kind {
            Kind::Rmcp => crate::backend::FIXED
                .iter()
                .map(|t| t.to_string())
                .chain(generated)
                .collect(),
            Kind::Python => PYTHON_TOOLS.iter().map(|t| t.to_string()).chain(generated).collect(),
            Kind::Everything => EVERYTHING_TOOLS.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// b: a call and the text of its result.
    fn echo(&self, client: &str) -> (Call, String) {
        match self.kind {
            Kind::Everything => (self.call("echo", json!({"message": client})), format!("Echo: {client}")),
            _ => (
                self.call("echo", json!({"text": client})),
                format!("{}: {client}", self.name),
            ),
        }
    }

    /// c: a call that reports `STEPS` steps, and the text of its result.
    fn progress(&self) -> (Call, String) {
        match self.kind {
            Kind::Everything => (
                self.call(
                    "trigger-long-running-operation",
                    json!({"duration": 0.5, "steps": STEPS}),
                ),
                format!("Long running operation completed. Duration: 0.5 seconds, Steps: {STEPS}."),
            ),
            _ => (
                self.call("progress", json!({"steps": STEPS, "ms": 20})),
                format!("{}: {STEPS} steps", self.name),
            ),
        }
    }

    /// d: a long call, and the line the backend records when it is cancelled.
    fn sleep(&self, client: &str) -> (Call, String) {
        (
            self.call("sleep", json!({"ms": 60000, "tag": client})),
            format!("cancelled {} {client}", self.name),
        )
    }

    /// e: the call that adds a tool, the tool's public name, and its text.
    fn add_tool(&self) -> (Call, String, String) {
        (
            self.call("add_tool", json!({"name": "fresh"})),
            self.public("fresh"),
            format!("{}: fresh", self.name),
        )
    }

    /// f: the call that raises a JSON-RPC error, and that error's message.
    fn fail(&self) -> (Call, String) {
        (self.call("fail", json!({})), format!("{} failed on purpose", self.name))
    }

    /// A resource URI of the backend (`test://<name>/<path>`) as mcpmux shows it.
    fn public_uri(&self, path: &str) -> String {
        format!("mcpmux://{0}/test://{0}/{path}", self.name)
    }

    /// g: the prompt to get, and what its two messages must be: a greeting
    /// and the embedded resource's public URI.
    fn prompt(&self) -> (Value, String, String) {
        (
            json!({"name": self.public("greet"), "args": {"who": "matrix"}}),
            format!("Hello matrix from {}", self.name),
            self.public_uri("static"),
        )
    }

    /// h: the resource and template to find listed, the URI to read, and its text.
    fn resource(&self) -> (Value, String) {
        (
            json!({
                "resource": self.public_uri("static"),
                "template": self.public_uri("item/{id}"),
                "read": self.public_uri("item/7"),
            }),
            format!("item 7 of {}", self.name),
        )
    }

    /// i: what to complete — the prompt's `who` from "al", the template's
    /// `id` from "1" — and the values backend.rs's `complete` (and
    /// py_backend.py's) answer.
    fn complete(&self) -> (Value, [&'static str; 2], [&'static str; 2]) {
        (
            json!({
                "prompt": self.public("greet"),
                "prompt_arg": {"name": "who", "value": "al"},
                "template": self.public_uri("item/{id}"),
                "template_arg": {"name": "id", "value": "1"},
            }),
            ["alice", "albert"],
            ["1", "12"],
        )
    }

    /// j: the call that asks the client for sampling and an elicitation —
    /// `ask` (mid-call requests) on a 2025-era backend, `ask_input` (an
    /// input-required result) on a 2026-07-28 one — and its text when the
    /// client answers like harness.rs's Recorder. Every era pair holds: for a
    /// 2025-11-25 client mcpmux drives a 2026-07-28 backend's input-required
    /// result; for a 2026-07-28 client it passes that result through (the
    /// Python SDK drives it) and turns a 2025-era backend's mid-call requests
    /// into one.
    fn ask(&self) -> (Call, String) {
        let prompt = "hello mcpmux";
        let tool = if self.name.starts_with("rmcp-legacy") {
            "ask"
        } else {
            "ask_input"
        };
        let reversed: String = prompt.chars().rev().collect();
        (
            self.call(tool, json!({"prompt": prompt})),
            format!(
                "{}: sampled {reversed:?}, elicited {}",
                self.name,
                json!({"name": "tester"})
            ),
        )
    }
}

/// mcpmux in front of the seven backends, and what keeps them alive.
struct Fixture {
    scratch: Scratch,
    mux: MuxHttp,
    _http: Vec<HttpServer>,
}

async fn start(client: ClientKind, lane: bool) -> Result<Fixture> {
    let scratch = Scratch::new(&format!(
        "matrix-{}{}",
        client.label(),
        if lane { "" } else { "-no-lane" }
    ));
    let generated = GENERATED.to_string();
    let tools = ["--tools", generated.as_str()];
    let legacy = ["--era", "legacy", tools[0], tools[1]];
    let modern = ["--era", "modern", tools[0], tools[1]];
    let (legacy_http, modern_http, py_http) = tokio::try_join!(
        HttpServer::test_backend(&scratch, "rmcp-legacy-http", &legacy),
        HttpServer::test_backend(&scratch, "rmcp-modern-http", &modern),
        HttpServer::python(&scratch, "py-http", &tools),
    )?;
    let config = scratch.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0", "page_size": PAGE_SIZE },
        "connect_retry": { "max_delay": "1s" },
        "backends": [
            scratch.backend("rmcp-legacy-stdio", &legacy),
            legacy_http.entry("rmcp-legacy-http"),
            scratch.backend("rmcp-modern-stdio", &modern),
            modern_http.entry("rmcp-modern-http"),
            scratch.py_backend("py-stdio", &tools),
            py_http.entry("py-http"),
            everything_stdio("everything"),
        ],
    }));
    let env: &[(&str, &str)] = if lane { &[] } else { &[("MCPMUX_LANE", "0")] };
    let mux = MuxHttp::start_with(&config, env).await?;
    Ok(Fixture {
        scratch,
        mux,
        _http: vec![legacy_http, modern_http, py_http],
    })
}

/// What a client saw: the catalog's pages (or why listing failed), and one
/// observation per cell, shaped as `py_matrix_client.py` prints them.
#[derive(Default)]
struct Seen {
    pages: Vec<Vec<String>>,
    list_error: Option<String>,
    /// Why the client could not be told of list changes, if it could not.
    listen_error: Option<String>,
    cells: BTreeMap<(&'static str, Check), Value>,
}

/// One client's row of the matrix.
fn row(client: ClientKind, lane: bool) -> Result {
    block_on(async move {
        let began = Instant::now();
        let fixture = start(client, lane).await?;
        let seen = match client {
            ClientKind::Rmcp(era) => rmcp_row(&fixture, era, client.label()).await,
            ClientKind::Python(mode) => python_row(&fixture, mode, client.label()).await,
        };
        let log = fixture.mux.log.text();
        let suffix = if lane { "" } else { "-no-lane" };
        let log_path =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("matrix-{}{suffix}.log", client.label()));
        let _ = std::fs::write(&log_path, &log);
        let _ = fixture.mux.terminate().await;
        let seen = seen.map_err(|e| format!("{e}\n--- mcpmux log ({}) ---\n{log}", log_path.display()))?;
        report(client, &seen, began.elapsed(), &log_path)
    })
}

/// Judges every cell, prints the row, and fails listing every failing cell.
fn report(client: ClientKind, seen: &Seen, took: Duration, log: &std::path::Path) -> Result {
    let mut table = format!("matrix/{} ({:.1} s):\n", client.label(), took.as_secs_f64());
    let mut failures = Vec::new();
    let mut judged = 0;
    for backend in BACKENDS {
        for &check in checks(client) {
            let verdict = match exception(backend.name, check) {
                Some(why) => {
                    let _ = writeln!(
                        table,
                        "  {:<18} {:<14}   -     skipped: {why}",
                        backend.name,
                        check.label()
                    );
                    continue;
                }
                None => {
                    judged += 1;
                    judge(client, &backend, check, seen)
                }
            };
            let took = seen
                .cells
                .get(&(backend.name, check))
                .and_then(|v| v["took_s"].as_f64())
                .map(|s| format!("{s:4.1} s"))
                .unwrap_or_else(|| "  -   ".into());
            match verdict {
                Ok(()) => {
                    let _ = writeln!(table, "  {:<18} {:<14} {took}  pass", backend.name, check.label());
                }
                Err(why) => {
                    let _ = writeln!(
                        table,
                        "  {:<18} {:<14} {took}  FAIL: {why}",
                        backend.name,
                        check.label()
                    );
                    failures.push(format!(
                        "{} × {}: {}: {why}",
                        client.label(),
                        backend.name,
                        check.label()
                    ));
                }
            }
        }
    }
    println!("{table}");
    if failures.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of {} cells failed:\n{}\n(mcpmux log: {})",
        failures.len(),
        judged,
        failures.join("\n"),
        log.display()
    )
    .into())
}

fn texts(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

/// Whether one cell holds; `Err` says why not.
fn judge(client: ClientKind, backend: &Backend, check: Check, seen: &Seen) -> std::result::Result<(), String> {
    if check == Check::Catalog {
        return judge_catalog(backend, seen);
    }
    let v = seen
        .cells
        .get(&(backend.name, check))
        .ok_or("the cell was not run (the client stopped before it)")?;
    if let Some(e) = v.get("exception").and_then(Value::as_str) {
        return Err(format!("the client failed: {e}"));
    }
    let mut why = Vec::new();
    match check {
        Check::Catalog => unreachable!(),
        Check::Call => {
            let (_, expected) = backend.echo(client.label());
            if v["is_error"] != false {
                why.push(format!("an isError result: {:?}", texts(v, "text")));
            } else if texts(v, "text") != expected {
                why.push(format!("text {:?}, expected {expected:?}", texts(v, "text")));
            }
        }
        Check::Progress => {
            let (_, expected) = backend.progress();
            if v["is_error"] != false || texts(v, "text") != expected {
                why.push(format!(
                    "result {:?} (isError {}), expected {expected:?}",
                    texts(v, "text"),
                    v["is_error"]
                ));
            }
            let values: Vec<f64> = v["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let wanted: Vec<f64> = (1..=STEPS).map(|i| i as f64).collect();
            if values != wanted {
                why.push(format!("progress {values:?}, expected every step in order {wanted:?}"));
            }
            if v["totals"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t.as_f64() != Some(STEPS as f64)))
            {
                why.push(format!("totals {}, expected {STEPS} each", v["totals"]));
            }
            if let Some(tokens) = v.get("tokens").and_then(Value::as_u64)
                && tokens > 1
            {
                why.push(format!("{tokens} progress tokens for one call"));
            }
        }
        Check::Cancel => {
            let (_, line) = backend.sleep(client.label());
            let events = texts(v, "events");
            if !events.lines().any(|l| l == line) {
                why.push(format!(
                    "the backend never recorded {line:?} within {WAIT:?} (the client's call: {}; events file: {:?})",
                    texts(v, "outcome"),
                    events
                ));
            }
        }
        Check::ListChange => {
            let (_, added, expected) = backend.add_tool();
            if v["add_is_error"] != false || texts(v, "add_text") != "added" {
                why.push(format!(
                    "add_tool answered {:?} (isError {})",
                    texts(v, "add_text"),
                    v["add_is_error"]
                ));
            } else if v["listed"] != true {
                why.push(format!("{added} was not in the client's tools/list within {WAIT:?}"));
            } else if v["call_is_error"] != false || texts(v, "call_text") != expected {
                why.push(format!(
                    "calling {added} answered {:?} (isError {}), expected {expected:?}",
                    texts(v, "call_text"),
                    v["call_is_error"]
                ));
            }
            if v["notified"].as_u64().unwrap_or(0) == 0 {
                let listen = seen
                    .listen_error
                    .as_deref()
                    .map(|e| format!(" (its subscriptions/listen failed: {e})"))
                    .unwrap_or_default();
                why.push(format!(
                    "no notifications/tools/list_changed reached the client within {WAIT:?}{listen}"
                ));
            }
        }
        Check::Error => {
            let (_, message) = backend.fail();
            if let Some(text) = v.get("unexpected_result") {
                why.push(format!(
                    "a result instead of a JSON-RPC error: {text} (isError {})",
                    v["is_error"]
                ));
            } else if v["code"].as_i64() != Some(INVALID_PARAMS) || texts(v, "message") != message {
                why.push(format!(
                    "error {} {:?}, expected {INVALID_PARAMS} {message:?}",
                    v["code"],
                    texts(v, "message")
                ));
            }
        }
        Check::Prompt => {
            let (p, greeting, embedded) = backend.prompt();
            if v["listed"] != true {
                why.push(format!("{} was not in prompts/list", p["name"]));
            }
            let expected = json!([{"text": greeting}, {"resource": embedded}]);
            if v["messages"] != expected {
                why.push(format!("messages {}, expected {expected}", v["messages"]));
            }
        }
        Check::Resource => {
            let (r, text) = backend.resource();
            if v["resource_listed"] != true {
                why.push(format!("{} was not in resources/list", r["resource"]));
            }
            if v["template_listed"] != true {
                why.push(format!("{} was not in resources/templates/list", r["template"]));
            }
            let expected = json!([{"uri": r["read"], "text": text}]);
            if v["contents"] != expected {
                why.push(format!(
                    "reading {} gave {}, expected {expected}",
                    r["read"], v["contents"]
                ));
            }
        }
        Check::Complete => {
            let (c, prompt, template) = backend.complete();
            if v["prompt"] != json!(prompt) {
                why.push(format!(
                    "completing {}'s who gave {}, expected {prompt:?}",
                    c["prompt"], v["prompt"]
                ));
            }
            if v["template"] != json!(template) {
                why.push(format!(
                    "completing {}'s id gave {}, expected {template:?}",
                    c["template"], v["template"]
                ));
            }
        }
        Check::Ask => {
            let (call, expected) = backend.ask();
            let answer = if v.get("code").is_some() {
                format!("error {} {:?}", v["code"], texts(v, "message"))
            } else {
                format!("{:?} (isError {})", texts(v, "text"), v["is_error"])
            };
            if v.get("code").is_some() || v["is_error"] != false || texts(v, "text") != expected {
                why.push(format!("{} answered {answer}, expected {expected:?}", call.tool));
            }
            // Each question reached the client's own callbacks exactly once.
            for (asked, what) in [("sampled", "sampling"), ("elicited", "elicitation")] {
                if v[asked].as_array().map(Vec::len) != Some(1) {
                    why.push(format!(
                        "the client's {what} callback ran for {}, expected once",
                        v[asked]
                    ));
                }
            }
        }
    }
    if why.is_empty() { Ok(()) } else { Err(why.join("; ")) }
}

fn judge_catalog(backend: &Backend, seen: &Seen) -> std::result::Result<(), String> {
    if let Some(e) = &seen.list_error {
        return Err(format!("tools/list failed: {e}"));
    }
    let mut why = Vec::new();
    let pages = &seen.pages;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let (last, full) = sizes.split_last().ok_or("no page listed")?;
    if *last > PAGE_SIZE || full.iter().any(|&n| n != PAGE_SIZE) {
        why.push(format!("page sizes {sizes:?}, expected pages of {PAGE_SIZE}"));
    }
    let prefix = format!("{}__", backend.name);
    let listed: Vec<&String> = pages.iter().flatten().filter(|n| n.starts_with(&prefix)).collect();
    let unique: BTreeSet<&str> = listed.iter().map(|n| n.as_str()).collect();
    if unique.len() != listed.len() {
        why.push(format!("listed more than once: {listed:?}"));
    }
    let expected: BTreeSet<String> = backend.tools().iter().map(|t| backend.public(t)).collect();
    let missing: Vec<&String> = expected.iter().filter(|n| !unique.contains(n.as_str())).collect();
    let extra: Vec<&&str> = unique.iter().filter(|n| !expected.contains(**n)).collect();
    if !missing.is_empty() {
        why.push(format!("missing {missing:?}"));
    }
    if !extra.is_empty() {
        why.push(format!("unexpected {extra:?}"));
    }
    if why.is_empty() { Ok(()) } else { Err(why.join("; ")) }
}

/// The names every backend must have listed before the cells run.
fn ready_names() -> Vec<String> {
    BACKENDS.iter().map(|b| b.public("echo")).collect()
}

/// Every page of tools, by following the cursor; a cursor the listing's
/// change invalidated (-32602 on a later page) means listing again from the
/// start, as the spec says, up to three times.
async fn pages(client: &Client) -> Result<Vec<Vec<String>>> {
    let mut attempt = 0;
    'listing: loop {
        attempt += 1;
        let mut pages = Vec::new();
        let mut cursor = None;
        while pages.len() < 100 {
            let later = cursor.is_some();
            let page = match client
                .peer()
                .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                .await
            {
                Ok(page) => page,
                Err(rmcp::ServiceError::McpError(e))
                    if later && e.code == rmcp::model::ErrorCode::INVALID_PARAMS && attempt < 3 =>
                {
                    continue 'listing;
                }
                Err(e) => return Err(e.into()),
            };
            pages.push(page.tools.iter().map(|t| t.name.to_string()).collect());
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        return Ok(pages);
    }
}

fn names(pages: &[Vec<String>]) -> BTreeSet<&String> {
    pages.iter().flatten().collect()
}

/// The rmcp client's row, observed like the Python client observes its own.
async fn rmcp_row(fixture: &Fixture, era: Era, label: &'static str) -> Result<Seen> {
    let client = connect_http(&fixture.mux.url, era).await?;
    let mut seen = Seen::default();
    let ready = ready_names();
    let deadline = Instant::now() + STARTUP;
    loop {
        match pages(&client).await {
            Ok(p) => {
                seen.pages = p;
                seen.list_error = None;
            }
            Err(e) => seen.list_error = Some(e.to_string()),
        }
        let listed = names(&seen.pages);
        if ready.iter().all(|n| listed.contains(n)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for backend in BACKENDS {
        for &check in checks(ClientKind::Rmcp(era)) {
            if check == Check::Catalog || exception(backend.name, check).is_some() {
                continue;
            }
            let began = Instant::now();
            let cell = rmcp_cell(&client, fixture, &backend, check, label);
            let mut v = match tokio::time::timeout(4 * WAIT, cell).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => json!({"exception": e.to_string()}),
                Err(_) => json!({"exception": format!("cell did not finish within {:?}", 4 * WAIT)}),
            };
            v["took_s"] = json!(began.elapsed().as_secs_f64());
            seen.cells.insert((backend.name, check), v);
        }
    }
    Ok(seen)
}

/// A call's outcome as the Python client reports it.
async fn rmcp_call(client: &Client, call: &Call) -> Result<Value> {
    let r = crate::harness::call(client, &call.tool, call.args.clone()).await?;
    Ok(json!({"text": text_of(&r), "is_error": r.is_error == Some(true)}))
}

async fn rmcp_cell(client: &Client, fixture: &Fixture, backend: &Backend, check: Check, label: &str) -> Result<Value> {
    match check {
        Check::Catalog => unreachable!("judged from the listing"),
        Check::Prompt | Check::Resource | Check::Complete | Check::Ask => {
            unreachable!("only in the Python rows")
        }
        Check::Call => rmcp_call(client, &backend.echo(label).0).await,
        Check::Progress => {
            client.service().progress.lock().unwrap().clear();
            let mut v = rmcp_call(client, &backend.progress().0).await?;
            let _ = eventually("every progress step", WAIT, || async {
                client.service().progress.lock().unwrap().len() >= STEPS as usize
            })
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await; // and a late extra one would show
            let seen = client.service().progress.lock().unwrap().clone();
            let tokens: BTreeSet<String> = seen.iter().map(|p| format!("{:?}", p.progress_token)).collect();
            v["values"] = json!(seen.iter().map(|p| p.progress).collect::<Vec<_>>());
            v["totals"] = json!(seen.iter().map(|p| p.total).collect::<Vec<_>>());
            v["tokens"] = json!(tokens.len());
            Ok(v)
        }
        Check::Cancel => {
            let (call, line) = backend.sleep(label);
            let handle = start_call(client, &call.tool, call.args.clone(), PeerRequestOptions::no_options()).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let outcome = match handle.cancel(Some("matrix".into())).await {
                Ok(()) => "cancelled".to_string(),
                Err(e) => format!("cancel failed: {e}"),
            };
            let _ = eventually("the backend to record the cancellation", WAIT, || async {
                fixture.scratch.read_events().lines().any(|l| l == line)
            })
            .await;
            Ok(json!({"events": fixture.scratch.read_events(), "outcome": outcome}))
        }
        Check::ListChange => {
            let (call, added, _) = backend.add_tool();
            tokio::time::sleep(Duration::from_millis(300)).await; // let earlier notifications settle
            let before = client.service().changes();
            let deadline = Instant::now() + WAIT;
            let r = rmcp_call(client, &call).await?;
            let mut v = json!({"add_text": r["text"], "add_is_error": r["is_error"], "listed": false});
            while Instant::now() < deadline {
                if names(&pages(client).await?).contains(&added) {
                    v["listed"] = json!(true);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if v["listed"] == true {
                let r = rmcp_call(
                    client,
                    &Call {
                        tool: added,
                        args: json!({}),
                    },
                )
                .await?;
                v["call_text"] = r["text"].clone();
                v["call_is_error"] = r["is_error"].clone();
            }
            while client.service().changes() <= before && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            v["notified"] = json!(client.service().changes() - before);
            Ok(v)
        }
        Check::Error => {
            let (call, _) = backend.fail();
            let mut params = CallToolRequestParams::new(call.tool);
            params.arguments = call.args.as_object().cloned();
            Ok(match client.peer().call_tool(params).await {
                Err(rmcp::ServiceError::McpError(data)) => json!({"code": data.code.0, "message": data.message}),
                Err(e) => json!({"exception": e.to_string()}),
                Ok(r) => json!({"unexpected_result": text_of(&r), "is_error": r.is_error == Some(true)}),
            })
        }
    }
}

/// The Python client's row: `py_matrix_client.py` runs the cells the spec
/// names and prints what it saw.
async fn python_row(fixture: &Fixture, mode: &'static str, label: &'static str) -> Result<Seen> {
    let client = ClientKind::Python(mode);
    let backends: Vec<Value> = BACKENDS
        .iter()
        .map(|b| {
            let call = |c: Call| json!({"tool": c.tool, "args": c.args});
            let mut spec = json!({"name": b.name});
            for &check in checks(client) {
                if check == Check::Catalog || exception(b.name, check).is_some() {
                    continue;
                }
                spec[check.key()] = match check {
                    Check::Catalog => unreachable!(),
                    Check::Call => call(b.echo(label).0),
                    Check::Progress => {
                        let mut c = call(b.progress().0);
                        c["steps"] = json!(STEPS);
                        c
                    }
                    Check::Cancel => {
                        let (c, line) = b.sleep(label);
                        let mut c = call(c);
                        c["line"] = json!(line);
                        c
                    }
                    Check::ListChange => {
                        let (c, added, _) = b.add_tool();
                        let mut c = call(c);
                        c["added"] = json!(added);
                        c
                    }
                    Check::Error => call(b.fail().0),
                    Check::Prompt => b.prompt().0,
                    Check::Resource => b.resource().0,
                    Check::Complete => b.complete().0,
                    Check::Ask => call(b.ask().0),
                };
            }
            spec
        })
        .collect();
    let spec = json!({
        "mode": mode,
        "url": fixture.mux.url,
        "events": fixture.scratch.events(),
        "wait_s": WAIT.as_secs_f64(),
        "startup_s": STARTUP.as_secs_f64(),
        "ready": ready_names(),
        "backends": backends,
    });
    let mut child = tokio::process::Command::new(venv_python())
        .arg(root().join("tests/e2e/py_matrix_client.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin.write_all(spec.to_string().as_bytes()).await?;
    }
    let out = tokio::time::timeout(Duration::from_secs(150), child.wait_with_output())
        .await
        .map_err(|_| "the Python client did not finish within 150 s")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.trim().lines().last().unwrap_or("");
    let printed: Value = match serde_json::from_str(line) {
        Ok(v) if out.status.success() => v,
        _ => {
            return Err(format!(
                "the Python client failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
    };
    let expected = if mode == "legacy" { "2025-11-25" } else { "2026-07-28" };
    if printed["protocol"] != expected {
        return Err(format!("the Python client speaks {}, expected {expected}", printed["protocol"]).into());
    }
    let mut seen = Seen {
        pages: serde_json::from_value(printed["pages"].clone()).unwrap_or_default(),
        list_error: printed["list_error"].as_str().map(str::to_string),
        listen_error: printed["listen_error"].as_str().map(str::to_string),
        ..Seen::default()
    };
    for backend in BACKENDS {
        for &check in checks(client) {
            if let Some(v) = printed["cells"][backend.name].get(check.key()) {
                seen.cells.insert((backend.name, check), v.clone());
            }
        }
    }
    Ok(seen)
}
