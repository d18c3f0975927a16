//! The main scenario, once per front (stdio, HTTP) and client era
//! (2025-11-25, 2026-07-28): five backends of both eras and transports behind
//! one endpoint — paginated listing, calls, progress, cancellation, list
//! changes from a backend of each era, and a backend killed mid-call.

use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::model::CallToolRequestParams;
use rmcp::service::PeerRequestOptions;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("scenario_stdio_legacy_client", || scenario(Front::Stdio, Era::Legacy)),
        trial("scenario_stdio_modern_client", || scenario(Front::Stdio, Era::Modern)),
        trial("scenario_http_legacy_client", || scenario(Front::Http, Era::Legacy)),
        trial("scenario_http_modern_client", || scenario(Front::Http, Era::Modern)),
    ]
}

/// Five backends — a stdio rmcp backend of either era with a paginated
/// catalog, the npm reference server over stdio and over HTTP (2025-11-25),
/// a 2026-07-28-only rmcp backend over HTTP, and an rmcp backend that answers
/// server/discover but speaks only 2025-11-25 — behind one endpoint.
fn scenario(front: Front, era: Era) -> Result {
    block_on(async move {
        let s = Scratch::new(&format!("scenario-{front:?}-{era:?}"));
        let web = HttpServer::test_backend(&s, "web", &["--era", "modern"]).await?;
        let everything_http = HttpServer::everything().await?;
        let config = s.config(&json!({
            "listen": { "transport": if front == Front::Http { "http" } else { "stdio" }, "address": "127.0.0.1:0", "page_size": 10 },
            "connect_retry": { "max_delay": "1s" },
            "backends": [
                s.backend("alpha", &["--tools", "30", "--page-size", "7"]),
                everything_stdio("everything"),
                everything_http.entry("everything-http"),
                web.entry("web"),
                s.backend("old", &["--era", "legacy"]),
            ],
        }));
        let Session { client, log, _mux } = open(front, era, &config).await?;
        let r = run_scenario(&s, &client, era).await;
        r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", log.text()).into())
    })
}

async fn run_scenario(s: &Scratch, client: &Client, era: Era) -> Result {
    // mcpmux introduces itself as mcpmux.
    let info = client.peer().peer_info().ok_or("no server info")?;
    let server = info.server_info.as_ref().ok_or("no server implementation")?;
    assert_eq!(server.name, "mcpmux");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    let expected = if era == Era::Modern { "2026-07-28" } else { "2025-11-25" };
    assert_eq!(info.protocol_version.as_str(), expected);
    let instructions = info.instructions.clone().unwrap_or_default();
    for pattern in ["- alpha__*: alpha", "- everything__*: everything", "- web__*: web"] {
        assert!(
            instructions.contains(pattern),
            "instructions list the backends: {instructions}"
        );
    }

    // Every page of every backend, merged, served in pages of 10.
    eventually("all five backends listed", LONG, || async {
        let names = tool_names(client).await.unwrap_or_default();
        [
            "alpha__t029",
            "everything__echo",
            "everything-http__echo",
            "web__echo",
            "old__echo",
        ]
        .iter()
        .all(|n| names.iter().any(|x| x == n))
    })
    .await?;
    let first = client.peer().list_tools(None).await?;
    assert_eq!(first.tools.len(), 10, "pages of listen.page_size");
    assert!(first.next_cursor.is_some());
    let names = tool_names(client).await?;
    assert_eq!(
        names.iter().filter(|n| n.starts_with("alpha__t0")).count(),
        30,
        "alpha's 5 pages of 7"
    );
    // 17: it shows its sampling, elicitation and roots tools because mcpmux offers those.
    assert_eq!(names.iter().filter(|n| n.starts_with("everything__")).count(), 17);
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "no duplicates across pages");

    // Calls reach each backend, in its own era and transport.
    assert_eq!(
        call_text(client, "alpha__echo", json!({"text": "hi"})).await?,
        "alpha: hi"
    );
    assert_eq!(call_text(client, "web__echo", json!({"text": "hi"})).await?, "web: hi");
    assert_eq!(call_text(client, "old__echo", json!({"text": "hi"})).await?, "old: hi");
    assert_eq!(
        call_text(client, "everything__echo", json!({"message": "hi"})).await?,
        "Echo: hi"
    );
    assert_eq!(
        call_text(client, "everything-http__echo", json!({"message": "hi"})).await?,
        "Echo: hi"
    );
    assert_eq!(call_text(client, "alpha__t017", json!({})).await?, "alpha: t017");

    // An unknown tool is refused at once.
    let err = call(client, "nope__nothing", json!({}))
        .await
        .expect_err("unknown tool");
    assert!(err.to_string().contains("unknown tool"), "{err}");

    // Progress comes back with the client's own token, increasing.
    for tool in ["alpha__progress", "web__progress"] {
        client.service().progress.lock().unwrap().clear();
        call_text(client, tool, json!({"steps": 5, "ms": 10})).await?;
        eventually("the last progress notification", LONG, || async {
            client
                .service()
                .progress
                .lock()
                .unwrap()
                .iter()
                .any(|p| p.progress == 5.0)
        })
        .await?;
        let seen = client.service().progress.lock().unwrap().clone();
        let token = &seen[0].progress_token;
        assert!(seen.iter().all(|p| &p.progress_token == token), "one token per call");
        assert!(
            seen.windows(2).all(|w| w[0].progress < w[1].progress),
            "increasing: {seen:?}"
        );
        assert_eq!(seen.last().unwrap().total, Some(5.0));
    }
    let everything_progress = call_text(
        client,
        "everything__trigger-long-running-operation",
        json!({"duration": 1, "steps": 3}),
    )
    .await?;
    assert!(everything_progress.contains("completed"), "{everything_progress}");

    // A client's cancellation reaches the backend.
    for (tool, backend) in [("alpha__sleep", "alpha"), ("web__sleep", "web")] {
        let args = json!({"ms": 60000, "tag": "scenario"});
        let handle = start_call(client, tool, args, PeerRequestOptions::no_options()).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.cancel(Some("test".into())).await?;
        let line = format!("cancelled {backend} scenario");
        eventually(&format!("{backend} to see the cancellation"), LONG, || async {
            s.read_events().contains(&line)
        })
        .await?;
    }

    // list_changed from a backend of each era reaches the client, and the new tool is served.
    for (tool, added) in [("alpha__add_tool", "alpha__fresh"), ("web__add_tool", "web__fresh")] {
        let before = client.service().changes();
        call_text(client, tool, json!({"name": "fresh"})).await?;
        eventually("tools/list_changed", LONG, || async {
            client.service().changes() > before
        })
        .await?;
        assert!(tool_names(client).await?.iter().any(|n| n == added), "{added} listed");
        assert_eq!(
            call_text(client, added, json!({})).await?,
            format!("{}: fresh", &added[..added.find("__").unwrap()])
        );
    }

    // A backend killed mid-call: its call fails at once naming it, its tools
    // leave and come back, and the other backends never notice.
    let pid: i32 = call_text(client, "alpha__pid", json!({})).await?.parse()?;
    let peer = client.peer().clone();
    let in_flight = tokio::spawn(async move {
        let mut params = CallToolRequestParams::new("alpha__sleep");
        params.arguments = json!({"ms": 60000}).as_object().cloned();
        peer.call_tool(params).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changes = client.service().changes();
    kill(pid, 9);
    let failed = tokio::time::timeout(LONG, in_flight).await???;
    assert_eq!(failed.is_error, Some(true));
    let message = text_of(&failed);
    assert!(message.contains("\"alpha\"") && message.contains("closed"), "{message}");
    assert_eq!(
        call_text(client, "web__echo", json!({"text": "still"})).await?,
        "web: still"
    );
    eventually("alpha's tools to leave the list", LONG, || async {
        !tool_names(client)
            .await
            .unwrap_or_default()
            .iter()
            .any(|n| n.starts_with("alpha__"))
    })
    .await?;
    let during = call(client, "alpha__echo", json!({"text": "x"})).await?;
    assert_eq!(during.is_error, Some(true), "a down backend fails its calls at once");
    assert!(
        text_of(&during).contains("\"alpha\" is not available"),
        "{}",
        text_of(&during)
    );
    eventually("alpha to come back", LONG, || async {
        tool_names(client)
            .await
            .unwrap_or_default()
            .iter()
            .any(|n| n == "alpha__echo")
    })
    .await?;
    eventually("told when the tools left and when they returned", LONG, || async {
        client.service().changes() >= changes + 2
    })
    .await?;
    assert_eq!(
        call_text(client, "alpha__echo", json!({"text": "back"})).await?,
        "alpha: back"
    );
    let new_pid: i32 = call_text(client, "alpha__pid", json!({})).await?.parse()?;
    assert_ne!(new_pid, pid, "a new process");
    Ok(())
}
