//! Interop with backends as they are met in the wild: backends slower than
//! rmcp's private 10 s `server/discover` probe wait (npx or uvx installing on
//! first run) connect on their first attempt in every era; backends that
//! announce no list changes but declare a freshness (`ttlMs`) are listed
//! again when it ran out, and that freshness is passed on; and the README's
//! quick start lists all three npm servers from an empty npm cache. Also the
//! official Python SDK as the client over each front, in both of its modes
//! (the full client × backend matrix is in `matrix`).

use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::service::ClientCacheConfig;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("slow_starting_backends_connect_on_the_first_attempt", slow_start),
        trial(
            "the_quick_start_lists_every_server_from_a_cold_npm_cache",
            cold_quickstart,
        ),
        trial("declared_freshness_is_honoured_and_passed_on", freshness),
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

/// The backends `mcpmux list --json` reports, by name.
fn backends(report: &Value) -> Result<Vec<(String, String)>> {
    Ok(report["backends"]
        .as_array()
        .ok_or("no backends in the report")?
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap_or("").to_string(),
                b["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// Three stdio backends that read nothing for 11 s (longer than rmcp's probe
/// wait) — one of each era — are all listed by a single `mcpmux list`, with
/// no retry: the late answer to the probe is set aside, not taken for the
/// answer to `initialize`.
fn slow_start() -> Result {
    block_on(async {
        let s = Scratch::new("slow-start");
        let delay = ["--startup-delay-ms", "11000", "--tools", "2"];
        let with = |era: &'static str| {
            let mut args = delay.to_vec();
            args.extend(["--era", era]);
            args
        };
        let config = s.config(&json!({
            "backends": [
                s.backend("both", &with("both")),
                s.backend("legacy", &with("legacy")),
                s.backend("modern", &with("modern")),
            ],
        }));
        let out = tokio::time::timeout(
            Duration::from_secs(90),
            mcpmux().args(["list", "--json", "-c"]).arg(&config).output(),
        )
        .await??;
        let log = String::from_utf8_lossy(&out.stderr);
        let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}\n{log}"))?;
        for (name, status) in backends(&report)? {
            assert!(status.starts_with("ready"), "backend {name}: {status}\n{log}");
        }
        let tools = report["tools"].as_array().ok_or("tools")?;
        for name in ["both__t001", "legacy__t001", "modern__t001"] {
            assert!(tools.iter().any(|t| t["name"] == name), "{name} missing\n{log}");
        }
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert!(!log.contains("handshake failed"), "{log}");
        Ok(())
    })
}

/// The README's first command, on a machine whose npm cache is empty: every
/// backend of `examples/quickstart.yaml` is fetched by npx and listed.
fn cold_quickstart() -> Result {
    block_on(async {
        let s = Scratch::new("cold-quickstart");
        // Backends see a minimal environment (HOME, not npm_config_cache), so
        // the cold cache is a fresh HOME, with the user's npm settings copied in.
        let home = s.dir.join("home");
        std::fs::create_dir_all(&home)?;
        if let Some(rc) = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".npmrc"))
            && rc.is_file()
        {
            std::fs::copy(&rc, home.join(".npmrc"))?;
        }
        let cache = home.join(".npm");
        let out = tokio::time::timeout(
            Duration::from_secs(300),
            mcpmux()
                .current_dir(root())
                .env("HOME", &home)
                .env("TMPDIR", &s.dir)
                .args(["list", "--json", "-c", "examples/quickstart.yaml"])
                .output(),
        )
        .await??;
        let log = String::from_utf8_lossy(&out.stderr);
        let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}\n{log}"))?;
        let listed = backends(&report)?;
        assert_eq!(listed.len(), 3, "{report}");
        for (name, status) in listed {
            assert!(status.starts_with("ready"), "backend {name}: {status}\n{log}");
        }
        let tools = report["tools"].as_array().ok_or("tools")?;
        for name in ["everything__echo", "memory__create_entities", "files__read_text_file"] {
            assert!(tools.iter().any(|t| t["name"] == name), "{name} missing\n{log}");
        }
        assert_eq!(out.status.code(), Some(0), "{log}");
        assert!(
            cache.join("_npx").is_dir(),
            "npx did not use the fresh cache at {}",
            cache.display()
        );
        Ok(())
    })
}

/// The tools a 2026-07-28 client sees in one tools/list, and its `ttlMs`.
async fn listing(client: &Client) -> Result<(Vec<String>, Option<u64>)> {
    let page = client.peer().list_tools(None).await?;
    assert!(page.next_cursor.is_none(), "one page expected");
    Ok((page.tools.iter().map(|t| t.name.to_string()).collect(), page.ttl_ms))
}

/// Backends that announce nothing (like the Python SDK's servers) with
/// `ttlMs` 0, 60 s and 1 h: a tool added to the first shows at the next
/// client list; one added to the last does not (its catalog is still
/// fresh); concurrent client lists share one re-list; and mcpmux's own
/// results carry the freshness that is left.
fn freshness() -> Result {
    block_on(async {
        let s = Scratch::new("freshness");
        let quiet = |ttl: &'static str, delay: &'static str| {
            ["--era", "modern", "--quiet", "--ttl-ms", ttl, "--list-delay-ms", delay]
        };
        let config = s.config(&json!({
            "listen": { "transport": "http", "address": "127.0.0.1:0" },
            "backends": [
                s.backend("zero", &quiet("0", "1000")),
                s.backend("minute", &quiet("60000", "0")),
                s.backend("hour", &quiet("3600000", "0")),
            ],
        }));
        let mux = MuxHttp::start(&config).await?;
        let client = connect_http(&mux.url, Era::Modern).await?;
        // The test client must not answer from its own cache.
        client
            .peer()
            .set_response_cache_config(ClientCacheConfig::disabled())
            .await;
        let run = async {
            let (tools, ttl) = listing(&client).await?;
            assert!(
                tools.contains(&"zero__echo".to_string()) && tools.contains(&"hour__echo".to_string()),
                "{tools:?}"
            );
            assert_eq!(ttl, Some(0), "the soonest freshness (zero's) is passed on");

            call_text(&client, "zero__add_tool", json!({"name": "fresh_zero"})).await?;
            call_text(&client, "hour__add_tool", json!({"name": "fresh_hour"})).await?;
            let (tools, _) = listing(&client).await?;
            assert!(
                tools.contains(&"zero__fresh_zero".to_string()),
                "a stale catalog is listed again: {tools:?}"
            );
            if tools.contains(&"hour__fresh_hour".to_string()) {
                return Err(format!("a fresh catalog is not listed again: {tools:?}").into());
            }

            let listed = |s: &Scratch| s.read_events().lines().filter(|l| *l == "listed zero").count();
            let before = listed(&s);
            let clients = [&client, &client, &client, &client];
            let lists = clients.map(|c| async move { c.peer().list_tools(None).await });
            for r in futures_join(lists).await {
                r?;
            }
            assert_eq!(listed(&s) - before, 1, "four concurrent lists share one re-list");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        };
        run.await
            .map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", mux.log.text()))?;

        // Without the 0 ms backend, what is left of the 60 s one is passed on.
        let s2 = Scratch::new("freshness-left");
        let config = s2.config(&json!({
            "listen": { "transport": "http", "address": "127.0.0.1:0" },
            "backends": [s2.backend("minute", &quiet("60000", "0")), s2.backend("hour", &quiet("3600000", "0"))],
        }));
        let mux = MuxHttp::start(&config).await?;
        let client = connect_http(&mux.url, Era::Modern).await?;
        let (_, ttl) = listing(&client).await?;
        let ttl = ttl.ok_or("no ttlMs")?;
        assert!(
            (30_000..=60_000).contains(&ttl),
            "ttlMs {ttl}: what is left of the minute"
        );
        Ok(())
    })
}

/// Runs futures concurrently and returns their outputs in order.
async fn futures_join<F: Future>(futures: [F; 4]) -> [F::Output; 4] {
    let [a, b, c, d] = futures;
    let (a, b, c, d) = tokio::join!(a, b, c, d);
    [a, b, c, d]
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
        assert_eq!(tools.len(), crate::backend::FIXED.len() + 4 + 17, "{tools:?}");
        assert!(tools.contains(&"everything__get-sum") && tools.contains(&"alpha__t003"));
        assert!(seen["pages"].as_u64().unwrap_or(0) >= 6, "pages of 5: {seen}");
        assert_eq!(seen["echo"], "alpha: from python");
        assert_eq!(seen["echo_error"], false);
        assert_eq!(seen["progress"], json!([1.0, 2.0, 3.0]), "{seen}");
        Ok(())
    })
}
