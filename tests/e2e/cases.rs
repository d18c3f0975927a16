//! The e2e test cases. The main scenario runs once per front (stdio, HTTP)
//! and client era (2025-11-25, 2026-07-28) against four backends of both
//! eras and transports; the other cases each check one behaviour.

use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest};
use rmcp::service::PeerRequestOptions;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    let mut all = vec![
        trial("scenario_stdio_legacy_client", || scenario(Front::Stdio, Era::Legacy)),
        trial("scenario_stdio_modern_client", || scenario(Front::Stdio, Era::Modern)),
        trial("scenario_http_legacy_client", || scenario(Front::Http, Era::Legacy)),
        trial("scenario_http_modern_client", || scenario(Front::Http, Era::Modern)),
    ];
    all.extend(more());
    all.extend(crate::interop::all());
    all
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Front {
    Stdio,
    Http,
}

/// A connected client, with whatever keeps its mcpmux alive.
struct Session {
    client: Client,
    log: Log,
    _mux: Option<MuxHttp>,
}

async fn open(front: Front, era: Era, config: &std::path::Path) -> Result<Session> {
    match front {
        Front::Stdio => {
            let log = Log::default();
            let client = connect_stdio(config, era, &log).await?;
            Ok(Session {
                client,
                log,
                _mux: None,
            })
        }
        Front::Http => {
            let mux = MuxHttp::start(config).await?;
            let client = connect_http(&mux.url, era).await?;
            Ok(Session {
                client,
                log: mux.log.clone(),
                _mux: Some(mux),
            })
        }
    }
}

const LONG: Duration = Duration::from_secs(30);

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
        names.iter().filter(|n| n.starts_with("alpha__t")).count(),
        30,
        "alpha's 5 pages of 7"
    );
    assert_eq!(names.iter().filter(|n| n.starts_with("everything__")).count(), 13);
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
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = json!({"ms": 60000, "tag": "scenario"}).as_object().cloned();
        let handle = client
            .peer()
            .send_request_with_option(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::no_options(),
            )
            .await?;
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

pub fn kill(pid: i32, signal: i32) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Starts mcpmux over HTTP with `backends` and connects a 2025-11-25 client.
async fn http_session(s: &Scratch, backends: Vec<serde_json::Value>) -> Result<(MuxHttp, Client)> {
    let config = s.config(&json!({
        "listen": { "transport": "http", "address": "127.0.0.1:0" },
        "connect_retry": { "max_delay": "1s" },
        "backends": backends,
    }));
    let mux = MuxHttp::start(&config).await?;
    let client = connect_http(&mux.url, Era::Legacy).await?;
    Ok((mux, client))
}

/// Adds the mcpmux log to a failure.
fn with_log<T>(r: Result<T>, mux: &MuxHttp) -> Result<T> {
    r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", mux.log.text()).into())
}

pub fn more() -> Vec<Trial> {
    vec![
        trial(
            "timeout_ends_a_stuck_call_naming_the_backend",
            timeout_ends_a_stuck_call,
        ),
        trial("a_cursor_that_never_advances_is_cut_short", endless_cursor),
        trial("meta_passes_through_and_mcpmux_introduces_itself", meta_and_identity),
        trial("backend_errors_pass_through_unchanged", backend_errors_pass_through),
        trial("command_backends_get_a_minimal_environment", minimal_environment),
        trial("process_groups_end_with_mcpmux", process_groups_end),
        trial(
            "long_names_are_shortened_and_unprefixed_clashes_reported",
            names_and_clashes,
        ),
        trial(
            "the_endpoint_accepts_clients_before_backends_are_up",
            endpoint_before_backends,
        ),
        trial("an_unreachable_backend_is_retried", unreachable_backend_is_retried),
        trial("a_dead_http_backend_fails_its_calls_fast", dead_http_backend),
        trial("list_prints_the_catalog_and_fails_on_a_broken_backend", list_command),
        trial("ad_hoc_backends_need_no_config_file", ad_hoc),
        trial("a_stdio_client_closing_stdin_ends_mcpmux_and_its_backends", stdio_eof),
        trial("backend_stderr_that_is_not_utf8_keeps_flowing", stderr_not_utf8),
        trial("secrets_never_reach_the_log_or_list", secrets_stay_out),
        trial("http_backends_receive_their_credentials", http_credentials),
        trial("python_sdk_client_stdio_legacy", || {
            python_client(Front::Stdio, "legacy")
        }),
        trial("python_sdk_client_stdio_auto_2026", || {
            python_client(Front::Stdio, "auto")
        }),
        trial("python_sdk_client_http_legacy", || python_client(Front::Http, "legacy")),
        trial("python_sdk_client_http_auto_2026", || {
            python_client(Front::Http, "auto")
        }),
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

fn endless_cursor() -> Result {
    block_on(async {
        let s = Scratch::new("cursor");
        let (mux, client) = http_session(&s, vec![s.backend("loop", &["--page-size", "2", "--repeat-cursor"])]).await?;
        with_log(
            async {
                let names = tool_names(&client).await?;
                assert_eq!(names, ["loop__echo", "loop__progress", "loop__sleep", "loop__meta"]);
                assert!(mux.log.text().contains("repeated a tools/list cursor"));
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
                let mut params = CallToolRequestParams::new("m__meta");
                params.arguments = Some(Default::default());
                let mut meta = rmcp::model::RequestMetaObject::new();
                meta.set_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
                meta.0.0.insert("example.com/tenant".into(), json!("t-1"));
                let handle = client
                    .peer()
                    .send_request_with_option(
                        ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                        PeerRequestOptions::no_options().with_meta(meta),
                    )
                    .await?;
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

fn minimal_environment() -> Result {
    block_on(async {
        let s = Scratch::new("env");
        let mut a = s.backend("a", &[]);
        a["env"]["OWN"] = json!("mine");
        a["env_passthrough"] = json!(["PASSME", "AWS_*"]);
        let mut b = s.backend("b", &[]);
        b["env"]["B_SECRET"] = json!("b-only");
        let config = s.config(&json!({
            "listen": { "transport": "http", "address": "127.0.0.1:0" },
            "backends": [a, b],
        }));
        let envs = [
            ("MCPMUX_E2E_OTHER", "not-for-children"),
            ("PASSME", "yes"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let mux = MuxHttp::start_with(&config, &envs).await?;
        let client = connect_http(&mux.url, Era::Legacy).await?;
        with_log(
            async {
                let env = |name: &'static str| {
                    let client = &client;
                    async move { call_text(client, "a__env", json!({ "name": name })).await }
                };
                assert_ne!(env("PATH").await?, "<unset>");
                assert_ne!(env("HOME").await?, "<unset>");
                assert_eq!(env("OWN").await?, "mine");
                assert_eq!(env("PASSME").await?, "yes");
                assert_eq!(env("AWS_REGION").await?, "eu-west-1");
                assert_eq!(env("MCPMUX_E2E_OTHER").await?, "<unset>", "not on the allowlist");
                assert_eq!(env("B_SECRET").await?, "<unset>", "another backend's secret");
                assert!(!mux.log.text().contains("b-only"), "a secret reached the log");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn process_alive(pid: i32) -> bool {
    // A zombie (state Z) is dead; it only waits for its parent to reap it.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

fn process_groups_end() -> Result {
    block_on(async {
        let s = Scratch::new("pgroup");
        let pidfile = s.dir.join("grandchild.pid");
        let exe = std::env::current_exe()?.display().to_string();
        let script = format!("sleep 600 & echo $! > {}; exec {exe} --name g", pidfile.display());
        let g = json!({
            "name": "g",
            "transport": "command",
            "command": ["sh", "-c", script],
            "env": { "MCPMUX_TEST_BACKEND": "1" },
        });
        let config = s.config(&json!({ "listen": { "transport": "http", "address": "127.0.0.1:0" }, "backends": [g] }));
        let mux = MuxHttp::start(&config).await?;
        let client = connect_http(&mux.url, Era::Legacy).await?;
        assert_eq!(call_text(&client, "g__echo", json!({"text": "x"})).await?, "g: x");
        let grandchild: i32 = std::fs::read_to_string(&pidfile)?.trim().parse()?;
        assert!(process_alive(grandchild), "the grandchild runs while mcpmux does");
        drop(client);
        let log = mux.log.clone();
        assert_eq!(mux.terminate().await?, Some(0), "a clean exit on SIGTERM");
        eventually("the backend's grandchild to be gone", LONG, || async {
            !process_alive(grandchild)
        })
        .await
        .map_err(|e| format!("{e}\n{}", log.text()))?;
        Ok(())
    })
}

fn names_and_clashes() -> Result {
    block_on(async {
        let s = Scratch::new("names");
        let mut x = s.backend("x", &[]);
        x["prefix"] = json!("");
        let mut y = s.backend("y", &[]);
        y["prefix"] = json!("");
        let (mux, client) = http_session(&s, vec![s.backend("long", &["--long-name"]), x, y]).await?;
        with_log(
            async {
                let names = tool_names(&client).await?;
                let long = names
                    .iter()
                    .find(|n| n.starts_with("long__a_tool_with"))
                    .ok_or("no long tool")?;
                assert_eq!(long.len(), 64, "{long}");
                assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
                assert!(
                    call_text(&client, long, json!({}))
                        .await?
                        .starts_with("long: a_tool_with_a_very_long_name_")
                );
                // Both unprefixed backends offer `echo`: the first keeps it, the clash is logged.
                assert_eq!(call_text(&client, "echo", json!({"text": "?"})).await?, "x: ?");
                eventually("the clash to be reported", LONG, || async {
                    mux.log
                        .text()
                        .contains("tool name \"echo\" is offered by backends \"x\" and \"y\"")
                })
                .await?;
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn endpoint_before_backends() -> Result {
    block_on(async {
        let s = Scratch::new("startup");
        let (mux, client) = http_session(&s, vec![s.backend("late", &["--startup-delay-ms", "3000"])]).await?;
        with_log(
            async {
                // The handshake was answered while the backend was still starting.
                assert!(!mux.log.text().contains("connected backend=late"), "{}", mux.log.text());
                eventually("the late backend's tools", LONG, || async {
                    tool_names(&client)
                        .await
                        .unwrap_or_default()
                        .iter()
                        .any(|n| n == "late__echo")
                })
                .await?;
                assert_eq!(call_text(&client, "late__echo", json!({"text": "x"})).await?, "late: x");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn unreachable_backend_is_retried() -> Result {
    block_on(async {
        let s = Scratch::new("retry");
        let script = s.dir.join("later.sh");
        let entry = json!({ "name": "later", "transport": "command", "command": [script.display().to_string()] });
        let (mux, client) = http_session(&s, vec![entry]).await?;
        with_log(
            async {
                eventually("a failed first attempt", LONG, || async {
                    mux.log.text().contains("cannot start") && mux.log.text().contains("retrying in")
                })
                .await?;
                let exe = std::env::current_exe()?.display().to_string();
                std::fs::write(
                    &script,
                    format!("#!/bin/sh\nMCPMUX_TEST_BACKEND=1 exec {exe} --name later\n"),
                )?;
                std::process::Command::new("chmod").arg("+x").arg(&script).status()?;
                eventually("the backend once its command exists", LONG, || async {
                    tool_names(&client)
                        .await
                        .unwrap_or_default()
                        .iter()
                        .any(|n| n == "later__echo")
                })
                .await?;
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn dead_http_backend() -> Result {
    block_on(async {
        let s = Scratch::new("deadhttp");
        let web = HttpServer::test_backend(&s, "web", &[]).await?;
        let port = web
            .url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/mcp")
            .to_string();
        let (mux, client) = http_session(&s, vec![web.entry("web"), s.backend("local", &[])]).await?;
        with_log(
            async {
                assert_eq!(call_text(&client, "web__echo", json!({"text": "1"})).await?, "web: 1");
                drop(web);
                // The call fails at once, naming the backend; the others serve on.
                let r = tokio::time::timeout(LONG, call(&client, "web__echo", json!({"text": "2"}))).await??;
                assert_eq!(r.is_error, Some(true));
                assert!(text_of(&r).contains("\"web\""), "{}", text_of(&r));
                assert_eq!(
                    call_text(&client, "local__echo", json!({"text": "3"})).await?,
                    "local: 3"
                );
                // The failure made mcpmux reconnect: the tools leave until the backend is back.
                eventually("web's tools to leave the list", LONG, || async {
                    !tool_names(&client)
                        .await
                        .unwrap_or_default()
                        .iter()
                        .any(|n| n.starts_with("web__"))
                })
                .await?;
                let _again = HttpServer::test_backend(&s, "web", &["--port", &port]).await?;
                eventually("web's tools to come back", LONG, || async {
                    tool_names(&client)
                        .await
                        .unwrap_or_default()
                        .iter()
                        .any(|n| n == "web__echo")
                })
                .await?;
                assert_eq!(call_text(&client, "web__echo", json!({"text": "4"})).await?, "web: 4");
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

fn list_command() -> Result {
    block_on(async {
        let s = Scratch::new("list");
        let broken = json!({ "name": "broken", "transport": "command", "command": ["/nonexistent/mcp-server"] });
        let config =
            s.config(&json!({ "backends": [s.backend("good", &["--tools", "2"]), everything_stdio("ev"), broken] }));
        let out = mcpmux().args(["list", "--json", "-c"]).arg(&config).output().await?;
        assert_eq!(out.status.code(), Some(1), "a broken backend makes list fail");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let tools = report["tools"].as_array().ok_or("tools")?;
        assert!(
            tools
                .iter()
                .any(|t| t["name"] == "good__t001" && t["backend"] == "good" && t["original_name"] == "t001")
        );
        assert!(
            tools
                .iter()
                .any(|t| t["name"] == "ev__echo" && t["description"] == "Echoes back the input string")
        );
        let broken = report["backends"]
            .as_array()
            .ok_or("backends")?
            .iter()
            .find(|b| b["name"] == "broken")
            .ok_or("broken")?;
        assert!(
            broken["status"]
                .as_str()
                .unwrap_or("")
                .contains("cannot start \"/nonexistent/mcp-server\""),
            "{broken}"
        );
        let text = mcpmux().args(["list", "-c"]).arg(&config).output().await?;
        let table = String::from_utf8(text.stdout)?;
        assert!(table.starts_with("TOOL"), "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("ev__echo") && l.contains("Echoes back the input string"))
        );
        assert!(table.contains("backend broken: down: cannot start"));
        Ok(())
    })
}

fn ad_hoc() -> Result {
    block_on(async {
        let js = everything_js().display().to_string();
        let out = mcpmux()
            .args(["list", "--json", "--backend", &format!("ev=node {js} stdio")])
            .output()
            .await?;
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        assert!(
            report["tools"]
                .as_array()
                .ok_or("tools")?
                .iter()
                .any(|t| t["name"] == "ev__echo")
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("Starting default (STDIO) server") && stderr.contains("backend=ev"),
            "backend stderr is logged under its name: {stderr}"
        );
        // Ad-hoc backends obey the schema; the error names the argument.
        let bad = mcpmux().args(["serve", "--backend", "Bad=x"]).output().await?;
        assert_eq!(bad.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(
            stderr.contains("--backend Bad=…: /name: \"Bad\" must be lowercase"),
            "{stderr}"
        );
        Ok(())
    })
}

/// The official Python MCP SDK as the client, over each front and era.
fn python_client(front: Front, mode: &'static str) -> Result {
    block_on(async move {
        let s = Scratch::new(&format!("python-{front:?}-{mode}"));
        let python = root().join(".cache/venv/bin/python");
        assert!(
            python.is_file(),
            "{} is missing: run scripts/test-deps (scripts/test does)",
            python.display()
        );
        let script = root().join("tests/e2e/python_client.py");
        let transport = if front == Front::Http { "http" } else { "stdio" };
        let config = s.config(&json!({
            "listen": { "transport": transport, "address": "127.0.0.1:0", "page_size": 5 },
            "backends": [s.backend("alpha", &["--tools", "4"]), everything_stdio("everything")],
        }));
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(script).arg(mode).arg(transport);
        let mux = match front {
            Front::Http => {
                let mux = MuxHttp::start(&config).await?;
                cmd.arg(&mux.url);
                Some(mux)
            }
            Front::Stdio => {
                cmd.arg(env!("CARGO_BIN_EXE_mcpmux")).arg(&config);
                None
            }
        };
        let out = tokio::time::timeout(LONG, cmd.output()).await??;
        let log = mux.as_ref().map(|m| m.log.text()).unwrap_or_default();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "python client failed:\n{}\n{stdout}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let seen: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or(""))?;
        let expected = if mode == "legacy" { "2025-11-25" } else { "2026-07-28" };
        assert_eq!(seen["protocol"], expected, "{seen}");
        assert_eq!(seen["server"], "mcpmux");
        let tools: Vec<&str> = seen["tools"]
            .as_array()
            .ok_or("tools")?
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        assert_eq!(tools.len(), 10 + 4 + 13, "{tools:?}");
        assert!(tools.contains(&"everything__get-sum") && tools.contains(&"alpha__t003"));
        assert!(seen["pages"].as_u64().unwrap_or(0) >= 6, "pages of 5: {seen}");
        assert_eq!(seen["echo"], "alpha: from python");
        assert_eq!(seen["echo_error"], false);
        assert_eq!(seen["progress"], json!([1.0, 2.0, 3.0]), "{seen}");
        Ok(())
    })
}

/// A stdio client that closes mcpmux's stdin ends mcpmux (exit 0) and its backends.
fn stdio_eof() -> Result {
    block_on(async {
        use rmcp::ServiceExt;
        let s = Scratch::new("eof");
        let config = s.config(&json!({ "backends": [s.backend("b", &[])] }));
        let mut child = mcpmux()
            .args(["serve", "-c"])
            .arg(&config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let (stdin, stdout) = (child.stdin.take().ok_or("stdin")?, child.stdout.take().ok_or("stdout")?);
        let client = Recorder::default().serve((stdout, stdin)).await?;
        let backend_pid: i32 = call_text(&client, "b__pid", json!({})).await?.parse()?;
        client.cancel().await?;
        let status = tokio::time::timeout(LONG, child.wait()).await??;
        assert_eq!(status.code(), Some(0));
        eventually("the backend to be gone", LONG, || async { !process_alive(backend_pid) }).await
    })
}

/// A line of stderr that is not UTF-8 is logged (lossily) and the drain goes on.
fn stderr_not_utf8() -> Result {
    block_on(async {
        let s = Scratch::new("stderr");
        let exe = std::env::current_exe()?.display().to_string();
        let script = format!("printf 'bad \\377\\376 bytes\\n' >&2; exec {exe} --name noisy");
        let noisy = json!({
            "name": "noisy",
            "transport": "command",
            "command": ["sh", "-c", script],
            "env": { "MCPMUX_TEST_BACKEND": "1" },
        });
        let (mux, client) = http_session(&s, vec![noisy]).await?;
        with_log(
            async {
                for i in 0..3 {
                    let line = format!("still logging {i}");
                    assert_eq!(
                        call_text(&client, "noisy__stderr", json!({ "text": line })).await?,
                        "written"
                    );
                }
                eventually("the later lines in the log", LONG, || async {
                    mux.log.text().contains("still logging 2")
                })
                .await?;
                let log = mux.log.text();
                assert!(
                    log.contains("bad \u{fffd}\u{fffd} bytes") && log.contains("backend=noisy"),
                    "{log}"
                );
                Ok(())
            }
            .await,
            &mux,
        )
    })
}

/// Credentials in env, in a bearer token and in an endpoint's query string
/// never show in mcpmux's output or log, even at the most verbose level.
fn secrets_stay_out() -> Result {
    block_on(async {
        let s = Scratch::new("secrets");
        let web = HttpServer::test_backend(&s, "web", &[]).await?;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut local = s.backend("local", &[]);
        local["env"]["API_TOKEN"] = json!("s3cret-env-value");
        let mut bearer = web.entry("bearer");
        bearer["auth"] = json!({ "type": "bearer", "token": "s3cret-bearer-value" });
        let keyed = json!({
            "name": "keyed",
            "transport": "http",
            "endpoint": format!("http://127.0.0.1:{closed}/mcp?api_key=s3cret-query-value"),
        });
        let config =
            s.config(&json!({ "connect_retry": { "attempt_timeout": "5s" }, "backends": [local, bearer, keyed] }));
        for level in ["info", "debug,rmcp=debug"] {
            for json_flag in [false, true] {
                let mut cmd = mcpmux();
                cmd.env("MCPMUX_LOG", level).args(["list", "-c"]).arg(&config);
                if json_flag {
                    cmd.arg("--json");
                }
                let out = cmd.output().await?;
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(all.contains("local__echo") && all.contains("bearer__echo"), "{all}");
                for secret in ["s3cret-env-value", "s3cret-bearer-value", "s3cret-query-value"] {
                    assert!(!all.contains(secret), "{secret} leaked at log level {level}:\n{all}");
                }
            }
        }
        Ok(())
    })
}

/// Bearer and custom-header credentials reach HTTP backends that check them;
/// a wrong one leaves only that backend down, with the 401 in its status.
fn http_credentials() -> Result {
    block_on(async {
        let s = Scratch::new("creds");
        let api = HttpServer::test_backend(&s, "api", &["--require-header", "authorization=Bearer tok-1"]).await?;
        let keyed = HttpServer::test_backend(&s, "keyed", &["--require-header", "x-api-key=key-2"]).await?;
        let mut bearer = api.entry("bearer");
        bearer["auth"] = json!({ "type": "bearer", "token": "tok-1" });
        let mut header = keyed.entry("header");
        header["auth"] = json!({ "type": "header", "header": "X-Api-Key", "value": "key-2" });
        let mut wrong = api.entry("wrong");
        wrong["auth"] = json!({ "type": "bearer", "token": "not-the-token" });
        let config = s.config(&json!({ "backends": [bearer, header, wrong] }));
        let out = mcpmux().args(["list", "--json", "-c"]).arg(&config).output().await?;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let names: Vec<&str> = report["tools"]
            .as_array()
            .ok_or("tools")?
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert!(
            names.contains(&"bearer__echo") && names.contains(&"header__echo"),
            "{report}"
        );
        assert!(!names.iter().any(|n| n.starts_with("wrong__")));
        let wrong = report["backends"]
            .as_array()
            .ok_or("backends")?
            .iter()
            .find(|b| b["name"] == "wrong")
            .ok_or("wrong")?;
        assert!(wrong["status"].as_str().unwrap_or("").contains("401"), "{wrong}");
        assert_eq!(
            out.status.code(),
            Some(1),
            "a backend that cannot authenticate fails list"
        );
        Ok(())
    })
}
