//! A binary with a baked configuration (`MCPMUX_BAKED_CONFIG`, here
//! `tests/baked/config.yaml`): it needs no configuration file, routes
//! exactly like an unbaked binary given the same file (the same tools, each
//! to the same backend, the same answers), prints its configuration with
//! the references unresolved, and takes `--config` over what it carries.
//! The baked binary is `$MCPMUX_BAKED_BIN` (scripts/repro-check leaves one)
//! or, without it, built here into `target/baked`, where a configuration
//! with a bad value and a literal secret must fail the build.

use std::path::PathBuf;

use libtest_mimic::Trial;
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("baked/routes_like_runtime_mode", routes_like_runtime_mode),
        trial("baked/a_bad_config_fails_the_build", bad_config_fails_the_build),
    ]
}

/// `cargo build --bin mcpmux` with `config` baked in, into `target/baked`.
async fn build_baked(config: &std::path::Path) -> Result<std::process::Output> {
    Ok(tokio::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "mcpmux"])
        .env("CARGO_TARGET_DIR", root().join("target/baked"))
        .env("MCPMUX_BAKED_CONFIG", config)
        .current_dir(root())
        .output()
        .await?)
}

/// The baked binary: `$MCPMUX_BAKED_BIN`, or one built now.
async fn baked_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("MCPMUX_BAKED_BIN").filter(|b| !b.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let out = build_baked(&root().join("tests/baked/config.yaml")).await?;
    if !out.status.success() {
        return Err(format!(
            "building the baked binary failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(root().join("target/baked/debug/mcpmux"))
}

/// A configuration with a bad value and a literal secret fails the build,
/// naming file, line, pointer and the fix for each.
fn bad_config_fails_the_build() -> Result {
    block_on(async {
        let s = Scratch::new("baked-bad");
        let bad = s.dir.join("bad.yaml");
        std::fs::write(
            &bad,
            "backends:\n  - name: api\n    transport: http\n    endpoint: https://api.example.com/mcp\n    \
             auth: {type: bearer, token: hunter2-literal}\n  - {name: slow, transport: command, command: [x], timeout: soon}\n",
        )?;
        let out = build_baked(&bad).await?;
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a bad baked configuration built:\n{text}");
        let file = bad.display().to_string();
        assert!(
            text.contains(&format!("{file}:6:"))
                && text.contains("/backends/1/timeout")
                && text.contains("is not a duration"),
            "{text}"
        );
        assert!(
            text.contains(&format!("{file}:5:"))
                && text.contains("/backends/0/auth/token")
                && text.contains("write it as ${VAR}"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2-literal"),
            "the literal secret was printed:\n{text}"
        );
        Ok(())
    })
}

/// The environment both binaries run in: the backends are this test binary.
fn env() -> Vec<(&'static str, String)> {
    vec![
        (
            "MCPMUX_TEST_BACKEND_BIN",
            std::env::current_exe().unwrap().display().to_string(),
        ),
        ("MCPMUX_LOG", "warn".into()),
    ]
}

/// `list --json`'s tools: (name, backend, original name).
async fn listing(binary: &std::path::Path, args: &[&str]) -> Result<Vec<(String, String, String)>> {
    let out = tokio::process::Command::new(binary)
        .args(["list", "--json"])
        .args(args)
        .envs(env())
        .output()
        .await?;
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", output_text(&out)))?;
    Ok(report["tools"]
        .as_array()
        .ok_or("no tools")?
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
            (s("name"), s("backend"), s("original_name"))
        })
        .collect())
}

/// Calls through a binary serving stdio: each backend's echo.
async fn answers(binary: &std::path::Path, args: &[&str]) -> Result<Vec<String>> {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.arg("serve").args(args).envs(env());
    let client = ().serve(TokioChildProcess::new(cmd)?).await?;
    let mut out = Vec::new();
    for tool in ["one__echo", "deux__echo"] {
        let mut params = rmcp::model::CallToolRequestParams::new(tool.to_string());
        params.arguments = json!({ "text": "same" }).as_object().cloned();
        out.push(text_of(&client.call_tool(params).await?));
    }
    client.cancel().await?;
    Ok(out)
}

fn routes_like_runtime_mode() -> Result {
    block_on(async {
        let baked = baked_binary().await?;
        let unbaked = PathBuf::from(env!("CARGO_BIN_EXE_mcpmux"));
        let file = root().join("tests/baked/config.yaml");
        let file = file.to_str().ok_or("path")?;

        // No file anywhere: the baked binary serves what it carries.
        let empty = Scratch::new("baked-empty");
        let baked_list = listing(&baked, &[]).await?;
        let runtime_list = listing(&unbaked, &["-c", file]).await?;
        assert!(!baked_list.is_empty() && baked_list.iter().any(|(n, b, _)| n == "deux__echo" && b == "two"));
        assert_eq!(baked_list, runtime_list, "the baked binary routes unlike runtime mode");
        assert_eq!(answers(&baked, &[]).await?, answers(&unbaked, &["-c", file]).await?);
        assert_eq!(answers(&baked, &[]).await?, ["one: same", "two: same"]);

        // It prints what it carries, references unresolved.
        let printed = tokio::process::Command::new(&baked)
            .arg("config")
            .current_dir(&empty.dir)
            .output()
            .await?;
        let text = String::from_utf8_lossy(&printed.stdout);
        assert!(text.contains("baked into this binary from config.yaml"), "{text}");
        assert!(
            text.contains("${MCPMUX_TEST_BACKEND_BIN}") && !text.contains(&env()[0].1),
            "{text}"
        );

        // --config wins over the baked configuration.
        let other = empty.config(&json!({ "backends": [empty.backend("solo", &[])] }));
        let names: Vec<String> = listing(&baked, &["-c", other.to_str().unwrap()])
            .await?
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        assert!(names.contains(&"solo__echo".to_string()) && !names.iter().any(|n| n.starts_with("deux__")));

        // The unbaked binary has nothing to fall back on.
        let nowhere = empty.dir.join("nowhere");
        std::fs::create_dir_all(&nowhere)?;
        let out = tokio::process::Command::new(&unbaked)
            .arg("config")
            .current_dir(&nowhere)
            .env("XDG_CONFIG_HOME", &nowhere)
            .env("HOME", &nowhere)
            .output()
            .await?;
        assert!(
            !out.status.success(),
            "an unbaked binary without a file printed a configuration"
        );
        Ok(())
    })
}
