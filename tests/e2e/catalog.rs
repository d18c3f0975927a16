//! The merged catalog: a backend cursor that never advances is cut short,
//! long names are shortened and unprefixed clashes reported, `mcpmux list`
//! prints the catalog, and ad-hoc `--backend` entries need no file.

use libtest_mimic::Trial;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("a_cursor_that_never_advances_is_cut_short", endless_cursor),
        trial(
            "long_names_are_shortened_and_unprefixed_clashes_reported",
            names_and_clashes,
        ),
        trial("list_prints_the_catalog_and_fails_on_a_broken_backend", list_command),
        trial("ad_hoc_backends_need_no_config_file", ad_hoc),
    ]
}

fn endless_cursor() -> Result {
    block_on(async {
        let s = Scratch::new("cursor");
        let (mux, client) = http_session(&s, vec![s.backend("loop", &["--page-size", "2", "--repeat-cursor"])]).await?;
        with_log(
            async {
                let names = tool_names(&client).await?;
                assert_eq!(names, ["loop__echo", "loop__progress", "loop__sleep", "loop__meta"]);
                assert!(mux.log.text().contains("repeated a cursor listing its tools"));
                Ok(())
            }
            .await,
            &mux,
        )
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
                        .contains("name \"echo\" is offered by backends \"x\" and \"y\"")
                })
                .await?;
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
        // Prompts, resources and templates are listed beside the tools.
        let has = |kind: &str, key: &str, value: &str, backend: &str| {
            report[kind]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x[key] == value && x["backend"] == backend))
        };
        assert!(has("prompts", "name", "good__greet", "good"), "{report}");
        assert!(
            has("resources", "uri", "mcpmux://good/test://good/static", "good"),
            "{report}"
        );
        assert!(
            has(
                "resource_templates",
                "uri",
                "mcpmux://good/test://good/item/{id}",
                "good"
            ),
            "{report}"
        );
        let good = report["backends"]
            .as_array()
            .ok_or("backends")?
            .iter()
            .find(|b| b["name"] == "good");
        assert_eq!(good.map(|b| b["prompts"].clone()), Some(json!(1)), "{report}");
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
        assert!(
            table.lines().any(|l| l.starts_with("PROMPT")) && table.lines().any(|l| l.starts_with("good__greet")),
            "{table}"
        );
        assert!(
            table.lines().any(|l| l.starts_with("mcpmux://good/test://good/static")),
            "{table}"
        );
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
