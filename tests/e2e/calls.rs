//! Calls through mcpmux: a stuck call ends at the backend's timeout with an
//! error naming it, `_meta` passes through while mcpmux introduces itself,
//! a backend's own JSON-RPC errors reach the client unchanged, and a burst of
//! progress reaches it whole and in order.

use libtest_mimic::Trial;
use rmcp::model::CallToolRequestParams;
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial(
            "timeout_ends_a_stuck_call_naming_the_backend",
            timeout_ends_a_stuck_call,
        ),
        trial("meta_passes_through_and_mcpmux_introduces_itself", meta_and_identity),
        trial("backend_errors_pass_through_unchanged", backend_errors_pass_through),
        trial("every_progress_notification_arrives_in_order", progress_in_order),
    ]
}

fn timeout_ends_a_stuck_call() -> Result {
    block_on(async {
        let s = Scratch::new("timeout");
        let mut slow = s.backend("slow", &[]);
        slow["timeout"] = json!("500ms");
        let (mux, client) = http_session(&s, vec![slow]).await?;
        with_log(
            async {
                let r = call(&client, "slow__sleep", json!({"ms": 60000, "tag": "timeout"})).await?;
                assert_eq!(r.is_error, Some(true));
                let message = text_of(&r);
                assert!(message.contains("\"slow\" did not answer within 500ms"), "{message}");
                eventually("the backend to see the cancellation", LONG, || async {
                    s.read_events().contains("cancelled slow timeout")
                })
                .await?;
                // Progress resets the timeout: 5 steps of 300ms outlast 500ms.
                let done = call_text(&client, "slow__progress", json!({"steps": 5, "ms": 300})).await?;
                assert_eq!(done, "slow: 5 steps");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn meta_and_identity() -> Result {
    block_on(async {
        let s = Scratch::new("meta");
        let (mux, client) = http_session(&s, vec![s.backend("m", &[])]).await?;
        with_log(
            async {
                let mut meta = rmcp::model::RequestMetaObject::new();
                meta.set_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
                meta.0.0.insert("example.com/tenant".into(), json!("t-1"));
                let options = PeerRequestOptions::no_options().with_meta(meta);
                let handle = start_call(&client, "m__meta", json!({}), options).await?;
                let rmcp::model::ServerResult::CallToolResult(r) = handle.await_response().await? else {
                    return Err("not a tool result".into());
                };
                let seen: serde_json::Value = serde_json::from_str(&text_of(&r))?;
                assert_eq!(
                    seen["traceparent"],
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                );
                assert_eq!(seen["example.com/tenant"], "t-1");
                assert!(seen.get("progressToken").is_some(), "mcpmux's own token: {seen}");
                let client_info: serde_json::Value =
                    serde_json::from_str(&call_text(&client, "m__client", json!({})).await?)?;
                // A 2026-07-28 backend sees the client info mcpmux sends with each request.
                assert_eq!(client_info["name"], "mcpmux", "{client_info}");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn backend_errors_pass_through() -> Result {
    block_on(async {
        let s = Scratch::new("errors");
        let (mux, client) = http_session(&s, vec![s.backend("e", &[])]).await?;
        with_log(
            async {
                let mut params = CallToolRequestParams::new("e__fail");
                params.arguments = Some(Default::default());
                let err = client.peer().call_tool(params).await.expect_err("a protocol error");
                let rmcp::ServiceError::McpError(data) = &err else {
                    return Err(format!("not the backend's error: {err}").into());
                };
                assert_eq!(data.code, rmcp::model::ErrorCode::INVALID_PARAMS);
                assert_eq!(data.message, "e failed on purpose");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

/// A backend reporting progress as fast as it can: the client sees every
/// notification, in the backend's order (read off a raw stdio front: rmcp's
/// own client handles each notification in a task of its own).
fn progress_in_order() -> Result {
    block_on(async {
        const STEPS: u64 = 300;
        let s = Scratch::new("progress-order");
        let config = s.config(&json!({ "backends": [s.backend("fast", &[])] }));
        let mut raw = RawStdio::start(&config)?;
        raw.handshake().await?;
        raw.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "fast__progress", "arguments": {"steps": STEPS, "ms": 0},
            "_meta": {"progressToken": "p"}}}))
            .await?;
        let lines = raw
            .read_until(|l| serde_json::from_str::<Value>(l).is_ok_and(|m| m["id"] == 2))
            .await?;
        let seen: Vec<u64> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["method"] == "notifications/progress")
            .map(|m| m["params"]["progress"].as_f64().unwrap_or(-1.0) as u64)
            .collect();
        raw.close().await?;
        let expected: Vec<u64> = (1..=STEPS).collect();
        assert_eq!(
            seen,
            expected,
            "progress lost or reordered ({} of {STEPS} seen)",
            seen.len()
        );
        Ok(())
    })
}
