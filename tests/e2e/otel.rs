//! OpenTelemetry traces (built with `--features otel`): mcpmux, with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a real OTLP/HTTP receiver on
//! 127.0.0.1, exports a client span per forwarded request — named after the
//! method and backend, with the tool's name and the failure kind — as a
//! child of the trace the client named in `_meta.traceparent`, and hands
//! the backend its own span's context in the same `_meta` key.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use libtest_mimic::Trial;
use rmcp::model::{CallToolRequestParams, MetaObject, RequestMetaObject};
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![trial(
        "otel/spans_reach_a_collector_in_the_client_trace",
        spans_exported,
    )]
}

/// What the receiver got: (path, content type, body).
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A minimal OTLP/HTTP receiver: records every POST and answers an empty
/// (valid) ExportTraceServiceResponse.
async fn receiver() -> Result<(String, Received)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let got: Received = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = keep.clone();
            let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let keep = keep.clone();
                async move {
                    let path = req.uri().path().to_string();
                    let kind = req
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    keep.lock().unwrap().push((path, kind, body.to_vec()));
                    let mut r = http::Response::new(Full::new(Bytes::new()));
                    r.headers_mut()
                        .insert("content-type", http::HeaderValue::from_static("application/x-protobuf"));
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    Ok((url, got))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn spans_exported() -> Result {
    block_on(async {
        let s = Scratch::new("otel");
        let (endpoint, got) = receiver().await?;
        let config = s.config(&json!({
            "listen": {"transport": "http", "address": "127.0.0.1:0"},
            "backends": [s.backend("one", &[])],
        }));
        let mux = MuxHttp::start_with(
            &config,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ],
        )
        .await?;
        let client = connect_http(&mux.url, Era::Legacy).await?;
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let mut params = CallToolRequestParams::new("one__meta");
        let mut meta = serde_json::Map::new();
        meta.insert(
            "traceparent".into(),
            json!(format!("00-{trace_id}-00f067aa0ba902b7-01")),
        );
        params.meta = Some(RequestMetaObject(MetaObject(meta)));
        let answer = client.peer().call_tool(params).await?;
        // The backend gets mcpmux's span as the parent: same trace, another span.
        let seen: serde_json::Value = serde_json::from_str(&text_of(&answer))?;
        let passed = seen["traceparent"]
            .as_str()
            .ok_or(format!("no traceparent reached the backend: {seen}"))?;
        assert!(passed.starts_with(&format!("00-{trace_id}-")), "{passed}");
        assert!(!passed.contains("00f067aa0ba902b7"), "{passed}");
        let failed = call(&client, "one__fail", json!({})).await;
        assert!(failed.is_err() || failed.as_ref().is_ok_and(|r| r.is_error == Some(true)));
        client.cancel().await?;
        let raw_trace: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16))
            .collect::<std::result::Result<_, _>>()?;
        eventually("the spans to be exported", std::time::Duration::from_secs(10), || {
            let got = got.clone();
            let raw_trace = raw_trace.clone();
            async move {
                let got = got.lock().unwrap();
                let all: Vec<u8> = got.iter().flat_map(|(_, _, b)| b.clone()).collect();
                got.iter()
                    .all(|(path, kind, _)| path == "/v1/traces" && kind == "application/x-protobuf")
                    && contains(&all, b"tools/call one")
                    && contains(&all, b"gen_ai.tool.name")
                    && contains(&all, b"meta")
                    && contains(&all, &raw_trace)
                    && contains(&all, b"mcp.backend")
                    && contains(&all, b"error.type")
            }
        })
        .await
        .map_err(|e| {
            format!(
                "{e}\nreceived {} export(s)\n{}",
                got.lock().unwrap().len(),
                mux.log.text()
            )
        })?;
        mux.terminate().await?;
        Ok(())
    })
}
