//! `mcpmux connect`: an rmcp client of either era on the bridge's stdio
//! reaches a running `mcpmux serve` over HTTP — directly or over a unix
//! socket — and gets its tools, calls, progress, list changes, mcpmux's
//! questions and cancellations; closing stdin closes the HTTP session; the
//! client token reaches the server and nothing else; the bridge exits with
//! an error when mcpmux goes away, idle or not, and at once when there is
//! none.

use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::ClientServiceExt;
use rmcp::service::PeerRequestOptions;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("connect_bridges_a_legacy_client", || bridged(Era::Legacy, false)),
        trial("connect_bridges_a_modern_client", || bridged(Era::Modern, false)),
        trial("connect_over_a_unix_socket_legacy_client", || {
            bridged(Era::Legacy, true)
        }),
        trial("connect_over_a_unix_socket_modern_client", || {
            bridged(Era::Modern, true)
        }),
        trial("connect_sends_the_client_token", client_token),
        trial("connect_exits_when_mcpmux_goes_away", daemon_gone),
    ]
}

/// `mcpmux connect` as a child process, with an rmcp client on its stdio.
struct Bridge {
    child: tokio::process::Child,
    client: Client,
    log: Log,
}

/// Starts `mcpmux connect <target>` with `envs` (and no client token unless
/// given) and nothing connected to its stdio yet.
fn spawn_connect(target: &str, envs: &[(&str, &str)], log: &Log) -> Result<tokio::process::Child> {
    let mut child = mcpmux()
        .env("MCPMUX_LOG", "debug,rmcp=info")
        .env_remove("MCPMUX_CLIENT_TOKEN")
        .envs(envs.iter().copied())
        .args(["connect", target])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    log.drain(child.stderr.take().ok_or("no stderr")?);
    Ok(child)
}

async fn bridge(target: &str, era: Era, envs: &[(&str, &str)]) -> Result<Bridge> {
    let log = Log::default();
    let mut child = spawn_connect(target, envs, &log)?;
    let io = (
        child.stdout.take().ok_or("no stdout")?,
        child.stdin.take().ok_or("no stdin")?,
    );
    let client = Recorder::default()
        .serve_with_lifecycle(io, lifecycle(era))
        .await
        .map_err(|e| format!("{e}\n--- mcpmux connect log ---\n{}", log.text()))?;
    subscribe(&client, era).await?;
    Ok(Bridge { child, client, log })
}

/// Waits up to `limit` for a child to exit; its exit code.
async fn exit_code(child: &mut tokio::process::Child, limit: Duration) -> Result<Option<i32>> {
    let status = tokio::time::timeout(limit, child.wait())
        .await
        .map_err(|_| format!("still running after {limit:?}"))??;
    Ok(status.code())
}

/// The client token of the unix-socket cases.
const UNIX_TOKEN: &str = "unix-client-token-0123456789";

fn mux_config(s: &Scratch) -> std::path::PathBuf {
    s.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0" },
        "connect_retry": { "max_delay": "1s" },
        "backends": [s.backend("one", &[])],
    }))
}

/// A client of `era` on the bridge's stdio lists, calls, gets progress and
/// hears of list changes; when it leaves, the bridge closes the session and
/// exits 0.
fn bridged(era: Era, unix: bool) -> Result {
    block_on(async move {
        let s = Scratch::new(&format!("connect-{era:?}-{unix}"));
        // Over a unix socket, mcpmux's own unix listener with a client token.
        let socket = s.dir.join("mcpmux.sock");
        let config = if unix {
            s.config(&json!({
                "listen": {
                    "transport": "http",
                    "address": format!("unix:{}", socket.display()),
                    "auth": { "type": "bearer", "tokens": [UNIX_TOKEN] },
                },
                "connect_retry": { "max_delay": "1s" },
                "backends": [s.backend("one", &[])],
            }))
        } else {
            mux_config(&s)
        };
        let mux = MuxHttp::start(&config).await?;
        let (target, envs) = if unix {
            (
                format!("unix:{}", socket.display()),
                vec![("MCPMUX_CLIENT_TOKEN", UNIX_TOKEN)],
            )
        } else {
            (mux.url.clone(), vec![])
        };
        let Bridge { mut child, client, log } = with_log(bridge(&target, era, &envs).await, &mux)?;
        let r = async {
            let info = client.peer_info().ok_or("no server info")?;
            let expected = if era == Era::Modern { "2026-07-28" } else { "2025-11-25" };
            assert_eq!(info.protocol_version.as_str(), expected);
            assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("mcpmux"));

            eventually("one's tools listed", LONG, || async {
                tool_names(&client)
                    .await
                    .unwrap_or_default()
                    .iter()
                    .any(|n| n == "one__echo")
            })
            .await?;
            assert_eq!(call_text(&client, "one__echo", json!({"text": "hi"})).await?, "one: hi");

            // Progress travels back through the bridge with the client's token.
            call_text(&client, "one__progress", json!({"steps": 3, "ms": 10})).await?;
            eventually("the last progress notification", LONG, || async {
                client
                    .service()
                    .progress
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|p| p.progress == 3.0)
            })
            .await?;

            // So does tools/list_changed (on the listen stream for 2026-07-28).
            let before = client.service().changes();
            call_text(&client, "one__add_tool", json!({"name": "fresh"})).await?;
            eventually("tools/list_changed", LONG, || async {
                client.service().changes() > before
            })
            .await?;
            assert!(tool_names(&client).await?.iter().any(|n| n == "one__fresh"));
            assert_eq!(call_text(&client, "one__fresh", json!({})).await?, "one: fresh");

            // mcpmux's questions (requests to a 2025-11-25 client, input-required
            // rounds for a 2026-07-28 one) and their answers cross it too.
            assert_eq!(
                call_text(&client, "one__ask_input", json!({"prompt": "abc"})).await?,
                r#"one: sampled "cba", elicited {"name":"tester"}"#
            );

            // A cancellation reaches the backend.
            let args = json!({"ms": 60000, "tag": "bridged"});
            let handle = start_call(&client, "one__sleep", args, PeerRequestOptions::no_options()).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.cancel(Some("test".into())).await?;
            eventually("the backend to see the cancellation", LONG, || async {
                s.read_events().contains("cancelled one bridged")
            })
            .await?;

            // The client leaves: stdin closes, the session is closed, exit 0.
            client.cancel().await?;
            assert_eq!(exit_code(&mut child, Duration::from_secs(10)).await?, Some(0));
            if era == Era::Legacy {
                eventually("the session deleted", Duration::from_secs(5), || async {
                    log.text().contains("delete session success")
                })
                .await?;
            }
            Ok(())
        }
        .await;
        r.map_err(|e: Box<dyn std::error::Error + Send + Sync>| {
            format!(
                "{e}\n--- mcpmux connect log ---\n{}\n--- mcpmux log ---\n{}",
                log.text(),
                mux.log.text()
            )
            .into()
        })
    })
}

/// `MCPMUX_CLIENT_TOKEN` is sent as a bearer token (the server here, a test
/// backend, refuses requests without it) and never logged; without it the
/// client is told why and the bridge exits non-zero.
fn client_token() -> Result {
    block_on(async {
        let s = Scratch::new("connect-token");
        let token = "s3cret-client-token";
        let api = HttpServer::test_backend(
            &s,
            "api",
            &["--require-header", &format!("authorization=Bearer {token}")],
        )
        .await?;
        let loud = ("MCPMUX_LOG", "trace");
        for era in [Era::Legacy, Era::Modern] {
            let Bridge { mut child, client, log } =
                bridge(&api.url, era, &[("MCPMUX_CLIENT_TOKEN", token), loud]).await?;
            assert_eq!(call_text(&client, "echo", json!({"text": "in"})).await?, "api: in");
            client.cancel().await?;
            assert_eq!(exit_code(&mut child, Duration::from_secs(10)).await?, Some(0));
            let text = log.text();
            assert!(!text.is_empty() && !text.contains(token), "the token leaked:\n{text}");
        }

        // Without the token the 401 reaches the client and the bridge ends.
        let log = Log::default();
        let mut child = spawn_connect(&api.url, &[], &log)?;
        let io = (
            child.stdout.take().ok_or("no stdout")?,
            child.stdin.take().ok_or("no stdin")?,
        );
        let refused = Recorder::default()
            .serve_with_lifecycle(io, lifecycle(Era::Legacy))
            .await;
        let e = refused.err().ok_or("connected without the token")?;
        assert!(e.to_string().contains("401"), "{e}");
        assert_eq!(exit_code(&mut child, Duration::from_secs(10)).await?, Some(1));
        eventually("the reason on stderr", Duration::from_secs(5), || async {
            log.text().contains("401 Unauthorized")
        })
        .await
        .map_err(|e| format!("{e}\n{}", log.text()))?;
        Ok(())
    })
}

/// When mcpmux dies, every bridge — with a 2025-11-25 session, with a
/// 2026-07-28 client, or idle with nothing sent yet — exits non-zero within
/// seconds, saying so; with no mcpmux at all it fails at once.
fn daemon_gone() -> Result {
    block_on(async {
        let s = Scratch::new("connect-gone");
        let mux = MuxHttp::start(&mux_config(&s)).await?;
        let mut legacy = with_log(bridge(&mux.url, Era::Legacy, &[]).await, &mux)?;
        let mut modern = with_log(bridge(&mux.url, Era::Modern, &[]).await, &mux)?;
        for b in [&legacy, &modern] {
            eventually("one's tools listed", LONG, || async {
                tool_names(&b.client)
                    .await
                    .unwrap_or_default()
                    .iter()
                    .any(|n| n == "one__echo")
            })
            .await?;
        }
        let idle_log = Log::default();
        let mut idle = spawn_connect(&mux.url, &[], &idle_log)?;
        tokio::time::sleep(Duration::from_millis(500)).await;

        kill(mux.child.id().ok_or("mcpmux exited")? as i32, 9);
        for (name, child, log) in [
            ("legacy", &mut legacy.child, &legacy.log),
            ("modern", &mut modern.child, &modern.log),
            ("idle", &mut idle, &idle_log),
        ] {
            let code = exit_code(child, Duration::from_secs(5))
                .await
                .map_err(|e| format!("{name} bridge: {e}\n{}", log.text()))?;
            assert_eq!(code, Some(1), "{name} bridge:\n{}", log.text());
            eventually("the reason on stderr", Duration::from_secs(2), || async {
                log.text().contains("went away")
            })
            .await
            .map_err(|e| format!("{name} bridge: {e}\n{}", log.text()))?;
        }

        // No mcpmux there at all: a clear error at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            mcpmux()
                .args(["connect", &format!("http://127.0.0.1:{closed}/mcp")])
                .stdin(Stdio::piped())
                .output(),
        )
        .await??;
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot reach mcpmux at"), "{err}");
        Ok(())
    })
}
