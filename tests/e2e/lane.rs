//! The HTTP front's fast lane (`src/lane.rs`), seen from a raw HTTP client:
//! a 2025-11-25 session's `tools/call` is answered with plain JSON, while a
//! call with a progress token, and every call with `MCPMUX_LANE=0`, goes
//! through rmcp's session layer (an SSE answer); a backend's questions
//! mid-call turn the lane's answer into an SSE stream whose questions the
//! client answers by POST (an answer from another session is not taken);
//! and a client's `notifications/cancelled` reaches the backend. The same
//! interop matrix runs with the lane on and off (`matrix.rs`).

use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::sessions::Raw;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("lane/plain_json_answers_and_rmcp_for_the_rest", plain_json_answers),
        trial(
            "lane/a_backend_question_turns_the_answer_into_a_stream",
            questions_stream,
        ),
        trial("lane/cancellation_reaches_the_backend", cancellation),
    ]
}

const LONG: Duration = Duration::from_secs(20);

fn config(s: &Scratch) -> std::path::PathBuf {
    s.config(&json!({
        "listen": {"transport": "http", "address": "127.0.0.1:0"},
        // A 2025-11-25 backend: one of 2026-07-28 may not ask mid-call.
        "backends": [s.backend("one", &["--era", "legacy"])],
    }))
}

/// The content type and body of a tools/call answer.
async fn answer(raw: &Raw, session: &str, body: &Value) -> Result<(String, String)> {
    let r = raw.post(body, Some(session)).send().await?;
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((kind, r.text().await?))
}

/// Waits until the lane answers session `session`'s calls: it takes a
/// session's calls once mcpmux has handled its `notifications/initialized`
/// (a call racing that goes through rmcp, answered as SSE).
async fn lane_ready(raw: &Raw, session: &str) -> Result {
    eventually("the lane to take the session's calls", LONG, || async {
        answer(raw, session, &echo(1, None))
            .await
            .is_ok_and(|(kind, _)| kind.starts_with("application/json"))
    })
    .await
}

fn echo(id: u64, meta: Option<Value>) -> Value {
    let mut params = json!({"name": "one__echo", "arguments": {"text": "hi"}});
    if let Some(m) = meta {
        params["_meta"] = m;
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn plain_json_answers() -> Result {
    block_on(async {
        let s = Scratch::new("lane-plain");
        let config = config(&s);
        for lane in [true, false] {
            let env: &[(&str, &str)] = if lane { &[] } else { &[("MCPMUX_LANE", "0")] };
            let mux = MuxHttp::start_with(&config, env).await?;
            let raw = Raw::new(&mux.url);
            let session = raw.open().await?;
            if lane {
                lane_ready(&raw, &session).await?;
            } else {
                // (Time for the lane to have taken the session, were it on.)
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let (kind, body) = answer(&raw, &session, &echo(2, None)).await?;
            assert!(body.contains(r#""text":"one: hi""#), "lane {lane}: {body}");
            let expected = if lane { "application/json" } else { "text/event-stream" };
            assert!(kind.starts_with(expected), "lane {lane}: answered as {kind}: {body}");
            // A call asking for progress is rmcp's (its progress rides the call's stream).
            let (kind, body) = answer(&raw, &session, &echo(3, Some(json!({"progressToken": "p"})))).await?;
            assert!(kind.starts_with("text/event-stream"), "lane {lane}: {kind}: {body}");
            assert!(body.contains(r#""text":"one: hi""#), "lane {lane}: {body}");
            // A tools/call naming no session, or an unknown one, is rmcp's to refuse.
            let (status, _) = raw.call("no-such-session", "one__echo", json!({"text": "hi"})).await?;
            assert_eq!(status, 404, "lane {lane}: an unknown session");
            mux.terminate().await?;
        }
        Ok(())
    })
}

/// Reads SSE events from `response` until `n` have come.
async fn events(response: &mut reqwest::Response, buf: &mut String, n: usize) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    while out.len() < n {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data: ")
                    && !data.trim().is_empty()
                {
                    out.push(serde_json::from_str(data)?);
                }
            }
            continue;
        }
        let chunk = tokio::time::timeout(LONG, response.chunk())
            .await
            .map_err(|_| format!("no event came; so far: {out:?} {buf:?}"))??
            .ok_or_else(|| format!("the stream ended; so far: {out:?} {buf:?}"))?;
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    Ok(out)
}

fn questions_stream() -> Result {
    block_on(async {
        let s = Scratch::new("lane-questions");
        let mux = MuxHttp::start(&config(&s)).await?;
        let raw = Raw::new(&mux.url);
        let session = raw
            .open_with(json!({"sampling": {}, "elicitation": {"form": {}}}))
            .await?;
        let other = raw.open().await?;
        lane_ready(&raw, &session).await?;
        let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "one__ask", "arguments": {"prompt": "abc"}}});
        let mut response = raw.post(&call, Some(&session)).send().await?;
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !kind.starts_with("text/event-stream") {
            return Err(format!("answered as {kind}: {}", response.text().await?).into());
        }
        let mut buf = String::new();
        let first = events(&mut response, &mut buf, 1).await?.remove(0);
        assert_eq!(first["method"], "sampling/createMessage", "{first}");
        let ask = first["id"].clone();
        assert!(ask.as_str().is_some_and(|id| id.starts_with("mcpmux-ask-")), "{first}");
        // Another session's answer to that question is not taken as the answer.
        let intruder = json!({"jsonrpc": "2.0", "id": ask, "result": {
            "role": "assistant", "model": "m", "content": {"type": "text", "text": "intruder"}}});
        let _ = raw.post(&intruder, Some(&other)).send().await?;
        let sampled = json!({"jsonrpc": "2.0", "id": ask, "result": {
            "role": "assistant", "model": "m", "content": {"type": "text", "text": "sampled-text"}}});
        let r = raw.post(&sampled, Some(&session)).send().await?;
        assert_eq!(r.status().as_u16(), 202);
        let second = events(&mut response, &mut buf, 1).await?.remove(0);
        assert_eq!(second["method"], "elicitation/create", "{second}");
        let elicited = json!({"jsonrpc": "2.0", "id": second["id"], "result": {
            "action": "accept", "content": {"name": "Ada"}}});
        let r = raw.post(&elicited, Some(&session)).send().await?;
        assert_eq!(r.status().as_u16(), 202);
        let last = events(&mut response, &mut buf, 1).await?.remove(0);
        assert_eq!(last["id"], 9, "{last}");
        let text = last["result"]["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains("sampled-text") && text.contains("Ada"), "{last}");
        assert!(!text.contains("intruder"), "{last}");
        // The stream ends with the answer.
        assert!(response.chunk().await?.is_none(), "the stream went on after the answer");
        mux.terminate().await?;
        Ok(())
    })
}

fn cancellation() -> Result {
    block_on(async {
        let s = Scratch::new("lane-cancel");
        let mux = MuxHttp::start(&config(&s)).await?;
        let raw = Raw::new(&mux.url);
        let session = raw.open().await?;
        lane_ready(&raw, &session).await?;
        let call = json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
            "params": {"name": "one__sleep", "arguments": {"ms": 60000, "tag": "lane"}}});
        let pending = raw.post(&call, Some(&session)).send();
        let pending = tokio::spawn(pending);
        eventually("the backend to start the call", LONG, || async {
            s.read_events().contains("sleeping one lane")
        })
        .await?;
        let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 11, "reason": "test"}});
        let r = raw.post(&cancel, Some(&session)).send().await?;
        assert!(r.status().is_success(), "cancel: {}", r.status());
        eventually("the backend to see the call cancelled", LONG, || async {
            s.read_events().contains("cancelled one lane")
        })
        .await?;
        // The call's own answer comes back (an error), not after its 60 s.
        let answered = tokio::time::timeout(LONG, pending).await???;
        let body = answered.text().await?;
        assert!(body.contains(r#""id":11"#), "{body}");
        mux.terminate().await?;
        Ok(())
    })
}
