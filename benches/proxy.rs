//! The performance benchmark (`cargo bench --bench proxy`): mcpmux against a
//! direct connection to the same backend, in the same run. It measures
//! tools/call round trips (p50, p99, calls/s) over HTTP with 1 and 64
//! concurrent callers — direct, through mcpmux to a stdio backend, and
//! through mcpmux to the same HTTP backend — tools/list of 20 backends × 100
//! tools, the time from start to ready against the slowest backend's own
//! handshake, and idle RSS with 10 backends. The backend is the e2e test
//! backend, this binary re-executed with `MCPMUX_TEST_BACKEND=1`.
//! `-- --quick` shortens every phase (a smoke run, not a measurement);
//! `-- --modern` makes the clients speak 2026-07-28 instead of 2025-11-25.

#[path = "../tests/e2e/backend.rs"]
mod backend;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone)]
struct BenchClient;

impl ClientHandler for BenchClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), Implementation::new("mcpmux-bench", "1"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

type Client = RunningService<RoleClient, BenchClient>;

/// `--modern`: clients speak 2026-07-28 (server/discover) instead of initialize.
static MODERN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() {
    if std::env::var_os("MCPMUX_TEST_BACKEND").is_some() {
        backend::run();
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    MODERN.store(
        std::env::args().any(|a| a == "--modern"),
        std::sync::atomic::Ordering::Relaxed,
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Err(e) = rt.block_on(run(quick)) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

fn exe() -> String {
    std::env::current_exe().unwrap().display().to_string()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpmux-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdio_backend(name: &str, tools: usize) -> Value {
    json!({
        "name": name,
        "transport": "command",
        "command": [exe(), "--name", name, "--tools", tools.to_string()],
        "env": { "MCPMUX_TEST_BACKEND": "1" },
    })
}

/// The test backend serving HTTP; returns the child and its URL.
async fn http_backend() -> Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(exe())
        .args(["--name", "direct", "--http", "--era", "legacy"])
        .env("MCPMUX_TEST_BACKEND", "1")
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

/// mcpmux serving HTTP with `backends`; returns the child, its URL and when it logged ready.
struct Mux {
    child: tokio::process::Child,
    url: String,
    ready: tokio::sync::oneshot::Receiver<Instant>,
}

/// Follows a proxy's log: the URL mcpmux says it serves at, and when the
/// line containing `ready_marker` appears.
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

async fn mux(backends: Vec<Value>, page_size: usize) -> Result<Mux> {
    let config = scratch().join(format!("mux-{}.yaml", backends.len()));
    let body = json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0", "page_size": page_size },
        "backends": backends,
    });
    std::fs::write(&config, serde_json::to_string(&body)?)?;
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
    Ok(Mux { child, url, ready })
}

/// The mcp-proxy crate (tower-mcp), when `scripts/bench` has installed it.
fn mcp_proxy_binary() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/mcp-proxy/bin/mcp-proxy");
    p.is_file().then_some(p)
}

/// mcp-proxy with the same backends (TOML config, names joined by `__`).
async fn mcp_proxy(binary: &std::path::Path, backends: &[Value]) -> Result<Mux> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut toml =
        format!("[proxy]\nname = \"bench\"\nseparator = \"__\"\n[proxy.listen]\nhost = \"127.0.0.1\"\nport = {port}\n");
    for b in backends {
        let name = b["name"].as_str().unwrap_or_default();
        if let Some(url) = b["endpoint"].as_str() {
            toml += &format!("[[backends]]\nname = \"{name}\"\ntransport = \"http\"\nurl = \"{url}\"\n");
        } else {
            // JSON strings are valid TOML basic strings.
            let argv: Vec<String> = b["command"].as_array().unwrap().iter().map(|a| a.to_string()).collect();
            toml += &format!(
                "[[backends]]\nname = \"{name}\"\ntransport = \"stdio\"\ncommand = {}\nargs = [{}]\n[backends.env]\nMCPMUX_TEST_BACKEND = \"1\"\n",
                argv[0],
                argv[1..].join(", ")
            );
        }
    }
    let config = scratch().join(format!("mcp-proxy-{}.toml", backends.len()));
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
    Ok(Mux {
        child,
        url: format!("http://127.0.0.1:{port}/"),
        ready,
    })
}

async fn connect(url: &str) -> Result<Client> {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).max_concurrent_requests(64);
    if MODERN.load(std::sync::atomic::Ordering::Relaxed) {
        let mode = rmcp::ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        };
        return Ok(rmcp::ClientServiceExt::serve_with_lifecycle(
            BenchClient,
            StreamableHttpClientTransport::from_config(config),
            mode,
        )
        .await?);
    }
    Ok(BenchClient
        .serve(StreamableHttpClientTransport::from_config(config))
        .await?)
}

async fn call(client: &Client, tool: &str) -> Result {
    let mut params = CallToolRequestParams::new(tool.to_string());
    params.arguments = json!({"text": "ping"}).as_object().cloned();
    let r = client.peer().call_tool(params).await?;
    if r.is_error == Some(true) {
        return Err(format!("{tool} failed").into());
    }
    Ok(())
}

struct Stats {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `callers` sessions calling `tool` back to back for `span` (after a warm-up).
async fn load(url: &str, tool: &str, callers: usize, span: Duration) -> Result<Stats> {
    let mut clients = Vec::new();
    for _ in 0..callers {
        clients.push(Arc::new(connect(url).await?));
    }
    for c in &clients {
        for _ in 0..20 {
            call(c, tool).await?;
        }
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in clients {
        let tool = tool.to_string();
        tasks.spawn(async move {
            let mut samples = Vec::new();
            while start.elapsed() < span {
                let t = Instant::now();
                call(&c, &tool).await?;
                samples.push(t.elapsed());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(samples)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    let elapsed = start.elapsed();
    all.sort();
    Ok(Stats {
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        per_sec: all.len() as f64 / elapsed.as_secs_f64(),
    })
}

/// How long mcpmux takes to answer tools/list for 20 x 100 tools from its
/// snapshot: the page, the owned result rmcp takes, and its JSON.
fn snapshot_answer(rounds: usize) -> Vec<Duration> {
    use mcpmux::router::{Router, Source};
    use rmcp::model::{ListToolsResult, Tool};
    let schema = Arc::new(
        json!({"type": "object", "properties": {"text": {"type": "string"}}})
            .as_object()
            .unwrap()
            .clone(),
    );
    let catalogs: Vec<Vec<Tool>> = (0..20)
        .map(|b| {
            (0..100)
                .map(|i| {
                    Tool::new(
                        format!("tool_{i:03}"),
                        format!("Tool {i} of backend {b}."),
                        schema.clone(),
                    )
                })
                .collect()
        })
        .collect();
    let names: Vec<std::sync::Arc<str>> = (0..20).map(|b| format!("b{b:02}").into()).collect();
    let sources: Vec<Source<'_>> = catalogs
        .iter()
        .enumerate()
        .map(|(i, tools)| Source::tools(&names[i], &names[i], None, tools))
        .collect();
    let router = Router::build(1, &sources);
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let (page, _) = router.page(&router.tools.items, None, 5000).unwrap();
        let result = ListToolsResult::with_all_items(page.to_vec());
        let bytes = serde_json::to_vec(&result).unwrap();
        std::hint::black_box(bytes);
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn ratios(who: &str, callers: usize, direct: &Stats, stdio: &Stats, http: &Stats) {
    println!(
        "| {who} / direct (stdio / HTTP backend) | {callers} | {:.2}x / {:.2}x | {:.2}x / {:.2}x | {:.2}x / {:.2}x |",
        stdio.p50.as_secs_f64() / direct.p50.as_secs_f64(),
        http.p50.as_secs_f64() / direct.p50.as_secs_f64(),
        stdio.p99.as_secs_f64() / direct.p99.as_secs_f64(),
        http.p99.as_secs_f64() / direct.p99.as_secs_f64(),
        stdio.per_sec / direct.per_sec,
        http.per_sec / direct.per_sec,
    );
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS value")?.parse()?)
}

async fn run(quick: bool) -> Result {
    let span = if quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(5)
    };
    let era = if MODERN.load(std::sync::atomic::Ordering::Relaxed) {
        "2026-07-28"
    } else {
        "2025-11-25"
    };
    println!(
        "mcpmux benchmark ({} per phase; clients speak {era}; machine: {} cores)",
        ms(span),
        std::thread::available_parallelism()?
    );

    // 1. tools/call round trips and throughput over HTTP.
    let (_direct_child, direct_url) = http_backend().await?;
    let pair = vec![
        stdio_backend("local", 0),
        json!({"name": "remote", "transport": "http", "endpoint": direct_url}),
    ];
    let mut m = mux(pair.clone(), 1000).await?;
    tokio::time::timeout(Duration::from_secs(30), &mut m.ready).await??;
    let mut other = match mcp_proxy_binary() {
        Some(bin) => Some(mcp_proxy(&bin, &pair).await?),
        None => None,
    };
    if let Some(o) = other.as_mut() {
        tokio::time::timeout(Duration::from_secs(30), &mut o.ready).await??;
    }
    println!("\n## tools/call over HTTP (client -> [mcpmux ->] backend)");
    println!("| path | callers | p50 | p99 | calls/s |");
    println!("|---|---:|---:|---:|---:|");
    for callers in [1, 64] {
        let direct = load(&direct_url, "echo", callers, span).await?;
        let via_stdio = load(&m.url, "local__echo", callers, span).await?;
        let via_http = load(&m.url, "remote__echo", callers, span).await?;
        for (name, s) in [
            ("direct to the backend", &direct),
            ("mcpmux, backend over stdio", &via_stdio),
            ("mcpmux, backend over HTTP", &via_http),
        ] {
            println!(
                "| {name} | {callers} | {} | {} | {:.0} |",
                ms(s.p50),
                ms(s.p99),
                s.per_sec
            );
        }
        ratios("mcpmux", callers, &direct, &via_stdio, &via_http);
        if let Some(o) = &other {
            let o_stdio = load(&o.url, "local__echo", callers, span).await?;
            let o_http = load(&o.url, "remote__echo", callers, span).await?;
            for (name, s) in [
                ("mcp-proxy 0.6, backend over stdio", &o_stdio),
                ("mcp-proxy 0.6, backend over HTTP", &o_http),
            ] {
                println!(
                    "| {name} | {callers} | {} | {} | {:.0} |",
                    ms(s.p50),
                    ms(s.p99),
                    s.per_sec
                );
            }
            ratios("mcp-proxy", callers, &direct, &o_stdio, &o_http);
        }
    }
    drop(m);
    drop(other);

    // The hop mcpmux adds, on its own: an rmcp client talking to the backend over stdio.
    let mut cmd = tokio::process::Command::new(exe());
    cmd.args(["--name", "pipe"]).env("MCPMUX_TEST_BACKEND", "1");
    let pipe = BenchClient.serve(TokioChildProcess::new(cmd)?).await?;
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < span {
        let t = Instant::now();
        call(&pipe, "echo").await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "| for reference: a client straight to the backend over stdio | 1 | {} | {} | {:.0} |",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        samples.len() as f64 / start.elapsed().as_secs_f64()
    );
    drop(pipe);

    // 2. tools/list of 20 backends x 100 tools, answered from the snapshot.
    let backends: Vec<Value> = (0..20).map(|i| stdio_backend(&format!("b{i:02}"), 90)).collect(); // 10 fixed tools + 90
    let mut m = mux(backends, 5000).await?;
    tokio::time::timeout(Duration::from_secs(60), &mut m.ready).await??;
    let client = connect(&m.url).await?;
    // The same 2000 tools from one backend, directly.
    let mut big = tokio::process::Command::new(exe());
    big.args(["--name", "big", "--http", "--tools", "1990"])
        .env("MCPMUX_TEST_BACKEND", "1")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut big = big.spawn()?;
    let line = BufReader::new(big.stdout.take().unwrap())
        .lines()
        .next_line()
        .await?
        .unwrap_or_default();
    let big_url = format!(
        "http://127.0.0.1:{}/mcp",
        line.strip_prefix("LISTENING ").ok_or("big backend")?
    );
    let one = connect(&big_url).await?;
    let rounds = if quick { 20 } else { 300 };
    let mut timings = Vec::new();
    let mut direct_timings = Vec::new();
    let mut count = 0;
    let mut direct_count = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        count = client.peer().list_tools(None).await?.tools.len();
        timings.push(t.elapsed());
        let t = Instant::now();
        direct_count = one.peer().list_tools(None).await?.tools.len();
        direct_timings.push(t.elapsed());
    }
    timings.sort();
    direct_timings.sort();
    println!("\n## tools/list over HTTP");
    println!("| what | tools | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| mcpmux, 20 backends x 100 tools | {count} | {} | {} |",
        ms(percentile(&timings, 0.5)),
        ms(percentile(&timings, 0.99))
    );
    println!(
        "| one backend directly, the same number of tools | {direct_count} | {} | {} |",
        ms(percentile(&direct_timings, 0.5)),
        ms(percentile(&direct_timings, 0.99))
    );
    let snapshot = snapshot_answer(rounds);
    println!(
        "| mcpmux's own share, in process: snapshot page -> owned result -> JSON | 2000 | {} | {} |",
        ms(percentile(&snapshot, 0.5)),
        ms(percentile(&snapshot, 0.99))
    );
    drop(m);

    // 3. Start to ready with 10 backends, against the slowest backend's own start.
    let mut slowest_direct = Duration::ZERO;
    let mut direct = tokio::task::JoinSet::new();
    for i in 0..10 {
        direct.spawn(async move {
            let t = Instant::now();
            let mut cmd = tokio::process::Command::new(exe());
            cmd.args(["--name", &format!("d{i}")]).env("MCPMUX_TEST_BACKEND", "1");
            let client = BenchClient.serve(TokioChildProcess::new(cmd)?).await?;
            client.peer().list_all_tools().await?;
            let elapsed = t.elapsed();
            drop(client);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(elapsed)
        });
    }
    while let Some(r) = direct.join_next().await {
        slowest_direct = slowest_direct.max(r??);
    }
    let backends: Vec<Value> = (0..10).map(|i| stdio_backend(&format!("r{i}"), 0)).collect();
    let started = Instant::now();
    let mut m = mux(backends, 1000).await?;
    let ready = tokio::time::timeout(Duration::from_secs(60), &mut m.ready).await??;
    let to_ready = ready.duration_since(started);
    tokio::time::sleep(if quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(3)
    })
    .await;
    let rss = rss_kib(m.child.id().ok_or("mcpmux exited")?)?;
    println!("\n## start-up and memory, 10 stdio backends");
    println!("| what | value |");
    println!("|---|---:|");
    println!(
        "| mcpmux: start to ready (process spawn to the `ready` log line) | {} |",
        ms(to_ready)
    );
    println!(
        "| slowest of 10 backends started directly (spawn, handshake, tools/list) | {} |",
        ms(slowest_direct)
    );
    println!("| difference | {} |", ms(to_ready.saturating_sub(slowest_direct)));
    println!(
        "| mcpmux idle RSS (children not counted) | {:.1} MiB |",
        rss as f64 / 1024.0
    );
    drop(m);
    if let Some(bin) = mcp_proxy_binary() {
        let backends: Vec<Value> = (0..10).map(|i| stdio_backend(&format!("p{i}"), 0)).collect();
        let started = Instant::now();
        let mut o = mcp_proxy(&bin, &backends).await?;
        let ready = tokio::time::timeout(Duration::from_secs(60), &mut o.ready).await??;
        tokio::time::sleep(if quick {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(3)
        })
        .await;
        let rss = rss_kib(o.child.id().ok_or("mcp-proxy exited")?)?;
        let to_ready = ready.duration_since(started);
        println!(
            "| mcp-proxy 0.6: start to ready (spawn to its `Proxy ready` log line) | {} |",
            ms(to_ready)
        );
        println!(
            "| mcp-proxy 0.6 idle RSS (children not counted) | {:.1} MiB |",
            rss as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_dir_all(scratch());
    Ok(())
}
