//! Credentials: secrets never reach mcpmux's output or log, and bearer and
//! header credentials reach the HTTP backends that check them.

use libtest_mimic::Trial;
use serde_json::json;

use crate::harness::*;
use crate::trial;

pub fn all() -> Vec<Trial> {
    vec![
        trial("secrets_never_reach_the_log_or_list", secrets_stay_out),
        trial("http_backends_receive_their_credentials", http_credentials),
    ]
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
