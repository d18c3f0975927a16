//! `listen.tool_mode: search` with a catalog of over 300 tools, through real
//! clients of both eras: tools/list answers only `search_tools` and
//! `call_tool`; searching a tool's name finds that tool first, with its
//! input schema; every generated tool is called through `call_tool`; direct
//! calls by name still work; and the full list stays at `<path>/all` — for
//! the whole catalog and for a profile in search mode alike.

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![trial(
        "search/a_300_tool_catalog_through_two_tools",
        catalog_through_two_tools,
    )]
}

/// Generated tools of each of the three backends (plus their fixed ones).
const GENERATED: usize = 100;

async fn search(client: &Client, query: &str, limit: u64) -> Result<Vec<Value>> {
    let r = call(client, "search_tools", json!({"query": query, "limit": limit})).await?;
    if r.is_error == Some(true) {
        return Err(format!("search_tools failed: {}", text_of(&r)).into());
    }
    // The same hits as structured content and as the text block.
    let text: Value = serde_json::from_str(&text_of(&r))?;
    let structured = r.structured_content.ok_or("no structured content")?;
    assert_eq!(text, structured);
    Ok(structured["tools"].as_array().cloned().unwrap_or_default())
}

fn catalog_through_two_tools() -> Result {
    block_on(async {
        let s = Scratch::new("search-mode");
        let tools = GENERATED.to_string();
        let backends: Vec<Value> = ["one", "two", "three"]
            .iter()
            .map(|n| s.backend(n, &["--tools", &tools]))
            .collect();
        // The whole catalog in search mode, and a profile of it in search
        // mode too (at <path>/big) while the rest of the daemon lists everything.
        let config = s.config(&json!({
            "listen": {"transport": "http", "address": "127.0.0.1:0", "tool_mode": "search"},
            "backends": backends,
            "profiles": {"big": {"tool_mode": "search"}},
        }));
        let mux = MuxHttp::start(&config).await?;
        let all_url = format!("{}/all", mux.url.trim_end_matches('/'));
        let full = connect_http(&all_url, Era::Legacy).await?;
        let catalog = full.peer().list_all_tools().await?;
        assert!(catalog.len() > 300, "{} tools at {all_url}", catalog.len());
        full.cancel().await?;
        let big = format!("{}/big", mux.url.trim_end_matches('/'));
        let big_all = connect_http(&format!("{big}/all"), Era::Modern).await?;
        assert_eq!(big_all.peer().list_all_tools().await?.len(), catalog.len());
        big_all.cancel().await?;
        for (era, url) in [(Era::Legacy, &mux.url), (Era::Modern, &mux.url), (Era::Legacy, &big)] {
            let client = connect_http(url, era).await?;
            let mut listed = tool_names(&client).await?;
            listed.sort();
            assert_eq!(listed, ["call_tool", "search_tools"], "{era:?}");
            // Every tool is found first by its own name, with its schema.
            for tool in &catalog {
                let hits = search(&client, &tool.name, 3).await?;
                let first = hits
                    .first()
                    .ok_or(format!("{era:?}: nothing found for {}", tool.name))?;
                assert_eq!(first["name"], *tool.name, "{era:?}: {hits:?}");
                assert_eq!(first["inputSchema"], Value::Object((*tool.input_schema).clone()));
            }
            // By words of purpose: the echo tools, and nothing unrelated.
            let hits = search(&client, "echo", 10).await?;
            let names: Vec<&str> = hits.iter().filter_map(|h| h["name"].as_str()).collect();
            assert_eq!(names.len(), 3, "{names:?}");
            assert!(names.iter().all(|n| n.ends_with("__echo")), "{names:?}");
            // Every generated tool called through call_tool.
            for b in ["one", "two", "three"] {
                for i in 0..GENERATED {
                    let name = format!("{b}__t{i:03}");
                    let text = call_text(&client, "call_tool", json!({"name": name, "arguments": {}})).await?;
                    assert_eq!(text, format!("{b}: t{i:03}"), "{era:?}");
                }
            }
            let text = call_text(
                &client,
                "call_tool",
                json!({"name": "two__echo", "arguments": {"text": "hi"}}),
            )
            .await?;
            assert_eq!(text, "two: hi");
            // A direct call by name works as well; a bad call_tool says why.
            assert_eq!(
                call_text(&client, "one__echo", json!({"text": "direct"})).await?,
                "one: direct"
            );
            let err = call(&client, "call_tool", json!({"arguments": {}}))
                .await
                .err()
                .ok_or("no error")?;
            assert!(format!("{err:?}").contains("call_tool needs the name"), "{err:?}");
            let err = call(&client, "call_tool", json!({"name": "one__nope"}))
                .await
                .err()
                .ok_or("no error")?;
            assert!(format!("{err:?}").contains("unknown tool"), "{err:?}");
            client.cancel().await?;
        }
        mux.terminate().await?;
        Ok(())
    })
}
