//! Client sessions on the HTTP front over their whole life: an idle
//! 2025-11-25 session ends after `listen.session_idle_timeout` (its id then
//! answers 404) unless it keeps a stream open; thousands of abandoned
//! sessions go and mcpmux's memory returns to its level; a client that
//! disconnects mid-call — a 2026-07-28 request has its backend call
//! cancelled, a 2025-11-25 session's call is not (a disconnect is not a
//! cancellation) and runs to its end — leaves no file descriptor behind; on
//! stdio, EOF in the middle of a call ends mcpmux cleanly with its backends.

use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial(
            "sessions/idle_sessions_expire_unless_a_stream_is_open",
            idle_sessions_expire,
        ),
        trial("sessions/abandoned_sessions_go_and_memory_returns", abandoned_sessions),
        trial(
            "sessions/quiet_sessions_sleep_light_and_wake_on_use",
            quiet_sessions_sleep,
        ),
        trial(
            "sessions/a_client_disconnecting_mid_call_leaves_nothing_behind",
            disconnect_mid_call,
        ),
        trial(
            "sessions/stdio_eof_mid_call_ends_mcpmux_and_its_backends",
            stdio_eof_mid_call,
        ),
    ]
}

/// The idle timeout of the sessions in most of these tests.
const IDLE: Duration = Duration::from_secs(2);

const ACCEPT: &str = "application/json, text/event-stream";

/// A raw HTTP client of the front, speaking JSON-RPC by hand.
pub struct Raw {
    http: reqwest::Client,
    url: String,
}

impl Raw {
    pub fn new(url: &str) -> Raw {
        Raw {
            http: reqwest::Client::new(),
            url: url.to_string(),
        }
    }

    pub fn post(&self, body: &Value, session: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT)
            .body(body.to_string());
        if let Some(id) = session {
            r = r
                .header("mcp-session-id", id)
                .header("mcp-protocol-version", "2025-11-25");
        }
        r
    }

    /// A new 2025-11-25 session's id (initialize, then initialized).
    pub async fn open(&self) -> Result<String> {
        self.open_with(json!({})).await
    }

    /// A new 2025-11-25 session of a client declaring `capabilities`.
    pub async fn open_with(&self, capabilities: Value) -> Result<String> {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities, "clientInfo": {"name": "raw", "version": "1"}}});
        let r = self.post(&init, None).send().await?;
        let status = r.status();
        let id = r
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .ok_or_else(|| format!("initialize answered {status} with no session id"))?;
        r.bytes().await?;
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = self.post(&done, Some(&id)).send().await?;
        assert!(r.status().is_success(), "initialized: {}", r.status());
        Ok(id)
    }

    /// A tools/call in session `id`: the HTTP status and the body.
    pub async fn call(&self, id: &str, tool: &str, args: Value) -> Result<(u16, String)> {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": tool, "arguments": args}});
        let r = self.post(&body, Some(id)).send().await?;
        Ok((r.status().as_u16(), r.text().await?))
    }
}

/// Waits until session `id` is ended for idleness (its id answers 404).
/// Every probe is a request, and a request is activity, so each comes only
/// after two idle periods of quiet.
async fn expired(raw: &Raw, id: &str, idle: Duration) -> Result {
    for _ in 0..10 {
        tokio::time::sleep(idle * 2).await;
        let (status, _) = raw.call(id, "one__echo", json!({})).await?;
        if status == 404 {
            return Ok(());
        }
    }
    Err(format!("session {id} was not ended after 10 quiet spells of {:?}", idle * 2).into())
}

fn pid_of(mux: &MuxHttp) -> Result<u32> {
    Ok(mux.child.id().ok_or("mcpmux exited")?)
}

/// A /proc/PID/status field in KiB.
fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line.split_whitespace().nth(1).ok_or("no value")?.parse()?)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn serve_config(s: &Scratch, idle: &str) -> std::path::PathBuf {
    s.config(&json!({
        "listen": {"transport": "http", "address": "127.0.0.1:0", "session_idle_timeout": idle},
        "backends": [s.backend("one", &[])],
    }))
}

fn idle_sessions_expire() -> Result {
    block_on(async {
        let s = Scratch::new("sessions-idle");
        let mux = MuxHttp::start(&serve_config(&s, "2s")).await?;
        let r: Result = async {
            let raw = Raw::new(&mux.url);
            let streaming = raw.open().await?;
            // Its standing GET stream, held open and never read.
            let stream = raw
                .http
                .get(&mux.url)
                .header("accept", "text/event-stream")
                .header("mcp-session-id", &streaming)
                .header("mcp-protocol-version", "2025-11-25")
                .send()
                .await?;
            assert_eq!(stream.status(), 200, "the GET stream");
            let quiet = raw.open().await?;
            let (status, body) = raw.call(&quiet, "one__echo", json!({"text": "hi"})).await?;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("one: hi"), "{body}");
            expired(&raw, &quiet, IDLE).await?;
            // Well past the idle time, the session with a stream still works.
            let (status, body) = raw.call(&streaming, "one__echo", json!({"text": "alive"})).await?;
            assert_eq!(status, 200, "a session with an open stream was ended: {body}");
            assert!(body.contains("one: alive"), "{body}");
            // Without its stream, it goes too.
            drop(stream);
            expired(&raw, &streaming, IDLE).await?;
            // A new session is served as ever.
            let again = raw.open().await?;
            let (status, body) = raw.call(&again, "one__echo", json!({"text": "new"})).await?;
            assert_eq!((status, body.contains("one: new")), (200, true), "{body}");
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// Opens `n` sessions, `width` at a time, and abandons them.
async fn abandon(raw: &Raw, n: usize, width: usize) -> Result {
    let mut opened = 0;
    while opened < n {
        let batch = width.min(n - opened);
        let results = futures::future::join_all((0..batch).map(|_| raw.open())).await;
        for r in results {
            r?;
        }
        opened += batch;
    }
    Ok(())
}

fn abandoned_sessions() -> Result {
    block_on(async {
        let s = Scratch::new("sessions-abandoned");
        // Long enough for all of them to be alive at the peak.
        let mux = MuxHttp::start(&serve_config(&s, "20s")).await?;
        let r: Result = async {
            let pid = pid_of(&mux)?;
            let raw = Raw::new(&mux.url);
            // Warm up (allocator, connection pool); these stay in the base.
            abandon(&raw, 200, 16).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let base = status_kib(pid, "VmRSS")?;
            const N: usize = 3000;
            let opening = std::time::Instant::now();
            abandon(&raw, N, 16).await?;
            let opening = opening.elapsed();
            let peak = status_kib(pid, "VmRSS")?;
            let per_session = (peak.saturating_sub(base)) as f64 / N as f64;
            eprintln!("{N} idle sessions: RSS {base} -> {peak} KiB ({per_session:.1} KiB each)");
            // Memory bound, not timing: what an idle session costs.
            // rmcp's per-session stack (a worker and a service task, six
            // channels) is most of it: see the README's reliability table.
            // (If opening them took longer than their idle time, some had
            // gone already and the figure means nothing.)
            assert!(
                opening >= Duration::from_secs(20) || per_session <= 80.0,
                "an idle session costs {per_session:.1} KiB ({base} -> {peak} KiB for {N})"
            );
            // They expire and the memory comes back within a fifth of the growth.
            let back = base + (peak - base) / 5;
            let mut now = peak;
            let returned = eventually("the abandoned sessions' memory to return", LONG * 2, || {
                now = status_kib(pid, "VmRSS").unwrap_or(u64::MAX);
                async move { now <= back }
            })
            .await;
            eprintln!("after expiry: RSS {now} KiB (base {base}, peak {peak})");
            returned?;
            let still = raw.open().await?;
            let (status, body) = raw.call(&still, "one__echo", json!({"text": "after"})).await?;
            assert_eq!((status, body.contains("one: after")), (200, true), "{body}");
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

/// How many sessions the log says went to sleep.
fn slept(mux: &MuxHttp) -> usize {
    mux.log.text().matches("a quiet session goes to sleep").count()
}

fn quiet_sessions_sleep() -> Result {
    block_on(async {
        let s = Scratch::new("sessions-sleep");
        let mux = MuxHttp::start_with(
            &serve_config(&s, "10m"),
            &[("MCPMUX_LOG", "info,rmcp=warn,mcpmux::sessions=debug")],
        )
        .await?;
        let r: Result = async {
            let pid = pid_of(&mux)?;
            let raw = Raw::new(&mux.url);
            // Warm up (allocator, connection pool), and let those sleep.
            abandon(&raw, 200, 16).await?;
            let first = raw.open().await?;
            let (status, _) = raw.call(&first, "one__echo", json!({"text": "before"})).await?;
            assert_eq!(status, 200);
            eventually("the warm-up sessions to sleep", LONG, || {
                let n = slept(&mux);
                async move { n >= 201 }
            })
            .await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let base = status_kib(pid, "VmRSS")?;
            const N: usize = 2000;
            abandon(&raw, N, 16).await?;
            let peak = status_kib(pid, "VmRSS")?;
            eventually("every session to sleep", LONG * 2, || {
                let n = slept(&mux);
                async move { n >= 201 + N }
            })
            .await?;
            // What a sleeping session costs, once the allocator has handed
            // back what the sleepers let go (a trim follows within a second).
            let limit_kib = 24.0;
            let mut now = peak;
            let light = eventually("the sleeping sessions' memory to return", LONG, || {
                now = status_kib(pid, "VmRSS").unwrap_or(u64::MAX);
                async move { (now.saturating_sub(base)) as f64 / N as f64 <= limit_kib }
            })
            .await;
            let each = (now.saturating_sub(base)) as f64 / N as f64;
            eprintln!("{N} sleeping sessions: RSS {base} -> {peak} (awake) -> {now} KiB asleep ({each:.1} KiB each)");
            light.map_err(|e| format!("{e}: a sleeping session costs {each:.1} KiB"))?;
            // A sleeping session wakes on its next request, under its id.
            let (status, body) = raw.call(&first, "one__echo", json!({"text": "after"})).await?;
            assert_eq!((status, body.contains("one: after")), (200, true), "{body}");
            let (status, body) = raw.call(&first, "one__echo", json!({"text": "again"})).await?;
            assert_eq!((status, body.contains("one: again")), (200, true), "{body}");
            // A sleeping session deleted is gone.
            let other = raw.open().await?;
            eventually("the other session to sleep", LONG, || {
                let n = slept(&mux);
                async move { n >= 203 + N }
            })
            .await?;
            let deleted = reqwest::Client::new()
                .delete(&mux.url)
                .header("mcp-session-id", &other)
                .header("mcp-protocol-version", "2025-11-25")
                .send()
                .await?;
            assert!(deleted.status().is_success(), "DELETE: {}", deleted.status());
            let (status, _) = raw.call(&other, "one__echo", json!({"text": "gone"})).await?;
            assert_eq!(status, 404);
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

fn disconnect_mid_call() -> Result {
    block_on(async {
        let s = Scratch::new("sessions-disconnect");
        let mux = MuxHttp::start(&serve_config(&s, "2s")).await?;
        let r: Result = async {
            let pid = pid_of(&mux)?;
            let raw = Raw::new(&mux.url);
            let warm = raw.open().await?;
            raw.call(&warm, "one__echo", json!({"text": "warm"})).await?;
            expired(&raw, &warm, IDLE).await?;
            let fds = open_fds(pid);

            // 2026-07-28: the request is the call; dropping it cancels it.
            let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
                "name": "one__sleep", "arguments": {"ms": 60000, "tag": "modern"},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
                    "io.modelcontextprotocol/clientCapabilities": {}}}});
            let request = raw
                .post(&call, None)
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "one__sleep")
                .send();
            let pending = tokio::spawn(request);
            eventually("the backend to start the 2026-07-28 call", LONG, || async {
                s.read_events().contains("sleeping one modern")
            })
            .await?;
            pending.abort();
            eventually("the backend to see the 2026-07-28 call cancelled", LONG, || async {
                s.read_events().contains("cancelled one modern")
            })
            .await?;

            // 2025-11-25: a disconnect is not a cancellation; the call runs on,
            // longer than the idle time (a call in progress is not idleness)
            // plus the 5 s rmcp gives a closed session's calls.
            let session = raw.open().await?;
            let body = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                "params": {"name": "one__sleep", "arguments": {"ms": 9000, "tag": "legacy"}}});
            let pending = tokio::spawn(raw.post(&body, Some(&session)).send());
            eventually("the backend to start the 2025-11-25 call", LONG, || async {
                s.read_events().contains("sleeping one legacy")
            })
            .await?;
            pending.abort();
            eventually("the 2025-11-25 call to run to its end", LONG, || async {
                s.read_events().contains("slept one legacy")
            })
            .await?;
            assert!(
                !s.read_events().contains("cancelled one legacy"),
                "a 2025-11-25 disconnect cancelled the call:\n{}",
                s.read_events()
            );
            // The session goes when idle; nothing stays open.
            expired(&raw, &session, IDLE).await?;
            drop(raw);
            let mut now = usize::MAX;
            let settled = eventually("mcpmux's open fds to return to their level", LONG, || {
                now = open_fds(pid);
                async move { now <= fds }
            })
            .await;
            settled.map_err(|e| format!("{e}: {now} open, {fds} before"))?;
            Ok(())
        }
        .await;
        with_log(r, &mux)
    })
}

fn stdio_eof_mid_call() -> Result {
    block_on(async {
        let s = Scratch::new("sessions-stdio-eof");
        let config = s.config(&json!({ "backends": [s.backend("one", &[])] }));
        let mut raw = RawStdio::start(&config)?;
        raw.handshake().await?;
        raw.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "one__pid", "arguments": {}}}))
            .await?;
        let seen = raw.read_until(|l| l.contains("\"id\":2")).await?;
        let answer: Value = serde_json::from_str(seen.last().ok_or("no answer")?)?;
        let backend: i32 = answer["result"]["content"][0]["text"]
            .as_str()
            .ok_or_else(|| format!("no pid in {answer}"))?
            .parse()?;
        raw.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "one__sleep", "arguments": {"ms": 60000, "tag": "eof"}}}))
            .await?;
        eventually("the backend to start the call", LONG, || async {
            s.read_events().contains("sleeping one eof")
        })
        .await?;
        let status = raw.close().await?;
        assert!(status.success(), "EOF mid-call ends mcpmux cleanly: {status}");
        eventually("the backend process to be gone", LONG, || async {
            !process_alive(backend)
        })
        .await?;
        Ok(())
    })
}
