//! Everything besides tools, through mcpmux, for a client of either era on
//! either front: prompts (listed under `<prefix>__<name>`, got with their
//! embedded resources rewritten), resources and resource templates (under
//! `mcpmux://<prefix>/<original>`, read back exactly; an unprefixed backend
//! keeps its URIs), completions routed by prompt name or resource URI,
//! resource links in tool results rewritten, resource list changes reaching
//! the client, log messages at the client's level, resource subscriptions,
//! and the capabilities mcpmux announces.

use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, ContentBlock, GetPromptRequestParams, ReadResourceRequestParams, Reference,
    ResourceContents,
};
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("surface_stdio_legacy_client", || surface(Front::Stdio, Era::Legacy)),
        trial("surface_stdio_modern_client", || surface(Front::Stdio, Era::Modern)),
        trial("surface_http_legacy_client", || surface(Front::Http, Era::Legacy)),
        trial("surface_http_modern_client", || surface(Front::Http, Era::Modern)),
    ]
}

fn surface(front: Front, era: Era) -> Result {
    block_on(async move {
        let s = Scratch::new(&format!("surface-{front:?}-{era:?}"));
        let mut plain = s.backend("plain", &[]);
        plain["prefix"] = json!("");
        let transport = if front == Front::Http { "http" } else { "stdio" };
        let config = s.config(&json!({
            "listen": { "transport": transport, "address": "127.0.0.1:0" },
            "backends": [s.backend("alpha", &["--era", "legacy"]), s.backend("beta", &["--era", "modern"]), plain],
        }));
        let Session { client, log, _mux } = open(front, era, &config).await?;
        let r = async {
            check_surface(&client).await?;
            check_logging(&s, &client, era).await?;
            check_subscriptions(&s, &client, era).await?;
            check_server_requests(&client, era).await?;
            check_roots_changed(&s, &client, era).await
        }
        .await;
        r.map_err(|e| format!("{e}\n--- mcpmux log ---\n{}", log.text()).into())
    })
}

fn text_of_content(c: &ContentBlock) -> String {
    match c {
        ContentBlock::Text(t) => t.text.clone(),
        other => format!("{other:?}"),
    }
}

fn uri_of(c: &ResourceContents) -> &str {
    match c {
        ResourceContents::TextResourceContents { uri, .. } | ResourceContents::BlobResourceContents { uri, .. } => uri,
        _ => "",
    }
}

async fn check_surface(client: &Client) -> Result {
    let peer = client.peer();
    let caps = &peer.peer_info().ok_or("no server info")?.capabilities;
    assert!(
        caps.prompts.is_some() && caps.resources.is_some() && caps.completions.is_some(),
        "{caps:?}"
    );

    // Prompts, by public name.
    let prompts: Vec<String> = peer.list_all_prompts().await?.into_iter().map(|p| p.name).collect();
    for name in ["alpha__greet", "beta__greet", "greet"] {
        assert!(prompts.contains(&name.to_string()), "{name} missing from {prompts:?}");
    }
    let mut get = GetPromptRequestParams::new("beta__greet");
    get.arguments = json!({"who": "bob"}).as_object().cloned();
    let got = peer.get_prompt(get).await?;
    assert_eq!(text_of_content(&got.messages[0].content), "Hello bob from beta");
    let ContentBlock::Resource(embedded) = &got.messages[1].content else {
        return Err(format!("not an embedded resource: {:?}", got.messages[1]).into());
    };
    assert_eq!(uri_of(&embedded.resource), "mcpmux://beta/test://beta/static");

    // Resources and templates, by public URI.
    let resources: Vec<String> = peer.list_all_resources().await?.into_iter().map(|r| r.uri).collect();
    for uri in [
        "mcpmux://alpha/test://alpha/static",
        "mcpmux://beta/test://beta/static",
        "test://plain/static",
    ] {
        assert!(resources.contains(&uri.to_string()), "{uri} missing from {resources:?}");
    }
    let templates: Vec<String> = peer
        .list_all_resource_templates()
        .await?
        .into_iter()
        .map(|t| t.uri_template)
        .collect();
    assert!(
        templates.contains(&"mcpmux://alpha/test://alpha/item/{id}".to_string())
            && templates.contains(&"test://plain/item/{id}".to_string()),
        "{templates:?}"
    );
    for (uri, text) in [
        ("mcpmux://alpha/test://alpha/item/7", "item 7 of alpha"),
        ("mcpmux://beta/test://beta/static", "static of beta"),
        ("test://plain/item/3", "item 3 of plain"),
    ] {
        let read = peer.read_resource(ReadResourceRequestParams::new(uri)).await?;
        let ResourceContents::TextResourceContents { text: got, uri: at, .. } = &read.contents[0] else {
            return Err(format!("not text: {read:?}").into());
        };
        assert_eq!((got.as_str(), at.as_str()), (text, uri));
    }
    assert!(
        peer.read_resource(ReadResourceRequestParams::new("mcpmux://nobody/x"))
            .await
            .is_err(),
        "an unknown backend's URI is an error"
    );

    // Completions, by prompt name and by template URI.
    let complete = |r: Reference, name: &str, value: &str| {
        CompleteRequestParams::new(r, ArgumentInfo::new(name.to_string(), value.to_string()))
    };
    let c = peer
        .complete(complete(Reference::for_prompt("alpha__greet"), "who", "al"))
        .await?;
    assert_eq!(c.completion.values, ["alice", "albert"]);
    let c = peer
        .complete(complete(
            Reference::for_resource("mcpmux://beta/test://beta/item/{id}"),
            "id",
            "1",
        ))
        .await?;
    assert_eq!(c.completion.values, ["1", "12"]);

    // Resource links and embedded resources in tool results.
    let linked = call(client, "alpha__link", json!({})).await?;
    let ContentBlock::ResourceLink(link) = &linked.content[1] else {
        return Err(format!("not a link: {linked:?}").into());
    };
    assert_eq!(link.uri, "mcpmux://alpha/test://alpha/static");
    let ContentBlock::Resource(embedded) = &linked.content[2] else {
        return Err(format!("not embedded: {linked:?}").into());
    };
    assert_eq!(uri_of(&embedded.resource), "mcpmux://alpha/test://alpha/static");

    // A backend's resource list change reaches the client, for either backend era.
    for backend in ["alpha", "beta"] {
        let before = client
            .service()
            .resource_changes
            .load(std::sync::atomic::Ordering::SeqCst);
        call_text(client, &format!("{backend}__add_resource"), json!({"name": "fresh"})).await?;
        eventually(
            "a resources/list_changed notification",
            Duration::from_secs(10),
            || async {
                client
                    .service()
                    .resource_changes
                    .load(std::sync::atomic::Ordering::SeqCst)
                    > before
            },
        )
        .await?;
        let fresh = format!("mcpmux://{backend}/test://{backend}/fresh");
        let listed: Vec<String> = peer.list_all_resources().await?.into_iter().map(|r| r.uri).collect();
        assert!(listed.contains(&fresh), "{fresh} missing from {listed:?}");
        let read = peer
            .read_resource(ReadResourceRequestParams::new(fresh.as_str()))
            .await?;
        assert_eq!(uri_of(&read.contents[0]), fresh);
    }
    Ok(())
}

/// Log messages: a 2025-11-25 client chooses its level for the session
/// (mcpmux passes the most verbose one chosen to 2025-era backends); a
/// 2026-07-28 client asks per request. Messages come under a logger named
/// after the backend, from backends of either era, filtered by that level.
async fn check_logging(s: &Scratch, client: &Client, era: Era) -> Result {
    let peer = client.peer();
    let mut meta = rmcp::model::RequestMetaObject::default();
    if era == Era::Legacy {
        #[allow(deprecated)]
        peer.set_level(rmcp::model::SetLevelRequestParams::new(
            rmcp::model::LoggingLevel::Warning,
        ))
        .await?;
        eventually("alpha to be given the level", Duration::from_secs(5), || async {
            s.read_events().contains("level alpha Warning")
        })
        .await?;
    } else {
        #[allow(deprecated)]
        meta.set_log_level(rmcp::model::LoggingLevel::Warning);
    }
    for backend in ["alpha", "beta"] {
        for (level, text) in [("info", "quiet"), ("error", "loud")] {
            let args = json!({"level": level, "text": format!("{text} {backend}")});
            let options = rmcp::service::PeerRequestOptions::no_options().with_meta(meta.clone());
            let answer = start_call(client, &format!("{backend}__log"), args, options)
                .await?
                .await_response()
                .await?;
            // The 2026-07-28 backend hears the level with the request and logs
            // nothing below it (the client's session level or per-request level).
            if backend == "beta" && level == "info" {
                let rmcp::model::ServerResult::CallToolResult(r) = answer else {
                    return Err(format!("not a tool result: {answer:?}").into());
                };
                assert_eq!(text_of(&r), "not logged", "the level reached beta");
            }
        }
        let logger = format!("{backend}/tests");
        let want = (logger.clone(), format!("loud {backend}"));
        eventually(&format!("{backend}'s error log"), Duration::from_secs(5), || async {
            client.service().logs.lock().unwrap().contains(&want)
        })
        .await?;
    }
    let logs = client.service().logs.lock().unwrap().clone();
    assert!(
        !logs.iter().any(|(_, text)| text.starts_with("quiet")),
        "below the level: {logs:?}"
    );
    Ok(())
}

/// Resource subscriptions: a 2025-11-25 client with `resources/subscribe`,
/// a 2026-07-28 client with the URI on a listen stream; mcpmux subscribes
/// once at the backend and passes the update on under the public URI.
async fn check_subscriptions(s: &Scratch, client: &Client, era: Era) -> Result {
    // alpha speaks 2025-11-25 (resources/subscribe), beta 2026-07-28 (a listen stream).
    for backend in ["alpha", "beta"] {
        let public = format!("mcpmux://{backend}/test://{backend}/static");
        let mut listen = None;
        if era == Era::Legacy {
            #[allow(deprecated)]
            client
                .peer()
                .subscribe(rmcp::model::SubscribeRequestParams::new(public.as_str()))
                .await?;
        } else {
            let filter = rmcp::model::SubscriptionFilter::builder()
                .resource_subscription(public.as_str())
                .build();
            let mut sub = client.peer().listen(filter).await?;
            let seen = client.service().updates.clone();
            listen = Some(tokio::spawn(async move {
                while let Ok(Some(n)) = sub.next().await {
                    if let rmcp::model::ServerNotification::ResourceUpdatedNotification(u) = n {
                        seen.lock().unwrap().push(u.params.uri);
                    }
                }
            }));
        }
        if backend == "alpha" {
            eventually("mcpmux to subscribe at alpha", Duration::from_secs(5), || async {
                s.read_events().contains("subscribed alpha test://alpha/static")
            })
            .await?;
        }
        // (A listen stream answers once it is set up; give it a moment to reach the backend.)
        let updated = || async { client.service().updates.lock().unwrap().contains(&public) };
        eventually(
            &format!("{backend}'s resource update"),
            Duration::from_secs(10),
            || async {
                let _ = call_text(client, &format!("{backend}__touch"), json!({"path": "static"})).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                updated().await
            },
        )
        .await?;
        if era == Era::Legacy && backend == "alpha" {
            #[allow(deprecated)]
            client
                .peer()
                .unsubscribe(rmcp::model::UnsubscribeRequestParams::new(public.as_str()))
                .await?;
            eventually("mcpmux to unsubscribe at alpha", Duration::from_secs(5), || async {
                s.read_events().contains("unsubscribed alpha test://alpha/static")
            })
            .await?;
        }
        if let Some(l) = listen {
            l.abort();
        }
    }
    Ok(())
}

/// A 2025-era backend asks for sampling and elicitation during a call; a
/// 2025-11-25 client (which declared both) answers them through mcpmux, and a
/// 2026-07-28 client answers the input-required results mcpmux turns them
/// into. A 2026-07-28 backend asks with an input-required result: mcpmux
/// drives it for a 2025-11-25 client, and passes it through (and the retry
/// back) for a 2026-07-28 one.
async fn check_server_requests(client: &Client, era: Era) -> Result {
    check_input_required(client, era).await?;
    let want = r#"alpha: sampled "cba", elicited {"name":"tester"}"#;
    let mut params = rmcp::model::CallToolRequestParams::new("alpha__ask");
    params.arguments = json!({"prompt": "abc"}).as_object().cloned();
    match era {
        Era::Legacy => {
            let r = call(client, "alpha__ask", json!({"prompt": "abc"})).await?;
            assert_eq!(text_of(&r), want, "{r:?}");
        }
        Era::Modern => {
            // The 2025-era backend asks mid-call; mcpmux parks the call and
            // asks this client with input-required results, one per question.
            let mut rounds = 0;
            let r = loop {
                match client.peer().call_tool_once(params.clone()).await? {
                    rmcp::model::CallToolResponse::Complete(r) => break r,
                    rmcp::model::CallToolResponse::InputRequired(asked) => {
                        rounds += 1;
                        assert!(rounds <= 3, "too many rounds: {asked:?}");
                        let mut answers = rmcp::model::InputResponses::new();
                        for (key, input) in asked.input_requests.clone().unwrap_or_default() {
                            let answer = match input {
                                rmcp::model::InputRequest::CreateMessage(_) => json!({
                                    "role": "assistant",
                                    "content": {"type": "text", "text": "cba"},
                                    "model": "test-model",
                                }),
                                rmcp::model::InputRequest::Elicitation(_) => {
                                    json!({"action": "accept", "content": {"name": "tester"}})
                                }
                                other => return Err(format!("unexpected question {other:?}").into()),
                            };
                            answers.insert(key, answer);
                        }
                        params.input_responses = Some(answers);
                        params.request_state = asked.request_state.clone();
                    }
                    other => return Err(format!("unexpected answer {other:?}").into()),
                }
            };
            assert_eq!(text_of(&r), want, "{r:?}");
            assert_eq!(rounds, 2, "one round for the sampling, one for the elicitation");
            // A retry naming no parked call is refused clearly.
            params.request_state = Some("mcpmux-parked:nonsense".into());
            let refused = client.peer().call_tool_once(params).await;
            assert!(
                refused.as_ref().is_err_and(|e| e.to_string().contains("names no call")),
                "{refused:?}"
            );
        }
    }
    Ok(())
}

async fn check_input_required(client: &Client, era: Era) -> Result {
    let mut params = rmcp::model::CallToolRequestParams::new("beta__ask_input");
    params.arguments = json!({"prompt": "xyz"}).as_object().cloned();
    let want = r#"beta: sampled "zyx", elicited {"name":"tester"}"#;
    match era {
        Era::Legacy => {
            let r = client.peer().call_tool(params).await?;
            assert_eq!(text_of(&r), want, "{r:?}");
        }
        Era::Modern => {
            let first = client.peer().call_tool_once(params.clone()).await?;
            let rmcp::model::CallToolResponse::InputRequired(asked) = first else {
                return Err(format!("not input-required: {first:?}").into());
            };
            let asks = asked.input_requests.clone().unwrap_or_default();
            assert_eq!(asks.keys().collect::<Vec<_>>(), ["e", "s"], "{asked:?}");
            let mut answers = rmcp::model::InputResponses::new();
            answers.insert(
                "s".into(),
                json!({"role": "assistant", "content": {"type": "text", "text": "zyx"}, "model": "test-model"}),
            );
            answers.insert("e".into(), json!({"action": "accept", "content": {"name": "tester"}}));
            params.input_responses = Some(answers);
            params.request_state = asked.request_state.clone();
            let done = client.peer().call_tool_once(params).await?;
            let rmcp::model::CallToolResponse::Complete(r) = done else {
                return Err(format!("not complete: {done:?}").into());
            };
            assert_eq!(text_of(&r), want, "{r:?}");
        }
    }
    Ok(())
}

/// A 2025-11-25 client's roots list_changed reaches the 2025-era backends.
async fn check_roots_changed(s: &Scratch, client: &Client, era: Era) -> Result {
    if era == Era::Legacy {
        client.peer().notify_roots_list_changed().await?;
        eventually(
            "alpha to hear that the roots changed",
            Duration::from_secs(5),
            || async { s.read_events().contains("roots changed alpha") },
        )
        .await?;
    }
    Ok(())
}
