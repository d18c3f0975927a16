//! The performance benchmark (`cargo bench --bench proxy`, or
//! `scripts/bench`, which also installs the peer): mcpmux against `mcp-proxy`
//! 0.6 (the fastest aggregating Rust peer, when installed in `.cache/`) and
//! against a direct connection to the same backends, interleaved over
//! several rounds, printing the median of each ratio. Every target sees the
//! same load: a lean HTTP/1.1 client over 16 keep-alive connections, either
//! all in one 2025-11-25 session or in 16 sessions, calling `echo` on 1 or
//! 10 backends reached over stdio or over HTTP. The backend is this binary
//! re-executed (`MCPMUX_BENCH_BACKEND=stdio|http`), a dependency-free MCP
//! server of a few lines, so the proxy's own cost shows. "Direct" is that
//! backend with no proxy: its HTTP endpoint, or, for a stdio backend, a
//! client that drives the child's pipes itself. It also measures tools/list
//! of 210 tools, start to ready with 10 backends, and idle RSS.
//! `-- --rounds N`, `-- --span SECS`, `-- --quick` (a smoke run).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CONNECTIONS: usize = 16;
/// Tools each backend lists besides `echo` (10 backends: 210 tools).
const EXTRA_TOOLS: usize = 20;

fn main() {
    match std::env::var("MCPMUX_BENCH_BACKEND").as_deref() {
        Ok("stdio") => return stdio_backend_main(),
        Ok("http") => return http_backend_main(),
        _ => {}
    }
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = value("--rounds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let span = value("--span")
        .and_then(|v| v.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_millis(if quick { 300 } else { 2000 }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Err(e) = rt.block_on(run(rounds, span)) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// The backend: newline-delimited JSON-RPC on stdio, or JSON over HTTP.

/// The answer to one message, if it asks for one.
fn answer(message: &Value, name: &str) -> Option<Value> {
    let id = message.get("id")?.clone();
    let method = message.get("method")?.as_str()?;
    let result = match method {
        "initialize" => json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": name, "version": "1"},
        }),
        "ping" => json!({}),
        "tools/list" => {
            let schema = json!({"type": "object", "properties": {"text": {"type": "string"}}});
            let extra = std::env::var("MCPMUX_BENCH_TOOLS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(EXTRA_TOOLS);
            let mut tools = vec![json!({"name": "echo", "description": "Returns its text.", "inputSchema": schema})];
            tools.extend((0..extra).map(|i| {
                json!({"name": format!("tool_{i:02}"), "description": format!("Tool {i} of {name}."), "inputSchema": schema})
            }));
            json!({ "tools": tools })
        }
        "tools/call" => {
            let text = message["params"]["arguments"]["text"].as_str().unwrap_or_default();
            json!({"content": [{"type": "text", "text": format!("{name}: {text}")}]})
        }
        _ => {
            return Some(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}}));
        }
    };
    Some(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn backend_name() -> String {
    std::env::var("MCPMUX_BENCH_NAME").unwrap_or_else(|_| "bench".into())
}

/// One thread: a line in, a line out; output flushed when no input waits.
fn stdio_backend_main() {
    let name = backend_name();
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Ok(message) = serde_json::from_str::<Value>(&line)
            && let Some(reply) = answer(&message, &name)
        {
            serde_json::to_writer(&mut out, &reply).unwrap();
            out.write_all(b"\n").unwrap();
        }
        if input.buffer().is_empty() && out.flush().is_err() {
            return;
        }
    }
}

/// A single-threaded streamable HTTP server answering every POST with JSON.
fn http_backend_main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap().port());
        let name: Arc<str> = backend_name().into();
        let sessions = Arc::new(AtomicU64::new(1));
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let (name, sessions) = (name.clone(), sessions.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (name, sessions) = (name.clone(), sessions.clone());
                    async move {
                        let method = req.method().clone();
                        let body = req.into_body().collect().await?.to_bytes();
                        let mut response = http::Response::builder();
                        if method != http::Method::POST {
                            let status = if method == http::Method::DELETE { 200 } else { 405 };
                            return Ok::<_, hyper::Error>(
                                response.status(status).body(Full::new(Bytes::new())).unwrap(),
                            );
                        }
                        let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if message.get("method").and_then(Value::as_str) == Some("initialize") {
                            let id = sessions.fetch_add(1, Ordering::Relaxed);
                            response = response.header("mcp-session-id", format!("s{id}"));
                        }
                        Ok(match answer(&message, &name) {
                            Some(reply) => response
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(serde_json::to_vec(&reply).unwrap())))
                                .unwrap(),
                            None => response.status(202).body(Full::new(Bytes::new())).unwrap(),
                        })
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}

// ---------------------------------------------------------------------------
// Processes.

fn exe() -> String {
    std::env::current_exe().unwrap().display().to_string()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpmux-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Stdio,
    Http,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Stdio => "stdio",
            Kind::Http => "HTTP",
        }
    }
}

/// One backend as the proxies see it: a command, or the URL of a running server.
struct BackendSpec {
    name: String,
    url: Option<String>,
    _server: Option<tokio::process::Child>,
}

async fn http_server(name: &str) -> Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(exe())
        .env("MCPMUX_BENCH_BACKEND", "http")
        .env("MCPMUX_BENCH_NAME", name)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await?.unwrap_or_default();
    let port = line
        .strip_prefix("LISTENING ")
        .ok_or("backend did not start")?
        .to_string();
    Ok((child, format!("http://127.0.0.1:{port}/mcp")))
}

async fn backends(kind: Kind, n: usize) -> Result<Vec<BackendSpec>> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("b{i}");
        let (server, url) = match kind {
            Kind::Http => {
                let (child, url) = http_server(&name).await?;
                (Some(child), Some(url))
            }
            Kind::Stdio => (None, None),
        };
        out.push(BackendSpec {
            name,
            url,
            _server: server,
        });
    }
    Ok(out)
}

/// A proxy under test: its process, its URL, and when it said it was ready.
struct Proxy {
    child: tokio::process::Child,
    url: String,
    ready: tokio::sync::oneshot::Receiver<Instant>,
}

/// Follows a proxy's log for the URL it serves at and its ready line.
fn watch(
    child: &mut tokio::process::Child,
    ready_marker: &'static str,
) -> (
    tokio::sync::oneshot::Receiver<String>,
    tokio::sync::oneshot::Receiver<Instant>,
) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut url_tx, mut ready_tx) = (Some(url_tx), Some(ready_tx));
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.split("serving MCP at ").nth(1)
                && let Some(tx) = url_tx.take()
            {
                let _ = tx.send(url.trim().to_string());
            }
            if line.contains(ready_marker)
                && let Some(tx) = ready_tx.take()
            {
                let _ = tx.send(Instant::now());
            }
        }
    });
    (url_rx, ready_rx)
}

async fn mcpmux(specs: &[BackendSpec]) -> Result<Proxy> {
    let backends: Vec<Value> = specs
        .iter()
        .map(|b| match &b.url {
            Some(url) => json!({"name": b.name, "transport": "http", "endpoint": url}),
            None => json!({
                "name": b.name, "transport": "command", "command": [exe()],
                "env": {"MCPMUX_BENCH_BACKEND": "stdio", "MCPMUX_BENCH_NAME": b.name},
            }),
        })
        .collect();
    let body = json!({"listen": {"transport": "http", "address": "127.0.0.1:0"}, "backends": backends});
    start_mcpmux(&format!("mcpmux-{}.yaml", specs.len()), &body).await
}

/// `mcpmux serve` with configuration `body` (written to `file` in the scratch dir).
async fn start_mcpmux(file: &str, body: &Value) -> Result<Proxy> {
    let config = scratch().join(file);
    std::fs::write(&config, serde_json::to_string(body)?)?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpmux"))
        .args(["serve", "-c"])
        .arg(&config)
        .env("MCPMUX_LOG", "info,rmcp=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (url_rx, ready) = watch(&mut child, " ready: ");
    let url = tokio::time::timeout(Duration::from_secs(30), url_rx).await??;
    Ok(Proxy { child, url, ready })
}

/// The mcp-proxy crate (tower-mcp), when `scripts/bench` has installed it.
fn mcp_proxy_binary() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/mcp-proxy/bin/mcp-proxy");
    p.is_file().then_some(p)
}

/// mcp-proxy with the same backends (TOML config, names joined by `__`).
async fn mcp_proxy(binary: &std::path::Path, specs: &[BackendSpec]) -> Result<Proxy> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut toml =
        format!("[proxy]\nname = \"bench\"\nseparator = \"__\"\n[proxy.listen]\nhost = \"127.0.0.1\"\nport = {port}\n");
    for b in specs {
        let name = &b.name;
        match &b.url {
            Some(url) => toml += &format!("[[backends]]\nname = \"{name}\"\ntransport = \"http\"\nurl = \"{url}\"\n"),
            None => {
                toml += &format!(
                    "[[backends]]\nname = \"{name}\"\ntransport = \"stdio\"\ncommand = {}\nargs = []\n\
                     [backends.env]\nMCPMUX_BENCH_BACKEND = \"stdio\"\nMCPMUX_BENCH_NAME = \"{name}\"\n",
                    Value::String(exe())
                )
            }
        }
    }
    let config = scratch().join(format!("mcp-proxy-{}.toml", specs.len()));
    std::fs::write(&config, toml)?;
    let mut child = tokio::process::Command::new(binary)
        .arg("-c")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (_, ready) = watch(&mut child, "Proxy ready");
    Ok(Proxy {
        child,
        url: format!("http://127.0.0.1:{port}/"),
        ready,
    })
}

// ---------------------------------------------------------------------------
// The load: HTTP/1.1 keep-alive connections posting tools/call.

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn open(url: &str) -> Result<Sender> {
    let uri: http::Uri = url.parse()?;
    let addr = format!("{}:{}", uri.host().ok_or("host")?, uri.port_u16().unwrap_or(80));
    // A proxy may say it is ready a moment before it accepts connections.
    let mut tries = 0;
    let tcp = loop {
        match tokio::net::TcpStream::connect(&addr).await {
            Ok(tcp) => break tcp,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    tcp.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn post(sender: &mut Sender, url: &str, session: Option<&str>, body: Bytes) -> Result<(http::HeaderMap, Bytes)> {
    let mut req = http::Request::post(url)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    sender.ready().await?;
    let response = sender.send_request(req.body(Full::new(body))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok((headers, bytes))
}

/// Opens a 2025-11-25 session on `sender` and returns its id.
async fn initialize(sender: &mut Sender, url: &str) -> Result<Option<String>> {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "mcpmux-bench", "version": "1"}}});
    let (headers, _) = post(sender, url, None, serde_json::to_vec(&init)?.into()).await?;
    let session = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post(sender, url, session.as_deref(), serde_json::to_vec(&done)?.into()).await?;
    Ok(session)
}

fn call_body(id: u64, tool: &str) -> Bytes {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"ping"}}}}}}"#)
        .into()
}

/// Where one connection sends its calls.
trait Target: Send + Sync {
    fn call(&self, conn: usize, id: u64) -> impl Future<Output = Result> + Send;
}

/// One load connection: its sender, the URL, its session and the tool it calls.
type Conn = (Sender, String, Option<String>, String);

/// An HTTP endpoint (a proxy, or one of the HTTP backends directly).
struct HttpTarget {
    conns: Vec<tokio::sync::Mutex<Conn>>,
}

impl HttpTarget {
    /// `urls[i % urls.len()]` with `tools[i % tools.len()]` for connection i;
    /// `shared_session`: one session per URL for all its connections.
    async fn new(urls: &[String], tools: &[String], shared_session: bool) -> Result<HttpTarget> {
        let mut shared: HashMap<String, Option<String>> = HashMap::new();
        let mut conns = Vec::new();
        for i in 0..CONNECTIONS {
            let url = urls[i % urls.len()].clone();
            let mut sender = open(&url).await?;
            let session = match shared.get(&url) {
                Some(s) if shared_session => s.clone(),
                _ => {
                    let s = initialize(&mut sender, &url).await?;
                    shared.insert(url.clone(), s.clone());
                    s
                }
            };
            conns.push(tokio::sync::Mutex::new((
                sender,
                url,
                session,
                tools[i % tools.len()].clone(),
            )));
        }
        Ok(HttpTarget { conns })
    }
}

impl Target for HttpTarget {
    async fn call(&self, conn: usize, id: u64) -> Result {
        let mut c = self.conns[conn].lock().await;
        let (sender, url, session, tool) = &mut *c;
        let (_, body) = post(sender, url, session.as_deref(), call_body(id, tool)).await?;
        if !contains(&body, b": ping\"") {
            return Err(format!("unexpected answer: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A client driving stdio backends' pipes itself: one writer and one reader
/// per child, answers matched to callers by id.
struct PipeTarget {
    children: Vec<Pipe>,
}

type Waiters = Arc<Mutex<HashMap<u64, tokio::sync::oneshot::Sender<String>>>>;

struct Pipe {
    _child: tokio::process::Child,
    stdin: tokio::sync::Mutex<tokio::process::ChildStdin>,
    waiters: Waiters,
}

impl PipeTarget {
    async fn new(n: usize) -> Result<PipeTarget> {
        let mut children = Vec::new();
        for i in 0..n {
            let mut child = tokio::process::Command::new(exe())
                .env("MCPMUX_BENCH_BACKEND", "stdio")
                .env("MCPMUX_BENCH_NAME", format!("b{i}"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()?;
            let waiters: Waiters = Arc::default();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let w = waiters.clone();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let id = serde_json::from_str::<Value>(&line).ok().and_then(|v| v["id"].as_u64());
                    if let Some(tx) = id.and_then(|id| w.lock().unwrap().remove(&id)) {
                        let _ = tx.send(line);
                    }
                }
            });
            let pipe = Pipe {
                stdin: tokio::sync::Mutex::new(child.stdin.take().unwrap()),
                _child: child,
                waiters,
            };
            let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcpmux-bench","version":"1"}}}"#;
            pipe.request(0, init.as_bytes()).await?;
            pipe.stdin
                .lock()
                .await
                .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
                .await?;
            children.push(pipe);
        }
        Ok(PipeTarget { children })
    }
}

impl Pipe {
    async fn request(&self, id: u64, line: &[u8]) -> Result<String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.waiters.lock().unwrap().insert(id, tx);
        {
            let mut stdin = self.stdin.lock().await;
            stdin.write_all(line).await?;
            stdin.write_all(b"\n").await?;
        }
        Ok(rx.await?)
    }
}

impl Target for PipeTarget {
    async fn call(&self, conn: usize, id: u64) -> Result {
        let answer = self.children[conn % self.children.len()]
            .request(id, &call_body(id, "echo"))
            .await?;
        if !answer.contains(": ping\"") {
            return Err(format!("unexpected answer: {answer}").into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Stats {
    p50: Duration,
    per_sec: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Every connection calling back to back for `span`, after a short warm-up.
async fn load<T: Target + 'static>(target: Arc<T>, span: Duration) -> Result<Stats> {
    let ids = Arc::new(AtomicU64::new(1));
    let warm_up = span / 5;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for conn in 0..CONNECTIONS {
        let (target, ids) = (target.clone(), ids.clone());
        tasks.spawn(async move {
            let mut samples = Vec::new();
            let mut measured_from = None;
            loop {
                let now = start.elapsed();
                if now >= warm_up + span {
                    break;
                }
                let t = Instant::now();
                target.call(conn, ids.fetch_add(1, Ordering::Relaxed)).await?;
                if now >= warm_up {
                    measured_from.get_or_insert(now);
                    samples.push(t.elapsed());
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(samples)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    all.sort();
    Ok(Stats {
        p50: percentile(&all, 0.5),
        per_sec: all.len() as f64 / span.as_secs_f64(),
    })
}

// ---------------------------------------------------------------------------
// The run.

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS value")?.parse::<f64>()? / 1024.0)
}

/// One row of results: a scenario's figures per round for each target.
struct Row {
    label: String,
    direct: Vec<Stats>,
    mux: Vec<Stats>,
    peer: Vec<Stats>,
}

async fn proxy_target(p: &Proxy, n: usize, shared: bool) -> Result<Arc<HttpTarget>> {
    let tools: Vec<String> = (0..n).map(|i| format!("b{i}__echo")).collect();
    Ok(Arc::new(
        HttpTarget::new(std::slice::from_ref(&p.url), &tools, shared).await?,
    ))
}

async fn run(rounds: usize, span: Duration) -> Result {
    println!(
        "mcpmux benchmark: {rounds} round(s), {:.1} s per measurement, {CONNECTIONS} connections, 2025-11-25 sessions, {} cores",
        span.as_secs_f64(),
        std::thread::available_parallelism()?
    );
    let peer_bin = mcp_proxy_binary();
    if peer_bin.is_none() {
        println!("(mcp-proxy is not installed in .cache/: scripts/bench installs it; its columns stay empty)");
    }
    let mut rows = Vec::new();
    for kind in [Kind::Stdio, Kind::Http] {
        for n in [1, 10] {
            let specs = backends(kind, n).await?;
            let mut mux = mcpmux(&specs).await?;
            tokio::time::timeout(Duration::from_secs(60), &mut mux.ready).await??;
            let mut peer = match &peer_bin {
                Some(bin) => Some(mcp_proxy(bin, &specs).await?),
                None => None,
            };
            if let Some(p) = peer.as_mut() {
                tokio::time::timeout(Duration::from_secs(60), &mut p.ready).await??;
            }
            let pipes = match kind {
                Kind::Stdio => Some(Arc::new(PipeTarget::new(n).await?)),
                Kind::Http => None,
            };
            let urls: Vec<String> = specs.iter().filter_map(|s| s.url.clone()).collect();
            for shared in [true, false] {
                let mut row = Row {
                    label: format!(
                        "{n} {} backend{}, {}",
                        kind.label(),
                        if n > 1 { "s" } else { "" },
                        if shared { "1 session" } else { "16 sessions" }
                    ),
                    direct: vec![],
                    mux: vec![],
                    peer: vec![],
                };
                for round in 0..rounds {
                    // Rotate the order, so that no target always runs first.
                    for k in 0..3 {
                        match (round + k) % 3 {
                            0 => row.direct.push(match &pipes {
                                Some(p) => load(p.clone(), span).await?,
                                None => {
                                    let t = HttpTarget::new(&urls, &["echo".into()], shared).await?;
                                    load(Arc::new(t), span).await?
                                }
                            }),
                            1 => row.mux.push(load(proxy_target(&mux, n, shared).await?, span).await?),
                            _ => {
                                if let Some(p) = &peer {
                                    row.peer.push(load(proxy_target(p, n, shared).await?, span).await?);
                                }
                            }
                        }
                    }
                }
                eprintln!("measured: {}", row.label);
                rows.push(row);
            }
        }
    }

    println!("\n## tools/call (medians over the rounds; ratios are medians of per-round ratios)");
    println!(
        "| backends, sessions | direct p50 / calls/s | mcpmux p50 / calls/s | mcp-proxy p50 / calls/s | \
         p50 mcpmux÷peer | p50 mcpmux÷direct | calls/s mcpmux÷peer | calls/s mcpmux÷direct |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let fig = |s: &[Stats]| {
        if s.is_empty() {
            return "–".to_string();
        }
        let p50 = median(s.iter().map(|x| x.p50.as_secs_f64()).collect());
        let rate = median(s.iter().map(|x| x.per_sec).collect());
        format!("{} / {:.1}k", us(Duration::from_secs_f64(p50)), rate / 1000.0)
    };
    let ratio = |a: &[Stats], b: &[Stats], f: fn(&Stats) -> f64| {
        if a.is_empty() || b.is_empty() {
            return "–".to_string();
        }
        format!("{:.2}×", median(a.iter().zip(b).map(|(x, y)| f(x) / f(y)).collect()))
    };
    let p50 = |s: &Stats| s.p50.as_secs_f64();
    let rate = |s: &Stats| s.per_sec;
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            fig(&r.direct),
            fig(&r.mux),
            fig(&r.peer),
            ratio(&r.mux, &r.peer, p50),
            ratio(&r.mux, &r.direct, p50),
            ratio(&r.mux, &r.peer, rate),
            ratio(&r.mux, &r.direct, rate),
        );
    }

    // tools/list of 210 tools, start to ready and idle RSS with 10 stdio backends.
    println!("\n## tools/list (210 tools), start-up and memory, 10 stdio backends");
    println!("| target | tools/list p50 | start to ready | idle RSS (children not counted) |");
    println!("|---|---:|---:|---:|");
    let specs = backends(Kind::Stdio, 10).await?;
    let mut targets: Vec<(&str, Option<&std::path::PathBuf>)> = vec![("mcpmux", None)];
    if let Some(bin) = &peer_bin {
        targets.push(("mcp-proxy 0.6", Some(bin)));
    }
    for (label, bin) in targets {
        let started = Instant::now();
        let mut p = match bin {
            None => mcpmux(&specs).await?,
            Some(bin) => mcp_proxy(bin, &specs).await?,
        };
        let ready = tokio::time::timeout(Duration::from_secs(60), &mut p.ready).await??;
        let to_ready = ready.duration_since(started);
        let mut sender = open(&p.url).await?;
        let session = initialize(&mut sender, &p.url).await?;
        let list = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        let mut times = Vec::new();
        let mut tools = 0;
        for _ in 0..if rounds > 1 { 300 } else { 30 } {
            let t = Instant::now();
            let (_, body) = post(&mut sender, &p.url, session.as_deref(), list.clone()).await?;
            times.push(t.elapsed());
            tools = String::from_utf8_lossy(&body).matches("\"inputSchema\"").count();
        }
        times.sort();
        drop(sender);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = rss_mib(p.child.id().ok_or("the proxy exited")?)?;
        println!(
            "| {label} | {} ({tools} tools) | {:.0} ms | {rss:.1} MiB |",
            us(percentile(&times, 0.5)),
            to_ready.as_secs_f64() * 1000.0
        );
    }
    search_mode(rounds).await?;
    let _ = std::fs::remove_dir_all(scratch());
    Ok(())
}

/// `listen.tool_mode: search`: what tools/list weighs with and without it
/// (3 backends x 100 tools), and the search's own time over 2,000 tools.
async fn search_mode(rounds: usize) -> Result {
    println!("\n## listen.tool_mode: search");
    let backends: Vec<Value> = (0..3)
        .map(|i| {
            json!({"name": format!("s{i}"), "transport": "command", "command": [exe()],
                "env": {"MCPMUX_BENCH_BACKEND": "stdio", "MCPMUX_BENCH_NAME": format!("s{i}"), "MCPMUX_BENCH_TOOLS": "99"}})
        })
        .collect();
    let body =
        json!({"listen": {"transport": "http", "address": "127.0.0.1:0", "tool_mode": "search"}, "backends": backends});
    let mut proxy = start_mcpmux("search.yaml", &body).await?;
    tokio::time::timeout(Duration::from_secs(60), &mut proxy.ready).await??;
    let url = proxy.url.clone();
    let list = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    println!("| tools/list of 3 backends x 100 tools | tools | bytes of the JSON-RPC answer |");
    println!("|---|---:|---:|");
    for (label, at) in [
        ("tool_mode: all (at <path>/all)", format!("{url}/all")),
        ("tool_mode: search", url.clone()),
    ] {
        let mut sender = open(&at).await?;
        let session = initialize(&mut sender, &at).await?;
        let (_, body) = post(&mut sender, &at, session.as_deref(), list.clone()).await?;
        // The JSON-RPC answer itself, whether it came as JSON or as an SSE event.
        let text = String::from_utf8_lossy(&body);
        let json = text
            .lines()
            .map(|l| l.strip_prefix("data: ").unwrap_or(l))
            .find(|l| l.contains("\"result\""))
            .ok_or("no answer to tools/list")?;
        let message: Value = serde_json::from_str(json)?;
        let tools = message["result"]["tools"].as_array().map_or(0, Vec::len);
        println!("| {label} | {tools} | {} |", serde_json::to_vec(&message)?.len());
    }
    drop(proxy);

    // The search itself, in process, over 2,000 tools of 20 made-up servers.
    let verbs = [
        "create", "get", "list", "update", "delete", "search", "read", "write", "run", "send",
    ];
    let nouns = [
        "issue", "file", "repo", "message", "ticket", "page", "user", "event", "query", "branch",
    ];
    let tools: Vec<rmcp::model::Tool> = (0..2000)
        .map(|i| {
            let (v, n) = (verbs[i % 10], nouns[(i / 10) % 10]);
            let schema = json!({"type": "object", "properties": {"id": {"type": "string"}, format!("{n}_name"): {"type": "string"}}});
            rmcp::model::Tool::new(
                format!("srv{}__{v}_{n}_{}", i / 100, i % 100),
                format!("{v} a {n} in server {} (variant {}), with options for paging and filters.", i / 100, i % 100),
                Arc::new(schema.as_object().cloned().unwrap_or_default()),
            )
        })
        .collect();
    let built = Instant::now();
    let index = mcpmux::search::Index::build(&tools);
    let build_time = built.elapsed();
    let queries = [
        "create an issue",
        "read file",
        "send a message to a user",
        "delete branch",
        "search events paging",
        "srv7 ticket",
    ];
    let mut times = Vec::new();
    for i in 0..if rounds > 1 { 3000 } else { 300 } {
        let t = Instant::now();
        std::hint::black_box(index.search(queries[i % queries.len()], 10));
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "\nsearch over 2,000 tools (BM25, in process): p50 {:.1} µs, p99 {:.1} µs; index built in {:.1} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        build_time.as_secs_f64() * 1000.0
    );
    Ok(())
}
