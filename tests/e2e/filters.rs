//! Per-backend filters (`tools`, `prompts`, `resources`: allow and deny
//! globs on the backend's own names and URIs), through a real backend and
//! real clients of both eras: a hidden item is neither listed nor callable,
//! the error names the rule that hid it, and `mcpmux list` shows what each
//! filter hid, with the rule.

use libtest_mimic::Trial;
use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("filters/hidden_items_are_neither_listed_nor_callable", hidden_items),
        trial("filters/list_shows_what_each_filter_hid", listing),
    ]
}

fn config(s: &Scratch, http: bool) -> std::path::PathBuf {
    let mut one = s.backend("one", &["--tools", "12"]);
    one["tools"] = json!({"allow": ["e*", "t00?", "sleep"], "deny": ["env", "t003"]});
    one["prompts"] = json!({"deny": ["gre?t"]});
    one["resources"] = json!({"deny": ["test://one/item/*"]});
    // An unfiltered backend beside it keeps everything.
    let two = s.backend("two", &[]);
    let listen = if http {
        json!({"transport": "http", "address": "127.0.0.1:0"})
    } else {
        json!({"transport": "stdio"})
    };
    s.config(&json!({"listen": listen, "backends": [one, two]}))
}

/// The tools of `one` that the filter keeps.
fn offered() -> Vec<String> {
    let mut v: Vec<String> = ["one__echo", "one__sleep"].iter().map(|s| s.to_string()).collect();
    v.extend((0..10).filter(|i| *i != 3).map(|i| format!("one__t{i:03}")));
    v.sort();
    v
}

fn hidden_items() -> Result {
    block_on(async {
        let s = Scratch::new("filters-hidden");
        let mux = MuxHttp::start(&config(&s, true)).await?;
        for era in [Era::Legacy, Era::Modern] {
            let client = connect_http(&mux.url, era).await?;
            let names = tool_names(&client).await?;
            let mut of_one: Vec<String> = names.iter().filter(|n| n.starts_with("one__")).cloned().collect();
            of_one.sort();
            assert_eq!(of_one, offered(), "{era:?}");
            assert!(
                names.iter().any(|n| n == "two__env"),
                "{era:?}: the other backend keeps its tools"
            );
            assert_eq!(call_text(&client, "one__echo", json!({"text": "hi"})).await?, "one: hi");
            for (tool, rule) in [
                ("one__env", r#"tools.deny pattern \"env\""#),
                ("one__t003", r#"tools.deny pattern \"t003\""#),
                ("one__progress", "no tools.allow pattern matches it"),
                ("one__t011", "no tools.allow pattern matches it"),
            ] {
                let err = call(&client, tool, json!({}))
                    .await
                    .err()
                    .ok_or(format!("{tool} was callable"))?;
                let text = format!("{err:?}");
                assert!(
                    text.contains(r#"hidden by backend \"one\"'s"#) && text.contains(rule),
                    "{era:?} {tool}: {text}"
                );
            }
            // Prompts: `greet` of one is hidden, two's is served.
            let prompts = client.peer().list_all_prompts().await?;
            let prompt_names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
            assert!(
                !prompt_names.contains(&"one__greet") && prompt_names.contains(&"two__greet"),
                "{prompt_names:?}"
            );
            let mut get = GetPromptRequestParams::new("one__greet");
            get.arguments = json!({"who": "x"}).as_object().cloned();
            let err = client
                .peer()
                .get_prompt(get)
                .await
                .err()
                .ok_or("a hidden prompt was served")?;
            assert!(format!("{err:?}").contains("prompts.deny pattern"), "{err:?}");
            // Resources: one's templates are hidden, and so is any URI they make.
            let templates = client.peer().list_all_resource_templates().await?;
            let uris: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
            assert!(!uris.iter().any(|u| u.contains("test://one/")), "{uris:?}");
            assert!(uris.iter().any(|u| u.contains("test://two/")), "{uris:?}");
            let read = client
                .peer()
                .read_resource(ReadResourceRequestParams::new("mcpmux://one/test://one/item/5"))
                .await;
            let err = read.err().ok_or("a hidden resource was read")?;
            assert!(format!("{err:?}").contains("resources.deny pattern"), "{err:?}");
            let kept = client
                .peer()
                .read_resource(ReadResourceRequestParams::new("mcpmux://one/test://one/static"))
                .await?;
            assert!(!kept.contents.is_empty());
            client.cancel().await?;
        }
        mux.terminate().await?;
        Ok(())
    })
}

fn listing() -> Result {
    block_on(async {
        let s = Scratch::new("filters-list");
        let config = config(&s, false);
        let listing = list_json(&config).await?;
        let mut of_one: Vec<String> = listing
            .tools
            .iter()
            .filter(|n| n.starts_with("one__"))
            .cloned()
            .collect();
        of_one.sort();
        assert_eq!(of_one, offered(), "{}", listing.output);
        let backends = listing.report["backends"].as_array().ok_or("no backends")?;
        let one = backends.iter().find(|b| b["name"] == "one").ok_or("no backend one")?;
        let hidden = |kind: &str| -> Vec<(String, String)> {
            one["hidden"][kind]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|h| {
                            (
                                h["name"].as_str().unwrap_or("").to_string(),
                                h["rule"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let tools = hidden("tools");
        assert!(
            tools.contains(&("env".into(), r#"tools.deny pattern "env""#.into())),
            "{tools:?}"
        );
        assert!(
            tools.contains(&("progress".into(), "no tools.allow pattern matches it".into())),
            "{tools:?}"
        );
        assert!(tools.iter().any(|(n, _)| n == "t011"), "{tools:?}");
        assert_eq!(
            hidden("prompts"),
            vec![("greet".to_string(), r#"prompts.deny pattern "gre?t""#.to_string())]
        );
        assert_eq!(
            hidden("resources"),
            vec![(
                "test://one/item/{id}".to_string(),
                r#"resources.deny pattern "test://one/item/*""#.to_string()
            )]
        );
        let two = backends.iter().find(|b| b["name"] == "two").ok_or("no backend two")?;
        assert_eq!(two.get("hidden"), None::<&Value>, "an unfiltered backend hides nothing");
        // The table says it too.
        let out = mcpmux().args(["list", "-c"]).arg(&config).output().await?;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("hidden by its filters:") && text.contains("1 prompt (greet)"),
            "{text}"
        );
        Ok(())
    })
}
