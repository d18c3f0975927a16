//! Interop with backends as they are met in the wild: backends slower than
//! rmcp's private 10 s `server/discover` probe wait (npx or uvx installing on
//! first run) connect on their first attempt in every era, and the README's
//! quick start lists all three npm servers from an empty npm cache.

use std::time::Duration;

use libtest_mimic::Trial;
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
