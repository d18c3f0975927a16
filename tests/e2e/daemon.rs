//! mcpmux as a systemd service, with systemd's own tools: started by
//! `systemd-socket-activate` on a TCP and on a unix socket, reporting READY,
//! STATUS, RELOADING and STOPPING on a NOTIFY_SOCKET datagram socket the test
//! reads; SIGHUP applying a changed configuration (the unchanged backend
//! keeps its process and its call in flight) and refusing an invalid one;
//! SIGUSR1 retrying a failed backend; SIGTERM leaving no child behind; the
//! front door (client token, Origin, Host, unix peer); `mcpmux doctor`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libtest_mimic::Trial;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("daemon/socket_activation_tcp_notify_and_clean_stop", activation_tcp),
        trial("daemon/socket_activation_unix_with_client_token", activation_unix),
        trial("daemon/sighup_applies_only_what_changed", sighup_reload),
        trial("daemon/sigusr1_retries_a_failed_backend", sigusr1_retry),
        trial("daemon/front_door_refuses_tokenless_and_foreign_clients", front_door),
        trial("daemon/doctor_reports_each_backend", doctor),
    ]
}

/// The datagrams a service sends to systemd, as a NOTIFY_SOCKET would get them.
#[derive(Clone)]
struct NotifySocket {
    path: PathBuf,
    got: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> Result<NotifySocket> {
        let path = dir.join("notify.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path)?;
        let got: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = got.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        });
        Ok(NotifySocket { path, got })
    }

    fn messages(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        self.messages().join("\n---\n")
    }

    /// Waits for a datagram with `line` (a whole line, e.g. `READY=1`) after the first `skip`.
    async fn wait_for(&self, line: &str, skip: usize) -> Result<usize> {
        let found = || {
            self.messages()
                .iter()
                .enumerate()
                .skip(skip)
                .find(|(_, m)| {
                    m.lines()
                        .any(|l| l == line || (line.ends_with('=') && l.starts_with(line)))
                })
                .map(|(i, _)| i)
        };
        eventually(&format!("{line} on the notify socket"), LONG, || async {
            found().is_some()
        })
        .await
        .map_err(|e| format!("{e}\n--- notifications ---\n{}", self.text()))?;
        Ok(found().unwrap_or(0))
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `systemd-socket-activate` listening on `listen`, starting mcpmux with `config`.
fn activate(listen: &str, config: &Path, notify: &NotifySocket) -> Result<tokio::process::Command> {
    let tool = which("systemd-socket-activate")
        .ok_or("systemd-socket-activate is missing (Debian package systemd): run scripts/test-deps")?;
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(["--listen", listen, "--fdname=mcp"])
        .args(["-E", "MCPMUX_LOG=debug,rmcp=warn", "-E", "PATH", "-E", "HOME"])
        .arg("-E")
        .arg(format!("NOTIFY_SOCKET={}", notify.path.display()))
        .arg(env!("CARGO_BIN_EXE_mcpmux"))
        .args(["serve", "-c"])
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    Ok(cmd)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// Socket activation on TCP: the first client starts mcpmux on the passed
/// socket (not the configured address) and keeps systemd's variables from
/// its backends, READY and STATUS arrive, SIGTERM
/// stops it with exit 0, STOPPING=1, and the backend process gone.
fn activation_tcp() -> Result {
    block_on(async {
        let s = Scratch::new("activation-tcp");
        let notify = NotifySocket::bind(&s.dir)?;
        let port = free_port()?;
        let config = s.config(&json!({
            "listen": { "transport": "http", "address": "127.0.0.1:1" },
            "backends": [s.backend("one", &[])],
        }));
        let mut child = activate(&format!("127.0.0.1:{port}"), &config, &notify)?.spawn()?;
        let log = Log::default();
        drop(log.drain(child.stderr.take().ok_or("stderr")?));
        let r: Result = async {
            // systemd-socket-activate binds the port after it starts: a
            // client connecting before that is refused.
            eventually("systemd-socket-activate to listen", LONG, || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
            })
            .await?;
            let client = connect_http(&format!("http://127.0.0.1:{port}/mcp"), Era::Legacy).await?;
            assert_eq!(
                call_text(&client, "one__echo", json!({ "text": "hi" })).await?,
                "one: hi"
            );
            let pid: i32 = call_text(&client, "one__pid", json!({})).await?.parse()?;
            for var in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"] {
                let seen = call_text(&client, "one__env", json!({ "name": var })).await?;
                assert_eq!(seen, "<unset>", "{var} reached the backend");
            }
            let ready = notify.wait_for("READY=1", 0).await?;
            assert!(
                notify.messages()[ready..]
                    .iter()
                    .any(|m| m.contains("STATUS=1/1 backends up")),
                "{}",
                notify.text()
            );
            let mux = child.id().ok_or("exited")? as i32;
            assert!(
                log.text().contains("using the socket passed by systemd"),
                "{}",
                log.text()
            );
            kill(mux, 15);
            let status = tokio::time::timeout(LONG, child.wait()).await??;
            assert_eq!(status.code(), Some(0), "SIGTERM ends mcpmux with 0");
            notify.wait_for("STOPPING=1", ready).await?;
            assert!(!process_alive(pid), "the backend outlived mcpmux");
            Ok(())
        }
        .await;
        r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", log.text()).into())
    })
}

/// One HTTP/1.1 POST over a unix socket; the status and body.
async fn unix_post(path: &Path, body: &Value, token: Option<&str>) -> Result<(u16, String)> {
    let mut stream = tokio::net::UnixStream::connect(path).await?;
    let body = body.to_string();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(LONG, stream.read_to_end(&mut response)).await??;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {text:?}"))?;
    Ok((status, text))
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
}

const CLIENT_TOKEN: &str = "e2e-client-token-0123456789";

/// Socket activation on a unix socket, with a client token configured: a
/// request without the token gets 401 (and starts mcpmux), with it the
/// handshake succeeds.
fn activation_unix() -> Result {
    block_on(async {
        let s = Scratch::new("activation-unix");
        let notify = NotifySocket::bind(&s.dir)?;
        let socket = s.dir.join("mcp.sock");
        let config = s.config(&json!({
            "listen": { "transport": "http", "auth": { "type": "bearer", "tokens": [CLIENT_TOKEN] } },
            "backends": [s.backend("one", &[])],
        }));
        let mut child = activate(socket.to_str().unwrap(), &config, &notify)?.spawn()?;
        let log = Log::default();
        drop(log.drain(child.stderr.take().ok_or("stderr")?));
        let r: Result = async {
            eventually("the activation socket", LONG, || async { socket.exists() }).await?;
            let (status, text) = unix_post(&socket, &initialize(), None).await?;
            assert_eq!(status, 401, "{text}");
            assert!(text.to_ascii_lowercase().contains("www-authenticate: bearer"), "{text}");
            let (status, text) = unix_post(&socket, &initialize(), Some("not-the-token-at-all")).await?;
            assert_eq!(status, 401, "{text}");
            let (status, text) = unix_post(&socket, &initialize(), Some(CLIENT_TOKEN)).await?;
            assert_eq!(status, 200, "{text}");
            assert!(text.contains("serverInfo"), "{text}");
            notify.wait_for("READY=1", 0).await?;
            assert!(!log.text().contains(CLIENT_TOKEN), "the client token reached the log");
            kill(child.id().ok_or("exited")? as i32, 15);
            assert_eq!(tokio::time::timeout(LONG, child.wait()).await??.code(), Some(0));
            Ok(())
        }
        .await;
        r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", log.text()).into())
    })
}

/// SIGHUP with a backend unchanged, one changed, one removed and one added:
/// the unchanged one keeps its process and finishes a call in flight across
/// the reload, the changed one restarts, the removed one's tools leave and
/// the added one's arrive (clients told), with RELOADING=1 and MONOTONIC_USEC
/// then READY=1; an invalid configuration is refused and the running one
/// kept. With a watchdog period set, WATCHDOG=1 pings arrive.
fn sighup_reload() -> Result {
    block_on(async {
        let s = Scratch::new("sighup");
        let notify = NotifySocket::bind(&s.dir)?;
        let config = |backends: Vec<Value>| {
            s.config(&json!({
                "listen": { "transport": "http", "address": "127.0.0.1:0" },
                "backends": backends,
            }))
        };
        let path = config(vec![
            s.backend("keep", &[]),
            s.backend("change", &[]),
            s.backend("drop", &[]),
        ]);
        let socket = notify.path.display().to_string();
        let mux = MuxHttp::start_with(
            &path,
            &[("NOTIFY_SOCKET", socket.as_str()), ("WATCHDOG_USEC", "300000")],
        )
        .await?;
        let r: Result = async {
            let client = connect_http(&mux.url, Era::Legacy).await?;
            let names = tool_names(&client).await?;
            assert!(names.contains(&"drop__echo".into()) && !names.contains(&"add__echo".into()));
            let keep_pid = call_text(&client, "keep__pid", json!({})).await?;
            let change_pid = call_text(&client, "change__pid", json!({})).await?;
            let ready = notify.wait_for("READY=1", 0).await?;
            notify.wait_for("WATCHDOG=1", 0).await?;
            let in_flight = start_call(&client, "keep__sleep", json!({ "ms": 1500 }), Default::default()).await?;
            let changes = client.service().changes();

            config(vec![
                s.backend("keep", &[]),
                s.backend("change", &["--tools", "3"]),
                s.backend("add", &[]),
            ]);
            let pid = mux.child.id().ok_or("exited")? as i32;
            kill(pid, 1);
            let reloading = notify.wait_for("RELOADING=1", ready).await?;
            assert!(
                notify.messages()[reloading].contains("MONOTONIC_USEC="),
                "{}",
                notify.text()
            );
            notify.wait_for("READY=1", reloading).await?;
            let answer = tokio::time::timeout(LONG, in_flight.await_response()).await??;
            assert!(
                format!("{answer:?}").contains("keep: slept"),
                "the call across the reload: {answer:?}"
            );
            eventually("the new catalog", LONG, || async {
                tool_names(&client)
                    .await
                    .is_ok_and(|n| n.contains(&"add__echo".into()) && !n.contains(&"drop__echo".into()))
            })
            .await?;
            eventually("clients to be told", LONG, || async {
                client.service().changes() > changes
            })
            .await?;
            assert_eq!(
                call_text(&client, "keep__pid", json!({})).await?,
                keep_pid,
                "the unchanged backend restarted"
            );
            assert_ne!(
                call_text(&client, "change__pid", json!({})).await?,
                change_pid,
                "the changed backend kept running"
            );
            assert!(
                !process_alive(change_pid.parse()?),
                "the changed backend's old process lives on"
            );

            std::fs::write(&path, "backends: [ {name: broken, transport: nope} ]\n")?;
            kill(pid, 1);
            eventually("the refusal", LONG, || async {
                mux.log.text().contains("keeping the running configuration")
            })
            .await?;
            assert_eq!(call_text(&client, "keep__pid", json!({})).await?, keep_pid);
            assert!(tool_names(&client).await?.contains(&"add__echo".into()));
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// A backend that failed with retries off comes up on SIGUSR1 once its
/// command exists; SIGTERM then lets a call in flight finish, exits 0 and
/// leaves no backend process behind.
fn sigusr1_retry() -> Result {
    block_on(async {
        let s = Scratch::new("sigusr1");
        let late = s.dir.join("late-backend");
        let mut entry = s.backend("late", &[]);
        let real = entry["command"][0].clone();
        entry["command"][0] = json!(late.display().to_string());
        let config = s.config(&json!({
            "listen": { "transport": "http", "address": "127.0.0.1:0" },
            "connect_retry": { "enabled": false },
            "backends": [s.backend("one", &[]), entry],
        }));
        let mux = MuxHttp::start(&config).await?;
        let r: Result<Vec<i32>> = async {
            let client = connect_http(&mux.url, Era::Legacy).await?;
            eventually("the late backend to fail", LONG, || async {
                mux.log.text().contains("not retrying")
            })
            .await?;
            assert!(!tool_names(&client).await?.contains(&"late__echo".into()));
            std::fs::write(
                &late,
                format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.as_str().unwrap_or("")),
            )?;
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&late, std::fs::Permissions::from_mode(0o755))?;
            }
            kill(mux.child.id().ok_or("exited")? as i32, 10);
            eventually("the late backend after SIGUSR1", LONG, || async {
                tool_names(&client)
                    .await
                    .is_ok_and(|n| n.contains(&"late__echo".into()))
            })
            .await?;
            let pids = vec![
                call_text(&client, "one__pid", json!({})).await?.parse()?,
                call_text(&client, "late__pid", json!({})).await?.parse()?,
            ];
            // A call in flight at SIGTERM still gets its answer.
            let in_flight = start_call(&client, "one__sleep", json!({ "ms": 1500 }), Default::default()).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            kill(mux.child.id().ok_or("exited")? as i32, 15);
            let answer = tokio::time::timeout(LONG, in_flight.await_response()).await??;
            assert!(
                format!("{answer:?}").contains("one: slept"),
                "the call in flight at SIGTERM: {answer:?}"
            );
            Ok(pids)
        }
        .await;
        let pids = with_log(r, &mux)?;
        assert_eq!(mux.terminate().await?, Some(0), "SIGTERM ends mcpmux with 0");
        for pid in pids {
            assert!(!process_alive(pid), "backend {pid} outlived mcpmux");
        }
        Ok(())
    })
}

/// The HTTP front door: no token or a wrong one → 401 with a challenge;
/// a foreign Origin or Host → 403; the right token → served.
fn front_door() -> Result {
    block_on(async {
        let s = Scratch::new("front-door");
        let config = s.config(&json!({
            "listen": {
                "transport": "http",
                "address": "127.0.0.1:0",
                "auth": { "type": "bearer", "tokens": ["${E2E_CLIENT_TOKEN}"] },
            },
            "backends": [s.backend("one", &[])],
        }));
        let mux = MuxHttp::start_with(&config, &[("E2E_CLIENT_TOKEN", CLIENT_TOKEN)]).await?;
        let r: Result = async {
            let http = reqwest::Client::new();
            let post = |token: Option<&str>, extra: Option<(&'static str, &'static str)>| {
                let mut r = http
                    .post(&mux.url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(initialize().to_string());
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                if let Some((k, v)) = extra {
                    r = r.header(k, v);
                }
                r.send()
            };
            let none = post(None, None).await?;
            assert_eq!(none.status(), 401);
            assert!(
                none.headers()
                    .get("www-authenticate")
                    .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Bearer"))
            );
            assert_eq!(post(Some("wrong-token-wrong-token"), None).await?.status(), 401);
            assert_eq!(post(Some(CLIENT_TOKEN), None).await?.status(), 200);
            assert_eq!(
                post(Some(CLIENT_TOKEN), Some(("origin", "http://evil.example.com")))
                    .await?
                    .status(),
                403
            );
            assert_eq!(
                post(Some(CLIENT_TOKEN), Some(("origin", "http://localhost:6274")))
                    .await?
                    .status(),
                200
            );
            assert_eq!(
                post(Some(CLIENT_TOKEN), Some(("host", "evil.example.com")))
                    .await?
                    .status(),
                403
            );
            assert!(
                !mux.log.text().contains(CLIENT_TOKEN),
                "the client token reached the log"
            );
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// `mcpmux doctor`: a table naming each backend with its state, tool count
/// and time; exit 1 when one is broken.
fn doctor() -> Result {
    block_on(async {
        let s = Scratch::new("doctor");
        let config = s.config(&json!({
            "backends": [
                s.backend("good", &[]),
                { "name": "gone", "transport": "command", "command": [s.dir.join("no-such-program").display().to_string()] },
            ],
        }));
        let out = mcpmux().args(["doctor", "-c"]).arg(&config).output().await?;
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let line = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap_or("").to_string();
        assert!(
            line("good").contains("ok (protocol") && line("good").contains(" 16 "),
            "{text}"
        );
        assert!(line("gone").contains("cannot start"), "{text}");
        // Latency: the median of three pings, for a backend that answers.
        assert!(text.lines().next().is_some_and(|h| h.contains("PING")), "{text}");
        let ping = line("good")
            .split_whitespace()
            .find_map(|w| w.strip_suffix("ms").and_then(|n| n.parse::<f64>().ok()));
        assert!(ping.is_some_and(|ms| ms > 0.0), "{text}");
        assert!(text.contains("1 of 2 backends need attention"), "{text}");
        Ok(())
    })
}
