//! Supervision of backends and of mcpmux itself: child environments and
//! process groups, clients served before backends are up, retries of an
//! unreachable backend, a dead HTTP backend failing fast, stdin EOF ending
//! everything, and backend stderr that is not UTF-8.

use libtest_mimic::Trial;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("command_backends_get_a_minimal_environment", minimal_environment),
        trial("process_groups_end_with_mcpmux", process_groups_end),
        trial(
            "the_endpoint_accepts_clients_before_backends_are_up",
            endpoint_before_backends,
        ),
        trial("an_unreachable_backend_is_retried", unreachable_backend_is_retried),
        trial("a_dead_http_backend_fails_its_calls_fast", dead_http_backend),
        trial("a_stdio_client_closing_stdin_ends_mcpmux_and_its_backends", stdio_eof),
        trial("backend_stderr_that_is_not_utf8_keeps_flowing", stderr_not_utf8),
    ]
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

/// A stdio client that closes mcpmux's stdin ends mcpmux (exit 0) and its backends.
fn stdio_eof() -> Result {
    block_on(async {
        use rmcp::ServiceExt;
        let s = Scratch::new("eof");
        let config = s.config(&json!({ "backends": [s.backend("b", &[])] }));
        let mut child = mcpmux_stdio(&config)?;
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
