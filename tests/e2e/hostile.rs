//! Hostile clients on the HTTP front: a body over `listen.max_body_bytes`
//! (413, nothing read past it), malformed JSON, a JSON-RPC batch, an unknown
//! session id, headers sent too slowly (cut off after
//! `listen.header_timeout`) — each refused on its own while a well-behaved
//! client is served throughout; and on stdio, lines that are not JSON-RPC
//! skipped, the session going on. Hostile backends: one answering 503 to
//! everything fails alone, with the status in its error; one that closes its
//! stdout and keeps running is ended (no process left) and restarted; and,
//! with `tests/e2e/hostile_backend.py`, one that never answers the handshake,
//! one writing non-JSON lines and answers nobody asked for, lines over
//! `max_message_bytes`, a flood of notifications during a call, one that
//! ignores SIGTERM with grandchildren in its process group (at reload and at
//! shutdown), and an HTTP backend stalling mid-stream — each while a healthy
//! backend serves every one of its calls.

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
        trial(
            "hostile/a_backend_that_never_answers_the_handshake_fails_alone",
            mute_handshake,
        ),
        trial(
            "hostile/non_json_lines_and_stray_answers_from_a_backend_are_ignored",
            noisy,
        ),
        trial(
            "hostile/a_message_over_max_message_bytes_fails_its_call_at_once",
            oversized,
        ),
        trial("hostile/a_flood_of_notifications_during_a_call_is_survived", flood),
        trial(
            "hostile/a_stubborn_backend_removed_by_reload_leaves_no_process",
            stubborn_reload,
        ),
        trial(
            "hostile/a_stubborn_backend_leaves_no_process_at_shutdown",
            stubborn_shutdown,
        ),
        trial(
            "hostile/an_http_backend_stalling_mid_stream_fails_at_the_timeout",
            http_stall,
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
        let s = Scratch::new("hostile-stdio");
        let config = s.config(&json!({ "backends": [s.backend("one", &[])] }));
        let mut raw = RawStdio::start(&config)?;
        for garbage in ["this is not json", "{\"hello\": 1}", "{", "[]", "\u{0}\u{1}binary"] {
            raw.send_line(garbage).await?;
        }
        raw.handshake().await?;
        raw.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "one__echo", "arguments": {"text": "after garbage"}}}))
            .await?;
        let seen = raw.read_until(|l| l.contains("one: after garbage")).await?;
        assert!(seen.iter().any(|l| l.contains("\"serverInfo\"")), "{seen:?}");
        let status = raw.close().await?;
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
/// starts it again; the other backend serves throughout, and when mcpmux
/// stops, no process of it is left.
fn closed_stdout() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-stdout");
        let tag = s.dir.display().to_string();
        let (mux, client) = http_session(
            &s,
            vec![
                s.backend("mute", &["--close-stdout-after-ms", "1500", "--tag", &tag]),
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
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// A command backend entry running `tests/e2e/hostile_backend.py` in `mode`,
/// tagged with the scratch directory so that its processes can be found.
fn hostile(s: &Scratch, name: &str, mode: &str) -> serde_json::Value {
    json!({
        "name": name,
        "transport": "command",
        "command": [
            "python3",
            root().join("tests/e2e/hostile_backend.py").display().to_string(),
            "--name", name, "--mode", mode, "--tag", s.dir.display().to_string(),
        ],
    })
}

/// The live processes whose command line mentions `tag`.
fn tagged(tag: &std::path::Path) -> Vec<i32> {
    let tag = tag.display().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&tag))
                && process_alive(pid)
        })
        .collect()
}

/// The live processes of process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // Fields after the command's closing parenthesis: state ppid pgrp ...
                let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
                rest.first().is_some_and(|s| *s != "Z") && rest.get(2) == Some(&pgid.to_string().as_str())
            })
        })
        .collect()
}

/// Starts mcpmux over HTTP with `backends` (connect attempts bounded by
/// `attempt_timeout`) and connects a client.
async fn mux_with(s: &Scratch, backends: Vec<serde_json::Value>, attempt_timeout: &str) -> Result<(MuxHttp, Client)> {
    let config = s.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0" },
        "connect_retry": { "max_delay": "1s", "attempt_timeout": attempt_timeout },
        "backends": backends,
    }));
    let mux = MuxHttp::start(&config).await?;
    match connect_http(&mux.url, Era::Legacy).await {
        Ok(client) => Ok((mux, client)),
        Err(e) => {
            // Stopped, not killed: a killed mcpmux would leave its backends behind.
            let e = with_log::<()>(Err(e), &mux).unwrap_err();
            let _ = mux.terminate().await;
            Err(e)
        }
    }
}

/// The healthy backend "one" answers, `n` times in a row.
async fn one_serves(client: &Client, n: usize) -> Result {
    for i in 0..n {
        let text = format!("on {i}");
        assert_eq!(
            call_text(client, "one__echo", json!({ "text": text })).await?,
            format!("one: {text}")
        );
    }
    Ok(())
}

/// Ends mcpmux and checks that no process of the scratch's backends is left.
async fn stop_clean(s: &Scratch, mux: MuxHttp) -> Result {
    let code = mux.terminate().await?;
    assert_eq!(code, Some(0), "mcpmux exits cleanly on SIGTERM");
    eventually("every hostile backend process to be gone", LONG, || async {
        tagged(&s.dir).is_empty()
    })
    .await
}

/// What a failed call said: its error, or the text of its error result.
async fn failure(client: &Client, name: &str, args: serde_json::Value) -> Result<String> {
    match tokio::time::timeout(LONG, call(client, name, args)).await {
        Err(_) => Err(format!("{name} hung").into()),
        Ok(Err(e)) => Ok(e.to_string()),
        Ok(Ok(r)) if r.is_error == Some(true) => Ok(text_of(&r)),
        Ok(Ok(r)) => Err(format!("{name} succeeded: {}", text_of(&r)).into()),
    }
}

/// A backend that never answers the handshake: after the connect attempt
/// timeout it is down with that reason (and retried); the other backend
/// serves throughout, and no attempt leaves a process behind.
fn mute_handshake() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-mute");
        let (mux, client) = mux_with(&s, vec![hostile(&s, "mute", "mute"), s.backend("one", &[])], "2s").await?;
        let r: Result = async {
            one_serves(&client, 5).await?;
            eventually("mcpmux to give the mute backend's reason", LONG, || async {
                mux.log.text().contains("no answer to the MCP handshake within 2s")
            })
            .await?;
            let tools = tool_names(&client).await?;
            assert!(
                tools.contains(&"one__echo".to_string()) && !tools.iter().any(|t| t.starts_with("mute__")),
                "{tools:?}"
            );
            let refused = failure(&client, "mute__echo", json!({})).await?;
            assert!(refused.contains("mute"), "{refused}");
            one_serves(&client, 5).await?;
            // `mcpmux list` reports the reason as the backend's status.
            let listed = list_json(&s.dir.join("mcpmux.yaml")).await?;
            let status = listed.status("mute");
            assert!(status.contains("no answer to the MCP handshake within 2s"), "{status}");
            assert!(listed.has_tool("one__echo"), "{}", listed.report);
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// A backend that writes lines that are not JSON and answers for ids nobody
/// asked around every message: those are ignored, its calls and the other
/// backend's are answered.
fn noisy() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-noisy");
        let (mux, client) = mux_with(&s, vec![hostile(&s, "noisy", "noisy"), s.backend("one", &[])], "30s").await?;
        let r: Result = async {
            for i in 0..10 {
                let text = format!("n{i}");
                assert_eq!(
                    call_text(&client, "noisy__echo", json!({ "text": text })).await?,
                    format!("noisy: {text}")
                );
                one_serves(&client, 1).await?;
            }
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// The highest resident set size of process `pid` so far, in bytes.
fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

const MIB: u64 = 1024 * 1024;

/// Lines over `max_message_bytes` (16 MiB by default) from a command
/// backend: a 64 MiB line that answers nothing is dropped and the call
/// goes on; a 50 MiB answer fails its call at once (not at the 10-minute
/// call timeout) with an error naming the limit; the backend serves on, the
/// other throughout, and mcpmux never holds either line (its peak memory
/// grows by about the limit, far less than either line). A 64 MiB line on
/// stderr is logged cut short, not held either.
fn oversized() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-oversized");
        let mut huge = hostile(&s, "huge", "normal");
        huge["timeout"] = json!("10m");
        let (mux, client) = mux_with(&s, vec![huge, s.backend("one", &[])], "30s").await?;
        let pid = mux.child.id().ok_or("mcpmux exited")?;
        let r: Result = async {
            one_serves(&client, 2).await?;
            let before = peak_rss(pid)?;
            let junk = call_text(&client, "huge__junk", json!({ "bytes": 64 * MIB }));
            let (after, served) = tokio::join!(tokio::time::timeout(LONG, junk), one_serves(&client, 20));
            served?;
            assert_eq!(after.map_err(|_| "huge__junk hung")??, "huge: after junk");

            let big = failure(&client, "huge__big", json!({ "bytes": 50 * MIB }));
            let (refused, served) = tokio::join!(big, one_serves(&client, 20));
            served?;
            let refused = refused?;
            assert!(
                refused.contains("max_message_bytes") && refused.contains("16777216"),
                "the error names the limit: {refused}"
            );
            assert_eq!(
                call_text(&client, "huge__echo", json!({ "text": "still" })).await?,
                "huge: still"
            );
            // A 64 MiB line on stderr goes into the log cut short.
            assert_eq!(
                call_text(&client, "huge__stderr", json!({ "bytes": 64 * MIB })).await?,
                "huge: after stderr"
            );
            eventually("the stderr line in the log, cut", LONG, || async {
                mux.log.text().contains("[cut]")
            })
            .await?;
            one_serves(&client, 5).await?;
            // Holding either line whole would take 50 MiB or more; what
            // mcpmux may hold is one message up to the limit.
            let grown = peak_rss(pid)?.saturating_sub(before);
            assert!(
                grown < 24 * MIB,
                "mcpmux's peak memory grew by {} MiB, not bounded by the 16 MiB limit",
                grown / MIB
            );
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// A backend that sends 100 000 progress and log notifications during one
/// call: the call completes, the other backend serves during and after,
/// mcpmux stands.
fn flood() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-flood");
        let (mux, client) = mux_with(&s, vec![hostile(&s, "flood", "normal"), s.backend("one", &[])], "30s").await?;
        let r: Result = async {
            let flood = call_text(&client, "flood__flood", json!({ "count": 100_000 }));
            // A bound for "never hangs" only: a debug build on a busy machine
            // takes its time over 100 000 messages.
            let (done, served) = tokio::join!(tokio::time::timeout(Duration::from_secs(600), flood), async {
                one_serves(&client, 50).await
            });
            served?;
            assert_eq!(done.map_err(|_| "the flooded call hung")??, "flood: flooded 100000");
            one_serves(&client, 5).await?;
            assert_eq!(
                call_text(&client, "flood__echo", json!({ "text": "calm" })).await?,
                "flood: calm"
            );
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// Starts a stubborn backend (it ignores SIGTERM and the end of its stdin,
/// with two grandchildren in its process group that do the same) and returns
/// its process group, once all three run.
async fn stubborn_group(client: &Client) -> Result<i32> {
    let pgid: i32 = call_text(client, "stubborn__pid", json!({})).await?.parse()?;
    eventually("the stubborn backend and its grandchildren to run", LONG, || async {
        group_members(pgid).len() >= 3
    })
    .await?;
    Ok(pgid)
}

/// A stubborn backend removed by a configuration reload (SIGHUP): its whole
/// process group is ended; the other backend serves throughout.
fn stubborn_reload() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-stubborn-reload");
        let one = s.backend("one", &[]);
        let (mux, client) = mux_with(&s, vec![hostile(&s, "stubborn", "stubborn"), one.clone()], "30s").await?;
        let r: Result = async {
            let pgid = stubborn_group(&client).await?;
            one_serves(&client, 3).await?;
            s.config(&json!({
                "listen": { "transport": "http", "address": "127.0.0.1:0" },
                "connect_retry": { "max_delay": "1s", "attempt_timeout": "30s" },
                "backends": [one],
            }));
            kill(mux.child.id().ok_or("mcpmux exited")? as i32, 1);
            eventually("the stubborn backend's process group to be gone", LONG, || async {
                one_serves(&client, 1).await.is_ok() && group_members(pgid).is_empty()
            })
            .await?;
            one_serves(&client, 5).await?;
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}

/// A stubborn backend when mcpmux shuts down (SIGTERM): mcpmux exits only
/// after its whole process group is ended.
fn stubborn_shutdown() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-stubborn-stop");
        let (mux, client) = mux_with(
            &s,
            vec![hostile(&s, "stubborn", "stubborn"), s.backend("one", &[])],
            "30s",
        )
        .await?;
        let ready: Result<i32> = async {
            let pgid = stubborn_group(&client).await?;
            one_serves(&client, 3).await?;
            Ok(pgid)
        }
        .await;
        let ready = with_log(ready, &mux);
        let log = mux.log.clone();
        // Stopped even when the trial failed: a killed mcpmux would leave the group behind.
        let code = mux.terminate().await?;
        let pgid = ready?;
        assert_eq!(code, Some(0), "mcpmux exits cleanly on SIGTERM:\n{}", log.text());
        // Killed processes may take a moment to be reaped; none may run on.
        eventually(
            "the stubborn backend's process group to be gone",
            Duration::from_secs(5),
            || async { group_members(pgid).is_empty() },
        )
        .await
        .map_err(|e| format!("{e}: {:?} left\n{}", group_members(pgid), log.text()))?;
        Ok(())
    })
}

/// How many TCP connections process `pid` has open to `port` on 127.0.0.1.
fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| {
                let link = std::fs::read_link(e.ok()?.path()).ok()?;
                let link = link.to_str()?;
                Some(link.strip_prefix("socket:[")?.trim_end_matches(']').to_string())
            })
            .collect()
        })
        .unwrap_or_default();
    let remote = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // remote address, state 01 (established), inode
            f.get(2) == Some(&remote.as_str())
                && f.get(3) == Some(&"01")
                && f.get(9).is_some_and(|i| inodes.iter().any(|n| n == i))
        })
        .count()
}

/// An HTTP backend that answers a call with an SSE stream and then sends
/// nothing: the call fails at the backend's timeout with an error saying
/// so, the other backend serves throughout, and the stalled backend's later
/// calls are answered.
fn http_stall() -> Result {
    block_on(async {
        let s = Scratch::new("hostile-stall");
        let stalled = HttpServer::test_backend(&s, "stall", &["--stall-tool", "sleep"]).await?;
        let mut entry = stalled.entry("stall");
        entry["timeout"] = json!("3s");
        let (mux, client) = mux_with(&s, vec![entry, s.backend("one", &[])], "30s").await?;
        let r: Result = async {
            for round in 0..3 {
                let stalls =
                    futures::future::join_all((0..4).map(|_| failure(&client, "stall__sleep", json!({ "ms": 1 }))));
                let (errors, served) = tokio::join!(stalls, one_serves(&client, 10));
                served?;
                for e in errors {
                    let e = e?;
                    assert!(e.contains("did not answer within 3s"), "round {round}: {e}");
                }
                assert_eq!(
                    call_text(&client, "stall__echo", json!({ "text": "later" })).await?,
                    "stall: later"
                );
            }
            // The stalled streams of cancelled calls are let go, not kept open.
            let port: u16 = stalled
                .url
                .trim_start_matches("http://127.0.0.1:")
                .trim_end_matches("/mcp")
                .parse()?;
            let pid = mux.child.id().ok_or("mcpmux exited")?;
            eventually("mcpmux to let go of the stalled streams", LONG, || async {
                connections_to(pid, port) < 4
            })
            .await?;
            Ok(())
        }
        .await;
        let r = with_log(r, &mux);
        r.and(stop_clean(&s, mux).await)
    })
}
