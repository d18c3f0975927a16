//! Profiles: named views of one daemon's backends, each at its own path and,
//! with client tokens, chosen by the token. Through real backends and real
//! clients of both eras: a profile lists only its backends' tools and
//! prompts that its filters keep, and refuses a call, prompt, read or
//! subscription outside it, naming the profile and the rule; a profile's
//! token is served its profile at the base path and refused anywhere else;
//! a session begun at one path cannot be used at another; a profile in
//! search mode still reaches every one of its tools; a profile's session
//! hears only its own backends' log messages and is introduced only to
//! them, and only they hear that its roots changed; and over stdio `serve --profile` serves one profile.

use libtest_mimic::Trial;
use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::json;

use crate::harness::*;
use crate::sessions::Raw;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("profiles/each_path_and_token_sees_its_profile", paths_and_tokens),
        trial("profiles/stdio_serves_the_chosen_profile", stdio_profile),
    ]
}

const FULL: &str = "full-access-token-0123456789";
const CODING: &str = "coding-only-token-0123456789";

/// `one` (12 generated tools) and `two`; profile `coding` keeps `one` without
/// `one__t00?` and its prompts; `wide` has both backends in search mode.
fn config(s: &Scratch, http: bool) -> std::path::PathBuf {
    // 2025-era backends: they are the ones told that roots changed.
    let one = s.backend("one", &["--tools", "12", "--era", "legacy"]);
    let two = s.backend("two", &["--era", "legacy"]);
    let listen = if http {
        json!({"transport": "http", "address": "127.0.0.1:0",
               "auth": {"type": "bearer", "tokens": [FULL], "profiles": {"coding": [CODING]}}})
    } else {
        json!({"transport": "stdio"})
    };
    s.config(&json!({
        "listen": listen,
        "backends": [one, two],
        "profiles": {
            "coding": {"backends": ["one"], "tools": {"deny": ["one__t00?"]}, "prompts": {"deny": ["*"]}},
            "wide": {"tool_mode": "search"},
        },
    }))
}

/// The tools profile `coding` offers.
fn coding_tools() -> Vec<String> {
    let mut v: Vec<String> = ["echo", "env", "progress", "sleep"]
        .iter()
        .map(|t| format!("one__{t}"))
        .collect();
    v.extend(["one__t010".to_string(), "one__t011".to_string()]);
    v
}

/// Whether the sorted tool names of `client` start with `coding`'s (the
/// backend's other fixed tools come too).
async fn sees_coding(client: &Client, era: Era) -> Result {
    let names = tool_names(client).await?;
    assert!(names.iter().all(|n| n.starts_with("one__")), "{era:?}: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with("one__t00")), "{era:?}: {names:?}");
    for t in coding_tools() {
        assert!(names.contains(&t), "{era:?}: {t} missing from {names:?}");
    }
    assert_eq!(call_text(client, "one__echo", json!({"text": "hi"})).await?, "one: hi");
    // Outside: another backend's tool, a denied tool, any prompt, another backend's resource.
    for (tool, why) in [
        ("two__echo", r#"backend \"two\" is not in profile \"coding\""#),
        ("one__t001", r#"profile \"coding\"'s tools.deny pattern \"one__t00?\""#),
    ] {
        let err = call(client, tool, json!({"text": "x"}))
            .await
            .err()
            .ok_or(format!("{era:?}: {tool} was callable"))?;
        assert!(format!("{err:?}").contains(why), "{era:?} {tool}: {err:?}");
    }
    let prompts = client.peer().list_all_prompts().await?;
    assert!(prompts.is_empty(), "{era:?}: {prompts:?}");
    let mut get = GetPromptRequestParams::new("one__greet");
    get.arguments = json!({"who": "x"}).as_object().cloned();
    let err = client
        .peer()
        .get_prompt(get)
        .await
        .err()
        .ok_or("a denied prompt was served")?;
    assert!(format!("{err:?}").contains("prompts.deny pattern"), "{era:?}: {err:?}");
    let templates = client.peer().list_all_resource_templates().await?;
    assert!(
        !templates.is_empty() && templates.iter().all(|t| t.uri_template.contains("test://one/")),
        "{era:?}: {templates:?}"
    );
    let err = client
        .peer()
        .read_resource(ReadResourceRequestParams::new("mcpmux://two/test://two/static"))
        .await
        .err()
        .ok_or("another backend's resource was read")?;
    assert!(
        format!("{err:?}").contains(r#"backend \"two\" is not in profile \"coding\""#),
        "{era:?}: {err:?}"
    );
    let own = client
        .peer()
        .read_resource(ReadResourceRequestParams::new("mcpmux://one/test://one/static"))
        .await?;
    assert!(!own.contents.is_empty());
    Ok(())
}

async fn status(raw: &Raw, token: Option<&str>) -> Result<u16> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let mut r = raw.post(&init, None);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    Ok(r.send().await?.status().as_u16())
}

fn paths_and_tokens() -> Result {
    block_on(async {
        let s = Scratch::new("profiles-http");
        let mux = MuxHttp::start(&config(&s, true)).await?;
        let base = mux.url.trim_end_matches('/').to_string();
        let at = |p: &str| format!("{base}/{p}");
        for era in [Era::Legacy, Era::Modern] {
            // The whole catalog with the full token at the base path.
            let full = connect_http_token(&mux.url, era, FULL).await?;
            let names = tool_names(&full).await?;
            assert!(names.iter().any(|n| n == "two__echo") && names.iter().any(|n| n == "one__t001"));
            full.cancel().await?;
            // Profile coding at its path with the full token, and at the base
            // path with its own token: the same view.
            for (url, token) in [(at("coding"), FULL), (mux.url.clone(), CODING), (at("coding"), CODING)] {
                let client = connect_http_token(&url, era, token).await?;
                with_log(sees_coding(&client, era).await, &mux)?;
                client.cancel().await?;
            }
            // A profile in search mode: two tools, and every tool of both backends through them.
            let wide = connect_http_token(&at("wide"), era, FULL).await?;
            let mut listed = tool_names(&wide).await?;
            listed.sort();
            assert_eq!(listed, ["call_tool", "search_tools"], "{era:?}");
            let r = call(&wide, "search_tools", json!({"query": "two echo", "limit": 3})).await?;
            let hits = r.structured_content.ok_or("no structured content")?;
            assert_eq!(hits["tools"][0]["name"], "two__echo", "{era:?}: {hits}");
            let text = call_text(&wide, "call_tool", json!({"name": "one__t001", "arguments": {}})).await?;
            assert_eq!(text, "one: t001");
            wide.cancel().await?;
            let wide_all = connect_http_token(&at("wide/all"), era, FULL).await?;
            assert!(tool_names(&wide_all).await?.len() > 20, "{era:?}");
            wide_all.cancel().await?;
        }
        // A profile's session hears only its own backends' log messages,
        // and its instructions name only them.
        let coding = connect_http_token(&mux.url, Era::Legacy, CODING).await?;
        let full = connect_http_token(&mux.url, Era::Legacy, FULL).await?;
        let instructions = coding
            .peer()
            .peer_info()
            .and_then(|i| i.instructions.clone())
            .unwrap_or_default();
        assert!(
            instructions.contains("one__*") && !instructions.contains("two"),
            "{instructions}"
        );
        call(&full, "two__log", json!({"level": "error", "text": "two's secret"})).await?;
        call(&full, "one__log", json!({"level": "error", "text": "one says"})).await?;
        for (client, text) in [(&full, "two's secret"), (&full, "one says"), (&coding, "one says")] {
            eventually(
                &format!("the log {text:?}"),
                std::time::Duration::from_secs(5),
                || async { client.service().logs.lock().unwrap().iter().any(|(_, t)| t == text) },
            )
            .await?;
        }
        let heard = coding.service().logs.lock().unwrap().clone();
        assert!(!heard.iter().any(|(_, t)| t.contains("two")), "{heard:?}");
        // Its roots changing is news to its own backends only.
        let count = |backend: &str| {
            let line = format!("roots changed {backend}");
            s.read_events().lines().filter(|l| *l == line).count()
        };
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (one, two) = (count("one"), count("two"));
        coding.peer().notify_roots_list_changed().await?;
        eventually(
            "one to hear coding's roots changed",
            std::time::Duration::from_secs(5),
            || async { count("one") > one },
        )
        .await?;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(count("two"), two, "two heard of roots outside its profiles");
        coding.cancel().await?;
        full.cancel().await?;
        // The coding token reaches nothing but its profile; no token, nothing.
        assert_eq!(status(&Raw::new(&at("wide")), Some(CODING)).await?, 403);
        assert_eq!(status(&Raw::new(&at("wide/all")), Some(CODING)).await?, 403);
        assert_eq!(status(&Raw::new(&mux.url), None).await?, 401);
        assert_eq!(
            status(&Raw::new(&at("coding")), Some("wrong-token-0123456789")).await?,
            401
        );
        assert_eq!(status(&Raw::new(&at("nope")), Some(FULL)).await?, 404);
        // A session begun at the base path is no key to a profile's path.
        let id = {
            let raw = Raw::new(&mux.url);
            let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
            let r = raw.post(&init, None).bearer_auth(FULL).send().await?;
            let id = r.headers()["mcp-session-id"].to_str()?.to_string();
            r.bytes().await?;
            let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            let r = raw.post(&done, Some(&id)).bearer_auth(FULL).send().await?;
            assert!(r.status().is_success());
            id
        };
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
        let elsewhere = Raw::new(&at("coding"))
            .post(&list, Some(&id))
            .bearer_auth(CODING)
            .send()
            .await?;
        assert_eq!(elsewhere.status().as_u16(), 404, "{}", elsewhere.text().await?);
        let home = Raw::new(&mux.url)
            .post(&list, Some(&id))
            .bearer_auth(FULL)
            .send()
            .await?;
        assert_eq!(home.status().as_u16(), 200);
        let body = home.text().await?;
        assert!(body.contains("two__echo"), "{body}");
        mux.terminate().await?;
        Ok(())
    })
}

fn stdio_profile() -> Result {
    block_on(async {
        let s = Scratch::new("profiles-stdio");
        let config = config(&s, false);
        for era in [Era::Legacy, Era::Modern] {
            let log = Log::default();
            let client = connect_stdio_with(&config, &["--profile", "coding"], era, &log).await?;
            sees_coding(&client, era)
                .await
                .map_err(|e| format!("{e}\n{}", log.text()))?;
            client.cancel().await?;
        }
        // `list` shows each profile's share, and one profile's catalog.
        let whole = list_json(&config).await?;
        let profiles = whole.report["profiles"].as_array().ok_or("no profiles listed")?;
        let coding = profiles.iter().find(|p| p["name"] == "coding").ok_or("no coding")?;
        let listed = list_json_with(&config, &["--profile", "coding"]).await?;
        assert_eq!(coding["tools"], listed.tools.len(), "{}", whole.output);
        assert_eq!(coding["prompts"], 0);
        assert!(
            listed
                .tools
                .iter()
                .all(|t| t.starts_with("one__") && !t.starts_with("one__t00"))
        );
        for t in coding_tools() {
            assert!(listed.tools.contains(&t), "{t}: {}", listed.output);
        }
        let wide = profiles.iter().find(|p| p["name"] == "wide").ok_or("no wide")?;
        assert_eq!(
            (&wide["tool_mode"], &wide["tools"]),
            (&json!("search"), &json!(whole.tools.len()))
        );
        // An unknown profile: a clear error naming the ones there are.
        let out = mcpmux()
            .args(["serve", "--profile", "codng", "-c"])
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .output()
            .await?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(r#"no profile "codng""#) && err.contains("coding, wide"),
            "{err}"
        );
        Ok(())
    })
}
