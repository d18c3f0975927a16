//! What the e2e tests stand on: a scratch directory per test, backend entries
//! for the configuration (this binary as a backend, the npm "everything"
//! reference server), HTTP backends as child processes, the real mcpmux
//! binary as stdio or HTTP front, and an rmcp client in either protocol era
//! that records the progress (in wire order) and list_changed notifications
//! it receives.
//! The Python SDK (in `scripts/test-deps`' virtualenv) serves as a backend too
//! (`tests/e2e/py_backend.py`), over stdio and streamable HTTP.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, JsonRpcMessage,
    ProgressNotificationParam, ProtocolVersion, ServerNotification, SubscriptionFilter, Tool,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess, Transport};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The project root (for the npm packages `scripts/test-deps` installed).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A finished command's stdout and stderr, as text, one after the other.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs an async test body on its own runtime.
pub fn block_on(f: impl Future<Output = Result>) -> Result {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let r = rt.block_on(f);
    rt.shutdown_timeout(Duration::from_secs(1));
    r
}

/// Waits for `cond` to hold, checking every 25 ms, for up to `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut cond: F) -> Result
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(format!("timed out after {limit:?} waiting for: {what}").into())
}

/// A scratch directory for one test, removed when dropped.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mcpmux-e2e-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    /// Where backends append their events.
    pub fn events(&self) -> PathBuf {
        self.dir.join("events.log")
    }

    pub fn read_events(&self) -> String {
        std::fs::read_to_string(self.events()).unwrap_or_default()
    }

    /// Writes a configuration (JSON is YAML) and returns its path.
    pub fn config(&self, config: &Value) -> PathBuf {
        let path = self.dir.join("mcpmux.yaml");
        std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
        path
    }

    /// A command backend entry running this binary as the test backend.
    pub fn backend(&self, name: &str, args: &[&str]) -> Value {
        let mut command = vec![
            std::env::current_exe().unwrap().display().to_string(),
            "--name".into(),
            name.into(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        json!({
            "name": name,
            "transport": "command",
            "command": command,
            "env": {
                "MCPMUX_TEST_BACKEND": "1",
                "MCPMUX_TEST_EVENTS": self.events().display().to_string(),
            },
        })
    }

    /// A command backend entry running `tests/e2e/py_backend.py` (the Python SDK's server).
    pub fn py_backend(&self, name: &str, args: &[&str]) -> Value {
        let mut command = vec![
            venv_python().display().to_string(),
            root().join("tests/e2e/py_backend.py").display().to_string(),
            "--name".into(),
            name.into(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        json!({
            "name": name,
            "transport": "command",
            "command": command,
            "env": { "MCPMUX_TEST_EVENTS": self.events().display().to_string() },
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The entry point of the npm "everything" reference server.
pub fn everything_js() -> PathBuf {
    let js = root().join(".cache/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        js.is_file(),
        "{} is missing: run scripts/test-deps (scripts/test does)",
        js.display()
    );
    js
}

/// The "everything" server as a command backend.
pub fn everything_stdio(name: &str) -> Value {
    json!({
        "name": name,
        "transport": "command",
        "command": ["node", everything_js().display().to_string(), "stdio"],
    })
}

/// The Python of the virtualenv `scripts/test-deps` made, with the `mcp` SDK installed.
pub fn venv_python() -> PathBuf {
    let python = root().join(".cache/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/test-deps (scripts/test does)",
        python.display()
    );
    python
}

/// A backend process serving streamable HTTP on 127.0.0.1; killed when dropped.
pub struct HttpServer {
    _child: tokio::process::Child,
    pub url: String,
}

impl HttpServer {
    /// This binary as a test backend over HTTP.
    pub async fn test_backend(scratch: &Scratch, name: &str, args: &[&str]) -> Result<HttpServer> {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args(["--name", name, "--http"])
            .args(args)
            .env("MCPMUX_TEST_BACKEND", "1")
            .env("MCPMUX_TEST_EVENTS", scratch.events());
        HttpServer::announced(cmd).await
    }

    /// Starts a server that prints `LISTENING <port>` as its first line.
    pub async fn announced(mut cmd: tokio::process::Command) -> Result<HttpServer> {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await??
            .unwrap_or_default();
        let port = line
            .strip_prefix("LISTENING ")
            .ok_or(format!("unexpected first line {line:?}"))?;
        Ok(HttpServer {
            _child: child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }

    /// The "everything" reference server in its streamable HTTP mode.
    pub async fn everything() -> Result<HttpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = tokio::process::Command::new("node")
            .arg(everything_js())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        eventually(
            "the everything server to listen",
            Duration::from_secs(20),
            || async move { tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() },
        )
        .await?;
        Ok(HttpServer {
            _child: child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }

    /// `tests/e2e/py_backend.py` (the Python SDK's server) over streamable HTTP.
    pub async fn python(scratch: &Scratch, name: &str, args: &[&str]) -> Result<HttpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = tokio::process::Command::new(venv_python())
            .arg(root().join("tests/e2e/py_backend.py"))
            .args(["--name", name, "--http", "--port", &port.to_string()])
            .args(args)
            .env("MCPMUX_TEST_EVENTS", scratch.events())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        eventually("the Python backend to listen", Duration::from_secs(20), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await?;
        Ok(HttpServer {
            _child: child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        })
    }

    pub fn entry(&self, name: &str) -> Value {
        json!({ "name": name, "transport": "http", "endpoint": self.url })
    }
}

/// What `mcpmux list --json -c CONFIG` reported.
pub struct Listing {
    pub report: Value,
    /// The public tool names.
    pub tools: Vec<String>,
    pub code: Option<i32>,
    /// Its stdout and stderr together (for checks that nothing leaked).
    pub output: String,
}

impl Listing {
    /// The status line `list` gives backend `name` ("" if it is not listed).
    pub fn status(&self, name: &str) -> String {
        self.report["backends"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == name))
            .and_then(|b| b["status"].as_str())
            .unwrap_or("")
            .to_string()
    }

    pub fn has_tool(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t == name)
    }

    /// Whether any tool carries `prefix__`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.tools.iter().any(|t| t.starts_with(&format!("{prefix}__")))
    }
}

/// Runs `mcpmux list --json -c config`.
pub async fn list_json(config: &Path) -> Result<Listing> {
    list_json_with(config, &[]).await
}

/// Like [`list_json`], with more arguments to `list`.
pub async fn list_json_with(config: &Path, args: &[&str]) -> Result<Listing> {
    let out = mcpmux()
        .args(["list", "--json"])
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .await?;
    let output = output_text(&out);
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {output}"))?;
    let tools = report["tools"]
        .as_array()
        .ok_or("no tools in the listing")?
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    Ok(Listing {
        report,
        tools,
        code: out.status.code(),
        output,
    })
}

/// The mcpmux binary.
pub fn mcpmux() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpmux"));
    cmd.env("MCPMUX_LOG", "debug,rmcp=warn").kill_on_drop(true);
    cmd
}

/// `mcpmux serve -c config` as a stdio front: stdin and stdout piped, its log
/// discarded.
pub fn mcpmux_stdio(config: &Path) -> Result<tokio::process::Child> {
    Ok(mcpmux()
        .args(["serve", "-c"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?)
}

/// A stdio front driven by hand, a JSON-RPC line at a time (rmcp's client
/// would hide what is on the wire: its order, garbage, an EOF mid-call).
pub struct RawStdio {
    pub child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl RawStdio {
    pub fn start(config: &Path) -> Result<RawStdio> {
        let mut child = mcpmux_stdio(config)?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let lines = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        Ok(RawStdio {
            child,
            stdin: Some(stdin),
            lines,
        })
    }

    pub async fn send_line(&mut self, line: &str) -> Result {
        use tokio::io::AsyncWriteExt;
        let stdin = self.stdin.as_mut().ok_or("stdin is closed")?;
        stdin.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(())
    }

    pub async fn send(&mut self, message: &Value) -> Result {
        self.send_line(&message.to_string()).await
    }

    /// A 2025-11-25 handshake: initialize, then initialized (answers unread).
    pub async fn handshake(&mut self) -> Result {
        self.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
            .await?;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
    }

    /// The lines mcpmux writes, up to and including the first that `last`
    /// picks; an error if stdout closes first or nothing comes within `LONG`.
    pub async fn read_until(&mut self, mut last: impl FnMut(&str) -> bool) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        let read = tokio::time::timeout(LONG, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                let done = last(&line);
                seen.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await;
        match read {
            Ok(true) => Ok(seen),
            Ok(false) => Err(format!("mcpmux closed stdout: {seen:?}").into()),
            Err(_) => Err(format!("no such line within {LONG:?}: {seen:?}").into()),
        }
    }

    /// Closes stdin (EOF) and waits for mcpmux to exit.
    pub async fn close(&mut self) -> Result<std::process::ExitStatus> {
        self.stdin = None;
        Ok(tokio::time::timeout(LONG, self.child.wait()).await??)
    }
}

/// Collects a child's stderr lines (mcpmux's log) for later inspection.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn drain(
        &self,
        stderr: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lines = self.0.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Some(url) = line.split("serving MCP at ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        rx
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// mcpmux serving HTTP; killed when dropped.
pub struct MuxHttp {
    pub child: tokio::process::Child,
    pub url: String,
    pub log: Log,
}

impl MuxHttp {
    /// Sends SIGTERM and waits for mcpmux to exit; returns its exit code.
    pub async fn terminate(mut self) -> Result<Option<i32>> {
        let pid = self.child.id().ok_or("mcpmux already exited")?;
        kill(pid as i32, 15);
        Ok(tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await??
            .code())
    }

    pub async fn start(config: &Path) -> Result<MuxHttp> {
        Self::start_with(config, &[]).await
    }

    /// Starts mcpmux with extra environment variables.
    pub async fn start_with(config: &Path, envs: &[(&str, &str)]) -> Result<MuxHttp> {
        let mut child = mcpmux()
            .args(["serve", "-c"])
            .arg(config)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let log = Log::default();
        let url_rx = log.drain(child.stderr.take().unwrap());
        let url = tokio::time::timeout(Duration::from_secs(20), url_rx)
            .await
            .map_err(|_| format!("mcpmux did not start serving:\n{}", log.text()))??;
        Ok(MuxHttp { child, url, log })
    }
}

/// The client side's protocol era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25: initialize, sessions, plain notifications.
    Legacy,
    /// 2026-07-28: stateless, list_changed on subscriptions/listen.
    Modern,
}

/// What the test client saw.
#[derive(Clone, Default)]
pub struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    /// Whether `WireOrder` records the progress (else `on_progress` does).
    wire_order: Arc<AtomicBool>,
    pub list_changed: Arc<AtomicUsize>,
    pub prompt_changes: Arc<AtomicUsize>,
    pub resource_changes: Arc<AtomicUsize>,
    /// Log messages: (logger, data as text).
    pub logs: Arc<Mutex<Vec<(String, String)>>>,
    /// URIs of `notifications/resources/updated`.
    pub updates: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub fn changes(&self) -> usize {
        self.list_changed.load(Ordering::SeqCst)
    }
}

/// A client transport that records the progress notifications it receives
/// in their order on the wire, into its `Recorder`.
pub struct WireOrder<T> {
    inner: T,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl<T> WireOrder<T> {
    pub fn new(inner: T, recorder: &Recorder) -> WireOrder<T> {
        recorder.wire_order.store(true, Ordering::SeqCst);
        WireOrder {
            inner,
            progress: recorder.progress.clone(),
        }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for WireOrder<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await;
        if let Some(JsonRpcMessage::Notification(n)) = &message
            && let ServerNotification::ProgressNotification(p) = &n.notification
        {
            self.progress.lock().unwrap().push(p.params.clone());
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

#[allow(deprecated)] // sampling is deprecated by SEP-2577; mcpmux must still carry it
impl ClientHandler for Recorder {
    fn get_info(&self) -> ClientConfig {
        // The test client answers sampling, elicitation and roots (see below).
        let mut caps = ClientCapabilities::default();
        caps.sampling = Some(Default::default());
        caps.elicitation = Some(Default::default());
        caps.roots = Some(Default::default());
        ClientConfig::new(caps, Implementation::new("e2e-client", "1.0.0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    // Behind a `WireOrder` transport, progress is recorded there, as it
    // arrives: rmcp runs each notification's handler in a task of its own,
    // in no set order, so here two may be recorded swapped.
    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleClient>) {
        if !self.wire_order.load(Ordering::SeqCst) {
            self.progress.lock().unwrap().push(params);
        }
    }

    async fn on_tool_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.list_changed.fetch_add(1, Ordering::SeqCst);
    }

    async fn on_prompt_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.prompt_changes.fetch_add(1, Ordering::SeqCst);
    }

    async fn on_resource_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.resource_changes.fetch_add(1, Ordering::SeqCst);
    }

    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _: NotificationContext<RoleClient>,
    ) {
        let data = params
            .data
            .as_str()
            .map_or_else(|| params.data.to_string(), str::to_string);
        self.logs
            .lock()
            .unwrap()
            .push((params.logger.unwrap_or_default(), data));
    }

    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _: NotificationContext<RoleClient>,
    ) {
        self.updates.lock().unwrap().push(params.uri);
    }

    /// Answers sampling with the prompt's text, reversed.
    async fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _: rmcp::service::RequestContext<RoleClient>,
    ) -> std::result::Result<rmcp::model::CreateMessageResult, rmcp::ErrorData> {
        let prompt: String = params
            .messages
            .iter()
            .flat_map(|m| m.content.clone().into_vec())
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        let reply: String = prompt.chars().rev().collect();
        Ok(rmcp::model::CreateMessageResult::new(
            rmcp::model::SamplingMessage::assistant_text(reply),
            "test-model".into(),
        ))
    }

    /// One root.
    async fn list_roots(
        &self,
        _: rmcp::service::RequestContext<RoleClient>,
    ) -> std::result::Result<rmcp::model::ListRootsResult, rmcp::ErrorData> {
        Ok(rmcp::model::ListRootsResult::new(vec![rmcp::model::Root::new(
            "file:///e2e",
        )]))
    }

    /// Answers a form elicitation with a name.
    async fn create_elicitation(
        &self,
        _: rmcp::model::ElicitRequestParams,
        _: rmcp::service::RequestContext<RoleClient>,
    ) -> std::result::Result<rmcp::model::ElicitResult, rmcp::ErrorData> {
        let mut r = rmcp::model::ElicitResult::new(rmcp::model::ElicitationAction::Accept);
        r.content = Some(json!({"name": "tester"}));
        Ok(r)
    }
}

pub type Client = RunningService<RoleClient, Recorder>;

pub fn lifecycle(era: Era) -> ClientLifecycleMode {
    match era {
        Era::Legacy => ClientLifecycleMode::Initialize,
        Era::Modern => ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    }
}

/// Modern clients hear about list changes only on a subscription stream.
pub async fn subscribe(client: &Client, era: Era) -> Result {
    if era == Era::Modern {
        let filter = SubscriptionFilter::builder()
            .tools_list_changed()
            .prompts_list_changed()
            .resources_list_changed()
            .build();
        let mut sub = client.peer().listen(filter).await?;
        let seen = client.service().clone();
        tokio::spawn(async move {
            while let Ok(Some(n)) = sub.next().await {
                let counter = match n {
                    ServerNotification::ToolListChangedNotification(_) => &seen.list_changed,
                    ServerNotification::PromptListChangedNotification(_) => &seen.prompt_changes,
                    ServerNotification::ResourceListChangedNotification(_) => &seen.resource_changes,
                    _ => continue,
                };
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    Ok(())
}

pub async fn connect_http(url: &str, era: Era) -> Result<Client> {
    let recorder = Recorder::default();
    let transport = WireOrder::new(StreamableHttpClientTransport::from_uri(url.to_string()), &recorder);
    let client = recorder.serve_with_lifecycle(transport, lifecycle(era)).await?;
    subscribe(&client, era).await?;
    Ok(client)
}

/// Like [`connect_http`], presenting a bearer token.
pub async fn connect_http_token(url: &str, era: Era, token: &str) -> Result<Client> {
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url.to_string())
            .auth_header(token);
    let recorder = Recorder::default();
    let transport = WireOrder::new(StreamableHttpClientTransport::from_config(config), &recorder);
    let client = recorder.serve_with_lifecycle(transport, lifecycle(era)).await?;
    subscribe(&client, era).await?;
    Ok(client)
}

/// Starts `mcpmux serve -c config` as the client's stdio subprocess.
pub async fn connect_stdio(config: &Path, era: Era, log: &Log) -> Result<Client> {
    connect_stdio_with(config, &[], era, log).await
}

/// Like [`connect_stdio`], with more arguments to `serve`.
pub async fn connect_stdio_with(config: &Path, args: &[&str], era: Era, log: &Log) -> Result<Client> {
    let mut cmd = mcpmux();
    cmd.arg("serve").args(args).arg("-c").arg(config);
    let (transport, stderr) = TokioChildProcess::builder(cmd).stderr(Stdio::piped()).spawn()?;
    if let Some(stderr) = stderr {
        log.drain(stderr);
    }
    let recorder = Recorder::default();
    let transport = WireOrder::new(transport, &recorder);
    let client = recorder.serve_with_lifecycle(transport, lifecycle(era)).await?;
    subscribe(&client, era).await?;
    Ok(client)
}

/// Calls a tool and returns the whole result.
/// (rmcp's `RunningService::call_tool` answers input-required results with
/// this client's own handlers, as a 2026-07-28 client must.)
pub async fn call(client: &Client, name: &str, args: Value) -> Result<CallToolResult> {
    let mut params = CallToolRequestParams::new(name.to_string());
    params.arguments = args.as_object().cloned();
    Ok(client.call_tool(params).await?)
}

/// Starts a tool call whose answer the test awaits (or cancels) itself.
pub async fn start_call(
    client: &Client,
    name: &str,
    args: Value,
    options: rmcp::service::PeerRequestOptions,
) -> Result<rmcp::service::RequestHandle<RoleClient>> {
    let mut params = CallToolRequestParams::new(name.to_string());
    params.arguments = args.as_object().cloned();
    let request = rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params));
    Ok(client.peer().send_request_with_option(request, options).await?)
}

/// The text of a tool result's first content block.
pub fn text_of(r: &CallToolResult) -> String {
    r.content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

/// Calls a tool that must succeed and returns its text.
pub async fn call_text(client: &Client, name: &str, args: Value) -> Result<String> {
    let r = call(client, name, args).await?;
    if r.is_error == Some(true) {
        return Err(format!("{name} failed: {}", text_of(&r)).into());
    }
    Ok(text_of(&r))
}

pub async fn tool_names(client: &Client) -> Result<Vec<String>> {
    let tools: Vec<Tool> = client.peer().list_all_tools().await?;
    Ok(tools.into_iter().map(|t| t.name.to_string()).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    Stdio,
    Http,
}

/// A connected client, with whatever keeps its mcpmux alive.
pub struct Session {
    pub client: Client,
    pub log: Log,
    pub _mux: Option<MuxHttp>,
}

pub async fn open(front: Front, era: Era, config: &std::path::Path) -> Result<Session> {
    match front {
        Front::Stdio => {
            let log = Log::default();
            let client = connect_stdio(config, era, &log).await?;
            Ok(Session {
                client,
                log,
                _mux: None,
            })
        }
        Front::Http => {
            let mux = MuxHttp::start(config).await?;
            let client = connect_http(&mux.url, era).await?;
            Ok(Session {
                client,
                log: mux.log.clone(),
                _mux: Some(mux),
            })
        }
    }
}

pub const LONG: Duration = Duration::from_secs(30);

pub fn kill(pid: i32, signal: i32) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Starts mcpmux over HTTP with `backends` and connects a 2025-11-25 client.
pub async fn http_session(s: &Scratch, backends: Vec<serde_json::Value>) -> Result<(MuxHttp, Client)> {
    let config = s.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0" },
        "connect_retry": { "max_delay": "1s" },
        "backends": backends,
    }));
    let mux = MuxHttp::start(&config).await?;
    let client = connect_http(&mux.url, Era::Legacy).await?;
    Ok((mux, client))
}

/// Adds the mcpmux log to a failure.
pub fn with_log<T>(r: Result<T>, mux: &MuxHttp) -> Result<T> {
    r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", mux.log.text()).into())
}

pub fn process_alive(pid: i32) -> bool {
    // A zombie (state Z) is dead; it only waits for its parent to reap it.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}
