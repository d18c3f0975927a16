//! Hostile clients on the HTTP front: a body over `listen.max_body_bytes`
//! (413, nothing read past it), malformed JSON, a JSON-RPC batch, an unknown
//! session id, headers sent too slowly (cut off after
//! `listen.header_timeout`) — each refused on its own while a well-behaved
//! client is served throughout; and on stdio, lines that are not JSON-RPC
//! skipped, the session going on. Hostile backends: one answering 503 to
//! everything fails alone, with the status in its error; one that closes its
//! stdout and keeps running is ended (no process left) and restarted.

use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("hostile/http_clients_are_refused_one_by_one", http_clients),
        trial("hostile/stdio_garbage_lines_are_skipped", stdio_garbage),
        trial("hostile/an_http_backend_answering_5xx_fails_alone", backend_5xx),
        trial(
            "hostile/a_backend_that_closes_stdout_is_ended_and_restarted",
            closed_stdout,
        ),
    ]
}

fn initialize(padding: usize) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"},
        "_meta": {"padding": "x".repeat(padding)}}})
    .to_string()
}

fn http_clients() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-http");
        let config = s.config(&json!({
            "listen": {
                "transport": "http",
                "address": "127.0.0.1:0",
                "max_body_bytes": 65536,
                "header_timeout": "1s",
            },
            "backends": [s.backend("one", &[])],
        }));
        let mux = MuxHttp::start(&config).await?;
        let r: Result = async {
            let good = connect_http(&mux.url, Era::Legacy).await?;
            let served = || async { call_text(&good, "one__echo", json!({ "text": "still" })).await };
            assert_eq!(served().await?, "one: still");
            let http = reqwest::Client::new();
            let post = |body: String, session: Option<&'static str>| {
                let mut r = http
                    .post(&mux.url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(body);
                if let Some(id) = session {
                    r = r.header("mcp-session-id", id);
                }
                r.send()
            };

            let big = post(initialize(100 * 1024), None).await?;
            assert_eq!(big.status(), 413, "a body over max_body_bytes");
            assert_eq!(post(initialize(0), None).await?.status(), 200, "a body under it");

            let malformed = post("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ".into(), None).await?;
            assert!(
                malformed.status().is_client_error(),
                "malformed JSON: {}",
                malformed.status()
            );

            let batch = format!("[{},{}]", initialize(0), initialize(0));
            let batched = post(batch, None).await?;
            let status = batched.status();
            let body = batched.text().await?;
            assert!(
                status.is_client_error() || body.contains("\"error\""),
                "a JSON-RPC batch: {status} {body}"
            );

            let listing = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
            let unknown = post(listing, Some("no-such-session")).await?;
            assert_eq!(unknown.status(), 404, "an unknown session id");
            assert_eq!(served().await?, "one: still");

            // Headers dribbled slower than header_timeout: the connection is closed.
            let port: u16 = mux
                .url
                .trim_start_matches("http://127.0.0.1:")
                .split('/')
                .next()
                .ok_or("port")?
                .parse()?;
            let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            slow.write_all(b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\n").await?;
            let mut buf = [0u8; 512];
            let closed = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match slow.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            assert!(closed.is_ok(), "a client sending headers slowly was never cut off");
            assert_eq!(served().await?, "one: still");
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// Garbage on stdio (not JSON, JSON that is no JSON-RPC message, a lone
/// brace) is skipped: the handshake and a call that follow it are answered.
fn stdio_garbage() -> Result {
    block_on(async {
        use tokio::io::AsyncBufReadExt;
        let s = Scratch::new("hostile-stdio");
        let config = s.config(&json!({ "backends": [s.backend("one", &[])] }));
        let mut child = mcpmux()
            .args(["serve", "-c"])
            .arg(&config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut stdin = child.stdin.take().ok_or("stdin")?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        let mut send = async |line: String| stdin.write_all(format!("{line}\n").as_bytes()).await;
        for garbage in ["this is not json", "{\"hello\": 1}", "{", "[]", "\u{0}\u{1}binary"] {
            send(garbage.to_string()).await?;
        }
        send(initialize(0)).await?;
        send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string()).await?;
        send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "one__echo", "arguments": {"text": "after garbage"}}})
            .to_string(),
        )
        .await?;
        let answered = tokio::time::timeout(LONG, async {
            let mut seen = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let done = line.contains("one: after garbage");
                seen.push(line);
                if done {
                    return Ok(seen);
                }
            }
            Err(seen)
        })
        .await
        .map_err(|_| "no answer after the garbage")?;
        let seen = answered.map_err(|seen| format!("mcpmux closed stdout: {seen:?}"))?;
        assert!(seen.iter().any(|l| l.contains("\"serverInfo\"")), "{seen:?}");
        drop(stdin);
        let status = tokio::time::timeout(LONG, child.wait()).await??;
        assert!(status.success(), "EOF on stdin ends mcpmux cleanly: {status}");
        Ok(())
    })
}

/// An HTTP backend that answers 503 to every request is down with the
/// status in its error; the other backend serves on.
fn backend_5xx() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-5xx");
        let broken = HttpServer::test_backend(
            &s,
            "broken",
            &["--require-header", "x-never=sent", "--deny-status", "503"],
        )
        .await?;
        let config = s.config(&json!({ "backends": [broken.entry("broken"), s.backend("one", &[])] }));
        let listed = list_json(&config).await?;
        let report = &listed.report;
        assert!(listed.status("broken").contains("503"), "{report}");
        assert!(listed.has_tool("one__echo") && !listed.has_prefix("broken"), "{report}");
        assert_eq!(listed.code, Some(1));
        Ok(())
    })
}

/// A command backend that closes its stdout but keeps running: mcpmux sees
/// the connection end, ends the old process (none is left behind) and
/// starts it again; the other backend serves throughout.
fn closed_stdout() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-stdout");
        let (mux, client) = http_session(
            &s,
            vec![
                s.backend("mute", &["--close-stdout-after-ms", "1500"]),
                s.backend("one", &[]),
            ],
        )
        .await?;
        let r: Result = async {
            let first: i32 = call_text(&client, "mute__pid", json!({})).await?.parse()?;
            eventually("the mute backend's old process to be ended", LONG, || async {
                !process_alive(first)
            })
            .await?;
            eventually("the mute backend to be restarted", LONG, || async {
                call_text(&client, "mute__pid", json!({}))
                    .await
                    .is_ok_and(|p| p.parse::<i32>().is_ok_and(|p| p != first))
            })
            .await?;
            for _ in 0..5 {
                assert_eq!(
                    call_text(&client, "one__echo", json!({ "text": "on" })).await?,
                    "one: on"
                );
            }
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}
